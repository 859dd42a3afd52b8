//! Floods from outside cannot starve the conntrack tables (issue 17, item 1; SG-ENF-9: with
//! the budgets off, the allowance behaves as the spec and AWS say).
//!
//! A SYN flood from spoofed sources (trafgen, as fast as it goes) at a port open to
//! `0.0.0.0/0` on an instance whose egress is not open, so every flow is tracked. With the
//! half-open budget (`conntrack_tcp_half_open_max`), established flows keep passing, a
//! legitimate client still connects (past the budget its SYN passes for the instance's SYN
//! cookies, and the flow is tracked from its ACK), and the table never fills. With the
//! budget off, the same flood fills the table and the client is refused, as on AWS.
//!
//! Likewise for the other table: a flood of spoofed UDP flows takes at most its inbound
//! budget (`conntrack_other_inbound_max`), and the instance still opens its own flows.
//!
//! The spoofed sources are answered through peer `a` (the firewall namespace routes
//! everything there), so no packet leaves the test's namespaces.

use std::{
    thread,
    time::{Duration, Instant},
};

use sg_tests::{
    flood::{Flood, allowance, instance, mac_of, statistic, syn_flood, udp_flood},
    *,
};

/// Legitimate connections from `a`'s own address during the flood: how many of `n` open and
/// echo (each has `BLOCKED_AFTER` to connect, the client's own SYN retransmission included).
fn legitimate_connects(t: &Topology, n: usize) -> usize {
    (0..n).filter(|_| tcp_connects(&t.a, FW_A4, 8080)).count()
}

#[test]
fn a_syn_flood_leaves_established_flows_and_new_clients_alone() {
    if !require_root("a_syn_flood_leaves_established_flows_and_new_clients_alone") {
        return;
    }
    let t = Topology::new();
    let d = instance(
        &t,
        r#"{ "conntrack_tcp_max": 2048, "conntrack_tcp_half_open_max": 256 }"#,
    );
    let _server = tcp_server(&t.fw, 8080);
    let mut established = tcp_open(&t.a, FW_A4, 8080);
    assert!(established.echoes());
    let flood = Flood::start(&t.a, &syn_flood(&mac_of(&t.fw, "fwa")));
    let started = Instant::now();
    let mut worst = 0u64;
    let mut echoes = 0;
    let mut connects = 0;
    let rounds = 10;
    for _ in 0..rounds {
        thread::sleep(Duration::from_millis(300));
        // (a) the established flow keeps passing
        if established.echoes() {
            echoes += 1;
        }
        // (b) a new client still connects
        if tcp_connects(&t.a, FW_A4, 8080) {
            connects += 1;
        }
        // (c) the table never fills: half-open flows stay within their budget
        let a = allowance(&d);
        let (in_use, max) = (
            a["Tcp"]["InUse"].as_u64().expect("in use"),
            a["Tcp"]["Maximum"].as_u64().expect("maximum"),
        );
        worst = worst.max(in_use);
        assert!(in_use < max, "the TCP table filled: {a}");
        assert!(
            a["TcpHalfOpen"]["InUse"].as_u64().expect("half-open") <= 256 + 128 + 8,
            "{a}"
        );
    }
    let cookies = statistic(&d, "pass_syn_cookie");
    let exceeded = statistic(&d, "conntrack_allowance_exceeded");
    drop(flood);
    eprintln!(
        "flood of {:?}: {echoes}/{rounds} echoes, {connects}/{rounds} connects, at most {worst} \
         entries of 2048, {cookies} packets passed for SYN cookies, {exceeded} refused",
        started.elapsed()
    );
    assert_eq!(echoes, rounds, "the established flow stopped passing");
    assert!(
        connects >= rounds - 1,
        "{connects}/{rounds} clients connected"
    );
    assert!(
        cookies > 1000,
        "the flood never spent the budget: {cookies}"
    );
    assert_eq!(exceeded, 0, "new flows were refused");
    // The budget's count follows its entries: a flush empties it.
    // The budget's count follows its entries: once the last SYNs queued are judged (and
    // with no route left for the instance's retransmitted SYN-ACKs, which would track their
    // handshakes again), a flush empties it with the table.
    t.fw.ip(&["route", "del", "default"]);
    thread::sleep(Duration::from_secs(1));
    d.ok(&["flush-conntrack"]);
    let a = allowance(&d);
    assert_eq!(
        (&a["Tcp"]["InUse"], &a["TcpHalfOpen"]["InUse"]),
        (&0.into(), &0.into()),
        "{a}"
    );
}

#[test]
fn without_the_half_open_budget_a_syn_flood_fills_the_table() {
    if !require_root("without_the_half_open_budget_a_syn_flood_fills_the_table") {
        return;
    }
    let t = Topology::new();
    let d = instance(
        &t,
        r#"{ "conntrack_tcp_max": 2048, "conntrack_tcp_half_open_max": 0 }"#,
    );
    let _server = tcp_server(&t.fw, 8080);
    let mut established = tcp_open(&t.a, FW_A4, 8080);
    let flood = Flood::start(&t.a, &syn_flood(&mac_of(&t.fw, "fwa")));
    // What the budget prevents: the table full, new clients refused (established flows
    // still pass, SG-ENF-9).
    let connects = legitimate_connects(&t, 5);
    let a = allowance(&d);
    let exceeded = statistic(&d, "conntrack_allowance_exceeded");
    assert!(established.echoes());
    drop(flood);
    eprintln!("without the budget: {connects}/5 connects, {a}, {exceeded} refused");
    assert_eq!(a["Tcp"]["InUse"], a["Tcp"]["Maximum"], "{a}");
    assert!(connects <= 1, "{connects}/5 clients connected");
    assert!(exceeded > 1000, "{exceeded}");
    assert_eq!(statistic(&d, "pass_syn_cookie"), 0);
}

#[test]
fn an_inbound_udp_flood_leaves_the_instance_room_for_its_own_flows() {
    if !require_root("an_inbound_udp_flood_leaves_the_instance_room_for_its_own_flows") {
        return;
    }
    for (budget, instance_room) in [(768, true), (0, false)] {
        let t = Topology::new();
        let d = instance(
            &t,
            &format!(
                r#"{{ "conntrack_other_max": 1024, "conntrack_other_inbound_max": {budget} }}"#
            ),
        );
        let _echo = udp_server(&t.b, 5300);
        let flood = Flood::start(&t.a, &udp_flood(&mac_of(&t.fw, "fwa")));
        thread::sleep(Duration::from_millis(500));
        // The instance opens flows of its own (a DNS lookup, say) while the flood goes on.
        let own = (0..5).filter(|_| udp_echoes(&t.fw, B4, 5300)).count();
        let a = allowance(&d);
        drop(flood);
        eprintln!("inbound budget {budget}: {own}/5 of the instance's flows, {a}");
        if instance_room {
            assert_eq!(own, 5, "{a}");
            // Two CPUs may both take the last place.
            let inbound = a["OtherInbound"]["InUse"].as_u64().expect("in use");
            assert!(
                (768..=770).contains(&inbound),
                "the flood took its budget: {a}"
            );
            assert!(a["Other"]["InUse"].as_u64().expect("in use") < 1024, "{a}");
        } else {
            assert_eq!(own, 0, "{a}");
            assert_eq!(a["Other"]["InUse"], 1024, "{a}");
        }
    }
}
