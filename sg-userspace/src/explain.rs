//! `sgctl explain`: the verdict on one packet at an interface, and why. This module is the
//! pure part: it reads the question into a packet, crafts the frame the kernel's probe judges,
//! answers by the reference evaluator, and compares that answer with the kernel's
//! (`daemon::explain` runs the probe on the live maps).
//!
//! The packet is the first of a new flow (a TCP SYN, a UDP datagram, an ICMP message), unless
//! the question names its source port: then the tracked flow of exactly that packet, if one is
//! live, is what admits it (SG-ENF-1).

use std::net::IpAddr;

use etherparse::{IpNumber, PacketBuilder};
use sg_common::stats::{DROP_MALFORMED, DROP_NO_RULE, DROP_SPOOFED, PASS_ALWAYS, PASS_RULE};

use crate::{
    api::{ExplainRequest, ExplainedPacket},
    compiler::Addresses,
    datapath::Probed,
    eval::{self, Conntrack, Direction, Packet},
    model::{
        ApiError, ApiResult, AttachMode, PROTO_ALL, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP,
        Peer, State, parse_protocol, protocol_name,
    },
};

/// The source port of a packet whose question names none.
pub const EPHEMERAL_PORT: u16 = 49152;
/// The identifier of a crafted ICMP echo.
const ECHO_ID: u16 = 1;

/// One packet to explain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The interface's id.
    pub iface: String,
    pub packet: Packet,
    /// The question named the source port: the packet's own tracked flow is looked up.
    pub exact_flow: bool,
}

fn port(name: &str, v: Option<i32>) -> ApiResult<Option<u16>> {
    v.map(|p| {
        u16::try_from(p).map_err(|_| {
            ApiError::invalid_value(format!("{name} must be between 0 and 65535, not {p}"))
        })
    })
    .transpose()
}

fn byte(name: &str, v: Option<i32>) -> ApiResult<Option<u8>> {
    v.map(|p| {
        u8::try_from(p).map_err(|_| {
            ApiError::invalid_value(format!("{name} must be between 0 and 255, not {p}"))
        })
    })
    .transpose()
}

/// Reads the question: the interface must exist, the packet must be one packet (one
/// protocol, its ports or ICMP type), and the instance needs an address of the peer's family.
pub fn query(state: &State, addrs: &Addresses, req: &ExplainRequest) -> ApiResult<Query> {
    let iface = state
        .interfaces
        .get(&req.network_interface_id)
        .ok_or_else(|| ApiError::interface_not_found(&req.network_interface_id))?;
    let direction = match req.direction.to_ascii_lowercase().as_str() {
        "ingress" | "inbound" => Direction::Inbound,
        "egress" | "outbound" => Direction::Outbound,
        d => {
            return Err(ApiError::invalid_value(format!(
                "Direction must be ingress or egress, not \"{d}\""
            )));
        }
    };
    let protocol = parse_protocol(&req.protocol).map_err(|e| ApiError::invalid_value(e.message))?;
    if protocol == PROTO_ALL {
        return Err(ApiError::invalid_value(
            "explain judges one packet: give its protocol (tcp, udp, icmp, icmpv6 or a number)",
        ));
    }
    let peer: IpAddr = req.peer.parse().map_err(|_| {
        ApiError::invalid_value(format!("Peer must be an IP address, not \"{}\"", req.peer))
    })?;
    let local = match &req.local_address {
        Some(a) => a.parse::<IpAddr>().map_err(|_| {
            ApiError::invalid_value(format!("LocalAddress must be an IP address, not \"{a}\""))
        })?,
        None => addrs
            .get(&iface.id)
            .into_iter()
            .flatten()
            .find(|a| a.is_ipv4() == peer.is_ipv4())
            .copied()
            .ok_or_else(|| {
                ApiError::invalid_value(format!(
                    "{} has no IPv{} address: give the instance's address with --local-address",
                    iface.id,
                    if peer.is_ipv4() { 4 } else { 6 }
                ))
            })?,
    };
    if local.is_ipv4() != peer.is_ipv4() {
        return Err(ApiError::invalid_value(
            "LocalAddress and Peer must be of the same family",
        ));
    }
    let ports = protocol == PROTO_TCP || protocol == PROTO_UDP;
    let icmp_of_family = if peer.is_ipv4() {
        PROTO_ICMP
    } else {
        PROTO_ICMPV6
    };
    let icmp = protocol == icmp_of_family;
    let dst_port = port("Port", req.port)?;
    let src_port = port("SourcePort", req.source_port)?;
    if !ports && (dst_port.is_some() || src_port.is_some()) {
        return Err(ApiError::invalid_value(
            "Port and SourcePort apply to tcp and udp only",
        ));
    }
    if ports && dst_port.is_none() {
        return Err(ApiError::missing("Port"));
    }
    let icmp_type = byte("IcmpType", req.icmp_type)?;
    let icmp_code = byte("IcmpCode", req.icmp_code)?;
    if !icmp && (icmp_type.is_some() || icmp_code.is_some()) {
        return Err(ApiError::invalid_value(format!(
            "IcmpType and IcmpCode apply to {} only",
            protocol_name(icmp_of_family)
        )));
    }
    let echo_request = if peer.is_ipv4() { 8 } else { 128 };
    let icmp_type = icmp_type.unwrap_or(echo_request);
    if icmp && !peer.is_ipv4() && (133..=137).contains(&icmp_type) {
        return Err(ApiError::invalid_value(
            "valid neighbour and router discovery (ICMPv6 types 133-137) is never filtered \
             (SG-ENF-10); explain judges other traffic",
        ));
    }
    let (src, dst) = match direction {
        Direction::Inbound => (peer, local),
        Direction::Outbound => (local, peer),
    };
    Ok(Query {
        iface: iface.id.clone(),
        exact_flow: src_port.is_some(),
        packet: Packet {
            iface: iface.id.clone(),
            direction,
            src,
            dst,
            protocol: protocol as u8,
            src_port: if icmp {
                ECHO_ID
            } else {
                src_port.unwrap_or(EPHEMERAL_PORT)
            },
            dst_port: dst_port.unwrap_or(0),
            tcp_syn: protocol == PROTO_TCP,
            icmp_type: if icmp { icmp_type } else { 0 },
            icmp_code: if icmp { icmp_code.unwrap_or(0) } else { 0 },
            nd: None,
        },
    })
}

/// The packet as the answer shows it.
pub fn shown(p: &Packet) -> ExplainedPacket {
    let proto = p.protocol as i16;
    let ports = proto == PROTO_TCP || proto == PROTO_UDP;
    let icmp =
        (proto == PROTO_ICMP && p.src.is_ipv4()) || (proto == PROTO_ICMPV6 && p.src.is_ipv6());
    ExplainedPacket {
        protocol: protocol_name(proto),
        source: p.src.to_string(),
        destination: p.dst.to_string(),
        source_port: ports.then_some(p.src_port),
        destination_port: ports.then_some(p.dst_port),
        icmp_type: icmp.then_some(p.icmp_type),
        icmp_code: icmp.then_some(p.icmp_code),
    }
}

/// The Ethernet frame of `p` (a SYN for TCP, an 8-byte payload for protocols without a
/// header here), with valid lengths and checksums.
pub fn frame(p: &Packet) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let ip = match (p.src, p.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), 64),
        // `query` never mixes families.
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    let id = p.src_port.to_be_bytes();
    let written = match (p.protocol as i16, p.src.is_ipv4()) {
        (PROTO_TCP, _) => ip
            .tcp(p.src_port, p.dst_port, 1, 65535)
            .syn()
            .write(&mut out, &[]),
        (PROTO_UDP, _) => ip.udp(p.src_port, p.dst_port).write(&mut out, &[]),
        (PROTO_ICMP, true) => ip
            .icmpv4_raw(p.icmp_type, p.icmp_code, [id[0], id[1], 0, 1])
            .write(&mut out, &[]),
        (PROTO_ICMPV6, false) => ip
            .icmpv6_raw(p.icmp_type, p.icmp_code, [id[0], id[1], 0, 1])
            .write(&mut out, &[]),
        (n, _) => ip.write(&mut out, IpNumber(n as u8), &[0u8; 8]),
    };
    // Writing to a vector fails only for a payload longer than IP allows.
    written.map_or_else(|_| Vec::new(), |()| out)
}

/// One side's answer: the evaluator's, or the kernel's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Judgement {
    pub accept: bool,
    /// ACCEPT: what admits it (see `ExplainResult::admitted_by`).
    pub admitted_by: Option<&'static str>,
    /// REJECT: why (see `ExplainResult::reason`).
    pub reason: Option<&'static str>,
    pub rule_ids: Vec<String>,
    /// Admitted by the rules: whether the flow is tracked.
    pub tracked: Option<bool>,
}

impl Judgement {
    pub fn accept(by: &'static str) -> Self {
        Self {
            accept: true,
            admitted_by: Some(by),
            ..Self::default()
        }
    }

    pub fn reject(reason: &'static str) -> Self {
        Self {
            reason: Some(reason),
            ..Self::default()
        }
    }

    pub fn verdict(&self) -> &'static str {
        if self.accept { "ACCEPT" } else { "REJECT" }
    }
}

pub const BY_RULES: &str = "SecurityGroupRules";
pub const BY_TRACKED_FLOW: &str = "TrackedFlow";
pub const BY_ND: &str = "NeighbourDiscovery";
pub const BY_NOTHING: &str = "NotProtected";
pub const BY_CLASSIC: &str = "ClassicEgress";
pub const NO_RULE: &str = "NoRule";
pub const STALE_REFERENCE: &str = "StaleGroupReference";
pub const SOURCE_DEST_CHECK: &str = "SourceDestCheck";
pub const ALLOWANCE: &str = "ConntrackAllowanceExceeded";
pub const MALFORMED: &str = "MalformedPacket";

/// The reference evaluator's answer (`live_flow`: a live tracked flow holds this packet).
pub fn judge(state: &State, addrs: &Addresses, q: &Query, live_flow: bool) -> Judgement {
    let p = &q.packet;
    let Some(iface) = state.interfaces.get(&q.iface) else {
        return Judgement::accept(BY_NOTHING);
    };
    // SG-IF-5, checked before connection tracking and the rules (the evaluator leaves it
    // out: it judges packets the instance's own addresses send and receive).
    if iface.mode == AttachMode::Host && iface.source_dest_check {
        let own = addrs.get(&iface.id).map_or(&[][..], Vec::as_slice);
        let instance_side = match p.direction {
            Direction::Inbound => p.dst,
            Direction::Outbound => p.src,
        };
        if !own.contains(&instance_side) {
            return Judgement::reject(SOURCE_DEST_CHECK);
        }
    }
    match eval::evaluate(state, addrs, p, Conntrack { live_flow }) {
        eval::Verdict::Unfiltered => Judgement::accept(BY_NOTHING),
        eval::Verdict::AlwaysAllowed => Judgement::accept(BY_ND),
        eval::Verdict::Tracked => Judgement::accept(BY_TRACKED_FLOW),
        eval::Verdict::Rules(ids) => Judgement {
            admitted_by: Some(if ids.is_empty() { BY_CLASSIC } else { BY_RULES }),
            rule_ids: ids,
            tracked: Some(eval::tracked(state, p)),
            accept: true,
            reason: None,
        },
        eval::Verdict::Denied if !stale_references(state, p).is_empty() => {
            Judgement::reject(STALE_REFERENCE)
        }
        eval::Verdict::Denied => Judgement::reject(NO_RULE),
    }
}

/// The kernel's answer from what its probe found (`live`: a live tracked flow holds the
/// packet, which the datapath checks after the source/destination check and before the
/// rules; `inbound`: the packet's direction, which the probe must have seen too).
pub fn from_probe(p: &Probed, live: bool, inbound: bool) -> Judgement {
    if p.inbound != inbound {
        return Judgement::reject("WrongDirection");
    }
    match p.reason {
        None => Judgement::accept(BY_NOTHING),
        Some(PASS_ALWAYS) => Judgement::accept(BY_ND),
        Some(DROP_SPOOFED) => Judgement::reject(SOURCE_DEST_CHECK),
        Some(DROP_MALFORMED) => Judgement::reject(MALFORMED),
        Some(_) if live => Judgement::accept(BY_TRACKED_FLOW),
        Some(PASS_RULE) => Judgement {
            accept: true,
            admitted_by: Some(BY_RULES),
            reason: None,
            rule_ids: p.rule_ids.clone(),
            tracked: Some(p.tracked),
        },
        Some(DROP_NO_RULE) => Judgement::reject(NO_RULE),
        Some(_) => Judgement::reject("Unexpected"),
    }
}

/// The rules of the interface's groups that would match `p` but name a group that no longer
/// exists (a stale reference matches nobody).
pub fn stale_references(state: &State, p: &Packet) -> Vec<String> {
    let Some(iface) = state.interfaces.get(&p.iface) else {
        return Vec::new();
    };
    let egress = p.direction == Direction::Outbound;
    state
        .effective_groups(iface)
        .iter()
        .filter_map(|g| state.groups.get(g))
        .flat_map(|g| g.rules.iter())
        .filter(|r| r.egress == egress && eval::traffic_matches(r, p))
        .filter(|r| matches!(&r.peer, Peer::Group(g) if !state.groups.contains_key(g)))
        .map(|r| r.id.clone())
        .collect()
}

/// Whether the kernel's answer agrees with the evaluator's: the same verdict for the same
/// kind of reason, the same tracking, and the rule the kernel credits is one the evaluator
/// found.
pub fn agree(eval: &Judgement, kernel: &Judgement) -> bool {
    // A stale reference is a rule that matches nobody: in the kernel, no rule.
    let base = |r: Option<&'static str>| {
        if r == Some(STALE_REFERENCE) {
            Some(NO_RULE)
        } else {
            r
        }
    };
    // An EC2-Classic interface's outbound traffic is admitted by a compiled allow-all rule.
    let by = |b: Option<&'static str>| {
        if b == Some(BY_CLASSIC) {
            Some(BY_RULES)
        } else {
            b
        }
    };
    eval.accept == kernel.accept
        && base(eval.reason) == base(kernel.reason)
        && by(eval.admitted_by) == by(kernel.admitted_by)
        && eval.tracked == kernel.tracked
        && kernel.rule_ids.iter().all(|r| eval.rule_ids.contains(r))
        && (eval.rule_ids.is_empty() || !kernel.rule_ids.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{World, ip, perm};

    fn ask(direction: &str, protocol: &str, peer: &str) -> ExplainRequest {
        ExplainRequest {
            network_interface_id: "eth0".into(),
            direction: direction.into(),
            protocol: protocol.into(),
            peer: peer.into(),
            ..Default::default()
        }
    }

    fn world() -> (World, String) {
        let mut w = World::new();
        let g = w.group("web");
        w.authorize(
            &g,
            false,
            vec![perm("tcp", Some((22, 22)), "203.0.113.0/24")],
        )
        .expect("authorize");
        w.attach("eth0", &[&g], &[ip("10.0.0.1"), ip("2001:db8::1")])
            .expect("attach");
        (w, g)
    }

    #[test]
    fn a_packet_a_rule_admits_names_the_rule_and_whether_it_is_tracked() {
        let (w, g) = world();
        let mut req = ask("ingress", "tcp", "203.0.113.9");
        req.port = Some(22);
        let q = query(&w.state, &w.addrs, &req).expect("query");
        assert_eq!(q.packet.src, ip("203.0.113.9"));
        assert_eq!(
            q.packet.dst,
            ip("10.0.0.1"),
            "the instance's first IPv4 address"
        );
        assert_eq!(q.packet.src_port, EPHEMERAL_PORT);
        assert!(q.packet.tcp_syn && !q.exact_flow);
        let j = judge(&w.state, &w.addrs, &q, false);
        let rule = w.state.groups[&g]
            .rules
            .iter()
            .find(|r| !r.egress)
            .expect("rule");
        assert_eq!(j.verdict(), "ACCEPT");
        assert_eq!(j.admitted_by, Some(BY_RULES));
        assert_eq!(j.rule_ids, vec![rule.id.clone()]);
        // The default group's egress allows all to anywhere, but the ingress rule is not
        // from anywhere: tracked (SG-ENF-3).
        assert_eq!(j.tracked, Some(true));
        req.port = Some(23);
        let q = query(&w.state, &w.addrs, &req).expect("query");
        assert_eq!(
            judge(&w.state, &w.addrs, &q, false),
            Judgement::reject(NO_RULE)
        );
        // A live tracked flow admits it whatever the rules say (SG-ENF-1).
        assert_eq!(
            judge(&w.state, &w.addrs, &q, true),
            Judgement::accept(BY_TRACKED_FLOW)
        );
    }

    #[test]
    fn bad_questions_are_refused_with_the_reason() {
        let (w, _) = world();
        let err = |f: &dyn Fn(&mut ExplainRequest)| {
            let mut r = ask("ingress", "tcp", "203.0.113.9");
            r.port = Some(22);
            f(&mut r);
            query(&w.state, &w.addrs, &r).expect_err("refused")
        };
        assert_eq!(
            err(&|r| r.network_interface_id = "eth9".into()).code,
            "InvalidNetworkInterfaceID.NotFound"
        );
        assert!(
            err(&|r| r.direction = "sideways".into())
                .message
                .contains("ingress or egress")
        );
        assert!(
            err(&|r| r.protocol = "-1".into())
                .message
                .contains("one packet")
        );
        assert!(
            err(&|r| r.protocol = "300".into())
                .message
                .contains("Unsupported IP protocol")
        );
        assert_eq!(err(&|r| r.port = None).code, "MissingParameter");
        assert!(err(&|r| r.port = Some(70000)).message.contains("65535"));
        assert!(
            err(&|r| r.peer = "example.com".into())
                .message
                .contains("IP address")
        );
        assert!(
            err(&|r| r.local_address = Some("2001:db8::1".into()))
                .message
                .contains("same family")
        );
        assert!(
            err(&|r| {
                r.protocol = "icmp".into();
                r.port = None;
                r.icmp_type = Some(300);
            })
            .message
            .contains("255")
        );
        assert!(
            err(&|r| r.icmp_type = Some(8))
                .message
                .contains("apply to icmp only")
        );
        assert!(
            err(&|r| {
                r.protocol = "icmpv6".into();
                r.port = None;
                r.peer = "fe80::1".into();
                r.icmp_type = Some(135);
            })
            .message
            .contains("SG-ENF-10")
        );
    }

    #[test]
    fn frames_carry_the_packet_etherparse_reads_back() {
        let (w, _) = world();
        for (proto, peer, port) in [
            ("tcp", "203.0.113.9", Some(22)),
            ("udp", "2001:db8::9", Some(53)),
            ("icmp", "203.0.113.9", None),
            ("icmpv6", "2001:db8::9", None),
            ("47", "203.0.113.9", None),
        ] {
            let mut req = ask("egress", proto, peer);
            req.port = port;
            let q = query(&w.state, &w.addrs, &req).expect("query");
            let f = frame(&q.packet);
            let parsed = etherparse::SlicedPacket::from_ethernet(&f).expect("a valid frame");
            let net = parsed.net.expect("an IP header");
            let (src, dst): (IpAddr, IpAddr) = match &net {
                etherparse::NetSlice::Ipv4(v4) => (
                    v4.header().source_addr().into(),
                    v4.header().destination_addr().into(),
                ),
                etherparse::NetSlice::Ipv6(v6) => (
                    v6.header().source_addr().into(),
                    v6.header().destination_addr().into(),
                ),
                _ => panic!("not IP"),
            };
            assert_eq!((src, dst), (q.packet.src, q.packet.dst), "{proto}");
            match parsed.transport {
                Some(etherparse::TransportSlice::Tcp(t)) => {
                    assert!(t.syn() && !t.ack());
                    assert_eq!(t.destination_port(), 22);
                }
                Some(etherparse::TransportSlice::Udp(u)) => assert_eq!(u.destination_port(), 53),
                Some(etherparse::TransportSlice::Icmpv4(i)) => assert_eq!(i.type_u8(), 8),
                Some(etherparse::TransportSlice::Icmpv6(i)) => assert_eq!(i.type_u8(), 128),
                None => assert_eq!(proto, "47"),
                Some(other) => panic!("{proto}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_source_dest_check_refuses_an_address_not_the_instances() {
        let mut w = World::new();
        let g = w.group("web");
        w.authorize(&g, false, vec![perm("tcp", Some((22, 22)), "0.0.0.0/0")])
            .expect("authorize");
        w.attach("vm0", &[&g], &[ip("10.0.0.1")]).expect("attach");
        let vm = w.state.interfaces.get_mut("vm0").expect("vm0");
        vm.mode = AttachMode::Host;
        vm.source_dest_check = true;
        let mut req = ExplainRequest {
            network_interface_id: "vm0".into(),
            direction: "ingress".into(),
            protocol: "tcp".into(),
            peer: "198.51.100.1".into(),
            port: Some(22),
            ..Default::default()
        };
        let q = query(&w.state, &w.addrs, &req).expect("query");
        assert_eq!(
            judge(&w.state, &w.addrs, &q, false).admitted_by,
            Some(BY_RULES)
        );
        req.local_address = Some("10.0.0.2".into());
        let q = query(&w.state, &w.addrs, &req).expect("query");
        assert_eq!(
            judge(&w.state, &w.addrs, &q, false),
            Judgement::reject(SOURCE_DEST_CHECK)
        );
    }

    #[test]
    fn agreement_needs_the_same_verdict_reason_tracking_and_a_rule_the_evaluator_found() {
        let eval = Judgement {
            accept: true,
            admitted_by: Some(BY_RULES),
            reason: None,
            rule_ids: vec!["sgr-1".into(), "sgr-2".into()],
            tracked: Some(true),
        };
        let mut kernel = eval.clone();
        kernel.rule_ids = vec!["sgr-2".into()];
        assert!(agree(&eval, &kernel));
        kernel.rule_ids = vec!["sgr-3".into()];
        assert!(!agree(&eval, &kernel));
        kernel.rule_ids = vec![];
        assert!(
            !agree(&eval, &kernel),
            "a rule admitted it, but the kernel credits none"
        );
        kernel.rule_ids = vec!["sgr-1".into()];
        kernel.tracked = Some(false);
        assert!(!agree(&eval, &kernel));
        assert!(!agree(&eval, &Judgement::reject(NO_RULE)));
        assert!(agree(
            &Judgement::reject(STALE_REFERENCE),
            &Judgement::reject(NO_RULE)
        ));
        assert!(!agree(
            &Judgement::reject(SOURCE_DEST_CHECK),
            &Judgement::reject(NO_RULE)
        ));
    }
}
