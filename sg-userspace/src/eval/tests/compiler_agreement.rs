//! The compiler against the reference evaluator on random rulesets and packets: the compiled
//! tables, looked up as the datapath does, must give the same verdict.

use std::net::IpAddr;

use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::{
    api::UserIdGroupPair,
    compiler::{self, CompiledIface, DIR_IN, DIR_OUT, FAM_V4, FAM_V6},
    eval::*,
    testkit::{World, ip, perm},
};

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
