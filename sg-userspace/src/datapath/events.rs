//! Flow events (see `sg_common::events`): which interfaces produce them, and what one says.
//! The daemon takes the ring buffer once and reads it on its own task; the datapath keeps the
//! switch (`watch`) and the count of events lost.

use std::{
    collections::HashSet,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::SystemTime,
};

use aya::maps::{MapData, RingBuf};
use sg_common::{
    dir::INBOUND,
    events::FlowEvent,
    iface::{FLAG_EVENTS, IfaceCfg},
    maps as names,
    rule::RuleHitKey,
};

use super::{Datapath, DatapathError, attach::iface_cfg, map_err, rulesets::Written};
use crate::model::Interface;

/// One flow event, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedFlow {
    /// The interface, as the reader named its ifindex.
    pub interface: String,
    pub inbound: bool,
    /// The reason the datapath counted (`sg_common::stats`).
    pub reason: u32,
    /// Passed only because the interface is in audit mode.
    pub audit: bool,
    pub protocol: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TCP/UDP ports; ICMP echo: the identifier as `src_port` (or `dst_port` for the side
    /// that did not send the request); 0 otherwise.
    pub src_port: u16,
    pub dst_port: u16,
    pub packets: u64,
    pub bytes: u64,
    pub tcp_flags: u8,
    pub first: SystemTime,
    pub last: SystemTime,
}

fn addr(family: u8, b: [u8; 16]) -> IpAddr {
    if family == 4 {
        IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(b))
    }
}

impl ObservedFlow {
    /// Reads one ring-buffer record; `name` names the interface of an ifindex. `None`: not
    /// an event of this layout, or of an interface without a name.
    pub fn read(bytes: &[u8], name: impl FnOnce(u32) -> Option<String>) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<FlowEvent>() {
            return None;
        }
        // SAFETY: the record holds a whole `FlowEvent` (checked above), a plain-old-data
        // struct of integers; unaligned, so read it as such.
        let e: FlowEvent = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
        let k = &e.key.flow;
        let inbound = e.key.dir == INBOUND;
        let (local, remote) = (addr(k.family, k.local), addr(k.family, k.remote));
        let (src, dst, src_port, dst_port) = if inbound {
            (remote, local, k.remote_port, k.local_port)
        } else {
            (local, remote, k.local_port, k.remote_port)
        };
        let icmp = k.proto == 1 || k.proto == 58;
        Some(Self {
            interface: name(k.ifindex)?,
            inbound,
            reason: u32::from(e.key.reason),
            audit: e.key.audit != 0,
            protocol: k.proto,
            src,
            dst,
            // An echo flow's key holds the identifier and which side pings, not ports.
            src_port: if icmp { 0 } else { src_port },
            dst_port: if icmp { 0 } else { dst_port },
            packets: e.value.packets,
            bytes: e.value.bytes,
            tcp_flags: e.value.tcp_flags,
            first: Datapath::wall_time(e.value.first_ns),
            last: Datapath::wall_time(e.value.last_ns),
        })
    }
}

impl Datapath {
    /// The configuration to write for an interface: its rulesets and settings, and whether
    /// its flow events are wanted.
    pub(super) fn cfg_of(&self, w: &Written, slot: u32, iface: &Interface) -> IfaceCfg {
        let mut cfg = iface_cfg(w, slot, iface);
        // The interface whose decisions are logged at debug: they are logged where its flow
        // events are made.
        let debugged = self.cfg.log == super::DatapathLog::Debug
            && self.cfg.log_interface.as_deref() == Some(iface.id.as_str());
        if self.watch_all || self.watched.contains(&iface.id) || debugged {
            cfg.flags |= FLAG_EVENTS;
        }
        cfg
    }

    /// Makes exactly the devices of `wanted` (every device, with `all`) produce flow events;
    /// those not protected yet start when they are. Each switch is the usual atomic
    /// configuration switch.
    pub fn watch(&mut self, all: bool, wanted: HashSet<String>) -> Result<(), DatapathError> {
        let before = |d: &String| self.watch_all || self.watched.contains(d);
        let after = |d: &String| all || wanted.contains(d);
        let changed: Vec<String> = self
            .attached
            .keys()
            .filter(|d| before(d) != after(d))
            .cloned()
            .collect();
        self.watch_all = all;
        self.watched = wanted;
        for dev in changed {
            let a = &self.attached[&dev];
            let cfg = self.cfg_of(&a.written, a.slot, &a.iface);
            self.ifaces
                .set(a.ifindex, cfg)
                .map_err(map_err(names::IFACE_CFG))?;
        }
        Ok(())
    }

    /// The ring buffer of flow events, for the one reader that takes it.
    pub fn take_flow_events(&mut self) -> Option<RingBuf<MapData>> {
        self.flow_events.take()
    }

    /// The programs' log records, for the one reader that takes them.
    pub fn take_logger(&mut self) -> Option<aya_log::EbpfLogger<&'static dyn log::Log>> {
        self.logger.take()
    }

    /// Flow events the ring buffer had no room for, since the datapath was loaded.
    pub fn events_lost(&self) -> u64 {
        self.events_lost
            .get(&0, 0)
            .map(|v| v.iter().sum())
            .unwrap_or(0)
    }

    /// The device of an ifindex, if it is protected.
    pub fn device_of(&self, ifindex: u32) -> Option<String> {
        self.attached
            .iter()
            .find(|(_, a)| a.ifindex == ifindex)
            .map(|(d, _)| d.clone())
    }

    /// The ids of the rules credited with a rule-hit key on a device.
    pub fn rules_of(&self, device: &str, k: RuleHitKey) -> Vec<String> {
        let Some(a) = self.attached.get(device) else {
            return Vec::new();
        };
        a.written
            .credits
            .get(&k.entry)
            .into_iter()
            .flatten()
            .filter(|(element, _)| *element == k.element)
            .filter_map(|(_, rule)| a.written.rule_ids.get(*rule as usize).cloned())
            .collect()
    }
}
