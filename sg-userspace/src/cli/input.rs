//! One option's values to the JSON of its parameter, in every form the AWS CLI v1 accepts:
//! `file://path` (and `fileb://`) for the text of a file, JSON (a list, or one structure),
//! shorthand (`Key=a,Value=b`), several values for a list; and `--cli-input-json`'s document.
//! The shapes in `shapes` type and check what is read.

use serde_json::{Map, Value};

use super::{
    UsageError,
    shapes::{Shape, check, coerce},
    shorthand,
};

fn usage(option: &str, msg: impl std::fmt::Display) -> UsageError {
    UsageError(format!("argument {option}: {msg}"))
}

/// The text of `file://path` or `fileb://path` (`~` and `$VAR` expanded, as awscli does), or
/// `None` for a value that names no file.
fn paramfile(option: &str, text: &str) -> Result<Option<String>, UsageError> {
    let Some(path) = text
        .strip_prefix("file://")
        .or_else(|| text.strip_prefix("fileb://"))
    else {
        return Ok(None);
    };
    let path = expand(path);
    let bytes = std::fs::read(&path)
        .map_err(|e| usage(option, format!("unable to load paramfile {text}: {e}")))?;
    String::from_utf8(bytes).map(Some).map_err(|_| {
        usage(
            option,
            format!("unable to load paramfile ({path}), text contents could not be decoded"),
        )
    })
}

/// `~/x` and `$HOME/x` / `${HOME}/x` as the shell would have written them.
fn expand(path: &str) -> String {
    let home = || std::env::var("HOME").unwrap_or_default();
    let path = match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{}{rest}", home()),
        _ => path.to_owned(),
    };
    let mut out = String::new();
    let mut rest = path.as_str();
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(j) => (&braced[..j], &braced[j + 1..]),
                None => ("", after),
            }
        } else {
            let j = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..j], &after[j..])
        };
        match std::env::var(name) {
            Ok(v) if !name.is_empty() => out.push_str(&v),
            // An unset variable stays as written (os.path.expandvars).
            _ => out.push_str(&rest[i..rest.len() - tail.len()]),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// A string option's value: the value itself, or the text of the file it names.
pub fn string(option: &str, text: &str) -> Result<String, UsageError> {
    Ok(paramfile(option, text)?.unwrap_or_else(|| text.to_owned()))
}

fn json(option: &str, text: &str) -> Result<Value, UsageError> {
    serde_json::from_str(text).map_err(|e| usage(option, format!("invalid JSON: {e}: {text}")))
}

/// A structure option's value: JSON `{...}` or shorthand, either possibly from a file.
pub fn structure(
    option: &str,
    param: &str,
    shape: &Shape,
    text: &str,
) -> Result<Value, UsageError> {
    let loaded = paramfile(option, text)?;
    let text = loaded.as_deref().unwrap_or(text).trim();
    if text.starts_with('{') {
        check(shape, json(option, text)?, param).map_err(|e| usage(option, e))
    } else {
        let v = shorthand::parse(text).map_err(|e| usage(option, e))?;
        coerce(shape, v, param).map_err(|e| usage(option, e))
    }
}

/// A list option's values, each of them one of: a JSON list (`[...]`, its items appended), a
/// JSON structure (`{...}`), shorthand for one structure (`Key=a,Value=b`), a plain value
/// where the items are strings, or `file://` holding any of those (a file may also hold
/// several plain values, separated by whitespace).
pub fn list(
    option: &str,
    param: &str,
    member: &Shape,
    values: &[String],
) -> Result<Vec<Value>, UsageError> {
    let mut out = Vec::new();
    for raw in values {
        let loaded = paramfile(option, raw)?;
        let from_file = loaded.is_some();
        let text = loaded.as_deref().unwrap_or(raw);
        let trimmed = text.trim();
        let path = |i: usize| format!("{param}[{i}]");
        let structured = member.is_structure();
        if trimmed.starts_with('[') {
            match serde_json::from_str::<Value>(trimmed) {
                Ok(Value::Array(items)) => {
                    for item in items {
                        let item = check(member, item, &path(out.len()));
                        out.push(item.map_err(|e| usage(option, e))?);
                    }
                    continue;
                }
                Ok(_) => unreachable!("JSON text starting with '[' is a list"),
                // A name such as `[prod]` is a value, not broken JSON.
                Err(_) if !structured => {}
                Err(e) => {
                    return Err(usage(option, format!("invalid JSON: {e}: {trimmed}")));
                }
            }
        }
        if structured && trimmed.starts_with('{') {
            let item = check(member, json(option, trimmed)?, &path(out.len()));
            out.push(item.map_err(|e| usage(option, e))?);
        } else if member.takes_word() && !(structured && trimmed.contains('=')) {
            let words: Vec<&str> = if from_file {
                trimmed.split_whitespace().collect()
            } else {
                vec![text]
            };
            for w in words {
                let item = coerce(member, Value::String(w.to_owned()), &path(out.len()));
                out.push(item.map_err(|e| usage(option, e))?);
            }
        } else {
            let v = shorthand::parse(trimmed).map_err(|e| usage(option, e))?;
            let item = coerce(member, v, &path(out.len())).map_err(|e| usage(option, e))?;
            out.push(item);
        }
    }
    Ok(out)
}

/// `--cli-input-json`: a JSON object (or `file://` holding one) of the operation's
/// parameters.
pub fn cli_input_json(text: &str) -> Result<Map<String, Value>, UsageError> {
    const OPTION: &str = "--cli-input-json";
    let loaded = paramfile(OPTION, text)?;
    let text = loaded.as_deref().unwrap_or(text);
    match json(OPTION, text.trim())? {
        Value::Object(map) => Ok(map),
        other => Err(usage(
            OPTION,
            format!(
                "expected a JSON object of parameters, found {}",
                match other {
                    Value::Array(_) => "a list".to_owned(),
                    v => v.to_string(),
                }
            ),
        )),
    }
}

/// The private addresses to send, from `PrivateIpAddresses` items that are addresses or
/// `{"PrivateIpAddress": ..., "Primary": ...}` structures: the primary one first.
pub fn private_addresses(option: &str, items: Vec<Value>) -> Result<Value, UsageError> {
    let mut primary: Option<String> = None;
    let mut rest = Vec::new();
    for item in items {
        match item {
            Value::String(s) => rest.push(s),
            Value::Object(mut m) => {
                let Some(Value::String(addr)) = m.remove("PrivateIpAddress") else {
                    return Err(usage(
                        option,
                        "each structure needs its PrivateIpAddress: PrivateIpAddress=string,Primary=boolean",
                    ));
                };
                if m.get("Primary") == Some(&Value::Bool(true)) {
                    if let Some(first) = &primary {
                        return Err(usage(
                            option,
                            format!("only one address can be primary: {first} and {addr} are"),
                        ));
                    }
                    primary = Some(addr);
                } else {
                    rest.push(addr);
                }
            }
            other => return Err(usage(option, format!("not an address: {other}"))),
        }
    }
    Ok(primary.into_iter().chain(rest).map(Value::String).collect())
}

#[cfg(test)]
mod tests;
