//! Loads the eBPF datapath, pins its maps, attaches it to interfaces and is the one writer of
//! every map.
//!
//! Rule updates are atomic per interface: the new ruleset is written under fresh ruleset and
//! port-set ids, then one atomic store into the interface's `IFACE_INDEX` entry switches every
//! direction and family to it (see `iface_table`), and the old entries are freed later by
//! `reclaim`. A packet sees the old or the new ruleset, never a mix; a failed write leaves the
//! old ruleset in force.

mod batch;
mod flow_cache;
mod hosts;
mod iface_table;
mod link;
mod mapped;

pub use link::{Link, LinkError, link};

use std::{
    collections::HashMap,
    fs, io,
    net::IpAddr,
    os::fd::{AsFd, AsRawFd, RawFd},
    path::{Path, PathBuf},
};

use aya::{
    Ebpf, EbpfLoader,
    maps::{
        Array, HashMap as BpfHashMap, IterableMap, LpmTrie, MapData, MapError, PerCpuArray,
        PerCpuHashMap, lpm_trie::Key,
    },
    programs::{
        ProgramError, SchedClassifier, TcAttachType, TestRun, TestRunOptions, Xdp, XdpMode,
        links::{FdLink, PinnedLink},
        tc::SchedClassifierLink,
        xdp::XdpLink,
    },
};
use ipnet::IpNet;
use sg_common::{
    SCHEMA_VERSION,
    conntrack::{
        CLOCK_BASE_NS, CtKey, CtValue, SWEEP_BATCH, SWEEP_FRAME_LEN, SweepItem, ct_hash,
        filter_slot, timeout_s,
    },
    iface::{AddrKey, FAST_IFINDEX, IfaceCfg, MAX_IFACES, MODE_HOST, MODE_INSTANCE},
    maps as names,
    rule::{
        LARGE_SET, LpmV4, LpmV6, LpmValue, PortSet, PortSetSmall, RULESET_BITS, RuleHitKey,
        RuleHits, SMALL_RANGES, anywhere_bit, hosts_bit, prefixes_bit,
    },
    stats::NUM_REASONS,
};
use tracing::{info, warn};

use crate::{
    compiler::{CompileError, CompiledIface, FastMap},
    model::{AttachMode, Interface},
};

/// The eBPF object built by `build.rs`.
/// The TC programs: for Ethernet devices, and for devices whose packets start with the IP
/// header.
const TC_PROGRAMS: [&str; 4] = [
    names::PROG_TC_EGRESS,
    names::PROG_TC_INGRESS,
    names::PROG_TC_EGRESS_IP,
    names::PROG_TC_INGRESS_IP,
];

static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sg-ebpf"));

const BPF_FS_MAGIC: i64 = 0xcafe_4a11;
/// Map update flags.
const BPF_NOEXIST: u64 = 1;
const BPF_EXIST: u64 = 2;

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
    #[error("benchmark set-up failed: {0}")]
    Bench(String),
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

#[derive(Debug, Clone)]
pub struct DatapathConfig {
    /// Where the maps are pinned; `None` keeps them private to this process (tests).
    pub pin_dir: Option<PathBuf>,
    pub xdp_mode: XdpModeChoice,
    pub ct_tcp_max: u32,
    pub ct_other_max: u32,
}

/// Entries written for one compiled ruleset, kept so they can be freed after the switch.
#[derive(Default)]
struct Written {
    /// The interface the ruleset is for.
    iface: String,
    /// LPM entry id -> (element, index into `rule_ids`) credits.
    credits: HashMap<u32, Vec<(u32, u32)>>,
    rule_ids: Vec<String>,
    rulesets: [[u32; 2]; 2],
    open_to_all: u32,
    v4: Vec<Key<LpmV4>>,
    v6: Vec<Key<LpmV6>>,
    /// Single addresses: their slots in `HOSTS_V4`/`HOSTS_V6`.
    h4: Vec<u32>,
    h6: Vec<u32>,
    /// `IfaceCfg::lookups`.
    lookups: u32,
    port_sets: Vec<u32>,
}

struct Attached {
    ifindex: u32,
    slot: u32,
    compiled: CompiledIface,
    /// The interface as last applied (mode, timeouts, addresses, source/destination check).
    iface: Interface,
    written: Written,
    /// Keys written to `IFACE_ADDRS`.
    addrs: Vec<AddrKey>,
    /// The link of the arriving hook (XDP, or TC ingress).
    arriving: Option<OwnedLink>,
    /// Which hook that is (see [`Datapath::arriving_hook`]).
    arriving_hook: &'static str,
    tc: Option<OwnedLink>,
    /// How the device frames packets (SG-IF-6).
    link: Link,
}

/// A link this daemon owns, pinned when the daemon pins (so it outlives the daemon); dropped
/// and unpinned to detach.
struct OwnedLink {
    link: FdLink,
    pin: Option<PathBuf>,
}

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

/// Makes sure `dir`'s parent is on a bpf filesystem, mounting one there if not (as under
/// `ip netns exec`, which gives a fresh `/sys` without bpffs).
fn ensure_bpffs(dir: &Path) -> Result<(), DatapathError> {
    let parent = dir.parent().unwrap_or(dir);
    let err = |source| DatapathError::BpfFs {
        path: parent.to_owned(),
        source,
    };
    fs::create_dir_all(parent).map_err(err)?;
    let fs_type = nix::sys::statfs::statfs(parent)
        .map_err(|e| err(e.into()))?
        .filesystem_type();
    if fs_type.0 as i64 != BPF_FS_MAGIC {
        info!(path = %parent.display(), "mounting a bpf filesystem");
        nix::mount::mount(
            Some("bpf"),
            parent,
            Some("bpf"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .map_err(|e| err(e.into()))?;
    }
    Ok(())
}

impl Datapath {
    /// Loads the programs and maps and pins the maps under the pin directory, replacing any
    /// pins a previous run left there.
    pub fn load(cfg: DatapathConfig) -> Result<Self, DatapathError> {
        // Pins of this layout version live in <pin-dir>/v<N>/{maps,links}; others are removed.
        let layout = cfg
            .pin_dir
            .as_ref()
            .map(|d| d.join(format!("v{SCHEMA_VERSION}")));
        if let (Some(dir), Some(layout)) = (&cfg.pin_dir, &layout) {
            ensure_bpffs(dir)?;
            let pin_err = |source| DatapathError::BpfFs {
                path: dir.clone(),
                source,
            };
            fs::create_dir_all(dir).map_err(pin_err)?;
            for old in fs::read_dir(dir).map_err(pin_err)?.flatten() {
                if old.path() != *layout {
                    warn!(path = %old.path().display(), "removing pins of an incompatible layout");
                    fs::remove_dir_all(old.path()).map_err(pin_err)?;
                }
            }
            fs::create_dir_all(layout.join("maps")).map_err(pin_err)?;
            fs::create_dir_all(layout.join("links")).map_err(pin_err)?;
        }
        let map_pins: Vec<(&str, PathBuf)> = layout
            .iter()
            .flat_map(|l| names::ALL.iter().map(move |n| (*n, l.join("maps").join(n))))
            .collect();
        let reused = map_pins.iter().any(|(_, p)| p.exists());
        let pinned = |name: &str| map_pins.iter().any(|(n, p)| *n == name && p.exists());
        // Tables kept from a previous run whose filter is gone (a pin removed by hand): the
        // new filter must count their entries before anything relies on it.
        let refilter =
            !pinned(names::CT_FILTER) && (pinned(names::CT_TCP) || pinned(names::CT_OTHER));
        let mut loader = EbpfLoader::new();
        loader
            .map_max_entries(names::CT_TCP, cfg.ct_tcp_max)
            .map_max_entries(names::CT_OTHER, cfg.ct_other_max);
        for (name, path) in &map_pins {
            // Reuses the pinned map if there is one (tracked flows survive a restart), else
            // creates and pins it.
            loader.map_pin_path(name, path.as_path());
        }
        let mut ebpf = loader.load(EBPF_OBJECT)?;
        // How close each program comes to the verifier's limit of a million instructions:
        // the datapath walks near it, and a change that crosses it fails to load.
        let verified = |ebpf: &Ebpf, name: &str| {
            if let Some(count) = ebpf
                .program(name)
                .and_then(|p| p.info().ok())
                .and_then(|i| i.verified_instruction_count())
            {
                info!(
                    program = name,
                    verified_instructions = count,
                    "program verified"
                );
            }
        };
        program::<Xdp>(&mut ebpf, names::PROG_XDP)?.load()?;
        verified(&ebpf, names::PROG_XDP);
        for name in TC_PROGRAMS {
            program::<SchedClassifier>(&mut ebpf, name)?.load()?;
            verified(&ebpf, name);
        }
        let mut take = |name: &'static str| ebpf.take_map(name).ok_or(DatapathError::Missing(name));
        let ifaces = iface_table::IfaceTable {
            hash: BpfHashMap::try_from(take(names::IFACE_CFG)?)
                .map_err(map_err(names::IFACE_CFG))?,
            index: mapped::Mapped::owning(
                take(names::IFACE_INDEX)?,
                names::IFACE_INDEX,
                FAST_IFINDEX as usize,
            )?,
            entries: BpfHashMap::try_from(take(names::IFACE_ENTRY)?)
                .map_err(map_err(names::IFACE_ENTRY))?,
            cfgs: Array::try_from(take(names::IFACE_CFGS)?).map_err(map_err(names::IFACE_CFGS))?,
        };
        let iface_addrs =
            BpfHashMap::try_from(take(names::IFACE_ADDRS)?).map_err(map_err(names::IFACE_ADDRS))?;
        let rules_v4 =
            LpmTrie::try_from(take(names::RULES_V4)?).map_err(map_err(names::RULES_V4))?;
        let rules_v6 =
            LpmTrie::try_from(take(names::RULES_V6)?).map_err(map_err(names::RULES_V6))?;
        let hosts_v4 = hosts::HostTable::new(take(names::HOSTS_V4)?)?;
        let hosts_v6 = hosts::HostTable::new(take(names::HOSTS_V6)?)?;
        let port_sets =
            BpfHashMap::try_from(take(names::PORT_SETS)?).map_err(map_err(names::PORT_SETS))?;
        let port_sets_small = BpfHashMap::try_from(take(names::PORT_SETS_SMALL)?)
            .map_err(map_err(names::PORT_SETS_SMALL))?;
        let stats = PerCpuArray::try_from(take(names::STATS)?).map_err(map_err(names::STATS))?;
        let ct_tcp = BpfHashMap::try_from(take(names::CT_TCP)?).map_err(map_err(names::CT_TCP))?;
        let ct_other =
            BpfHashMap::try_from(take(names::CT_OTHER)?).map_err(map_err(names::CT_OTHER))?;
        let rule_hits =
            PerCpuHashMap::try_from(take(names::RULE_HITS)?).map_err(map_err(names::RULE_HITS))?;
        let flow_cache = flow_cache::FlowCache::new(
            PerCpuArray::try_from(take(names::CT_CACHE)?).map_err(map_err(names::CT_CACHE))?,
            take(names::CT_FILTER)?,
            Array::try_from(take(names::CT_EPOCH)?).map_err(map_err(names::CT_EPOCH))?,
        )?;
        if refilter {
            warn!("the conntrack filter was missing: counting the kept flows again");
            let keys: Vec<CtKey> = ct_tcp.keys().chain(ct_other.keys()).flatten().collect();
            flow_cache.count_all(keys.iter());
        }
        info!(pin_dir = ?cfg.pin_dir, reused, "datapath loaded");
        let links_dir = layout.map(|l| l.join("links"));
        Ok(Self {
            ebpf,
            cfg,
            ifaces,
            iface_addrs,
            rules_v4,
            rules_v6,
            hosts_v4,
            hosts_v6,
            port_sets,
            port_sets_small,
            stats,
            ct_tcp,
            ct_other,
            flow_cache,
            rule_hits,
            rule_totals: HashMap::new(),
            swept: 0,
            refilter,
            next_entry: 0,
            next_ruleset: 1,
            next_port_set: 1,
            attached: HashMap::new(),
            links_dir,
            previous: HashMap::new(),
            sweep_program: true,
            retired: Vec::new(),
            sweep_items: None,
            shared_sets: FastMap::default(),
            set_specs: FastMap::default(),
        }
        .resume())
    }

    /// Picks up where a previous run left reused maps: ids continue after the ones in use and
    /// interfaces keep their counter slots.
    fn resume(mut self) -> Self {
        self.previous = self.ifaces.all();
        // Rulesets in use, and any a crashed run wrote but never switched to (orphans must
        // never be mistaken for a new ruleset).
        let in_cfg = self
            .previous
            .values()
            .flat_map(|c| c.ruleset.iter().flatten().copied());
        let in_v4 = self.rules_v4.keys().flatten().map(|k| k.data().ruleset);
        let in_v6 = self.rules_v6.keys().flatten().map(|k| k.data().ruleset);
        let (h4, h6) = (self.hosts_v4.entries(), self.hosts_v6.entries());
        let in_h4 = h4.iter().map(|(_, k, _)| k.ruleset);
        let in_h6 = h6.iter().map(|(_, k, _)| k.ruleset);
        let max_ruleset = in_cfg
            .chain(in_v4)
            .chain(in_v6)
            .chain(in_h4)
            .chain(in_h6)
            .max();
        self.next_ruleset = max_ruleset.unwrap_or(0).wrapping_add(1).max(1);
        let large = self.port_sets.keys().flatten().map(|k| k & !LARGE_SET);
        let max_set = large.chain(self.port_sets_small.keys().flatten()).max();
        self.next_port_set = max_set.map_or(1, |m| (m + 1) % LARGE_SET).max(1);
        let v4 = self.rules_v4.iter().flatten().map(|(_, v)| v.entry);
        let v6 = self.rules_v6.iter().flatten().map(|(_, v)| v.entry);
        let h4 = h4.iter().map(|(_, _, v)| v.entry);
        let h6 = h6.iter().map(|(_, _, v)| v.entry);
        // Counters too: a packet in flight can leave one behind for an entry already freed.
        let hits = self.rule_hits.keys().flatten().map(|k| k.entry);
        self.next_entry = v4
            .chain(v6)
            .chain(h4)
            .chain(h6)
            .chain(hits)
            .max()
            .map_or(0, |e| e.wrapping_add(1));
        if !self.previous.is_empty() {
            info!(
                interfaces = self.previous.len(),
                "resuming from pinned maps"
            );
        }
        self
    }

    /// After the first enforcement following a restart: frees what the previous run wrote and
    /// nothing uses any more (its rulesets, port sets, addresses, counters, and the pinned
    /// links and configuration of interfaces no longer protected).
    pub fn collect_garbage(&mut self) {
        self.reclaim();
        if std::mem::take(&mut self.refilter) {
            // The previous run's programs, which counted into the lost filter, no longer run:
            // count every entry again. Entries counted twice only cost the filter precision;
            // one left uncounted could be taken for an unknown flow.
            let keys: Vec<CtKey> = self
                .ct_tcp
                .keys()
                .chain(self.ct_other.keys())
                .flatten()
                .collect();
            self.flow_cache.count_all(keys.iter());
        }
        let live: HashMap<u32, &Attached> =
            self.attached.values().map(|a| (a.ifindex, a)).collect();
        for (ifindex, _) in std::mem::take(&mut self.previous) {
            if !live.contains_key(&ifindex) {
                let _ = self.ifaces.remove(ifindex);
            }
        }
        let rulesets: std::collections::HashSet<u32> = live
            .values()
            .flat_map(|a| a.written.rulesets.iter().flatten().copied())
            .collect();
        let sets: std::collections::HashSet<u32> = live
            .values()
            .flat_map(|a| a.written.port_sets.iter().copied())
            .collect();
        let entries: std::collections::HashSet<u32> = live
            .values()
            .flat_map(|a| a.written.credits.keys().copied())
            .collect();
        let addrs: std::collections::HashSet<AddrKey> = live
            .values()
            .flat_map(|a| a.addrs.iter().copied())
            .collect();
        delete_unless(&mut self.rules_v4, |k| rulesets.contains(&k.data().ruleset));
        delete_unless(&mut self.rules_v6, |k| rulesets.contains(&k.data().ruleset));
        self.hosts_v4.remove_unless(|r| rulesets.contains(&r));
        self.hosts_v6.remove_unless(|r| rulesets.contains(&r));
        self.cool_hosts();
        delete_unless(&mut self.port_sets, |k| sets.contains(k));
        delete_unless(&mut self.port_sets_small, |k| sets.contains(k));
        delete_unless(&mut self.iface_addrs, |k| addrs.contains(k));
        delete_unless(&mut self.rule_hits, |k| entries.contains(&k.entry));
        if let Some(dir) = &self.links_dir {
            let wanted: Vec<&PathBuf> = self
                .attached
                .values()
                .flat_map(|a| [&a.arriving, &a.tc])
                .filter_map(|l| l.as_ref()?.pin.as_ref())
                .collect();
            for pin in fs::read_dir(dir).into_iter().flatten().flatten() {
                if !wanted.contains(&&pin.path()) {
                    info!(pin = %pin.path().display(), "detaching an interface no longer protected");
                    let _ = fs::remove_file(pin.path());
                }
            }
        }
    }

    /// Removes everything a daemon pinned under `pin_dir` (`sgd --cleanup`): the links go,
    /// so the programs detach, and the maps are freed.
    pub fn cleanup(pin_dir: &Path) -> io::Result<()> {
        match fs::remove_dir_all(pin_dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    pub fn is_attached(&self, iface: &str) -> bool {
        self.attached.contains_key(iface)
    }

    pub fn attached_ifaces(&self) -> Vec<String> {
        self.attached.keys().cloned().collect()
    }

    /// Brings an interface's datapath state to `compiled`: attaches it the first time,
    /// switches rulesets atomically afterwards, does nothing when nothing changed.
    pub fn apply(
        &mut self,
        iface: &Interface,
        compiled: &CompiledIface,
    ) -> Result<(), DatapathError> {
        let ifindex = nix::net::if_::if_nametoindex(iface.id.as_str())
            .map_err(|_| DatapathError::NoDevice(iface.id.clone()))?;
        if let Some(a) = self.attached.get(&iface.id) {
            if a.ifindex != ifindex {
                // The device was replaced by one with the same name: start afresh.
                self.remove(&iface.id)?;
            } else if a.compiled == *compiled && a.iface == *iface {
                return Ok(());
            }
        }
        let Some(a) = self.attached.get(&iface.id) else {
            return self.attach(iface, ifindex, compiled);
        };
        let (slot, old_addrs) = (a.slot, a.addrs.clone());
        let written = self.write(&iface.id, compiled)?;
        let addrs = match self.write_addrs(ifindex, iface, &old_addrs) {
            Ok(k) => k,
            Err(e) => {
                self.free(written);
                return Err(e);
            }
        };
        if let Err(e) = self.ifaces.set(ifindex, iface_cfg(&written, slot, iface)) {
            self.free(written);
            self.free_addrs(&addrs, &old_addrs);
            return Err(map_err(names::IFACE_CFG)(e));
        }
        let a = self.attached.get_mut(&iface.id).expect("present above");
        let old = std::mem::replace(&mut a.written, written);
        a.compiled = compiled.clone();
        a.iface = iface.clone();
        a.addrs = addrs.clone();
        // The old ruleset is unreachable from here on; freeing it (thousands of map deletes
        // for a large one) waits for `reclaim`, after the caller has answered.
        self.retired.push(old);
        self.free_addrs(&old_addrs, &addrs);
        Ok(())
    }

    fn attach(
        &mut self,
        iface: &Interface,
        ifindex: u32,
        compiled: &CompiledIface,
    ) -> Result<(), DatapathError> {
        // Never attach to a device whose packets the programs cannot parse.
        let link = link::link(&iface.id)?;
        let used: Vec<u32> = self.attached.values().map(|a| a.slot).collect();
        // An interface resumed from a previous run keeps its slot and its counters; others get
        // a slot no resumed interface still claims.
        let slot = match self.previous.get(&ifindex).map(|c| c.stats_slot) {
            Some(s) if s < MAX_IFACES && !used.contains(&s) => s,
            _ => {
                let claimed = |s: &u32| {
                    self.previous
                        .iter()
                        .any(|(i, c)| c.stats_slot == *s && *i != ifindex)
                };
                let s = (0..MAX_IFACES)
                    .find(|s| !used.contains(s) && !claimed(s))
                    .or_else(|| (0..MAX_IFACES).find(|s| !used.contains(s)))
                    .ok_or(DatapathError::NoSlot)?;
                // A previous run's interface still holding this slot (only when every slot
                // is taken) stops being protected now: its configuration positions are about
                // to be this interface's.
                let holders: Vec<u32> = self
                    .previous
                    .iter()
                    .filter(|(i, c)| c.stats_slot == s && **i != ifindex)
                    .map(|(i, _)| *i)
                    .collect();
                for i in holders {
                    warn!(
                        ifindex = i,
                        slot = s,
                        "giving a previous run's interface slot away"
                    );
                    let _ = self.ifaces.remove(i);
                    self.previous.remove(&i);
                }
                // Reset the slot's counters, which may hold a previous interface's figures.
                self.reset_stats(s);
                s
            }
        };
        let written = self.write(&iface.id, compiled)?;
        let addrs = match self.write_addrs(ifindex, iface, &[]) {
            Ok(k) => k,
            Err(e) => {
                self.free(written);
                return Err(e);
            }
        };
        let mut a = Attached {
            ifindex,
            slot,
            compiled: compiled.clone(),
            iface: iface.clone(),
            written,
            addrs,
            arriving: None,
            arriving_hook: "",
            tc: None,
            link,
        };
        if let Err(e) = self.ifaces.set(ifindex, iface_cfg(&a.written, slot, iface)) {
            self.teardown(a);
            return Err(map_err(names::IFACE_CFG)(e));
        }
        match self.attach_links(&iface.id, ifindex, &mut a) {
            Ok(()) => {
                info!(iface = %iface.id, ifindex, "protecting interface");
                self.attached.insert(iface.id.clone(), a);
                Ok(())
            }
            Err(e) => {
                self.teardown(a);
                Err(e)
            }
        }
    }

    /// Writes the address set of a host-mode interface with the source/destination check on;
    /// returns the keys now wanted (the caller frees `old` ones no longer wanted).
    fn write_addrs(
        &mut self,
        ifindex: u32,
        iface: &Interface,
        old: &[AddrKey],
    ) -> Result<Vec<AddrKey>, DatapathError> {
        let wanted: Vec<AddrKey> = if iface.mode == AttachMode::Host && iface.source_dest_check {
            iface
                .private_addresses
                .iter()
                .map(|a| addr_key(ifindex, *a))
                .collect()
        } else {
            Vec::new()
        };
        for (i, k) in wanted.iter().enumerate() {
            if old.contains(k) {
                continue;
            }
            if let Err(e) = self.iface_addrs.insert(k, 1, 0) {
                let written: Vec<AddrKey> = wanted[..i].to_vec();
                self.free_addrs(&written, old);
                return Err(map_err(names::IFACE_ADDRS)(e));
            }
        }
        Ok(wanted)
    }

    /// Removes the keys of `gone` that are not in `keep`.
    fn free_addrs(&mut self, gone: &[AddrKey], keep: &[AddrKey]) {
        for k in gone.iter().filter(|k| !keep.contains(k)) {
            let _ = self.iface_addrs.remove(k);
        }
    }

    /// Where an interface's link is pinned: by ifindex, so a pin is never reused for another
    /// device of the same name (and bpffs refuses the dots interface names may have).
    fn link_pin(&self, ifindex: u32, hook: &str) -> Option<PathBuf> {
        self.links_dir
            .as_ref()
            .map(|d| d.join(link_pin_name(ifindex, hook)))
    }

    /// Attaches both programs to an interface. A link pinned by a previous run for this
    /// interface is reused: its program is replaced atomically (no moment unprotected), and the
    /// interface keeps its tracked flows.
    fn attach_links(
        &mut self,
        name: &str,
        ifindex: u32,
        a: &mut Attached,
    ) -> Result<(), DatapathError> {
        let attach_err = |source| DatapathError::Attach {
            iface: name.to_owned(),
            source,
        };
        let (xdp_pin, tc_pin) = (self.link_pin(ifindex, "xdp"), self.link_pin(ifindex, "tc"));
        let tc_in_pin = self.link_pin(ifindex, "tcin");
        let xdp_mode = self.cfg.xdp_mode;
        // Devices whose packets start with the IP header get TC hooks whatever the mode: the
        // TC programs learn the family from the socket buffer's protocol.
        let use_tc = a.link == Link::Ip
            || match xdp_mode {
                XdpModeChoice::Tc => true,
                XdpModeChoice::Auto => !has_driver(name),
                XdpModeChoice::Native | XdpModeChoice::Skb => false,
            };
        let mut xdp_link = None;
        if !use_tc {
            let xdp = self.xdp_prog()?;
            let reused = pinned_link(&xdp_pin)
                .and_then(|l| XdpLink::try_from(l).ok())
                .and_then(|l| {
                    xdp.attach_to_link(l)
                        .map_err(|e| warn!(iface = name, error = %e, "a pinned XDP link could not be reused"))
                        .ok()
                });
            let id = match reused {
                // A pinned link keeps the mode it was first attached in.
                Some(id) => {
                    a.arriving_hook = "xdp";
                    Some(id)
                }
                None => {
                    let mode = match xdp_mode {
                        XdpModeChoice::Skb => XdpMode::Skb,
                        _ => XdpMode::Driver,
                    };
                    match xdp.attach_to_if_index(ifindex, mode) {
                        Ok(l) => {
                            a.arriving_hook = if mode == XdpMode::Skb {
                                "xdp-generic"
                            } else {
                                "xdp-native"
                            };
                            Some(l)
                        }
                        Err(e) if xdp_mode == XdpModeChoice::Auto => {
                            warn!(iface = name, error = %e, "native XDP failed; using TC ingress");
                            None
                        }
                        Err(e) => return Err(attach_err(e)),
                    }
                }
            };
            if let Some(id) = id {
                let link = xdp.take_link(id)?;
                // Kernels >= 5.9 attach XDP through links (fd-based, pinnable).
                let fd = FdLink::try_from(link).map_err(|source| DatapathError::Link {
                    iface: name.to_owned(),
                    source,
                })?;
                xdp_link = Some(own(fd, xdp_pin.clone())?);
            }
        }
        let arriving = match xdp_link {
            Some(l) => {
                // A previous run may have used TC ingress here: now XDP is in place, let go.
                unpin_link(&tc_in_pin, name);
                l
            }
            None => {
                let l = self.attach_tc(name, TcAttachType::Ingress, a.link, &tc_in_pin)?;
                a.arriving_hook = "tc-ingress";
                unpin_link(&xdp_pin, name);
                l
            }
        };
        a.arriving = Some(arriving);
        a.tc = Some(self.attach_tc(name, TcAttachType::Egress, a.link, &tc_pin)?);
        Ok(())
    }

    /// Attaches the TC program of `kind` (ingress or egress) through tcx, or swaps it into the
    /// link a previous run pinned at `pin`.
    fn attach_tc(
        &mut self,
        name: &str,
        kind: TcAttachType,
        link: Link,
        pin: &Option<PathBuf>,
    ) -> Result<OwnedLink, DatapathError> {
        let prog = match (kind == TcAttachType::Ingress, link) {
            (true, Link::Ethernet) => names::PROG_TC_INGRESS,
            (false, Link::Ethernet) => names::PROG_TC_EGRESS,
            (true, Link::Ip) => names::PROG_TC_INGRESS_IP,
            (false, Link::Ip) => names::PROG_TC_EGRESS_IP,
        };
        let tc: &mut SchedClassifier = program(&mut self.ebpf, prog)?;
        let reused = pinned_link(pin)
            .and_then(|l| SchedClassifierLink::try_from(l).ok())
            .and_then(|l| {
                tc.attach_to_link(l)
                    .map_err(
                        |e| warn!(iface = name, error = %e, "a pinned TC link could not be reused"),
                    )
                    .ok()
            });
        let id = match reused {
            Some(id) => id,
            None => tc
                .attach(name, kind)
                .map_err(|source| DatapathError::Attach {
                    iface: name.to_owned(),
                    source,
                })?,
        };
        let link = tc.take_link(id)?;
        let fd = FdLink::try_from(link).map_err(|source| DatapathError::Link {
            iface: name.to_owned(),
            source,
        })?;
        own(fd, pin.clone())
    }

    /// The hook that sees packets arriving on a protected interface: `xdp-native`,
    /// `xdp-generic`, `tc-ingress`, or `xdp` (a pinned XDP link taken over from a previous run,
    /// in the mode it was attached in).
    pub fn arriving_hook(&self, iface: &str) -> Option<&'static str> {
        self.attached.get(iface).map(|a| a.arriving_hook)
    }

    fn xdp_prog(&mut self) -> Result<&mut Xdp, DatapathError> {
        program(&mut self.ebpf, names::PROG_XDP)
    }

    /// Stops protecting an interface and frees everything written for it.
    pub fn remove(&mut self, name: &str) -> Result<(), DatapathError> {
        if let Some(a) = self.attached.remove(name) {
            info!(iface = name, "no longer protecting interface");
            self.teardown(a);
        }
        Ok(())
    }

    /// Detaches links and frees entries; keeps going on errors and logs each.
    fn teardown(&mut self, a: Attached) {
        for OwnedLink { link, pin } in [a.arriving, a.tc].into_iter().flatten() {
            if let Some(pin) = pin
                && let Err(e) = fs::remove_file(&pin)
            {
                warn!(error = %e, pin = %pin.display(), "unpinning a link failed");
            }
            drop(link);
        }
        if let Err(e) = self.ifaces.remove(a.ifindex) {
            warn!(error = %e, "removing interface configuration failed");
        }
        self.free(a.written);
        self.free_addrs(&a.addrs, &[]);
    }

    /// Writes a compiled ruleset under fresh ids. On failure, removes what it wrote.
    fn write(&mut self, iface: &str, compiled: &CompiledIface) -> Result<Written, DatapathError> {
        let mut w = Written {
            iface: iface.to_owned(),
            ..Written::default()
        };
        // Host ways whose grace period has passed are free again.
        self.cool_hosts();
        match self.write_into(compiled, &mut w) {
            Ok(()) => Ok(w),
            Err(e) => {
                self.free(w);
                Err(e)
            }
        }
    }

    fn write_into(
        &mut self,
        compiled: &CompiledIface,
        w: &mut Written,
    ) -> Result<(), DatapathError> {
        w.open_to_all = compiled.open_to_all;
        w.rule_ids = compiled.rule_ids.clone();
        let mut set_ids = Vec::with_capacity(compiled.port_sets.len());
        // Port sets never change once written, so identical ones are shared by every ruleset
        // of every interface: a rule change writes only the sets it changes, in one batch
        // per map.
        let mut small: Vec<(u32, &crate::compiler::PortSetSpec, PortSetSmall)> = Vec::new();
        let mut large: Vec<(u32, &crate::compiler::PortSetSpec, PortSet)> = Vec::new();
        let mut pending: FastMap<&crate::compiler::PortSetSpec, u32> = FastMap::default();
        for spec in &compiled.port_sets {
            let id = if let Some((id, users)) = self.shared_sets.get_mut(spec) {
                *users += 1;
                w.port_sets.push(*id);
                *id
            } else if let Some(id) = pending.get(spec) {
                *id
            } else {
                let n = self.next_port_set;
                self.next_port_set = (self.next_port_set + 1) % LARGE_SET;
                let id = if spec.ranges() <= SMALL_RANGES {
                    small.push((n, spec, *spec.to_kernel_sized::<SMALL_RANGES>()?));
                    n
                } else {
                    large.push((n | LARGE_SET, spec, *spec.to_kernel()?));
                    n | LARGE_SET
                };
                pending.insert(spec, id);
                id
            };
            set_ids.push(id);
        }
        let written = write_sets(&mut self.port_sets_small, &small);
        self.register_sets(
            w,
            &small[..written.as_ref().err().map_or(small.len(), |(i, _)| *i)],
        );
        written.map_err(|(_, e)| map_err(names::PORT_SETS_SMALL)(e))?;
        let written = write_sets(&mut self.port_sets, &large);
        self.register_sets(
            w,
            &large[..written.as_ref().err().map_or(large.len(), |(i, _)| *i)],
        );
        written.map_err(|(_, e)| map_err(names::PORT_SETS)(e))?;
        let mut classes: FastMap<&Vec<(u32, u32)>, u32> = FastMap::default();
        for (dir, per_fam) in compiled.tables.iter().enumerate() {
            for (fam, table) in per_fam.iter().enumerate() {
                if table.is_empty() {
                    // Ruleset 0: nothing allowed, no lookup needed.
                    continue;
                }
                let ruleset = self.next_ruleset;
                self.next_ruleset = self.next_ruleset.wrapping_add(1).max(1);
                w.rulesets[dir][fam] = ruleset;
                let (mut k4, mut v4, mut k6, mut v6) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                let (mut hk4, mut hv4, mut hk6, mut hv6) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for (i, (net, idx)) in table.iter().enumerate() {
                    // Entries that credit the same rules for the same elements share an id,
                    // the key of their counters: the members of a referenced group share
                    // one, so a new flow from any of them updates an existing counter rather
                    // than inserting one, and the counters map stays small.
                    let credits = &compiled.credits[dir][fam][i];
                    let entry = match classes.get(credits) {
                        Some(e) => *e,
                        None => {
                            let e = self.next_entry;
                            self.next_entry = self.next_entry.wrapping_add(1);
                            classes.insert(credits, e);
                            w.credits.insert(e, credits.clone());
                            e
                        }
                    };
                    let value = LpmValue {
                        port_set: set_ids[*idx],
                        entry,
                    };
                    let len = RULESET_BITS + net.prefix_len() as u32;
                    match net {
                        IpNet::V4(n) if n.prefix_len() == 32 => {
                            hk4.push(LpmV4 {
                                ruleset,
                                addr: n.addr().octets(),
                            });
                            hv4.push(value);
                        }
                        IpNet::V6(n) if n.prefix_len() == 128 => {
                            hk6.push(LpmV6 {
                                ruleset,
                                addr: n.addr().octets(),
                            });
                            hv6.push(value);
                        }
                        IpNet::V4(n) => {
                            k4.push(Key::new(
                                len,
                                LpmV4 {
                                    ruleset,
                                    addr: n.addr().octets(),
                                },
                            ));
                            v4.push(value);
                        }
                        IpNet::V6(n) => {
                            k6.push(Key::new(
                                len,
                                LpmV6 {
                                    ruleset,
                                    addr: n.addr().octets(),
                                },
                            ));
                            v6.push(value);
                        }
                    }
                }
                // Single addresses whose set in the host table is full go in the trie.
                let (before4, before6) = (w.h4.len(), w.h6.len());
                for (k, v) in hk4.iter().zip(&hv4) {
                    match self.hosts_v4.insert(k, *v) {
                        Some(slot) => w.h4.push(slot),
                        None => {
                            k4.push(Key::new(RULESET_BITS + 32, *k));
                            v4.push(*v);
                        }
                    }
                }
                for (k, v) in hk6.iter().zip(&hv6) {
                    match self.hosts_v6.insert(k, *v) {
                        Some(slot) => w.h6.push(slot),
                        None => {
                            k6.push(Key::new(RULESET_BITS + 128, *k));
                            v6.push(*v);
                        }
                    }
                }
                let (in_hash4, in_hash6) = (w.h4.len() - before4, w.h6.len() - before6);
                write_recorded(&mut self.rules_v4, &k4, &v4, &mut w.v4)
                    .map_err(|(_, e)| map_err(names::RULES_V4)(e))?;
                write_recorded(&mut self.rules_v6, &k6, &v6, &mut w.v6)
                    .map_err(|(_, e)| map_err(names::RULES_V6)(e))?;
                let dir = dir as u8;
                if in_hash4 > 0 || in_hash6 > 0 {
                    w.lookups |= hosts_bit(dir, fam);
                }
                if !k4.is_empty() || !k6.is_empty() {
                    w.lookups |= prefixes_bit(dir, fam);
                }
                if table.iter().any(|(net, _)| net.prefix_len() == 0) {
                    w.lookups |= anywhere_bit(dir, fam);
                }
            }
        }
        Ok(())
    }

    /// Frees the rulesets that `apply` switched away from: their entries, port sets and
    /// counters (moved into the running totals). Nothing reads them any more, so this can
    /// wait until the request that replaced them has been answered.
    pub fn reclaim(&mut self) {
        for w in std::mem::take(&mut self.retired) {
            self.free(w);
        }
        self.cool_hosts();
    }

    /// Frees the host ways whose grace period has passed and starts one for those emptied
    /// since (see `hosts`). Never blocks.
    fn cool_hosts(&mut self) {
        self.hosts_v4.cool();
        self.hosts_v6.cool();
    }

    /// Rulesets waiting for [`Datapath::reclaim`].
    pub fn retired(&self) -> usize {
        self.retired.len()
    }

    /// Frees a ruleset's entries, first moving its rule counters into the running totals.
    fn free(&mut self, w: Written) {
        for (rule, hits) in self.harvest(&w, true) {
            let t = self.rule_totals.entry((w.iface.clone(), rule)).or_default();
            add_hits(t, &hits);
        }
        delete_batch(&mut self.rules_v4, &w.v4);
        delete_batch(&mut self.rules_v6, &w.v6);
        self.hosts_v4.remove(&w.h4);
        self.hosts_v6.remove(&w.h6);
        let (mut small, mut large) = (Vec::new(), Vec::new());
        for id in &w.port_sets {
            let Some(spec) = self.set_specs.get(id) else {
                continue;
            };
            let users = self.shared_sets.get_mut(spec).map(|(_, u)| {
                *u -= 1;
                *u
            });
            if users == Some(0) {
                self.shared_sets.remove(spec);
                self.set_specs.remove(id);
                if id & LARGE_SET != 0 {
                    large.push(*id);
                } else {
                    small.push(*id);
                }
            }
        }
        delete_batch(&mut self.port_sets_small, &small);
        delete_batch(&mut self.port_sets, &large);
    }

    /// Records port sets just written: shared from now on, and used by `w`.
    fn register_sets<V>(
        &mut self,
        w: &mut Written,
        sets: &[(u32, &crate::compiler::PortSetSpec, V)],
    ) {
        for (id, spec, _) in sets {
            self.shared_sets.insert((*spec).clone(), (*id, 1));
            self.set_specs.insert(*id, (*spec).clone());
            w.port_sets.push(*id);
        }
    }

    /// The counters of a ruleset's entries, by rule id; `remove` deletes them from the map.
    fn harvest(&mut self, w: &Written, remove: bool) -> HashMap<String, RuleHits> {
        let mut out: HashMap<String, RuleHits> = HashMap::new();
        if w.credits.is_empty() {
            return out;
        }
        // One batch read of the whole (per-CPU) counters map rather than a system call per
        // key: the map holds up to 65 536 counters under traffic.
        let mut found: Vec<(RuleHitKey, RuleHits)> = Vec::new();
        let fd = self.rule_hits.map().fd().as_fd().as_raw_fd();
        // The kernel writes a value per possible CPU: without that count, no batch read.
        let read = match aya::util::nr_cpus() {
            Ok(cpus) => batch::for_each_chunk_per_cpu::<RuleHitKey, RuleHits>(
                fd,
                4096,
                cpus,
                |keys, values| {
                    for (i, k) in keys.iter().enumerate() {
                        if w.credits.contains_key(&k.entry) {
                            let mut sum = RuleHits::default();
                            for h in &values[i * cpus..(i + 1) * cpus] {
                                add_hits(&mut sum, h);
                            }
                            found.push((*k, sum));
                        }
                    }
                },
            ),
            Err(_) => Err(io::Error::other("the number of possible CPUs is unknown")),
        };
        if read.is_err() {
            // No batch operations on this map: one key at a time.
            found = self
                .rule_hits
                .keys()
                .flatten()
                .filter(|k| w.credits.contains_key(&k.entry))
                .filter_map(|k| {
                    let per_cpu = self.rule_hits.get(&k, 0).ok()?;
                    let mut sum = RuleHits::default();
                    for h in per_cpu.iter() {
                        add_hits(&mut sum, h);
                    }
                    Some((k, sum))
                })
                .collect();
        }
        for (k, sum) in &found {
            let credited = w.credits[&k.entry]
                .iter()
                .find(|(e, _)| *e == k.element)
                .map(|(_, r)| *r);
            if let Some(rule) = credited.and_then(|r| w.rule_ids.get(r as usize)) {
                add_hits(out.entry(rule.clone()).or_default(), sum);
            }
        }
        if remove {
            let keys: Vec<RuleHitKey> = found.iter().map(|(k, _)| *k).collect();
            delete_batch(&mut self.rule_hits, &keys);
        }
        out
    }

    /// Packets, bytes and last hit of the traffic each rule admitted on an interface
    /// (SG-ENF-12): new flows' first packets and every packet of untracked flows.
    pub fn rule_hits(&mut self, iface: &str) -> HashMap<String, RuleHits> {
        // Replaced rulesets' counters join the totals when they are freed.
        self.reclaim();
        let mut out: HashMap<String, RuleHits> = self
            .rule_totals
            .iter()
            .filter(|((i, _), _)| i == iface)
            .map(|((_, r), h)| (r.clone(), *h))
            .collect();
        let Some(a) = self.attached.remove(iface) else {
            return out;
        };
        for (rule, hits) in self.harvest(&a.written, false) {
            add_hits(out.entry(rule).or_default(), &hits);
        }
        self.attached.insert(iface.to_owned(), a);
        out
    }

    /// Converts a map timestamp to wall-clock time.
    pub fn wall_time(ns: u64) -> std::time::SystemTime {
        let ago = monotonic_ns().saturating_sub(ns);
        std::time::SystemTime::now() - std::time::Duration::from_nanos(ago)
    }

    fn reset_stats(&mut self, slot: u32) {
        let cpus = match aya::util::nr_cpus() {
            Ok(n) => n,
            Err(_) => return,
        };
        for reason in 0..NUM_REASONS {
            let zeros = aya::maps::PerCpuValues::try_from(vec![0u64; cpus]).expect("non-empty");
            let _ = self.stats.set(slot * NUM_REASONS + reason, zeros, 0);
        }
    }

    /// Counters of an interface by reason (see `sg_common::stats`), summed over CPUs.
    pub fn stats(&self, name: &str) -> Option<Vec<u64>> {
        let a = self.attached.get(name)?;
        Some(
            (0..NUM_REASONS)
                .map(|r| {
                    self.stats
                        .get(&(a.slot * NUM_REASONS + r), 0)
                        .map(|v| v.iter().sum())
                        .unwrap_or(0)
                })
                .collect(),
        )
    }

    /// Live tracked flows (idle less than their timeout, SG-ENF-7) of protected interfaces.
    pub fn conntrack(&self) -> Vec<Flow> {
        let now = monotonic_ns();
        let mut out: Vec<Flow> = Vec::new();
        for map in [&self.ct_tcp, &self.ct_other] {
            for (key, value) in map.iter().flatten() {
                let Some((iface, a)) = self.attached.iter().find(|(_, a)| a.ifindex == key.ifindex)
                else {
                    continue;
                };
                let cfg = iface_cfg(&a.written, a.slot, &a.iface);
                let timeout = timeout_s(&value, key.proto, key.family, &cfg) * 1_000_000_000;
                let idle = now.saturating_sub(value.last_seen_ns);
                if idle > timeout {
                    continue;
                }
                out.push(Flow {
                    iface: iface.clone(),
                    key,
                    value,
                    expires_in_s: (timeout - idle) / 1_000_000_000,
                });
            }
        }
        let pending = self.flow_cache.pending(out.iter().map(|f| &f.key));
        for f in &mut out {
            if let Some((packets, bytes)) = pending.get(&f.key) {
                f.value.packets += packets;
                f.value.bytes += bytes;
            }
        }
        out
    }

    /// The current time on the maps' clock (for [`Datapath::sweep`]).
    pub fn now() -> u64 {
        monotonic_ns()
    }

    /// Removes tracked flows idle past their timeout at `now` (the maps' clock, injectable so
    /// tests can sweep "5 days later"), and entries of interfaces no longer protected. Reads
    /// the tables with batch lookups; re-reads each candidate just before deleting it, so a
    /// flow that came back to life meanwhile is kept.
    pub fn sweep(&mut self, now: u64) -> SweepReport {
        let mut report = SweepReport::default();
        let cfgs: FastMap<u32, IfaceCfg> = self
            .attached
            .values()
            .map(|a| (a.ifindex, iface_cfg(&a.written, a.slot, &a.iface)))
            .collect();
        let expired = |k: &CtKey, v: &CtValue| match cfgs.get(&k.ifindex) {
            Some(cfg) => {
                now.saturating_sub(v.last_seen_ns)
                    > timeout_s(v, k.proto, k.family, cfg) * 1_000_000_000
            }
            None => true,
        };
        // The filter slots of the removed entries, taken from the filter after the walk.
        let mut gone: Vec<u32> = Vec::new();
        for tcp in [true, false] {
            // The table lives as long as `self`; the raw descriptor lets the walk and the
            // deletes (which need `self`) interleave, chunk by chunk.
            let fd = if tcp {
                self.ct_tcp.map().fd().as_fd().as_raw_fd()
            } else {
                self.ct_other.map().fd().as_fd().as_raw_fd()
            };
            let mut candidates: Vec<SweepItem> = Vec::new();
            let walk = batch::for_each_chunk::<CtKey, CtValue>(
                fd,
                SWEEP_BATCH as usize,
                |keys, values| {
                    report.examined += keys.len() as u64;
                    candidates.clear();
                    candidates.extend(keys.iter().zip(values).filter(|(k, v)| expired(k, v)).map(
                        |(k, v)| SweepItem {
                            key: *k,
                            removed: 0,
                            timeout_ns: match cfgs.get(&k.ifindex) {
                                Some(cfg) => timeout_s(v, k.proto, k.family, cfg) * 1_000_000_000,
                                None => 0,
                            },
                        },
                    ));
                    let removed = self.remove_candidates(tcp, &candidates, now, &mut gone);
                    if tcp {
                        report.removed_tcp += removed;
                    } else {
                        report.removed_other += removed;
                    }
                },
            );
            if let Err(e) = walk {
                warn!(error = %e, "reading the conntrack table failed");
            }
        }
        self.flow_cache.removed_slots(gone);
        self.swept += report.removed_tcp + report.removed_other;
        if report.removed_tcp + report.removed_other > 0 {
            // A removed flow was idle past its timeout, so no CPU holds a fresh copy of it,
            // unless `now` is in the future (tests): drop the copies anyway (their pending
            // counts are kept).
            self.flow_cache.invalidate();
        }
        report
    }

    /// Deletes the candidates (of `CT_TCP` if `tcp`, else `CT_OTHER`) still idle past their
    /// timeout at `now`, judged on the entry as it is when deleted, not as it was read: through
    /// the sweep program when it loads (one system call per `SWEEP_BATCH`), else one entry at
    /// a time (a re-read, then a delete). Returns how many were removed.
    pub fn remove_expired(&mut self, tcp: bool, candidates: &[SweepItem], now: u64) -> u64 {
        let mut gone = Vec::new();
        let removed = self.remove_candidates(tcp, candidates, now, &mut gone);
        self.flow_cache.removed_slots(gone);
        removed
    }

    /// [`Datapath::remove_expired`], leaving the filter to the caller: the filter slot of
    /// each removed entry goes into `gone`.
    fn remove_candidates(
        &mut self,
        tcp: bool,
        candidates: &[SweepItem],
        now: u64,
        gone: &mut Vec<u32>,
    ) -> u64 {
        let mut removed = 0;
        let mut done = 0;
        if self.sweep_program {
            for chunk in candidates.chunks(SWEEP_BATCH as usize) {
                match self.sweep_run(tcp, chunk, now, gone) {
                    Ok(n) => {
                        removed += n;
                        done += chunk.len();
                    }
                    Err(e) => {
                        warn!(error = %e, "the sweep program failed; sweeping entry by entry");
                        self.sweep_program = false;
                        break;
                    }
                }
            }
        }
        let map = if tcp {
            &mut self.ct_tcp
        } else {
            &mut self.ct_other
        };
        for c in &candidates[done..] {
            let still = map
                .get(&c.key, 0)
                .map(|cur| now.saturating_sub(cur.last_seen_ns) > c.timeout_ns)
                .unwrap_or(false);
            if still && map.remove(&c.key).is_ok() {
                gone.push(filter_slot(ct_hash(&c.key)));
                removed += 1;
            }
        }
        removed
    }

    /// One run of the sweep program over at most `SWEEP_BATCH` candidates; the filter slots
    /// of those it removed go into `gone`.
    fn sweep_run(
        &mut self,
        tcp: bool,
        items: &[SweepItem],
        now: u64,
        gone: &mut Vec<u32>,
    ) -> Result<u64, DatapathError> {
        let prog: &mut Xdp = program(&mut self.ebpf, names::PROG_SWEEP)?;
        if prog.fd().is_err() {
            prog.load()?;
        }
        if self.sweep_items.is_none() {
            let map = self
                .ebpf
                .map(names::SWEEP_ITEMS)
                .ok_or(DatapathError::Missing(names::SWEEP_ITEMS))?;
            self.sweep_items = Some(mapped::Mapped::of(
                map,
                names::SWEEP_ITEMS,
                SWEEP_BATCH as usize,
            )?);
        }
        self.sweep_items
            .as_mut()
            .expect("mapped above")
            .write(items);
        let mut frame = [0u8; SWEEP_FRAME_LEN];
        frame[..8].copy_from_slice(&now.to_ne_bytes());
        frame[8..12].copy_from_slice(&(items.len() as u32).to_ne_bytes());
        frame[12..16].copy_from_slice(&u32::from(!tcp).to_ne_bytes());
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(&frame);
        let prog: &mut Xdp = program(&mut self.ebpf, names::PROG_SWEEP)?;
        let r = prog.test_run(opts)?;
        // Whatever it returned, the program removed what it marked.
        let marked = self.sweep_items.as_ref().expect("mapped above");
        gone.extend(
            marked
                .values(items.len())
                .iter()
                .filter(|i| i.removed != 0)
                .map(|i| filter_slot(ct_hash(&i.key))),
        );
        if r.return_value != XDP_PASS {
            return Err(DatapathError::Sweep(r.return_value));
        }
        let out = self
            .ebpf
            .map(names::SWEEP_OUT)
            .ok_or(DatapathError::Missing(names::SWEEP_OUT))?;
        let out: Array<&MapData, u64> = Array::try_from(out).map_err(map_err(names::SWEEP_OUT))?;
        out.get(&0, 0).map_err(map_err(names::SWEEP_OUT))
    }

    /// Entries removed by sweeps since the datapath was loaded.
    pub fn swept(&self) -> u64 {
        self.swept
    }

    /// Conntrack allowance (SG-ENF-9): (entries in use, maximum) of the TCP and the other map.
    pub fn conntrack_usage(&self) -> [(u64, u64); 2] {
        [
            (
                self.ct_tcp.keys().flatten().count() as u64,
                self.cfg.ct_tcp_max as u64,
            ),
            (
                self.ct_other.keys().flatten().count() as u64,
                self.cfg.ct_other_max as u64,
            ),
        ]
    }

    /// Removes tracked flows; returns how many were removed.
    pub fn flush(&mut self, flows: &[Flow]) -> usize {
        let n = flows
            .iter()
            .filter(|f| {
                let map = if f.key.proto == 6 {
                    &mut self.ct_tcp
                } else {
                    &mut self.ct_other
                };
                let gone = map.remove(&f.key).is_ok();
                if gone {
                    self.flow_cache.removed(&f.key);
                }
                gone
            })
            .count();
        // No CPU may pass a flushed flow's next packet on its cached copy. A program that
        // found an entry just before its removal may still cache it: let every such run end
        // (a run takes microseconds), then invalidate every copy.
        if n > 0 {
            std::thread::sleep(std::time::Duration::from_millis(2));
            self.flow_cache.invalidate();
        }
        n
    }

    /// Runs one hook's program on a frame with BPF_PROG_TEST_RUN, as if it crossed interface
    /// `ifindex` (which must exist in this network namespace). Returns whether it passed and
    /// the kernel's average time per run. For tests and benchmarks; map state changes as for
    /// real traffic.
    pub fn test_run(
        &mut self,
        hook: Hook,
        ifindex: u32,
        frame: &[u8],
        repeat: u32,
    ) -> Result<TestRunOutcome, DatapathError> {
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        opts.repeat = repeat.max(1);
        let res = match hook {
            Hook::Xdp => {
                // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index,
                // egress_ifindex.
                let mut ctx = [0u8; 24];
                ctx[4..8].copy_from_slice(&(frame.len() as u32).to_ne_bytes());
                ctx[12..16].copy_from_slice(&ifindex.to_ne_bytes());
                opts.ctx_in = Some(&ctx);
                let r = self.xdp_prog()?.test_run(opts)?;
                (r.return_value == XDP_PASS, r.duration)
            }
            Hook::TcEgress | Hook::TcIngress => {
                // struct __sk_buff up to `ifindex` (offset 40); everything else zero.
                let mut ctx = [0u8; 44];
                ctx[40..44].copy_from_slice(&ifindex.to_ne_bytes());
                opts.ctx_in = Some(&ctx);
                let name = if hook == Hook::TcIngress {
                    names::PROG_TC_INGRESS
                } else {
                    names::PROG_TC_EGRESS
                };
                let prog: &mut SchedClassifier = program(&mut self.ebpf, name)?;
                let r = prog.test_run(opts)?;
                (r.return_value as i32 != TC_ACT_SHOT, r.duration)
            }
        };
        Ok(TestRunOutcome {
            pass: res.0,
            per_run: res.1,
        })
    }

    /// Makes every tracked flow look `by` older (its last packet earlier), so timeouts of up
    /// to 5 days can be tested without waiting (SG-ENF-6, SG-ENF-7).
    pub fn age_conntrack(&mut self, by: std::time::Duration) {
        let by = by.as_nanos() as u64;
        for map in [&mut self.ct_tcp, &mut self.ct_other] {
            let entries: Vec<(CtKey, CtValue)> = map.iter().flatten().collect();
            for (k, mut v) in entries {
                v.last_seen_ns = v.last_seen_ns.saturating_sub(by);
                let _ = map.insert(k, v, BPF_EXIST);
            }
        }
        self.flow_cache.invalidate();
    }

    /// Runs the pass-everything XDP program on a frame, `repeat` times: the baseline of the
    /// per-packet benchmarks. Loaded on first use.
    pub fn test_run_noop(
        &mut self,
        ifindex: u32,
        frame: &[u8],
        repeat: u32,
    ) -> Result<std::time::Duration, DatapathError> {
        Ok(self
            .test_run_bench(names::PROG_NOOP, ifindex, frame, repeat)?
            .0)
    }

    /// Runs one of the benchmark-only XDP programs (`sg_common::maps::PROG_*`) on a frame,
    /// `repeat` times; returns the kernel's time per run and the program's return value.
    /// Loaded on first use.
    pub fn test_run_bench(
        &mut self,
        name: &'static str,
        ifindex: u32,
        frame: &[u8],
        repeat: u32,
    ) -> Result<(std::time::Duration, u32), DatapathError> {
        let noop: &mut Xdp = program(&mut self.ebpf, name)?;
        if noop.fd().is_err() {
            noop.load()?;
        }
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        opts.repeat = repeat.max(1);
        let mut ctx = [0u8; 24];
        ctx[4..8].copy_from_slice(&(frame.len() as u32).to_ne_bytes());
        ctx[12..16].copy_from_slice(&ifindex.to_ne_bytes());
        opts.ctx_in = Some(&ctx);
        let r = noop.test_run(opts)?;
        Ok((r.duration, r.return_value))
    }

    /// Benchmarks: sends `frames` copies of `frame` into device `target` as live XDP frames
    /// (BPF_F_TEST_XDP_LIVE_FRAMES), `batch` at a time; returns the time it took.
    pub fn bench_flood(
        &mut self,
        target: u32,
        frame: &[u8],
        frames: u32,
        batch: u32,
    ) -> Result<std::time::Duration, DatapathError> {
        let mut tx = aya::maps::DevMap::try_from(
            self.ebpf
                .map_mut(names::BENCH_TX)
                .ok_or(DatapathError::Missing(names::BENCH_TX))?,
        )
        .map_err(map_err(names::BENCH_TX))?;
        tx.set(0, target, None, 0)
            .map_err(|e| DatapathError::Bench(e.to_string()))?;
        let generator: &mut Xdp = program(&mut self.ebpf, names::PROG_BENCH_REDIRECT)?;
        if generator.fd().is_err() {
            generator.load()?;
        }
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        opts.repeat = frames;
        opts.attrs = aya::programs::TestRunAttrs::new().xdp_live_frames(batch);
        let start = std::time::Instant::now();
        generator.test_run(opts)?;
        Ok(start.elapsed())
    }

    /// Benchmarks: attaches the counting drop-all program (`drop`) or the pass-everything one to
    /// an interface in native mode; the returned link detaches it when dropped.
    pub fn bench_attach(&mut self, ifname: &str, drop: bool) -> Result<FdLink, DatapathError> {
        let name = if drop {
            names::PROG_BENCH_DROP
        } else {
            names::PROG_NOOP
        };
        let drop: &mut Xdp = program(&mut self.ebpf, name)?;
        if drop.fd().is_err() {
            drop.load()?;
        }
        let id = drop
            .attach(ifname, XdpMode::Driver)
            .map_err(|source| DatapathError::Attach {
                iface: ifname.to_owned(),
                source,
            })?;
        let link = drop.take_link(id)?;
        FdLink::try_from(link).map_err(|source| DatapathError::Link {
            iface: ifname.to_owned(),
            source,
        })
    }

    /// Benchmarks: frames the drop-all program dropped.
    pub fn bench_drops(&self) -> u64 {
        let Some(map) = self.ebpf.map(names::BENCH_DROPS) else {
            return 0;
        };
        let Ok(arr) = PerCpuArray::<_, u64>::try_from(map) else {
            return 0;
        };
        arr.get(&0, 0).map(|v| v.iter().sum()).unwrap_or(0)
    }

    /// Inserts a tracked flow directly (benchmarks fill the table with it).
    pub fn insert_conntrack(&mut self, key: CtKey, value: CtValue) -> Result<(), DatapathError> {
        let map = if key.proto == 6 {
            &mut self.ct_tcp
        } else {
            &mut self.ct_other
        };
        let res = if map.insert(key, value, BPF_EXIST).is_ok() {
            Ok(())
        } else {
            self.flow_cache.adding(&key);
            let res = map.insert(key, value, BPF_NOEXIST);
            if res.is_err() {
                self.flow_cache.removed(&key);
            }
            res
        };
        self.flow_cache.invalidate();
        res.map_err(map_err(names::CT_TCP))
    }

    /// Whether the sweeper deletes through the sweep program (false once it failed to load
    /// or run: entry by entry from userspace).
    pub fn sweeps_in_kernel(&self) -> bool {
        self.sweep_program
    }

    /// Packets and bytes of each flow passed on the per-CPU flow cache and not yet added to
    /// its entry in the table (tests; [`Datapath::conntrack`] includes them).
    pub fn conntrack_pending(&self) -> HashMap<CtKey, (u64, u64)> {
        let keys: Vec<CtKey> = self
            .ct_tcp
            .keys()
            .chain(self.ct_other.keys())
            .flatten()
            .collect();
        self.flow_cache.pending(keys.iter())
    }

    /// The ruleset id the next ruleset written gets (tests: the first written by an apply is
    /// the inbound IPv4 one).
    pub fn next_ruleset(&self) -> u32 {
        self.next_ruleset
    }

    /// Host-table ways in use and ways waiting for a grace period, IPv4 then IPv6 (tests).
    pub fn host_ways(&self) -> [(usize, usize); 2] {
        [self.hosts_v4.usage(), self.hosts_v6.usage()]
    }

    /// Waits for the host tables' grace periods under way, freeing their ways (tests).
    pub fn settle_hosts(&mut self) {
        self.hosts_v4.settle();
        self.hosts_v6.settle();
    }

    /// The conntrack presence filter's count for `key`, and the sum of all its counts (tests).
    pub fn conntrack_filter(&self, key: &CtKey) -> (u64, u64) {
        (self.flow_cache.count(key), self.flow_cache.total())
    }

    /// Kernel memory of the TCP conntrack table, bytes (from the map's fdinfo `memlock`).
    pub fn conntrack_tcp_bytes(&self) -> Option<u64> {
        let fd = self.ct_tcp.map().fd().as_fd().as_raw_fd();
        let info = fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
        info.lines()
            .find_map(|l| l.strip_prefix("memlock:"))
            .and_then(|v| v.trim().parse().ok())
    }

    /// Forgets every tracked flow and fragment (tests).
    pub fn clear_conntrack(&mut self) {
        for map in [&mut self.ct_tcp, &mut self.ct_other] {
            let keys: Vec<CtKey> = map.keys().flatten().collect();
            for k in keys {
                if map.remove(&k).is_ok() {
                    self.flow_cache.removed(&k);
                }
            }
        }
        self.flow_cache.invalidate();
    }
}

fn program<'a, P>(ebpf: &'a mut Ebpf, name: &'static str) -> Result<&'a mut P, DatapathError>
where
    &'a mut P: TryFrom<&'a mut aya::programs::Program, Error = ProgramError>,
{
    Ok(ebpf
        .program_mut(name)
        .ok_or(DatapathError::Missing(name))?
        .try_into()?)
}

fn add_hits(total: &mut RuleHits, h: &RuleHits) {
    total.packets += h.packets;
    total.bytes += h.bytes;
    total.last_ns = total.last_ns.max(h.last_ns);
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub examined: u64,
    pub removed_tcp: u64,
    pub removed_other: u64,
}

/// Which program a packet runs through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// XDP: packets arriving on the interface.
    Xdp,
    /// TC ingress: packets arriving, where sgd does not use XDP.
    TcIngress,
    /// TC egress: packets leaving it.
    TcEgress,
}

/// What one `test_run` returned.
#[derive(Debug, Clone, Copy)]
pub struct TestRunOutcome {
    pub pass: bool,
    /// Average time of one run, as the kernel measured it.
    pub per_run: std::time::Duration,
}

const TC_ACT_SHOT: i32 = 2;
const XDP_PASS: u32 = 2;

fn link_pin_name(ifindex: u32, hook: &str) -> String {
    format!("if{ifindex}-{hook}")
}

/// The maps the writer fills and empties in batches: one `BPF_MAP_UPDATE_BATCH` /
/// `BPF_MAP_DELETE_BATCH` where the kernel supports it, else one entry at a time.
trait Batched<K: aya::Pod> {
    fn raw_fd(&self) -> RawFd;
    fn keys_now(&self) -> Vec<K>;
    fn remove_one(&mut self, k: &K);
}

/// Those that are written too.
trait Writable<K: aya::Pod, V: aya::Pod>: Batched<K> {
    fn insert_one(&mut self, k: &K, v: &V) -> Result<(), MapError>;
}

impl<K: aya::Pod, V: aya::Pod> Batched<K> for BpfHashMap<MapData, K, V> {
    fn raw_fd(&self) -> RawFd {
        self.map().fd().as_fd().as_raw_fd()
    }
    fn keys_now(&self) -> Vec<K> {
        self.keys().flatten().collect()
    }
    fn remove_one(&mut self, k: &K) {
        let _ = self.remove(k);
    }
}

impl<K: aya::Pod, V: aya::Pod> Writable<K, V> for BpfHashMap<MapData, K, V> {
    fn insert_one(&mut self, k: &K, v: &V) -> Result<(), MapError> {
        self.insert(k, v, 0)
    }
}

impl<K: aya::Pod> Batched<Key<K>> for LpmTrie<MapData, K, LpmValue> {
    fn raw_fd(&self) -> RawFd {
        self.map().fd().as_fd().as_raw_fd()
    }
    fn keys_now(&self) -> Vec<Key<K>> {
        self.keys().flatten().collect()
    }
    fn remove_one(&mut self, k: &Key<K>) {
        let _ = self.remove(k);
    }
}

impl<K: aya::Pod> Writable<Key<K>, LpmValue> for LpmTrie<MapData, K, LpmValue> {
    fn insert_one(&mut self, k: &Key<K>, v: &LpmValue) -> Result<(), MapError> {
        self.insert(k, v, 0)
    }
}

impl<K: aya::Pod, V: aya::Pod> Batched<K> for PerCpuHashMap<MapData, K, V> {
    fn raw_fd(&self) -> RawFd {
        self.map().fd().as_fd().as_raw_fd()
    }
    fn keys_now(&self) -> Vec<K> {
        self.keys().flatten().collect()
    }
    fn remove_one(&mut self, k: &K) {
        let _ = self.remove(k);
    }
}

/// Writes `keys`/`values`. On failure, `Err((i, e))`: the first `i` are written, and any of
/// the rest a refused batch may have written anyway (the kernel does not always say how
/// many) are removed again, so a write is always a prefix.
fn write_batch<K: aya::Pod, V: aya::Pod>(
    map: &mut impl Writable<K, V>,
    keys: &[K],
    values: &[V],
) -> Result<(), (usize, MapError)> {
    if batch::update(map.raw_fd(), keys, values).is_ok() {
        return Ok(());
    }
    for (i, (k, v)) in keys.iter().zip(values).enumerate() {
        if let Err(e) = map.insert_one(k, v) {
            delete_batch(map, &keys[i..]);
            return Err((i, e));
        }
    }
    Ok(())
}

/// [`write_batch`], recording in `done` what was written (so it can be freed).
fn write_recorded<K: aya::Pod, V: aya::Pod>(
    map: &mut impl Writable<K, V>,
    keys: &[K],
    values: &[V],
    done: &mut Vec<K>,
) -> Result<(), (usize, MapError)> {
    let r = write_batch(map, keys, values);
    done.extend_from_slice(&keys[..r.as_ref().err().map_or(keys.len(), |(i, _)| *i)]);
    r
}

fn delete_batch<K: aya::Pod>(map: &mut impl Batched<K>, keys: &[K]) {
    if batch::delete(map.raw_fd(), keys).is_err() {
        for k in keys {
            map.remove_one(k);
        }
    }
}

/// Writes new port sets, `(id, spec, value)` each.
fn write_sets<V: aya::Pod, S>(
    map: &mut BpfHashMap<MapData, u32, V>,
    sets: &[(u32, S, V)],
) -> Result<(), (usize, MapError)> {
    let keys: Vec<u32> = sets.iter().map(|(id, _, _)| *id).collect();
    let values: Vec<V> = sets.iter().map(|(_, _, v)| *v).collect();
    write_batch(map, &keys, &values)
}

/// Deletes every entry not to `keep` (garbage a previous run left).
fn delete_unless<K: aya::Pod>(map: &mut impl Batched<K>, keep: impl Fn(&K) -> bool) {
    let stale: Vec<K> = map.keys_now().into_iter().filter(|k| !keep(k)).collect();
    delete_batch(map, &stale);
}

/// Removes the pin of a link a previous run left at `pin`, if there is one: with the pin gone
/// and no descriptor open, the kernel detaches it.
fn unpin_link(pin: &Option<PathBuf>, iface: &str) {
    if let Some(p) = pin
        && p.exists()
    {
        info!(iface, pin = %p.display(), "detaching a link of another attach mode");
        if let Err(e) = fs::remove_file(p) {
            warn!(iface, error = %e, pin = %p.display(), "unpinning a link failed");
        }
    }
}

/// Opens a link pinned at `pin`, if there is one.
fn pinned_link(pin: &Option<PathBuf>) -> Option<FdLink> {
    let pin = pin.as_ref()?;
    match PinnedLink::from_pin(pin) {
        Ok(p) => Some(FdLink::from(p)),
        Err(_) => None,
    }
}

/// Takes ownership of a link, pinning it at `pin` (replacing a stale pin there).
fn own(link: FdLink, pin: Option<PathBuf>) -> Result<OwnedLink, DatapathError> {
    let Some(path) = pin else {
        return Ok(OwnedLink { link, pin: None });
    };
    if path.exists() {
        // The same link, already pinned (reused), or a stale one: pin the live link afresh.
        let _ = fs::remove_file(&path);
    }
    let pinned = link.pin(&path).map_err(|source| DatapathError::Pin {
        path: path.clone(),
        source,
    })?;
    Ok(OwnedLink {
        link: FdLink::from(pinned),
        pin: Some(path),
    })
}

/// A tracked flow as userspace reports it.
#[derive(Debug, Clone)]
pub struct Flow {
    pub iface: String,
    pub key: CtKey,
    pub value: CtValue,
    pub expires_in_s: u64,
}

/// `CLOCK_MONOTONIC_COARSE` (the clock of the datapath's `bpf_ktime_get_coarse_ns`) on the
/// maps' base.
fn monotonic_ns() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC_COARSE)
        .expect("CLOCK_MONOTONIC_COARSE");
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64 + CLOCK_BASE_NS
}

fn addr_key(ifindex: u32, a: IpAddr) -> AddrKey {
    let mut addr = [0u8; 16];
    let family = match a {
        IpAddr::V4(v4) => {
            addr[..4].copy_from_slice(&v4.octets());
            4
        }
        IpAddr::V6(v6) => {
            addr = v6.octets();
            6
        }
    };
    AddrKey {
        ifindex,
        family,
        _pad: [0; 3],
        addr,
    }
}

fn iface_cfg(w: &Written, slot: u32, iface: &Interface) -> IfaceCfg {
    let t = &iface.timeouts;
    IfaceCfg {
        ruleset: w.rulesets,
        mode: match iface.mode {
            AttachMode::Instance => MODE_INSTANCE,
            AttachMode::Host => MODE_HOST,
        },
        source_dest_check: u32::from(iface.mode == AttachMode::Host && iface.source_dest_check),
        stats_slot: slot,
        tcp_established_timeout: t.tcp_established,
        udp_timeout: t.udp,
        udp_stream_timeout: t.udp_stream,
        open_to_all: w.open_to_all,
        lookups: w.lookups,
    }
}

/// Whether the device has a driver (a physical NIC); virtual devices such as veth have none.
fn has_driver(name: &str) -> bool {
    Path::new("/sys/class/net")
        .join(name)
        .join("device")
        .exists()
}

/// Whether a network device of this name exists in this network namespace.
pub fn device_exists(name: &str) -> bool {
    nix::net::if_::if_nametoindex(name).is_ok()
}

/// Private addresses of a device (instance mode reads them from the device, SG-IF-5). IPv6
/// link-local addresses are left out: they are not what group references match.
pub fn device_addresses(name: &str) -> Vec<IpAddr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for a in addrs.filter(|a| a.interface_name == name) {
        let Some(addr) = a.address else { continue };
        if let Some(v4) = addr.as_sockaddr_in() {
            out.push(IpAddr::V4(v4.ip()));
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            let ip = v6.ip();
            if ip.segments()[0] & 0xffc0 != 0xfe80 {
                out.push(IpAddr::V6(ip));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
