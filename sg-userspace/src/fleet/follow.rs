//! The follower of one scope (issue 15): list the scope at one revision, then watch from the
//! next (see `fleet::etcd`'s documentation for the protocol and the failures it designs out).

use std::sync::{Arc, atomic::Ordering};

use etcd_client::{Client, EventType, WatchOptions};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::{
    etcd::{Etcd, EtcdConfig, EtcdError, FollowStats, Update, backoff, list, unavailable},
    layout::Scope,
};

/// The follower: see the module's documentation.
pub(super) async fn follow(
    slot: Arc<tokio::sync::Mutex<Option<Client>>>,
    cfg: Arc<EtcdConfig>,
    scope: Scope,
    mut at: Option<(i64, u64)>,
    updates: mpsc::UnboundedSender<Update>,
    stats: Arc<FollowStats>,
) {
    let mut attempt = 0u32;
    let mut must_list = at.is_none();
    loop {
        if updates.is_closed() {
            return;
        }
        let r = follow_once(
            &slot,
            &cfg,
            &scope,
            &mut at,
            &mut must_list,
            &updates,
            &stats,
        );
        match r.await {
            Ok(()) => attempt = 0,
            Err(e) => {
                stats.set_connected(&scope, false);
                attempt += 1;
                warn!(error = %e, attempt, %scope, "following etcd: retrying");
            }
        }
        stats.watch_restarts.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(backoff(attempt)).await;
    }
}

/// One list (if needed) and one watch, until the watch ends.
async fn follow_once(
    slot: &tokio::sync::Mutex<Option<Client>>,
    cfg: &EtcdConfig,
    scope: &Scope,
    at: &mut Option<(i64, u64)>,
    must_list: &mut bool,
    updates: &mpsc::UnboundedSender<Update>,
    stats: &FollowStats,
) -> Result<(), EtcdError> {
    let mut c = Etcd::client(slot, cfg).await?;
    if *must_list {
        let snap = list(c.clone(), &cfg.prefix, Some(scope.clone()), 0).await?;
        stats.relists.fetch_add(1, Ordering::Relaxed);
        info!(
            revision = snap.revision,
            docs = snap.docs.len(),
            %scope,
            "listed a scope of the shared state"
        );
        *at = Some((snap.revision, snap.cluster_id));
        *must_list = false;
        let _ = updates.send(Update::Snapshot(snap));
    }
    let (revision, cluster_id) = at.expect("listed or resumed");
    let opts = WatchOptions::new()
        .with_prefix()
        .with_start_revision(revision + 1)
        .with_progress_notify();
    let key = format!("{}{}", cfg.prefix, scope.prefix());
    let mut stream = c.watch(key, Some(opts)).await.map_err(unavailable)?;
    stats.set_connected(scope, true);
    while let Some(r) = stream.message().await.map_err(unavailable)? {
        let header = r.header().map(|h| (h.revision(), h.cluster_id()));
        if header.is_some_and(|(_, id)| id != cluster_id) {
            // Another cluster (restored, or replaced): its revisions mean something else.
            warn!("etcd's cluster id changed: listing again");
            *must_list = true;
            return Ok(());
        }
        if r.canceled() || r.compact_revision() > 0 {
            info!(
                compacted = r.compact_revision(),
                reason = r.cancel_reason(),
                "watch cancelled: listing again"
            );
            *must_list = true;
            return Ok(());
        }
        let Some((rev, _)) = header else { continue };
        if r.created() {
            // The header of a watch's creation is the store's revision, not a promise that
            // everything up to it was sent (a watch from a compacted revision is created,
            // then cancelled): only progress notifications and events advance the revision.
            continue;
        }
        if r.events().is_empty() {
            if rev > revision {
                *at = Some((rev, cluster_id));
                let _ = updates.send(Update::Progress {
                    scope: scope.clone(),
                    revision: rev,
                });
            }
            continue;
        }
        let mut changes = Vec::new();
        for e in r.events() {
            let Some(kv) = e.kv() else { continue };
            let key = String::from_utf8_lossy(kv.key()).into_owned();
            let k = key.strip_prefix(&cfg.prefix).unwrap_or(&key).to_owned();
            let value = match e.event_type() {
                EventType::Put => Some(kv.value().to_vec()),
                EventType::Delete => None,
            };
            changes.push((k, value));
        }
        *at = Some((rev, cluster_id));
        stats.changes.fetch_add(1, Ordering::Relaxed);
        let _ = updates.send(Update::Changes {
            scope: scope.clone(),
            revision: rev,
            cluster_id,
            changes,
        });
    }
    Err(EtcdError::Unavailable("the watch stream ended".into()))
}
