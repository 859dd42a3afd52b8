//! Differential test: random rulesets (several groups, overlapping CIDRs, port ranges, ICMP
//! types, group references, prefix lists) and random packets through the loaded datapath
//! (`TestRun`) and through the reference evaluator must agree on every case, connection
//! tracking included. `SG_SEED` replays a run; `SG_DIFF_CASES` sets the number of packets.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv6Addr},
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use sg_tests::{
    frame::{Ext, Frame, Nd, TCP_ACK, TCP_SYN, Tcp, solicited_node},
    lab::{IFACE, with_lab},
    require_root,
};
use sg_userspace::{
    api::{CreateManagedPrefixList, ExplainRequest, PrefixListEntryIn, PrefixListId},
    datapath::Hook,
    eval::{self, Conntrack, Direction, NdWire, Packet},
    explain,
    model::prefix_lists,
    testkit::{World, ip, perm, perm_group},
};

const ROUND: usize = 1000;

// A small space of addresses and ports, so that flows recur, replies meet their requests and
// connection tracking is exercised, not just the rules.
fn v4(rng: &mut StdRng) -> IpAddr {
    ip(&format!(
        "10.{}.{}.{}",
        rng.random_range(0..2),
        rng.random_range(0..2),
        rng.random_range(0..4)
    ))
}

fn v6(rng: &mut StdRng) -> IpAddr {
    ip(&format!(
        "2001:db8::{:x}:{:x}",
        rng.random_range(0..2),
        rng.random_range(0..4)
    ))
}

fn port(rng: &mut StdRng) -> u16 {
    [0, 1, 5, 11, 22, 23, 30, 47][rng.random_range(0..8)]
}

fn cidr(rng: &mut StdRng, six: bool) -> String {
    let len = [0, 8, 16, 23, 24, 28, 30, 32][rng.random_range(0..8)];
    if six {
        format!("{}/{}", v6(rng), 96 + len)
    } else {
        format!("{}/{len}", v4(rng))
    }
}

/// A random world: three groups with random rules, two member interfaces, a prefix list.
fn random_world(rng: &mut StdRng) -> World {
    let mut w = World::new();
    let groups: Vec<String> = (0..3).map(|i| w.group(&format!("g{i}"))).collect();
    let pl = prefix_lists::create(
        &mut w.state,
        &mut w.ids,
        &CreateManagedPrefixList {
            prefix_list_name: Some("pl".into()),
            max_entries: Some(4),
            address_family: Some("IPv4".into()),
            entries: (0..rng.random_range(1..4))
                .map(|_| PrefixListEntryIn {
                    cidr: cidr(rng, false),
                    description: None,
                })
                .collect(),
            ..Default::default()
        },
    );
    let pl = pl.ok().map(|v| v.prefix_list.prefix_list_id);
    for _ in 0..rng.random_range(0..30) {
        let g = groups[rng.random_range(0..3)].clone();
        let six = rng.random_bool(0.35);
        let proto =
            ["tcp", "udp", "icmp", "icmpv6", "-1", "47", "tcp", "udp"][rng.random_range(0..8)];
        let ports = match proto {
            "tcp" | "udp" => {
                let a = rng.random_range(0..40);
                Some((a, (a + rng.random_range(0..12)).min(65535)))
            }
            "icmp" | "icmpv6" => {
                let t = [-1, 0, 3, 8, 128, 129, 2][rng.random_range(0..7)];
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
        let p = match rng.random_range(0..10) {
            0 => perm_group(proto, ports, &groups[rng.random_range(0..3)]),
            1 if pl.is_some() => {
                let mut p = perm(proto, ports, "0.0.0.0/0");
                p.ip_ranges.clear();
                p.prefix_list_ids.push(PrefixListId {
                    prefix_list_id: pl.clone().unwrap_or_default(),
                    description: None,
                });
                p
            }
            _ => perm(proto, ports, &cidr(rng, six)),
        };
        let egress = rng.random_bool(0.35);
        if egress && rng.random_bool(0.2) {
            // Sometimes narrow the default outbound rules, which changes what is untracked.
            let _ = w.revoke(
                &g,
                true,
                vec![perm("-1", None, if six { "::/0" } else { "0.0.0.0/0" })],
            );
        }
        let _ = w.authorize(&g, egress, vec![p]); // duplicates are refused: fine
    }
    let pick = |rng: &mut StdRng| -> Vec<String> {
        let s: Vec<String> = groups
            .iter()
            .filter(|_| rng.random_bool(0.5))
            .cloned()
            .collect();
        if s.is_empty() {
            vec![groups[rng.random_range(0..3)].clone()]
        } else {
            s
        }
    };
    for m in ["m0", "m1"] {
        let set = pick(rng);
        let set: Vec<&str> = set.iter().map(String::as_str).collect();
        let addrs = [v4(rng), v6(rng)];
        w.attach(m, &set, &addrs).expect("attach member");
    }
    let set = pick(rng);
    let set: Vec<&str> = set.iter().map(String::as_str).collect();
    w.attach(IFACE, &set, &[ip("10.0.0.1"), ip("2001:db8::1")])
        .expect("attach");
    w
}

fn pick<T: Copy>(rng: &mut StdRng, from: &[T]) -> T {
    from[rng.random_range(0..from.len())]
}

/// An ICMPv6 packet typed 133-137 made neighbour discovery, valid or not (SG-ENF-10): link
/// addresses, a target, a hop limit, a code, sometimes behind an extension header or short
/// of its type's length. Sets the packet's addresses and wire shape; returns its frame.
fn nd_case(rng: &mut StdRng, p: &mut Packet) -> Frame {
    let v6 = |a: IpAddr| match a {
        IpAddr::V6(a) => a,
        IpAddr::V4(_) => unreachable!("ICMPv6"),
    };
    let a6 = |s: &str| -> Ipv6Addr { s.parse().expect("address") };
    let (me, remote) = (a6("2001:db8::1"), v6(p.remote()));
    let (src, dst) = match p.direction {
        Direction::Inbound => (
            pick(rng, &[remote, a6("fe80::2"), a6("::"), a6("ff02::2")]),
            pick(
                rng,
                &[
                    me,
                    a6("fe80::1"),
                    a6("ff02::1"),
                    solicited_node(me),
                    a6("ff05::1"),
                ],
            ),
        ),
        Direction::Outbound => (
            pick(rng, &[me, a6("fe80::1"), a6("::")]),
            pick(
                rng,
                &[
                    remote,
                    a6("fe80::2"),
                    a6("ff02::1"),
                    solicited_node(remote),
                    a6("ff05::1"),
                ],
            ),
        ),
    };
    let target = pick(rng, &[me, remote, a6("fe80::2"), a6("ff02::1")]);
    let msg = match p.icmp_type {
        133 => Nd::RouterSolicitation,
        134 => Nd::RouterAdvertisement,
        135 => Nd::NeighborSolicitation { target },
        136 => Nd::NeighborAdvertisement { target },
        _ => Nd::Redirect {
            target,
            destination: remote,
        },
    };
    let mut f = Frame::nd(src, dst, msg);
    if rng.random_bool(0.2) {
        f.hop_limit = 64;
    }
    if rng.random_bool(0.8) {
        p.icmp_code = 0;
    }
    f.l4[1] = p.icmp_code;
    let direct = rng.random_bool(0.85);
    if !direct {
        f.v6_ext = vec![Ext::DestOpts];
    }
    if rng.random_bool(0.15) {
        // Short of the type's length (an RS keeps its 8 bytes, its full length).
        let short = f.l4.len().saturating_sub(8).max(8);
        f.l4.truncate(short);
    }
    p.src = src.into();
    p.dst = dst.into();
    p.nd = Some(NdWire {
        hop_limit: f.hop_limit,
        direct,
        length: f.l4.len(),
        complete: true,
        target: (p.icmp_type >= 135).then_some(target),
    });
    f
}

/// The flow a packet belongs to, from the instance's side; `None` when not looked up.
fn flow_key(p: &Packet) -> Option<(u8, IpAddr, IpAddr, u16, u16)> {
    let inbound = p.direction == Direction::Inbound;
    let (local, remote) = if inbound {
        (p.dst, p.src)
    } else {
        (p.src, p.dst)
    };
    let (lp, rp) = match p.protocol {
        6 | 17 => {
            if inbound {
                (p.dst_port, p.src_port)
            } else {
                (p.src_port, p.dst_port)
            }
        }
        1 | 58 => {
            if !eval::is_echo(p) {
                return None;
            }
            let request = p.icmp_type == 8 || p.icmp_type == 128;
            (p.src_port, if request != inbound { 1 } else { 2 })
        }
        _ => (0, 0),
    };
    Some((p.protocol, local, remote, lp, rp))
}

/// The sequence numbers of a live TCP flow, by direction (0 inbound, 1 outbound).
struct TcpSeq {
    origin: usize,
    next: [u32; 2],
    answered: bool,
}

impl TcpSeq {
    fn opened(origin: usize, isn: u32) -> Self {
        let mut next = [0; 2];
        next[origin] = isn.wrapping_add(1);
        TcpSeq {
            origin,
            next,
            answered: false,
        }
    }

    /// Flags, sequence and acknowledgement numbers of the flow's next segment in direction
    /// `d`: until the other side has answered, the originator retransmits its SYN and the
    /// other side answers with a SYN-ACK; then ACKs at each side's next sequence number.
    fn next_segment(&mut self, d: usize) -> (u8, u32, u32) {
        if !self.answered {
            if d == self.origin {
                return (TCP_SYN, self.next[d].wrapping_sub(1), 0);
            }
            self.answered = true;
            let isn = self.next[d ^ 1] ^ 0x8000_0000;
            self.next[d] = isn.wrapping_add(1);
            return (TCP_SYN | TCP_ACK, isn, self.next[d ^ 1]);
        }
        (TCP_ACK, self.next[d], self.next[d ^ 1])
    }
}

fn tcp_frame(p: &Packet, flags: u8, seq: u32, ack: u32) -> Frame {
    let mut t = Tcp::new(p.src_port, p.dst_port, flags);
    t.seq = seq;
    t.ack = ack;
    Frame::new(p.src, p.dst, 6, t.bytes())
}

fn revoke_random_rule(w: &mut World, rng: &mut StdRng) {
    let rules: Vec<(String, String, bool)> = w
        .state
        .groups
        .values()
        .flat_map(|g| {
            g.rules
                .iter()
                .map(move |r| (g.id.clone(), r.id.clone(), r.egress))
        })
        .collect();
    if rules.is_empty() {
        return;
    }
    let (g, r, egress) = rules[rng.random_range(0..rules.len())].clone();
    let req = sg_userspace::api::Permissions {
        group_id: Some(g),
        security_group_rule_ids: vec![r],
        ..Default::default()
    };
    sg_userspace::model::rules::revoke(&mut w.state, &req, egress).expect("revoke by id");
}

/// The run's seed (`SG_SEED`, else random) and number of cases (`var`, else `default`),
/// printed so that a failure can be replayed.
fn seed_and_cases(test: &str, var: &str, default: usize) -> (u64, usize) {
    let seed: u64 = std::env::var("SG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let cases: usize = std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    eprintln!("{test}: SG_SEED={seed} {var}={cases}");
    (seed, cases)
}

#[test]
fn datapath_agrees_with_the_reference_evaluator() {
    if !require_root("datapath_agrees_with_the_reference_evaluator") {
        return;
    }
    let (seed, cases) = seed_and_cases("differential test", "SG_DIFF_CASES", 100_000);
    let (allowed, denied) = with_lab(move |l| {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut allowed, mut denied) = (0usize, 0usize);
        for round in 0..cases.div_ceil(ROUND) {
            l.world = random_world(&mut rng);
            l.apply();
            l.dp.clear_conntrack();
            // Live flows, with the sequence numbers of TCP ones.
            let mut tracked: HashMap<(u8, IpAddr, IpAddr, u16, u16), Option<TcpSeq>> =
                HashMap::new();
            for case in 0..ROUND.min(cases - round * ROUND) {
                if case % 100 == 99 {
                    // Change the rules under live flows: tracked flows must survive
                    // (SG-ENF-2), untracked ones face the new rules (SG-ENF-3).
                    revoke_random_rule(&mut l.world, &mut rng);
                    l.apply();
                }
                let six = rng.random_bool(0.4);
                let remote = if six { v6(&mut rng) } else { v4(&mut rng) };
                let local = if six {
                    ip("2001:db8::1")
                } else {
                    ip("10.0.0.1")
                };
                let direction = if rng.random_bool(0.5) {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                };
                let (src, dst) = if direction == Direction::Inbound {
                    (remote, local)
                } else {
                    (local, remote)
                };
                let icmp = if six { 58 } else { 1 };
                let protocol = [6u8, 17, icmp, icmp, 47, 50, 6, 17][rng.random_range(0..8)];
                let mut p = Packet {
                    iface: IFACE.into(),
                    direction,
                    src,
                    dst,
                    protocol,
                    src_port: port(&mut rng),
                    dst_port: port(&mut rng),
                    tcp_syn: rng.random_bool(0.3),
                    icmp_type: pick(&mut rng, &[0u8, 8, 3, 128, 129, 2, 133, 134, 135, 136, 137]),
                    icmp_code: [0u8, 4][rng.random_range(0..2)],
                    nd: None,
                };
                let key = flow_key(&p);
                let isn: u32 = rng.random();
                let d = (direction == Direction::Outbound) as usize;
                let frame = match protocol {
                    // A live TCP flow's packet belongs to its connection (SG-ENF-13): the
                    // answer to its SYN, then segments at each side's next sequence number.
                    6 => match key
                        .and_then(|k| tracked.get_mut(&k))
                        .and_then(|t| t.as_mut())
                    {
                        Some(t) => {
                            let (flags, seq, ack) = t.next_segment(d);
                            p.tcp_syn = flags == TCP_SYN;
                            tcp_frame(&p, flags, seq, ack)
                        }
                        None => tcp_frame(&p, if p.tcp_syn { TCP_SYN } else { TCP_ACK }, isn, 0),
                    },
                    17 => Frame::udp(src, dst, p.src_port, p.dst_port),
                    58 if six && (133..=137).contains(&p.icmp_type) => nd_case(&mut rng, &mut p),
                    1 | 58 => Frame::icmp(src, dst, p.icmp_type, p.icmp_code, p.src_port),
                    _ => Frame::new(src, dst, protocol, vec![0u8; 8]),
                };
                let live = key.is_some_and(|k| tracked.contains_key(&k));
                let verdict = eval::evaluate(
                    &l.world.state,
                    &l.world.addrs,
                    &p,
                    Conntrack { live_flow: live },
                );
                let got = if direction == Direction::Inbound {
                    l.inbound(&frame)
                } else {
                    l.outbound(&frame)
                };
                assert_eq!(
                    got,
                    verdict.allows(),
                    "mismatch: SG_SEED={seed}, round {round}, case {case}\npacket {p:?}\nexpected {verdict:?}, tracked flow: {live}\nrules: {:#?}",
                    l.world.state.groups
                );
                if verdict.allows() {
                    allowed += 1;
                    if let Some(k) = key
                        && !live
                        && eval::tracked(&l.world.state, &p)
                        && matches!(verdict, eval::Verdict::Rules(_))
                    {
                        tracked.insert(k, (protocol == 6).then(|| TcpSeq::opened(d, isn)));
                    }
                } else {
                    denied += 1;
                }
            }
        }
        (allowed, denied)
    });
    eprintln!("differential test: {allowed} allowed, {denied} denied, 0 mismatches");
    assert!(
        allowed > cases / 10 && denied > cases / 10,
        "both outcomes well represented: {allowed}/{denied}"
    );
}

/// `sgctl explain` (issue 16) answers twice: by the reference evaluator, and by a probe of the
/// live maps. On random rulesets and random questions they must agree on every case (verdict,
/// reason, tracking, and the rule the kernel credits is one the evaluator found), and the
/// probe must decide as the real program does on the same frame. `SG_SEED` replays a run;
/// `SG_EXPLAIN_CASES` sets the number of questions.
#[test]
fn explain_agrees_with_the_reference_evaluator_and_the_datapath() {
    if !require_root("explain_agrees_with_the_reference_evaluator_and_the_datapath") {
        return;
    }
    let (seed, cases) = seed_and_cases("explain differential test", "SG_EXPLAIN_CASES", 50_000);
    let (accepted, rejected) = with_lab(move |l| {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut accepted, mut rejected) = (0usize, 0usize);
        for round in 0..cases.div_ceil(ROUND) {
            l.world = random_world(&mut rng);
            l.apply();
            l.dp.clear_conntrack();
            for case in 0..ROUND.min(cases - round * ROUND) {
                let six = rng.random_bool(0.4);
                let peer = if six { v6(&mut rng) } else { v4(&mut rng) };
                let inbound = rng.random_bool(0.5);
                let protocol = pick(&mut rng, &["tcp", "udp", "icmp", "icmpv6", "47", "tcp"]);
                let ports = protocol == "tcp" || protocol == "udp";
                let own_icmp = (protocol == "icmp" && !six) || (protocol == "icmpv6" && six);
                let icmp_type = pick(&mut rng, &[0, 8, 3, 128, 129, 2]);
                let req = ExplainRequest {
                    network_interface_id: IFACE.into(),
                    direction: if inbound { "ingress" } else { "egress" }.into(),
                    protocol: protocol.into(),
                    peer: peer.to_string(),
                    port: ports.then(|| i32::from(port(&mut rng))),
                    icmp_type: own_icmp.then_some(icmp_type),
                    icmp_code: own_icmp.then(|| pick(&mut rng, &[0, 4])),
                    ..Default::default()
                };
                let q = explain::query(&l.world.state, &l.world.addrs, &req)
                    .unwrap_or_else(|e| panic!("question {req:?} refused: {}", e.message));
                let eval = explain::judge(&l.world.state, &l.world.addrs, &q, false);
                let frame = explain::frame(&q.packet);
                // Instance mode: the arriving hook sees inbound traffic.
                let probed = l.dp.probe(IFACE, inbound, &frame).expect("probe");
                let kernel = explain::from_probe(&probed, false, inbound);
                // The probe must decide as the program it stands for, on the same frame.
                let hook = if inbound { Hook::Xdp } else { Hook::TcEgress };
                let passed = l.run(hook, &frame);
                let context = || {
                    format!(
                        "SG_SEED={seed}, round {round}, case {case}\nquestion {req:?}\n\
                         evaluator {eval:?}\nkernel {kernel:?}\nrules: {:#?}",
                        l.world.state.groups
                    )
                };
                assert!(
                    explain::agree(&eval, &kernel),
                    "disagreement: {}",
                    context()
                );
                assert_eq!(
                    passed,
                    kernel.accept,
                    "probe and datapath differ: {}",
                    context()
                );
                if passed {
                    accepted += 1;
                    // The real run may have opened a tracked flow: the next question is
                    // about a new flow again.
                    l.dp.clear_conntrack();
                } else {
                    rejected += 1;
                }
            }
        }
        (accepted, rejected)
    });
    eprintln!(
        "explain differential test: {accepted} accepted, {rejected} rejected, 0 disagreements"
    );
    assert!(
        accepted > cases / 10 && rejected > cases / 10,
        "both outcomes well represented: {accepted}/{rejected}"
    );
}
