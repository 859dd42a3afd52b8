//! sgd's side of the conntrack fast path (see `sg_common::conntrack::CtCacheEntry`): the
//! presence filter, which must count every entry sgd inserts and forget only those it
//! removed, the cache's epoch, which sgd bumps whenever it removes or rewrites entries so no
//! CPU passes a packet on a stale copy, and the counts the cache holds for the table.

use std::{
    collections::{BTreeSet, HashMap},
    sync::atomic::{AtomicU32, Ordering},
};

use aya::maps::{Array, MapData, PerCpuArray};
use sg_common::conntrack::{
    CT_FILTER_SLOTS, CT_FILTER_VALUES, CtCacheEntry, CtKey, CtValue, budget, cache_slot, ct_hash,
    filter_place, filter_slot,
};

use super::{DatapathError, mapped::Mapped};

pub(crate) struct FlowCache {
    pub(crate) cache: PerCpuArray<MapData, CtCacheEntry>,
    pub(crate) filter: Mapped<u64>,
    pub(crate) epoch: Array<MapData, u32>,
    /// `CT_BUDGET`: the budgets' counts and limits (`sg_common::conntrack::budget`).
    pub(crate) budget: Mapped<u64>,
}

impl FlowCache {
    pub(crate) fn new(
        cache: PerCpuArray<MapData, CtCacheEntry>,
        filter_map: aya::maps::Map,
        epoch: Array<MapData, u32>,
        budget_map: aya::maps::Map,
    ) -> Result<Self, DatapathError> {
        Ok(Self {
            cache,
            filter: Mapped::owning(
                filter_map,
                sg_common::maps::CT_FILTER,
                CT_FILTER_VALUES as usize,
            )?,
            epoch,
            budget: Mapped::owning(
                budget_map,
                sg_common::maps::CT_BUDGET,
                budget::VALUES as usize,
            )?,
        })
    }

    /// Writes the budgets' limits.
    pub(crate) fn set_budgets(&self, b: super::CtBudgets) {
        self.budget
            .store(budget::EMBRYONIC_MAX as usize, b.tcp_half_open.into());
        self.budget
            .store(budget::INBOUND_OTHER_MAX as usize, b.other_inbound.into());
    }

    /// (count, limit) of the half-open TCP budget and of the inbound budget of the other
    /// table.
    pub(crate) fn budgets(&self) -> [(u64, u64); 2] {
        let read = |i: u32| self.budget.load(i as usize);
        [
            (read(budget::EMBRYONIC), read(budget::EMBRYONIC_MAX)),
            (read(budget::INBOUND_OTHER), read(budget::INBOUND_OTHER_MAX)),
        ]
    }

    /// After inserting (or finding, when counting again) an entry of `CT_TCP` if `tcp`, else
    /// `CT_OTHER`: counts it in its budget, if any.
    pub(crate) fn entered(&self, v: &CtValue, tcp: bool) {
        if let Some(b) = budget::of(v, tcp) {
            self.budget
                .counter(b as usize)
                .fetch_add(1, Ordering::SeqCst);
        }
    }

    /// After removing an entry whose value was `v` (read just before): takes it from its
    /// budget, if any.
    pub(crate) fn left(&self, v: &CtValue, tcp: bool) {
        if let Some(b) = budget::of(v, tcp) {
            self.budget
                .counter(b as usize)
                .fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn counter(&self, key: &CtKey) -> &AtomicU32 {
        self.slot(filter_slot(ct_hash(key)))
    }

    fn slot(&self, slot: u32) -> &AtomicU32 {
        let (value, half) = filter_place(slot);
        self.filter.counter32(value as usize, half)
    }

    /// Before inserting a key not in the table.
    pub(crate) fn adding(&self, key: &CtKey) {
        self.counter(key).fetch_add(1, Ordering::SeqCst);
    }

    /// After removing an entry (never before: the filter must not undercount).
    pub(crate) fn removed(&self, key: &CtKey) {
        self.counter(key).fetch_sub(1, Ordering::SeqCst);
    }

    /// After removing entries whose filter slots are `slots`: takes them from the filter in
    /// slot order, so a mass sweep walks the filter once instead of missing the cache on
    /// every entry.
    pub(crate) fn removed_slots(&self, mut slots: Vec<u32>) {
        slots.sort_unstable();
        for run in slots.chunk_by(|a, b| a == b) {
            self.slot(run[0])
                .fetch_sub(run.len() as u32, Ordering::SeqCst);
        }
    }

    /// The filter's count at `key`'s slot.
    pub(crate) fn count(&self, key: &CtKey) -> u64 {
        self.counter(key).load(Ordering::SeqCst).into()
    }

    /// The sum of all counters (tests: equals the number of entries when nothing replaced an
    /// entry behind the filter's back).
    pub(crate) fn total(&self) -> u64 {
        (0..CT_FILTER_SLOTS)
            .map(|i| u64::from(self.slot(i).load(Ordering::Relaxed)))
            .sum()
    }

    /// Counts `keys` (again: only adds, so the filter never undercounts).
    pub(crate) fn count_all<'a>(&self, keys: impl Iterator<Item = &'a CtKey>) {
        for k in keys {
            self.adding(k);
        }
    }

    fn current_epoch(&self) -> u32 {
        self.epoch.get(&0, 0).unwrap_or(0)
    }

    /// Invalidates every cached flow on every CPU: after entries were removed or rewritten.
    pub(crate) fn invalidate(&mut self) {
        let next = self.current_epoch().wrapping_add(1);
        if let Err(e) = self.epoch.set(0, next, 0) {
            tracing::warn!(error = %e, "bumping the flow cache's epoch failed");
        }
    }

    /// Packets and bytes of these flows that passed on the cache and are not in their entries
    /// yet (summed over CPUs; whatever the epoch: the datapath adds them to the entry all the
    /// same). Reads only the flows' slots. Read after the table, a count the datapath moves in
    /// between is missing from that one listing.
    pub(crate) fn pending<'a>(
        &self,
        keys: impl Iterator<Item = &'a CtKey>,
    ) -> HashMap<CtKey, Pending> {
        let slots: BTreeSet<u32> = keys.map(|k| cache_slot(ct_hash(k))).collect();
        let mut out: HashMap<CtKey, Pending> = HashMap::new();
        for i in slots {
            let Ok(per_cpu) = self.cache.get(&i, 0) else {
                continue;
            };
            for e in per_cpu.iter() {
                if e.packets[0] | e.packets[1] != 0 {
                    let t = out.entry(e.key).or_default();
                    for d in 0..2 {
                        t.packets[d] += u64::from(e.packets[d]);
                        t.bytes[d] += u64::from(e.bytes[d]);
                    }
                }
            }
        }
        out
    }
}

/// Counts passed on the caches and not yet in the table, by direction (`sg_common::dir`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pending {
    pub(crate) packets: [u64; 2],
    pub(crate) bytes: [u64; 2],
}
