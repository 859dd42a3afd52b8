//! The AWS CLI's shorthand syntax for structured options, e.g.
//! `Name=vpc-id,Values=vpc-1,vpc-2`, `ResourceType=security-group,Tags=[{Key=env,Value=prod}]`,
//! `SecurityGroupRuleId=sgr-1,SecurityGroupRule={IpProtocol=tcp,FromPort=22,ToPort=22}`.
//! An argument that starts with `{` or `[` is JSON instead.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Keys whose scalar values are numbers.
const NUMERIC: &[&str] = &[
    "FromPort",
    "ToPort",
    "MaxEntries",
    "CurrentVersion",
    "TcpEstablishedTimeout",
    "UdpStreamTimeout",
    "UdpTimeout",
];
/// Keys whose value is a list even when one scalar is given.
const LISTS: &[&str] = &["Values"];

/// Parses one option value (shorthand or JSON) into `T`.
pub fn parse<T: DeserializeOwned>(option: &str, text: &str) -> Result<T, String> {
    let value = if text.trim_start().starts_with(['{', '[']) {
        serde_json::from_str(text).map_err(|e| format!("argument {option}: invalid JSON: {e}"))?
    } else {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p
            .structure(None)
            .map_err(|e| format!("argument {option}: {e} in '{text}'"))?;
        if p.i != p.s.len() {
            return Err(format!(
                "argument {option}: unexpected '{}' in '{text}'",
                &text[p.i..]
            ));
        }
        v
    };
    serde_json::from_value(value).map_err(|e| format!("argument {option}: {e}"))
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// `key=value,key=value,...` up to `close` (or the end).
    fn structure(&mut self, close: Option<u8>) -> Result<Value, String> {
        let mut map = Map::new();
        let mut last: Option<String> = None;
        loop {
            if self.peek() == close || self.peek().is_none() {
                break;
            }
            let start = self.i;
            while let Some(c) = self.peek() {
                if c == b'=' || c == b',' || Some(c) == close {
                    break;
                }
                self.i += 1;
            }
            let word = String::from_utf8_lossy(&self.s[start..self.i])
                .trim()
                .to_owned();
            if self.peek() == Some(b'=') {
                self.i += 1;
                let v = self.value(&word, close)?;
                map.insert(word.clone(), v);
                last = Some(word);
            } else {
                // A bare word continues the previous key's list: `Values=a,b,c`.
                let Some(key) = &last else {
                    return Err(format!("expected key=value, found '{word}'"));
                };
                let entry = map.get_mut(key).expect("inserted");
                if !entry.is_array() {
                    *entry = Value::Array(vec![entry.take()]);
                }
                entry
                    .as_array_mut()
                    .expect("array")
                    .push(Value::String(word));
            }
            if self.peek() == Some(b',') {
                self.i += 1;
            }
        }
        Ok(Value::Object(map))
    }

    fn value(&mut self, key: &str, close: Option<u8>) -> Result<Value, String> {
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                let v = self.structure(Some(b'}'))?;
                self.expect(b'}')?;
                Ok(v)
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                while self.peek() != Some(b']') {
                    if self.peek().is_none() {
                        return Err("unclosed '['".into());
                    }
                    if self.peek() == Some(b'{') {
                        self.i += 1;
                        items.push(self.structure(Some(b'}'))?);
                        self.expect(b'}')?;
                    } else {
                        items.push(self.scalar(key, Some(b']'))?);
                    }
                    if self.peek() == Some(b',') {
                        self.i += 1;
                    }
                }
                self.i += 1;
                Ok(Value::Array(items))
            }
            _ => {
                let v = self.scalar(key, close)?;
                Ok(if LISTS.contains(&key) {
                    Value::Array(vec![v])
                } else {
                    v
                })
            }
        }
    }

    fn scalar(&mut self, key: &str, close: Option<u8>) -> Result<Value, String> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b',' || Some(c) == close {
                break;
            }
            self.i += 1;
        }
        let text = String::from_utf8_lossy(&self.s[start..self.i])
            .trim()
            .to_owned();
        if NUMERIC.contains(&key) {
            return text
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("{key} must be a number"));
        }
        Ok(Value::String(text))
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected '{}'", c as char))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{
        ConnectionTrackingSpecification, Filter, SecurityGroupRuleUpdate, TagSpecification,
    };

    #[test]
    fn filters_with_value_lists() {
        let f: Filter = parse("--filters", "Name=vpc-id,Values=vpc-1,vpc-2").unwrap();
        assert_eq!(f.name, "vpc-id");
        assert_eq!(f.values, vec!["vpc-1", "vpc-2"]);
        let f: Filter = parse("--filters", "Name=group-name,Values=web").unwrap();
        assert_eq!(f.values, vec!["web"]);
    }

    #[test]
    fn nested_structures_and_json() {
        let t: TagSpecification = parse(
            "--tag-specifications",
            "ResourceType=security-group,Tags=[{Key=env,Value=prod},{Key=team,Value=42}]",
        )
        .unwrap();
        assert_eq!(t.tags.len(), 2);
        assert_eq!(t.tags[1].value, "42");
        let u: SecurityGroupRuleUpdate = parse(
            "--security-group-rules",
            "SecurityGroupRuleId=sgr-1,SecurityGroupRule={IpProtocol=tcp,FromPort=22,ToPort=22,CidrIpv4=10.0.0.0/8}",
        )
        .unwrap();
        assert_eq!(u.security_group_rule.unwrap().from_port, Some(22));
        let c: ConnectionTrackingSpecification = parse(
            "--connection-tracking-specification",
            "TcpEstablishedTimeout=3600,UdpTimeout=60",
        )
        .unwrap();
        assert_eq!(
            (c.tcp_established_timeout, c.udp_timeout),
            (Some(3600), Some(60))
        );
        let c: ConnectionTrackingSpecification = parse(
            "--connection-tracking-specification",
            r#"{"UdpStreamTimeout": 90}"#,
        )
        .unwrap();
        assert_eq!(c.udp_stream_timeout, Some(90));
        assert!(
            parse::<ConnectionTrackingSpecification>("x", "TcpEstablishedTimeout=soon").is_err()
        );
        assert!(parse::<Filter>("x", "Bogus=1").is_err());
    }
}
