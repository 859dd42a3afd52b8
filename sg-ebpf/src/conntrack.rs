//! Connection tracking: lookup with exact expiry (SG-ENF-7), creation, and the per-flow state
//! that picks the idle timeout (SG-ENF-6).

use core::intrinsics::{AtomicOrdering, atomic_xadd};

use aya_ebpf::{helpers::bpf_jiffies64, maps::HashMap};
use sg_common::{conntrack::*, iface::IfaceCfg};

use crate::{
    maps::{CT_CACHE, CT_EPOCH, CT_FILTER, CT_OTHER, CT_TCP},
    parse::{PROTO_TCP, PROTO_UDP, Packet},
    policy::Clock,
};

const BPF_NOEXIST: u64 = 1;
const BPF_EXIST: u64 = 2;
const EEXIST: i32 = 17;

const TCP_FIN: u8 = 0x01;
const TCP_SYN: u8 = 0x02;
const TCP_RST: u8 = 0x04;
const TCP_ACK: u8 = 0x10;
const NS: u64 = 1_000_000_000;

/// Idle timeout of an entry, nanoseconds.
#[inline(always)]
fn timeout_ns(v: &CtValue, proto: u8, cfg: &IfaceCfg) -> u64 {
    timeout_s(v, proto, cfg) * NS
}

#[inline(always)]
fn same_key(a: &CtKey, b: &CtKey) -> bool {
    let (a, b) = (a.words(), b.words());
    // Ports and addresses differ first between flows of one interface. Two IPv4 keys (same
    // word 10: protocol and family) have zeros past their addresses' first words.
    a[9] == b[9]
        && a[1] == b[1]
        && a[5] == b[5]
        && a[0] == b[0]
        && a[10] == b[10]
        && (b[10].to_ne_bytes()[1] == 4
            || a[2] == b[2]
                && a[3] == b[3]
                && a[4] == b[4]
                && a[6] == b[6]
                && a[7] == b[7]
                && a[8] == b[8])
}

#[inline(always)]
fn epoch() -> u32 {
    CT_EPOCH.get(0).copied().unwrap_or(0)
}

/// The flow's packet passes on this CPU's flow cache alone (see `CtCacheEntry`): its slot
/// holds the flow, cached in this epoch less than `CT_CACHE_TICKS` ago, and the packet would
/// change nothing in the entry but its counters.
#[inline(always)]
pub fn cached(key: &CtKey, h: u64, pkt: &Packet, len: u64) -> bool {
    let Some(e) = CT_CACHE.get_ptr_mut(cache_slot(h)) else {
        return false;
    };
    let e = unsafe { &mut *e };
    if !same_key(&e.key, key)
        || e.epoch != epoch()
        || unsafe { bpf_jiffies64() }.wrapping_sub(e.jiffies) >= CT_CACHE_TICKS
    {
        return false;
    }
    // Flags change a TCP entry's state; nothing else a cached flow's packet carries changes
    // its entry (UDP flows are cached only as streams).
    if pkt.proto == PROTO_TCP && pkt.tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST) != 0 {
        return false;
    }
    e.packets += 1;
    e.bytes += len;
    true
}

/// Whether a flow of hash `h` may be in the tables (false: certainly not).
#[inline(always)]
pub fn maybe_tracked(h: u64) -> bool {
    match filter_counter(h) {
        Some(n) => unsafe { core::ptr::read_volatile(n) != 0 },
        None => true,
    }
}

/// The filter counter of hash `h`.
#[inline(always)]
fn filter_counter(h: u64) -> Option<*mut u32> {
    let (value, half) = filter_place(filter_slot(h));
    let pair = CT_FILTER.get_ptr_mut(value)?;
    Some(unsafe { (pair as *mut u32).add(half) })
}

/// Adds `d` (wrapping: `u32::MAX` subtracts one) to the filter counter of hash `h`.
#[inline(always)]
pub fn filter_add(h: u64, d: u32) {
    if let Some(n) = filter_counter(h) {
        // Relaxed: the insert that follows an increment publishes the entry with a barrier
        // of its own, and a decrement follows a removal.
        unsafe { atomic_xadd::<u32, u32, { AtomicOrdering::Relaxed }>(n, d) };
    }
}

/// After a lookup in the table found the flow alive (and updated `v`): takes this CPU's
/// pending counts of the flow into the entry, and caches the flow again if its next packets
/// can pass on the cache, else forgets it here.
#[inline(always)]
fn remember(key: &CtKey, h: u64, v: &mut CtValue, proto: u8) {
    let Some(e) = CT_CACHE.get_ptr_mut(cache_slot(h)) else {
        return;
    };
    let e = unsafe { &mut *e };
    let mine = same_key(&e.key, key);
    // Counts passed on the cache belong to their flow whatever the epoch (a flow flushed and
    // opened again on the same tuple may get its predecessor's last few).
    if e.packets != 0 {
        if mine {
            v.packets += e.packets;
            v.bytes += e.bytes;
        } else {
            flush_victim(e);
        }
    }
    e.packets = 0;
    e.bytes = 0;
    let cacheable = match proto {
        PROTO_TCP => v.state == CT_STATE_ESTABLISHED,
        // Until it is a stream, each change of direction is a turn the table must count,
        // whichever CPU sees it.
        PROTO_UDP => v.turns >= 2,
        _ => true,
    };
    if !cacheable {
        if mine {
            // Every packet goes to the table from now on.
            e.jiffies = 0;
        }
        return;
    }
    e.key = *key;
    e.epoch = epoch();
    e.jiffies = unsafe { bpf_jiffies64() };
}

/// Adds the pending counts of another flow, evicted from this CPU's cache, to its entry.
#[inline(never)]
fn flush_victim(e: &CtCacheEntry) {
    let v = if e.key.proto == PROTO_TCP {
        CT_TCP.get_ptr_mut(&e.key)
    } else {
        CT_OTHER.get_ptr_mut(&e.key)
    };
    if let Some(v) = v {
        let v = unsafe { &mut *v };
        v.packets += e.packets;
        v.bytes += e.bytes;
    }
}

/// Looks the flow up; if a live entry exists, updates it and returns true. An entry idle past
/// its timeout counts as absent whatever the sweeper has done.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn hit(
    map: &HashMap<CtKey, CtValue>,
    key: &CtKey,
    h: u64,
    pkt: &Packet,
    dir: u8,
    len: u64,
    cfg: &IfaceCfg,
    clock: &mut Clock,
) -> bool {
    let Some(v) = map.get_ptr_mut(key) else {
        return false;
    };
    let v = unsafe { &mut *v };
    let now = clock.now();
    if now.saturating_sub(v.last_seen_ns) > timeout_ns(v, pkt.proto, cfg) {
        return false;
    }
    if pkt.proto == PROTO_TCP {
        let f = pkt.tcp_flags;
        // A fresh SYN on a closed flow's tuple is a new connection: judge it by the rules.
        if f & (TCP_SYN | TCP_ACK) == TCP_SYN
            && (v.state == CT_STATE_CLOSING || v.state == CT_STATE_RST)
        {
            return false;
        }
        if f & TCP_RST != 0 {
            v.state = CT_STATE_RST;
        } else if f & TCP_FIN != 0 {
            if v.state != CT_STATE_RST {
                v.state = CT_STATE_CLOSING;
            }
        } else if v.state == CT_STATE_NEW && dir != v.origin {
            v.state = CT_STATE_ESTABLISHED;
        }
    }
    if dir != v.last_dir {
        v.last_dir = dir;
        v.turns = v.turns.saturating_add(1);
    }
    v.last_seen_ns = now;
    v.packets += 1;
    v.bytes += len;
    remember(key, h, v, pkt.proto);
    true
}

/// Creates (or replaces an expired) entry for a flow the rules admitted. The presence filter
/// counts every entry: one more before a new key goes in (a reader never sees the entry
/// uncounted), none for a key already there.
#[inline(always)]
pub fn create(
    map: &HashMap<CtKey, CtValue>,
    key: &CtKey,
    h: u64,
    pkt: &Packet,
    dir: u8,
    len: u64,
    clock: &mut Clock,
) -> bool {
    let now = clock.now();
    let state = if pkt.proto != PROTO_TCP {
        CT_STATE_ESTABLISHED
    } else if pkt.tcp_flags & TCP_RST != 0 {
        CT_STATE_RST
    } else if pkt.tcp_flags & TCP_FIN != 0 {
        CT_STATE_CLOSING
    } else if pkt.tcp_flags & (TCP_SYN | TCP_ACK) == TCP_SYN {
        CT_STATE_NEW
    } else {
        // Only a SYN opens a TCP flow (see `policy::judge`); kept total for safety.
        CT_STATE_NEW
    };
    let v = CtValue {
        last_seen_ns: now,
        packets: 1,
        bytes: len,
        origin: dir,
        state,
        last_dir: dir,
        turns: 0,
        _pad: 0,
    };
    filter_add(h, 1);
    match map.insert(key, v, BPF_NOEXIST) {
        Ok(()) => true,
        Err(e) if e == -EEXIST => {
            // The old entry is counted already.
            filter_add(h, u32::MAX);
            if map.insert(key, v, BPF_EXIST).is_ok() {
                return true;
            }
            // Removed meanwhile (swept): a new key after all.
            filter_add(h, 1);
            if map.insert(key, v, BPF_NOEXIST).is_ok() {
                return true;
            }
            filter_add(h, u32::MAX);
            false
        }
        Err(_) => {
            filter_add(h, u32::MAX);
            false
        }
    }
}
