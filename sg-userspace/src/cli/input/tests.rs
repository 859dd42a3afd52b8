//! Every form of a list or structure option, files, and `--cli-input-json`'s document.

use serde_json::json;

use super::*;
use crate::cli::shapes::Operation;

fn member(op: &str, param: &str) -> &'static Shape {
    match &Operation::named(op).field(param).expect("param").shape {
        Shape::List(m) => m,
        other => panic!("{other:?}"),
    }
}

fn filters(values: &[&str]) -> Result<Vec<Value>, String> {
    let values: Vec<String> = values.iter().map(|s| s.to_string()).collect();
    list(
        "--filters",
        "Filters",
        member("DescribeSecurityGroups", "Filters"),
        &values,
    )
    .map_err(|UsageError(m)| m)
}

fn write(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    let uri = format!("file://{}", path.display());
    (dir, uri)
}

#[test]
fn every_form_of_a_list_of_structures_gives_the_same_items() {
    let expected = json!([{"Name": "vpc-id", "Values": ["vpc-1", "vpc-2"]},
                          {"Name": "group-name", "Values": ["web"]}]);
    let json_list = r#"[{"Name":"vpc-id","Values":["vpc-1","vpc-2"]},
                        {"Name":"group-name","Values":["web"]}]"#;
    let (_d1, json_file) = write("f.json", json_list);
    let (_d2, shorthand_file) = write("f.txt", "Name=vpc-id,Values=vpc-1,vpc-2\n");
    let (_d3, object_file) = write("o.json", r#"{"Name":"group-name","Values":["web"]}"#);
    for values in [
        &[
            "Name=vpc-id,Values=vpc-1,vpc-2",
            "Name=group-name,Values=web",
        ][..],
        &[
            "Name=vpc-id,Values=[vpc-1,vpc-2]",
            "Name=group-name,Values=[web]",
        ],
        &[json_list],
        &[
            r#"{"Name":"vpc-id","Values":["vpc-1","vpc-2"]}"#,
            r#"{"Name":"group-name","Values":["web"]}"#,
        ],
        &[&json_file],
        &[&shorthand_file, &object_file],
    ] {
        assert_eq!(
            Value::Array(filters(values).unwrap()),
            expected,
            "{values:?}"
        );
    }
}

#[test]
fn lists_of_strings_take_words_json_and_files() {
    let ids = member("DescribeSecurityGroups", "GroupIds");
    let run = |values: &[&str]| {
        let values: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        list("--group-ids", "GroupIds", ids, &values).map_err(|UsageError(m)| m)
    };
    let two = vec![json!("sg-1"), json!("sg-2")];
    assert_eq!(run(&["sg-1", "sg-2"]).unwrap(), two);
    assert_eq!(run(&[r#"["sg-1","sg-2"]"#]).unwrap(), two);
    let (_d, file) = write("ids.json", "[\"sg-1\", \"sg-2\"]\n");
    assert_eq!(run(&[&file]).unwrap(), two);
    let (_d, file) = write("ids.txt", "sg-1\nsg-2\n");
    assert_eq!(run(&[&file]).unwrap(), two);
    // Group names may hold `=`, brackets and braces: a value that is not JSON is a value.
    let names = member("DescribeSecurityGroups", "GroupNames");
    let v = list(
        "--group-names",
        "GroupNames",
        names,
        &["[prod]".into(), "a=b".into()],
    );
    assert_eq!(v.unwrap(), vec![json!("[prod]"), json!("a=b")]);
    assert!(
        run(&["[1]"])
            .unwrap_err()
            .contains("GroupIds[0]: 1, expected a string")
    );
}

#[test]
fn list_mistakes_name_the_option_and_the_item() {
    let e = filters(&["Name=a", "Name=b,Bogus=1"]).unwrap_err();
    assert_eq!(
        e,
        "argument --filters: unknown parameter in Filters[1]: \"Bogus\", must be one of: Name, Values"
    );
    let e = filters(&["[{\"Name\": }]"]).unwrap_err();
    assert!(e.starts_with("argument --filters: invalid JSON: "), "{e}");
    let e = filters(&["Values=a"]).unwrap_err();
    assert_eq!(
        e,
        "argument --filters: missing required parameter in Filters[0]: \"Name\""
    );
    let e = filters(&["Name"]).unwrap_err();
    assert!(e.starts_with("argument --filters: expected '='"), "{e}");
    let e = filters(&["file:///nonexistent/filters.json"]).unwrap_err();
    assert!(
        e.starts_with(
            "argument --filters: unable to load paramfile file:///nonexistent/filters.json: "
        ),
        "{e}"
    );
}

#[test]
fn structures_take_shorthand_json_and_files() {
    let ct = &Operation::named("ModifyNetworkInterfaceAttribute")
        .field("ConnectionTrackingSpecification")
        .expect("field")
        .shape;
    let o = "--connection-tracking-specification";
    let p = "ConnectionTrackingSpecification";
    let expected = json!({"TcpEstablishedTimeout": 3600, "UdpTimeout": 60});
    assert_eq!(
        structure(o, p, ct, "TcpEstablishedTimeout=3600,UdpTimeout=60").unwrap(),
        expected
    );
    assert_eq!(
        structure(
            o,
            p,
            ct,
            r#" {"TcpEstablishedTimeout":3600,"UdpTimeout":60}"#
        )
        .unwrap(),
        expected
    );
    let (_d, file) = write("ct", "TcpEstablishedTimeout=3600,UdpTimeout=60\n");
    assert_eq!(structure(o, p, ct, &file).unwrap(), expected);
    let UsageError(e) = structure(o, p, ct, "TcpEstablishedTimeout=soon").unwrap_err();
    assert_eq!(
        e,
        "argument --connection-tracking-specification: invalid type for parameter \
         ConnectionTrackingSpecification.TcpEstablishedTimeout: \"soon\", expected an integer"
    );
    let UsageError(e) = structure(o, p, ct, r#"{"UdpTimeout":"60"}"#).unwrap_err();
    assert!(e.contains("expected an integer"), "{e}");
}

#[test]
fn files_are_read_as_awscli_reads_them() {
    let (dir, file) = write("d.txt", "two\nlines\n");
    // Scalars keep the file's text as it is, newline included (as the AWS CLI does).
    assert_eq!(string("--description", &file).unwrap(), "two\nlines\n");
    assert_eq!(string("--description", "plain").unwrap(), "plain");
    let b = file.replacen("file://", "fileb://", 1);
    assert_eq!(string("--description", &b).unwrap(), "two\nlines\n");
    let dir = dir.path().display().to_string();
    assert_eq!(
        expand("~/x"),
        format!("{}/x", std::env::var("HOME").unwrap())
    );
    assert_eq!(expand("$SG_NO_SUCH_VAR_X/y"), "$SG_NO_SUCH_VAR_X/y");
    assert_eq!(
        expand("${HOME}/y"),
        format!("{}/y", std::env::var("HOME").unwrap())
    );
    assert_eq!(expand(&format!("{dir}/a")), format!("{dir}/a"));
    let (_d, bad) = write("bin", "");
    std::fs::write(bad.trim_start_matches("file://"), [0xff, 0xfe]).unwrap();
    let UsageError(e) = string("--description", &bad).unwrap_err();
    assert!(e.contains("could not be decoded"), "{e}");
}

#[test]
fn cli_input_json_is_one_object() {
    assert_eq!(
        cli_input_json(r#" {"GroupName": "g"} "#).unwrap()["GroupName"],
        "g"
    );
    let (_d, file) = write("in.json", r#"{"GroupName": "f"}"#);
    assert_eq!(cli_input_json(&file).unwrap()["GroupName"], "f");
    let UsageError(e) = cli_input_json("[1]").unwrap_err();
    assert_eq!(
        e,
        "argument --cli-input-json: expected a JSON object of parameters, found a list"
    );
    let UsageError(e) = cli_input_json("GroupName=g").unwrap_err();
    assert!(
        e.starts_with("argument --cli-input-json: invalid JSON"),
        "{e}"
    );
}

#[test]
fn private_addresses_put_the_primary_first() {
    let o = "--private-ip-addresses";
    let v = private_addresses(
        o,
        vec![
            json!("10.0.0.7"),
            json!({"PrivateIpAddress": "10.0.0.6", "Primary": false}),
            json!({"PrivateIpAddress": "10.0.0.5", "Primary": true}),
        ],
    )
    .unwrap();
    assert_eq!(v, json!(["10.0.0.5", "10.0.0.7", "10.0.0.6"]));
    let UsageError(e) = private_addresses(
        o,
        vec![
            json!({"PrivateIpAddress": "10.0.0.5", "Primary": true}),
            json!({"PrivateIpAddress": "10.0.0.6", "Primary": true}),
        ],
    )
    .unwrap_err();
    assert!(e.contains("only one address can be primary"), "{e}");
    let UsageError(e) = private_addresses(o, vec![json!({"Primary": true})]).unwrap_err();
    assert!(e.contains("needs its PrivateIpAddress"), "{e}");
}
