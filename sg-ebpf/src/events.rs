//! Flow events (see `sg_common::events`): the decisions of the rules on interfaces someone
//! watches, aggregated per flow in `FLOW_AGG` and reported through `FLOW_EVENTS` when a flow
//! first appears and then at most once a second.

use core::intrinsics::{AtomicOrdering, atomic_xadd};

use aya_ebpf::helpers::bpf_ktime_get_coarse_ns;
use sg_common::{
    conntrack::CLOCK_BASE_NS,
    conntrack::CtKey,
    events::{AggCacheEntry, AggValue, EVENT_INTERVAL_NS, FlowEvent},
    iface::MAX_IFACES,
};

use crate::{
    conntrack::BPF_NOEXIST,
    maps::{AGG_CACHE, AGG_NEW, EVENTS_LOST, FLOW_AGG, FLOW_EVENTS, WORK},
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
/// Keys and values live in this CPU's `AGG_CACHE` slot, never on the stack, which the
/// verifier limits for the whole call chain.
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
    let flags = work.pkt.tcp_flags;
    let log_flags = sg_common::tcp::flow_log_flags(flags);
    if crate::log::debugging(ifindex) {
        crate::log::decision(
            ifindex,
            dir << 16 | u32::from(work.pkt.proto) << 8 | (reason & 0xff),
        );
    }
    let now = unsafe { bpf_ktime_get_coarse_ns() } + CLOCK_BASE_NS;
    let Some(cache) = AGG_CACHE.get_ptr_mut(0) else {
        return;
    };
    let cache = unsafe { &mut *cache };
    // The same flow as this CPU's last, within the interval: counted here alone (no hash
    // lookup, no shared cache line).
    let small = dir | reason << 8 | audited << 16;
    let cached_small = u32::from(cache.key.dir)
        | u32::from(cache.key.reason) << 8
        | u32::from(cache.key.audit) << 16;
    if cache.valid != 0
        && cached_small == small
        && same_flow(&cache.key.flow, flow)
        && now.saturating_sub(cache.value.first_ns) < EVENT_INTERVAL_NS
    {
        let v = &mut cache.value;
        v.packets += 1;
        v.bytes += len as u64;
        v.tcp_flags |= flags;
        v.log_flags |= log_flags;
        v.last_ns = now;
        return;
    }
    // Otherwise the last flow's pending counts go to its entry, and this packet's flow
    // becomes this CPU's last. Readers ignore the slot until it is settled again (they then
    // read the entry without what is moving: a reading a moment low, never one that counts
    // a packet twice).
    let pending = cache.valid != 0 && cache.value.packets != 0;
    cache.valid = 0;
    if pending {
        flush(cache);
    }
    cache.key.flow = *flow;
    cache.key.dir = dir as u8;
    cache.key.reason = reason as u8;
    cache.key.audit = audited as u8;
    cache.key._pad = 0;
    let v = &mut cache.value;
    v.first_ns = now;
    v.last_ns = now;
    v.reported_ns = now;
    v.packets = 1;
    v.bytes = len as u64;
    v.tcp_flags = flags;
    v.log_flags = log_flags;
    let entry = match FLOW_AGG.get_ptr_mut(&cache.key) {
        Some(e) => {
            let e = unsafe { &mut *e };
            unsafe {
                atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(&mut e.packets, 1);
                atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(&mut e.bytes, len as u64);
            }
            e.last_ns = now;
            e.tcp_flags |= flags;
            e.log_flags |= log_flags;
            if now.saturating_sub(e.reported_ns) < EVENT_INTERVAL_NS {
                settle(cache);
                return;
            }
            e.reported_ns = now;
            e as *const AggValue
        }
        // Counted only when it went in: flow logs compare the count with the flows they
        // read, and a flow two CPUs raced to add is one flow, whose other CPU's packet is
        // added to it (and reported by that CPU).
        None => {
            if FLOW_AGG
                .insert(&cache.key, &cache.value, BPF_NOEXIST)
                .is_ok()
            {
                if slot < MAX_IFACES
                    && let Some(n) = AGG_NEW.get_ptr_mut(slot)
                {
                    unsafe { *n += 1 };
                }
            } else if let Some(won) = FLOW_AGG.get_ptr_mut(&cache.key) {
                let won = unsafe { &mut *won };
                unsafe {
                    atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(&mut won.packets, 1);
                    atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(
                        &mut won.bytes,
                        len as u64,
                    );
                }
                settle(cache);
                return;
            } else {
                // Neither in nor found: the packet is lost to the aggregates (the slot
                // stays unsettled, so nothing is counted against a flow it does not hold).
                return;
            }
            &cache.value as *const AggValue
        }
    };
    match FLOW_EVENTS.reserve::<FlowEvent>(0) {
        Some(mut e) => {
            let ev = e.as_mut_ptr();
            unsafe {
                (*ev).key = cache.key;
                (*ev).value = *entry;
            }
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
    settle(cache);
}

/// This CPU's last flow, with nothing pending (its packet is in the entry): readers may add
/// what it counts from now on.
#[inline(always)]
fn settle(cache: &mut AggCacheEntry) {
    cache.value.packets = 0;
    cache.value.bytes = 0;
    cache.value.tcp_flags = 0;
    cache.value.log_flags = 0;
    cache.valid = 1;
}

/// Whether two flow keys are the same (eleven words).
#[inline(always)]
fn same_flow(a: &CtKey, b: &CtKey) -> bool {
    let (a, b) = (a.words(), b.words());
    let mut i = 0;
    while i < 11 {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Adds a CPU's pending counts to their flow's entry (gone from the LRU: they are lost, as
/// the entry's were).
#[inline(never)]
fn flush(cache: &AggCacheEntry) {
    if let Some(v) = FLOW_AGG.get_ptr_mut(&cache.key) {
        let v = unsafe { &mut *v };
        let p = &cache.value;
        unsafe {
            atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(&mut v.packets, p.packets);
            atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(&mut v.bytes, p.bytes);
        }
        if p.last_ns > v.last_ns {
            v.last_ns = p.last_ns;
        }
        v.tcp_flags |= p.tcp_flags;
        v.log_flags |= p.log_flags;
    }
}
