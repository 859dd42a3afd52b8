//! Every map of the datapath. Names and layouts come from `sg_common`.

use aya_ebpf::{
    macros::map,
    maps::{Array, HashMap, LpmTrie, LruHashMap, LruPerCpuHashMap, PerCpuArray, RingBuf},
};
use sg_common::{
    conntrack::{
        CT_CACHE_SLOTS, CT_FILTER_VALUES, CtCacheEntry, CtKey, CtValue, FragKey, SWEEP_BATCH,
        SweepItem, budget,
    },
    events::{AggCacheEntry, AggKey, AggValue, FLOW_AGG_ENTRIES, FLOW_EVENTS_BYTES},
    iface::{AddrKey, FAST_IFINDEX, IfaceCfg, MAX_IFACES},
    probe::ProbeOut,
    rule::{
        HOST_SETS_V4, HOST_SETS_V6, HostSetV4, HostSetV6, LpmV4, LpmV6, LpmValue, PortSet,
        PortSetSmall, RuleHitKey, RuleHits,
    },
    stats::NUM_REASONS,
};

use crate::parse::Packet;

const BPF_F_NO_PREALLOC: u32 = 1;
const BPF_F_MMAPABLE: u32 = 1 << 10;

/// Every interface's configuration by ifindex, for sgd to resume from (the datapath reads
/// `IFACE_CFGS`; see `sg_common::iface`).
#[map(name = "IFACE_CFG")]
pub static IFACE_CFG: HashMap<u32, IfaceCfg> = HashMap::with_max_entries(MAX_IFACES, 0);

/// ifindex -> `IndexEntry`: 1 + position in `IFACE_CFGS` (0: not protected) and the fields
/// every packet needs. Array lookups are inlined by the verifier: no hashing, no call.
/// Mmapable: sgd switches an entry with one atomic store.
#[map(name = "IFACE_INDEX")]
pub static IFACE_INDEX: Array<u64> = Array::with_max_entries(FAST_IFINDEX, BPF_F_MMAPABLE);

/// The `IndexEntry` of each interface whose ifindex is `FAST_IFINDEX` or more.
#[map(name = "IFACE_ENTRY")]
pub static IFACE_ENTRY: HashMap<u32, u64> = HashMap::with_max_entries(MAX_IFACES, 0);

#[map(name = "IFACE_CFGS")]
pub static IFACE_CFGS: Array<IfaceCfg> = Array::with_max_entries(MAX_IFACES * 2, 0);

#[map(name = "RULES_V4")]
pub static RULES_V4: LpmTrie<LpmV4, LpmValue> = LpmTrie::with_max_entries(1 << 20, 0);

#[map(name = "RULES_V6")]
pub static RULES_V6: LpmTrie<LpmV6, LpmValue> = LpmTrie::with_max_entries(1 << 20, 0);

/// Single addresses of each ruleset: set-associative tables, one cache line a lookup, inlined
/// by the verifier (see `sg_common::rule::HOST_WAYS_V4`). Mmapable: sgd writes the ways.
#[map(name = "HOSTS_V4")]
pub static HOSTS_V4: Array<HostSetV4> = Array::with_max_entries(HOST_SETS_V4, BPF_F_MMAPABLE);

#[map(name = "HOSTS_V6")]
pub static HOSTS_V6: Array<HostSetV6> = Array::with_max_entries(HOST_SETS_V6, BPF_F_MMAPABLE);

/// Host mode: the private addresses of each protected instance (source/destination check).
#[map(name = "IFACE_ADDRS")]
pub static IFACE_ADDRS: HashMap<AddrKey, u32> = HashMap::with_max_entries(1 << 14, 0);

/// Large port sets (~8 KiB each; ids with `LARGE_SET`), allocated on insert.
#[map(name = "PORT_SETS")]
pub static PORT_SETS: HashMap<u32, PortSet> = HashMap::with_max_entries(1 << 12, BPF_F_NO_PREALLOC);

/// Port sets of up to `SMALL_RANGES` ranges, the usual ones.
#[map(name = "PORT_SETS_SMALL")]
pub static PORT_SETS_SMALL: HashMap<u32, PortSetSmall> =
    HashMap::with_max_entries(1 << 17, BPF_F_NO_PREALLOC);

/// TCP flows, kept apart from the rest so a flood of UDP or ICMP flows cannot take their
/// room. Plain (not LRU) hash maps: the size is the conntrack allowance (SG-ENF-9); when a map
/// is full, new flows are refused and counted while existing entries keep working, and
/// nothing live is ever evicted. Userspace sets the sizes at load time and sweeps expired
/// entries.
#[map(name = "CT_TCP")]
pub static CT_TCP: HashMap<CtKey, CtValue> = HashMap::with_max_entries(1 << 18, 0);

#[map(name = "CT_OTHER")]
pub static CT_OTHER: HashMap<CtKey, CtValue> = HashMap::with_max_entries(1 << 16, 0);

/// The per-CPU flow cache (see `sg_common::conntrack::CtCacheEntry`): an established flow's
/// packets pass on one probe of this CPU's slot, inlined by the verifier (Linux 6.10 on).
#[map(name = "CT_CACHE")]
pub static CT_CACHE: PerCpuArray<CtCacheEntry> = PerCpuArray::with_max_entries(CT_CACHE_SLOTS, 0);

/// Presence filter of the conntrack tables: for each `filter_slot`, at least the number of
/// entries in `CT_TCP` and `CT_OTHER` whose key hashes there (a u32, two to a value: see
/// `sg_common::conntrack::filter_place`). A zero means "not tracked"
/// without a hash-table lookup, so a flood of packets of unknown flows costs one array read.
/// Every writer adds before it inserts and subtracts only after it removed an entry.
/// Mmapable: sgd subtracts with atomics when it removes flows.
#[map(name = "CT_FILTER")]
pub static CT_FILTER: Array<u64> = Array::with_max_entries(CT_FILTER_VALUES, BPF_F_MMAPABLE);

/// Budgets within the conntrack tables: counts and limits (`sg_common::conntrack::budget`).
/// Mmapable: sgd writes the limits and subtracts, with atomics, for the entries it removes.
#[map(name = "CT_BUDGET")]
pub static CT_BUDGET: Array<u64> = Array::with_max_entries(budget::VALUES, BPF_F_MMAPABLE);

/// Scratch space where `conntrack::create` builds a new entry (72 bytes the programs' stack
/// cannot spare). Not pinned.
#[map(name = "CT_NEW")]
pub static CT_NEW: PerCpuArray<CtValue> = PerCpuArray::with_max_entries(1, 0);

/// The headers a SYN-cookie check reads (`conntrack::cookie_valid`), rebuilt here: an IPv4
/// or IPv6 header, and a TCP header. Not pinned.
pub struct CookieHdrs {
    pub ip: [u8; 40],
    pub th: [u8; 20],
}

#[map(name = "COOKIE_HDRS")]
pub static COOKIE_HDRS: PerCpuArray<CookieHdrs> = PerCpuArray::with_max_entries(1, 0);

/// What one packet's verdict works on: kept in per-CPU scratch space rather than on the
/// stack, which has 512 bytes for the whole call chain (programs on one CPU run one at a
/// time: network hooks do not preempt each other).
pub struct Work {
    pub pkt: Packet,
    pub key: CtKey,
}

/// Scratch space: the packet being judged (see `Work`). Not pinned.
#[map(name = "WORK")]
pub static WORK: PerCpuArray<Work> = PerCpuArray::with_max_entries(1, 0);

/// Scratch space: the copy of an interface's configuration a packet reads (see
/// `policy::iface_cfg`). Not pinned.
#[map(name = "CFG_COPY")]
pub static CFG_COPY: PerCpuArray<IfaceCfg> = PerCpuArray::with_max_entries(1, 0);

/// `[0]`: the cache's epoch (see `CtCacheEntry::epoch`).
#[map(name = "CT_EPOCH")]
pub static CT_EPOCH: Array<u32> = Array::with_max_entries(1, 0);

/// First fragments that passed: their datagram's later fragments pass too (SG-ENF-11).
/// Value: `bpf_ktime_get_coarse_ns` + `CLOCK_BASE_NS` of the last fragment.
#[map(name = "FRAGS")]
pub static FRAGS: LruHashMap<FragKey, u64> = LruHashMap::with_max_entries(1 << 14, 0);

/// Per-rule counters: packets admitted by each element of each entry's port set.
#[map(name = "RULE_HITS")]
pub static RULE_HITS: LruPerCpuHashMap<RuleHitKey, RuleHits> =
    LruPerCpuHashMap::with_max_entries(1 << 16, 0);

/// Per interface slot (per CPU): packets the groups refused that passed because the
/// interface is in audit mode (their reason is counted in `STATS` too).
#[map(name = "AUDIT_PASSED")]
pub static AUDIT_PASSED: PerCpuArray<u64> = PerCpuArray::with_max_entries(MAX_IFACES, 0);

#[map(name = "STATS")]
pub static STATS: PerCpuArray<u64> = PerCpuArray::with_max_entries(MAX_IFACES * NUM_REASONS, 0);

/// The sweeper's scratch space (not pinned: each daemon has its own). Userspace writes the
/// candidates straight into its memory (mmap), no system call per item.
#[map(name = "SWEEP_ITEMS")]
pub static SWEEP_ITEMS: Array<SweepItem> = Array::with_max_entries(SWEEP_BATCH, BPF_F_MMAPABLE);

/// Flow events (see `sg_common::events`). Not pinned.
#[map(name = "FLOW_EVENTS")]
pub static FLOW_EVENTS: RingBuf = RingBuf::with_byte_size(FLOW_EVENTS_BYTES, 0);

#[map(name = "FLOW_AGG")]
pub static FLOW_AGG: LruHashMap<AggKey, AggValue> =
    LruHashMap::with_max_entries(FLOW_AGG_ENTRIES, 0);

/// Per interface slot (per CPU): flows `FLOW_AGG` took in. Not pinned.
#[map(name = "AGG_NEW")]
pub static AGG_NEW: PerCpuArray<u64> = PerCpuArray::with_max_entries(MAX_IFACES, 0);

/// Per CPU: the last flow's pending counts. Not pinned.
#[map(name = "AGG_CACHE")]
pub static AGG_CACHE: PerCpuArray<AggCacheEntry> = PerCpuArray::with_max_entries(1, 0);

/// Per CPU, `[0]`: flow events the ring buffer had no room for.
#[map(name = "EVENTS_LOST")]
pub static EVENTS_LOST: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// Per CPU: when each kind of rare event was last logged (`crate::log`). Not pinned.
#[map(name = "LOG_LAST")]
pub static LOG_LAST: PerCpuArray<u64> = PerCpuArray::with_max_entries(crate::log::KINDS, 0);

/// What a probe program found (see `sg_common::probe`). Not pinned.
#[map(name = "PROBE_OUT")]
pub static PROBE_OUT: Array<ProbeOut> = Array::with_max_entries(1, 0);

#[map(name = "SWEEP_OUT")]
pub static SWEEP_OUT: Array<u64> = Array::with_max_entries(1, 0);

#[inline(always)]
pub fn count(slot: u32, reason: u32) {
    if slot >= MAX_IFACES {
        return;
    }
    if let Some(p) = STATS.get_ptr_mut(slot * NUM_REASONS + reason) {
        unsafe { *p += 1 };
    }
}
