//! A fleet host's side of the shared state (issue 15, `sgd --store etcd://...`).
//!
//! - **What a host holds.** The shared state is split into scopes (`fleet::layout`): the
//!   global one and one per VPC. A host *follows* the global scope and the VPCs it needs (its
//!   interfaces', and those their groups' rules name), one watch each (`fleet::follow`), so a
//!   change in a VPC it does not need never reaches it. It may also hold other scopes, read
//!   when a request needed them; each held scope has the revision its copy is complete at.
//!   The copy is saved in the local store with those revisions, so that sgd can start and
//!   enforce while etcd is down.
//! - **Reads** answer from the copy. When the host does not follow every VPC, a read first
//!   brings the scopes it does not follow up to date (one read of the markers, then a list of
//!   the scopes that changed); while etcd is down it answers from the copy.
//! - **Writes** first bring every scope up to date the same way, run the model on the whole
//!   state and commit the difference as one etcd transaction guarded by `guard/write`: if
//!   another host wrote in between, the request runs again (a few times, then
//!   `RequestLimitExceeded`). When etcd is unreachable a write fails at once and changes
//!   nothing anywhere.
//! - **Enforcement** is local: this host's interfaces (`<host>/<device>`), compiled against
//!   the state, so a group reference admits the members of every host. The followers' changes
//!   are diffed in, never cleared and rebuilt: no window without rules.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Instant,
};

use anyhow::Context as _;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use super::Core;
use crate::{
    fleet::{
        FleetConfig,
        etcd::{Etcd, EtcdError, FollowStats, Following, Snapshot, Update},
        layout::{self, Scope},
    },
    model::{ApiError, ApiResult, RandomIds, State},
    store::Store,
};

mod ops;

const META_SCOPES: &str = "fleet_scopes";
const META_CLUSTER: &str = "fleet_cluster_id";
const META_GUARD: &str = "fleet_guard";
const META_FOLLOWS: &str = "fleet_follows";

/// The code a conflicting write returns inside the daemon, where it is retried; it never
/// reaches a client.
pub(in crate::daemon) const CONFLICT: &str = "sgd.FleetConflict";

/// How many times a request runs again after another host's write got in first.
pub(in crate::daemon) const ATTEMPTS: usize = 5;

/// What a fleet host knows about the shared state besides the state itself.
pub struct Fleet {
    pub(in crate::daemon) etcd: Etcd,
    pub(in crate::daemon) host: String,
    /// The scopes this host holds, with the revision each one's copy is complete at.
    pub(in crate::daemon) scopes: BTreeMap<Scope, i64>,
    pub(in crate::daemon) cluster_id: u64,
    /// The revision `guard/write` was at when the copy was last known current.
    pub(in crate::daemon) guard: i64,
    /// Every host's followed VPCs (`global/follows/<host>`), this host's among them.
    pub(in crate::daemon) follows: BTreeMap<String, BTreeSet<String>>,
    /// The running followers, by scope.
    followers: BTreeMap<Scope, Following>,
    /// Where followers send their updates, once the daemon serves.
    updates: Option<mpsc::UnboundedSender<Update>>,
    pub(in crate::daemon) stats: Arc<FollowStats>,
    /// [`Fleet::revision`], shared with the host record.
    pub(in crate::daemon) applied: Arc<AtomicI64>,
    /// When the copy was last brought up to date.
    pub(in crate::daemon) synced: Instant,
    /// The store is empty although this host was in a fleet: etcd lost its data. The host
    /// keeps enforcing its copy and refuses writes until someone seeds the store again
    /// (`seed-fleet-store`), rather than reseeding on its own a copy that may be stale.
    pub(in crate::daemon) awaiting_seed: bool,
    /// The revision of this host's last committed write, for its response.
    pub(in crate::daemon) last_write: Option<i64>,
    /// When the last change of the shared state was enforced here (wall clock: hosts on one
    /// machine compare it, as the fleet benchmark does).
    pub(in crate::daemon) applied_at: std::time::SystemTime,
    /// When this host last sent a write to etcd (the start of its convergence elsewhere).
    pub(in crate::daemon) write_sent_at: std::time::SystemTime,
}

fn scope_named(name: &str) -> Scope {
    match name {
        "global" => Scope::Global,
        v => Scope::Vpc(v.to_owned()),
    }
}

impl Fleet {
    fn meta(&self) -> [(&'static str, String); 4] {
        let scopes: BTreeMap<&str, i64> = self.scopes.iter().map(|(s, r)| (s.name(), *r)).collect();
        [
            (META_SCOPES, json(&scopes)),
            (META_CLUSTER, self.cluster_id.to_string()),
            (META_GUARD, self.guard.to_string()),
            (META_FOLLOWS, json(&self.follows)),
        ]
    }

    /// The scopes this host follows: the global one and its VPCs.
    pub(in crate::daemon) fn followed(&self) -> BTreeSet<Scope> {
        let mut out = BTreeSet::from([Scope::Global]);
        if let Some(vpcs) = self.follows.get(&self.host) {
            out.extend(vpcs.iter().cloned().map(Scope::Vpc));
        }
        out
    }

    /// The newest revision this host applied in a scope it follows.
    pub(in crate::daemon) fn revision(&self) -> i64 {
        let followed = self.followed();
        self.scopes
            .iter()
            .filter(|(s, _)| followed.contains(*s))
            .map(|(_, r)| *r)
            .max()
            .unwrap_or(0)
    }

    /// `scope`'s copy is complete at `revision`.
    fn at(&mut self, scope: Scope, revision: i64) {
        let r = self.scopes.entry(scope).or_insert(0);
        *r = (*r).max(revision);
        self.touched();
    }

    /// Every scope held is complete at `revision` (and `guard/write` was at `guard`).
    fn all_at(&mut self, revision: i64, guard: i64) {
        for r in self.scopes.values_mut() {
            *r = (*r).max(revision);
        }
        self.guard = guard;
        self.touched();
    }

    /// The store is another cluster (or was emptied), at `revision`: the copy's revisions
    /// were the old cluster's, and mean nothing there.
    fn new_cluster(&mut self, cluster_id: u64, revision: i64) {
        self.cluster_id = cluster_id;
        for r in self.scopes.values_mut() {
            *r = revision;
        }
        self.touched();
    }

    fn touched(&mut self) {
        self.applied.store(self.revision(), Ordering::Relaxed);
        self.synced = Instant::now();
    }

    /// Takes the hosts' followed VPCs from the global scope's documents (`docs`: all of them,
    /// or only changes).
    fn take_follows<'a>(
        &mut self,
        docs: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        whole: bool,
    ) {
        if whole {
            self.follows.clear();
        }
        let prefix = layout::follows_key("");
        for (k, v) in docs {
            let Some(host) = k.strip_prefix(&prefix) else {
                continue;
            };
            match v.map(layout::parse_follows) {
                Some(Ok(vpcs)) => {
                    self.follows.insert(host.to_owned(), vpcs);
                }
                Some(Err(e)) => warn!(host, error = %e, "a host's followed VPCs could not be read"),
                None => {
                    self.follows.remove(host);
                }
            }
        }
    }

    /// Takes a snapshot of one scope (whose documents are already in the state): that scope
    /// is complete at its revision.
    fn take_scope(&mut self, snap: &Snapshot) {
        let scope = snap.scope.clone().expect("a scope's list");
        if scope == Scope::Global {
            self.take_follows(
                snap.docs
                    .iter()
                    .map(|(k, v)| (k.as_str(), Some(v.as_slice()))),
                true,
            );
        }
        self.scopes.insert(scope, snap.revision);
    }

    /// Takes a snapshot of the whole state: every scope in it is complete at its revision.
    fn take_whole(&mut self, snap: &Snapshot, state: &State) {
        self.scopes = BTreeMap::from([(Scope::Global, snap.revision)]);
        for v in state
            .vpcs
            .keys()
            .chain(state.groups.values().map(|g| &g.vpc_id))
            .chain(state.interfaces.values().map(|i| &i.vpc_id))
        {
            self.scopes.insert(Scope::Vpc(v.clone()), snap.revision);
        }
        self.cluster_id = snap.cluster_id;
        self.take_follows(
            snap.docs
                .iter()
                .map(|(k, v)| (k.as_str(), Some(v.as_slice()))),
            true,
        );
        self.all_at(snap.revision, snap.guards.write);
    }

    /// Starts and stops followers so that exactly the scopes this host needs are followed.
    fn refollow(&mut self) {
        let Some(tx) = self.updates.clone() else {
            return;
        };
        let want = self.followed();
        let gone: Vec<Scope> = self
            .followers
            .keys()
            .filter(|s| !want.contains(*s))
            .cloned()
            .collect();
        for s in gone {
            info!(scope = %s, "no longer following a scope");
            self.followers.remove(&s);
            if let Ok(mut m) = self.stats.connected.lock() {
                m.remove(&s);
            }
        }
        for s in want {
            if self.followers.contains_key(&s) {
                continue;
            }
            let from = self.scopes.get(&s).map(|r| (*r, self.cluster_id));
            info!(scope = %s, from = ?from.map(|f| f.0), "following a scope");
            if let Some(f) = self
                .etcd
                .follow(s.clone(), from, tx.clone(), self.stats.clone())
            {
                self.followers.insert(s, f);
            }
        }
        self.touched();
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("maps of strings serialise")
}

/// This host's state with its interfaces named fleet-wide (a store written on one host holds
/// bare device names).
fn qualified(mut state: State, host: &str) -> State {
    state.interfaces = std::mem::take(&mut state.interfaces)
        .into_values()
        .map(|mut i| {
            i.id = crate::fleet::qualify(host, &i.id);
            (i.id.clone(), i)
        })
        .collect();
    state
}

/// The shared state at start-up: listed from etcd (which the first host seeds with its own
/// state), or, when etcd is unreachable, this host's last copy.
pub(in crate::daemon) fn open(
    store: &Store,
    state_dir: &std::path::Path,
    cfg: &FleetConfig,
    region: &str,
) -> anyhow::Result<(State, Fleet)> {
    let etcd = Etcd::new(cfg.etcd.clone())?;
    let cached = store.load()?;
    let cached_scopes: Option<BTreeMap<String, i64>> = store
        .meta(META_SCOPES)?
        .and_then(|v| serde_json::from_str(&v).ok());
    let num = |k: &str| -> anyhow::Result<Option<i64>> {
        Ok(store.meta(k)?.and_then(|v| v.parse().ok()))
    };
    let mut fleet = Fleet {
        etcd: etcd.clone(),
        host: cfg.host_id.clone(),
        scopes: cached_scopes
            .iter()
            .flatten()
            .map(|(s, r)| (scope_named(s), *r))
            .collect(),
        cluster_id: num(META_CLUSTER)?.unwrap_or(0) as u64,
        guard: num(META_GUARD)?.unwrap_or(0),
        follows: store
            .meta(META_FOLLOWS)?
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default(),
        followers: BTreeMap::new(),
        updates: None,
        stats: Arc::default(),
        applied: Arc::default(),
        synced: Instant::now(),
        awaiting_seed: false,
        last_write: None,
        applied_at: std::time::SystemTime::now(),
        write_sent_at: std::time::UNIX_EPOCH,
    };
    fleet.touched();
    let was_in_fleet = cached_scopes.is_some();
    let snapshot = match etcd.list() {
        Ok(s) => s,
        Err(EtcdError::Unavailable(e)) => {
            let (Some(state), true) = (cached, was_in_fleet) else {
                anyhow::bail!(
                    "etcd is unreachable ({e}) and this host has no copy of the shared state \
                     yet: it needs etcd once to join the fleet"
                );
            };
            warn!(
                error = %e,
                revision = fleet.revision(),
                "etcd is unreachable: enforcing this host's last copy of the shared state"
            );
            return Ok((state, fleet));
        }
        Err(e) => return Err(e).context("reading the shared state from etcd"),
    };
    let mut snapshot = snapshot;
    let versioned = snapshot.docs.iter().any(|(k, _)| k == layout::VERSION_KEY);
    if !versioned && let (Some(state), true) = (&cached, was_in_fleet) {
        // This host was in a fleet whose store now holds no state (empty, or being seeded):
        // keep enforcing its copy, and wait for the store to be seeded (see
        // `Fleet::awaiting_seed`).
        error!(
            "the shared store is empty although this host was in a fleet (etcd lost its \
             data?): enforcing this host's copy; writes are refused until the store is \
             seeded (sgctl seed-fleet-store on the host with the most recent copy) or \
             restored"
        );
        fleet.awaiting_seed = true;
        fleet.new_cluster(snapshot.cluster_id, snapshot.revision);
        return Ok((state.clone(), fleet));
    }
    let state = loop {
        if let Some(s) = layout::state_of(
            snapshot
                .docs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_slice())),
            region,
        )? {
            break s;
        }
        // A new store: seed it with this host's state (its groups carry over), unless
        // another host does first; either way, read what won.
        let seed = qualified(
            cached.clone().unwrap_or_else(|| State::new(&mut RandomIds)),
            &cfg.host_id,
        );
        let docs = layout::documents(&seed).into_iter().collect();
        match etcd.seed(docs, &uuid::Uuid::new_v4().to_string())? {
            Some(rev) => info!(revision = rev, "seeded the shared state"),
            None => {
                info!("another host seeds the shared state: waiting for it");
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
        snapshot = etcd.list()?;
    };
    if cached.is_some() && !was_in_fleet {
        // This host kept its own state before joining: keep a copy of it.
        let backup = state_dir.join(format!("{}.before-fleet", crate::paths::DB_FILE));
        std::fs::copy(state_dir.join(crate::paths::DB_FILE), &backup).with_context(|| {
            format!(
                "keeping a copy of the one-host store in {}",
                backup.display()
            )
        })?;
        info!(copy = %backup.display(), "joined a fleet: the one-host store is kept beside it");
    }
    fleet.take_whole(&snapshot, &state);
    store.save_with_meta(cached.as_ref(), &state, &fleet.meta())?;
    info!(
        host = %fleet.host,
        revision = snapshot.revision,
        groups = state.groups.len(),
        interfaces = state.interfaces.len(),
        follows = ?fleet.followed(),
        "joined the fleet's shared state"
    );
    Ok((state, fleet))
}

impl Core {
    /// Commits `next` to the shared state: one guarded transaction, then local enforcement.
    /// The copy must be current ([`Self::ensure_current`]).
    pub(in crate::daemon) fn commit_fleet(&mut self, next: State) -> ApiResult<()> {
        let fleet = self.fleet.as_mut().expect("fleet mode");
        if fleet.awaiting_seed {
            return Err(ApiError::new(
                "Unavailable",
                "The shared store holds no state (etcd lost its data); nothing was changed. \
                 Seed it with `sgctl seed-fleet-store` on the host whose copy is the most \
                 recent, or restore etcd from a backup.",
            ));
        }
        let diff = layout::diff(&self.state, &next);
        if diff.is_empty() {
            return Ok(());
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        fleet.write_sent_at = std::time::SystemTime::now();
        match fleet.etcd.write(fleet.guard, &diff, &request_id) {
            Ok(revision) => {
                // Nothing was written between the copy's guard and this write: every scope
                // held is complete at its revision.
                for s in diff.scopes() {
                    fleet.scopes.entry(s).or_insert(0);
                }
                fleet.take_follows(
                    diff.puts
                        .iter()
                        .map(|(k, v)| (k.as_str(), Some(v.as_bytes())))
                        .chain(diff.deletes.iter().map(|k| (k.as_str(), None))),
                    false,
                );
                fleet.all_at(revision, revision);
                fleet.last_write = Some(revision);
            }
            Err(EtcdError::Conflict) => {
                return Err(ApiError::new(CONFLICT, "another host wrote first"));
            }
            Err(EtcdError::Unavailable(e)) => {
                warn!(error = %e, "a write failed: etcd is unreachable");
                return Err(ApiError::new(
                    "Unavailable",
                    "The shared store (etcd) is unreachable; nothing was changed.",
                ));
            }
            Err(EtcdError::Unconfirmed(e)) => {
                warn!(error = %e, "a write was not confirmed by etcd");
                return Err(ApiError::new(
                    "Unavailable",
                    "The shared store (etcd) did not confirm the change in time: it may or may \
                     not have been made; every host shows the outcome once etcd answers.",
                ));
            }
            Err(EtcdError::Refused(e)) => return Err(ApiError::internal(e)),
        }
        let r = self.install(next, true);
        self.fleet.as_mut().expect("fleet mode").refollow();
        r
    }

    /// Makes `next` this host's copy and enforces it. `own`: the request's own change, whose
    /// local failure is the request's to report.
    fn install(&mut self, next: State, own: bool) -> ApiResult<()> {
        let old = std::mem::replace(&mut self.state, next.clone());
        let changed = |id: &str| old.interfaces.get(id) != next.interfaces.get(id);
        let enforced = self.enforce(&next, &changed);
        let fleet = self.fleet.as_mut().expect("fleet mode");
        fleet.applied_at = std::time::SystemTime::now();
        if let Err(e) = self.store.save_with_meta(Some(&old), &next, &fleet.meta()) {
            error!(error = %e, "saving this host's copy of the shared state failed");
        }
        match enforced {
            Err(e) if own => Err(ApiError::internal(format!(
                "committed to the shared state, but not enforced on this host yet: {}",
                e.message
            ))),
            Err(e) => {
                error!(error = %e.message, "a change from the fleet could not be enforced here");
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    /// Whether this host follows every VPC there is, so that its copy needs no refresh to
    /// answer a read.
    pub(in crate::daemon) fn follows_everything(&self) -> bool {
        let Some(fleet) = self.fleet.as_ref() else {
            return true;
        };
        let followed = fleet.followed();
        self.state
            .vpcs
            .keys()
            .all(|v| followed.contains(&Scope::Vpc(v.clone())))
    }

    /// Before a request that may write (or read what this host does not follow): makes sure
    /// this host's copy holds every write so far, in every scope, so that what the model
    /// refuses (a duplicate, a dependency) is refused on the fleet's current state, not on a
    /// copy a few milliseconds old. One read of the markers; then a list, at that read's
    /// revision, of the scopes whose copy is older than their marker.
    pub(in crate::daemon) fn ensure_current(&mut self) -> ApiResult<()> {
        let fleet = self.fleet.as_ref().expect("fleet mode");
        let unavailable = |e: EtcdError| {
            ApiError::new(
                "Unavailable",
                format!("The shared store (etcd) is unreachable; nothing was changed. ({e})"),
            )
        };
        let guards = fleet.etcd.guards().map_err(unavailable)?;
        if fleet.awaiting_seed {
            return Ok(()); // the follower takes a new state whole; writes are refused
        }
        if guards.cluster_id != fleet.cluster_id || guards.write == 0 {
            // Another cluster, or an emptied one: take it whole (or wait to be seeded).
            return self.resync();
        }
        let stale: Vec<Scope> = guards
            .markers
            .iter()
            .filter(|(s, m)| fleet.scopes.get(*s).is_none_or(|at| at < *m))
            .map(|(s, _)| s.clone())
            .collect();
        let snaps = if stale.is_empty() {
            Vec::new()
        } else {
            fleet
                .etcd
                .list_scopes(stale, guards.revision)
                .map_err(unavailable)?
        };
        let mut next = self.state.clone();
        for snap in &snaps {
            let scope = snap.scope.clone().expect("a scope's list");
            let docs = snap.docs.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
            if let Err(e) = layout::replace_scope(&mut next, &scope, docs) {
                error!(%scope, error = %e, "a scope of the shared state could not be read");
                return Err(ApiError::internal(format!(
                    "the shared state could not be read: {e}"
                )));
            }
        }
        let fleet = self.fleet.as_mut().expect("fleet mode");
        for snap in &snaps {
            fleet.take_scope(snap);
        }
        fleet.all_at(guards.revision, guards.write);
        if next != self.state {
            let _ = self.install(next, false);
        }
        self.fleet.as_mut().expect("fleet mode").refollow();
        Ok(())
    }

    /// Brings this host's copy up to date with the whole of etcd (at start, after a new
    /// cluster, when the store was emptied or seeded).
    pub(in crate::daemon) fn resync(&mut self) -> ApiResult<()> {
        let fleet = self.fleet.as_ref().expect("fleet mode");
        match fleet.etcd.list() {
            Ok(s) => {
                self.apply_snapshot(s);
                Ok(())
            }
            Err(e) => Err(ApiError::new(
                "Unavailable",
                format!("The shared store (etcd) could not be read: {e}"),
            )),
        }
    }

    fn apply_snapshot(&mut self, snap: Snapshot) {
        let fleet = self.fleet.as_mut().expect("fleet mode");
        if let Some(scope) = snap.scope.clone() {
            let versioned = snap.docs.iter().any(|(k, _)| k == layout::VERSION_KEY);
            if snap.cluster_id != fleet.cluster_id
                || fleet.awaiting_seed
                || (scope == Scope::Global && !versioned)
            {
                // Another cluster, an emptied store, or one being seeded: take it whole, so
                // that nothing of this host's old copy survives that it does not hold.
                let _ = self.resync();
                return;
            }
            if fleet
                .scopes
                .get(&scope)
                .is_some_and(|at| *at >= snap.revision)
            {
                return;
            }
            let mut next = self.state.clone();
            let docs = snap.docs.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
            if let Err(e) = layout::replace_scope(&mut next, &scope, docs) {
                error!(%scope, error = %e, "a scope of the shared state could not be read; keeping this host's copy");
                return;
            }
            fleet.take_scope(&snap);
            fleet.touched();
            if next != self.state {
                let _ = self.install(next, false);
            }
            self.fleet.as_mut().expect("fleet mode").refollow();
            return;
        }
        let region = self.state.region.clone();
        let docs = snap.docs.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
        match layout::state_of(docs, &region) {
            Ok(Some(state)) => {
                if fleet.awaiting_seed {
                    info!(
                        revision = snap.revision,
                        "the shared store holds a state again"
                    );
                }
                fleet.awaiting_seed = false;
                fleet.take_whole(&snap, &state);
                let _ = self.install(state, false);
                self.fleet.as_mut().expect("fleet mode").refollow();
            }
            Ok(None) => {
                // The store was emptied (etcd restarted on an empty data directory): keep
                // enforcing this host's copy until it is seeded (see `Fleet::awaiting_seed`).
                if !fleet.awaiting_seed {
                    error!(
                        "the shared store is empty (etcd lost its data?): enforcing this \
                         host's copy; writes are refused until the store is seeded \
                         (sgctl seed-fleet-store on the host with the most recent copy) or \
                         restored"
                    );
                }
                fleet.awaiting_seed = true;
                fleet.new_cluster(snap.cluster_id, snap.revision);
            }
            Err(e) => {
                error!(error = %e, "the shared state could not be read; keeping this host's copy")
            }
        }
    }

    /// Takes one update from a follower.
    pub fn apply_update(&mut self, update: Update) {
        let Some(fleet) = self.fleet.as_mut() else {
            return;
        };
        match update {
            Update::Snapshot(s) => self.apply_snapshot(s),
            Update::Progress { scope, revision } => {
                if fleet.scopes.contains_key(&scope) {
                    fleet.at(scope, revision);
                }
            }
            Update::Changes {
                scope,
                revision,
                cluster_id,
                changes,
            } => {
                if cluster_id == fleet.cluster_id
                    && fleet.scopes.get(&scope).is_some_and(|at| *at >= revision)
                {
                    return; // already in the copy (this host's own write, or a later list)
                }
                if fleet.awaiting_seed || cluster_id != fleet.cluster_id {
                    // The store is being seeded (or is another cluster): take it whole.
                    let _ = self.resync();
                    return;
                }
                let mut next = self.state.clone();
                for (k, v) in &changes {
                    if let Err(e) = layout::apply(&mut next, k, v.as_deref()) {
                        error!(key = %k, error = %e, "a change from the fleet could not be read; listing again");
                        let _ = self.resync();
                        return;
                    }
                }
                if scope == Scope::Global {
                    fleet.take_follows(
                        changes.iter().map(|(k, v)| (k.as_str(), v.as_deref())),
                        false,
                    );
                }
                fleet.at(scope, revision);
                if next != self.state {
                    let _ = self.install(next, false);
                }
                self.fleet.as_mut().expect("fleet mode").refollow();
            }
        }
    }

    /// This host's fleet id, if it is in a fleet.
    pub fn host_id(&self) -> Option<&str> {
        self.fleet.as_ref().map(|f| f.host.as_str())
    }
}

/// What `serve` needs to keep this host's liveness record.
pub struct HostRecordStart {
    pub etcd: Etcd,
    pub host: String,
    pub applied: Arc<AtomicI64>,
}

impl Core {
    /// Starts following the scopes this host needs, sending their updates to `updates`; what
    /// the liveness record needs (`None` out of a fleet).
    pub fn start_following(
        &mut self,
        updates: mpsc::UnboundedSender<Update>,
    ) -> Option<HostRecordStart> {
        let f = self.fleet.as_mut()?;
        f.updates = Some(updates);
        f.refollow();
        Some(HostRecordStart {
            etcd: f.etcd.clone(),
            host: f.host.clone(),
            applied: f.applied.clone(),
        })
    }
}
