//! The ruleset writer: writes a compiled ruleset under fresh ruleset, entry and port-set ids
//! (LPM tries for prefixes, the host tables for single addresses, port sets shared by content),
//! in batches where the kernel has them; frees replaced rulesets once `reclaim` runs, and the
//! host ways whose grace period has passed.

use std::{
    collections::HashMap,
    os::fd::{AsFd, AsRawFd, RawFd},
};

use aya::maps::{
    HashMap as BpfHashMap, IterableMap, LpmTrie, MapData, MapError, PerCpuHashMap, lpm_trie::Key,
};
use ipnet::IpNet;
use sg_common::{
    maps as names,
    rule::{
        LARGE_SET, LpmV4, LpmV6, LpmValue, PortSet, PortSetSmall, RULESET_BITS, SMALL_RANGES,
        anywhere_bit, hosts_bit, prefixes_bit,
    },
};

use super::{Datapath, DatapathError, batch, counters::add_hits, map_err};
use crate::compiler::{CompiledIface, FastMap};

/// Entries written for one compiled ruleset, kept so they can be freed after the switch.
#[derive(Default)]
pub(super) struct Written {
    /// The interface the ruleset is for.
    iface: String,
    /// LPM entry id -> (element, index into `rule_ids`) credits.
    pub(super) credits: HashMap<u32, Vec<(u32, u32)>>,
    pub(super) rule_ids: Vec<String>,
    pub(super) rulesets: [[u32; 2]; 2],
    pub(super) open_to_all: u32,
    v4: Vec<Key<LpmV4>>,
    v6: Vec<Key<LpmV6>>,
    /// Single addresses: their slots in `HOSTS_V4`/`HOSTS_V6`.
    h4: Vec<u32>,
    h6: Vec<u32>,
    /// `IfaceCfg::lookups`.
    pub(super) lookups: u32,
    pub(super) port_sets: Vec<u32>,
}

impl Datapath {
    /// Writes a compiled ruleset under fresh ids. On failure, removes what it wrote.
    pub(super) fn write(
        &mut self,
        iface: &str,
        compiled: &CompiledIface,
    ) -> Result<Written, DatapathError> {
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
    pub(super) fn cool_hosts(&mut self) {
        self.hosts_v4.cool();
        self.hosts_v6.cool();
    }

    /// Rulesets waiting for [`Datapath::reclaim`].
    pub fn retired(&self) -> usize {
        self.retired.len()
    }

    /// Frees a ruleset's entries, first moving its rule counters into the running totals.
    pub(super) fn free(&mut self, w: Written) {
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
}

/// The maps the writer fills and empties in batches: one `BPF_MAP_UPDATE_BATCH` /
/// `BPF_MAP_DELETE_BATCH` where the kernel supports it, else one entry at a time.
pub(super) trait Batched<K: aya::Pod> {
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

pub(super) fn delete_batch<K: aya::Pod>(map: &mut impl Batched<K>, keys: &[K]) {
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
pub(super) fn delete_unless<K: aya::Pod>(map: &mut impl Batched<K>, keep: impl Fn(&K) -> bool) {
    let stale: Vec<K> = map.keys_now().into_iter().filter(|k| !keep(k)).collect();
    delete_batch(map, &stale);
}
