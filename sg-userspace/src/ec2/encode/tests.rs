//! Tests of the JSON-to-XML writer: location names, lists of structures and of scalars,
//! empty lists kept, nulls left out.

use serde_json::json;

use super::*;

#[test]
fn members_take_the_ec2_models_location_names() {
    assert_eq!(location_name("", "SecurityGroups"), "securityGroupInfo");
    assert_eq!(
        location_name("SecurityGroups", "Description"),
        "groupDescription"
    );
    assert_eq!(location_name("IpRanges", "Description"), "description");
    assert_eq!(location_name("SecurityGroups", "Tags"), "tagSet");
    assert_eq!(location_name("IpPermissions", "UserIdGroupPairs"), "groups");
    assert_eq!(
        location_name("", "SecurityGroupRules"),
        "securityGroupRuleSet"
    );
    assert_eq!(location_name("NetworkInterfaces", "Groups"), "groupSet");
    assert_eq!(location_name("", "Return"), "return");
    assert_eq!(location_name("SecurityGroupRules", "CidrIpv4"), "cidrIpv4");
}

#[test]
fn outputs_become_ec2_xml() {
    let xml = response(
        "DescribeSecurityGroups",
        "req-1",
        &json!({"SecurityGroups": [{
            "GroupId": "sg-1",
            "Description": "a & b",
            "IpPermissions": [],
            "Tags": [{"Key": "Name", "Value": "web"}],
            "VpcId": null,
        }]}),
    );
    for want in [
        "<DescribeSecurityGroupsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">",
        "<requestId>req-1</requestId>",
        "<securityGroupInfo>",
        "<groupId>sg-1</groupId>",
        "<groupDescription>a &amp; b</groupDescription>",
        // Ansible indexes IpPermissions directly: an empty list is kept.
        "<ipPermissions/>",
        "<tagSet>",
        "<key>Name</key>",
    ] {
        assert!(xml.contains(want), "{want} not in\n{xml}");
    }
    assert!(!xml.contains("vpcId"), "null members are left out:\n{xml}");
}

#[test]
fn scalars_lists_and_booleans() {
    let xml = response(
        "AuthorizeSecurityGroupIngress",
        "r",
        &json!({"Return": true, "Ids": ["a", "b"], "Count": 3}),
    );
    assert!(xml.contains("<return>true</return>"), "{xml}");
    assert!(
        xml.contains("<item>a</item>") && xml.contains("<item>b</item>"),
        "{xml}"
    );
    assert!(xml.contains("<count>3</count>"), "{xml}");
    // No output at all (DeleteSecurityGroup's null): the envelope and request id only.
    let xml = response("DeleteSecurityGroup", "r", &serde_json::Value::Null);
    assert!(xml.contains("<requestId>r</requestId>"), "{xml}");
}

#[test]
fn tag_operations_answer_return_and_describe_tags_items() {
    // CreateTags and DeleteTags output nothing (the AWS CLI prints nothing), but EC2 sends
    // `return`.
    for action in ["CreateTags", "DeleteTags"] {
        let xml = response(action, "r", &serde_json::Value::Null);
        assert!(
            xml.contains(&format!("<{action}Response")) && xml.contains("<return>true</return>"),
            "{xml}"
        );
    }
    let xml = response("DeleteNetworkInterface", "r", &serde_json::Value::Null);
    assert!(!xml.contains("<return>"), "{xml}");
    // DescribeTagsResponse: tagSet/item{resourceId,resourceType,key,value}, nextToken.
    let xml = response(
        "DescribeTags",
        "r",
        &json!({
            "Tags": [{"Key": "Name", "ResourceId": "sgr-1", "ResourceType": "security-group-rule", "Value": ""}],
            "NextToken": "t",
        }),
    );
    // Whitespace between elements aside.
    let flat: String = xml.lines().map(str::trim).collect();
    for want in [
        "<tagSet><item><key>Name</key><resourceId>sgr-1</resourceId>\
         <resourceType>security-group-rule</resourceType><value></value></item></tagSet>",
        "<nextToken>t</nextToken>",
    ] {
        assert!(flat.contains(want), "{want} not in\n{xml}");
    }
}
