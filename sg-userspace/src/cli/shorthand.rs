//! The AWS CLI's shorthand syntax, as awscli v1's `ShorthandParser` reads it: the text of one
//! option value to untyped JSON (strings, lists, structures). Typing it (numbers, booleans, a
//! lone value where a list is due) is `shapes::coerce`'s job, as `BackCompatVisitor`'s is in
//! awscli.
//!
//! ```text
//! parameter     = keyval *("," keyval)
//! keyval        = key "=" [values]
//! key           = 1*(ALPHA / DIGIT / "-" / "_" / "." / "#" / "/" / ":")
//! values        = csv-list / explicit-list / hash-literal
//! csv-list      = first-value *("," second-value)    ; one value is a scalar, more a list
//! explicit-list = "[" [explicit *("," explicit)] "]"
//! hash-literal  = "{" [key "=" explicit *("," key "=" explicit)] "}"
//! explicit      = explicit-list / hash-literal / first-value
//! first-value   = 'single quoted' / "double quoted" / word   ; `\,` is a literal comma
//! ```
//!
//! `Name=vpc-id,Values=vpc-1,vpc-2` gives `{"Name": "vpc-id", "Values": ["vpc-1", "vpc-2"]}`:
//! a comma followed by `key=` starts the next pair. A word's trailing whitespace is dropped.

use serde_json::{Map, Value};

/// A syntax error: what was expected where, and what was there instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub expected: String,
    pub found: String,
    pub at: usize,
    pub input: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "expected {} at character {}, found {}, in '{}'",
            self.expected,
            self.at + 1,
            self.found,
            self.input
        )
    }
}

/// Parses one shorthand value (`key=value,...`) to a JSON structure of strings.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    let mut p = Parser {
        s: text.chars().collect(),
        i: 0,
        input: text,
    };
    p.parameter()
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// The first character of an unquoted word: not a quote, `,`, `=`, `[`, `{` or a space.
fn starts_word(c: char) -> bool {
    matches!(c, '!' | '#'..='&' | '('..='+' | '-'..='<' | '>'..='Z' | '\\'..='z' | '|'..)
}

/// The rest of a first value: `=`, `[` and `{` allowed; `,`, `]`, `}` and quotes end it.
fn follows_first(c: char) -> bool {
    c.is_whitespace() || matches!(c, '!' | '#'..='&' | '('..='+' | '-'..='\\' | '^'..='|' | '~'..)
}

/// The rest of a later value of a comma-separated list: `=`, `,` and quotes end it.
fn follows_second(c: char) -> bool {
    c.is_whitespace() || matches!(c, '!' | '#'..='&' | '('..='+' | '-'..='<' | '>'..)
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '#' | '/' | ':')
}

struct Parser<'a> {
    s: Vec<char>,
    i: usize,
    input: &'a str,
}

impl Parser<'_> {
    fn current(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn at_eof(&self) -> bool {
        self.i >= self.s.len()
    }

    fn error(&self, expected: &str) -> ParseError {
        ParseError {
            expected: expected.to_owned(),
            found: match self.current() {
                Some(c) => format!("'{c}'"),
                None => "the end".into(),
            },
            at: self.i,
            input: self.input.to_owned(),
        }
    }

    fn skip_ws(&mut self) {
        while self.current().is_some_and(is_ws) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: char, skip_ws: bool) -> Result<(), ParseError> {
        if skip_ws {
            self.skip_ws();
        }
        if self.current() != Some(c) {
            return Err(self.error(&format!("'{c}'")));
        }
        self.i += 1;
        if skip_ws {
            self.skip_ws();
        }
        Ok(())
    }

    /// `keyval *("," keyval)`; a key given twice is a mistake (often a `,` meant as a space
    /// between two list items).
    fn parameter(&mut self) -> Result<Value, ParseError> {
        let mut map = Map::new();
        loop {
            let at = self.i;
            let key = self.key();
            self.expect('=', true)?;
            let value = self.values()?;
            if map.insert(key.clone(), value).is_some() {
                return Err(ParseError {
                    expected: format!(
                        "one \"{key}\" (a second one is often a ',' meant as a space between two items)"
                    ),
                    found: format!("\"{key}\" again"),
                    at,
                    input: self.input.to_owned(),
                });
            }
            if self.at_eof() {
                return Ok(Value::Object(map));
            }
            self.expect(',', true)?;
        }
    }

    fn key(&mut self) -> String {
        let start = self.i;
        while self.current().is_some_and(is_key_char) {
            self.i += 1;
        }
        self.s[start..self.i].iter().collect()
    }

    fn values(&mut self) -> Result<Value, ParseError> {
        match self.current() {
            None => Ok(Value::String(String::new())),
            Some('[') => self.explicit_list(),
            Some('{') => self.hash_literal(),
            Some(_) => self.csv_value(),
        }
    }

    /// `a` is a scalar; `a,b,c` a list, up to a `,` followed by `key=`.
    fn csv_value(&mut self) -> Result<Value, ParseError> {
        let first = self.first_value()?;
        self.skip_ws();
        if self.current() != Some(',') {
            return Ok(Value::String(first));
        }
        self.expect(',', true)?;
        let mut list = vec![Value::String(first)];
        loop {
            let attempt = (|| {
                let v = self.second_value()?;
                self.skip_ws();
                if self.at_eof() {
                    return Ok((v, true));
                }
                self.expect(',', true)?;
                Ok((v, false))
            })();
            match attempt {
                Ok((v, last)) => {
                    list.push(Value::String(v));
                    if last {
                        break;
                    }
                }
                Err(e) if self.at_eof() => return Err(e),
                Err(_) => {
                    // `a=b,c=d`: `c` is the next key; go back to the comma before it.
                    while self.i > 0 && self.current() != Some(',') {
                        self.i -= 1;
                    }
                    break;
                }
            }
        }
        Ok(if list.len() == 1 {
            list.pop().expect("one")
        } else {
            Value::Array(list)
        })
    }

    fn explicit_list(&mut self) -> Result<Value, ParseError> {
        self.expect('[', true)?;
        let mut items = Vec::new();
        while self.current() != Some(']') {
            items.push(self.explicit_value()?);
            self.skip_ws();
            if self.current() != Some(']') {
                self.expect(',', false)?;
                self.skip_ws();
            }
        }
        self.expect(']', false)?;
        Ok(Value::Array(items))
    }

    fn hash_literal(&mut self) -> Result<Value, ParseError> {
        self.expect('{', true)?;
        let mut map = Map::new();
        while self.current() != Some('}') {
            let key = self.key();
            self.expect('=', true)?;
            let v = self.explicit_value()?;
            self.skip_ws();
            if self.current() != Some('}') {
                self.expect(',', false)?;
                self.skip_ws();
            }
            map.insert(key, v);
        }
        self.expect('}', false)?;
        Ok(Value::Object(map))
    }

    fn explicit_value(&mut self) -> Result<Value, ParseError> {
        match self.current() {
            Some('[') => self.explicit_list(),
            Some('{') => self.hash_literal(),
            _ => Ok(Value::String(self.first_value()?)),
        }
    }

    fn first_value(&mut self) -> Result<String, ParseError> {
        match self.current() {
            Some(q @ ('\'' | '"')) => self.quoted(q),
            _ => Ok(self.word(follows_first).unwrap_or_default()),
        }
    }

    fn second_value(&mut self) -> Result<String, ParseError> {
        match self.current() {
            Some(q @ ('\'' | '"')) => self.quoted(q),
            _ => self
                .word(follows_second)
                .ok_or_else(|| self.error("a value")),
        }
    }

    /// An unquoted word (`None` if none starts here): `\,` is a comma, trailing whitespace
    /// is dropped.
    fn word(&mut self, follows: fn(char) -> bool) -> Option<String> {
        let mut out = String::new();
        let mut first = true;
        while let Some(c) = self.current() {
            if c == '\\' && self.s.get(self.i + 1) == Some(&',') {
                out.push(',');
                self.i += 2;
            } else if (first && starts_word(c)) || (!first && follows(c)) {
                out.push(c);
                self.i += 1;
            } else {
                break;
            }
            first = false;
        }
        if first {
            return None;
        }
        Some(out.trim_end().to_owned())
    }

    /// `'...'` or `"..."`: `\'` (or `\"`) is the quote, `\\` a backslash.
    fn quoted(&mut self, q: char) -> Result<String, ParseError> {
        let start = self.i;
        let mut j = self.i + 1;
        loop {
            match self.s.get(j) {
                None => {
                    return Err(ParseError {
                        expected: format!("a closing {q}"),
                        found: "the end".into(),
                        at: start,
                        input: self.input.to_owned(),
                    });
                }
                Some('\\') if matches!(self.s.get(j + 1), Some(&c) if c == '\\' || c == q) => {
                    j += 2
                }
                Some(&c) if c == q => break,
                Some(_) => j += 1,
            }
        }
        self.i = j + 1;
        let inner: String = self.s[start + 1..j].iter().collect();
        Ok(inner
            .replace(&format!("\\{q}"), &q.to_string())
            .replace("\\\\", "\\"))
    }
}

#[cfg(test)]
mod tests;
