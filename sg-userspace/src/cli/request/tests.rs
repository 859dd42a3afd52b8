//! Every list-of-structures option in every form, private addresses, `--cli-input-json`
//! merged under the options, and `--generate-cli-skeleton` for every subcommand.

use clap::{CommandFactory, Parser};
use serde_json::json;

use super::*;
use crate::cli::tests::{prepare, request};

/// `sgctl HEAD... OPTION ITEMS...` for items given as shorthand, as one JSON list, as one
/// JSON object each, from a file of JSON and from files of shorthand: the same request.
fn same_in_every_form(head: &[&str], option: &str, shorthand: &[&str], json_list: &str) {
    let run = |values: &[&str]| {
        let mut args = head.to_vec();
        args.push(option);
        args.extend_from_slice(values);
        request(&args).unwrap_or_else(|UsageError(e)| panic!("{args:?}: {e}"))
    };
    let expected = run(shorthand);
    assert_eq!(run(&[json_list]), expected, "{option} as a JSON list");
    let items: Vec<Value> = serde_json::from_str(json_list).expect("a JSON list");
    assert_eq!(
        items.len(),
        shorthand.len(),
        "{option}: one JSON item per shorthand one"
    );
    let objects: Vec<String> = items.iter().map(Value::to_string).collect();
    let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
    assert_eq!(run(&objects), expected, "{option} as JSON objects");
    let dir = tempfile::tempdir().expect("tempdir");
    let json_file = dir.path().join("list.json");
    std::fs::write(&json_file, json_list).expect("write");
    let uri = format!("file://{}", json_file.display());
    assert_eq!(run(&[&uri]), expected, "{option} as file://list.json");
    let uris: Vec<String> = shorthand
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let f = dir.path().join(format!("{i}.txt"));
            std::fs::write(&f, format!("{s}\n")).expect("write");
            format!("file://{}", f.display())
        })
        .collect();
    let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
    assert_eq!(run(&uris), expected, "{option} as files of shorthand");
}

#[test]
fn tag_specifications_filters_and_entries() {
    let tags = [
        "ResourceType=security-group,Tags=[{Key=Name,Value=web},{Key=env,Value=prod}]",
        "ResourceType=security-group,Tags={Key=team,Value=42}",
    ];
    let tags_json = r#"[{"ResourceType":"security-group","Tags":[{"Key":"Name","Value":"web"},
        {"Key":"env","Value":"prod"}]},{"ResourceType":"security-group","Tags":[{"Key":"team","Value":"42"}]}]"#;
    let csg = [
        "create-security-group",
        "--group-name",
        "g",
        "--description",
        "d",
    ];
    same_in_every_form(&csg, "--tag-specifications", &tags, tags_json);
    let vpc = ["create-vpc", "--cidr-block", "10.0.0.0/16"];
    same_in_every_form(&vpc, "--tag-specifications", &tags, tags_json);
    let auth = [
        "authorize-security-group-ingress",
        "--group-id",
        "sg-1",
        "--protocol",
        "-1",
    ];
    let auth = [&auth[..], &["--cidr", "10.0.0.0/8"]].concat();
    same_in_every_form(&auth, "--tag-specifications", &tags, tags_json);

    let filters = [
        "Name=vpc-id,Values=vpc-1,vpc-2",
        "Name=tag:Name,Values=[web]",
    ];
    let filters_json =
        r#"[{"Name":"vpc-id","Values":["vpc-1","vpc-2"]},{"Name":"tag:Name","Values":["web"]}]"#;
    for head in [
        "describe-security-groups",
        "describe-security-group-rules",
        "describe-conntrack",
        "flush-conntrack",
    ] {
        same_in_every_form(&[head], "--filters", &filters, filters_json);
    }

    let entries = ["Cidr=10.0.0.0/8,Description=office", "Cidr=10.1.0.0/16"];
    let entries_json = r#"[{"Cidr":"10.0.0.0/8","Description":"office"},{"Cidr":"10.1.0.0/16"}]"#;
    let cpl = [
        "create-managed-prefix-list",
        "--prefix-list-name",
        "p",
        "--max-entries",
        "5",
        "--address-family",
        "IPv4",
    ];
    same_in_every_form(&cpl, "--entries", &entries, entries_json);
    same_in_every_form(&cpl, "--tag-specifications", &tags, tags_json);
    let mpl = ["modify-managed-prefix-list", "--prefix-list-id", "pl-1"];
    same_in_every_form(&mpl, "--add-entries", &entries, entries_json);
    let removes = ["Cidr=10.0.0.0/8", "Cidr=10.1.0.0/16"];
    let removes_json = r#"[{"Cidr":"10.0.0.0/8"},{"Cidr":"10.1.0.0/16"}]"#;
    same_in_every_form(&mpl, "--remove-entries", &removes, removes_json);
}

#[test]
fn rules_descriptions_and_permissions() {
    let rules = [
        "SecurityGroupRuleId=sgr-1,SecurityGroupRule={IpProtocol=tcp,FromPort=22,ToPort=22,CidrIpv4=10.0.0.0/8,Description=ssh}",
        "SecurityGroupRuleId=sgr-2,SecurityGroupRule={IpProtocol=-1,ReferencedGroupId=sg-2}",
    ];
    let rules_json = r#"[{"SecurityGroupRuleId":"sgr-1","SecurityGroupRule":{"IpProtocol":"tcp",
        "FromPort":22,"ToPort":22,"CidrIpv4":"10.0.0.0/8","Description":"ssh"}},
        {"SecurityGroupRuleId":"sgr-2","SecurityGroupRule":{"IpProtocol":"-1","ReferencedGroupId":"sg-2"}}]"#;
    let msr = ["modify-security-group-rules", "--group-id", "sg-1"];
    same_in_every_form(&msr, "--security-group-rules", &rules, rules_json);

    let descs = [
        "SecurityGroupRuleId=sgr-1,Description=new",
        "SecurityGroupRuleId=sgr-2,Description=\"two, words\"",
    ];
    let descs_json = r#"[{"SecurityGroupRuleId":"sgr-1","Description":"new"},
        {"SecurityGroupRuleId":"sgr-2","Description":"two, words"}]"#;
    let perms = [
        "IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=10.0.0.0/8,Description=ssh}]",
        "IpProtocol=icmpv6,FromPort=-1,ToPort=-1,Ipv6Ranges=[{CidrIpv6=::/0}],PrefixListIds=[{PrefixListId=pl-1}]",
    ];
    let perms_json = r#"[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"10.0.0.0/8","Description":"ssh"}]},
        {"IpProtocol":"icmpv6","FromPort":-1,"ToPort":-1,"Ipv6Ranges":[{"CidrIpv6":"::/0"}],"PrefixListIds":[{"PrefixListId":"pl-1"}]}]"#;
    for verb in ["ingress", "egress"] {
        let update = format!("update-security-group-rule-descriptions-{verb}");
        let head = [update.as_str(), "--group-id", "sg-1"];
        same_in_every_form(
            &head,
            "--security-group-rule-descriptions",
            &descs,
            descs_json,
        );
        same_in_every_form(&head, "--ip-permissions", &perms, perms_json);
        for action in ["authorize", "revoke"] {
            let cmd = format!("{action}-security-group-{verb}");
            let head = [cmd.as_str(), "--group-name", "web"];
            same_in_every_form(&head, "--ip-permissions", &perms, perms_json);
        }
    }
}

fn addresses(args: &[&str]) -> Result<Vec<String>, String> {
    match request(args).map_err(|UsageError(e)| e)? {
        Request::CreateNetworkInterface(c) => Ok(c.private_ip_addresses),
        Request::AssignPrivateIpAddresses(a) | Request::UnassignPrivateIpAddresses(a) => {
            Ok(a.private_ip_addresses)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn private_ip_addresses_plain_structured_and_json() {
    let head = [
        "create-network-interface",
        "--network-interface-id",
        "veth0",
    ];
    let head = [&head[..], &["--groups", "sg-1", "--private-ip-addresses"]].concat();
    let with = |values: &[&str]| addresses(&[&head[..], values].concat());
    let expected = vec!["10.0.0.5".to_owned(), "2001:db8::5".to_owned()];
    assert_eq!(with(&["10.0.0.5", "2001:db8::5"]).unwrap(), expected);
    assert_eq!(
        with(&[
            "PrivateIpAddress=2001:db8::5",
            "PrivateIpAddress=10.0.0.5,Primary=true"
        ])
        .unwrap(),
        expected
    );
    assert_eq!(
        with(&[r#"[{"PrivateIpAddress":"2001:db8::5","Primary":false},
                   {"PrivateIpAddress":"10.0.0.5","Primary":true}]"#])
        .unwrap(),
        expected
    );
    assert_eq!(with(&[r#"["10.0.0.5","2001:db8::5"]"#]).unwrap(), expected);
    assert_eq!(
        with(&[
            "2001:db8::5",
            r#"{"PrivateIpAddress":"10.0.0.5","Primary":true}"#
        ])
        .unwrap(),
        expected
    );
    let e = with(&["PrivateIpAddress=10.0.0.5,Primary=yes"]).unwrap_err();
    assert!(
        e.contains("PrivateIpAddresses[0].Primary: \"yes\", expected true or false"),
        "{e}"
    );
    let e = with(&[
        "PrivateIpAddress=10.0.0.5,Primary=true",
        "PrivateIpAddress=10.0.0.6,Primary=true",
    ]);
    assert!(e.unwrap_err().contains("only one address can be primary"));
    for verb in ["assign", "unassign"] {
        let cmd = format!("{verb}-private-ip-addresses");
        let args = [
            &cmd,
            "--network-interface-id",
            "veth0",
            "--private-ip-addresses",
        ];
        let got = addresses(&[&args[..], &["10.0.0.5", "PrivateIpAddress=2001:db8::5"]].concat());
        assert_eq!(got.unwrap(), expected);
    }
}

#[test]
fn cli_input_json_is_merged_under_the_options() {
    let doc = r#"{"GroupName": "from-json", "Description": "json", "VpcId": "vpc-1",
                  "TagSpecifications": [{"ResourceType": "security-group", "Tags": [{"Key": "a", "Value": "b"}]}]}"#;
    let Request::CreateSecurityGroup(c) = request(&[
        "create-security-group",
        "--cli-input-json",
        doc,
        "--group-name",
        "from-cli",
        "--tag-specifications",
        "ResourceType=security-group,Tags=[{Key=c,Value=d}]",
    ])
    .unwrap() else {
        panic!()
    };
    assert_eq!(c.group_name.as_deref(), Some("from-cli"));
    assert_eq!(c.description.as_deref(), Some("json"));
    assert_eq!(c.vpc_id.as_deref(), Some("vpc-1"));
    // A list given on the command line replaces the document's whole.
    assert_eq!(c.tag_specifications.len(), 1);
    assert_eq!(c.tag_specifications[0].tags[0].key, "c");

    // From a file, with no option at all; required options are then not required.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.json");
    std::fs::write(
        &file,
        r#"{"GroupId": "sg-1", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
            "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]}"#,
    )
    .unwrap();
    let uri = format!("file://{}", file.display());
    let from_file = request(&["authorize-security-group-ingress", "--cli-input-json", &uri]);
    let from_options = request(&[
        "authorize-security-group-ingress",
        "--group-id",
        "sg-1",
        "--protocol",
        "tcp",
        "--port",
        "22",
        "--cidr",
        "10.0.0.0/8",
    ]);
    assert_eq!(from_file.unwrap(), from_options.unwrap());
    let Request::ImportSecurityGroups(i) = request(&[
        "import",
        "--cli-input-json",
        r#"{"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "g", "OwnerId": "1"}]}"#,
    ])
    .unwrap() else {
        panic!()
    };
    assert_eq!(i.security_groups[0].group_name, "g");
}

#[test]
fn cli_input_json_mistakes() {
    let err = |args: &[&str]| request(args).map(|_| ()).unwrap_err().0;
    let e = err(&[
        "create-security-group",
        "--cli-input-json",
        r#"{"GroupName": "g", "Description": "d", "DryRun": true}"#,
    ]);
    assert_eq!(
        e,
        "argument --cli-input-json: unknown parameter in input: \"DryRun\", must be one of: \
         Description, GroupName, VpcId, TagSpecifications, CopyFromGroupId"
    );
    let e = err(&[
        "create-security-group",
        "--cli-input-json",
        r#"{"GroupName": "g"}"#,
    ]);
    assert_eq!(
        e,
        "the following arguments are required: --description (or \"Description\" in --cli-input-json)"
    );
    let e = err(&[
        "describe-security-groups",
        "--cli-input-json",
        r#"{"Filters": [{"Name": 1}]}"#,
    ]);
    assert_eq!(
        e,
        "argument --cli-input-json: invalid type for parameter Filters[0].Name: 1, expected a string"
    );
    let e = err(&["import", "--cli-input-json", "{}"]);
    assert!(e.contains("<FILE> (or \"SecurityGroups\""), "{e}");
    let e = err(&[
        "authorize-security-group-ingress",
        "--cli-input-json",
        r#"{"GroupId": "sg-1"}"#,
    ]);
    assert!(e.starts_with("one of --ip-permissions"), "{e}");
    let e = err(&[
        "revoke-security-group-ingress",
        "--group-id",
        "sg-1",
        "--protocol",
        "-1",
        "--cidr",
        "10.0.0.0/8",
        "--tag-specifications",
        "ResourceType=x",
    ]);
    assert_eq!(
        e,
        "argument --tag-specifications: not a parameter of RevokeSecurityGroupIngress"
    );
}

#[test]
fn every_subcommand_prints_its_skeleton_without_its_required_options() {
    let cli = crate::cli::Cli::command();
    let mut seen = 0;
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        if name == "help" {
            continue;
        }
        let Ok(Prepared::Skeleton(s)) = prepare(&[name, "--generate-cli-skeleton"]) else {
            panic!("{name}: no skeleton");
        };
        let v: Value = serde_json::from_str(&s).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(v.is_object(), "{name}");
        // `input` is the one kind of skeleton.
        let Ok(Prepared::Skeleton(again)) = prepare(&[name, "--generate-cli-skeleton", "input"])
        else {
            panic!("{name}");
        };
        assert_eq!(s, again);
        seen += 1;
    }
    assert!(seen >= 30, "{seen} subcommands");
    let Ok(Prepared::Skeleton(s)) =
        prepare(&["create-network-interface", "--generate-cli-skeleton"])
    else {
        panic!()
    };
    let v: Value = serde_json::from_str(&s).unwrap();
    assert_eq!(
        v["PrivateIpAddresses"],
        json!([{"Primary": true, "PrivateIpAddress": ""}])
    );
    assert!(
        crate::cli::Cli::try_parse_from([
            "sgctl",
            "get-metrics",
            "--generate-cli-skeleton",
            "output"
        ])
        .is_err()
    );
}
