//! Requests captured from botocore (`testdata/sigv4/botocore/`): they canonicalise as botocore
//! logged them, verify, are refused when changed on the way or checked with another secret, and
//! our `sign` signs as botocore does.

use super::*;

/// Requests signed by botocore 1.44.18 (testdata/sigv4/botocore/README.md).
const BOTOCORE: &[(&str, &str, &str, &str)] = &[
    (
        "ec2-describe-security-groups",
        testdata!("botocore/botocore-ec2-describe-security-groups.sreq"),
        testdata!("botocore/botocore-ec2-describe-security-groups.creq"),
        testdata!("botocore/botocore-ec2-describe-security-groups.sts"),
    ),
    (
        "ec2-create-security-group-utf8",
        testdata!("botocore/botocore-ec2-create-security-group-utf8.sreq"),
        testdata!("botocore/botocore-ec2-create-security-group-utf8.creq"),
        testdata!("botocore/botocore-ec2-create-security-group-utf8.sts"),
    ),
    (
        "sts-get-caller-identity-token",
        testdata!("botocore/botocore-sts-get-caller-identity-token.sreq"),
        testdata!("botocore/botocore-sts-get-caller-identity-token.creq"),
        testdata!("botocore/botocore-sts-get-caller-identity-token.sts"),
    ),
];

fn botocore(name: &str) -> Raw {
    let (_, sreq, _, _) = BOTOCORE.iter().find(|(n, ..)| *n == name).unwrap();
    Raw::parse(sreq)
}

#[test]
fn botocore_requests_canonicalise_as_botocore_logged_them() {
    for (name, sreq, creq, sts) in BOTOCORE {
        let raw = Raw::parse(sreq);
        let auth = parse_authorization(&raw.authorization()).unwrap();
        let mut expected = vec!["content-type", "host", "x-amz-date"];
        if name.starts_with("sts") {
            expected.push("x-amz-security-token");
        }
        assert_eq!(auth.signed_headers, expected, "{name}");
        let ours = raw
            .with_request(|r| canonical_request(r, &auth.signed_headers, &payload_hash(&raw.body)));
        assert_eq!(String::from_utf8(ours).unwrap(), *creq, "{name}");
        assert_eq!(
            string_to_sign(TIME, &auth.scope(), creq.as_bytes()),
            *sts,
            "{name}"
        );
    }
}

#[test]
fn botocore_requests_verify() {
    for (name, sreq, ..) in BOTOCORE {
        let verified = Raw::parse(sreq)
            .verify()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.access_key_id, AKID);
        assert_eq!(verified.region, REGION);
        assert_eq!(verified.timestamp, TIME);
        if name.starts_with("sts") {
            assert_eq!(verified.service, "sts");
            assert_eq!(
                verified.session_token.as_deref(),
                Some("FQoGZXIvYXdzEXAMPLEsessiontoken+/==")
            );
        } else {
            assert_eq!(verified.service, "ec2");
            assert_eq!(verified.session_token, None);
        }
    }
}

#[test]
fn botocore_request_changed_on_the_way_is_refused() {
    let mismatch = Err(SigV4Error::SignatureMismatch {
        access_key_id: AKID.to_owned(),
    });
    // The Host port is signed: a proxy rewriting Host breaks every request.
    let raw = botocore("ec2-describe-security-groups").replace("Host", "127.0.0.1");
    assert_eq!(raw.verify(), mismatch);
    // The body is covered by its hash.
    let mut raw = botocore("ec2-describe-security-groups");
    raw.body = b"Action=DescribeSecurityGroups&Version=2016-11-15&GroupId.1=sg-0123456789abcdef0&DryRun=false".to_vec();
    assert_eq!(raw.verify(), mismatch);
    // Unsigned headers may change.
    let raw = botocore("ec2-describe-security-groups").replace("User-Agent", "other");
    assert!(raw.verify().is_ok());
}

#[test]
fn botocore_request_with_another_secret_is_refused() {
    let raw = botocore("sts-get-caller-identity-token");
    let other = |id: &str| (id == AKID).then(|| "x".repeat(40));
    let err = raw
        .with_request(|r| verify(r, &policy(), &other))
        .unwrap_err();
    assert_eq!(
        err,
        SigV4Error::SignatureMismatch {
            access_key_id: AKID.to_owned()
        }
    );
    assert_eq!(err.code(Service::Sts), "SignatureDoesNotMatch");
    assert_eq!(err.status(Service::Sts), 403);
    assert_eq!(err.code(Service::Ec2), "AuthFailure");
    assert_eq!(err.status(Service::Ec2), 401);
    assert_eq!(
        err.message(Service::Ec2),
        "AWS was not able to validate the provided access credentials"
    );
    assert!(err.message(Service::Sts).starts_with(
        "The request signature we calculated does not match the signature you provided."
    ));
}

#[test]
fn signed_request_like_botocore_verifies() {
    let raw = Raw::botocore_like(TIME, BODY).signed("ec2");
    assert!(
        raw.authorization()
            .contains("SignedHeaders=content-type;host;x-amz-date,")
    );
    let verified = raw.verify().unwrap();
    assert_eq!(
        verified,
        Verified {
            access_key_id: AKID.to_owned(),
            service: "ec2".to_owned(),
            region: REGION.to_owned(),
            timestamp: TIME.to_owned(),
            time: at(TIME),
            signed_headers: vec![
                "content-type".to_owned(),
                "host".to_owned(),
                "x-amz-date".to_owned()
            ],
            session_token: None,
        }
    );
    // The same signing by our `sign` and by botocore (the captured DescribeSecurityGroups
    // request, minus its unsigned headers).
    let captured = botocore("ec2-describe-security-groups");
    let ours = Raw::botocore_like(TIME, std::str::from_utf8(&captured.body).unwrap()).signed("ec2");
    assert_eq!(
        signature_hex(&ours.authorization()),
        signature_hex(&captured.authorization())
    );
}
