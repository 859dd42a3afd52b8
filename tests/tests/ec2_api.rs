//! The EC2 Query API's ground (issue 14): access keys managed over the Unix socket, in IAM's
//! shapes, kept in a root-only credentials file that survives restarts.

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
    let ro_id = ro["AccessKey"]["AccessKeyId"].as_str().expect("id").to_owned();
    assert_eq!(ro["AccessKey"]["ReadOnly"], true);

    // The file: the AWS shared-credentials format, root only.
    let file = d.dir.path().join("state").join("credentials");
    let mode = std::fs::metadata(&file).expect("credentials").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(text.contains(&format!("[{id}]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n")));

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
    assert!(list["AccessKeyMetadata"][0].get("SecretAccessKey").is_none());

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
