//! The datapath's diagnostics, through aya-log into sgd's log: rare events at warn (each kind
//! at most once a second per CPU: a full connection-tracking table refusing a new flow, a
//! full flow-event ring), and, at debug, every decision of the rules on one chosen interface
//! (where its flow events are made: sgd turns them on for it). The level is a constant of
//! the loaded object (`AYA_LOG_LEVEL`, set by sgd from `--datapath-log`): the verifier
//! removes the branches of disabled levels. The calls sit on the rare paths only (a failed
//! insert, a full ring, a flow event), never on the established or flood path, so the
//! default level costs those nothing; each call site is verified once per state that reaches
//! it, so they stay few.

use aya_ebpf::{Global, helpers::bpf_ktime_get_coarse_ns};
use aya_log_ebpf::{
    debug,
    macro_support::{Level, level_enabled},
    warn,
};

use crate::maps::LOG_LAST;

/// The interface whose decisions are logged at debug (0: none).
#[unsafe(no_mangle)]
pub static SG_LOG_IFINDEX: Global<u32> = Global::new(0);

/// Rare events, each with its own once-a-second limit.
pub const CT_FULL: u32 = 0;
pub const EVENTS_LOST: u32 = 1;
/// How many kinds `LOG_LAST` holds.
pub const KINDS: u32 = 2;

/// Whether rare events at warn are logged (a constant of the loaded program).
#[inline(always)]
pub fn warnings() -> bool {
    level_enabled(Level::Warn)
}

/// Whether every decision on `ifindex` is logged.
#[inline(always)]
pub fn debugging(ifindex: u32) -> bool {
    level_enabled(Level::Debug) && ifindex != 0 && SG_LOG_IFINDEX.load() == ifindex
}

/// Logs a rare event of `kind` on `ifindex`, unless one of its kind was logged on this CPU
/// less than a second ago.
#[inline(never)]
pub fn rare(kind: u32, ifindex: u32) {
    let Some(last) = LOG_LAST.get_ptr_mut(kind) else {
        return;
    };
    let now = unsafe { bpf_ktime_get_coarse_ns() };
    let last = unsafe { &mut *last };
    if *last != 0 && now.saturating_sub(*last) < 1_000_000_000 {
        return;
    }
    *last = now;
    match kind {
        CT_FULL => warn!(
            &(),
            "connection tracking table full: new flows refused (ifindex {}); raise conntrack_tcp_max or conntrack_other_max",
            ifindex
        ),
        _ => warn!(
            &(),
            "flow events lost: the ring buffer is full (ifindex {})", ifindex
        ),
    }
}

/// Logs one decision (debug, for the chosen interface only): `what` packs the direction
/// (bit 16), the protocol (bits 8-15) and the reason (bits 0-7). Few arguments: each takes
/// stack, and the logging function's frame joins the deepest call chain's 512 bytes.
#[inline(never)]
pub fn decision(ifindex: u32, what: u32) {
    debug!(
        &(),
        "ifindex {} dir {} proto {} reason {}",
        ifindex,
        what >> 16,
        (what >> 8) & 0xff,
        what & 0xff
    );
}
