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

/// The XML without the indentation between elements.
fn compact(xml: &str) -> String {
    xml.lines().map(str::trim).collect()
}

/// The members issue 14 added to `Vpc`, `NetworkInterface` and AssignPrivateIpAddresses'
/// output, written under the locationNames of botocore's EC2 model (`ec2/2016-11-15`,
/// shapes `Vpc`, `VpcCidrBlockAssociation`, `NetworkInterface`,
/// `AssignPrivateIpAddressesResult`).
#[test]
fn vpc_interface_and_assigned_address_members_take_the_models_names() {
    let xml = compact(&response(
        "DescribeVpcs",
        "r",
        &json!({"Vpcs": [{
            "VpcId": "vpc-1",
            "InstanceTenancy": "default",
            "DhcpOptionsId": "default",
            "CidrBlockAssociationSet": [{
                "AssociationId": "vpc-cidr-assoc-1",
                "CidrBlock": "10.0.0.0/16",
                "CidrBlockState": {"State": "associated"},
            }],
            "Ipv6CidrBlockAssociationSet": [],
            "Tags": [],
        }]}),
    ));
    for want in [
        "<vpcId>vpc-1</vpcId>",
        "<instanceTenancy>default</instanceTenancy>",
        "<dhcpOptionsId>default</dhcpOptionsId>",
        "<cidrBlockAssociationSet><item><associationId>vpc-cidr-assoc-1</associationId>\
         <cidrBlock>10.0.0.0/16</cidrBlock><cidrBlockState><state>associated</state>\
         </cidrBlockState></item></cidrBlockAssociationSet>",
        "<ipv6CidrBlockAssociationSet/>",
        "<tagSet/>",
    ] {
        assert!(xml.contains(want), "{want} not in\n{xml}");
    }
    let xml = compact(&response(
        "DescribeNetworkInterfaces",
        "r",
        &json!({"NetworkInterfaces": [{
            "Description": "",
            "Groups": [{"GroupId": "sg-1", "GroupName": "default"}],
            "MacAddress": "02:00:00:00:00:01",
            "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.1", "Primary": true}],
            "RequesterManaged": false,
            "TagSet": [],
        }]}),
    ));
    for want in [
        "<networkInterfaceSet><item><description></description>",
        "<groupSet><item><groupId>sg-1</groupId><groupName>default</groupName></item></groupSet>",
        "<macAddress>02:00:00:00:00:01</macAddress>",
        "<privateIpAddressesSet><item><primary>true</primary><privateIpAddress>10.0.0.1",
        "<requesterManaged>false</requesterManaged>",
        "<tagSet/>",
    ] {
        assert!(xml.contains(want), "{want} not in\n{xml}");
    }
    let xml = compact(&response(
        "AssignPrivateIpAddresses",
        "r",
        &json!({
            "NetworkInterfaceId": "veth1",
            "AssignedPrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.2"}],
        }),
    ));
    assert!(
        xml.contains(
            "<assignedPrivateIpAddressesSet><item><privateIpAddress>10.0.0.2</privateIpAddress>\
             </item></assignedPrivateIpAddressesSet>"
        ),
        "{xml}"
    );
    assert!(xml.contains("<networkInterfaceId>veth1</networkInterfaceId>"));
    let xml = compact(&response("DeleteVpc", "r", &serde_json::Value::Null));
    assert!(xml.contains("<return>true</return>"), "{xml}");
}

/// Every member of `json` (reached through `via`) has its element in `xml`, and every text
/// value its text.
fn all_members_in(xml: &str, via: &str, json: &serde_json::Value, what: &str) {
    match json {
        serde_json::Value::Object(members) => {
            for (name, v) in members {
                if v.is_null() {
                    continue;
                }
                let element = location_name(via, name);
                assert!(
                    xml.contains(&format!("<{element}>")) || xml.contains(&format!("<{element}/>")),
                    "{what}: member {via}.{name} has no <{element}> in\n{xml}"
                );
                all_members_in(xml, name, v, what);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                all_members_in(xml, via, item, what);
            }
        }
        serde_json::Value::String(s) => {
            let mut escaped = String::new();
            crate::ec2::xml::push_escaped(&mut escaped, s);
            assert!(
                xml.contains(&format!(">{escaped}<")),
                "{what}: {s:?} missing"
            );
        }
        other => assert!(
            xml.contains(&format!(">{other}<")),
            "{what}: {other} missing"
        ),
    }
}

/// One struct, two wires (issue 14, item 3): the outputs the model really returns, written
/// as the socket's JSON and as EC2 XML, carry the same members and values.
#[test]
fn the_json_and_the_xml_of_an_output_are_one_struct() {
    use crate::{
        model::{prefix_lists, rules, vpcs},
        shapes::{
            CreateManagedPrefixList, DescribeManagedPrefixLists, DescribeSecurityGroupRules,
            DescribeSecurityGroups, DescribeVpcs, Output, PrefixListEntryIn, PrefixListId,
        },
        testkit::{World, perm, perm_group},
    };
    let mut w = World::new();
    let web = w.group("web & {api}");
    let db = w.group("db");
    let pl = prefix_lists::create(
        &mut w.state,
        &mut w.ids,
        &CreateManagedPrefixList {
            prefix_list_name: Some("office".into()),
            max_entries: Some(2),
            address_family: Some("IPv4".into()),
            entries: vec![PrefixListEntryIn {
                cidr: "198.51.100.0/24".into(),
                description: Some("hq".into()),
            }],
            ..Default::default()
        },
    )
    .expect("prefix list");
    let pl_id = pl.prefix_list.prefix_list_id.clone();
    let mut from_pl = perm("tcp", Some((443, 443)), "10.0.0.0/8");
    from_pl.prefix_list_ids = vec![PrefixListId {
        prefix_list_id: pl_id,
        description: Some("office".into()),
    }];
    let authorized = w
        .authorize(
            &db,
            false,
            vec![from_pl, perm("udp", Some((53, 53)), "::/0")],
        )
        .expect("authorize");
    w.authorize(
        &db,
        false,
        vec![perm_group("tcp", Some((5432, 5432)), &web)],
    )
    .expect("group reference");
    let outputs: Vec<(&str, Output)> = vec![
        ("CreateManagedPrefixList", pl.into()),
        ("AuthorizeSecurityGroupIngress", authorized.into()),
        (
            "DescribeSecurityGroups",
            crate::model::ops::describe_security_groups(
                &w.state,
                &DescribeSecurityGroups::default(),
            )
            .expect("groups")
            .into(),
        ),
        (
            "DescribeSecurityGroupRules",
            rules::describe_rules(&w.state, &DescribeSecurityGroupRules::default())
                .expect("rules")
                .into(),
        ),
        (
            "DescribeVpcs",
            vpcs::describe_vpcs(&w.state, &DescribeVpcs::default())
                .expect("vpcs")
                .into(),
        ),
        (
            "DescribeManagedPrefixLists",
            prefix_lists::describe(&w.state, &DescribeManagedPrefixLists::default())
                .expect("lists")
                .into(),
        ),
    ];
    for (action, output) in outputs {
        let xml = response(action, "r", &output);
        all_members_in(&xml, "", &output.to_json(), action);
    }
}

/// A dual-stack VPC as `DescribeVpcs` answers it, in the XML botocore parses back: the set
/// is `ipv6CidrBlockAssociationSet` of `item`s whose members take the locationNames of
/// botocore's `VpcIpv6CidrBlockAssociation` (`associationId`, `ipv6CidrBlock`,
/// `ipv6CidrBlockState`/`state`, `ipv6Pool`, `networkBorderGroup`).
#[test]
fn ipv6_cidr_block_association_set_takes_the_models_names() {
    let w = crate::testkit::World::new();
    let out = crate::model::vpcs::describe_vpcs(&w.state, &Default::default()).unwrap();
    let xml = compact(&response("DescribeVpcs", "r", &out));
    // World's ids count from 1: the default VPC is 2, its IPv6 association 3.
    let want = "<ipv6CidrBlockAssociationSet><item>\
        <associationId>vpc-cidr-assoc-00000000000000003</associationId>\
        <ipv6CidrBlock>fd00:0:2::/56</ipv6CidrBlock>\
        <ipv6CidrBlockState><state>associated</state></ipv6CidrBlockState>\
        <ipv6Pool>Amazon</ipv6Pool>\
        <networkBorderGroup>us-east-1</networkBorderGroup>\
        </item></ipv6CidrBlockAssociationSet>";
    assert!(xml.contains(want), "{want} not in\n{xml}");
    assert!(
        xml.contains("<vpcId>vpc-00000000000000002</vpcId>"),
        "{xml}"
    );
    for (member, element) in [
        ("Ipv6CidrBlockAssociationSet", "ipv6CidrBlockAssociationSet"),
        ("Ipv6CidrBlockState", "ipv6CidrBlockState"),
        ("NetworkBorderGroup", "networkBorderGroup"),
        ("Ipv6Pool", "ipv6Pool"),
    ] {
        assert_eq!(
            location_name("Ipv6CidrBlockAssociationSet", member),
            element
        );
    }
}
