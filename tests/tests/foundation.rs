//! End-to-end: sgd started with `ip netns exec` in the instance namespace enforces security
//! groups on real traffic from two peers, over IPv4 and IPv6.

use sg_tests::*;

macro_rules! root_or_skip {
    ($name:expr) => {
        if !require_root($name) {
            return;
        }
    };
}

/// Creates a group allowing TCP 8080 from peer a (v4 and v6) and attaches it to both links.
fn web_setup(t: &Topology, d: &Daemon) -> String {
    let g = d.create_group("web");
    d.allow_in(&g, "tcp", "8080", &format!("{A4}/32"));
    d.allow_in(&g, "tcp", "8080", &format!("{A6}/128"));
    d.attach("fwa", &[&g]);
    d.attach("fwb", &[&g]);
    let _ = t;
    g
}

/// SG-RULE-4, SG-RULE-5, SG-ENF-11 (IPv4 and IPv6): a port allowed from one peer's address
/// connects; the same port from another address and a port no rule allows do not.
#[test]
fn allowed_peer_and_port_only() {
    root_or_skip!("allowed_peer_and_port_only");
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let _s1 = tcp_server(&t.fw, 8080);
    let _s2 = tcp_server(&t.fw, 9090);
    // Before any group is attached, the interfaces are not filtered.
    assert!(tcp_connects(&t.b, FW_B4, 9090));
    web_setup(&t, &d);
    assert!(
        tcp_connects(&t.a, FW_A4, 8080),
        "allowed peer, allowed port (v4)"
    );
    assert!(
        !tcp_connects(&t.b, FW_B4, 8080),
        "other peer, allowed port (v4)"
    );
    assert!(
        !tcp_connects(&t.a, FW_A4, 9090),
        "allowed peer, port without rule (v4)"
    );
    assert!(
        tcp_connects(&t.a, FW_A6, 8080),
        "allowed peer, allowed port (v6)"
    );
    assert!(
        !tcp_connects(&t.b, FW_B6, 8080),
        "other peer, allowed port (v6)"
    );
    assert!(
        !tcp_connects(&t.a, FW_A6, 9090),
        "allowed peer, port without rule (v6)"
    );
    let nis = d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "fwa",
    ]);
    let stats = &nis["NetworkInterfaces"][0]["Statistics"];
    assert!(
        stats["drop_no_rule"].as_u64().unwrap() > 0,
        "drops are counted (SG-ENF-12): {stats}"
    );
    assert!(stats["pass_rule"].as_u64().unwrap() > 0, "{stats}");
}

/// SG-ENF-1, SG-ENF-4, SG-GRP-4: connections the instance opens get their replies although
/// no inbound rule allows them; ICMP echo replies too.
#[test]
fn outbound_connections_get_replies() {
    root_or_skip!("outbound_connections_get_replies");
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let _srv = tcp_server(&t.a, 7000);
    let _udp = udp_server(&t.a, 5353);
    web_setup(&t, &d);
    assert!(tcp_connects(&t.fw, A4, 7000));
    assert!(tcp_connects(&t.fw, A6, 7000));
    assert!(udp_echoes(&t.fw, A4, 5353), "UDP reply (v4)");
    assert!(udp_echoes(&t.fw, A6, 5353), "UDP reply (v6)");
    assert!(pings(&t.fw, A4), "ICMP echo reply");
    assert!(pings(&t.fw, A6), "ICMPv6 echo reply");
    // Inbound echo requests need a rule.
    assert!(!pings(&t.a, FW_A4));
    assert!(!pings(&t.a, FW_A6));
}

/// SG-IF-2, SG-GRP-4: rule changes apply to attached interfaces at once, without reattaching;
/// a group without outbound rules allows no outbound traffic.
#[test]
fn changes_take_effect_immediately() {
    root_or_skip!("changes_take_effect_immediately");
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let _s = tcp_server(&t.fw, 8080);
    let _out = tcp_server(&t.b, 7000);
    let g = web_setup(&t, &d);
    assert!(!tcp_connects(&t.b, FW_B4, 8080));
    d.allow_in(&g, "tcp", "8000-8100", "198.51.100.0/24");
    assert!(tcp_connects(&t.b, FW_B4, 8080), "authorize applies at once");
    d.ok(&[
        "revoke-security-group-ingress",
        "--group-id",
        &g,
        "--protocol",
        "tcp",
        "--port",
        "8080",
        "--cidr",
        &format!("{A4}/32"),
    ]);
    assert!(
        !tcp_connects(&t.a, FW_A4, 8080),
        "revoke applies at once to new connections"
    );
    d.allow_in(&g, "icmp", "-1", "192.0.2.0/24");
    d.allow_in(&g, "icmpv6", "128", "2001:db8:a::/64");
    assert!(pings(&t.a, FW_A4));
    assert!(pings(&t.a, FW_A6));

    assert!(tcp_connects(&t.fw, B4, 7000));
    d.ok(&[
        "revoke-security-group-egress",
        "--group-id",
        &g,
        "--protocol",
        "all",
        "--cidr",
        "0.0.0.0/0",
    ]);
    d.ok(&[
        "revoke-security-group-egress",
        "--group-id",
        &g,
        "--protocol",
        "all",
        "--cidr",
        "::/0",
    ]);
    assert!(
        !tcp_connects(&t.fw, B4, 7000),
        "no outbound rules: no outbound traffic"
    );
    assert!(!tcp_connects(&t.fw, B6, 7000));
    d.ok(&[
        "authorize-security-group-egress",
        "--group-id",
        &g,
        "--protocol",
        "tcp",
        "--port",
        "7000",
        "--cidr",
        "198.51.100.2/32",
    ]);
    assert!(tcp_connects(&t.fw, B4, 7000));
    assert!(!tcp_connects(&t.fw, B6, 7000));

    // Replacing the interface's groups (SG-IF-1): the default group allows members only.
    let vpc_default = d.ok(&["describe-security-groups", "--group-names", "default"]);
    let default_id = vpc_default["SecurityGroups"][0]["GroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    d.attach("fwb", &[&default_id]);
    assert!(
        !tcp_connects(&t.b, FW_B4, 8080),
        "fwb no longer has web's rules"
    );
    assert!(tcp_connects(&t.fw, B4, 7000), "default group: all outbound");
}

/// SG-ENF-10: ARP and neighbour discovery pass even with no inbound rule at all.
#[test]
fn arp_and_neighbour_discovery_always_pass() {
    root_or_skip!("arp_and_neighbour_discovery_always_pass");
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let _srv = tcp_server(&t.a, 7000);
    let g = d.create_group("closed");
    d.attach("fwa", &[&g]);
    t.fw.ip(&["neigh", "flush", "dev", "fwa"]);
    t.a.ip(&["neigh", "flush", "dev", "eth0"]);
    // The instance must resolve a's address (inbound ARP reply / neighbour advertisement).
    assert!(tcp_connects(&t.fw, A4, 7000));
    assert!(tcp_connects(&t.fw, A6, 7000));
    let stats = &d.ok(&["describe-network-interfaces"])["NetworkInterfaces"][0]["Statistics"];
    assert!(stats["pass_always"].as_u64().unwrap() > 0, "{stats}");
}

/// Groups, rules and attachments live in the store and survive a restart of sgd, which
/// enforces them again.
#[test]
fn state_survives_restart() {
    root_or_skip!("state_survives_restart");
    let t = Topology::new();
    let mut d = Daemon::start(&t.fw);
    let _s = tcp_server(&t.fw, 8080);
    web_setup(&t, &d);
    let before = d.ok(&["describe-security-groups"]);
    d.restart();
    assert_eq!(d.ok(&["describe-security-groups"]), before);
    let nis = d.ok(&["describe-network-interfaces"]);
    assert_eq!(nis["NetworkInterfaces"].as_array().unwrap().len(), 2);
    assert_eq!(nis["NetworkInterfaces"][0]["Status"], "in-use");
    assert!(tcp_connects(&t.a, FW_A4, 8080));
    assert!(!tcp_connects(&t.b, FW_B4, 8080));
}

/// UDP inbound needs a rule; with one, request and reply pass.
#[test]
fn udp_inbound_by_rule() {
    root_or_skip!("udp_inbound_by_rule");
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let _u = udp_server(&t.fw, 5300);
    let g = web_setup(&t, &d);
    assert!(!udp_echoes(&t.a, FW_A4, 5300));
    d.allow_in(&g, "udp", "5300", "0.0.0.0/0");
    assert!(udp_echoes(&t.a, FW_A4, 5300));
    assert!(udp_echoes(&t.b, FW_B4, 5300));
    assert!(
        !udp_echoes(&t.b, FW_B6, 5300),
        "the IPv4 rule does not open IPv6"
    );
}

/// Several daemons, one per namespace, run side by side with their own paths and rules.
#[test]
fn daemons_side_by_side() {
    root_or_skip!("daemons_side_by_side");
    let t1 = Topology::new();
    let t2 = Topology::new();
    let d1 = Daemon::start(&t1.fw);
    let d2 = Daemon::start(&t2.fw);
    let _s1 = tcp_server(&t1.fw, 8080);
    let _s2 = tcp_server(&t2.fw, 8080);
    web_setup(&t1, &d1);
    let g2 = d2.create_group("other");
    d2.allow_in(&g2, "tcp", "8080", &format!("{B4}/32"));
    d2.attach("fwa", &[&g2]);
    d2.attach("fwb", &[&g2]);
    assert!(tcp_connects(&t1.a, FW_A4, 8080));
    assert!(!tcp_connects(&t1.b, FW_B4, 8080));
    assert!(!tcp_connects(&t2.a, FW_A4, 8080));
    assert!(tcp_connects(&t2.b, FW_B4, 8080));
}
