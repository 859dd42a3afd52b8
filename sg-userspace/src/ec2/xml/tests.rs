//! Tests of the XML writer: golden files (`../testdata/*.xml`) for each response shape and
//! error envelope, escaping, and well-formedness under misuse.
use super::*;
use crate::api::{
    IpPermission, IpRange, Ipv6Range, PrefixListId, SecurityGroup, SecurityGroupRule, Tag,
    UserIdGroupPair,
};

/// `IpPermission` as EC2 writes it (design §1.2): every peer list present, even empty;
/// ports left out for protocol `-1`.
fn ip_permission(w: &mut XmlWriter, p: &IpPermission) {
    w.text("ipProtocol", &p.ip_protocol)
        .opt("fromPort", p.from_port)
        .opt("toPort", p.to_port)
        .list("groups", &p.user_id_group_pairs, |w, g| {
            w.opt("groupId", g.group_id.as_deref())
                .opt("userId", g.user_id.as_deref())
                .opt("groupName", g.group_name.as_deref())
                .opt("vpcId", g.vpc_id.as_deref())
                .opt("description", g.description.as_deref());
        })
        .list("ipRanges", &p.ip_ranges, |w, r| {
            w.text("cidrIp", &r.cidr_ip)
                .opt("description", r.description.as_deref());
        })
        .list("ipv6Ranges", &p.ipv6_ranges, |w, r| {
            w.text("cidrIpv6", &r.cidr_ipv6)
                .opt("description", r.description.as_deref());
        })
        .list("prefixListIds", &p.prefix_list_ids, |w, r| {
            w.text("prefixListId", &r.prefix_list_id)
                .opt("description", r.description.as_deref());
        });
}

fn tag_set(w: &mut XmlWriter, tags: &[Tag]) {
    w.list("tagSet", tags, |w, t| {
        w.text("key", &t.key).text("value", &t.value);
    });
}

fn describe_security_groups(groups: &[SecurityGroup], next_token: Option<&str>) -> String {
    let mut w = XmlWriter::ec2_response(
        "DescribeSecurityGroups",
        "59dbff89-35bd-4eac-99ed-be587EXAMPLE",
    );
    w.list("securityGroupInfo", groups, |w, g| {
        w.text("ownerId", &g.owner_id)
            .text("groupId", &g.group_id)
            .text("groupName", &g.group_name)
            .text("groupDescription", &g.description)
            .text("vpcId", &g.vpc_id)
            .opt("securityGroupArn", g.security_group_arn.as_deref())
            .list("ipPermissions", &g.ip_permissions, ip_permission)
            .list(
                "ipPermissionsEgress",
                &g.ip_permissions_egress,
                ip_permission,
            );
        tag_set(w, &g.tags);
    })
    .opt("nextToken", next_token);
    w.finish()
}

#[test]
fn golden_describe_security_groups() {
    let web = SecurityGroup {
        description: "web sg".into(),
        group_name: "web".into(),
        ip_permissions: vec![
            IpPermission {
                ip_protocol: "tcp".into(),
                from_port: Some(22),
                to_port: Some(22),
                ip_ranges: vec![IpRange {
                    cidr_ip: "10.0.0.0/8".into(),
                    description: Some("ssh".into()),
                }],
                ..Default::default()
            },
            IpPermission {
                ip_protocol: "tcp".into(),
                from_port: Some(443),
                to_port: Some(443),
                ipv6_ranges: vec![Ipv6Range {
                    cidr_ipv6: "::/0".into(),
                    description: None,
                }],
                prefix_list_ids: vec![PrefixListId {
                    prefix_list_id: "pl-1".into(),
                    description: None,
                }],
                user_id_group_pairs: vec![UserIdGroupPair {
                    group_id: Some("sg-0b2c".into()),
                    user_id: Some("123456789012".into()),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
        owner_id: "123456789012".into(),
        group_id: "sg-0a1b".into(),
        ip_permissions_egress: vec![IpPermission {
            ip_protocol: "-1".into(),
            ip_ranges: vec![IpRange {
                cidr_ip: "0.0.0.0/0".into(),
                description: None,
            }],
            ..Default::default()
        }],
        tags: vec![Tag {
            key: "Name".into(),
            value: "web".into(),
        }],
        vpc_id: "vpc-5a90".into(),
        security_group_arn: Some(
            "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0a1b".into(),
        ),
    };
    // A group with no rules and no tags: the containers are still there.
    let bare = SecurityGroup {
        description: "bare".into(),
        group_name: "bare".into(),
        ip_permissions: vec![],
        owner_id: "123456789012".into(),
        group_id: "sg-0c3d".into(),
        ip_permissions_egress: vec![],
        tags: vec![],
        vpc_id: "vpc-5a90".into(),
        security_group_arn: None,
    };
    assert_eq!(
        describe_security_groups(&[web, bare], None),
        include_str!("../testdata/describe_security_groups.xml")
    );
    assert_eq!(
        describe_security_groups(&[], Some("token-2")),
        include_str!("../testdata/describe_security_groups_empty.xml")
    );
}

#[test]
fn golden_authorize_security_group_ingress() {
    let rules = [SecurityGroupRule {
        security_group_rule_id: "sgr-0123".into(),
        group_id: "sg-0a1b".into(),
        group_owner_id: "123456789012".into(),
        is_egress: false,
        ip_protocol: "tcp".into(),
        from_port: 22,
        to_port: 22,
        cidr_ipv4: Some("10.0.0.0/8".into()),
        cidr_ipv6: None,
        prefix_list_id: None,
        referenced_group_info: None,
        description: Some("ssh".into()),
        tags: vec![],
        security_group_rule_arn: None,
        statistics: None,
    }];
    let mut w = XmlWriter::ec2_response("AuthorizeSecurityGroupIngress", "req-2");
    w.text("return", true)
        .list("securityGroupRuleSet", &rules, |w, r| {
            w.text("securityGroupRuleId", &r.security_group_rule_id)
                .text("groupId", &r.group_id)
                .text("groupOwnerId", &r.group_owner_id)
                .text("isEgress", r.is_egress)
                .text("ipProtocol", &r.ip_protocol)
                .text("fromPort", r.from_port)
                .text("toPort", r.to_port)
                .opt("cidrIpv4", r.cidr_ipv4.as_deref())
                .opt("cidrIpv6", r.cidr_ipv6.as_deref())
                .opt("prefixListId", r.prefix_list_id.as_deref())
                .opt("description", r.description.as_deref());
            tag_set(w, &r.tags);
        });
    assert_eq!(
        w.finish(),
        include_str!("../testdata/authorize_security_group_ingress.xml")
    );
}

#[test]
fn golden_get_caller_identity() {
    let mut w = XmlWriter::sts_response("GetCallerIdentity", "req-3");
    w.text("UserId", "AKIAIOSFODNN7EXAMPLE")
        .text("Account", "123456789012")
        .text("Arn", "arn:aws:iam::123456789012:user/sgd");
    assert_eq!(
        w.finish(),
        include_str!("../testdata/get_caller_identity.xml")
    );
}

#[test]
fn golden_ec2_error() {
    let error = ApiError::new(
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
    );
    assert_eq!(
        ec2_error(&error, "req-4"),
        include_str!("../testdata/ec2_error.xml")
    );
}

#[test]
fn golden_sts_error() {
    let error = ApiError::new(
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    );
    assert_eq!(
        sts_error(&error, "req-5"),
        include_str!("../testdata/sts_error.xml")
    );
    let internal = sts_error(&ApiError::internal("disk full"), "req-6");
    assert!(internal.contains("<Type>Receiver</Type>"), "{internal}");
}

/// Markup characters, non-ASCII, a carriage return and a control character, in text and
/// in the request ID.
#[test]
fn golden_escaping() {
    let error = ApiError::invalid_value(
        "Value (<a href=\"x\">&'b'</a>) for parameter Description is invalid: \
         caf\u{e9} \u{fc}ber \u{1F525} line\r\nbell\u{7}tab\t]]>",
    );
    assert_eq!(
        ec2_error(&error, "id<&>"),
        include_str!("../testdata/escaping.xml")
    );
}

/// Reads `xml` back with quick-xml: it must be well formed, with matching end tags. Returns
/// each element that holds text, with its unescaped text.
fn texts(xml: &str) -> Vec<(String, String)> {
    use quick_xml::{Reader, events::Event};
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut texts = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                stack.push(e.name().as_ref().to_owned());
                text.clear();
            }
            Event::End(_) => {
                let name = stack.pop().expect("balanced");
                if !text.trim().is_empty() {
                    texts.push((name, std::mem::take(&mut text)));
                }
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => match r.resolve_char_ref().unwrap() {
                Some(c) => text.push(c),
                None => {
                    let entity = format!("&{};", &*r);
                    text.push_str(&quick_xml::escape::unescape(&entity).unwrap());
                }
            },
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    texts
}

#[test]
fn escaped_text_reads_back() {
    let message = "<a href=\"x\">&'b'</a> caf\u{e9} \u{1F525} line\r\nend\tbell\u{7}";
    let xml = ec2_error(&ApiError::invalid_value(message), "r&d");
    let texts = texts(&xml);
    assert_eq!(
        texts,
        vec![
            ("Code".to_owned(), "InvalidParameterValue".to_owned()),
            // The bell, which XML 1.0 cannot carry, is replaced.
            ("Message".to_owned(), message.replace('\u{7}', "\u{FFFD}")),
            ("RequestID".to_owned(), "r&d".to_owned()),
        ]
    );
}

#[test]
fn golden_files_are_well_formed() {
    for xml in [
        include_str!("../testdata/describe_security_groups.xml"),
        include_str!("../testdata/describe_security_groups_empty.xml"),
        include_str!("../testdata/authorize_security_group_ingress.xml"),
        include_str!("../testdata/get_caller_identity.xml"),
        include_str!("../testdata/ec2_error.xml"),
        include_str!("../testdata/sts_error.xml"),
        include_str!("../testdata/escaping.xml"),
    ] {
        texts(xml);
    }
}

#[test]
fn start_end_and_empty_containers() {
    let mut w = XmlWriter::ec2_response("CreateSecurityGroup", "r");
    w.text("groupId", "sg-1").start("tagSet").end();
    w.start("a").start("b").text("c", "").end().end();
    w.text_list("ids", ["x", "y"])
        .text_list("none", Vec::<&str>::new());
    w.opt("nextToken", None::<&str>);
    assert_eq!(
        w.finish(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <CreateSecurityGroupResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n\
         \x20 <requestId>r</requestId>\n\
         \x20 <groupId>sg-1</groupId>\n\
         \x20 <tagSet/>\n\
         \x20 <a>\n\
         \x20   <b>\n\
         \x20     <c></c>\n\
         \x20   </b>\n\
         \x20 </a>\n\
         \x20 <ids>\n\
         \x20   <item>x</item>\n\
         \x20   <item>y</item>\n\
         \x20 </ids>\n\
         \x20 <none/>\n\
         </CreateSecurityGroupResponse>\n"
    );
}

#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "end without a matching start")]
fn end_cannot_close_the_envelope() {
    let mut w = XmlWriter::ec2_response("CreateTags", "r");
    w.end();
}

#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "end without a matching start")]
fn end_cannot_escape_an_element() {
    let mut w = XmlWriter::ec2_response("CreateTags", "r");
    w.element("a", |w| {
        w.end();
    });
}

#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "not an XML name")]
fn names_are_checked() {
    let mut w = XmlWriter::ec2_response("CreateTags", "r");
    w.text("a b", 1);
}

/// In release builds the misuse above is ignored and the document stays well formed.
#[cfg(not(debug_assertions))]
#[test]
fn misuse_stays_well_formed() {
    let mut w = XmlWriter::ec2_response("CreateTags", "r");
    w.start("a");
    w.end().end().end();
    w.start("b");
    texts(&w.finish());
}

#[test]
fn xml_names() {
    for ok in ["requestId", "item", "_x", "a.b-c_1", "RequestID"] {
        assert!(is_name(ok), "{ok}");
    }
    for bad in ["", "1a", "a b", "a>", "-a", ".a", "ü", "a:b"] {
        assert!(!is_name(bad), "{bad}");
    }
}
