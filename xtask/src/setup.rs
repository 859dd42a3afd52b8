//! Installs what the build and the tests need, skipping whatever is already present, one line
//! per step. Versions are the ones `../shared/toolchain.md` measured to work together.

use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// Debian packages: LLVM 22 for bpf-linker (linked at run time too), and the tools the
/// namespace tests drive.
const APT_PACKAGES: &[&str] = &["llvm-22-dev", "iproute2", "iputils-ping", "nftables"];
const BPF_LINKER_VERSION: &str = "0.13.0";
const LLVM_PREFIX: &str = "/usr/lib/llvm-22";

fn quiet(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

fn is_root() -> bool {
    quiet(Command::new("id").arg("-u")).is_some_and(|s| s.trim() == "0")
}

fn apt_installed(pkg: &str) -> bool {
    quiet(Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]))
        .is_some_and(|s| s.contains("install ok installed"))
}

pub fn ensure() -> anyhow::Result<()> {
    ensure_with(&[])
}

/// Like [`ensure`], with more Debian packages (the benchmarks' tools).
pub fn ensure_with(extra: &[&str]) -> anyhow::Result<()> {
    let wanted: Vec<&str> = APT_PACKAGES.iter().chain(extra).copied().collect();
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|p| !apt_installed(p))
        .collect();
    if missing.is_empty() {
        println!("[setup] debian packages present: {}", wanted.join(" "));
    } else {
        if !is_root() {
            bail!(
                "missing Debian packages {}; run as root or install them: apt-get install -y {}",
                missing.join(" "),
                missing.join(" ")
            );
        }
        println!("[setup] installing debian packages: {}", missing.join(" "));
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }

    let toolchains = quiet(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    if toolchains.lines().any(|l| l.starts_with("nightly")) {
        println!("[setup] nightly toolchain present");
    } else {
        println!("[setup] installing the nightly toolchain (eBPF only)");
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }

    let components = quiet(Command::new("rustup").args([
        "component",
        "list",
        "--toolchain",
        "nightly",
        "--installed",
    ]))
    .unwrap_or_default();
    if components.lines().any(|l| l.starts_with("rust-src")) {
        println!("[setup] rust-src for nightly present");
    } else {
        println!("[setup] installing rust-src for nightly");
        run(Command::new("rustup").args([
            "component",
            "add",
            "rust-src",
            "--toolchain",
            "nightly",
        ]))?;
    }

    match quiet(Command::new("bpf-linker").arg("--version")) {
        Some(v) if v.contains(BPF_LINKER_VERSION) => {
            println!("[setup] bpf-linker present: {}", v.trim())
        }
        _ => {
            println!(
                "[setup] building bpf-linker {BPF_LINKER_VERSION} against LLVM 22 (about 2 minutes)"
            );
            run(
                Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                    .args([
                        "install",
                        "bpf-linker",
                        "--version",
                        BPF_LINKER_VERSION,
                        "--force",
                    ])
                    .args(["--no-default-features", "--features", "llvm-22", "--locked"])
                    .env("LLVM_PREFIX", LLVM_PREFIX),
            )?;
        }
    }
    Ok(())
}
