//! `cargo xtask bench`: figures for `docs/benchmarks.md`, measured in one run on this machine.
//! Benchmarks are not tests: they print and record, they do not fail on a slow machine.
//!
//! Writes `<out>/results.json` (flat dotted keys, e.g. `testrun.new_allow_ns.10000`) and a
//! Markdown report.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use sg_tests::lab::with_lab_sized;

mod conntrack;
mod control;
mod flood;
mod report;
mod testrun;
mod throughput;

type Results = BTreeMap<String, f64>;

pub(crate) const ME4: &str = "192.0.2.1";
pub(crate) const ME6: &str = "2001:db8::1";

struct Opts {
    quick: bool,
    /// Sections to run (all when empty); no report is written for a partial run.
    only: Vec<String>,
    out: PathBuf,
    doc: Option<PathBuf>,
}

fn main() {
    let mut opts = Opts {
        quick: false,
        only: Vec::new(),
        out: PathBuf::from("target/bench"),
        doc: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => opts.quick = true,
            "--only" => {
                opts.only = args
                    .next()
                    .expect("--only SECTION[,SECTION...]")
                    .split(',')
                    .map(String::from)
                    .collect()
            }
            "--out" => opts.out = args.next().expect("--out DIR").into(),
            "--doc" => opts.doc = Some(args.next().expect("--doc FILE").into()),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        nix::unistd::geteuid().is_root(),
        "the benchmarks load eBPF programs: run as root"
    );
    let mut r = Results::new();
    let quick = opts.quick;
    let want = |section: &str| opts.only.is_empty() || opts.only.iter().any(|s| s == section);
    if want("testrun") {
        eprintln!("[bench] per-packet cost (TestRun)");
        r.extend(with_lab_sized(1 << 21, 1 << 16, move |l| {
            testrun::testrun(l, quick)
        }));
    }
    if want("control") {
        eprintln!("[bench] control plane");
        r.extend(with_lab_sized(1 << 16, 1 << 16, move |l| {
            control::control(l, quick)
        }));
    }
    if want("conntrack") {
        eprintln!("[bench] conntrack sweep");
        r.extend(with_lab_sized(1 << 21, 1 << 16, move |l| {
            conntrack::conntrack(l, quick)
        }));
    }
    if want("flood") {
        eprintln!("[bench] flood of live XDP frames");
        match flood::live_frames() {
            Ok(()) => r.extend(flood::flood(quick)),
            Err(why) => {
                eprintln!("[bench] flood (a) not measured: {why}");
                r.insert("flood.live_frames_refused".into(), 1.0);
            }
        }
    }
    if want("flood_skb") {
        eprintln!("[bench] flood of socket buffers (trafgen)");
        r.extend(flood::flood_skb(quick));
    }
    if want("throughput") {
        eprintln!("[bench] single-stream TCP throughput (iperf3)");
        r.extend(throughput::throughput(quick));
    }
    std::fs::create_dir_all(&opts.out).expect("output directory");
    let json: serde_json::Map<String, serde_json::Value> = r
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::json!((v * 100.0).round() / 100.0)))
        .collect();
    let path = opts.out.join("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json).expect("json"))
        .expect("write results");
    eprintln!("[bench] wrote {}", path.display());
    if !opts.only.is_empty() {
        for (k, v) in &r {
            println!("{k:<40} {v:>14.1}");
        }
        return;
    }
    let report = report::report(&r, quick);
    println!("{report}");
    if let Some(doc) = opts.doc {
        std::fs::write(&doc, report).expect("write report");
        eprintln!("[bench] wrote {}", doc.display());
    }
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

pub(crate) fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Median over `rounds` of the kernel's average time per run over `repeat` runs, ns.
pub(crate) fn per_run(rounds: usize, mut f: impl FnMut() -> Duration) -> f64 {
    median((0..rounds).map(|_| f().as_nanos() as f64).collect())
}
