//! The whole command line to the request: `--protocol`/`--port`/`--cidr`, `--ip-permissions`
//! in every form, and the JSON the AWS CLI prints.

use super::*;
use crate::api::IpPermission;

/// The request (or skeleton) `sgctl ARGS` makes.
pub(super) fn prepare(args: &[&str]) -> Result<Prepared, UsageError> {
    let mut full = vec!["sgctl"];
    full.extend_from_slice(args);
    Cli::try_parse_from(full)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
        .prepare()
}

pub(super) fn request(args: &[&str]) -> Result<Request, UsageError> {
    match prepare(args)? {
        Prepared::Request(r) => Ok(r),
        Prepared::Skeleton(s) => panic!("{args:?} printed a skeleton: {s}"),
    }
}

fn perms(args: &[&str]) -> Result<Vec<IpPermission>, UsageError> {
    let mut full = vec![
        "authorize-security-group-ingress",
        "--group-id",
        "sg-12345678",
    ];
    full.extend_from_slice(args);
    match request(&full)? {
        Request::AuthorizeSecurityGroupIngress(p) => Ok(p.ip_permissions),
        other => panic!("{other:?}"),
    }
}

#[test]
fn shorthand_tcp_port_and_range() {
    let p = perms(&[
        "--protocol",
        "tcp",
        "--port",
        "22",
        "--cidr",
        "203.0.113.0/24",
    ])
    .unwrap();
    assert_eq!((p[0].from_port, p[0].to_port), (Some(22), Some(22)));
    assert_eq!(p[0].ip_ranges[0].cidr_ip, "203.0.113.0/24");
    let p = perms(&[
        "--protocol",
        "udp",
        "--port",
        "8000-8100",
        "--cidr",
        "2001:db8::/32",
    ])
    .unwrap();
    assert_eq!((p[0].from_port, p[0].to_port), (Some(8000), Some(8100)));
    assert_eq!(p[0].ipv6_ranges[0].cidr_ipv6, "2001:db8::/32");
    let p = perms(&["--protocol", "tcp", "--port", "-1", "--cidr", "0.0.0.0/0"]).unwrap();
    assert_eq!((p[0].from_port, p[0].to_port), (Some(0), Some(65535)));
}

#[test]
fn shorthand_icmp_and_all() {
    let p = perms(&["--protocol", "icmp", "--port", "8-0", "--cidr", "0.0.0.0/0"]).unwrap();
    assert_eq!((p[0].from_port, p[0].to_port), (Some(8), Some(0)));
    let p = perms(&["--protocol", "icmp", "--port", "-1", "--cidr", "0.0.0.0/0"]).unwrap();
    assert_eq!((p[0].from_port, p[0].to_port), (Some(-1), Some(-1)));
    let p = perms(&["--protocol", "all", "--source-group", "sg-12345678"]).unwrap();
    assert_eq!(p[0].ip_protocol, "-1");
    assert_eq!(
        p[0].user_id_group_pairs[0].group_id.as_deref(),
        Some("sg-12345678")
    );
}

#[test]
fn ip_permissions_in_every_form() {
    let json = r#"[{"IpProtocol":"tcp","FromPort":443,"ToPort":443,
        "IpRanges":[{"CidrIp":"198.51.100.0/24","Description":"web"}]},
        {"IpProtocol":"udp","FromPort":53,"ToPort":53,"UserIdGroupPairs":[{"GroupId":"sg-1"}]}]"#;
    let expected = perms(&["--ip-permissions", json]).unwrap();
    assert_eq!(expected.len(), 2);
    assert_eq!(expected[0].ip_ranges[0].description.as_deref(), Some("web"));
    let short = [
        "IpProtocol=tcp,FromPort=443,ToPort=443,IpRanges=[{CidrIp=198.51.100.0/24,Description=web}]",
        "IpProtocol=udp,FromPort=53,ToPort=53,UserIdGroupPairs=[{GroupId=sg-1}]",
    ];
    assert_eq!(
        perms(&["--ip-permissions", short[0], short[1]]).unwrap(),
        expected
    );
    let objects: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(json)
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(
        perms(&["--ip-permissions", &objects[0], &objects[1]]).unwrap(),
        expected
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.json");
    std::fs::write(&file, json).unwrap();
    let uri = format!("file://{}", file.display());
    assert_eq!(perms(&["--ip-permissions", &uri]).unwrap(), expected);
    // A file of shorthand holds one permission; two files, two.
    let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    std::fs::write(&a, format!("{}\n", short[0])).unwrap();
    std::fs::write(&b, short[1]).unwrap();
    let (a, b) = (
        format!("file://{}", a.display()),
        format!("file://{}", b.display()),
    );
    assert_eq!(perms(&["--ip-permissions", &a, &b]).unwrap(), expected);
}

#[test]
fn ip_permissions_mistakes() {
    let UsageError(e) = perms(&["--ip-permissions", "[{\"Bogus\":1}]"]).unwrap_err();
    assert!(
        e.starts_with(
            "argument --ip-permissions: unknown parameter in IpPermissions[0]: \"Bogus\""
        ),
        "{e}"
    );
    let UsageError(e) = perms(&["--ip-permissions", "IpProtocol=tcp,FromPort=ssh"]).unwrap_err();
    assert_eq!(
        e,
        "argument --ip-permissions: invalid type for parameter IpPermissions[0].FromPort: \"ssh\", expected an integer"
    );
    assert!(perms(&["--protocol", "tcp", "--port", "x", "--cidr", "0.0.0.0/0"]).is_err());
    let UsageError(e) = perms(&["--protocol", "tcp", "--port", "22"]).unwrap_err();
    assert_eq!(e, "exactly one of --cidr or --source-group is required");
    let UsageError(e) = perms(&[]).unwrap_err();
    assert!(
        e.starts_with("one of --ip-permissions or --protocol"),
        "{e}"
    );
}

#[test]
fn aws_json_indentation() {
    let v = serde_json::json!({"GroupId": "sg-1"});
    assert_eq!(to_aws_json(&v), "{\n    \"GroupId\": \"sg-1\"\n}");
}

#[test]
fn create_vpc_amazon_provided_ipv6_cidr_block() {
    let ipv6 = |extra: &[&str]| {
        let mut args = vec!["create-vpc", "--cidr-block", "10.0.0.0/16"];
        args.extend_from_slice(extra);
        match request(&args).unwrap() {
            Request::CreateVpc(r) => r.amazon_provided_ipv6_cidr_block,
            other => panic!("{other:?}"),
        }
    };
    assert!(!ipv6(&[]));
    assert!(ipv6(&["--amazon-provided-ipv6-cidr-block"]));
    assert!(!ipv6(&["--no-amazon-provided-ipv6-cidr-block"]));
    let input = r#"{"CidrBlock": "10.0.0.0/16", "AmazonProvidedIpv6CidrBlock": true}"#;
    assert!(ipv6(&["--cli-input-json", input]));
    assert!(
        Cli::try_parse_from([
            "sgctl",
            "create-vpc",
            "--cidr-block",
            "10.0.0.0/16",
            "--amazon-provided-ipv6-cidr-block",
            "--no-amazon-provided-ipv6-cidr-block",
        ])
        .is_err()
    );
}

#[test]
fn delete_vpc_and_create_default_vpc() {
    assert_eq!(
        request(&["delete-vpc", "--vpc-id", "vpc-1"]).unwrap(),
        Request::DeleteVpc(crate::api::DeleteVpc {
            vpc_id: Some("vpc-1".into())
        })
    );
    assert_eq!(
        request(&["delete-vpc", "--cli-input-json", r#"{"VpcId": "vpc-2"}"#]).unwrap(),
        Request::DeleteVpc(crate::api::DeleteVpc {
            vpc_id: Some("vpc-2".into())
        })
    );
    assert!(Cli::try_parse_from(["sgctl", "delete-vpc"]).is_err());
    assert_eq!(
        request(&["create-default-vpc"]).unwrap(),
        Request::CreateDefaultVpc(crate::api::Empty {})
    );
}
