//! SG-ERR through the real CLI against a running daemon: AWS error form on stderr, exit status
//! 254, and nothing changed by a failed request.

use sg_tests::*;

fn error_line(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

#[test]
fn errors_in_aws_cli_form_and_change_nothing() {
    if !require_root("errors_in_aws_cli_form_and_change_nothing") {
        return;
    }
    let t = Netns::new("err");
    let d = Daemon::start(&t);
    let g = d.create_group("web");
    let vpc = d.ok(&["describe-security-groups", "--group-ids", &g])["SecurityGroups"][0]["VpcId"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = d.ok(&["describe-security-groups"]);

    let out = d.sgctl(&[
        "create-security-group",
        "--group-name",
        "web",
        "--description",
        "again",
    ]);
    assert_eq!(out.status.code(), Some(254));
    assert_eq!(
        error_line(&out),
        format!(
            "An error occurred (InvalidGroup.Duplicate) when calling the CreateSecurityGroup operation: The security group 'web' already exists for VPC '{vpc}'"
        )
    );

    let default_id = d.ok(&["describe-security-groups", "--group-names", "default"])["SecurityGroups"][0]["GroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["delete-security-group", "--group-id", &default_id],
            "CannotDelete",
        ),
        (
            vec![
                "delete-security-group",
                "--group-id",
                "sg-0123456789abcdef0",
            ],
            "InvalidGroup.NotFound",
        ),
        (
            vec!["delete-security-group", "--group-id", "sg-nothex"],
            "InvalidGroupId.Malformed",
        ),
        (
            vec![
                "modify-network-interface-attribute",
                "--network-interface-id",
                "nosuch0",
                "--groups",
                &g,
            ],
            "InvalidNetworkInterfaceID.NotFound",
        ),
        (
            vec![
                "authorize-security-group-ingress",
                "--group-id",
                &g,
                "--protocol",
                "tcp",
                "--port",
                "30-20",
                "--cidr",
                "0.0.0.0/0",
            ],
            "InvalidParameterValue",
        ),
        (
            vec![
                "authorize-security-group-ingress",
                "--group-id",
                &g,
                "--protocol",
                "tcp",
                "--port",
                "22",
                "--cidr",
                "10.0.0.0/33",
            ],
            "InvalidParameterValue",
        ),
        (
            vec![
                "authorize-security-group-egress",
                "--group-id",
                &g,
                "--protocol",
                "-1",
                "--cidr",
                "0.0.0.0/0",
            ],
            "InvalidPermission.Duplicate",
        ),
        (
            vec![
                "revoke-security-group-ingress",
                "--group-id",
                &g,
                "--protocol",
                "tcp",
                "--port",
                "22",
                "--cidr",
                "0.0.0.0/0",
            ],
            "InvalidPermission.NotFound",
        ),
        (
            vec![
                "create-security-group",
                "--group-name",
                "sg-x",
                "--description",
                "d",
            ],
            "InvalidParameterValue",
        ),
    ];
    for (args, code) in cases {
        let out = d.sgctl(&args);
        assert_eq!(
            out.status.code(),
            Some(254),
            "{args:?}: {}",
            error_line(&out)
        );
        let line = error_line(&out);
        assert!(
            line.starts_with(&format!("An error occurred ({code}) when calling the ")),
            "{args:?}: {line}"
        );
    }
    // A request failing part-way changes nothing: the first permission is fine, the second is
    // a duplicate.
    let perms = r#"[{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]},
                    {"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]"#;
    let out = d.sgctl(&[
        "authorize-security-group-egress",
        "--group-id",
        &g,
        "--ip-permissions",
        perms,
    ]);
    assert_eq!(out.status.code(), Some(254));
    assert_eq!(
        d.ok(&["describe-security-groups"]),
        before,
        "failed requests leave the state unchanged"
    );
}
