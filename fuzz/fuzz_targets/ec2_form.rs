//! The EC2 Query API's parameters (`ec2::form::Params::parse`) and their decoding into the
//! daemon's requests (`ec2::decode::decode`), as the HTTP server runs them on a request.
//!
//! The input is the URL's query string, a newline, then the form body (the body may hold any
//! bytes; a query that is not UTF-8 is read lossily, as the server never gets one).
//!
//! Beyond not panicking:
//! - the parsed names are sorted and unique, and at most `MAX_PARAMS`;
//! - the parameters written back as a form (by `form_urlencoded`'s encoder) parse to the same
//!   names and values;
//! - the digest paging tokens are bound to is the same with query and body swapped (the same
//!   parameters in another order);
//! - a request that decodes has no parameter left unread, and goes through the Unix socket's
//!   JSON unchanged (what the HTTP API decodes, the daemon's other wire can say too).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sg_userspace::{
    api::Request,
    ec2::{
        decode,
        form::{MAX_PARAMS, Params},
    },
};

/// Every parameter of a freshly parsed `Params` as (name, value), in name order. Reading them
/// marks them used, so this takes a copy the caller does not decode. (`X-Amz-*` names, which
/// [`Params::unused`] never lists, are left out.)
fn pairs(p: &Params) -> Vec<(String, String)> {
    let mut names: Vec<String> = p.unused().into_iter().map(str::to_owned).collect();
    for envelope in ["Action", "Version"] {
        if p.get(envelope).is_some() {
            names.push(envelope.to_owned());
        }
    }
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let v = p.get(&n).expect("a listed name has a value").to_owned();
            (n, v)
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let query = String::from_utf8_lossy(query);
    let Ok(params) = Params::parse(&query, body) else {
        return;
    };
    let listed = params.unused();
    assert!(listed.len() <= MAX_PARAMS);
    assert!(
        listed.windows(2).all(|w| w[0] < w[1]),
        "names not sorted and unique: {listed:?}"
    );

    // Written back as a form, the same parameters.
    let fresh = Params::parse(&query, body).expect("parses again");
    let before = pairs(&fresh);
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (n, v) in &before {
        form.append_pair(n, v);
    }
    let form = form.finish();
    let again = Params::parse("", form.as_bytes())
        .unwrap_or_else(|e| panic!("{before:?} written back as {form:?} does not parse: {e}"));
    assert_eq!(pairs(&again), before, "written back as {form:?}");

    // The same parameters in another order: the same digest.
    if let Ok(body_text) = std::str::from_utf8(body)
        && let Ok(swapped) = Params::parse(body_text, query.as_bytes())
    {
        assert_eq!(
            swapped.digest(&[]),
            params.digest(&[]),
            "order changed the digest"
        );
    }

    let Ok(action) = params.action() else {
        return;
    };
    let Some(Ok(decoded)) = decode::decode(action, &params) else {
        return;
    };
    assert!(params.unused().is_empty(), "decoded with names unread");
    let line = serde_json::to_vec(&decoded.request).expect("a request serialises");
    let back: Request = serde_json::from_slice(&line).unwrap_or_else(|e| {
        panic!(
            "the socket cannot carry a decoded request ({e}): {}",
            String::from_utf8_lossy(&line)
        )
    });
    assert_eq!(back, decoded.request);
});
