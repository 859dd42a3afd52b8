//! What gets signed and with which key: the canonical request (canonical URI, canonical query,
//! canonical header values, percent-encoding as AWS does it), the string to sign, the signing
//! key derived from the secret, and HMAC-SHA256.

use std::fmt::Write as _;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::{ALGORITHM, Request, TERMINATOR};

type HmacSha256 = Hmac<Sha256>;

/// The canonical request: method, canonical URI, canonical query, the signed headers as
/// `name:value` lines, the signed-header list and the payload hash, separated by newlines.
/// Bytes, since header values may be any octets.
pub fn canonical_request<S: AsRef<str>>(
    req: &Request<'_>,
    signed_headers: &[S],
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + req.query.len());
    out.extend_from_slice(req.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(req.path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(req.query).as_bytes());
    out.push(b'\n');
    for name in signed_headers {
        let name = name.as_ref();
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        out.extend_from_slice(&join_canonical_values(req.values(name)));
        out.push(b'\n');
    }
    out.push(b'\n');
    for (i, name) in signed_headers.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        out.extend_from_slice(name.as_ref().as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// The values of one header, each trimmed with inner whitespace runs made one space, joined
/// with `,` (repeated headers keep their order).
pub(super) fn join_canonical_values<'v>(values: impl Iterator<Item = &'v [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut pending_space = false;
        let mut started = false;
        for &b in value {
            if b.is_ascii_whitespace() {
                pending_space = started;
            } else {
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                out.push(b);
                started = true;
            }
        }
    }
    out
}

/// The canonical URI: empty and `.` segments dropped, `..` removing the previous one, each
/// remaining segment percent-encoded as received (wire escapes are encoded again), a trailing
/// `/` kept.
pub(super) fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        uri_encode(segment.as_bytes(), &mut out);
    }
    if !segments.is_empty() && path.ends_with('/') {
        out.push('/');
    }
    out
}

/// The canonical query: each `key=value` pair (a lone key gets an empty value) decoded and
/// percent-encoded again with the SigV4 unreserved set, sorted by key then value.
pub(super) fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let mut k = String::new();
            let mut v = String::new();
            uri_encode(&percent_decode(key), &mut k);
            uri_encode(&percent_decode(value), &mut v);
            (k, v)
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len());
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits, and `+`, stay as they are.
fn percent_decode(text: &str) -> Vec<u8> {
    fn hex_digit(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = match b.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex_digit(*hi).zip(hex_digit(*lo)),
            _ => None,
        };
        match escaped {
            Some((hi, lo)) => {
                out.push((hi << 4) | lo);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

/// Percent-encodes every byte outside `A-Z a-z 0-9 - _ . ~`, with upper-case hex.
fn uri_encode(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// The string to sign: algorithm, request time, credential scope and the hex SHA-256 of the
/// canonical request.
pub fn string_to_sign(timestamp: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request))
    )
}

/// The signing key: the secret narrowed by date, region, service and terminator.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

pub(super) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    let mut out = [0u8; 32];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}
