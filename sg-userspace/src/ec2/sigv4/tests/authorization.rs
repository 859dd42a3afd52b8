//! Parsing the `Authorization` header (order and spacing of its parts, every malformed case and
//! its message, other algorithms, long input cut in messages) and the request dates.

use super::super::authorization::{basic, parse_http_date};
use super::super::error::QUOTE_MAX;
use super::*;

/// The parts of a good Authorization header for `Raw::botocore_like(TIME, BODY)`.
fn good_parts() -> (String, String, String) {
    let authz = Raw::botocore_like(TIME, BODY).signed("ec2").authorization();
    let auth = parse_authorization(&authz).unwrap();
    (
        format!("Credential={AKID}/{}", auth.scope()),
        format!("SignedHeaders={}", auth.signed_headers.join(";")),
        format!("Signature={}", hex::encode(auth.signature)),
    )
}

#[test]
fn authorization_parts_parse_in_any_order_and_spacing() {
    let (c, h, s) = good_parts();
    let upper = s.replace("Signature=", "").to_ascii_uppercase();
    for authz in [
        format!("AWS4-HMAC-SHA256 {c}, {h}, {s}"),
        format!("AWS4-HMAC-SHA256 {s}, {c}, {h}"),
        format!("AWS4-HMAC-SHA256 {h},{s},{c}"),
        format!("  AWS4-HMAC-SHA256\t{c} ,  {h} ,\t{s}  "),
        format!("AWS4-HMAC-SHA256 {c}, {h}, Signature={upper}"),
    ] {
        let raw = Raw::botocore_like(TIME, BODY).with("Authorization", &authz);
        assert!(raw.verify().is_ok(), "{authz}");
    }
}

#[test]
fn malformed_authorization_is_an_incomplete_signature() {
    let (c, h, s) = good_parts();
    let cases = [
        (
            format!("AWS4-HMAC-SHA256 {c}, {h}"),
            "Authorization header requires 'Signature' parameter.".to_owned(),
        ),
        (
            "AWS4-HMAC-SHA256".to_owned(),
            "Authorization header requires 'Credential' parameter. Authorization header \
             requires 'Signature' parameter. Authorization header requires 'SignedHeaders' \
             parameter."
                .to_owned(),
        ),
        (
            format!("AWS4-HMAC-SHA256 {c}, {h}, Signature=abc"),
            "Signature must be 64 hexadecimal characters, got 'abc'.".to_owned(),
        ),
        (
            format!("AWS4-HMAC-SHA256 {c}, {h}, Signature={}", "zz".repeat(32)),
            format!(
                "Signature must be 64 hexadecimal characters, got '{}'.",
                "zz".repeat(32)
            ),
        ),
        (
            format!("AWS4-HMAC-SHA256 {c}, {h}, {s}, {s}"),
            "Authorization header has more than one 'Signature' parameter.".to_owned(),
        ),
        (
            format!("AWS4-HMAC-SHA256 {c}, {h}, {s}, Extra=1"),
            "Authorization header has an unknown parameter 'Extra'.".to_owned(),
        ),
        (
            // A missing comma hides the next part in the previous one.
            format!("AWS4-HMAC-SHA256 {c} {h}, {s}"),
            "Authorization header requires 'SignedHeaders' parameter.".to_owned(),
        ),
        (
            format!("AWS4-HMAC-SHA256 {h}, {s}, Credential{AKID}"),
            "'CredentialAKIDSGDTEST0000EXAMP' not a valid key=value pair (missing \
             equal-sign) in Authorization header."
                .to_owned(),
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential={AKID}/20261206/us-east-1/ec2, {h}, {s}"),
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got 'AKIDSGDTEST0000EXAMP/20261206/us-east-1/ec2'."
                .to_owned(),
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential={AKID}/20261206/us-east-1/ec2/aws4, {h}, {s}"),
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'."
                .to_owned(),
        ),
        (
            format!("AWS4-HMAC-SHA256 {c}, SignedHeaders=host;content-type;x-amz-date, {s}"),
            "SignedHeaders must be lowercase header names, sorted, without repeats, \
             separated by ';', got 'host;content-type;x-amz-date'."
                .to_owned(),
        ),
        (
            format!("AWS4-HMAC-SHA256 {c}, SignedHeaders=Content-Type;Host;X-Amz-Date, {s}"),
            "SignedHeaders must be lowercase header names, sorted, without repeats, \
             separated by ';', got 'Content-Type;Host;X-Amz-Date'."
                .to_owned(),
        ),
        (
            format!("AWS4-HMAC-SHA256 {c}, SignedHeaders=, {s}"),
            "SignedHeaders must be lowercase header names, sorted, without repeats, \
             separated by ';', got ''."
                .to_owned(),
        ),
        (
            format!("AWS4-HMAC-SHA256 {c}, SignedHeaders=authorization;host;x-amz-date, {s}"),
            "The Authorization header cannot be a signed header.".to_owned(),
        ),
    ];
    for (authz, message) in cases {
        let raw = Raw::botocore_like(TIME, BODY).with("Authorization", &authz);
        let err = raw.verify().unwrap_err();
        assert_eq!(
            err,
            SigV4Error::MalformedAuthorization(message.clone()),
            "{authz}"
        );
        for service in [Service::Ec2, Service::Sts] {
            assert_eq!(err.code(service), "IncompleteSignature");
            assert_eq!(err.status(service), 400);
            assert_eq!(err.message(service), message);
        }
    }
}

#[test]
fn other_algorithms_are_refused() {
    let (c, h, s) = good_parts();
    for (authz, alg) in [
        (format!("AWS4-HMAC-SHA1 {c}, {h}, {s}"), "AWS4-HMAC-SHA1"),
        (
            format!("AWS4-ECDSA-P256-SHA256 {c}, {h}, {s}"),
            "AWS4-ECDSA-P256-SHA256",
        ),
        (format!("AWS {AKID}:frJIUN8DYpKDtOLCwo//yllqDzg="), "AWS"),
        ("Bearer abc".to_owned(), "Bearer"),
    ] {
        let raw = Raw::botocore_like(TIME, BODY).with("Authorization", &authz);
        let err = raw.verify().unwrap_err();
        assert_eq!(err, SigV4Error::UnsupportedAlgorithm(alg.to_owned()));
        assert_eq!(err.code(Service::Ec2), "IncompleteSignature");
    }
}

#[test]
fn dates_parse() {
    assert_eq!(parse_basic(TIME), Some(at(TIME)));
    assert_eq!(basic(at(TIME)), TIME);
    for bad in [
        "20261206T103000",
        "20261206 103000Z",
        "2026120XT103000Z",
        "20260230T103000Z",
    ] {
        assert_eq!(parse_basic(bad), None, "{bad}");
    }
    assert_eq!(
        parse_http_date("Sun, 06 Dec 2026 10:30:00 GMT"),
        Some(at(TIME))
    );
    assert_eq!(
        parse_http_date("Sun, 06 Dec 2026 10:30:00 +0000"),
        Some(at(TIME))
    );
    for bad in [
        "Sun, 6 Dec 2026 10:30:00 GMT",
        "Sun 06 Dec 2026 10:30:00 GMT",
        "Sun, 06 Dez 2026 10:30:00 GMT",
        "Sun, 06 Dec 2026 10:30 GMT",
        "Sun, 06 Dec 2026 10:30:00 +0100",
    ] {
        assert_eq!(parse_http_date(bad), None, "{bad}");
    }
}

#[test]
fn long_client_input_is_cut_in_messages() {
    let alg = "X".repeat(1000);
    let err = parse_authorization(&alg).unwrap_err();
    assert_eq!(err, SigV4Error::UnsupportedAlgorithm("X".repeat(QUOTE_MAX)));
}
