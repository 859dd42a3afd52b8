//! Many hosts, one set of groups (issue 15): sgds in their own namespaces sharing a real etcd,
//! with instances behind host-mode interfaces and real traffic between hosts.

use std::{
    thread,
    time::{Duration, Instant},
};

use sg_tests::{
    TcpServer,
    fleet::{
        FABRIC_ADDR, Fabric, Host, Pki, allow_from_group, cut_off, eventually, eventually_on,
        group_names, metric, protect, try_create,
    },
    require_root, tcp_connects, tcp_connects_quick, tcp_server,
};

/// SG-GRP, SG-IF-5 across hosts: a group made on one host is seen on the other; a rule on
/// host 1 naming a group admits the instance of host 2 that is its member, and stops
/// admitting it when host 2 takes it out, with nothing done on host 1; two hosts creating
/// the same name at once: exactly one succeeds; a delete racing an attach on another host:
/// exactly one wins.
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
    allow_from_group(&h1, &app, &web, 8080);
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
    // Host 1's tracked flows are its own interface's, named fleet-wide; another host's
    // interface has no table here.
    let flows = h1
        .sgd
        .ok(&["describe-conntrack", "--network-interface-id", "v1"]);
    let entries = flows["ConnectionTrackingEntries"]
        .as_array()
        .expect("entries");
    assert!(!entries.is_empty(), "{flows}");
    assert!(
        entries.iter().all(|e| e["NetworkInterfaceId"] == "h1/v1"),
        "{flows}"
    );
    let other = h1
        .sgd
        .sgctl(&["describe-conntrack", "--network-interface-id", "h2/v2"]);
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("NotFound"),
        "{other:?}"
    );
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
            let a = s.spawn(|| try_create(&h1, &name));
            let b = s.spawn(|| try_create(&h2, &name));
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
    // A delete on host 1 racing an attach on host 2: exactly one wins, and the loser gets
    // EC2's answer to the state the winner left.
    for round in 0..5 {
        let g = h1.sgd.create_group(&format!("contested-{round}"));
        eventually("host 2 sees the contested group", || {
            group_names(&h2).contains(&format!("contested-{round}"))
        });
        let (del, attach) = thread::scope(|s| {
            let d = s.spawn(|| h1.sgd.sgctl(&["delete-security-group", "--group-id", &g]));
            let a = s.spawn(|| {
                h2.sgd.sgctl(&[
                    "modify-network-interface-attribute",
                    "--network-interface-id",
                    "v2",
                    "--groups",
                    &g,
                ])
            });
            (d.join().unwrap(), a.join().unwrap())
        });
        match (del.status.success(), attach.status.success()) {
            (true, false) => assert!(
                String::from_utf8_lossy(&attach.stderr).contains("InvalidGroup.NotFound"),
                "{attach:?}"
            ),
            (false, true) => {
                assert!(
                    String::from_utf8_lossy(&del.stderr).contains("DependencyViolation"),
                    "{del:?}"
                );
                h2.sgd.ok(&[
                    "modify-network-interface-attribute",
                    "--network-interface-id",
                    "v2",
                    "--groups",
                    &app,
                ]);
                eventually("host 1 sees the group free again", || {
                    h1.sgd
                        .sgctl(&["delete-security-group", "--group-id", &g])
                        .status
                        .success()
                });
            }
            other => panic!("round {round}: {other:?}\n{del:?}\n{attach:?}"),
        }
    }
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
    allow_from_group(&h1, &app, &web, 8080);
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
    let out = try_create(&h1, "late");
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
        try_create(&h2, "after").status.success()
    });
    eventually("host 1 converges", || {
        group_names(&h1).contains(&"after".into())
    });
}

/// Two hosts where host 1's instance (in `app`) admits TCP 8080 from members of `web`, and
/// host 2's instance is in `web` and connects.
struct Pair {
    h1: Host,
    h2: Host,
    web: String,
    target: String,
    _server: TcpServer,
}

impl Pair {
    fn new(fab: &Fabric) -> Self {
        let h1 = Host::new(fab, 1, &[2]);
        let h2 = Host::new(fab, 2, &[1]);
        let app = h1.sgd.create_group("app");
        let web = h1.sgd.create_group("web");
        allow_from_group(&h1, &app, &web, 8080);
        protect(&h1, &[&app]);
        eventually("host 2 sees web", || {
            group_names(&h2).contains(&"web".into())
        });
        protect(&h2, &[&web]);
        let server = tcp_server(&h1.vm, 8080);
        let target = h1.vm_addr();
        let p = Self {
            h1,
            h2,
            web,
            target,
            _server: server,
        };
        eventually("admitted across hosts", || p.admitted());
        p
    }

    fn admitted(&self) -> bool {
        tcp_connects_quick(&self.h2.vm, &self.target, 8080)
    }

    /// Host 2 takes its instance out of `web` (into the default group).
    fn leave_web(&self) {
        let vpc_default = self.h2.sgd.ok(&[
            "describe-security-groups",
            "--filters",
            "Name=group-name,Values=default",
        ])["SecurityGroups"][0]["GroupId"]
            .as_str()
            .expect("default group")
            .to_owned();
        self.h2.sgd.ok(&[
            "modify-network-interface-attribute",
            "--network-interface-id",
            "v2",
            "--groups",
            &vpc_default,
        ]);
    }
}

/// A store larger than one etcd transaction (etcd takes 128 operations in one by default) is
/// seeded whole, in chunks behind a claim: 150 groups seeded again after etcd lost its data
/// all reach a host that joins after.
#[test]
fn a_store_larger_than_one_etcd_transaction_is_seeded_whole() {
    let test = "a_store_larger_than_one_etcd_transaction_is_seeded_whole";
    if !require_root(test) {
        return;
    }
    let mut fab = Fabric::new(1);
    let h1 = Host::new(&fab, 1, &[]);
    let groups: Vec<String> = (0..150)
        .map(|i| h1.sgd.create_group(&format!("g{i}")))
        .collect();
    // With an interface in the (only) VPC, host 1 follows every VPC, so it may seed.
    protect(&h1, &[&groups[0]]);
    fab.etcd.wipe();
    eventually_on(&h1, "host 1 notices the empty store", || {
        metric(&h1, "sg_store_awaiting_seed") == 1.0
    });
    let seeded = h1.sgd.ok(&["seed-fleet-store"]);
    assert!(seeded["Revision"].as_i64().is_some(), "{seeded}");
    let h2 = Host::new(&fab, 2, &[]);
    let names = group_names(&h2);
    assert_eq!(names.len(), 151, "150 groups and the default: {names:?}");
    assert_eq!(metric(&h1, "sg_store_awaiting_seed"), 0.0);
}

/// A 3-member etcd loses its leader, then freezes whole (SIGSTOP) and resumes: enforcement
/// never changes, writes fail cleanly while there is no quorum and work again after, and
/// both hosts converge.
#[test]
fn etcd_leader_killed_and_etcd_frozen() {
    let test = "etcd_leader_killed_and_etcd_frozen";
    if !require_root(test) {
        return;
    }
    let mut fab = Fabric::new(3);
    let p = Pair::new(&fab);
    let leader = fab.etcd.leader();
    fab.etcd.kill(leader);
    assert!(p.admitted(), "admitted while a new leader is elected");
    eventually("a write on host 2 after the leader died", || {
        try_create(&p.h2, "after-leader").status.success()
    });
    eventually("host 1 converges", || {
        group_names(&p.h1).contains(&"after-leader".into())
    });

    fab.etcd.freeze(true);
    let out = try_create(&p.h1, "frozen");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success() && err.contains("Unavailable"),
        "{err}"
    );
    assert!(p.admitted(), "admitted while etcd is frozen");
    assert!(
        !tcp_connects_quick(&p.h1.ns, &p.target, 8080),
        "and a non-member still refused"
    );
    fab.etcd.freeze(false);
    eventually("writes work again", || {
        try_create(&p.h1, "thawed").status.success()
    });
    eventually("host 2 converges", || {
        group_names(&p.h2).contains(&"thawed".into())
    });
    // A write a frozen etcd did not confirm may commit once it resumes, if it was sent: the
    // answer says which ("nothing was changed" when no connection could be made), and every
    // host shows the same outcome.
    assert!(
        err.contains("may or may not") || err.contains("nothing was changed"),
        "{err}"
    );
    eventually("both hosts agree on the unconfirmed write", || {
        group_names(&p.h1).contains(&"frozen".into())
            == group_names(&p.h2).contains(&"frozen".into())
    });
    assert!(p.admitted());
}

/// Host 1 is cut off while host 2's instance leaves `web` and the store is compacted past
/// host 1's revision: when the link returns, host 1 lists again (it cannot resume) and
/// refuses the instance that left.
#[test]
fn a_partitioned_host_relists_after_compaction_and_drops_a_member_that_left() {
    let test = "a_partitioned_host_relists_after_compaction_and_drops_a_member_that_left";
    if !require_root(test) {
        return;
    }
    let fab = Fabric::new(1);
    let p = Pair::new(&fab);
    let relists = metric(&p.h1, "sg_store_relists_total");
    cut_off(&fab, &p.h1);
    p.leave_web();
    // More writes, then compaction past everything host 1 has seen.
    p.h2.sgd.create_group("while-cut-off");
    let rev = fab.etcd.revision();
    fab.etcd.ctl(&["compact", &rev.to_string()]);
    fab.ns.ip(&["link", "set", "f1", "up"]);
    eventually_on(
        &p.h1,
        "host 1 sees what happened while it was cut off",
        || group_names(&p.h1).contains(&"while-cut-off".into()),
    );
    assert!(!p.admitted(), "the instance that left web is refused");
    assert!(
        metric(&p.h1, "sg_store_relists_total") > relists,
        "host 1 listed again"
    );
    let _ = &p.web;
}

/// etcd comes back empty (a new cluster): hosts keep enforcing their copies and refuse writes
/// rather than reseed a copy that may be stale; once the host with the most recent copy
/// seeds the store, every host takes that state whole, and a rule host 1 missed while it
/// was cut off does not survive there.
#[test]
fn etcd_back_empty_keeps_enforcing_until_seeded_and_no_stale_allow_survives() {
    let test = "etcd_back_empty_keeps_enforcing_until_seeded_and_no_stale_allow_survives";
    if !require_root(test) {
        return;
    }
    let mut fab = Fabric::new(1);
    let p = Pair::new(&fab);
    // Host 1 misses host 2's instance leaving web.
    cut_off(&fab, &p.h1);
    p.leave_web();
    fab.etcd.wipe();
    fab.ns.ip(&["link", "set", "f1", "up"]);
    eventually("both hosts notice the empty store", || {
        metric(&p.h1, "sg_store_awaiting_seed") == 1.0
            && metric(&p.h2, "sg_store_awaiting_seed") == 1.0
    });
    assert!(
        p.admitted(),
        "host 1 still enforces its (stale) copy: nothing fails open"
    );
    let out = try_create(&p.h1, "x");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Unavailable"),
        "writes refused until seeded: {out:?}"
    );
    // The operator seeds from host 2, whose copy is the most recent.
    let seeded = p.h2.sgd.ok(&["seed-fleet-store"]);
    assert!(seeded["Revision"].as_i64().is_some(), "{seeded}");
    eventually(
        "host 1 takes the seeded state and refuses the instance that left web",
        || metric(&p.h1, "sg_store_awaiting_seed") == 0.0 && !p.admitted(),
    );
    // Both hosts register again in the new cluster.
    eventually_on(&p.h1, "both hosts live in the new cluster", || {
        let hosts = p.h1.sgd.ok(&["describe-hosts"]);
        let live: Vec<&str> = hosts["Hosts"]
            .as_array()
            .expect("hosts")
            .iter()
            .filter(|h| h["Live"] == true)
            .filter_map(|h| h["HostId"].as_str())
            .collect();
        live == ["h1", "h2"]
    });
}

/// SG-IF-5 across hosts in instance mode: an instance-mode interface's addresses are its
/// device's, which only its host can read; its host publishes them, and a rule on another
/// host naming its group admits them.
#[test]
fn an_instance_mode_member_on_another_host_is_admitted_by_its_published_addresses() {
    let test = "an_instance_mode_member_on_another_host_is_admitted_by_its_published_addresses";
    if !require_root(test) {
        return;
    }
    let fab = Fabric::new(1);
    let p = Pair::new(&fab);
    let h3 = Host::new(&fab, 3, &[1]);
    let from_h3 = "10.254.0.13";
    assert!(
        !tcp_connects_quick(&h3.ns, &p.target, 8080),
        "host 3 is not a member of web"
    );
    eventually("host 3 sees web", || {
        group_names(&h3).contains(&"web".into())
    });
    // Host 3 itself (the instance) joins web in instance mode: no address declared.
    h3.sgd.ok(&[
        "modify-network-interface-attribute",
        "--network-interface-id",
        "eth0",
        "--groups",
        &p.web,
    ]);
    eventually_on(
        &p.h1,
        "host 1 admits host 3 by its published address",
        || tcp_connects_quick(&h3.ns, &p.target, 8080),
    );
    let v = p.h1.sgd.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "h3/eth0",
    ]);
    let addr = &v["NetworkInterfaces"][0]["PrivateIpAddress"];
    assert_eq!(addr, from_h3, "{v}");
}

/// etcd over TLS with client certificates (`etcds://`, `--etcd-ca/--etcd-cert/--etcd-key`):
/// hosts with a certificate share groups; one without is refused by etcd, and so cannot join
/// (it has no copy of the shared state to start from).
#[test]
fn hosts_reach_etcd_over_tls_with_client_certificates() {
    let test = "hosts_reach_etcd_over_tls_with_client_certificates";
    if !require_root(test) {
        return;
    }
    let pki = Pki::new(FABRIC_ADDR);
    let fab = Fabric::new_tls(&pki);
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("client.pem"),
        pki.path("client.key"),
    );
    let tls = ["--etcd-ca", &ca, "--etcd-cert", &cert, "--etcd-key", &key];
    let h1 = Host::new_with(&fab, 1, &[], &tls);
    let h2 = Host::new_with(&fab, 2, &[], &tls);
    h1.sgd.create_group("over-tls");
    eventually("host 2 sees host 1's group over TLS", || {
        group_names(&h2).contains(&"over-tls".into())
    });
    // No client certificate: etcd refuses the connection.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = h1.ns.exec(&[
        sg_tests::bin("sgd").to_str().expect("path"),
        "--state-dir",
        dir.path().join("state").to_str().expect("path"),
        "--socket",
        dir.path().join("sgd.sock").to_str().expect("path"),
        "--store",
        &fab.etcd.store_url(),
        "--host-id",
        "h9",
        "--etcd-ca",
        &ca,
    ]);
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unreachable"), "{err}");
}

/// A write through the EC2 Query API of a fleet host says the revision it committed
/// (`x-sgd-revision`), and the other host sees it.
#[test]
fn an_ec2_api_write_in_a_fleet_answers_its_revision() {
    let test = "an_ec2_api_write_in_a_fleet_answers_its_revision";
    if !require_root(test) {
        return;
    }
    let fab = Fabric::new(1);
    let h1 = Host::new_with(&fab, 1, &[], &["--api-listen", "127.0.0.1:8443"]);
    let h2 = Host::new(&fab, 2, &[]);
    let key = h1.sgd.ok(&["create-access-key"]);
    let id = key["AccessKey"]["AccessKeyId"].as_str().unwrap().to_owned();
    let secret = key["AccessKey"]["SecretAccessKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = h1.ns.run(move || {
        use std::io::{Read as _, Write as _};
        let body =
            "Action=CreateSecurityGroup&Version=2016-11-15&GroupName=via-api&GroupDescription=d";
        let date = sg_userspace::ec2::sigv4::basic_time(std::time::SystemTime::now());
        let headers = [
            ("host", "127.0.0.1:8443".as_bytes()),
            ("x-amz-date", date.as_bytes()),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8".as_bytes(),
            ),
        ];
        let request = sg_userspace::ec2::sigv4::Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        };
        let auth =
            sg_userspace::ec2::sigv4::sign(&request, &id, &secret, "us-east-1", "ec2").unwrap();
        let mut conn = std::net::TcpStream::connect("127.0.0.1:8443").expect("connect");
        write!(
            conn,
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nX-Amz-Date: {date}\r\nContent-Type: \
             application/x-www-form-urlencoded; charset=utf-8\r\nAuthorization: {auth}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut reply = String::new();
        conn.read_to_string(&mut reply).unwrap();
        reply
    });
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let revision = reply
        .lines()
        .find_map(|l| l.strip_prefix("x-sgd-revision: "))
        .and_then(|r| r.trim().parse::<i64>().ok());
    assert!(revision.is_some_and(|r| r > 0), "{reply}");
    eventually("host 2 sees the group made through host 1's API", || {
        group_names(&h2).contains(&"via-api".into())
    });
}
