//! The reference evaluator: the spec's enforcement rules (SG-ENF, SG-RULE-5) written as plain
//! Rust over the model, independent of the compiler and the datapath. Given the state, the
//! interfaces' addresses, a packet and what connection tracking knows about its flow, it
//! returns the verdict the spec demands and the rules that allow the packet. It is the oracle
//! the compiler and the kernel are tested against.

use std::net::IpAddr;

use crate::{
    compiler::Addresses,
    model::{PROTO_ALL, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, Peer, Rule, State},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// To the instance (ingress rules).
    Inbound,
    /// From the instance (egress rules).
    Outbound,
}

/// The fields of a packet that decide its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The interface (its Linux name) the packet crosses.
    pub iface: String,
    pub direction: Direction,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP protocol number.
    pub protocol: u8,
    /// TCP/UDP source port; ICMP/ICMPv6 echo identifier; ignored otherwise.
    pub src_port: u16,
    /// TCP/UDP destination port; ignored for other protocols.
    pub dst_port: u16,
    /// TCP: a SYN without ACK, the only TCP packet that opens a tracked flow.
    pub tcp_syn: bool,
    /// ICMP/ICMPv6 type and code; ignored for other protocols.
    pub icmp_type: u8,
    pub icmp_code: u8,
}

impl Packet {
    /// The address on the other side of the instance: the source of inbound traffic, the
    /// destination of outbound traffic (the address rules match).
    pub fn remote(&self) -> IpAddr {
        match self.direction {
            Direction::Inbound => self.src,
            Direction::Outbound => self.dst,
        }
    }
}

/// What connection tracking knows about the packet's flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conntrack {
    /// A tracked flow this packet belongs to exists and has not been idle past its timeout
    /// (SG-ENF-1, SG-ENF-2, SG-ENF-7).
    pub live_flow: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The interface is not protected: nothing is filtered.
    Unfiltered,
    /// Neighbour and router discovery are never filtered (SG-ENF-10).
    AlwaysAllowed,
    /// Part of a live tracked flow (SG-ENF-1): allowed whatever the rules say now.
    Tracked,
    /// Allowed by these rules (ids), the union of all groups on the interface (SG-RULE-5).
    /// Empty for the implicit allow-all outbound of an EC2-Classic interface.
    Rules(Vec<String>),
    /// No rule allows it.
    Denied,
}

impl Verdict {
    pub fn allows(&self) -> bool {
        !matches!(self, Verdict::Denied)
    }
}

/// Whether a rule's peer covers an address (SG-RULE-4): CIDRs by containment, group
/// references by the private addresses of the interfaces attached to the group, prefix lists
/// by their entries.
pub fn peer_matches(state: &State, addrs: &Addresses, peer: &Peer, a: IpAddr) -> bool {
    match peer {
        Peer::Ipv4(n) => matches!(a, IpAddr::V4(v4) if n.contains(&v4)),
        Peer::Ipv6(n) => matches!(a, IpAddr::V6(v6) if n.contains(&v6)),
        Peer::Group(g) => state.interfaces.values().any(|i| {
            state.effective_groups(i).contains(g)
                && addrs.get(&i.id).is_some_and(|l| l.contains(&a))
        }),
        Peer::PrefixList(id) => state
            .prefix_lists
            .get(id)
            .is_some_and(|pl| pl.entries.iter().any(|e| e.cidr.contains(&a))),
    }
}

/// Whether a rule's protocol and ports (ICMP type and code) cover the packet (SG-RULE-2,
/// SG-RULE-3).
pub fn traffic_matches(r: &Rule, p: &Packet) -> bool {
    let icmp_of_family = if p.src.is_ipv4() {
        PROTO_ICMP
    } else {
        PROTO_ICMPV6
    };
    match r.protocol {
        PROTO_ALL => true,
        PROTO_TCP | PROTO_UDP => {
            r.protocol == p.protocol as i16
                && r.from_port.is_some_and(|f| f <= p.dst_port as i32)
                && r.to_port.is_some_and(|t| p.dst_port as i32 <= t)
        }
        PROTO_ICMP | PROTO_ICMPV6 => {
            // ICMP rules apply to ICMP over IPv4, ICMPv6 rules to ICMPv6 over IPv6.
            r.protocol == p.protocol as i16
                && r.protocol == icmp_of_family
                && r.from_port
                    .is_none_or(|t| t == -1 || t == p.icmp_type as i32)
                && r.to_port.is_none_or(|c| c == -1 || c == p.icmp_code as i32)
        }
        other => other == p.protocol as i16,
    }
}

/// The verdict the spec demands for `p`.
pub fn evaluate(state: &State, addrs: &Addresses, p: &Packet, ct: Conntrack) -> Verdict {
    let Some(iface) = state.interfaces.get(&p.iface) else {
        return Verdict::Unfiltered;
    };
    if p.protocol as i16 == PROTO_ICMPV6 && p.src.is_ipv6() && (133..=137).contains(&p.icmp_type) {
        return Verdict::AlwaysAllowed;
    }
    if ct.live_flow {
        return Verdict::Tracked;
    }
    let egress = p.direction == Direction::Outbound;
    if egress && state.is_classic(&iface.vpc_id) {
        return Verdict::Rules(Vec::new());
    }
    let remote = p.remote();
    let ids: Vec<String> = state
        .effective_groups(iface)
        .iter()
        .filter_map(|g| state.groups.get(g))
        .flat_map(|g| g.rules.iter())
        .filter(|r| r.egress == egress)
        .filter(|r| traffic_matches(r, p) && peer_matches(state, addrs, &r.peer, remote))
        .map(|r| r.id.clone())
        .collect();
    if ids.is_empty() {
        Verdict::Denied
    } else {
        Verdict::Rules(ids)
    }
}

fn is_all(peer: &Peer, state: &State, v4: bool) -> bool {
    match peer {
        Peer::Ipv4(n) => v4 && n.prefix_len() == 0,
        Peer::Ipv6(n) => !v4 && n.prefix_len() == 0,
        Peer::PrefixList(id) => state.prefix_lists.get(id).is_some_and(|pl| {
            pl.entries
                .iter()
                .any(|e| e.cidr.prefix_len() == 0 && e.cidr.addr().is_ipv4() == v4)
        }),
        Peer::Group(_) => false,
    }
}

/// The rules of one direction of an interface.
fn direction_rules<'a>(
    state: &'a State,
    iface: &str,
    egress: bool,
) -> impl Iterator<Item = &'a Rule> {
    let groups = state
        .interfaces
        .get(iface)
        .map(|i| state.effective_groups(i))
        .unwrap_or_default();
    groups
        .into_iter()
        .filter_map(|g| state.groups.get(&g))
        .flat_map(|g| g.rules.iter())
        .filter(move |r| r.egress == egress)
}

/// Whether a rule of direction `egress` allows `p` from/to anywhere (`0.0.0.0/0`, `::/0`).
fn allowed_from_anywhere(state: &State, p: &Packet, egress: bool) -> bool {
    let v4 = p.src.is_ipv4();
    direction_rules(state, &p.iface, egress)
        .any(|r| is_all(&r.peer, state, v4) && traffic_matches(r, p))
}

/// Whether direction `egress` allows `protocol` to anywhere on every port 0-65535 (the union
/// of its rules).
fn open_to_all(state: &State, iface: &str, egress: bool, protocol: u8, v4: bool) -> bool {
    let mut ranges: Vec<(i32, i32)> = Vec::new();
    for r in direction_rules(state, iface, egress).filter(|r| is_all(&r.peer, state, v4)) {
        if r.protocol == PROTO_ALL {
            return true;
        }
        if r.protocol == protocol as i16 {
            ranges.push((r.from_port.unwrap_or(0), r.to_port.unwrap_or(65535)));
        }
    }
    ranges.sort_unstable();
    let mut next = 0;
    for (f, t) in ranges {
        if f > next {
            return false;
        }
        next = next.max(t + 1);
    }
    next > 65535
}

/// ICMP echo request or reply (ICMPv6 echo over IPv6), tracked by identifier (SG-ENF-4).
pub fn is_echo(p: &Packet) -> bool {
    match (p.protocol as i16, p.src.is_ipv4()) {
        (PROTO_ICMP, true) => [8, 0].contains(&p.icmp_type),
        (PROTO_ICMPV6, false) => [128, 129].contains(&p.icmp_type),
        _ => false,
    }
}

/// Whether connection tracking records the flow of a packet the rules allow (SG-ENF-3..5):
/// ICMP/ICMPv6 echo and every protocol but TCP/UDP are tracked; other ICMP messages are
/// judged alone; a TCP/UDP flow is untracked when the direction that admits it allows it
/// from/to anywhere and the other direction allows the protocol to anywhere on all ports —
/// also for the packets answering such a flow. Only a SYN opens a tracked TCP flow: other TCP
/// packets the rules allow are judged alone, so an untracked flow whose rule is revoked stays
/// cut even if the instance speaks next.
pub fn tracked(state: &State, p: &Packet) -> bool {
    match p.protocol as i16 {
        PROTO_ICMP | PROTO_ICMPV6 => {
            let echo = if p.protocol as i16 == PROTO_ICMP {
                [8, 0]
            } else {
                [128, 129]
            };
            echo.contains(&p.icmp_type)
        }
        PROTO_TCP if !p.tcp_syn => false,
        PROTO_TCP | PROTO_UDP => {
            let egress = p.direction == Direction::Outbound;
            let v4 = p.src.is_ipv4();
            let opens = allowed_from_anywhere(state, p, egress)
                && open_to_all(state, &p.iface, !egress, p.protocol, v4);
            let reverse = Packet {
                direction: if egress {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                },
                src: p.dst,
                dst: p.src,
                src_port: p.dst_port,
                dst_port: p.src_port,
                ..p.clone()
            };
            let answers = allowed_from_anywhere(state, &reverse, !egress)
                && open_to_all(state, &p.iface, egress, p.protocol, v4);
            !(opens || answers)
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests;
