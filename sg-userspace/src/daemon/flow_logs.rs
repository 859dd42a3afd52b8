//! Flow logs: this host's part. Each flow log covers the local interfaces of its resource;
//! every tick (a second or a few apart) the datapath's counters of the covered interfaces are
//! read into the flow logs' windows, and a window that is over is written to its file.
//!
//! Covered interfaces produce flow events (the decisions of the rules are aggregated in the
//! kernel); the others pay nothing. A window open when sgd stops is written then, cut short;
//! one open when sgd is killed is lost (the next sgd starts new windows).

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tracing::{info, warn};

use super::Core;
use crate::{
    flowlog::{
        file::{self, Rotation},
        format,
        window::{Deltas, InterfaceInfo, Sink, Traffic},
    },
    model::{ApiResult, FlowLog, IdSource, State, flow_logs as model},
    shapes::{CreateFlowLogs, CreateFlowLogsResult, DescribeFlowLogs, DescribeFlowLogsResult},
};

/// Ticks are this far apart at most; windows of 20 s or less are read every second.
const TICK: Duration = Duration::from_secs(5);
const SHORT_TICK: Duration = Duration::from_secs(1);

/// One flow log's window and how its last write went.
struct Open {
    sink: Sink,
    /// The flow log as last seen (its file and format outlive its deletion by one window).
    log: FlowLog,
    /// The interfaces it covered at the last tick.
    covered: HashSet<u32>,
    /// What records say of every interface it covered in this window (one gone since is
    /// still written).
    infos: HashMap<u32, InterfaceInfo>,
    /// Why the last window could not be written (`DeliverLogsErrorMessage`).
    failure: Option<String>,
}

/// The flow logs' state on this host.
pub(super) struct FlowLogs {
    deltas: Deltas,
    open: HashMap<String, Open>,
    /// The interfaces read at the last tick.
    covered: HashSet<u32>,
    /// Devices whose decisions flow logs need (events on).
    pub(super) devices: HashSet<String>,
    window_cap: Option<u64>,
    rotation: Rotation,
    /// Where flow logs may write.
    pub(super) dir: std::path::PathBuf,
    last_tick: Option<Instant>,
}

impl FlowLogs {
    pub(super) fn new(window_cap: Option<u64>, rotation: Rotation, dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            deltas: Deltas::default(),
            open: HashMap::new(),
            covered: HashSet::new(),
            devices: HashSet::new(),
            window_cap,
            rotation,
            last_tick: None,
        }
    }

    fn interval(&self, f: &FlowLog) -> u64 {
        let max = u64::from(f.max_aggregation_interval);
        self.window_cap.map_or(max, |c| c.min(max))
    }
}

/// Closes a flow log's window at `t`: the records of every interface it covered in it.
fn close(open: &mut Open, t: u64) -> Vec<crate::flowlog::format::Record> {
    let infos = std::mem::take(&mut open.infos);
    let all: HashSet<u32> = infos.keys().chain(&open.covered).copied().collect();
    let records = open.sink.close(t, &all, &|i| infos.get(&i).cloned());
    open.infos = infos
        .into_iter()
        .filter(|(i, _)| open.covered.contains(i))
        .collect();
    records
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `CreateFlowLogs`: the model's, with the destination checked on this host (inside
/// `dir`).
pub(super) fn create(
    next: &mut State,
    ids: &mut dyn IdSource,
    req: &CreateFlowLogs,
    dir: &Path,
) -> ApiResult<CreateFlowLogsResult> {
    let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    model::create(next, ids, req, &|p: &Path| file::check(p, dir), &now)
}

impl Core {
    /// `DescribeFlowLogs`, with how each one's last write went on this host.
    pub(super) fn describe_flow_logs(
        &self,
        req: &DescribeFlowLogs,
    ) -> ApiResult<DescribeFlowLogsResult> {
        let open = &self.flow_logs.open;
        model::describe(&self.state, req, &|id| {
            open.get(id).and_then(|o| o.failure.clone())
        })
    }

    /// Which of this host's devices each flow log covers.
    fn flow_log_devices(&self) -> HashMap<String, HashSet<String>> {
        let mut out: HashMap<String, HashSet<String>> = HashMap::new();
        for f in self.state.flow_logs.values() {
            let devices = out.entry(f.id.clone()).or_default();
            for iface in self.state.interfaces.values() {
                if let Some(dev) = self.local_device(&iface.id)
                    && model::covers(&self.state, f, iface)
                {
                    devices.insert(dev.to_owned());
                }
            }
        }
        out
    }

    /// After a change: if flow logs came or went, or the interfaces they cover changed,
    /// a tick now, so that new windows start (and ended ones are written) at once.
    pub(super) fn flow_logs_follow(&mut self) {
        let devices: HashSet<String> = self.flow_log_devices().into_values().flatten().collect();
        let same_logs = self.flow_logs.open.len() == self.state.flow_logs.len()
            && self
                .state
                .flow_logs
                .keys()
                .all(|id| self.flow_logs.open.contains_key(id));
        if !same_logs || devices != self.flow_logs.devices {
            self.flow_logs_tick(true);
        }
    }

    /// Reads the counters into the windows, and writes the windows that are over. Called
    /// every second (by the refresher); does its work when a tick is due, or at once with
    /// `now`.
    pub fn flow_logs_tick(&mut self, now: bool) {
        self.flow_logs_read(now, false);
    }

    /// Writes the windows of every flow log as they are, after a last reading (sgd is
    /// stopping).
    pub fn flow_logs_close(&mut self) {
        self.flow_logs_read(true, true);
    }

    /// A tick; with `closing`, every window is written, over or not.
    fn flow_logs_read(&mut self, now: bool, closing: bool) {
        if self.state.flow_logs.is_empty() && self.flow_logs.open.is_empty() {
            if !self.flow_logs.covered.is_empty() {
                // The last flow log is gone: a new one starts from a fresh baseline.
                self.flow_logs.covered.clear();
                self.flow_logs.deltas = Deltas::default();
            }
            return;
        }
        let shortest = self
            .state
            .flow_logs
            .values()
            .map(|f| self.flow_logs.interval(f))
            .min()
            .unwrap_or(600);
        let every = if shortest <= 20 { SHORT_TICK } else { TICK };
        let due = self
            .flow_logs
            .last_tick
            .is_none_or(|t| t.elapsed() + Duration::from_millis(100) >= every);
        if !due && !now {
            return;
        }
        self.flow_logs.last_tick = Some(Instant::now());
        let by_log = self.flow_log_devices();
        let devices: HashSet<String> = by_log.values().flatten().cloned().collect();
        if devices != self.flow_logs.devices {
            self.flow_logs.devices = devices.clone();
            // The covered interfaces' decisions are aggregated from now on.
            self.rewatch();
        }
        let mut names = self.datapath.ifindexes(&devices);
        // A deleted flow log's interfaces are read once more, for its last window.
        for (id, open) in &self.flow_logs.open {
            if !self.state.flow_logs.contains_key(id) {
                for i in &open.covered {
                    if let Some(dev) = self.datapath.device_of(*i) {
                        names.insert(*i, dev);
                    }
                }
            }
        }
        let ifindex_of: HashMap<&String, u32> = names.iter().map(|(i, d)| (d, *i)).collect();
        let covered: HashSet<u32> = names.keys().copied().collect();
        let fresh: HashSet<u32> = covered
            .difference(&self.flow_logs.covered)
            .copied()
            .collect();
        for gone in self.flow_logs.covered.difference(&covered) {
            self.flow_logs.deltas.forget(*gone);
        }
        let reading = self.datapath.flow_log_reading(&covered);
        let t = unix_now();
        let tick =
            self.flow_logs
                .deltas
                .tick(&reading.aggs, &reading.flows, &reading.inserted, t, &fresh);
        if let Err(e) = self.datapath.forget_flow_aggregates(&tick.stale) {
            warn!(error = %e, "removing read flow aggregates failed");
        }
        self.flow_logs.covered = covered;
        // The windows: new flow logs open one; each adds the tick; those over, and those of
        // deleted flow logs, are written.
        for (id, f) in &self.state.flow_logs {
            let covered: HashSet<u32> = by_log
                .get(id)
                .into_iter()
                .flatten()
                .filter_map(|d| ifindex_of.get(d).copied())
                .collect();
            let interval = self.flow_logs.interval(f);
            let traffic = Traffic::parse(&f.traffic_type).unwrap_or(Traffic::All);
            let open = self
                .flow_logs
                .open
                .entry(id.clone())
                .or_insert_with(|| Open {
                    sink: Sink::new(traffic, interval, t),
                    log: f.clone(),
                    covered: HashSet::new(),
                    infos: HashMap::new(),
                    failure: None,
                });
            open.log = f.clone();
            open.covered = covered;
        }
        let infos = self.flow_log_interfaces(&names);
        let mut writes = Vec::new();
        for (id, open) in &mut self.flow_logs.open {
            open.sink.add(&tick, &open.covered);
            for i in &open.covered {
                if let Some(info) = infos.get(i) {
                    open.infos.insert(*i, info.clone());
                }
            }
            let deleted = !self.state.flow_logs.contains_key(id);
            if deleted || closing || open.sink.due(t) {
                writes.push((id.clone(), close(open, t)));
            }
            if deleted {
                info!(flow_log = %id, "flow log deleted: its last window is written");
            }
        }
        for (id, records) in writes {
            self.write_window(&id, &records);
        }
        let state = &self.state;
        self.flow_logs
            .open
            .retain(|id, _| state.flow_logs.contains_key(id));
    }

    /// What records say of each interface of `names` (ifindex -> device).
    fn flow_log_interfaces(&self, names: &HashMap<u32, String>) -> HashMap<u32, InterfaceInfo> {
        let mut out = HashMap::new();
        for (ifindex, dev) in names {
            let id = match self.host_id() {
                Some(host) => crate::fleet::qualify(host, dev),
                None => dev.clone(),
            };
            let Some(iface) = self.state.interfaces.get(&id) else {
                continue;
            };
            let info = InterfaceInfo {
                interface_id: id.clone(),
                vpc_id: iface.vpc_id.clone(),
                account_id: self.state.owner_id.clone(),
                region: self.state.region.clone(),
                addresses: self.addrs.get(&id).cloned().unwrap_or_default(),
                link_header: self.datapath.link_header_len(dev),
            };
            out.insert(*ifindex, info);
        }
        out
    }

    /// Appends one window of flow log `id` to its file. A window that cannot be written is
    /// lost: the flow log shows `FAILED` and why, and its next window starts `SKIPDATA`.
    fn write_window(&mut self, id: &str, records: &[crate::flowlog::format::Record]) {
        let rotation = self.flow_logs.rotation;
        let Some(open) = self.flow_logs.open.get_mut(id) else {
            return;
        };
        let f = &open.log;
        let Ok(fmt) = format::parse(&f.format) else {
            return;
        };
        let lines: Vec<String> = records.iter().map(|r| fmt.render(r)).collect();
        match file::append(Path::new(&f.destination), &fmt.header(), &lines, rotation) {
            Ok(()) => open.failure = None,
            Err(e) => {
                if open.failure.is_none() {
                    warn!(flow_log = %id, destination = %f.destination, error = %e, "a flow-log window could not be written");
                }
                open.failure = Some(format!("Access error: {e}"));
                let covered = open.covered.clone();
                open.sink.skip(&covered);
            }
        }
    }
}
