//! The benchmarks' own programs (feature `bench`, enabled by `sg-tests` for `sg-bench`): the
//! object `sg-bench-ebpf`, loaded apart from the datapath, so `sgd` carries and loads none of
//! it. It holds the baselines of the per-packet figures (the empty program, one conntrack
//! lookup, a counting drop-all) and the live-frame flood generator.

use aya::{
    Ebpf,
    maps::{DevMap, HashMap, MapError, PerCpuArray},
    programs::{ProgramError, TestRun, TestRunOptions, Xdp, XdpMode, links::FdLink},
};
use sg_common::{
    conntrack::{BENCH_CT_KEY, CtKey, CtValue},
    maps::bench as names,
};

/// The benchmark object built by `build.rs`.
static BENCH_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sg-bench-ebpf"));

/// Why a benchmark program could not be loaded, run or attached.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("loading the benchmark object failed: {0}")]
    Load(#[from] aya::EbpfError),
    #[error("the benchmark object has no {0}")]
    Missing(&'static str),
    #[error("benchmark program error: {0}")]
    Program(#[from] ProgramError),
    #[error("benchmark map {map}: {source}")]
    Map {
        map: &'static str,
        #[source]
        source: MapError,
    },
    #[error("the kernel's BPF run-time statistics cannot be enabled: {0}")]
    Stats(String),
    #[error("the flood's target device cannot be set: {0}")]
    Target(#[from] aya::maps::xdp::XdpMapError),
    #[error("the benchmark program's link cannot be owned: {0}")]
    Link(#[from] aya::programs::links::LinkError),
    #[error("attaching {program} to {iface} in native mode failed: {source}")]
    Attach {
        program: &'static str,
        iface: String,
        #[source]
        source: ProgramError,
    },
}

/// The loaded benchmark object. Its programs are loaded into the kernel on first use.
pub struct BenchPrograms {
    ebpf: Ebpf,
}

impl BenchPrograms {
    /// Loads the object's maps, with the conntrack floor's one entry in place.
    pub fn load() -> Result<Self, BenchError> {
        let mut ebpf = Ebpf::load(BENCH_OBJECT)?;
        let map = ebpf
            .map_mut(names::CT)
            .ok_or(BenchError::Missing(names::CT))?;
        let mut ct = HashMap::<_, CtKey, CtValue>::try_from(map).map_err(map_err(names::CT))?;
        ct.insert(BENCH_CT_KEY, CtValue::default(), 0)
            .map_err(map_err(names::CT))?;
        Ok(Self { ebpf })
    }

    fn xdp(&mut self, name: &'static str) -> Result<&mut Xdp, BenchError> {
        let prog: &mut Xdp = self
            .ebpf
            .program_mut(name)
            .ok_or(BenchError::Missing(name))?
            .try_into()?;
        if prog.fd().is_err() {
            prog.load()?;
        }
        Ok(prog)
    }

    /// Runs one of the object's programs (`sg_common::maps::bench::PROG_*`) on a frame,
    /// `repeat` times, as if it arrived on `ifindex`; returns the kernel's time per run and
    /// the program's return value.
    pub fn test_run(
        &mut self,
        name: &'static str,
        ifindex: u32,
        frame: &[u8],
        repeat: u32,
    ) -> Result<(std::time::Duration, u32), BenchError> {
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        opts.repeat = repeat.max(1);
        // struct xdp_md: data, data_end, data_meta, ingress_ifindex, ...
        let mut ctx = [0u8; 24];
        ctx[4..8].copy_from_slice(&(frame.len() as u32).to_ne_bytes());
        ctx[12..16].copy_from_slice(&ifindex.to_ne_bytes());
        opts.ctx_in = Some(&ctx);
        let r = self.xdp(name)?.test_run(opts)?;
        Ok((r.duration, r.return_value))
    }

    /// The empty program's time per run on a frame: the per-packet figures' baseline.
    pub fn test_run_noop(
        &mut self,
        ifindex: u32,
        frame: &[u8],
        repeat: u32,
    ) -> Result<std::time::Duration, BenchError> {
        Ok(self.test_run(names::PROG_NOOP, ifindex, frame, repeat)?.0)
    }

    /// Sends `frames` copies of `frame` into device `target` as live XDP frames
    /// (BPF_F_TEST_XDP_LIVE_FRAMES), `batch` at a time; returns the time it took.
    pub fn flood(
        &mut self,
        target: u32,
        frame: &[u8],
        frames: u32,
        batch: u32,
    ) -> Result<std::time::Duration, BenchError> {
        let map = self
            .ebpf
            .map_mut(names::TX)
            .ok_or(BenchError::Missing(names::TX))?;
        let mut tx = DevMap::try_from(map).map_err(map_err(names::TX))?;
        tx.set(0, target, None, 0)?;
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        opts.repeat = frames;
        opts.attrs = aya::programs::TestRunAttrs::new().xdp_live_frames(batch);
        let generator = self.xdp(names::PROG_REDIRECT)?;
        let start = std::time::Instant::now();
        generator.test_run(opts)?;
        Ok(start.elapsed())
    }

    /// Attaches the counting drop-all program (`drop`) or the empty one to an interface in
    /// native mode; the returned link detaches it when dropped.
    pub fn attach(&mut self, ifname: &str, drop: bool) -> Result<FdLink, BenchError> {
        let name = if drop {
            names::PROG_DROP
        } else {
            names::PROG_NOOP
        };
        let prog = self.xdp(name)?;
        let attach_err = |source| BenchError::Attach {
            program: name,
            iface: ifname.to_owned(),
            source,
        };
        let id = prog.attach(ifname, XdpMode::Driver).map_err(attach_err)?;
        let link = prog.take_link(id)?;
        Ok(FdLink::try_from(link)?)
    }

    /// Frames the drop-all program dropped so far.
    pub fn drops(&self) -> u64 {
        self.ebpf
            .map(names::DROPS)
            .and_then(|map| PerCpuArray::<_, u64>::try_from(map).ok())
            .and_then(|arr| arr.get(&0, 0).ok())
            .map(|v| v.iter().sum())
            .unwrap_or(0)
    }
}

/// The kernel's run-time statistics of BPF programs (`BPF_ENABLE_STATS`, the system call behind
/// `kernel.bpf_stats_enabled`): on while this value lives. Measuring costs every program run
/// two clock reads, so throughput figures are taken with it off.
pub struct RunStats {
    _on: std::os::fd::OwnedFd,
}

/// What the kernel counted for the programs of one name: total run time and runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgramRuns {
    pub time: std::time::Duration,
    pub count: u64,
}

impl ProgramRuns {
    /// Average time per run since `earlier`, ns (NaN when nothing ran).
    pub fn ns_per_run_since(&self, earlier: ProgramRuns) -> f64 {
        let runs = self.count.saturating_sub(earlier.count);
        let time = self.time.saturating_sub(earlier.time);
        if runs == 0 {
            f64::NAN
        } else {
            time.as_nanos() as f64 / runs as f64
        }
    }

    /// Runs since `earlier`.
    pub fn runs_since(&self, earlier: ProgramRuns) -> u64 {
        self.count.saturating_sub(earlier.count)
    }
}

impl RunStats {
    pub fn enable() -> Result<Self, BenchError> {
        let on = aya::sys::enable_stats(aya::sys::Stats::RunTime)
            .map_err(|e| BenchError::Stats(e.to_string()))?;
        Ok(Self { _on: on })
    }

    /// The totals of every loaded program named `name` (names as the kernel keeps them: at
    /// most 15 characters), whoever loaded it.
    pub fn of(&self, name: &str) -> ProgramRuns {
        let kernel_name = &name[..name.len().min(15)];
        aya::programs::loaded_programs()
            .flatten()
            .filter(|p| p.name_as_str() == Some(kernel_name))
            .fold(ProgramRuns::default(), |acc, p| ProgramRuns {
                time: acc.time + p.run_time(),
                count: acc.count + p.run_count(),
            })
    }
}

fn map_err(map: &'static str) -> impl FnOnce(MapError) -> BenchError {
    move |source| BenchError::Map { map, source }
}
