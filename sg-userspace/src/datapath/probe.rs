//! Explaining a verdict with the live maps: runs a probe program (see `sg_common::probe`) on a
//! crafted frame with BPF_PROG_TEST_RUN, as if it crossed a protected interface, and reads
//! back what the datapath would decide and which rule would admit it. Nothing is counted,
//! tracked or created. The probes are loaded on first use.

use aya::{
    maps::{Array, MapData},
    programs::{SchedClassifier, TestRun, TestRunOptions},
};
use sg_common::{
    maps as names,
    probe::{PROBE_UNPROTECTED, ProbeOut},
};

use super::{Datapath, DatapathError, map_err, program};

/// What the probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    /// The reason the datapath would count (`sg_common::stats`); `None`: the interface has no
    /// configuration in the kernel (not protected).
    pub reason: Option<u32>,
    /// When a rule admits it: the ids of the rules its rule-hit key is credited to.
    pub rule_ids: Vec<String>,
    /// When a rule admits it: whether the flow would be tracked.
    pub tracked: bool,
    /// Whether the interface's configuration makes it inbound traffic.
    pub inbound: bool,
}

impl Datapath {
    /// Judges `frame` (Ethernet) as the first packet of a new flow arriving on (`arriving`) or
    /// leaving protected interface `iface`.
    pub fn probe(
        &mut self,
        iface: &str,
        arriving: bool,
        frame: &[u8],
    ) -> Result<Probed, DatapathError> {
        let ifindex = self
            .attached
            .get(iface)
            .map(|a| a.ifindex)
            .ok_or_else(|| DatapathError::NoDevice(iface.to_owned()))?;
        let name = if arriving {
            names::PROG_PROBE_ARRIVING
        } else {
            names::PROG_PROBE_LEAVING
        };
        let prog: &mut SchedClassifier = program(&mut self.ebpf, name)?;
        if prog.fd().is_err() {
            prog.load()?;
        }
        let mut out: Array<&mut MapData, ProbeOut> = Array::try_from(
            self.ebpf
                .map_mut(names::PROBE_OUT)
                .ok_or(DatapathError::Missing(names::PROBE_OUT))?,
        )
        .map_err(map_err(names::PROBE_OUT))?;
        out.set(0, ProbeOut::default(), 0)
            .map_err(map_err(names::PROBE_OUT))?;
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        // struct __sk_buff up to `ifindex` (offset 40); everything else zero.
        let mut ctx = [0u8; 44];
        ctx[40..44].copy_from_slice(&ifindex.to_ne_bytes());
        opts.ctx_in = Some(&ctx);
        let prog: &mut SchedClassifier = program(&mut self.ebpf, name)?;
        prog.test_run(opts)?;
        let out: Array<&MapData, ProbeOut> = Array::try_from(
            self.ebpf
                .map(names::PROBE_OUT)
                .ok_or(DatapathError::Missing(names::PROBE_OUT))?,
        )
        .map_err(map_err(names::PROBE_OUT))?;
        let got = out.get(&0, 0).map_err(map_err(names::PROBE_OUT))?;
        if got.done != 1 {
            return Err(DatapathError::Missing("a probe outcome"));
        }
        let reason = (got.reason != PROBE_UNPROTECTED).then_some(got.reason);
        let rule_ids = match reason {
            Some(sg_common::stats::PASS_RULE) => self.rules_of(
                iface,
                sg_common::rule::RuleHitKey {
                    entry: got.entry,
                    element: got.element,
                },
            ),
            _ => Vec::new(),
        };
        Ok(Probed {
            reason,
            rule_ids,
            tracked: got.tracked != 0,
            inbound: got.dir == u32::from(sg_common::dir::INBOUND),
        })
    }
}
