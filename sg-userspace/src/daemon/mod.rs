//! `sgd`: owns the state, its store and the datapath, and applies each API request as one
//! transaction: the new state is computed on a copy, enforced, persisted, and only then
//! becomes current. A request that fails at any step changes nothing.
//!
//! This file holds the configuration, the [`Core`] (open, enforce, refresh, sweep) and the one
//! dispatch of requests ([`Core::handle`]). Operations that only read or change the state go
//! straight to `model`; those that also need the datapath have their handlers in a room per
//! operation group: `groups`, `interfaces`, `conntrack`, `explain`, `observe`, `flow_logs`,
//! `metrics`, `keys` (the HTTP API's access keys). [`run`] (in `serve`) serves it all.

mod conntrack;
mod explain;
mod fleet;
mod flow_logs;
mod groups;
mod interfaces;
mod keys;
mod metrics;
mod observe;
mod serve;

pub use serve::run;

use std::{net::IpAddr, path::PathBuf, time::Duration};

use anyhow::Context as _;
use tracing::{error, info, warn};

use crate::{
    api::{Request, Response},
    compiler::{self, Addresses},
    datapath::{self, Datapath, DatapathConfig, XdpModeChoice},
    ec2::keys::{self as key_file, KeyFile},
    model::{
        ApiError, ApiResult, AttachMode, Interface, Quotas, RandomIds, State, import, ops,
        prefix_lists, rules, tags, vpcs,
    },
    paths,
    shapes::Output,
    store::Store,
};

#[derive(Debug, Clone)]
pub struct Config {
    pub state_dir: PathBuf,
    pub socket: PathBuf,
    pub pin_dir: PathBuf,
    pub xdp_mode: XdpModeChoice,
    pub quotas: Quotas,
    pub ct_tcp_max: u32,
    pub ct_other_max: u32,
    /// The conntrack budgets (`sgd.json`); `None`: the defaults for the tables' sizes.
    pub ct_budgets: Option<crate::datapath::CtBudgets>,
    /// How often interface addresses and devices are re-read (group references, SG-IF-3).
    pub refresh: Duration,
    /// Where to serve the counters in the Prometheus text format over HTTP.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The HTTP API (EC2 Query API and STS), if it is served.
    pub api: Option<ApiConfig>,
    /// The region of this host's resources: in their ARNs, and what API requests must be
    /// signed for.
    pub region: String,
    /// The shared store of a fleet (`--store etcd://...`); `None`: this host's own store.
    pub fleet: Option<crate::fleet::FleetConfig>,
    /// What the datapath logs, and the device whose decisions it logs at debug.
    pub datapath_log: datapath::DatapathLog,
    pub datapath_log_interface: Option<String>,
    /// The longest capture window of a flow log, seconds (`None`: its
    /// `MaxAggregationInterval`).
    pub flow_log_window: Option<u64>,
    /// How large flow-log files grow and how many are kept.
    pub flow_log_rotation: crate::flowlog::file::Rotation,
    /// The directory flow logs may write to (created at start).
    pub flow_log_dir: PathBuf,
}

/// `sgd --api-listen` and its options (the region is [`Config::region`]).
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub listen: std::net::SocketAddr,
    /// Certificate chain and private key (PEM) to serve HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Serve clear-text HTTP on a non-loopback address anyway.
    pub insecure_http: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            state_dir: paths::STATE_DIR.into(),
            socket: paths::SOCKET.into(),
            pin_dir: paths::PIN_DIR.into(),
            xdp_mode: XdpModeChoice::Auto,
            quotas: Quotas::default(),
            ct_tcp_max: 1 << 18,
            ct_other_max: 1 << 16,
            ct_budgets: None,
            refresh: Duration::from_secs(1),
            metrics_listen: None,
            api: None,
            fleet: None,
            region: crate::model::default_region(),
            datapath_log: datapath::DatapathLog::default(),
            datapath_log_interface: None,
            flow_log_window: None,
            flow_log_rotation: Default::default(),
            flow_log_dir: paths::FLOW_LOG_DIR.into(),
        }
    }
}

/// Settings read from `<state-dir>/sgd.json` when present.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    pub quotas: Option<Quotas>,
    pub conntrack_tcp_max: Option<u32>,
    pub conntrack_other_max: Option<u32>,
    /// Budgets within the tables (issue 17; 0: none): half-open TCP flows opened from
    /// outside (an eighth of `conntrack_tcp_max` by default), and flows of other protocols
    /// opened from outside (three quarters of `conntrack_other_max`).
    pub conntrack_tcp_half_open_max: Option<u32>,
    pub conntrack_other_inbound_max: Option<u32>,
    /// The fleet store, as `--store`, `--host-id` and `--etcd-*` (which take precedence).
    pub store: Option<String>,
    pub host_id: Option<String>,
    pub etcd_ca: Option<PathBuf>,
    pub etcd_cert: Option<PathBuf>,
    pub etcd_key: Option<PathBuf>,
    /// Flow-log files: the size at which one is rotated (64 MiB by default), and how many
    /// rotated files are kept (4): a flow log takes at most size x (files + 1).
    pub flow_log_max_file_bytes: Option<u64>,
    pub flow_log_max_files: Option<u32>,
}

/// The state, its store and the datapath, kept in step: every request and every refresh
/// goes through here, one at a time (`run` holds it under one lock).
pub struct Core {
    state: State,
    store: Store,
    datapath: Datapath,
    quotas: Quotas,
    /// Addresses used for the last compile, to notice changes.
    addrs: Addresses,
    /// The HTTP API's access keys.
    keys: KeyFile,
    /// A copy of the keys the HTTP API reads without taking the lock on this `Core` (a
    /// request's signature is checked while another request commits).
    shared_keys: keys::SharedKeys,
    /// In a fleet: the shared store and where this host's copy is.
    fleet: Option<fleet::Fleet>,
    /// Who watches decisions (`observe`): observer id -> its device (`None`: all).
    observers: std::collections::HashMap<u64, Option<String>>,
    next_observer: u64,
    /// The flow logs' windows and readings (`flow_logs`).
    flow_logs: flow_logs::FlowLogs,
}

/// The private addresses of an interface (SG-IF-5): declared in host mode, read from the
/// device in instance mode (`device`: the interface's device on this host; another host's
/// interface in instance mode has only what its host published).
fn addresses_of(iface: &Interface, device: Option<&str>) -> Vec<IpAddr> {
    match (iface.mode, device) {
        (AttachMode::Instance, Some(dev)) => datapath::device_addresses(dev),
        _ => iface.private_addresses.clone(),
    }
}

impl Core {
    pub fn open(cfg: &Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&cfg.state_dir)
            .with_context(|| format!("creating state directory {}", cfg.state_dir.display()))?;
        std::fs::create_dir_all(&cfg.flow_log_dir).with_context(|| {
            format!("creating flow-log directory {}", cfg.flow_log_dir.display())
        })?;
        let db = cfg.state_dir.join(paths::DB_FILE);
        let store = Store::open(&db).with_context(|| format!("opening store {}", db.display()))?;
        let (state, fleet) = match &cfg.fleet {
            Some(f) => {
                let (state, fleet) = fleet::open(&store, &cfg.state_dir, f, &cfg.region)?;
                (state, Some(fleet))
            }
            None => (Self::load_local(&store)?, None),
        };
        let mut state = state;
        state.region = cfg.region.clone();
        let datapath = Datapath::load(DatapathConfig {
            pin_dir: Some(cfg.pin_dir.clone()),
            xdp_mode: cfg.xdp_mode,
            ct_tcp_max: cfg.ct_tcp_max,
            ct_other_max: cfg.ct_other_max,
            budgets: cfg.ct_budgets.unwrap_or_else(|| {
                crate::datapath::CtBudgets::defaults(cfg.ct_tcp_max, cfg.ct_other_max)
            }),
            log: cfg.datapath_log,
            log_interface: cfg.datapath_log_interface.clone(),
        })?;
        let keys = KeyFile::load(&cfg.state_dir.join(key_file::FILE))?;
        let mut core = Self {
            state,
            store,
            datapath,
            quotas: cfg.quotas,
            addrs: Addresses::new(),
            shared_keys: keys::SharedKeys::default(),
            keys,
            fleet,
            observers: Default::default(),
            next_observer: 0,
            flow_logs: flow_logs::FlowLogs::new(
                cfg.flow_log_window,
                cfg.flow_log_rotation,
                &cfg.flow_log_dir,
            ),
        };
        core.share_keys();
        let state = core.state.clone();
        if let Err(e) = core.enforce(&state, &|_| true) {
            // Interfaces that are missing now are attached when they appear (refresh).
            warn!(error = %e.message, "not every interface could be protected at start");
        }
        core.datapath.collect_garbage();
        // Flow logs cover their interfaces before the first request is answered: what
        // crosses them from now on is recorded.
        core.flow_logs_tick(true);
        Ok(core)
    }

    /// This host's own state from the embedded store (a new one on first start).
    fn load_local(store: &Store) -> anyhow::Result<State> {
        Ok(match store.load_upgraded(&mut RandomIds)? {
            Some((s, upgraded)) => {
                if upgraded {
                    info!("store upgraded: the default VPC got its IPv6 block (dual-stack)");
                }
                info!(
                    groups = s.groups.len(),
                    interfaces = s.interfaces.len(),
                    "state loaded"
                );
                s
            }
            None => {
                let s = State::new(&mut RandomIds);
                store.save(None, &s)?;
                info!(vpc = ?s.default_vpc().map(|v| &v.id), "new state: default VPC and default group created");
                s
            }
        })
    }

    /// Compiles `state` and brings the datapath to it. Interfaces whose device does not exist
    /// are skipped (and protected once it appears).
    /// Returns the first failure of an interface that was protected, or that `concerned` says
    /// the caller's change is about; failures of other interfaces (already failing before,
    /// e.g. a device without native XDP) are logged, not blamed on an unrelated request.
    fn enforce(&mut self, state: &State, concerned: &dyn Fn(&str) -> bool) -> ApiResult<()> {
        let addrs = self.read_addresses(state);
        let compiled = compiler::compile_some(state, &addrs, &|id| self.local_device(id).is_some());
        let mut first_err = None;
        let mut local = Vec::new();
        for (id, iface) in &state.interfaces {
            // In a fleet, other hosts' interfaces are theirs to enforce.
            let Some(dev) = self.local_device(id) else {
                continue;
            };
            local.push(dev.to_owned());
            if !datapath::device_exists(dev) {
                if self.datapath.is_attached(dev) {
                    let _ = self.datapath.remove(dev);
                }
                continue;
            }
            let was_protected = self.datapath.is_attached(dev);
            // The datapath knows devices: the interface under its device's name.
            let mut on_device = iface.clone();
            on_device.id = dev.to_owned();
            if let Err(e) = self.datapath.apply(&on_device, &compiled[id]) {
                error!(iface = %id, error = %e, "applying rules failed");
                if was_protected || concerned(id) {
                    first_err.get_or_insert(ApiError::internal(format!("{id}: {e}")));
                }
            }
        }
        for dev in self.datapath.attached_ifaces() {
            if !local.contains(&dev) {
                let _ = self.datapath.remove(&dev);
            }
        }
        self.addrs = addrs;
        first_err.map_or(Ok(()), Err)
    }

    /// The device of interface `id` if it is this host's: every interface on one host; in a
    /// fleet, those named `<this host>/<device>`.
    fn local_device<'a>(&self, id: &'a str) -> Option<&'a str> {
        match &self.fleet {
            Some(f) => crate::fleet::local_device(&f.host, id),
            None => Some(id),
        }
    }

    /// Every interface's private addresses, by interface id.
    fn read_addresses(&self, state: &State) -> Addresses {
        state
            .interfaces
            .values()
            .map(|i| (i.id.clone(), addresses_of(i, self.local_device(&i.id))))
            .collect()
    }

    /// Frees replaced rulesets (see `Datapath::reclaim`).
    pub fn reclaim(&mut self) {
        self.datapath.reclaim();
    }

    /// Removes expired tracked flows (their room returns to the allowance, SG-ENF-9).
    pub fn sweep(&mut self) {
        let r = self.datapath.sweep(Datapath::now());
        if r.removed_tcp + r.removed_other > 0 {
            info!(
                examined = r.examined,
                tcp = r.removed_tcp,
                other = r.removed_other,
                "swept expired flows"
            );
        }
    }

    /// Re-reads devices and addresses; re-applies when they changed (SG-IF-3).
    pub fn refresh(&mut self) {
        let addrs = self.read_addresses(&self.state);
        let missing = self
            .state
            .interfaces
            .keys()
            .filter_map(|id| self.local_device(id))
            .any(|dev| datapath::device_exists(dev) != self.datapath.is_attached(dev));
        if addrs != self.addrs || missing {
            let state = self.state.clone();
            let _ = self.enforce(&state, &|_| true);
        }
        if self.fleet.is_some() {
            self.publish_addresses();
        }
    }

    /// Answers one request on the Unix socket, as JSON. In a fleet a write's answer also
    /// says the revision it committed (`Revision`, sgd's own member).
    pub fn handle(&mut self, req: Request) -> Response {
        self.forget_last_write();
        match self.answer(&req) {
            Ok(v) => {
                let mut json = v.to_json();
                if let Some(rev) = self.last_write() {
                    match &mut json {
                        serde_json::Value::Object(m) => {
                            m.insert("Revision".into(), rev.into());
                        }
                        other => *other = serde_json::json!({ "Revision": rev }),
                    }
                }
                Response::Ok(json)
            }
            Err(e) => Response::Error(e),
        }
    }

    /// Answers one request, either wire; a refusal is logged here, once, whatever room
    /// refused it.
    pub fn answer(&mut self, req: &Request) -> ApiResult<Output> {
        self.execute(req).inspect_err(|e| {
            info!(operation = req.operation(), code = %e.code, "request refused");
        })
    }

    /// Checks a request as if it ran, and changes nothing (the HTTP API's `DryRun`): it runs
    /// on a copy of the state that is then dropped. Only operations whose every change goes
    /// through that copy may be checked.
    pub fn check(&mut self, req: &Request) -> ApiResult<()> {
        // An allowlist, not a denylist: an operation added later is refused here until
        // someone has checked that its handler changes nothing but `next`.
        let on_the_copy = matches!(
            req,
            Request::CreateSecurityGroup(_)
                | Request::DeleteSecurityGroup(_)
                | Request::DescribeSecurityGroups(_)
                | Request::DescribeSecurityGroupRules(_)
                | Request::AuthorizeSecurityGroupIngress(_)
                | Request::AuthorizeSecurityGroupEgress(_)
                | Request::RevokeSecurityGroupIngress(_)
                | Request::RevokeSecurityGroupEgress(_)
                | Request::ModifySecurityGroupRules(_)
                | Request::UpdateSecurityGroupRuleDescriptionsIngress(_)
                | Request::UpdateSecurityGroupRuleDescriptionsEgress(_)
                | Request::CreateVpc(_)
                | Request::DeleteVpc(_)
                | Request::CreateDefaultVpc(_)
                | Request::DescribeVpcs(_)
                | Request::CreateManagedPrefixList(_)
                | Request::ModifyManagedPrefixList(_)
                | Request::DeleteManagedPrefixList(_)
                | Request::DescribeManagedPrefixLists(_)
                | Request::GetManagedPrefixListEntries(_)
                | Request::DescribeNetworkInterfaces(_)
                | Request::CreateNetworkInterface(_)
                | Request::DeleteNetworkInterface(_)
                | Request::ModifyNetworkInterfaceAttribute(_)
                | Request::AssignPrivateIpAddresses(_)
                | Request::UnassignPrivateIpAddresses(_)
                | Request::CreateTags(_)
                | Request::DeleteTags(_)
                | Request::DescribeTags(_)
        );
        if !on_the_copy {
            return Err(ApiError::invalid_value(format!(
                "{} cannot be checked without running it",
                req.operation()
            )));
        }
        let req = match self.fleet {
            Some(_) => self.qualify(req),
            None => req.clone(),
        };
        self.run(&req, false).map(|_| ())
    }

    /// The one dispatch: every operation runs on `next`, a copy of the state, or reads the
    /// current state and the datapath; [`Self::commit`] then makes a changed copy current.
    fn execute(&mut self, req: &Request) -> ApiResult<Output> {
        if self.fleet.is_none() {
            return self.run(req, true);
        }
        // In a fleet: interfaces named fleet-wide; and when another host's write got in
        // between this host's read and its write, read again and run the request again.
        let req = self.qualify(req);
        // What does not write the shared state needs no round trip to etcd (and works
        // while it is down): reads, this host's tracked flows and access keys, the seed.
        let op = req.operation();
        let local = ["Describe", "Get", "List", "Export", "Explain", "Observe"]
            .iter()
            .any(|p| op.starts_with(p))
            || matches!(
                op,
                "FlushConntrack" | "CreateAccessKey" | "DeleteAccessKey" | "SeedFleetStore"
            );
        if !local {
            self.ensure_current()?;
        } else if !self.follows_everything() {
            // A read may name a VPC this host does not follow: bring those up to date
            // first, or, while etcd is down, answer from the copy.
            if let Err(e) = self.ensure_current() {
                warn!(code = %e.code, "answering from this host's copy of the shared state");
            }
        }
        for _ in 1..fleet::ATTEMPTS {
            match self.run(&req, true) {
                Err(e) if e.code == fleet::CONFLICT => self.ensure_current()?,
                other => return other,
            }
        }
        self.run(&req, true).map_err(|e| {
            if e.code == fleet::CONFLICT {
                ApiError::new(
                    "RequestLimitExceeded",
                    "Other hosts kept changing the shared state; try again.",
                )
            } else {
                e
            }
        })
    }

    /// [`Self::execute`], committing the changed copy only if `commit`.
    fn run(&mut self, req: &Request, commit: bool) -> ApiResult<Output> {
        let mut next = self.state.clone();
        let ids = &mut RandomIds;
        let q = &self.quotas;
        let host = self.fleet.as_ref().map(|f| f.host.as_str());
        let out = match req {
            // Security groups and rules (`model`; rule counters in `groups`).
            Request::CreateSecurityGroup(r) => {
                output(ops::create_security_group(&mut next, ids, q, r))
            }
            Request::DeleteSecurityGroup(r) => output(ops::delete_security_group(&mut next, r)),
            Request::DescribeSecurityGroups(r) => {
                output(ops::describe_security_groups(&self.state, r))
            }
            Request::DescribeSecurityGroupRules(r) => output(self.describe_security_group_rules(r)),
            Request::AuthorizeSecurityGroupIngress(r) => {
                output(rules::authorize(&mut next, ids, q, r, false))
            }
            Request::AuthorizeSecurityGroupEgress(r) => {
                output(rules::authorize(&mut next, ids, q, r, true))
            }
            Request::RevokeSecurityGroupIngress(r) => output(rules::revoke(&mut next, r, false)),
            Request::RevokeSecurityGroupEgress(r) => output(rules::revoke(&mut next, r, true)),
            Request::ModifySecurityGroupRules(r) => output(rules::modify_rules(&mut next, q, r)),
            Request::UpdateSecurityGroupRuleDescriptionsIngress(r) => {
                output(rules::update_descriptions(&mut next, r, false))
            }
            Request::UpdateSecurityGroupRuleDescriptionsEgress(r) => {
                output(rules::update_descriptions(&mut next, r, true))
            }
            Request::ImportSecurityGroups(r) => output(import::import(&mut next, ids, q, r)),
            // VPCs and prefix lists (`model`).
            Request::CreateVpc(r) => output(vpcs::create_vpc(&mut next, ids, r)),
            Request::DescribeVpcs(r) => output(vpcs::describe_vpcs(&self.state, r)),
            Request::DeleteVpc(r) => output(vpcs::delete_vpc(&mut next, r)),
            Request::CreateDefaultVpc(_) => output(vpcs::create_default_vpc(&mut next, ids)),
            Request::CreateManagedPrefixList(r) => output(prefix_lists::create(&mut next, ids, r)),
            Request::ModifyManagedPrefixList(r) => output(prefix_lists::modify(&mut next, q, r)),
            Request::DeleteManagedPrefixList(r) => output(prefix_lists::delete(&mut next, r)),
            Request::DescribeManagedPrefixLists(r) => {
                output(prefix_lists::describe(&self.state, r))
            }
            Request::GetManagedPrefixListEntries(r) => {
                output(prefix_lists::entries(&self.state, r))
            }
            // Tags of groups, rules, prefix lists and VPCs (`model`).
            Request::CreateTags(r) => output(tags::create_tags(&mut next, r)),
            Request::DeleteTags(r) => output(tags::delete_tags(&mut next, r)),
            Request::DescribeTags(r) => output(tags::describe_tags(&self.state, r)),
            // Network interfaces (`interfaces`, or `model` where only the state changes).
            Request::CreateNetworkInterface(r) => {
                output(interfaces::create_network_interface(&mut next, q, r, host))
            }
            Request::DeleteNetworkInterface(r) => output(ops::delete_network_interface(
                &mut next,
                &r.network_interface_id,
            )),
            Request::ModifyNetworkInterfaceAttribute(r) => output(
                interfaces::modify_network_interface_attribute(&mut next, q, r, host),
            ),
            Request::AssignPrivateIpAddresses(r) => {
                output(ops::assign_private_addresses(&mut next, r, true))
            }
            Request::UnassignPrivateIpAddresses(r) => {
                output(ops::assign_private_addresses(&mut next, r, false))
            }
            Request::DescribeNetworkInterfaces(r) => output(self.describe_network_interfaces(r)),
            Request::ExportInterfaceRules(r) => output(self.export_interface_rules(r)),
            // Tracked flows (`conntrack`) and counters (`metrics`).
            Request::DescribeConntrack(r) => output(self.describe_conntrack(r)),
            Request::FlushConntrack(r) => output(self.flush_conntrack(r)),
            Request::GetMetrics(r) => output(Ok(self.get_metrics(r.prefix.as_deref()))),
            // The HTTP API's access keys (`keys`): the credentials file, not the state.
            Request::CreateAccessKey(r) => output(self.create_access_key(r)),
            Request::ListAccessKeys(_) => output(self.list_access_keys()),
            Request::DeleteAccessKey(r) => output(self.delete_access_key(r)),
            // The fleet (`fleet`).
            Request::DescribeHosts(_) => output(self.describe_hosts()),
            Request::SeedFleetStore(_) => output(self.seed_fleet_store()),
            // Why a packet is accepted or rejected (`explain`).
            Request::Explain(r) => output(self.explain(r).map(Box::new)),
            // A stream, which the server runs (`observe_start`); here only checked.
            Request::Observe(r) => crate::observe::check(r).map(|()| Output::None),
            // Flow logs (`model`; the files in `flow_logs`).
            Request::CreateFlowLogs(r) => {
                output(flow_logs::create(&mut next, ids, r, &self.flow_logs.dir))
            }
            Request::DescribeFlowLogs(r) => output(self.describe_flow_logs(r)),
            Request::DeleteFlowLogs(r) => output(crate::model::flow_logs::delete(&mut next, r)),
        }?;
        // A flow log goes with its resource.
        crate::model::flow_logs::prune(&mut next);
        if !commit {
            return Ok(out);
        }
        self.commit(next)?;
        // Flow logs made or removed, interfaces they cover added or gone: their windows
        // start (or end) now.
        self.flow_logs_follow();
        if let Request::CreateNetworkInterface(r) = req
            && let Some(created) = self.created_network_interface(r)
        {
            return Ok(created.into());
        }
        Ok(out)
    }

    /// Makes `next` the current state if it differs: enforced first, then stored. If either
    /// step fails the current state is enforced again and stays current, so a failed request
    /// changes neither the maps nor the store.
    fn commit(&mut self, next: State) -> ApiResult<()> {
        if next == self.state {
            return Ok(());
        }
        if self.fleet.is_some() {
            return self.commit_fleet(next);
        }
        let old = self.state.clone();
        let changed = |name: &str| old.interfaces.get(name) != next.interfaces.get(name);
        if let Err(e) = self.enforce(&next, &changed) {
            let _ = self.enforce(&old, &|_| false);
            return Err(e);
        }
        if let Err(e) = self.store.save(Some(&old), &next) {
            error!(error = %e, "saving state failed; change rolled back");
            let _ = self.enforce(&old, &|_| false);
            return Err(ApiError::internal(format!("saving the change failed: {e}")));
        }
        self.state = next;
        Ok(())
    }
}

/// An operation's typed result as the one [`Output`] the wires write.
fn output<T: Into<Output>>(result: ApiResult<T>) -> ApiResult<Output> {
    result.map(Into::into)
}
