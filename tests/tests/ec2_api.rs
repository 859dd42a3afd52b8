//! The EC2 Query API (issue 14) through the AWS clients people run: SG-API (the EC2 operation
//! names and response shapes, now also over HTTP) and SG-ERR (AWS error codes, nothing
//! changed by a failed request) hold for awscli, boto3, Ansible and Terraform's call
//! sequence; access keys are managed over the Unix socket, in IAM's shapes, kept in a
//! root-only credentials file that survives restarts.

use std::os::unix::fs::PermissionsExt as _;

use serde_json::Value;
use sg_tests::*;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

#[test]
fn access_keys_are_created_listed_and_deleted_as_iam_does() {
    if !require_root("access_keys_are_created_listed_and_deleted_as_iam_does") {
        return;
    }
    let ns = Netns::new("keys");
    let mut d = Daemon::start(&ns);
    let created = d.ok(&["create-access-key"]);
    let key = &created["AccessKey"];
    let id = key["AccessKeyId"].as_str().expect("AccessKeyId").to_owned();
    let secret = key["SecretAccessKey"].as_str().expect("SecretAccessKey");
    assert!(id.starts_with("AKIA") && id.len() == 20, "{id}");
    assert_eq!(secret.len(), 40);
    assert_eq!(key["Status"], "Active");
    assert_eq!(key["ReadOnly"], false);
    let ro = d.ok(&["create-access-key", "--read-only"]);
    let ro_id = ro["AccessKey"]["AccessKeyId"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(ro["AccessKey"]["ReadOnly"], true);

    // The file: the AWS shared-credentials format, root only.
    let file = d.dir.path().join("state").join("credentials");
    let mode = std::fs::metadata(&file)
        .expect("credentials")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(text.contains(&format!(
        "[{id}]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
    )));

    // Listing never shows a secret; the keys survive a restart.
    d.restart();
    let list = d.ok(&["list-access-keys"]);
    assert_eq!(list["IsTruncated"], false);
    let listed: Vec<&str> = list["AccessKeyMetadata"]
        .as_array()
        .expect("list")
        .iter()
        .map(|k| k["AccessKeyId"].as_str().expect("id"))
        .collect();
    assert_eq!(listed, [id.as_str(), ro_id.as_str()]);
    assert!(!list.to_string().contains(secret), "no secret in the list");
    assert!(
        list["AccessKeyMetadata"][0]
            .get("SecretAccessKey")
            .is_none()
    );

    d.ok(&["delete-access-key", "--access-key-id", &id]);
    let again = d.sgctl(&["delete-access-key", "--access-key-id", &id]);
    assert!(!again.status.success());
    assert_eq!(
        stderr(&again),
        format!(
            "An error occurred (NoSuchEntity) when calling the DeleteAccessKey operation: The Access Key with id {id} cannot be found."
        )
    );
    let list: Value = d.ok(&["list-access-keys"]);
    assert_eq!(list["AccessKeyMetadata"].as_array().map(Vec::len), Some(1));
    assert!(!std::fs::read_to_string(&file).expect("read").contains(&id));
}

/// The port the API listens on inside each test's own namespace (its loopback only).
const API_PORT: u16 = 8443;

/// sgd with its HTTP API on the namespace's loopback, and two keys (full and read-only).
struct Api {
    d: Daemon,
    key: (String, String),
    ro: (String, String),
    endpoint: String,
}

impl Api {
    fn start(ns: &Netns) -> Self {
        Self::start_with(ns, &[])
    }

    /// With more `sgd` arguments; `--api-tls-cert` makes the endpoint `https://`.
    fn start_with(ns: &Netns, extra: &[&str]) -> Self {
        let listen = format!("127.0.0.1:{API_PORT}");
        let mut args = vec!["--api-listen", &listen, "--region", "eu-west-3"];
        args.extend_from_slice(extra);
        let d = Daemon::start_with(ns, None, &args);
        let scheme = if extra.contains(&"--api-tls-cert") {
            "https"
        } else {
            "http"
        };
        let pair = |v: Value| {
            (
                v["AccessKey"]["AccessKeyId"]
                    .as_str()
                    .expect("id")
                    .to_owned(),
                v["AccessKey"]["SecretAccessKey"]
                    .as_str()
                    .expect("secret")
                    .to_owned(),
            )
        };
        let key = pair(d.ok(&["create-access-key"]));
        let ro = pair(d.ok(&["create-access-key", "--read-only"]));
        Self {
            d,
            key,
            ro,
            endpoint: format!("{scheme}://127.0.0.1:{API_PORT}"),
        }
    }

    /// Runs `tests/python/<script>` with the venv's Python inside `ns`, with the endpoint
    /// and keys in its environment; returns its stdout, failing the test with its stderr.
    fn python(&self, ns: &Netns, venv: &std::path::Path, script: &str, args: &[&str]) -> String {
        let key = (self.key.0.as_str(), self.key.1.as_str());
        let out = aws_python(ns, venv, 300, script, &self.endpoint, "eu-west-3", key)
            .args(args)
            .env("SG_RO_KEY_ID", &self.ro.0)
            .env("SG_RO_SECRET", &self.ro.1)
            .output()
            .expect("python");
        assert!(
            out.status.success(),
            "{script} failed:\n{}\n{}\nsgd log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.d.log()
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }
}

/// boto3 drives the whole group lifecycle through the EC2 Query API and STS: signatures,
/// waiters, paginators, DryRun (412), client errors (400, one attempt each), a wrong secret
/// (401/403), a read-only key (403), an expired signature and an unknown action. What boto3
/// parses from the XML is exactly what `sgctl` prints as JSON: one model, two wires (SG-API,
/// SG-ERR; SG-GRP-4: a new group's default outbound rule; SG-RULE-6: a duplicate authorize).
#[test]
fn boto3_drives_groups_through_the_ec2_query_api() {
    let test = "boto3_drives_groups_through_the_ec2_query_api";
    if !require_root(test) {
        return;
    }
    let Some(venv) = aws_venv(test) else {
        return;
    };
    let ns = Netns::new("boto3");
    let api = Api::start(&ns);
    let out: Value =
        serde_json::from_str(api.python(&ns, &venv, "boto3_api.py", &[]).trim()).expect("json");
    let gid = out["GroupId"].as_str().expect("GroupId");
    let mut by_sgctl = api.d.ok(&["describe-security-groups", "--group-ids", gid]);
    // The rule revoked at the end of the script is gone from sgctl's view, not boto3's.
    let by_boto3 = &out["DescribeSecurityGroups"];
    let rule = |v: &Value| {
        v["SecurityGroups"][0]["IpPermissions"]
            .as_array()
            .map(Vec::len)
    };
    assert_eq!(rule(by_boto3), Some(2));
    assert_eq!(rule(&by_sgctl), Some(1));
    by_sgctl["SecurityGroups"][0]["IpPermissions"] =
        by_boto3["SecurityGroups"][0]["IpPermissions"].clone();
    assert_eq!(
        &by_sgctl, by_boto3,
        "boto3's parse of the XML equals sgctl's JSON"
    );
    assert_eq!(out["Account"], by_sgctl["SecurityGroups"][0]["OwnerId"]);
    let vpc = out["DefaultVpc"]["VpcId"].as_str().expect("VpcId");
    let mut by_sgctl = api.d.ok(&["describe-vpcs", "--vpc-ids", vpc]);
    // `Classic` is sgd's own member: not in the EC2 model, so botocore drops it.
    assert_eq!(by_sgctl["Vpcs"][0]["Classic"], false);
    by_sgctl["Vpcs"][0]
        .as_object_mut()
        .expect("a Vpc")
        .remove("Classic");
    assert_eq!(
        by_sgctl["Vpcs"][0], out["DefaultVpc"],
        "boto3's parse of a Vpc equals sgctl's JSON"
    );
}

/// Tags on all four taggable kinds (`sg-`, `sgr-`, `pl-`, `vpc-`) through boto3: CreateTags,
/// DeleteTags' value semantics, DescribeTags' filters and pages, tags given on create,
/// EC2's errors (missing and malformed ids, 50 tags, `aws:`), DryRun and a read-only key.
/// Then `sgctl` on the same daemon: the same rows as boto3 parsed, `create-tags` and
/// `delete-tags` print nothing (as `aws ec2 create-tags` does), errors in the AWS CLI's
/// form, and the tags survive a restart (they are stored with their resources).
#[test]
fn boto3_and_sgctl_tag_groups_rules_prefix_lists_and_vpcs() {
    let test = "boto3_and_sgctl_tag_groups_rules_prefix_lists_and_vpcs";
    if !require_root(test) {
        return;
    }
    let Some(venv) = aws_venv(test) else {
        return;
    };
    let ns = Netns::new("tags");
    let mut api = Api::start(&ns);
    let out: Value =
        serde_json::from_str(api.python(&ns, &venv, "boto3_tags.py", &[]).trim()).expect("json");
    let id = |k: &str| out[k].as_str().expect(k).to_owned();
    let (gid, rid, plid, vpc) = (id("GroupId"), id("RuleId"), id("PrefixListId"), id("VpcId"));
    let all = format!("Name=resource-id,Values={gid},{rid},{plid},{vpc}");
    let by_sgctl = api.d.ok(&["describe-tags", "--filters", &all]);
    assert_eq!(
        by_sgctl, out["DescribeTags"],
        "boto3's parse of the XML equals sgctl's JSON"
    );
    let rows = |v: &Value| v["Tags"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(rows(&by_sgctl), 1 + 1 + 50 + 3);

    // The AWS CLI prints nothing for create-tags and delete-tags.
    let tagged = api.d.sgctl(&[
        "create-tags",
        "--resources",
        &gid,
        &rid,
        "--tags",
        "Key=cli,Value=yes",
        "Key=empty,Value=",
    ]);
    assert!(tagged.status.success(), "{}", stderr(&tagged));
    assert!(
        tagged.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&tagged.stdout)
    );
    let cli = api
        .d
        .ok(&["describe-tags", "--filters", "Name=key,Values=cli,empty"]);
    assert_eq!(rows(&cli), 4);
    assert_eq!(
        cli["Tags"][0],
        serde_json::json!({"Key": "cli", "ResourceId": gid, "ResourceType": "security-group", "Value": "yes"})
    );
    // Kept across a restart: stored with their resources.
    let before = api.d.ok(&["describe-tags"]);
    assert_eq!(rows(&before), rows(&by_sgctl) + 4);
    api.d.restart();
    assert_eq!(api.d.ok(&["describe-tags"]), before);
    // A key alone, and `Value=` (only an empty value).
    let untagged = api.d.sgctl(&[
        "delete-tags",
        "--resources",
        &gid,
        "--tags",
        "Key=cli",
        "Key=empty,Value=",
    ]);
    assert!(untagged.status.success(), "{}", stderr(&untagged));
    assert!(untagged.stdout.is_empty());
    let left = api
        .d
        .ok(&["describe-tags", "--filters", "Name=key,Values=cli,empty"]);
    let left: Vec<&str> = left["Tags"]
        .as_array()
        .expect("Tags")
        .iter()
        .map(|t| t["ResourceId"].as_str().expect("id"))
        .collect();
    assert_eq!(left, [rid.as_str(), rid.as_str()]);
    // No --tags: every tag of the resource goes.
    api.d.ok(&["delete-tags", "--resources", &rid]);
    let none = api.d.ok(&[
        "describe-tags",
        "--filters",
        &format!("Name=resource-id,Values={rid}"),
    ]);
    assert_eq!(rows(&none), 0);

    let missing = "sg-0123456789abcdef0";
    let err = api.d.sgctl(&[
        "create-tags",
        "--resources",
        missing,
        "--tags",
        "Key=k,Value=v",
    ]);
    assert_eq!(err.status.code(), Some(254));
    assert_eq!(
        stderr(&err),
        format!(
            "An error occurred (InvalidGroup.NotFound) when calling the CreateTags operation: The security group '{missing}' does not exist"
        )
    );
}

/// The AWS CLI v1 through a lifecycle as a user types it: JSON on stdout, `An error
/// occurred (Code) when calling the Operation operation: ...` on stderr with exit status 255,
/// `--dry-run`, `--page-size`, `--max-items`, a wrong secret (SG-API, SG-ERR).
#[test]
fn the_aws_cli_runs_a_group_lifecycle() {
    let test = "the_aws_cli_runs_a_group_lifecycle";
    if !require_root(test) {
        return;
    }
    let Some(venv) = aws_venv(test) else {
        return;
    };
    let ns = Netns::new("awscli");
    let api = Api::start(&ns);
    let out: Value =
        serde_json::from_str(api.python(&ns, &venv, "awscli_api.py", &[]).trim()).expect("json");
    let gid = out["GroupId"].as_str().expect("GroupId");
    let gone = api
        .d
        .sgctl(&["describe-security-groups", "--group-ids", gid]);
    assert!(!gone.status.success(), "the CLI deleted {gid}");
}

/// Flow logs through boto3 (issue 16): CreateFlowLogs with one resource that exists and
/// one that does not (botocore parses `flowLogIdSet` and `unsuccessful`), a duplicate, bad
/// destinations and intervals, DescribeFlowLogs and its filters, DeleteFlowLogs of an
/// unknown id; then what boto3 parsed equals what `sgctl` prints.
#[test]
fn boto3_creates_describes_and_deletes_flow_logs() {
    let test = "boto3_creates_describes_and_deletes_flow_logs";
    if !require_root(test) {
        return;
    }
    let Some(venv) = aws_venv(test) else {
        return;
    };
    let ns = Netns::new("flowlogs");
    let dir = tempfile::tempdir().expect("tempdir");
    let api = Api::start_with(&ns, &["--flow-log-dir", dir.path().to_str().unwrap()]);
    let dest = dir.path().join("flows.log");
    let out: Value = serde_json::from_str(
        api.python(&ns, &venv, "boto3_flow_logs.py", &[dest.to_str().unwrap()])
            .trim(),
    )
    .expect("json");
    let fl = out["FlowLogId"].as_str().expect("FlowLogId");
    let by_sgctl = api.d.ok(&["describe-flow-logs", "--flow-log-ids", fl]);
    let mut mine = by_sgctl["FlowLogs"][0].clone();
    let mut theirs = out["Described"].clone();
    // botocore parses the creation time into a datetime: compare the rest.
    mine.as_object_mut().unwrap().remove("CreationTime");
    theirs.as_object_mut().unwrap().remove("CreationTime");
    assert_eq!(mine, theirs, "boto3's parse of the XML equals sgctl's JSON");
    api.d.ok(&["delete-flow-logs", "--flow-log-ids", fl]);
    assert_eq!(
        api.d.ok(&["describe-flow-logs"])["FlowLogs"],
        serde_json::json!([])
    );
}

/// Interfaces protected through boto3's CreateNetworkInterface (the device named by the tag
/// `sgd:device`, the VPC by its subnet, no groups meaning the default group: SG-IF-1), then a
/// rule added through boto3, enforced in the kernel before the reply: real TCP from peer a
/// to the instance fails before and connects after, and only from the rule's peer
/// (SG-RULE-4, SG-RULE-5).
#[test]
fn a_rule_added_through_boto3_admits_real_traffic() {
    let test = "a_rule_added_through_boto3_admits_real_traffic";
    if !require_root(test) {
        return;
    }
    let Some(venv) = aws_venv(test) else {
        return;
    };
    let t = Topology::new();
    let api = Api::start(&t.fw);
    let g = api.d.create_group("web");
    let _server = tcp_server(&t.fw, 8080);
    assert!(tcp_connects(&t.a, FW_A4, 8080), "nothing protected yet");
    // The interfaces are protected through CreateNetworkInterface, as EC2 clients send it.
    let out = api.python(&t.fw, &venv, "boto3_interfaces.py", &[&g, "fwa", "fwb"]);
    assert_eq!(out.trim(), "ok");
    assert!(!tcp_connects_quick(&t.a, FW_A4, 8080), "no rule yet");
    let rule = api.python(
        &t.fw,
        &venv,
        "boto3_authorize.py",
        &[&g, "8080", &format!("{A4}/32")],
    );
    assert!(rule.trim().starts_with("sgr-"), "{rule}");
    assert!(tcp_connects(&t.a, FW_A4, 8080), "the rule admits a");
    assert!(!tcp_connects_quick(&t.b, FW_B4, 8080), "and only a");
}

/// HTTPS with `--api-tls-cert/--api-tls-key` (boto3 verifying the certificate), and clear
/// text refused on an address other hosts can reach unless forced.
#[test]
fn the_api_serves_tls_and_refuses_clear_text_beyond_loopback() {
    let test = "the_api_serves_tls_and_refuses_clear_text_beyond_loopback";
    if !require_root(test) {
        return;
    }
    let Some(venv) = aws_venv(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=sgd-test",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let ns = Netns::new("tls");
    let (c, k) = (cert.to_str().expect("utf-8"), key.to_str().expect("utf-8"));
    let api = Api::start_with(&ns, &["--api-tls-cert", c, "--api-tls-key", k]);
    let g = api.d.create_group("tls");
    let rule = api.python(
        &ns,
        &venv,
        "boto3_authorize.py",
        &[&g, "443", "10.0.0.0/8", c],
    );
    assert!(rule.trim().starts_with("sgr-"), "{rule}");

    // Clear text on a non-loopback address: refused at start (before loading anything),
    // with the way out.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new("timeout")
        .args(["60", "ip", "netns", "exec", &ns.name])
        .arg(bin("sgd"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .arg("--socket")
        .arg(dir.path().join("sgd.sock"))
        .arg("--pin-dir")
        .arg(dir.path().join("pins"))
        .args(["--api-listen", &format!("{FW_A4}:{API_PORT}")])
        .output()
        .expect("sgd");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve the API without TLS")
            && err.contains("--api-insecure-http"),
        "{err}"
    );
}

/// Terraform's `hashicorp/aws` provider cannot be installed here: its call sequence for
/// `aws_security_group` and `aws_vpc_security_group_ingress_rule`, replayed with boto3 call
/// for call from the provider's source (cited in the script), must run through (SG-API;
/// SG-RULE-6: revoke by `sgr-` id and of the default -1 egress rule; SG-GRP-6: delete).
#[test]
fn terraforms_call_sequence_runs_through() {
    let test = "terraforms_call_sequence_runs_through";
    if !require_root(test) {
        return;
    }
    let Some(venv) = aws_venv(test) else {
        return;
    };
    let ns = Netns::new("terraform");
    let api = Api::start(&ns);
    let out: Value =
        serde_json::from_str(api.python(&ns, &venv, "terraform_replay.py", &[]).trim())
            .expect("json");
    assert!(
        out["Arn"]
            .as_str()
            .expect("Arn")
            .starts_with("arn:aws:ec2:eu-west-3:")
    );
}

/// Ansible's `amazon.aws.ec2_security_group` (bundled in the pinned `ansible`): create,
/// rerun without change, update, `_info`, delete, with the module's own STS call on every
/// task, and no rule-propagation warning (the module re-describes for a minute when the
/// rules it reads back differ from the ones it wrote).
#[test]
fn ansible_manages_a_group() {
    let test = "ansible_manages_a_group";
    if !require_root(test) {
        return;
    }
    let Some(venv) = aws_venv(test) else {
        return;
    };
    let playbook = venv.join("bin/ansible-playbook");
    if !playbook.exists() {
        assert!(
            std::env::var("SG_REQUIRE_ROOT").as_deref() != Ok("1"),
            "{test}: no ansible-playbook in {} (cargo xtask test installs it)",
            venv.display()
        );
        return;
    }
    let ns = Netns::new("ansible");
    let api = Api::start(&ns);
    let vpc = api.d.ok(&["describe-vpcs"])["Vpcs"]
        .as_array()
        .expect("vpcs")
        .iter()
        .find(|v| v["IsDefault"] == true)
        .and_then(|v| v["VpcId"].as_str())
        .expect("default VPC")
        .to_owned();
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::write(home.path().join("ansible.cfg"), "[defaults]\n").expect("ansible.cfg");
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ansible/security_group.yml");
    let vars = serde_json::json!({
        "endpoint": api.endpoint,
        "region": "eu-west-3",
        "key_id": api.key.0,
        "secret": api.key.1,
        "vpc_id": vpc,
    });
    let out = std::process::Command::new("timeout")
        .args(["600", "ip", "netns", "exec", &ns.name])
        .arg(&playbook)
        .arg(&file)
        .args(["-e", &vars.to_string()])
        // Nothing of this host's Ansible or AWS set-up; modules run with the venv's Python,
        // which has boto3.
        // An empty configuration of our own, not /etc/ansible or ~/.ansible.cfg.
        .env("ANSIBLE_CONFIG", home.path().join("ansible.cfg"))
        .env("ANSIBLE_HOME", home.path())
        .env("ANSIBLE_LOCAL_TEMP", home.path().join("tmp"))
        .env("ANSIBLE_PYTHON_INTERPRETER", venv.join("bin/python"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "false")
        .env("ANSIBLE_LOCALHOST_WARNING", "false")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env(
            "PATH",
            format!(
                "{}:{}",
                venv.join("bin").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .expect("ansible-playbook");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ansible-playbook failed:\n{stdout}\n{}\nsgd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        api.d.log()
    );
    let recap = stdout
        .lines()
        .find(|l| l.starts_with("localhost"))
        .expect("PLAY RECAP line");
    assert!(recap.contains("failed=0"), "{recap}");
    // amazon.aws's wait_for_rule_propagation re-describes for a minute, then warns.
    assert!(
        !stdout.contains("Ran out of time waiting for")
            && !String::from_utf8_lossy(&out.stderr).contains("Ran out of time waiting for"),
        "the module waited for its rules to show up:\n{stdout}"
    );
}
