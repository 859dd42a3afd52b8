//! `cargo xtask soak [--minutes N]`: real traffic under churn, judged packet by packet.
//!
//! Two peers (namespaces `a` and `b`, two IPv4 and two IPv6 addresses each) talk to the
//! instance (`fw`, where sgd protects `fwa` and `fwb`): long-lived TCP connections, UDP
//! streams and ICMP echo flows both ways, each probed now and then (sometimes after long
//! silences, so flows expire), and new flows of every kind all the time, allowed and refused.
//! Meanwhile a driver authorizes and revokes rules (inbound and outbound, so flows switch
//! between tracked and untracked), sets interfaces' groups, stops protecting an interface,
//! changes timeouts, and kills sgd with SIGKILL (or stops it) and starts it again.
//!
//! The oracle (`oracle.rs`: the model's operations and the reference evaluator, with a model
//! of each flow's conntrack entry) predicts every probe. The run reports probes, wrongful
//! admits, wrongful refusals, tracked flows lost across restarts (all must be 0), probes
//! left undecided by the model's timing window, and sgd's memory and conntrack occupancy over
//! time; it exits non-zero on any wrong verdict, any divergence between sgd and the model,
//! or memory growing within one run of sgd.
//!
//! Usage: `sg-soak [--minutes M] [--seed S] [--out DIR]` as root (`SG_BIN_DIR` names the
//! directory of `sgd` and `sgctl`).

mod oracle;
mod probe;

use std::{
    collections::BTreeMap,
    io::Write as _,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    sync::{
        Mutex, RwLock,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use sg_tests::{BpfFs, Daemon, Netns, Topology, bin, tcp_server};
use sg_userspace::{
    api::IpPermission,
    eval::Direction,
    model::ops,
    testkit::{World, perm},
};

use oracle::{Flow, Judged, Model, Proto, Timeouts};
use probe::{Seen, Sock};

const IFACES: [&str; 2] = ["fwa", "fwb"];

/// A peer: its namespace's index in the topology, the instance's interface towards it, its
/// addresses, and the instance's on that link.
struct Peer {
    iface: &'static str,
    addrs: [&'static str; 4],
    fw4: &'static str,
    fw6: &'static str,
}

const PEERS: [Peer; 2] = [
    Peer {
        iface: "fwa",
        addrs: ["192.0.2.2", "192.0.2.3", "2001:db8:a::2", "2001:db8:a::3"],
        fw4: "192.0.2.1",
        fw6: "2001:db8:a::1",
    },
    Peer {
        iface: "fwb",
        addrs: [
            "198.51.100.2",
            "198.51.100.3",
            "2001:db8:b::2",
            "2001:db8:b::3",
        ],
        fw4: "198.51.100.1",
        fw6: "2001:db8:b::1",
    },
];

/// The instance's servers (inbound flows) and the peers' (outbound flows).
const FW_TCP: [u16; 2] = [22, 80];
const FW_UDP: u16 = 53;
const PEER_TCP: u16 = 8080;
const PEER_UDP: u16 = 9000;

/// Peers of rules: every peer address alone, each link's subnet, everywhere.
const CIDRS4: [&str; 6] = [
    "192.0.2.2/32",
    "192.0.2.3/32",
    "192.0.2.0/24",
    "198.51.100.2/32",
    "198.51.100.0/24",
    "0.0.0.0/0",
];
const CIDRS6: [&str; 5] = [
    "2001:db8:a::2/128",
    "2001:db8:a::/64",
    "2001:db8:b::3/128",
    "2001:db8:b::/64",
    "::/0",
];

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// A random permission for one direction: the protocols and ports the soak's traffic uses
/// (and wider ones, which make flows untracked, SG-ENF-3), to one of the peers.
fn random_perm(rng: &mut StdRng, egress: bool) -> IpPermission {
    let six = rng.random_bool(0.4);
    let cidr = if six {
        CIDRS6[rng.random_range(0..CIDRS6.len())]
    } else {
        CIDRS4[rng.random_range(0..CIDRS4.len())]
    };
    let icmp = if six { "icmpv6" } else { "icmp" };
    let echo = if six { 128 } else { 8 };
    let (tcp, udp) = if egress {
        (PEER_TCP, PEER_UDP)
    } else {
        (FW_TCP[rng.random_range(0..2)], FW_UDP)
    };
    let (proto, ports) = match rng.random_range(0..8) {
        0 | 1 => ("tcp", Some((tcp as i32, tcp as i32))),
        2 => ("tcp", Some((0, 65535))),
        3 => ("udp", Some((udp as i32, udp as i32))),
        4 => ("udp", Some((0, 65535))),
        5 => (icmp, Some((echo, -1))),
        6 => (icmp, Some((-1, -1))),
        _ => ("-1", None),
    };
    perm(proto, ports, cidr)
}

/// Counts of the run, by name.
#[derive(Default)]
struct Stats {
    counts: BTreeMap<String, u64>,
    /// The first wrong verdicts and divergences, described.
    failures: Vec<String>,
}

impl Stats {
    fn add(&mut self, key: &str) {
        *self.counts.entry(key.into()).or_default() += 1;
    }
    fn get(&self, key: &str) -> u64 {
        self.counts.get(key).copied().unwrap_or(0)
    }
    fn fail(&mut self, key: &str, what: String) {
        self.add(key);
        eprintln!("[soak] {key}: {what}");
        if self.failures.len() < 100 {
            self.failures.push(format!("{key}: {what}"));
        }
    }
}

/// One sample of sgd's footprint.
#[derive(Clone, Copy)]
struct Sample {
    at_s: f64,
    life: u32,
    life_s: f64,
    rss_kib: u64,
    tcp: u64,
    other: u64,
}

/// What the threads share.
struct Shared {
    model: RwLock<Model>,
    stats: Mutex<Stats>,
    samples: Mutex<Vec<Sample>>,
    stop: AtomicBool,
    /// The current run of sgd (0, then one more after each restart) and its pid.
    life: AtomicU32,
    pid: AtomicU32,
    life_started: Mutex<Instant>,
    started: Instant,
    /// What the driver did, when (`actions.log`).
    log: Mutex<std::fs::File>,
}

impl Shared {
    fn note(&self, what: &str) {
        let at = self.started.elapsed().as_secs_f64();
        let _ = writeln!(self.log.lock().expect("log"), "+{at:.1} s {what}");
    }
}

/// Set by SIGINT or SIGTERM: the run ends early, reports, and cleans up.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn interrupted(_: nix::libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Sets `stop` when dropped, also when the driver panics, so the other threads end.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A flow the probe loop sends traffic on: which peer, whether it is kept open between
/// probes, its socket while open, and when it is probed next.
struct Probed {
    flow: Flow,
    peer: usize,
    long: bool,
    sock: Option<Sock>,
    due: Instant,
}

/// Source ports and echo identifiers, never reused within a run (a fresh flow never meets a
/// stale entry of the same tuple).
struct Ids {
    port: u32,
    echo: u32,
}

impl Ids {
    fn port(&mut self) -> u16 {
        self.port = if self.port >= 64999 {
            10000
        } else {
            self.port + 1
        };
        self.port as u16
    }
    fn echo(&mut self) -> u16 {
        self.echo = if self.echo >= 65000 {
            1000
        } else {
            self.echo + 1
        };
        self.echo as u16
    }
}

/// A new flow of a random kind between a random peer address and the instance.
fn random_flow(rng: &mut StdRng, ids: &mut Ids, proto: Proto, opener: Direction) -> (usize, Flow) {
    let peer = rng.random_range(0..2);
    let p = &PEERS[peer];
    let remote = ip(p.addrs[rng.random_range(0..4)]);
    let local = ip(if remote.is_ipv4() { p.fw4 } else { p.fw6 });
    let inbound = opener == Direction::Inbound;
    let server = match (proto, inbound) {
        (Proto::Tcp, true) => FW_TCP[rng.random_range(0..2)],
        (Proto::Tcp, false) => PEER_TCP,
        (Proto::Udp, true) => FW_UDP,
        (Proto::Udp, false) => PEER_UDP,
        (Proto::Echo, _) => 0,
    };
    let (mut local_port, mut remote_port, mut echo_id) = (0, 0, 0);
    match (proto, inbound) {
        (Proto::Echo, _) => echo_id = ids.echo(),
        (_, true) => (local_port, remote_port) = (server, ids.port()),
        (_, false) => (local_port, remote_port) = (ids.port(), server),
    }
    let flow = Flow {
        iface: p.iface.into(),
        proto,
        local,
        local_port,
        remote,
        remote_port,
        opener,
        echo_id,
        entry: None,
        notes: Default::default(),
    };
    (peer, flow)
}

fn kind(f: &Flow) -> String {
    let p = match f.proto {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
        Proto::Echo => "icmp",
    };
    let d = match f.opener {
        Direction::Inbound => "in",
        Direction::Outbound => "out",
    };
    format!("{p}_{d}")
}

fn describe(f: &Flow) -> String {
    match f.proto {
        Proto::Echo => format!(
            "{} echo id {} {} {} ({})",
            kind(f),
            f.echo_id,
            f.remote,
            f.local,
            f.iface
        ),
        _ => format!(
            "{} [{}]:{} - [{}]:{} ({})",
            kind(f),
            f.remote,
            f.remote_port,
            f.local,
            f.local_port,
            f.iface
        ),
    }
}

/// Runs one probe of `p`: opens its flow if it has no socket, else one exchange on it. Then
/// judges it by the oracle and counts. Returns whether the flow goes on (keeps its socket).
fn probe(t: &Topology, shared: &Shared, m: &Model, life: u32, p: &mut Probed) -> bool {
    let f = &p.flow;
    let peer_ns = if p.peer == 0 { &t.a } else { &t.b };
    let (opener_ns, src, dst) = match f.opener {
        Direction::Inbound => (peer_ns, (f.remote, f.remote_port), (f.local, f.local_port)),
        Direction::Outbound => (&t.fw, (f.local, f.local_port), (f.remote, f.remote_port)),
    };
    let (src, dst) = (SocketAddr::from(src), SocketAddr::from(dst));
    let proto = f.proto;
    let mut sock = p.sock.take();
    let opening = sock.is_none();
    let t0 = Instant::now();
    let seen = match (&mut sock, proto) {
        (None, Proto::Tcp) => probe::tcp_open(opener_ns, src, dst).map(|(seen, s)| {
            sock = s.map(Sock::Tcp);
            seen
        }),
        (None, Proto::Udp) => probe::udp_socket(opener_ns, src, dst).map(|s| {
            let seen = probe::udp_echo(&s);
            sock = Some(Sock::Udp(s));
            seen
        }),
        (None, Proto::Echo) => probe::echo_socket(opener_ns, src.ip(), f.echo_id).map(|s| {
            let seen = probe::ping(&s, dst.ip());
            sock = Some(Sock::Echo(s));
            seen
        }),
        (Some(Sock::Tcp(s)), _) => Ok(if probe::tcp_echo(s) {
            Seen::Passed { attempts: 1 }
        } else {
            Seen::Blocked
        }),
        (Some(Sock::Udp(s)), _) => Ok(probe::udp_echo(s)),
        (Some(Sock::Echo(s)), _) => Ok(probe::ping(s, dst.ip())),
    };
    p.sock = sock;
    let at = (t0, Instant::now());
    let mut stats = shared.stats.lock().expect("stats");
    let seen = match seen {
        Ok(s) => s,
        Err(e) => {
            // A port still held by a socket of this run (after wrapping around): no probe.
            stats.add("probes_skipped");
            eprintln!("[soak] probe skipped: {e}");
            p.sock = None;
            return false;
        }
    };
    let before = p.flow.entry_life();
    let entry_before = p.flow.entry.clone();
    let judged = if opening && proto == Proto::Tcp {
        // SYN, SYN-ACK, then the data and its echo.
        let [a, b] = p.flow.round_trip();
        p.flow.exchange(m, true, &[a, b, a, b], at, life)
    } else {
        let dirs = p.flow.round_trip();
        p.flow.exchange(m, false, &dirs, at, life)
    };
    if matches!(seen, Seen::Passed { attempts } if attempts > 1) {
        p.flow.turns_unsure();
    }
    let notes = p.flow.take_notes();
    let k = kind(&p.flow);
    stats.add("probes");
    stats.add(&format!("probes_{k}"));
    if !opening {
        stats.add("probes_long_lived");
    }
    let what = || {
        format!(
            "{} {}: the model says {judged:?}, the wire {seen:?} (sgd run {life}); at +{:.1} s, \
             entry before {:?}, timeouts {:?}, protected {}",
            if opening { "new" } else { "long-lived" },
            describe(&p.flow),
            shared.started.elapsed().as_secs_f64(),
            entry_before.as_ref().map(|e| e.describe(shared.started)),
            m.timeouts(&p.flow.iface),
            m.world.state.interfaces.contains_key(&p.flow.iface)
        )
    };
    let keep = match (judged, seen) {
        (Judged::Unsure, _) => {
            stats.add("probes_undecided");
            false
        }
        (Judged::Pass, Seen::Passed { .. }) => {
            stats.add("probes_passed");
            if notes.tracked_past_rules {
                stats.add("probes_passed_by_tracking_against_the_rules");
            }
            if !opening && notes.judged_alone {
                stats.add("probes_long_lived_passed_by_the_rules_alone");
            }
            true
        }
        (Judged::Drop, Seen::Blocked) => {
            stats.add("probes_refused");
            if notes.expired {
                stats.add("probes_refused_after_expiry");
            } else if !opening {
                stats.add("probes_long_lived_refused_untracked");
            }
            // A TCP connection whose data was dropped is abandoned; datagrams are not.
            proto != Proto::Tcp
        }
        (Judged::Drop, _) => {
            stats.fail("wrongful_admits", what());
            false
        }
        (Judged::Pass, _) => {
            // A tracked flow from before a restart that the model says is alive.
            if before.is_some_and(|l| l < life) && !opening {
                stats.fail("tracked_flows_lost_across_restarts", what());
            }
            stats.fail("wrongful_refusals", what());
            false
        }
    };
    if !keep {
        if let Some(Sock::Tcp(s)) = &p.sock {
            // Closed with a reset: nothing lingers on the abandoned connection.
            let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
        }
        p.sock = None;
    }
    keep
}

/// How long a long-lived flow stays silent before its next probe: mostly seconds, sometimes
/// past the UDP, ICMP and shortest TCP timeouts.
fn silence(rng: &mut StdRng) -> Duration {
    let s = match rng.random_range(0..10) {
        0..7 => rng.random_range(1.0..8.0),
        7 | 8 => rng.random_range(20.0..75.0),
        _ => rng.random_range(75.0..200.0),
    };
    Duration::from_secs_f64(s)
}

/// The probe loop: rounds of the long-lived flows that are due and a few new flows, all at
/// once, under the model's read lock (the driver changes nothing during a round).
fn probe_loop(t: &Topology, shared: &Shared, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x9e37_79b9);
    let mut ids = Ids {
        port: 10000 + (seed % 20000) as u32,
        echo: 1000 + (seed % 20000) as u32,
    };
    let kinds = [
        (Proto::Tcp, Direction::Inbound, 6),
        (Proto::Tcp, Direction::Outbound, 3),
        (Proto::Udp, Direction::Inbound, 4),
        (Proto::Udp, Direction::Outbound, 3),
        (Proto::Echo, Direction::Inbound, 3),
        (Proto::Echo, Direction::Outbound, 3),
    ];
    let now = Instant::now();
    let mut long: Vec<Probed> = kinds
        .iter()
        .flat_map(|&(proto, dir, n)| std::iter::repeat_n((proto, dir), n))
        .map(|(proto, dir)| {
            let (peer, flow) = random_flow(&mut rng, &mut ids, proto, dir);
            Probed {
                flow,
                peer,
                long: true,
                sock: None,
                due: now,
            }
        })
        .collect();
    while !shared.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let mut round: Vec<Probed> = (0..6)
            .map(|_| {
                let (proto, dir, _) = kinds[rng.random_range(0..kinds.len())];
                let (peer, flow) = random_flow(&mut rng, &mut ids, proto, dir);
                Probed {
                    flow,
                    peer,
                    long: false,
                    sock: None,
                    due: now,
                }
            })
            .collect();
        {
            let m = shared.model.read().expect("model");
            let life = shared.life.load(Ordering::Relaxed);
            thread::scope(|s| {
                for p in long
                    .iter_mut()
                    .filter(|p| p.due <= now)
                    .chain(round.iter_mut())
                {
                    let m = &*m;
                    s.spawn(move || {
                        let kept = probe(t, shared, m, life, p);
                        if p.long && !kept {
                            // A new flow of the same kind takes its place.
                            p.sock = None;
                        }
                    });
                }
            });
        }
        let started = now;
        let now = Instant::now();
        // Those probed in this round (due when it started).
        for p in long.iter_mut().filter(|p| p.due <= started) {
            if p.sock.is_none() {
                let (peer, flow) = random_flow(&mut rng, &mut ids, p.flow.proto, p.flow.opener);
                (p.peer, p.flow) = (peer, flow);
                p.due = now + Duration::from_secs_f64(rng.random_range(0.5..3.0));
            } else {
                p.due = now + silence(&mut rng);
            }
        }
        thread::sleep(Duration::from_millis(rng.random_range(50..300)));
    }
}

/// UDP echo servers in `ns` on `addrs`, port `port`, for as long as the process lives.
fn udp_echo_server(ns: &Netns, addrs: &[&str], port: u16) {
    for a in addrs {
        let at = SocketAddr::new(ip(a), port);
        let s = ns.run(move || std::net::UdpSocket::bind(at).expect("bind a UDP server"));
        thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = s.recv_from(&mut buf) {
                let _ = s.send_to(&buf[..n], from);
            }
        });
    }
}

/// sgd's resident memory, KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples sgd's memory and the conntrack tables' occupancy every `every`.
fn sampler(shared: &Shared, socket: PathBuf, every: Duration) {
    while !shared.stop.load(Ordering::Relaxed) {
        let pid = shared.pid.load(Ordering::Relaxed);
        let life = shared.life.load(Ordering::Relaxed);
        let life_s = shared
            .life_started
            .lock()
            .expect("life")
            .elapsed()
            .as_secs_f64();
        let out = std::process::Command::new(bin("sgctl"))
            .arg("--socket")
            .arg(&socket)
            .arg("describe-network-interfaces")
            .output();
        let allowance = out
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| serde_json::from_slice::<Value>(&o.stdout).ok())
            .and_then(|v| {
                v["NetworkInterfaces"]
                    .as_array()
                    .and_then(|a| a.first().cloned())
            })
            .map(|i| i["ConntrackAllowance"].clone());
        if let (Some(a), Some(rss)) = (allowance, rss_kib(pid))
            && pid != 0
        {
            shared.samples.lock().expect("samples").push(Sample {
                at_s: shared.started.elapsed().as_secs_f64(),
                life,
                life_s,
                rss_kib: rss,
                tcp: a["Tcp"]["InUse"].as_u64().unwrap_or(0),
                other: a["Other"]["InUse"].as_u64().unwrap_or(0),
            });
        }
        let until = Instant::now() + every;
        while Instant::now() < until && !shared.stop.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(200));
        }
    }
}

/// What the driver does next.
#[derive(Clone, Copy, Debug)]
enum Action {
    Authorize { egress: bool },
    Revoke,
    SetGroups,
    Forget,
    Timeouts,
    Kill9,
    Restart,
}

/// The next action at random; rules are revoked more often than granted once the groups
/// hold many (so traffic stays a mix of allowed and refused).
fn pick_action(rng: &mut StdRng, rules: usize) -> Action {
    if rules > 16 && rng.random_bool(0.3) {
        return Action::Revoke;
    }
    match rng.random_range(0..1000) {
        0..300 => Action::Authorize { egress: false },
        300..420 => Action::Authorize { egress: true },
        420..750 => Action::Revoke,
        750..860 => Action::SetGroups,
        860..890 => Action::Forget,
        890..993 => Action::Timeouts,
        993..998 => Action::Kill9,
        _ => Action::Restart,
    }
}

/// The driver's own record: the groups (model id, sgd id) and the permissions granted.
struct Driver {
    groups: Vec<(String, String)>,
    /// (group index, egress, permission) of every rule the groups hold.
    granted: Vec<(usize, bool, IpPermission)>,
}

impl Driver {
    /// Runs `sgctl args` and the model's operation (`model_ok`), and counts a divergence
    /// when one succeeds and the other fails. Returns whether both succeeded.
    fn both(&self, d: &Daemon, shared: &Shared, args: &[&str], model: Result<(), String>) -> bool {
        let out = d.sgctl(args);
        shared.note(&format!(
            "sgctl {} -> {}, model {}",
            args.join(" "),
            if out.status.success() {
                "ok"
            } else {
                "refused"
            },
            if model.is_ok() { "ok" } else { "refused" }
        ));
        let mut stats = shared.stats.lock().expect("stats");
        stats.add(&format!("action_{}", args[0]));
        match (out.status.success(), model) {
            (true, Ok(())) => true,
            (false, Err(_)) => {
                stats.add("actions_refused_by_both");
                false
            }
            (sgd, model) => {
                stats.fail(
                    "divergences",
                    format!(
                        "sgctl {args:?}: sgd {} ({}), model {model:?}",
                        if sgd { "succeeded" } else { "failed" },
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                );
                false
            }
        }
    }
}

fn json_perms(p: &IpPermission) -> String {
    serde_json::to_string(&[p]).expect("permission as JSON")
}

/// The addresses of an interface of the instance, as group references would match them.
fn fw_addrs(iface: &str) -> Vec<IpAddr> {
    let p = PEERS.iter().find(|p| p.iface == iface).expect("interface");
    vec![ip(p.fw4), ip(p.fw6)]
}

/// Authorizes (`grant`) or revokes a rule (group index, egress, permission) on sgd and on
/// the model; whether both did.
fn change_rule(
    dr: &Driver,
    d: &Daemon,
    shared: &Shared,
    m: &mut Model,
    (g, egress, p): (usize, bool, &IpPermission),
    grant: bool,
) -> bool {
    let (model_id, sgd_id) = &dr.groups[g];
    let perms = vec![p.clone()];
    let model = if grant {
        m.world.authorize(model_id, egress, perms).map(|_| ())
    } else {
        m.world.revoke(model_id, egress, perms).map(|_| ())
    };
    let verb = match (grant, egress) {
        (true, false) => "authorize-security-group-ingress",
        (true, true) => "authorize-security-group-egress",
        (false, false) => "revoke-security-group-ingress",
        (false, true) => "revoke-security-group-egress",
    };
    let perms = json_perms(p);
    let args = [verb, "--group-id", sgd_id, "--ip-permissions", &perms];
    dr.both(d, shared, &args, model.map_err(|e| e.to_string()))
}

/// Sets `iface`'s groups (indices into the driver's) on sgd and on the model, which protects
/// it; whether both did.
fn set_groups(
    dr: &Driver,
    d: &Daemon,
    shared: &Shared,
    m: &mut Model,
    iface: &str,
    set: &[usize],
) -> bool {
    let model_ids: Vec<&str> = set.iter().map(|&g| dr.groups[g].0.as_str()).collect();
    let model = m
        .world
        .attach(iface, &model_ids, &fw_addrs(iface))
        .map(|_| ())
        .map_err(|e| e.to_string());
    let mut args = vec![
        "modify-network-interface-attribute",
        "--network-interface-id",
        iface,
        "--groups",
    ];
    args.extend(set.iter().map(|&g| dr.groups[g].1.as_str()));
    let done = dr.both(d, shared, &args, model);
    if done {
        m.protected(iface);
    }
    done
}

/// Does `action`: on sgd and on the model, under the model's write lock (no probe runs).
fn act(action: Action, rng: &mut StdRng, dr: &mut Driver, d: &Daemon, shared: &Shared) {
    let mut m = shared.model.write().expect("model");
    match action {
        Action::Authorize { egress } => {
            let g = rng.random_range(0..dr.groups.len());
            let p = random_perm(rng, egress);
            if change_rule(dr, d, shared, &mut m, (g, egress, &p), true) {
                dr.granted.push((g, egress, p));
            }
        }
        Action::Revoke => {
            if dr.granted.is_empty() {
                return;
            }
            let i = rng.random_range(0..dr.granted.len());
            let (g, egress, p) = dr.granted[i].clone();
            if change_rule(dr, d, shared, &mut m, (g, egress, &p), false) {
                dr.granted.remove(i);
            }
        }
        Action::SetGroups => {
            let iface = IFACES[rng.random_range(0..2)];
            let mut set: Vec<usize> = (0..dr.groups.len())
                .filter(|_| rng.random_bool(0.5))
                .collect();
            if set.is_empty() {
                set.push(rng.random_range(0..dr.groups.len()));
            }
            set_groups(dr, d, shared, &mut m, iface, &set);
        }
        Action::Forget => {
            let iface = IFACES[rng.random_range(0..2)];
            if !m.world.state.interfaces.contains_key(iface) {
                return;
            }
            let model = ops::delete_network_interface(&mut m.world.state, &Some(iface.into()))
                .map(|_| ())
                .map_err(|e| e.to_string());
            m.forget(iface);
            let args = ["delete-network-interface", "--network-interface-id", iface];
            dr.both(d, shared, &args, model);
        }
        Action::Timeouts => {
            let iface = IFACES[rng.random_range(0..2)];
            if !m.world.state.interfaces.contains_key(iface) {
                return;
            }
            let t = Timeouts {
                tcp: [60, 90, 432_000][rng.random_range(0..3)],
                udp_stream: [60, 120, 180][rng.random_range(0..3)],
                udp: [30, 45, 60][rng.random_range(0..3)],
            };
            let spec = format!(
                "TcpEstablishedTimeout={},UdpStreamTimeout={},UdpTimeout={}",
                t.tcp, t.udp_stream, t.udp
            );
            let args = [
                "modify-network-interface-attribute",
                "--network-interface-id",
                iface,
                "--connection-tracking-specification",
                &spec,
            ];
            if dr.both(d, shared, &args, Ok(())) {
                m.set_timeouts(iface, t);
            }
        }
        Action::Kill9 | Action::Restart => unreachable!("restarts take no lock"),
    }
}

/// Stops sgd (SIGKILL or SIGTERM), lets traffic run a moment without it, starts it again.
fn restart(action: Action, rng: &mut StdRng, d: &mut Daemon, shared: &Shared) {
    let t0 = Instant::now();
    shared.note(&format!("{action:?}: stopping sgd"));
    match action {
        Action::Kill9 => d.kill9(),
        _ => d.stop(),
    }
    shared.pid.store(0, Ordering::Relaxed);
    shared.life.fetch_add(1, Ordering::Relaxed);
    thread::sleep(Duration::from_secs_f64(rng.random_range(0.0..3.0)));
    d.respawn();
    shared.pid.store(d.pid().unwrap_or(0), Ordering::Relaxed);
    *shared.life_started.lock().expect("life") = Instant::now();
    shared.note("sgd started again");
    let mut stats = shared.stats.lock().expect("stats");
    stats.add(match action {
        Action::Kill9 => "restarts_kill9",
        _ => "restarts_sigterm",
    });
    let ms = t0.elapsed().as_millis() as u64;
    *stats.counts.entry("restart_ms_max".into()).or_default() = stats.get("restart_ms_max").max(ms);
}

/// Whether sgd's groups hold exactly the model's rules (checked after restarts and now and
/// then): same permissions per group, in the AWS shape both describe them in.
fn check_state(d: &Daemon, dr: &Driver, m: &Model, stats: &Mutex<Stats>) {
    let out = d.sgctl(&["describe-security-groups"]);
    let mut stats = stats.lock().expect("stats");
    stats.add("state_checks");
    let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) else {
        stats.fail(
            "divergences",
            "describe-security-groups answered no JSON".into(),
        );
        return;
    };
    for (model_id, sgd_id) in &dr.groups {
        let Some(g) = v["SecurityGroups"]
            .as_array()
            .and_then(|a| a.iter().find(|g| g["GroupId"] == sgd_id.as_str()))
        else {
            stats.fail("divergences", format!("{sgd_id} is gone"));
            continue;
        };
        let rules = |egress: bool| -> Vec<String> {
            let mut r: Vec<String> = m.world.state.groups[model_id]
                .rules
                .iter()
                .filter(|r| r.egress == egress)
                .map(|r| {
                    format!(
                        "{} {:?} {:?} {:?}",
                        r.protocol, r.from_port, r.to_port, r.peer
                    )
                })
                .collect();
            r.sort();
            r
        };
        let count = |key: &str| -> usize {
            g[key].as_array().map_or(0, |ps| {
                ps.iter()
                    .map(|p| {
                        p["IpRanges"].as_array().map_or(0, Vec::len)
                            + p["Ipv6Ranges"].as_array().map_or(0, Vec::len)
                    })
                    .sum()
            })
        };
        let (ing, eg) = (count("IpPermissions"), count("IpPermissionsEgress"));
        if ing != rules(false).len() || eg != rules(true).len() {
            stats.fail(
                "divergences",
                format!(
                    "{sgd_id}: sgd holds {ing} inbound and {eg} outbound rules, the model {} and \
                     {}",
                    rules(false).len(),
                    rules(true).len()
                ),
            );
        }
    }
}

struct Opts {
    minutes: f64,
    seed: u64,
    out: PathBuf,
}

fn parse_args() -> Opts {
    let mut o = Opts {
        minutes: 2.0,
        seed: rand::random(),
        out: PathBuf::from("target/soak"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--minutes" => o.minutes = value().parse().expect("--minutes: a number"),
            "--seed" => o.seed = value().parse().expect("--seed: a number"),
            "--out" => o.out = value().into(),
            other => {
                panic!("unknown argument {other} (sg-soak [--minutes M] [--seed S] [--out DIR])")
            }
        }
    }
    o
}

fn main() {
    let opts = parse_args();
    if !sg_tests::require_root("the soak") {
        return;
    }
    println!(
        "[soak] {} minutes, seed {} (sg-soak --seed {} replays the driver's choices)",
        opts.minutes, opts.seed, opts.seed
    );
    for sig in [
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGTERM,
    ] {
        let action = nix::sys::signal::SigAction::new(
            nix::sys::signal::SigHandler::Handler(interrupted),
            nix::sys::signal::SaFlags::empty(),
            nix::sys::signal::SigSet::empty(),
        );
        // SAFETY: the handler only stores to an atomic.
        unsafe { nix::sys::signal::sigaction(sig, &action) }.expect("signal handler");
    }
    let t = Topology::new();
    for (ns, extra) in [
        (&t.a, ["192.0.2.3/24", "2001:db8:a::3/64"]),
        (&t.b, ["198.51.100.3/24", "2001:db8:b::3/64"]),
    ] {
        ns.ip(&["addr", "add", extra[0], "dev", "eth0"]);
        ns.ip(&["addr", "add", extra[1], "dev", "eth0", "nodad"]);
    }
    for ns in [&t.fw, &t.a, &t.b] {
        // ICMP echo sockets for root (the echo identifier is the socket's port).
        let out = ns.exec(&["sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"]);
        assert!(out.status.success(), "sysctl ping_group_range: {out:?}");
    }
    let _servers = (
        FW_TCP.map(|port| tcp_server(&t.fw, port)),
        [&t.a, &t.b].map(|ns| tcp_server(ns, PEER_TCP)),
    );
    // UDP echo servers on each address (an answer from `[::]` would leave from the link's
    // first address, not the one asked).
    for (i, p) in PEERS.iter().enumerate() {
        udp_echo_server(&t.fw, &[p.fw4, p.fw6], FW_UDP);
        udp_echo_server(if i == 0 { &t.a } else { &t.b }, &p.addrs, PEER_UDP);
    }
    // Pins in a bpf filesystem of the root mount namespace outlive sgd (kill -9).
    let bpf = BpfFs::mount();
    let pin = bpf.path.join("sg");
    let pin = pin.to_str().expect("utf-8").to_owned();
    let mut d = Daemon::start_with(&t.fw, None, &["--pin-dir", &pin]);
    let mut rng = StdRng::seed_from_u64(opts.seed);

    let mut world = World::new();
    let mut dr = Driver {
        groups: Vec::new(),
        granted: Vec::new(),
    };
    for i in 0..3 {
        let name = format!("soak{i}");
        let model_id = world.group(&name);
        let sgd_id = d.create_group(&name);
        dr.groups.push((model_id, sgd_id));
        // A new group allows everything outbound (SG-RULE-1).
        for cidr in ["0.0.0.0/0", "::/0"] {
            dr.granted.push((i, true, perm("-1", None, cidr)));
        }
    }
    let shared = Shared {
        model: RwLock::new(Model {
            world,
            timeouts: BTreeMap::new(),
            forgotten: BTreeMap::new(),
        }),
        stats: Mutex::new(Stats::default()),
        samples: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
        life: AtomicU32::new(0),
        pid: AtomicU32::new(d.pid().unwrap_or(0)),
        life_started: Mutex::new(Instant::now()),
        started: Instant::now(),
        log: Mutex::new({
            let _ = std::fs::create_dir_all(&opts.out);
            std::fs::File::create(opts.out.join("actions.log")).expect("actions.log")
        }),
    };
    // Some rules to start from, then both interfaces protected.
    for _ in 0..8 {
        act(
            Action::Authorize { egress: false },
            &mut rng,
            &mut dr,
            &d,
            &shared,
        );
    }
    // fwa in groups 0 and 1, fwb in groups 0 and 2.
    for (i, iface) in IFACES.iter().enumerate() {
        let mut m = shared.model.write().expect("model");
        assert!(
            set_groups(&dr, &d, &shared, &mut m, iface, &[0, i + 1]),
            "protecting {iface}"
        );
    }

    let run = Duration::from_secs_f64(opts.minutes * 60.0);
    let every = if opts.minutes < 10.0 {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(30)
    };
    let socket = d.socket();

    thread::scope(|s| {
        let _stop = StopOnDrop(&shared.stop);
        s.spawn(|| probe_loop(&t, &shared, opts.seed));
        s.spawn(|| sampler(&shared, socket, every));
        // Every kind of restart at least once, however short the run.
        let mut forced = vec![(run / 3, Action::Kill9), (run * 2 / 3, Action::Restart)];
        let mut actions = 0u64;
        while shared.started.elapsed() < run && !INTERRUPTED.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_secs_f64(rng.random_range(0.5..3.0)));
            let elapsed = shared.started.elapsed();
            let action = match forced.first() {
                Some(&(at, a)) if elapsed >= at => {
                    forced.remove(0);
                    a
                }
                _ => pick_action(&mut rng, dr.granted.len()),
            };
            match action {
                Action::Kill9 | Action::Restart => {
                    let same = std::mem::discriminant(&action);
                    forced.retain(|(_, a)| std::mem::discriminant(a) != same);
                    restart(action, &mut rng, &mut d, &shared);
                    check_state(&d, &dr, &shared.model.read().expect("model"), &shared.stats);
                }
                a => act(a, &mut rng, &mut dr, &d, &shared),
            }

            actions += 1;
            if actions.is_multiple_of(50) {
                check_state(&d, &dr, &shared.model.read().expect("model"), &shared.stats);
            }
        }
    });
    let ok = report(&opts, &shared, &d);
    drop(d);
    drop(bpf);
    drop(t);
    if INTERRUPTED.load(Ordering::Relaxed) {
        println!(
            "[soak] INTERRUPTED after {:.1} of {} minutes",
            shared.started.elapsed().as_secs_f64() / 60.0,
            opts.minutes
        );
        std::process::exit(130);
    }
    std::process::exit(if ok { 0 } else { 1 });
}

/// Prints and writes the run's figures; whether the run passed.
fn report(opts: &Opts, shared: &Shared, d: &Daemon) -> bool {
    let stats = shared.stats.lock().expect("stats");
    let samples = shared.samples.lock().expect("samples").clone();
    // Memory growth within each run of sgd, from its first sample a minute in to its last.
    let mut growth_kib: i64 = 0;
    let mut lives: BTreeMap<u32, Vec<Sample>> = BTreeMap::new();
    for s in &samples {
        lives.entry(s.life).or_default().push(*s);
    }
    for l in lives.values() {
        let settled: Vec<&Sample> = l.iter().filter(|s| s.life_s >= 60.0).collect();
        if let (Some(first), Some(last)) = (settled.first(), settled.last()) {
            growth_kib = growth_kib.max(last.rss_kib as i64 - first.rss_kib as i64);
        }
    }
    let max = |f: fn(&Sample) -> u64| samples.iter().map(f).max().unwrap_or(0);
    let summary = json!({
        "minutes": opts.minutes,
        "seed": opts.seed,
        "counts": stats.counts,
        "failures": stats.failures,
        "rss_kib_max": max(|s| s.rss_kib),
        "rss_growth_kib_max_within_a_run": growth_kib,
        "conntrack_tcp_in_use_max": max(|s| s.tcp),
        "conntrack_other_in_use_max": max(|s| s.other),
        "samples": samples.iter().map(|s| json!([
            (s.at_s * 10.0).round() / 10.0, s.life, s.rss_kib, s.tcp, s.other
        ])).collect::<Vec<_>>(),
    });
    let _ = std::fs::create_dir_all(&opts.out);
    let file = opts.out.join("report.json");
    std::fs::write(&file, serde_json::to_string_pretty(&summary).expect("JSON"))
        .expect("write the report");
    let c = |k: &str| stats.get(k);
    println!("[soak] {} minutes, seed {}", opts.minutes, opts.seed);
    println!(
        "[soak] probes {} (long-lived {}): passed as predicted {}, refused as predicted {}, \
         undecided (timing windows) {}, skipped {}",
        c("probes"),
        c("probes_long_lived"),
        c("probes_passed"),
        c("probes_refused"),
        c("probes_undecided"),
        c("probes_skipped")
    );
    println!(
        "[soak] wrongful admits {}, wrongful refusals {}, tracked flows lost across restarts {}, \
         divergences from the model {}",
        c("wrongful_admits"),
        c("wrongful_refusals"),
        c("tracked_flows_lost_across_restarts"),
        c("divergences")
    );
    println!(
        "[soak] restarts: kill -9 {}, SIGTERM {} (longest {} ms); state checks {}",
        c("restarts_kill9"),
        c("restarts_sigterm"),
        c("restart_ms_max"),
        c("state_checks")
    );
    println!(
        "[soak] sgd memory: max {} KiB, growth within a run {} KiB; conntrack in use max: \
         TCP {}, other {}",
        max(|s| s.rss_kib),
        growth_kib,
        max(|s| s.tcp),
        max(|s| s.other)
    );
    let md = opts.out.join("report.md");
    std::fs::write(&md, markdown(opts, &stats, &samples, growth_kib)).expect("write the report");
    println!("[soak] report: {} and {}", file.display(), md.display());
    let mut ok = true;
    for k in [
        "wrongful_admits",
        "wrongful_refusals",
        "tracked_flows_lost_across_restarts",
        "divergences",
    ] {
        if c(k) > 0 {
            println!("[soak] FAILED: {k} = {}", c(k));
            ok = false;
        }
    }
    if c("probes_passed") == 0 || c("probes_refused") == 0 {
        println!("[soak] FAILED: the run judged no allowed or no refused traffic");
        ok = false;
    }
    // 32 MiB: far above the noise of allocator caches, far below a leak over an hour.
    if growth_kib > 32 * 1024 {
        println!("[soak] FAILED: sgd grew by {growth_kib} KiB within one run");
        ok = false;
    }
    if !ok {
        println!("[soak] sgd log (last run):\n{}", tail(&d.log(), 60));
    }
    ok
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The run as Markdown: the counts, then sgd's memory and the tables' occupancy by period.
fn markdown(opts: &Opts, stats: &Stats, samples: &[Sample], growth_kib: i64) -> String {
    let mut out = format!(
        "Soak of {} minutes (seed {}): `sg-soak --minutes {} --seed {}`.\n\n| count | value |\n|---|---:|\n",
        opts.minutes, opts.seed, opts.minutes, opts.seed
    );
    for (k, v) in &stats.counts {
        out += &format!("| {k} | {v} |\n");
    }
    out += &format!(
        "\nsgd's memory grew by at most {growth_kib} KiB within one run of it (from a minute \
         after its start to its last sample).\n\n"
    );
    let period = if opts.minutes > 20.0 { 300.0 } else { 30.0 };
    out += "| from (s) | sgd runs | RSS max (KiB) | RSS min (KiB) | TCP entries max | other \
         entries max |\n|---:|---|---:|---:|---:|---:|\n";
    let mut start = 0.0;
    while start < opts.minutes * 60.0 {
        let in_period: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.at_s >= start && s.at_s < start + period)
            .collect();
        if !in_period.is_empty() {
            let lives: std::collections::BTreeSet<u32> = in_period.iter().map(|s| s.life).collect();
            let lives: Vec<String> = lives.iter().map(u32::to_string).collect();
            out += &format!(
                "| {start:.0} | {} | {} | {} | {} | {} |\n",
                lives.join(", "),
                in_period.iter().map(|s| s.rss_kib).max().unwrap_or(0),
                in_period.iter().map(|s| s.rss_kib).min().unwrap_or(0),
                in_period.iter().map(|s| s.tcp).max().unwrap_or(0),
                in_period.iter().map(|s| s.other).max().unwrap_or(0),
            );
        }
        start += period;
    }
    out
}
