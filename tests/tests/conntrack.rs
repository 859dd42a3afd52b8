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
    d.attach("fwa", &[&g]);
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
    d.allow_in(&g, "tcp", "8080", "192.0.2.2/32");
    let mut inbound = tcp_open(&t.a, FW_A4, 8080);
    assert!(inbound.echoes());
    d.revoke_in(&g, "tcp", "8080", "192.0.2.2/32");
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

/// SG-ENF-9 and SG-ENF-12 counters as metrics: `sgctl get-metrics` and the Prometheus
/// endpoint of `sgd --metrics-listen`.
#[test]
fn metrics_in_prometheus_format() {
    if !require_root("metrics_in_prometheus_format") {
        return;
    }
    let t = Topology::new();
    let d = Daemon::start_with(
        &t.fw,
        Some(r#"{"conntrack_tcp_max": 1000, "conntrack_other_max": 500}"#),
        &["--metrics-listen", "127.0.0.1:9120"],
    );
    let g = d.create_group("web");
    d.attach("fwa", &[&g]);
    let _srv = tcp_server(&t.a, 7000);
    assert!(tcp_connects(&t.fw, A4, 7000));
    let out = d.sgctl(&["get-metrics"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    for needle in [
        "sg_conntrack_allowance_available{table=\"tcp\"} 999",
        "sg_conntrack_allowance_available{table=\"other\"} 500",
        "sg_conntrack_allowance_exceeded_total{interface=\"fwa\"} 0",
        "sg_packets_total{interface=\"fwa\",reason=\"pass_conntrack\"}",
        "sg_rule_packets_total{interface=\"fwa\",rule=\"sgr-",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    // Only the families asked for, whole (their HELP and TYPE lines too).
    let out = d.sgctl(&["get-metrics", "--prefix", "sg_conntrack_entries"]);
    assert!(out.status.success(), "{out:?}");
    let only = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        only.lines().all(|l| l.contains("sg_conntrack_entries")) && only.lines().count() == 4,
        "{only}"
    );
    assert!(
        only.contains("sg_conntrack_entries{table=\"tcp\"} 1"),
        "{only}"
    );
    // The same figures in describe-network-interfaces (SG-ENF-9).
    let ni = d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "fwa",
    ]);
    let ni = &ni["NetworkInterfaces"][0];
    assert_eq!(ni["Statistics"]["conntrack_allowance_exceeded"], 0, "{ni}");
    assert_eq!(
        ni["Statistics"]["conntrack_allowance_available"], 1499,
        "{ni}"
    );
    assert_eq!(ni["ConntrackAllowance"]["Tcp"]["Maximum"], 1000, "{ni}");
    assert_eq!(ni["ConntrackAllowance"]["Tcp"]["InUse"], 1, "{ni}");
    let scraped = t.fw.run(|| {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect("127.0.0.1:9120").expect("metrics endpoint");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("request");
        let mut body = String::new();
        s.read_to_string(&mut body).expect("response");
        body
    });
    assert!(scraped.starts_with("HTTP/1.1 200 OK"), "{scraped}");
    assert!(
        scraped.contains("sg_conntrack_entries{table=\"tcp\"} 1"),
        "{scraped}"
    );
}
