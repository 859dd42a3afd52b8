//! Managed prefix lists: named, versioned sets of CIDRs that rules can use as peers; a rule
//! with a prefix-list peer matches every entry (SG-RULE-4) and counts the list's maximum size
//! against the rule quota (SG-QUOTA).

use ipnet::IpNet;

use super::{
    ApiError, ApiResult, IdSource, Peer, PrefixList, PrefixListEntry, Quotas, State, Tag, filters,
    hex17, ops, rules, validate,
};
use crate::shapes::{
    self, CreateManagedPrefixList, DescribeManagedPrefixLists, DescribeManagedPrefixListsResult,
    GetManagedPrefixListEntriesResult, ManagedPrefixList, ModifyManagedPrefixList,
    PrefixListEntryIn, PrefixListIdRequest, PrefixListResult,
};

/// Largest `MaxEntries` of a managed prefix list.
pub const MAX_ENTRIES_LIMIT: u32 = 1000;

pub fn not_found(id: &str) -> ApiError {
    ApiError::new(
        "InvalidPrefixListID.NotFound",
        format!("The prefix list ID '{id}' does not exist"),
    )
}

fn get<'a>(state: &'a State, id: &Option<String>) -> ApiResult<&'a PrefixList> {
    let id = ops::required(id, "PrefixListId")?;
    state.prefix_lists.get(id).ok_or_else(|| not_found(id))
}

/// The list in EC2's `ManagedPrefixList` shape. Its `State` is what a describe shows: the last
/// operation on it, complete (sgd applies each change before it answers). The outputs of the
/// operations themselves say `*-in-progress`, as EC2's do (EC2 API reference,
/// CreateManagedPrefixList, ModifyManagedPrefixList and DeleteManagedPrefixList examples).
fn to_shape(state: &State, pl: &PrefixList) -> ManagedPrefixList {
    ManagedPrefixList {
        prefix_list_id: pl.id.clone(),
        address_family: pl.address_family.clone(),
        state: if pl.modified {
            "modify-complete"
        } else {
            "create-complete"
        }
        .into(),
        prefix_list_arn: state.arn(&state.owner_id, "prefix-list", &pl.id),
        prefix_list_name: pl.name.clone(),
        max_entries: pl.max_entries,
        version: pl.version,
        tags: pl.tags.clone(),
        owner_id: state.owner_id.clone(),
    }
}

/// The output of an operation on a list: the list, in the state the operation left it.
fn in_progress(state: &State, pl: &PrefixList, what: &str) -> PrefixListResult {
    let mut out = to_shape(state, pl);
    out.state = format!("{what}-in-progress");
    PrefixListResult { prefix_list: out }
}

fn entry(family: &str, e: &PrefixListEntryIn) -> ApiResult<PrefixListEntry> {
    let cidr: IpNet = if family == "IPv4" {
        IpNet::V4(validate::cidr_v4(&e.cidr)?)
    } else {
        IpNet::V6(validate::cidr_v6(&e.cidr)?)
    };
    Ok(PrefixListEntry {
        cidr,
        description: validate::rule_description(&e.description)?,
    })
}

fn check_entries(pl: &PrefixList) -> ApiResult<()> {
    if pl.entries.len() > pl.max_entries as usize {
        return Err(ApiError::invalid_value(format!(
            "The prefix list {} would have {} entries, more than its maximum of {}",
            pl.id,
            pl.entries.len(),
            pl.max_entries
        )));
    }
    for (i, e) in pl.entries.iter().enumerate() {
        if pl.entries[..i].iter().any(|o| o.cidr == e.cidr) {
            return Err(ApiError::invalid_value(format!(
                "Duplicate prefix list entry {}",
                e.cidr
            )));
        }
    }
    Ok(())
}

fn max_entries(v: Option<u32>) -> ApiResult<u32> {
    match v {
        None => Err(ApiError::missing("MaxEntries")),
        Some(n) if (1..=MAX_ENTRIES_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid_value(format!(
            "Invalid value '{n}' for MaxEntries: must be between 1 and {MAX_ENTRIES_LIMIT}"
        ))),
    }
}

pub fn create(
    state: &mut State,
    ids: &mut dyn IdSource,
    req: &CreateManagedPrefixList,
) -> ApiResult<PrefixListResult> {
    let name = ops::required(&req.prefix_list_name, "PrefixListName")?;
    validate::text("PrefixListName", name)?;
    if name.starts_with("com.amazonaws") {
        return Err(ApiError::invalid_value(
            "Prefix list names starting with 'com.amazonaws' are reserved",
        ));
    }
    let family = ops::required(&req.address_family, "AddressFamily")?;
    if family != "IPv4" && family != "IPv6" {
        return Err(ApiError::invalid_value(format!(
            "Invalid value '{family}' for AddressFamily: must be IPv4 or IPv6"
        )));
    }
    let mut pl = PrefixList {
        id: format!("pl-{}", hex17(ids.next())),
        name: name.to_owned(),
        address_family: family.to_owned(),
        max_entries: max_entries(req.max_entries)?,
        version: 1,
        entries: req
            .entries
            .iter()
            .map(|e| entry(family, e))
            .collect::<ApiResult<_>>()?,
        tags: rules::tags_for(&req.tag_specifications, "prefix-list")?,
        modified: false,
    };
    check_entries(&pl)?;
    pl.entries.sort_by_key(|e| e.cidr);
    let out = in_progress(state, &pl, "create");
    state.prefix_lists.insert(pl.id.clone(), pl);
    Ok(out)
}

pub fn modify(
    state: &mut State,
    quotas: &Quotas,
    req: &ModifyManagedPrefixList,
) -> ApiResult<PrefixListResult> {
    let mut pl = get(state, &req.prefix_list_id)?.clone();
    if let Some(v) = req.current_version
        && v != pl.version
    {
        return Err(ApiError::new(
            "PrefixListVersionMismatch",
            format!(
                "The prefix list {} is at version {}, not {v}",
                pl.id, pl.version
            ),
        ));
    }
    if let Some(name) = &req.prefix_list_name {
        validate::text("PrefixListName", name)?;
        pl.name = name.clone();
    }
    if req.max_entries.is_some() {
        pl.max_entries = max_entries(req.max_entries)?;
    }
    for e in &req.remove_entries {
        let gone = entry(&pl.address_family, e)?;
        let before = pl.entries.len();
        pl.entries.retain(|o| o.cidr != gone.cidr);
        if pl.entries.len() == before {
            return Err(ApiError::invalid_value(format!(
                "The entry {} is not in prefix list {}",
                gone.cidr, pl.id
            )));
        }
    }
    for e in &req.add_entries {
        pl.entries.push(entry(&pl.address_family, e)?);
    }
    check_entries(&pl)?;
    pl.entries.sort_by_key(|e| e.cidr);
    if !req.add_entries.is_empty() || !req.remove_entries.is_empty() {
        pl.version += 1;
    }
    pl.modified = true;
    let id = pl.id.clone();
    state.prefix_lists.insert(id.clone(), pl);
    // A larger maximum counts against the rule quota of every group using the list.
    for g in state.groups.values() {
        if g.rules
            .iter()
            .any(|r| r.peer == Peer::PrefixList(id.clone()))
        {
            rules::check_rule_quota(state, quotas, g)?;
        }
    }
    Ok(in_progress(state, &state.prefix_lists[&id], "modify"))
}

pub fn delete(state: &mut State, req: &PrefixListIdRequest) -> ApiResult<PrefixListResult> {
    let id = get(state, &req.prefix_list_id)?.id.clone();
    if state.groups.values().any(|g| {
        g.rules
            .iter()
            .any(|r| r.peer == Peer::PrefixList(id.clone()))
    }) {
        return Err(ApiError::new(
            "DependencyViolation",
            format!("resource {id} has a dependent object"),
        ));
    }
    let pl = state.prefix_lists.remove(&id).expect("found above");
    Ok(in_progress(state, &pl, "delete"))
}

pub fn describe(
    state: &State,
    req: &DescribeManagedPrefixLists,
) -> ApiResult<DescribeManagedPrefixListsResult> {
    for id in &req.prefix_list_ids {
        if !state.prefix_lists.contains_key(id) {
            return Err(not_found(id));
        }
    }
    let mut lists = Vec::new();
    for p in state
        .prefix_lists
        .values()
        .filter(|p| req.prefix_list_ids.is_empty() || req.prefix_list_ids.contains(&p.id))
    {
        if filters::matches(&ListView(state, p), &req.filters)? {
            lists.push(to_shape(state, p));
        }
    }
    Ok(DescribeManagedPrefixListsResult {
        prefix_lists: lists,
        next_token: None,
    })
}

/// The `DescribeManagedPrefixLists` filters sgd can answer.
struct ListView<'a>(&'a State, &'a PrefixList);

impl filters::Filterable for ListView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let p = self.1;
        Some(match name {
            "prefix-list-id" => vec![p.id.clone()],
            "prefix-list-name" => vec![p.name.clone()],
            "owner-id" => vec![self.0.owner_id.clone()],
            _ => return None,
        })
    }

    fn tags(&self) -> &[Tag] {
        &self.1.tags
    }
}

pub fn entries(
    state: &State,
    req: &PrefixListIdRequest,
) -> ApiResult<GetManagedPrefixListEntriesResult> {
    let pl = get(state, &req.prefix_list_id)?;
    let entries = pl
        .entries
        .iter()
        .map(|e| shapes::PrefixListEntry {
            cidr: e.cidr.to_string(),
            description: e.description.clone(),
        })
        .collect();
    Ok(GetManagedPrefixListEntriesResult {
        entries,
        next_token: None,
    })
}
