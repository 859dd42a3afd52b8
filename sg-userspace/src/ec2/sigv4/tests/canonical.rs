//! The pieces of the canonical request: URI normalisation and encoding, query sorting and
//! encoding, header values trimmed, collapsed and joined.

use super::super::canonical::{canonical_query, canonical_uri, join_canonical_values};
use super::*;

#[test]
fn canonical_uri_normalises_and_encodes_again() {
    for (path, expected) in [
        ("", "/"),
        ("/", "/"),
        ("//", "/"),
        ("/a/./b/../c/", "/a/c/"),
        ("/a/..", "/"),
        ("/../a", "/a"),
        // What arrives escaped on the wire is escaped again, as botocore signs it.
        ("/a%20b", "/a%2520b"),
        ("/a b/ሴ", "/a%20b/%E1%88%B4"),
        ("/-._~!$'()*", "/-._~%21%24%27%28%29%2A"),
    ] {
        assert_eq!(canonical_uri(path), expected, "{path:?}");
    }
    let raw = Raw {
        path: "/some%20path/x".to_owned(),
        ..Raw::botocore_like(TIME, BODY)
    }
    .signed("ec2");
    assert!(raw.verify().is_ok());
}

#[test]
fn canonical_query_sorts_and_encodes() {
    for (query, expected) in [
        ("", ""),
        ("b=2&a=1&a=0", "a=0&a=1&b=2"),
        ("lone&x=", "lone=&x="),
        ("a&&b=1&", "a=&b=1"),
        ("%7e=%41%2f", "~=A%2F"),
        ("a+b=c d", "a%2Bb=c%20d"),
        ("k=%zz%4", "k=%25zz%254"),
        ("B=1&a=2", "B=1&a=2"),
    ] {
        assert_eq!(canonical_query(query), expected, "{query:?}");
    }
}

#[test]
fn header_values_are_trimmed_collapsed_and_joined() {
    let values: [&[u8]; 3] = [b"  a   b\t c ", b"", b"\td"];
    assert_eq!(join_canonical_values(values.into_iter()), b"a b c,,d");
}
