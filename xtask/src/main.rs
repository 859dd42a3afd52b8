//! `cargo xtask`: set-up, build and test orchestration.
//!
//! * `cargo xtask run [-- SGD-ARGS]`: install what is missing, build, start `sgd` in the
//!   foreground.
//! * `cargo xtask test [-- CARGO-TEST-ARGS]`: install what is missing, build the binaries, run
//!   every test (unit tests and the root namespace tests), then the soak for
//!   `SG_SOAK_MINUTES` (2) minutes, then every fuzz target for
//!   `SG_FUZZ_SECONDS` (20) seconds each; `SG_FUZZ_SECONDS=0` leaves the fuzzing out, and so
//!   do arguments for `cargo test` unless `SG_FUZZ_SECONDS` is set.
//! * `cargo xtask fuzz [--seconds N] [TARGET...]`: install cargo-fuzz if missing, build the
//!   fuzz targets of `fuzz/` (nightly, libFuzzer, AddressSanitizer) and run each (or those
//!   named) for N seconds (60), from a scratch copy of its seed corpus `fuzz/corpus/<target>`;
//!   fails if one crashes, printing the crashing input's path (see `fuzz.rs`).
//! * `cargo xtask soak [--minutes N] [--seed S]`: build (release) and run `sg-soak`: real
//!   traffic through sgd while a driver changes rules and restarts sgd, every probe judged by
//!   the reference evaluator; fails on any wrong verdict (see `tests/src/bin/sg-soak`).
//!   `cargo xtask test` runs it for `SG_SOAK_MINUTES` (2) minutes after the tests.
//! * `cargo xtask setup`: only install what is missing.

mod fuzz;
mod setup;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install missing prerequisites (Debian packages, rust-src for nightly, bpf-linker,
    /// cargo-fuzz).
    Setup,
    /// Build and start sgd in the foreground with the default paths (arguments after `--` go
    /// to sgd).
    Run {
        /// Build in debug mode instead of release.
        #[arg(long)]
        debug: bool,
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Measure: per-packet cost (TestRun) against an empty XDP program, control-plane
    /// latencies, conntrack sweeping. Writes target/bench/results.json and docs/benchmarks.md.
    Bench {
        /// Fewer repetitions and a 100k-entry sweep instead of 1M.
        #[arg(long)]
        quick: bool,
    },
    /// Run every test: unit tests, then the kernel tests in network namespaces (as root),
    /// then a short soak (SG_SOAK_MINUTES, 2) and a short run of each fuzz target
    /// (SG_FUZZ_SECONDS, 20). With SG_REQUIRE_ROOT=1 a test that cannot run as root fails
    /// instead of skipping.
    Test {
        /// Extra arguments for `cargo test` (after `--`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Soak: real traffic (TCP, UDP, ICMP, both ways, allowed and refused) through sgd while
    /// a driver authorizes, revokes, attaches, detaches, changes timeouts and kills sgd; every
    /// probe is judged by the reference evaluator. Writes target/soak/report.{json,md}.
    Soak {
        /// How long to run.
        #[arg(long, default_value_t = 60.0)]
        minutes: f64,
        /// Replays a run's choices (printed at its start).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Fuzz the parsers and the model (fuzz/: cargo-fuzz, libFuzzer, AddressSanitizer): each
    /// target, or those named, for a while; fails if one finds a crash.
    Fuzz {
        /// Seconds each target runs.
        #[arg(long, default_value_t = fuzz::DEFAULT_SECONDS)]
        seconds: u64,
        /// The targets to run (default: all; `cd fuzz && cargo fuzz list` names them).
        targets: Vec<String>,
    },
}

/// Seconds per fuzz target that `cargo xtask test` runs after the tests.
const TEST_FUZZ_SECONDS: u64 = 20;

/// Minutes of soak that `cargo xtask test` runs after the tests.
const TEST_SOAK_MINUTES: f64 = 2.0;

/// Runs `sg-soak` from `bin_dir` (where `sgd` and `sgctl` are too) for `minutes`.
fn soak(root: &Path, bin_dir: &Path, minutes: f64, seed: Option<u64>) -> anyhow::Result<()> {
    let mut cmd = Command::new(bin_dir.join("sg-soak"));
    cmd.current_dir(root)
        .env("SG_BIN_DIR", bin_dir)
        .arg("--minutes")
        .arg(minutes.to_string())
        .arg("--out")
        .arg(target_dir(root).join("soak"));
    if let Some(seed) = seed {
        cmd.arg("--seed").arg(seed.to_string());
    }
    println!("[soak] {cmd:?}");
    run(&mut cmd)
}

/// `SG_FUZZ_SECONDS`, or [`TEST_FUZZ_SECONDS`] when unset.
fn test_fuzz_seconds() -> anyhow::Result<u64> {
    match std::env::var("SG_FUZZ_SECONDS") {
        Err(_) => Ok(TEST_FUZZ_SECONDS),
        Ok(v) => v.trim().parse().with_context(|| {
            format!("SG_FUZZ_SECONDS={v:?}: expected a number of seconds (0: no fuzzing)")
        }),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = workspace_root();
    match cli.cmd {
        Cmd::Setup => {
            setup::ensure()?;
            setup::ensure_cargo_fuzz()
        }
        Cmd::Run { debug, args } => {
            setup::ensure()?;
            let profile = if debug { "debug" } else { "release" };
            println!("[build] sg-userspace ({profile})");
            let mut build = cargo();
            build
                .current_dir(&root)
                .args(["build", "-p", "sg-userspace", "--bins"]);
            if !debug {
                build.arg("--release");
            }
            run(&mut build)?;
            let sgd = target_dir(&root).join(profile).join("sgd");
            println!("[run] {} {}", sgd.display(), args.join(" "));
            println!(
                "[run] in another terminal: {} describe-security-groups",
                sgd.with_file_name("sgctl").display()
            );
            let status = Command::new(&sgd)
                .args(&args)
                .status()
                .with_context(|| format!("starting {}", sgd.display()))?;
            std::process::exit(status.code().unwrap_or(1));
        }
        Cmd::Bench { quick } => {
            setup::ensure_with(&["iperf3", "netsniff-ng"])?;
            let venv = target_dir(&root).join("aws-venv");
            setup::ensure_aws_clients(&venv)?;
            setup::ensure_moto(&venv)?;
            println!("[build] sgd, sgctl, sg-bench (release)");
            run(cargo()
                .current_dir(&root)
                .args(["build", "--release", "--bins"]))?;
            let bench = target_dir(&root).join("release").join("sg-bench");
            let out = target_dir(&root).join("bench");
            let doc = root.join("docs").join("benchmarks.md");
            println!(
                "[bench] {} -> {} and {}",
                bench.display(),
                out.join("results.json").display(),
                doc.display()
            );
            let mut cmd = Command::new(&bench);
            cmd.env("SG_BIN_DIR", target_dir(&root).join("release"));
            cmd.env("SG_AWS_VENV", &venv);
            cmd.arg("--out").arg(&out).arg("--doc").arg(&doc);
            if quick {
                cmd.arg("--quick");
            }
            run(&mut cmd)
        }
        Cmd::Soak { minutes, seed } => {
            setup::ensure()?;
            println!("[build] sgd, sgctl, sg-soak (release)");
            run(cargo()
                .current_dir(&root)
                .args(["build", "--release", "--bins"]))?;
            soak(&root, &target_dir(&root).join("release"), minutes, seed)
        }
        Cmd::Fuzz { seconds, targets } => {
            setup::ensure()?;
            setup::ensure_cargo_fuzz()?;
            fuzz::run(&root, seconds, &targets)
        }
        Cmd::Test { args } => {
            // Arguments for `cargo test` pick some tests: fuzzing then only when asked.
            let fuzz_seconds = if args.is_empty() || std::env::var_os("SG_FUZZ_SECONDS").is_some() {
                test_fuzz_seconds()?
            } else {
                0
            };
            setup::ensure_with(setup::ETCD_PACKAGES)?;
            if fuzz_seconds > 0 {
                setup::ensure_cargo_fuzz()?;
            }
            let venv = target_dir(&root).join("aws-venv");
            setup::ensure_aws_clients(&venv)?;
            println!("[build] sgd, sgctl");
            run(cargo().current_dir(&root).args(["build", "--bins"]))?;
            let bin_dir = target_dir(&root).join("debug");
            println!(
                "[test] cargo test (SG_BIN_DIR={}, SG_AWS_VENV={})",
                bin_dir.display(),
                venv.display()
            );
            run(cargo()
                .current_dir(&root)
                .env("SG_BIN_DIR", &bin_dir)
                .env("SG_AWS_VENV", &venv)
                .args(["test"])
                .args(&args))?;
            println!("[test] all tests passed");
            // The soak goes with the whole suite, or when asked for.
            let soak_minutes = match std::env::var("SG_SOAK_MINUTES") {
                Ok(v) => v.trim().parse().with_context(|| {
                    format!("SG_SOAK_MINUTES={v:?}: expected minutes (0: no soak)")
                })?,
                Err(_) if args.is_empty() => TEST_SOAK_MINUTES,
                Err(_) => 0.0,
            };
            if soak_minutes > 0.0 {
                println!(
                    "[soak] now soaking for {soak_minutes} minutes (as `cargo xtask soak \
                     --minutes {soak_minutes}`; SG_SOAK_MINUTES sets the time, 0 skips this)"
                );
                soak(&root, &bin_dir, soak_minutes, None)?;
            } else {
                println!("[soak] skipped (SG_SOAK_MINUTES=0, or arguments for cargo test)");
            }
            if fuzz_seconds == 0 {
                println!(
                    "[fuzz] skipped (SG_FUZZ_SECONDS=0, or arguments for cargo test without \
                     SG_FUZZ_SECONDS)"
                );
                return Ok(());
            }
            println!(
                "[fuzz] now fuzzing every target for {fuzz_seconds} s (as `cargo xtask fuzz \
                 --seconds {fuzz_seconds}`; SG_FUZZ_SECONDS sets the time, 0 skips this)"
            );
            fuzz::run(&root, fuzz_seconds, &[])
        }
    }
}
