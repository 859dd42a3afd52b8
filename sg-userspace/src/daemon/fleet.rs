//! A fleet host's side of the shared state (issue 15, `sgd --store etcd://...`).
//!
//! - **Reads** answer from this host's copy of the shared state, kept current by the follower
//!   (`fleet::etcd`) and saved in the local store with its revision, so that sgd can start
//!   and enforce while etcd is down.
//! - **Writes** run the model on that copy and commit the difference as one etcd transaction
//!   guarded by `meta/guard` (`fleet::layout`): if another host wrote in between, the copy is
//!   brought up to date and the request runs again (a few times, then `Unavailable`). When
//!   etcd is unreachable a write fails at once and changes nothing anywhere.
//! - **Enforcement** is local: this host's interfaces (`<host>/<device>`), compiled against
//!   the whole shared state, so a group reference admits the members of every host. The
//!   follower's changes are diffed in, never cleared and rebuilt: no window without rules.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Instant,
};

use anyhow::Context as _;
use tracing::{error, info, warn};

use super::Core;
use crate::{
    fleet::{
        FleetConfig,
        etcd::{Etcd, EtcdError, FollowStats, Snapshot, Update},
        layout,
    },
    model::{ApiError, ApiResult, RandomIds, State},
    shapes::{DescribeHostsResult, HostDescription, SeedFleetStoreResult},
    store::Store,
};

const META_REVISION: &str = "fleet_revision";
const META_CLUSTER: &str = "fleet_cluster_id";
const META_GUARD: &str = "fleet_guard";

/// The code a conflicting write returns inside the daemon, where it is retried; it never
/// reaches a client.
pub(super) const CONFLICT: &str = "sgd.FleetConflict";

/// How many times a request runs again after another host's write got in first.
pub(super) const ATTEMPTS: usize = 5;

/// What a fleet host knows about the shared state besides the state itself.
pub struct Fleet {
    pub(super) etcd: Etcd,
    pub(super) host: String,
    /// The revision this host's copy is at.
    pub(super) revision: i64,
    pub(super) cluster_id: u64,
    /// The revision `meta/guard` was last written at, as of `revision`.
    pub(super) guard: i64,
    pub(super) stats: Arc<FollowStats>,
    /// `revision`, shared with the host record.
    pub(super) applied: Arc<AtomicI64>,
    /// When the copy was last brought up to date.
    pub(super) synced: Instant,
    /// The store is empty although this host was in a fleet: etcd lost its data. The host
    /// keeps enforcing its copy and refuses writes until someone seeds the store again
    /// (`seed-fleet-store`), rather than reseeding on its own a copy that may be stale.
    pub(super) awaiting_seed: bool,
    /// The revision of this host's last committed write, for its response.
    pub(super) last_write: Option<i64>,
    /// When the last change of the shared state was enforced here (wall clock: hosts on one
    /// machine compare it, as the fleet benchmark does).
    pub(super) applied_at: std::time::SystemTime,
    /// When this host last sent a write to etcd (the start of its convergence elsewhere).
    pub(super) write_sent_at: std::time::SystemTime,
}

impl Fleet {
    fn meta(&self) -> [(&'static str, String); 3] {
        [
            (META_REVISION, self.revision.to_string()),
            (META_CLUSTER, self.cluster_id.to_string()),
            (META_GUARD, self.guard.to_string()),
        ]
    }

    fn at(&mut self, revision: i64, cluster_id: u64, guard: Option<i64>) {
        self.revision = revision;
        self.cluster_id = cluster_id;
        if let Some(g) = guard {
            self.guard = g;
        }
        self.applied.store(revision, Ordering::Relaxed);
        self.synced = Instant::now();
    }
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
pub(super) fn open(
    store: &Store,
    state_dir: &std::path::Path,
    cfg: &FleetConfig,
    region: &str,
) -> anyhow::Result<(State, Fleet)> {
    let etcd = Etcd::new(cfg.etcd.clone())?;
    let cached = store.load()?;
    let num = |k: &str| -> anyhow::Result<Option<i64>> {
        Ok(store.meta(k)?.and_then(|v| v.parse().ok()))
    };
    let cached_revision = num(META_REVISION)?;
    let mut fleet = Fleet {
        etcd: etcd.clone(),
        host: cfg.host_id.clone(),
        revision: cached_revision.unwrap_or(0),
        cluster_id: num(META_CLUSTER)?.unwrap_or(0) as u64,
        guard: num(META_GUARD)?.unwrap_or(0),
        stats: Arc::default(),
        applied: Arc::default(),
        synced: Instant::now(),
        awaiting_seed: false,
        last_write: None,
        applied_at: std::time::SystemTime::now(),
        write_sent_at: std::time::UNIX_EPOCH,
    };
    let snapshot = match etcd.list() {
        Ok(s) => s,
        Err(EtcdError::Unavailable(e)) => {
            let (Some(state), Some(revision)) = (cached, cached_revision) else {
                anyhow::bail!(
                    "etcd is unreachable ({e}) and this host has no copy of the shared state \
                     yet: it needs etcd once to join the fleet"
                );
            };
            warn!(
                error = %e,
                revision,
                "etcd is unreachable: enforcing this host's last copy of the shared state"
            );
            fleet.applied.store(revision, Ordering::Relaxed);
            return Ok((state, fleet));
        }
        Err(e) => return Err(e).context("reading the shared state from etcd"),
    };
    let mut snapshot = snapshot;
    if snapshot.docs.is_empty()
        && let (Some(state), Some(_)) = (&cached, cached_revision)
    {
        // This host was in a fleet whose store is now empty: keep enforcing its copy, and
        // wait for the store to be seeded (see `Fleet::awaiting_seed`).
        error!(
            "the shared store is empty although this host was in a fleet (etcd lost its \
             data?): enforcing this host's copy; writes are refused until the store is \
             seeded (sgctl seed-fleet-store on the host with the most recent copy) or \
             restored"
        );
        fleet.awaiting_seed = true;
        fleet.cluster_id = snapshot.cluster_id;
        fleet.revision = snapshot.revision;
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
            None => info!("another host seeded the shared state first"),
        }
        snapshot = etcd.list()?;
    };
    if cached.is_some() && cached_revision.is_none() {
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
    fleet.at(snapshot.revision, snapshot.cluster_id, Some(snapshot.guard));
    store.save_with_meta(cached.as_ref(), &state, &fleet.meta())?;
    info!(
        host = %fleet.host,
        revision = fleet.revision,
        groups = state.groups.len(),
        interfaces = state.interfaces.len(),
        "joined the fleet's shared state"
    );
    Ok((state, fleet))
}

impl Core {
    /// Commits `next` to the shared state: one guarded transaction, then local enforcement.
    pub(super) fn commit_fleet(&mut self, next: State) -> ApiResult<()> {
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
                let cluster = fleet.cluster_id;
                fleet.at(revision, cluster, Some(revision));
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
        self.install(next, true)
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

    /// Before a request that may write: makes sure this host's copy holds every write so far,
    /// so that what the model refuses (a duplicate, a dependency) is refused on the fleet's
    /// current state, not on a copy a few milliseconds old.
    pub(super) fn ensure_current(&mut self) -> ApiResult<()> {
        let fleet = self.fleet.as_ref().expect("fleet mode");
        let guard = fleet.etcd.guard().map_err(|e| {
            ApiError::new(
                "Unavailable",
                format!("The shared store (etcd) is unreachable; nothing was changed. ({e})"),
            )
        })?;
        if guard != fleet.guard && !fleet.awaiting_seed {
            self.resync()?;
        }
        Ok(())
    }

    /// Brings this host's copy up to date with etcd (after another host's write got in first).
    pub(super) fn resync(&mut self) -> ApiResult<()> {
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
        if snap.cluster_id == fleet.cluster_id && snap.revision <= fleet.revision {
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
                fleet.at(snap.revision, snap.cluster_id, Some(snap.guard));
                let _ = self.install(state, false);
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
                fleet.at(snap.revision, snap.cluster_id, Some(snap.guard));
            }
            Err(e) => {
                error!(error = %e, "the shared state could not be read; keeping this host's copy")
            }
        }
    }

    /// Takes one update from the follower.
    pub fn apply_update(&mut self, update: Update) {
        let Some(fleet) = self.fleet.as_mut() else {
            return;
        };
        match update {
            Update::Snapshot(s) => self.apply_snapshot(s),
            Update::Progress { revision } => {
                if revision > fleet.revision {
                    let cluster = fleet.cluster_id;
                    fleet.at(revision, cluster, None);
                }
            }
            Update::Changes {
                revision,
                cluster_id,
                changes,
                guard,
            } => {
                if cluster_id == fleet.cluster_id && revision <= fleet.revision {
                    return; // this host's own write, already applied
                }
                if fleet.awaiting_seed || cluster_id != fleet.cluster_id {
                    // The store is being seeded (or is another cluster): take it whole, so
                    // that nothing of this host's old copy survives that it does not hold.
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
                fleet.at(revision, cluster_id, guard);
                if next != self.state {
                    let _ = self.install(next, false);
                }
            }
        }
    }

    /// This host's fleet id, if it is in a fleet.
    pub fn host_id(&self) -> Option<&str> {
        self.fleet.as_ref().map(|f| f.host.as_str())
    }
}

impl Core {
    /// `req` with its interfaces named fleet-wide: a bare device name is this host's.
    pub(super) fn qualify(&self, req: &crate::api::Request) -> crate::api::Request {
        use crate::api::Request as R;
        let Some(host) = self.host_id() else {
            return req.clone();
        };
        let q = |id: &mut Option<String>| {
            if let Some(i) = id.as_mut() {
                *i = crate::fleet::qualify(host, i);
            }
        };
        let mut req = req.clone();
        match &mut req {
            R::CreateNetworkInterface(r) => {
                q(&mut r.network_interface_id);
                for spec in &mut r.tag_specifications {
                    for t in &mut spec.tags {
                        if t.key == crate::model::ops::DEVICE_TAG {
                            t.value = crate::fleet::qualify(host, &t.value);
                        }
                    }
                }
            }
            R::DeleteNetworkInterface(r) => q(&mut r.network_interface_id),
            R::ModifyNetworkInterfaceAttribute(r) => q(&mut r.network_interface_id),
            R::AssignPrivateIpAddresses(r) | R::UnassignPrivateIpAddresses(r) => {
                q(&mut r.network_interface_id)
            }
            R::ExportInterfaceRules(r) => q(&mut r.network_interface_id),
            R::DescribeNetworkInterfaces(r) => {
                for id in &mut r.network_interface_ids {
                    *id = crate::fleet::qualify(host, id);
                }
            }
            _ => {}
        }
        req
    }
}

/// What `serve` needs to start following the shared state.
pub struct FollowerStart {
    pub etcd: Etcd,
    pub from: Option<(i64, u64)>,
    pub stats: Arc<FollowStats>,
    pub host: String,
    pub applied: Arc<AtomicI64>,
}

impl Core {
    /// Where the follower starts: from this host's copy (`None` if it has none yet).
    pub fn follower(&self) -> Option<FollowerStart> {
        let f = self.fleet.as_ref()?;
        Some(FollowerStart {
            etcd: f.etcd.clone(),
            from: (f.revision > 0).then_some((f.revision, f.cluster_id)),
            stats: f.stats.clone(),
            host: f.host.clone(),
            applied: f.applied.clone(),
        })
    }
}

/// What a host writes in its liveness record (`host/<host>`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct HostRecord {
    applied_revision: Option<i64>,
    started: Option<String>,
    version: Option<String>,
}

fn not_in_a_fleet() -> ApiError {
    ApiError::invalid_value("This sgd is not in a fleet: it runs without --store.")
}

impl Core {
    /// `describe-hosts`: the live hosts (their records), and the hosts that own interfaces
    /// but are down.
    pub(super) fn describe_hosts(&self) -> ApiResult<DescribeHostsResult> {
        let fleet = self.fleet.as_ref().ok_or_else(not_in_a_fleet)?;
        let live = fleet.etcd.hosts().map_err(|e| {
            ApiError::new(
                "Unavailable",
                format!("The shared store (etcd) could not be read: {e}"),
            )
        })?;
        let mut hosts: std::collections::BTreeMap<String, HostDescription> = Default::default();
        for (host, record) in live {
            let r: HostRecord = serde_json::from_slice(&record).unwrap_or_default();
            hosts.insert(
                host.clone(),
                HostDescription {
                    host_id: host,
                    live: true,
                    applied_revision: r.applied_revision,
                    started: r.started,
                    version: r.version,
                    network_interfaces: 0,
                },
            );
        }
        for id in self.state.interfaces.keys() {
            let Some((host, _)) = id.split_once('/') else {
                continue;
            };
            hosts
                .entry(host.to_owned())
                .or_insert_with(|| HostDescription {
                    host_id: host.to_owned(),
                    live: false,
                    applied_revision: None,
                    started: None,
                    version: None,
                    network_interfaces: 0,
                })
                .network_interfaces += 1;
        }
        Ok(DescribeHostsResult {
            hosts: hosts.into_values().collect(),
        })
    }

    /// `seed-fleet-store`: this host's copy into an empty store.
    pub(super) fn seed_fleet_store(&mut self) -> ApiResult<SeedFleetStoreResult> {
        let fleet = self.fleet.as_ref().ok_or_else(not_in_a_fleet)?;
        if !fleet.awaiting_seed {
            return Err(ApiError::invalid_value(
                "The shared store holds a state: only an empty store (etcd lost its data) is seeded.",
            ));
        }
        let docs = layout::documents(&self.state).into_iter().collect();
        let unavailable = |e: EtcdError| ApiError::new("Unavailable", e.to_string());
        let seeded = fleet
            .etcd
            .seed(docs, &uuid::Uuid::new_v4().to_string())
            .map_err(unavailable)?;
        self.resync()?;
        match seeded {
            Some(revision) => {
                warn!(
                    revision,
                    "seeded the empty shared store from this host's copy"
                );
                Ok(SeedFleetStoreResult { revision })
            }
            None => Err(ApiError::invalid_value(
                "Another host seeded the shared store first; this host now follows it.",
            )),
        }
    }
}

impl Fleet {
    /// The shared store's gauges and counters, in the Prometheus text format.
    pub(super) fn write_metrics(&self, m: &mut String) {
        use std::fmt::Write as _;
        let connected = self.stats.connected.load(Ordering::Relaxed);
        for (name, kind, help, value) in [
            (
                "sg_store_connected",
                "gauge",
                "1 while this host follows the shared store (etcd).",
                i64::from(connected),
            ),
            (
                "sg_store_applied_revision",
                "gauge",
                "The revision of the shared state this host enforces.",
                self.revision,
            ),
            (
                "sg_store_awaiting_seed",
                "gauge",
                "1 while the shared store is empty and this host keeps its last copy.",
                i64::from(self.awaiting_seed),
            ),
            (
                "sg_store_relists_total",
                "counter",
                "Full lists of the shared state (start, compaction, new cluster).",
                self.stats.relists.load(Ordering::Relaxed),
            ),
            (
                "sg_store_watch_restarts_total",
                "counter",
                "Watches of the shared state started again after they ended.",
                self.stats.watch_restarts.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(m, "# HELP {name} {help}");
            let _ = writeln!(m, "# TYPE {name} {kind}");
            let _ = writeln!(m, "{name} {value}");
        }
        let _ = writeln!(
            m,
            "# HELP sg_store_applied_at_seconds When the last change of the shared state was enforced here (Unix time)."
        );
        let _ = writeln!(m, "# TYPE sg_store_applied_at_seconds gauge");
        let unix = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64()
        };
        let _ = writeln!(
            m,
            "sg_store_applied_at_seconds {:.6}",
            unix(self.applied_at)
        );
        let _ = writeln!(
            m,
            "# HELP sg_store_write_sent_at_seconds When this host last sent a write to the shared store (Unix time)."
        );
        let _ = writeln!(m, "# TYPE sg_store_write_sent_at_seconds gauge");
        let _ = writeln!(
            m,
            "sg_store_write_sent_at_seconds {:.6}",
            unix(self.write_sent_at)
        );
        let _ = writeln!(
            m,
            "# HELP sg_store_sync_age_seconds Seconds since this host's copy was last brought up to date."
        );
        let _ = writeln!(m, "# TYPE sg_store_sync_age_seconds gauge");
        let _ = writeln!(
            m,
            "sg_store_sync_age_seconds {:.3}",
            self.synced.elapsed().as_secs_f64()
        );
    }
}

impl Core {
    /// Publishes the addresses of this host's instance-mode interfaces in the shared state,
    /// where other hosts read them (their group references match them, SG-IF-5): an
    /// instance-mode interface's addresses are its device's, which only its host can read.
    /// Written when they change, as any write; retried at the next refresh if it fails.
    pub(super) fn publish_addresses(&mut self) {
        let Some(fleet) = self.fleet.as_ref() else {
            return;
        };
        if fleet.awaiting_seed {
            return;
        }
        let mut next = self.state.clone();
        let mut changed = false;
        for iface in next.interfaces.values_mut() {
            if iface.mode != crate::model::AttachMode::Instance {
                continue;
            }
            let Some(dev) = crate::fleet::local_device(&fleet.host, &iface.id) else {
                continue;
            };
            if !crate::datapath::device_exists(dev) {
                continue;
            }
            let seen = crate::datapath::device_addresses(dev);
            if seen != iface.private_addresses {
                iface.private_addresses = seen;
                changed = true;
            }
        }
        if !changed {
            return;
        }
        match self.commit_fleet(next) {
            Ok(()) => info!("published the addresses of this host's instance-mode interfaces"),
            Err(e) => {
                warn!(code = %e.code, "publishing interface addresses failed; retrying at the next refresh")
            }
        }
    }
}

impl Core {
    /// Forgets the revision of the last write (before a request, whose own it then is).
    pub fn forget_last_write(&mut self) {
        if let Some(f) = self.fleet.as_mut() {
            f.last_write = None;
        }
    }

    /// In a fleet: the revision the last request's write committed, if it wrote.
    pub fn last_write(&self) -> Option<i64> {
        self.fleet.as_ref().and_then(|f| f.last_write)
    }
}
