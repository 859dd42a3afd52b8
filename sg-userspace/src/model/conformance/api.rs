//! The API around the model (SG-API): describe filters and rule listing, versioned prefix
//! lists used as peers, and the nftables export.

use serde_json::json;

use super::{code, inbound};
use crate::{
    api::{
        CreateManagedPrefixList, DescribeSecurityGroupRules, DescribeSecurityGroups, Filter,
        ModifyManagedPrefixList, PrefixListEntryIn, PrefixListId,
    },
    model::*,
    testkit::{World, ip, perm, perm_group},
};

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
        crate::testkit::json(ops::describe_security_groups(&w.state, &req)).unwrap()["SecurityGroups"]
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
    let vpc = w.state.default_vpc().unwrap().id.clone();
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
    let rules = crate::testkit::json(rules::describe_rules(&w.state, &req)).unwrap();
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
fn sg_api_prefix_lists_are_versioned_peers() {
    let mut w = World::new();
    let out = crate::testkit::json(prefix_lists::create(
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
    ))
    .unwrap();
    let pl = out["PrefixList"]["PrefixListId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(out["PrefixList"]["Version"], 1);
    // EC2 answers a create or modify while it is in progress; a describe afterwards shows it
    // complete (sgd completes it before answering).
    assert_eq!(out["PrefixList"]["State"], "create-in-progress");
    let state = |w: &World| {
        crate::testkit::json(prefix_lists::describe(&w.state, &Default::default())).unwrap()["PrefixLists"][0]["State"]
            .clone()
    };
    assert_eq!(state(&w), "create-complete");
    let entries = crate::testkit::json(prefix_lists::entries(
        &w.state,
        &crate::api::PrefixListIdRequest {
            prefix_list_id: Some(pl.clone()),
        },
    ))
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
    let out = crate::testkit::json(prefix_lists::modify(
        &mut w.state,
        &w.quotas,
        &add(1, "192.0.2.0/24"),
    ))
    .unwrap();
    assert_eq!(out["PrefixList"]["Version"], 2);
    assert_eq!(out["PrefixList"]["State"], "modify-in-progress");
    assert_eq!(state(&w), "modify-complete");
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

/// `DescribeVpcs` and `DescribeManagedPrefixLists` filters (issue 14: what boto3 scripts and
/// the peer suite send), unknown names refused.
#[test]
fn sg_api_vpc_and_prefix_list_filters() {
    let mut w = World::new();
    let f = |name: &str, v: &str| Filter {
        name: name.into(),
        values: vec![v.into()],
    };
    let vpcs = |w: &World, filters: Vec<Filter>| -> usize {
        let req = crate::api::DescribeVpcs {
            filters,
            ..Default::default()
        };
        crate::testkit::json(vpcs::describe_vpcs(&w.state, &req)).unwrap()["Vpcs"]
            .as_array()
            .unwrap()
            .len()
    };
    let all = vpcs(&w, vec![]);
    assert_eq!(vpcs(&w, vec![f("is-default", "true")]), 1);
    assert_eq!(vpcs(&w, vec![f("is-default", "false")]), all - 1);
    assert_eq!(vpcs(&w, vec![f("state", "available")]), all);
    let default = w.state.default_vpc().unwrap().clone();
    assert_eq!(vpcs(&w, vec![f("cidr", &default.cidr_block)]), 1);
    let err = vpcs::describe_vpcs(
        &w.state,
        &crate::api::DescribeVpcs {
            filters: vec![f("nonsense", "x")],
            ..Default::default()
        },
    );
    assert_eq!(code(err), "InvalidParameterValue");

    let create = CreateManagedPrefixList {
        prefix_list_name: Some("office-nets".into()),
        max_entries: Some(5),
        address_family: Some("IPv4".into()),
        ..Default::default()
    };
    let id = crate::testkit::json(prefix_lists::create(&mut w.state, &mut w.ids, &create)).unwrap()
        ["PrefixList"]["PrefixListId"]
        .as_str()
        .unwrap()
        .to_owned();
    let lists = |filters: Vec<Filter>| -> Vec<String> {
        let req = crate::api::DescribeManagedPrefixLists {
            filters,
            ..Default::default()
        };
        crate::testkit::json(prefix_lists::describe(&w.state, &req)).unwrap()["PrefixLists"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["PrefixListId"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        lists(vec![f("prefix-list-name", "office-*")]),
        vec![id.clone()]
    );
    assert_eq!(lists(vec![f("prefix-list-id", &id)]), vec![id]);
    assert!(lists(vec![f("prefix-list-name", "home")]).is_empty());
}

/// `ip-permission.*` and `egress.ip-permission.*` filters of `DescribeSecurityGroups` (issue
/// 14): each matches a group if any rule of that direction has the value, wildcards allowed.
#[test]
fn sg_api_rule_filters_on_groups() {
    let mut w = World::new();
    let web = w.group("web");
    let db = w.group("db");
    w.authorize(
        &web,
        false,
        vec![
            perm("tcp", Some((443, 443)), "0.0.0.0/0"),
            perm("udp", Some((53, 53)), "2001:db8::/32"),
        ],
    )
    .unwrap();
    w.authorize(
        &db,
        false,
        vec![perm_group("tcp", Some((5432, 5432)), &web)],
    )
    .unwrap();
    let f = |name: &str, v: &str| Filter {
        name: name.into(),
        values: vec![v.into()],
    };
    let names = |filters: Vec<Filter>| -> Vec<String> {
        let req = DescribeSecurityGroups {
            filters,
            ..Default::default()
        };
        let mut n: Vec<String> = crate::testkit::json(ops::describe_security_groups(
            &w.state, &req,
        ))
        .unwrap()["SecurityGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["GroupName"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(vec![f("ip-permission.from-port", "443")]), ["web"]);
    assert_eq!(names(vec![f("ip-permission.protocol", "udp")]), ["web"]);
    assert_eq!(names(vec![f("ip-permission.cidr", "0.0.0.0/0")]), ["web"]);
    assert_eq!(
        names(vec![f("ip-permission.ipv6-cidr", "2001:db8:*")]),
        ["web"]
    );
    assert_eq!(names(vec![f("ip-permission.group-id", &web)]), ["db"]);
    assert_eq!(names(vec![f("ip-permission.group-name", "web")]), ["db"]);
    assert_eq!(names(vec![f("ip-permission.to-port", "5432")]), ["db"]);
    // Every new group's default outbound rule: all protocols to 0.0.0.0/0.
    assert_eq!(
        names(vec![
            f("egress.ip-permission.protocol", "-1"),
            f("egress.ip-permission.cidr", "0.0.0.0/0")
        ]),
        ["db", "default", "web"]
    );
    assert!(names(vec![f("egress.ip-permission.from-port", "443")]).is_empty());
    let bad = DescribeSecurityGroups {
        filters: vec![f("ip-permission.colour", "red")],
        ..Default::default()
    };
    assert_eq!(
        code(ops::describe_security_groups(&w.state, &bad)),
        "InvalidParameterValue"
    );
}
