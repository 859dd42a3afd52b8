//! The datapath's own log (issue 16, aya-log): rare conditions reach sgd's log at the default
//! level, at most once a second per CPU however often they happen; `--datapath-log off`
//! silences them; at debug, every decision on the one chosen interface is logged.

use std::time::{Duration, Instant};

use sg_tests::*;

/// `n` UDP flows (one datagram each, from distinct source ports) from `a` to `addr:port`.
fn udp_flows(ns: &Netns, addr: &str, port: u16, n: usize) {
    let addr = format!("{addr}:{port}");
    ns.run(move || {
        for _ in 0..n {
            let s = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
            let _ = s.send_to(b"x", &addr);
        }
    });
}

fn log_lines(d: &Daemon, needle: &str) -> usize {
    d.log().lines().filter(|l| l.contains(needle)).count()
}

/// sgd protecting `fwa` with UDP 5353 allowed from `a`'s subnet (tracked) and a
/// connection-tracking table of 8 flows for everything but TCP.
fn small_table(t: &Topology, args: &[&str]) -> Daemon {
    let d = Daemon::start_with(&t.fw, Some(r#"{"conntrack_other_max": 8}"#), args);
    let g = d.create_group("dns");
    d.allow_in(&g, "udp", "5353", "192.0.2.0/24");
    d.attach("fwa", &[&g]);
    d
}

const FULL: &str = "connection tracking table full";

#[test]
fn a_full_table_is_logged_once_a_second_and_not_when_off() {
    if !require_root("a_full_table_is_logged_once_a_second_and_not_when_off") {
        return;
    }
    let t = Topology::new();
    let d = small_table(&t, &[]);
    // 200 new flows against a table of 8: 192 refused, in well under a second.
    udp_flows(&t.a, FW_A4, 5353, 200);
    let end = Instant::now() + Duration::from_secs(5);
    while log_lines(&d, FULL) == 0 {
        assert!(Instant::now() < end, "no log line:\n{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let n = log_lines(&d, FULL);
    assert!(
        (1..=4).contains(&n),
        "192 refusals are a line or two per CPU, not one each: {n}\n{}",
        d.log()
    );
    drop(d);

    let t = Topology::new();
    let d = small_table(&t, &["--datapath-log", "off"]);
    udp_flows(&t.a, FW_A4, 5353, 200);
    std::thread::sleep(Duration::from_millis(500));
    let stats = d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "fwa",
    ]);
    assert!(
        stats["NetworkInterfaces"][0]["Statistics"]["conntrack_allowance_exceeded"].as_u64()
            > Some(0),
        "the table did fill: {stats:#}"
    );
    assert_eq!(log_lines(&d, FULL), 0, "off means off:\n{}", d.log());
}

#[test]
fn debug_logs_every_decision_of_the_chosen_interface_only() {
    if !require_root("debug_logs_every_decision_of_the_chosen_interface_only") {
        return;
    }
    let t = Topology::new();
    let d = Daemon::start_with(
        &t.fw,
        None,
        &["--datapath-log", "debug", "--datapath-log-interface", "fwa"],
    );
    let g = d.create_group("web");
    d.attach("fwa", &[&g]);
    d.attach("fwb", &[&g]);
    let ifindex = |dev: &str| {
        let out =
            t.fw.exec(&["cat", &format!("/sys/class/net/{dev}/ifindex")]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let (a, b) = (ifindex("fwa"), ifindex("fwb"));
    assert!(!pings(&t.a, FW_A4));
    assert!(!pings(&t.b, FW_B4));
    let end = Instant::now() + Duration::from_secs(5);
    // ICMP (proto 1) refused on fwa without a rule (reason 3, drop_no_rule).
    let fwa_line = format!("ifindex {a} dir 0 proto 1");
    while log_lines(&d, &fwa_line) == 0 {
        assert!(Instant::now() < end, "no decision logged:\n{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        log_lines(&d, &format!("ifindex {b} ")),
        0,
        "only the chosen interface:\n{}",
        d.log()
    );
}
