//! The parameters of one EC2 or STS Query request (issue 14; design `ec2-query-api.md` §1.1).
//!
//! botocore sends every call as form-encoded `Action=…&Version=…` plus the operation's members.
//! It flattens lists as `Prefix.N` (N counts from 1) and lists of structures as
//! `Prefix.N.Member`, to any depth: `IpPermissions.1.IpRanges.2.CidrIp=10.0.0.0%2F8`.
//! [`Params`] holds those names and values. The per-operation decoders, written by hand, read
//! them through typed accessors, and every failure is a [`FormError`] that carries the EC2
//! error code a client expects.
//!
//! Parsing is strict wherever leniency would hide a client bug or guess at the caller's
//! intent, which matters for a firewall:
//! - a name sent twice is an error, not "last one wins";
//! - list indices are `1`, `2`, … without leading zeros, so `X.01` cannot shadow `X.1`;
//! - booleans are exactly `true` or `false`, as botocore sends them;
//! - every name a decoder did not read can be rejected with [`Params::deny_unused`].
//!   Real EC2 answers `UnknownParameter` too. A misspelt `IpPermissions.1.IpRange.1.CidrIp`
//!   must not silently authorise a rule without its ranges.
//!
//! The body size is capped by the HTTP layer; this module caps the parameter count
//! ([`MAX_PARAMS`]).

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use crate::model::ApiError;

/// Most parameters accepted in one request. The largest legitimate calls (an Authorize with
/// many rules, a DescribeSecurityGroups with many IDs) stay far below this. The cap bounds the
/// work of sorting and of the duplicate check.
pub const MAX_PARAMS: usize = 10_000;

/// Whether `name` belongs to the request's envelope rather than to the operation, so that
/// [`Params::unused`] never reports it:
/// - `Action` and `Version`: the dispatcher may route on the SigV4 scope and never read
///   `Version`;
/// - `X-Amz-*`: SigV4 query-string authentication (`X-Amz-Algorithm`, `X-Amz-Signature`,
///   …), which the `sigv4` module reads.
fn is_envelope(name: &str) -> bool {
    matches!(name, "Action" | "Version") || name.starts_with("X-Amz-")
}

/// Why a request's parameters were rejected. Each variant maps onto an EC2 error code
/// ([`FormError::code`]). Its `Display` text is the message sent to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// No `Action` parameter. AWS's common error `MissingAction`.
    #[error("The request must contain the parameter Action")]
    MissingAction,
    /// A required parameter is absent. The wording is AWS's, as in [`ApiError::missing`].
    #[error("The request must contain the parameter {name}")]
    Missing { name: String },
    /// A value that does not parse as its type, such as `DryRun=yes` or `MaxResults=ten`.
    #[error("Value ({value}) for parameter {name} is invalid. {expected}")]
    InvalidValue {
        name: String,
        value: String,
        expected: &'static str,
    },
    /// The same name appears twice (in the body, or once in the query string and once in the
    /// body). AWS does not document which one would win, so the input is ambiguous. It is
    /// answered `InvalidParameterValue`, the code clients already show for bad input, and never
    /// resolved by a guess.
    #[error("The parameter {name} is given more than once")]
    Duplicate { name: String },
    /// A name under a list prefix that is not `List.N` (or `List.N.Member` for a list of
    /// structures), such as `GroupId.0`, `GroupId.01`, `GroupId.x`, or `IpPermissions.1` with
    /// no member.
    #[error(
        "The parameter {name} is not a valid member of the list {list}: expected {expected} \
         with N = 1, 2, 3, ..."
    )]
    BadListMember {
        name: String,
        list: String,
        expected: String,
    },
    /// A parameter that no decoder read. EC2's own `UnknownParameter`.
    #[error("The parameter {name} is not recognized")]
    Unknown { name: String },
    /// More than [`MAX_PARAMS`] parameters.
    #[error("The request has more than {limit} parameters")]
    TooManyParameters { limit: usize },
    /// A name or value that is not UTF-8 once percent-decoded.
    ///
    /// `form_urlencoded` decodes lossily, turning bad bytes into U+FFFD. A decoded U+FFFD is
    /// therefore rejected even when the client sent it deliberately. No EC2 or STS parameter
    /// allows that character: tag values and descriptions are letters, digits, spaces and a
    /// few ASCII symbols.
    #[error("The parameter {name} is not valid UTF-8")]
    NotUtf8 { name: String },
    /// A `=value` piece with no name.
    #[error("The request contains a parameter with an empty name")]
    EmptyName,
}

impl FormError {
    /// The EC2 error code. All of these are client errors (HTTP 400).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingAction => "MissingAction",
            Self::Missing { .. } => "MissingParameter",
            Self::InvalidValue { .. } | Self::Duplicate { .. } | Self::BadListMember { .. } => {
                "InvalidParameterValue"
            }
            Self::Unknown { .. } => "UnknownParameter",
            Self::TooManyParameters { .. } | Self::NotUtf8 { .. } | Self::EmptyName => {
                "MalformedQueryString"
            }
        }
    }

    /// The message sent to the client, the same as `to_string()`.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

impl From<FormError> for ApiError {
    fn from(e: FormError) -> Self {
        ApiError::new(e.code(), e.message())
    }
}

/// One parameter. `used` records that a decoder read it, for [`Params::unused`]. It is atomic
/// rather than a `Cell` so that `Params` stays `Sync` and can be held across an `.await`.
#[derive(Debug)]
struct Entry {
    name: String,
    value: String,
    used: AtomicBool,
}

impl Entry {
    fn read(&self) -> &str {
        self.used.store(true, Ordering::Relaxed);
        &self.value
    }
}

/// The parameters of one request, or a view of the members of one structure inside it.
///
/// [`Params::parse`] gives the whole request. [`Params::structs`] and [`Params::structure`]
/// give views whose names are relative to a prefix. In the view of `IpPermissions.1.`,
/// `get("IpProtocol")` reads `IpPermissions.1.IpProtocol`. Views share the parsed parameters,
/// so nesting costs no copies, and a member read through a view counts as used for the whole
/// request. Errors always name the full wire name.
#[derive(Debug, Clone)]
pub struct Params {
    /// Sorted by name, names unique.
    entries: Arc<[Entry]>,
    /// `""` for the whole request, `"IpPermissions.1."` for a view.
    prefix: String,
}

impl Params {
    /// Parses a request's URL query string (without the `?`; `""` if none) and its
    /// `application/x-www-form-urlencoded` body (`b""` for a GET), as one set of parameters.
    ///
    /// `+` decodes to a space and `%XX` to a byte, and the result must be UTF-8. Empty pieces
    /// (`a=1&&b=2`) are skipped, and a piece without `=` has the empty value.
    pub fn parse(query: &str, body: &[u8]) -> Result<Self, FormError> {
        let mut entries = Vec::new();
        let pieces = form_urlencoded::parse(query.as_bytes()).chain(form_urlencoded::parse(body));
        for (name, value) in pieces {
            if entries.len() == MAX_PARAMS {
                return Err(FormError::TooManyParameters { limit: MAX_PARAMS });
            }
            if name.contains(char::REPLACEMENT_CHARACTER)
                || value.contains(char::REPLACEMENT_CHARACTER)
            {
                return Err(FormError::NotUtf8 {
                    name: name.into_owned(),
                });
            }
            if name.is_empty() {
                return Err(FormError::EmptyName);
            }
            entries.push(Entry {
                name: name.into_owned(),
                value: value.into_owned(),
                used: AtomicBool::new(false),
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(pair) = entries.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(FormError::Duplicate {
                name: pair[0].name.clone(),
            });
        }
        Ok(Self {
            entries: entries.into(),
            prefix: String::new(),
        })
    }

    /// The operation, such as `DescribeSecurityGroups`. Action names are case-sensitive, and
    /// matching them is the dispatcher's job.
    pub fn action(&self) -> Result<&str, FormError> {
        self.get("Action").ok_or(FormError::MissingAction)
    }

    /// The API version: `2016-11-15` for EC2, `2011-06-15` for STS. The dispatcher routes on
    /// the SigV4 scope's service first and falls back to this (design §1.4).
    pub fn version(&self) -> Option<&str> {
        self.get("Version")
    }

    /// The name as sent on the wire: this view's prefix followed by `name`. Use it in a
    /// decoder's own error messages, for example a port out of range in
    /// `IpPermissions.2.FromPort`.
    pub fn full_name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The value of `name`, if it was sent. An empty value (`Tag.2.Value=`) is `Some("")`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let full = self.full_name(name);
        let i = self
            .entries
            .binary_search_by(|e| e.name.as_str().cmp(&full))
            .ok()?;
        self.entries.get(i).map(Entry::read)
    }

    /// The value of a parameter the operation requires.
    pub fn required(&self, name: &str) -> Result<&str, FormError> {
        self.get(name).ok_or_else(|| FormError::Missing {
            name: self.full_name(name),
        })
    }

    /// A boolean parameter: `true` or `false` exactly, as botocore sends them.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, FormError> {
        match self.get(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(value) => Err(self.invalid(name, value, "Expected a boolean: true or false.")),
        }
    }

    /// An integer parameter in decimal, with an optional leading `-` and nothing else (no `+`,
    /// spaces or exponent).
    pub fn int(&self, name: &str) -> Result<Option<i64>, FormError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let digits = value.strip_prefix('-').unwrap_or(value);
        let parsed = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            value.parse::<i64>().ok()
        } else {
            None
        };
        parsed
            .map(Some)
            .ok_or_else(|| self.invalid(name, value, "Expected a decimal integer."))
    }

    /// A flattened list of values, `Prefix.1`, `Prefix.2`, …, in numeric index order (`.10`
    /// after `.2`). Gaps are allowed and an absent list is empty. EC2 never sends an empty
    /// list.
    ///
    /// Any other name under `Prefix.` is an error: `Prefix.0`, `Prefix.01`, `Prefix.x`,
    /// `Prefix.1.Member`.
    pub fn strings(&self, prefix: &str) -> Result<Vec<&str>, FormError> {
        let mut items = Vec::new();
        for (entry, rest) in self.under(prefix) {
            let index = list_index(rest).ok_or_else(|| self.bad_member(&entry.name, prefix, ""))?;
            items.push((index, entry.read()));
        }
        items.sort_by_key(|&(index, _)| index);
        Ok(items.into_iter().map(|(_, value)| value).collect())
    }

    /// A flattened list of structures, `Prefix.N.Member…`, as one view per index in numeric
    /// order. Each view's names are relative to `Prefix.N.`, so lists nest:
    /// `params.structs("IpPermissions")?[0].structs("IpRanges")`.
    ///
    /// A name under `Prefix.` that is not `Prefix.N.Member` is an error, for example
    /// `Prefix.1` with no member or `Prefix.0.Key`.
    pub fn structs(&self, prefix: &str) -> Result<Vec<Params>, FormError> {
        let mut indices = BTreeSet::new();
        for (entry, rest) in self.under(prefix) {
            let index = rest
                .split_once('.')
                .filter(|(_, member)| !member.is_empty())
                .and_then(|(index, _)| list_index(index))
                .ok_or_else(|| self.bad_member(&entry.name, prefix, ".Member"))?;
            indices.insert(index);
        }
        Ok(indices
            .into_iter()
            .map(|index| self.view(&format!("{prefix}.{index}.")))
            .collect())
    }

    /// A structure member that is not a list, such as `SecurityGroupRule.N.SecurityGroupRule`
    /// in ModifySecurityGroupRules: the view of `Name.`, or `None` if no parameter starts
    /// with `Name.`.
    pub fn structure(&self, name: &str) -> Option<Params> {
        self.under(name).next()?;
        Some(self.view(&format!("{name}.")))
    }

    /// The full names in this view (the whole request, for a parsed `Params`) that no
    /// accessor has read, in name order. `Action`, `Version` and the SigV4 query-authentication
    /// names (`X-Amz-*`) are never listed: they address the request, not the operation.
    pub fn unused(&self) -> Vec<&str> {
        self.in_view()
            .filter(|e| !e.used.load(Ordering::Relaxed) && !is_envelope(&e.name))
            .map(|e| e.name.as_str())
            .collect()
    }

    /// Fails with `UnknownParameter` on the first name that [`Params::unused`] lists. Call it
    /// after a decoder has read everything it understands.
    pub fn deny_unused(&self) -> Result<(), FormError> {
        match self.unused().first() {
            Some(name) => Err(FormError::Unknown {
                name: (*name).to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// A digest of the whole request's parameters except those named in `except`, the same
    /// for the same parameters in any order: what a pagination token is bound to, so that a
    /// token is refused with a request other than the one that produced it. Reads nothing
    /// (no parameter counts as used).
    pub fn digest(&self, except: &[&str]) -> String {
        use sha2::Digest as _;
        // Keyed with a secret of this process, so that nobody can make a token for a request
        // of their choosing (tokens do not outlive the daemon).
        static KEY: std::sync::OnceLock<[u8; 16]> = std::sync::OnceLock::new();
        let key = KEY.get_or_init(rand::random);
        let mut h = sha2::Sha256::new();
        h.update(key);
        for e in self
            .entries
            .iter()
            .filter(|e| !except.contains(&e.name.as_str()))
        {
            // Lengths first: no two different requests give the same byte stream.
            h.update((e.name.len() as u64).to_le_bytes());
            h.update(e.name.as_bytes());
            h.update((e.value.len() as u64).to_le_bytes());
            h.update(e.value.as_bytes());
        }
        hex::encode(&h.finalize()[..12])
    }

    /// A view sharing these parameters, with `relative` appended to the prefix.
    fn view(&self, relative: &str) -> Params {
        Params {
            entries: Arc::clone(&self.entries),
            prefix: self.full_name(relative),
        }
    }

    /// The entries of this view.
    fn in_view(&self) -> impl Iterator<Item = &Entry> {
        self.starting_with(self.prefix.clone()).map(|(e, _)| e)
    }

    /// The entries under `{prefix}{relative}.`, each with the rest of its name after that
    /// prefix.
    fn under(&self, relative: &str) -> impl Iterator<Item = (&Entry, &str)> {
        self.starting_with(self.full_name(&format!("{relative}.")))
    }

    /// The entries whose names start with `start`, each with the rest of its name. They are
    /// contiguous, because the entries are sorted.
    fn starting_with(&self, start: String) -> impl Iterator<Item = (&Entry, &str)> {
        let from = self.entries.partition_point(|e| e.name < start);
        self.entries
            .iter()
            .skip(from)
            .map_while(move |e| e.name.strip_prefix(start.as_str()).map(|rest| (e, rest)))
    }

    fn invalid(&self, name: &str, value: &str, expected: &'static str) -> FormError {
        FormError::InvalidValue {
            name: self.full_name(name),
            value: value.to_owned(),
            expected,
        }
    }

    fn bad_member(&self, full: &str, list: &str, member: &str) -> FormError {
        let list = self.full_name(list);
        FormError::BadListMember {
            name: full.to_owned(),
            expected: format!("{list}.N{member}"),
            list,
        }
    }
}

/// A list index: a decimal number from 1, without leading zeros, so that two different names
/// can never denote the same index.
fn list_index(s: &str) -> Option<u32> {
    let first = s.bytes().next()?;
    if first == b'0' || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests;
