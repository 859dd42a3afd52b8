//! Connection tracking (`CT_TCP`, `CT_OTHER`: hash maps; `CT_CACHE`, `CT_FILTER`: the fast
//! path in front of them).
//!
//! Keys are written from the instance's point of view (local = the instance's address), so
//! both directions of a flow find the same entry without normalising.

use crate::tcp::TcpSide;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtKey {
    pub ifindex: u32,
    /// IPv4 addresses use the first 4 bytes; the rest is zero.
    pub local: [u8; 16],
    pub remote: [u8; 16],
    /// TCP/UDP: ports; ICMP echo: identifier in `local_port` and the pinger's side
    /// (`ECHO_PINGER_*`) in `remote_port`; other protocols: 0.
    pub local_port: u16,
    pub remote_port: u16,
    pub proto: u8,
    /// 4 or 6.
    pub family: u8,
    pub _pad: [u8; 2],
}
const _: () = assert!(core::mem::size_of::<CtKey>() == 44);

/// Hash of a flow key, shared by the datapath and userspace: picks the flow's slot in the
/// per-CPU flow cache (`CT_CACHE`) and in the presence filter (`CT_FILTER`). A sum of
/// independent products, so the datapath computes it in a few cycles without a helper call.
/// Collisions cost speed (a cache miss, a filter false positive), never a wrong verdict.
#[inline(always)]
pub fn ct_hash(k: &CtKey) -> u64 {
    ct_hash_words(k.words())
}

impl CtKey {
    /// The key as the 11 native-endian words it is in memory.
    #[inline(always)]
    pub fn words(&self) -> &[u32; 11] {
        // SAFETY: `CtKey` is 44 bytes of plain integers, 4-byte aligned, without padding.
        unsafe { &*(self as *const CtKey as *const [u32; 11]) }
    }

    /// The key's memory as words, to write: a word stored whole is read back at once, where
    /// one stored in parts (two ports, protocol and family) stalls the read until the parts
    /// reach the cache (a failed store-to-load forward).
    #[inline(always)]
    pub fn words_mut(&mut self) -> &mut [u32; 11] {
        // SAFETY: as `words`; every bit pattern is a valid `CtKey`.
        unsafe { &mut *(self as *mut CtKey as *mut [u32; 11]) }
    }
}

/// Two 16-bit fields as the native-endian word they make in memory (the first lower).
#[inline(always)]
pub fn word16(first: u16, second: u16) -> u32 {
    let (a, b) = (first.to_ne_bytes(), second.to_ne_bytes());
    u32::from_ne_bytes([a[0], a[1], b[0], b[1]])
}

/// Four bytes as the native-endian word they make in memory.
#[inline(always)]
pub fn word8(b: [u8; 4]) -> u32 {
    u32::from_ne_bytes(b)
}

/// [`ct_hash`] of a key's words.
#[inline(always)]
pub fn ct_hash_words(w: &[u32; 11]) -> u64 {
    const K: [u64; 11] = [
        0x9e37_79b9_7f4a_7c15,
        0xbf58_476d_1ce4_e5b9,
        0x94d0_49bb_1331_11eb,
        0xd6e8_feb8_6659_fd93,
        0xa076_1d64_78bd_642f,
        0xe703_7ed1_a0b4_28db,
        0x8ebc_6af0_9c88_c6e3,
        0x5899_65cc_7537_4cc3,
        0x1d8e_4e27_c47d_124f,
        0xc2b2_ae3d_27d4_eb4f,
        0x1656_67b1_9e37_79f9,
    ];
    let term = |i: usize| (w[i] as u64).wrapping_mul(K[i]);
    // Interface, the first word of each address, ports, protocol and family.
    let mut h = term(0)
        .wrapping_add(term(1))
        .wrapping_add(term(5))
        .wrapping_add(term(9))
        .wrapping_add(term(10));
    // The other address words are zero in an IPv4 key: adding their terms would add zero.
    if w[10].to_ne_bytes()[1] != 4 {
        for i in [2, 3, 4, 6, 7, 8] {
            h = h.wrapping_add(term(i));
        }
    }
    // The high bits depend on every input bit; fold them down and mix once more.
    (h ^ (h >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Slots of the per-CPU flow cache, per CPU (a power of two).
pub const CT_CACHE_SLOTS: u32 = 1 << 13;
/// Counters of the presence filter (a power of two). Each is a u32, two to an 8-byte value
/// of `CT_FILTER` (the kernel rounds an array's values up to 8 bytes), so the filter takes
/// 4 MiB: a sweep or a flood touches one counter per flow at random, and half the memory is
/// half the pages to miss in the TLB. A u32 cannot overflow: it counts table entries.
pub const CT_FILTER_SLOTS: u32 = 1 << 20;
/// Values of the `CT_FILTER` array: two counters each.
pub const CT_FILTER_VALUES: u32 = CT_FILTER_SLOTS / 2;

#[inline(always)]
pub fn cache_slot(h: u64) -> u32 {
    (h >> (64 - CT_CACHE_SLOTS.trailing_zeros())) as u32
}

#[inline(always)]
pub fn filter_slot(h: u64) -> u32 {
    (h >> (64 - CT_FILTER_SLOTS.trailing_zeros())) as u32
}

/// Where counter `slot` lives: the index of its `CT_FILTER` value, and which u32 of it.
#[inline(always)]
pub fn filter_place(slot: u32) -> (u32, usize) {
    (slot >> 1, (slot & 1) as usize)
}

/// How long a cached flow is taken on trust, in jiffies: a packet found in the per-CPU cache
/// less than this many ticks after its entry was last read from the table passes without
/// touching the table. The table's entry is then at most this old, so the sweeper and every
/// other CPU still see the flow alive (timeouts are whole seconds; the clock's resolution is
/// one tick already).
pub const CT_CACHE_TICKS: u64 = 2;

/// One slot of the per-CPU flow cache (`CT_CACHE`): a recently seen flow whose next packets
/// change nothing in its entry but the counters (an established TCP flow's packets without
/// SYN, FIN or RST; a UDP stream's, whose turns no longer change its timeout; any other
/// tracked flow's), so they pass on a probe of this CPU's slot alone: no hash-table lookup, no
/// helper call. A UDP flow that is not yet a stream is never cached: its turns must be
/// counted in the table whichever CPU sees each direction.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtCacheEntry {
    pub key: CtKey,
    /// `CT_EPOCH[0]` when cached: sgd bumps it whenever it removes or rewrites entries
    /// (flush, sweep, tests), which invalidates every cached flow at once.
    pub epoch: u32,
    /// `bpf_jiffies64` when the entry was last read from the table.
    pub jiffies: u64,
    /// Packets and bytes passed from the cache and not yet added to the entry in the table,
    /// by direction (`crate::dir`): added at the next refresh or eviction, whatever the epoch
    /// (`describe-conntrack` adds them too). 32 bits are plenty: the entry is refreshed every
    /// `CT_CACHE_TICKS` jiffies.
    pub packets: [u32; 2],
    pub bytes: [u32; 2],
    /// `CtValue::serial` of the flow the sides were copied from.
    pub serial: u32,
    pub _pad: u32,
    /// TCP: this CPU's copy of the flow's window (`CtValue::tcp`), checked and advanced by
    /// every packet that passes here and folded back into the table's entry at the next
    /// refresh or eviction (and, when a packet does not fit the table's, from every CPU).
    pub tcp: [TcpSide; 2],
}
const _: () = assert!(core::mem::size_of::<CtCacheEntry>() == 144);

/// Key of `FRAGS`: one fragmented datagram on one interface (SG-ENF-11).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FragKey {
    pub ifindex: u32,
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub id: u32,
    pub proto: u8,
    pub family: u8,
    pub _pad: [u8; 2],
}
const _: () = assert!(core::mem::size_of::<FragKey>() == 44);

/// How long the first fragment's verdict holds for the later ones, seconds.
pub const FRAG_TIMEOUT_S: u64 = 30;

/// Entry states (which timeout applies, SG-ENF-6).
pub const CT_STATE_NEW: u8 = 0;
pub const CT_STATE_ESTABLISHED: u8 = 1;
pub const CT_STATE_CLOSING: u8 = 2;
pub const CT_STATE_RST: u8 = 3;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtValue {
    /// `bpf_ktime_get_coarse_ns` + [`CLOCK_BASE_NS`] of the last packet.
    pub last_seen_ns: u64,
    /// Packets and bytes by direction (`crate::dir`): what flow logs record per direction.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// Direction ([`crate::dir`]) of the packet that created the entry.
    pub origin: u8,
    pub state: u8,
    /// Direction of the last packet.
    pub last_dir: u8,
    /// Number of direction changes seen (a UDP flow with traffic both ways more than once is a
    /// stream).
    pub turns: u8,
    /// Random, set when the entry is created: tells this flow's cached window copies from
    /// those of an earlier flow on the same tuple.
    pub serial: u32,
    /// TCP window tracking, by direction: `tcp[d]` is the side that sends packets of
    /// direction `d` (SG-ENF-13, see `crate::tcp`). Zero for other protocols.
    pub tcp: [TcpSide; 2],
}
const _: () = assert!(core::mem::size_of::<CtValue>() == 112);

/// `CT_BUDGET` (issue 17): budgets within the conntrack tables, so floods from outside
/// cannot take all of a table. Counts and limits are u64 values of one array; a limit of 0
/// is no budget. The datapath adds to a count before it inserts a counted entry and
/// subtracts when one leaves its budget (a handshake completed or reset, an entry replaced);
/// sgd subtracts for the entries it removes (sweeps, flushes).
pub mod budget {
    /// Half-open TCP entries (`half_open`) opened by an inbound SYN.
    pub const EMBRYONIC: u32 = 0;
    /// `CT_OTHER` entries opened from outside (spoofable: ICMP echo requests, UDP).
    pub const INBOUND_OTHER: u32 = 1;
    /// The limit of [`EMBRYONIC`]: past it, an inbound SYN opens no entry (instance mode:
    /// the instance answers with a SYN cookie; host mode: refused, the allowance exceeded).
    pub const EMBRYONIC_MAX: u32 = 2;
    /// The limit of [`INBOUND_OTHER`]: past it, new inbound flows are refused, and what is
    /// left of the table stays for the flows the instance opens.
    pub const INBOUND_OTHER_MAX: u32 = 3;
    pub const VALUES: u32 = 4;

    /// The count an entry is in, if any.
    #[inline(always)]
    pub fn of(v: &super::CtValue, tcp: bool) -> Option<u32> {
        if v.origin != crate::dir::INBOUND {
            None
        } else if !tcp {
            Some(INBOUND_OTHER)
        } else if super::half_open(v) {
            Some(EMBRYONIC)
        } else {
            None
        }
    }
}

/// Added to `bpf_ktime_get_coarse_ns` (and to `CLOCK_MONOTONIC_COARSE` in userspace) for every
/// timestamp in the maps, so an entry can be aged by days in tests even on a machine up for
/// minutes.
pub const CLOCK_BASE_NS: u64 = 1 << 60;

/// `CtKey::remote_port` of an ICMP echo flow: which side sent the requests, so an inbound
/// request never matches the flow of an outbound ping (SG-ENF-4).
pub const ECHO_PINGER_LOCAL: u16 = 1;
pub const ECHO_PINGER_REMOTE: u16 = 2;

/// Fixed timeouts, seconds (SG-ENF-5, SG-ENF-6).
pub const TIMEOUT_SYN_S: u64 = 60;
pub const TIMEOUT_CLOSING_S: u64 = 120;
pub const TIMEOUT_RST_S: u64 = 10;
pub const TIMEOUT_ICMP_S: u64 = 30;
pub const TIMEOUT_OTHER_S: u64 = 600;

/// Idle timeout of a TCP entry in `state`, seconds, where established flows time out after
/// `established` seconds.
#[inline(always)]
pub fn tcp_timeout_s(state: u8, established: u32) -> u64 {
    match state {
        CT_STATE_NEW => TIMEOUT_SYN_S,
        CT_STATE_ESTABLISHED => established as u64,
        CT_STATE_CLOSING => TIMEOUT_CLOSING_S,
        _ => TIMEOUT_RST_S,
    }
}

/// Whether a TCP entry's handshake is still open (Linux's SYN_SENT and SYN_RECV): the SYN
/// sent, maybe answered, but never acknowledged by the side that sent it. Such an entry
/// times out as a handshake does ([`TIMEOUT_SYN_S`]), whatever its state says: a SYN-ACK
/// answering a spoofed SYN must not keep an entry for the 5 days of an established flow.
#[inline(always)]
pub fn half_open(v: &CtValue) -> bool {
    v.state == CT_STATE_NEW
        || v.state == CT_STATE_ESTABLISHED
            && v.tcp[(v.origin & 1) as usize].flags & crate::tcp::SIDE_MAXACK == 0
}

/// Idle timeout of a TCP entry, seconds, where established flows time out after
/// `established` seconds.
#[inline(always)]
pub fn tcp_entry_timeout_s(v: &CtValue, established: u32) -> u64 {
    if half_open(v) {
        TIMEOUT_SYN_S
    } else {
        tcp_timeout_s(v.state, established)
    }
}

/// Idle timeout of an entry, seconds (SG-ENF-6, SG-IF-4). Shared by the datapath (exact
/// expiry) and userspace (describe, sweep). ICMP is ICMP only in its own family: protocol 58
/// over IPv4 and 1 over IPv6 are other protocols (SG-ENF-5).
#[inline(always)]
pub fn timeout_s(v: &CtValue, proto: u8, family: u8, cfg: &crate::iface::IfaceCfg) -> u64 {
    match proto {
        1 if family == 4 => TIMEOUT_ICMP_S,
        58 if family == 6 => TIMEOUT_ICMP_S,
        6 => tcp_entry_timeout_s(v, cfg.tcp_established_timeout),
        17 => {
            if v.turns >= 2 {
                cfg.udp_stream_timeout as u64
            } else {
                cfg.udp_timeout as u64
            }
        }
        _ => TIMEOUT_OTHER_S,
    }
}

/// The entry the benchmarks' `sg_bench_ct_lookup` looks up (the floor of a conntrack hit).
pub const BENCH_CT_KEY: CtKey = CtKey {
    ifindex: 0,
    local: [0; 16],
    remote: [0; 16],
    local_port: 0,
    remote_port: 0,
    proto: 6,
    family: 4,
    _pad: [0; 2],
};

/// One candidate of an in-kernel sweep (`SWEEP_ITEMS`): the flow, and the idle time past
/// which it goes. The sweep program re-reads the entry and deletes it only if it is still idle
/// that long, so a flow that came back to life since userspace read the table is kept.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepItem {
    pub key: CtKey,
    /// Set to 1 by the sweep program when it deleted the entry: sgd then takes it from the
    /// presence filter (in slot order, after the whole sweep: a random counter per entry was
    /// a cache miss per entry).
    pub removed: u32,
    pub timeout_ns: u64,
}
const _: () = assert!(core::mem::size_of::<SweepItem>() == 56);

/// Candidates per run of the sweep program (the length of `SWEEP_ITEMS`), and entries per read
/// of the table: bounds the time one run holds its CPU to well under a millisecond, and keeps
/// the entries just read (~150 bytes each, at random places of a table of hundreds of MiB)
/// in the CPU's cache when the program reads them again to delete them. 8 192 took 15-20%
/// longer over a million entries.
pub const SWEEP_BATCH: u32 = 512;

/// Input frame of the sweep program: `now` (u64), the number of items (u32), the table (u32:
/// 0 for `CT_TCP`, 1 for `CT_OTHER`), native endianness. It writes how many it removed into
/// `SWEEP_OUT[0]`.
pub const SWEEP_FRAME_LEN: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash decides where pinned filter counts live: a change must bump `SCHEMA_VERSION`
    /// (a new build reading an old build's filter at other slots would undercount).
    #[test]
    fn ct_hash_is_stable() {
        let mut k = CtKey {
            ifindex: 7,
            proto: 6,
            family: 4,
            local_port: 443,
            remote_port: 40000,
            ..CtKey::default()
        };
        k.local[..4].copy_from_slice(&[192, 0, 2, 1]);
        k.remote[..4].copy_from_slice(&[203, 0, 113, 7]);
        assert_eq!(ct_hash(&k), HASH_V4);
        k.family = 6;
        k.local = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        k.remote = [0x20, 1, 0xd, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
        assert_eq!(ct_hash(&k), HASH_V6);
    }

    const HASH_V4: u64 = 7560710001951056592;
    const HASH_V6: u64 = 9112236816773292963;
}

#[cfg(feature = "user")]
mod pod {
    unsafe impl aya::Pod for super::SweepItem {}
    unsafe impl aya::Pod for super::CtKey {}
    unsafe impl aya::Pod for super::CtValue {}
    unsafe impl aya::Pod for super::FragKey {}
    unsafe impl aya::Pod for super::CtCacheEntry {}
}
