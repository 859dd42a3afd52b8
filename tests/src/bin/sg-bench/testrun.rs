//! Per-packet cost through BPF_PROG_TEST_RUN: established hits against the empty program and
//! one conntrack lookup, new flows by prefix count, the flood path.

use std::{collections::BTreeMap, net::IpAddr};

use sg_common::maps::bench as names;
use sg_tests::{
    frame::{Frame, TCP_ACK, TCP_SYN},
    lab::{IFACE, Lab},
};
use sg_userspace::{
    bench::BenchPrograms,
    datapath::Hook,
    testkit::{World, ip, perm_group},
};

use crate::{ME4, ME6, Results, insert_ratio, insert_spread, is_spread, per_run};

pub(crate) fn me(six: bool) -> IpAddr {
    ip(if six { ME6 } else { ME4 })
}

/// A member address i of the prefix benchmarks (all distinct /32 or /128).
pub(crate) fn member(i: usize, six: bool) -> IpAddr {
    if six {
        ip(&format!("2001:db8:100::{:x}", i + 1))
    } else {
        ip(&format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256))
    }
}

/// `n` prefixes on the lab interface: one rule referencing a group with `n` member addresses
/// (half IPv4, half IPv6 when `both`).
pub(crate) fn prefixes_world(n: usize) -> World {
    let mut w = World::new();
    let web = w.group("web");
    let members = w.group("members");
    w.authorize(
        &web,
        false,
        vec![perm_group("tcp", Some((443, 443)), &members)],
    )
    .expect("rule");
    for six in [false, true] {
        let addrs: Vec<IpAddr> = (0..n).map(|i| member(i, six)).collect();
        w.attach(if six { "m6" } else { "m4" }, &[&members], &addrs)
            .expect("members");
    }
    w.attach(IFACE, &[&web], &[me(false), me(true)])
        .expect("attach");
    w
}

pub(crate) fn testrun(l: &mut Lab, quick: bool) -> Results {
    let mut r = Results::new();
    let (rounds, repeat, flows) = if quick {
        (5, 20_000, 2_000)
    } else {
        (15, 200_000, 20_000)
    };
    let syn = |src: IpAddr, sport: u16, dport: u16| {
        Frame::tcp(src, me(src.is_ipv6()), sport, dport, TCP_SYN).bytes()
    };
    l.world = prefixes_world(10);
    l.apply();
    let frame = syn(member(0, false), 40000, 443);
    // The baselines: the empty program, and the floor of a conntrack hit on this machine (an
    // XDP program doing one lookup in a conntrack-shaped table, of an entry that is there, and
    // nothing else).
    let mut bench = BenchPrograms::load().expect("load the benchmark programs");
    // Established flows: a handshake opens each (only a SYN opens a TCP flow, the reply
    // establishes it), then every repeat of an ACK of the same flow hits conntrack; the
    // counters prove they all did.
    let established: Vec<Vec<u8>> = [false, true]
        .into_iter()
        .map(|six| {
            let src = member(0, six);
            assert!(l.run(Hook::Xdp, &syn(src, 40001, 443)), "SYN admitted");
            let syn_ack = Frame::tcp(me(six), src, 443, 40001, TCP_SYN | TCP_ACK).bytes();
            assert!(l.run(Hook::TcEgress, &syn_ack), "SYN-ACK passes");
            Frame::tcp(src, me(six), 40001, 443, TCP_ACK).bytes()
        })
        .collect();
    // A UDP stream the instance opened (two turns make it a stream): its packets take the
    // same cached path as the TCP ACKs above, without the TCP window check, so the two
    // figures of one run show what window tracking costs an established hit (SG-ENF-13).
    let stream = {
        let (src, dst) = (me(false), member(0, false));
        for _ in 0..2 {
            assert!(l.run(Hook::TcEgress, &Frame::udp(src, dst, 5353, 53).bytes()));
            assert!(l.run(Hook::Xdp, &Frame::udp(dst, src, 53, 5353).bytes()));
        }
        Frame::udp(dst, src, 53, 5353).bytes()
    };
    // SG_BENCH_HIT_ROUNDS=N: more rounds of the hits and of the flood path, long enough to
    // profile (`perf record -a`).
    let hit_rounds = std::env::var("SG_BENCH_HIT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(rounds);
    // The empty program, the floor and the hits take turns round after round, so a slow
    // spell of this shared machine weighs on all of them alike.
    let before = l.counter("pass_conntrack");
    let mut times: [Vec<f64>; 5] = Default::default();
    for _ in 0..hit_rounds {
        let noop = bench
            .test_run_noop(l.ifindex, &frame, repeat)
            .expect("noop");
        let (floor, verdict) = bench
            .test_run(names::PROG_CT_LOOKUP, l.ifindex, &frame, repeat)
            .expect("lookup floor");
        assert_eq!(verdict, 2, "the floor's lookup finds its entry (XDP_PASS)");
        times[0].push(noop.as_nanos() as f64);
        times[1].push(floor.as_nanos() as f64);
        for (i, est) in established.iter().enumerate() {
            let took =
                l.dp.test_run(Hook::Xdp, l.ifindex, est, repeat)
                    .expect("run");
            times[2 + i].push(took.per_run.as_nanos() as f64);
        }
        let took =
            l.dp.test_run(Hook::Xdp, l.ifindex, &stream, repeat)
                .expect("run");
        times[4].push(took.per_run.as_nanos() as f64);
    }
    assert_eq!(
        l.counter("pass_conntrack") - before,
        3 * (hit_rounds as u64) * repeat as u64,
        "every established run hit conntrack"
    );
    let [noop, floor, hit4, hit6, udp] = &times;
    for (key, v) in [
        ("noop_ns", noop),
        ("ct_lookup_only_ns", floor),
        ("ct_hit_ns", hit4),
        ("v6.ct_hit_ns", hit6),
        ("udp_stream_hit_ns", udp),
    ] {
        insert_spread(&mut r, &format!("testrun.{key}"), v);
        if key != "noop_ns" {
            insert_ratio(&mut r, &format!("testrun.ratio.{key}"), v, noop);
        }
    }
    // What an established TCP hit costs over the lookup floor, and over a UDP stream's hit
    // (the window check), round by round.
    insert_ratio(&mut r, "testrun.ct_hit_vs_lookup", hit4, floor);
    insert_ratio(&mut r, "testrun.ct_hit_vs_udp_stream", hit4, udp);
    // A single run of a new flow each time (distinct source ports): single-run baseline.
    let mut single = |l: &mut Lab, frames: &[Vec<u8>], noop: bool| -> f64 {
        let times: Vec<f64> = frames
            .iter()
            .map(|f| {
                let d = if noop {
                    bench.test_run_noop(l.ifindex, f, 1).expect("noop")
                } else {
                    l.dp.test_run(Hook::Xdp, l.ifindex, f, 1)
                        .expect("run")
                        .per_run
                };
                d.as_nanos() as f64
            })
            .collect();
        times.iter().sum::<f64>() / times.len() as f64
    };
    let probe: Vec<Vec<u8>> = (0..flows)
        .map(|i| syn(member(0, false), (i % 60000) as u16 + 1024, 443))
        .collect();
    r.insert("testrun.noop_single_ns".into(), single(l, &probe, true));
    // New flows, a single run each (every one must be new). The sizes take turns, pass after
    // pass, and each figure is the median of its passes, so a slow spell of this shared
    // machine does not land on one size only.
    let passes = if quick { 3 } else { 7 };
    let sizes = [10usize, 100, 1000, 10_000];
    let mut new_allow: BTreeMap<(bool, usize), Vec<f64>> = BTreeMap::new();
    for pass in 0..passes {
        for n in sizes {
            l.world = prefixes_world(n);
            l.apply();
            l.dp.clear_conntrack();
            for six in [false, true] {
                let new: Vec<Vec<u8>> = (0..flows / passes)
                    .map(|i| {
                        let sport = ((pass * flows + i) / n % 60000) as u16 + 1024;
                        syn(member(i % n, six), sport, 443)
                    })
                    .collect();
                new_allow
                    .entry((six, n))
                    .or_default()
                    .push(single(l, &new, false));
                if n == 10_000 {
                    // The same ruleset, every new flow from one member: the lookups are the
                    // same, only the memory they touch stays in cache.
                    let one: Vec<Vec<u8>> = (0..flows / passes)
                        .map(|i| {
                            let sport = ((pass * flows + i) % 60000) as u16 + 1024;
                            syn(member(n / 2, six), sport, 443)
                        })
                        .collect();
                    new_allow
                        .entry((six, n + 1))
                        .or_default()
                        .push(single(l, &one, false));
                }
            }
        }
    }
    for six in [false, true] {
        // The target's ratio, pass by pass: 10 000 prefixes against 10 in the same pass.
        let tag = if six { "testrun.v6." } else { "testrun." };
        insert_ratio(
            &mut r,
            &format!("{tag}new_allow_10000_vs_10"),
            &new_allow[&(six, 10_000)],
            &new_allow[&(six, 10)],
        );
    }
    for ((six, n), v) in new_allow {
        let tag = if six { "testrun.v6." } else { "testrun." };
        let size = if n == 10_001 {
            "10000_one_member".to_owned()
        } else {
            n.to_string()
        };
        insert_spread(&mut r, &format!("{tag}new_allow_ns.{size}"), &v);
    }
    for n in sizes {
        l.world = prefixes_world(n);
        l.apply();
        for six in [false, true] {
            let tag = if six { "testrun.v6." } else { "testrun." };
            let deny = syn(member(n / 2, six), 40000, 444);
            r.insert(
                format!("{tag}new_deny_ns.{n}"),
                per_run(rounds, || {
                    l.dp.test_run(Hook::Xdp, l.ifindex, &deny, repeat)
                        .expect("run")
                        .per_run
                }),
            );
        }
    }
    l.dp.clear_conntrack();
    // 1000 rules per interface, mixed and overlapping port ranges (5 groups x 200).
    let mut w = World::new();
    let groups = w.thousand_rules();
    let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
    w.attach(IFACE, &refs, &[me(false)]).expect("attach");
    l.world = w;
    l.apply();
    l.dp.clear_conntrack();
    // Rule 999: udp from 10.249.0.0/16 to 36963-37062.
    let new: Vec<Vec<u8>> = (0..flows)
        .map(|i| {
            Frame::udp(
                ip("10.249.7.7"),
                me(false),
                (i % 60000) as u16 + 1024,
                37000,
            )
            .bytes()
        })
        .collect();
    r.insert(
        "testrun.rules1000.new_allow_ns".into(),
        single(l, &new, false),
    );
    let deny = Frame::udp(ip("10.249.7.7"), me(false), 1, 37063).bytes();
    r.insert(
        "testrun.rules1000.new_deny_ns".into(),
        per_run(rounds, || {
            l.dp.test_run(Hook::Xdp, l.ifindex, &deny, repeat)
                .expect("run")
                .per_run
        }),
    );
    // The flood path on its own, free of the generator's and veth's noise: a UDP packet of
    // no tracked flow where the interface has no inbound rule (a group without any), dropped
    // on the presence filter.
    let mut w = World::new();
    let quiet = w.group("quiet");
    w.attach(IFACE, &[&quiet], &[me(false)]).expect("attach");
    l.world = w;
    l.apply();
    l.dp.clear_conntrack();
    let flood = Frame::udp(ip("198.51.100.9"), me(false), 4000, 9).bytes();
    let before = l.counter("drop_no_rule");
    // The flood path and the empty program take turns, round by round.
    let (mut noops, mut floods) = (Vec::new(), Vec::new());
    for _ in 0..hit_rounds {
        let noop = bench
            .test_run_noop(l.ifindex, &flood, repeat)
            .expect("noop");
        noops.push(noop.as_nanos() as f64);
        let took =
            l.dp.test_run(Hook::Xdp, l.ifindex, &flood, repeat)
                .expect("run");
        floods.push(took.per_run.as_nanos() as f64);
    }
    insert_spread(&mut r, "testrun.flood_drop_ns", &floods);
    insert_ratio(&mut r, "testrun.ratio.flood_drop_ns", &floods, &noops);
    assert_eq!(
        l.counter("drop_no_rule") - before,
        hit_rounds as u64 * u64::from(repeat),
        "every flood frame was dropped for want of a rule"
    );
    let noop = r["testrun.noop_ns"];
    let single_noop = r["testrun.noop_single_ns"];
    let ratios: Vec<(String, f64)> = r
        .iter()
        .filter(|(k, _)| k.starts_with("testrun.") && !k.contains("noop") && !is_spread(k))
        .filter(|(k, _)| !r.contains_key(&k.replacen("testrun.", "testrun.ratio.", 1)))
        .filter(|(k, _)| !k.starts_with("testrun.ratio.") && !k.contains("_vs_"))
        .map(|(k, v)| {
            let base = if k.contains("new_allow") {
                single_noop
            } else {
                noop
            };
            (k.replacen("testrun.", "testrun.ratio.", 1), v / base)
        })
        .collect();
    r.extend(ratios);
    r
}
