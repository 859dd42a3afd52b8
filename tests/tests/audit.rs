//! Audit mode (issue 16): an interface's groups are evaluated and its flows tracked exactly as
//! in enforce mode, but what the groups refuse passes and is counted (`audit_passed`, beside
//! the reason it would have been dropped for), so an operator sees what the groups would break
//! before they break it. Switching is atomic and keeps tracked flows.

use serde_json::Value;
use sg_tests::*;

fn statistics(d: &Daemon) -> Value {
    let v = d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "fwa",
    ]);
    v["NetworkInterfaces"][0].clone()
}

fn stat(d: &Daemon, name: &str) -> u64 {
    statistics(d)["Statistics"][name].as_u64().unwrap_or(0)
}

fn mode(d: &Daemon, m: &str) {
    d.ok(&[
        "modify-network-interface-attribute",
        "--network-interface-id",
        "fwa",
        "--enforcement-mode",
        m,
    ]);
}

#[test]
fn audit_mode_passes_and_counts_what_enforce_mode_refuses() {
    if !require_root("audit_mode_passes_and_counts_what_enforce_mode_refuses") {
        return;
    }
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let web = d.create_group("web");
    d.allow_in(&web, "tcp", "22", "192.0.2.0/24");
    // No egress rule: the instance's replies pass only on tracked flows.
    d.ok(&[
        "revoke-security-group-egress",
        "--group-id",
        &web,
        "--protocol",
        "-1",
        "--cidr",
        "0.0.0.0/0",
    ]);
    d.attach("fwa", &[&web]);
    let _ssh = tcp_server(&t.fw, 22);
    let _telnet = tcp_server(&t.fw, 23);
    assert_eq!(statistics(&d)["EnforcementMode"], "enforce", "the default");
    assert!(
        !tcp_connects_quick(&t.a, FW_A4, 23),
        "enforced: no rule, refused"
    );

    mode(&d, "audit");
    assert_eq!(statistics(&d)["EnforcementMode"], "audit");
    let (passed, no_rule) = (stat(&d, "audit_passed"), stat(&d, "drop_no_rule"));
    assert!(
        tcp_connects(&t.a, FW_A4, 23),
        "audited: what the groups refuse passes"
    );
    assert!(stat(&d, "audit_passed") > passed, "and is counted");
    assert!(
        stat(&d, "drop_no_rule") > no_rule,
        "with the reason it would have been dropped for"
    );
    let metrics = String::from_utf8_lossy(&d.sgctl(&["get-metrics"]).stdout).into_owned();
    assert!(
        metrics.lines().any(
            |l| l.starts_with("sg_audit_passed_total{interface=\"fwa\"}") && !l.ends_with(" 0")
        ),
        "{metrics}"
    );
    // Explain tells what enforce mode would do.
    let v = d.ok(&[
        "explain",
        "--network-interface-id",
        "fwa",
        "--direction",
        "ingress",
        "--protocol",
        "tcp",
        "--peer",
        A4,
        "--port",
        "23",
    ]);
    assert_eq!(
        (v["Verdict"].as_str(), v["Reason"].as_str()),
        (Some("REJECT"), Some("NoRule")),
        "{v:#}"
    );
    assert_eq!(v["EnforcementMode"], "audit", "and says it passes: {v:#}");

    // A flow the rules admit is tracked in audit mode as in enforce mode...
    let mut conn = tcp_open(&t.a, FW_A4, 22);
    assert!(conn.echoes());
    let flows = d.ok(&["describe-conntrack", "--network-interface-id", "fwa"]);
    assert!(
        flows["ConnectionTrackingEntries"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["LocalPort"] == 22)),
        "tracked in audit mode: {flows:#}"
    );
    // ... and survives the switch to enforce: its replies, which no rule allows, still pass.
    mode(&d, "enforce");
    let passed = stat(&d, "audit_passed");
    assert!(
        conn.echoes(),
        "the tracked flow keeps working after the switch"
    );
    assert!(
        !tcp_connects_quick(&t.a, FW_A4, 23),
        "enforced again: refused"
    );
    assert_eq!(
        stat(&d, "audit_passed"),
        passed,
        "enforce mode passes nothing by audit"
    );

    let out = d.sgctl(&[
        "modify-network-interface-attribute",
        "--network-interface-id",
        "fwa",
        "--enforcement-mode",
        "lenient",
    ]);
    assert_eq!(out.status.code(), Some(254));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("InvalidParameterValue") && err.contains("enforce or audit"),
        "{err}"
    );
}
