//! Issue 14, inputs: every form the AWS CLI v1 accepts for a structured option (shorthand,
//! several items, a JSON list, one JSON object, file://), --cli-input-json and
//! --generate-cli-skeleton, through the real sgctl against a running daemon. The same rules
//! given in each form must leave byte-identical describe output; and for the same command
//! line, sgctl must send the parameters the pinned AWS CLI v1 itself would send.

use std::process::Output;

use serde_json::Value;
use sg_tests::*;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// `describe-security-group-rules` of one group, as printed, with each rule's own ID and ARN
/// (new for every rule made) replaced by its position.
fn rules_of(d: &Daemon, group: &str) -> String {
    let filter = format!("Name=group-id,Values={group}");
    let out = d.sgctl(&["describe-security-group-rules", "--filters", &filter]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut text = String::from_utf8(out.stdout).expect("utf-8");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    for (i, r) in v["SecurityGroupRules"]
        .as_array()
        .expect("list")
        .iter()
        .enumerate()
    {
        for key in ["SecurityGroupRuleId", "SecurityGroupRuleArn"] {
            if let Some(id) = r[key].as_str() {
                text = text.replace(id, &format!("<{key} {i}>"));
            }
        }
    }
    text
}

/// Removes every inbound rule of `group` (by ID).
fn revoke_all_inbound(d: &Daemon, group: &str) {
    let filter = format!("Name=group-id,Values={group}");
    let v = d.ok(&["describe-security-group-rules", "--filters", &filter]);
    let ids: Vec<&str> = v["SecurityGroupRules"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|r| r["IsEgress"] == false)
        .map(|r| r["SecurityGroupRuleId"].as_str().expect("id"))
        .collect();
    let mut args = vec![
        "revoke-security-group-ingress",
        "--group-id",
        group,
        "--security-group-rule-ids",
    ];
    args.extend(ids);
    d.ok(&args);
}

const SHORTHAND: [&str; 2] = [
    "IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=203.0.113.0/24,Description=\"SSH, office\"}]",
    "IpProtocol=icmpv6,FromPort=-1,ToPort=-1,Ipv6Ranges=[{CidrIpv6=2001:db8::/32}]",
];
const JSON_LIST: &str = r#"[
    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
     "IpRanges": [{"CidrIp": "203.0.113.0/24", "Description": "SSH, office"}]},
    {"IpProtocol": "icmpv6", "FromPort": -1, "ToPort": -1,
     "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}]}
]"#;
const TAGS: &str =
    "ResourceType=security-group-rule,Tags=[{Key=env,Value=prod},{Key=team,Value=net}]";
const TAGS_JSON: &str = r#"[{"ResourceType": "security-group-rule",
    "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "net"}]}]"#;

#[test]
fn same_rules_through_shorthand_json_list_and_files() {
    if !require_root("same_rules_through_shorthand_json_list_and_files") {
        return;
    }
    let ns = Netns::new("inputs");
    let d = Daemon::start(&ns);
    let g = d.create_group("web");
    let dir = d.dir.path();
    let json_file = dir.join("perms.json");
    std::fs::write(&json_file, JSON_LIST).unwrap();
    let tags_file = dir.join("tags.json");
    std::fs::write(&tags_file, TAGS_JSON).unwrap();
    let short_files: Vec<String> = SHORTHAND
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let f = dir.join(format!("perm{i}.txt"));
            std::fs::write(&f, format!("{s}\n")).unwrap();
            format!("file://{}", f.display())
        })
        .collect();
    let json_uri = format!("file://{}", json_file.display());
    let tags_uri = format!("file://{}", tags_file.display());
    let input_json = format!(
        r#"{{"GroupId": "{g}", "IpPermissions": {JSON_LIST}, "TagSpecifications": {TAGS_JSON}}}"#
    );
    let objects: Vec<String> = serde_json::from_str::<Vec<Value>>(JSON_LIST)
        .unwrap()
        .iter()
        .map(Value::to_string)
        .collect();
    let head = ["authorize-security-group-ingress", "--group-id", &g];
    let forms: Vec<(&str, Vec<&str>)> = vec![
        (
            "shorthand, two items",
            vec![
                "--ip-permissions",
                SHORTHAND[0],
                SHORTHAND[1],
                "--tag-specifications",
                TAGS,
            ],
        ),
        (
            "a JSON list",
            vec![
                "--ip-permissions",
                JSON_LIST,
                "--tag-specifications",
                TAGS_JSON,
            ],
        ),
        (
            "one JSON object each",
            vec![
                "--ip-permissions",
                &objects[0],
                &objects[1],
                "--tag-specifications",
                TAGS,
            ],
        ),
        (
            "file:// of JSON",
            vec![
                "--ip-permissions",
                &json_uri,
                "--tag-specifications",
                &tags_uri,
            ],
        ),
        (
            "file:// of shorthand",
            vec![
                "--ip-permissions",
                &short_files[0],
                &short_files[1],
                "--tag-specifications",
                TAGS,
            ],
        ),
    ];
    let mut first: Option<(String, String)> = None;
    for (form, tail) in &forms {
        let args = [&head[..], tail].concat();
        d.ok(&args);
        let now = rules_of(&d, &g);
        match &first {
            None => first = Some((form.to_string(), now)),
            Some((f, then)) => assert_eq!(&now, then, "{form} differs from {f}"),
        }
        revoke_all_inbound(&d, &g);
    }
    // --cli-input-json holds every parameter; no option is needed.
    d.ok(&[
        "authorize-security-group-ingress",
        "--cli-input-json",
        &input_json,
    ]);
    let (_, expected) = first.expect("a form ran");
    assert_eq!(rules_of(&d, &g), expected, "--cli-input-json");
    let v: Value = serde_json::from_str(&expected).unwrap();
    let rules = v["SecurityGroupRules"].as_array().unwrap();
    assert_eq!(rules.iter().filter(|r| r["IsEgress"] == false).count(), 2);
    assert!(expected.contains("SSH, office") && expected.contains("2001:db8::/32"));
    assert!(expected.contains("\"team\""), "tags kept: {expected}");
}

#[test]
fn filters_tags_and_entries_in_every_form() {
    if !require_root("filters_tags_and_entries_in_every_form") {
        return;
    }
    let ns = Netns::new("inputf");
    let d = Daemon::start(&ns);
    for (name, tags) in [
        (
            "web",
            "ResourceType=security-group,Tags=[{Key=tier,Value=front}]",
        ),
        (
            "db",
            r#"{"ResourceType": "security-group", "Tags": [{"Key": "tier", "Value": "back"}]}"#,
        ),
    ] {
        d.ok(&[
            "create-security-group",
            "--group-name",
            name,
            "--description",
            "d",
            "--tag-specifications",
            tags,
        ]);
    }
    let file = d.dir.path().join("filters.json");
    std::fs::write(
        &file,
        r#"[{"Name": "tag:tier", "Values": ["front", "back"]}, {"Name": "group-name", "Values": ["web"]}]"#,
    )
    .unwrap();
    let uri = format!("file://{}", file.display());
    let describe = |filters: &[&str]| {
        let mut args = vec!["describe-security-groups", "--filters"];
        args.extend_from_slice(filters);
        let out = d.sgctl(&args);
        assert!(out.status.success(), "{filters:?}: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let expected = describe(&[
        "Name=tag:tier,Values=front,back",
        "Name=group-name,Values=web",
    ]);
    assert!(
        expected.contains("\"web\"") && !expected.contains("\"db\""),
        "{expected}"
    );
    for filters in [
        &[
            "Name=tag:tier,Values=[front,back]",
            "Name=group-name,Values=[web]",
        ][..],
        &[
            r#"[{"Name":"tag:tier","Values":["front","back"]},{"Name":"group-name","Values":["web"]}]"#,
        ],
        &[
            r#"{"Name":"tag:tier","Values":["front","back"]}"#,
            "Name=group-name,Values=web",
        ],
        &[&uri],
    ] {
        assert_eq!(describe(filters), expected, "{filters:?}");
    }
    // Prefix list entries, added and removed in each form.
    let pl = d.ok(&[
        "create-managed-prefix-list",
        "--prefix-list-name",
        "office",
        "--max-entries",
        "5",
        "--address-family",
        "IPv4",
        "--entries",
        "Cidr=10.0.0.0/8,Description=hq",
        r#"{"Cidr": "10.1.0.0/16"}"#,
    ]);
    let id = pl["PrefixList"]["PrefixListId"]
        .as_str()
        .expect("id")
        .to_owned();
    d.ok(&[
        "modify-managed-prefix-list",
        "--prefix-list-id",
        &id,
        "--add-entries",
        r#"[{"Cidr": "10.2.0.0/16", "Description": "lab"}]"#,
        "--remove-entries",
        "Cidr=10.1.0.0/16",
    ]);
    let entries = d.ok(&["get-managed-prefix-list-entries", "--prefix-list-id", &id]);
    let cidrs: Vec<&str> = entries["Entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["Cidr"].as_str().expect("cidr"))
        .collect();
    assert_eq!(cidrs, ["10.0.0.0/8", "10.2.0.0/16"], "{entries}");
}

#[test]
fn cli_input_json_skeleton_and_mistakes() {
    if !require_root("cli_input_json_skeleton_and_mistakes") {
        return;
    }
    // The skeleton needs no daemon: sgctl prints it and stops.
    let out = std::process::Command::new(bin("sgctl"))
        .args(["--socket", "/nonexistent/sgd.sock"])
        .args([
            "authorize-security-group-ingress",
            "--generate-cli-skeleton",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let skeleton: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(skeleton["IpPermissions"][0]["IpRanges"][0]["CidrIp"], "");
    assert_eq!(skeleton["IpPermissions"][0]["FromPort"], 0);

    let ns = Netns::new("inputj");
    let d = Daemon::start(&ns);
    // A filled-in skeleton from a file, and an option that wins over it.
    let input = d.dir.path().join("group.json");
    std::fs::write(
        &input,
        r#"{"GroupName": "from-file", "Description": "made from --cli-input-json",
            "TagSpecifications": [{"ResourceType": "security-group", "Tags": [{"Key": "a", "Value": "b"}]}]}"#,
    )
    .unwrap();
    let uri = format!("file://{}", input.display());
    let g = d.ok(&[
        "create-security-group",
        "--cli-input-json",
        &uri,
        "--group-name",
        "cli",
    ]);
    let g = g["GroupId"].as_str().expect("GroupId");
    let v = d.ok(&["describe-security-groups", "--group-ids", g]);
    let group = &v["SecurityGroups"][0];
    assert_eq!(group["GroupName"], "cli");
    assert_eq!(group["Description"], "made from --cli-input-json");
    assert_eq!(group["Tags"][0]["Key"], "a");

    let before = d.ok(&["describe-security-groups"]);
    // Mistakes are named and refused before anything is sent (exit 252, as the AWS CLI).
    for (args, message) in [
        (
            vec![
                "authorize-security-group-ingress",
                "--group-id",
                g,
                "--ip-permissions",
                "IpProtocol=tcp,FromPort=ssh",
            ],
            "sgctl: error: argument --ip-permissions: invalid type for parameter IpPermissions[0].FromPort: \"ssh\", expected an integer",
        ),
        (
            vec![
                "describe-security-groups",
                "--filters",
                "Name=vpc-id,Value=vpc-1",
            ],
            "sgctl: error: argument --filters: unknown parameter in Filters[0]: \"Value\", must be one of: Name, Values",
        ),
        (
            vec![
                "create-security-group",
                "--cli-input-json",
                r#"{"GroupName": "x"}"#,
            ],
            "sgctl: error: the following arguments are required: --description (or \"Description\" in --cli-input-json)",
        ),
        (
            vec![
                "create-security-group",
                "--cli-input-json",
                r#"{"GroupName": "x", "Description": "d", "DryRun": true}"#,
            ],
            "sgctl: error: argument --cli-input-json: unknown parameter in input: \"DryRun\"",
        ),
        (
            vec![
                "create-security-group",
                "--group-name",
                "x",
                "--description",
                "d",
                "--tag-specifications",
                "file:///nonexistent/tags.json",
            ],
            "sgctl: error: argument --tag-specifications: unable to load paramfile file:///nonexistent/tags.json",
        ),
    ] {
        let out = d.sgctl(&args);
        assert_eq!(out.status.code(), Some(252), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with(message),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(d.ok(&["describe-security-groups"]), before);
}

/// Prints the parameters the AWS CLI v1 would send for `aws ARGS` (after its shorthand,
/// JSON, file:// and --cli-input-json handling, before botocore's own checks) and stops.
const AWS_PARAMS: &str = r#"
import json, os, sys
os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
                  AWS_SECRET_ACCESS_KEY="secret", AWS_CONFIG_FILE="/dev/null",
                  AWS_SHARED_CREDENTIALS_FILE="/dev/null")
from awscli.clidriver import create_clidriver
driver = create_clidriver()
def stop(params, **kwargs):
    print(json.dumps(params))
    sys.stdout.flush()
    os._exit(0)
driver.session.register("before-parameter-build.ec2", stop)
sys.exit(driver.main(sys.argv[1:]) or 1)
"#;

/// Drops what the API's types print for parameters not given (null, [], false) and the
/// action name, leaving what was given.
fn given(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, x)| {
                    k != "Action"
                        && !matches!(x, Value::Null | Value::Bool(false))
                        && x != &Value::Array(vec![])
                })
                .map(|(k, x)| (k, given(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(given).collect()),
        other => other,
    }
}

/// The request `sgctl ARGS` sends, read by a stand-in for sgd on a socket of our own.
fn sgctl_request(dir: &std::path::Path, args: &[&str]) -> Value {
    use std::io::{BufRead, BufReader, Write};
    let socket = dir.join("fake.sock");
    let _ = std::fs::remove_file(&socket);
    let listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut line = String::new();
        BufReader::new(&conn).read_line(&mut line).expect("read");
        conn.write_all(b"{\"Ok\":null}\n").expect("answer");
        line
    });
    let out = std::process::Command::new(bin("sgctl"))
        .arg("--socket")
        .arg(&socket)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("sgctl");
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&server.join().expect("server")).expect("request JSON")
}

#[test]
fn parameters_agree_with_the_aws_cli() {
    if !require_root("parameters_agree_with_the_aws_cli") {
        return;
    }
    let Some(venv) = aws_venv("parameters_agree_with_the_aws_cli") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("perms.json"), JSON_LIST).unwrap();
    std::fs::write(dir.path().join("desc.txt"), "from a file\n").unwrap();
    std::fs::write(
        dir.path().join("input.json"),
        r#"{"GroupName": "json", "Description": "d", "VpcId": "vpc-1"}"#,
    )
    .unwrap();
    let cases: &[&[&str]] = &[
        &[
            "describe-security-groups",
            "--filters",
            "Name=vpc-id,Values=vpc-1,vpc-2",
            "Name=tag:Name,Values=[web, 'a,b']",
            r"Name=description,Values=x\,y",
        ],
        &[
            "describe-security-groups",
            "--filters",
            r#"[{"Name":"group-name","Values":["g"]}]"#,
        ],
        &[
            "describe-security-groups",
            "--group-ids",
            r#"["sg-1","sg-2"]"#,
        ],
        &[
            "authorize-security-group-ingress",
            "--group-id",
            "sg-1",
            "--ip-permissions",
            SHORTHAND[0],
            SHORTHAND[1],
            "--tag-specifications",
            TAGS,
        ],
        &[
            "authorize-security-group-ingress",
            "--group-id",
            "sg-1",
            "--ip-permissions",
            "IpProtocol=-1,UserIdGroupPairs=[{GroupId=sg-2,Description=app}],PrefixListIds=[{PrefixListId=pl-1}]",
        ],
        &[
            "authorize-security-group-egress",
            "--group-id",
            "sg-1",
            "--ip-permissions",
            "file://perms.json",
        ],
        &[
            "authorize-security-group-ingress",
            "--group-id",
            "sg-1",
            "--protocol",
            "udp",
            "--port",
            "53",
            "--cidr",
            "10.0.0.0/8",
        ],
        &[
            "revoke-security-group-ingress",
            "--group-id",
            "sg-1",
            "--ip-permissions",
            JSON_LIST,
        ],
        &[
            "modify-security-group-rules",
            "--group-id",
            "sg-1",
            "--security-group-rules",
            "SecurityGroupRuleId=sgr-1,SecurityGroupRule={IpProtocol=tcp,FromPort=22,ToPort=22,CidrIpv4=10.0.0.0/8,Description=\"a b\"}",
        ],
        &[
            "update-security-group-rule-descriptions-ingress",
            "--group-id",
            "sg-1",
            "--security-group-rule-descriptions",
            r#"{"SecurityGroupRuleId":"sgr-1","Description":"x"}"#,
            r#"{"SecurityGroupRuleId":"sgr-2","Description":"y"}"#,
        ],
        &[
            "create-managed-prefix-list",
            "--prefix-list-name",
            "p",
            "--max-entries",
            "5",
            "--address-family",
            "IPv4",
            "--entries",
            "Cidr=10.0.0.0/8,Description=hq",
            "Cidr=10.1.0.0/16",
        ],
        &[
            "modify-managed-prefix-list",
            "--prefix-list-id",
            "pl-1",
            "--current-version",
            "2",
            "--add-entries",
            r#"[{"Cidr":"10.2.0.0/16"}]"#,
            "--remove-entries",
            "Cidr=10.0.0.0/8",
        ],
        &[
            "modify-network-interface-attribute",
            "--network-interface-id",
            "eni-1",
            "--connection-tracking-specification",
            "TcpEstablishedTimeout=3600,UdpTimeout=60",
        ],
        &[
            "create-vpc",
            "--cidr-block",
            "10.0.0.0/16",
            "--tag-specifications",
            "ResourceType=vpc,Tags=[{Key=Name,Value=v}]",
        ],
        &[
            "create-vpc",
            "--cidr-block",
            "10.0.0.0/16",
            "--amazon-provided-ipv6-cidr-block",
        ],
        &[
            "create-security-group",
            "--group-name",
            "g",
            "--description",
            "file://desc.txt",
        ],
        &[
            "create-security-group",
            "--cli-input-json",
            "file://input.json",
            "--group-name",
            "cli",
        ],
    ];
    for args in cases {
        let out = std::process::Command::new(venv.join("bin/python"))
            .args(["-c", AWS_PARAMS, "ec2"])
            .args(*args)
            .current_dir(dir.path())
            .output()
            .expect("python");
        assert!(out.status.success(), "aws {args:?}: {}", stderr(&out));
        let aws: Value = serde_json::from_slice(&out.stdout).expect("AWS parameters");
        let ours = given(sgctl_request(dir.path(), args));
        assert_eq!(ours, aws, "sgctl {args:?}");
    }
}
