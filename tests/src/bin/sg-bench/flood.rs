//! Floods: live XDP frames (a) and socket buffers from trafgen (b), each against nftables and
//! a drop-everything XDP program, the sides taking turns.

use std::time::{Duration, Instant};

use sg_common::maps::bench as names;
use sg_tests::frame::Frame;
use sg_userspace::{
    bench::{BenchError, BenchPrograms, RunStats},
    testkit::ip,
};

use crate::{Results, insert_ratio, insert_spread};

/// The benchmark programs, loaded in the calling thread's namespace.
pub(crate) fn bench_programs() -> BenchPrograms {
    BenchPrograms::load().expect("load the benchmark programs")
}

/// Floods the instance's `fwa` from peer a with live XDP frames of disallowed UDP; returns the
/// time the generator took.
pub(crate) fn flood_from_a(t: &sg_tests::Topology, frames: u32) -> Duration {
    try_flood_from_a(t, frames).expect("flood")
}

pub(crate) fn try_flood_from_a(
    t: &sg_tests::Topology,
    frames: u32,
) -> Result<Duration, BenchError> {
    let frame = Frame::udp(ip(sg_tests::A4), ip(sg_tests::FW_A4), 4000, 9).bytes();
    t.a.run(move || {
        let mut generator = bench_programs();
        let eth0 = nix::net::if_::if_nametoindex("eth0").expect("eth0");
        generator.flood(eth0, &frame, frames, 256)
    })
}

/// Whether this kernel runs XDP programs on live frames (`BPF_F_TEST_XDP_LIVE_FRAMES`): some
/// builds refuse it (`EPERM`), and then flood (a) cannot be generated here.
pub(crate) fn live_frames() -> Result<(), String> {
    let t = sg_tests::Topology::new();
    try_flood_from_a(&t, 1).map(|_| ()).map_err(|e| {
        format!("the kernel refuses live XDP frames (BPF_F_TEST_XDP_LIVE_FRAMES): {e:?}")
    })
}

/// Packets per second dropped at the receiver (a): by this firewall (native XDP), (b): by
/// nftables at netdev ingress, (c): by an XDP program that drops everything. Frames arrive as
/// XDP frames redirected into the veth, the path a NIC driver gives XDP.
pub(crate) fn flood(quick: bool) -> Results {
    let frames: u32 = if quick { 1_000_000 } else { 5_000_000 };
    // nftables needs an XDP program that passes everything so that the redirected frames enter
    // the stack, as from a NIC.
    flood_compare(
        "flood",
        &["--xdp-mode", "native"],
        sg_common::maps::PROG_XDP,
        true,
        if quick { 2 } else { 7 },
        &|t| flood_from_a(t, frames),
    )
}

/// Drop rates at `fwa` for one kind of flood (`send` floods it from peer a and returns the time
/// it took), keyed `{key}.pps` for this firewall started with `daemon_args` and no inbound
/// rule, `{key}.xdp_drop_pps` for a native drop-all XDP program and `{key}.nft_pps` for
/// nftables at netdev ingress (behind an XDP program that passes everything when
/// `nft_behind_pass`), with the ratios of the first to the other two, round by round.
/// Then, with the kernel's run-time statistics on, one more flood of this firewall's program
/// (`sg_program`) and of the drop-all one: what each costs per frame under the flood
/// (`{key}.prog_ns`, `{key}.xdp_drop_prog_ns`), a figure the generator's noise does not blur.
pub(crate) fn flood_compare(
    key: &str,
    daemon_args: &[&str],
    sg_program: &str,
    nft_behind_pass: bool,
    rounds: usize,
    send: &dyn Fn(&sg_tests::Topology) -> Duration,
) -> Results {
    let t = sg_tests::Topology::new();
    let nft = nft_load(&t, NFT_FLOOD);
    let _ = t.fw.exec(&["nft", "flush", "ruleset"]);
    // This firewall, drop-all and nftables take turns, `rounds` times, each round starting
    // with the next side (so none always follows the same one), and every ratio is taken
    // within a round: a slow spell of this shared machine weighs on all sides alike.
    let sides = if nft { 3 } else { 2 };
    let mut pps: [Vec<f64>; 3] = Default::default();
    for round in 0..rounds {
        for i in 0..sides {
            let side = (round + i) % sides;
            let rate = match side {
                0 => sg_side(&t, daemon_args, send, None).0,
                1 => drop_all_side(&t, send, None).0,
                _ => nft_side(&t, nft_behind_pass, send),
            };
            pps[side].push(rate);
        }
    }
    let mut r = Results::new();
    let [sg, drop_all, nft_pps] = &pps;
    insert_spread(&mut r, &format!("{key}.pps"), sg);
    insert_spread(&mut r, &format!("{key}.xdp_drop_pps"), drop_all);
    insert_ratio(&mut r, &format!("{key}.ratio_vs_xdp_drop"), sg, drop_all);
    if nft {
        insert_spread(&mut r, &format!("{key}.nft_pps"), nft_pps);
        insert_ratio(&mut r, &format!("{key}.ratio_vs_nft"), sg, nft_pps);
    }
    match RunStats::enable() {
        Ok(stats) => {
            let (_, ns) = sg_side(&t, daemon_args, send, Some((&stats, sg_program)));
            r.insert(format!("{key}.prog_ns"), ns);
            let (_, ns) = drop_all_side(&t, send, Some(&stats));
            r.insert(format!("{key}.xdp_drop_prog_ns"), ns);
        }
        Err(e) => eprintln!("[bench] {key}: no per-program cost: {e}"),
    }
    r
}

/// One flood against this firewall (no inbound rule); frames dropped a second and, with
/// `stats`, the kernel's time per run of `program` meanwhile (else NaN).
fn sg_side(
    t: &sg_tests::Topology,
    daemon_args: &[&str],
    send: &dyn Fn(&sg_tests::Topology) -> Duration,
    stats: Option<(&RunStats, &str)>,
) -> (f64, f64) {
    let d = sg_tests::Daemon::start_with(&t.fw, None, daemon_args);
    let g = d.create_group("flood");
    d.attach("fwa", &[&g]);
    let before = dropped(&d);
    let runs = stats.map(|(s, name)| s.of(name));
    let took = send(t);
    let ns = match (stats, runs) {
        (Some((s, name)), Some(runs)) => s.of(name).ns_per_run_since(runs),
        _ => f64::NAN,
    };
    ((dropped(&d) - before) as f64 / took.as_secs_f64(), ns)
}

/// Packets sgd on `fwa` dropped because no rule admits them.
pub(crate) fn dropped(d: &sg_tests::Daemon) -> u64 {
    d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "fwa",
    ])["NetworkInterfaces"][0]["Statistics"]["drop_no_rule"]
        .as_u64()
        .unwrap_or(0)
}

/// One flood against the native drop-all XDP program; as [`sg_side`].
fn drop_all_side(
    t: &sg_tests::Topology,
    send: &dyn Fn(&sg_tests::Topology) -> Duration,
    stats: Option<&RunStats>,
) -> (f64, f64) {
    let (dp, link, before) = t.fw.run(move || {
        let mut dp = bench_programs();
        let link = dp.attach("fwa", true).expect("attach drop-all");
        let before = dp.drops();
        (dp, link, before)
    });
    let runs = stats.map(|s| s.of(names::PROG_DROP));
    let took = send(t);
    let ns = match (stats, runs) {
        (Some(s), Some(runs)) => s.of(names::PROG_DROP).ns_per_run_since(runs),
        _ => f64::NAN,
    };
    let pps = (dp.drops() - before) as f64 / took.as_secs_f64();
    drop(link);
    (pps, ns)
}

/// One flood against nftables at netdev ingress.
fn nft_side(
    t: &sg_tests::Topology,
    behind_pass: bool,
    send: &dyn Fn(&sg_tests::Topology) -> Duration,
) -> f64 {
    assert!(nft_load(t, NFT_FLOOD), "the nftables ruleset loads");
    let pass = behind_pass.then(|| {
        t.fw.run(move || {
            let mut dp = bench_programs();
            let link = dp.attach("fwa", false).expect("attach pass");
            (dp, link)
        })
    });
    let before = nft_flood_count(t);
    let took = send(t);
    let pps = (nft_flood_count(t) - before) as f64 / took.as_secs_f64();
    drop(pass);
    let _ = t.fw.exec(&["nft", "flush", "ruleset"]);
    pps
}

/// Floods `fwa` from peer a with `n` socket-buffer frames of disallowed UDP (trafgen, in runs
/// of 250 000: a long run can stop with EAGAIN when the veth's queue backs up); returns the
/// time the runs took.
pub(crate) fn trafgen_from_a(t: &sg_tests::Topology, n: u32) -> Duration {
    let conf = std::env::temp_dir().join(format!("sg-trafgen-{}.cfg", std::process::id()));
    let packet = format!(
        "{{ eth(da=ff:ff:ff:ff:ff:ff, type=0x0800), ipv4(saddr={}, daddr={}, ttl=64), udp(sp=4000, dp=9), fill(0x41, 18) }}\n",
        sg_tests::A4,
        sg_tests::FW_A4
    );
    std::fs::write(&conf, packet).expect("trafgen config");
    let chunk = 250_000u32.min(n);
    let mut took = Duration::ZERO;
    for _ in 0..n.div_ceil(chunk) {
        let start = Instant::now();
        let args = [
            "trafgen",
            "--dev",
            "eth0",
            "--conf",
            conf.to_str().expect("utf-8"),
            "--num",
            &chunk.to_string(),
        ];
        let out = t.a.exec(&args);
        took += start.elapsed();
        if !out.status.success() {
            eprintln!(
                "[bench] trafgen stopped early: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            break;
        }
    }
    let _ = std::fs::remove_file(&conf);
    took
}

/// The nftables netdev-ingress drop both floods compare with.
pub(crate) const NFT_FLOOD: &str = "table netdev sgbench {\n chain ingress {\n  type filter hook ingress device \"fwa\" priority 0; policy accept;\n  udp dport 9 counter drop\n }\n}\n";

pub(crate) fn nft_load(t: &sg_tests::Topology, ruleset: &str) -> bool {
    let file = std::env::temp_dir().join(format!("sg-bench-{}.nft", std::process::id()));
    std::fs::write(&file, ruleset).expect("ruleset");
    let ok =
        t.fw.exec(&["nft", "-f", file.to_str().expect("utf-8")])
            .status
            .success();
    let _ = std::fs::remove_file(&file);
    ok
}

/// Packets counted by the `NFT_FLOOD` rule.
pub(crate) fn nft_flood_count(t: &sg_tests::Topology) -> u64 {
    let out =
        t.fw.exec(&["nft", "-j", "list", "table", "netdev", "sgbench"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|o| {
            o["rule"]["expr"]
                .as_array()?
                .iter()
                .find_map(|e| e["counter"]["packets"].as_u64())
        })
        .unwrap_or(0)
}

/// Drops counted at the receiver for socket-buffer traffic (trafgen): this firewall in its
/// default mode, nftables at netdev ingress, and a native drop-all XDP program (which on veth
/// must convert each socket buffer).
pub(crate) fn flood_skb(quick: bool) -> Results {
    let n: u32 = if quick { 300_000 } else { 2_000_000 };
    flood_compare(
        "flood_skb",
        &[],
        sg_common::maps::PROG_TC_INGRESS,
        false,
        if quick { 2 } else { 7 },
        &|t| trafgen_from_a(t, n),
    )
}
