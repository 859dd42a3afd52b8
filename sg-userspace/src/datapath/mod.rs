//! The eBPF datapath: loads the programs, pins the maps, attaches to interfaces, and is the one
//! writer of every map.
//!
//! Rule updates are atomic per interface: the new ruleset is written under fresh ruleset and
//! port-set ids, then one atomic store into the interface's `IFACE_INDEX` entry switches every
//! direction and family to it (see `iface_table`), and the old entries are freed later by
//! `reclaim`. A packet sees the old or the new ruleset, never a mix; a failed write leaves the
//! old ruleset in force.
//!
//! [`Datapath`] is one struct, its methods in one room per concern:
//!
//! - `load`: loading and pinning, resuming from a previous run's maps, freeing its garbage,
//!   `sgd --cleanup`.
//! - `attach`: bringing an interface to its compiled state, the XDP and TC links and their
//!   pins, host-mode address sets, removal; device queries ([`device_exists`],
//!   [`device_addresses`]).
//! - `rulesets`: the writer of rulesets, port sets and host-table entries, batch writes and
//!   deletes, freeing replaced rulesets (`reclaim`).
//! - `counters`: per-rule counters and per-interface counters by reason.
//! - `conntrack`: tracked flows: listing, flushing, the sweep and its kernel program.
//! - `testrun`: BPF_PROG_TEST_RUN of the hooks' programs, for tests and benchmarks.
//! - `probe`: explaining a verdict with the live maps (`sgctl explain`).
//! - `events` and `flow_logs`: flow events for `observe`, and what flow logs read.
//!
//! Below them: `iface_table` (interface configurations and the index the programs read),
//! `hosts` (the host tables), `flow_cache` (the conntrack fast path's filter and epoch),
//! `link` (link types), `batch` (batch map system calls), `mapped` (memory-mapped maps).
//! This file holds what the rooms share: the struct, its configuration and its errors.

mod attach;
mod batch;
mod conntrack;
mod counters;
mod events;
mod flow_cache;
mod flow_logs;
mod hosts;
mod iface_table;
mod link;
mod load;
mod mapped;
mod probe;
mod rulesets;
mod testrun;

pub use attach::{device_addresses, device_exists, device_mac};
pub use conntrack::{Flow, SweepReport};
pub use events::ObservedFlow;
pub use flow_logs::FlowLogReading;
pub use link::{Link, LinkError, link};
pub use probe::Probed;
pub use testrun::{Hook, TestRunOutcome};

use std::{collections::HashMap, io, path::PathBuf};

use aya::{
    Ebpf,
    maps::{HashMap as BpfHashMap, LpmTrie, MapData, MapError, PerCpuArray, PerCpuHashMap},
    programs::ProgramError,
};
use sg_common::{
    conntrack::{CLOCK_BASE_NS, CtKey, CtValue, SweepItem},
    iface::{AddrKey, IfaceCfg, MAX_IFACES},
    rule::{LpmV4, LpmV6, LpmValue, PortSet, PortSetSmall, RuleHitKey, RuleHits},
};

use self::{attach::Attached, rulesets::Written};
use crate::compiler::{CompileError, FastMap};

/// Why a datapath operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DatapathError {
    #[error("cannot prepare the bpf filesystem at {path}: {source}")]
    BpfFs {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("loading the eBPF datapath failed: {0}")]
    Load(#[from] aya::EbpfError),
    #[error("the eBPF object has no {0}")]
    Missing(&'static str),
    #[error("eBPF program error: {0}")]
    Program(#[from] ProgramError),
    #[error("map {map} update failed: {source}")]
    Map {
        map: &'static str,
        #[source]
        source: MapError,
    },
    #[error("pinning {path} failed: {source}")]
    Pin {
        path: PathBuf,
        #[source]
        source: aya::pin::PinError,
    },
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error("network interface {0} does not exist")]
    NoDevice(String),
    #[error(transparent)]
    LinkType(#[from] LinkError),
    #[error(
        "attaching to {iface} failed: {source}. If the driver has no native XDP, retry with --xdp-mode skb"
    )]
    Attach {
        iface: String,
        #[source]
        source: ProgramError,
    },
    #[error("the TC link of {iface} cannot be owned: {source}")]
    Link {
        iface: String,
        #[source]
        source: aya::programs::links::LinkError,
    },
    #[error("no free interface slot: at most {MAX_IFACES} interfaces can be protected")]
    NoSlot,
    #[error("mapping {map} into memory failed: {source}")]
    Mmap {
        map: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("the sweep program returned {0} instead of passing")]
    Sweep(u32),
}

fn map_err(map: &'static str) -> impl FnOnce(MapError) -> DatapathError {
    move |source| DatapathError::Map { map, source }
}

/// Which hook sees the packets arriving on an interface (TC egress always sees those
/// leaving it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum XdpModeChoice {
    /// Native (driver) XDP on devices with a driver; TC ingress on virtual devices such as
    /// veth, where native XDP disables GSO on the peer and generic XDP copies every socket
    /// buffer.
    Auto,
    /// Native (driver) XDP.
    Native,
    /// Generic (skb) XDP.
    Skb,
    /// TC ingress (tcx), no XDP.
    Tc,
}

/// How to load the datapath.
#[derive(Debug, Clone)]
pub struct DatapathConfig {
    /// Where the maps are pinned; `None` keeps them private to this process (tests).
    pub pin_dir: Option<PathBuf>,
    /// The hook for arriving packets.
    pub xdp_mode: XdpModeChoice,
    /// Entries the TCP conntrack table holds (SG-ENF-9).
    pub ct_tcp_max: u32,
    /// Entries the conntrack table of every other protocol holds (SG-ENF-9).
    pub ct_other_max: u32,
    /// Budgets within the tables (issue 17; 0: none): half-open TCP flows opened from
    /// outside, and flows of other protocols opened from outside. See [`CtBudgets`].
    pub budgets: CtBudgets,
    /// What the programs log (`sgd --datapath-log`).
    pub log: DatapathLog,
    /// At debug, the device whose every decision is logged.
    pub log_interface: Option<String>,
}

/// Budgets within the conntrack tables (issue 17): what floods from outside may take of
/// them. A limit of 0 is no budget.
///
/// - `tcp_half_open`: TCP flows opened by an inbound SYN whose handshake is not complete.
///   Past it, an inbound SYN the rules admit opens no entry: in instance mode it passes for
///   the instance to answer (with a SYN cookie once its listen queue is full) and the flow is
///   tracked from the client's ACK; in host mode it is refused (the allowance exceeded).
/// - `other_inbound`: flows of `CT_OTHER` (UDP, ICMP echo, other protocols) opened from
///   outside. Past it, new ones are refused; the rest of the table stays for the flows the
///   instance opens (its DNS lookups, its pings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtBudgets {
    pub tcp_half_open: u32,
    pub other_inbound: u32,
}

impl CtBudgets {
    /// The defaults for tables of these sizes: an eighth of the TCP table for half-open flows
    /// (32 768 of 262 144), three quarters of the other table for inbound flows.
    pub fn defaults(ct_tcp_max: u32, ct_other_max: u32) -> Self {
        Self {
            tcp_half_open: (ct_tcp_max / 8).max(1),
            other_inbound: (ct_other_max / 4 * 3).max(1),
        }
    }

    /// No budgets: floods take what the table has, as on AWS.
    pub const NONE: Self = Self {
        tcp_half_open: 0,
        other_inbound: 0,
    };
}

/// What the datapath logs into sgd's log (through aya-log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DatapathLog {
    Off,
    /// Only failures (none is logged by the programs today: their failures are counted).
    Error,
    /// Also rare conditions, each at most once a second per CPU: a full connection-tracking
    /// table refusing new flows, flow events lost.
    #[default]
    Warn,
    /// Also every decision of the rules on one interface (`--datapath-log-interface`): each
    /// packet they admit or refuse (not those of established flows). That interface
    /// produces flow events for it.
    Debug,
}

impl DatapathLog {
    /// aya-log's level number (`AYA_LOG_LEVEL`): statements above it are compiled out by
    /// the verifier.
    fn level(self) -> u8 {
        match self {
            Self::Off => 0,
            Self::Error => 1,
            Self::Warn => 2,
            Self::Debug => 4,
        }
    }
}

/// The loaded datapath: its programs and maps, and what has been written to them for each
/// protected interface. The daemon uses [`Datapath::load`], [`Datapath::apply`],
/// [`Datapath::remove`], [`Datapath::reclaim`] and [`Datapath::collect_garbage`] to enforce;
/// [`Datapath::stats`], [`Datapath::rule_hits`] and [`Datapath::conntrack`] to report;
/// [`Datapath::sweep`] and [`Datapath::flush`] to expire and remove flows.
pub struct Datapath {
    ebpf: Ebpf,
    cfg: DatapathConfig,
    ifaces: iface_table::IfaceTable,
    iface_addrs: BpfHashMap<MapData, AddrKey, u32>,
    rules_v4: LpmTrie<MapData, LpmV4, LpmValue>,
    rules_v6: LpmTrie<MapData, LpmV6, LpmValue>,
    hosts_v4: hosts::HostTable<hosts::V4>,
    hosts_v6: hosts::HostTable<hosts::V6>,
    port_sets: BpfHashMap<MapData, u32, PortSet>,
    port_sets_small: BpfHashMap<MapData, u32, PortSetSmall>,
    stats: PerCpuArray<MapData, u64>,
    /// Devices whose flow events someone wants (`events`).
    watched: std::collections::HashSet<String>,
    /// Every device's flow events are wanted.
    watch_all: bool,
    /// The flow events' ring buffer, until the daemon's reader takes it.
    flow_events: Option<aya::maps::RingBuf<MapData>>,
    events_lost: PerCpuArray<MapData, u64>,
    /// The decisions of the rules, per flow (`FLOW_AGG`), and per interface slot how many
    /// flows it took in (`AGG_NEW`): what flow logs read.
    flow_agg: BpfHashMap<MapData, sg_common::events::AggKey, sg_common::events::AggValue>,
    agg_new: PerCpuArray<MapData, u64>,
    agg_cache: PerCpuArray<MapData, sg_common::events::AggCacheEntry>,
    /// The programs' log records, until the daemon's reader takes them.
    logger: Option<aya_log::EbpfLogger<&'static dyn log::Log>>,
    /// Per interface slot: packets passed only by audit mode.
    audit_passed: PerCpuArray<MapData, u64>,
    ct_tcp: BpfHashMap<MapData, CtKey, CtValue>,
    ct_other: BpfHashMap<MapData, CtKey, CtValue>,
    /// The conntrack fast path's filter, epoch and pending counts.
    flow_cache: flow_cache::FlowCache,
    rule_hits: PerCpuHashMap<MapData, RuleHitKey, RuleHits>,
    /// Counters of rulesets already replaced, by (interface, rule id).
    rule_totals: HashMap<(String, String), RuleHits>,
    swept: u64,
    /// The filter was created afresh for kept tables: count them once more after the
    /// previous run's programs stop (see [`Datapath::collect_garbage`]).
    refilter: bool,
    next_entry: u32,
    next_ruleset: u32,
    next_port_set: u32,
    attached: HashMap<String, Attached>,
    /// Port sets in the map, shared by content: spec -> (id, rulesets using it).
    shared_sets: FastMap<crate::compiler::PortSetSpec, (u32, usize)>,
    set_specs: FastMap<u32, crate::compiler::PortSetSpec>,
    /// `<pin-dir>/v<N>/links` when pinning.
    links_dir: Option<PathBuf>,
    /// Interface configurations found in reused maps (a previous run's), by ifindex.
    previous: HashMap<u32, IfaceCfg>,
    /// Sweep through the sweep program (false once it failed: entry by entry).
    sweep_program: bool,
    /// Rulesets switched away from and not freed yet (see [`Datapath::reclaim`]).
    retired: Vec<Written>,
    /// The sweep program's candidates, mapped into memory on first use.
    sweep_items: Option<mapped::Mapped<SweepItem>>,
}

/// A program of the loaded object, as its type `P`.
fn program<'a, P>(ebpf: &'a mut Ebpf, name: &'static str) -> Result<&'a mut P, DatapathError>
where
    &'a mut P: TryFrom<&'a mut aya::programs::Program, Error = ProgramError>,
{
    Ok(ebpf
        .program_mut(name)
        .ok_or(DatapathError::Missing(name))?
        .try_into()?)
}

/// `XDP_PASS`, the verdict the XDP programs (and the sweep program) pass with.
const XDP_PASS: u32 = 2;

/// `CLOCK_MONOTONIC_COARSE` (the clock of the datapath's `bpf_ktime_get_coarse_ns`) on the
/// maps' base.
fn monotonic_ns() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC_COARSE)
        .expect("CLOCK_MONOTONIC_COARSE");
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64 + CLOCK_BASE_NS
}
