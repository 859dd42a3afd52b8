//! sgctl's parser of the AWS CLI shorthand syntax (`cli::shorthand::parse`) over any text.
//!
//! Beyond not panicking: what it reads is a structure of strings, lists and structures (its
//! documented output), a syntax error points inside the text, and whatever it reads can be
//! written back in the explicit forms of the grammar (`"quoted"`, `[...]`, `{...}`) and reads
//! as the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use sg_userspace::cli::shorthand;

/// Strings, lists and structures only: typing (numbers, booleans) is `shapes::coerce`'s job.
fn only_strings(v: &Value) -> bool {
    match v {
        Value::String(_) => true,
        Value::Array(items) => items.iter().all(only_strings),
        Value::Object(m) => m.values().all(only_strings),
        _ => false,
    }
}

/// `v` in the grammar's explicit forms: a double-quoted string (`\"` and `\\` escaped), an
/// explicit list or a hash literal.
fn explicit(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                explicit(item, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(k);
                out.push('=');
                explicit(item, out);
            }
            out.push('}');
        }
        other => unreachable!("shorthand reads no {other}"),
    }
}

/// The top-level `key=value,...` of a parsed parameter.
fn write_back(m: &serde_json::Map<String, Value>) -> String {
    let mut out = String::new();
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        explicit(v, &mut out);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match shorthand::parse(text) {
        Ok(v) => {
            let Value::Object(m) = &v else {
                panic!("a parameter parses to a structure, not {v}");
            };
            assert!(only_strings(&v), "not only strings: {v}");
            let again = write_back(m);
            match shorthand::parse(&again) {
                Ok(w) => assert_eq!(v, w, "{text:?} written back as {again:?}"),
                Err(e) => panic!("{text:?} written back as {again:?} does not parse: {e}"),
            }
        }
        Err(e) => {
            assert!(
                e.at <= text.chars().count(),
                "error at {} past the end: {e}",
                e.at
            );
            let _ = e.to_string();
        }
    }
});
