//! A fleet on one machine (issue 15): N real sgds, each in its own namespace with an instance
//! behind a host-mode interface, sharing a 1-member etcd on tmpfs. A write on host 1 (a rule
//! added to the group every instance is in) must be enforced in the kernel of every host:
//! the time from host 1 sending it to etcd (`sg_store_write_sent_at_seconds`) to each other
//! host's `sg_store_applied_at_seconds` for that revision (set once the host's maps hold
//! it; all clocks are this machine's); and the same from the request's start. Beside it, in
//! the same run, the bare etcd delivery from a write to a watcher (N-1 watchers in this
//! process, and N-1 watcher processes, as the hosts are), and the time for every
//! host to apply a write after etcd restarts, with the relists it took.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sg_tests::fleet::{Fabric, Host};
use sg_userspace::fleet::{
    etcd::{Etcd, EtcdConfig, Update},
    layout::{Diff, Scope},
};

use crate::{Results, percentile};

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// The store's metrics of host `h`'s sgd, asked on its socket directly: the poller must cost
/// the hosts it watches as little as it can (no sgctl process, no rule counters read), since
/// they share this machine's cores.
fn metrics(h: &Host) -> String {
    use sg_userspace::api::{Request, Response, client};
    let only_the_store = Request::GetMetrics(sg_userspace::api::GetMetrics {
        prefix: Some("sg_store_".into()),
    });
    match client::call(&h.sgd.socket(), &only_the_store) {
        Ok(Response::Ok(v)) => v["Metrics"].as_str().unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

/// One metric of `text`.
fn value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
}

/// One metric of host `h`'s sgd.
fn metric(h: &Host, name: &str) -> Option<f64> {
    value(&metrics(h), name)
}

/// Waits until every host has applied `revision`; each host's applied time (Unix seconds).
/// Each host stamps that time itself; the poller first leaves the hosts alone for about as
/// long as they take, so that its own requests do not slow the convergence it measures.
fn applied(hosts: &[Host], revision: i64) -> Vec<f64> {
    std::thread::sleep(Duration::from_micros(500 * hosts.len() as u64));
    let deadline = Instant::now() + Duration::from_secs(60);
    hosts
        .iter()
        .map(|h| {
            loop {
                let text = metrics(h);
                if value(&text, "sg_store_applied_revision").unwrap_or(0.0) >= revision as f64 {
                    break value(&text, "sg_store_applied_at_seconds").unwrap_or(f64::NAN);
                }
                assert!(
                    Instant::now() < deadline,
                    "host {} never applied revision {revision}:\n{}",
                    h.id,
                    h.sgd.log()
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        })
        .collect()
}

/// A rule added to `group` on host 1: (start time, committed revision).
fn write(h: &Host, group: &str, i: usize) -> (f64, i64) {
    let start = now_s();
    let out = h.sgd.ok(&[
        "authorize-security-group-ingress",
        "--group-id",
        group,
        "--protocol",
        "tcp",
        "--port",
        &(10_000 + i).to_string(),
        "--cidr",
        "198.51.100.0/24",
    ]);
    let rev = out["Revision"]
        .as_i64()
        .expect("a fleet write says its revision");
    (start, rev)
}

/// Revision -> watcher -> when (Unix seconds) it first received it; a watcher's first list
/// is filed under revision 0.
type Stamps = std::sync::Arc<
    std::sync::Mutex<std::collections::HashMap<i64, std::collections::HashMap<usize, f64>>>,
>;

fn stamp(seen: &Stamps, watcher: usize, revision: i64, at: f64) {
    seen.lock()
        .expect("stamps")
        .entry(revision)
        .or_default()
        .entry(watcher)
        .or_insert(at);
}

fn etcd_client(url: &str, prefix: &str) -> Etcd {
    Etcd::new(EtcdConfig {
        endpoints: url
            .trim_start_matches("etcd://")
            .split(',')
            .map(|m| format!("http://{m}"))
            .collect(),
        prefix: prefix.into(),
        tls: None,
        timeout: Duration::from_secs(3),
    })
    .expect("etcd client")
}

/// How the bare etcd baseline's watchers run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Watchers {
    /// Each with its own client, all in this process: etcd's own delivery time.
    InProcess,
    /// Each in a process of its own (this binary, `--etcd-watcher`), as the hosts are: what
    /// delivering to that many processes costs on this machine, before any sgd work.
    Processes,
}

/// The bare etcd delivery time (ms) from a write to each of `watchers` watchers (as many as
/// the fleet has other hosts), `n` writes: the floor under the fleet's convergence. Each
/// watcher stamps what it receives as it receives it. Also how many deliveries never came.
fn etcd_delivery(fab: &Fabric, watchers: usize, n: usize, kind: Watchers) -> (Vec<f64>, usize) {
    let url = fab.etcd.store_url();
    let prefix = match kind {
        Watchers::InProcess => "/bench/",
        Watchers::Processes => "/bench-processes/",
    };
    let seen: Stamps = Default::default();
    // Held until the writes are done.
    let mut clients = Vec::new();
    let mut children = Vec::new();
    for w in 0..watchers {
        match kind {
            Watchers::InProcess => {
                let (url, seen) = (url.clone(), seen.clone());
                clients.push(fab.ns.run(move || {
                    let etcd = etcd_client(&url, prefix);
                    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                    let following = etcd.follow(Scope::Global, None, tx, Default::default());
                    std::thread::spawn(move || {
                        while let Some(u) = rx.blocking_recv() {
                            let at = now_s();
                            match u {
                                Update::Changes { revision, .. } => stamp(&seen, w, revision, at),
                                Update::Snapshot(_) => stamp(&seen, w, 0, at),
                                Update::Progress { .. } => {}
                            }
                        }
                    });
                    (etcd, following)
                }));
            }
            Watchers::Processes => {
                let mut child = std::process::Command::new("ip")
                    .args(["netns", "exec", &fab.ns.name])
                    .arg(std::env::current_exe().expect("this binary"))
                    .args(["--etcd-watcher", &url, prefix])
                    .stdout(std::process::Stdio::piped())
                    .stdin(std::process::Stdio::null())
                    .spawn()
                    .expect("spawn a watcher");
                let out = child.stdout.take().expect("stdout");
                let seen = seen.clone();
                std::thread::spawn(move || {
                    use std::io::BufRead as _;
                    for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                        let mut f = line.split_whitespace();
                        if let (Some(Ok(rev)), Some(Ok(at))) =
                            (f.next().map(str::parse), f.next().map(str::parse))
                        {
                            stamp(&seen, w, rev, at);
                        }
                    }
                });
                children.push(child);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.lock().expect("stamps").get(&0).map_or(0, |v| v.len()) < watchers {
        assert!(Instant::now() < deadline, "watchers never listed");
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = fab.ns.run(move || {
        let writer = etcd_client(&url, prefix);
        let mut guard = writer.list().expect("list").guards.write;
        let (mut out, mut missed) = (Vec::new(), 0);
        for i in 0..n {
            let diff = Diff {
                puts: vec![(format!("global/vpc/bench-{i}"), "{}".into())],
                deletes: Vec::new(),
            };
            let start = now_s();
            let rev = writer.write(guard, &diff, "bench").expect("etcd write");
            guard = rev;
            // A watcher that has not seen a write after 10 s counts as having missed it.
            let deadline = Instant::now() + Duration::from_secs(10);
            let stamps = loop {
                let got = seen
                    .lock()
                    .expect("stamps")
                    .get(&rev)
                    .map(|v| v.values().copied().collect::<Vec<f64>>())
                    .unwrap_or_default();
                if got.len() == watchers || Instant::now() > deadline {
                    break got;
                }
                std::thread::sleep(Duration::from_millis(1));
            };
            missed += watchers - stamps.len();
            out.extend(stamps.iter().map(|t| (t - start) * 1e3));
        }
        (out, missed)
    });
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    drop(clients);
    out
}

/// `sg-bench --etcd-watcher URL PREFIX`: follows PREFIX's global scope and prints, for each
/// change, its revision and when it arrived (Unix seconds); `0` once listed. Run by
/// [`etcd_delivery`], one process per watcher.
pub(crate) fn etcd_watcher(url: &str, prefix: &str) {
    use std::io::Write as _;
    let etcd = etcd_client(url, prefix);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _following = etcd.follow(Scope::Global, None, tx, Default::default());
    let mut stdout = std::io::stdout().lock();
    while let Some(u) = rx.blocking_recv() {
        let at = now_s();
        let revision = match u {
            Update::Changes { revision, .. } => revision,
            Update::Snapshot(_) => 0,
            Update::Progress { .. } => continue,
        };
        if writeln!(stdout, "{revision} {at:.6}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return;
        }
    }
}

pub(crate) fn fleet(quick: bool) -> Results {
    let mut r = Results::new();
    if quick {
        r.extend(run(3, 10, "fleet"));
    } else {
        r.extend(run(10, 40, "fleet"));
        r.extend(run(100, 20, "fleet.n100"));
    }
    r
}

/// Conntrack tables for many sgds on one machine: the maps sized with sgd.json's documented
/// options, the rest as in production. Everything else is a real sgd.
const SMALL_MAPS: &str = r#"{ "conntrack_tcp_max": 4096, "conntrack_other_max": 1024 }"#;

/// `n` hosts, `writes` writes; keys under `key`.
fn run(n: usize, writes: usize, key: &str) -> Results {
    let mut r = Results::new();
    let mut fab = Fabric::new(1);
    let config = (n > 10).then_some(SMALL_MAPS);
    let hosts: Vec<Host> = (1..=n as u8)
        .map(|i| Host::new_configured(&fab, i, &[], &[], config))
        .collect();
    let h1 = &hosts[0];
    let app = h1.sgd.create_group("app");
    let web = h1.sgd.create_group("web");
    h1.sgd.ok(&[
        "authorize-security-group-ingress",
        "--group-id",
        &app,
        "--ip-permissions",
        &format!("IpProtocol=tcp,FromPort=8080,ToPort=8080,UserIdGroupPairs=[{{GroupId={web}}}]"),
    ]);
    // Every host's instance is in `app`: every write below changes every host's maps.
    let mut last = 0;
    for h in &hosts {
        let out = h.sgd.ok(&[
            "create-network-interface",
            "--network-interface-id",
            &h.vm_if(),
            "--attach-mode",
            "host",
            "--private-ip-addresses",
            &h.vm_addr(),
            "--groups",
            &app,
        ]);
        last = last.max(out["Revision"].as_i64().unwrap_or(0));
    }
    applied(&hosts, last);
    let mut lag = Vec::new();
    let mut request_lag = Vec::new();
    let mut fleet_max = Vec::new();
    // The hosts' CPU at rest (timers, keepalives), to subtract from the write loop's.
    let idle_start = (Instant::now(), cpu_seconds(&hosts[1..]));
    std::thread::sleep(Duration::from_secs(2));
    let idle_rate =
        (cpu_seconds(&hosts[1..]) - idle_start.1) / idle_start.0.elapsed().as_secs_f64();
    eprintln!("[bench] {key}: {n} hosts up, writing from {:.3}", now_s());
    let loop_start = Instant::now();
    let cpu_before = cpu_seconds(&hosts[1..]);
    for i in 0..writes {
        let (start, rev) = write(h1, &app, i);
        let at = applied(&hosts, rev);
        // From the moment host 1 sent the write to etcd (as the bare etcd figure starts), and
        // from the request's start (sgctl's process and host 1's checks included).
        let sent = metric(h1, "sg_store_write_sent_at_seconds").expect("write time");
        let others: Vec<f64> = at[1..].iter().map(|t| (t - sent) * 1e3).collect();
        request_lag.extend(at[1..].iter().map(|t| (t - start) * 1e3));
        fleet_max.push(others.iter().copied().fold(0.0, f64::max));
        lag.extend(others);
    }
    // The CPU the other hosts' sgds spent on each change, beyond their CPU at rest (the
    // poller's metric reads included): with every host on one machine, their sum over the
    // machine's cores bounds how fast the last host can follow.
    eprintln!("[bench] {key}: writes done at {:.3}", now_s());
    let busy =
        cpu_seconds(&hosts[1..]) - cpu_before - idle_rate * loop_start.elapsed().as_secs_f64();
    let cpu_per_change = busy.max(0.0) / ((n - 1) * writes) as f64;
    let (delivery, missed) = etcd_delivery(&fab, n - 1, writes, Watchers::InProcess);
    let (to_processes, missed_processes) = etcd_delivery(&fab, n - 1, writes, Watchers::Processes);
    let p = |v: &[f64], q: f64| percentile(v.to_vec(), q);
    for (name, value) in [
        ("hosts", n as f64),
        ("host_cpu_per_change_us", cpu_per_change * 1e6),
        ("request_to_kernel_p50_ms", p(&request_lag, 0.5)),
        ("request_to_kernel_p99_ms", p(&request_lag, 0.99)),
        ("convergence_p50_ms", p(&lag, 0.5)),
        ("convergence_p99_ms", p(&lag, 0.99)),
        ("convergence_max_ms", p(&fleet_max, 1.0)),
        ("convergence_fleet_p99_ms", p(&fleet_max, 0.99)),
        ("etcd_delivery_p50_ms", p(&delivery, 0.5)),
        ("etcd_delivery_p99_ms", p(&delivery, 0.99)),
        ("etcd_delivery_missed", missed as f64),
        (
            "convergence_vs_etcd_p99_ratio",
            p(&lag, 0.99) / p(&delivery, 0.99),
        ),
        ("etcd_delivery_processes_p50_ms", p(&to_processes, 0.5)),
        ("etcd_delivery_processes_p99_ms", p(&to_processes, 0.99)),
        ("etcd_delivery_processes_missed", missed_processes as f64),
        (
            "convergence_vs_etcd_processes_p99_ratio",
            p(&lag, 0.99) / p(&to_processes, 0.99),
        ),
    ] {
        r.insert(format!("{key}.{name}"), value);
    }
    // etcd restarted under the fleet: the time until every host applies the next write
    // (issued as soon as etcd answers), and the relists it took.
    let relists = |hosts: &[Host]| -> f64 {
        hosts
            .iter()
            .map(|h| metric(h, "sg_store_relists_total").unwrap_or(0.0))
            .sum()
    };
    let before = relists(&hosts);
    let down = now_s();
    fab.etcd.kill(0);
    fab.etcd.restart(0);
    let rev = loop {
        let out = h1.sgd.sgctl(&[
            "authorize-security-group-ingress",
            "--group-id",
            &app,
            "--protocol",
            "udp",
            "--port",
            "53",
            "--cidr",
            "198.51.100.0/24",
        ]);
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
            break v["Revision"].as_i64().expect("revision");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let at = applied(&hosts, rev);
    let back = at.iter().copied().fold(0.0, f64::max);
    r.insert(format!("{key}.recovery_ms"), (back - down) * 1e3);
    r.insert(format!("{key}.recovery_relists"), relists(&hosts) - before);
    r
}

/// The CPU time (user and system) the sgds of `hosts` have used, in seconds.
fn cpu_seconds(hosts: &[Host]) -> f64 {
    let tick = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    hosts
        .iter()
        .filter_map(|h| h.sgd.pid())
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .map(|stat| {
            // Fields after the command (which may hold spaces) start past its ')'.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            // utime and stime: fields 14 and 15 of stat, 12 and 13 after the command.
            (ticks(11) + ticks(12)) / tick
        })
        .sum()
}
