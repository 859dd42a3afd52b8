//! SG-ERR and SG-API through the real CLI against a running daemon: every error code in the
//! AWS CLI form with exit status 254, a failed request leaving every describe output
//! byte-identical, `--output table`, and `sgctl import` round-tripping
//! `aws ec2 describe-security-groups` JSON.

use std::process::Output;

use serde_json::{Value, json};
use sg_tests::*;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

fn id(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} in {v}"))
        .to_owned()
}

/// Everything the describe operations print, byte for byte, except counters (traffic changes
/// them, requests do not).
fn snapshot(d: &Daemon) -> Vec<String> {
    let mut out = Vec::new();
    for args in [
        &["describe-security-groups"][..],
        &["describe-vpcs"],
        &["describe-managed-prefix-lists"],
    ] {
        let o = d.sgctl(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        out.push(String::from_utf8(o.stdout).expect("utf-8"));
    }
    let mut rules = d.ok(&["describe-security-group-rules"]);
    for r in rules["SecurityGroupRules"].as_array_mut().expect("list") {
        r.as_object_mut().expect("object").remove("Statistics");
    }
    out.push(rules.to_string());
    let mut nis = d.ok(&["describe-network-interfaces"]);
    for ni in nis["NetworkInterfaces"].as_array_mut().expect("list") {
        let ni = ni.as_object_mut().expect("object");
        for counters in ["Statistics", "RuleStatistics", "ConntrackAllowance"] {
            ni.remove(counters);
        }
    }
    out.push(nis.to_string());
    out
}

#[test]
fn every_error_code_in_aws_cli_form_and_nothing_changed() {
    if !require_root("every_error_code_in_aws_cli_form_and_nothing_changed") {
        return;
    }
    let ns = Netns::new("err");
    let peer = Netns::new("errp");
    veth(&ns, "e0", &["192.0.2.1/24"], &peer, "p0", &["192.0.2.2/24"]);
    let quotas = r#"{"quotas": {"groups_per_vpc": 9, "rules_per_group": 3, "groups_per_interface": 2, "rules_per_interface": 6}}"#;
    let d = Daemon::start_with_config(&ns, Some(quotas));
    let g = d.create_group("web");
    let g2 = d.create_group("app");
    let g3 = d.create_group("db");
    let vpc = id(
        &d.ok(&["describe-security-groups", "--group-ids", &g]),
        "/SecurityGroups/0/VpcId",
    );
    let default_id = id(
        &d.ok(&["describe-security-groups", "--group-names", "default"]),
        "/SecurityGroups/0/GroupId",
    );
    let classic = id(
        &d.ok(&["create-vpc", "--cidr-block", "10.9.0.0/16", "--classic"]),
        "/Vpc/VpcId",
    );
    let classic_default = id(
        &d.ok(&[
            "describe-security-groups",
            "--filters",
            &format!("Name=vpc-id,Values={classic}"),
            "Name=group-name,Values=default",
        ]),
        "/SecurityGroups/0/GroupId",
    );
    d.attach("e0", &[&g2]);
    d.allow_in(&g, "tcp", "22", "0.0.0.0/0");
    for i in 0..5 {
        d.create_group(&format!("filler{i}"));
    }
    let before = snapshot(&d);

    let out = d.sgctl(&[
        "create-security-group",
        "--group-name",
        "web",
        "--description",
        "again",
    ]);
    assert_eq!(out.status.code(), Some(254));
    assert_eq!(
        stderr(&out),
        format!(
            "An error occurred (InvalidGroup.Duplicate) when calling the CreateSecurityGroup operation: The security group 'web' already exists for VPC '{vpc}'"
        )
    );

    let tcp22 = ["--protocol", "tcp", "--port", "22", "--cidr", "0.0.0.0/0"];
    let with = |head: &[&str], tail: &[&str]| -> Vec<String> {
        head.iter().chain(tail).map(|s| s.to_string()).collect()
    };
    let cases: Vec<(Vec<String>, &str, &str)> = vec![
        (
            with(
                &[
                    "delete-security-group",
                    "--group-id",
                    "sg-0123456789abcdef0",
                ],
                &[],
            ),
            "InvalidGroup.NotFound",
            "DeleteSecurityGroup",
        ),
        (
            with(
                &["describe-security-groups", "--group-ids", "sg-nothex"],
                &[],
            ),
            "InvalidGroupId.Malformed",
            "DescribeSecurityGroups",
        ),
        (
            with(
                &["delete-security-group", "--group-id", &classic_default],
                &[],
            ),
            "InvalidGroup.Reserved",
            "DeleteSecurityGroup",
        ),
        (
            with(&["delete-security-group", "--group-id", &default_id], &[]),
            "CannotDelete",
            "DeleteSecurityGroup",
        ),
        (
            with(&["delete-security-group", "--group-id", &g2], &[]),
            "DependencyViolation",
            "DeleteSecurityGroup",
        ),
        (
            with(
                &["authorize-security-group-ingress", "--group-id", &g],
                &tcp22,
            ),
            "InvalidPermission.Duplicate",
            "AuthorizeSecurityGroupIngress",
        ),
        (
            with(&["revoke-security-group-egress", "--group-id", &g], &tcp22),
            "InvalidPermission.NotFound",
            "RevokeSecurityGroupEgress",
        ),
        (
            with(
                &[
                    "authorize-security-group-ingress",
                    "--group-id",
                    &g,
                    "--protocol",
                    "gre",
                    "--cidr",
                    "0.0.0.0/0",
                ],
                &[],
            ),
            "InvalidPermission.Malformed",
            "AuthorizeSecurityGroupIngress",
        ),
        (
            with(
                &[
                    "authorize-security-group-ingress",
                    "--group-id",
                    &g,
                    "--protocol",
                    "tcp",
                    "--port",
                    "30-20",
                    "--cidr",
                    "0.0.0.0/0",
                ],
                &[],
            ),
            "InvalidParameterValue",
            "AuthorizeSecurityGroupIngress",
        ),
        (
            with(
                &[
                    "modify-network-interface-attribute",
                    "--network-interface-id",
                    "e0",
                ],
                &[],
            ),
            "MissingParameter",
            "ModifyNetworkInterfaceAttribute",
        ),
        (
            with(
                &[
                    "create-security-group",
                    "--group-name",
                    "one-too-many",
                    "--description",
                    "d",
                ],
                &[],
            ),
            "SecurityGroupLimitExceeded",
            "CreateSecurityGroup",
        ),
        (
            with(
                &[
                    "authorize-security-group-ingress",
                    "--group-id",
                    &g,
                    "--ip-permissions",
                ],
                &[
                    r#"[{"IpProtocol":"udp","FromPort":1,"ToPort":1,"IpRanges":[{"CidrIp":"10.0.0.1/32"},{"CidrIp":"10.0.0.2/32"},{"CidrIp":"10.0.0.3/32"}]}]"#,
                ],
            ),
            "RulesPerSecurityGroupLimitExceeded",
            "AuthorizeSecurityGroupIngress",
        ),
        (
            with(
                &[
                    "modify-network-interface-attribute",
                    "--network-interface-id",
                    "e0",
                    "--groups",
                    &g,
                    &g2,
                    &g3,
                ],
                &[],
            ),
            "SecurityGroupsPerInterfaceLimitExceeded",
            "ModifyNetworkInterfaceAttribute",
        ),
        (
            with(
                &[
                    "modify-network-interface-attribute",
                    "--network-interface-id",
                    "nosuch0",
                    "--groups",
                    &g,
                ],
                &[],
            ),
            "InvalidNetworkInterfaceID.NotFound",
            "ModifyNetworkInterfaceAttribute",
        ),
        (
            with(
                &[
                    "revoke-security-group-ingress",
                    "--group-id",
                    &g,
                    "--security-group-rule-ids",
                    "sgr-0000000000000dead",
                ],
                &[],
            ),
            "InvalidSecurityGroupRuleId.NotFound",
            "RevokeSecurityGroupIngress",
        ),
        // A request failing part-way: the first permission is new, the second a duplicate.
        (
            with(
                &[
                    "authorize-security-group-egress",
                    "--group-id",
                    &g,
                    "--ip-permissions",
                ],
                &[
                    r#"[{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]},{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]"#,
                ],
            ),
            "InvalidPermission.Duplicate",
            "AuthorizeSecurityGroupEgress",
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (args, code, op) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = d.sgctl(&args);
        let line = stderr(&out);
        assert_eq!(out.status.code(), Some(254), "{args:?}: {line}");
        let prefix = format!("An error occurred ({code}) when calling the {op} operation: ");
        assert!(
            line.starts_with(&prefix) && line.len() > prefix.len(),
            "{args:?}: {line}"
        );
        assert!(out.stdout.is_empty(), "nothing on stdout");
        assert!(snapshot(&d) == before, "{args:?} changed the state");
        seen.insert(*code);
    }
    seen.insert("InvalidGroup.Duplicate");
    // Every code of SG-ERR was produced.
    let all = [
        "InvalidGroup.Duplicate",
        "InvalidGroup.NotFound",
        "InvalidGroupId.Malformed",
        "InvalidGroup.Reserved",
        "CannotDelete",
        "DependencyViolation",
        "InvalidPermission.Duplicate",
        "InvalidPermission.NotFound",
        "InvalidPermission.Malformed",
        "InvalidParameterValue",
        "MissingParameter",
        "SecurityGroupLimitExceeded",
        "RulesPerSecurityGroupLimitExceeded",
        "SecurityGroupsPerInterfaceLimitExceeded",
        "InvalidNetworkInterfaceID.NotFound",
        "InvalidSecurityGroupRuleId.NotFound",
    ];
    for c in all {
        assert!(seen.contains(c), "{c} not produced");
    }
    // A command-line mistake is caught before anything is sent.
    let out = d.sgctl(&[
        "authorize-security-group-ingress",
        "--group-id",
        &g,
        "--protocol",
        "tcp",
        "--port",
        "x",
        "--cidr",
        "0.0.0.0/0",
    ]);
    assert_eq!(out.status.code(), Some(252), "{}", stderr(&out));
}

/// A realistic `aws ec2 describe-security-groups` document: references between the groups,
/// IPv6, ICMP, all-protocol rules, descriptions, tags, a prefix list and a group that is not
/// here (stale, SG-GRP-7).
fn aws_document() -> Value {
    json!({"SecurityGroups": [
        {
            "Description": "web tier",
            "GroupName": "web",
            "IpPermissions": [
                {"FromPort": 443, "IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "HTTPS"}],
                 "Ipv6Ranges": [{"CidrIpv6": "::/0"}], "PrefixListIds": [], "ToPort": 443, "UserIdGroupPairs": []},
                {"FromPort": 22, "IpProtocol": "tcp", "IpRanges": [], "Ipv6Ranges": [],
                 "PrefixListIds": [{"PrefixListId": "pl-0123456789abcdef0", "Description": "office"}], "ToPort": 22,
                 "UserIdGroupPairs": [{"GroupId": "sg-0dddddddddddddd04", "UserId": "111122223333"}]},
                {"FromPort": 8, "IpProtocol": "icmp", "IpRanges": [{"CidrIp": "10.0.0.0/8"}], "Ipv6Ranges": [],
                 "PrefixListIds": [], "ToPort": -1, "UserIdGroupPairs": []}
            ],
            "OwnerId": "111122223333",
            "GroupId": "sg-0aaaaaaaaaaaaaaa1",
            "IpPermissionsEgress": [
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
                 "PrefixListIds": [], "UserIdGroupPairs": []}
            ],
            "Tags": [{"Key": "Name", "Value": "web"}, {"Key": "env", "Value": "prod"}],
            "VpcId": "vpc-0123456789abcdef0",
            "SecurityGroupArn": "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0aaaaaaaaaaaaaaa1"
        },
        {
            "Description": "database",
            "GroupName": "db",
            "IpPermissions": [
                {"FromPort": 5432, "IpProtocol": "tcp", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [], "ToPort": 5432,
                 "UserIdGroupPairs": [{"Description": "from web", "GroupId": "sg-0aaaaaaaaaaaaaaa1", "UserId": "111122223333"}]},
                {"IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
                 "UserIdGroupPairs": [{"GroupId": "sg-0bbbbbbbbbbbbbbb2", "UserId": "111122223333"}]}
            ],
            "OwnerId": "111122223333",
            "GroupId": "sg-0bbbbbbbbbbbbbbb2",
            "IpPermissionsEgress": [],
            "VpcId": "vpc-0123456789abcdef0"
        },
        {
            "Description": "default VPC security group",
            "GroupName": "default",
            "IpPermissions": [
                {"IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
                 "UserIdGroupPairs": [{"GroupId": "sg-0ccccccccccccccc3", "UserId": "111122223333"}]}
            ],
            "OwnerId": "111122223333",
            "GroupId": "sg-0ccccccccccccccc3",
            "IpPermissionsEgress": [
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}
            ],
            "VpcId": "vpc-0123456789abcdef0"
        }
    ]})
}

#[test]
fn import_round_trips_describe_security_groups() {
    if !require_root("import_round_trips_describe_security_groups") {
        return;
    }
    let ns = Netns::new("imp");
    let d = Daemon::start(&ns);
    let doc = aws_document();
    let file = d.dir.path().join("groups.json");
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = d.ok(&["import", file.to_str().unwrap()]);
    assert_eq!(out["GroupIds"].as_array().unwrap().len(), 3);
    let ids: Vec<&str> = doc["SecurityGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["GroupId"].as_str().unwrap())
        .collect();
    let mut args = vec!["describe-security-groups", "--group-ids"];
    args.extend(&ids);
    let back = d.ok(&args);
    let by_id = |v: &Value| -> std::collections::BTreeMap<String, Value> {
        v["SecurityGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["GroupId"].as_str().unwrap().to_owned(), g.clone()))
            .collect()
    };
    // A group imported without an ARN gets this host's (region us-east-1, sgd's default).
    let mut expected = by_id(&doc);
    for g in expected.values_mut() {
        if g.get("SecurityGroupArn").is_none() {
            g["SecurityGroupArn"] = Value::String(format!(
                "arn:aws:ec2:us-east-1:{}:security-group/{}",
                g["OwnerId"].as_str().unwrap(),
                g["GroupId"].as_str().unwrap()
            ));
        }
    }
    assert_eq!(by_id(&back), expected);
    // The imported VPC exists and keeps its one default group; a second import collides.
    let vpcs = d.ok(&["describe-vpcs", "--vpc-ids", "vpc-0123456789abcdef0"]);
    assert_eq!(vpcs["Vpcs"][0]["IsDefault"], false);
    let out = d.sgctl(&["import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(254));
    assert!(
        stderr(&out).contains("(InvalidGroup.Duplicate)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn table_output_and_help() {
    if !require_root("table_output_and_help") {
        return;
    }
    let ns = Netns::new("tbl");
    let d = Daemon::start(&ns);
    let g = d.create_group("web");
    let out = d.sgctl(&[
        "--output",
        "table",
        "describe-security-groups",
        "--group-ids",
        &g,
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("DescribeSecurityGroups") && text.contains(&g) && text.contains("0.0.0.0/0"),
        "{text}"
    );
    let help = std::process::Command::new(bin("sgctl"))
        .args(["authorize-security-group-ingress", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for option in [
        "--group-id",
        "--protocol",
        "--port",
        "--cidr",
        "--source-group",
        "--ip-permissions",
    ] {
        assert!(
            help.contains(option),
            "{option} missing from --help:\n{help}"
        );
    }
}

/// A request the datapath refuses (native XDP on loopback, which has no driver mode) fails
/// whole: the interface is not recorded and every describe output is unchanged.
#[test]
fn datapath_refusal_changes_nothing() {
    if !require_root("datapath_refusal_changes_nothing") {
        return;
    }
    let ns = Netns::new("refuse");
    let d = Daemon::start_with(&ns, None, &["--xdp-mode", "native"]);
    let g = d.create_group("web");
    let before = snapshot(&d);
    let out = d.sgctl(&[
        "modify-network-interface-attribute",
        "--network-interface-id",
        "lo",
        "--groups",
        &g,
    ]);
    assert_eq!(out.status.code(), Some(254), "{}", stderr(&out));
    assert!(stderr(&out).contains("(InternalError)"), "{}", stderr(&out));
    assert_eq!(snapshot(&d), before);
    assert_eq!(
        d.ok(&["describe-network-interfaces"])["NetworkInterfaces"],
        json!([])
    );
}

/// An interface that cannot be protected (here: loopback, once sgd insists on native XDP)
/// does not make unrelated requests fail.
#[test]
fn a_broken_interface_does_not_block_other_requests() {
    if !require_root("a_broken_interface_does_not_block_other_requests") {
        return;
    }
    let ns = Netns::new("broken");
    let mut d = Daemon::start_with(&ns, None, &["--xdp-mode", "skb"]);
    let g = d.create_group("web");
    d.attach("lo", &[&g]);
    d.stop();
    d.respawn_with(&["--xdp-mode", "native"]);
    let ni = d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "lo",
    ]);
    assert_eq!(
        ni["NetworkInterfaces"][0]["Status"], "available",
        "lo cannot be protected now"
    );
    d.allow_in(&g, "tcp", "22", "0.0.0.0/0");
    let other = d.create_group("other");
    d.ok(&["delete-security-group", "--group-id", &other]);
}
