//! Parsing what a request says about its signature: the `Authorization` header
//! ([`parse_authorization`] into [`Authorization`]) and the request time, from `X-Amz-Date`
//! (ISO 8601 basic format) or else from `Date` (HTTP date).

use std::fmt::Write as _;
use std::time::SystemTime;

use super::error::{SigV4Error, quote};
use super::{ALGORITHM, Request, TERMINATOR};

/// The parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    /// `YYYYMMDD`, as sent (checked against the request date by [`verify`](super::verify)).
    pub scope_date: String,
    pub region: String,
    pub service: String,
    /// Lowercase, sorted, without duplicates.
    pub signed_headers: Vec<String>,
    pub signature: [u8; 32],
}

impl Authorization {
    /// The credential scope, `date/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{TERMINATOR}",
            self.scope_date, self.region, self.service
        )
    }
}

/// Parses an `Authorization` header value: the algorithm, then `Credential`, `SignedHeaders`
/// and `Signature` separated by commas, in any order, with optional whitespace.
pub fn parse_authorization(value: &str) -> Result<Authorization, SigV4Error> {
    let value = value.trim_matches(is_http_space);
    let (algorithm, rest) = match value.find(is_http_space) {
        Some(at) => value.split_at(at),
        None => (value, ""),
    };
    if algorithm != ALGORITHM {
        return Err(SigV4Error::UnsupportedAlgorithm(
            quote(algorithm).to_owned(),
        ));
    }
    let malformed = SigV4Error::MalformedAuthorization;

    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim_matches(is_http_space);
        if part.is_empty() {
            continue;
        }
        let Some((key, val)) = part.split_once('=') else {
            return Err(malformed(format!(
                "'{}' not a valid key=value pair (missing equal-sign) in Authorization header.",
                quote(part)
            )));
        };
        let key = key.trim_matches(is_http_space);
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => {
                return Err(malformed(format!(
                    "Authorization header has an unknown parameter '{}'.",
                    quote(key)
                )));
            }
        };
        if slot.replace(val.trim_matches(is_http_space)).is_some() {
            return Err(malformed(format!(
                "Authorization header has more than one '{key}' parameter."
            )));
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        // All missing parameters at once, in the order AWS lists them.
        let mut text = String::new();
        for (name, present) in [
            ("Credential", credential.is_some()),
            ("Signature", signature.is_some()),
            ("SignedHeaders", signed_headers.is_some()),
        ] {
            if !present {
                if !text.is_empty() {
                    text.push(' ');
                }
                let _ = write!(text, "Authorization header requires '{name}' parameter.");
            }
        }
        return Err(malformed(text));
    };

    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, scope_date, region, service, terminator] = scope[..] else {
        return Err(malformed(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got '{}'.",
            quote(credential)
        )));
    };
    if access_key_id.is_empty() {
        return Err(malformed(
            "Credential has an empty access key ID.".to_owned(),
        ));
    }
    if terminator != TERMINATOR {
        return Err(malformed(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{}'.",
            quote(terminator)
        )));
    }

    let names: Vec<&str> = signed_headers.split(';').collect();
    let well_formed = names.iter().all(|name| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase())
    }) && names.windows(2).all(|pair| pair[0] < pair[1]);
    if !well_formed {
        return Err(malformed(format!(
            "SignedHeaders must be lowercase header names, sorted, without repeats, separated \
             by ';', got '{}'.",
            quote(signed_headers)
        )));
    }
    if names.contains(&"authorization") {
        return Err(malformed(
            "The Authorization header cannot be a signed header.".to_owned(),
        ));
    }

    let mut sig = [0u8; 32];
    if signature.len() != 64 || hex::decode_to_slice(signature, &mut sig).is_err() {
        return Err(malformed(format!(
            "Signature must be 64 hexadecimal characters, got '{}'.",
            quote(signature)
        )));
    }

    Ok(Authorization {
        access_key_id: access_key_id.to_owned(),
        scope_date: scope_date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers: names.into_iter().map(str::to_owned).collect(),
        signature: sig,
    })
}

pub(super) fn is_http_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// The request time and where it came from.
#[derive(Debug, Clone)]
pub(super) struct RequestTime {
    /// The lowercase name of the header it came from, which must be signed.
    pub(super) header: &'static str,
    /// `YYYYMMDDTHHMMSSZ`, the form used in the string to sign.
    pub(super) stamp: String,
    pub(super) time: SystemTime,
}

/// The request time: `X-Amz-Date` if present, else `Date` (which botocore fills with an HTTP
/// date and signs instead of `X-Amz-Date` when the caller set one).
pub(super) fn request_time(req: &Request<'_>) -> Result<RequestTime, SigV4Error> {
    for (header, display) in [("x-amz-date", "X-Amz-Date"), ("date", "Date")] {
        let mut values = req.values(header);
        let Some(raw) = values.next() else { continue };
        if values.next().is_some() {
            return Err(SigV4Error::MalformedDate(format!(
                "The request has more than one {display} header."
            )));
        }
        let text = std::str::from_utf8(raw)
            .unwrap_or_default()
            .trim_matches(is_http_space);
        // The stamp is signed as sent; an HTTP date is signed in the basic format.
        let parsed = match parse_basic(text) {
            Some(time) => Some((time, text.to_owned())),
            None if header == "date" => parse_http_date(text).map(|time| (time, basic(time))),
            None => None,
        };
        let Some((time, stamp)) = parsed else {
            return Err(SigV4Error::MalformedDate(format!(
                "Date must be in ISO-8601 'basic format'. Got '{}'. See \
                 http://en.wikipedia.org/wiki/ISO_8601",
                quote(&String::from_utf8_lossy(raw))
            )));
        };
        return Ok(RequestTime {
            header,
            stamp,
            time,
        });
    }
    Err(SigV4Error::MissingDate)
}

/// Parses `YYYYMMDDTHHMMSSZ` (ISO 8601 basic format, UTC).
pub(super) fn parse_basic(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' || !digits(0..8) || !digits(9..15) {
        return None;
    }
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &text[0..4],
        &text[4..6],
        &text[6..8],
        &text[9..11],
        &text[11..13],
        &text[13..15]
    );
    humantime::parse_rfc3339(&rfc3339).ok()
}

/// Parses an HTTP date, `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 IMF-fixdate), also with the
/// zone written `UTC`, `+0000` or `-0000` (Python's `email.utils.formatdate`, used by botocore).
pub(super) fn parse_http_date(text: &str) -> Option<SystemTime> {
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    let [weekday, day, month, year, clock, zone] = fields[..] else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    let numeric = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    let clock_fields: Vec<&str> = clock.split(':').collect();
    let clock_ok = clock_fields.len() == 3 && clock_fields.iter().all(|f| numeric(f, 2));
    if !weekday.ends_with(',')
        || !numeric(day, 2)
        || !numeric(year, 4)
        || !clock_ok
        || !matches!(zone, "GMT" | "UTC" | "+0000" | "-0000")
    {
        return None;
    }
    humantime::parse_rfc3339(&format!("{year}-{month:02}-{day}T{clock}Z")).ok()
}

/// Formats a time as `YYYYMMDDTHHMMSSZ`.
pub(super) fn basic(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time)
        .to_string()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect()
}
