//! Host mode (SG-IF-5): one sgd on a host protects several instances from the host side of
//! their veths, which are ports of a bridge. Directions are the instances'; group references
//! between instances match their declared addresses; the source/destination check stops an
//! instance from spoofing its way into a group.

use sg_tests::*;

struct Hosted {
    host: Netns,
    i1: Netns,
    i2: Netns,
    i3: Netns,
}

/// Instance `iN` has 192.0.2.1N and 2001:db8:1::1N on its `eth0`, whose peer `hN` is a port
/// of the host's bridge.
fn hosted() -> Hosted {
    let t = Hosted {
        host: Netns::new("host"),
        i1: Netns::new("i1"),
        i2: Netns::new("i2"),
        i3: Netns::new("i3"),
    };
    t.host.ip(&["link", "add", "br0", "type", "bridge"]);
    t.host.ip(&["link", "set", "br0", "up"]);
    for (n, ns) in [(1, &t.i1), (2, &t.i2), (3, &t.i3)] {
        let h = format!("h{n}");
        veth(
            &t.host,
            &h,
            &[],
            ns,
            "eth0",
            &[&format!("192.0.2.1{n}/24"), &format!("2001:db8:1::1{n}/64")],
        );
        t.host.ip(&["link", "set", &h, "master", "br0"]);
    }
    t
}

#[test]
fn group_references_between_instances_and_source_dest_check() {
    if !require_root("group_references_between_instances_and_source_dest_check") {
        return;
    }
    let t = hosted();
    let d = Daemon::start(&t.host);
    let web = d.create_group("web");
    let db = d.create_group("db");
    let other = d.create_group("other");
    d.ok(&[
        "authorize-security-group-ingress",
        "--group-id",
        &db,
        "--protocol",
        "tcp",
        "--port",
        "5432",
        "--source-group",
        &web,
    ]);
    for (h, g, n) in [("h1", &web, 1), ("h2", &db, 2), ("h3", &other, 3)] {
        let out = d.ok(&[
            "create-network-interface",
            "--network-interface-id",
            h,
            "--attach-mode",
            "host",
            "--private-ip-addresses",
            &format!("192.0.2.1{n}"),
            &format!("2001:db8:1::1{n}"),
            "--groups",
            g,
        ]);
        assert_eq!(out["NetworkInterface"]["AttachMode"], "host");
        assert_eq!(out["NetworkInterface"]["SourceDestCheck"], true);
    }
    let _db = tcp_server(&t.i2, 5432);
    assert!(
        tcp_connects(&t.i1, "192.0.2.12", 5432),
        "web member reaches db (v4)"
    );
    assert!(
        tcp_connects(&t.i1, "2001:db8:1::12", 5432),
        "web member reaches db (v6)"
    );
    assert!(!tcp_connects(&t.i3, "192.0.2.12", 5432), "not a member");
    assert!(!tcp_connects(&t.i3, "2001:db8:1::12", 5432));

    // Spoofing web's address from i3 is dropped on i3's host side.
    t.i3.ip(&["addr", "add", "192.0.2.99/32", "dev", "eth0"]);
    assert!(!tcp_connects_from(&t.i3, "192.0.2.99", "192.0.2.12", 5432));
    let stats = &d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "h3",
    ])["NetworkInterfaces"][0]["Statistics"];
    assert!(
        stats["drop_source_dest_check"].as_u64().unwrap_or(0) > 0,
        "{stats}"
    );

    // Membership follows attachments live (SG-IF-3): i3 joins web.
    d.attach("h3", &[&other, &web]);
    assert!(
        tcp_connects(&t.i3, "192.0.2.12", 5432),
        "i3 is now a member"
    );
    // ...and declared addresses: the new address becomes a member address once assigned.
    assert!(
        !tcp_connects_from(&t.i3, "192.0.2.99", "192.0.2.12", 5432),
        "still undeclared"
    );
    d.ok(&[
        "assign-private-ip-addresses",
        "--network-interface-id",
        "h3",
        "--private-ip-addresses",
        "192.0.2.99",
    ]);
    assert!(
        tcp_connects_from(&t.i3, "192.0.2.99", "192.0.2.12", 5432),
        "declared, and a member address"
    );

    // Directions are the instance's: i2's inbound rules judge traffic the host sends it.
    assert!(!tcp_connects(&t.i1, "192.0.2.12", 22));
    // Deleting the interface stops protecting it.
    d.ok(&["delete-network-interface", "--network-interface-id", "h3"]);
    let _ssh = tcp_server(&t.i3, 2222);
    assert!(
        tcp_connects(&t.i1, "192.0.2.13", 2222),
        "h3 is no longer filtered"
    );
}
