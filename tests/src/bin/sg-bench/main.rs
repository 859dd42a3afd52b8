//! `cargo xtask bench`: figures for `docs/benchmarks.md`, measured in one run on this machine.
//! Benchmarks are not tests: they print and record, they do not fail on a slow machine.
//!
//! Writes `<out>/results.json` (flat dotted keys, e.g. `testrun.new_allow_ns.10000`) and a
//! Markdown report. A figure measured over several rounds is the median of its rounds, with
//! its spread beside it as `<key>.min` and `<key>.max`; a ratio of two sides is taken round by
//! round (the sides take turns within each round) and reported the same way.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use sg_tests::lab::with_lab_sized;

mod api;
mod conntrack;
mod control;
mod datapath_log;
mod fleet;
mod flood;
mod flowlog;
mod report;
mod synflood;
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
            // One watcher of the fleet section's bare etcd baseline (`fleet::etcd_delivery`).
            "--etcd-watcher" => {
                let url = args.next().expect("--etcd-watcher URL PREFIX");
                let prefix = args.next().expect("--etcd-watcher URL PREFIX");
                fleet::etcd_watcher(&url, &prefix);
                return;
            }
            "--out" => opts.out = args.next().expect("--out DIR").into(),
            "--doc" => opts.doc = Some(args.next().expect("--doc FILE").into()),
            // Rewrites the report from a run's results.json (and, for the comparison, the
            // previous run's) without measuring anything.
            "--report-from" => {
                let this = args.next().expect("--report-from RESULTS PREVIOUS");
                let previous = args.next().expect("--report-from RESULTS PREVIOUS");
                let read = |f: &str| -> Results {
                    serde_json::from_slice(&std::fs::read(f).expect("results file"))
                        .expect("results JSON")
                };
                let report = report::report(&read(&this), Some(&read(&previous)), false);
                match &opts.doc {
                    Some(doc) => std::fs::write(doc, report).expect("write report"),
                    None => println!("{report}"),
                }
                return;
            }
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
    if want("datapath_log") {
        eprintln!("[bench] the datapath's log: default level against off");
        r.extend(datapath_log::datapath_log(quick));
    }
    if want("flowlog") {
        eprintln!("[bench] flow logs: their cost per packet and under a flood, and what they lose");
        r.extend(flowlog::flowlog(quick));
    }
    if want("synflood") {
        eprintln!("[bench] SYN floods: the half-open budget and SYN cookies, on and off");
        r.extend(synflood::synflood(quick));
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
    if want("api") {
        eprintln!("[bench] EC2 Query API beside moto_server");
        r.extend(api::api(quick));
    }
    if want("fleet") {
        eprintln!("[bench] fleet: sgds sharing etcd");
        r.extend(fleet::fleet(quick));
    }
    std::fs::create_dir_all(&opts.out).expect("output directory");
    // The previous full run's figures, to say whether this one agrees with it.
    let previous: Option<Results> = std::fs::read(opts.out.join("results.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
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
    let report = report::report(&r, previous.as_ref(), quick);
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

/// Records the median of `v` (one value per round) as `key`, and its spread as `key.min` and
/// `key.max` when there was more than one round.
pub(crate) fn insert_spread(r: &mut Results, key: &str, v: &[f64]) {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return;
    }
    if v.len() > 1 {
        let (min, max) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        r.insert(format!("{key}.min"), min);
        r.insert(format!("{key}.max"), max);
    }
    r.insert(key.to_owned(), median(v));
}

/// Records the ratio of two sides measured in the same rounds: each round's `a` over that
/// round's `b`, with its spread (see [`insert_spread`]).
pub(crate) fn insert_ratio(r: &mut Results, key: &str, a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{key}: both sides in every round");
    let ratios: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    insert_spread(r, key, &ratios);
}

/// Whether `key` is the spread of another key (`.min`, `.max`).
pub(crate) fn is_spread(key: &str) -> bool {
    key.ends_with(".min") || key.ends_with(".max")
}

/// Median over `rounds` of the kernel's average time per run over `repeat` runs, ns.
pub(crate) fn per_run(rounds: usize, mut f: impl FnMut() -> Duration) -> f64 {
    median((0..rounds).map(|_| f().as_nanos() as f64).collect())
}
