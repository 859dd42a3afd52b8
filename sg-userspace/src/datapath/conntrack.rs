//! Conntrack: lists the live tracked flows of protected interfaces, flushes flows, and sweeps
//! out those idle past their timeout (batch reads, then deletes through the sweep program, or
//! entry by entry where it fails), keeping the flow cache's filter in step. Also the helpers
//! tests and benchmarks use to fill, age, inspect and clear the tables.

use std::{
    collections::HashMap,
    fs,
    os::fd::{AsFd, AsRawFd},
};

use aya::{
    maps::{Array, IterableMap, MapData},
    programs::{TestRun, TestRunOptions, Xdp},
};
use sg_common::{
    conntrack::{
        CtKey, CtValue, SWEEP_BATCH, SWEEP_FRAME_LEN, SweepItem, ct_hash, filter_slot, timeout_s,
    },
    iface::IfaceCfg,
    maps as names,
};
use tracing::warn;

use super::{
    Datapath, DatapathError, XDP_PASS, attach::iface_cfg, batch, map_err, mapped, monotonic_ns,
    program,
};
use crate::compiler::FastMap;

/// Map update flags.
#[cfg(feature = "bench")]
const BPF_NOEXIST: u64 = 1;
const BPF_EXIST: u64 = 2;

impl Datapath {
    /// Live tracked flows (idle less than their timeout, SG-ENF-7) of protected interfaces.
    pub fn conntrack(&self) -> Vec<Flow> {
        self.conntrack_where(|_| true)
    }

    /// The live tracked flows of the interfaces `ifindexes`, with their pending counts.
    pub fn conntrack_of(&self, ifindexes: &std::collections::HashSet<u32>) -> Vec<Flow> {
        self.conntrack_where(|k| ifindexes.contains(&k.ifindex))
    }

    fn conntrack_where(&self, keep: impl Fn(&CtKey) -> bool) -> Vec<Flow> {
        let now = monotonic_ns();
        let mut out: Vec<Flow> = [&self.ct_tcp, &self.ct_other]
            .into_iter()
            .flat_map(|map| map.iter().flatten())
            .filter(|(key, _)| keep(key))
            .filter_map(|(key, value)| self.live(key, value, now))
            .collect();
        self.add_pending(&mut out);
        out
    }

    /// The live tracked flow of exactly `key`, if there is one (one lookup).
    pub fn flow(&self, key: &CtKey) -> Option<Flow> {
        let map = if key.proto == 6 {
            &self.ct_tcp
        } else {
            &self.ct_other
        };
        let value = map.get(key, 0).ok()?;
        let mut out: Vec<Flow> = self.live(*key, value, monotonic_ns()).into_iter().collect();
        self.add_pending(&mut out);
        out.pop()
    }

    /// An entry as a flow of a protected interface, if it is alive at `now` (idle less than
    /// its timeout, SG-ENF-7).
    fn live(&self, key: CtKey, value: CtValue, now: u64) -> Option<Flow> {
        let (iface, a) = self
            .attached
            .iter()
            .find(|(_, a)| a.ifindex == key.ifindex)?;
        let cfg = iface_cfg(&a.written, a.slot, &a.iface);
        let timeout = timeout_s(&value, key.proto, key.family, &cfg) * 1_000_000_000;
        let idle = now.saturating_sub(value.last_seen_ns);
        (idle <= timeout).then(|| Flow {
            iface: iface.clone(),
            key,
            value,
            expires_in_s: (timeout - idle) / 1_000_000_000,
        })
    }

    /// Adds to each flow what the flow caches passed and the table does not count yet.
    fn add_pending(&self, out: &mut [Flow]) {
        let pending = self.flow_cache.pending(out.iter().map(|f| &f.key));
        for f in out.iter_mut() {
            if let Some(p) = pending.get(&f.key) {
                for d in 0..2 {
                    f.value.packets[d] += p.packets[d];
                    f.value.bytes[d] += p.bytes[d];
                }
            }
        }
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
            let Ok(cur) = map.get(&c.key, 0) else {
                continue;
            };
            if now.saturating_sub(cur.last_seen_ns) > c.timeout_ns && map.remove(&c.key).is_ok() {
                gone.push(filter_slot(ct_hash(&c.key)));
                self.flow_cache.left(&cur, tcp);
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

    /// (count, limit) of the conntrack budgets (issue 17): half-open TCP flows opened from
    /// outside, and flows of the other table opened from outside.
    pub fn conntrack_budgets(&self) -> [(u64, u64); 2] {
        self.flow_cache.budgets()
    }

    /// Sets the conntrack budgets' limits (tests and benchmarks; sgd sets them at load).
    pub fn set_conntrack_budgets(&mut self, budgets: super::CtBudgets) {
        self.flow_cache.set_budgets(budgets);
    }

    /// Removes tracked flows; returns how many were removed.
    pub fn flush(&mut self, flows: &[Flow]) -> usize {
        let n = flows
            .iter()
            .filter(|f| {
                let tcp = f.key.proto == 6;
                let map = if tcp {
                    &mut self.ct_tcp
                } else {
                    &mut self.ct_other
                };
                let Ok(v) = map.get(&f.key, 0) else {
                    return false;
                };
                let gone = map.remove(&f.key).is_ok();
                if gone {
                    self.flow_cache.removed(&f.key);
                    self.flow_cache.left(&v, tcp);
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

    /// Inserts a tracked flow directly (benchmarks fill the table with it).
    #[cfg(feature = "bench")]
    pub fn insert_conntrack(&mut self, key: CtKey, value: CtValue) -> Result<(), DatapathError> {
        let map = if key.proto == 6 {
            &mut self.ct_tcp
        } else {
            &mut self.ct_other
        };
        let tcp = key.proto == 6;
        let old = map.get(&key, 0).ok();
        let res = if map.insert(key, value, BPF_EXIST).is_ok() {
            if let Some(old) = old {
                self.flow_cache.left(&old, tcp);
            }
            self.flow_cache.entered(&value, tcp);
            Ok(())
        } else {
            self.flow_cache.adding(&key);
            let res = map.insert(key, value, BPF_NOEXIST);
            if res.is_err() {
                self.flow_cache.removed(&key);
            } else {
                self.flow_cache.entered(&value, tcp);
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
    /// its entry in the table, both directions together (tests; [`Datapath::conntrack`]
    /// includes them, by direction).
    pub fn conntrack_pending(&self) -> HashMap<CtKey, (u64, u64)> {
        let keys: Vec<CtKey> = self
            .ct_tcp
            .keys()
            .chain(self.ct_other.keys())
            .flatten()
            .collect();
        self.flow_cache
            .pending(keys.iter())
            .into_iter()
            .map(|(k, p)| (k, (p.packets[0] + p.packets[1], p.bytes[0] + p.bytes[1])))
            .collect()
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
        for (map, tcp) in [(&mut self.ct_tcp, true), (&mut self.ct_other, false)] {
            let entries: Vec<(CtKey, CtValue)> = map.iter().flatten().collect();
            for (k, v) in entries {
                if map.remove(&k).is_ok() {
                    self.flow_cache.removed(&k);
                    self.flow_cache.left(&v, tcp);
                }
            }
        }
        self.flow_cache.invalidate();
    }
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub examined: u64,
    pub removed_tcp: u64,
    pub removed_other: u64,
}

/// A tracked flow as userspace reports it.
#[derive(Debug, Clone)]
pub struct Flow {
    pub iface: String,
    pub key: CtKey,
    pub value: CtValue,
    pub expires_in_s: u64,
}
