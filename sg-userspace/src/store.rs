//! The embedded transactional store: one redb file under the state directory. Each entity is a
//! JSON document in its table; a request's changes are written in one write transaction, so
//! the file always holds a state some request completed (no half-applied request survives a
//! crash).

use std::{collections::BTreeMap, path::Path};

use redb::{Database, ReadableTable, TableDefinition};
use serde::{Serialize, de::DeserializeOwned};

use crate::model::State;

const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
const VPCS: TableDefinition<&str, &str> = TableDefinition::new("vpcs");
const GROUPS: TableDefinition<&str, &str> = TableDefinition::new("groups");
const INTERFACES: TableDefinition<&str, &str> = TableDefinition::new("interfaces");
const PREFIX_LISTS: TableDefinition<&str, &str> = TableDefinition::new("prefix_lists");

/// Layout version of the store's documents.
const STORE_VERSION: &str = "1";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] Box<redb::Error>),
    #[error("corrupt record {key} in table {table}: {source}")]
    Corrupt {
        table: &'static str,
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the store was written by an incompatible sgd (store version {found}, expected {STORE_VERSION})"
    )]
    Version { found: String },
}

macro_rules! db_err {
    ($($t:ty),*) => { $(impl From<$t> for StoreError { fn from(e: $t) -> Self { Self::Db(Box::new(e.into())) } })* };
}
db_err!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

pub struct Store {
    db: Database,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: Database::create(path)?,
        })
    }

    /// Loads the saved state, or `None` for a new store.
    pub fn load(&self) -> Result<Option<State>, StoreError> {
        let txn = self.db.begin_read()?;
        let meta = match txn.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(version) = meta.get("version")? else {
            return Ok(None);
        };
        if version.value() != STORE_VERSION {
            return Err(StoreError::Version {
                found: version.value().to_owned(),
            });
        }
        let owner_id = meta
            .get("owner_id")?
            .map(|v| v.value().to_owned())
            .unwrap_or_default();
        let read = |def: TableDefinition<&str, &str>| -> Result<Vec<(String, String)>, StoreError> {
            let t = txn.open_table(def)?;
            let mut out = Vec::new();
            for row in t.iter()? {
                let (k, v) = row?;
                out.push((k.value().to_owned(), v.value().to_owned()));
            }
            Ok(out)
        };
        Ok(Some(State {
            owner_id,
            region: crate::model::default_region(),
            vpcs: decode(read(VPCS)?, "vpcs")?,
            groups: decode(read(GROUPS)?, "groups")?,
            interfaces: decode(read(INTERFACES)?, "interfaces")?,
            prefix_lists: decode(read(PREFIX_LISTS)?, "prefix_lists")?,
        }))
    }

    /// Writes the difference between `old` (what the store holds) and `new` in one transaction.
    pub fn save(&self, old: Option<&State>, new: &State) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert("version", STORE_VERSION)?;
            meta.insert("owner_id", new.owner_id.as_str())?;
            sync(&mut txn.open_table(VPCS)?, old.map(|o| &o.vpcs), &new.vpcs)?;
            sync(
                &mut txn.open_table(GROUPS)?,
                old.map(|o| &o.groups),
                &new.groups,
            )?;
            sync(
                &mut txn.open_table(INTERFACES)?,
                old.map(|o| &o.interfaces),
                &new.interfaces,
            )?;
            sync(
                &mut txn.open_table(PREFIX_LISTS)?,
                old.map(|o| &o.prefix_lists),
                &new.prefix_lists,
            )?;
        }
        txn.commit()?;
        Ok(())
    }
}

fn decode<T: DeserializeOwned>(
    rows: Vec<(String, String)>,
    table: &'static str,
) -> Result<BTreeMap<String, T>, StoreError> {
    rows.into_iter()
        .map(|(k, v)| match serde_json::from_str(&v) {
            Ok(t) => Ok((k, t)),
            Err(source) => Err(StoreError::Corrupt {
                table,
                key: k,
                source,
            }),
        })
        .collect()
}

fn sync<T: Serialize + PartialEq>(
    table: &mut redb::Table<&str, &str>,
    old: Option<&BTreeMap<String, T>>,
    new: &BTreeMap<String, T>,
) -> Result<(), StoreError> {
    for (k, v) in new {
        if old.and_then(|o| o.get(k)) != Some(v) {
            let doc = serde_json::to_string(v).expect("model types always serialise");
            table.insert(k.as_str(), doc.as_str())?;
        }
    }
    match old {
        Some(old) => {
            for k in old.keys().filter(|k| !new.contains_key(*k)) {
                table.remove(k.as_str())?;
            }
        }
        None => {
            let stale: Vec<String> = table
                .iter()?
                .filter_map(|r| r.ok().map(|(k, _)| k.value().to_owned()))
                .filter(|k| !new.contains_key(k))
                .collect();
            for k in stale {
                table.remove(k.as_str())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        api::CreateSecurityGroup,
        model::{Quotas, RandomIds, ops},
    };

    #[test]
    fn state_survives_reopen_and_deletes_are_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sg.redb");
        let mut ids = RandomIds;
        let state = State::new(&mut ids);
        {
            let store = Store::open(&path).unwrap();
            assert!(store.load().unwrap().is_none());
            store.save(None, &state).unwrap();
        }
        let mut next = state.clone();
        let req = CreateSecurityGroup {
            group_name: Some("web".into()),
            description: Some("d".into()),
            ..Default::default()
        };
        let id = ops::create_security_group(&mut next, &mut ids, &Quotas::default(), &req).unwrap();
        let store = Store::open(&path).unwrap();
        assert_eq!(store.load().unwrap().unwrap(), state);
        store.save(Some(&state), &next).unwrap();
        assert_eq!(store.load().unwrap().unwrap(), next);
        let gid = id.group_id.as_str();
        let mut after = next.clone();
        after.groups.remove(gid);
        store.save(Some(&next), &after).unwrap();
        drop(store);
        assert_eq!(Store::open(&path).unwrap().load().unwrap().unwrap(), after);
    }
}
