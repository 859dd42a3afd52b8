//! The conntrack fast path (`CT_CACHE`, `CT_FILTER`, `CT_EPOCH`): a flow that passes on a
//! CPU's cached copy passes exactly as the table would let it (SG-ENF-1, SG-ENF-2), its
//! packets are all counted, a flushed flow stops at once, and the presence filter counts
//! every entry, so no tracked flow is ever taken for an unknown one (SG-ENF-7, SG-ENF-9).

use std::{thread::sleep, time::Duration};

use sg_tests::{
    frame::{Frame, TCP_ACK, TCP_FIN, TCP_SYN},
    lab::{IFACE, Lab, pin_to_cpu, with_lab},
    require_root,
};
use sg_userspace::{
    datapath::{Datapath, Hook},
    testkit::{ip, perm},
};

const ME4: &str = "192.0.2.1";
const PEER4: &str = "203.0.113.7";

macro_rules! lab_test {
    ($name:ident, $body:expr) => {
        #[test]
        fn $name() {
            if !require_root(stringify!($name)) {
                return;
            }
            let body: fn(&mut Lab) = $body;
            with_lab(move |l| {
                pin_to_cpu(None);
                body(l)
            });
        }
    };
}

fn setup(l: &mut Lab, inbound: Vec<sg_userspace::api::IpPermission>) -> String {
    let g = l.world.group("lab");
    if !inbound.is_empty() {
        l.world.authorize(&g, false, inbound).expect("authorize");
    }
    l.world.attach(IFACE, &[&g], &[ip(ME4)]).expect("attach");
    l.apply();
    g
}

fn tcp(from: &str, to: &str, sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    Frame::tcp(ip(from), ip(to), sport, dport, flags).bytes()
}

/// Runs one frame `n` times in one test run; true if it passed.
fn repeat(l: &mut Lab, hook: Hook, frame: &[u8], n: u32) -> bool {
    l.dp.test_run(hook, l.ifindex, frame, n)
        .expect("test run")
        .pass
}

/// An outbound TCP connection to PEER4:443 from `sport`, handshake done (established).
fn connect(l: &mut Lab, sport: u16) {
    assert!(l.run(Hook::TcEgress, &tcp(ME4, PEER4, sport, 443, TCP_SYN)));
    assert!(l.run(Hook::Xdp, &tcp(PEER4, ME4, 443, sport, TCP_SYN | TCP_ACK)));
    assert!(l.run(Hook::TcEgress, &tcp(ME4, PEER4, sport, 443, TCP_ACK)));
}

/// The one tracked flow's packet and byte counts as describe-conntrack shows them.
fn counts(dp: &Datapath) -> (u64, u64) {
    let flows = dp.conntrack();
    assert_eq!(flows.len(), 1, "one flow");
    let v = &flows[0].value;
    (v.packets[0] + v.packets[1], v.bytes[0] + v.bytes[1])
}

/// Longer than `CT_CACHE_TICKS` jiffies at any HZ (100 or more).
const PAST_THE_WINDOW: Duration = Duration::from_millis(50);

lab_test!(cached_packets_are_all_counted, |l| {
    setup(l, vec![]);
    connect(l, 40000);
    let ack_in = tcp(PEER4, ME4, 443, 40000, TCP_ACK);
    let ack_out = tcp(ME4, PEER4, 40000, 443, TCP_ACK);
    let len = ack_in.len() as u64;
    let (p0, b0) = counts(&l.dp);
    assert_eq!(p0, 3, "the handshake");
    assert!(repeat(l, Hook::Xdp, &ack_in, 1000));
    assert!(repeat(l, Hook::TcEgress, &ack_out, 1000));
    assert!(
        !l.dp.conntrack_pending().is_empty(),
        "some of the 2 000 packets passed on the cache (the first of each run read the table)"
    );
    assert_eq!(
        counts(&l.dp),
        (p0 + 2000, b0 + 2000 * len),
        "every packet counted once, cached or not"
    );
    // Past the cache's window the next packet reads the table and hands it the pending
    // counts: still every packet once.
    sleep(PAST_THE_WINDOW);
    assert!(l.run(Hook::Xdp, &ack_in));
    assert_eq!(counts(&l.dp), (p0 + 2001, b0 + 2001 * len));
    assert_eq!(l.counter("pass_conntrack"), 2003);
});

lab_test!(a_flushed_flow_stops_at_once_on_every_cpu, |l| {
    setup(l, vec![]);
    connect(l, 40000);
    let ack_in = tcp(PEER4, ME4, 443, 40000, TCP_ACK);
    let flows = l.dp.conntrack();
    assert!(repeat(l, Hook::Xdp, &ack_in, 100), "established: cached");
    // Right away (reading the flows takes longer than the cache's window).
    assert_eq!(l.dp.flush(&flows), 1);
    // No sleep: the cached copy is still within its window, but the flush bumped the epoch.
    assert!(
        !l.run(Hook::Xdp, &ack_in),
        "no inbound rule and no flow: the reply no longer passes"
    );
});

lab_test!(state_changes_go_through_the_table, |l| {
    setup(l, vec![]);
    connect(l, 40000);
    let ack_in = tcp(PEER4, ME4, 443, 40000, TCP_ACK);
    assert!(repeat(l, Hook::Xdp, &ack_in, 100));
    // A FIN is never taken from the cache: the table's entry moves to CLOSING at once.
    assert!(l.run(Hook::Xdp, &tcp(PEER4, ME4, 443, 40000, TCP_FIN | TCP_ACK)));
    let flows = l.dp.conntrack();
    assert_eq!(flows[0].value.state, sg_common::conntrack::CT_STATE_CLOSING);
    assert!(flows[0].expires_in_s <= 120, "the closing timeout applies");
    // A SYN on the closed tuple is judged by the rules (none inbound): dropped, although the
    // flow was cached moments ago.
    assert!(!l.run(Hook::Xdp, &tcp(PEER4, ME4, 443, 40000, TCP_SYN)));
    assert!(
        l.run(Hook::Xdp, &ack_in),
        "the closing flow's other packets pass"
    );
});

lab_test!(a_udp_flow_is_cached_only_as_a_stream, |l| {
    setup(l, vec![]);
    let out = Frame::udp(ip(ME4), ip(PEER4), 5000, 53).bytes();
    let back = Frame::udp(ip(PEER4), ip(ME4), 53, 5000).bytes();
    assert!(repeat(l, Hook::TcEgress, &out, 10));
    assert!(repeat(l, Hook::Xdp, &back, 10));
    // Each change of direction must reach the table whichever CPU sees it (SG-ENF-6: the
    // stream timeout starts at the second turn), so nothing passed on a cache so far.
    assert!(l.dp.conntrack_pending().is_empty());
    assert!(repeat(l, Hook::TcEgress, &out, 10));
    let flows = l.dp.conntrack();
    assert_eq!(flows[0].value.turns, 2, "each change of direction counted");
    assert_eq!(flows[0].value.packets[0] + flows[0].value.packets[1], 30);
    assert!(
        !l.dp.conntrack_pending().is_empty(),
        "a stream is cached: its turns no longer matter"
    );
});

// Flow logs record each direction of a flow apart (issue 16): the entry counts packets and
// bytes by direction, on the table's path and on the cache's alike.
lab_test!(a_flow_counts_each_direction_apart, |l| {
    setup(l, vec![]);
    let out = Frame::udp(ip(ME4), ip(PEER4), 5001, 53).bytes();
    let back = Frame::udp(ip(PEER4), ip(ME4), 53, 5001).bytes();
    assert!(repeat(l, Hook::TcEgress, &out, 10));
    assert!(repeat(l, Hook::Xdp, &back, 4));
    // Now a stream: these pass on the cache, pending until the entry is next read.
    assert!(repeat(l, Hook::TcEgress, &out, 7));
    assert!(repeat(l, Hook::Xdp, &back, 5));
    let flows = l.dp.conntrack();
    let v = &flows[0].value;
    let (inbound, outbound) = (
        sg_common::dir::INBOUND as usize,
        sg_common::dir::OUTBOUND as usize,
    );
    assert_eq!((v.packets[outbound], v.packets[inbound]), (17, 9));
    assert_eq!(
        (v.bytes[outbound], v.bytes[inbound]),
        (17 * out.len() as u64, 9 * back.len() as u64)
    );
});

lab_test!(the_filter_counts_every_entry, |l| {
    // Not from anywhere: a UDP flow allowed from anywhere both ways is untracked (SG-ENF-3).
    setup(l, vec![perm("udp", Some((53, 53)), "203.0.113.0/24")]);
    for sport in 40000..40050 {
        connect(l, sport);
    }
    for sport in 1000..1050 {
        assert!(l.run(
            Hook::Xdp,
            &Frame::udp(ip(PEER4), ip(ME4), sport, 53).bytes()
        ));
    }
    let flows = l.dp.conntrack();
    assert_eq!(flows.len(), 100);
    for f in &flows {
        assert!(l.dp.conntrack_filter(&f.key).0 >= 1, "every entry counted");
    }
    assert_eq!(l.dp.conntrack_filter(&flows[0].key).1, 100, "and no more");
    // A SYN on an expired tuple replaces its entry: the count stays exact.
    l.dp.age_conntrack(Duration::from_secs(432_001));
    assert!(l.run(Hook::TcEgress, &tcp(ME4, PEER4, 40000, 443, TCP_SYN)));
    assert_eq!(l.dp.conntrack_filter(&flows[0].key).1, 100);
    // The sweeper (in the kernel) and a flush (in sgd) both subtract what they removed.
    let report = l.dp.sweep(Datapath::now());
    assert_eq!(report.removed_tcp + report.removed_other, 99);
    assert_eq!(l.dp.conntrack_filter(&flows[0].key).1, 1);
    let left = l.dp.conntrack();
    assert_eq!(l.dp.flush(&left), 1);
    assert_eq!(l.dp.conntrack_filter(&flows[0].key).1, 0);
});

lab_test!(flushing_one_flow_keeps_the_counts_of_the_others, |l| {
    setup(l, vec![]);
    connect(l, 40000);
    connect(l, 40001);
    let ack_in = tcp(PEER4, ME4, 443, 40000, TCP_ACK);
    assert!(repeat(l, Hook::Xdp, &ack_in, 1000));
    let other: Vec<_> =
        l.dp.conntrack()
            .into_iter()
            .filter(|f| f.key.local_port == 40001)
            .collect();
    // The flush invalidates every cached copy; the counts waiting in them stay.
    assert_eq!(l.dp.flush(&other), 1);
    assert_eq!(counts(&l.dp).0, 1003);
    sleep(PAST_THE_WINDOW);
    assert!(l.run(Hook::Xdp, &ack_in));
    assert_eq!(
        counts(&l.dp).0,
        1004,
        "handed to the entry once, at the refresh"
    );
});
