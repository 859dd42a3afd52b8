//! Which packets the rules allow (SG-RULE-3, 4, 5; SG-GRP-4): ICMP types and codes, prefix
//! lists and group peers, the union of groups and the rules credited with a verdict.

use super::pkt;
use crate::{
    api::{CreateManagedPrefixList, PrefixListEntryIn, PrefixListId, UserIdGroupPair},
    eval::*,
    model::prefix_lists,
    testkit::{World, ip, perm},
};

#[test]
fn sg_rule_5_union_and_rule_attribution() {
    let mut w = World::new();
    let a = w.group("a");
    let b = w.group("b");
    w.authorize(
        &a,
        false,
        vec![perm("tcp", Some((22, 22)), "203.0.113.1/32")],
    )
    .unwrap();
    w.authorize(&b, false, vec![perm("tcp", Some((22, 22)), "0.0.0.0/0")])
        .unwrap();
    w.attach("eth0", &[&a, &b], &[ip("192.0.2.1")]).unwrap();
    let p = pkt(
        "eth0",
        Direction::Inbound,
        "203.0.113.1",
        "192.0.2.1",
        6,
        22,
    );
    let Verdict::Rules(ids) = w.eval(&p) else {
        panic!("allowed")
    };
    assert_eq!(ids.len(), 2, "both rules allow it");
    assert!(
        w.eval(&pkt(
            "eth0",
            Direction::Inbound,
            "198.51.100.1",
            "192.0.2.1",
            6,
            22
        ))
        .allows()
    );
    assert_eq!(
        w.eval(&pkt(
            "eth0",
            Direction::Inbound,
            "198.51.100.1",
            "192.0.2.1",
            6,
            23
        )),
        Verdict::Denied
    );
    assert_eq!(
        w.eval(&pkt(
            "lo9",
            Direction::Inbound,
            "198.51.100.1",
            "192.0.2.1",
            6,
            23
        )),
        Verdict::Unfiltered
    );
}

#[test]
fn sg_grp_4_new_group_allows_all_outbound_only() {
    let mut w = World::new();
    let a = w.group("a");
    w.attach("eth0", &[&a], &[ip("192.0.2.1")]).unwrap();
    assert!(
        w.eval(&pkt(
            "eth0",
            Direction::Outbound,
            "198.51.100.1",
            "192.0.2.1",
            47,
            0
        ))
        .allows()
    );
    assert!(
        w.eval(&pkt(
            "eth0",
            Direction::Outbound,
            "2001:db8::9",
            "2001:db8::1",
            6,
            443
        ))
        .allows()
    );
    assert!(
        !w.eval(&pkt(
            "eth0",
            Direction::Inbound,
            "198.51.100.1",
            "192.0.2.1",
            47,
            0
        ))
        .allows()
    );
}

#[test]
fn sg_rule_3_icmp_type_and_code() {
    let mut w = World::new();
    let a = w.group("a");
    w.authorize(&a, false, vec![perm("icmp", Some((3, 4)), "0.0.0.0/0")])
        .unwrap();
    w.authorize(&a, false, vec![perm("icmp", Some((8, -1)), "0.0.0.0/0")])
        .unwrap();
    w.authorize(&a, false, vec![perm("icmpv6", Some((2, -1)), "::/0")])
        .unwrap();
    w.attach("eth0", &[&a], &[ip("192.0.2.1")]).unwrap();
    let icmp = |t, c, remote: &str| {
        let mut p = pkt(
            "eth0",
            Direction::Inbound,
            remote,
            if remote.contains(':') {
                "2001:db8::1"
            } else {
                "192.0.2.1"
            },
            if remote.contains(':') { 58 } else { 1 },
            0,
        );
        p.icmp_type = t;
        p.icmp_code = c;
        w.eval(&p).allows()
    };
    assert!(
        icmp(3, 4, "198.51.100.1"),
        "fragmentation needed, with a rule (SG-ENF-8)"
    );
    assert!(!icmp(3, 3, "198.51.100.1"));
    assert!(icmp(8, 0, "198.51.100.1"));
    assert!(icmp(8, 7, "198.51.100.1"));
    assert!(
        icmp(2, 0, "2001:db8::2"),
        "packet too big, with a rule (SG-ENF-8)"
    );
    assert!(!icmp(1, 0, "2001:db8::2"));
}

#[test]
fn sg_rule_4_prefix_list_and_group_peers() {
    let mut w = World::new();
    let pl = prefix_lists::create(
        &mut w.state,
        &mut w.ids,
        &CreateManagedPrefixList {
            prefix_list_name: Some("office".into()),
            max_entries: Some(5),
            address_family: Some("IPv4".into()),
            entries: vec![PrefixListEntryIn {
                cidr: "198.51.100.0/28".into(),
                description: None,
            }],
            ..Default::default()
        },
    )
    .unwrap()
    .prefix_list
    .prefix_list_id;
    let db = w.group("db");
    let web = w.group("web");
    let mut p = perm("tcp", Some((5432, 5432)), "0.0.0.0/0");
    p.ip_ranges.clear();
    p.prefix_list_ids.push(PrefixListId {
        prefix_list_id: pl,
        description: None,
    });
    p.user_id_group_pairs.push(UserIdGroupPair {
        group_id: Some(web.clone()),
        ..Default::default()
    });
    w.authorize(&db, false, vec![p]).unwrap();
    w.attach("db0", &[&db], &[ip("192.0.2.10")]).unwrap();
    w.attach("web0", &[&web], &[ip("192.0.2.20"), ip("2001:db8::20")])
        .unwrap();
    let allows = |remote: &str| {
        let local = if remote.contains(':') {
            "2001:db8::10"
        } else {
            "192.0.2.10"
        };
        w.eval(&pkt("db0", Direction::Inbound, remote, local, 6, 5432))
            .allows()
    };
    assert!(allows("198.51.100.15"));
    assert!(!allows("198.51.100.16"));
    assert!(allows("192.0.2.20"), "member of the referenced group");
    assert!(allows("2001:db8::20"));
    assert!(!allows("192.0.2.21"));
}
