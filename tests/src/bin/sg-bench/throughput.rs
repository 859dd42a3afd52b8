//! Single-stream TCP throughput (iperf3) through each mode against no firewall and nftables.

use std::{collections::BTreeMap, time::Duration};

use sg_userspace::bench::RunStats;

use crate::{Results, flood::nft_load, insert_ratio, insert_spread};

/// One iperf3 TCP stream from peer a into the instance; Gbit/s received.
fn iperf(t: &sg_tests::Topology, secs: u32) -> f64 {
    let mut server = std::process::Command::new("ip")
        .args(["netns", "exec", &t.fw.name, "iperf3", "-s", "-1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("iperf3 server (is iperf3 installed?)");
    std::thread::sleep(Duration::from_millis(300));
    let out = t.a.exec(&[
        "iperf3",
        "-c",
        sg_tests::FW_A4,
        "-t",
        &secs.to_string(),
        "-J",
    ]);
    let _ = server.wait();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap_or(0.0)
        / 1e9
}

pub(crate) fn throughput(quick: bool) -> Results {
    let mut r = Results::new();
    let secs = if quick { 2 } else { 4 };
    // Every configuration runs in every round, each round starting with the next one (so none
    // always follows the same one), and each ratio is taken within a round: single runs on
    // this shared VM vary by ~20%.
    let rounds = if quick { 2 } else { 5 };
    let t = sg_tests::Topology::new();
    let protected = |mode: &str| {
        let d = sg_tests::Daemon::start_with(&t.fw, None, &["--xdp-mode", mode]);
        let g = d.create_group("bench");
        d.allow_in(&g, "tcp", "5201", "192.0.2.2/32");
        d.attach("fwa", &[&g]);
        d
    };
    // The same rules for nftables, as `sgctl export` writes them.
    let ruleset = {
        let d = protected("auto");
        let out = d.sgctl(&["export", "--network-interface-id", "fwa", "--format", "nft"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let nft = nft_load(&t, &ruleset);
    let _ = t.fw.exec(&["nft", "flush", "ruleset"]);
    let mut sides: Vec<(&str, Option<&str>)> = vec![
        ("none", None),
        ("sg_default", Some("auto")),
        ("sg_tc", Some("tc")),
        ("sg_native", Some("native")),
        ("sg_skb", Some("skb")),
    ];
    if nft {
        sides.push(("nft", None));
    }
    let mut runs: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in 0..rounds {
        for i in 0..sides.len() {
            let (name, mode) = sides[(round + i) % sides.len()];
            let gbps = match (name, mode) {
                (_, Some(mode)) => {
                    let _d = protected(mode);
                    iperf(&t, secs)
                }
                ("nft", None) => {
                    assert!(nft_load(&t, &ruleset), "the exported ruleset loads");
                    let gbps = iperf(&t, secs);
                    let _ = t.fw.exec(&["nft", "flush", "ruleset"]);
                    gbps
                }
                _ => iperf(&t, secs),
            };
            runs.entry(name).or_default().push(gbps);
        }
    }
    for (name, v) in &runs {
        insert_spread(&mut r, &format!("throughput.{name}_gbps"), v);
    }
    insert_ratio(
        &mut r,
        "throughput.ratio_vs_none",
        &runs["sg_default"],
        &runs["none"],
    );
    insert_ratio(
        &mut r,
        "throughput.tc_vs_default",
        &runs["sg_tc"],
        &runs["sg_default"],
    );
    if nft {
        insert_ratio(
            &mut r,
            "throughput.ratio_vs_nft",
            &runs["sg_default"],
            &runs["nft"],
        );
    }
    // What the programs cost per run under the stream, from the kernel's run-time statistics
    // (on only here: they cost every run two clock reads): TC ingress sees the data (socket
    // buffers of up to 64 KiB), TC egress the ACKs.
    match RunStats::enable() {
        Ok(stats) => {
            let _d = protected("auto");
            let progs = [
                (sg_common::maps::PROG_TC_INGRESS, "ingress"),
                (sg_common::maps::PROG_TC_EGRESS, "egress"),
            ];
            let before = progs.map(|(p, _)| stats.of(p));
            let gbps = iperf(&t, secs);
            for ((p, dir), b) in progs.into_iter().zip(before) {
                let now = stats.of(p);
                r.insert(format!("throughput.prog_ns.{dir}"), now.ns_per_run_since(b));
                r.insert(
                    format!("throughput.prog_runs_per_s.{dir}"),
                    now.runs_since(b) as f64 / f64::from(secs),
                );
            }
            r.insert("throughput.stats_on_gbps".into(), gbps);
        }
        Err(e) => eprintln!("[bench] throughput: no per-program cost: {e}"),
    }
    r
}
