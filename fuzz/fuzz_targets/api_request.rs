//! The Unix socket's request decoder, as `api::server` runs it on each line a client sends
//! (`serde_json::from_slice::<Request>` of the line, its newline included).
//!
//! Beyond not panicking: a request that decodes re-encodes, and that encoding decodes to the
//! same request (`Request` is `Serialize` and `PartialEq`), so what sgd logs or forwards is
//! what it was sent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sg_userspace::api::Request;

fuzz_target!(|data: &[u8]| {
    let mut line = data.to_vec();
    line.push(b'\n');
    let Ok(req) = serde_json::from_slice::<Request>(&line) else {
        return;
    };
    let _ = req.operation();
    let again = serde_json::to_vec(&req).expect("a decoded request serialises");
    let back: Request = serde_json::from_slice(&again).unwrap_or_else(|e| {
        panic!(
            "a decoded request re-encodes as JSON that does not decode ({e}): {}",
            String::from_utf8_lossy(&again)
        )
    });
    assert_eq!(back, req, "{}", String::from_utf8_lossy(&again));
});
