//! Flow events (issue 16): what the datapath tells userspace about its decisions, for
//! `sgctl observe` and flow logs. Only interfaces with [`crate::iface::FLAG_EVENTS`] set
//! produce them, and only for packets the rules judged (a new flow's first packet, every
//! packet of an untracked flow, every refused packet): established flows pass without one.
//!
//! A flood cannot become one event per packet: the decisions of each flow (per interface,
//! direction and reason) are aggregated in `FLOW_AGG`, an LRU hash, and a flow is reported
//! when it first appears and then at most once per [`EVENT_INTERVAL_NS`]. The counters there
//! are what flow logs read at the end of each capture window.

use crate::conntrack::CtKey;

/// A flow reports again after this long (of its packets still arriving).
pub const EVENT_INTERVAL_NS: u64 = 1_000_000_000;

/// Entries of `FLOW_AGG` (LRU: the oldest flows make room for new ones).
pub const FLOW_AGG_ENTRIES: u32 = 1 << 16;

/// Bytes of the `FLOW_EVENTS` ring buffer (a power of two, a multiple of the page size).
pub const FLOW_EVENTS_BYTES: u32 = 1 << 20;

/// Key of `FLOW_AGG`: the flow as connection tracking keys it (the instance's point of
/// view), the direction of the packets and why they were passed or dropped.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AggKey {
    pub flow: CtKey,
    /// `crate::dir`.
    pub dir: u8,
    /// `crate::stats` reason (`PASS_RULE`, `DROP_*`).
    pub reason: u8,
    /// 1: passed only because the interface is in audit mode.
    pub audit: u8,
    pub _pad: u8,
}
const _: () = assert!(core::mem::size_of::<AggKey>() == 48);

/// Value of `FLOW_AGG`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AggValue {
    /// Clock of the maps (`bpf_ktime_get_coarse_ns` + `CLOCK_BASE_NS`).
    pub first_ns: u64,
    pub last_ns: u64,
    /// When the flow last sent an event.
    pub reported_ns: u64,
    pub packets: u64,
    pub bytes: u64,
    /// TCP flags seen, OR-ed.
    pub tcp_flags: u8,
    /// The same as flow logs record them (`crate::tcp::flow_log_flags` of each packet,
    /// OR-ed: a SYN-ACK only where one packet was one).
    pub log_flags: u8,
    pub _pad: [u8; 6],
}
const _: () = assert!(core::mem::size_of::<AggValue>() == 48);

/// Each CPU's last flow (`AGG_CACHE`): a flood of one flow adds to this CPU's copy, not to
/// its shared `FLOW_AGG` entry, until another flow comes or [`EVENT_INTERVAL_NS`] passes;
/// then the pending counts are added to the entry. Readers add what is pending here.
///
/// It is also the datapath's scratch space for a new entry (the programs' stack is small).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AggCacheEntry {
    pub key: AggKey,
    /// The counts not yet in `FLOW_AGG` (`first_ns`: when the flow was cached).
    pub value: AggValue,
    /// 1: `key` is a flow.
    pub valid: u64,
}
const _: () = assert!(core::mem::size_of::<AggCacheEntry>() == 104);

/// One event in `FLOW_EVENTS`: a flow's key, as in `FLOW_AGG`, and its counters so far.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowEvent {
    pub key: AggKey,
    pub value: AggValue,
}
const _: () = assert!(core::mem::size_of::<FlowEvent>() == 96);

#[cfg(feature = "user")]
unsafe impl aya::Pod for AggKey {}
#[cfg(feature = "user")]
unsafe impl aya::Pod for AggValue {}
#[cfg(feature = "user")]
unsafe impl aya::Pod for AggCacheEntry {}
