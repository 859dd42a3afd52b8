//! Compiled rules: LPM keys (`RULES_V4`/`RULES_V6`) and port sets (`PORT_SETS`).
//!
//! Userspace computes the prefix closure: the value of a prefix is the port set of every rule
//! whose CIDR covers it, so one longest-prefix lookup gives the exact answer.
//!
//! Single addresses (/32, /128: most group members) go in the `HOSTS_V4`/`HOSTS_V6` tables
//! (see [`HOST_WAYS_V4`]) instead of the tries: an exact match is the longest match, so one
//! read of one cache line answers for them whatever the number of members, and the tries
//! keep only real prefixes.

/// Data of an IPv4 LPM key: the ruleset id (always matched whole) then the address.
/// The LPM prefix length is `32 + cidr_len`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LpmV4 {
    pub ruleset: u32,
    pub addr: [u8; 4],
}
const _: () = assert!(core::mem::size_of::<LpmV4>() == 8);

/// Data of an IPv6 LPM key; prefix length `32 + cidr_len`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LpmV6 {
    pub ruleset: u32,
    pub addr: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<LpmV6>() == 20);

/// Slots of each host table (per family). Single addresses beyond them, or whose set is
/// full, go in the trie, which holds them just as well (an exact prefix is a prefix), one
/// lookup further.
pub const HOSTS_MAX_ENTRIES: u32 = 1 << 16;

/// The host tables (`HOSTS_V4`, `HOSTS_V6`) are set-associative: a key belongs to exactly one
/// set (by [`host_set_v4`] / [`host_set_v6`], shared with sgd), a set is one 64-byte array
/// value (one cache line), and a lookup compares the set's few ways. A hash map needed two
/// reads at random places (bucket, then element): two cache misses once the members no
/// longer fit the caches. An empty way has ruleset 0, which no ruleset uses.
pub const HOST_WAYS_V4: usize = 4;
pub const HOST_WAYS_V6: usize = 2;
pub const HOST_SETS_V4: u32 = HOSTS_MAX_ENTRIES / HOST_WAYS_V4 as u32;
pub const HOST_SETS_V6: u32 = HOSTS_MAX_ENTRIES / HOST_WAYS_V6 as u32;

/// One IPv4 way: `key` is [`LpmV4::host_key`] (ruleset in the low half, 0 when empty).
/// sgd writes the value before the key.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostV4 {
    pub key: u64,
    pub value: LpmValue,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostSetV4 {
    pub ways: [HostV4; HOST_WAYS_V4],
}
const _: () = assert!(core::mem::size_of::<HostSetV4>() == 64);

/// One IPv6 way: the address as four native-endian words (4-byte aligned like the key's
/// address, so the datapath reads it whole; 8-byte words would be read a byte at a time),
/// then the ruleset (0 when empty; sgd writes it last).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostV6 {
    pub addr: [u32; 4],
    pub ruleset: u32,
    pub _pad: u32,
    pub value: LpmValue,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostSetV6 {
    pub ways: [HostV6; HOST_WAYS_V6],
}
const _: () = assert!(core::mem::size_of::<HostSetV6>() == 64);

impl LpmV4 {
    /// The key of this address in `HOSTS_V4`.
    #[inline(always)]
    pub fn host_key(&self) -> u64 {
        u64::from(self.ruleset) | u64::from(u32::from_ne_bytes(self.addr)) << 32
    }
}

impl LpmV6 {
    /// The address as the native-endian words of [`HostV6::addr`], read a word at a time
    /// (the address lies 4-byte aligned in this struct; the datapath would otherwise load it
    /// byte by byte).
    #[inline(always)]
    pub fn addr_words(&self) -> [u32; 4] {
        const _: () = assert!(core::mem::offset_of!(LpmV6, addr) % 4 == 0);
        const _: () = assert!(core::mem::align_of::<LpmV6>() == 4);
        let p = self.addr.as_ptr() as *const u32;
        // SAFETY: 16 bytes, 4-byte aligned (asserted above), any bit pattern is a u32.
        unsafe { [p.read(), p.add(1).read(), p.add(2).read(), p.add(3).read()] }
    }
}

#[inline(always)]
fn host_mix(x: u64) -> u64 {
    let x = (x ^ (x >> 32)).wrapping_mul(0xd6e8_feb8_6659_fd93);
    (x ^ (x >> 32)).wrapping_mul(0xd6e8_feb8_6659_fd93)
}

/// The set of an IPv4 host key. Where entries live: a change must bump `SCHEMA_VERSION`.
#[inline(always)]
pub fn host_set_v4(key: u64) -> u32 {
    (host_mix(key) >> (64 - HOST_SETS_V4.trailing_zeros())) as u32
}

/// The set of an IPv6 host (ruleset, address words).
#[inline(always)]
pub fn host_set_v6(ruleset: u32, addr: &[u32; 4]) -> u32 {
    let pair = |a: u32, b: u32| u64::from(a) | u64::from(b) << 32;
    let h =
        host_mix(pair(addr[0], addr[1]) ^ host_mix(pair(addr[2], addr[3]) ^ u64::from(ruleset)));
    (h >> (64 - HOST_SETS_V6.trailing_zeros())) as u32
}

/// Bits of the LPM prefix that cover the ruleset id.
pub const RULESET_BITS: u32 = 32;

/// Bit of [`crate::iface::IfaceCfg::lookups`]: the ruleset of direction `dir` and family index
/// `family` has entries in the host hash.
#[inline(always)]
pub const fn hosts_bit(dir: u8, family: usize) -> u32 {
    1 << ((dir as u32 & 1) * 2 + (family as u32 & 1))
}

/// Bit of [`crate::iface::IfaceCfg::lookups`]: that ruleset has entries in the trie.
#[inline(always)]
pub const fn prefixes_bit(dir: u8, family: usize) -> u32 {
    hosts_bit(dir, family) << 4
}

/// Bit of [`crate::iface::IfaceCfg::lookups`]: that ruleset has a `/0` entry (the trie holds
/// it), so a packet may be allowed from/to anywhere (SG-ENF-3). Without it the check makes no
/// lookup, even when the trie holds other prefixes (or members whose host set was full).
#[inline(always)]
pub const fn anywhere_bit(dir: u8, family: usize) -> u32 {
    hosts_bit(dir, family) << 8
}

/// Value of an LPM entry: which port set applies to addresses under this prefix.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LpmValue {
    pub port_set: u32,
    /// Unique id of this entry, the key of its per-rule counters in `RULE_HITS`.
    pub entry: u32,
}
const _: () = assert!(core::mem::size_of::<LpmValue>() == 8);

/// An inclusive range of destination ports, or of ICMP `type << 8 | code` values.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}
const _: () = assert!(core::mem::size_of::<PortRange>() == 4);

/// Capacity of one port set's range table. Ranges are split where rules overlap so each is
/// credited to one rule: n rules give at most 2n - 1 ranges, and an interface has at most
/// 1000 rules (SG-QUOTA), so this is no cap.
pub const MAX_RANGES: usize = 2048;

/// Key of `RULE_HITS`: an LPM entry and the element of its port set that admitted a packet
/// (a range index, or `MAX_RANGES + protocol` for protocols open on every port). Userspace
/// knows which rule each element is credited to (SG-ENF-12).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RuleHitKey {
    pub entry: u32,
    pub element: u32,
}
const _: () = assert!(core::mem::size_of::<RuleHitKey>() == 8);

/// Per-CPU counters of one `RuleHitKey`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleHits {
    pub packets: u64,
    pub bytes: u64,
    /// Timestamp (`bpf_ktime_get_coarse_ns` + `CLOCK_BASE_NS`) of the last packet.
    pub last_ns: u64,
}
const _: () = assert!(core::mem::size_of::<RuleHits>() == 24);

/// Index of each protocol's slice in [`PortSet::lists`].
pub const LIST_TCP: usize = 0;
pub const LIST_UDP: usize = 1;
/// ICMP in an IPv4 ruleset, ICMPv6 in an IPv6 ruleset.
pub const LIST_ICMP: usize = 2;

/// Start and length of one protocol's sorted, merged, non-overlapping ranges in
/// [`PortSet::ranges`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RangeList {
    pub start: u32,
    pub len: u32,
}

/// What a prefix allows: protocols allowed whatever their ports, and per-protocol range lists,
/// with room for `N` ranges (a power of two).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortSetN<const N: usize> {
    /// Bit `p` set: IP protocol `p` is allowed on every port/type.
    pub all_ports: [u32; 8],
    pub lists: [RangeList; 3],
    pub _pad: u32,
    pub ranges: [PortRange; N],
}

/// Most port sets hold a few ranges: they live in `PORT_SETS_SMALL` (~190 bytes each), and
/// only the rare large ones in `PORT_SETS` (~8 KiB each), so writing a ruleset copies little.
pub const SMALL_RANGES: usize = 32;
pub type PortSet = PortSetN<MAX_RANGES>;
pub type PortSetSmall = PortSetN<SMALL_RANGES>;
const _: () = assert!(core::mem::size_of::<PortSet>() == 32 + 24 + 4 + 4 * MAX_RANGES);
const _: () = assert!(core::mem::size_of::<PortSetSmall>() == 32 + 24 + 4 + 4 * SMALL_RANGES);

/// In a port-set id (`LpmValue::port_set`): the set is in `PORT_SETS`, not `PORT_SETS_SMALL`.
pub const LARGE_SET: u32 = 1 << 31;

impl<const N: usize> Default for PortSetN<N> {
    fn default() -> Self {
        Self {
            all_ports: [0; 8],
            lists: [RangeList::default(); 3],
            _pad: 0,
            ranges: [PortRange::default(); N],
        }
    }
}

#[cfg(feature = "user")]
mod pod {
    unsafe impl aya::Pod for super::LpmV4 {}
    unsafe impl aya::Pod for super::LpmV6 {}
    unsafe impl aya::Pod for super::LpmValue {}
    unsafe impl aya::Pod for super::HostSetV4 {}
    unsafe impl aya::Pod for super::HostSetV6 {}
    unsafe impl aya::Pod for super::PortSet {}
    unsafe impl aya::Pod for super::PortSetSmall {}
    unsafe impl aya::Pod for super::RuleHitKey {}
    unsafe impl aya::Pod for super::RuleHits {}
}
