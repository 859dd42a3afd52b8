//! Compiled rules: LPM keys (`RULES_V4`/`RULES_V6`) and port sets (`PORT_SETS`).
//!
//! Userspace computes the prefix closure: the value of a prefix is the port set of every rule
//! whose CIDR covers it, so one longest-prefix lookup gives the exact answer.
//!
//! Single addresses (/32, /128: most group members) go in the `HOSTS_V4`/`HOSTS_V6` hashes
//! instead of the tries, keyed by the same structs: an exact match is the longest match, so
//! one hash lookup answers for them whatever the number of members, and the tries keep only
//! real prefixes.

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

/// Entries of each host hash. Its buckets cost memory up front (16 bytes each), so it is
/// sized for the usual case; single addresses beyond it go in the trie, which holds them just
/// as well (an exact prefix is a prefix), one lookup further.
pub const HOSTS_MAX_ENTRIES: u32 = 1 << 16;

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
    unsafe impl aya::Pod for super::PortSet {}
    unsafe impl aya::Pod for super::PortSetSmall {}
    unsafe impl aya::Pod for super::RuleHitKey {}
    unsafe impl aya::Pod for super::RuleHits {}
}
