//! Tests of the Query form parser: the serialisations botocore was seen sending (design
//! `ec2-query-api.md` §1.1), list ordering, decoding, and every refusal.
use super::*;

fn parse(body: &str) -> Params {
    Params::parse("", body.as_bytes()).expect("parses")
}

fn err(result: Result<impl std::fmt::Debug, FormError>) -> (&'static str, String) {
    let e = result.expect_err("should fail");
    (e.code(), e.message())
}

/// §1.1: CreateSecurityGroup with a TagSpecification (list of structures holding a list
/// of structures).
#[test]
fn create_security_group_with_tag_specification() {
    let p = parse(
        "Action=CreateSecurityGroup&Version=2016-11-15&GroupName=web&GroupDescription=web+sg\
         &VpcId=vpc-1&TagSpecification.1.ResourceType=security-group\
         &TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=web",
    );
    assert_eq!(p.action(), Ok("CreateSecurityGroup"));
    assert_eq!(p.version(), Some("2016-11-15"));
    assert_eq!(p.required("GroupName"), Ok("web"));
    assert_eq!(p.required("GroupDescription"), Ok("web sg"));
    assert_eq!(p.get("VpcId"), Some("vpc-1"));
    let specs = p.structs("TagSpecification").unwrap();
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].required("ResourceType"), Ok("security-group"));
    let tags = specs[0].structs("Tag").unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].required("Key"), Ok("Name"));
    assert_eq!(tags[0].required("Value"), Ok("web"));
    assert_eq!(tags[0].full_name("Value"), "TagSpecification.1.Tag.1.Value");
    assert_eq!(p.unused(), Vec::<&str>::new());
    assert_eq!(p.deny_unused(), Ok(()));
}

/// §1.1: AuthorizeSecurityGroupIngress, every kind of peer list nested in IpPermissions.1.
#[test]
fn authorize_ingress_nested_lists() {
    let p = parse(
        "Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId=sg-1\
         &IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22\
         &IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F8&IpPermissions.1.IpRanges.1.Description=ssh\
         &IpPermissions.1.Ipv6Ranges.1.CidrIpv6=%3A%3A%2F0\
         &IpPermissions.1.Groups.1.GroupId=sg-2\
         &IpPermissions.1.PrefixListIds.1.PrefixListId=pl-1\
         &TagSpecification.1.ResourceType=security-group-rule\
         &TagSpecification.1.Tag.1.Key=k&TagSpecification.1.Tag.1.Value=v",
    );
    assert_eq!(p.action(), Ok("AuthorizeSecurityGroupIngress"));
    assert_eq!(p.required("GroupId"), Ok("sg-1"));
    let perms = p.structs("IpPermissions").unwrap();
    assert_eq!(perms.len(), 1);
    let perm = &perms[0];
    assert_eq!(perm.required("IpProtocol"), Ok("tcp"));
    assert_eq!(perm.int("FromPort"), Ok(Some(22)));
    assert_eq!(perm.int("ToPort"), Ok(Some(22)));
    let ranges = perm.structs("IpRanges").unwrap();
    assert_eq!(ranges[0].required("CidrIp"), Ok("10.0.0.0/8"));
    assert_eq!(ranges[0].get("Description"), Some("ssh"));
    let v6 = perm.structs("Ipv6Ranges").unwrap();
    assert_eq!(v6[0].required("CidrIpv6"), Ok("::/0"));
    assert_eq!(v6[0].get("Description"), None);
    let groups = perm.structs("Groups").unwrap();
    assert_eq!(groups[0].get("GroupId"), Some("sg-2"));
    let pls = perm.structs("PrefixListIds").unwrap();
    assert_eq!(pls[0].get("PrefixListId"), Some("pl-1"));
    // A member the decoder did not read is reported by its full name.
    assert_eq!(
        p.unused(),
        vec![
            "TagSpecification.1.ResourceType",
            "TagSpecification.1.Tag.1.Key",
            "TagSpecification.1.Tag.1.Value",
        ]
    );
    assert_eq!(
        err(p.deny_unused()),
        (
            "UnknownParameter",
            "The parameter TagSpecification.1.ResourceType is not recognized".into()
        )
    );
    // Views report only their own names.
    assert_eq!(perm.unused(), Vec::<&str>::new());
}

/// §1.1: DescribeSecurityGroups with lists of IDs and names and Filter.N.Value.M.
#[test]
fn describe_security_groups_filters() {
    let p = parse(
        "Action=DescribeSecurityGroups&Version=2016-11-15&GroupId.1=sg-1&GroupId.2=sg-2\
         &GroupName.1=default&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1\
         &Filter.1.Value.2=vpc-2&Filter.2.Name=tag%3AName&Filter.2.Value.1=web\
         &MaxResults=5&NextToken=abc&DryRun=true",
    );
    assert_eq!(p.strings("GroupId"), Ok(vec!["sg-1", "sg-2"]));
    assert_eq!(p.strings("GroupName"), Ok(vec!["default"]));
    let views = p.structs("Filter").unwrap();
    let filters: Vec<(&str, Vec<&str>)> = views
        .iter()
        .map(|f| (f.required("Name").unwrap(), f.strings("Value").unwrap()))
        .collect();
    assert_eq!(
        filters,
        vec![
            ("vpc-id", vec!["vpc-1", "vpc-2"]),
            ("tag:Name", vec!["web"])
        ]
    );
    assert_eq!(p.int("MaxResults"), Ok(Some(5)));
    assert_eq!(p.get("NextToken"), Some("abc"));
    assert_eq!(p.bool("DryRun"), Ok(Some(true)));
    assert_eq!(p.deny_unused(), Ok(()));
    // Absent lists are empty.
    assert_eq!(p.strings("SecurityGroupRuleId"), Ok(vec![]));
    assert!(p.structs("IpPermissions").unwrap().is_empty());
}

/// §1.1: ModifySecurityGroupRules, a list of structures holding a (non-list) structure.
#[test]
fn modify_security_group_rules_nested_structure() {
    let p = parse(
        "Action=ModifySecurityGroupRules&Version=2016-11-15&GroupId=sg-1\
         &SecurityGroupRule.1.SecurityGroupRuleId=sgr-1\
         &SecurityGroupRule.1.SecurityGroupRule.IpProtocol=tcp\
         &SecurityGroupRule.1.SecurityGroupRule.FromPort=80\
         &SecurityGroupRule.1.SecurityGroupRule.ToPort=80\
         &SecurityGroupRule.1.SecurityGroupRule.CidrIpv4=0.0.0.0%2F0\
         &SecurityGroupRule.1.SecurityGroupRule.Description=x\
         &SecurityGroupRule.1.SecurityGroupRule.ReferencedGroupId=sg-2\
         &SecurityGroupRule.1.SecurityGroupRule.PrefixListId=pl-1",
    );
    assert_eq!(p.required("GroupId"), Ok("sg-1"));
    let rules = p.structs("SecurityGroupRule").unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].required("SecurityGroupRuleId"), Ok("sgr-1"));
    let r = rules[0].structure("SecurityGroupRule").expect("present");
    assert_eq!(r.required("IpProtocol"), Ok("tcp"));
    assert_eq!(r.int("FromPort"), Ok(Some(80)));
    assert_eq!(r.int("ToPort"), Ok(Some(80)));
    assert_eq!(r.get("CidrIpv4"), Some("0.0.0.0/0"));
    assert_eq!(r.get("Description"), Some("x"));
    assert_eq!(r.get("ReferencedGroupId"), Some("sg-2"));
    assert_eq!(r.get("PrefixListId"), Some("pl-1"));
    assert_eq!(r.get("CidrIpv6"), None);
    assert!(rules[0].structure("Other").is_none());
    assert_eq!(p.deny_unused(), Ok(()));
    assert_eq!(
        err(r.required("CidrIpv6")),
        (
            "MissingParameter",
            "The request must contain the parameter \
             SecurityGroupRule.1.SecurityGroupRule.CidrIpv6"
                .into()
        )
    );
}

/// §1.1: CreateTags with an empty `Tag.2.Value=`, which must stay distinct from an absent
/// value (DeleteTags semantics differ).
#[test]
fn create_tags_empty_value() {
    let p = parse(
        "Action=CreateTags&Version=2016-11-15&ResourceId.1=sg-1&ResourceId.2=sgr-1\
         &Tag.1.Key=a&Tag.1.Value=b&Tag.2.Key=c&Tag.2.Value=",
    );
    assert_eq!(p.strings("ResourceId"), Ok(vec!["sg-1", "sgr-1"]));
    let tags = p.structs("Tag").unwrap();
    assert_eq!(tags.len(), 2);
    assert_eq!(tags[0].get("Key"), Some("a"));
    assert_eq!(tags[0].get("Value"), Some("b"));
    assert_eq!(tags[1].get("Key"), Some("c"));
    assert_eq!(tags[1].get("Value"), Some(""));

    let p = parse("Action=DeleteTags&Version=2016-11-15&ResourceId.1=sg-1&Tag.1.Key=a");
    let tags = p.structs("Tag").unwrap();
    assert_eq!(tags[0].get("Value"), None);
}

#[test]
fn indices_sort_numerically_with_gaps() {
    let p = parse("X.10=ten&X.2=two&X.1=one&X.9=nine&X.100=hundred&X.3=three");
    assert_eq!(
        p.strings("X"),
        Ok(vec!["one", "two", "three", "nine", "ten", "hundred"])
    );
    let p = parse("S.10.K=ten&S.2.K=two&S.2.V=2&S.1.K=one");
    let keys: Vec<String> = p
        .structs("S")
        .unwrap()
        .iter()
        .map(|s| s.full_name(""))
        .collect();
    assert_eq!(keys, vec!["S.1.", "S.2.", "S.10."]);
    // A list name that is a prefix of another name is not confused with it.
    let p = parse("Value.1=a&ValueX.1=b&Value2=c");
    assert_eq!(p.strings("Value"), Ok(vec!["a"]));
}

#[test]
fn bad_list_indices() {
    for name in [
        "X.0",
        "X.01",
        "X.x",
        "X.",
        "X.-1",
        "X.1.Member",
        "X.99999999999",
    ] {
        let p = parse(&format!("{name}=v"));
        let (code, message) = err(p.strings("X"));
        assert_eq!(code, "InvalidParameterValue", "{name}");
        assert_eq!(
            message,
            format!(
                "The parameter {name} is not a valid member of the list X: \
                 expected X.N with N = 1, 2, 3, ..."
            )
        );
    }
    for name in ["S.1", "S.0.K", "S.01.K", "S.a.K", "S.1."] {
        let p = parse(&format!("{name}=v"));
        let (code, message) = err(p.structs("S"));
        assert_eq!(code, "InvalidParameterValue", "{name}");
        assert!(message.contains("expected S.N.Member"), "{message}");
    }
    // Nested: the error names the full list.
    let p = parse("P.1.IpRanges.0.CidrIp=x");
    let perm = &p.structs("P").unwrap()[0];
    assert_eq!(
        err(perm.structs("IpRanges")).1,
        "The parameter P.1.IpRanges.0.CidrIp is not a valid member of the list \
         P.1.IpRanges: expected P.1.IpRanges.N.Member with N = 1, 2, 3, ..."
    );
}

#[test]
fn decoding_plus_percent_and_utf8() {
    let p = parse("A=a+b&B=a%20b&C=a%26b%3Dc&D=%C3%BC&E=%c3%bc&F=caf\u{e9}&G=100%25&H=%2B");
    assert_eq!(p.get("A"), Some("a b"));
    assert_eq!(p.get("B"), Some("a b"));
    assert_eq!(p.get("C"), Some("a&b=c"));
    assert_eq!(p.get("D"), Some("ü"));
    assert_eq!(p.get("E"), Some("ü"));
    assert_eq!(p.get("F"), Some("café"));
    assert_eq!(p.get("G"), Some("100%"));
    assert_eq!(p.get("H"), Some("+"));
    // Names are decoded too, and `;` is not a separator.
    let p = parse("Tag.1.Key%3Ax=1&a;b=2");
    assert_eq!(p.get("Tag.1.Key:x"), Some("1"));
    assert_eq!(p.get("a;b"), Some("2"));
    // Empty pieces are skipped; a piece without `=` has an empty value.
    let p = parse("&A=1&&B&");
    assert_eq!(p.get("A"), Some("1"));
    assert_eq!(p.get("B"), Some(""));
}

#[test]
fn not_utf8_is_rejected() {
    for body in [&b"A=%FF"[..], b"A=%C3", b"%FF=1", b"A=\xff", b"A=%EF%BF%BD"] {
        let (code, _) = err(Params::parse("", body));
        assert_eq!(code, "MalformedQueryString", "{body:?}");
    }
    assert_eq!(
        Params::parse("", b"Descr%FFiption=x").unwrap_err(),
        FormError::NotUtf8 {
            name: "Descr\u{FFFD}iption".into()
        }
    );
}

#[test]
fn duplicates_are_rejected() {
    let (code, message) = err(Params::parse("", b"GroupId=sg-1&GroupId=sg-2"));
    assert_eq!(code, "InvalidParameterValue");
    assert_eq!(message, "The parameter GroupId is given more than once");
    // Also when the value is the same, and when spelt differently on the wire.
    assert!(Params::parse("", b"A=1&A=1").is_err());
    assert!(Params::parse("", b"a+b=1&a%20b=2").is_err());
    // Across the query string and the body.
    assert_eq!(
        Params::parse("Action=X", b"Action=X").unwrap_err(),
        FormError::Duplicate {
            name: "Action".into()
        }
    );
}

#[test]
fn missing_parameters() {
    let p = parse("Version=2016-11-15");
    assert_eq!(
        err(p.action()),
        (
            "MissingAction",
            "The request must contain the parameter Action".into()
        )
    );
    assert_eq!(
        err(p.required("GroupId")),
        (
            "MissingParameter",
            "The request must contain the parameter GroupId".into()
        )
    );
    assert_eq!(parse("Action=X").version(), None);
    let api: ApiError = p.required("GroupId").unwrap_err().into();
    assert_eq!(api, ApiError::missing("GroupId"));
}

#[test]
fn booleans() {
    let p = parse("A=true&B=false&C=True&D=1&E=&F=yes");
    assert_eq!(p.bool("A"), Ok(Some(true)));
    assert_eq!(p.bool("B"), Ok(Some(false)));
    assert_eq!(p.bool("Z"), Ok(None));
    for name in ["C", "D", "E", "F"] {
        let (code, message) = err(p.bool(name));
        assert_eq!(code, "InvalidParameterValue");
        let value = p.get(name).unwrap();
        let start = format!("Value ({value}) for parameter {name} is invalid.");
        assert!(message.starts_with(&start), "{message}");
    }
    assert_eq!(
        err(p.bool("F")).1,
        "Value (yes) for parameter F is invalid. Expected a boolean: true or false."
    );
}

#[test]
fn integers() {
    let p = parse(
        "A=22&B=-1&C=0&D=9223372036854775807&E=9223372036854775808&F=%2B5&G=+5&H=1e3&I=&J=-\
         &K=0x10&L=22.0&M=%EF%BC%91",
    );
    assert_eq!(p.int("A"), Ok(Some(22)));
    assert_eq!(p.int("B"), Ok(Some(-1)));
    assert_eq!(p.int("C"), Ok(Some(0)));
    assert_eq!(p.int("D"), Ok(Some(i64::MAX)));
    assert_eq!(p.int("Z"), Ok(None));
    for name in ["E", "F", "G", "H", "I", "J", "K", "L", "M"] {
        assert_eq!(err(p.int(name)).0, "InvalidParameterValue", "{name}");
    }
    let p = parse("IpPermissions.1.FromPort=ssh");
    let perm = &p.structs("IpPermissions").unwrap()[0];
    assert_eq!(
        perm.int("FromPort").unwrap_err(),
        FormError::InvalidValue {
            name: "IpPermissions.1.FromPort".into(),
            value: "ssh".into(),
            expected: "Expected a decimal integer.",
        }
    );
    assert_eq!(
        err(perm.int("FromPort")).1,
        "Value (ssh) for parameter IpPermissions.1.FromPort is invalid. \
         Expected a decimal integer."
    );
}

/// A GET request carries everything in the query string, with an empty body; a POST may
/// carry some parameters in each.
#[test]
fn query_string_and_body() {
    let p = Params::parse(
        "Action=DescribeSecurityGroups&Version=2016-11-15&GroupId.1=sg-1&GroupId.2=sg-2",
        b"",
    )
    .unwrap();
    assert_eq!(p.action(), Ok("DescribeSecurityGroups"));
    assert_eq!(p.strings("GroupId"), Ok(vec!["sg-1", "sg-2"]));
    assert_eq!(p.deny_unused(), Ok(()));

    let p = Params::parse("Action=GetCallerIdentity", b"Version=2011-06-15").unwrap();
    assert_eq!(p.action(), Ok("GetCallerIdentity"));
    assert_eq!(p.version(), Some("2011-06-15"));

    let p = Params::parse("", b"").unwrap();
    assert_eq!(p.action(), Err(FormError::MissingAction));
    assert_eq!(p.unused(), Vec::<&str>::new());
}

/// The envelope (Action, Version, SigV4 query authentication) is not the decoders'
/// business.
#[test]
fn envelope_names_are_not_unknown() {
    let p = Params::parse(
        "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Signature=abc",
        b"",
    )
    .unwrap();
    assert_eq!(p.deny_unused(), Ok(()));
    assert_eq!(p.get("X-Amz-Signature"), Some("abc"));
}

#[test]
fn parameter_count_is_bounded() {
    let body = |n: usize| -> String {
        (1..=n)
            .map(|i| format!("GroupId.{i}=sg-{i}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let p = parse(&body(MAX_PARAMS));
    assert_eq!(p.strings("GroupId").unwrap().len(), MAX_PARAMS);
    assert_eq!(p.strings("GroupId").unwrap()[MAX_PARAMS - 1], "sg-10000");
    assert_eq!(
        Params::parse("", body(MAX_PARAMS + 1).as_bytes()).unwrap_err(),
        FormError::TooManyParameters { limit: MAX_PARAMS }
    );
    assert_eq!(
        Params::parse("A=1", body(MAX_PARAMS).as_bytes()).unwrap_err(),
        FormError::TooManyParameters { limit: MAX_PARAMS }
    );
}

#[test]
fn empty_name_is_rejected() {
    assert_eq!(
        err(Params::parse("", b"A=1&=2")),
        (
            "MalformedQueryString",
            "The request contains a parameter with an empty name".into()
        )
    );
}

/// Params is shared across an `.await` by the HTTP handler.
#[test]
fn params_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Params>();
}
