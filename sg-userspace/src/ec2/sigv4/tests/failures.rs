//! Requests `verify` refuses, and the error each gets: wrong secret or unknown key, a request
//! time outside the skew, a wrong scope, headers that must be signed and are not, a tampered
//! body, a missing or repeated `Authorization` header.

use super::*;

#[test]
fn wrong_secret_is_a_signature_mismatch() {
    let raw = Raw::botocore_like(TIME, BODY).signed_by(AKID, "not-the-secret", REGION, "ec2");
    assert_eq!(
        raw.verify(),
        Err(SigV4Error::SignatureMismatch {
            access_key_id: AKID.to_owned()
        })
    );
}

#[test]
fn unknown_access_key_is_told_apart_from_a_bad_signature() {
    let raw = Raw::botocore_like(TIME, BODY).signed_by("AKIDUNKNOWN", SECRET, REGION, "ec2");
    let err = raw.verify().unwrap_err();
    assert_eq!(
        err,
        SigV4Error::UnknownAccessKey {
            access_key_id: "AKIDUNKNOWN".to_owned()
        }
    );
    assert_eq!(err.to_string(), "unknown access key ID \"AKIDUNKNOWN\"");
    // EC2 does not tell them apart on the wire; STS does.
    assert_eq!(
        (err.code(Service::Ec2), err.status(Service::Ec2)),
        ("AuthFailure", 401)
    );
    assert_eq!(
        (err.code(Service::Sts), err.status(Service::Sts)),
        ("InvalidClientTokenId", 403)
    );
    assert_eq!(
        err.message(Service::Sts),
        "The security token included in the request is invalid"
    );
    // The unknown key is reported even when the signature happens to be right for the
    // dummy secret's work: the dummy never authenticates.
    let dummy =
        Raw::botocore_like(TIME, BODY).signed_by("AKIDUNKNOWN", DUMMY_SECRET, REGION, "ec2");
    assert!(matches!(
        dummy.verify(),
        Err(SigV4Error::UnknownAccessKey { .. })
    ));
}

fn stamp_at(offset_secs: i64) -> String {
    let t = if offset_secs < 0 {
        at(TIME) - Duration::from_secs(offset_secs.unsigned_abs())
    } else {
        at(TIME) + Duration::from_secs(offset_secs.unsigned_abs())
    };
    basic(t)
}

fn now_policy() -> Policy<'static> {
    Policy::new(REGION, SERVICES, at(TIME))
}

#[test]
fn request_older_than_the_skew_is_expired() {
    let raw = Raw::botocore_like(&stamp_at(-301), BODY).signed("ec2");
    let err = raw.verify_with(&now_policy()).unwrap_err();
    assert_eq!(
        err,
        SigV4Error::Expired {
            timestamp: "20261206T102459Z".to_owned(),
            earliest: "20261206T102500Z".to_owned(),
            now: TIME.to_owned(),
            max_skew: DEFAULT_MAX_SKEW,
        }
    );
    assert_eq!(
        (err.code(Service::Ec2), err.status(Service::Ec2)),
        ("RequestExpired", 400)
    );
    assert_eq!(
        (err.code(Service::Sts), err.status(Service::Sts)),
        ("SignatureDoesNotMatch", 403)
    );
    assert_eq!(
        err.message(Service::Sts),
        "Signature expired: 20261206T102459Z is now earlier than 20261206T102500Z \
         (20261206T103000Z - 5 min.)"
    );
    assert!(
        err.message(Service::Ec2)
            .starts_with("Request has expired. Signature expired: ")
    );
    // On the boundary it is still accepted, and a wider skew accepts older requests.
    let raw = Raw::botocore_like(&stamp_at(-300), BODY).signed("ec2");
    assert!(raw.verify_with(&now_policy()).is_ok());
    let raw = Raw::botocore_like(&stamp_at(-900), BODY).signed("ec2");
    let lenient = Policy {
        max_skew: Duration::from_secs(15 * 60),
        ..now_policy()
    };
    assert!(raw.verify_with(&lenient).is_ok());
}

#[test]
fn request_later_than_the_skew_is_not_yet_valid() {
    let raw = Raw::botocore_like(&stamp_at(301), BODY).signed("sts");
    let err = raw.verify_with(&now_policy()).unwrap_err();
    assert_eq!(
        err,
        SigV4Error::NotYetValid {
            timestamp: "20261206T103501Z".to_owned(),
            latest: "20261206T103500Z".to_owned(),
            now: TIME.to_owned(),
            max_skew: DEFAULT_MAX_SKEW,
        }
    );
    assert_eq!(err.code(Service::Ec2), "RequestExpired");
    assert_eq!(err.code(Service::Sts), "SignatureDoesNotMatch");
    assert_eq!(
        err.message(Service::Ec2),
        "Signature not yet current: 20261206T103501Z is still later than 20261206T103500Z \
         (20261206T103000Z + 5 min.)"
    );
    let raw = Raw::botocore_like(&stamp_at(300), BODY).signed("sts");
    assert!(raw.verify_with(&now_policy()).is_ok());
}

#[test]
fn wrong_region_is_refused_and_regions_are_case_sensitive() {
    for region in ["eu-central-1", "US-EAST-1"] {
        let raw = Raw::botocore_like(TIME, BODY).signed_by(AKID, SECRET, region, "ec2");
        let err = raw.verify().unwrap_err();
        assert_eq!(
            err,
            SigV4Error::WrongRegion {
                got: region.to_owned(),
                expected: REGION.to_owned()
            }
        );
        assert_eq!(
            (err.code(Service::Ec2), err.status(Service::Ec2)),
            ("AuthFailure", 401)
        );
        assert_eq!(
            err.message(Service::Sts),
            format!("Credential should be scoped to a valid region, not '{region}'.")
        );
    }
}

#[test]
fn wrong_service_is_refused() {
    let raw = Raw::botocore_like(TIME, BODY).signed("s3");
    let err = raw.verify().unwrap_err();
    assert_eq!(
        err,
        SigV4Error::WrongService {
            got: "s3".to_owned()
        }
    );
    assert_eq!(
        (err.code(Service::Sts), err.status(Service::Sts)),
        ("SignatureDoesNotMatch", 403)
    );
    assert_eq!(
        err.message(Service::Sts),
        "Credential should be scoped to correct service: 'sts'."
    );
    // A service sgd answers but this policy does not accept.
    let raw = Raw::botocore_like(TIME, BODY).signed("sts");
    let ec2_only = Policy {
        services: &["ec2"],
        ..policy()
    };
    assert!(matches!(
        raw.verify_with(&ec2_only),
        Err(SigV4Error::WrongService { .. })
    ));
}

#[test]
fn unsigned_host_is_refused() {
    let raw = Raw::botocore_like(TIME, BODY)
        .without("Host")
        .signed("ec2")
        .with("Host", "127.0.0.1:5055");
    let err = raw.verify().unwrap_err();
    assert_eq!(err, SigV4Error::HeaderNotSigned("host"));
    assert_eq!(
        (err.code(Service::Ec2), err.status(Service::Ec2)),
        ("IncompleteSignature", 400)
    );
    assert_eq!(
        err.message(Service::Ec2),
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    );
}

#[test]
fn unsigned_date_is_refused() {
    // Signed with Date; an X-Amz-Date added later takes precedence and is not signed.
    let raw = Raw::botocore_like(TIME, BODY)
        .without("X-Amz-Date")
        .with("Date", "Sun, 06 Dec 2026 10:30:00 GMT")
        .signed("ec2")
        .with("X-Amz-Date", TIME);
    assert_eq!(raw.verify(), Err(SigV4Error::HeaderNotSigned("x-amz-date")));
}

#[test]
fn date_header_is_used_without_x_amz_date() {
    // IMF-fixdate, and Python's formatdate() as botocore sends it.
    for date in [
        "Sun, 06 Dec 2026 10:30:00 GMT",
        "Sun, 06 Dec 2026 10:30:00 -0000",
    ] {
        let raw = Raw::botocore_like(TIME, BODY)
            .without("X-Amz-Date")
            .with("Date", date)
            .signed("ec2");
        assert!(
            raw.authorization()
                .contains("SignedHeaders=content-type;date;host,")
        );
        let verified = raw.verify().unwrap();
        assert_eq!(verified.timestamp, TIME);
        assert_eq!(verified.time, at(TIME));
    }
}

#[test]
fn missing_or_malformed_date_is_an_incomplete_signature() {
    let signed = Raw::botocore_like(TIME, BODY).signed("ec2");
    let err = signed.clone().without("X-Amz-Date").verify().unwrap_err();
    assert_eq!(err, SigV4Error::MissingDate);
    assert_eq!(
        err.message(Service::Ec2),
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    );
    for bad in [
        "2026-12-06T10:30:00Z",
        "20261306T103000Z",
        "20261206T103000",
        "",
    ] {
        let err = signed
            .clone()
            .replace("X-Amz-Date", bad)
            .verify()
            .unwrap_err();
        assert!(
            matches!(err, SigV4Error::MalformedDate(_)),
            "{bad}: {err:?}"
        );
        assert_eq!(err.code(Service::Sts), "IncompleteSignature");
        assert!(
            err.message(Service::Sts)
                .starts_with("Date must be in ISO-8601 'basic format'.")
        );
    }
    let twice = signed.with("X-Amz-Date", TIME);
    assert!(matches!(twice.verify(), Err(SigV4Error::MalformedDate(_))));
}

#[test]
fn scope_date_must_be_the_request_date() {
    let raw = Raw::botocore_like(TIME, BODY).signed("ec2");
    let authz = raw.authorization().replace("/20261206/", "/20261205/");
    let raw = raw.replace("Authorization", &authz);
    let err = raw.verify().unwrap_err();
    assert_eq!(
        err,
        SigV4Error::ScopeDateMismatch {
            scope_date: "20261205".to_owned(),
            timestamp: TIME.to_owned()
        }
    );
    assert_eq!(
        err.message(Service::Sts),
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
         HTTP: '20261205' != '20261206', from '20261206T103000Z'."
    );
}

#[test]
fn tampered_body_is_a_signature_mismatch() {
    let mut raw = Raw::botocore_like(TIME, BODY).signed("ec2");
    raw.body = b"Action=DeleteSecurityGroup&Version=2016-11-15&GroupId=sg-1".to_vec();
    assert!(matches!(
        raw.verify(),
        Err(SigV4Error::SignatureMismatch { .. })
    ));
}

#[test]
fn content_sha256_header_must_match_the_body() {
    let hash = payload_hash(BODY.as_bytes());
    let raw = Raw::botocore_like(TIME, BODY)
        .with("X-Amz-Content-Sha256", &hash)
        .signed("ec2");
    assert!(raw.verify().is_ok());
    let mut tampered = raw.clone();
    tampered.body = b"Action=DeleteSecurityGroup".to_vec();
    let err = tampered.verify().unwrap_err();
    assert_eq!(err, SigV4Error::PayloadHashMismatch);
    assert_eq!(err.code(Service::Sts), "SignatureDoesNotMatch");
    // Also when the header is not signed, or claims an unsigned payload.
    for claim in [payload_hash(b"other"), "UNSIGNED-PAYLOAD".to_owned()] {
        let raw = Raw::botocore_like(TIME, BODY)
            .signed("ec2")
            .with("X-Amz-Content-Sha256", &claim);
        assert_eq!(raw.verify(), Err(SigV4Error::PayloadHashMismatch));
    }
}

#[test]
fn security_token_must_be_signed() {
    let token = "FQoGZXIvYXdzEXAMPLEsessiontoken+/==";
    let unsigned = Raw::botocore_like(TIME, BODY)
        .signed("sts")
        .with("X-Amz-Security-Token", token);
    let err = unsigned.verify().unwrap_err();
    assert_eq!(err, SigV4Error::HeaderNotSigned("x-amz-security-token"));
    assert_eq!(
        err.message(Service::Sts),
        "'x-amz-security-token' must be a 'SignedHeader' in the AWS Authorization."
    );
    let signed = Raw::botocore_like(TIME, BODY)
        .with("X-Amz-Security-Token", token)
        .signed("sts");
    assert_eq!(
        signed.verify().unwrap().session_token.as_deref(),
        Some(token)
    );
}

#[test]
fn signed_header_missing_from_the_request_is_refused() {
    let raw = Raw::botocore_like(TIME, BODY)
        .with("X-Custom", "1")
        .signed("ec2")
        .without("X-Custom");
    assert_eq!(
        raw.verify(),
        Err(SigV4Error::SignedHeaderAbsent("x-custom".to_owned()))
    );
}

#[test]
fn missing_authorization_is_missing_authentication_token() {
    let raw = Raw::botocore_like(TIME, BODY);
    let err = raw.verify().unwrap_err();
    assert_eq!(err, SigV4Error::MissingAuthorization);
    for service in [Service::Ec2, Service::Sts] {
        assert_eq!(err.code(service), "MissingAuthenticationToken");
        assert_eq!(err.status(service), 403);
        assert_eq!(
            err.message(service),
            "Request is missing Authentication Token"
        );
    }
    assert_eq!(
        raw.with("Authorization", " ").verify(),
        Err(SigV4Error::MissingAuthorization)
    );
}

#[test]
fn two_authorization_headers_are_refused() {
    let raw = Raw::botocore_like(TIME, BODY).signed("ec2");
    let authz = raw.authorization();
    let raw = raw.with("Authorization", &authz);
    assert!(matches!(
        raw.verify(),
        Err(SigV4Error::MalformedAuthorization(_))
    ));
}
