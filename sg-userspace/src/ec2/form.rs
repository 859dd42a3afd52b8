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
    /// A `NextToken` that no earlier page handed out.
    #[error("Invalid pagination token: {token}")]
    PaginationToken { token: String },
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
            Self::PaginationToken { .. } => "InvalidPaginationToken",
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
mod tests {
    use super::*;

    fn parse(body: &str) -> Params {
        Params::parse("", body.as_bytes()).expect("parses")
    }

    fn err(result: Result<impl std::fmt::Debug, FormError>) -> (&'static str, String) {
        let e = result.expect_err("should fail");
        (e.code(), e.message())
    }

    /// §1.1: CreateSecurityGroup with a TagSpecification (list of structures holding a list
    /// of structures).
    #[test]
    fn create_security_group_with_tag_specification() {
        let p = parse(
            "Action=CreateSecurityGroup&Version=2016-11-15&GroupName=web&GroupDescription=web+sg\
             &VpcId=vpc-1&TagSpecification.1.ResourceType=security-group\
             &TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=web",
        );
        assert_eq!(p.action(), Ok("CreateSecurityGroup"));
        assert_eq!(p.version(), Some("2016-11-15"));
        assert_eq!(p.required("GroupName"), Ok("web"));
        assert_eq!(p.required("GroupDescription"), Ok("web sg"));
        assert_eq!(p.get("VpcId"), Some("vpc-1"));
        let specs = p.structs("TagSpecification").unwrap();
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].required("ResourceType"), Ok("security-group"));
        let tags = specs[0].structs("Tag").unwrap();
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].required("Key"), Ok("Name"));
        assert_eq!(tags[0].required("Value"), Ok("web"));
        assert_eq!(tags[0].full_name("Value"), "TagSpecification.1.Tag.1.Value");
        assert_eq!(p.unused(), Vec::<&str>::new());
        assert_eq!(p.deny_unused(), Ok(()));
    }

    /// §1.1: AuthorizeSecurityGroupIngress, every kind of peer list nested in IpPermissions.1.
    #[test]
    fn authorize_ingress_nested_lists() {
        let p = parse(
            "Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId=sg-1\
             &IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22\
             &IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F8&IpPermissions.1.IpRanges.1.Description=ssh\
             &IpPermissions.1.Ipv6Ranges.1.CidrIpv6=%3A%3A%2F0\
             &IpPermissions.1.Groups.1.GroupId=sg-2\
             &IpPermissions.1.PrefixListIds.1.PrefixListId=pl-1\
             &TagSpecification.1.ResourceType=security-group-rule\
             &TagSpecification.1.Tag.1.Key=k&TagSpecification.1.Tag.1.Value=v",
        );
        assert_eq!(p.action(), Ok("AuthorizeSecurityGroupIngress"));
        assert_eq!(p.required("GroupId"), Ok("sg-1"));
        let perms = p.structs("IpPermissions").unwrap();
        assert_eq!(perms.len(), 1);
        let perm = &perms[0];
        assert_eq!(perm.required("IpProtocol"), Ok("tcp"));
        assert_eq!(perm.int("FromPort"), Ok(Some(22)));
        assert_eq!(perm.int("ToPort"), Ok(Some(22)));
        let ranges = perm.structs("IpRanges").unwrap();
        assert_eq!(ranges[0].required("CidrIp"), Ok("10.0.0.0/8"));
        assert_eq!(ranges[0].get("Description"), Some("ssh"));
        let v6 = perm.structs("Ipv6Ranges").unwrap();
        assert_eq!(v6[0].required("CidrIpv6"), Ok("::/0"));
        assert_eq!(v6[0].get("Description"), None);
        let groups = perm.structs("Groups").unwrap();
        assert_eq!(groups[0].get("GroupId"), Some("sg-2"));
        let pls = perm.structs("PrefixListIds").unwrap();
        assert_eq!(pls[0].get("PrefixListId"), Some("pl-1"));
        // A member the decoder did not read is reported by its full name.
        assert_eq!(
            p.unused(),
            vec![
                "TagSpecification.1.ResourceType",
                "TagSpecification.1.Tag.1.Key",
                "TagSpecification.1.Tag.1.Value",
            ]
        );
        assert_eq!(
            err(p.deny_unused()),
            (
                "UnknownParameter",
                "The parameter TagSpecification.1.ResourceType is not recognized".into()
            )
        );
        // Views report only their own names.
        assert_eq!(perm.unused(), Vec::<&str>::new());
    }

    /// §1.1: DescribeSecurityGroups with lists of IDs and names and Filter.N.Value.M.
    #[test]
    fn describe_security_groups_filters() {
        let p = parse(
            "Action=DescribeSecurityGroups&Version=2016-11-15&GroupId.1=sg-1&GroupId.2=sg-2\
             &GroupName.1=default&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1\
             &Filter.1.Value.2=vpc-2&Filter.2.Name=tag%3AName&Filter.2.Value.1=web\
             &MaxResults=5&NextToken=abc&DryRun=true",
        );
        assert_eq!(p.strings("GroupId"), Ok(vec!["sg-1", "sg-2"]));
        assert_eq!(p.strings("GroupName"), Ok(vec!["default"]));
        let views = p.structs("Filter").unwrap();
        let filters: Vec<(&str, Vec<&str>)> = views
            .iter()
            .map(|f| (f.required("Name").unwrap(), f.strings("Value").unwrap()))
            .collect();
        assert_eq!(
            filters,
            vec![
                ("vpc-id", vec!["vpc-1", "vpc-2"]),
                ("tag:Name", vec!["web"])
            ]
        );
        assert_eq!(p.int("MaxResults"), Ok(Some(5)));
        assert_eq!(p.get("NextToken"), Some("abc"));
        assert_eq!(p.bool("DryRun"), Ok(Some(true)));
        assert_eq!(p.deny_unused(), Ok(()));
        // Absent lists are empty.
        assert_eq!(p.strings("SecurityGroupRuleId"), Ok(vec![]));
        assert!(p.structs("IpPermissions").unwrap().is_empty());
    }

    /// §1.1: ModifySecurityGroupRules, a list of structures holding a (non-list) structure.
    #[test]
    fn modify_security_group_rules_nested_structure() {
        let p = parse(
            "Action=ModifySecurityGroupRules&Version=2016-11-15&GroupId=sg-1\
             &SecurityGroupRule.1.SecurityGroupRuleId=sgr-1\
             &SecurityGroupRule.1.SecurityGroupRule.IpProtocol=tcp\
             &SecurityGroupRule.1.SecurityGroupRule.FromPort=80\
             &SecurityGroupRule.1.SecurityGroupRule.ToPort=80\
             &SecurityGroupRule.1.SecurityGroupRule.CidrIpv4=0.0.0.0%2F0\
             &SecurityGroupRule.1.SecurityGroupRule.Description=x\
             &SecurityGroupRule.1.SecurityGroupRule.ReferencedGroupId=sg-2\
             &SecurityGroupRule.1.SecurityGroupRule.PrefixListId=pl-1",
        );
        assert_eq!(p.required("GroupId"), Ok("sg-1"));
        let rules = p.structs("SecurityGroupRule").unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].required("SecurityGroupRuleId"), Ok("sgr-1"));
        let r = rules[0].structure("SecurityGroupRule").expect("present");
        assert_eq!(r.required("IpProtocol"), Ok("tcp"));
        assert_eq!(r.int("FromPort"), Ok(Some(80)));
        assert_eq!(r.int("ToPort"), Ok(Some(80)));
        assert_eq!(r.get("CidrIpv4"), Some("0.0.0.0/0"));
        assert_eq!(r.get("Description"), Some("x"));
        assert_eq!(r.get("ReferencedGroupId"), Some("sg-2"));
        assert_eq!(r.get("PrefixListId"), Some("pl-1"));
        assert_eq!(r.get("CidrIpv6"), None);
        assert!(rules[0].structure("Other").is_none());
        assert_eq!(p.deny_unused(), Ok(()));
        assert_eq!(
            err(r.required("CidrIpv6")),
            (
                "MissingParameter",
                "The request must contain the parameter \
                 SecurityGroupRule.1.SecurityGroupRule.CidrIpv6"
                    .into()
            )
        );
    }

    /// §1.1: CreateTags with an empty `Tag.2.Value=`, which must stay distinct from an absent
    /// value (DeleteTags semantics differ).
    #[test]
    fn create_tags_empty_value() {
        let p = parse(
            "Action=CreateTags&Version=2016-11-15&ResourceId.1=sg-1&ResourceId.2=sgr-1\
             &Tag.1.Key=a&Tag.1.Value=b&Tag.2.Key=c&Tag.2.Value=",
        );
        assert_eq!(p.strings("ResourceId"), Ok(vec!["sg-1", "sgr-1"]));
        let tags = p.structs("Tag").unwrap();
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[0].get("Key"), Some("a"));
        assert_eq!(tags[0].get("Value"), Some("b"));
        assert_eq!(tags[1].get("Key"), Some("c"));
        assert_eq!(tags[1].get("Value"), Some(""));

        let p = parse("Action=DeleteTags&Version=2016-11-15&ResourceId.1=sg-1&Tag.1.Key=a");
        let tags = p.structs("Tag").unwrap();
        assert_eq!(tags[0].get("Value"), None);
    }

    #[test]
    fn indices_sort_numerically_with_gaps() {
        let p = parse("X.10=ten&X.2=two&X.1=one&X.9=nine&X.100=hundred&X.3=three");
        assert_eq!(
            p.strings("X"),
            Ok(vec!["one", "two", "three", "nine", "ten", "hundred"])
        );
        let p = parse("S.10.K=ten&S.2.K=two&S.2.V=2&S.1.K=one");
        let keys: Vec<String> = p
            .structs("S")
            .unwrap()
            .iter()
            .map(|s| s.full_name(""))
            .collect();
        assert_eq!(keys, vec!["S.1.", "S.2.", "S.10."]);
        // A list name that is a prefix of another name is not confused with it.
        let p = parse("Value.1=a&ValueX.1=b&Value2=c");
        assert_eq!(p.strings("Value"), Ok(vec!["a"]));
    }

    #[test]
    fn bad_list_indices() {
        for name in [
            "X.0",
            "X.01",
            "X.x",
            "X.",
            "X.-1",
            "X.1.Member",
            "X.99999999999",
        ] {
            let p = parse(&format!("{name}=v"));
            let (code, message) = err(p.strings("X"));
            assert_eq!(code, "InvalidParameterValue", "{name}");
            assert_eq!(
                message,
                format!(
                    "The parameter {name} is not a valid member of the list X: \
                     expected X.N with N = 1, 2, 3, ..."
                )
            );
        }
        for name in ["S.1", "S.0.K", "S.01.K", "S.a.K", "S.1."] {
            let p = parse(&format!("{name}=v"));
            let (code, message) = err(p.structs("S"));
            assert_eq!(code, "InvalidParameterValue", "{name}");
            assert!(message.contains("expected S.N.Member"), "{message}");
        }
        // Nested: the error names the full list.
        let p = parse("P.1.IpRanges.0.CidrIp=x");
        let perm = &p.structs("P").unwrap()[0];
        assert_eq!(
            err(perm.structs("IpRanges")).1,
            "The parameter P.1.IpRanges.0.CidrIp is not a valid member of the list \
             P.1.IpRanges: expected P.1.IpRanges.N.Member with N = 1, 2, 3, ..."
        );
    }

    #[test]
    fn decoding_plus_percent_and_utf8() {
        let p = parse("A=a+b&B=a%20b&C=a%26b%3Dc&D=%C3%BC&E=%c3%bc&F=caf\u{e9}&G=100%25&H=%2B");
        assert_eq!(p.get("A"), Some("a b"));
        assert_eq!(p.get("B"), Some("a b"));
        assert_eq!(p.get("C"), Some("a&b=c"));
        assert_eq!(p.get("D"), Some("ü"));
        assert_eq!(p.get("E"), Some("ü"));
        assert_eq!(p.get("F"), Some("café"));
        assert_eq!(p.get("G"), Some("100%"));
        assert_eq!(p.get("H"), Some("+"));
        // Names are decoded too, and `;` is not a separator.
        let p = parse("Tag.1.Key%3Ax=1&a;b=2");
        assert_eq!(p.get("Tag.1.Key:x"), Some("1"));
        assert_eq!(p.get("a;b"), Some("2"));
        // Empty pieces are skipped; a piece without `=` has an empty value.
        let p = parse("&A=1&&B&");
        assert_eq!(p.get("A"), Some("1"));
        assert_eq!(p.get("B"), Some(""));
    }

    #[test]
    fn not_utf8_is_rejected() {
        for body in [&b"A=%FF"[..], b"A=%C3", b"%FF=1", b"A=\xff", b"A=%EF%BF%BD"] {
            let (code, _) = err(Params::parse("", body));
            assert_eq!(code, "MalformedQueryString", "{body:?}");
        }
        assert_eq!(
            Params::parse("", b"Descr%FFiption=x").unwrap_err(),
            FormError::NotUtf8 {
                name: "Descr\u{FFFD}iption".into()
            }
        );
    }

    #[test]
    fn duplicates_are_rejected() {
        let (code, message) = err(Params::parse("", b"GroupId=sg-1&GroupId=sg-2"));
        assert_eq!(code, "InvalidParameterValue");
        assert_eq!(message, "The parameter GroupId is given more than once");
        // Also when the value is the same, and when spelt differently on the wire.
        assert!(Params::parse("", b"A=1&A=1").is_err());
        assert!(Params::parse("", b"a+b=1&a%20b=2").is_err());
        // Across the query string and the body.
        assert_eq!(
            Params::parse("Action=X", b"Action=X").unwrap_err(),
            FormError::Duplicate {
                name: "Action".into()
            }
        );
    }

    #[test]
    fn missing_parameters() {
        let p = parse("Version=2016-11-15");
        assert_eq!(
            err(p.action()),
            (
                "MissingAction",
                "The request must contain the parameter Action".into()
            )
        );
        assert_eq!(
            err(p.required("GroupId")),
            (
                "MissingParameter",
                "The request must contain the parameter GroupId".into()
            )
        );
        assert_eq!(parse("Action=X").version(), None);
        let api: ApiError = p.required("GroupId").unwrap_err().into();
        assert_eq!(api, ApiError::missing("GroupId"));
    }

    #[test]
    fn booleans() {
        let p = parse("A=true&B=false&C=True&D=1&E=&F=yes");
        assert_eq!(p.bool("A"), Ok(Some(true)));
        assert_eq!(p.bool("B"), Ok(Some(false)));
        assert_eq!(p.bool("Z"), Ok(None));
        for name in ["C", "D", "E", "F"] {
            let (code, message) = err(p.bool(name));
            assert_eq!(code, "InvalidParameterValue");
            let value = p.get(name).unwrap();
            let start = format!("Value ({value}) for parameter {name} is invalid.");
            assert!(message.starts_with(&start), "{message}");
        }
        assert_eq!(
            err(p.bool("F")).1,
            "Value (yes) for parameter F is invalid. Expected a boolean: true or false."
        );
    }

    #[test]
    fn integers() {
        let p = parse(
            "A=22&B=-1&C=0&D=9223372036854775807&E=9223372036854775808&F=%2B5&G=+5&H=1e3&I=&J=-\
             &K=0x10&L=22.0&M=%EF%BC%91",
        );
        assert_eq!(p.int("A"), Ok(Some(22)));
        assert_eq!(p.int("B"), Ok(Some(-1)));
        assert_eq!(p.int("C"), Ok(Some(0)));
        assert_eq!(p.int("D"), Ok(Some(i64::MAX)));
        assert_eq!(p.int("Z"), Ok(None));
        for name in ["E", "F", "G", "H", "I", "J", "K", "L", "M"] {
            assert_eq!(err(p.int(name)).0, "InvalidParameterValue", "{name}");
        }
        let p = parse("IpPermissions.1.FromPort=ssh");
        let perm = &p.structs("IpPermissions").unwrap()[0];
        assert_eq!(
            perm.int("FromPort").unwrap_err(),
            FormError::InvalidValue {
                name: "IpPermissions.1.FromPort".into(),
                value: "ssh".into(),
                expected: "Expected a decimal integer.",
            }
        );
        assert_eq!(
            err(perm.int("FromPort")).1,
            "Value (ssh) for parameter IpPermissions.1.FromPort is invalid. \
             Expected a decimal integer."
        );
    }

    /// A GET request carries everything in the query string, with an empty body; a POST may
    /// carry some parameters in each.
    #[test]
    fn query_string_and_body() {
        let p = Params::parse(
            "Action=DescribeSecurityGroups&Version=2016-11-15&GroupId.1=sg-1&GroupId.2=sg-2",
            b"",
        )
        .unwrap();
        assert_eq!(p.action(), Ok("DescribeSecurityGroups"));
        assert_eq!(p.strings("GroupId"), Ok(vec!["sg-1", "sg-2"]));
        assert_eq!(p.deny_unused(), Ok(()));

        let p = Params::parse("Action=GetCallerIdentity", b"Version=2011-06-15").unwrap();
        assert_eq!(p.action(), Ok("GetCallerIdentity"));
        assert_eq!(p.version(), Some("2011-06-15"));

        let p = Params::parse("", b"").unwrap();
        assert_eq!(p.action(), Err(FormError::MissingAction));
        assert_eq!(p.unused(), Vec::<&str>::new());
    }

    /// The envelope (Action, Version, SigV4 query authentication) is not the decoders'
    /// business.
    #[test]
    fn envelope_names_are_not_unknown() {
        let p = Params::parse(
            "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Signature=abc",
            b"",
        )
        .unwrap();
        assert_eq!(p.deny_unused(), Ok(()));
        assert_eq!(p.get("X-Amz-Signature"), Some("abc"));
    }

    #[test]
    fn parameter_count_is_bounded() {
        let body = |n: usize| -> String {
            (1..=n)
                .map(|i| format!("GroupId.{i}=sg-{i}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        let p = parse(&body(MAX_PARAMS));
        assert_eq!(p.strings("GroupId").unwrap().len(), MAX_PARAMS);
        assert_eq!(p.strings("GroupId").unwrap()[MAX_PARAMS - 1], "sg-10000");
        assert_eq!(
            Params::parse("", body(MAX_PARAMS + 1).as_bytes()).unwrap_err(),
            FormError::TooManyParameters { limit: MAX_PARAMS }
        );
        assert_eq!(
            Params::parse("A=1", body(MAX_PARAMS).as_bytes()).unwrap_err(),
            FormError::TooManyParameters { limit: MAX_PARAMS }
        );
    }

    #[test]
    fn empty_name_is_rejected() {
        assert_eq!(
            err(Params::parse("", b"A=1&=2")),
            (
                "MalformedQueryString",
                "The request contains a parameter with an empty name".into()
            )
        );
    }

    /// Params is shared across an `.await` by the HTTP handler.
    #[test]
    fn params_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Params>();
    }
}
