//! The state as etcd keys (issue 15): one JSON document per entity, the same documents the
//! one-host store keeps, under a prefix (`/sg/v1/` by default), split into **scopes** so that
//! a host follows only what it needs:
//!
//! | key | scope | value |
//! |---|---|---|
//! | `global/version` | global | the layout version ([`LAYOUT_VERSION`]) |
//! | `global/owner` | global | the account id every resource belongs to |
//! | `global/vpc/<vpc-id>` | global | a VPC |
//! | `global/prefix-list/<pl-id>` | global | a managed prefix list |
//! | `global/follows/<host>` | global | the VPCs host `<host>` follows (derived, see [`follows`]) |
//! | `vpc/<vpc-id>/group/<sg-id>` | the VPC's | a security group with its rules |
//! | `vpc/<vpc-id>/iface/<host>/<device>` | the VPC's | a network interface of host `<host>` |
//! | `guard/write` | none | the last write's request id: every write compares its revision |
//! | `guard/<scope prefix>` | none | the last write to that scope (its *marker*) |
//!
//! A host follows the global scope and the scopes of the VPCs it needs: those of its
//! interfaces, and those of the groups their rules name (a group's members are interfaces of
//! its VPC). The writer of a change computes every host's list (`global/follows/<host>`), so a
//! host learns of an interface created for it elsewhere, or of a new reference, by following
//! the global scope alone.
//!
//! A write is one etcd transaction: it compares `guard/write`'s revision with the one the
//! writer's state was read at, puts the documents that changed and deletes the ones that went,
//! puts `guard/write` and the marker of every scope it changed. So a write lands only on the
//! state it was computed from: two hosts creating the same group name at once cannot both
//! succeed, and every check the model made (duplicates, quotas, dependencies, in any VPC)
//! still holds when the write commits. The markers tell a host, in one read of `guard/`,
//! which scopes changed since it last read them. This module is pure: documents in, documents
//! out.
//!
//! Hosts' liveness records (on a lease; see `fleet::etcd`) live beside the prefix, under
//! [`hosts_prefix`] (`/sg/v1-hosts/<host>`): they change every few seconds, and outside the
//! watched ranges they wake no other host.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Peer, State, default_region};

/// The version of this layout, in `global/version`: an sgd that does not know it refuses the
/// store rather than misreading it. (Version 1 kept every document in one scope.)
pub const LAYOUT_VERSION: &str = "2";

/// The default prefix of sgd's keys.
pub const DEFAULT_PREFIX: &str = "/sg/v1/";

pub const VERSION_KEY: &str = "global/version";
pub const OWNER_KEY: &str = "global/owner";
/// The write guard: see the module's documentation.
pub const GUARD_KEY: &str = "guard/write";
/// The prefix of the guard and of the scopes' markers.
pub const GUARDS_PREFIX: &str = "guard/";
const FOLLOWS: &str = "global/follows/";

/// A part of the shared state that a host follows as a whole (one etcd watch).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// VPCs, prefix lists, who follows what: every host follows it.
    Global,
    /// One VPC's groups and interfaces.
    Vpc(String),
}

impl Scope {
    /// The prefix of the scope's keys (without the store's prefix).
    pub fn prefix(&self) -> String {
        match self {
            Scope::Global => "global/".to_owned(),
            Scope::Vpc(v) => format!("vpc/{v}/"),
        }
    }

    /// The key of the scope's marker: written by every write that changes the scope.
    pub fn marker(&self) -> String {
        format!("{GUARDS_PREFIX}{}", self.prefix())
    }

    /// The scope a key belongs to (`None`: the guards, or a stranger).
    pub fn of(key: &str) -> Option<Scope> {
        if key.starts_with("global/") {
            return Some(Scope::Global);
        }
        let rest = key.strip_prefix("vpc/")?;
        let (vpc, _) = rest.split_once('/')?;
        Some(Scope::Vpc(vpc.to_owned()))
    }

    /// The scope whose marker is `key` (`None`: not a marker).
    pub fn of_marker(key: &str) -> Option<Scope> {
        let rest = key.strip_prefix(GUARDS_PREFIX)?;
        let s = Scope::of(rest)?;
        (s.prefix() == rest).then_some(s)
    }

    /// A name for logs and metrics: `global` or the VPC's id.
    pub fn name(&self) -> &str {
        match self {
            Scope::Global => "global",
            Scope::Vpc(v) => v,
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The prefix of the hosts' liveness records for the state under `prefix`: beside it, not in
/// it (`/sg/v1/` -> `/sg/v1-hosts/`, which sorts before `/sg/v1/`, outside its range).
pub fn hosts_prefix(prefix: &str) -> String {
    format!("{}-hosts/", prefix.trim_end_matches('/'))
}

/// Why documents could not be read back into a state.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("corrupt document {key}: {source}")]
    Corrupt {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the store holds layout version {found}; this sgd reads version {LAYOUT_VERSION}")]
    Version { found: String },
    #[error("unexpected key {0} in the store")]
    UnknownKey(String),
}

/// The VPCs each host needs to follow in `state`: those of its interfaces, and those of the
/// groups that the rules of their groups name (whose members are interfaces of that VPC).
/// One pass over the interfaces, by host.
pub fn follows(state: &State) -> BTreeMap<&str, BTreeSet<String>> {
    let mut out: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (id, i) in &state.interfaces {
        let Some((host, _)) = id.split_once('/') else {
            continue;
        };
        let vpcs = out.entry(host).or_default();
        vpcs.insert(i.vpc_id.clone());
        let named = i
            .group_ids
            .iter()
            .filter_map(|gid| state.groups.get(gid))
            .flat_map(|g| &g.rules)
            .filter_map(|r| match &r.peer {
                Peer::Group(other) => state.groups.get(other),
                _ => None,
            });
        vpcs.extend(named.map(|o| o.vpc_id.clone()));
    }
    out
}

/// The key of `host`'s list of followed VPCs.
pub fn follows_key(host: &str) -> String {
    format!("{FOLLOWS}{host}")
}

/// The documents of `state`, by key (without the prefix), with every host's list of followed
/// VPCs. The guards are not among them: they are the writers', not the state's.
pub fn documents(state: &State) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert(VERSION_KEY.to_owned(), LAYOUT_VERSION.to_owned());
    out.insert(OWNER_KEY.to_owned(), state.owner_id.clone());
    for (id, v) in &state.vpcs {
        out.insert(format!("global/vpc/{id}"), json(v));
    }
    for (id, p) in &state.prefix_lists {
        out.insert(format!("global/prefix-list/{id}"), json(p));
    }
    for (id, f) in &state.flow_logs {
        out.insert(format!("global/flow-log/{id}"), json(f));
    }
    for (id, g) in &state.groups {
        out.insert(format!("vpc/{}/group/{id}", g.vpc_id), json(g));
    }
    for (id, i) in &state.interfaces {
        out.insert(format!("vpc/{}/iface/{id}", i.vpc_id), json(i));
    }
    for (host, vpcs) in follows(state) {
        out.insert(follows_key(host), json(&vpcs));
    }
    out
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("model types always serialise")
}

/// Whether `key` (without the prefix) belongs to the shared state (a scope).
pub fn is_state_key(key: &str) -> bool {
    Scope::of(key).is_some()
}

/// Reads `host`'s list of followed VPCs from its document.
pub fn parse_follows(value: &[u8]) -> Result<BTreeSet<String>, LayoutError> {
    serde_json::from_slice(value).map_err(|source| LayoutError::Corrupt {
        key: FOLLOWS.to_owned(),
        source,
    })
}

/// Applies one document to `state`: `Some(value)` puts it, `None` deletes it. The guards and
/// the derived lists of followed VPCs are not state and are ignored.
pub fn apply(state: &mut State, key: &str, value: Option<&[u8]>) -> Result<(), LayoutError> {
    fn parse<T: serde::de::DeserializeOwned>(key: &str, v: &[u8]) -> Result<T, LayoutError> {
        serde_json::from_slice(v).map_err(|source| LayoutError::Corrupt {
            key: key.to_owned(),
            source,
        })
    }
    fn put_or_remove<T>(map: &mut BTreeMap<String, T>, id: &str, v: Option<T>) {
        match v {
            Some(v) => map.insert(id.to_owned(), v),
            None => map.remove(id),
        };
    }
    let unknown = || LayoutError::UnknownKey(key.to_owned());
    if key.starts_with(GUARDS_PREFIX) || key.starts_with(FOLLOWS) {
        return Ok(());
    }
    if key == "meta/version" {
        // Layout 1 kept its version there.
        return Err(LayoutError::Version { found: "1".into() });
    }
    if key == VERSION_KEY {
        return match value.map(String::from_utf8_lossy) {
            Some(v) if v != LAYOUT_VERSION => Err(LayoutError::Version {
                found: v.into_owned(),
            }),
            _ => Ok(()),
        };
    }
    if key == OWNER_KEY {
        if let Some(v) = value {
            state.owner_id = String::from_utf8_lossy(v).into_owned();
        }
        return Ok(());
    }
    if let Some(rest) = key.strip_prefix("global/") {
        let (kind, id) = rest.split_once('/').ok_or_else(unknown)?;
        match kind {
            "vpc" => put_or_remove(
                &mut state.vpcs,
                id,
                value.map(|v| parse(key, v)).transpose()?,
            ),
            "prefix-list" => put_or_remove(
                &mut state.prefix_lists,
                id,
                value.map(|v| parse(key, v)).transpose()?,
            ),
            "flow-log" => put_or_remove(
                &mut state.flow_logs,
                id,
                value.map(|v| parse(key, v)).transpose()?,
            ),
            _ => return Err(unknown()),
        }
        return Ok(());
    }
    let rest = key.strip_prefix("vpc/").ok_or_else(unknown)?;
    let (_vpc, rest) = rest.split_once('/').ok_or_else(unknown)?;
    let (kind, id) = rest.split_once('/').ok_or_else(unknown)?;
    match kind {
        "group" => put_or_remove(
            &mut state.groups,
            id,
            value.map(|v| parse(key, v)).transpose()?,
        ),
        "iface" => put_or_remove(
            &mut state.interfaces,
            id,
            value.map(|v| parse(key, v)).transpose()?,
        ),
        _ => return Err(unknown()),
    }
    Ok(())
}

/// An empty state for `region`, to which documents are applied.
fn empty(region: &str) -> State {
    State {
        owner_id: String::new(),
        region: if region.is_empty() {
            default_region()
        } else {
            region.to_owned()
        },
        vpcs: BTreeMap::new(),
        groups: BTreeMap::new(),
        interfaces: BTreeMap::new(),
        prefix_lists: BTreeMap::new(),
        flow_logs: BTreeMap::new(),
    }
}

/// The state the documents `docs` (key without prefix, value) describe. `None` when they hold
/// no state yet (no `global/version`): a new store, which the first host seeds.
pub fn state_of<'a>(
    docs: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    region: &str,
) -> Result<Option<State>, LayoutError> {
    let mut state = empty(region);
    let mut versioned = false;
    for (k, v) in docs {
        versioned |= k == VERSION_KEY;
        apply(&mut state, k, Some(v))?;
    }
    Ok(versioned.then_some(state))
}

/// Makes `scope`'s part of `state` what `docs` (that scope's documents, at one revision) say:
/// what they lack is deleted, what they hold is put; the rest of the state is kept.
pub fn replace_scope<'a>(
    state: &mut State,
    scope: &Scope,
    docs: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<(), LayoutError> {
    let mut next = state.clone();
    let fresh: BTreeMap<&str, &[u8]> = docs.into_iter().collect();
    for k in documents(state).keys() {
        if Scope::of(k).as_ref() == Some(scope) && !fresh.contains_key(k.as_str()) {
            apply(&mut next, k, None)?;
        }
    }
    for (k, v) in fresh {
        apply(&mut next, k, Some(v))?;
    }
    *state = next;
    Ok(())
}

/// What a write puts and deletes to turn `old` into `new` (keys without the prefix).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Diff {
    pub puts: Vec<(String, String)>,
    pub deletes: Vec<String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty()
    }

    /// The scopes the diff changes (whose markers the write puts).
    pub fn scopes(&self) -> BTreeSet<Scope> {
        self.puts
            .iter()
            .map(|(k, _)| k)
            .chain(&self.deletes)
            .filter_map(|k| Scope::of(k))
            .collect()
    }
}

pub fn diff(old: &State, new: &State) -> Diff {
    let (old, new) = (documents(old), documents(new));
    Diff {
        puts: new
            .iter()
            .filter(|(k, v)| old.get(*k) != Some(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        deletes: old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests;
