//! Conformance of the model to `../shared/spec/security-groups.md`: one test or more per
//! line of SG-GRP, SG-RULE, SG-IF 1-4, SG-QUOTA and SG-CLASSIC not already covered next to
//! the code (see `ops/tests.rs`, `validate.rs`, `compiler/tests.rs`, `eval/tests.rs`). Test
//! names start with the requirement they prove.

use serde_json::json;

use super::*;
use crate::{
    api::{
        ConnectionTrackingSpecification, CreateManagedPrefixList, CreateSecurityGroup, CreateVpc,
        DescribeSecurityGroupRules, DescribeSecurityGroups, Filter, ImportSecurityGroups,
        ImportedGroup, ModifyManagedPrefixList, ModifyNetworkInterfaceAttribute,
        ModifySecurityGroupRules, Permissions, PrefixListEntryIn, PrefixListId, RuleDescription,
        SecurityGroupRuleRequest, SecurityGroupRuleUpdate, TagSpecification, UpdateDescriptions,
    },
    compiler::{self, DIR_IN},
    eval::{Direction, Packet},
    testkit::{World, ip, perm, perm_group},
};

fn code<T: std::fmt::Debug>(r: ApiResult<T>) -> String {
    r.expect_err("the request must fail").code
}

fn rules_of<'a>(w: &'a World, g: &str) -> &'a [Rule] {
    &w.state.groups[g].rules
}

fn inbound(iface: &str, remote: &str, local: &str, proto: u8, port: u16) -> Packet {
    Packet {
        iface: iface.into(),
        direction: Direction::Inbound,
        src: ip(remote),
        dst: ip(local),
        protocol: proto,
        src_port: 40000,
        dst_port: port,
        tcp_syn: true,
        icmp_type: 0,
        icmp_code: 0,
        nd: None,
    }
}

fn new_vpc(w: &mut World, classic: bool) -> String {
    let req = CreateVpc {
        cidr_block: Some("10.1.0.0/16".into()),
        classic,
        ..Default::default()
    };
    vpcs::create_vpc(&mut w.state, &mut w.ids, &req).unwrap()["Vpc"]["VpcId"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn group_in(w: &mut World, vpc: &str, name: &str) -> ApiResult<String> {
    let req = CreateSecurityGroup {
        group_name: Some(name.into()),
        description: Some("d".into()),
        vpc_id: Some(vpc.into()),
        ..Default::default()
    };
    Ok(w.create(req)?["GroupId"].as_str().unwrap().to_owned())
}

#[test]
fn sg_grp_1_group_has_id_name_description_vpc_tags_and_rules() {
    let mut w = World::new();
    let tags = vec![TagSpecification {
        resource_type: Some("security-group".into()),
        tags: vec![Tag {
            key: "env".into(),
            value: "prod".into(),
        }],
    }];
    let out = w
        .create(CreateSecurityGroup {
            group_name: Some("web".into()),
            description: Some("web tier".into()),
            tag_specifications: tags,
            ..Default::default()
        })
        .unwrap();
    let id = out["GroupId"].as_str().unwrap();
    assert!(
        id.len() == 20
            && id[3..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(out["Tags"], json!([{"Key": "env", "Value": "prod"}]));
    let g = &w.state.groups[id];
    assert_eq!(
        (g.name.as_str(), g.description.as_str()),
        ("web", "web tier")
    );
    assert_eq!(g.vpc_id, w.state.default_vpc().id);
    // Wrong resource type in the tag specification.
    let bad = vec![TagSpecification {
        resource_type: Some("vpc".into()),
        tags: vec![],
    }];
    assert_eq!(
        code(w.create(CreateSecurityGroup {
            group_name: Some("x".into()),
            description: Some("d".into()),
            tag_specifications: bad,
            ..Default::default()
        })),
        "InvalidParameterValue"
    );
}

#[test]
fn sg_grp_2_names_unique_per_vpc_not_across_vpcs() {
    let mut w = World::new();
    w.group("web");
    let vpc = new_vpc(&mut w, false);
    group_in(&mut w, &vpc, "web").expect("the same name in another VPC is fine");
    assert_eq!(
        code(group_in(&mut w, &vpc, "Web")),
        "InvalidGroup.Duplicate"
    );
    assert_eq!(
        code(group_in(&mut w, "vpc-00000000000000000", "x")),
        "InvalidVpcID.NotFound"
    );
}

#[test]
fn sg_grp_3_every_vpc_has_a_default_group() {
    let mut w = World::new();
    let vpc = new_vpc(&mut w, false);
    let d = w
        .state
        .default_group_of(&vpc)
        .expect("default group")
        .clone();
    assert!(
        d.rules
            .iter()
            .any(|r| !r.egress && r.peer == Peer::Group(d.id.clone()) && r.protocol == PROTO_ALL)
    );
    assert_eq!(d.rules.iter().filter(|r| r.egress).count(), 2);
    // Its rules may be edited.
    w.revoke(&d.id, true, vec![perm("-1", None, "0.0.0.0/0")])
        .unwrap();
    w.authorize(&d.id, false, vec![perm("tcp", Some((22, 22)), "0.0.0.0/0")])
        .unwrap();
}

#[test]
fn sg_grp_5_copy_to_new() {
    let mut w = World::new();
    let src = w.group("src");
    w.authorize(
        &src,
        false,
        vec![perm("tcp", Some((443, 443)), "0.0.0.0/0")],
    )
    .unwrap();
    w.revoke(&src, true, vec![perm("-1", None, "::/0")])
        .unwrap();
    let out = w
        .create(CreateSecurityGroup {
            group_name: Some("copy".into()),
            description: Some("d".into()),
            copy_from_group_id: Some(src.clone()),
            ..Default::default()
        })
        .unwrap();
    let copy = out["GroupId"].as_str().unwrap();
    let (a, b) = (rules_of(&w, &src), rules_of(&w, copy));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!(x.same_permission(y));
        assert_ne!(x.id, y.id, "copied rules get new ids");
    }
}

#[test]
fn sg_grp_7_stale_reference_matches_nothing_and_can_be_revoked() {
    let mut w = World::new();
    let doc = ImportSecurityGroups {
        security_groups: vec![ImportedGroup {
            group_id: "sg-0aaaaaaaaaaaaaaa1".into(),
            group_name: "app".into(),
            description: "app".into(),
            ip_permissions: vec![perm_group("tcp", Some((80, 80)), "sg-0bbbbbbbbbbbbbbb2")],
            ..Default::default()
        }],
    };
    import::import(&mut w.state, &mut w.ids, &w.quotas, &doc).unwrap();
    let g = "sg-0aaaaaaaaaaaaaaa1";
    w.attach("eth0", &[g], &[ip("192.0.2.1")]).unwrap();
    assert!(
        !w.eval(&inbound("eth0", "192.0.2.9", "192.0.2.1", 6, 80))
            .allows()
    );
    w.revoke(
        g,
        false,
        vec![perm_group("tcp", Some((80, 80)), "sg-0bbbbbbbbbbbbbbb2")],
    )
    .unwrap();
    assert!(rules_of(&w, g).iter().all(|r| r.egress));
}

#[test]
fn sg_rule_1_rule_ids_descriptions_and_tags() {
    let mut w = World::new();
    let g = w.group("web");
    let mut p = perm("tcp", Some((22, 22)), "203.0.113.0/24");
    p.ip_ranges[0].description = Some("admin office".into());
    let req = Permissions {
        group_id: Some(g.clone()),
        ip_permissions: vec![p],
        tag_specifications: vec![TagSpecification {
            resource_type: Some("security-group-rule".into()),
            tags: vec![Tag {
                key: "owner".into(),
                value: "ops".into(),
            }],
        }],
        ..Default::default()
    };
    let out = rules::authorize(&mut w.state, &mut w.ids, &w.quotas, &req, false).unwrap();
    let r = &out["SecurityGroupRules"][0];
    let id = r["SecurityGroupRuleId"].as_str().unwrap();
    assert!(id.starts_with("sgr-") && id.len() == 21);
    assert_eq!(r["Description"], "admin office");
    assert_eq!(r["Tags"], json!([{"Key": "owner", "Value": "ops"}]));
    assert_eq!(r["CidrIpv4"], "203.0.113.0/24");
    let mut bad = perm("tcp", Some((23, 23)), "203.0.113.0/24");
    bad.ip_ranges[0].description = Some("caf\u{e9}".into());
    assert_eq!(
        code(w.authorize(&g, false, vec![bad])),
        "InvalidParameterValue"
    );
}

#[test]
fn sg_rule_2_protocol_names_numbers_and_all() {
    assert_eq!(parse_protocol("TCP").unwrap(), PROTO_TCP);
    assert_eq!(parse_protocol("6").unwrap(), PROTO_TCP);
    assert_eq!(parse_protocol("all").unwrap(), PROTO_ALL);
    assert_eq!(parse_protocol("-1").unwrap(), PROTO_ALL);
    assert_eq!(parse_protocol("132").unwrap(), 132);
    assert_eq!(
        parse_protocol("256").unwrap_err().code,
        "InvalidPermission.Malformed"
    );
    assert_eq!(
        parse_protocol("gre").unwrap_err().code,
        "InvalidPermission.Malformed"
    );
    let mut w = World::new();
    let g = w.group("g");
    w.authorize(&g, false, vec![perm("132", Some((5, 6)), "192.0.2.0/24")])
        .unwrap();
    w.attach("eth0", &[&g], &[ip("198.51.100.1")]).unwrap();
    assert!(
        w.eval(&inbound("eth0", "192.0.2.1", "198.51.100.1", 132, 9999))
            .allows(),
        "all ports"
    );
}

#[test]
fn sg_rule_6_revoke_by_rule_id_all_or_nothing() {
    let mut w = World::new();
    let g = w.group("web");
    let out = w
        .authorize(&g, false, vec![perm("tcp", Some((22, 22)), "0.0.0.0/0")])
        .unwrap();
    let id = out["SecurityGroupRules"][0]["SecurityGroupRuleId"]
        .as_str()
        .unwrap()
        .to_owned();
    let req = |ids: Vec<String>| Permissions {
        group_id: Some(g.clone()),
        security_group_rule_ids: ids,
        ..Default::default()
    };
    let before = w.state.clone();
    assert_eq!(
        code(rules::revoke(
            &mut w.state.clone(),
            &req(vec![id.clone(), "sgr-00000000000000bad".into()]),
            false
        )),
        "InvalidSecurityGroupRuleId.NotFound"
    );
    assert_eq!(
        code(rules::revoke(
            &mut w.state.clone(),
            &req(vec![id.clone()]),
            true
        )),
        "InvalidSecurityGroupRuleId.NotFound"
    );
    assert_eq!(w.state, before);
    rules::revoke(&mut w.state, &req(vec![id.clone()]), false).unwrap();
    assert!(rules_of(&w, &g).iter().all(|r| r.id != id));
}

#[test]
fn sg_rule_7_modify_in_place_and_update_descriptions() {
    let mut w = World::new();
    let g = w.group("web");
    let out = w
        .authorize(
            &g,
            false,
            vec![
                perm("tcp", Some((22, 22)), "0.0.0.0/0"),
                perm("tcp", Some((80, 80)), "0.0.0.0/0"),
            ],
        )
        .unwrap();
    let id = out["SecurityGroupRules"][0]["SecurityGroupRuleId"]
        .as_str()
        .unwrap()
        .to_owned();
    let modify = |w: &mut World, def: SecurityGroupRuleRequest| {
        let req = ModifySecurityGroupRules {
            group_id: Some(g.clone()),
            security_group_rules: vec![SecurityGroupRuleUpdate {
                security_group_rule_id: Some(id.clone()),
                security_group_rule: Some(def),
            }],
        };
        rules::modify_rules(&mut w.state, &w.quotas, &req)
    };
    let def = SecurityGroupRuleRequest {
        ip_protocol: Some("tcp".into()),
        from_port: Some(2222),
        to_port: Some(2222),
        cidr_ipv4: Some("203.0.113.0/24".into()),
        description: Some("moved".into()),
        ..Default::default()
    };
    modify(&mut w, def).unwrap();
    let r = rules_of(&w, &g).iter().find(|r| r.id == id).unwrap();
    assert_eq!(
        (r.from_port, r.description.as_deref()),
        (Some(2222), Some("moved"))
    );
    // Turning it into a copy of another rule is a duplicate.
    let dup = SecurityGroupRuleRequest {
        ip_protocol: Some("tcp".into()),
        from_port: Some(80),
        to_port: Some(80),
        cidr_ipv4: Some("0.0.0.0/0".into()),
        ..Default::default()
    };
    assert_eq!(code(modify(&mut w, dup)), "InvalidPermission.Duplicate");
    // Descriptions by permission and by id, the match untouched.
    let mut p = perm("tcp", Some((80, 80)), "0.0.0.0/0");
    p.ip_ranges[0].description = Some("http".into());
    let req = UpdateDescriptions {
        group_id: Some(g.clone()),
        ip_permissions: vec![p],
        security_group_rule_descriptions: vec![RuleDescription {
            security_group_rule_id: Some(id.clone()),
            description: Some("ssh".into()),
        }],
        ..Default::default()
    };
    rules::update_descriptions(&mut w.state, &req, false).unwrap();
    let descs: Vec<_> = rules_of(&w, &g)
        .iter()
        .filter(|r| !r.egress)
        .map(|r| r.description.clone().unwrap())
        .collect();
    assert_eq!(descs, vec!["ssh", "http"]);
    let missing = UpdateDescriptions {
        group_id: Some(g.clone()),
        ip_permissions: vec![perm("tcp", Some((81, 81)), "0.0.0.0/0")],
        ..Default::default()
    };
    assert_eq!(
        code(rules::update_descriptions(&mut w.state, &missing, false)),
        "InvalidPermission.NotFound"
    );
}

#[test]
fn sg_api_describe_filters_and_rule_listing() {
    let mut w = World::new();
    let web = w.group("web-prod");
    w.group("db-prod");
    let f = |name: &str, v: &str| Filter {
        name: name.into(),
        values: vec![v.into()],
    };
    let names = |w: &World, filters: Vec<Filter>| -> Vec<String> {
        let req = DescribeSecurityGroups {
            filters,
            ..Default::default()
        };
        ops::describe_security_groups(&w.state, &req).unwrap()["SecurityGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["GroupName"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut all = names(&w, vec![f("group-name", "*-prod")]);
    all.sort();
    assert_eq!(all, vec!["db-prod", "web-prod"]);
    assert_eq!(names(&w, vec![f("group-id", &web)]), vec!["web-prod"]);
    let vpc = w.state.default_vpc().id.clone();
    assert_eq!(names(&w, vec![f("vpc-id", &vpc)]).len(), 3);
    assert!(names(&w, vec![f("vpc-id", "vpc-1")]).is_empty());
    let bad = DescribeSecurityGroups {
        filters: vec![f("colour", "red")],
        ..Default::default()
    };
    assert_eq!(
        code(ops::describe_security_groups(&w.state, &bad)),
        "InvalidParameterValue"
    );
    let req = DescribeSecurityGroupRules {
        filters: vec![f("group-id", &web)],
        ..Default::default()
    };
    let rules = rules::describe_rules(&w.state, &req).unwrap();
    assert_eq!(
        rules["SecurityGroupRules"].as_array().unwrap().len(),
        2,
        "the default outbound rules"
    );
    let req = DescribeSecurityGroupRules {
        security_group_rule_ids: vec!["sgr-00000000000000bad".into()],
        ..Default::default()
    };
    assert_eq!(
        code(rules::describe_rules(&w.state, &req)),
        "InvalidSecurityGroupRuleId.NotFound"
    );
}

#[test]
fn sg_if_1_groups_from_the_interface_vpc_only() {
    let mut w = World::new();
    let a = w.group("a");
    let vpc = new_vpc(&mut w, false);
    let other = group_in(&mut w, &vpc, "b").unwrap();
    assert_eq!(
        code(w.attach("eth0", &[&a, &other], &[])),
        "InvalidParameterValue"
    );
    w.attach("eth0", &[&a], &[]).unwrap();
    assert_eq!(
        code(w.attach("eth0", &[&other], &[])),
        "InvalidParameterValue"
    );
    // A new interface joins its groups' VPC.
    w.attach("eth1", &[&other], &[]).unwrap();
    assert_eq!(w.state.interfaces["eth1"].vpc_id, vpc);
}

#[test]
fn sg_if_3_group_references_follow_addresses_and_attachments() {
    let mut w = World::new();
    let web = w.group("web");
    let db = w.group("db");
    w.authorize(
        &db,
        false,
        vec![perm_group("tcp", Some((5432, 5432)), &web)],
    )
    .unwrap();
    w.attach("db0", &[&db], &[ip("192.0.2.10")]).unwrap();
    w.attach("web0", &[&web], &[ip("192.0.2.20")]).unwrap();
    let allows = |w: &World, remote: &str| {
        let c = compiler::compile_all(&w.state, &w.addrs);
        c["db0"]
            .lookup(DIR_IN, ip(remote))
            .is_some_and(|s| s.allows(6, 5432, compiler::FAM_V4))
    };
    assert!(allows(&w, "192.0.2.20"));
    w.addrs.insert("web0".into(), vec![ip("192.0.2.21")]);
    assert!(
        !allows(&w, "192.0.2.20"),
        "the old address no longer matches"
    );
    assert!(allows(&w, "192.0.2.21"), "the new address matches");
    w.attach("web0", &[&db], &[ip("192.0.2.21")]).unwrap();
    assert!(
        !allows(&w, "192.0.2.21"),
        "detached from web: no longer a member"
    );
}

#[test]
fn sg_if_4_connection_tracking_timeouts() {
    let mut w = World::new();
    let g = w.group("g");
    w.attach("eth0", &[&g], &[]).unwrap();
    assert_eq!(
        w.state.interfaces["eth0"].timeouts,
        Timeouts {
            tcp_established: 432_000,
            udp_stream: 180,
            udp: 30
        }
    );
    let set = |w: &mut World, tcp, stream, udp| {
        let req = ModifyNetworkInterfaceAttribute {
            network_interface_id: Some("eth0".into()),
            connection_tracking_specification: Some(ConnectionTrackingSpecification {
                tcp_established_timeout: tcp,
                udp_stream_timeout: stream,
                udp_timeout: udp,
            }),
            ..Default::default()
        };
        ops::modify_network_interface_attribute(&mut w.state, &w.quotas, &req, &|_| true)
    };
    set(&mut w, Some(60), None, Some(60)).unwrap();
    assert_eq!(
        w.state.interfaces["eth0"].timeouts,
        Timeouts {
            tcp_established: 60,
            udp_stream: 180,
            udp: 60
        }
    );
    for (tcp, stream, udp) in [
        (Some(59), None, None),
        (Some(432_001), None, None),
        (None, Some(59), None),
        (None, Some(181), None),
        (None, None, Some(29)),
        (None, None, Some(61)),
    ] {
        assert_eq!(
            code(set(&mut w, tcp, stream, udp)),
            "InvalidParameterValue",
            "{tcp:?} {stream:?} {udp:?}"
        );
    }
}

#[test]
fn sg_quota_groups_per_vpc_and_prefix_list_size() {
    let mut w = World::new();
    w.quotas.groups_per_vpc = 3; // the default group counts
    w.group("a");
    w.group("b");
    assert_eq!(
        code(w.create(CreateSecurityGroup {
            group_name: Some("c".into()),
            description: Some("d".into()),
            ..Default::default()
        })),
        "SecurityGroupLimitExceeded"
    );
    let mut w = World::new();
    w.quotas.rules_per_group = 10;
    let g = w.group("g");
    let pl = prefix_lists::create(
        &mut w.state,
        &mut w.ids,
        &CreateManagedPrefixList {
            prefix_list_name: Some("big".into()),
            max_entries: Some(10),
            address_family: Some("IPv4".into()),
            ..Default::default()
        },
    )
    .unwrap()["PrefixList"]["PrefixListId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut p = perm("tcp", Some((1, 1)), "0.0.0.0/0");
    p.ip_ranges.clear();
    p.prefix_list_ids.push(PrefixListId {
        prefix_list_id: pl.clone(),
        description: None,
    });
    w.authorize(&g, false, vec![p])
        .expect("10 entries = 10 rules: at the quota");
    assert_eq!(
        code(w.authorize(&g, false, vec![perm("tcp", Some((2, 2)), "192.0.2.0/24")])),
        "RulesPerSecurityGroupLimitExceeded"
    );
    // IPv6 is counted separately.
    w.authorize(&g, false, vec![perm("tcp", Some((2, 2)), "2001:db8::/32")])
        .unwrap();
    // Growing the list's maximum would exceed the quota of the group using it.
    let grow = ModifyManagedPrefixList {
        prefix_list_id: Some(pl),
        max_entries: Some(11),
        ..Default::default()
    };
    assert_eq!(
        code(prefix_lists::modify(&mut w.state, &w.quotas, &grow)),
        "RulesPerSecurityGroupLimitExceeded"
    );
    assert!(Quotas::default().check().is_ok());
    assert!(
        Quotas {
            rules_per_group: 201,
            ..Quotas::default()
        }
        .check()
        .is_err()
    );
}

#[test]
fn sg_api_prefix_lists_are_versioned_peers() {
    let mut w = World::new();
    let out = prefix_lists::create(
        &mut w.state,
        &mut w.ids,
        &CreateManagedPrefixList {
            prefix_list_name: Some("office".into()),
            max_entries: Some(2),
            address_family: Some("IPv4".into()),
            entries: vec![PrefixListEntryIn {
                cidr: "198.51.100.7/24".into(),
                description: Some("hq".into()),
            }],
            ..Default::default()
        },
    )
    .unwrap();
    let pl = out["PrefixList"]["PrefixListId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(out["PrefixList"]["Version"], 1);
    let entries = prefix_lists::entries(
        &w.state,
        &crate::api::PrefixListIdRequest {
            prefix_list_id: Some(pl.clone()),
        },
    )
    .unwrap();
    assert_eq!(
        entries,
        json!({"Entries": [{"Cidr": "198.51.100.0/24", "Description": "hq"}]})
    );
    let add = |v, cidr: &str| ModifyManagedPrefixList {
        prefix_list_id: Some(pl.clone()),
        current_version: Some(v),
        add_entries: vec![PrefixListEntryIn {
            cidr: cidr.into(),
            description: None,
        }],
        ..Default::default()
    };
    assert_eq!(
        code(prefix_lists::modify(
            &mut w.state,
            &w.quotas,
            &add(7, "192.0.2.0/24")
        )),
        "PrefixListVersionMismatch"
    );
    assert_eq!(
        code(prefix_lists::modify(
            &mut w.state,
            &w.quotas,
            &add(1, "2001:db8::/32")
        )),
        "InvalidParameterValue"
    );
    let out = prefix_lists::modify(&mut w.state, &w.quotas, &add(1, "192.0.2.0/24")).unwrap();
    assert_eq!(out["PrefixList"]["Version"], 2);
    assert_eq!(
        code(prefix_lists::modify(
            &mut w.state,
            &w.quotas,
            &add(2, "203.0.113.0/24")
        )),
        "InvalidParameterValue",
        "max entries"
    );
    let g = w.group("g");
    let mut p = perm("tcp", Some((443, 443)), "0.0.0.0/0");
    p.ip_ranges.clear();
    p.prefix_list_ids.push(PrefixListId {
        prefix_list_id: pl.clone(),
        description: None,
    });
    w.authorize(&g, false, vec![p]).unwrap();
    w.attach("eth0", &[&g], &[ip("10.0.0.1")]).unwrap();
    assert!(
        w.eval(&inbound("eth0", "192.0.2.9", "10.0.0.1", 6, 443))
            .allows()
    );
    let del = crate::api::PrefixListIdRequest {
        prefix_list_id: Some(pl),
    };
    assert_eq!(
        code(prefix_lists::delete(&mut w.state, &del)),
        "DependencyViolation"
    );
}

#[test]
fn sg_classic_inbound_only_tcp_udp_icmp_and_fixed_groups() {
    let mut w = World::new();
    let vpc = new_vpc(&mut w, true);
    let g = group_in(&mut w, &vpc, "web|legacy%").expect("any ASCII name");
    assert!(
        rules_of(&w, &g).is_empty(),
        "no outbound rules: outbound is implicit"
    );
    assert_eq!(
        code(w.authorize(&g, true, vec![perm("tcp", Some((1, 1)), "0.0.0.0/0")])),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(w.authorize(&g, false, vec![perm("47", None, "0.0.0.0/0")])),
        "InvalidPermission.Malformed"
    );
    assert_eq!(
        code(w.authorize(&g, false, vec![perm("-1", None, "0.0.0.0/0")])),
        "InvalidPermission.Malformed"
    );
    w.authorize(&g, false, vec![perm("udp", Some((53, 53)), "0.0.0.0/0")])
        .unwrap();
    w.attach("eth0", &[&g], &[ip("10.1.0.5")]).unwrap();
    let other = group_in(&mut w, &vpc, "other").unwrap();
    assert_eq!(
        code(w.attach("eth0", &[&other], &[ip("10.1.0.5")])),
        "InvalidParameterValue",
        "groups fixed once attached"
    );
    // Outbound always allowed.
    let mut out = inbound("eth0", "192.0.2.1", "10.1.0.5", 47, 0);
    out.direction = Direction::Outbound;
    std::mem::swap(&mut out.src, &mut out.dst);
    assert!(w.eval(&out).allows());
    let c = compiler::compile_all(&w.state, &w.addrs);
    assert!(
        c["eth0"]
            .lookup(compiler::DIR_OUT, ip("192.0.2.1"))
            .is_some_and(|s| s.allows(47, 0, compiler::FAM_V4))
    );
    let default = w.state.default_group_of(&vpc).unwrap().id.clone();
    let del = crate::api::DeleteSecurityGroup {
        group_id: Some(default),
        group_name: None,
    };
    assert_eq!(
        code(ops::delete_security_group(&mut w.state, &del)),
        "InvalidGroup.Reserved"
    );
}

#[test]
fn sg_classic_limits() {
    let q = Quotas::default().for_vpc(true);
    assert_eq!(
        (q.groups_per_vpc, q.rules_per_group, q.groups_per_interface),
        (500, 100, 500)
    );
    let mut w = World::new();
    let vpc = new_vpc(&mut w, true);
    let g = group_in(&mut w, &vpc, "g").unwrap();
    let perms: Vec<_> = (0..100)
        .map(|i| perm("tcp", Some((i, i)), "0.0.0.0/0"))
        .collect();
    w.authorize(&g, false, perms).expect("100 rules fit");
    assert_eq!(
        code(w.authorize(&g, false, vec![perm("tcp", Some((100, 100)), "0.0.0.0/0")])),
        "RulesPerSecurityGroupLimitExceeded"
    );
    let many: Vec<String> = (0..6)
        .map(|i| group_in(&mut w, &vpc, &format!("m{i}")).unwrap())
        .collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    w.attach("eth9", &refs, &[])
        .expect("more than 5 groups in classic");
}

#[test]
fn sg_if_5_host_mode_declared_addresses_and_source_dest_check() {
    use crate::api::{CreateNetworkInterface, PrivateAddresses};
    let mut w = World::new();
    let g = w.group("g");
    let create = |w: &mut World, mode: &str, addrs: &[&str]| {
        let req = CreateNetworkInterface {
            network_interface_id: Some("veth1".into()),
            attach_mode: Some(mode.into()),
            private_ip_addresses: addrs.iter().map(|a| a.to_string()).collect(),
            groups: vec![g.clone()],
            source_dest_check: None,
        };
        ops::create_network_interface(&mut w.state, &w.quotas, &req, &|_| true)
    };
    assert_eq!(code(create(&mut w, "host", &[])), "MissingParameter");
    assert_eq!(
        code(create(&mut w, "host", &["fe80::1"])),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(create(&mut w, "host", &["10.0.0.1", "10.0.0.1"])),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(create(&mut w, "instance", &["10.0.0.1"])),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(create(&mut w, "bridge", &["10.0.0.1"])),
        "InvalidParameterValue"
    );
    create(&mut w, "host", &["10.0.0.1", "2001:db8::1"]).unwrap();
    let i = &w.state.interfaces["veth1"];
    assert_eq!(
        (i.mode, i.source_dest_check),
        (AttachMode::Host, true),
        "on by default"
    );
    assert_eq!(
        code(create(&mut w, "host", &["10.0.0.2"])),
        "InvalidParameterValue",
        "already protected"
    );
    let assign = |w: &mut World, a: &str, on: bool| {
        let req = PrivateAddresses {
            network_interface_id: Some("veth1".into()),
            private_ip_addresses: vec![a.into()],
        };
        ops::assign_private_addresses(&mut w.state, &req, on)
    };
    assign(&mut w, "10.0.0.2", true).unwrap();
    assert_eq!(
        code(assign(&mut w, "10.0.0.2", true)),
        "InvalidParameterValue"
    );
    assign(&mut w, "10.0.0.1", false).unwrap();
    assert_eq!(
        w.state.interfaces["veth1"].private_addresses,
        vec![ip("2001:db8::1"), ip("10.0.0.2")]
    );
    // Switchable per interface; not on instance-mode interfaces.
    let sdc = |w: &mut World, iface: &str, on: bool| {
        let req = ModifyNetworkInterfaceAttribute {
            network_interface_id: Some(iface.into()),
            source_dest_check: Some(on),
            ..Default::default()
        };
        ops::modify_network_interface_attribute(&mut w.state, &w.quotas, &req, &|_| true)
    };
    sdc(&mut w, "veth1", false).unwrap();
    assert!(!w.state.interfaces["veth1"].source_dest_check);
    w.attach("eth0", &[&g], &[]).unwrap();
    assert_eq!(code(sdc(&mut w, "eth0", true)), "InvalidParameterValue");
    ops::delete_network_interface(&mut w.state, &Some("veth1".into())).unwrap();
    assert_eq!(
        code(ops::delete_network_interface(
            &mut w.state,
            &Some("veth1".into())
        )),
        "InvalidNetworkInterfaceID.NotFound"
    );
}

#[test]
fn sg_classic_copy_and_descriptions() {
    let mut w = World::new();
    let vpc = new_vpc(&mut w, true);
    let src = w.group("vpc-group"); // a VPC group: all-protocol outbound rules
    let copy = |w: &mut World, from: &str, desc: &str| {
        w.create(CreateSecurityGroup {
            group_name: Some("copy".into()),
            description: Some(desc.into()),
            vpc_id: Some(vpc.clone()),
            copy_from_group_id: Some(from.into()),
            ..Default::default()
        })
    };
    assert_eq!(
        code(copy(&mut w, &src, "d")),
        "InvalidParameterValue",
        "outbound rules cannot enter classic"
    );
    let classic_src = group_in(&mut w, &vpc, "classic-src").unwrap();
    w.authorize(
        &classic_src,
        false,
        vec![perm("tcp", Some((22, 22)), "0.0.0.0/0")],
    )
    .unwrap();
    copy(&mut w, &classic_src, "sg-like description | any ASCII")
        .expect("classic copy with an ASCII description");
}

#[test]
fn sg_api_export_nft() {
    let mut w = World::new();
    let web = w.group("web");
    let db = w.group("db");
    w.authorize(
        &web,
        false,
        vec![
            perm("tcp", Some((443, 443)), "0.0.0.0/0"),
            perm("icmp", Some((8, -1)), "192.0.2.0/24"),
        ],
    )
    .unwrap();
    w.authorize(
        &db,
        false,
        vec![perm_group("tcp", Some((5432, 5432)), &web)],
    )
    .unwrap();
    w.attach("eth0", &[&web], &[ip("192.0.2.10"), ip("2001:db8::10")])
        .unwrap();
    w.attach("eth1", &[&db], &[ip("192.0.2.20")]).unwrap();
    let web_nft = crate::export::nft(&w.state, &w.addrs, "eth0").unwrap();
    assert!(web_nft.contains("table inet sg_eth0"), "{web_nft}");
    assert!(web_nft.contains("ct state established accept"));
    assert!(
        web_nft.contains("ip saddr { 0.0.0.0/0 } tcp dport 443 accept"),
        "{web_nft}"
    );
    assert!(
        web_nft.contains("ip saddr { 192.0.2.0/24 } meta l4proto icmp icmp type 8 accept"),
        "{web_nft}"
    );
    assert!(
        web_nft.contains("ip daddr { 0.0.0.0/0 } accept"),
        "default outbound: {web_nft}"
    );
    assert!(web_nft.contains("ip6 daddr { ::/0 } accept"), "{web_nft}");
    assert!(web_nft.contains("iifname \"eth0\" jump inbound"));
    let db_nft = crate::export::nft(&w.state, &w.addrs, "eth1").unwrap();
    assert!(
        db_nft.contains("ip saddr { 192.0.2.10/32 } tcp dport 5432 accept"),
        "members of web: {db_nft}"
    );
    assert!(
        db_nft.contains("ip6 saddr { 2001:db8::10/128 } tcp dport 5432 accept"),
        "{db_nft}"
    );
    assert_eq!(
        code(crate::export::nft(&w.state, &w.addrs, "eth9")),
        "InvalidNetworkInterfaceID.NotFound"
    );
}
