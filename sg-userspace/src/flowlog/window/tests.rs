use super::*;
use sg_common::{
    dir::OUTBOUND,
    tcp::{TCP_ACK, TCP_SYN},
};

const IF: u32 = 7;

fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut b = [0; 16];
    b[..4].copy_from_slice(&a);
    b
}

/// The instance 10.0.0.2:22, the peer 10.0.0.9:40000.
fn key(proto: u8) -> CtKey {
    CtKey {
        ifindex: IF,
        local: v4([10, 0, 0, 2]),
        remote: v4([10, 0, 0, 9]),
        local_port: 22,
        remote_port: 40000,
        proto,
        family: 4,
        _pad: [0; 2],
    }
}

fn agg(flow: CtKey, dir: u8, reason: u32, packets: u64, flags: u8) -> AggIn {
    AggIn {
        key: AggKey {
            flow,
            dir,
            reason: reason as u8,
            audit: 0,
            _pad: 0,
        },
        packets,
        bytes: packets * 60,
        tcp_flags: flags,
        first: 1000,
        last: 1000,
        first_ns: 7,
        pending: false,
    }
}

fn none() -> HashSet<u32> {
    HashSet::new()
}

fn fresh() -> HashSet<u32> {
    [IF].into()
}

fn inserted(n: u64) -> HashMap<u32, u64> {
    [(IF, n)].into()
}

#[test]
fn a_tracked_flow_is_counted_from_its_entry_once_per_direction() {
    let mut d = Deltas::default();
    // Covered from now: a flow already tracked is a baseline.
    let old = FlowIn {
        key: CtKey {
            local_port: 80,
            ..key(6)
        },
        serial: 1,
        packets: [100, 90],
        bytes: [1000, 900],
        tcp_seen: [2, 18],
        last: 999,
        origin: INBOUND,
    };
    let t = d.tick(&[], &[old], &inserted(0), 1000, &fresh());
    assert!(t.deltas.is_empty());
    // A new connection: its SYN was a decision of the rules, then it was tracked.
    let syn = agg(key(6), INBOUND, PASS_RULE, 1, TCP_SYN);
    let flow = FlowIn {
        key: key(6),
        serial: 9,
        packets: [3, 2],
        bytes: [180, 120],
        tcp_seen: [2, 18],
        last: 1003,
        origin: INBOUND,
    };
    let t = d.tick(&[syn], &[old, flow], &inserted(1), 1005, &none());
    assert!(t.skipped.is_empty());
    let mut got = t.deltas.clone();
    got.sort_by_key(|d| d.key.ingress);
    assert_eq!(got.len(), 2, "{got:?}");
    let (out, inn) = (&got[0], &got[1]);
    assert!(inn.key.ingress && inn.key.accepted);
    assert_eq!(
        (inn.key.src, inn.key.src_port, inn.key.dst, inn.key.dst_port),
        (
            "10.0.0.9".parse().unwrap(),
            40000,
            "10.0.0.2".parse().unwrap(),
            22
        )
    );
    assert_eq!((inn.packets, inn.bytes, inn.tcp_flags), (3, 180, 2));
    assert_eq!((out.packets, out.bytes, out.tcp_flags), (2, 120, 18));
    assert_eq!(out.key.src_port, 22);
    // More data, then the FIN of the instance's side: only what is new, and the new flag.
    let flow = FlowIn {
        packets: [5, 6],
        bytes: [300, 400],
        tcp_seen: [2, 19],
        last: 1010,
        ..flow
    };
    let t = d.tick(&[syn], &[old, flow], &inserted(1), 1010, &none());
    let mut got = t.deltas;
    got.sort_by_key(|d| d.key.ingress);
    assert_eq!(
        (got[0].packets, got[0].bytes, got[0].tcp_flags),
        (4, 280, 1)
    );
    assert_eq!(
        (got[1].packets, got[1].bytes, got[1].tcp_flags),
        (2, 120, 0)
    );
    // The same tuple opened again is a new flow (another serial): counted from zero.
    let again = FlowIn {
        serial: 10,
        packets: [1, 0],
        bytes: [60, 0],
        tcp_seen: [2, 0],
        last: 1020,
        ..flow
    };
    let t = d.tick(&[syn], &[again], &inserted(1), 1020, &none());
    assert_eq!(t.deltas.len(), 1);
    assert_eq!((t.deltas[0].packets, t.deltas[0].tcp_flags), (1, 2));
}

#[test]
fn refused_and_untracked_packets_come_from_the_decisions() {
    let mut d = Deltas::default();
    d.tick(&[], &[], &inserted(0), 1000, &fresh());
    let flood = agg(key(6), INBOUND, DROP_NO_RULE, 1000, TCP_SYN);
    let dns = agg(key(17), OUTBOUND, PASS_RULE, 4, 0);
    let t = d.tick(&[flood, dns], &[], &inserted(2), 1001, &none());
    assert!(t.skipped.is_empty());
    let refused = t.deltas.iter().find(|d| !d.key.accepted).unwrap();
    assert_eq!(
        (refused.packets, refused.bytes, refused.tcp_flags),
        (1000, 60_000, 2)
    );
    assert_eq!(refused.key.reason, DROP_NO_RULE);
    let untracked = t.deltas.iter().find(|d| d.key.accepted).unwrap();
    assert_eq!((untracked.packets, untracked.key.ingress), (4, false));
    assert_eq!(untracked.tcp_flags, 0);
    // The flood goes on: only the growth; the quiet flow is removed after IDLE_TICKS.
    let flood = AggIn {
        packets: 1500,
        bytes: 90_000,
        ..flood
    };
    let t = d.tick(&[flood, dns], &[], &inserted(2), 1002, &none());
    assert_eq!(t.deltas.len(), 1);
    assert_eq!(t.deltas[0].packets, 500);
    // The daemon deletes what a tick calls stale from the map.
    let mut left = vec![flood, dns];
    let mut removed = Vec::new();
    for s in 0..=IDLE_TICKS {
        let t = d.tick(&left, &[], &inserted(2), 1020 + u64::from(s), &none());
        assert!(t.deltas.is_empty());
        left.retain(|a| !t.stale.contains(&a.key));
        removed.extend(t.stale);
    }
    assert_eq!(removed, vec![dns.key, flood.key]);
}

#[test]
fn flows_the_kernel_dropped_unread_make_the_window_skipdata() {
    let mut d = Deltas::default();
    d.tick(&[], &[], &inserted(10), 1000, &fresh());
    let one = agg(key(17), INBOUND, DROP_NO_RULE, 1, 0);
    // Five flows went in; one is left to read.
    let t = d.tick(&[one], &[], &inserted(15), 1001, &none());
    assert!(t.skipped.contains(&IF));
    let t = d.tick(&[one], &[], &inserted(15), 1002, &none());
    assert!(t.skipped.is_empty());
}

fn info(ifindex: u32) -> Option<InterfaceInfo> {
    (ifindex == IF || ifindex == IF + 1).then(|| InterfaceInfo {
        interface_id: format!("eni-{ifindex}"),
        vpc_id: "vpc-1".into(),
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
        addresses: vec!["10.0.0.2".parse().unwrap()],
        link_header: 0,
    })
}

#[test]
fn a_window_writes_each_flow_once_and_nodata_for_quiet_interfaces() {
    let mut d = Deltas::default();
    let covered: HashSet<u32> = [IF, IF + 1].into();
    d.tick(&[], &[], &HashMap::new(), 1000, &covered);
    let mut all = Sink::new(Traffic::All, 60, 1000);
    let mut rejects = Sink::new(Traffic::Reject, 60, 1000);
    // A spoofed packet from the instance, refused by the source/destination check.
    let mut spoofed = key(17);
    spoofed.local = v4([192, 0, 2, 66]);
    let s = agg(spoofed, OUTBOUND, DROP_SPOOFED, 2, 0);
    let ok = agg(key(17), OUTBOUND, PASS_RULE, 3, 0);
    for now in [1010, 1020] {
        let t = d.tick(&[s, ok], &[], &inserted(2), now, &none());
        all.add(&t, &covered);
        rejects.add(&t, &covered);
    }
    assert!(!all.due(1059) && all.due(1060));
    let records = all.close(1060, &covered, &info);
    assert_eq!(records.len(), 3, "{records:?}");
    let flows: Vec<&FlowFields> = records.iter().filter_map(|r| r.flow.as_ref()).collect();
    assert_eq!(flows.len(), 2);
    let refused = flows.iter().find(|f| !f.accepted).unwrap();
    // AWS: an outbound record's srcaddr is the interface's address; the packet's is in
    // pkt-srcaddr.
    assert_eq!(refused.srcaddr, "10.0.0.2".parse::<IpAddr>().unwrap());
    assert_eq!(refused.pkt_srcaddr, "192.0.2.66".parse::<IpAddr>().unwrap());
    assert_eq!(refused.reject_reason.as_deref(), Some("SourceDestCheck"));
    assert_eq!(refused.packets, 2);
    let accepted = flows.iter().find(|f| f.accepted).unwrap();
    assert_eq!((accepted.packets, accepted.bytes), (3, 180));
    assert_eq!(accepted.srcaddr, accepted.pkt_srcaddr);
    let quiet = records.iter().find(|r| r.interface_id == "eni-8").unwrap();
    assert_eq!(quiet.status, Status::NoData);
    assert_eq!((quiet.start, quiet.end), (1000, 1060));
    // Only the refusal in the other flow log; and the next window starts empty.
    let records = rejects.close(1060, &covered, &info);
    assert_eq!(records.iter().filter(|r| r.flow.is_some()).count(), 1);
    assert!(
        all.close(1120, &covered, &info)
            .iter()
            .all(|r| r.status == Status::NoData)
    );
}

#[test]
fn audit_passed_refusals_are_marked() {
    let mut d = Deltas::default();
    d.tick(&[], &[], &inserted(0), 1000, &fresh());
    let mut a = agg(key(6), INBOUND, DROP_NO_RULE, 1, TCP_SYN | TCP_ACK);
    a.key.audit = 1;
    let t = d.tick(&[a], &[], &inserted(1), 1001, &none());
    let mut sink = Sink::new(Traffic::All, 60, 1000);
    sink.add(&t, &[IF].into());
    let r = sink.close(1060, &[IF].into(), &info);
    let f = r[0].flow.as_ref().unwrap();
    assert_eq!(f.reject_reason.as_deref(), Some("audit:NoRule"));
    assert!(!f.accepted);
    assert_eq!(f.tcp_flags, 18);
}

#[test]
fn low_readings_pending_counts_and_remade_entries_count_once() {
    let mut d = Deltas::default();
    d.tick(&[], &[], &inserted(0), 1000, &fresh());
    let a = agg(key(17), INBOUND, DROP_NO_RULE, 100, 0);
    let t = d.tick(&[a], &[], &inserted(1), 1001, &none());
    assert_eq!(t.deltas[0].packets, 100);
    // Counts moving from a CPU's copy to the entry as it is read: a moment low.
    let low = AggIn {
        packets: 90,
        bytes: 5400,
        ..a
    };
    assert!(
        d.tick(&[low], &[], &inserted(1), 1002, &none())
            .deltas
            .is_empty()
    );
    let more = AggIn {
        packets: 130,
        bytes: 7800,
        ..a
    };
    let t = d.tick(&[more], &[], &inserted(1), 1003, &none());
    assert_eq!((t.deltas[0].packets, t.deltas[0].bytes), (30, 1800));
    // Idle long, but a CPU still holds counts of it: kept.
    let held = AggIn {
        pending: true,
        ..more
    };
    for s in 0..5 {
        let t = d.tick(&[held], &[], &inserted(1), 1100 + s, &none());
        assert!(t.stale.is_empty() && t.deltas.is_empty());
    }
    // The kernel dropped the entry and made it again (another creation time): from zero,
    // and one more flow found for the one more taken in.
    let again = AggIn {
        packets: 3,
        bytes: 180,
        first_ns: 8,
        ..a
    };
    let t = d.tick(&[again], &[], &inserted(2), 1200, &none());
    assert_eq!(t.deltas[0].packets, 3);
    assert!(t.skipped.is_empty());
}

#[test]
fn only_the_opening_decision_of_a_tracked_flow_is_in_its_entry() {
    let mut d = Deltas::default();
    d.tick(&[], &[], &inserted(0), 1000, &fresh());
    let flow = FlowIn {
        key: key(6),
        serial: 3,
        packets: [1, 0],
        bytes: [60, 0],
        tcp_seen: [2, 0],
        last: 1001,
        origin: INBOUND,
    };
    let syn = agg(key(6), INBOUND, PASS_RULE, 1, TCP_SYN);
    let t = d.tick(&[syn], &[flow], &inserted(1), 1001, &none());
    assert_eq!(t.deltas.len(), 1, "the SYN, from the entry: {:?}", t.deltas);
    assert!(t.deltas[0].key.accepted && t.deltas[0].packets == 1);
    // Two more packets the rules judged and passed while the flow lives (a segment outside
    // its window, say): the entry does not count them; the decisions do.
    let more = AggIn {
        packets: 3,
        bytes: 180,
        ..syn
    };
    let t = d.tick(&[more], &[flow], &inserted(1), 1002, &none());
    assert_eq!(t.deltas.len(), 1);
    assert_eq!((t.deltas[0].packets, t.deltas[0].bytes), (2, 120));
}
