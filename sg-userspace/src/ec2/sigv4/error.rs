//! Why a request was rejected ([`SigV4Error`]) and how to say it to the client: the AWS error
//! code, HTTP status and message in the vocabulary of the API called (EC2 or STS), as in the
//! table of the module documentation. Also the cutting of client input quoted in messages.

use std::time::Duration;

use super::{ALGORITHM, Service};

/// Longest piece of client input quoted back in an error message.
pub(super) const QUOTE_MAX: usize = 128;

/// Why a request was rejected. [`SigV4Error::code`], [`SigV4Error::status`] and
/// [`SigV4Error::message`] give the AWS error for the API called; `Display` is for logs and says
/// more (an unknown key and a bad signature are told apart there, not on the wire for EC2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    #[error("the request has no Authorization header")]
    MissingAuthorization,
    /// The `Authorization` header does not parse; the text says why, in the AWS wording.
    #[error("malformed Authorization header: {0}")]
    MalformedAuthorization(String),
    #[error("unsupported Authorization algorithm {0:?}, only {ALGORITHM} is accepted")]
    UnsupportedAlgorithm(String),
    #[error("the request has neither an X-Amz-Date nor a Date header")]
    MissingDate,
    /// The date header does not parse; the text says why, in the AWS wording.
    #[error("malformed request date: {0}")]
    MalformedDate(String),
    /// A header that must be signed (`host`, the date header, `x-amz-security-token`) is not
    /// among the signed headers, so it could have been changed on the way.
    #[error("the {0} header is not among the signed headers")]
    HeaderNotSigned(&'static str),
    #[error("the signed header {0:?} is not in the request")]
    SignedHeaderAbsent(String),
    #[error("the credential scope names service {got:?}, which is not accepted here")]
    WrongService { got: String },
    #[error("the credential scope names region {got:?}, expected {expected:?}")]
    WrongRegion { got: String, expected: String },
    #[error(
        "the credential scope date {scope_date:?} is not the date of the request time {timestamp}"
    )]
    ScopeDateMismatch {
        scope_date: String,
        timestamp: String,
    },
    /// The request time is older than `now - max_skew` (`earliest`).
    #[error("request time {timestamp} is before {earliest} (server time {now}, allowed skew {}s)", .max_skew.as_secs())]
    Expired {
        timestamp: String,
        earliest: String,
        now: String,
        max_skew: Duration,
    },
    /// The request time is later than `now + max_skew` (`latest`).
    #[error("request time {timestamp} is after {latest} (server time {now}, allowed skew {}s)", .max_skew.as_secs())]
    NotYetValid {
        timestamp: String,
        latest: String,
        now: String,
        max_skew: Duration,
    },
    #[error("X-Amz-Content-Sha256 is not the SHA-256 of the body")]
    PayloadHashMismatch,
    #[error("unknown access key ID {access_key_id:?}")]
    UnknownAccessKey { access_key_id: String },
    #[error("the signature does not match for access key ID {access_key_id:?}")]
    SignatureMismatch { access_key_id: String },
}

/// The rows of the error table in the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Missing,
    Incomplete,
    Scope,
    Skew,
    UnknownKey,
    Mismatch,
}

impl SigV4Error {
    fn class(&self) -> Class {
        match self {
            Self::MissingAuthorization => Class::Missing,
            Self::MalformedAuthorization(_)
            | Self::UnsupportedAlgorithm(_)
            | Self::MissingDate
            | Self::MalformedDate(_)
            | Self::HeaderNotSigned(_)
            | Self::SignedHeaderAbsent(_) => Class::Incomplete,
            Self::WrongService { .. }
            | Self::WrongRegion { .. }
            | Self::ScopeDateMismatch { .. } => Class::Scope,
            Self::Expired { .. } | Self::NotYetValid { .. } => Class::Skew,
            Self::UnknownAccessKey { .. } => Class::UnknownKey,
            Self::PayloadHashMismatch | Self::SignatureMismatch { .. } => Class::Mismatch,
        }
    }

    /// The AWS error code to answer with, in the vocabulary of `service`.
    pub fn code(&self, service: Service) -> &'static str {
        match (self.class(), service) {
            (Class::Missing, _) => "MissingAuthenticationToken",
            (Class::Incomplete, _) => "IncompleteSignature",
            (Class::Skew, Service::Ec2) => "RequestExpired",
            (Class::Scope | Class::UnknownKey | Class::Mismatch, Service::Ec2) => "AuthFailure",
            (Class::UnknownKey, Service::Sts) => "InvalidClientTokenId",
            (Class::Scope | Class::Skew | Class::Mismatch, Service::Sts) => "SignatureDoesNotMatch",
        }
    }

    /// The HTTP status to answer with, in the conventions of `service`.
    pub fn status(&self, service: Service) -> u16 {
        match (self.class(), service) {
            (Class::Missing, _) => 403,
            (Class::Incomplete, _) => 400,
            (Class::Skew, Service::Ec2) => 400,
            (Class::Scope | Class::UnknownKey | Class::Mismatch, Service::Ec2) => 401,
            (Class::Scope | Class::Skew | Class::UnknownKey | Class::Mismatch, Service::Sts) => 403,
        }
    }

    /// The error message to answer with, worded as AWS words it for `service`.
    pub fn message(&self, service: Service) -> String {
        const EC2_AUTH_FAILURE: &str =
            "AWS was not able to validate the provided access credentials";
        match self {
            Self::MissingAuthorization => "Request is missing Authentication Token".to_owned(),
            Self::MalformedAuthorization(text) | Self::MalformedDate(text) => text.clone(),
            Self::UnsupportedAlgorithm(alg) => format!(
                "Unsupported AWS 'algorithm': '{}'. Only '{ALGORITHM}' is accepted.",
                quote(alg)
            ),
            Self::MissingDate => {
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                    .to_owned()
            }
            Self::HeaderNotSigned("host") => {
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
                    .to_owned()
            }
            Self::HeaderNotSigned(name) => {
                format!("'{name}' must be a 'SignedHeader' in the AWS Authorization.")
            }
            Self::SignedHeaderAbsent(name) => format!(
                "The request does not contain the signed header '{}'.",
                quote(name)
            ),
            Self::WrongService { .. } => format!(
                "Credential should be scoped to correct service: '{}'.",
                service.name()
            ),
            Self::WrongRegion { got, .. } => format!(
                "Credential should be scoped to a valid region, not '{}'.",
                quote(got)
            ),
            Self::ScopeDateMismatch {
                scope_date,
                timestamp,
            } => format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
                 from HTTP: '{}' != '{}', from '{timestamp}'.",
                quote(scope_date),
                timestamp.get(..8).unwrap_or(timestamp)
            ),
            Self::Expired {
                timestamp,
                earliest,
                now,
                max_skew,
            } => {
                let detail = format!(
                    "Signature expired: {timestamp} is now earlier than {earliest} ({now} - {}.)",
                    skew_text(*max_skew)
                );
                match service {
                    Service::Ec2 => format!("Request has expired. {detail}"),
                    Service::Sts => detail,
                }
            }
            Self::NotYetValid {
                timestamp,
                latest,
                now,
                max_skew,
            } => format!(
                "Signature not yet current: {timestamp} is still later than {latest} ({now} + {}.)",
                skew_text(*max_skew)
            ),
            Self::PayloadHashMismatch => {
                "The provided 'x-amz-content-sha256' header does not match what was computed."
                    .to_owned()
            }
            Self::UnknownAccessKey { .. } => match service {
                Service::Ec2 => EC2_AUTH_FAILURE.to_owned(),
                Service::Sts => "The security token included in the request is invalid".to_owned(),
            },
            Self::SignatureMismatch { .. } => match service {
                Service::Ec2 => EC2_AUTH_FAILURE.to_owned(),
                Service::Sts => "The request signature we calculated does not match the signature \
                                 you provided. Check your AWS Secret Access Key and signing method. \
                                 Consult the service documentation for details."
                    .to_owned(),
            },
        }
    }
}

/// `5 min` for whole minutes (as AWS prints it), else seconds.
fn skew_text(skew: Duration) -> String {
    let secs = skew.as_secs();
    if secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// Client input quoted in a message, cut to [`QUOTE_MAX`] characters.
pub(super) fn quote(s: &str) -> &str {
    match s.char_indices().nth(QUOTE_MAX) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}
