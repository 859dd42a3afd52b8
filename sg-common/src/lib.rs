//! Types and constants shared by the eBPF datapath (`sg-ebpf`) and userspace (`sg-userspace`).
//!
//! Every struct is `#[repr(C)]` with explicit padding and a size assertion, so both sides agree
//! on the byte layout of map keys and values.
#![no_std]

pub mod conntrack;
pub mod events;
pub mod iface;
pub mod probe;
pub mod rule;
pub mod stats;
pub mod tcp;

/// Layout version of the pinned maps. Bump whenever a key or value layout, a map name or a map
/// type changes, or where a value lives (`conntrack::ct_hash`, `filter_slot`, the slot
/// counts, `rule::host_set_v4`/`host_set_v6`), so a daemon never reinterprets maps pinned by an incompatible build: pins live
/// under `<pin-dir>/v<SCHEMA_VERSION>/`, and a daemon removes the pins of other versions.
pub const SCHEMA_VERSION: u32 = 12;

/// Map names, shared so userspace finds exactly what the datapath declares.
pub mod maps {
    pub const IFACE_CFG: &str = "IFACE_CFG";
    pub const IFACE_INDEX: &str = "IFACE_INDEX";
    pub const IFACE_ENTRY: &str = "IFACE_ENTRY";
    pub const IFACE_CFGS: &str = "IFACE_CFGS";
    pub const RULES_V4: &str = "RULES_V4";
    pub const RULES_V6: &str = "RULES_V6";
    pub const HOSTS_V4: &str = "HOSTS_V4";
    pub const HOSTS_V6: &str = "HOSTS_V6";
    pub const PORT_SETS: &str = "PORT_SETS";
    pub const PORT_SETS_SMALL: &str = "PORT_SETS_SMALL";
    pub const CT_TCP: &str = "CT_TCP";
    pub const CT_OTHER: &str = "CT_OTHER";
    pub const STATS: &str = "STATS";
    pub const FRAGS: &str = "FRAGS";
    pub const IFACE_ADDRS: &str = "IFACE_ADDRS";
    pub const RULE_HITS: &str = "RULE_HITS";
    pub const CT_CACHE: &str = "CT_CACHE";
    pub const CT_FILTER: &str = "CT_FILTER";
    pub const CT_BUDGET: &str = "CT_BUDGET";
    pub const CT_EPOCH: &str = "CT_EPOCH";
    /// Per interface slot: packets that passed only because the interface is in audit mode.
    pub const AUDIT_PASSED: &str = "AUDIT_PASSED";

    /// Every map, for pinning.
    pub const ALL: [&str; 21] = [
        IFACE_CFG,
        IFACE_INDEX,
        IFACE_ENTRY,
        IFACE_CFGS,
        RULES_V4,
        RULES_V6,
        HOSTS_V4,
        HOSTS_V6,
        PORT_SETS,
        PORT_SETS_SMALL,
        CT_TCP,
        CT_OTHER,
        STATS,
        FRAGS,
        IFACE_ADDRS,
        RULE_HITS,
        CT_CACHE,
        CT_FILTER,
        CT_BUDGET,
        CT_EPOCH,
        AUDIT_PASSED,
    ];

    /// Program names (the function names in `sg-ebpf`).
    pub const PROG_XDP: &str = "sg_xdp";
    pub const PROG_TC_EGRESS: &str = "sg_tc_egress";
    pub const PROG_TC_INGRESS: &str = "sg_tc_ingress";
    /// The TC programs for devices whose packets start with the IP header.
    pub const PROG_TC_EGRESS_IP: &str = "sg_tc_egress_ip";
    pub const PROG_TC_INGRESS_IP: &str = "sg_tc_ingress_ip";
    /// Sweeping: the candidates of one run, its result, and the program.
    pub const SWEEP_ITEMS: &str = "SWEEP_ITEMS";
    pub const SWEEP_OUT: &str = "SWEEP_OUT";
    pub const PROG_SWEEP: &str = "sg_sweep";
    /// Explaining a verdict (see `crate::probe`): the probes of arriving and leaving packets,
    /// and what they found. Not pinned.
    pub const PROG_PROBE_ARRIVING: &str = "sg_probe_arriving";
    pub const PROG_PROBE_LEAVING: &str = "sg_probe_leaving";
    pub const PROBE_OUT: &str = "PROBE_OUT";
    /// Flow events (see `crate::events`): the ring buffer and the per-flow aggregates. Not
    /// pinned: a restarted daemon starts them afresh.
    pub const FLOW_EVENTS: &str = "FLOW_EVENTS";
    pub const FLOW_AGG: &str = "FLOW_AGG";
    pub const EVENTS_LOST: &str = "EVENTS_LOST";
    /// Per interface slot: flows `FLOW_AGG` took in (what flow logs compare with what they
    /// read, to notice flows the LRU dropped unread).
    pub const AGG_NEW: &str = "AGG_NEW";
    /// Per CPU: the last flow's pending counts (`events::AggCacheEntry`).
    pub const AGG_CACHE: &str = "AGG_CACHE";

    /// The benchmark-only object (`sg-bench-ebpf`), which sgd never loads.
    pub mod bench {
        /// Passes everything: the per-packet figures' baseline.
        pub const PROG_NOOP: &str = "sg_noop";
        /// A live-frame generator and a counting drop-all baseline.
        pub const PROG_REDIRECT: &str = "sg_bench_redirect";
        pub const PROG_DROP: &str = "sg_bench_drop";
        /// One conntrack lookup and nothing else.
        pub const PROG_CT_LOOKUP: &str = "sg_bench_ct_lookup";
        pub const TX: &str = "BENCH_TX";
        pub const DROPS: &str = "BENCH_DROPS";
        /// The table `PROG_CT_LOOKUP` looks up.
        pub const CT: &str = "BENCH_CT";
    }
}

/// Direction of a packet relative to the protected instance.
pub mod dir {
    /// Traffic to the instance (AWS "inbound", ingress rules).
    pub const INBOUND: u8 = 0;
    /// Traffic from the instance (AWS "outbound", egress rules).
    pub const OUTBOUND: u8 = 1;
}

/// Address family index used in [`iface::IfaceCfg::ruleset`].
pub mod family {
    pub const V4: usize = 0;
    pub const V6: usize = 1;
}
