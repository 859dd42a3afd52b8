//! EC2 and STS XML responses and error bodies (issue 14; design `ec2-query-api.md` §1.2–1.4).
//!
//! botocore and the other SDKs parse, from EC2 (protocol `ec2`):
//! - `<{Action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`, whose first child
//!   is `<requestId>`, followed by the result members as direct lowerCamel children;
//! - lists as a container whose children are all `<item>`. An empty list is still written
//!   (`<ipPermissions/>`), because Ansible indexes `IpPermissions` directly;
//! - absent optional members left out, since an empty `<nextToken/>` would keep a paginator
//!   going.
//!
//! STS (protocol `query`) wraps the members in `<{Action}Result>` and ends with
//! `<ResponseMetadata><RequestId>`. The error bodies of the two protocols differ again, and
//! [`ec2_error`] and [`sts_error`] write them.
//!
//! [`XmlWriter`] makes malformed XML hard to write:
//! - element names are checked as XML names in debug builds (they come from sgd's own output
//!   shapes, never from a request);
//! - all text is escaped (by `quick-xml`), and characters that XML 1.0 cannot carry are
//!   replaced;
//! - nesting is kept on a stack, so an `end()` cannot name the wrong element or close the
//!   envelope;
//! - an element holds either text or elements, never both.
//!
//! The output is indented, as AWS's own is, so that the golden files stay readable. Every
//! parser the clients use ignores whitespace between elements.

use std::{borrow::Cow, fmt::Display};

use crate::model::ApiError;

/// The EC2 namespace, with the trailing slash real EC2 sends (design §1.2).
pub const EC2_XMLNS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// The STS namespace (botocore `data/sts/2011-06-15/service-2.json`).
pub const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Every document starts with this declaration, which states the encoding. EC2 sends it.
/// Clients accept it on STS documents too.
const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

const INDENT: &str = "  ";

/// What [`XmlWriter::finish`] writes after the members.
#[derive(Debug)]
enum Trailer {
    /// Only the closing tag of the root.
    Close,
    /// STS: close `<{Action}Result>`, then `<ResponseMetadata><RequestId>`.
    Sts { request_id: String },
}

/// Writes one XML response document. Start it with [`XmlWriter::ec2_response`] or
/// [`XmlWriter::sts_response`], add members, and call [`XmlWriter::finish`].
///
/// ```
/// use sg_userspace::ec2::xml::XmlWriter;
///
/// let mut w = XmlWriter::ec2_response("DeleteSecurityGroup", "req-1");
/// w.text("return", true).text("groupId", "sg-1");
/// let xml = w.finish();
/// assert!(xml.contains("<return>true</return>"));
/// ```
#[derive(Debug)]
pub struct XmlWriter {
    out: String,
    /// The elements open, outermost first, including the envelope.
    open: Vec<Cow<'static, str>>,
    /// How many of `open` the caller may not close: the envelope's, and those of enclosing
    /// [`XmlWriter::element`] calls.
    floor: usize,
    /// The last start tag is still unterminated (`<name` without `>`), so that an element
    /// ended with no content can be written `<name/>`.
    tag_pending: bool,
    trailer: Trailer,
}

impl XmlWriter {
    /// An EC2 response: `<{action}Response xmlns="…2016-11-15/">` and its `<requestId>`.
    pub fn ec2_response(action: &str, request_id: &str) -> Self {
        let mut w = Self::document(format!("{action}Response").into(), Some(EC2_XMLNS));
        w.text("requestId", request_id);
        w
    }

    /// An STS (awsQuery) response: `<{action}Response xmlns="…2011-06-15/">` with the members
    /// written inside `<{action}Result>`. `finish` appends the `ResponseMetadata`.
    pub fn sts_response(action: &str, request_id: &str) -> Self {
        let mut w = Self::document(format!("{action}Response").into(), Some(STS_XMLNS));
        w.open_element(format!("{action}Result").into(), None);
        w.floor = w.open.len();
        w.trailer = Trailer::Sts {
            request_id: request_id.to_owned(),
        };
        w
    }

    /// A member holding text: `<name>value</name>`. Booleans come out `true`/`false` and
    /// integers decimal, as EC2 writes them. The empty string gives `<name></name>`, which
    /// botocore reads as `""`.
    pub fn text(&mut self, name: &str, value: impl Display) -> &mut Self {
        debug_assert!(is_name(name), "not an XML name: {name:?}");
        self.terminate_start_tag();
        self.newline();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        push_escaped(&mut self.out, &value.to_string());
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// An optional member: written as [`XmlWriter::text`] if `Some`, left out if `None`.
    pub fn opt(&mut self, name: &str, value: Option<impl Display>) -> &mut Self {
        if let Some(value) = value {
            self.text(name, value);
        }
        self
    }

    /// Opens a member holding elements. Close it with [`XmlWriter::end`]. If nothing is
    /// written inside, it comes out `<name/>`.
    pub fn start(&mut self, name: &str) -> &mut Self {
        self.open_element(Cow::Owned(name.to_owned()), None);
        self
    }

    /// Closes the innermost element opened by [`XmlWriter::start`]. It never closes the
    /// envelope or the element of an enclosing [`XmlWriter::element`] call; trying to is a
    /// bug, which panics in debug builds and is ignored otherwise.
    pub fn end(&mut self) -> &mut Self {
        if self.open.len() > self.floor {
            self.close_element();
        } else {
            debug_assert!(false, "XmlWriter::end without a matching start");
        }
        self
    }

    /// A member holding elements, written by `f`. Anything `f` leaves open is closed, and
    /// `f` cannot close more than it opened.
    pub fn element(&mut self, name: &str, f: impl FnOnce(&mut Self)) -> &mut Self {
        self.start(name);
        let (depth, floor) = (self.open.len(), self.floor);
        self.floor = depth;
        f(self);
        debug_assert_eq!(
            self.open.len(),
            depth,
            "a start() without its end() in <{name}>"
        );
        self.close_to(depth);
        self.floor = floor;
        self.close_element();
        self
    }

    /// A list: the container `name`, with one `<item>` per element of `items`, whose content
    /// `f` writes. An empty list is written `<name/>`, never left out.
    pub fn list<T>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = T>,
        mut f: impl FnMut(&mut Self, T),
    ) -> &mut Self {
        self.element(name, |w| {
            for item in items {
                w.element("item", |w| f(w, item));
            }
        })
    }

    /// A list of text values: `<name><item>a</item><item>b</item></name>`, or `<name/>`.
    pub fn text_list(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = impl Display>,
    ) -> &mut Self {
        self.element(name, |w| {
            for item in items {
                w.text("item", item);
            }
        })
    }

    /// Closes every element still open (there should be none), writes the envelope's end,
    /// and returns the document.
    pub fn finish(mut self) -> String {
        debug_assert_eq!(self.open.len(), self.floor, "finish() with elements open");
        match std::mem::replace(&mut self.trailer, Trailer::Close) {
            Trailer::Close => {}
            Trailer::Sts { request_id } => {
                // Close `<{Action}Result>`, leaving the root open.
                self.close_to(1);
                self.floor = 1;
                self.element("ResponseMetadata", |w| {
                    w.text("RequestId", &request_id);
                });
            }
        }
        self.close_to(0);
        self.out.push('\n');
        self.out
    }

    /// A document with its root element open. The caller may not close the root.
    fn document(root: Cow<'static, str>, xmlns: Option<&str>) -> Self {
        let mut w = Self {
            out: String::with_capacity(1024),
            open: Vec::new(),
            floor: 0,
            tag_pending: false,
            trailer: Trailer::Close,
        };
        w.out.push_str(DECLARATION);
        w.open_element(root, xmlns);
        w.floor = 1;
        w
    }

    fn open_element(&mut self, name: Cow<'static, str>, xmlns: Option<&str>) {
        debug_assert!(is_name(&name), "not an XML name: {name:?}");
        self.terminate_start_tag();
        self.newline();
        self.out.push('<');
        self.out.push_str(&name);
        if let Some(xmlns) = xmlns {
            self.out.push_str(" xmlns=\"");
            push_escaped(&mut self.out, xmlns);
            self.out.push('"');
        }
        self.tag_pending = true;
        self.open.push(name);
    }

    fn close_element(&mut self) {
        let Some(name) = self.open.pop() else {
            return;
        };
        if self.tag_pending {
            self.out.push_str("/>");
            self.tag_pending = false;
        } else {
            self.newline();
            self.out.push_str("</");
            self.out.push_str(&name);
            self.out.push('>');
        }
    }

    fn close_to(&mut self, depth: usize) {
        while self.open.len() > depth {
            self.close_element();
        }
    }

    fn terminate_start_tag(&mut self) {
        if self.tag_pending {
            self.out.push('>');
            self.tag_pending = false;
        }
    }

    /// A line break and the indentation of the current depth.
    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.open.len() {
            self.out.push_str(INDENT);
        }
    }
}

/// An EC2 error body (design §1.3). It has no namespace, and the request ID is in
/// `<RequestID>`, capital "ID", as real EC2 and aws-sdk-go-v2's `ec2query` expect. Send it
/// with a non-2xx status: botocore parses an error body sent with 200 as a success.
pub fn ec2_error(error: &ApiError, request_id: &str) -> String {
    let mut w = XmlWriter::document("Response".into(), None);
    w.element("Errors", |w| {
        w.element("Error", |w| {
            w.text("Code", &error.code).text("Message", &error.message);
        });
    });
    w.text("RequestID", request_id);
    w.finish()
}

/// An STS (awsQuery) error body (design §1.4): `<ErrorResponse>` with `<Type>`, `<Code>` and
/// `<Message>`, then `<RequestId>`. `Type` is `Receiver` for a fault on sgd's side
/// (`InternalError`, `InternalFailure`, `ServiceUnavailable`) and `Sender` otherwise.
pub fn sts_error(error: &ApiError, request_id: &str) -> String {
    let fault = match error.code.as_str() {
        "InternalError" | "InternalFailure" | "ServiceUnavailable" => "Receiver",
        _ => "Sender",
    };
    let mut w = XmlWriter::document("ErrorResponse".into(), Some(STS_XMLNS));
    w.element("Error", |w| {
        w.text("Type", fault)
            .text("Code", &error.code)
            .text("Message", &error.message);
    });
    w.text("RequestId", request_id);
    w.finish()
}

/// Appends `text` escaped for element content or an attribute value.
///
/// `quick-xml` escapes the five markup characters, and a carriage return as `&#13;` (a
/// literal one would reach the client as `\n`). A character that XML 1.0 cannot carry at all
/// becomes U+FFFD: the C0 controls other than tab, line feed and carriage return, and U+FFFE
/// and U+FFFF. Even as a reference such as `&#1;` it would make the document malformed, and a
/// tag value can hold anything a client sent.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    let escaped = quick_xml::escape::escape(text);
    if escaped.chars().all(is_xml_char) {
        out.push_str(&escaped);
    } else {
        out.extend(escaped.chars().map(|c| {
            if is_xml_char(c) {
                c
            } else {
                char::REPLACEMENT_CHARACTER
            }
        }));
    }
}

/// XML 1.0 `Char` (surrogates cannot occur in a `char`).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A plain ASCII XML name, which every AWS element name is: a letter or `_`, then letters,
/// digits, `_`, `-` and `.`.
fn is_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests;
