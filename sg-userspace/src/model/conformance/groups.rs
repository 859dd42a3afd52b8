//! Security groups (SG-GRP 1-5, 7): identity, names unique per VPC, the default group, the
//! default outbound rules per VPC, "copy to new", and a reference to a group that no longer
//! exists.

use super::{code, group_in, inbound, new_vpc, rules_of};
use crate::{
    api::{CreateSecurityGroup, CreateVpc, ImportSecurityGroups, ImportedGroup, TagSpecification},
    model::*,
    testkit::{World, ip, perm, perm_group},
};

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
    let id = out.group_id.as_str();
    assert!(
        id.len() == 20
            && id[3..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(
        out.tags,
        vec![Tag {
            key: "env".into(),
            value: "prod".into()
        }]
    );
    let g = &w.state.groups[id];
    assert_eq!(
        (g.name.as_str(), g.description.as_str()),
        ("web", "web tier")
    );
    assert_eq!(g.vpc_id, w.state.default_vpc().unwrap().id);
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
    // A VPC made by CreateVpc without an IPv6 block: outbound to 0.0.0.0/0 only, as on EC2.
    assert_eq!(egress_of(&w, &d.id), vec!["0.0.0.0/0"]);
    // Its rules may be edited.
    w.revoke(&d.id, true, vec![perm("-1", None, "0.0.0.0/0")])
        .unwrap();
    w.authorize(&d.id, false, vec![perm("tcp", Some((22, 22)), "0.0.0.0/0")])
        .unwrap();
}

/// The peers of a group's outbound rules, all of which allow all traffic.
fn egress_of(w: &World, g: &str) -> Vec<String> {
    rules_of(w, g)
        .iter()
        .filter(|r| r.egress)
        .map(|r| {
            assert_eq!(
                (r.protocol, r.from_port, r.to_port),
                (PROTO_ALL, None, None)
            );
            match &r.peer {
                Peer::Ipv4(n) => n.to_string(),
                Peer::Ipv6(n) => n.to_string(),
                other => panic!("{other:?}"),
            }
        })
        .collect()
}

/// SG-GRP-3/4 say outbound all to `0.0.0.0/0` and `::/0`; EC2 adds `::/0` only in a VPC with
/// an IPv6 block. sgd's default VPC always has one (a Linux host is dual-stack), so every
/// group there gets both, word for word; a VPC made by CreateVpc gets `::/0` only with
/// AmazonProvidedIpv6CidrBlock, as on EC2.
#[test]
fn sg_grp_4_ipv6_default_egress_in_dual_stack_vpcs_only() {
    let mut w = World::new();
    let default_vpc = w.state.default_vpc().unwrap().id.clone();
    let web = w.group("web");
    let default_group = w.state.default_group_of(&default_vpc).unwrap().id.clone();
    for g in [&web, &default_group] {
        assert_eq!(egress_of(&w, g), vec!["0.0.0.0/0", "::/0"], "default VPC");
    }
    let v4 = new_vpc(&mut w, false);
    let req = CreateVpc {
        cidr_block: Some("10.2.0.0/16".into()),
        amazon_provided_ipv6_cidr_block: true,
        ..Default::default()
    };
    let dual = vpcs::create_vpc(&mut w.state, &mut w.ids, &req)
        .unwrap()
        .vpc
        .vpc_id;
    for (vpc, want) in [(&v4, vec!["0.0.0.0/0"]), (&dual, vec!["0.0.0.0/0", "::/0"])] {
        let g = group_in(&mut w, vpc, "app").unwrap();
        let d = w.state.default_group_of(vpc).unwrap().id.clone();
        assert_eq!(egress_of(&w, &g), want, "new group in {vpc}");
        assert_eq!(egress_of(&w, &d), want, "default group of {vpc}");
    }
    // IPv6 rules are allowed in any VPC, and "copy to new" copies what the source has.
    let copy = w
        .create(CreateSecurityGroup {
            group_name: Some("copy".into()),
            description: Some("d".into()),
            vpc_id: Some(v4.clone()),
            copy_from_group_id: Some(web.clone()),
            ..Default::default()
        })
        .unwrap();
    let copy = copy.group_id.as_str();
    assert_eq!(egress_of(&w, copy), vec!["0.0.0.0/0", "::/0"]);
    let g = group_in(&mut w, &v4, "v6").unwrap();
    w.authorize(&g, true, vec![perm("-1", None, "::/0")])
        .unwrap();
    assert_eq!(egress_of(&w, &g), vec!["0.0.0.0/0", "::/0"]);
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
    let copy = out.group_id.as_str();
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
