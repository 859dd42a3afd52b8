//! SG-ENF scenarios with real traffic between namespaces.

use sg_tests::*;

fn attach_both(d: &Daemon, g: &str) {
    d.ok(&[
        "modify-network-interface-attribute",
        "--network-interface-id",
        "fwa",
        "--groups",
        g,
    ]);
    d.ok(&[
        "modify-network-interface-attribute",
        "--network-interface-id",
        "fwb",
        "--groups",
        g,
    ]);
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
    let tracked_rule = [
        "--group-id",
        g.as_str(),
        "--protocol",
        "tcp",
        "--port",
        "8080",
        "--cidr",
        "192.0.2.0/24",
    ];
    let open_rule = [
        "--group-id",
        g.as_str(),
        "--protocol",
        "tcp",
        "--port",
        "2222",
        "--cidr",
        "0.0.0.0/0",
    ];
    d.ok(&[&["authorize-security-group-ingress"][..], &tracked_rule].concat());
    d.ok(&[&["authorize-security-group-ingress"][..], &open_rule].concat());
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

    d.ok(&[&["revoke-security-group-ingress"][..], &tracked_rule].concat());
    d.ok(&[&["revoke-security-group-ingress"][..], &open_rule].concat());
    assert!(
        tracked.echoes(),
        "a tracked flow survives the revoke of its rule"
    );
    assert!(
        !untracked.echoes(),
        "an untracked flow is cut the moment its rule goes"
    );
}
