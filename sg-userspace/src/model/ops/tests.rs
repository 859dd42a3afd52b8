use serde_json::{Value, json};

use super::*;
use crate::{
    api::{IpPermission, IpRange, Ipv6Range, Permissions, UserIdGroupPair},
    model::{PROTO_ALL, Quotas},
};

fn authorize(
    state: &mut State,
    ids: &mut dyn IdSource,
    q: &Quotas,
    id: &Option<String>,
    egress: bool,
    perms: &[IpPermission],
) -> ApiResult<Value> {
    let req = Permissions {
        group_id: id.clone(),
        ip_permissions: perms.to_vec(),
        ..Default::default()
    };
    crate::testkit::json(rules::authorize(state, ids, q, &req, egress))
}

fn revoke(
    state: &mut State,
    id: &Option<String>,
    egress: bool,
    perms: &[IpPermission],
) -> ApiResult<Value> {
    let req = Permissions {
        group_id: id.clone(),
        ip_permissions: perms.to_vec(),
        ..Default::default()
    };
    crate::testkit::json(rules::revoke(state, &req, egress))
}

struct Counter(u128);
impl IdSource for Counter {
    fn next(&mut self) -> u128 {
        self.0 += 1;
        self.0
    }
}

fn setup() -> (State, Counter) {
    let mut ids = Counter(0);
    (State::new(&mut ids), ids)
}

fn create(state: &mut State, ids: &mut Counter, name: &str) -> String {
    let out = create_security_group(
        state,
        ids,
        &Quotas::default(),
        &CreateSecurityGroup {
            group_name: Some(name.into()),
            description: Some("test group".into()),
            ..Default::default()
        },
    )
    .expect("create");
    out.group_id
}

fn tcp(port: i32, cidr: &str) -> IpPermission {
    IpPermission {
        ip_protocol: "tcp".into(),
        from_port: Some(port),
        to_port: Some(port),
        ip_ranges: vec![IpRange {
            cidr_ip: cidr.into(),
            description: None,
        }],
        ..Default::default()
    }
}

#[test]
fn sg_grp_3_default_group_rules() {
    let (state, _) = setup();
    let vpc = state.default_vpc().unwrap().id.clone();
    let g = state.default_group_of(&vpc).expect("default group");
    assert!(g.id.starts_with("sg-") && g.id.len() == 20);
    let ingress: Vec<_> = g.rules.iter().filter(|r| !r.egress).collect();
    assert_eq!(ingress.len(), 1);
    assert_eq!(ingress[0].peer, Peer::Group(g.id.clone()));
    assert_eq!(ingress[0].protocol, PROTO_ALL);
    let egress: Vec<_> = g
        .rules
        .iter()
        .filter(|r| r.egress)
        .map(|r| r.peer.clone())
        .collect();
    assert_eq!(
        egress,
        vec![
            Peer::Ipv4("0.0.0.0/0".parse().unwrap()),
            Peer::Ipv6("::/0".parse().unwrap())
        ]
    );
}

#[test]
fn sg_grp_3_default_group_cannot_be_deleted() {
    let (mut state, _) = setup();
    let vpc = state.default_vpc().unwrap().id.clone();
    let id = state.default_group_of(&vpc).unwrap().id.clone();
    let err = delete_security_group(
        &mut state,
        &DeleteSecurityGroup {
            group_id: Some(id),
            group_name: None,
        },
    )
    .unwrap_err();
    assert_eq!(err.code, "CannotDelete");
}

#[test]
fn sg_grp_4_new_group_has_only_default_egress() {
    let (mut state, mut ids) = setup();
    let id = create(&mut state, &mut ids, "web");
    let out = crate::testkit::json(describe_security_groups(
        &state,
        &DescribeSecurityGroups {
            group_ids: vec![id],
            group_names: vec![],
            filters: vec![],
        },
    ))
    .unwrap();
    let g = &out["SecurityGroups"][0];
    assert_eq!(g["GroupName"], "web");
    assert_eq!(g["IpPermissions"], json!([]));
    assert_eq!(
        g["IpPermissionsEgress"],
        json!([{
            "IpProtocol": "-1",
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            "PrefixListIds": [],
            "UserIdGroupPairs": []
        }])
    );
}

#[test]
fn sg_grp_2_names_unique_per_vpc_case_insensitively() {
    let (mut state, mut ids) = setup();
    create(&mut state, &mut ids, "web");
    let err = create_security_group(
        &mut state,
        &mut ids,
        &Quotas::default(),
        &CreateSecurityGroup {
            group_name: Some("WEB ".into()),
            description: Some("d".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.code, "InvalidGroup.Duplicate");
    assert!(
        err.message.contains("'WEB' already exists for VPC 'vpc-"),
        "{}",
        err.message
    );
}

#[test]
fn sg_rule_6_duplicates_rejected_whole_request() {
    let (mut state, mut ids) = setup();
    let id = Some(create(&mut state, &mut ids, "web"));
    let q = Quotas::default();
    authorize(
        &mut state,
        &mut ids,
        &q,
        &id,
        false,
        &[tcp(22, "203.0.113.0/24")],
    )
    .unwrap();
    let mut copy = state.clone();
    let err = authorize(
        &mut copy,
        &mut ids,
        &q,
        &id,
        false,
        &[tcp(80, "0.0.0.0/0"), tcp(22, "203.0.113.7/24")],
    )
    .unwrap_err();
    assert_eq!(err.code, "InvalidPermission.Duplicate");
    let err = authorize(
        &mut copy,
        &mut ids,
        &q,
        &id,
        false,
        &[tcp(80, "0.0.0.0/0"), tcp(80, "0.0.0.0/0")],
    )
    .unwrap_err();
    assert_eq!(err.code, "InvalidParameterValue");
}

#[test]
fn sg_rule_6_revoke_must_match_exactly() {
    let (mut state, mut ids) = setup();
    let id = Some(create(&mut state, &mut ids, "web"));
    let q = Quotas::default();
    authorize(
        &mut state,
        &mut ids,
        &q,
        &id,
        false,
        &[tcp(22, "203.0.113.0/24")],
    )
    .unwrap();
    let err = revoke(&mut state.clone(), &id, false, &[tcp(23, "203.0.113.0/24")]).unwrap_err();
    assert_eq!(err.code, "InvalidPermission.NotFound");
    // Egress is a different direction: not found either.
    let err = revoke(&mut state.clone(), &id, true, &[tcp(22, "203.0.113.0/24")]).unwrap_err();
    assert_eq!(err.code, "InvalidPermission.NotFound");
    revoke(&mut state, &id, false, &[tcp(22, "203.0.113.0/24")]).unwrap();
    assert!(
        state.groups[id.as_ref().unwrap()]
            .rules
            .iter()
            .all(|r| r.egress)
    );
}

#[test]
fn sg_rule_3_port_validation() {
    let (mut state, mut ids) = setup();
    let id = Some(create(&mut state, &mut ids, "web"));
    let q = Quotas::default();
    let mut bad = tcp(22, "0.0.0.0/0");
    bad.from_port = Some(30);
    bad.to_port = Some(20);
    assert_eq!(
        authorize(&mut state.clone(), &mut ids, &q, &id, false, &[bad])
            .unwrap_err()
            .code,
        "InvalidParameterValue"
    );
    let mut bad = tcp(70000, "0.0.0.0/0");
    bad.to_port = Some(70000);
    assert_eq!(
        authorize(&mut state.clone(), &mut ids, &q, &id, false, &[bad])
            .unwrap_err()
            .code,
        "InvalidParameterValue"
    );
    let icmp_bad = IpPermission {
        ip_protocol: "icmp".into(),
        from_port: Some(-1),
        to_port: Some(3),
        ip_ranges: vec![IpRange {
            cidr_ip: "0.0.0.0/0".into(),
            description: None,
        }],
        ..Default::default()
    };
    assert_eq!(
        authorize(&mut state.clone(), &mut ids, &q, &id, false, &[icmp_bad])
            .unwrap_err()
            .code,
        "InvalidParameterValue"
    );
    let icmpv6_all = IpPermission {
        ip_protocol: "icmpv6".into(),
        ipv6_ranges: vec![Ipv6Range {
            cidr_ipv6: "::/0".into(),
            description: None,
        }],
        ..Default::default()
    };
    authorize(&mut state, &mut ids, &q, &id, false, &[icmpv6_all]).unwrap();
    let r = state.groups[id.as_ref().unwrap()]
        .rules
        .last()
        .unwrap()
        .clone();
    assert_eq!((r.from_port, r.to_port), (Some(-1), Some(-1)));
}

#[test]
fn sg_rule_2_all_protocols_ignore_ports() {
    let (mut state, mut ids) = setup();
    let id = Some(create(&mut state, &mut ids, "web"));
    let p = IpPermission {
        ip_protocol: "50".into(),
        from_port: Some(1),
        to_port: Some(2),
        ip_ranges: vec![IpRange {
            cidr_ip: "192.0.2.0/24".into(),
            description: None,
        }],
        ..Default::default()
    };
    authorize(&mut state, &mut ids, &Quotas::default(), &id, false, &[p]).unwrap();
    let r = state.groups[id.as_ref().unwrap()]
        .rules
        .last()
        .unwrap()
        .clone();
    assert_eq!((r.protocol, r.from_port, r.to_port), (50, None, None));
}

#[test]
fn sg_grp_6_delete_blocked_by_references_and_attachments() {
    let (mut state, mut ids) = setup();
    let a = create(&mut state, &mut ids, "a");
    let b = create(&mut state, &mut ids, "b");
    let pair = IpPermission {
        ip_protocol: "tcp".into(),
        from_port: Some(5432),
        to_port: Some(5432),
        user_id_group_pairs: vec![UserIdGroupPair {
            group_id: Some(a.clone()),
            ..Default::default()
        }],
        ..Default::default()
    };
    authorize(
        &mut state,
        &mut ids,
        &Quotas::default(),
        &Some(b.clone()),
        false,
        &[pair],
    )
    .unwrap();
    let del = |s: &mut State, id: &str| {
        delete_security_group(
            s,
            &DeleteSecurityGroup {
                group_id: Some(id.into()),
                group_name: None,
            },
        )
    };
    assert_eq!(
        del(&mut state.clone(), &a).unwrap_err().code,
        "DependencyViolation"
    );
    modify_network_interface_attribute(
        &mut state,
        &Quotas::default(),
        &ModifyNetworkInterfaceAttribute {
            network_interface_id: Some("eth9".into()),
            groups: Some(vec![b.clone()]),
            ..Default::default()
        },
        &|_| true,
    )
    .unwrap();
    assert_eq!(
        del(&mut state.clone(), &b).unwrap_err().code,
        "DependencyViolation"
    );
    assert_eq!(
        del(&mut state.clone(), "sg-0000000000000dead")
            .unwrap_err()
            .code,
        "InvalidGroup.NotFound"
    );
    assert_eq!(
        del(&mut state.clone(), "sg-zz").unwrap_err().code,
        "InvalidGroupId.Malformed"
    );
}

#[test]
fn sg_if_1_groups_replace_the_set_and_are_limited() {
    let (mut state, mut ids) = setup();
    let q = Quotas::default();
    let gs: Vec<String> = (0..6)
        .map(|i| create(&mut state, &mut ids, &format!("g{i}")))
        .collect();
    let modify = |s: &mut State, groups: Vec<String>| {
        modify_network_interface_attribute(
            s,
            &q,
            &ModifyNetworkInterfaceAttribute {
                network_interface_id: Some("eth0".into()),
                groups: Some(groups),
                ..Default::default()
            },
            &|n| n == "eth0",
        )
    };
    modify(&mut state, gs[..2].to_vec()).unwrap();
    modify(&mut state, gs[2..3].to_vec()).unwrap();
    assert_eq!(state.interfaces["eth0"].group_ids, vec![gs[2].clone()]);
    assert_eq!(
        modify(&mut state.clone(), gs.clone()).unwrap_err().code,
        "SecurityGroupsPerInterfaceLimitExceeded"
    );
    let err = modify_network_interface_attribute(
        &mut state,
        &q,
        &ModifyNetworkInterfaceAttribute {
            network_interface_id: Some("nope0".into()),
            groups: Some(vec![gs[0].clone()]),
            ..Default::default()
        },
        &|n| n == "eth0",
    )
    .unwrap_err();
    assert_eq!(err.code, "InvalidNetworkInterfaceID.NotFound");
}

#[test]
fn sg_quota_rules_per_group_counted_per_family() {
    let (mut state, mut ids) = setup();
    let id = Some(create(&mut state, &mut ids, "web"));
    let q = Quotas {
        rules_per_group: 2,
        ..Quotas::default()
    };
    authorize(
        &mut state,
        &mut ids,
        &q,
        &id,
        false,
        &[tcp(1, "192.0.2.1/32"), tcp(2, "192.0.2.2/32")],
    )
    .unwrap();
    let err = authorize(
        &mut state.clone(),
        &mut ids,
        &q,
        &id,
        false,
        &[tcp(3, "192.0.2.3/32")],
    )
    .unwrap_err();
    assert_eq!(err.code, "RulesPerSecurityGroupLimitExceeded");
    let v6 = IpPermission {
        ip_protocol: "tcp".into(),
        from_port: Some(3),
        to_port: Some(3),
        ipv6_ranges: vec![Ipv6Range {
            cidr_ipv6: "2001:db8::/32".into(),
            description: None,
        }],
        ..Default::default()
    };
    authorize(&mut state, &mut ids, &q, &id, false, &[v6]).unwrap();
}
