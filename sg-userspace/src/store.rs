//! The embedded transactional store: one redb file under the state directory. Each entity is a
//! JSON document in its table; a request's changes are written in one write transaction, so
//! the file always holds a state some request completed (no half-applied request survives a
//! crash).

use std::{collections::BTreeMap, path::Path};

use redb::{Database, ReadableTable, TableDefinition};
use serde::{Serialize, de::DeserializeOwned};

use crate::model::{IdSource, State, vpcs};

const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
const VPCS: TableDefinition<&str, &str> = TableDefinition::new("vpcs");
const GROUPS: TableDefinition<&str, &str> = TableDefinition::new("groups");
const INTERFACES: TableDefinition<&str, &str> = TableDefinition::new("interfaces");
const PREFIX_LISTS: TableDefinition<&str, &str> = TableDefinition::new("prefix_lists");
const FLOW_LOGS: TableDefinition<&str, &str> = TableDefinition::new("flow_logs");

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
        // A table stores written before it existed do not have.
        let read_new = |def: TableDefinition<&str, &str>| match txn.open_table(def) {
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(Vec::new()),
            Err(e) => Err(StoreError::from(e)),
            Ok(_) => read(def),
        };
        Ok(Some(State {
            owner_id,
            region: crate::model::default_region(),
            vpcs: decode(read(VPCS)?, "vpcs")?,
            groups: decode(read(GROUPS)?, "groups")?,
            interfaces: decode(read(INTERFACES)?, "interfaces")?,
            prefix_lists: decode(read(PREFIX_LISTS)?, "prefix_lists")?,
            flow_logs: decode(read_new(FLOW_LOGS)?, "flow_logs")?,
        }))
    }

    /// Loads the saved state brought up to date by [`vpcs::upgrade`] (filling in what stores
    /// written by older versions lack), and saves that change at once, so that what it drew
    /// (association ids) stays the same across restarts. `None` for a new store; else the
    /// state and whether it was upgraded.
    pub fn load_upgraded(
        &self,
        ids: &mut dyn IdSource,
    ) -> Result<Option<(State, bool)>, StoreError> {
        let Some(loaded) = self.load()? else {
            return Ok(None);
        };
        let mut state = loaded.clone();
        let upgraded = vpcs::upgrade(&mut state, ids);
        if upgraded {
            self.save(Some(&loaded), &state)?;
        }
        Ok(Some((state, upgraded)))
    }

    /// Writes the difference between `old` (what the store holds) and `new` in one transaction.
    pub fn save(&self, old: Option<&State>, new: &State) -> Result<(), StoreError> {
        self.save_with_meta(old, new, &[])
    }

    /// A value of the `meta` table (a fleet host keeps the revision of its copy there).
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let txn = self.db.begin_read()?;
        let meta = match txn.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(meta.get(key)?.map(|v| v.value().to_owned()))
    }

    /// [`Store::save`], setting `extra` entries of the `meta` table in the same transaction.
    pub fn save_with_meta(
        &self,
        old: Option<&State>,
        new: &State,
        extra: &[(&str, String)],
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert("version", STORE_VERSION)?;
            meta.insert("owner_id", new.owner_id.as_str())?;
            for (k, v) in extra {
                meta.insert(*k, v.as_str())?;
            }
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
            sync(
                &mut txn.open_table(FLOW_LOGS)?,
                old.map(|o| &o.flow_logs),
                &new.flow_logs,
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
        api::{CreateSecurityGroup, CreateVpc},
        model::{Peer, Quotas, RandomIds, ops},
        testkit::Counter,
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

    /// The outbound peers of the groups `create-security-group` makes in `vpc` now.
    fn new_group_egress(state: &mut State, ids: &mut dyn IdSource, vpc: &str) -> Vec<Peer> {
        let req = CreateSecurityGroup {
            group_name: Some(format!("new-{vpc}")),
            description: Some("d".into()),
            vpc_id: Some(vpc.into()),
            ..Default::default()
        };
        let out = ops::create_security_group(state, ids, &Quotas::default(), &req).unwrap();
        let g = &state.groups[&out.group_id];
        g.rules.iter().map(|r| r.peer.clone()).collect()
    }

    /// A store written before VPCs had IPv6 blocks (VPC documents without `ipv6_block`)
    /// loads; its default VPC comes out dual-stack, saved at once, so its groups behave as
    /// before (SG-GRP-4: `::/0` too); other VPCs stay IPv4-only, and every group keeps the
    /// rules it has.
    #[test]
    fn old_store_without_ipv6_blocks_loads_with_a_dual_stack_default_vpc() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sg.redb");
        let mut ids = Counter(0);
        let mut old = State::new(&mut ids);
        let req = CreateVpc {
            cidr_block: Some("10.1.0.0/16".into()),
            ..Default::default()
        };
        let plain = vpcs::create_vpc(&mut old, &mut ids, &req)
            .unwrap()
            .vpc
            .vpc_id;
        for v in old.vpcs.values_mut() {
            v.ipv6_block = None;
        }
        {
            let store = Store::open(&path).unwrap();
            store.save(None, &old).unwrap();
            // The VPC documents as the older sgd wrote them: no `ipv6_block` at all.
            let txn = store.db.begin_write().unwrap();
            {
                let mut t = txn.open_table(VPCS).unwrap();
                for (id, v) in &old.vpcs {
                    let mut doc = serde_json::to_value(v).unwrap();
                    let m = doc.as_object_mut().unwrap();
                    m.remove("ipv6_block").unwrap();
                    let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                    assert_eq!(keys, ["cidr_block", "classic", "id", "is_default", "tags"]);
                    t.insert(id.as_str(), doc.to_string().as_str()).unwrap();
                }
            }
            txn.commit().unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.load().unwrap().unwrap(),
            old,
            "the old documents load"
        );
        let (state, upgraded) = store.load_upgraded(&mut ids).unwrap().unwrap();
        assert!(upgraded);
        let default = state.default_vpc().unwrap().id.clone();
        assert!(state.vpcs[&default].ipv6_block.is_some());
        assert!(state.vpcs[&plain].ipv6_block.is_none());
        assert_eq!(state.groups, old.groups, "stored rules are kept");
        // Saved at once: a restart loads the same block and association id, and has nothing
        // left to upgrade.
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.load().unwrap().unwrap(), state);
        let again = store.load_upgraded(&mut ids).unwrap().unwrap();
        assert_eq!(again, (state.clone(), false));
        let (v4, v6) = (
            Peer::Ipv4("0.0.0.0/0".parse().unwrap()),
            Peer::Ipv6("::/0".parse().unwrap()),
        );
        let mut state = state;
        assert_eq!(
            new_group_egress(&mut state, &mut ids, &default),
            [v4.clone(), v6]
        );
        assert_eq!(new_group_egress(&mut state, &mut ids, &plain), [v4]);
    }
}
