//! Load, pin, resume: loads the eBPF object and pins its maps under the pin directory
//! (mounting a bpf filesystem where there is none), reuses the maps a previous run pinned and
//! picks up its ids and counter slots, frees what that run wrote once nothing uses it, and
//! removes every pin (`sgd --cleanup`).

use std::{
    collections::HashMap,
    fs, io,
    path::{Path, PathBuf},
};

use aya::{
    Ebpf, EbpfLoader,
    maps::{Array, HashMap as BpfHashMap, LpmTrie, PerCpuArray, PerCpuHashMap},
    programs::{SchedClassifier, Xdp},
};
use sg_common::{
    SCHEMA_VERSION,
    conntrack::CtKey,
    iface::{AddrKey, FAST_IFINDEX},
    maps as names,
    rule::LARGE_SET,
};
use tracing::{info, warn};

use super::{
    Datapath, DatapathConfig, DatapathError, attach::Attached, flow_cache, hosts, iface_table,
    map_err, mapped, program, rulesets::delete_unless,
};
use crate::compiler::FastMap;

/// The TC programs: for Ethernet devices, and for devices whose packets start with the IP
/// header.
const TC_PROGRAMS: [&str; 4] = [
    names::PROG_TC_EGRESS,
    names::PROG_TC_INGRESS,
    names::PROG_TC_EGRESS_IP,
    names::PROG_TC_INGRESS_IP,
];

/// The eBPF object built by `build.rs`.
static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sg-ebpf"));

/// `statfs` type of a bpf filesystem.
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

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
        // The same for the budgets' counts.
        let recount =
            !pinned(names::CT_BUDGET) && (pinned(names::CT_TCP) || pinned(names::CT_OTHER));
        let mut loader = EbpfLoader::new();
        loader
            .map_max_entries(names::CT_TCP, cfg.ct_tcp_max)
            .map_max_entries(names::CT_OTHER, cfg.ct_other_max);
        for (name, path) in &map_pins {
            // Reuses the pinned map if there is one (tracked flows survive a restart), else
            // creates and pins it.
            loader.map_pin_path(name, path.as_path());
        }
        // The log level is a constant of the loaded programs: the verifier removes what it
        // disables. Debug logs every decision of one interface, if it exists now.
        let level = cfg.log.level();
        let debug_ifindex: u32 = match (&cfg.log, &cfg.log_interface) {
            (super::DatapathLog::Debug, Some(dev)) => nix::net::if_::if_nametoindex(dev.as_str())
                .unwrap_or_else(|_| {
                    warn!(device = %dev, "no such interface: no decision is logged");
                    0
                }),
            _ => 0,
        };
        loader
            .override_global(aya_log::LEVEL, &level, true)
            .override_global("SG_LOG_IFINDEX", &debug_ifindex, true);
        let mut ebpf = loader.load(EBPF_OBJECT)?;
        // Taken before the programs load: they refer to its ring buffer, which must stay open.
        let logger = match aya_log::EbpfLogger::init(&mut ebpf) {
            Ok(l) => Some(l),
            Err(e) => {
                warn!(error = %e, "the datapath's log cannot be read");
                None
            }
        };
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
        let audit_passed = PerCpuArray::try_from(take(names::AUDIT_PASSED)?)
            .map_err(map_err(names::AUDIT_PASSED))?;
        let flow_events = aya::maps::RingBuf::try_from(take(names::FLOW_EVENTS)?)
            .map_err(map_err(names::FLOW_EVENTS))?;
        let events_lost = PerCpuArray::try_from(take(names::EVENTS_LOST)?)
            .map_err(map_err(names::EVENTS_LOST))?;
        let flow_agg =
            BpfHashMap::try_from(take(names::FLOW_AGG)?).map_err(map_err(names::FLOW_AGG))?;
        let agg_new =
            PerCpuArray::try_from(take(names::AGG_NEW)?).map_err(map_err(names::AGG_NEW))?;
        let agg_cache =
            PerCpuArray::try_from(take(names::AGG_CACHE)?).map_err(map_err(names::AGG_CACHE))?;
        let ct_tcp = BpfHashMap::try_from(take(names::CT_TCP)?).map_err(map_err(names::CT_TCP))?;
        let ct_other =
            BpfHashMap::try_from(take(names::CT_OTHER)?).map_err(map_err(names::CT_OTHER))?;
        let rule_hits =
            PerCpuHashMap::try_from(take(names::RULE_HITS)?).map_err(map_err(names::RULE_HITS))?;
        let flow_cache = flow_cache::FlowCache::new(
            PerCpuArray::try_from(take(names::CT_CACHE)?).map_err(map_err(names::CT_CACHE))?,
            take(names::CT_FILTER)?,
            Array::try_from(take(names::CT_EPOCH)?).map_err(map_err(names::CT_EPOCH))?,
            take(names::CT_BUDGET)?,
        )?;
        if refilter {
            warn!("the conntrack filter was missing: counting the kept flows again");
            let keys: Vec<CtKey> = ct_tcp.keys().chain(ct_other.keys()).flatten().collect();
            flow_cache.count_all(keys.iter());
        }
        if recount {
            warn!("the conntrack budgets were missing: counting the kept flows again");
            for (map, tcp) in [(&ct_tcp, true), (&ct_other, false)] {
                for v in map.iter().flatten().map(|(_, v)| v) {
                    flow_cache.entered(&v, tcp);
                }
            }
        }
        flow_cache.set_budgets(cfg.budgets);
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
            audit_passed,
            watched: Default::default(),
            watch_all: false,
            flow_events: Some(flow_events),
            events_lost,
            flow_agg,
            agg_new,
            agg_cache,
            logger,
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
}

#[cfg(test)]
mod tests {
    use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
    use sg_common::maps as names;

    /// The programs an eBPF object defines: its functions outside `.text` (where the
    /// functions the programs call live), each in its program type's section.
    fn programs(elf: &[u8]) -> Vec<String> {
        let file = object::File::parse(elf).expect("an ELF object");
        let mut out: Vec<String> = file
            .symbols()
            .filter(|s| s.kind() == SymbolKind::Text && s.is_global() && s.is_definition())
            .filter(|s| {
                s.section_index()
                    .and_then(|i| file.section_by_index(i).ok())
                    .is_some_and(|sec| sec.name() != Ok(".text"))
            })
            .filter_map(|s| s.name().ok().map(str::to_owned))
            .collect();
        out.sort();
        out
    }

    /// sgd's object holds the programs it attaches (and the sweep and explain probes it
    /// runs), nothing else: the benchmarks' programs live in their own object (issue 13).
    #[test]
    fn sgd_object_holds_only_programs_it_uses() {
        let mut want: Vec<String> = [
            names::PROG_XDP,
            names::PROG_SWEEP,
            names::PROG_PROBE_ARRIVING,
            names::PROG_PROBE_LEAVING,
        ]
        .into_iter()
        .chain(super::TC_PROGRAMS)
        .map(str::to_owned)
        .collect();
        want.sort();
        assert_eq!(programs(super::EBPF_OBJECT), want);
    }
}
