//! Connection tracking in the verdict (SG-ENF-1, 3, 5): tracked flows pass whatever the
//! rules, which flows are left untracked, and ICMP of the other family.

use super::pkt;
use crate::{
    eval::*,
    testkit::{World, ip, perm},
};

#[test]
fn sg_enf_1_tracked_flows_pass_whatever_the_rules() {
    let mut w = World::new();
    let a = w.group("a");
    w.attach("eth0", &[&a], &[ip("192.0.2.1")]).unwrap();
    let p = pkt(
        "eth0",
        Direction::Inbound,
        "198.51.100.1",
        "192.0.2.1",
        6,
        40000,
    );
    assert_eq!(w.eval(&p), Verdict::Denied);
    assert_eq!(
        evaluate(&w.state, &w.addrs, &p, Conntrack { live_flow: true }),
        Verdict::Tracked
    );
}

#[test]
fn sg_enf_5_icmp_of_the_other_family_is_another_protocol() {
    let w = World::new();
    let mut p = pkt(
        "eth0",
        Direction::Outbound,
        "203.0.113.7",
        "192.0.2.1",
        58,
        0,
    );
    p.icmp_type = 135;
    assert!(tracked(&w.state, &p), "ICMPv6 over IPv4");
    let mut p = pkt(
        "eth0",
        Direction::Outbound,
        "2001:db8::7",
        "2001:db8::1",
        1,
        0,
    );
    p.icmp_type = 3;
    assert!(tracked(&w.state, &p), "ICMP over IPv6");
    let mut p = pkt(
        "eth0",
        Direction::Outbound,
        "203.0.113.7",
        "192.0.2.1",
        1,
        0,
    );
    p.icmp_type = 3;
    assert!(!tracked(&w.state, &p), "an ICMP error is judged alone");
    p.icmp_type = 8;
    assert!(tracked(&w.state, &p), "echo");
}

#[test]
fn sg_enf_3_untracked_flows() {
    let mut w = World::new();
    let g = w.group("ssh");
    w.authorize(
        &g,
        false,
        vec![
            perm("tcp", Some((22, 22)), "0.0.0.0/0"),
            perm("tcp", Some((80, 80)), "203.0.113.0/24"),
        ],
    )
    .unwrap();
    w.attach("eth0", &[&g], &[ip("192.0.2.1")]).unwrap();
    let ssh = pkt(
        "eth0",
        Direction::Inbound,
        "198.51.100.7",
        "192.0.2.1",
        6,
        22,
    );
    assert!(
        !tracked(&w.state, &ssh),
        "inbound from 0.0.0.0/0 with all outbound open"
    );
    let mut reply = pkt(
        "eth0",
        Direction::Outbound,
        "198.51.100.7",
        "192.0.2.1",
        6,
        40000,
    );
    reply.src_port = 22;
    assert!(
        !tracked(&w.state, &reply),
        "the answers of an untracked flow"
    );
    let web = pkt(
        "eth0",
        Direction::Inbound,
        "203.0.113.9",
        "192.0.2.1",
        6,
        80,
    );
    assert!(tracked(&w.state, &web), "a specific CIDR is tracked");
    let out = pkt(
        "eth0",
        Direction::Outbound,
        "198.51.100.7",
        "192.0.2.1",
        6,
        443,
    );
    assert!(
        tracked(&w.state, &out),
        "outbound: inbound is not open to all"
    );
    // Outbound open only on some ports: inbound 0.0.0.0/0 flows become tracked.
    w.revoke(&g, true, vec![perm("-1", None, "0.0.0.0/0")])
        .unwrap();
    w.authorize(&g, true, vec![perm("tcp", Some((0, 1000)), "0.0.0.0/0")])
        .unwrap();
    assert!(tracked(&w.state, &ssh));
    // ...and untracked again once the union covers every port.
    w.authorize(
        &g,
        true,
        vec![perm("tcp", Some((1001, 65535)), "0.0.0.0/0")],
    )
    .unwrap();
    assert!(!tracked(&w.state, &ssh));
    // IPv6 is judged by ::/0 rules.
    let ssh6 = pkt(
        "eth0",
        Direction::Inbound,
        "2001:db8::7",
        "2001:db8::1",
        6,
        22,
    );
    assert!(tracked(&w.state, &ssh6));
    let mut echo = pkt(
        "eth0",
        Direction::Inbound,
        "198.51.100.7",
        "192.0.2.1",
        1,
        0,
    );
    echo.icmp_type = 8;
    assert!(
        tracked(&w.state, &echo),
        "ICMP echo is always tracked (SG-ENF-4)"
    );
    echo.icmp_type = 3;
    assert!(
        !tracked(&w.state, &echo),
        "other ICMP messages are judged alone"
    );
    assert!(
        tracked(
            &w.state,
            &pkt(
                "eth0",
                Direction::Outbound,
                "198.51.100.7",
                "192.0.2.1",
                47,
                0
            )
        ),
        "SG-ENF-5"
    );
}
