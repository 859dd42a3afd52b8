//! Tags (SG-GRP-1, SG-RULE-1: groups and rules carry tags; VPCs and managed prefix lists too):
//! EC2's `CreateTags`, `DeleteTags` and `DescribeTags` on `sg-`, `sgr-`, `pl-` and `vpc-` ids,
//! and the tags of a `TagSpecification` given when a resource is created.
//!
//! EC2's rules, from its API reference (CreateTags, DeleteTags, DescribeTags, Tag) and user
//! guide ("Tag restrictions"), and from what EC2 answers (quoted in the issues cited below):
//! - A key is 1..=128 characters and a value 0..=256; keys are case-sensitive; `aws:` (in any
//!   case) is reserved, for keys to create *and* to delete (`InvalidParameterValue`).
//! - A resource has at most 50 tags, `aws:` ones not counted; overwriting an existing key
//!   does not count again (moto#8151, checked against EC2): more is `TagLimitExceeded`.
//! - `CreateTags` adds or overwrites, on every resource or none.
//! - `DeleteTags`: a key without a value deletes the key whatever its value; `Value=""` only
//!   if the value is empty; no tag at all deletes every tag not prefixed `aws:`. Deleting a
//!   tag that is not there is not an error (aws-cli#138).
//! - An id that is no resource id at all is `InvalidID` ("The ID '...' is not valid"); a
//!   well-formed one that does not exist is the resource's own not-found code, e.g.
//!   `InvalidGroup.NotFound` for CreateTags on a missing group (galaxyproject/cloudlaunch#174),
//!   `InvalidVpcID.NotFound` for a missing VPC (chef-provisioning-aws#218).
//! - Up to 1000 resource ids per request, and up to 1000 tags per `DeleteTags`.

use super::{ApiError, ApiResult, State, Tag, filters, ops, prefix_lists, validate};
use crate::shapes::{
    CreateTags, DeleteTags, DescribeTags, DescribeTagsResult, Output, TagDescription,
    TagSpecification, TagToDelete,
};

/// Tags per resource, not counting those prefixed `aws:`.
pub const MAX_TAGS: usize = 50;
/// Resource ids in one `CreateTags` or `DeleteTags`, and tags in one `DeleteTags`.
pub const MAX_PER_REQUEST: usize = 1000;

/// The kinds of resource sgd can tag, with EC2's `resourceType` for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Group,
    Rule,
    PrefixList,
    Vpc,
}

impl Kind {
    fn resource_type(self) -> &'static str {
        match self {
            Self::Group => "security-group",
            Self::Rule => "security-group-rule",
            Self::PrefixList => "prefix-list",
            Self::Vpc => "vpc",
        }
    }

    /// The kind an id names: a known prefix and 8 or 17 lowercase hex digits (17 for rules,
    /// which are newer than EC2's longer ids).
    fn of(id: &str) -> ApiResult<Self> {
        let hex = |h: &str, lens: &[usize]| {
            lens.contains(&h.len())
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let (kind, rest, lens) = if let Some(h) = id.strip_prefix("sgr-") {
            (Self::Rule, h, &[17][..])
        } else if let Some(h) = id.strip_prefix("sg-") {
            (Self::Group, h, &[8, 17][..])
        } else if let Some(h) = id.strip_prefix("pl-") {
            (Self::PrefixList, h, &[8, 17][..])
        } else if let Some(h) = id.strip_prefix("vpc-") {
            (Self::Vpc, h, &[8, 17][..])
        } else {
            return Err(invalid_id(id));
        };
        if hex(rest, lens) {
            Ok(kind)
        } else {
            Err(invalid_id(id))
        }
    }
}

fn invalid_id(id: &str) -> ApiError {
    ApiError::new("InvalidID", format!("The ID '{id}' is not valid"))
}

fn tag_limit() -> ApiError {
    ApiError::new(
        "TagLimitExceeded",
        "The maximum number of Tags for a resource has been reached.",
    )
}

fn reserved(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
}

/// The tags of the resource `id`, or EC2's error for an id that is malformed or unknown.
fn tags_of<'a>(state: &'a State, id: &str) -> ApiResult<&'a Vec<Tag>> {
    match Kind::of(id)? {
        Kind::Group => state
            .groups
            .get(id)
            .map(|g| &g.tags)
            .ok_or_else(|| ApiError::group_not_found(id)),
        Kind::Rule => state
            .groups
            .values()
            .flat_map(|g| &g.rules)
            .find(|r| r.id == id)
            .map(|r| &r.tags)
            .ok_or_else(|| {
                ApiError::new(
                    "InvalidSecurityGroupRuleId.NotFound",
                    format!("The security group rule ID '{id}' does not exist"),
                )
            }),
        Kind::PrefixList => state
            .prefix_lists
            .get(id)
            .map(|p| &p.tags)
            .ok_or_else(|| prefix_lists::not_found(id)),
        Kind::Vpc => state
            .vpcs
            .get(id)
            .map(|v| &v.tags)
            .ok_or_else(|| ops::vpc_not_found(id)),
    }
}

/// [`tags_of`], to change them (the id was checked by `tags_of` first).
fn tags_mut<'a>(state: &'a mut State, id: &str) -> Option<&'a mut Vec<Tag>> {
    match Kind::of(id).ok()? {
        Kind::Group => state.groups.get_mut(id).map(|g| &mut g.tags),
        Kind::Rule => state
            .groups
            .values_mut()
            .flat_map(|g| &mut g.rules)
            .find(|r| r.id == id)
            .map(|r| &mut r.tags),
        Kind::PrefixList => state.prefix_lists.get_mut(id).map(|p| &mut p.tags),
        Kind::Vpc => state.vpcs.get_mut(id).map(|v| &mut v.tags),
    }
}

/// The ids of a request: at least one, at most [`MAX_PER_REQUEST`], each naming an existing
/// resource; then `change` computes each one's new tags, and only if it succeeds for all of
/// them are they written (all or nothing).
fn change_all(
    state: &mut State,
    resources: &[String],
    change: impl Fn(&[Tag]) -> ApiResult<Vec<Tag>>,
) -> ApiResult<()> {
    if resources.is_empty() {
        return Err(ApiError::missing("ResourceId"));
    }
    if resources.len() > MAX_PER_REQUEST {
        return Err(ApiError::invalid_value(format!(
            "Up to {MAX_PER_REQUEST} resource IDs may be given in one request, not {}",
            resources.len()
        )));
    }
    let mut new = Vec::with_capacity(resources.len());
    for id in resources {
        new.push(change(tags_of(state, id)?)?);
    }
    for (id, tags) in resources.iter().zip(new) {
        *tags_mut(state, id).expect("checked by tags_of") = tags;
    }
    Ok(())
}

/// Checks the tags of one request: each valid (key, value, no `aws:`), no key twice, at most
/// [`MAX_TAGS`] (a longer list could never fit on a resource).
fn checked(tags: &[Tag]) -> ApiResult<()> {
    for (i, t) in tags.iter().enumerate() {
        validate::tag(t)?;
        if tags[..i].iter().any(|o| o.key == t.key) {
            return Err(ApiError::invalid_value(format!(
                "Duplicate tag key '{}'",
                t.key
            )));
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(tag_limit());
    }
    Ok(())
}

/// Tags from `TagSpecifications` for one resource type (tag on create).
pub fn tags_for(specs: &[TagSpecification], resource: &str) -> ApiResult<Vec<Tag>> {
    let mut tags = Vec::new();
    for s in specs {
        match s.resource_type.as_deref() {
            Some(t) if t == resource => {}
            other => {
                return Err(ApiError::invalid_value(format!(
                    "'{}' is not a valid taggable resource type for this operation (expected '{resource}')",
                    other.unwrap_or("")
                )));
            }
        }
        tags.extend(s.tags.iter().cloned());
    }
    checked(&tags)?;
    Ok(tags)
}

/// `CreateTags`: adds each tag to each resource, or overwrites the value of a key it has.
/// Outputs nothing (the AWS CLI prints nothing; the Query API writes `<return>true</return>`).
pub fn create_tags(state: &mut State, req: &CreateTags) -> ApiResult<Output> {
    if req.resources.is_empty() {
        return Err(ApiError::missing("ResourceId"));
    }
    if req.tags.is_empty() {
        return Err(ApiError::missing("Tag"));
    }
    checked(&req.tags)?;
    change_all(state, &req.resources, |current| {
        let mut tags = current.to_vec();
        for t in &req.tags {
            match tags.iter_mut().find(|o| o.key == t.key) {
                Some(o) => o.value.clone_from(&t.value),
                None => tags.push(t.clone()),
            }
        }
        if tags.iter().filter(|t| !reserved(&t.key)).count() > MAX_TAGS {
            return Err(tag_limit());
        }
        Ok(tags)
    })?;
    Ok(Output::None)
}

/// Whether `DeleteTags` tag `d` takes tag `t` away.
fn deletes(d: &TagToDelete, t: &Tag) -> bool {
    d.key == t.key && d.value.as_ref().is_none_or(|v| *v == t.value)
}

/// `DeleteTags`: see the module's documentation for what each form deletes.
pub fn delete_tags(state: &mut State, req: &DeleteTags) -> ApiResult<Output> {
    if req.tags.len() > MAX_PER_REQUEST {
        return Err(ApiError::invalid_value(format!(
            "Up to {MAX_PER_REQUEST} tags may be deleted in one request, not {}",
            req.tags.len()
        )));
    }
    for d in &req.tags {
        validate::tag(&Tag {
            key: d.key.clone(),
            value: d.value.clone().unwrap_or_default(),
        })?;
    }
    change_all(state, &req.resources, |current| {
        let mut tags = current.to_vec();
        if req.tags.is_empty() {
            tags.retain(|t| reserved(&t.key));
        } else {
            tags.retain(|t| !req.tags.iter().any(|d| deletes(d, t)));
        }
        Ok(tags)
    })?;
    Ok(Output::None)
}

/// One row of `DescribeTags`: a tag of a resource, which filters see with its resource's
/// other tags (`tag:<key>` selects the tags of resources that have that tag).
struct Row<'a> {
    id: &'a str,
    kind: Kind,
    tag: &'a Tag,
    all: &'a [Tag],
}

impl filters::Filterable for Row<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        Some(vec![match name {
            "key" => self.tag.key.clone(),
            "value" => self.tag.value.clone(),
            "resource-id" => self.id.to_owned(),
            "resource-type" => self.kind.resource_type().to_owned(),
            _ => return None,
        }])
    }

    fn tags(&self) -> &[Tag] {
        self.all
    }
}

/// Every tag sgd holds, ordered by resource id, then key (EC2 documents no order).
fn rows(state: &State) -> Vec<Row<'_>> {
    let mut resources: Vec<(&str, Kind, &[Tag])> = Vec::new();
    for g in state.groups.values() {
        resources.push((&g.id, Kind::Group, &g.tags));
        for r in &g.rules {
            resources.push((&r.id, Kind::Rule, &r.tags));
        }
    }
    for p in state.prefix_lists.values() {
        resources.push((&p.id, Kind::PrefixList, &p.tags));
    }
    for v in state.vpcs.values() {
        resources.push((&v.id, Kind::Vpc, &v.tags));
    }
    let mut rows: Vec<Row<'_>> = resources
        .into_iter()
        .flat_map(|(id, kind, all)| all.iter().map(move |tag| Row { id, kind, tag, all }))
        .collect();
    rows.sort_by(|a, b| (a.id, &a.tag.key).cmp(&(b.id, &b.tag.key)));
    rows
}

/// A page's `NextToken`: where the next page starts after (resource id and key, hex-encoded).
fn token_after(row: &Row<'_>) -> String {
    hex::encode(format!("{}\0{}", row.id, row.tag.key))
}

fn bad_token(token: &str) -> ApiError {
    ApiError::new(
        "InvalidPaginationToken",
        format!("Invalid pagination token: {token}"),
    )
}

/// The resource id and key a `NextToken` points after.
fn parse_token(token: &str) -> ApiResult<(String, String)> {
    let bytes = hex::decode(token).map_err(|_| bad_token(token))?;
    let text = String::from_utf8(bytes).map_err(|_| bad_token(token))?;
    let (id, key) = text.split_once('\0').ok_or_else(|| bad_token(token))?;
    Kind::of(id).map_err(|_| bad_token(token))?;
    Ok((id.to_owned(), key.to_owned()))
}

/// `DescribeTags`: the tags of sgd's resources, filtered by `key`, `value`, `resource-id`,
/// `resource-type` and `tag:<key>` (values may use `*` and `?`), a page of `MaxResults` at a
/// time when it is given.
pub fn describe_tags(state: &State, req: &DescribeTags) -> ApiResult<DescribeTagsResult> {
    let page = match req.max_results {
        None => None,
        Some(n @ 5..=1000) => Some(n as usize),
        Some(n) => {
            return Err(ApiError::invalid_value(format!(
                "Value ({n}) for parameter MaxResults is invalid. Expected a value between 5 and 1000."
            )));
        }
    };
    // Checked here too, not only as rows are filtered: with no tag at all, no row would.
    if let Some(f) = req.filters.iter().find(|f| {
        !f.name.starts_with("tag:")
            && !["key", "value", "resource-id", "resource-type"].contains(&f.name.as_str())
    }) {
        return Err(ApiError::invalid_value(format!(
            "The filter '{}' is invalid",
            f.name
        )));
    }
    let after = req.next_token.as_deref().map(parse_token).transpose()?;
    let mut out = Vec::new();
    let mut next = None;
    for row in rows(state) {
        if let Some((id, key)) = &after
            && (row.id, &row.tag.key) <= (id.as_str(), key)
        {
            continue;
        }
        if !filters::matches(&row, &req.filters)? {
            continue;
        }
        if page.is_some_and(|n| out.len() == n) {
            next = out.last().map(|(r, _)| token_after(r));
            break;
        }
        let item = TagDescription {
            key: row.tag.key.clone(),
            resource_id: row.id.to_owned(),
            resource_type: row.kind.resource_type().to_owned(),
            value: row.tag.value.clone(),
        };
        out.push((row, item));
    }
    Ok(DescribeTagsResult {
        tags: out.into_iter().map(|(_, item)| item).collect(),
        next_token: next,
    })
}

#[cfg(test)]
mod tests;
