//! SigV4 on the HTTP API (`ec2::sigv4`): the `Authorization` header's parser, `precheck` (what
//! the server checks on the headers alone) and `verify`, with a fixed key lookup and clock.
//!
//! The input is an HTTP request as the test vectors write it (`.sreq`): a request line
//! (`METHOD /path?query HTTP/1.1`), `Name:value` header lines, an empty line, the body.
//!
//! Beyond not panicking:
//! - a parsed `Authorization` has what its type promises: signed headers lowercase, sorted,
//!   unique, never `authorization`;
//! - a request `verify` accepts passes `precheck`, names a known key, an accepted service and
//!   the server's region;
//! - every error has a code, status and message in both APIs' vocabularies;
//! - the request's headers (those HTTP allows), signed by `sign` with a known key, verify.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use sg_userspace::ec2::sigv4::{self, Policy, Request, Service, SigV4Error};

/// The keys: the AWS test suite's and the one the botocore captures were signed with
/// (`testdata/sigv4`).
const KEYS: [(&str, &str); 2] = [
    ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
    (
        "AKIDSGDTEST0000EXAMP",
        "sgdTestSecretKey/0123456789+abcdefghijKL",
    ),
];

fn lookup(id: &str) -> Option<String> {
    KEYS.iter()
        .find(|(k, _)| *k == id)
        .map(|(_, s)| (*s).to_owned())
}

const REGION: &str = "us-east-1";
/// The server's services, and the test suite's.
const SERVICES: [&str; 3] = ["ec2", "sts", "service"];

/// The server's clock: the test suite's time (2015-08-30T12:36:00Z) or the botocore
/// captures' (2026-12-06T10:30:00Z), whichever day the request's `X-Amz-Date` names.
fn now(req: &Request<'_>) -> SystemTime {
    let suite = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
    let captures = UNIX_EPOCH + Duration::from_secs(1_796_553_000);
    let stamp = req
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-date"))
        .map(|(_, v)| *v)
        .unwrap_or_default();
    if stamp.starts_with(b"2026") {
        captures
    } else {
        suite
    }
}

/// A name HTTP allows (RFC 9110 `token`): what a request reaching the server can carry.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A value HTTP allows: no control characters but tab.
fn is_value(v: &[u8]) -> bool {
    v.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

fn check_error(e: &SigV4Error) {
    for service in [Service::Ec2, Service::Sts] {
        let (code, status) = (e.code(service), e.status(service));
        assert!(!code.is_empty() && (400..500).contains(&status), "{e:?}");
        let _ = e.message(service);
    }
}

fuzz_target!(|data: &[u8]| {
    // The request line, the headers, the body.
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let Ok(head) = std::str::from_utf8(head) else {
        return;
    };
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    let mut words = request_line.split(' ');
    let method = words.next().unwrap_or_default();
    let target = words.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(&str, &[u8])> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n, v.as_bytes()))
        .collect();
    let req = Request {
        method,
        path,
        query,
        headers: &headers,
        body,
    };
    let policy = Policy::new(REGION, &SERVICES, now(&req));

    let _ = Service::claimed_by(&req);
    for (_, v) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
    {
        let Ok(v) = std::str::from_utf8(v) else {
            continue;
        };
        match sigv4::parse_authorization(v) {
            Ok(auth) => {
                let names = &auth.signed_headers;
                assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
                assert!(
                    names.iter().all(|n| !n.is_empty()
                        && n.bytes().all(|b| !b.is_ascii_uppercase())
                        && n != "authorization"),
                    "{names:?}"
                );
                assert!(!auth.access_key_id.is_empty());
                let _ = auth.scope();
            }
            Err(e) => check_error(&e),
        }
    }
    let prechecked = sigv4::precheck(&req, &policy, &lookup);
    if let Err(e) = &prechecked {
        check_error(e);
    }
    match sigv4::verify(&req, &policy, &lookup) {
        Ok(v) => {
            assert!(prechecked.is_ok(), "verified but refused by precheck");
            assert!(lookup(&v.access_key_id).is_some());
            assert!(SERVICES.contains(&v.service.as_str()) && v.region == REGION);
        }
        Err(e) => check_error(&e),
    }

    // Signed as a client would, with a known key: it verifies.
    let stamp = sigv4::basic_time(policy.now);
    let mut sendable: Vec<(&str, &[u8])> = headers
        .iter()
        .copied()
        .filter(|(n, v)| is_token(n) && is_value(v))
        .filter(|(n, _)| {
            ![
                "authorization",
                "x-amz-date",
                "date",
                "x-amz-content-sha256",
            ]
            .iter()
            .any(|h| n.eq_ignore_ascii_case(h))
        })
        .collect();
    if !sendable.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        sendable.push(("host", b"example.amazonaws.com"));
    }
    sendable.push(("x-amz-date", stamp.as_bytes()));
    let (key, secret) = KEYS[0];
    let unsigned = Request {
        headers: &sendable,
        ..req
    };
    let authorization = sigv4::sign(&unsigned, key, secret, REGION, "ec2")
        .expect("a request with an X-Amz-Date signs");
    sendable.push(("Authorization", authorization.as_bytes()));
    let signed = Request {
        headers: &sendable,
        ..req
    };
    if let Err(e) = sigv4::verify(&signed, &policy, &lookup) {
        panic!("signed by sign, refused by verify: {e:?}\n{authorization}\n{sendable:?}");
    }
});
