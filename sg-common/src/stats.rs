//! Per-interface counters (`STATS`: per-CPU array indexed `slot * NUM_REASONS + reason`).

pub const PASS_CONNTRACK: u32 = 0;
pub const PASS_RULE: u32 = 1;
/// ARP, neighbour and router discovery (SG-ENF-10), and non-IP traffic.
pub const PASS_ALWAYS: u32 = 2;
pub const DROP_NO_RULE: u32 = 3;
pub const DROP_MALFORMED: u32 = 4;
pub const DROP_FRAGMENT: u32 = 5;
pub const DROP_CT_FULL: u32 = 6;
/// Later fragments that followed their first fragment's pass.
pub const PASS_FRAGMENT: u32 = 7;
/// Host mode: a packet from the instance with a source, or to it with a destination, that is
/// not one of its private addresses (source/destination check, SG-IF-5).
pub const DROP_SPOOFED: u32 = 8;
/// Instance mode, the half-open budget spent (issue 17): a SYN the rules admit, passed
/// without an entry for the instance's own stack to answer with a SYN cookie, and that
/// answer (a SYN-ACK of no tracked flow the rules would admit reversed). The client's
/// completing ACK opens the tracked flow.
pub const PASS_SYN_COOKIE: u32 = 9;
pub const NUM_REASONS: u32 = 10;

/// Names as shown by `sgctl describe-network-interfaces`, indexed by reason.
pub const REASON_NAMES: [&str; NUM_REASONS as usize] = [
    "pass_conntrack",
    "pass_rule",
    "pass_always",
    "drop_no_rule",
    "drop_malformed",
    "drop_fragment",
    // AWS's name (ENA `conntrack_allowance_exceeded`): new flows refused, the table full.
    "conntrack_allowance_exceeded",
    "pass_fragment",
    "drop_source_dest_check",
    "pass_syn_cookie",
];
