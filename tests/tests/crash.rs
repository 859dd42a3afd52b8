//! Crash and upgrade safety: the datapath is pinned, so `kill -9` of sgd leaves interfaces
//! protected with the last ruleset and tracked flows flowing; a restarted sgd takes the
//! pinned state over without dropping a tracked flow; `sgd --cleanup` removes everything.

use sg_tests::*;

#[test]
fn tcp_and_udp_flows_survive_kill9_and_restart() {
    if !require_root("tcp_and_udp_flows_survive_kill9_and_restart") {
        return;
    }
    let t = Topology::new();
    let bpf = BpfFs::mount();
    let pin = bpf.path.join("sg");
    // A layout pinned by an incompatible build is detected and removed.
    std::fs::create_dir_all(pin.join("v0").join("maps")).expect("old layout");
    let pin_arg = pin.to_str().expect("utf-8").to_owned();
    let mut d = Daemon::start_with(&t.fw, None, &["--pin-dir", &pin_arg]);
    assert!(!pin.join("v0").exists(), "the old layout is gone");
    let _tcp = tcp_server(&t.fw, 8080);
    let _udp = udp_server(&t.fw, 5300);
    let g = d.create_group("web");
    let tcp_rule = (g.as_str(), "tcp", "8080", "192.0.2.0/24");
    let udp_rule = (g.as_str(), "udp", "5300", "198.51.100.0/24");
    for (g, proto, port, cidr) in [tcp_rule, udp_rule] {
        d.allow_in(g, proto, port, cidr);
    }
    for i in ["fwa", "fwb"] {
        d.attach(i, &[&g]);
    }
    let mut conn = tcp_open(&t.a, FW_A4, 8080);
    let stream = udp_open(&t.b, FW_B4, 5300);
    assert!(conn.echoes() && stream.echoes() && stream.echoes());

    d.kill9();
    assert!(conn.echoes(), "TCP flow after kill -9");
    assert!(stream.echoes(), "UDP stream after kill -9");
    assert!(
        !tcp_connects(&t.b, FW_B4, 8080),
        "still protected after kill -9"
    );
    assert!(tcp_connects(&t.a, FW_A4, 8080), "with the last ruleset");

    d.respawn();
    // On veth the default mode protects arriving packets at TC ingress; the restarted daemon
    // took the pinned link over.
    assert_eq!(
        d.ok(&[
            "describe-network-interfaces",
            "--network-interface-ids",
            "fwa",
        ])["NetworkInterfaces"][0]["Datapath"],
        serde_json::json!({ "Arriving": "tc-ingress", "Leaving": "tc-egress" })
    );
    // No traffic between the restart and the revokes: the flows can only survive through
    // the entries the previous daemon's datapath made (SG-ENF-2).
    for (g, proto, port, cidr) in [tcp_rule, udp_rule] {
        d.revoke_in(g, proto, port, cidr);
    }
    assert!(conn.echoes(), "TCP flow across the restart");
    assert!(stream.echoes(), "UDP stream across the restart");
    assert!(
        !tcp_connects(&t.a, FW_A4, 8080),
        "the new daemon enforces its rules"
    );
    let flows = d.ok(&["describe-conntrack"]);
    assert!(
        flows["ConnectionTrackingEntries"]
            .as_array()
            .map_or(0, Vec::len)
            >= 2,
        "{flows}"
    );
    let ni = d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "fwa",
    ]);
    assert!(
        ni["NetworkInterfaces"][0]["Statistics"]["pass_conntrack"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "counters kept: {ni}"
    );

    // An orderly stop keeps the firewall up too.
    d.stop();
    assert!(conn.echoes());
    assert!(!tcp_connects(&t.b, FW_B4, 8080));

    // sgd --cleanup removes everything: the interfaces are no longer filtered.
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &t.fw.name])
        .arg(bin("sgd"))
        .args(["--cleanup", "--pin-dir", &pin_arg])
        .output()
        .expect("sgd --cleanup");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!pin.exists());
    assert!(tcp_connects(&t.b, FW_B4, 8080), "unfiltered after cleanup");
}

/// Detaching an interface removes what was pinned for it.
#[test]
fn deleting_an_interface_unpins_its_links() {
    if !require_root("deleting_an_interface_unpins_its_links") {
        return;
    }
    let t = Topology::new();
    let bpf = BpfFs::mount();
    let pin = bpf.path.join("sg");
    let d = Daemon::start_with(&t.fw, None, &["--pin-dir", pin.to_str().expect("utf-8")]);
    let g = d.create_group("web");
    d.attach("fwa", &[&g]);
    let links = pin
        .join(format!("v{}", sg_common::SCHEMA_VERSION))
        .join("links");
    assert_eq!(
        std::fs::read_dir(&links).expect("links").count(),
        2,
        "XDP and TC links pinned"
    );
    d.ok(&["delete-network-interface", "--network-interface-id", "fwa"]);
    assert_eq!(std::fs::read_dir(&links).expect("links").count(), 0);
    let _srv = tcp_server(&t.fw, 9999);
    assert!(tcp_connects(&t.a, FW_A4, 9999), "unfiltered");
}

/// The names of the pinned links, sorted (`if<ifindex>-<hook>`).
fn pinned_links(pin: &std::path::Path) -> Vec<String> {
    let links = pin
        .join(format!("v{}", sg_common::SCHEMA_VERSION))
        .join("links");
    let mut names: Vec<String> = std::fs::read_dir(links)
        .expect("links")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A restart with another attach mode (generic XDP -> TC ingress -> generic XDP) moves the
/// arriving hook without dropping tracked flows, and leaves no program of the old mode
/// behind.
#[test]
fn a_restart_can_change_the_attach_mode() {
    if !require_root("a_restart_can_change_the_attach_mode") {
        return;
    }
    let t = Topology::new();
    let bpf = BpfFs::mount();
    let pin = bpf.path.join("sg");
    let pin_arg = pin.to_str().expect("utf-8").to_owned();
    let mut d = Daemon::start_with(&t.fw, None, &["--pin-dir", &pin_arg, "--xdp-mode", "skb"]);
    let _srv = tcp_server(&t.fw, 8080);
    let g = d.create_group("web");
    d.allow_in(&g, "tcp", "8080", "192.0.2.0/24");
    d.attach("fwa", &[&g]);
    let ifindex =
        t.fw.run(|| nix::net::if_::if_nametoindex("fwa").expect("fwa"));
    let hooks = |names: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|h| format!("if{ifindex}-{h}")).collect();
        v.sort();
        v
    };
    let xdp_attached = || {
        let out = t.fw.exec(&["ip", "link", "show", "fwa"]);
        String::from_utf8_lossy(&out.stdout).contains("xdp")
    };
    let arriving = |d: &Daemon| {
        d.ok(&[
            "describe-network-interfaces",
            "--network-interface-ids",
            "fwa",
        ])["NetworkInterfaces"][0]["Datapath"]["Arriving"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(pinned_links(&pin), hooks(&["xdp", "tc"]));
    assert!(xdp_attached());
    assert_eq!(arriving(&d), "xdp-generic");
    let mut conn = tcp_open(&t.a, FW_A4, 8080);
    assert!(conn.echoes());

    d.stop();
    d.respawn_with(&["--pin-dir", &pin_arg, "--xdp-mode", "tc"]);
    d.ok(&["describe-security-groups"]);
    assert_eq!(pinned_links(&pin), hooks(&["tcin", "tc"]));
    assert!(!xdp_attached(), "the XDP program is detached");
    assert_eq!(arriving(&d), "tc-ingress");
    assert!(conn.echoes(), "the tracked flow across the change");
    d.ok(&[
        "revoke-security-group-ingress",
        "--group-id",
        &g,
        "--protocol",
        "tcp",
        "--port",
        "8080",
        "--cidr",
        "192.0.2.0/24",
    ]);
    assert!(conn.echoes(), "tracked, so still allowed (SG-ENF-2)");
    assert!(!tcp_connects(&t.a, FW_A4, 8080), "TC ingress enforces");

    d.stop();
    d.respawn_with(&["--pin-dir", &pin_arg, "--xdp-mode", "skb"]);
    d.ok(&["describe-security-groups"]);
    assert_eq!(pinned_links(&pin), hooks(&["xdp", "tc"]));
    assert!(xdp_attached());
    assert_eq!(arriving(&d), "xdp-generic");
    assert!(conn.echoes(), "the tracked flow back on XDP");
    assert!(!tcp_connects(&t.a, FW_A4, 8080), "XDP enforces");
}

/// A restarted sgd whose conntrack filter pin is gone (the tables kept) counts the kept flows
/// into the new filter: their packets are still known (SG-ENF-2), not judged as new.
#[test]
fn a_lost_filter_pin_is_rebuilt_from_the_kept_flows() {
    if !require_root("a_lost_filter_pin_is_rebuilt_from_the_kept_flows") {
        return;
    }
    let t = Topology::new();
    let bpf = BpfFs::mount();
    let pin = bpf.path.join("sg");
    let pin_arg = pin.to_str().expect("utf-8").to_owned();
    let mut d = Daemon::start_with(&t.fw, None, &["--pin-dir", &pin_arg]);
    let _tcp = tcp_server(&t.fw, 8080);
    let g = d.create_group("web");
    d.allow_in(&g, "tcp", "8080", "192.0.2.0/24");
    d.attach("fwa", &[&g]);
    let mut conn = tcp_open(&t.a, FW_A4, 8080);
    assert!(conn.echoes());
    d.kill9();
    let filter = pin
        .join(format!("v{}", sg_common::SCHEMA_VERSION))
        .join("maps")
        .join(sg_common::maps::CT_FILTER);
    std::fs::remove_file(&filter).expect("remove the filter's pin");
    d.respawn();
    assert!(filter.exists(), "a new filter is pinned");
    d.revoke_in(&g, "tcp", "8080", "192.0.2.0/24");
    assert!(
        conn.echoes(),
        "the kept flow is counted in the new filter, so conntrack still finds it"
    );
    assert!(
        !tcp_connects(&t.a, FW_A4, 8080),
        "new flows follow the rules"
    );
}
