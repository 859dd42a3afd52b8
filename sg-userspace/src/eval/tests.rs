use std::net::IpAddr;

use rand::{Rng, SeedableRng, rngs::StdRng};

use super::*;
use crate::{
    api::{CreateManagedPrefixList, PrefixListEntryIn, PrefixListId, UserIdGroupPair},
    compiler::{self, CompiledIface, DIR_IN, DIR_OUT, FAM_V4, FAM_V6},
    model::prefix_lists,
    testkit::{World, ip, perm},
};

fn pkt(
    iface: &str,
    direction: Direction,
    remote: &str,
    local: &str,
    protocol: u8,
    port: u16,
) -> Packet {
    let (src, dst) = match direction {
        Direction::Inbound => (ip(remote), ip(local)),
        Direction::Outbound => (ip(local), ip(remote)),
    };
    Packet {
        iface: iface.into(),
        direction,
        src,
        dst,
        protocol,
        src_port: 40000,
        dst_port: port,
        tcp_syn: true,
        icmp_type: 0,
        icmp_code: 0,
        nd: None,
    }
}

#[test]
fn sg_rule_5_union_and_rule_attribution() {
    let mut w = World::new();
    let a = w.group("a");
    let b = w.group("b");
    w.authorize(
        &a,
        false,
        vec![perm("tcp", Some((22, 22)), "203.0.113.1/32")],
    )
    .unwrap();
    w.authorize(&b, false, vec![perm("tcp", Some((22, 22)), "0.0.0.0/0")])
        .unwrap();
    w.attach("eth0", &[&a, &b], &[ip("192.0.2.1")]).unwrap();
    let p = pkt(
        "eth0",
        Direction::Inbound,
        "203.0.113.1",
        "192.0.2.1",
        6,
        22,
    );
    let Verdict::Rules(ids) = w.eval(&p) else {
        panic!("allowed")
    };
    assert_eq!(ids.len(), 2, "both rules allow it");
    assert!(
        w.eval(&pkt(
            "eth0",
            Direction::Inbound,
            "198.51.100.1",
            "192.0.2.1",
            6,
            22
        ))
        .allows()
    );
    assert_eq!(
        w.eval(&pkt(
            "eth0",
            Direction::Inbound,
            "198.51.100.1",
            "192.0.2.1",
            6,
            23
        )),
        Verdict::Denied
    );
    assert_eq!(
        w.eval(&pkt(
            "lo9",
            Direction::Inbound,
            "198.51.100.1",
            "192.0.2.1",
            6,
            23
        )),
        Verdict::Unfiltered
    );
}

#[test]
fn sg_enf_1_tracked_flows_pass_whatever_the_rules() {
    let mut w = World::new();
    let a = w.group("a");
    w.attach("eth0", &[&a], &[ip("192.0.2.1")]).unwrap();
    let p = pkt(
        "eth0",
        Direction::Inbound,
        "198.51.100.1",
        "192.0.2.1",
        6,
        40000,
    );
    assert_eq!(w.eval(&p), Verdict::Denied);
    assert_eq!(
        evaluate(&w.state, &w.addrs, &p, Conntrack { live_flow: true }),
        Verdict::Tracked
    );
}

/// A neighbour-discovery message as RFC 4861 sends it: right after the IPv6 header, hop
/// limit 255, code 0, the type's minimum length, all in the frame.
fn nd(direction: Direction, src: &str, dst: &str, icmp_type: u8, target: Option<&str>) -> Packet {
    let length = match icmp_type {
        133 => 8,
        134 => 16,
        135 | 136 => 24,
        _ => 40,
    };
    Packet {
        iface: "eth0".into(),
        direction,
        src: ip(src),
        dst: ip(dst),
        protocol: 58,
        src_port: 0,
        dst_port: 0,
        tcp_syn: false,
        icmp_type,
        icmp_code: 0,
        nd: Some(NdWire {
            hop_limit: 255,
            direct: true,
            length,
            complete: true,
            target: target.map(|t| t.parse().unwrap()),
        }),
    }
}

/// The same message with its wire shape changed by `f`.
fn nd_with(mut p: Packet, f: impl FnOnce(&mut NdWire)) -> Packet {
    f(p.nd.as_mut().unwrap());
    p
}

#[test]
fn sg_enf_10_valid_neighbour_discovery_always_allowed() {
    use Direction::{Inbound, Outbound};
    let mut w = World::new();
    let a = w.group("a");
    w.attach("eth0", &[&a], &[ip("2001:db8::1")]).unwrap();
    w.revoke(&a, true, vec![perm("-1", None, "::/0")]).unwrap();
    let me = "2001:db8::1";
    for p in [
        nd(Inbound, "fe80::2", "ff02::2", 133, None),
        nd(Inbound, "::", "ff02::2", 133, None),
        nd(Inbound, "fe80::2", "ff02::1", 134, None),
        nd(Inbound, "fe80::2", "ff02::1:ff00:1", 135, Some(me)),
        nd(Inbound, "2001:db8::2", me, 135, Some(me)),
        nd(Inbound, "::", "ff02::1:ff00:1", 135, Some(me)),
        nd(Inbound, "fe80::2", "fe80::1", 136, Some("fe80::2")),
        nd(Inbound, "fe80::2", me, 137, Some("fe80::3")),
        nd(Outbound, "::", "ff02::2", 133, None),
        nd(Outbound, "::", "ff02::1:ff00:1", 135, Some(me)),
        nd(Outbound, me, "fe80::2", 136, Some(me)),
        nd(Outbound, "fe80::1", "ff02::1", 134, None),
        nd(Outbound, "fe80::1", "fe80::2", 137, Some("fe80::3")),
    ] {
        assert_eq!(w.eval(&p), Verdict::AlwaysAllowed, "{p:?}");
    }
    let mut echo = pkt("eth0", Inbound, "2001:db8::2", me, 58, 0);
    echo.icmp_type = 128;
    assert_eq!(w.eval(&echo), Verdict::Denied);
}

#[test]
fn sg_enf_10_invalid_neighbour_discovery_is_judged_by_the_rules() {
    use Direction::{Inbound, Outbound};
    let mut w = World::new();
    let a = w.group("a");
    w.attach("eth0", &[&a], &[ip("2001:db8::1")]).unwrap();
    w.revoke(&a, true, vec![perm("-1", None, "::/0")]).unwrap();
    let me = "2001:db8::1";
    let ns = nd(Inbound, "fe80::2", "ff02::1:ff00:1", 135, Some(me));
    let mut code = ns.clone();
    code.icmp_code = 1;
    let invalid = [
        nd_with(ns.clone(), |w| w.hop_limit = 64),
        nd_with(ns.clone(), |w| w.direct = false),
        nd_with(ns.clone(), |w| w.length = 16),
        nd_with(ns.clone(), |w| w.complete = false),
        nd_with(ns.clone(), |w| w.target = Some("ff02::1".parse().unwrap())),
        code,
        Packet {
            nd: None,
            ..ns.clone()
        },
        nd(Inbound, "ff02::2", "ff02::1", 136, Some("fe80::9")),
        nd(Inbound, "2001:db8::2", "ff02::1", 134, None),
        nd(Inbound, "2001:db8::2", me, 137, Some("fe80::3")),
        nd(Inbound, "::", "ff02::1", 136, Some(me)),
        nd(Inbound, "::", me, 135, Some(me)),
        nd(Inbound, "fe80::2", "ff05::1", 134, None),
        nd(Outbound, me, "2001:db8::99", 135, Some("2001:db8::99")),
        nd(Outbound, "fe80::1", "ff05::2", 133, None),
    ];
    for p in &invalid {
        assert_eq!(w.eval(p), Verdict::Denied, "{p:?}");
    }
    // An ICMPv6 rule admits them like any ICMPv6 (SG-RULE-3).
    w.authorize(&a, false, vec![perm("icmpv6", None, "::/0")])
        .unwrap();
    w.authorize(&a, true, vec![perm("icmpv6", None, "::/0")])
        .unwrap();
    for p in &invalid {
        assert!(matches!(w.eval(p), Verdict::Rules(_)), "{p:?}");
    }
}

#[test]
fn sg_enf_10_host_mode_neighbour_discovery_is_on_the_instance_s_addresses() {
    use Direction::{Inbound, Outbound};
    let mut w = World::new();
    let a = w.group("a");
    let vm = "2001:db8:9::10";
    let req = crate::api::CreateNetworkInterface {
        network_interface_id: Some("eth0".into()),
        attach_mode: Some("host".into()),
        private_ip_addresses: vec![vm.into()],
        groups: vec![a.clone()],
        source_dest_check: None,
    };
    crate::model::ops::create_network_interface(&mut w.state, &w.quotas, &req, &|_| true).unwrap();
    w.addrs.insert("eth0".into(), vec![ip(vm)]);
    for p in [
        nd(Outbound, vm, "fe80::1", 136, Some(vm)),
        nd(Outbound, "fe80::10", "ff02::2", 133, None),
        nd(Outbound, "::", "ff02::1:ff00:10", 135, Some(vm)),
        nd(Inbound, "fe80::1", vm, 136, Some("fe80::1")),
        nd(Inbound, "fe80::1", "fe80::10", 135, Some("fe80::10")),
        nd(Inbound, "fe80::1", "ff02::1", 134, None),
    ] {
        assert_eq!(w.eval(&p), Verdict::AlwaysAllowed, "{p:?}");
    }
    for p in [
        nd(
            Outbound,
            "2001:db8:9::77",
            "fe80::1",
            136,
            Some("2001:db8:9::77"),
        ),
        nd(
            Inbound,
            "fe80::1",
            "2001:db8:9::77",
            135,
            Some("2001:db8:9::77"),
        ),
    ] {
        assert_ne!(w.eval(&p), Verdict::AlwaysAllowed, "{p:?}");
    }
    // Without the check, only validity and the link count.
    w.state
        .interfaces
        .get_mut("eth0")
        .unwrap()
        .source_dest_check = false;
    let spoofed = nd(
        Outbound,
        "2001:db8:9::77",
        "fe80::1",
        136,
        Some("2001:db8:9::77"),
    );
    assert_eq!(w.eval(&spoofed), Verdict::AlwaysAllowed);
}

#[test]
fn sg_enf_5_icmp_of_the_other_family_is_another_protocol() {
    let w = World::new();
    let mut p = pkt(
        "eth0",
        Direction::Outbound,
        "203.0.113.7",
        "192.0.2.1",
        58,
        0,
    );
    p.icmp_type = 135;
    assert!(tracked(&w.state, &p), "ICMPv6 over IPv4");
    let mut p = pkt(
        "eth0",
        Direction::Outbound,
        "2001:db8::7",
        "2001:db8::1",
        1,
        0,
    );
    p.icmp_type = 3;
    assert!(tracked(&w.state, &p), "ICMP over IPv6");
    let mut p = pkt(
        "eth0",
        Direction::Outbound,
        "203.0.113.7",
        "192.0.2.1",
        1,
        0,
    );
    p.icmp_type = 3;
    assert!(!tracked(&w.state, &p), "an ICMP error is judged alone");
    p.icmp_type = 8;
    assert!(tracked(&w.state, &p), "echo");
}

#[test]
fn sg_grp_4_new_group_allows_all_outbound_only() {
    let mut w = World::new();
    let a = w.group("a");
    w.attach("eth0", &[&a], &[ip("192.0.2.1")]).unwrap();
    assert!(
        w.eval(&pkt(
            "eth0",
            Direction::Outbound,
            "198.51.100.1",
            "192.0.2.1",
            47,
            0
        ))
        .allows()
    );
    assert!(
        w.eval(&pkt(
            "eth0",
            Direction::Outbound,
            "2001:db8::9",
            "2001:db8::1",
            6,
            443
        ))
        .allows()
    );
    assert!(
        !w.eval(&pkt(
            "eth0",
            Direction::Inbound,
            "198.51.100.1",
            "192.0.2.1",
            47,
            0
        ))
        .allows()
    );
}

#[test]
fn sg_rule_3_icmp_type_and_code() {
    let mut w = World::new();
    let a = w.group("a");
    w.authorize(&a, false, vec![perm("icmp", Some((3, 4)), "0.0.0.0/0")])
        .unwrap();
    w.authorize(&a, false, vec![perm("icmp", Some((8, -1)), "0.0.0.0/0")])
        .unwrap();
    w.authorize(&a, false, vec![perm("icmpv6", Some((2, -1)), "::/0")])
        .unwrap();
    w.attach("eth0", &[&a], &[ip("192.0.2.1")]).unwrap();
    let icmp = |t, c, remote: &str| {
        let mut p = pkt(
            "eth0",
            Direction::Inbound,
            remote,
            if remote.contains(':') {
                "2001:db8::1"
            } else {
                "192.0.2.1"
            },
            if remote.contains(':') { 58 } else { 1 },
            0,
        );
        p.icmp_type = t;
        p.icmp_code = c;
        w.eval(&p).allows()
    };
    assert!(
        icmp(3, 4, "198.51.100.1"),
        "fragmentation needed, with a rule (SG-ENF-8)"
    );
    assert!(!icmp(3, 3, "198.51.100.1"));
    assert!(icmp(8, 0, "198.51.100.1"));
    assert!(icmp(8, 7, "198.51.100.1"));
    assert!(
        icmp(2, 0, "2001:db8::2"),
        "packet too big, with a rule (SG-ENF-8)"
    );
    assert!(!icmp(1, 0, "2001:db8::2"));
}

#[test]
fn sg_rule_4_prefix_list_and_group_peers() {
    let mut w = World::new();
    let pl = prefix_lists::create(
        &mut w.state,
        &mut w.ids,
        &CreateManagedPrefixList {
            prefix_list_name: Some("office".into()),
            max_entries: Some(5),
            address_family: Some("IPv4".into()),
            entries: vec![PrefixListEntryIn {
                cidr: "198.51.100.0/28".into(),
                description: None,
            }],
            ..Default::default()
        },
    )
    .unwrap()["PrefixList"]["PrefixListId"]
        .as_str()
        .unwrap()
        .to_owned();
    let db = w.group("db");
    let web = w.group("web");
    let mut p = perm("tcp", Some((5432, 5432)), "0.0.0.0/0");
    p.ip_ranges.clear();
    p.prefix_list_ids.push(PrefixListId {
        prefix_list_id: pl,
        description: None,
    });
    p.user_id_group_pairs.push(UserIdGroupPair {
        group_id: Some(web.clone()),
        ..Default::default()
    });
    w.authorize(&db, false, vec![p]).unwrap();
    w.attach("db0", &[&db], &[ip("192.0.2.10")]).unwrap();
    w.attach("web0", &[&web], &[ip("192.0.2.20"), ip("2001:db8::20")])
        .unwrap();
    let allows = |remote: &str| {
        let local = if remote.contains(':') {
            "2001:db8::10"
        } else {
            "192.0.2.10"
        };
        w.eval(&pkt("db0", Direction::Inbound, remote, local, 6, 5432))
            .allows()
    };
    assert!(allows("198.51.100.15"));
    assert!(!allows("198.51.100.16"));
    assert!(allows("192.0.2.20"), "member of the referenced group");
    assert!(allows("2001:db8::20"));
    assert!(!allows("192.0.2.21"));
}

/// The compiled tables, looked up the way the datapath does, as a verdict.
fn compiled_allows(c: &CompiledIface, p: &Packet) -> bool {
    let dir = if p.direction == Direction::Inbound {
        DIR_IN
    } else {
        DIR_OUT
    };
    let fam = if p.src.is_ipv4() { FAM_V4 } else { FAM_V6 };
    let port = match p.protocol {
        1 | 58 => (p.icmp_type as u16) << 8 | p.icmp_code as u16,
        _ => p.dst_port,
    };
    c.lookup(dir, p.remote())
        .is_some_and(|s| s.allows(p.protocol, port, fam))
}

fn random_cidr(rng: &mut StdRng, v6: bool) -> String {
    let len = [0, 8, 16, 24, 28, 30, 32][rng.random_range(0..7)];
    if v6 {
        format!("2001:db8::{:x}/{}", rng.random_range(0..16u32), 96 + len)
    } else {
        format!(
            "10.{}.{}.{}/{len}",
            rng.random_range(0..2),
            rng.random_range(0..2),
            rng.random_range(0..16)
        )
    }
}

fn random_addr(rng: &mut StdRng, v6: bool) -> IpAddr {
    if v6 {
        ip(&format!("2001:db8::{:x}", rng.random_range(0..16u32)))
    } else {
        ip(&format!(
            "10.{}.{}.{}",
            rng.random_range(0..2),
            rng.random_range(0..2),
            rng.random_range(0..16)
        ))
    }
}

/// The compiler (prefix closure, merged ranges, interning) agrees with the spec on random
/// rulesets and packets: overlapping CIDRs, ranges, ICMP, references, prefix lists.
#[test]
fn compiler_agrees_with_the_reference_evaluator() {
    let seed: u64 = std::env::var("SG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let (mut allowed, mut denied) = (0, 0);
    for round in 0..60u64 {
        let mut rng = StdRng::seed_from_u64(seed.wrapping_add(round));
        let mut w = World::new();
        let groups: Vec<String> = (0..3).map(|i| w.group(&format!("g{i}"))).collect();
        for _ in 0..rng.random_range(0..25) {
            let g = &groups[rng.random_range(0..groups.len())];
            let v6 = rng.random_bool(0.3);
            let proto = ["tcp", "udp", "icmp", "icmpv6", "-1", "47"][rng.random_range(0..6)];
            let ports = match proto {
                "tcp" | "udp" => {
                    let a = rng.random_range(0..40);
                    Some((a, a + rng.random_range(0..10)))
                }
                "icmp" | "icmpv6" => {
                    let t = [-1, 0, 3, 8][rng.random_range(0..4)];
                    Some((
                        t,
                        if t == -1 {
                            -1
                        } else {
                            [-1, 0, 4][rng.random_range(0..3)]
                        },
                    ))
                }
                _ => None,
            };
            let mut p = perm(proto, ports, &random_cidr(&mut rng, v6));
            if rng.random_bool(0.15) {
                p.ip_ranges.clear();
                p.ipv6_ranges.clear();
                let target = groups[rng.random_range(0..groups.len())].clone();
                p.user_id_group_pairs.push(UserIdGroupPair {
                    group_id: Some(target),
                    ..Default::default()
                });
            }
            let egress = rng.random_bool(0.3);
            let _ = w.authorize(g, egress, vec![p]); // duplicates are refused; that is fine
        }
        let ifaces = ["eth0", "eth1", "eth2"];
        for (i, name) in ifaces.iter().enumerate() {
            let set: Vec<String> = groups
                .iter()
                .filter(|_| rng.random_bool(0.5))
                .cloned()
                .collect();
            let set = if set.is_empty() {
                vec![groups[i].clone()]
            } else {
                set
            };
            let addrs = vec![random_addr(&mut rng, false), random_addr(&mut rng, true)];
            let set: Vec<&str> = set.iter().map(String::as_str).collect();
            w.attach(name, &set, &addrs).unwrap();
        }
        let compiled = compiler::compile_all(&w.state, &w.addrs);
        for _ in 0..400 {
            let v6 = rng.random_bool(0.4);
            let iface = ifaces[rng.random_range(0..3)];
            let direction = if rng.random_bool(0.5) {
                Direction::Inbound
            } else {
                Direction::Outbound
            };
            let remote = random_addr(&mut rng, v6);
            let local = w.addrs[iface][usize::from(v6)];
            let (src, dst) = if direction == Direction::Inbound {
                (remote, local)
            } else {
                (local, remote)
            };
            let protocol = [6u8, 17, 1, 58, 47, 50][rng.random_range(0..6)];
            let p = Packet {
                iface: iface.into(),
                direction,
                src,
                dst,
                protocol,
                src_port: rng.random_range(0..50),
                dst_port: rng.random_range(0..50),
                tcp_syn: true,
                icmp_type: [0u8, 3, 8, 2][rng.random_range(0..4)],
                icmp_code: [0u8, 4][rng.random_range(0..2)],
                nd: None,
            };
            if protocol == 58 && (133..=137).contains(&p.icmp_type) {
                continue;
            }
            let expected = w.eval(&p).allows();
            if expected {
                allowed += 1
            } else {
                denied += 1
            }
            let got = compiled_allows(&compiled[iface], &p);
            assert_eq!(
                got,
                expected,
                "seed {} (SG_SEED={seed}, round {round}): {p:?}\nverdict {:?}",
                seed.wrapping_add(round),
                w.eval(&p)
            );
        }
    }
    // Both outcomes must be well represented, or the comparison proves little.
    assert!(
        allowed > 2000 && denied > 2000,
        "allowed {allowed}, denied {denied}"
    );
}

#[test]
fn sg_enf_3_untracked_flows() {
    let mut w = World::new();
    let g = w.group("ssh");
    w.authorize(
        &g,
        false,
        vec![
            perm("tcp", Some((22, 22)), "0.0.0.0/0"),
            perm("tcp", Some((80, 80)), "203.0.113.0/24"),
        ],
    )
    .unwrap();
    w.attach("eth0", &[&g], &[ip("192.0.2.1")]).unwrap();
    let ssh = pkt(
        "eth0",
        Direction::Inbound,
        "198.51.100.7",
        "192.0.2.1",
        6,
        22,
    );
    assert!(
        !tracked(&w.state, &ssh),
        "inbound from 0.0.0.0/0 with all outbound open"
    );
    let mut reply = pkt(
        "eth0",
        Direction::Outbound,
        "198.51.100.7",
        "192.0.2.1",
        6,
        40000,
    );
    reply.src_port = 22;
    assert!(
        !tracked(&w.state, &reply),
        "the answers of an untracked flow"
    );
    let web = pkt(
        "eth0",
        Direction::Inbound,
        "203.0.113.9",
        "192.0.2.1",
        6,
        80,
    );
    assert!(tracked(&w.state, &web), "a specific CIDR is tracked");
    let out = pkt(
        "eth0",
        Direction::Outbound,
        "198.51.100.7",
        "192.0.2.1",
        6,
        443,
    );
    assert!(
        tracked(&w.state, &out),
        "outbound: inbound is not open to all"
    );
    // Outbound open only on some ports: inbound 0.0.0.0/0 flows become tracked.
    w.revoke(&g, true, vec![perm("-1", None, "0.0.0.0/0")])
        .unwrap();
    w.authorize(&g, true, vec![perm("tcp", Some((0, 1000)), "0.0.0.0/0")])
        .unwrap();
    assert!(tracked(&w.state, &ssh));
    // ...and untracked again once the union covers every port.
    w.authorize(
        &g,
        true,
        vec![perm("tcp", Some((1001, 65535)), "0.0.0.0/0")],
    )
    .unwrap();
    assert!(!tracked(&w.state, &ssh));
    // IPv6 is judged by ::/0 rules.
    let ssh6 = pkt(
        "eth0",
        Direction::Inbound,
        "2001:db8::7",
        "2001:db8::1",
        6,
        22,
    );
    assert!(tracked(&w.state, &ssh6));
    let mut echo = pkt(
        "eth0",
        Direction::Inbound,
        "198.51.100.7",
        "192.0.2.1",
        1,
        0,
    );
    echo.icmp_type = 8;
    assert!(
        tracked(&w.state, &echo),
        "ICMP echo is always tracked (SG-ENF-4)"
    );
    echo.icmp_type = 3;
    assert!(
        !tracked(&w.state, &echo),
        "other ICMP messages are judged alone"
    );
    assert!(
        tracked(
            &w.state,
            &pkt(
                "eth0",
                Direction::Outbound,
                "198.51.100.7",
                "192.0.2.1",
                47,
                0
            )
        ),
        "SG-ENF-5"
    );
}
