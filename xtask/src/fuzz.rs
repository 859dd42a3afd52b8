//! `cargo xtask fuzz`: builds the fuzz targets of `fuzz/` (cargo-fuzz: libFuzzer with
//! AddressSanitizer, on nightly) and runs each for a while from a scratch copy of its seed
//! corpus; fails if any target finds a crash, naming the input that crashes it.
//!
//! Everything it writes is under `fuzz/target/run/`: per target the corpus it grows (seeded
//! from `fuzz/corpus/<target>`, which stays as committed, and kept from run to run), the
//! inputs that crash (`artifacts/<target>/`, emptied before each run) and libFuzzer's log.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, bail};

/// Seconds each target runs by default (`--seconds`).
pub const DEFAULT_SECONDS: u64 = 60;

/// The build cargo-fuzz makes and runs: `--dev` with the fuzz crate's `[profile.dev]`
/// (opt-level 1), which builds in about half the time of its default release build (one
/// codegen unit, opt-level 3): on 2 cores most of a short run's time is the first build.
const BUILD: &[&str] = &["--dev"];

/// libFuzzer's options for every run, besides the time and where the crashes go: one
/// process (libFuzzer's default, the same as `-jobs=1 -workers=1`, without its child process
/// and log files); an input running longer than 30 s is a hang; no leak detection (a leak
/// is no bug here, and checking re-runs every input that finds something new, slowly in
/// binaries this large); no list of each newly covered function in the log.
const LIBFUZZER: &[&str] = &[
    "-timeout=30",
    "-detect_leaks=0",
    "-print_funcs=0",
    "-print_final_stats=1",
];

/// AddressSanitizer's options: no detection of a stack frame used after its function
/// returned, which safe Rust rules out and which slows every call (targets run 1.5 times
/// faster without it). Options already in `ASAN_OPTIONS` come after, so they win.
fn asan_options() -> String {
    let ours = "detect_stack_use_after_return=0";
    match std::env::var("ASAN_OPTIONS") {
        Ok(theirs) if !theirs.is_empty() => format!("{ours}:{theirs}"),
        _ => ours.to_owned(),
    }
}

/// `cargo fuzz` on nightly (its instrumentation needs `-Z` flags), in `fuzz/`.
fn cargo_fuzz(dir: &Path) -> Command {
    let mut cmd = Command::new("rustup");
    cmd.args(["run", "nightly", "cargo", "fuzz"])
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

/// The fuzz targets, as `cargo fuzz list` names them.
fn targets(dir: &Path) -> anyhow::Result<Vec<String>> {
    let out = cargo_fuzz(dir)
        .arg("list")
        .stderr(Stdio::inherit())
        .output()
        .context("running `cargo fuzz list` (is cargo-fuzz installed? `cargo xtask setup`)")?;
    if !out.status.success() {
        bail!(
            "`cargo fuzz list` in {} failed: {}",
            dir.display(),
            out.status
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect())
}

/// Copies every file of `from` into `to` (created if need be).
fn copy_files(from: &Path, to: &Path) -> anyhow::Result<usize> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut n = 0;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let path = entry?.path();
        if path.is_file() {
            let name = path.file_name().expect("a file has a name");
            fs::copy(&path, to.join(name))
                .with_context(|| format!("copying {} into {}", path.display(), to.display()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// The last line of `log` that starts with `prefix`, for the summary.
fn last_line(log: &str, prefix: &str) -> Option<String> {
    log.lines()
        .rev()
        .find(|l| l.starts_with(prefix))
        .map(str::to_owned)
}

/// Builds the targets, then runs `wanted` (every target if empty) for `seconds` each. Fails
/// after running them all if any crashed, listing the inputs that crash.
pub fn run(root: &Path, seconds: u64, wanted: &[String]) -> anyhow::Result<()> {
    let dir = root.join("fuzz");
    let all = targets(&dir)?;
    let chosen: Vec<String> = if wanted.is_empty() {
        all.clone()
    } else {
        if let Some(unknown) = wanted.iter().find(|t| !all.contains(t)) {
            bail!(
                "no fuzz target {unknown}; the targets are: {}",
                all.join(", ")
            );
        }
        wanted.to_vec()
    };
    println!(
        "[fuzz] building the fuzz targets (nightly, libFuzzer, AddressSanitizer) into {}",
        dir.join("target").display()
    );
    let status = cargo_fuzz(&dir)
        .arg("build")
        .args(BUILD)
        .status()
        .context("starting `cargo fuzz build`")?;
    if !status.success() {
        bail!("building the fuzz targets failed: {status}");
    }
    let scratch = dir.join("target").join("run");
    // The targets' own scratch files (cli_args writes the files `file://` names).
    let tmp = scratch.join("tmp");
    fs::create_dir_all(&tmp)?;
    let mut crashes: Vec<(String, Vec<PathBuf>, PathBuf)> = Vec::new();
    for target in &chosen {
        let corpus = scratch.join("corpus").join(target);
        let seeds = copy_files(&dir.join("corpus").join(target), &corpus)?;
        let artifacts = scratch.join("artifacts").join(target);
        if artifacts.exists() {
            fs::remove_dir_all(&artifacts)?;
        }
        fs::create_dir_all(&artifacts)?;
        let log = scratch.join(format!("{target}.log"));
        println!(
            "[fuzz] {target}: {seconds} s from {seeds} seeds (corpus {}, log {})",
            corpus.display(),
            log.display()
        );
        let log_file = fs::File::create(&log)?;
        let status = cargo_fuzz(&dir)
            .arg("run")
            .args(BUILD)
            .arg(target)
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            // The trailing slash: libFuzzer prefixes the file names with it.
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .args(LIBFUZZER)
            .env("TMPDIR", &tmp)
            .env("ASAN_OPTIONS", asan_options())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .status()
            .with_context(|| format!("starting `cargo fuzz run {target}`"))?;
        let text = fs::read_to_string(&log).unwrap_or_default();
        let found: Vec<PathBuf> = fs::read_dir(&artifacts)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        if status.success() && found.is_empty() {
            let done = last_line(&text, "Done ").unwrap_or_else(|| "done".into());
            let corpus_size = fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
            println!("[fuzz] {target}: no crash. {done}; corpus now {corpus_size} inputs");
        } else {
            // What libFuzzer said about the crash: the end of its log.
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            for line in tail.iter().rev() {
                println!("  | {line}");
            }
            println!("[fuzz] {target}: FAILED ({status})");
            for f in &found {
                println!("[fuzz] {target}: crashing input {}", f.display());
            }
            crashes.push((target.clone(), found, log));
        }
    }
    let (n, failed) = (chosen.len(), crashes.len());
    // The plain closing line test reports read: one per target.
    println!("fuzz: {} passed, {failed} failed", n - failed);
    if crashes.is_empty() {
        return Ok(());
    }
    println!(
        "[fuzz] to reproduce: cd fuzz && cargo +nightly fuzz run --dev TARGET INPUT; \
         to turn an input into a test, see README.md, Fuzzing"
    );
    let names: Vec<String> = crashes
        .iter()
        .map(|(t, found, log)| match found.first() {
            Some(f) => format!("{t} ({})", f.display()),
            None => format!("{t} (no input saved; see {})", log.display()),
        })
        .collect();
    bail!("fuzzing found crashes: {}", names.join(", "))
}
