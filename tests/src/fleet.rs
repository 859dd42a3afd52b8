//! Fleet test fixtures (issue 15): a real etcd (Debian's `etcd-server`, which `cargo xtask test`
//! installs) in a namespace of the test's own, with its data on tmpfs, and hosts: namespaces
//! on a shared bridge, each with an `sgd --store etcd://...` and instances behind host-mode
//! interfaces. Everything is torn down on drop.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{Daemon, Netns, veth};

static ETCD_COUNTER: AtomicU32 = AtomicU32::new(0);

/// One etcd member.
struct Member {
    name: String,
    client: String,
    peer: String,
    child: Option<Child>,
}

/// An etcd cluster of one or more members, all in namespace `ns` on address `addr`.
pub struct EtcdServer {
    ns: String,
    members: Vec<Member>,
    token: String,
    /// Served over TLS with client certificates required, from this PKI.
    tls: Option<PathBuf>,
    /// The members' data directories live here, on tmpfs.
    pub data: PathBuf,
}

impl EtcdServer {
    /// Starts `n` members listening on `addr` (which must be `ns`'s), and waits until they
    /// answer.
    pub fn start(ns: &Netns, addr: &str, n: usize) -> Self {
        Self::start_with(ns, addr, n, None)
    }

    /// [`EtcdServer::start`], over TLS with client certificates from `pki` (see [`Pki`]).
    pub fn start_tls(ns: &Netns, addr: &str, pki: &Pki) -> Self {
        Self::start_with(ns, addr, 1, Some(pki.dir.path().to_owned()))
    }

    fn start_with(ns: &Netns, addr: &str, n: usize, tls: Option<PathBuf>) -> Self {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let id = ETCD_COUNTER.fetch_add(1, Ordering::Relaxed);
        let token = format!("sgt-{}-{id}", std::process::id());
        let data = PathBuf::from(format!("/dev/shm/{token}"));
        std::fs::create_dir_all(&data).expect("etcd data dir");
        let members = (0..n)
            .map(|i| Member {
                name: format!("m{i}"),
                client: format!("{scheme}://{addr}:{}", 23790 + i),
                peer: format!("http://{addr}:{}", 23810 + i),
                child: None,
            })
            .collect();
        let mut e = Self {
            ns: ns.name.clone(),
            members,
            token,
            tls,
            data,
        };
        for i in 0..n {
            e.spawn(i);
        }
        e.wait_ready();
        e
    }

    fn spawn(&mut self, i: usize) {
        let cluster: Vec<String> = self
            .members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer))
            .collect();
        let m = &self.members[i];
        let dir = self.data.join(&m.name);
        let state = if dir.exists() { "existing" } else { "new" };
        let log = std::fs::File::create(self.data.join(format!("{}.log", m.name))).expect("log");
        let mut tls_args: Vec<String> = Vec::new();
        if let Some(pki) = &self.tls {
            let f = |n: &str| pki.join(n).display().to_string();
            tls_args = vec![
                "--cert-file".into(),
                f("server.pem"),
                "--key-file".into(),
                f("server.key"),
                "--trusted-ca-file".into(),
                f("ca.pem"),
                "--client-cert-auth".into(),
            ];
        }
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, "etcd"])
            .args(["--name", &m.name])
            .arg("--data-dir")
            .arg(&dir)
            .args(["--listen-client-urls", &m.client])
            .args(["--advertise-client-urls", &m.client])
            .args(["--listen-peer-urls", &m.peer])
            .args(["--initial-advertise-peer-urls", &m.peer])
            .args(["--initial-cluster", &cluster.join(",")])
            .args(["--initial-cluster-token", &self.token])
            .args(["--initial-cluster-state", state])
            // Fast elections: a killed leader is replaced within a fraction of a second.
            .args(["--heartbeat-interval", "10", "--election-timeout", "100"])
            .args(["--logger", "zap"])
            .args(&tls_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn etcd (is etcd-server installed?)");
        self.members[i].child = Some(child);
    }

    /// Waits until every running member answers a health check.
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for m in self.members.iter().filter(|m| m.child.is_some()) {
            loop {
                let ok = Command::new("ip")
                    .args(["netns", "exec", &self.ns, "etcdctl"])
                    .args(self.ctl_tls())
                    .args(["--endpoints", &m.client, "endpoint", "health"])
                    .env("ETCDCTL_API", "3")
                    .output()
                    .is_ok_and(|o| o.status.success());
                if ok {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "etcd member {} not ready:\n{}",
                    m.name,
                    self.log(&m.name)
                );
                thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// The members as `sgd --store` takes them: `etcd://host:port,...` (`etcds://` over TLS).
    pub fn store_url(&self) -> String {
        let hosts: Vec<&str> = self
            .members
            .iter()
            .map(|m| m.client.split("://").nth(1).unwrap_or(&m.client))
            .collect();
        let scheme = if self.tls.is_some() { "etcds" } else { "etcd" };
        format!("{scheme}://{}", hosts.join(","))
    }

    /// etcdctl's TLS options (its client certificate), if the cluster serves TLS.
    fn ctl_tls(&self) -> Vec<String> {
        let Some(pki) = &self.tls else {
            return Vec::new();
        };
        let f = |n: &str| pki.join(n).display().to_string();
        vec![
            format!("--cacert={}", f("ca.pem")),
            format!("--cert={}", f("client.pem")),
            format!("--key={}", f("client.key")),
        ]
    }

    pub fn log(&self, member: &str) -> String {
        std::fs::read_to_string(self.data.join(format!("{member}.log"))).unwrap_or_default()
    }

    /// Kills member `i` (SIGKILL).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.members[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts member `i` again on its data.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
        self.wait_ready();
    }

    /// Stops (`SIGSTOP`) or resumes (`SIGCONT`) every member: a frozen etcd keeps its sockets
    /// open and answers nothing.
    pub fn freeze(&self, frozen: bool) {
        let sig = if frozen {
            nix::sys::signal::Signal::SIGSTOP
        } else {
            nix::sys::signal::Signal::SIGCONT
        };
        for m in &self.members {
            let Some(c) = &m.child else { continue };
            // The child is `ip netns exec`, which execs etcd: the same process.
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            nix::sys::signal::kill(pid, sig).expect("signal etcd");
        }
    }

    /// Which member leads (by index).
    pub fn leader(&self) -> usize {
        let out = self.ctl(&["endpoint", "status", "-w", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("status JSON");
        let statuses = v.as_array().expect("statuses");
        let leader = statuses[0]["Status"]["leader"].as_u64().expect("leader");
        statuses
            .iter()
            .position(|s| s["Status"]["header"]["member_id"].as_u64() == Some(leader))
            .expect("the leader is a member")
    }

    /// The store's current revision.
    pub fn revision(&self) -> i64 {
        let out = self.ctl(&["get", "x", "-w", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("get JSON");
        v["header"]["revision"].as_i64().expect("revision")
    }

    /// Kills every member and starts a new cluster on empty data directories (a new cluster
    /// id, revisions from 1): what an etcd restored from nothing looks like to its clients.
    pub fn wipe(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
        for m in &self.members {
            let _ = std::fs::remove_dir_all(self.data.join(&m.name));
        }
        self.token = format!("{}-wiped", self.token);
        for i in 0..self.members.len() {
            self.spawn(i);
        }
        self.wait_ready();
    }

    /// Runs `etcdctl ARGS` against the cluster; its output.
    pub fn ctl(&self, args: &[&str]) -> String {
        let endpoints: Vec<&str> = self.members.iter().map(|m| m.client.as_str()).collect();
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, "etcdctl"])
            .args(self.ctl_tls())
            .args(["--endpoints", &endpoints.join(",")])
            .args(args)
            .env("ETCDCTL_API", "3")
            .output()
            .expect("etcdctl");
        assert!(
            out.status.success(),
            "etcdctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// The fabric: a namespace with a bridge `br0` (10.254.0.1/24) that hosts join, and etcd on
/// 10.254.0.1.
pub struct Fabric {
    pub ns: Netns,
    pub etcd: EtcdServer,
}

pub const FABRIC_ADDR: &str = "10.254.0.1";

impl Fabric {
    /// The fabric with an etcd of `members` members.
    pub fn new(members: usize) -> Self {
        let ns = Self::bridge();
        let etcd = EtcdServer::start(&ns, FABRIC_ADDR, members);
        Self { ns, etcd }
    }

    /// The fabric with a 1-member etcd serving TLS and requiring client certificates.
    pub fn new_tls(pki: &Pki) -> Self {
        let ns = Self::bridge();
        let etcd = EtcdServer::start_tls(&ns, FABRIC_ADDR, pki);
        Self { ns, etcd }
    }

    fn bridge() -> Netns {
        let ns = Netns::new("fab");
        ns.ip(&["link", "add", "br0", "type", "bridge"]);
        ns.ip(&["addr", "add", &format!("{FABRIC_ADDR}/24"), "dev", "br0"]);
        ns.ip(&["link", "set", "br0", "up"]);
        ns
    }
}

/// A host on the fabric (`10.254.0.<n>`), with one instance behind a host-mode interface
/// (`vm` on `10.<n>.0.5`, its host side `v<n>` on `10.<n>.0.1`), and an sgd in the fleet.
pub struct Host {
    pub id: String,
    pub n: u8,
    pub ns: Netns,
    pub vm: Netns,
    pub sgd: Daemon,
}

impl Host {
    /// Joins host `n` to `fab` and starts its sgd (`--host-id h<n>`); `peers` are the other
    /// hosts' numbers, routed to through the fabric.
    pub fn new(fab: &Fabric, n: u8, peers: &[u8]) -> Self {
        Self::new_with(fab, n, peers, &[])
    }

    /// [`Host::new`] with more arguments for its sgd (e.g. etcd's TLS options).
    pub fn new_with(fab: &Fabric, n: u8, peers: &[u8], args: &[&str]) -> Self {
        Self::new_configured(fab, n, peers, args, None)
    }

    /// [`Host::new_with`] with an `sgd.json` (e.g. small conntrack tables for many hosts on
    /// one machine).
    pub fn new_configured(
        fab: &Fabric,
        n: u8,
        peers: &[u8],
        args: &[&str],
        config: Option<&str>,
    ) -> Self {
        let ns = Netns::new(&format!("h{n}"));
        let fab_if = format!("f{n}");
        veth(
            &ns,
            "eth0",
            &[&format!("10.254.0.{}/24", 10 + n)],
            &fab.ns,
            &fab_if,
            &[],
        );
        fab.ns.ip(&["link", "set", &fab_if, "master", "br0"]);
        let vm = Netns::new(&format!("vm{n}"));
        let host_if = format!("v{n}");
        veth(
            &ns,
            &host_if,
            &[&format!("10.{n}.0.1/24")],
            &vm,
            "eth0",
            &[&format!("10.{n}.0.5/24")],
        );
        vm.ip(&["route", "add", "default", "via", &format!("10.{n}.0.1")]);
        let fwd = ns.exec(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        assert!(fwd.status.success());
        for p in peers {
            ns.ip(&[
                "route",
                "add",
                &format!("10.{p}.0.0/24"),
                "via",
                &format!("10.254.0.{}", 10 + p),
            ]);
        }
        let id = format!("h{n}");
        let store = fab.etcd.store_url();
        let mut all = vec!["--store", &store, "--host-id", &id];
        all.extend_from_slice(args);
        let sgd = Daemon::start_with(&ns, config, &all);
        Self { id, n, ns, vm, sgd }
    }

    /// The instance's address.
    pub fn vm_addr(&self) -> String {
        format!("10.{}.0.5", self.n)
    }

    /// The host-side device of the instance's interface.
    pub fn vm_if(&self) -> String {
        format!("v{}", self.n)
    }
}

/// A throwaway PKI: a CA, a server certificate for `addr`, and a client certificate
/// (`ca.pem`, `server.pem`/`.key`, `client.pem`/`.key`).
pub struct Pki {
    pub dir: tempfile::TempDir,
}

impl Pki {
    pub fn new(addr: &str) -> Self {
        let dir = tempfile::tempdir().expect("pki dir");
        let p = |n: &str| dir.path().join(n).display().to_string();
        let sh = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        sh(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=sgt-ca",
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.pem"),
        ]);
        for (name, ext) in [
            (
                "server",
                format!("subjectAltName=IP:{addr}\nextendedKeyUsage=serverAuth"),
            ),
            ("client", "extendedKeyUsage=clientAuth".to_owned()),
        ] {
            std::fs::write(p(&format!("{name}.ext")), ext).expect("ext");
            sh(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN=sgt-{name}"),
                "-keyout",
                &p(&format!("{name}.key")),
                "-out",
                &p(&format!("{name}.csr")),
            ]);
            sh(&[
                "x509",
                "-req",
                "-in",
                &p(&format!("{name}.csr")),
                "-CA",
                &p("ca.pem"),
                "-CAkey",
                &p("ca.key"),
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                &p(&format!("{name}.ext")),
                "-out",
                &p(&format!("{name}.pem")),
            ]);
        }
        Self { dir }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

// Helpers of the fleet tests.

/// Polls `f` until it holds, for at most 20 s.
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "never: {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// [`eventually`], showing host `h`'s sgd log if it never holds.
pub fn eventually_on(h: &Host, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(
            Instant::now() < deadline,
            "never: {what}\nsgd log of {}:\n{}",
            h.id,
            h.sgd.log()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// The names of the groups host `h` describes.
pub fn group_names(h: &Host) -> Vec<String> {
    let v = h.sgd.ok(&["describe-security-groups"]);
    v["SecurityGroups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["GroupName"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// `create-security-group` on host `h`, which may fail; sgctl's result.
pub fn try_create(h: &Host, name: &str) -> std::process::Output {
    h.sgd.sgctl(&[
        "create-security-group",
        "--group-name",
        name,
        "--description",
        "d",
    ])
}

/// Lets members of group `from` reach members of `group` on TCP `port` (SG-RULE-4).
pub fn allow_from_group(h: &Host, group: &str, from: &str, port: u16) {
    h.sgd.ok(&[
        "authorize-security-group-ingress",
        "--group-id",
        group,
        "--ip-permissions",
        &format!(
            "IpProtocol=tcp,FromPort={port},ToPort={port},UserIdGroupPairs=[{{GroupId={from}}}]"
        ),
    ]);
}

/// Protects host `h`'s instance interface in host mode with `groups`.
pub fn protect(h: &Host, groups: &[&str]) -> Value {
    let (addr, device) = (h.vm_addr(), h.vm_if());
    let mut args = vec![
        "create-network-interface",
        "--network-interface-id",
        &device,
        "--attach-mode",
        "host",
        "--private-ip-addresses",
        &addr,
        "--groups",
    ];
    args.extend_from_slice(groups);
    h.sgd.ok(&args)
}

/// Cuts host `h` off the fabric (its packets dropped, no reset) and waits until its sgd
/// notices (its watch's keepalive fails).
pub fn cut_off(fab: &Fabric, h: &Host) {
    fab.ns.ip(&["link", "set", &format!("f{}", h.n), "down"]);
    eventually("the host notices it is cut off", || {
        metric(h, "sg_store_connected") == 0.0
    });
}

/// A metric of host `h`'s sgd.
pub fn metric(h: &Host, name: &str) -> f64 {
    let out = h.sgd.sgctl(&["get-metrics"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}
