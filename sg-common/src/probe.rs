//! Explaining a verdict (`sgctl explain`): the probe programs judge one crafted packet, as the
//! datapath would judge the first packet of a new flow, against the interface's installed
//! configuration and rules, and write what they found into `PROBE_OUT` instead of counting,
//! tracking or passing anything. They share the datapath's maps (one object) and code, but
//! are separate programs: the live programs carry none of this, and sgd loads the probes only
//! when asked.

/// [`ProbeOut::reason`] when the interface has no configuration (not protected).
pub const PROBE_UNPROTECTED: u32 = u32::MAX;

/// What the probe found (`PROBE_OUT[0]`). Userspace zeroes it before each run.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProbeOut {
    /// 1 once the probe ran.
    pub done: u32,
    /// The reason the datapath would count (`crate::stats`): `PASS_RULE`, `PASS_ALWAYS`,
    /// `DROP_NO_RULE`, `DROP_SPOOFED`, `DROP_MALFORMED`, or [`PROBE_UNPROTECTED`].
    pub reason: u32,
    /// `PASS_RULE`: the rule-hit key of what admitted it (`crate::rule::RuleHitKey`).
    pub entry: u32,
    pub element: u32,
    /// `PASS_RULE`: 1 if the flow would be tracked (0: untracked, SG-ENF-3, or not a
    /// tracked kind of traffic).
    pub tracked: u32,
    /// The direction the interface's configuration gives the packet (`crate::dir`).
    pub dir: u32,
}
const _: () = assert!(core::mem::size_of::<ProbeOut>() == 24);

#[cfg(feature = "user")]
unsafe impl aya::Pod for ProbeOut {}
