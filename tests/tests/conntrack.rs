//! Connection tracking seen from the CLI: tracked flows are listed with their tuple, state and
//! expiry; a tracked flow outlives the revoke of the rule that admitted it (SG-ENF-2), and
//! flushing it makes its next packets face the rules again.

use sg_tests::*;

#[test]
fn describe_and_flush_conntrack() {
    if !require_root("describe_and_flush_conntrack") {
        return;
    }
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let _srv = tcp_server(&t.a, 7000);
    let g = d.create_group("web");
    d.ok(&[
        "modify-network-interface-attribute",
        "--network-interface-id",
        "fwa",
        "--groups",
        &g,
    ]);
    // An outbound connection: its replies pass only through connection tracking.
    let mut conn = tcp_open(&t.fw, A4, 7000);
    assert!(conn.echoes());
    let flows = d.ok(&[
        "describe-conntrack",
        "--network-interface-id",
        "fwa",
        "--filters",
        "Name=protocol,Values=tcp",
        "Name=remote-port,Values=7000",
    ]);
    let list = flows["ConnectionTrackingEntries"].as_array().expect("list");
    assert_eq!(list.len(), 1, "{flows}");
    let f = &list[0];
    assert_eq!(f["RemoteAddress"], A4);
    assert_eq!(f["LocalAddress"], FW_A4);
    assert_eq!(f["Direction"], "outbound");
    assert_eq!(f["State"], "ESTABLISHED");
    let left = f["SecondsUntilExpiry"].as_u64().expect("seconds");
    assert!(
        left > 431_000 && left <= 432_000,
        "5-day timeout (SG-ENF-6): {left}"
    );
    assert!(f["Packets"].as_u64().expect("packets") >= 3);

    let none = d.ok(&[
        "describe-conntrack",
        "--filters",
        "Name=remote-port,Values=1",
    ]);
    assert_eq!(
        none["ConnectionTrackingEntries"].as_array().map(Vec::len),
        Some(0)
    );
    let bad = d.sgctl(&["describe-conntrack", "--filters", "Name=colour,Values=red"]);
    assert_eq!(bad.status.code(), Some(254));
    let bad = d.sgctl(&["describe-conntrack", "--network-interface-id", "nosuch0"]);
    assert_eq!(bad.status.code(), Some(254));

    // An inbound flow admitted by a specific-CIDR rule is tracked: it survives the revoke.
    let _srv8080 = tcp_server(&t.fw, 8080);
    let rule = [
        "--group-id",
        g.as_str(),
        "--protocol",
        "tcp",
        "--port",
        "8080",
        "--cidr",
        "192.0.2.2/32",
    ];
    d.ok(&[&["authorize-security-group-ingress"][..], &rule].concat());
    let mut inbound = tcp_open(&t.a, FW_A4, 8080);
    assert!(inbound.echoes());
    d.ok(&[&["revoke-security-group-ingress"][..], &rule].concat());
    assert!(
        inbound.echoes(),
        "a tracked flow outlives its rule (SG-ENF-2)"
    );
    assert!(
        !tcp_connects(&t.a, FW_A4, 8080),
        "new connections are refused"
    );
    let out = d.ok(&[
        "flush-conntrack",
        "--network-interface-id",
        "fwa",
        "--filters",
        "Name=local-port,Values=8080",
    ]);
    assert_eq!(out["Flushed"], 1);
    assert!(
        !inbound.echoes(),
        "without its entry the flow faces the rules and is cut"
    );
    // The outbound flow was not selected: it still works.
    assert!(conn.echoes());
}
