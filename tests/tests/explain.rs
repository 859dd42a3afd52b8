//! `sgctl explain` end to end (issue 16): sgd protecting real interfaces, questions asked
//! through sgctl, and real traffic confirming each answer. The kernel's and the evaluator's
//! answers must agree on every question (`Agree`); `differential.rs` checks the same on random
//! rulesets.

use serde_json::Value;
use sg_tests::*;

fn explain(d: &Daemon, args: &[&str]) -> Value {
    let mut all = vec!["explain"];
    all.extend_from_slice(args);
    let v = d.ok(&all);
    assert_eq!(
        v["Agree"], true,
        "kernel and evaluator agree on {args:?}: {v:#}"
    );
    assert_eq!(v["Kernel"]["Verdict"], v["Verdict"], "{v:#}");
    v
}

/// The question for a packet of `protocol` (and `port`) from `peer` to interface `fwa`.
fn ingress(d: &Daemon, protocol: &str, peer: &str, port: Option<&str>) -> Value {
    let mut args = vec![
        "--network-interface-id",
        "fwa",
        "--direction",
        "ingress",
        "--protocol",
        protocol,
        "--peer",
        peer,
    ];
    if let Some(p) = port {
        args.extend(["--port", p]);
    }
    explain(d, &args)
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// SG-RULE-5, SG-ENF-1, SG-ENF-3, SG-ENF-12: what admits a packet (its rule, and whether its
/// flow is tracked), what refuses it, and a tracked flow admitting a reply no rule allows.
#[test]
fn explain_names_the_admitting_rule_or_the_reason_and_traffic_agrees() {
    if !require_root("explain_names_the_admitting_rule_or_the_reason_and_traffic_agrees") {
        return;
    }
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let web = d.create_group("web");
    let ssh = d.ok(&[
        "authorize-security-group-ingress",
        "--group-id",
        &web,
        "--protocol",
        "tcp",
        "--port",
        "22",
        "--cidr",
        "192.0.2.0/24",
    ]);
    let ssh_rule = ssh["SecurityGroupRules"][0]["SecurityGroupRuleId"]
        .as_str()
        .expect("rule id")
        .to_owned();
    d.allow_in(&web, "tcp", "80", "0.0.0.0/0");
    d.attach("fwa", &[&web]);
    let _ssh_server = tcp_server(&t.fw, 22);
    let _web_server = tcp_server(&t.fw, 80);

    // Admitted by the rule, tracked: the rule is not open to anywhere (SG-ENF-3).
    let v = ingress(&d, "tcp", A4, Some("22"));
    assert_eq!(v["Verdict"], "ACCEPT", "{v:#}");
    assert_eq!(v["AdmittedBy"], "SecurityGroupRules");
    assert_eq!(ids(&v["SecurityGroupRuleIds"]), vec![ssh_rule.clone()]);
    assert_eq!(
        ids(&v["Kernel"]["SecurityGroupRuleIds"]),
        vec![ssh_rule.clone()]
    );
    assert_eq!(v["SecurityGroupRules"][0]["GroupId"], web.as_str());
    assert_eq!(v["SecurityGroupRules"][0]["CidrIpv4"], "192.0.2.0/24");
    assert_eq!(v["Tracked"], true);
    assert_eq!(
        v["Packet"]["Destination"], FW_A4,
        "the instance's own address by default"
    );
    assert!(
        tcp_connects(&t.a, FW_A4, 22),
        "the traffic explain admits passes"
    );

    // Open to anywhere, and the default egress rule allows all to anywhere: untracked.
    let v = ingress(&d, "tcp", A4, Some("80"));
    assert_eq!(
        (v["Verdict"].as_str(), v["Tracked"].as_bool()),
        (Some("ACCEPT"), Some(false)),
        "{v:#}"
    );
    assert_eq!(v["Kernel"]["Tracked"], false);

    // No rule for this port: refused, and so is the traffic.
    let v = ingress(&d, "tcp", A4, Some("23"));
    assert_eq!(
        (v["Verdict"].as_str(), v["Reason"].as_str()),
        (Some("REJECT"), Some("NoRule")),
        "{v:#}"
    );
    assert_eq!(v["Kernel"]["Reason"], "NoRule");
    assert!(
        !tcp_connects_quick(&t.a, FW_A4, 23),
        "the traffic explain refuses is dropped"
    );

    // Ping: ICMP echo, judged by the rules (none allows it), and the other way out by the
    // default egress rule.
    let v = ingress(&d, "icmp", A4, None);
    assert_eq!(v["Verdict"], "REJECT", "{v:#}");
    assert_eq!(v["Packet"]["IcmpType"], 8);
    assert!(!pings(&t.a, FW_A4));

    // A reply no rule allows passes on the tracked flow of its connection (SG-ENF-1): take
    // the default egress rule away and keep a connection open.
    d.ok(&[
        "revoke-security-group-egress",
        "--group-id",
        &web,
        "--protocol",
        "-1",
        "--cidr",
        "0.0.0.0/0",
    ]);
    let mut conn = tcp_open(&t.a, FW_A4, 22);
    assert!(
        conn.echoes(),
        "the tracked connection works without an egress rule"
    );
    let flows = d.ok(&["describe-conntrack", "--network-interface-id", "fwa"]);
    let flow = flows["ConnectionTrackingEntries"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["LocalPort"] == 22))
        .unwrap_or_else(|| panic!("the connection is tracked: {flows:#}"));
    // Each direction counted apart, as flow logs need them.
    let n = |k: &str| flow[k].as_u64().unwrap_or(0);
    assert!(
        n("InboundPackets") > 0 && n("OutboundPackets") > 0,
        "{flow:#}"
    );
    assert_eq!(n("Packets"), n("InboundPackets") + n("OutboundPackets"));
    assert_eq!(n("Bytes"), n("InboundBytes") + n("OutboundBytes"));
    let client_port = flow["RemotePort"].as_u64().expect("port").to_string();
    let reply = [
        "--network-interface-id",
        "fwa",
        "--direction",
        "egress",
        "--protocol",
        "tcp",
        "--peer",
        A4,
        "--port",
        &client_port,
    ];
    let v = explain(&d, &reply);
    assert_eq!(
        (v["Verdict"].as_str(), v["Reason"].as_str()),
        (Some("REJECT"), Some("NoRule")),
        "a new flow out: {v:#}"
    );
    let mut of_the_flow = reply.to_vec();
    of_the_flow.extend(["--source-port", "22"]);
    let v = explain(&d, &of_the_flow);
    assert_eq!(
        (v["Verdict"].as_str(), v["AdmittedBy"].as_str()),
        (Some("ACCEPT"), Some("TrackedFlow")),
        "{v:#}"
    );
    assert_eq!(v["Kernel"]["AdmittedBy"], "TrackedFlow");

    // For people: a table with the verdict in it.
    let out = d.sgctl(&[
        "--output",
        "table",
        "explain",
        "--network-interface-id",
        "fwa",
        "--direction",
        "ingress",
        "--protocol",
        "tcp",
        "--peer",
        A4,
        "--port",
        "22",
    ]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("ACCEPT") && table.contains(&ssh_rule),
        "{table}"
    );

    // Bad questions: AWS-style errors, nothing else.
    for (args, code) in [
        (
            vec![
                "--network-interface-id",
                "nope0",
                "--direction",
                "ingress",
                "--protocol",
                "tcp",
                "--peer",
                A4,
                "--port",
                "22",
            ],
            "InvalidNetworkInterfaceID.NotFound",
        ),
        (
            vec![
                "--network-interface-id",
                "fwa",
                "--direction",
                "ingress",
                "--protocol",
                "tcp",
                "--peer",
                A4,
            ],
            "MissingParameter",
        ),
        (
            vec![
                "--network-interface-id",
                "fwa",
                "--direction",
                "in",
                "--protocol",
                "tcp",
                "--peer",
                A4,
                "--port",
                "22",
            ],
            "InvalidParameterValue",
        ),
    ] {
        let mut all = vec!["explain"];
        all.extend(args);
        let out = d.sgctl(&all);
        assert_eq!(out.status.code(), Some(254), "{all:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(code) && err.contains("Explain operation"),
            "{all:?}: {err}"
        );
    }
}

/// SG-IF-5: in host mode, a packet whose instance-side address is not the instance's is
/// refused before any rule, and explain says so.
#[test]
fn explain_reports_the_source_dest_check() {
    if !require_root("explain_reports_the_source_dest_check") {
        return;
    }
    let host = Netns::new("xhost");
    let vm = Netns::new("xvm");
    veth(&host, "hvm", &[], &vm, "eth0", &["192.0.2.10/24"]);
    let d = Daemon::start(&host);
    let web = d.create_group("web");
    d.allow_in(&web, "tcp", "22", "0.0.0.0/0");
    d.ok(&[
        "create-network-interface",
        "--network-interface-id",
        "hvm",
        "--attach-mode",
        "host",
        "--private-ip-addresses",
        "192.0.2.10",
        "--groups",
        &web,
    ]);
    let ask = |local: &str| {
        explain(
            &d,
            &[
                "--network-interface-id",
                "hvm",
                "--direction",
                "ingress",
                "--protocol",
                "tcp",
                "--peer",
                "192.0.2.99",
                "--port",
                "22",
                "--local-address",
                local,
            ],
        )
    };
    let v = ask("192.0.2.10");
    assert_eq!(v["Verdict"], "ACCEPT", "{v:#}");
    let v = ask("192.0.2.11");
    assert_eq!(
        (v["Verdict"].as_str(), v["Reason"].as_str()),
        (Some("REJECT"), Some("SourceDestCheck")),
        "{v:#}"
    );
    assert_eq!(v["Kernel"]["Reason"], "SourceDestCheck");
}
