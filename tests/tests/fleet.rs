//! Many hosts, one set of groups (issue 15): sgds in their own namespaces sharing a real etcd,
//! with instances behind host-mode interfaces and real traffic between hosts.

use std::{
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use sg_tests::{
    fleet::{Fabric, Host},
    require_root, tcp_connects, tcp_connects_quick, tcp_server,
};

/// Polls `f` until it holds, for at most 20 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "never: {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

fn group_names(h: &Host) -> Vec<String> {
    let v = h.sgd.ok(&["describe-security-groups"]);
    v["SecurityGroups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["GroupName"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Protects host `h`'s instance interface in host mode with `groups`.
fn protect(h: &Host, groups: &[&str]) -> Value {
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

/// SG-GRP, SG-IF-5 across hosts: a group made on one host is seen on the other; a rule on
/// host 1 naming a group admits the instance of host 2 that is its member, and stops
/// admitting it when host 2 takes it out, with nothing done on host 1; two hosts creating
/// the same name at once: exactly one succeeds.
#[test]
fn hosts_share_groups_and_references_admit_members_of_other_hosts() {
    let test = "hosts_share_groups_and_references_admit_members_of_other_hosts";
    if !require_root(test) {
        return;
    }
    let fab = Fabric::new(1);
    let h1 = Host::new(&fab, 1, &[2]);
    let h2 = Host::new(&fab, 2, &[1]);
    let web = h1.sgd.create_group("web");
    let app = h1.sgd.create_group("app");
    eventually("host 2 sees host 1's groups", || {
        let names = group_names(&h2);
        names.contains(&"web".to_owned()) && names.contains(&"app".to_owned())
    });
    // The instance on host 1 is in `app`, which admits TCP 8080 from members of `web`.
    let out = protect(&h1, &[&app]);
    assert_eq!(
        out["NetworkInterface"]["NetworkInterfaceId"], "h1/v1",
        "{out}"
    );
    h1.sgd.ok(&[
        "authorize-security-group-ingress",
        "--group-id",
        &app,
        "--ip-permissions",
        &format!("IpProtocol=tcp,FromPort=8080,ToPort=8080,UserIdGroupPairs=[{{GroupId={web}}}]"),
    ]);
    let _server = tcp_server(&h1.vm, 8080);
    let target = h1.vm_addr();
    // The instance on host 2 is protected but not in `web` yet: refused.
    protect(&h2, &[&app]);
    assert!(
        !tcp_connects_quick(&h2.vm, &target, 8080),
        "not a member of web yet"
    );
    // Host 2 puts its instance in `web`: host 1 admits it, with nothing done on host 1.
    h2.sgd.ok(&[
        "modify-network-interface-attribute",
        "--network-interface-id",
        "v2",
        "--groups",
        &web,
    ]);
    eventually("host 1 admits host 2's member of web", || {
        tcp_connects_quick(&h2.vm, &target, 8080)
    });
    // Every host describes both interfaces under their fleet-wide ids.
    let v = h1.sgd.ok(&["describe-network-interfaces"]);
    let ids: Vec<&str> = v["NetworkInterfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["NetworkInterfaceId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["h1/v1", "h2/v2"], "{v}");
    // Host 2 takes it out again: host 1 refuses it.
    h2.sgd.ok(&[
        "modify-network-interface-attribute",
        "--network-interface-id",
        "h2/v2",
        "--groups",
        &app,
    ]);
    eventually("host 1 refuses host 2's instance again", || {
        !tcp_connects_quick(&h2.vm, &target, 8080)
    });
    // The same name from both hosts at once: exactly one succeeds.
    for round in 0..5 {
        let name = format!("race-{round}");
        let (a, b) = thread::scope(|s| {
            let a = s.spawn(|| {
                h1.sgd.sgctl(&[
                    "create-security-group",
                    "--group-name",
                    &name,
                    "--description",
                    "d",
                ])
            });
            let b = s.spawn(|| {
                h2.sgd.sgctl(&[
                    "create-security-group",
                    "--group-name",
                    &name,
                    "--description",
                    "d",
                ])
            });
            (a.join().unwrap(), b.join().unwrap())
        });
        let ok = [&a, &b].iter().filter(|o| o.status.success()).count();
        assert_eq!(ok, 1, "round {round}: {a:?} {b:?}");
        let loser = if a.status.success() { &b } else { &a };
        assert!(
            String::from_utf8_lossy(&loser.stderr).contains("InvalidGroup.Duplicate"),
            "{loser:?}"
        );
    }
    let _ = tcp_connects;
}

/// Losing etcd loses nothing: enforcement goes on, reads answer from the host's copy, writes
/// fail at once with an AWS-style error and change nothing; an sgd restarted while etcd is
/// down enforces its last copy; when etcd returns, hosts converge.
#[test]
fn losing_etcd_keeps_enforcing_refuses_writes_and_converges_after() {
    let test = "losing_etcd_keeps_enforcing_refuses_writes_and_converges_after";
    if !require_root(test) {
        return;
    }
    let mut fab = Fabric::new(1);
    let mut h1 = Host::new(&fab, 1, &[2]);
    let h2 = Host::new(&fab, 2, &[1]);
    let app = h1.sgd.create_group("app");
    let web = h1.sgd.create_group("web");
    h1.sgd.ok(&[
        "authorize-security-group-ingress",
        "--group-id",
        &app,
        "--ip-permissions",
        &format!("IpProtocol=tcp,FromPort=8080,ToPort=8080,UserIdGroupPairs=[{{GroupId={web}}}]"),
    ]);
    protect(&h1, &[&app]);
    eventually("host 2 sees web", || {
        group_names(&h2).contains(&"web".into())
    });
    protect(&h2, &[&web]);
    let _server = tcp_server(&h1.vm, 8080);
    let target = h1.vm_addr();
    eventually("admitted across hosts", || {
        tcp_connects_quick(&h2.vm, &target, 8080)
    });

    fab.etcd.kill(0);
    // Reads answer; a write fails at once, as EC2's Unavailable, and changes nothing.
    assert!(group_names(&h1).contains(&"app".into()));
    let started = Instant::now();
    let out = h1.sgd.sgctl(&[
        "create-security-group",
        "--group-name",
        "late",
        "--description",
        "d",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Unavailable"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(!group_names(&h1).contains(&"late".into()));
    // Enforcement goes on, and survives a restart of sgd without etcd.
    assert!(tcp_connects(&h2.vm, &target, 8080), "still admitted");
    h1.sgd.restart();
    assert!(
        tcp_connects(&h2.vm, &target, 8080),
        "admitted after sgd restarted without etcd"
    );
    assert!(
        !tcp_connects_quick(&h1.ns, &target, 8080),
        "and still refused to a non-member"
    );

    fab.etcd.restart(0);
    // A write on host 2 reaches host 1 once both are back.
    eventually("host 2 can write again", || {
        h2.sgd
            .sgctl(&[
                "create-security-group",
                "--group-name",
                "after",
                "--description",
                "d",
            ])
            .status
            .success()
    });
    eventually("host 1 converges", || {
        group_names(&h1).contains(&"after".into())
    });
}
