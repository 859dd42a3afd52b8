//! Typing shorthand, checking JSON, and the skeletons: each operation's skeleton is exactly
//! what the API's types accept and print, so the shapes cannot drift from `api`.

use serde_json::json;

use super::*;
use crate::api::Request;

fn shape_of(op: &str, param: &str) -> &'static Shape {
    &Operation::named(op).field(param).expect("parameter").shape
}

#[test]
fn shorthand_is_typed_by_the_shape() {
    let perms = shape_of("AuthorizeSecurityGroupIngress", "IpPermissions");
    let v = json!({"IpProtocol": "tcp", "FromPort": "22", "ToPort": " 23",
                   "IpRanges": {"CidrIp": "10.0.0.0/8"}});
    assert_eq!(
        coerce(perms, v, "IpPermissions").unwrap(),
        json!([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 23,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    );
    let filters = shape_of("DescribeSecurityGroups", "Filters");
    assert_eq!(
        coerce(filters, json!({"Name": "n", "Values": "v"}), "Filters").unwrap(),
        json!([{"Name": "n", "Values": ["v"]}])
    );
    let addrs = shape_of("CreateNetworkInterface", "PrivateIpAddresses");
    assert_eq!(
        coerce(
            addrs,
            json!([{"PrivateIpAddress": "10.0.0.5", "Primary": "TRUE"}, "10.0.0.6"]),
            "P"
        )
        .unwrap(),
        json!([{"PrivateIpAddress": "10.0.0.5", "Primary": true}, "10.0.0.6"])
    );
}

#[test]
fn json_is_checked_strictly_with_botocore_messages() {
    let perms = shape_of("AuthorizeSecurityGroupIngress", "IpPermissions");
    let e = check(
        perms,
        json!([{"IpProtocol": "tcp", "FromPort": "22"}]),
        "IpPermissions",
    );
    assert_eq!(
        e.unwrap_err(),
        "invalid type for parameter IpPermissions[0].FromPort: \"22\", expected an integer"
    );
    let e = check(
        perms,
        json!([{"IpProtocol": "tcp", "Bogus": 1}]),
        "IpPermissions",
    );
    assert_eq!(
        e.unwrap_err(),
        "unknown parameter in IpPermissions[0]: \"Bogus\", must be one of: IpProtocol, \
         FromPort, ToPort, UserIdGroupPairs, IpRanges, Ipv6Ranges, PrefixListIds"
    );
    let e = check(perms, json!([{"IpRanges": []}]), "IpPermissions");
    assert_eq!(
        e.unwrap_err(),
        "missing required parameter in IpPermissions[0]: \"IpProtocol\""
    );
    let e = check(perms, json!({"IpProtocol": "tcp"}), "IpPermissions");
    assert!(e.unwrap_err().contains("expected a list"));
    let filters = shape_of("DescribeSecurityGroups", "Filters");
    let e = coerce(filters, json!({"Name": ["a", "b"]}), "Filters").unwrap_err();
    assert!(e.contains("Filters[0].Name: a list, expected a string") && e.contains("\\,"));
    let ct = shape_of(
        "ModifyNetworkInterfaceAttribute",
        "ConnectionTrackingSpecification",
    );
    assert!(coerce(ct, json!({"UdpTimeout": "soon"}), "C").is_err());
    let op = Operation::named("CreateNetworkInterface");
    assert!(coerce(&op.input, json!({"SourceDestCheck": "maybe"}), "input").is_err());
    // The import document keeps members it does not model.
    let op = Operation::named("ImportSecurityGroups");
    let doc = json!({"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "g", "Extra": 1}],
                     "ResponseMetadata": {}});
    assert_eq!(check(&op.input, doc.clone(), "input").unwrap(), doc);
}

#[test]
fn skeleton_is_printed_as_the_aws_cli_prints_it() {
    let s = skeleton(Operation::named("ModifySecurityGroupRules"));
    assert_eq!(
        s,
        r#"{
    "GroupId": "",
    "SecurityGroupRules": [
        {
            "SecurityGroupRuleId": "",
            "SecurityGroupRule": {
                "IpProtocol": "",
                "FromPort": 0,
                "ToPort": 0,
                "CidrIpv4": "",
                "CidrIpv6": "",
                "PrefixListId": "",
                "ReferencedGroupId": "",
                "Description": ""
            }
        }
    ]
}"#
    );
    assert_eq!(
        skeleton(Operation::named("GetMetrics")),
        "{\n    \"Prefix\": \"\"\n}"
    );
}

/// Paths in `v` whose value is null, an empty list or false: members the API's types have
/// and the skeleton did not name.
fn defaulted(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{path}.{k}");
                match x {
                    Value::Null | Value::Bool(false) => out.push(p),
                    Value::Array(a) if a.is_empty() => out.push(p),
                    _ => defaulted(x, &p, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| defaulted(x, path, out)),
        _ => {}
    }
}

fn strip(v: &mut Value, gone: &[String], path: &str) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !gone.contains(&format!("{path}.{k}")));
            for (k, x) in m.iter_mut() {
                strip(x, gone, &format!("{path}.{k}"));
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| strip(x, gone, path)),
        _ => {}
    }
}

#[test]
fn every_skeleton_is_exactly_what_the_api_takes() {
    // Members of a shared API type that an operation does not have (as in the EC2 model).
    let not_taken: &[(&str, &[&str])] = &[
        ("AuthorizeSecurityGroupIngress", &[".SecurityGroupRuleIds"]),
        ("AuthorizeSecurityGroupEgress", &[".SecurityGroupRuleIds"]),
        ("RevokeSecurityGroupIngress", &[".TagSpecifications"]),
        ("RevokeSecurityGroupEgress", &[".TagSpecifications"]),
        ("ModifyManagedPrefixList", &[".RemoveEntries.Description"]),
    ];
    let mut names: Vec<&str> = OPERATIONS.iter().map(|o| o.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), OPERATIONS.len(), "an operation twice");
    for op in OPERATIONS {
        let text = skeleton(op);
        let mut doc: Value = serde_json::from_str(&text).expect("skeleton is JSON");
        let Value::Object(map) = &mut doc else {
            panic!("{}", op.name)
        };
        // PrivateIpAddresses structures become addresses (`finish` does this too).
        if let Some(Value::Array(items)) = map.get_mut("PrivateIpAddresses") {
            for i in items.iter_mut() {
                if let Some(a) = i.get("PrivateIpAddress") {
                    *i = a.clone();
                }
            }
        }
        map.insert("Action".into(), op.name.into());
        let req: Request = serde_json::from_value(doc.clone())
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", op.name));
        assert_eq!(req.operation(), op.name);
        let mut back = serde_json::to_value(&req).expect("serialises");
        let mut extra = Vec::new();
        defaulted(&back, "", &mut extra);
        let expected: Vec<String> = not_taken
            .iter()
            .filter(|(n, _)| *n == op.name)
            .flat_map(|(_, p)| p.iter().map(|s| s.to_string()))
            .collect();
        assert_eq!(
            extra, expected,
            "{}: API members missing from the shape",
            op.name
        );
        strip(&mut back, &extra, "");
        assert_eq!(back, doc, "{}", op.name);
    }
}
