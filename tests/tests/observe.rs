//! `sgctl observe` end to end (issue 16): decisions stream as real traffic crosses the
//! interface, one line per flow (not per packet), filtered as asked; the stream ends cleanly
//! on Ctrl-C, and then nothing is watched any more.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::Value;
use sg_tests::*;

/// A running `sgctl observe ARGS --output json` and the events it printed so far.
struct Observer {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Observer {
    fn start(d: &Daemon, args: &[&str]) -> Self {
        let mut child = Command::new(bin("sgctl"))
            .arg("--socket")
            .arg(d.socket())
            .args(["--output", "json", "observe"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run sgctl observe");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&l).expect("one JSON object per line");
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    /// Events received within `wait`.
    fn collect(&self, wait: Duration) -> Vec<Value> {
        let end = Instant::now() + wait;
        let mut out = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(v) => out.push(v),
                Err(_) => break,
            }
        }
        out
    }

    /// Ctrl-C: the stream ends, sgctl exits.
    fn interrupt(mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
        let _ = self.child.wait();
    }
}

fn observers(d: &Daemon) -> u64 {
    let out = d.sgctl(&["get-metrics", "--prefix", "sg_observers"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("sg_observers "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(u64::MAX)
}

fn wait_observers(d: &Daemon, n: u64) {
    let end = Instant::now() + Duration::from_secs(10);
    while observers(d) != n {
        assert!(
            Instant::now() < end,
            "{n} observers expected, {} seen",
            observers(d)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// UDP datagrams from `a` (one flow: one source port) to `addr:port`, `n` of them over about
/// `over`.
fn udp_burst(ns: &Netns, addr: &str, port: u16, n: usize, over: Duration) {
    let addr = format!("{addr}:{port}");
    ns.run(move || {
        let s = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
        for _ in 0..n {
            let _ = s.send_to(b"x", &addr);
            std::thread::sleep(over / n as u32);
        }
    });
}

#[test]
fn observe_streams_each_flows_decisions_and_stops_on_ctrl_c() {
    if !require_root("observe_streams_each_flows_decisions_and_stops_on_ctrl_c") {
        return;
    }
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let web = d.create_group("web");
    d.allow_in(&web, "tcp", "22", "192.0.2.0/24");
    d.attach("fwa", &[&web]);
    let _ssh = tcp_server(&t.fw, 22);
    assert_eq!(observers(&d), 0);

    let all = Observer::start(&d, &["--network-interface-id", "fwa"]);
    let rejects = Observer::start(&d, &["--verdict", "REJECT"]);
    wait_observers(&d, 2);

    assert!(!tcp_connects_quick(&t.a, FW_A4, 23));
    assert!(tcp_connects(&t.a, FW_A4, 22));
    let seen = all.collect(Duration::from_secs(2));
    let find = |port: u64, verdict: &str| {
        seen.iter()
            .find(|e| e["DestinationPort"] == port && e["Verdict"] == verdict)
    };
    let refused = find(23, "REJECT").unwrap_or_else(|| panic!("the refused SYN: {seen:#?}"));
    let e = &refused;
    assert_eq!(
        (
            e["NetworkInterfaceId"].as_str(),
            e["Direction"].as_str(),
            e["Reason"].as_str()
        ),
        (Some("fwa"), Some("ingress"), Some("NoRule"))
    );
    assert_eq!(
        (e["Source"].as_str(), e["Destination"].as_str()),
        (Some(A4), Some(FW_A4))
    );
    assert_eq!(e["Protocol"], "tcp");
    assert_eq!(e["TcpFlags"].as_u64().map(|f| f & 2), Some(2), "a SYN: {e}");
    let admitted = find(22, "ACCEPT").unwrap_or_else(|| panic!("the admitted SYN: {seen:#?}"));
    assert_eq!(admitted["Reason"], "SecurityGroupRules");
    // The established connection's packets are not decisions: one ACCEPT for it.
    let accepts = seen
        .iter()
        .filter(|e| e["DestinationPort"] == 22 && e["Direction"] == "ingress")
        .count();
    assert_eq!(accepts, 1, "{seen:#?}");
    let only_rejects = rejects.collect(Duration::from_millis(500));
    assert!(
        only_rejects.iter().all(|e| e["Verdict"] == "REJECT")
            && only_rejects.iter().any(|e| e["DestinationPort"] == 23),
        "{only_rejects:#?}"
    );

    // A flood of one refused flow is a few events, not one per packet.
    udp_burst(&t.a, FW_A4, 9, 300, Duration::from_millis(1500));
    let flood: Vec<Value> = all
        .collect(Duration::from_millis(1500))
        .into_iter()
        .filter(|e| e["Protocol"] == "udp" && e["DestinationPort"] == 9)
        .collect();
    assert!(
        (1..=4).contains(&flood.len()),
        "300 packets of one flow in 1.5 s: at most one event a second, {} seen",
        flood.len()
    );
    let last = flood.last().expect("an event");
    assert!(
        last["Packets"].as_u64() > Some(1) || flood.len() == 1,
        "{last}"
    );

    // Ctrl-C ends each stream; with nobody watching, the events are off.
    all.interrupt();
    wait_observers(&d, 1);
    rejects.interrupt();
    wait_observers(&d, 0);

    // Bad requests are refused before anything streams.
    for (args, code) in [
        (
            vec!["--network-interface-id", "nope0"],
            "InvalidNetworkInterfaceID.NotFound",
        ),
        (vec!["--verdict", "DROP"], "InvalidParameterValue"),
        (
            vec!["--filters", "Name=vpc-id,Values=x"],
            "InvalidParameterValue",
        ),
    ] {
        let mut all = vec!["observe"];
        all.extend(args);
        let out = d.sgctl(&all);
        assert_eq!(out.status.code(), Some(254), "{all:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(code), "{all:?}: {err}");
    }
}
