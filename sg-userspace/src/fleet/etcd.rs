//! A fleet host's etcd client (issue 15): the calls the daemon makes, and the loop that
//! follows the shared state.
//!
//! The client runs on its own small tokio runtime, so that the daemon's synchronous core can
//! call it from anywhere (a request handler, start-up) and wait with a deadline: when etcd is
//! unreachable a write fails at once with [`EtcdError::Unavailable`] and changes nothing.
//!
//! Following ([`Etcd::follow`], one follower per scope of `fleet::layout`) is the
//! list-then-watch protocol of Calico and Cilium, with their failures designed out: list the
//! scope at one revision (every page pinned to it), then watch from the next revision with
//! progress notifications and `require_leader`; after a lost stream resume from the last
//! revision; after a compaction, a cancelled watch or a changed cluster id, list again and
//! hand over the scope's snapshot (the daemon diffs it, never clears); back off with full
//! jitter between attempts; HTTP/2 keepalives notice a black-holed connection within seconds.

use std::{
    path::PathBuf,
    sync::{Arc, atomic::AtomicI64},
    time::Duration,
};

use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, DeleteOptions, GetOptions, Identity,
    PutOptions, TlsOptions, Txn, TxnOp,
};
use rand::Rng as _;
use tokio::sync::mpsc;
use tracing::warn;

use super::layout::{self, Diff, GUARD_KEY, GUARDS_PREFIX, Scope, VERSION_KEY};

/// The claim of a host seeding the store (see [`Etcd::seed`]).
const SEED_KEY: &str = "guard/seed";

/// How many documents a seed writes per transaction: below etcd's default `--max-txn-ops`
/// (128).
const SEED_CHUNK: usize = 100;

/// How to reach etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdConfig {
    /// `http://host:port` or `https://host:port`, one per member.
    pub endpoints: Vec<String>,
    /// The prefix of sgd's keys ([`layout::DEFAULT_PREFIX`]).
    pub prefix: String,
    /// TLS: the CA that signed etcd's certificate, and this host's client certificate.
    pub tls: Option<EtcdTls>,
    /// How long one call may take before it counts as "etcd unreachable".
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdTls {
    pub ca: PathBuf,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// `etcd://host:port[,host:port...]` (clear text) or `etcds://...` (TLS): the members.
pub fn parse_store_url(url: &str) -> Result<(Vec<String>, bool), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url}: expected etcd://HOST:PORT[,HOST:PORT...]"))?;
    let tls = match scheme {
        "etcd" => false,
        "etcds" => true,
        other => {
            return Err(format!(
                "{url}: unknown store scheme {other} (etcd or etcds)"
            ));
        }
    };
    let members: Vec<String> = rest
        .trim_end_matches('/')
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| {
            let scheme = if tls { "https" } else { "http" };
            format!("{scheme}://{m}")
        })
        .collect();
    if members.is_empty() || rest.contains('/') {
        return Err(format!(
            "{url}: expected etcd://HOST:PORT[,HOST:PORT...] (no path)"
        ));
    }
    Ok((members, tls))
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EtcdError {
    /// Nothing was sent: nothing changed.
    #[error("etcd is unreachable: {0}")]
    Unavailable(String),
    /// A write was sent but not confirmed (etcd frozen, or lost mid-request): it may yet
    /// commit. The follower shows the outcome once etcd answers.
    #[error("etcd did not confirm the write: {0}")]
    Unconfirmed(String),
    /// Another host wrote since this host's state was read.
    #[error("the shared state changed since it was read")]
    Conflict,
    #[error("{0}")]
    Refused(String),
}

/// The shared state, or one scope of it, at one revision.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// `None`: the whole state.
    pub scope: Option<Scope>,
    pub revision: i64,
    pub cluster_id: u64,
    /// Every state document of the scope (key without the prefix, value).
    pub docs: Vec<(String, Vec<u8>)>,
    /// The guards, in a snapshot of the whole state (else empty).
    pub guards: Guards,
}

/// The revisions the write guard and the scopes' markers were last written at (see
/// `fleet::layout`), with the revision they were read at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guards {
    pub revision: i64,
    pub cluster_id: u64,
    /// `guard/write` (0: never written).
    pub write: i64,
    /// Each scope's marker.
    pub markers: std::collections::BTreeMap<Scope, i64>,
}

impl Guards {
    fn take(&mut self, key: &str, mod_revision: i64) {
        if key == GUARD_KEY {
            self.write = mod_revision;
        } else if let Some(s) = Scope::of_marker(key) {
            self.markers.insert(s, mod_revision);
        }
    }
}

/// What a scope's follower hands the daemon.
#[derive(Debug, Clone)]
pub enum Update {
    /// The scope's documents (after a first list, a compaction, a new cluster): diff them in.
    Snapshot(Snapshot),
    /// Changes to `scope` committed at `revision` (keys without the prefix; `None` deletes).
    Changes {
        scope: Scope,
        revision: i64,
        cluster_id: u64,
        changes: Vec<(String, Option<Vec<u8>>)>,
    },
    /// Nothing changed in `scope` up to `revision` (a progress notification).
    Progress { scope: Scope, revision: i64 },
}

/// Counters of the followers, for the metrics.
#[derive(Debug, Default)]
pub struct FollowStats {
    /// Whether each scope's follower is connected, by scope.
    pub connected: std::sync::Mutex<std::collections::BTreeMap<Scope, bool>>,
    pub relists: AtomicI64,
    pub watch_restarts: AtomicI64,
    /// Watch responses with changes, over every scope followed.
    pub changes: AtomicI64,
}

impl FollowStats {
    pub(super) fn set_connected(&self, scope: &Scope, up: bool) {
        if let Ok(mut m) = self.connected.lock()
            && let Some(c) = m.get_mut(scope)
        {
            *c = up;
        }
    }

    /// Whether every scope followed is connected (and there is one).
    pub fn all_connected(&self) -> bool {
        self.connected
            .lock()
            .is_ok_and(|m| !m.is_empty() && m.values().all(|c| *c))
    }
}

/// A running follower of one scope: it stops when this is dropped.
pub struct Following(tokio::task::JoinHandle<()>);

impl Drop for Following {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The client's own runtime, shut down without waiting when the last client goes (which may
/// happen inside the daemon's runtime, where waiting is not allowed).
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    fn spawn<F>(&self, f: F) -> Option<tokio::task::JoinHandle<()>>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.as_ref().map(|rt| rt.spawn(f))
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// The client. Cheap to clone.
#[derive(Clone)]
pub struct Etcd {
    rt: Arc<OwnRuntime>,
    cfg: Arc<EtcdConfig>,
    client: Arc<tokio::sync::Mutex<Option<Client>>>,
}

impl Etcd {
    /// A client for `cfg`; it connects on first use, so etcd may be down now.
    pub fn new(cfg: EtcdConfig) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sgd-etcd")
            .enable_all()
            .build()?;
        Ok(Self {
            rt: Arc::new(OwnRuntime(Some(rt))),
            cfg: Arc::new(cfg),
            client: Arc::default(),
        })
    }

    fn key(&self, k: &str) -> String {
        format!("{}{k}", self.cfg.prefix)
    }

    /// Runs `f` on the client's runtime and waits for it, at most the configured timeout
    /// (and a margin, so that a connection that cannot be made fails first, as unreachable).
    /// A write that times out is [`EtcdError::Unconfirmed`]: it was sent, and may commit.
    fn call<T: Send + 'static>(
        &self,
        writes: bool,
        f: impl Future<Output = Result<T, EtcdError>> + Send + 'static,
    ) -> Result<T, EtcdError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let timeout = self.cfg.timeout + Duration::from_secs(1);
        let late = move || {
            let why = format!("no answer within {timeout:?}");
            if writes {
                EtcdError::Unconfirmed(why)
            } else {
                EtcdError::Unavailable(why)
            }
        };
        self.rt.spawn(async move {
            let r = match tokio::time::timeout(timeout, f).await {
                Ok(r) => r,
                Err(_) => Err(late()),
            };
            let _ = tx.send(r);
        });
        rx.recv_timeout(timeout + Duration::from_secs(1))
            .unwrap_or_else(|_| Err(late()))
    }

    /// The connected client (connecting if needed).
    pub(super) async fn client(
        slot: &tokio::sync::Mutex<Option<Client>>,
        cfg: &EtcdConfig,
    ) -> Result<Client, EtcdError> {
        let mut slot = slot.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let mut opts = ConnectOptions::new()
            .with_connect_timeout(cfg.timeout)
            .with_timeout(cfg.timeout)
            // A black-holed connection is noticed within about two intervals.
            .with_keep_alive(Duration::from_secs(2), Duration::from_secs(2))
            .with_keep_alive_while_idle(true)
            .with_require_leader(true);
        if let Some(tls) = &cfg.tls {
            opts = opts.with_tls(tls_options(tls).map_err(EtcdError::Refused)?);
        }
        let c = Client::connect(&cfg.endpoints, Some(opts))
            .await
            .map_err(unavailable)?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// The whole shared state at one revision, with the guards.
    pub fn list(&self) -> Result<Snapshot, EtcdError> {
        let (slot, cfg) = (self.client.clone(), self.cfg.clone());
        self.call(false, async move {
            let c = Self::client(&slot, &cfg).await?;
            list(c, &cfg.prefix, None, 0).await
        })
    }

    /// `scopes`, each listed at `revision`: one consistent view.
    pub fn list_scopes(
        &self,
        scopes: Vec<Scope>,
        revision: i64,
    ) -> Result<Vec<Snapshot>, EtcdError> {
        let (slot, cfg) = (self.client.clone(), self.cfg.clone());
        self.call(false, async move {
            let c = Self::client(&slot, &cfg).await?;
            let mut out = Vec::new();
            for s in scopes {
                out.push(list(c.clone(), &cfg.prefix, Some(s), revision).await?);
            }
            Ok(out)
        })
    }

    /// The guards, read from the quorum: a host whose scopes are at their markers holds every
    /// write so far.
    pub fn guards(&self) -> Result<Guards, EtcdError> {
        let key = self.key(GUARDS_PREFIX);
        let (slot, cfg) = (self.client.clone(), self.cfg.clone());
        self.call(false, async move {
            let mut c = Self::client(&slot, &cfg).await?;
            let r = c
                .get(key, Some(GetOptions::new().with_prefix()))
                .await
                .map_err(unavailable)?;
            let mut g = Guards::default();
            if let Some(h) = r.header() {
                g.revision = h.revision();
                g.cluster_id = h.cluster_id();
            }
            for kv in r.kvs() {
                let k = String::from_utf8_lossy(kv.key());
                g.take(k.strip_prefix(&cfg.prefix).unwrap_or(&k), kv.mod_revision());
            }
            Ok(g)
        })
    }

    /// Writes `diff` if `guard/write` is still at revision `guard` (0: never written), with
    /// `request_id` as the guard's new value and the markers of the scopes it changes; the
    /// revision it committed at.
    pub fn write(&self, guard: i64, diff: &Diff, request_id: &str) -> Result<i64, EtcdError> {
        let guard_key = self.key(GUARD_KEY);
        let mut ops: Vec<TxnOp> = diff
            .puts
            .iter()
            .map(|(k, v)| TxnOp::put(self.key(k), v.as_str(), None))
            .collect();
        ops.extend(
            diff.deletes
                .iter()
                .map(|k| TxnOp::delete(self.key(k), None)),
        );
        ops.extend(
            diff.scopes()
                .iter()
                .map(|s| TxnOp::put(self.key(&s.marker()), request_id, None)),
        );
        ops.push(TxnOp::put(guard_key.clone(), request_id, None));
        let compare = if guard == 0 {
            Compare::create_revision(guard_key, CompareOp::Equal, 0)
        } else {
            Compare::mod_revision(guard_key, CompareOp::Equal, guard)
        };
        let txn = Txn::new().when([compare]).and_then(ops);
        let (slot, cfg) = (self.client.clone(), self.cfg.clone());
        self.call(true, async move {
            let mut c = Self::client(&slot, &cfg).await?;
            let r = c.txn(txn).await.map_err(sent)?;
            if !r.succeeded() {
                return Err(EtcdError::Conflict);
            }
            Ok(r.header().map_or(0, |h| h.revision()))
        })
    }

    /// Seeds an empty store with `docs`, unless another host did or is doing it (`None`
    /// then: list again a little later).
    ///
    /// A store may hold more documents than etcd takes in one transaction (its
    /// `--max-txn-ops`, 128 by default), so a seed is claimed first: `guard/seed` on a lease,
    /// created only if the store holds no state and no other claim (leftovers of a seeder that
    /// died are deleted in the same transaction). The documents follow in chunks, each
    /// written only while the claim is this host's, and `global/version` comes last: until it
    /// is there, every host sees a store without a state and waits.
    pub fn seed(
        &self,
        docs: Vec<(String, String)>,
        request_id: &str,
    ) -> Result<Option<i64>, EtcdError> {
        let (slot, cfg) = (self.client.clone(), self.cfg.clone());
        let id = request_id.to_owned();
        self.call(true, async move {
            let mut c = Self::client(&slot, &cfg).await?;
            let key = |k: &str| format!("{}{k}", cfg.prefix);
            let lease = c.lease_grant(30, None).await.map_err(sent)?.id();
            let claim = Txn::new()
                .when([
                    Compare::version(key(VERSION_KEY), CompareOp::Equal, 0),
                    Compare::version(key(SEED_KEY), CompareOp::Equal, 0),
                ])
                .and_then([
                    TxnOp::delete(key("global/"), Some(DeleteOptions::new().with_prefix())),
                    TxnOp::delete(key("vpc/"), Some(DeleteOptions::new().with_prefix())),
                    TxnOp::put(
                        key(SEED_KEY),
                        id.as_str(),
                        Some(PutOptions::new().with_lease(lease)),
                    ),
                ]);
            if !c.txn(claim).await.map_err(sent)?.succeeded() {
                let _ = c.lease_revoke(lease).await;
                return Ok(None);
            }
            let scopes: std::collections::BTreeSet<Scope> =
                docs.iter().filter_map(|(k, _)| Scope::of(k)).collect();
            let mut ops: Vec<TxnOp> = docs
                .iter()
                .filter(|(k, _)| k != VERSION_KEY)
                .map(|(k, v)| TxnOp::put(key(k), v.as_str(), None))
                .chain(
                    scopes
                        .iter()
                        .map(|s| TxnOp::put(key(&s.marker()), id.as_str(), None)),
                )
                .collect();
            let ours = || Compare::value(key(SEED_KEY), CompareOp::Equal, id.as_str());
            while !ops.is_empty() {
                let chunk: Vec<TxnOp> = ops.drain(..ops.len().min(SEED_CHUNK)).collect();
                let r = c.txn(Txn::new().when([ours()]).and_then(chunk)).await;
                if !r.map_err(sent)?.succeeded() {
                    return Err(EtcdError::Refused(
                        "this host's claim to seed the store expired before it finished".into(),
                    ));
                }
            }
            let last = Txn::new().when([ours()]).and_then([
                TxnOp::put(key(VERSION_KEY), layout::LAYOUT_VERSION, None),
                TxnOp::put(key(GUARD_KEY), id.as_str(), None),
                TxnOp::delete(key(SEED_KEY), None),
            ]);
            let r = c.txn(last).await.map_err(sent)?;
            let _ = c.lease_revoke(lease).await;
            if !r.succeeded() {
                return Err(EtcdError::Refused(
                    "this host's claim to seed the store expired before it finished".into(),
                ));
            }
            Ok(Some(r.header().map_or(0, |h| h.revision())))
        })
    }

    /// The live hosts' records (`host/<host>`), by host.
    pub fn hosts(&self) -> Result<Vec<(String, Vec<u8>)>, EtcdError> {
        let prefix = layout::hosts_prefix(&self.cfg.prefix);
        let (slot, cfg) = (self.client.clone(), self.cfg.clone());
        self.call(false, async move {
            let mut c = Self::client(&slot, &cfg).await?;
            let r = c
                .get(prefix.clone(), Some(GetOptions::new().with_prefix()))
                .await
                .map_err(unavailable)?;
            Ok(r.kvs()
                .iter()
                .map(|kv| {
                    let k = String::from_utf8_lossy(kv.key());
                    (
                        k.strip_prefix(&prefix).unwrap_or(&k).to_owned(),
                        kv.value().to_vec(),
                    )
                })
                .collect())
        })
    }

    /// Keeps `host/<host>` alive on a lease while the daemon runs, with `record()` as its
    /// value (rewritten only when it changed). Liveness only: nothing else is on a lease, so a
    /// host that is down keeps its interfaces, as a stopped instance keeps its ENI.
    pub fn keep_host_alive(
        &self,
        host: String,
        ttl: Duration,
        record: impl Fn() -> String + Send + Sync + 'static,
    ) {
        let (slot, cfg) = (self.client.clone(), self.cfg.clone());
        let key = format!("{}{host}", layout::hosts_prefix(&self.cfg.prefix));
        self.rt.spawn(async move {
            loop {
                if let Err(e) = hold_lease(&slot, &cfg, &key, ttl, &record).await {
                    warn!(error = %e, "host record lost; registering again");
                }
                tokio::time::sleep(backoff(1)).await;
            }
        });
    }

    /// Follows `scope` from `from` (a revision already applied, with its cluster id; `None`
    /// to start with a list), sending what changes to `updates`, until the [`Following`] is
    /// dropped or that channel closes.
    pub fn follow(
        &self,
        scope: Scope,
        from: Option<(i64, u64)>,
        updates: mpsc::UnboundedSender<Update>,
        stats: Arc<FollowStats>,
    ) -> Option<Following> {
        let (slot, cfg) = (self.client.clone(), self.cfg.clone());
        if let Ok(mut m) = stats.connected.lock() {
            m.insert(scope.clone(), false);
        }
        self.rt
            .spawn(async move {
                super::follow::follow(slot, cfg, scope, from, updates, stats).await;
            })
            .map(Following)
    }
}

pub(super) fn unavailable(e: etcd_client::Error) -> EtcdError {
    EtcdError::Unavailable(e.to_string())
}

/// A write's failure: unreachable if no connection could be made (nothing was sent), refused
/// if etcd said why (nothing was written), else unconfirmed (it may commit).
fn sent(e: etcd_client::Error) -> EtcdError {
    if let etcd_client::Error::GRpcStatus(s) = &e
        && matches!(
            s.code(),
            tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition
        )
    {
        let why = s.message();
        return EtcdError::Refused(if why.contains("too many operations") {
            format!(
                "etcd refused the change: it takes more operations than etcd accepts in one \
                 transaction ({why}; see etcd's --max-txn-ops). Nothing was changed: split \
                 the request, or raise --max-txn-ops on every etcd member."
            )
        } else {
            format!("etcd refused the change ({why}); nothing was changed")
        });
    }
    let text = e.to_string();
    if text.contains("connect") || text.contains("Connection refused") {
        EtcdError::Unavailable(text)
    } else {
        EtcdError::Unconfirmed(text)
    }
}

fn tls_options(tls: &EtcdTls) -> Result<TlsOptions, String> {
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut o = TlsOptions::new().ca_certificate(Certificate::from_pem(read(&tls.ca)?));
    match (&tls.cert, &tls.key) {
        (Some(c), Some(k)) => o = o.identity(Identity::from_pem(read(c)?, read(k)?)),
        (None, None) => {}
        _ => return Err("an etcd client certificate needs its key, and the reverse".into()),
    }
    Ok(o)
}

/// Full jitter: a random wait up to `50 ms * 2^attempt`, at most 30 s.
pub fn backoff(attempt: u32) -> Duration {
    let cap = Duration::from_millis(50)
        .saturating_mul(1u32 << attempt.min(10))
        .min(Duration::from_secs(30));
    let ms = rand::rng().random_range(0..=cap.as_millis() as u64);
    Duration::from_millis(ms)
}

/// Lists `scope` (`None`: everything under `prefix`) page by page, every page at `revision`
/// (0: the revision of the first page).
pub(super) async fn list(
    mut c: Client,
    prefix: &str,
    scope: Option<Scope>,
    mut revision: i64,
) -> Result<Snapshot, EtcdError> {
    const PAGE: i64 = 500;
    let start = format!(
        "{prefix}{}",
        scope.as_ref().map(Scope::prefix).unwrap_or_default()
    );
    let end = prefix_end(&start);
    let mut docs = Vec::new();
    let mut from = start.into_bytes();
    let mut cluster_id = 0;
    let mut guards = Guards::default();
    loop {
        let mut opts = GetOptions::new().with_range(end.clone()).with_limit(PAGE);
        if revision > 0 {
            opts = opts.with_revision(revision);
        }
        let r = c.get(from.clone(), Some(opts)).await.map_err(unavailable)?;
        if let Some(h) = r.header() {
            if revision == 0 {
                revision = h.revision();
            }
            cluster_id = h.cluster_id();
        }
        for kv in r.kvs() {
            let key = String::from_utf8_lossy(kv.key()).into_owned();
            let k = key.strip_prefix(prefix).unwrap_or(&key);
            guards.take(k, kv.mod_revision());
            if layout::is_state_key(k) {
                docs.push((k.to_owned(), kv.value().to_vec()));
            }
        }
        match (r.more(), r.kvs().last()) {
            (true, Some(last)) => {
                from = last.key().to_vec();
                from.push(0);
            }
            _ => break,
        }
    }
    guards.revision = revision;
    guards.cluster_id = cluster_id;
    Ok(Snapshot {
        scope,
        revision,
        cluster_id,
        docs,
        guards,
    })
}

/// The first key after every key starting with `prefix`.
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

async fn hold_lease(
    slot: &tokio::sync::Mutex<Option<Client>>,
    cfg: &EtcdConfig,
    key: &str,
    ttl: Duration,
    record: &(impl Fn() -> String + Send + Sync),
) -> Result<(), EtcdError> {
    let mut c = Etcd::client(slot, cfg).await?;
    let lease = c
        .lease_grant(ttl.as_secs().max(2) as i64, None)
        .await
        .map_err(unavailable)?
        .id();
    let mut last = record();
    c.put(
        key,
        last.as_str(),
        Some(PutOptions::new().with_lease(lease)),
    )
    .await
    .map_err(unavailable)?;
    let (mut keeper, mut stream) = c.lease_keep_alive(lease).await.map_err(unavailable)?;
    loop {
        tokio::time::sleep(ttl / 3).await;
        keeper.keep_alive().await.map_err(unavailable)?;
        match stream.message().await.map_err(unavailable)? {
            Some(r) if r.ttl() > 0 => {}
            _ => return Err(EtcdError::Unavailable("the host's lease expired".into())),
        }
        let now = record();
        if now != last {
            c.put(key, now.as_str(), Some(PutOptions::new().with_lease(lease)))
                .await
                .map_err(unavailable)?;
            last = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls() {
        assert_eq!(
            parse_store_url("etcd://10.0.0.1:2379,10.0.0.2:2379").unwrap(),
            (
                vec![
                    "http://10.0.0.1:2379".to_owned(),
                    "http://10.0.0.2:2379".to_owned()
                ],
                false
            )
        );
        assert_eq!(
            parse_store_url("etcds://e:2379").unwrap().0,
            ["https://e:2379"]
        );
        for bad in ["10.0.0.1:2379", "redis://x:1", "etcd://", "etcd://a:1/sg"] {
            assert!(parse_store_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end("/sg/v1/"), b"/sg/v10".to_vec());
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        for attempt in 0..40 {
            assert!(backoff(attempt) <= Duration::from_secs(30));
        }
    }
}
