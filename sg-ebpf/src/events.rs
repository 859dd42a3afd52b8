//! Flow events (see `sg_common::events`): the decisions of the rules on interfaces someone
//! watches, aggregated per flow in `FLOW_AGG` and reported through `FLOW_EVENTS` when a flow
//! first appears and then at most once a second.

use core::intrinsics::{AtomicOrdering, atomic_xadd};

use aya_ebpf::helpers::bpf_ktime_get_coarse_ns;
use sg_common::{
    conntrack::CLOCK_BASE_NS,
    events::{AggKey, AggValue, EVENT_INTERVAL_NS, FlowEvent},
    iface::MAX_IFACES,
};

use crate::{
    conntrack::BPF_NOEXIST,
    maps::{AGG_NEW, EVENTS_LOST, FLOW_AGG, FLOW_EVENTS, WORK},
};

/// How `flow_event` is told the packet's direction, whether audit mode passed it, and the
/// interface's counter slot, in one argument (a BPF call takes five at most).
#[inline(always)]
pub fn packed(dir: u8, audited: bool, slot: u32) -> u32 {
    u32::from(dir & 1) | u32::from(audited) << 1 | slot << 16
}

/// Records the decision `reason` on the packet in `WORK` (the one just judged), of `len`
/// bytes, on interface `ifindex`; `packed` (see [`packed`]): its direction, whether it
/// passed only by audit mode, and the interface's slot.
///
/// Out of line: one copy for every path that reaches it, verified once per call site.
#[inline(never)]
pub fn flow_event(ifindex: u32, packed: u32, reason: u32, len: u32) {
    let (dir, audited, slot) = (packed & 1, packed >> 1 & 1, packed >> 16);
    let Some(work) = WORK.get_ptr_mut(0) else {
        return;
    };
    let work = unsafe { &mut *work };
    let (flow, _) = crate::policy::ct_key(&work.pkt, dir as u8, ifindex, &mut work.key);
    let key = AggKey {
        flow: *flow,
        dir: dir as u8,
        reason: reason as u8,
        audit: audited as u8,
        _pad: 0,
    };
    let flags = work.pkt.tcp_flags;
    if crate::log::debugging(ifindex) {
        crate::log::decision(
            ifindex,
            dir << 16 | u32::from(work.pkt.proto) << 8 | (reason & 0xff),
        );
    }
    let now = unsafe { bpf_ktime_get_coarse_ns() } + CLOCK_BASE_NS;
    let report = match FLOW_AGG.get_ptr_mut(&key) {
        Some(v) => {
            let v = unsafe { &mut *v };
            unsafe {
                atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(&mut v.packets, 1);
                atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(&mut v.bytes, len as u64);
            }
            v.last_ns = now;
            v.tcp_flags |= flags;
            if now.saturating_sub(v.reported_ns) < EVENT_INTERVAL_NS {
                return;
            }
            v.reported_ns = now;
            *v
        }
        None => {
            let v = AggValue {
                first_ns: now,
                last_ns: now,
                reported_ns: now,
                packets: 1,
                bytes: len as u64,
                tcp_flags: flags,
                _pad: [0; 7],
            };
            // Counted only when it went in: flow logs compare the count with the flows they
            // read, and a flow two CPUs raced to add is one flow.
            if FLOW_AGG.insert(&key, &v, BPF_NOEXIST).is_ok()
                && slot < MAX_IFACES
                && let Some(n) = AGG_NEW.get_ptr_mut(slot)
            {
                unsafe { *n += 1 };
            }
            v
        }
    };
    match FLOW_EVENTS.reserve::<FlowEvent>(0) {
        Some(mut e) => {
            e.write(FlowEvent { key, value: report });
            e.submit(0);
        }
        None => {
            // Userspace reads too slowly (or nobody reads): counted, and shown as lost.
            if let Some(n) = EVENTS_LOST.get_ptr_mut(0) {
                unsafe { *n += 1 };
            }
            if crate::log::warnings() {
                crate::log::rare(crate::log::EVENTS_LOST, ifindex);
            }
        }
    }
}
