//! The state as etcd keys (issue 15): one JSON document per entity, the same documents the
//! one-host store keeps, under a prefix (`/sg/v1/` by default):
//!
//! | key | value |
//! |---|---|
//! | `meta/version` | the layout version ([`LAYOUT_VERSION`]) |
//! | `meta/owner` | the account id every resource belongs to |
//! | `meta/guard` | the last write's request id: every write compares its revision (see below) |
//! | `vpc/<vpc-id>` | a VPC |
//! | `group/<sg-id>` | a security group with its rules |
//! | `iface/<host>/<device>` | a network interface of host `<host>` |
//! | `prefix-list/<pl-id>` | a managed prefix list |
//!
//! Hosts' liveness records (on a lease; see `fleet::etcd`) live beside the prefix, under
//! [`hosts_prefix`] (`/sg/v1-hosts/<host>`): they change every few seconds, and outside
//! the watched range they wake no other host.
//!
//! Everything but `host/` is the shared state. A write is one etcd transaction: it compares
//! `meta/guard`'s revision with the one the writer's state was read at, puts the documents
//! that changed and deletes the ones that went, and puts `meta/guard`. So a write lands only
//! on the state it was computed from: two hosts creating the same group name at once cannot
//! both succeed, and every check the model made (duplicates, quotas, dependencies) still holds
//! when the write commits. This module is pure: documents in, documents out.

use std::collections::BTreeMap;

use crate::model::{State, default_region};

/// The version of this layout, in `meta/version`: an sgd that does not know it refuses the
/// store rather than misreading it.
pub const LAYOUT_VERSION: &str = "1";

/// The default prefix of sgd's keys.
pub const DEFAULT_PREFIX: &str = "/sg/v1/";

pub const VERSION_KEY: &str = "meta/version";
pub const OWNER_KEY: &str = "meta/owner";
pub const GUARD_KEY: &str = "meta/guard";

/// The part of the key space that is the shared state.
const STATE_KINDS: &[&str] = &["meta/", "vpc/", "group/", "iface/", "prefix-list/"];

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

/// The documents of `state`, by key (without the prefix). `meta/guard` is not among them: it
/// is the writers', not the state's.
pub fn documents(state: &State) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert(VERSION_KEY.to_owned(), LAYOUT_VERSION.to_owned());
    out.insert(OWNER_KEY.to_owned(), state.owner_id.clone());
    for (id, v) in &state.vpcs {
        out.insert(format!("vpc/{id}"), json(v));
    }
    for (id, g) in &state.groups {
        out.insert(format!("group/{id}"), json(g));
    }
    for (id, i) in &state.interfaces {
        out.insert(format!("iface/{id}"), json(i));
    }
    for (id, p) in &state.prefix_lists {
        out.insert(format!("prefix-list/{id}"), json(p));
    }
    out
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("model types always serialise")
}

/// Whether `key` (without the prefix) belongs to the shared state.
pub fn is_state_key(key: &str) -> bool {
    STATE_KINDS.iter().any(|k| key.starts_with(k))
}

/// Applies one document to `state`: `Some(value)` puts it, `None` deletes it. `meta/guard`
/// and keys outside the state are ignored.
pub fn apply(state: &mut State, key: &str, value: Option<&[u8]>) -> Result<(), LayoutError> {
    fn parse<T: serde::de::DeserializeOwned>(key: &str, v: &[u8]) -> Result<T, LayoutError> {
        serde_json::from_slice(v).map_err(|source| LayoutError::Corrupt {
            key: key.to_owned(),
            source,
        })
    }
    fn put_or_remove<T>(
        map: &mut BTreeMap<String, T>,
        id: &str,
        v: Option<T>,
    ) -> Result<(), LayoutError> {
        match v {
            Some(v) => map.insert(id.to_owned(), v),
            None => map.remove(id),
        };
        Ok(())
    }
    if key == GUARD_KEY || !is_state_key(key) {
        return Ok(());
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
    let (kind, id) = key
        .split_once('/')
        .ok_or_else(|| LayoutError::UnknownKey(key.to_owned()))?;
    match kind {
        "vpc" => put_or_remove(
            &mut state.vpcs,
            id,
            value.map(|v| parse(key, v)).transpose()?,
        ),
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
        "prefix-list" => put_or_remove(
            &mut state.prefix_lists,
            id,
            value.map(|v| parse(key, v)).transpose()?,
        ),
        _ => Err(LayoutError::UnknownKey(key.to_owned())),
    }
}

/// The state the documents `docs` (key without prefix, value) describe. `None` when they hold
/// no state yet (no `meta/version`): a new store, which the first host seeds.
pub fn state_of<'a>(
    docs: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    region: &str,
) -> Result<Option<State>, LayoutError> {
    let mut state = State {
        owner_id: String::new(),
        region: region.to_owned(),
        vpcs: BTreeMap::new(),
        groups: BTreeMap::new(),
        interfaces: BTreeMap::new(),
        prefix_lists: BTreeMap::new(),
    };
    let mut versioned = false;
    for (k, v) in docs {
        versioned |= k == VERSION_KEY;
        apply(&mut state, k, Some(v))?;
    }
    if state.region.is_empty() {
        state.region = default_region();
    }
    Ok(versioned.then_some(state))
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
