//! What flow logs cost (issue 16), and whether they lose anything.
//!
//! - Per packet, through BPF_PROG_TEST_RUN: the established hit and the flood path with the
//!   interface's decisions aggregated for flow logs (events on) against off, lab after lab in
//!   alternation. Established packets are not decisions of the rules: they pay nothing.
//! - A real flood of refused socket buffers (trafgen) into sgd's interface, with a flow log
//!   of traffic type ALL on it and without, in alternating rounds: the drop rate with it
//!   against without (`flowlog.flood_pps_ratio`); then the records of the flood's windows
//!   against the packets the kernel dropped (`flowlog.records_lost`: packets no record
//!   accounts for, or recorded twice), and the `SKIPDATA` records written.

use std::collections::HashSet;

use sg_tests::{
    Daemon, Topology, flow_log_records,
    lab::{Lab, with_lab_sized},
};

use crate::{
    Results,
    datapath_log::hit_and_flood,
    flood::{dropped, trafgen_from_a},
    insert_ratio, insert_spread,
    testrun::prefixes_world,
};

/// The established hit and the flood path on one lab, its decisions aggregated for flow logs
/// (`events`) or not: ns per packet, median of `rounds`.
fn paths(l: &mut Lab, events: bool, rounds: usize, repeat: u32) -> (f64, f64) {
    l.world = prefixes_world(10);
    l.apply();
    l.dp.watch(events, HashSet::new()).expect("switch events");
    hit_and_flood(l, rounds, repeat)
}

fn per_packet(quick: bool, r: &mut Results) {
    let (labs, rounds, repeat) = if quick {
        (2, 5, 20_000)
    } else {
        (4, 10, 200_000)
    };
    let at =
        |events: bool| with_lab_sized(1 << 16, 1 << 16, move |l| paths(l, events, rounds, repeat));
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..labs {
        on.push(at(true));
        off.push(at(false));
    }
    let pick = |v: &[(f64, f64)], hit: bool| -> Vec<f64> {
        v.iter().map(|(h, f)| if hit { *h } else { *f }).collect()
    };
    for (key, hit) in [("hit", true), ("flood", false)] {
        insert_spread(r, &format!("flowlog.{key}_ns"), &pick(&on, hit));
        insert_spread(r, &format!("flowlog.off_{key}_ns"), &pick(&off, hit));
        insert_ratio(
            r,
            &format!("flowlog.{key}_vs_off_ratio"),
            &pick(&on, hit),
            &pick(&off, hit),
        );
    }
}

/// One trafgen flood of `n` frames at sgd on `fwa`, with a flow log of every record when
/// `logged`: the drop rate, and (logged) the packets no record accounts for and the
/// `SKIPDATA` records.
fn flood_round(t: &Topology, n: u32, logged: bool) -> (f64, Option<(u64, u64)>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Daemon::start_with(
        &t.fw,
        None,
        &[
            "--flow-log-window",
            "2",
            "--flow-log-dir",
            dir.path().to_str().expect("utf-8"),
        ],
    );
    let g = d.create_group("flood");
    d.attach("fwa", &[&g]);
    let file = dir.path().join("flows.log");
    if logged {
        d.create_flow_log("NetworkInterface", &["fwa"], "ALL", &file, &[]);
    }
    let before = dropped(&d);
    let took = trafgen_from_a(t, n);
    let drops = dropped(&d) - before;
    let pps = drops as f64 / took.as_secs_f64();
    if !logged {
        return (pps, None);
    }
    // sgd writes the open window when it stops.
    d.stop();
    let (mut recorded, mut skipped) = (0u64, 0u64);
    for r in flow_log_records(&file) {
        if r["log-status"] == "SKIPDATA" {
            skipped += 1;
        }
        // Every refusal (the peer's own IPv6 chatter is refused too, and counted).
        if r["log-status"] == "OK" && r["action"] == "REJECT" {
            recorded += r["packets"].parse::<u64>().unwrap_or(0);
        }
    }
    // Both ways: a packet no record has, or one recorded more than once.
    (pps, Some((drops.abs_diff(recorded), skipped)))
}

pub(crate) fn flowlog(quick: bool) -> Results {
    let mut r = Results::new();
    per_packet(quick, &mut r);
    let (rounds, n) = if quick { (2, 300_000) } else { (5, 2_000_000) };
    let t = Topology::new();
    let (mut on, mut off, mut lost, mut skipped) = (Vec::new(), Vec::new(), 0u64, 0u64);
    for round in 0..rounds {
        // Each round starts with the other side.
        for logged in [round % 2 == 0, round % 2 != 0] {
            let (pps, accounted) = flood_round(&t, n, logged);
            if let Some((l, s)) = accounted {
                on.push(pps);
                lost += l;
                skipped += s;
            } else {
                off.push(pps);
            }
        }
    }
    insert_spread(&mut r, "flowlog.flood_pps", &on);
    insert_spread(&mut r, "flowlog.off_flood_pps", &off);
    insert_ratio(&mut r, "flowlog.flood_pps_ratio", &on, &off);
    r.insert("flowlog.records_lost".into(), lost as f64);
    r.insert("flowlog.skipdata_records".into(), skipped as f64);
    r
}
