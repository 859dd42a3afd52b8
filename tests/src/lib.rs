//! Harness for kernel-level tests: uniquely named network namespaces joined by veth pairs,
//! `sgd` started inside one of them, `sgctl` against it, and real TCP/UDP/ICMP traffic.
//!
//! Everything a test creates is removed when its guard drops, also when the test fails.
//! Traffic only ever flows between namespaces the test created.

use std::{
    fs::File,
    io::{Read, Write},
    net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

/// How long a connection attempt may take before it counts as blocked.
pub const BLOCKED_AFTER: Duration = Duration::from_millis(1500);

/// Whether this test can run: true as root. Otherwise the test is skipped loudly, or fails
/// when `SG_REQUIRE_ROOT=1` (CI).
pub fn require_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var("SG_REQUIRE_ROOT").as_deref() == Ok("1") {
        panic!(
            "{test} needs root (network namespaces, eBPF) and SG_REQUIRE_ROOT=1 forbids skipping"
        );
    }
    eprintln!("SKIPPED {test}: needs root (run `cargo xtask test` as root)");
    false
}

/// Path of one of the workspace's binaries (`sgd`, `sgctl`).
pub fn bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("SG_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // target/<profile>/deps/<test-binary> -> target/<profile>
            let exe = std::env::current_exe().expect("current exe");
            exe.parent()
                .and_then(Path::parent)
                .expect("test binary in target/<profile>/deps")
                .to_owned()
        });
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not found: build the binaries first (`cargo build --bins`; `cargo xtask test` does it)",
        path.display()
    );
    path
}

fn sh(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace, deleted (with its interfaces and processes' view) on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("sgt-{}-{n}-{tag}", std::process::id());
        sh(&["ip", "netns", "add", &name]);
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Runs `ip -n <ns> ARGS`.
    pub fn ip(&self, args: &[&str]) {
        let mut full = vec!["ip", "-n", &self.name];
        full.extend_from_slice(args);
        sh(&full);
    }

    /// Runs `f` on a thread that has entered this namespace (sockets it creates live here).
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.name);
        thread::spawn(move || {
            let fd = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Joins `a:a_if` and `b:b_if` with a veth pair and gives each end its addresses
/// (`"192.0.2.1/24"`, `"2001:db8:a::1/64"`).
pub fn veth(a: &Netns, a_if: &str, a_addrs: &[&str], b: &Netns, b_if: &str, b_addrs: &[&str]) {
    sh(&[
        "ip", "link", "add", a_if, "netns", &a.name, "type", "veth", "peer", "name", b_if, "netns",
        &b.name,
    ]);
    for (ns, ifname, addrs) in [(a, a_if, a_addrs), (b, b_if, b_addrs)] {
        for addr in addrs {
            if addr.contains(':') {
                ns.ip(&["addr", "add", addr, "dev", ifname, "nodad"]);
            } else {
                ns.ip(&["addr", "add", addr, "dev", ifname]);
            }
        }
        ns.ip(&["link", "set", ifname, "up"]);
    }
}

/// The instance (`fw`, where sgd runs) with two peers: `a` on link `fwa` (192.0.2.0/24,
/// 2001:db8:a::/64) and `b` on link `fwb` (198.51.100.0/24, 2001:db8:b::/64).
pub struct Topology {
    pub fw: Netns,
    pub a: Netns,
    pub b: Netns,
}

pub const FW_A4: &str = "192.0.2.1";
pub const A4: &str = "192.0.2.2";
pub const FW_B4: &str = "198.51.100.1";
pub const B4: &str = "198.51.100.2";
pub const FW_A6: &str = "2001:db8:a::1";
pub const A6: &str = "2001:db8:a::2";
pub const FW_B6: &str = "2001:db8:b::1";
pub const B6: &str = "2001:db8:b::2";

impl Topology {
    pub fn new() -> Self {
        let t = Self {
            fw: Netns::new("fw"),
            a: Netns::new("a"),
            b: Netns::new("b"),
        };
        veth(
            &t.fw,
            "fwa",
            &["192.0.2.1/24", "2001:db8:a::1/64"],
            &t.a,
            "eth0",
            &["192.0.2.2/24", "2001:db8:a::2/64"],
        );
        veth(
            &t.fw,
            "fwb",
            &["198.51.100.1/24", "2001:db8:b::1/64"],
            &t.b,
            "eth0",
            &["198.51.100.2/24", "2001:db8:b::2/64"],
        );
        t
    }
}

impl Default for Topology {
    fn default() -> Self {
        Self::new()
    }
}

/// `sgd` running inside a namespace, with its own state directory, socket and pins. Stopped
/// (SIGTERM, then SIGKILL) on drop.
pub struct Daemon {
    ns: String,
    args: Vec<String>,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Daemon {
    pub fn start(ns: &Netns) -> Self {
        Self::start_with(ns, None, &[])
    }

    /// Starts sgd with `config` as its `sgd.json` (quotas, conntrack sizes).
    pub fn start_with_config(ns: &Netns, config: Option<&str>) -> Self {
        Self::start_with(ns, config, &[])
    }

    /// Starts sgd with an optional `sgd.json` and extra command-line arguments.
    pub fn start_with(ns: &Netns, config: Option<&str>, args: &[&str]) -> Self {
        let mut d = Self {
            ns: ns.name.clone(),
            args: args.iter().map(|a| a.to_string()).collect(),
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
        };
        if let Some(config) = config {
            let state = d.dir.path().join("state");
            std::fs::create_dir_all(&state).expect("state dir");
            std::fs::write(state.join("sgd.json"), config).expect("write sgd.json");
        }
        d.spawn();
        d
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("sgd.sock")
    }

    fn spawn(&mut self) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("sgd.log"))
            .expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .arg(bin("sgd"))
            .arg("--state-dir")
            .arg(self.dir.path().join("state"))
            .arg("--socket")
            .arg(self.socket())
            .args(if self.args.iter().any(|a| a == "--pin-dir") {
                &[][..]
            } else {
                &["--pin-dir", "/sys/fs/bpf/sg"][..]
            })
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn sgd");
        self.child = Some(child);
        // Loading verifies seven programs near the verifier's limit: seconds each, many more
        // on a busy machine (tests start daemons in parallel).
        let deadline = Instant::now() + Duration::from_secs(120);
        while UnixStream::connect(self.socket()).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("sgd exited with {status} before listening:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "sgd did not start listening in 120 s:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The daemon's process id, while it runs (`ip netns exec` becomes sgd).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sgd.log")).unwrap_or_default()
    }

    /// Stops the daemon with SIGTERM (orderly shutdown).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if c.try_wait().ok().flatten().is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Kills the daemon with SIGKILL: no chance to clean anything up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the daemon again with the same state directory and socket, and other arguments.
    pub fn respawn_with(&mut self, args: &[&str]) {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self.respawn();
    }

    /// Starts the daemon again with the same state directory, socket and arguments.
    pub fn respawn(&mut self) {
        assert!(self.child.is_none(), "stop or kill the daemon first");
        self.spawn();
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Runs `sgctl ARGS` against this daemon.
    pub fn sgctl(&self, args: &[&str]) -> Output {
        Command::new(bin("sgctl"))
            .arg("--socket")
            .arg(self.socket())
            .args(args)
            .output()
            .expect("run sgctl")
    }

    /// Runs `sgctl ARGS`, which must succeed; returns its JSON output (`Null` if none).
    pub fn ok(&self, args: &[&str]) -> Value {
        let out = self.sgctl(args);
        assert!(
            out.status.success(),
            "sgctl {args:?} failed ({}): {}\nsgd log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        if out.stdout.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&out.stdout).expect("sgctl prints JSON")
        }
    }

    /// Adds an inbound rule (`--protocol P --port PORT --cidr CIDR`) to a group.
    pub fn allow_in(&self, group: &str, proto: &str, port: &str, cidr: &str) {
        self.ingress("authorize-security-group-ingress", group, proto, port, cidr);
    }

    /// Removes an inbound rule added with [`Daemon::allow_in`].
    pub fn revoke_in(&self, group: &str, proto: &str, port: &str, cidr: &str) {
        self.ingress("revoke-security-group-ingress", group, proto, port, cidr);
    }

    fn ingress(&self, verb: &str, group: &str, proto: &str, port: &str, cidr: &str) {
        self.ok(&[
            verb,
            "--group-id",
            group,
            "--protocol",
            proto,
            "--port",
            port,
            "--cidr",
            cidr,
        ]);
    }

    /// Sets an interface's groups (and so protects it).
    pub fn attach(&self, iface: &str, groups: &[&str]) {
        let mut args = vec![
            "modify-network-interface-attribute",
            "--network-interface-id",
            iface,
            "--groups",
        ];
        args.extend_from_slice(groups);
        self.ok(&args);
    }

    /// Creates a group and returns its id.
    /// `create-flow-logs` of `traffic` on the resources `ids` of type `kind`, into the file
    /// `dest`, with `extra` options: its output.
    pub fn create_flow_log(
        &self,
        kind: &str,
        ids: &[&str],
        traffic: &str,
        dest: &Path,
        extra: &[&str],
    ) -> Value {
        let dest = dest.to_str().expect("utf-8");
        let mut args = vec![
            "create-flow-logs",
            "--resource-type",
            kind,
            "--resource-ids",
        ];
        args.extend_from_slice(ids);
        args.extend([
            "--traffic-type",
            traffic,
            "--log-destination-type",
            "file",
            "--log-destination",
            dest,
        ]);
        args.extend_from_slice(extra);
        self.ok(&args)
    }

    pub fn create_group(&self, name: &str) -> String {
        let v = self.ok(&[
            "create-security-group",
            "--group-name",
            name,
            "--description",
            "test group",
        ]);
        v["GroupId"].as_str().expect("GroupId").to_owned()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A bpf filesystem mounted in the root mount namespace (under /run), where pins outlive a
/// daemon started with `ip netns exec` (whose own /sys/fs/bpf dies with it). Everything
/// pinned there is removed and the mount undone on drop.
pub struct BpfFs {
    pub path: PathBuf,
}

impl BpfFs {
    pub fn mount() -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = PathBuf::from(format!("/run/sgt-{}-{n}-bpf", std::process::id()));
        std::fs::create_dir_all(&path).expect("mount point");
        nix::mount::mount(
            Some("bpf"),
            &path,
            Some("bpf"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .expect("mount bpffs");
        Self { path }
    }
}

impl Drop for BpfFs {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for e in entries.flatten() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let _ = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// A UDP socket in a namespace, kept open to talk to one peer: a UDP stream.
pub struct UdpFlow(UdpSocket);

pub fn udp_open(ns: &Netns, addr: &str, port: u16) -> UdpFlow {
    let target = sock(addr, port);
    let s = ns.run(move || {
        let s = UdpSocket::bind(if target.is_ipv4() {
            sock("0.0.0.0", 0)
        } else {
            sock("::", 0)
        })
        .expect("bind");
        s.connect(target).expect("connect");
        s
    });
    s.set_read_timeout(Some(BLOCKED_AFTER)).expect("timeout");
    UdpFlow(s)
}

impl UdpFlow {
    pub fn echoes(&self) -> bool {
        let mut buf = [0u8; 8];
        self.0.send(b"stream!").is_ok()
            && matches!(self.0.recv(&mut buf), Ok(7) if &buf[..7] == b"stream!")
    }
}

fn sock(addr: &str, port: u16) -> SocketAddr {
    SocketAddr::new(addr.parse::<IpAddr>().expect("address"), port)
}

/// A TCP echo server in a namespace, listening on all addresses (v4 and v6).
pub struct TcpServer {
    _thread: thread::JoinHandle<()>,
}

pub fn tcp_server(ns: &Netns, port: u16) -> TcpServer {
    let listener = ns.run(move || {
        let l = dual_stack_listener(port);
        l.set_nonblocking(false).expect("blocking");
        l
    });
    let t = thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { break };
            thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    TcpServer { _thread: t }
}

/// A listener on `[::]:port` that also accepts IPv4 (IPV6_V6ONLY off, the Linux default).
fn dual_stack_listener(port: u16) -> TcpListener {
    TcpListener::bind(sock("::", port)).unwrap_or_else(|e| panic!("bind [::]:{port}: {e}"))
}

/// Whether a TCP connection from `ns` to `addr:port` opens and echoes data back.
pub fn tcp_connects(ns: &Netns, addr: &str, port: u16) -> bool {
    let target = sock(addr, port);
    ns.run(move || {
        let Ok(mut s) = TcpStream::connect_timeout(&target, BLOCKED_AFTER) else {
            return false;
        };
        s.set_read_timeout(Some(BLOCKED_AFTER)).expect("timeout");
        if s.write_all(b"hello").is_err() {
            return false;
        }
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).is_ok() && &buf == b"hello"
    })
}

/// Whether a TCP connection opens within 200 ms (for probes expected to fail, in loops).
pub fn tcp_connects_quick(ns: &Netns, addr: &str, port: u16) -> bool {
    let target = sock(addr, port);
    ns.run(move || TcpStream::connect_timeout(&target, Duration::from_millis(200)).is_ok())
}

/// Whether a TCP connection from `ns`, with source address `src` (which `ns` must have),
/// to `addr:port` opens and echoes data back.
pub fn tcp_connects_from(ns: &Netns, src: &str, addr: &str, port: u16) -> bool {
    let (src, target) = (sock(src, 0), sock(addr, port));
    ns.run(move || {
        let domain = if target.is_ipv4() {
            socket2::Domain::IPV4
        } else {
            socket2::Domain::IPV6
        };
        let s = socket2::Socket::new(domain, socket2::Type::STREAM, None).expect("socket");
        s.bind(&src.into()).expect("bind source");
        if s.connect_timeout(&target.into(), BLOCKED_AFTER).is_err() {
            return false;
        }
        let mut s: TcpStream = s.into();
        s.set_read_timeout(Some(BLOCKED_AFTER)).expect("timeout");
        let mut buf = [0u8; 5];
        s.write_all(b"hello").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"hello"
    })
}

/// An established TCP connection opened from `ns`, to test what happens to live flows.
pub struct Conn(TcpStream);

pub fn tcp_open(ns: &Netns, addr: &str, port: u16) -> Conn {
    let target = sock(addr, port);
    let s = ns.run(move || TcpStream::connect_timeout(&target, BLOCKED_AFTER).expect("connect"));
    s.set_read_timeout(Some(BLOCKED_AFTER)).expect("timeout");
    Conn(s)
}

impl Conn {
    /// Whether a message still makes the round trip.
    pub fn echoes(&mut self) -> bool {
        if self.0.write_all(b"ping!").is_err() {
            return false;
        }
        let mut buf = [0u8; 5];
        self.0.read_exact(&mut buf).is_ok() && &buf == b"ping!"
    }
}

/// A UDP echo server in a namespace on `[::]:port`.
pub fn udp_server(ns: &Netns, port: u16) -> thread::JoinHandle<()> {
    let s = ns.run(move || UdpSocket::bind(sock("::", port)).expect("bind udp"));
    thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            let _ = s.send_to(&buf[..n], from);
        }
    })
}

/// Whether a UDP datagram from `ns` to `addr:port` gets its echo back.
pub fn udp_echoes(ns: &Netns, addr: &str, port: u16) -> bool {
    udp_echoes_size(ns, addr, port, 4)
}

/// The same with a datagram of `size` bytes (above the MTU it travels as IP fragments).
pub fn udp_echoes_size(ns: &Netns, addr: &str, port: u16, size: usize) -> bool {
    let target = sock(addr, port);
    ns.run(move || {
        let bind = if target.is_ipv4() { sock("0.0.0.0", 0) } else { sock("::", 0) };
        let s = UdpSocket::bind(bind).expect("bind");
        s.set_read_timeout(Some(BLOCKED_AFTER)).expect("timeout");
        let msg: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        if s.send_to(&msg, target).is_err() {
            return false;
        }
        let mut buf = vec![0u8; size + 1];
        matches!(s.recv_from(&mut buf), Ok((n, from)) if n == size && from.ip() == target.ip() && buf[..n] == msg[..])
    })
}

/// Whether one ICMP/ICMPv6 echo from `ns` to `addr` is answered.
pub fn pings(ns: &Netns, addr: &str) -> bool {
    ns.exec(&["ping", "-c", "1", "-W", "1", addr])
        .status
        .success()
}

/// The records of a flow-log file and its rotated files (`PATH.1`, ...), oldest first, each
/// as field -> value per its file's header line.
pub fn flow_log_records(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut files: Vec<PathBuf> = (1..10)
        .rev()
        .map(|n| PathBuf::from(format!("{}.{n}", path.display())))
        .filter(|p| p.exists())
        .collect();
    files.push(path.to_owned());
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let mut lines = text.lines();
        let Some(header) = lines.next() else { continue };
        let names: Vec<&str> = header.split(' ').collect();
        for l in lines {
            let values: Vec<&str> = l.split(' ').collect();
            assert_eq!(values.len(), names.len(), "a record of every field: {l}");
            out.push(
                names
                    .iter()
                    .zip(values)
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
            );
        }
    }
    out
}

pub mod fleet;
pub mod flood;
pub mod frame;
pub mod lab;

/// Where the pinned AWS clients live (`cargo xtask test` installs them): `SG_AWS_VENV`, or
/// `target/aws-venv` of this workspace.
pub fn aws_venv_path() -> PathBuf {
    std::env::var_os("SG_AWS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/aws-venv"))
}

/// The virtual environment with the pinned AWS clients, or `None` to skip `test` outside CI;
/// under `SG_REQUIRE_ROOT=1` (CI) a missing one fails the test.
pub fn aws_venv(test: &str) -> Option<PathBuf> {
    let venv = aws_venv_path();
    if venv.join("bin/python").exists() {
        return Some(venv);
    }
    assert!(
        std::env::var("SG_REQUIRE_ROOT").as_deref() != Ok("1"),
        "{test}: no AWS clients at {} (cargo xtask test installs them)",
        venv.display()
    );
    eprintln!(
        "{test}: skipped, no AWS clients at {} (run cargo xtask test)",
        venv.display()
    );
    None
}

/// A command running `tests/python/<script>` with the venv's Python inside `ns`, for at most
/// `secs` seconds (a hung client fails the test instead of hanging CI), pointed at `endpoint`
/// with key `key` for `region`, and finding nothing of this host's own AWS set-up. The
/// scripts read these through `tests/python/sgapi.py`.
pub fn aws_python(
    ns: &Netns,
    venv: &Path,
    secs: u32,
    script: &str,
    endpoint: &str,
    region: &str,
    key: (&str, &str),
) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.arg(secs.to_string())
        .args(["ip", "netns", "exec", &ns.name])
        .arg(venv.join("bin/python"))
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("python")
                .join(script),
        )
        .env("SG_ENDPOINT", endpoint)
        .env("SG_REGION", region)
        .env("SG_KEY_ID", key.0)
        .env("SG_SECRET", key.1)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    cmd
}
