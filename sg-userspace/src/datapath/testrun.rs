//! Test runs: runs a hook's program on a hand-built frame with BPF_PROG_TEST_RUN (tests and
//! benchmarks; the benchmarks' own programs are in `crate::bench`).

use aya::programs::{SchedClassifier, TestRun, TestRunOptions};
use sg_common::maps as names;

use super::{Datapath, DatapathError, XDP_PASS, program};

impl Datapath {
    /// Runs one hook's program on a frame with BPF_PROG_TEST_RUN, as if it crossed interface
    /// `ifindex` (which must exist in this network namespace). Returns whether it passed and
    /// the kernel's average time per run. For tests and benchmarks; map state changes as for
    /// real traffic.
    pub fn test_run(
        &mut self,
        hook: Hook,
        ifindex: u32,
        frame: &[u8],
        repeat: u32,
    ) -> Result<TestRunOutcome, DatapathError> {
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        opts.repeat = repeat.max(1);
        let res = match hook {
            Hook::Xdp => {
                // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index,
                // egress_ifindex.
                let mut ctx = [0u8; 24];
                ctx[4..8].copy_from_slice(&(frame.len() as u32).to_ne_bytes());
                ctx[12..16].copy_from_slice(&ifindex.to_ne_bytes());
                opts.ctx_in = Some(&ctx);
                let r = self.xdp_prog()?.test_run(opts)?;
                (r.return_value == XDP_PASS, r.duration)
            }
            Hook::TcEgress | Hook::TcIngress => {
                // struct __sk_buff up to `ifindex` (offset 40); everything else zero.
                let mut ctx = [0u8; 44];
                ctx[40..44].copy_from_slice(&ifindex.to_ne_bytes());
                opts.ctx_in = Some(&ctx);
                let name = if hook == Hook::TcIngress {
                    names::PROG_TC_INGRESS
                } else {
                    names::PROG_TC_EGRESS
                };
                let prog: &mut SchedClassifier = program(&mut self.ebpf, name)?;
                let r = prog.test_run(opts)?;
                (r.return_value as i32 != TC_ACT_SHOT, r.duration)
            }
        };
        Ok(TestRunOutcome {
            pass: res.0,
            per_run: res.1,
        })
    }
}

/// Which program a packet runs through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// XDP: packets arriving on the interface.
    Xdp,
    /// TC ingress: packets arriving, where sgd does not use XDP.
    TcIngress,
    /// TC egress: packets leaving it.
    TcEgress,
}

/// What one `test_run` returned.
#[derive(Debug, Clone, Copy)]
pub struct TestRunOutcome {
    pub pass: bool,
    /// Average time of one run, as the kernel measured it.
    pub per_run: std::time::Duration,
}

const TC_ACT_SHOT: i32 = 2;
