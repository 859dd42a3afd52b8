//! Verification of AWS Signature Version 4 (`AWS4-HMAC-SHA256` in the `Authorization` header)
//! on requests to the EC2 Query API and STS (issue 14).
//!
//! sgd answers unmodified AWS clients (awscli, boto3, Ansible, Terraform), and every request
//! they send is signed with an access key's secret. This module decides whether a request, as
//! received, was signed by a holder of a known secret, recently, for this endpoint. It is pure:
//! no I/O and no clock (the caller passes the current time), so it is tested without a server.
//!
//! What [`verify`] checks, in order (design note `ec2-query-api.md` §2.1, botocore
//! `auth.py SigV4Auth`):
//!
//! 1. One `Authorization` header: `AWS4-HMAC-SHA256`, then
//!    `Credential=AKID/YYYYMMDD/region/service/aws4_request`, `SignedHeaders=a;b;c` and
//!    `Signature=<64 hex>`, separated by commas, in any order, spaces optional.
//! 2. The request time from `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`), or else from `Date` (HTTP date,
//!    what botocore sends when the caller set a `Date` header).
//! 3. `host`, that date header, and `x-amz-security-token` when present are among the signed
//!    headers, and every signed header is in the request.
//! 4. The scope: an accepted service, the server's region (exact, case-sensitive), and the
//!    scope date equal to the request date.
//! 5. The request time within the allowed skew of the server clock.
//! 6. `X-Amz-Content-Sha256`, when sent, equal to the SHA-256 of the body.
//! 7. The signature recomputed from the canonical request with the access key's secret, and
//!    compared in constant time. An unknown access key costs the same work as a known one.
//!
//! The canonical request follows the AWS rules as botocore applies them for every service but
//! S3: dot segments and repeated slashes are removed from the path and each segment is
//! percent-encoded again (so `%20` on the wire is signed as `%2520`); the query comes from the
//! URL only, never from the form body; header values are trimmed, inner whitespace runs become
//! one space and repeated headers are joined with `,`.
//!
//! A rejection is a [`SigV4Error`]. The caller reports it in the vocabulary of the API the client
//! called ([`SigV4Error::code`], [`SigV4Error::status`], [`SigV4Error::message`]):
//!
//! | case | EC2 | STS |
//! |---|---|---|
//! | no `Authorization` header | `MissingAuthenticationToken` 403 | `MissingAuthenticationToken` 403 |
//! | malformed header, date, or required header not signed | `IncompleteSignature` 400 | `IncompleteSignature` 400 |
//! | wrong scope (service, region, date) | `AuthFailure` 401 | `SignatureDoesNotMatch` 403 |
//! | request time outside the allowed skew | `RequestExpired` 400 | `SignatureDoesNotMatch` 403 |
//! | unknown access key | `AuthFailure` 401 | `InvalidClientTokenId` 403 |
//! | signature or payload hash mismatch | `AuthFailure` 401 | `SignatureDoesNotMatch` 403 |
//!
//! EC2 answers every credential failure with `AuthFailure` and HTTP 401 ("AWS was not able to
//! validate the provided access credentials", aws/aws-sdk-java#2508, boto2 traces). STS, a
//! Query-protocol service like IAM, uses the common codes with 403 (`InvalidClientTokenId`,
//! `SignatureDoesNotMatch`, `MissingAuthenticationToken` as observed in
//! aws-azure-login#251 and amzn/selling-partner-api-docs#3081) and reports a skewed clock as
//! `SignatureDoesNotMatch` "Signature expired: …" (aws/aws-cli#6676). `RequestExpired` and
//! `IncompleteSignature` are 400 in the AWS common-errors lists; the scope and skew messages are
//! those of the IAM guide "Troubleshoot signed requests for AWS APIs". For a request with no
//! signature at all, EC2 has been seen answering `MissingParameter` ("The request must contain
//! the parameter AWSAccessKeyId", test-kitchen/kitchen-ec2#440); sgd answers the common
//! `MissingAuthenticationToken` for both APIs instead.
//!
//! Where things are:
//!
//! - this file: the public surface ([`Request`], [`Policy`], [`SecretLookup`], [`Verified`],
//!   [`Service`]) and the two entry points, [`verify`] and [`sign`];
//! - `error.rs`: [`SigV4Error`] and its AWS codes, HTTP statuses and messages per service;
//! - `authorization.rs`: parsing the `Authorization` header ([`parse_authorization`]) and the
//!   request time (`X-Amz-Date` and HTTP dates);
//! - `canonical.rs`: the canonical request, URI, query and header values, percent-encoding, the
//!   string to sign, the signing key and HMAC;
//! - `tests/`: the AWS test-suite vectors, the captured botocore requests, the rejection cases
//!   and unit tests of the pieces above.

mod authorization;
mod canonical;
mod error;
#[cfg(test)]
mod tests;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use authorization::{Authorization, parse_authorization};
pub use canonical::{canonical_request, signing_key, string_to_sign};
pub use error::SigV4Error;

/// `YYYYMMDDTHHMMSSZ`, the `X-Amz-Date` of `time` (for clients that sign, such as tests).
pub fn basic_time(time: SystemTime) -> String {
    basic(time)
}

use authorization::{RequestTime, basic, is_http_space, request_time};
use canonical::{hmac_sha256, join_canonical_values};

/// The only signing algorithm accepted: SigV4 with HMAC-SHA256.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// How far the request time may be from the server clock, either way, unless configured
/// otherwise. The IAM guide asks that a request reach AWS within five minutes of its time stamp
/// (the AWS common-errors text for `RequestExpired` says fifteen).
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// The last element of every SigV4 credential scope.
const TERMINATOR: &str = "aws4_request";

/// Stands in for the secret of an unknown access key, so that rejecting an unknown key costs the
/// same key derivation and HMAC as rejecting a bad signature.
const DUMMY_SECRET: &str = "sgdUnknownAccessKeyDummySecret0000000000";

/// The API a request is addressed to, which decides the vocabulary of its error responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// The EC2 Query API (`ec2` in the credential scope).
    Ec2,
    /// STS, for `GetCallerIdentity` (`sts` in the credential scope).
    Sts,
}

impl Service {
    /// The name used in credential scopes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ec2 => "ec2",
            Self::Sts => "sts",
        }
    }

    /// The service for a credential-scope name, if it is one sgd answers.
    pub fn from_scope(name: &str) -> Option<Self> {
        match name {
            "ec2" => Some(Self::Ec2),
            "sts" => Some(Self::Sts),
            _ => None,
        }
    }

    /// The service named in the request's credential scope, when its `Authorization` header
    /// parses and names `ec2` or `sts`. Lets the caller choose the error vocabulary before (or
    /// without) a successful verification; the claim itself is not authenticated.
    pub fn claimed_by(req: &Request<'_>) -> Option<Self> {
        let mut values = req.values("authorization");
        let value = std::str::from_utf8(values.next()?).ok()?;
        let auth = parse_authorization(value).ok()?;
        Self::from_scope(&auth.service)
    }
}

/// An HTTP request as received, borrowed from the HTTP layer.
///
/// Header names are compared case-insensitively; repeated headers keep their order. When the
/// transport carries the host elsewhere (HTTP/2 `:authority`), the caller must pass it as a
/// `host` header, since every client signs it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method, as on the request line (`POST`).
    pub method: &'a str,
    /// The path as on the wire, still percent-encoded, without the query (`/`).
    pub path: &'a str,
    /// The raw query string without the `?` (empty for the form POSTs of the Query API).
    pub query: &'a str,
    /// The headers in received order, values as raw bytes.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The whole body.
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// The values of every header named `lname` (lowercase), in order.
    fn values<'s>(&'s self, lname: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.headers
            .iter()
            .filter(move |(name, _)| name.eq_ignore_ascii_case(lname))
            .map(|(_, value)| *value)
    }

    fn has(&self, lname: &str) -> bool {
        self.values(lname).next().is_some()
    }
}

/// What the server accepts: its region, the services it answers, its clock and the skew it
/// tolerates.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// The region the credential scope must name, compared exactly (clients send it as
    /// configured; the Java SDK was seen sending `US-WEST-2`).
    pub region: &'a str,
    /// The credential-scope services accepted, e.g. `["ec2", "sts"]`.
    pub services: &'a [&'a str],
    /// The current time of the server.
    pub now: SystemTime,
    /// How far the request time may be from `now`, either way.
    pub max_skew: Duration,
}

impl<'a> Policy<'a> {
    /// A policy with the default skew ([`DEFAULT_MAX_SKEW`]).
    pub fn new(region: &'a str, services: &'a [&'a str], now: SystemTime) -> Self {
        Self {
            region,
            services,
            now,
            max_skew: DEFAULT_MAX_SKEW,
        }
    }
}

/// Finds the secret access key of an access key ID; `None` if the key is unknown.
///
/// Any `Fn(&str) -> Option<String>` is one, e.g. a closure over the credentials file.
pub trait SecretLookup {
    fn secret(&self, access_key_id: &str) -> Option<String>;
}

impl<F> SecretLookup for F
where
    F: Fn(&str) -> Option<String>,
{
    fn secret(&self, access_key_id: &str) -> Option<String> {
        self(access_key_id)
    }
}

/// A request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Who signed it.
    pub access_key_id: String,
    /// The credential-scope service, one of [`Policy::services`].
    pub service: String,
    /// The credential-scope region, equal to [`Policy::region`].
    pub region: String,
    /// The request time as signed, `YYYYMMDDTHHMMSSZ`.
    pub timestamp: String,
    /// The request time.
    pub time: SystemTime,
    /// The headers the signature covers, lowercase and sorted.
    pub signed_headers: Vec<String>,
    /// The signed `X-Amz-Security-Token`, if any. sgd issues no session tokens, so the caller
    /// decides what a request carrying one means.
    pub session_token: Option<String>,
}

/// What can be checked before the body is read: the `Authorization` header, the request
/// time, the signed headers, the credential scope, the clock, and that the key exists. A
/// server calls it on the headers alone, so that a request it would refuse anyway cannot make
/// it read (and hold) a body; [`verify`] checks it all again, then the body and signature.
pub fn precheck<S>(req: &Request<'_>, policy: &Policy<'_>, secrets: &S) -> Result<(), SigV4Error>
where
    S: SecretLookup + ?Sized,
{
    let (auth, _) = check_scope(req, policy)?;
    match secrets.secret(&auth.access_key_id) {
        Some(_) => Ok(()),
        None => Err(SigV4Error::UnknownAccessKey {
            access_key_id: auth.access_key_id,
        }),
    }
}

/// Checks the signature of `req` against `policy`, finding the secret through `secrets`.
pub fn verify<S>(
    req: &Request<'_>,
    policy: &Policy<'_>,
    secrets: &S,
) -> Result<Verified, SigV4Error>
where
    S: SecretLookup + ?Sized,
{
    let (auth, time) = check_scope(req, policy)?;

    // 6. The body.
    let payload_hash = hex::encode(Sha256::digest(req.body));
    let mut claimed = req.values("x-amz-content-sha256").peekable();
    if claimed.peek().is_some() {
        let claimed: Vec<u8> = join_canonical_values(claimed);
        if claimed != payload_hash.as_bytes() {
            return Err(SigV4Error::PayloadHashMismatch);
        }
    }

    // 7. The signature, with the same work whether or not the key is known.
    let creq = canonical_request(req, &auth.signed_headers, &payload_hash);
    let to_sign = string_to_sign(&time.stamp, &auth.scope(), &creq);
    let secret = secrets.secret(&auth.access_key_id);
    let key = signing_key(
        secret.as_deref().unwrap_or(DUMMY_SECRET),
        &auth.scope_date,
        &auth.region,
        &auth.service,
    );
    let computed = hmac_sha256(&key, to_sign.as_bytes());
    let matches = std::hint::black_box(bool::from(computed[..].ct_eq(&auth.signature[..])));
    match secret {
        None => Err(SigV4Error::UnknownAccessKey {
            access_key_id: auth.access_key_id,
        }),
        Some(_) if !matches => Err(SigV4Error::SignatureMismatch {
            access_key_id: auth.access_key_id,
        }),
        Some(_) => {
            let session_token = req.values("x-amz-security-token").next().map(|v| {
                String::from_utf8_lossy(v)
                    .trim_matches(is_http_space)
                    .to_owned()
            });
            Ok(Verified {
                access_key_id: auth.access_key_id,
                service: auth.service,
                region: auth.region,
                timestamp: time.stamp,
                time: time.time,
                signed_headers: auth.signed_headers,
                session_token,
            })
        }
    }
}

/// Steps 1 to 5 of [`verify`], which need no body: the parsed header and the request time.
fn check_scope(
    req: &Request<'_>,
    policy: &Policy<'_>,
) -> Result<(Authorization, RequestTime), SigV4Error> {
    // 1. The Authorization header.
    let mut values = req.values("authorization");
    let raw = values.next().ok_or(SigV4Error::MissingAuthorization)?;
    if values.next().is_some() {
        return Err(SigV4Error::MalformedAuthorization(
            "The request has more than one Authorization header.".to_owned(),
        ));
    }
    let value = std::str::from_utf8(raw).map_err(|_| {
        SigV4Error::MalformedAuthorization("The Authorization header is not UTF-8.".to_owned())
    })?;
    if value.trim_matches(is_http_space).is_empty() {
        return Err(SigV4Error::MissingAuthorization);
    }
    let auth = parse_authorization(value)?;

    // 2. The request time.
    let time = request_time(req)?;

    // 3. What must be signed is signed, and what is signed is there.
    let signed = |name: &str| auth.signed_headers.iter().any(|h| h == name);
    for (required, needed) in [
        ("host", true),
        (time.header, true),
        ("x-amz-security-token", req.has("x-amz-security-token")),
    ] {
        if needed && !signed(required) {
            return Err(SigV4Error::HeaderNotSigned(required));
        }
    }
    if let Some(absent) = auth.signed_headers.iter().find(|name| !req.has(name)) {
        return Err(SigV4Error::SignedHeaderAbsent(absent.clone()));
    }

    // 4. The credential scope.
    if !policy.services.contains(&auth.service.as_str()) {
        return Err(SigV4Error::WrongService {
            got: auth.service.clone(),
        });
    }
    if auth.region != policy.region {
        return Err(SigV4Error::WrongRegion {
            got: auth.region.clone(),
            expected: policy.region.to_owned(),
        });
    }
    if time.stamp.get(..8) != Some(auth.scope_date.as_str()) {
        return Err(SigV4Error::ScopeDateMismatch {
            scope_date: auth.scope_date.clone(),
            timestamp: time.stamp.clone(),
        });
    }

    // 5. The clock.
    let earliest = policy
        .now
        .checked_sub(policy.max_skew)
        .unwrap_or(UNIX_EPOCH);
    if time.time < earliest {
        return Err(SigV4Error::Expired {
            timestamp: time.stamp,
            earliest: basic(earliest),
            now: basic(policy.now),
            max_skew: policy.max_skew,
        });
    }
    if let Some(latest) = policy.now.checked_add(policy.max_skew)
        && time.time > latest
    {
        return Err(SigV4Error::NotYetValid {
            timestamp: time.stamp,
            latest: basic(latest),
            now: basic(policy.now),
            max_skew: policy.max_skew,
        });
    }
    Ok((auth, time))
}

/// Signs `req` as an AWS SDK would and returns the `Authorization` header value. Meant for
/// tests and tools that need requests signed with a chosen time or secret.
///
/// The time is read from the request (`X-Amz-Date`, else `Date`), which the caller adds first.
/// Every header present is signed except `authorization`; the payload hash is computed from the
/// body.
pub fn sign(
    req: &Request<'_>,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
) -> Result<String, SigV4Error> {
    let time = request_time(req)?;
    let mut names: Vec<String> = req
        .headers
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .filter(|name| name != "authorization")
        .collect();
    names.sort();
    names.dedup();
    let payload_hash = hex::encode(Sha256::digest(req.body));
    let creq = canonical_request(req, &names, &payload_hash);
    let date = time.stamp.get(..8).unwrap_or_default();
    let scope = format!("{date}/{region}/{service}/{TERMINATOR}");
    let to_sign = string_to_sign(&time.stamp, &scope, &creq);
    let signature = hmac_sha256(
        &signing_key(secret, date, region, service),
        to_sign.as_bytes(),
    );
    Ok(format!(
        "{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={}, Signature={}",
        names.join(";"),
        hex::encode(signature)
    ))
}
