//! Tags on groups (SG-GRP-1), rules (SG-RULE-1), managed prefix lists and VPCs: EC2's
//! CreateTags, DeleteTags and DescribeTags, with its limits and error codes (see the module's
//! documentation for the sources).

use serde_json::{Value, json};

use super::*;
use crate::{
    api::{CreateManagedPrefixList, CreateVpc, Filter, TagSpecification},
    model::{prefix_lists, vpcs},
    testkit::{World, perm},
};

fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.into(),
        value: value.into(),
    }
}

fn create(w: &mut World, ids: &[&str], tags: &[(&str, &str)]) -> ApiResult<Value> {
    let req = CreateTags {
        resources: ids.iter().map(|s| s.to_string()).collect(),
        tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
    };
    crate::testkit::json(create_tags(&mut w.state, &req))
}

fn delete(w: &mut World, ids: &[&str], tags: &[(&str, Option<&str>)]) -> ApiResult<Value> {
    let req = DeleteTags {
        resources: ids.iter().map(|s| s.to_string()).collect(),
        tags: tags
            .iter()
            .map(|(k, v)| TagToDelete {
                key: k.to_string(),
                value: v.map(str::to_owned),
            })
            .collect(),
    };
    crate::testkit::json(delete_tags(&mut w.state, &req))
}

fn describe(w: &World, filters: &[(&str, &[&str])]) -> Vec<Value> {
    let req = DescribeTags {
        filters: filters
            .iter()
            .map(|(n, v)| Filter {
                name: n.to_string(),
                values: v.iter().map(|s| s.to_string()).collect(),
            })
            .collect(),
        ..Default::default()
    };
    crate::testkit::json(describe_tags(&w.state, &req)).expect("describe")["Tags"]
        .as_array()
        .expect("Tags")
        .clone()
}

/// `key=value` of every tag of a resource, as DescribeTags shows them.
fn tags_on(w: &World, id: &str) -> Vec<String> {
    describe(w, &[("resource-id", &[id])])
        .iter()
        .map(|t| {
            format!(
                "{}={}",
                t["Key"].as_str().unwrap(),
                t["Value"].as_str().unwrap()
            )
        })
        .collect()
}

fn code<T: std::fmt::Debug>(r: ApiResult<T>) -> String {
    r.expect_err("the request must fail").code
}

/// A group, one of its rules, a prefix list and a VPC.
fn four(w: &mut World) -> [String; 4] {
    let g = w.group("web");
    let out = w
        .authorize(&g, false, vec![perm("tcp", Some((22, 22)), "10.0.0.0/8")])
        .expect("rule");
    let r = out.security_group_rules[0].security_group_rule_id.clone();
    let pl = prefix_lists::create(
        &mut w.state,
        &mut w.ids,
        &CreateManagedPrefixList {
            prefix_list_name: Some("office".into()),
            max_entries: Some(2),
            address_family: Some("IPv4".into()),
            ..Default::default()
        },
    )
    .expect("prefix list")
    .prefix_list
    .prefix_list_id
    .as_str()
    .to_owned();
    let vpc = w.state.default_vpc().unwrap().id.clone();
    [g, r, pl, vpc]
}

#[test]
fn create_tags_adds_and_overwrites_on_every_kind_of_resource() {
    let mut w = World::new();
    let ids = four(&mut w);
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(
        create(&mut w, &refs, &[("env", "prod"), ("team", "")]),
        Ok(Value::Null)
    );
    create(&mut w, &[&ids[0]], &[("env", "staging")]).expect("overwrite");
    assert_eq!(tags_on(&w, &ids[0]), ["env=staging", "team="]);
    for id in &ids[1..] {
        assert_eq!(tags_on(&w, id), ["env=prod", "team="], "{id}");
    }
    // The tags are the resources' own: the describes of each kind show them.
    let g = &w.state.groups[&ids[0]];
    assert_eq!(g.tags, [tag("env", "staging"), tag("team", "")]);
    assert_eq!(
        g.rules.iter().find(|r| r.id == ids[1]).unwrap().tags.len(),
        2
    );
    assert_eq!(w.state.prefix_lists[&ids[2]].tags.len(), 2);
    assert_eq!(w.state.vpcs[&ids[3]].tags.len(), 2);
}

#[test]
fn describe_tags_rows_types_filters_and_order() {
    let mut w = World::new();
    let [g, r, pl, vpc] = four(&mut w);
    create(&mut w, &[&vpc, &g], &[("Name", "web"), ("env", "prod")]).unwrap();
    create(&mut w, &[&r, &pl], &[("env", "dev")]).unwrap();
    let all = describe(&w, &[]);
    assert_eq!(all.len(), 6);
    // Ordered by resource id, then key.
    let order: Vec<(String, String)> = all
        .iter()
        .map(|t| {
            (
                t["ResourceId"].as_str().unwrap().into(),
                t["Key"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    let row = all.iter().find(|t| t["ResourceId"] == r).unwrap();
    assert_eq!(
        row,
        &json!({"Key": "env", "ResourceId": r, "ResourceType": "security-group-rule", "Value": "dev"})
    );
    let types = |f: &[(&str, &[&str])]| -> Vec<String> {
        describe(&w, f)
            .iter()
            .map(|t| t["ResourceType"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        types(&[("resource-type", &["prefix-list"])]),
        ["prefix-list"]
    );
    assert_eq!(types(&[("resource-type", &["vpc"])]), ["vpc", "vpc"]);
    assert_eq!(types(&[("resource-type", &["security-group"])]).len(), 2);
    // Values are alternatives, filters all apply; `*` and `?` are wildcards.
    assert_eq!(describe(&w, &[("value", &["d?v", "web"])]).len(), 4);
    assert_eq!(
        describe(&w, &[("key", &["e*"]), ("value", &["prod"])]).len(),
        2
    );
    assert_eq!(describe(&w, &[("resource-id", &["sg-*"])]).len(), 2);
    // tag:<key> selects the tags of the resources that have that tag.
    assert_eq!(describe(&w, &[("tag:Name", &["web"])]).len(), 4);
    assert_eq!(
        code(describe_tags(
            &w.state,
            &DescribeTags {
                filters: vec![Filter {
                    name: "colour".into(),
                    values: vec!["red".into()],
                }],
                ..Default::default()
            }
        )),
        "InvalidParameterValue"
    );
}

#[test]
fn describe_tags_refuses_unknown_filters_even_with_no_tags() {
    let w = World::new();
    assert!(describe(&w, &[]).is_empty());
    for name in ["tag-key", "group-id", "Key"] {
        let req = DescribeTags {
            filters: vec![Filter {
                name: name.into(),
                values: vec!["x".into()],
            }],
            ..Default::default()
        };
        assert_eq!(
            code(describe_tags(&w.state, &req)),
            "InvalidParameterValue",
            "{name}"
        );
    }
}

#[test]
fn describe_tags_pages_with_max_results_and_next_token() {
    let mut w = World::new();
    let g = w.group("web");
    let many: Vec<(String, String)> = (0..12).map(|i| (format!("k{i:02}"), "v".into())).collect();
    let refs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    create(&mut w, &[&g], &refs).unwrap();
    let mut req = DescribeTags {
        max_results: Some(5),
        ..Default::default()
    };
    let mut keys = Vec::new();
    let mut pages = 0;
    loop {
        let out = crate::testkit::json(describe_tags(&w.state, &req)).unwrap();
        pages += 1;
        keys.extend(
            out["Tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["Key"].clone()),
        );
        match out.get("NextToken") {
            Some(t) => req.next_token = Some(t.as_str().unwrap().into()),
            None => break,
        }
    }
    assert_eq!(pages, 3, "5 + 5 + 2, no token on the last page");
    assert_eq!(keys.len(), 12);
    req.max_results = Some(12);
    req.next_token = None;
    assert!(describe_tags(&w.state, &req).unwrap().next_token.is_none());
    for bad in [4, 1001] {
        req.max_results = Some(bad);
        assert_eq!(code(describe_tags(&w.state, &req)), "InvalidParameterValue");
    }
    req.max_results = None;
    req.next_token = Some("not-a-token".into());
    assert_eq!(
        code(describe_tags(&w.state, &req)),
        "InvalidPaginationToken"
    );
}

#[test]
fn delete_tags_by_key_by_key_and_value_and_all() {
    let mut w = World::new();
    let g = w.group("web");
    let tags = [("a", "1"), ("b", ""), ("c", "3"), ("d", "4")];
    create(&mut w, &[&g], &tags).unwrap();
    // A value that does not match, and `Value=""` on a non-empty value: nothing goes.
    delete(&mut w, &[&g], &[("a", Some("2")), ("c", Some(""))]).unwrap();
    assert_eq!(tags_on(&w, &g), ["a=1", "b=", "c=3", "d=4"]);
    // `Value=""` deletes an empty value; a key alone deletes whatever the value.
    delete(&mut w, &[&g], &[("b", Some("")), ("a", None)]).unwrap();
    assert_eq!(tags_on(&w, &g), ["c=3", "d=4"]);
    // An absent key is no error.
    assert_eq!(delete(&mut w, &[&g], &[("zz", None)]), Ok(Value::Null));
    // No tag at all: every tag not prefixed `aws:` goes.
    w.state
        .groups
        .get_mut(&g)
        .unwrap()
        .tags
        .push(tag("aws:cloudformation:stack", "s"));
    delete(&mut w, &[&g], &[]).unwrap();
    assert_eq!(tags_on(&w, &g), ["aws:cloudformation:stack=s"]);
    // `aws:` keys cannot be deleted by name either.
    assert_eq!(
        code(delete(&mut w, &[&g], &[("aws:cloudformation:stack", None)])),
        "InvalidParameterValue"
    );
}

#[test]
fn fifty_tags_per_resource_overwrites_not_counted() {
    let mut w = World::new();
    let g = w.group("web");
    let fifty: Vec<(String, String)> = (0..50).map(|i| (format!("k{i}"), "v".into())).collect();
    let refs: Vec<(&str, &str)> = fifty
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    create(&mut w, &[&g], &refs).unwrap();
    // Overwriting at the limit is fine (moto#8151, checked against EC2); one more is not.
    create(&mut w, &[&g], &[("k0", "new"), ("k49", "new")]).unwrap();
    assert_eq!(
        code(create(&mut w, &[&g], &[("k50", "v")])),
        "TagLimitExceeded"
    );
    // `aws:` tags do not count.
    w.state
        .groups
        .get_mut(&g)
        .unwrap()
        .tags
        .push(tag("aws:x", "y"));
    create(&mut w, &[&g], &[("k1", "again")]).unwrap();
    // 51 tags in one request never fit.
    let other = w.group("db");
    let many: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
    let refs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(code(create(&mut w, &[&other], &refs)), "TagLimitExceeded");
    // Nor on create (TagSpecification).
    let spec = TagSpecification {
        resource_type: Some("vpc".into()),
        tags: many.iter().map(|(k, v)| tag(k, v)).collect(),
    };
    let req = CreateVpc {
        cidr_block: Some("10.9.0.0/16".into()),
        tag_specifications: vec![spec],
        ..Default::default()
    };
    assert_eq!(
        code(vpcs::create_vpc(&mut w.state, &mut w.ids, &req)),
        "TagLimitExceeded"
    );
}

#[test]
fn create_tags_is_all_or_nothing_across_resources() {
    let mut w = World::new();
    let a = w.group("a");
    let b = w.group("b");
    let full: Vec<(String, String)> = (0..50).map(|i| (format!("k{i}"), "v".into())).collect();
    let refs: Vec<(&str, &str)> = full.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    create(&mut w, &[&b], &refs).unwrap();
    let before = w.state.clone();
    // `a` could take the tag, `b` cannot: neither gets it.
    assert_eq!(
        code(create(&mut w, &[&a, &b], &[("new", "x")])),
        "TagLimitExceeded"
    );
    // A missing resource after an existing one: nothing either.
    assert_eq!(
        code(create(
            &mut w,
            &[&a, "sg-0123456789abcdef0"],
            &[("new", "x")]
        )),
        "InvalidGroup.NotFound"
    );
    assert_eq!(w.state, before);
}

#[test]
fn unknown_and_malformed_ids_and_invalid_tags() {
    let mut w = World::new();
    let g = w.group("web");
    let t = &[("k", "v")];
    for (id, want) in [
        ("sg-0123456789abcdef0", "InvalidGroup.NotFound"),
        (
            "sgr-0123456789abcdef0",
            "InvalidSecurityGroupRuleId.NotFound",
        ),
        ("pl-0123456789abcdef0", "InvalidPrefixListID.NotFound"),
        ("vpc-0123456789abcdef0", "InvalidVpcID.NotFound"),
        ("i-0123456789abcdef0", "InvalidID"),
        ("sg-xyz", "InvalidID"),
        ("sgr-1234", "InvalidID"),
        ("web", "InvalidID"),
    ] {
        assert_eq!(code(create(&mut w, &[id], t)), want, "create {id}");
        assert_eq!(code(delete(&mut w, &[id], &[])), want, "delete {id}");
    }
    assert_eq!(code(create(&mut w, &[], t)), "MissingParameter");
    assert_eq!(code(create(&mut w, &[&g], &[])), "MissingParameter");
    assert_eq!(code(delete(&mut w, &[], &[])), "MissingParameter");
    let long_key = "k".repeat(129);
    let long_value = "v".repeat(257);
    for bad in [
        ("", "v"),
        (long_key.as_str(), "v"),
        ("k", long_value.as_str()),
        ("aws:owner", "me"),
        ("AWS:owner", "me"),
    ] {
        assert_eq!(
            code(create(&mut w, &[&g], &[bad])),
            "InvalidParameterValue",
            "{bad:?}"
        );
    }
    assert_eq!(
        code(create(&mut w, &[&g], &[("k", "1"), ("k", "2")])),
        "InvalidParameterValue",
        "the same key twice"
    );
    // 128 and 256 characters are fine; so are any characters (EC2 allows any Unicode).
    create(
        &mut w,
        &[&g],
        &[
            (&"k".repeat(128), &"v".repeat(256)),
            ("caf\u{e9} \u{1f600}", "="),
        ],
    )
    .unwrap();
    let msg = create(&mut w, &[&g], &[("aws:x", "")]).unwrap_err().message;
    assert_eq!(
        msg,
        "Value ( aws:x ) for parameter key is invalid. Tag keys starting with 'aws:' are \
         reserved for internal use"
    );
}

#[test]
fn tags_given_on_create_show_in_describe_tags() {
    let mut w = World::new();
    let spec = |t: &str| TagSpecification {
        resource_type: Some(t.into()),
        tags: vec![tag("Name", t)],
    };
    let req = CreateVpc {
        cidr_block: Some("10.9.0.0/16".into()),
        tag_specifications: vec![spec("vpc")],
        ..Default::default()
    };
    let vpc = vpcs::create_vpc(&mut w.state, &mut w.ids, &req)
        .unwrap()
        .vpc
        .vpc_id;
    assert_eq!(tags_on(&w, &vpc), ["Name=vpc"]);
    // The VPC's default group is not tagged.
    let default = w.state.default_group_of(&vpc).unwrap().id.clone();
    assert!(tags_on(&w, &default).is_empty());
}
