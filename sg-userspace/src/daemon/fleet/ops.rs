//! A fleet host's operations beside the shared state's synchronisation: interface ids named
//! fleet-wide, `describe-hosts`, `seed-fleet-store`, published addresses, metrics.

use std::sync::atomic::Ordering;

use tracing::{info, warn};

use super::Fleet;
use crate::{
    daemon::Core,
    fleet::{etcd::EtcdError, layout},
    model::{ApiError, ApiResult},
    shapes::{DescribeHostsResult, HostDescription, SeedFleetStoreResult},
};

impl Core {
    /// `req` with its interfaces named fleet-wide: a bare device name is this host's.
    pub(in crate::daemon) fn qualify(&self, req: &crate::api::Request) -> crate::api::Request {
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
            R::Explain(r) => {
                r.network_interface_id = crate::fleet::qualify(host, &r.network_interface_id)
            }
            R::DescribeNetworkInterfaces(r) => {
                for id in &mut r.network_interface_ids {
                    *id = crate::fleet::qualify(host, id);
                }
            }
            R::CreateFlowLogs(r) if r.resource_type.as_deref() == Some("NetworkInterface") => {
                for id in &mut r.resource_ids {
                    *id = crate::fleet::qualify(host, id);
                }
            }
            _ => {}
        }
        req
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
    pub(in crate::daemon) fn describe_hosts(&self) -> ApiResult<DescribeHostsResult> {
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
                    followed_vpcs: Vec::new(),
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
                    followed_vpcs: Vec::new(),
                })
                .network_interfaces += 1;
        }
        for h in hosts.values_mut() {
            h.followed_vpcs = fleet
                .follows
                .get(&h.host_id)
                .map(|v| v.iter().cloned().collect())
                .unwrap_or_default();
        }
        Ok(DescribeHostsResult {
            hosts: hosts.into_values().collect(),
        })
    }

    /// `seed-fleet-store`: this host's copy into an empty store.
    pub(in crate::daemon) fn seed_fleet_store(&mut self) -> ApiResult<SeedFleetStoreResult> {
        let fleet = self.fleet.as_ref().ok_or_else(not_in_a_fleet)?;
        if !fleet.awaiting_seed {
            return Err(ApiError::invalid_value(
                "The shared store holds a state: only an empty store (etcd lost its data) is seeded.",
            ));
        }
        // A VPC this host does not follow is in its copy as of its last read, if at all:
        // seeding that would bring back what the fleet has since changed, or lose it.
        let followed = fleet.followed();
        let unfollowed: Vec<&str> = self
            .state
            .vpcs
            .keys()
            .filter(|v| !followed.contains(&layout::Scope::Vpc((*v).clone())))
            .map(String::as_str)
            .collect();
        if !unfollowed.is_empty() {
            return Err(ApiError::invalid_value(format!(
                "This host does not follow VPC(s) {}: its copy of them may be stale or missing, \
                 and seeding from it would lose or undo the fleet's changes there. Seed from a \
                 host that follows every VPC (describe-hosts shows what each host follows), or \
                 restore etcd from a backup.",
                unfollowed.join(", ")
            )));
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
    pub(in crate::daemon) fn write_metrics(&self, m: &mut String) {
        use std::fmt::Write as _;
        let connected = self.stats.all_connected();
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
                "The newest revision of the shared state this host enforces (over the scopes it follows).",
                self.revision(),
            ),
            (
                "sg_store_followed_scopes",
                "gauge",
                "The scopes of the shared state this host follows (the global one and its VPCs).",
                self.followed().len() as i64,
            ),
            (
                "sg_store_changes_total",
                "counter",
                "Changes of the shared state received from etcd, over every scope followed.",
                self.stats.changes.load(Ordering::Relaxed),
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
    pub(in crate::daemon) fn publish_addresses(&mut self) {
        let Some(fleet) = self.fleet.as_ref() else {
            return;
        };
        if fleet.awaiting_seed || self.with_seen_addresses().is_none() {
            return;
        }
        // Written as any write: on a copy brought up to date first.
        let published = self
            .ensure_current()
            .and_then(|()| match self.with_seen_addresses() {
                Some(next) => self.commit_fleet(next),
                None => Ok(()),
            });
        match published {
            Ok(()) => info!("published the addresses of this host's instance-mode interfaces"),
            Err(e) => {
                warn!(code = %e.code, "publishing interface addresses failed; retrying at the next refresh")
            }
        }
    }

    /// The state with the addresses this host's instance-mode interfaces have now, if they
    /// changed.
    fn with_seen_addresses(&self) -> Option<crate::model::State> {
        let host = self.host_id()?;
        let mut next = self.state.clone();
        let mut changed = false;
        for iface in next.interfaces.values_mut() {
            if iface.mode != crate::model::AttachMode::Instance {
                continue;
            }
            let Some(dev) = crate::fleet::local_device(host, &iface.id) else {
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
        changed.then_some(next)
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
