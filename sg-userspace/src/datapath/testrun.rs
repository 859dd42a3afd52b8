//! Test runs: runs a hook's program on a hand-built frame with BPF_PROG_TEST_RUN (tests and
//! benchmarks), and the benchmark hooks `sg-bench` uses: the benchmark-only programs, live-frame
//! floods, and attaching the drop-all or pass-everything program. `sgd` calls none of this.

use aya::{
    maps::PerCpuArray,
    programs::{SchedClassifier, TestRun, TestRunOptions, Xdp, XdpMode, links::FdLink},
};
use sg_common::maps as names;

use super::{Datapath, DatapathError, XDP_PASS, map_err, program};

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

    /// Runs the pass-everything XDP program on a frame, `repeat` times: the baseline of the
    /// per-packet benchmarks. Loaded on first use.
    pub fn test_run_noop(
        &mut self,
        ifindex: u32,
        frame: &[u8],
        repeat: u32,
    ) -> Result<std::time::Duration, DatapathError> {
        Ok(self
            .test_run_bench(names::PROG_NOOP, ifindex, frame, repeat)?
            .0)
    }

    /// Runs one of the benchmark-only XDP programs (`sg_common::maps::PROG_*`) on a frame,
    /// `repeat` times; returns the kernel's time per run and the program's return value.
    /// Loaded on first use.
    pub fn test_run_bench(
        &mut self,
        name: &'static str,
        ifindex: u32,
        frame: &[u8],
        repeat: u32,
    ) -> Result<(std::time::Duration, u32), DatapathError> {
        let noop: &mut Xdp = program(&mut self.ebpf, name)?;
        if noop.fd().is_err() {
            noop.load()?;
        }
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        opts.repeat = repeat.max(1);
        let mut ctx = [0u8; 24];
        ctx[4..8].copy_from_slice(&(frame.len() as u32).to_ne_bytes());
        ctx[12..16].copy_from_slice(&ifindex.to_ne_bytes());
        opts.ctx_in = Some(&ctx);
        let r = noop.test_run(opts)?;
        Ok((r.duration, r.return_value))
    }

    /// Benchmarks: sends `frames` copies of `frame` into device `target` as live XDP frames
    /// (BPF_F_TEST_XDP_LIVE_FRAMES), `batch` at a time; returns the time it took.
    pub fn bench_flood(
        &mut self,
        target: u32,
        frame: &[u8],
        frames: u32,
        batch: u32,
    ) -> Result<std::time::Duration, DatapathError> {
        let mut tx = aya::maps::DevMap::try_from(
            self.ebpf
                .map_mut(names::BENCH_TX)
                .ok_or(DatapathError::Missing(names::BENCH_TX))?,
        )
        .map_err(map_err(names::BENCH_TX))?;
        tx.set(0, target, None, 0)
            .map_err(|e| DatapathError::Bench(e.to_string()))?;
        let generator: &mut Xdp = program(&mut self.ebpf, names::PROG_BENCH_REDIRECT)?;
        if generator.fd().is_err() {
            generator.load()?;
        }
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        opts.repeat = frames;
        opts.attrs = aya::programs::TestRunAttrs::new().xdp_live_frames(batch);
        let start = std::time::Instant::now();
        generator.test_run(opts)?;
        Ok(start.elapsed())
    }

    /// Benchmarks: attaches the counting drop-all program (`drop`) or the pass-everything one to
    /// an interface in native mode; the returned link detaches it when dropped.
    pub fn bench_attach(&mut self, ifname: &str, drop: bool) -> Result<FdLink, DatapathError> {
        let name = if drop {
            names::PROG_BENCH_DROP
        } else {
            names::PROG_NOOP
        };
        let drop: &mut Xdp = program(&mut self.ebpf, name)?;
        if drop.fd().is_err() {
            drop.load()?;
        }
        let id = drop
            .attach(ifname, XdpMode::Driver)
            .map_err(|source| DatapathError::Attach {
                iface: ifname.to_owned(),
                source,
            })?;
        let link = drop.take_link(id)?;
        FdLink::try_from(link).map_err(|source| DatapathError::Link {
            iface: ifname.to_owned(),
            source,
        })
    }

    /// Benchmarks: frames the drop-all program dropped.
    pub fn bench_drops(&self) -> u64 {
        let Some(map) = self.ebpf.map(names::BENCH_DROPS) else {
            return 0;
        };
        let Ok(arr) = PerCpuArray::<_, u64>::try_from(map) else {
            return 0;
        };
        arr.get(&0, 0).map(|v| v.iter().sum()).unwrap_or(0)
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
