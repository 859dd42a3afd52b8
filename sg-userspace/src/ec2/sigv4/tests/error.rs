//! The error table: the AWS code and HTTP status of every [`SigV4Error`] for EC2 and for STS,
//! and the service a request claims, which chooses between them.

use super::*;

#[test]
fn error_table() {
    let samples = [
        (
            SigV4Error::MissingAuthorization,
            ("MissingAuthenticationToken", 403),
            ("MissingAuthenticationToken", 403),
        ),
        (
            SigV4Error::MalformedAuthorization(String::new()),
            ("IncompleteSignature", 400),
            ("IncompleteSignature", 400),
        ),
        (
            SigV4Error::UnsupportedAlgorithm(String::new()),
            ("IncompleteSignature", 400),
            ("IncompleteSignature", 400),
        ),
        (
            SigV4Error::MissingDate,
            ("IncompleteSignature", 400),
            ("IncompleteSignature", 400),
        ),
        (
            SigV4Error::MalformedDate(String::new()),
            ("IncompleteSignature", 400),
            ("IncompleteSignature", 400),
        ),
        (
            SigV4Error::HeaderNotSigned("host"),
            ("IncompleteSignature", 400),
            ("IncompleteSignature", 400),
        ),
        (
            SigV4Error::SignedHeaderAbsent(String::new()),
            ("IncompleteSignature", 400),
            ("IncompleteSignature", 400),
        ),
        (
            SigV4Error::WrongService { got: String::new() },
            ("AuthFailure", 401),
            ("SignatureDoesNotMatch", 403),
        ),
        (
            SigV4Error::WrongRegion {
                got: String::new(),
                expected: String::new(),
            },
            ("AuthFailure", 401),
            ("SignatureDoesNotMatch", 403),
        ),
        (
            SigV4Error::ScopeDateMismatch {
                scope_date: String::new(),
                timestamp: String::new(),
            },
            ("AuthFailure", 401),
            ("SignatureDoesNotMatch", 403),
        ),
        (
            SigV4Error::Expired {
                timestamp: String::new(),
                earliest: String::new(),
                now: String::new(),
                max_skew: DEFAULT_MAX_SKEW,
            },
            ("RequestExpired", 400),
            ("SignatureDoesNotMatch", 403),
        ),
        (
            SigV4Error::NotYetValid {
                timestamp: String::new(),
                latest: String::new(),
                now: String::new(),
                max_skew: DEFAULT_MAX_SKEW,
            },
            ("RequestExpired", 400),
            ("SignatureDoesNotMatch", 403),
        ),
        (
            SigV4Error::PayloadHashMismatch,
            ("AuthFailure", 401),
            ("SignatureDoesNotMatch", 403),
        ),
        (
            SigV4Error::UnknownAccessKey {
                access_key_id: String::new(),
            },
            ("AuthFailure", 401),
            ("InvalidClientTokenId", 403),
        ),
        (
            SigV4Error::SignatureMismatch {
                access_key_id: String::new(),
            },
            ("AuthFailure", 401),
            ("SignatureDoesNotMatch", 403),
        ),
    ];
    for (err, ec2, sts) in samples {
        assert_eq!(
            (err.code(Service::Ec2), err.status(Service::Ec2)),
            ec2,
            "{err:?}"
        );
        assert_eq!(
            (err.code(Service::Sts), err.status(Service::Sts)),
            sts,
            "{err:?}"
        );
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn claimed_service_comes_from_the_scope() {
    let ec2 = Raw::botocore_like(TIME, BODY).signed("ec2");
    assert_eq!(ec2.with_request(Service::claimed_by), Some(Service::Ec2));
    let sts = Raw::botocore_like(TIME, BODY).signed("sts");
    assert_eq!(sts.with_request(Service::claimed_by), Some(Service::Sts));
    let s3 = Raw::botocore_like(TIME, BODY).signed("s3");
    assert_eq!(s3.with_request(Service::claimed_by), None);
    let none = Raw::botocore_like(TIME, BODY);
    assert_eq!(none.with_request(Service::claimed_by), None);
}
