//! What the datapath's log (aya-log, issue 16) costs the packet paths: the established hit and
//! the flood path through BPF_PROG_TEST_RUN, with the programs loaded at the default level
//! (warn) and with logging off, lab after lab in alternation so a slow spell of this shared
//! machine weighs on both alike. The log calls sit on rare paths only and disabled levels are
//! removed at load, so the ratios should be 1 within the noise.

use sg_tests::{
    frame::{Frame, TCP_ACK, TCP_SYN},
    lab::{Lab, with_lab_logging},
};
use sg_userspace::{datapath::DatapathLog, datapath::Hook, testkit::ip};

use crate::{
    Results, percentile,
    testrun::{me, member, prefixes_world},
};

/// The established hit and the flood path on one lab: ns per packet, median of `rounds`.
fn paths(l: &mut Lab, rounds: usize, repeat: u32) -> (f64, f64) {
    l.world = prefixes_world(10);
    l.apply();
    hit_and_flood(l, rounds, repeat)
}

/// On a lab whose rules are applied (`prefixes_world`): opens a tracked flow, then times its
/// ACK (the established hit) and a UDP packet no rule admits (the flood path), ns per packet,
/// medians of `rounds` runs of `repeat`.
pub(crate) fn hit_and_flood(l: &mut Lab, rounds: usize, repeat: u32) -> (f64, f64) {
    let src = member(0, false);
    let syn = Frame::tcp(src, me(false), 40001, 443, TCP_SYN).bytes();
    assert!(l.run(Hook::Xdp, &syn), "SYN admitted");
    let syn_ack = Frame::tcp(me(false), src, 443, 40001, TCP_SYN | TCP_ACK).bytes();
    assert!(l.run(Hook::TcEgress, &syn_ack), "SYN-ACK passes");
    let ack = Frame::tcp(src, me(false), 40001, 443, TCP_ACK).bytes();
    let flood = Frame::udp(ip("198.51.100.9"), me(false), 4000, 9).bytes();
    let (mut hits, mut floods) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let h =
            l.dp.test_run(Hook::Xdp, l.ifindex, &ack, repeat)
                .expect("run");
        hits.push(h.per_run.as_nanos() as f64);
        let f =
            l.dp.test_run(Hook::Xdp, l.ifindex, &flood, repeat)
                .expect("run");
        assert!(!f.pass, "the flood is dropped");
        floods.push(f.per_run.as_nanos() as f64);
    }
    (percentile(hits, 0.5), percentile(floods, 0.5))
}

pub(crate) fn datapath_log(quick: bool) -> Results {
    let (labs, rounds, repeat) = if quick {
        (2, 5, 20_000)
    } else {
        (4, 10, 200_000)
    };
    let at = |log: DatapathLog| {
        with_lab_logging(1 << 16, 1 << 16, log, move |l| paths(l, rounds, repeat))
    };
    let (mut warn, mut off) = (Vec::new(), Vec::new());
    for _ in 0..labs {
        warn.push(at(DatapathLog::Warn));
        off.push(at(DatapathLog::Off));
    }
    let median = |v: &[(f64, f64)], hit: bool| {
        percentile(
            v.iter().map(|(h, f)| if hit { *h } else { *f }).collect(),
            0.5,
        )
    };
    let mut r = Results::new();
    for (key, hit) in [("hit", true), ("flood", false)] {
        let (w, o) = (median(&warn, hit), median(&off, hit));
        r.insert(format!("datapath_log.warn_{key}_ns"), w);
        r.insert(format!("datapath_log.off_{key}_ns"), o);
        r.insert(format!("datapath_log.warn_vs_off_{key}_ratio"), w / o);
    }
    r
}
