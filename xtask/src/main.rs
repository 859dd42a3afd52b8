//! `cargo xtask`: set-up, build and test orchestration.
//!
//! * `cargo xtask run [-- SGD-ARGS]`: install what is missing, build, start `sgd` in the
//!   foreground.
//! * `cargo xtask test [-- CARGO-TEST-ARGS]`: install what is missing, build the binaries, run
//!   every test (unit tests and the root namespace tests), then every fuzz target for
//!   `SG_FUZZ_SECONDS` (20) seconds each; `SG_FUZZ_SECONDS=0` leaves the fuzzing out, and so
//!   do arguments for `cargo test` unless `SG_FUZZ_SECONDS` is set.
//! * `cargo xtask fuzz [--seconds N] [TARGET...]`: install cargo-fuzz if missing, build the
//!   fuzz targets of `fuzz/` (nightly, libFuzzer, AddressSanitizer) and run each (or those
//!   named) for N seconds (60), from a scratch copy of its seed corpus `fuzz/corpus/<target>`;
//!   fails if one crashes, printing the crashing input's path (see `fuzz.rs`).
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
    /// Run every test: unit tests, then the kernel tests in network namespaces (as root).
    /// With SG_REQUIRE_ROOT=1 a test that cannot run as root fails instead of skipping.
    Test {
        /// Extra arguments for `cargo test` (after `--`).
        #[arg(last = true)]
        args: Vec<String>,
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
