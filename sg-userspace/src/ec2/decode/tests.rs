//! Tests of the per-operation decoders: the wire forms botocore sends (design
//! `ec2-query-api.md` §1.1) become the requests `sgctl` would send, and what no decoder reads
//! is refused.

use super::*;

fn decoded(body: &str) -> Result<Decoded, FormError> {
    let p = Params::parse("", body.as_bytes()).expect("form");
    let action = p.action().expect("action").to_owned();
    decode(&action, &p).expect("an operation sgd serves")
}

#[test]
fn authorize_with_nested_lists_decodes_every_peer() {
    let d = decoded(
        "Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId=sg-1\
         &IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22\
         &IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F8&IpPermissions.1.IpRanges.1.Description=ssh\
         &IpPermissions.1.Ipv6Ranges.1.CidrIpv6=%3A%3A%2F0\
         &IpPermissions.1.Groups.1.GroupId=sg-2\
         &IpPermissions.1.PrefixListIds.1.PrefixListId=pl-1\
         &TagSpecification.1.ResourceType=security-group-rule\
         &TagSpecification.1.Tag.1.Key=k&TagSpecification.1.Tag.1.Value=v",
    )
    .expect("decodes");
    assert!(d.writes && !d.dry_run);
    let Request::AuthorizeSecurityGroupIngress(p) = d.request else {
        panic!("{:?}", d.request);
    };
    assert_eq!(p.group_id.as_deref(), Some("sg-1"));
    let perm = &p.ip_permissions[0];
    assert_eq!((perm.from_port, perm.to_port), (Some(22), Some(22)));
    assert_eq!(perm.ip_ranges[0].cidr_ip, "10.0.0.0/8");
    assert_eq!(perm.ip_ranges[0].description.as_deref(), Some("ssh"));
    assert_eq!(perm.ipv6_ranges[0].cidr_ipv6, "::/0");
    assert_eq!(
        perm.user_id_group_pairs[0].group_id.as_deref(),
        Some("sg-2")
    );
    assert_eq!(perm.prefix_list_ids[0].prefix_list_id, "pl-1");
    assert_eq!(p.tag_specifications[0].tags[0].key, "k");
}

#[test]
fn the_legacy_top_level_form_is_one_permission() {
    let d = decoded(
        "Action=AuthorizeSecurityGroupIngress&GroupName=web&IpProtocol=tcp&FromPort=80\
         &ToPort=80&CidrIp=0.0.0.0%2F0",
    )
    .expect("decodes");
    let Request::AuthorizeSecurityGroupIngress(p) = d.request else {
        panic!()
    };
    assert_eq!(p.group_name.as_deref(), Some("web"));
    assert_eq!(p.ip_permissions.len(), 1);
    assert_eq!(p.ip_permissions[0].ip_protocol, "tcp");
    assert_eq!(p.ip_permissions[0].ip_ranges[0].cidr_ip, "0.0.0.0/0");
    // Without a protocol: every protocol, from a group by name.
    let d = decoded(
        "Action=RevokeSecurityGroupIngress&GroupId=sg-1&SourceSecurityGroupName=db\
         &SourceSecurityGroupOwnerId=123456789012",
    )
    .expect("decodes");
    let Request::RevokeSecurityGroupIngress(p) = d.request else {
        panic!()
    };
    let pair = &p.ip_permissions[0].user_id_group_pairs[0];
    assert_eq!(p.ip_permissions[0].ip_protocol, "-1");
    assert_eq!(pair.group_name.as_deref(), Some("db"));
    assert_eq!(pair.user_id.as_deref(), Some("123456789012"));
}

#[test]
fn describes_read_lists_filters_and_paging_and_do_not_write() {
    let d = decoded(
        "Action=DescribeSecurityGroups&GroupId.2=sg-2&GroupId.1=sg-1&Filter.1.Name=vpc-id\
         &Filter.1.Value.1=vpc-1&Filter.1.Value.2=vpc-2&DryRun=true",
    )
    .expect("decodes");
    assert!(!d.writes && d.dry_run);
    let Request::DescribeSecurityGroups(r) = d.request else {
        panic!()
    };
    assert_eq!(r.group_ids, ["sg-1", "sg-2"]);
    assert_eq!(r.filters[0].name, "vpc-id");
    assert_eq!(r.filters[0].values, ["vpc-1", "vpc-2"]);
    // Pages: by filter, not by ids (EC2 refuses MaxResults with GroupIds).
    let d = decoded(
        "Action=DescribeSecurityGroups&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1\
         &MaxResults=5",
    )
    .expect("decodes");
    assert!(matches!(d.request, Request::DescribeSecurityGroups(_)));
    let page = d.page.expect("a describe pages");
    assert_eq!(page.max_results, Some(5));
    for (body, code) in [
        (
            "Action=DescribeSecurityGroups&MaxResults=4",
            "InvalidParameterValue",
        ),
        (
            "Action=DescribeSecurityGroups&MaxResults=1001",
            "InvalidParameterValue",
        ),
    ] {
        assert_eq!(decoded(body).expect_err(body).code(), code, "{body}");
    }
}

#[test]
fn modify_rules_reads_the_nested_rule_structure() {
    let d = decoded(
        "Action=ModifySecurityGroupRules&GroupId=sg-1\
         &SecurityGroupRule.1.SecurityGroupRuleId=sgr-1\
         &SecurityGroupRule.1.SecurityGroupRule.IpProtocol=tcp\
         &SecurityGroupRule.1.SecurityGroupRule.FromPort=80\
         &SecurityGroupRule.1.SecurityGroupRule.ToPort=80\
         &SecurityGroupRule.1.SecurityGroupRule.CidrIpv4=0.0.0.0%2F0\
         &SecurityGroupRule.1.SecurityGroupRule.Description=x",
    )
    .expect("decodes");
    let Request::ModifySecurityGroupRules(m) = d.request else {
        panic!()
    };
    let u = &m.security_group_rules[0];
    assert_eq!(u.security_group_rule_id.as_deref(), Some("sgr-1"));
    let r = u.security_group_rule.as_ref().expect("rule");
    assert_eq!(r.from_port, Some(80));
    assert_eq!(r.cidr_ipv4.as_deref(), Some("0.0.0.0/0"));
}

#[test]
fn unread_missing_and_malformed_parameters_are_refused() {
    for (body, code) in [
        // A misspelt member must not authorise a rule without its ranges.
        (
            "Action=AuthorizeSecurityGroupIngress&GroupId=sg-1&IpPermissions.1.IpProtocol=tcp\
             &IpPermissions.1.IpRange.1.CidrIp=10.0.0.0%2F8",
            "UnknownParameter",
        ),
        // Egress names the group by id only.
        (
            "Action=AuthorizeSecurityGroupEgress&GroupName=web&IpProtocol=tcp",
            "UnknownParameter",
        ),
        (
            "Action=CreateSecurityGroup&GroupName=web",
            "MissingParameter",
        ),
        (
            "Action=AuthorizeSecurityGroupIngress&GroupId=sg-1&IpPermissions.1.IpProtocol=tcp\
             &IpPermissions.1.FromPort=99999999999",
            "InvalidParameterValue",
        ),
        (
            "Action=DeleteSecurityGroup&GroupId=sg-1&DryRun=yes",
            "InvalidParameterValue",
        ),
    ] {
        assert_eq!(decoded(body).expect_err(body).code(), code, "{body}");
    }
    let p = Params::parse("", b"Action=RunInstances").expect("form");
    assert!(
        decode("RunInstances", &p).is_none(),
        "not served: InvalidAction"
    );
}

#[test]
fn every_operation_listed_decodes_its_minimal_form() {
    for (action, _) in OPERATIONS {
        let required = match *action {
            "CreateSecurityGroup" => "&GroupName=g&GroupDescription=d",
            "ModifySecurityGroupRules" => "&GroupId=sg-1",
            "CreateManagedPrefixList" => "&PrefixListName=p&MaxEntries=5&AddressFamily=IPv4",
            "ModifyManagedPrefixList"
            | "DeleteManagedPrefixList"
            | "GetManagedPrefixListEntries" => "&PrefixListId=pl-1",
            "DeleteNetworkInterface"
            | "ModifyNetworkInterfaceAttribute"
            | "AssignPrivateIpAddresses"
            | "UnassignPrivateIpAddresses" => "&NetworkInterfaceId=eth0",
            "DeleteVpc" => "&VpcId=vpc-1",
            "CreateNetworkInterface" => "&SubnetId=subnet-1",
            _ => "",
        };
        let body = format!("Action={action}&Version=2016-11-15{required}");
        let d = decoded(&body).unwrap_or_else(|e| panic!("{action}: {e}"));
        assert_eq!(d.request.operation(), *action);
    }
}

/// botocore's CreateNetworkInterface: the subnet, groups, addresses (the primary first,
/// wherever it is on the wire), the description and the `sgd:device` tag.
#[test]
fn create_network_interface_reads_ec2s_parameters() {
    let d = decoded(
        "Action=CreateNetworkInterface&Version=2016-11-15&SubnetId=subnet-0a&Description=vm1\
         &SecurityGroupId.1=sg-1&SecurityGroupId.2=sg-2\
         &PrivateIpAddresses.1.PrivateIpAddress=10.0.0.6&PrivateIpAddresses.1.Primary=false\
         &PrivateIpAddresses.2.PrivateIpAddress=10.0.0.5&PrivateIpAddresses.2.Primary=true\
         &TagSpecification.1.ResourceType=network-interface\
         &TagSpecification.1.Tag.1.Key=sgd%3Adevice&TagSpecification.1.Tag.1.Value=veth7\
         &ClientToken=tok",
    )
    .expect("decodes");
    let Request::CreateNetworkInterface(r) = d.request else {
        panic!("{:?}", d.request)
    };
    assert_eq!(r.subnet_id.as_deref(), Some("subnet-0a"));
    assert_eq!(r.description.as_deref(), Some("vm1"));
    assert_eq!(r.groups, ["sg-1", "sg-2"]);
    assert_eq!(r.private_ip_addresses, ["10.0.0.5", "10.0.0.6"]);
    assert_eq!(r.network_interface_id, None);
    assert_eq!(r.tag_specifications[0].tags[0].key, "sgd:device");
    assert_eq!(r.tag_specifications[0].tags[0].value, "veth7");
    assert!(d.writes);
}

#[test]
fn tag_operations_read_resource_ids_tags_filters_and_pages() {
    // The wire forms of design §1.1: `Tag.N.Value=` is an empty value, a missing one "any".
    let d = decoded(
        "Action=CreateTags&Version=2016-11-15&ResourceId.1=sg-1&ResourceId.2=sgr-1\
         &Tag.1.Key=a&Tag.1.Value=b&Tag.2.Key=c&Tag.2.Value=",
    )
    .expect("decodes");
    assert!(d.writes);
    let Request::CreateTags(c) = d.request else {
        panic!("{:?}", d.request)
    };
    assert_eq!(c.resources, ["sg-1", "sgr-1"]);
    assert_eq!(
        c.tags,
        [
            Tag {
                key: "a".into(),
                value: "b".into()
            },
            Tag {
                key: "c".into(),
                value: String::new()
            }
        ]
    );
    let d = decoded(
        "Action=DeleteTags&ResourceId.1=pl-1&Tag.1.Key=a&Tag.2.Key=b&Tag.2.Value=\
         &Tag.3.Key=c&Tag.3.Value=x",
    )
    .expect("decodes");
    assert!(d.writes);
    let Request::DeleteTags(del) = d.request else {
        panic!()
    };
    assert_eq!(del.resources, ["pl-1"]);
    let values: Vec<Option<&str>> = del.tags.iter().map(|t| t.value.as_deref()).collect();
    assert_eq!(values, [None, Some(""), Some("x")]);
    // No `Tag.N` at all: every user tag goes (the model's job); not a missing parameter.
    let d = decoded("Action=DeleteTags&ResourceId.1=vpc-1").expect("decodes");
    let Request::DeleteTags(del) = d.request else {
        panic!()
    };
    assert!(del.tags.is_empty());

    let d = decoded(
        "Action=DescribeTags&Filter.1.Name=resource-type&Filter.1.Value.1=security-group\
         &Filter.1.Value.2=vpc&Filter.2.Name=key&Filter.2.Value.1=Na*&MaxResults=5\
         &NextToken=abc",
    )
    .expect("decodes");
    assert!(!d.writes);
    let Request::DescribeTags(r) = d.request else {
        panic!()
    };
    assert_eq!(r.filters[0].values, ["security-group", "vpc"]);
    assert_eq!(r.filters[1].name, "key");
    assert_eq!(
        (r.max_results, r.next_token.as_deref()),
        (Some(5), Some("abc"))
    );
    for (body, code) in [
        ("Action=DescribeTags&MaxResults=4", "InvalidParameterValue"),
        ("Action=DescribeTags&MaxResults=x", "InvalidParameterValue"),
        (
            "Action=CreateTags&ResourceId.1=sg-1&Tag.1.Value=v",
            "MissingParameter",
        ),
        (
            "Action=DeleteTags&ResourceId.1=sg-1&Tag.1.Valu=v",
            "MissingParameter",
        ),
        ("Action=CreateTags&ResourceIds.1=sg-1", "UnknownParameter"),
    ] {
        assert_eq!(decoded(body).expect_err(body).code(), code, "{body}");
    }
}

#[test]
fn vpc_deletion_and_the_default_vpc_decode_as_writes() {
    let d =
        decoded("Action=DeleteVpc&Version=2016-11-15&VpcId=vpc-1&DryRun=true").expect("decodes");
    assert!(d.writes && d.dry_run);
    assert_eq!(
        d.request,
        Request::DeleteVpc(DeleteVpc {
            vpc_id: Some("vpc-1".into())
        })
    );
    assert_eq!(
        decoded("Action=DeleteVpc&Version=2016-11-15")
            .expect_err("no VpcId")
            .code(),
        "MissingParameter"
    );
    let d = decoded("Action=CreateDefaultVpc&Version=2016-11-15").expect("decodes");
    assert!(d.writes);
    assert_eq!(d.request, Request::CreateDefaultVpc(Empty {}));
    assert_eq!(
        decoded("Action=CreateDefaultVpc&Version=2016-11-15&CidrBlock=10.0.0.0/16")
            .expect_err("no such parameter")
            .code(),
        "UnknownParameter"
    );
}

#[test]
fn create_vpc_reads_amazon_provided_ipv6_cidr_block() {
    let body = "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0/16";
    let vpc = |extra: &str| match decoded(&format!("{body}{extra}")).expect("decodes").request {
        Request::CreateVpc(r) => r,
        other => panic!("{other:?}"),
    };
    let plain = vpc("");
    assert!(!plain.amazon_provided_ipv6_cidr_block);
    assert_eq!(plain.cidr_block.as_deref(), Some("10.0.0.0/16"));
    assert!(vpc("&AmazonProvidedIpv6CidrBlock=true").amazon_provided_ipv6_cidr_block);
    assert!(!vpc("&AmazonProvidedIpv6CidrBlock=false").amazon_provided_ipv6_cidr_block);
    assert_eq!(
        decoded(&format!("{body}&AmazonProvidedIpv6CidrBlock=yes"))
            .expect_err("not a boolean")
            .code(),
        "InvalidParameterValue"
    );
    // A pool or block of the caller's own is not served: refused, not ignored.
    assert_eq!(
        decoded(&format!("{body}&Ipv6CidrBlock=2001:db8::/56"))
            .expect_err("unread")
            .code(),
        "UnknownParameter"
    );
}

/// A read-only key may call exactly the describes: every operation that is not a
/// `Describe*` or `Get*` must be marked as writing (an operation added later without the
/// flag would let read-only keys change things).
#[test]
fn only_describes_and_gets_are_reads() {
    for (action, writes) in OPERATIONS {
        let reads = action.starts_with("Describe") || action.starts_with("Get");
        assert_eq!(*writes, !reads, "{action}");
    }
}

/// EC2 refuses MaxResults with GroupIds (and with NetworkInterfaceIds); sgd bounds the
/// filter values of one describe.
#[test]
fn paging_by_ids_and_too_many_filter_values_are_refused() {
    for body in [
        "Action=DescribeSecurityGroups&GroupId.1=sg-1&MaxResults=5",
        "Action=DescribeNetworkInterfaces&NetworkInterfaceId.1=eth0&MaxResults=5",
    ] {
        assert_eq!(
            decoded(body).expect_err(body).code(),
            "InvalidParameterValue"
        );
    }
    let many: String = (1..=MAX_FILTER_VALUES + 1)
        .map(|i| format!("&Filter.1.Value.{i}=v{i}"))
        .collect();
    let body = format!("Action=DescribeSecurityGroups&Filter.1.Name=group-name{many}");
    assert_eq!(
        decoded(&body).expect_err("too many").code(),
        "InvalidParameterValue"
    );
    let fine: String = (1..=10)
        .map(|i| format!("&Filter.1.Value.{i}=v{i}"))
        .collect();
    decoded(&format!(
        "Action=DescribeSecurityGroups&Filter.1.Name=group-name{fine}"
    ))
    .expect("ten values");
}
