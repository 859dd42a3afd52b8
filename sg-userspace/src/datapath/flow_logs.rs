//! What flow logs read of the datapath (see `crate::flowlog::window`): the decisions of the
//! rules aggregated per flow in `FLOW_AGG`, the live tracked flows with their counts by
//! direction, and how many flows `FLOW_AGG` took in per interface (`AGG_NEW`). Each CPU's
//! counts of its last flow not yet in `FLOW_AGG` (`AGG_CACHE`) are added to it.

use std::{
    collections::{HashMap, HashSet},
    time::UNIX_EPOCH,
};

use sg_common::{events::AggKey, maps as names};

use super::{Datapath, DatapathError, map_err};
use crate::flowlog::window::{AggIn, FlowIn};

/// One reading, of the devices asked for.
#[derive(Debug, Default)]
pub struct FlowLogReading {
    pub aggs: Vec<AggIn>,
    pub flows: Vec<FlowIn>,
    /// `AGG_NEW` by ifindex.
    pub inserted: HashMap<u32, u64>,
}

/// A time on the maps' clock in Unix seconds.
fn unix_s(ns: u64) -> u64 {
    Datapath::wall_time(ns)
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Datapath {
    /// The ifindex of each protected device of `devices`.
    pub fn ifindexes(&self, devices: &HashSet<String>) -> HashMap<u32, String> {
        self.attached
            .iter()
            .filter(|(d, _)| devices.contains(*d))
            .map(|(d, a)| (a.ifindex, d.clone()))
            .collect()
    }

    /// Bytes of link-layer header the programs count in each packet of a device (the
    /// programs count what their hook sees; flow logs count IP packets, as AWS does).
    pub fn link_header_len(&self, device: &str) -> u64 {
        match self.attached.get(device).map(|a| a.link) {
            Some(super::Link::Ethernet) => 14,
            _ => 0,
        }
    }

    /// Reads what flow logs need of the interfaces `ifindexes`.
    pub fn flow_log_reading(&self, ifindexes: &HashSet<u32>) -> FlowLogReading {
        let mut out = FlowLogReading::default();
        if ifindexes.is_empty() {
            return out;
        }
        // Read first: a flow taken in while the aggregates are read is then found before it
        // is counted, never counted and missed.
        for a in self.attached.values() {
            if ifindexes.contains(&a.ifindex) {
                let n = self
                    .agg_new
                    .get(&a.slot, 0)
                    .map(|v| v.iter().sum())
                    .unwrap_or(0);
                out.inserted.insert(a.ifindex, n);
            }
        }
        for (key, v) in self.flow_agg.iter().flatten() {
            if ifindexes.contains(&key.flow.ifindex) {
                out.aggs.push(AggIn {
                    key,
                    packets: v.packets,
                    bytes: v.bytes,
                    tcp_flags: v.log_flags,
                    first: unix_s(v.first_ns),
                    last: unix_s(v.last_ns),
                    first_ns: v.first_ns,
                    pending: false,
                });
            }
        }
        // What each CPU counted of its last flow and has not yet added to the entry.
        let pending = self
            .agg_cache
            .get(&0, 0)
            .map(|v| v.iter().copied().collect::<Vec<_>>());
        for c in pending.unwrap_or_default() {
            let p = &c.value;
            if c.valid == 0 || p.packets == 0 || !ifindexes.contains(&c.key.flow.ifindex) {
                continue;
            }
            match out.aggs.iter_mut().find(|a| a.key == c.key) {
                Some(a) => {
                    a.packets += p.packets;
                    a.bytes += p.bytes;
                    a.tcp_flags |= p.log_flags;
                    a.last = a.last.max(unix_s(p.last_ns));
                    a.pending = true;
                }
                // The LRU dropped the entry: what is pending is all there is.
                None => out.aggs.push(AggIn {
                    key: c.key,
                    packets: p.packets,
                    bytes: p.bytes,
                    tcp_flags: p.log_flags,
                    first: unix_s(p.first_ns),
                    last: unix_s(p.last_ns),
                    first_ns: p.first_ns,
                    pending: true,
                }),
            }
        }
        out.flows = self
            .conntrack_of(ifindexes)
            .into_iter()
            .map(|f| FlowIn {
                key: f.key,
                serial: f.value.serial,
                packets: f.value.packets,
                bytes: f.value.bytes,
                tcp_seen: [f.value.tcp[0].seen, f.value.tcp[1].seen],
                origin: f.value.origin,
                last: unix_s(f.value.last_seen_ns),
            })
            .collect();
        out
    }

    /// Removes `FLOW_AGG` entries read to the end (an entry gone already is no error).
    pub fn forget_flow_aggregates(&mut self, keys: &[AggKey]) -> Result<(), DatapathError> {
        for k in keys {
            match self.flow_agg.remove(k) {
                Ok(()) | Err(aya::maps::MapError::KeyNotFound) => {}
                Err(e) => return Err(map_err(names::FLOW_AGG)(e)),
            }
        }
        Ok(())
    }
}
