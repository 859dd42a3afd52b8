//! Counters and statistics: the per-rule counters (SG-ENF-12), harvested from the kernel map
//! and kept as running totals when a ruleset is freed, the per-interface counters by reason,
//! and the conversion of map timestamps to wall-clock time.

use std::{
    collections::HashMap,
    io,
    os::fd::{AsFd, AsRawFd},
};

use aya::maps::IterableMap;
use sg_common::{
    rule::{RuleHitKey, RuleHits},
    stats::NUM_REASONS,
};

use super::{
    Datapath, batch, monotonic_ns,
    rulesets::{Written, delete_batch},
};

/// Up to how many counter keys a ruleset's counters are read one lookup each, rather than by
/// a walk of the whole map.
const DIRECT_LOOKUPS: usize = 4096;

impl Datapath {
    /// The counters of a ruleset's entries, by rule id; `remove` deletes them from the map.
    pub(super) fn harvest(&mut self, w: &Written, remove: bool) -> HashMap<String, RuleHits> {
        let mut out: HashMap<String, RuleHits> = HashMap::new();
        if w.credits.is_empty() {
            return out;
        }
        let mut found: Vec<(RuleHitKey, RuleHits)> = Vec::new();
        let possible: usize = w.credits.values().map(Vec::len).sum();
        // A ruleset knows every key its counters can have. For a few, one lookup each; for
        // many, one batch read of the whole (per-CPU) counters map, which walks all of its
        // 65 536 buckets however few are used: the cost that dominated every ruleset swap
        // (each change of a fleet, on every host) when it was the only way.
        let read = if possible <= DIRECT_LOOKUPS {
            found = w
                .credits
                .iter()
                .flat_map(|(entry, elements)| {
                    elements.iter().map(|(element, _)| RuleHitKey {
                        entry: *entry,
                        element: *element,
                    })
                })
                .filter_map(|k| self.hits_of(k))
                .collect();
            Ok(())
        } else {
            self.harvest_all(w, &mut found)
        };
        if read.is_err() {
            // No batch operations on this map: one key at a time.
            found = self
                .rule_hits
                .keys()
                .flatten()
                .filter(|k| w.credits.contains_key(&k.entry))
                .filter_map(|k| self.hits_of(k))
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

    /// The counters of one key, summed over the CPUs (`None`: no hits yet).
    fn hits_of(&self, k: RuleHitKey) -> Option<(RuleHitKey, RuleHits)> {
        let per_cpu = self.rule_hits.get(&k, 0).ok()?;
        let mut sum = RuleHits::default();
        for h in per_cpu.iter() {
            add_hits(&mut sum, h);
        }
        Some((k, sum))
    }

    /// One batch read of the whole counters map, keeping the keys of `w`'s entries.
    fn harvest_all(&self, w: &Written, found: &mut Vec<(RuleHitKey, RuleHits)>) -> io::Result<()> {
        let fd = self.rule_hits.map().fd().as_fd().as_raw_fd();
        // The kernel writes a value per possible CPU: without that count, no batch read.
        let cpus = aya::util::nr_cpus()
            .map_err(|_| io::Error::other("the number of possible CPUs is unknown"))?;
        batch::for_each_chunk_per_cpu::<RuleHitKey, RuleHits>(fd, 4096, cpus, |keys, values| {
            for (i, k) in keys.iter().enumerate() {
                if w.credits.contains_key(&k.entry) {
                    let mut sum = RuleHits::default();
                    for h in &values[i * cpus..(i + 1) * cpus] {
                        add_hits(&mut sum, h);
                    }
                    found.push((*k, sum));
                }
            }
        })
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

    pub(super) fn reset_stats(&mut self, slot: u32) {
        let cpus = match aya::util::nr_cpus() {
            Ok(n) => n,
            Err(_) => return,
        };
        let zeros = || aya::maps::PerCpuValues::try_from(vec![0u64; cpus]).expect("non-empty");
        for reason in 0..NUM_REASONS {
            let _ = self.stats.set(slot * NUM_REASONS + reason, zeros(), 0);
        }
        let _ = self.audit_passed.set(slot, zeros(), 0);
    }

    /// Packets of an interface that its groups refused and that passed because it is in
    /// audit mode, summed over CPUs.
    pub fn audit_passed(&self, name: &str) -> Option<u64> {
        let a = self.attached.get(name)?;
        Some(
            self.audit_passed
                .get(&a.slot, 0)
                .map(|v| v.iter().sum())
                .unwrap_or(0),
        )
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
}

pub(super) fn add_hits(total: &mut RuleHits, h: &RuleHits) {
    total.packets += h.packets;
    total.bytes += h.bytes;
    total.last_ns = total.last_ns.max(h.last_ns);
}
