//! SG-ENF scenarios with real traffic between namespaces.

use sg_tests::*;

fn attach_both(d: &Daemon, g: &str) {
    d.attach("fwa", &[g]);
    d.attach("fwb", &[g]);
}

/// SG-ENF-2 and SG-ENF-3: revoking the rule that admitted a tracked flow does not cut it;
/// revoking the 0.0.0.0/0 rule of an untracked flow (all outbound open) cuts it at once.
#[test]
fn tracked_flow_survives_revoke_untracked_is_cut() {
    if !require_root("tracked_flow_survives_revoke_untracked_is_cut") {
        return;
    }
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let _tracked_srv = tcp_server(&t.fw, 8080);
    let _untracked_srv = tcp_server(&t.fw, 2222);
    let g = d.create_group("web");
    let tracked_rule = (g.as_str(), "tcp", "8080", "192.0.2.0/24");
    let open_rule = (g.as_str(), "tcp", "2222", "0.0.0.0/0");
    for (g, proto, port, cidr) in [tracked_rule, open_rule] {
        d.allow_in(g, proto, port, cidr);
    }
    attach_both(&d, &g);

    let mut tracked = tcp_open(&t.a, FW_A4, 8080);
    let mut untracked = tcp_open(&t.a, FW_A4, 2222);
    assert!(tracked.echoes() && untracked.echoes());
    let flows = d.ok(&[
        "describe-conntrack",
        "--filters",
        "Name=local-port,Values=2222",
    ]);
    assert_eq!(
        flows["ConnectionTrackingEntries"].as_array().map(Vec::len),
        Some(0),
        "untracked: no entry"
    );
    let flows = d.ok(&[
        "describe-conntrack",
        "--filters",
        "Name=local-port,Values=8080",
    ]);
    assert_eq!(
        flows["ConnectionTrackingEntries"].as_array().map(Vec::len),
        Some(1),
        "tracked: one entry"
    );

    for (g, proto, port, cidr) in [tracked_rule, open_rule] {
        d.revoke_in(g, proto, port, cidr);
    }
    assert!(
        tracked.echoes(),
        "a tracked flow survives the revoke of its rule"
    );
    assert!(
        !untracked.echoes(),
        "an untracked flow is cut the moment its rule goes"
    );
}

/// SG-ENF-11: large UDP datagrams travel as IP fragments, in both families and both
/// directions; later fragments follow the first fragment's verdict; the counters show it.
#[test]
fn fragmented_udp_follows_the_first_fragment() {
    if !require_root("fragmented_udp_follows_the_first_fragment") {
        return;
    }
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let _u = udp_server(&t.fw, 5300);
    let g = d.create_group("udp");
    d.allow_in(&g, "udp", "5300", "192.0.2.0/24");
    d.allow_in(&g, "udp", "5300", "2001:db8:a::/64");
    attach_both(&d, &g);
    for size in [100, 4000, 20000] {
        assert!(
            udp_echoes_size(&t.a, FW_A4, 5300, size),
            "IPv4, {size} bytes"
        );
        assert!(
            udp_echoes_size(&t.a, FW_A6, 5300, size),
            "IPv6, {size} bytes"
        );
        assert!(
            !udp_echoes_size(&t.b, FW_B4, 5300, size),
            "no rule for b, {size} bytes"
        );
    }
    let stats = &d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "fwa",
    ])["NetworkInterfaces"][0]["Statistics"];
    assert!(
        stats["pass_fragment"].as_u64().unwrap_or(0) >= 10,
        "{stats}"
    );
    let stats = &d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "fwb",
    ])["NetworkInterfaces"][0]["Statistics"];
    assert!(
        stats["drop_fragment"].as_u64().unwrap_or(0) > 0,
        "later fragments of a refused datagram are dropped: {stats}"
    );
}

/// Atomic updates: while rules are re-applied in a loop, new connections that every version
/// allows always connect, and ones that every version denies never do.
#[test]
fn rule_changes_under_traffic_are_atomic() {
    if !require_root("rule_changes_under_traffic_are_atomic") {
        return;
    }
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let _allowed = tcp_server(&t.fw, 8080);
    let _denied = tcp_server(&t.fw, 7070);
    let g = d.create_group("web");
    d.allow_in(&g, "tcp", "8080", "192.0.2.0/24");
    for i in 0..50 {
        // Many prefixes and ranges, so each version is a real ruleset to switch.
        d.ok(&[
            "authorize-security-group-ingress",
            "--group-id",
            &g,
            "--protocol",
            "udp",
            "--port",
            &format!("{}", 1000 + i),
            "--cidr",
            &format!("10.{i}.0.0/16"),
        ]);
    }
    attach_both(&d, &g);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let toggler = {
        let (stop, socket, g) = (stop.clone(), d.socket(), g.clone());
        std::thread::spawn(move || {
            let mut flips = 0;
            let rule = [
                "--group-id",
                g.as_str(),
                "--protocol",
                "tcp",
                "--port",
                "9000-9100",
                "--cidr",
                "0.0.0.0/0",
            ];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for verb in [
                    "authorize-security-group-ingress",
                    "revoke-security-group-ingress",
                ] {
                    let out = std::process::Command::new(bin("sgctl"))
                        .arg("--socket")
                        .arg(&socket)
                        .arg(verb)
                        .args(rule)
                        .output()
                        .expect("sgctl");
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    flips += 1;
                }
            }
            flips
        })
    };
    let mut failures = 0;
    let mut leaks = 0;
    for _ in 0..40 {
        if !tcp_connects(&t.a, FW_A4, 8080) {
            failures += 1;
        }
        if tcp_connects_quick(&t.a, FW_A4, 7070) {
            leaks += 1;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let flips = toggler.join().expect("toggler");
    assert!(flips >= 10, "the ruleset was switched {flips} times");
    assert_eq!(
        failures, 0,
        "connections both versions allow failed during {flips} switches"
    );
    assert_eq!(leaks, 0, "connections both versions deny got through");
}

/// An attached interface that disappears and comes back with the same name is protected
/// again at once (sgd watches netlink), and address changes reach group references.
#[test]
fn interface_that_comes_back_is_reattached() {
    if !require_root("interface_that_comes_back_is_reattached") {
        return;
    }
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let _allowed = tcp_server(&t.fw, 8080);
    let _other = tcp_server(&t.fw, 9090);
    let g = d.create_group("web");
    d.allow_in(&g, "tcp", "8080", "192.0.2.0/24");
    d.attach("fwa", &[&g]);
    assert!(!tcp_connects(&t.a, FW_A4, 9090));
    t.fw.ip(&["link", "del", "fwa"]);
    let status = |d: &Daemon| {
        d.ok(&[
            "describe-network-interfaces",
            "--network-interface-ids",
            "fwa",
        ])["NetworkInterfaces"][0]["Status"]
            .clone()
    };
    let wait_for = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while status(&d) != want {
            assert!(
                std::time::Instant::now() < deadline,
                "status never became {want}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait_for("available");
    veth(
        &t.fw,
        "fwa",
        &["192.0.2.1/24", "2001:db8:a::1/64"],
        &t.a,
        "eth0",
        &["192.0.2.2/24", "2001:db8:a::2/64"],
    );
    wait_for("in-use");
    assert!(
        tcp_connects(&t.a, FW_A4, 8080),
        "the rules apply to the new device"
    );
    assert!(!tcp_connects(&t.a, FW_A4, 9090), "and it is protected");
    // An address added to the interface shows up (and would match group references).
    t.fw.ip(&["addr", "add", "192.0.2.100/24", "dev", "fwa"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let ni = d.ok(&[
            "describe-network-interfaces",
            "--network-interface-ids",
            "fwa",
        ]);
        if ni.to_string().contains("192.0.2.100") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new address never showed: {ni}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
