//! Installs what the build and the tests need, skipping whatever is already present, one line
//! per step. Versions are the ones `../shared/toolchain.md` measured to work together.

use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// Debian packages: LLVM 22 for bpf-linker (linked at run time too), protoc and the protobuf
/// well-known types for the etcd client's build script, and the tools the namespace tests
/// drive.
const APT_PACKAGES: &[&str] = &[
    "llvm-22-dev",
    "protobuf-compiler",
    "libprotobuf-dev",
    "iproute2",
    "iputils-ping",
    "nftables",
];

/// What the fleet tests start: etcd (Debian's 3.4; on a host run by systemd its package also
/// enables an `etcd.service` on localhost:2379, which the tests do not use) and etcdctl.
pub const ETCD_PACKAGES: &[&str] = &["etcd-server", "etcd-client"];
const BPF_LINKER_VERSION: &str = "0.13.0";
/// cargo-fuzz, for `cargo xtask fuzz` (the fuzz crate pins libfuzzer-sys 0.4, which it drives).
const CARGO_FUZZ_VERSION: &str = "0.13.2";
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

/// Installs cargo-fuzz [`CARGO_FUZZ_VERSION`] from crates.io unless that version is present
/// (the nightly toolchain it needs is [`ensure`]'s).
pub fn ensure_cargo_fuzz() -> anyhow::Result<()> {
    match quiet(Command::new("cargo-fuzz").arg("--version")) {
        Some(v) if v.contains(CARGO_FUZZ_VERSION) => {
            println!("[setup] cargo-fuzz present: {}", v.trim())
        }
        _ => {
            println!(
                "[setup] installing cargo-fuzz {CARGO_FUZZ_VERSION} (cargo install --locked, \
                 about 1 minute): it builds and runs the fuzz targets"
            );
            run(
                Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args([
                    "install",
                    "cargo-fuzz",
                    "--version",
                    CARGO_FUZZ_VERSION,
                    "--locked",
                    "--force",
                ]),
            )?;
        }
    }
    Ok(())
}

/// The AWS clients the API tests drive, pinned (the versions `ec2-query-api.md` traced):
/// awscli 1.x (which vendors its own botocore), boto3, and ansible (which bundles the
/// amazon.aws collection, 10.1.2 in this release); and flowlogs-reader, a parser of AWS's
/// flow-log records that reads ours.
const PYTHON_PACKAGES: &[&str] = &[
    "awscli==1.46.3",
    "boto3==1.44.18",
    "ansible==12.3.0",
    "flowlogs-reader==5.0.1",
];

/// Makes the virtual environment `venv` hold [`PYTHON_PACKAGES`] (from PyPI), creating it if
/// needed; skipped when every pinned version is already there.
pub fn ensure_aws_clients(venv: &std::path::Path) -> anyhow::Result<()> {
    let python = venv.join("bin").join("python");
    let have = quiet(
        Command::new(&python)
            .args(["-m", "pip", "freeze", "--disable-pip-version-check"])
            .env("PIP_NO_INPUT", "1"),
    )
    .unwrap_or_default();
    let missing: Vec<&str> = PYTHON_PACKAGES
        .iter()
        .copied()
        .filter(|p| !have.lines().any(|l| l.trim().eq_ignore_ascii_case(p)))
        .collect();
    if missing.is_empty() {
        println!(
            "[setup] AWS clients present in {}: {}",
            venv.display(),
            PYTHON_PACKAGES.join(" ")
        );
        return Ok(());
    }
    if !python.exists() {
        if !apt_installed("python3-venv") {
            ensure_with(&["python3-venv"])?;
        }
        println!(
            "[setup] creating the virtual environment {}",
            venv.display()
        );
        run(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    }
    println!(
        "[setup] installing AWS clients from PyPI into {}: {}",
        venv.display(),
        missing.join(" ")
    );
    run(Command::new(&python)
        .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
        .arg("-c")
        .arg(constraints())
        .args(PYTHON_PACKAGES))
}

/// `xtask/python-constraints.txt`: every package of the venv pinned, dependencies included, so
/// that two machines install the same code.
fn constraints() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python-constraints.txt")
}

/// moto's server (the emulator the API benchmark compares with), pinned, into `venv`.
const MOTO: &str = "moto==5.2.6";

pub fn ensure_moto(venv: &std::path::Path) -> anyhow::Result<()> {
    if venv.join("bin").join("moto_server").exists() {
        println!("[setup] moto_server present in {}", venv.display());
        return Ok(());
    }
    println!(
        "[setup] installing {MOTO}[server] from PyPI into {}",
        venv.display()
    );
    run(Command::new(venv.join("bin").join("python"))
        .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
        .arg("-c")
        .arg(constraints())
        .arg(format!("{MOTO}[server]"))
        // Keep the clients the tests pinned.
        .args(PYTHON_PACKAGES))
}
