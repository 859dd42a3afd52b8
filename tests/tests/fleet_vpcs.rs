//! Each host follows what it needs (issue 15, item 4): a host whose interfaces are in one VPC
//! receives none of another VPC's changes, yet reads and writes that VPC at the fleet's
//! current state; a rule naming a group of another VPC makes its host follow that VPC too,
//! and stop when the rule goes. Real etcd, real sgds, real traffic between hosts.

use std::{thread, time::Duration};

use sg_tests::{
    fleet::{Fabric, Host, eventually, eventually_on, metric, protect},
    require_root, tcp_connects_quick, tcp_server,
};

/// The VPCs `host` follows, as host `h` describes them.
fn followed(h: &Host, host: &str) -> Vec<String> {
    let v = h.sgd.ok(&["describe-hosts"]);
    v["Hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .find(|x| x["HostId"] == host)
        .map(|x| {
            x["FollowedVpcs"]
                .as_array()
                .expect("followed VPCs")
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Allows TCP `port` into `group` from `peer` (a CIDR or, with `group:`, a group id).
fn allow(h: &Host, group: &str, port: u16, peer: &str) {
    let source = match peer.strip_prefix("group:") {
        Some(g) => format!("UserIdGroupPairs=[{{GroupId={g}}}]"),
        None => format!("IpRanges=[{{CidrIp={peer}}}]"),
    };
    h.sgd.ok(&[
        "authorize-security-group-ingress",
        "--group-id",
        group,
        "--ip-permissions",
        &format!("IpProtocol=tcp,FromPort={port},ToPort={port},{source}"),
    ]);
}

/// SG-IF-2 and SG-IF-3 across hosts and VPCs: a rule or membership change reaches every host
/// that needs it, with nothing done there (and no other host receives it); SG-IF-1: an
/// interface takes its groups' VPC.
#[test]
fn a_host_follows_only_the_vpcs_it_needs() {
    let test = "a_host_follows_only_the_vpcs_it_needs";
    if !require_root(test) {
        return;
    }
    let mut fab = Fabric::new(1);
    let mut h1 = Host::new(&fab, 1, &[2]);
    let h2 = Host::new(&fab, 2, &[1]);
    // Host 1's instance is in the default VPC; host 2's in a VPC of its own.
    let default_vpc = h1.sgd.ok(&["describe-vpcs"])["Vpcs"][0]["VpcId"]
        .as_str()
        .expect("the default VPC")
        .to_owned();
    let app = h1.sgd.create_group("app");
    protect(&h1, &[&app]);
    let vpc_b = h2.sgd.ok(&["create-vpc", "--cidr-block", "10.99.0.0/16"])["Vpc"]["VpcId"]
        .as_str()
        .expect("vpc id")
        .to_owned();
    let in_b = |name: &str| {
        h2.sgd.ok(&[
            "create-security-group",
            "--group-name",
            name,
            "--description",
            "d",
            "--vpc-id",
            &vpc_b,
        ])["GroupId"]
            .as_str()
            .expect("group id")
            .to_owned()
    };
    let b_web = in_b("b-web");
    let b_other = in_b("b-other");
    let out = protect(&h2, &[&b_web]);
    assert_eq!(out["NetworkInterface"]["VpcId"], vpc_b.as_str(), "{out}");
    eventually("each host follows its own VPC only", || {
        followed(&h1, "h1") == [default_vpc.clone()] && followed(&h1, "h2") == [vpc_b.clone()]
    });
    eventually_on(&h1, "host 1 follows two scopes", || {
        metric(&h1, "sg_store_followed_scopes") == 2.0
    });

    // Writes in VPC B reach host 1 not at all; a write in its own VPC does.
    let before = metric(&h1, "sg_store_changes_total");
    for port in [7001, 7002, 7003] {
        allow(&h2, &b_web, port, "192.0.2.0/24");
    }
    h2.sgd.create_group("barrier");
    eventually_on(&h1, "host 1 receives the write in its VPC", || {
        metric(&h1, "sg_store_changes_total") > before
    });
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        metric(&h1, "sg_store_changes_total"),
        before + 1.0,
        "host 1 received changes of a VPC it does not follow"
    );

    // Yet host 1 reads VPC B at the fleet's current state...
    let v = h1
        .sgd
        .ok(&["describe-security-groups", "--group-ids", &b_web]);
    let perms = v["SecurityGroups"][0]["IpPermissions"]
        .as_array()
        .expect("permissions")
        .len();
    assert_eq!(perms, 3, "{v}");
    // ... and writes it: host 2, which follows VPC B, enforces host 1's rule.
    let _web = tcp_server(&h2.vm, 9090);
    assert!(
        !tcp_connects_quick(&h1.vm, &h2.vm_addr(), 9090),
        "no rule yet"
    );
    allow(&h1, &b_web, 9090, &format!("{}/32", h1.vm_addr()));
    eventually("host 2 admits what host 1 allowed in VPC B", || {
        tcp_connects_quick(&h1.vm, &h2.vm_addr(), 9090)
    });

    // A rule of host 1's group naming a group of VPC B: host 1 follows VPC B, and admits
    // host 2's member of it...
    let _app = tcp_server(&h1.vm, 8080);
    allow(&h1, &app, 8080, &format!("group:{b_web}"));
    assert_eq!(followed(&h1, "h1"), {
        let mut v = vec![default_vpc.clone(), vpc_b.clone()];
        v.sort();
        v
    });
    eventually("host 1 admits host 2's member of b-web", || {
        tcp_connects_quick(&h2.vm, &h1.vm_addr(), 8080)
    });
    // ... and refuses it once host 2 takes it out, with nothing done on host 1.
    h2.sgd.ok(&[
        "modify-network-interface-attribute",
        "--network-interface-id",
        "v2",
        "--groups",
        &b_other,
    ]);
    eventually("host 1 refuses host 2's instance once out of b-web", || {
        !tcp_connects_quick(&h2.vm, &h1.vm_addr(), 8080)
    });
    // Without the rule, host 1 follows its own VPC only again.
    h1.sgd.ok(&[
        "revoke-security-group-ingress",
        "--group-id",
        &app,
        "--ip-permissions",
        &format!("IpProtocol=tcp,FromPort=8080,ToPort=8080,UserIdGroupPairs=[{{GroupId={b_web}}}]"),
    ]);
    assert_eq!(followed(&h1, "h1"), std::slice::from_ref(&default_vpc));
    eventually_on(&h1, "host 1 stops following VPC B", || {
        metric(&h1, "sg_store_followed_scopes") == 2.0
    });

    // Restarted, host 1 follows the same scopes from its copy.
    h1.sgd.restart();
    eventually_on(&h1, "host 1 follows two scopes again", || {
        metric(&h1, "sg_store_followed_scopes") == 2.0 && metric(&h1, "sg_store_connected") == 1.0
    });

    // etcd loses its data: neither host follows every VPC, so neither may seed the store
    // from its copy (it would lose or undo the other VPC's changes).
    fab.etcd.wipe();
    eventually("both hosts notice the empty store", || {
        metric(&h1, "sg_store_awaiting_seed") == 1.0 && metric(&h2, "sg_store_awaiting_seed") == 1.0
    });
    for (h, other) in [(&h1, &vpc_b), (&h2, &default_vpc)] {
        let out = h.sgd.sgctl(&["seed-fleet-store"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(other.as_str()),
            "{}: {out:?}",
            h.id
        );
    }
}
