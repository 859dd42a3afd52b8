//! Connection tracking: lookup with exact expiry (SG-ENF-7), creation, and the per-flow state
//! that picks the idle timeout (SG-ENF-6).

use core::intrinsics::{AtomicOrdering, atomic_xadd};

use aya_ebpf::{
    bindings::{iphdr, ipv6hdr, tcphdr},
    cty::c_void,
    helpers::{
        bpf_get_prandom_u32, bpf_jiffies64,
        generated::{
            bpf_loop, bpf_map_lookup_percpu_elem, bpf_tcp_raw_check_syncookie_ipv4,
            bpf_tcp_raw_check_syncookie_ipv6,
        },
    },
    maps::HashMap,
};
use sg_common::{
    conntrack::*,
    iface::IfaceCfg,
    tcp::{self, Segment, TCP_FIN, TCP_RST, TCP_SYN, Track},
};

use crate::{
    maps::{COOKIE_HDRS, CT_BUDGET, CT_CACHE, CT_EPOCH, CT_FILTER, CT_NEW, CT_OTHER, CT_TCP},
    parse::{PROTO_TCP, PROTO_UDP, Packet},
    policy::Clock,
};

pub const BPF_NOEXIST: u64 = 1;
const BPF_EXIST: u64 = 2;
const EEXIST: i32 = 17;

const NS: u64 = 1_000_000_000;
/// CPUs whose flow-cache copies a packet that does not fit the table's window consults
/// (`merge_all_cpus`); the walk stops at the first CPU the kernel does not have.
const MAX_CPUS: u32 = 256;

/// Idle timeout of an entry, nanoseconds.
#[inline(always)]
fn timeout_ns(v: &CtValue, pkt: &Packet, cfg: &IfaceCfg) -> u64 {
    timeout_s(v, pkt.proto, pkt.family, cfg) * NS
}

/// What window tracking reads of a TCP packet: its payload no longer than the packet (an IP
/// length field may claim more; the kernel drops such a packet, and it must not move the
/// window).
#[inline(always)]
fn segment(pkt: &Packet) -> Segment {
    Segment {
        seq: pkt.seq,
        ack: pkt.ack,
        len: if pkt.seg_len > pkt.len {
            pkt.len
        } else {
            pkt.seg_len
        },
        win: pkt.win,
        flags: pkt.tcp_flags,
        wscale: pkt.wscale,
    }
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
///
/// A TCP packet must also fit this CPU's copy of the window, which it then advances (so a
/// stream's packets keep fitting without the table); one that does not goes to the table.
#[inline(always)]
pub fn cached(key: &CtKey, h: u64, pkt: &Packet, dir: u8, len: u64) -> bool {
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
    // its entry but the window (UDP flows are cached only as streams).
    if pkt.proto == PROTO_TCP
        && (pkt.tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST) != 0
            || !cached_window(&mut e.tcp, dir, pkt))
    {
        return false;
    }
    let d = (dir & 1) as usize;
    e.packets[d] = e.packets[d].wrapping_add(1);
    e.bytes[d] = e.bytes[d].wrapping_add(len as u32);
    true
}

/// Checks and advances a cached copy of a flow's window (out of line: see `hit_tcp`).
#[inline(never)]
fn cached_window(sides: &mut [tcp::TcpSide; 2], dir: u8, pkt: &Packet) -> bool {
    tcp::track_data(sides, dir, &segment(pkt))
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

/// Adds `d` (wrapping: `u64::MAX` subtracts one) to budget count `b`.
#[inline(always)]
fn budget_add(b: u32, d: u64) {
    if let Some(n) = CT_BUDGET.get_ptr_mut(b) {
        unsafe { atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(n, d) };
    }
}

/// Takes one from budget count `b` if it is one (`budget::of`).
#[inline(always)]
pub fn budget_leave(b: Option<u32>) {
    if let Some(b) = b {
        budget_add(b, u64::MAX);
    }
}

/// Whether budget count `b` has reached its limit (a limit of 0 is none).
#[inline(always)]
fn budget_spent(b: u32) -> bool {
    match (CT_BUDGET.get(b), CT_BUDGET.get(b + 2)) {
        (Some(&count), Some(&max)) => max != 0 && count >= max,
        _ => false,
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
    if e.packets[0] | e.packets[1] != 0 {
        if mine {
            add_pending(v, e);
        } else {
            flush_victim(e);
        }
    }
    e.packets = [0; 2];
    e.bytes = [0; 2];
    let cacheable = match proto {
        // A half-open one's next packet (the client's ACK) must reach the table, which keeps
        // the flow half-open, with a handshake's timeout, until it has seen it.
        PROTO_TCP => v.state == CT_STATE_ESTABLISHED && !half_open(v),
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
    e.serial = v.serial;
    e.tcp = v.tcp;
    e.jiffies = unsafe { bpf_jiffies64() };
}

/// Adds a cache slot's pending counts to its flow's entry, direction by direction.
#[inline(always)]
fn add_pending(v: &mut CtValue, e: &CtCacheEntry) {
    v.packets[0] += u64::from(e.packets[0]);
    v.packets[1] += u64::from(e.packets[1]);
    v.bytes[0] += u64::from(e.bytes[0]);
    v.bytes[1] += u64::from(e.bytes[1]);
}

/// Adds the pending counts (and TCP window) of another flow, evicted from this CPU's cache,
/// to its entry.
#[inline(never)]
fn flush_victim(e: &CtCacheEntry) {
    let v = if e.key.proto == PROTO_TCP {
        CT_TCP.get_ptr_mut(&e.key)
    } else {
        CT_OTHER.get_ptr_mut(&e.key)
    };
    if let Some(v) = v {
        let v = unsafe { &mut *v };
        add_pending(v, e);
        if e.serial == v.serial {
            tcp::merge(&mut v.tcp, &e.tcp);
        }
    }
}

/// Folds into `v` the window copies of every CPU's flow cache that hold this flow: what those
/// CPUs passed since they last read the table, and what the table itself may have lost
/// (two CPUs writing one entry at once can lose an update; the copy of the CPU that made it
/// still has it: merging is a max, so a copy with nothing new changes nothing). Only
/// for a packet that does not fit the table's window, or a RST or FIN that is not where the
/// table says a real one sits: a stream spread over CPUs moves each copy on its own.
///
/// Through `bpf_loop`: the verifier checks the body once, where a loop over `MAX_CPUS`
/// would have it walk every round.
#[inline(never)]
fn merge_all_cpus(key: &CtKey, slot: u32, v: &mut CtValue) {
    let mut ctx = MergeCtx {
        key: key as *const CtKey,
        v: v as *mut CtValue,
        slot,
    };
    unsafe {
        bpf_loop(
            MAX_CPUS,
            merge_cpu as *mut c_void,
            &mut ctx as *mut MergeCtx as *mut c_void,
            0,
        )
    };
}

/// What `merge_cpu` works on.
struct MergeCtx {
    key: *const CtKey,
    v: *mut CtValue,
    slot: u32,
}

/// One round of `merge_all_cpus`: CPU `cpu`'s copy. Returns 1 (stop) past the last CPU.
extern "C" fn merge_cpu(cpu: u64, ctx: *mut c_void) -> i64 {
    let ctx = unsafe { &*(ctx as *const MergeCtx) };
    let e = unsafe {
        bpf_map_lookup_percpu_elem(
            &CT_CACHE as *const _ as *mut c_void,
            &ctx.slot as *const u32 as *const c_void,
            cpu as u32,
        )
    } as *const CtCacheEntry;
    if e.is_null() {
        return 1;
    }
    let (e, v) = unsafe { (&*e, &mut *ctx.v) };
    if e.serial == v.serial && same_key(&e.key, unsafe { &*ctx.key }) {
        tcp::merge(&mut v.tcp, &e.tcp);
    }
    0
}

/// The packet's length, direction and one more figure packed into one argument of a
/// subprogram (one takes five, in registers; a struct would take room on the caller's
/// stack): bits 0-31 the length, bit 32 the direction, bits 33-63 `extra` (for `hit_tcp` the
/// interface's established-flow timeout in seconds, at most 432 000; for
/// `policy::by_rules` whether the packet may open a tracked flow).
#[inline(always)]
pub fn pack(len: u64, dir: u8, extra: u32) -> u64 {
    (len & 0xffff_ffff) | ((dir as u64 & 1) << 32) | ((extra as u64) << 33)
}

/// What the table says of a packet (`hit_tcp`): no live flow admits it (the rules may open
/// one).
pub const NOT_TRACKED: u8 = 0;
/// A live flow admits it.
pub const ADMITTED: u8 = 1;
/// A SYN on a live connection that is none of its own (`Track::Foreign`): the rules judge
/// it, and it must not replace the flow's entry.
pub const FOREIGN: u8 = 2;

/// `hit` for TCP: the packet must belong to the connection (SG-ENF-13). The table's window,
/// with this CPU's cached copy folded in, decides. A packet that does not fit it (or a RST
/// not where a real one sits) is checked once more against every CPU's copy, and a FIN past
/// the table's end is checked against them at once (one check only: a FIN admitted as data
/// moves the end it is compared with). A packet that still does not fit is not the flow's:
/// not admitted, nothing refreshed. An in-window RST that is not exact passes without
/// refreshing the flow. Returns `NOT_TRACKED`, `ADMITTED` or `FOREIGN`.
///
/// Out of line, so the window tracking's registers spill into a frame of its own, not into
/// the program's (the verifier's 512 bytes are shared by the whole call chain).
#[inline(never)]
pub fn hit_tcp(key: &CtKey, pkt: &Packet, h: u64, now: u64, packed: u64) -> u8 {
    let Some(v) = CT_TCP.get_ptr_mut(key) else {
        return NOT_TRACKED;
    };
    let (len, dir, established) = (packed & 0xffff_ffff, (packed >> 32) as u8 & 1, packed >> 33);
    let v = unsafe { &mut *v };
    if now.saturating_sub(v.last_seen_ns) > tcp_entry_timeout_s(v, established as u32) * NS {
        return NOT_TRACKED;
    }
    let slot = cache_slot(h);
    if let Some(e) = CT_CACHE.get_ptr(slot) {
        let e = unsafe { &*e };
        if e.serial == v.serial && same_key(&e.key, key) {
            tcp::merge(&mut v.tcp, &e.tcp);
        }
    }
    let seg = segment(pkt);
    let side = &v.tcp[(dir & 1) as usize];
    if pkt.tcp_flags & TCP_FIN != 0 && tcp::extend(side.end, seg.seq) > side.end {
        merge_all_cpus(key, slot, v);
    }
    // `track` changes the entry only when it admits the packet (and then only forward), so
    // it works on the entry in place, and a verdict that changed nothing can be asked again.
    let before = budget::of(v, true);
    let mut verdict = tcp::track(&mut v.tcp, &mut v.state, v.origin, dir, &seg);
    if (verdict == Track::Reject || verdict == Track::AdmitOnly) && !tcp::far_off(&v.tcp, dir, &seg)
    {
        merge_all_cpus(key, slot, v);
        verdict = tcp::track(&mut v.tcp, &mut v.state, v.origin, dir, &seg);
    }
    match verdict {
        Track::Reject => NOT_TRACKED,
        Track::Foreign => FOREIGN,
        Track::AdmitOnly => ADMITTED,
        Track::Admit => {
            // A handshake completed or reset leaves the half-open budget.
            if before.is_some() && budget::of(v, true).is_none() {
                budget_leave(before);
            }
            // What flow logs record of the connection's flags (the cache never sees these).
            v.tcp[(dir & 1) as usize].seen |= tcp::flow_log_flags(pkt.tcp_flags);
            touch(key, h, v, PROTO_TCP, dir, now, len);
            ADMITTED
        }
    }
}

/// Records a packet the flow admitted: direction turns, time, counts; then caches the flow.
#[inline(always)]
fn touch(key: &CtKey, h: u64, v: &mut CtValue, proto: u8, dir: u8, now: u64, len: u64) {
    if dir != v.last_dir {
        v.last_dir = dir;
        v.turns = v.turns.saturating_add(1);
    }
    v.last_seen_ns = now;
    let d = (dir & 1) as usize;
    v.packets[d] += 1;
    v.bytes[d] += len;
    remember(key, h, v, proto);
}

/// Looks a flow other than TCP up; if a live entry exists, updates it and returns true. An
/// entry idle past its timeout counts as absent whatever the sweeper has done.
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
    if now.saturating_sub(v.last_seen_ns) > timeout_ns(v, pkt, cfg) {
        return false;
    }
    touch(key, h, v, pkt.proto, dir, now, len);
    true
}

/// Whether SYN cookies answer inbound SYNs past the half-open budget: on whenever that
/// budget is (instance mode only, see `policy::by_rules`).
#[inline(always)]
pub fn cookies_on() -> bool {
    matches!(CT_BUDGET.get(budget::EMBRYONIC_MAX), Some(&max) if max != 0)
}

/// Whether a TCP segment completes, or answers, a handshake the kernel's SYN cookies
/// answered: the client's ACK acknowledging a cookie (`answer` false: the packet is that
/// ACK), or the server's SYN-ACK carrying one (`answer` true: checked as the ACK that would
/// acknowledge it). The kernel's own check (`bpf_tcp_raw_check_syncookie_*`: its secret,
/// the addresses, ports and sequence numbers, a cookie at most two minutes old) on headers
/// rebuilt in scratch memory.
#[inline(never)]
pub fn cookie_valid(pkt: &Packet, answer: bool) -> bool {
    let Some(s) = COOKIE_HDRS.get_ptr_mut(0) else {
        return false;
    };
    let s = unsafe { &mut *s };
    let (client, server, cport, sport, cnext, snext) = if answer {
        (
            &pkt.dst,
            &pkt.src,
            pkt.dport,
            pkt.sport,
            pkt.ack,
            pkt.seq.wrapping_add(1),
        )
    } else {
        (&pkt.src, &pkt.dst, pkt.sport, pkt.dport, pkt.seq, pkt.ack)
    };
    s.th = [0; 20];
    s.th[0..2].copy_from_slice(&cport.to_be_bytes());
    s.th[2..4].copy_from_slice(&sport.to_be_bytes());
    s.th[4..8].copy_from_slice(&cnext.to_be_bytes());
    s.th[8..12].copy_from_slice(&snext.to_be_bytes());
    s.th[12] = 5 << 4;
    s.th[13] = tcp::TCP_ACK;
    let th = s.th.as_mut_ptr() as *mut tcphdr;
    let r = if pkt.family == 4 {
        s.ip = [0; 40];
        s.ip[0] = 0x45;
        s.ip[9] = PROTO_TCP;
        s.ip[12..16].copy_from_slice(&client[..4]);
        s.ip[16..20].copy_from_slice(&server[..4]);
        unsafe { bpf_tcp_raw_check_syncookie_ipv4(s.ip.as_mut_ptr() as *mut iphdr, th) }
    } else {
        s.ip = [0; 40];
        s.ip[0] = 0x60;
        s.ip[6] = PROTO_TCP;
        s.ip[8..24].copy_from_slice(client);
        s.ip[24..40].copy_from_slice(server);
        unsafe { bpf_tcp_raw_check_syncookie_ipv6(s.ip.as_mut_ptr() as *mut ipv6hdr, th) }
    };
    r == 0
}

/// What [`create`] did.
pub const CREATED: u8 = 0;
/// The table is full (SG-ENF-9).
pub const FULL: u8 = 1;
/// The flow would be counted in a budget that is spent (`sg_common::conntrack::budget`).
pub const OVER_BUDGET: u8 = 2;

/// Creates (or replaces an expired) entry for a flow the rules admitted: [`CREATED`],
/// [`FULL`] or [`OVER_BUDGET`]. The presence filter counts every entry: one more before a
/// new key goes in (a reader never sees the entry uncounted), none for a key already there;
/// a flow opened from outside is counted in its budget the same way. Out of line, with a
/// frame of its own (see `hit_tcp`): only new flows come here.
#[inline(always)]
pub fn create(key: &CtKey, pkt: &Packet, h: u64, now: u64, packed: u64) -> u8 {
    let (len, dir) = (packed & 0xffff_ffff, (packed >> 32) as u8 & 1);
    let tcp = pkt.proto == PROTO_TCP;
    // Only a SYN opens a TCP flow (see `policy::judge`), in the handshake state; an inbound
    // one is half-open until the handshake completes.
    let state = if tcp {
        CT_STATE_NEW
    } else {
        CT_STATE_ESTABLISHED
    };
    insert(key, pkt, h, now, len, dir, state, SIDES_SYN)
}

/// [`create`] for a TCP flow whose server answered the SYN with a cookie and kept nothing:
/// the client's completing ACK (`pkt`, inbound) opens it established (see
/// `sg_common::tcp::open_from_cookie`), in no budget.
#[inline(never)]
pub fn create_from_cookie(key: &CtKey, pkt: &Packet, h: u64, now: u64, packed: u64) -> u8 {
    let (len, dir) = (packed & 0xffff_ffff, (packed >> 32) as u8 & 1);
    insert(
        key,
        pkt,
        h,
        now,
        len,
        dir,
        CT_STATE_ESTABLISHED,
        SIDES_COOKIE,
    )
}

/// [`create`] for a TCP flow whose SYN passed without an entry and whose server kept state
/// for it (no cookie): its SYN-ACK (`pkt`, outbound) opens it half-open (see
/// `sg_common::tcp::open_from_synack`). Counted in the half-open budget but never refused
/// by it: such entries are bounded by the server's own listen queues.
#[inline(never)]
pub fn create_from_synack(key: &CtKey, pkt: &Packet, h: u64, now: u64, packed: u64) -> u8 {
    let (len, dir) = (packed & 0xffff_ffff, (packed >> 32) as u8 & 1);
    insert(
        key,
        pkt,
        h,
        now,
        len,
        dir,
        CT_STATE_ESTABLISHED,
        SIDES_SYNACK,
    )
}

/// How [`insert`] sets a TCP entry's sides: opened by the packet, a SYN; by a cookie's
/// completing ACK; or by a SYN-ACK.
const SIDES_SYN: u8 = 0;
const SIDES_COOKIE: u8 = 1;
const SIDES_SYNACK: u8 = 2;

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn insert(
    key: &CtKey,
    pkt: &Packet,
    h: u64,
    now: u64,
    len: u64,
    dir: u8,
    state: u8,
    sides: u8,
) -> u8 {
    let tcp = pkt.proto == PROTO_TCP;
    let map = if tcp { &CT_TCP } else { &CT_OTHER };
    // The new entry is built in this CPU's scratch value, not on the stack (see `hit_tcp`).
    let Some(v) = CT_NEW.get_ptr_mut(0) else {
        return FULL;
    };
    let v = unsafe { &mut *v };
    v.last_seen_ns = now;
    let d = dir as usize & 1;
    v.packets = [0; 2];
    v.bytes = [0; 2];
    v.packets[d] = 1;
    v.bytes[d] = len;
    // A SYN-ACK's flow was opened by the other side's SYN.
    v.origin = if sides == SIDES_SYNACK { dir ^ 1 } else { dir };
    v.state = state;
    v.last_dir = dir;
    v.turns = 0;
    v.serial = unsafe { bpf_get_prandom_u32() };
    // Written in place: a copy would take 64 bytes of the stack.
    if !tcp {
        v.tcp = Default::default();
    } else if sides == SIDES_COOKIE {
        v.tcp = tcp::open_from_cookie(dir, &segment(pkt));
    } else if sides == SIDES_SYNACK {
        if tcp::open_from_synack(&mut v.tcp, dir, &segment(pkt)).is_none() {
            return FULL;
        }
    } else {
        v.tcp = tcp::open(dir, &segment(pkt));
    }
    let v = &*v;
    let counted = budget::of(v, tcp);
    if let Some(b) = counted {
        if sides != SIDES_SYNACK && budget_spent(b) {
            return OVER_BUDGET;
        }
        budget_add(b, 1);
    }
    filter_add(h, 1);
    match map.insert(key, v, BPF_NOEXIST) {
        Ok(()) => CREATED,
        Err(e) if e == -EEXIST => {
            // The old entry is counted already, in the filter and in its budget.
            filter_add(h, u32::MAX);
            let old = map
                .get_ptr(key)
                .and_then(|o| budget::of(unsafe { &*o }, tcp));
            if map.insert(key, v, BPF_EXIST).is_ok() {
                budget_leave(old);
                return CREATED;
            }
            // Removed meanwhile (swept): a new key after all.
            filter_add(h, 1);
            if map.insert(key, v, BPF_NOEXIST).is_ok() {
                return CREATED;
            }
            filter_add(h, u32::MAX);
            budget_leave(counted);
            FULL
        }
        Err(_) => {
            filter_add(h, u32::MAX);
            budget_leave(counted);
            FULL
        }
    }
}
