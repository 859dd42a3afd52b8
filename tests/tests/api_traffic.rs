//! SG-API operations beyond authorize/revoke change what the datapath enforces at once:
//! prefix-list peers and their modification, rules modified in place by id, and the
//! interface's connection-tracking specification.

use serde_json::Value;
use sg_tests::*;

fn s(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} in {v}"))
        .to_owned()
}

#[test]
fn prefix_lists_and_modified_rules_apply_at_once() {
    if !require_root("prefix_lists_and_modified_rules_apply_at_once") {
        return;
    }
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let _s1 = tcp_server(&t.fw, 8080);
    let _s2 = tcp_server(&t.fw, 9090);
    let pl = s(
        &d.ok(&[
            "create-managed-prefix-list",
            "--prefix-list-name",
            "peers",
            "--max-entries",
            "5",
            "--address-family",
            "IPv4",
            "--entries",
            &format!("Cidr={A4}/32,Description=peer a"),
        ]),
        "/PrefixList/PrefixListId",
    );
    let g = d.create_group("web");
    let perms = format!(
        r#"[{{"IpProtocol":"tcp","FromPort":8080,"ToPort":8080,"PrefixListIds":[{{"PrefixListId":"{pl}"}}]}}]"#
    );
    let out = d.ok(&[
        "authorize-security-group-ingress",
        "--group-id",
        &g,
        "--ip-permissions",
        &perms,
    ]);
    let rule = s(&out, "/SecurityGroupRules/0/SecurityGroupRuleId");
    assert_eq!(s(&out, "/SecurityGroupRules/0/PrefixListId"), pl);
    d.attach("fwa", &[&g]);
    d.attach("fwb", &[&g]);
    assert!(tcp_connects(&t.a, FW_A4, 8080), "prefix list entry");
    assert!(!tcp_connects(&t.b, FW_B4, 8080));
    // The rule that admitted the connection is credited with it (SG-ENF-12).
    let rules = d.ok(&[
        "describe-security-group-rules",
        "--security-group-rule-ids",
        &rule,
    ]);
    let stats = &rules["SecurityGroupRules"][0]["Statistics"];
    assert!(stats["Packets"].as_u64().unwrap() >= 1, "{stats}");
    assert!(
        stats["LastHit"].as_str().unwrap().starts_with("20"),
        "{stats}"
    );
    let ni = d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "fwa",
    ]);
    let credited: Vec<&str> = ni["NetworkInterfaces"][0]["RuleStatistics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["SecurityGroupRuleId"].as_str().unwrap())
        .collect();
    assert!(credited.contains(&rule.as_str()), "{credited:?}");

    // A new entry opens the rule to b at once (SG-IF-2 for prefix lists).
    let out = d.ok(&[
        "modify-managed-prefix-list",
        "--prefix-list-id",
        &pl,
        "--current-version",
        "1",
        "--add-entries",
        &format!("Cidr={B4}/32"),
    ]);
    assert_eq!(out["PrefixList"]["Version"], 2);
    assert!(tcp_connects(&t.b, FW_B4, 8080));

    // Modify the rule in place: same id, new port and peer.
    d.ok(&[
        "modify-security-group-rules",
        "--group-id",
        &g,
        "--security-group-rules",
        &format!("SecurityGroupRuleId={rule},SecurityGroupRule={{IpProtocol=tcp,FromPort=9090,ToPort=9090,CidrIpv4=192.0.2.0/24,Description=moved}}"),
    ]);
    assert!(tcp_connects(&t.a, FW_A4, 9090));
    assert!(!tcp_connects(&t.a, FW_A4, 8080));
    assert!(!tcp_connects(&t.b, FW_B4, 9090));
    let rules = d.ok(&[
        "describe-security-group-rules",
        "--security-group-rule-ids",
        &rule,
    ]);
    assert_eq!(s(&rules, "/SecurityGroupRules/0/Description"), "moved");
    assert_eq!(rules["SecurityGroupRules"][0]["FromPort"], 9090);

    d.ok(&[
        "update-security-group-rule-descriptions-ingress",
        "--group-id",
        &g,
        "--security-group-rule-descriptions",
        &format!("SecurityGroupRuleId={rule},Description=renamed"),
    ]);
    let rules = d.ok(&[
        "describe-security-group-rules",
        "--filters",
        &format!("Name=group-id,Values={g}"),
        "Name=is-egress,Values=false",
    ]);
    assert_eq!(rules["SecurityGroupRules"].as_array().unwrap().len(), 1);
    assert_eq!(s(&rules, "/SecurityGroupRules/0/Description"), "renamed");

    // Revoke by rule id.
    d.ok(&[
        "revoke-security-group-ingress",
        "--group-id",
        &g,
        "--security-group-rule-ids",
        &rule,
    ]);
    assert!(!tcp_connects(&t.a, FW_A4, 9090));

    // Connection tracking specification (SG-IF-4) is recorded and shown.
    d.ok(&[
        "modify-network-interface-attribute",
        "--network-interface-id",
        "fwa",
        "--connection-tracking-specification",
        "TcpEstablishedTimeout=3600,UdpStreamTimeout=120,UdpTimeout=45",
    ]);
    let ni = d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "fwa",
    ]);
    let ct = &ni["NetworkInterfaces"][0]["ConnectionTrackingConfiguration"];
    assert_eq!(
        (
            ct["TcpEstablishedTimeout"].as_u64(),
            ct["UdpStreamTimeout"].as_u64(),
            ct["UdpTimeout"].as_u64()
        ),
        (Some(3600), Some(120), Some(45))
    );
    assert_eq!(s(&ni, "/NetworkInterfaces/0/Groups/0/GroupId"), g);
}

/// `sgctl export --format nft` prints an equivalent nftables ruleset: loaded with `nft -f`
/// in place of sgd, it lets through and refuses the same connections.
#[test]
fn exported_nftables_ruleset_enforces_the_same_rules() {
    if !require_root("exported_nftables_ruleset_enforces_the_same_rules") {
        return;
    }
    let t = Topology::new();
    let mut d = Daemon::start(&t.fw);
    let _s1 = tcp_server(&t.fw, 8080);
    let _s2 = tcp_server(&t.fw, 9090);
    let _out = tcp_server(&t.b, 7000);
    let g = d.create_group("web");
    d.allow_in(&g, "tcp", "8080", &format!("{A4}/32"));
    d.allow_in(&g, "tcp", "8080", &format!("{A6}/128"));
    let mut rulesets = String::new();
    for i in ["fwa", "fwb"] {
        d.attach(i, &[&g]);
        let out = d.sgctl(&["export", "--network-interface-id", i, "--format", "nft"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        rulesets.push_str(&String::from_utf8(out.stdout).expect("utf-8"));
    }
    let expect = |what: &str| {
        assert!(tcp_connects(&t.a, FW_A4, 8080), "{what}: allowed (v4)");
        assert!(tcp_connects(&t.a, FW_A6, 8080), "{what}: allowed (v6)");
        assert!(!tcp_connects(&t.b, FW_B4, 8080), "{what}: other peer");
        assert!(!tcp_connects(&t.a, FW_A4, 9090), "{what}: other port");
        assert!(
            tcp_connects(&t.fw, B4, 7000),
            "{what}: outbound with replies"
        );
    };
    expect("sgd");
    // Replace sgd by the exported ruleset.
    d.stop();
    let file = d.dir.path().join("rules.nft");
    std::fs::write(&file, &rulesets).expect("write ruleset");
    let out = t.fw.exec(&["nft", "-f", file.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "nft -f: {}\n{rulesets}",
        String::from_utf8_lossy(&out.stderr)
    );
    expect("nftables");
}
