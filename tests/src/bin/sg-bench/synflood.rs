//! SYN floods (issue 17): what the half-open budget and the instance's SYN cookies buy.
//!
//! - A real flood of spoofed SYNs (trafgen, as fast as it goes) at a port open to anyone on
//!   sgd's interface, with the budget on and off in alternating rounds: the share of
//!   legitimate clients that connect and echo during the flood, their connect latency, the
//!   most of the TCP table the flood takes, and the SYNs a second the datapath judged.
//! - Per SYN, through BPF_PROG_TEST_RUN: a SYN past the spent budget (passed without an
//!   entry) against a SYN refused by a full table with the budget off (what AWS does), and an
//!   inbound ACK of no flow with the cookie check against without.

use std::time::{Duration, Instant};

use sg_tests::{
    FW_A4, Topology,
    flood::{Flood, allowance, instance, mac_of, statistic, syn_flood},
    frame::{Frame, TCP_ACK, TCP_SYN},
    lab::{IFACE, Lab, with_lab_sized},
    tcp_server,
};
use sg_userspace::{
    datapath::{CtBudgets, Hook},
    testkit::{ip, perm},
};

use crate::{ME4, Results, insert_ratio, insert_spread, per_run, percentile};

/// One round of the real flood, with the half-open budget at `budget` (0: off): (share of
/// clients that connected, their connect latencies in ms, the most of the table in use, SYNs
/// judged a second).
fn flood_round(budget: u32, clients: usize) -> (f64, Vec<f64>, f64, f64) {
    let t = Topology::new();
    let d = instance(
        &t,
        &format!(r#"{{ "conntrack_tcp_max": 2048, "conntrack_tcp_half_open_max": {budget} }}"#),
    );
    let _server = tcp_server(&t.fw, 8080);
    let judged = |d: &sg_tests::Daemon| {
        [
            "pass_syn_cookie",
            "conntrack_allowance_exceeded",
            "pass_rule",
        ]
        .iter()
        .map(|n| statistic(d, n))
        .sum::<u64>()
    };
    let flood = Flood::start(&t.a, &syn_flood(&mac_of(&t.fw, "fwa")));
    let (before, started) = (judged(&d), Instant::now());
    let (mut ok, mut latencies, mut fill) = (0, Vec::new(), 0f64);
    for _ in 0..clients {
        let at = Instant::now();
        if sg_tests::tcp_connects(&t.a, FW_A4, 8080) {
            ok += 1;
            latencies.push(at.elapsed().as_secs_f64() * 1e3);
        }
        let a = allowance(&d);
        let used = a["Tcp"]["InUse"].as_f64().unwrap_or(0.0);
        fill = fill.max(used / a["Tcp"]["Maximum"].as_f64().unwrap_or(1.0));
        std::thread::sleep(Duration::from_millis(100));
    }
    let rate = (judged(&d) - before) as f64 / started.elapsed().as_secs_f64();
    drop(flood);
    (ok as f64 / clients as f64, latencies, fill, rate)
}

fn real_flood(quick: bool, r: &mut Results) {
    let (rounds, clients) = if quick { (1, 10) } else { (3, 20) };
    let (mut share, mut fill, mut rate) = ([vec![], vec![]], [vec![], vec![]], vec![]);
    let mut latencies = Vec::new();
    for _ in 0..rounds {
        for (i, budget) in [256, 0].into_iter().enumerate() {
            let (s, l, f, syns) = flood_round(budget, clients);
            share[i].push(s);
            fill[i].push(f);
            if budget != 0 {
                latencies.extend(l);
                rate.push(syns);
            }
        }
    }
    insert_spread(r, "synflood.connect_success_on", &share[0]);
    insert_spread(r, "synflood.connect_success_off", &share[1]);
    insert_spread(r, "synflood.table_fill_on", &fill[0]);
    insert_spread(r, "synflood.table_fill_off", &fill[1]);
    insert_spread(r, "synflood.syns_per_s", &rate);
    if !latencies.is_empty() {
        r.insert(
            "synflood.connect_ms_p50".into(),
            percentile(latencies.clone(), 0.5),
        );
        r.insert(
            "synflood.connect_ms_p99".into(),
            percentile(latencies, 0.99),
        );
    }
}

/// The lab of the per-SYN figures: TCP 8080 open to anyone, no egress (so tracked).
fn setup(l: &mut Lab) {
    let g = l.world.group("bench");
    l.world
        .authorize(
            &g,
            false,
            vec![perm("tcp", Some((8080, 8080)), "0.0.0.0/0")],
        )
        .expect("authorize");
    l.world
        .revoke(&g, true, vec![perm("-1", None, "0.0.0.0/0")])
        .expect("revoke egress");
    l.world.attach(IFACE, &[&g], &[ip(ME4)]).expect("attach");
    l.apply();
}

fn syn(n: u16) -> Vec<u8> {
    Frame::tcp(ip("203.0.113.9"), ip(ME4), 10_000 + n, 8080, TCP_SYN).bytes()
}

/// ns per run of a SYN judged past a spent budget (`cookies`) or refused by a full table,
/// and of an inbound ACK of no flow, median of `rounds` runs of `repeat`.
fn per_syn(l: &mut Lab, cookies: bool, rounds: usize, repeat: u32) -> (f64, f64) {
    setup(l);
    l.dp.set_conntrack_budgets(if cookies {
        CtBudgets {
            tcp_half_open: 1,
            other_inbound: 0,
        }
    } else {
        CtBudgets::NONE
    });
    // Spend the budget, or fill the (small) table.
    for n in 0..if cookies { 1 } else { 64 } {
        l.run(Hook::Xdp, &syn(n));
    }
    let probe = syn(1000);
    assert!(
        !l.dp
            .test_run(Hook::Xdp, l.ifindex, &probe, 1)
            .expect("run")
            .pass
            || cookies
    );
    let s = per_run(rounds, || {
        l.dp.test_run(Hook::Xdp, l.ifindex, &probe, repeat)
            .expect("run")
            .per_run
    });
    let ack = Frame::tcp(ip("203.0.113.9"), ip(ME4), 20_000, 8080, TCP_ACK).bytes();
    let a = per_run(rounds, || {
        l.dp.test_run(Hook::Xdp, l.ifindex, &ack, repeat)
            .expect("run")
            .per_run
    });
    (s, a)
}

fn per_packet(quick: bool, r: &mut Results) {
    let (labs, rounds, repeat) = if quick {
        (2, 5, 20_000)
    } else {
        (4, 10, 200_000)
    };
    let at =
        |cookies: bool| with_lab_sized(64, 1 << 10, move |l| per_syn(l, cookies, rounds, repeat));
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..labs {
        on.push(at(true));
        off.push(at(false));
    }
    let pick = |v: &[(f64, f64)], syn: bool| -> Vec<f64> {
        v.iter().map(|(s, a)| if syn { *s } else { *a }).collect()
    };
    insert_spread(r, "synflood.syn_stateless_ns", &pick(&on, true));
    insert_spread(r, "synflood.syn_table_full_ns", &pick(&off, true));
    insert_ratio(
        r,
        "synflood.syn_stateless_vs_full_ratio",
        &pick(&on, true),
        &pick(&off, true),
    );
    insert_spread(r, "synflood.ack_cookie_check_ns", &pick(&on, false));
    insert_spread(r, "synflood.ack_no_check_ns", &pick(&off, false));
    insert_ratio(
        r,
        "synflood.ack_check_vs_none_ratio",
        &pick(&on, false),
        &pick(&off, false),
    );
}

pub(crate) fn synflood(quick: bool) -> Results {
    let mut r = Results::new();
    per_packet(quick, &mut r);
    real_flood(quick, &mut r);
    r
}
