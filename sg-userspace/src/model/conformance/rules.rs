//! Rules (SG-RULE 1, 2, 6, 7): rule IDs, descriptions and tags, protocol names and numbers,
//! revoking by rule ID, modifying rules in place and updating their descriptions.

use serde_json::json;

use super::{code, inbound, rules_of};
use crate::{
    api::{
        ModifySecurityGroupRules, Permissions, RuleDescription, SecurityGroupRuleRequest,
        SecurityGroupRuleUpdate, TagSpecification, UpdateDescriptions,
    },
    model::*,
    testkit::{World, ip, perm},
};

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
    let out = crate::testkit::json(rules::authorize(
        &mut w.state,
        &mut w.ids,
        &w.quotas,
        &req,
        false,
    ))
    .unwrap();
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
    let id = out.security_group_rules[0].security_group_rule_id.clone();
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
    let id = out.security_group_rules[0].security_group_rule_id.clone();
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
