//! The reference evaluator: the spec's enforcement rules (SG-ENF, SG-RULE-5) written as plain
//! Rust over the model, independent of the compiler and the datapath. Given the state, the
//! interfaces' addresses, a packet and what connection tracking knows about its flow, it
//! returns the verdict the spec demands and the rules that allow the packet. It is the oracle
//! the compiler and the kernel are tested against.

use std::net::{IpAddr, Ipv6Addr};

use crate::{
    compiler::Addresses,
    model::{
        Interface, PROTO_ALL, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, Peer, Rule, State,
    },
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
    /// ICMPv6 types 133-137: what decides whether the message is neighbour discovery
    /// (SG-ENF-10). `None`: not known to be, judged by the rules.
    pub nd: Option<NdWire>,
}

/// How an ICMPv6 message typed 133-137 looks on the wire, beyond its addresses, type and
/// code: what RFC 4861 validity depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdWire {
    pub hop_limit: u8,
    /// The ICMPv6 header follows the IPv6 header directly: no extension header, no fragment.
    pub direct: bool,
    /// The ICMPv6 message's length by the IPv6 payload length.
    pub length: usize,
    /// Whether the frame holds all `length` bytes.
    pub complete: bool,
    /// Neighbour solicitation and advertisement, redirect: the target address.
    pub target: Option<Ipv6Addr>,
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
    let own = addrs.get(&iface.id).map_or(&[][..], Vec::as_slice);
    if nd_always_allowed(iface, own, p) {
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

/// Whether `p` is neighbour or router discovery, never filtered (SG-ENF-10): valid per RFC
/// 4861 (ICMPv6 right after the IPv6 header, hop limit 255, code 0, at least the type's
/// minimum length and all of it in the frame, no multicast source; RA and Redirect from a
/// link-local source; the unspecified source only for RS, and for NS to a solicited-node
/// address; no multicast target) and on the link: from the instance to a link-local or
/// link-scope multicast destination, to it at a unicast or link-scope multicast destination;
/// with the source/destination check on (SG-IF-5), also from its own, a link-local or the
/// unspecified address, to its own, a link-local or a link-scope multicast address. Anything
/// else typed 133-137 is ICMPv6 like any other. (The check itself, which drops spoofed
/// packets before any rule, is not modelled here.)
pub fn nd_always_allowed(iface: &Interface, own: &[IpAddr], p: &Packet) -> bool {
    let (IpAddr::V6(src), IpAddr::V6(dst), Some(w)) = (p.src, p.dst, p.nd) else {
        return false;
    };
    let min_len = match p.icmp_type {
        133 => 8,
        134 => 16,
        135 | 136 => 24,
        137 => 40,
        _ => return false,
    };
    if p.protocol as i16 != PROTO_ICMPV6
        || !w.direct
        || w.hop_limit != 255
        || p.icmp_code != 0
        || w.length < min_len
        || !w.complete
        || src.is_multicast()
    {
        return false;
    }
    let link_local = |a: Ipv6Addr| a.is_unicast_link_local();
    let link_scope_multicast = |a: Ipv6Addr| a.segments()[0] == 0xff02;
    let solicited_node = |a: Ipv6Addr| a.octets()[..13] == solicited_node_prefix();
    let unspecified = src.is_unspecified();
    let sender_ok = match p.icmp_type {
        133 => true,
        134 | 137 => link_local(src),
        135 => !unspecified || solicited_node(dst),
        _ => !unspecified,
    };
    let target_ok = p.icmp_type < 135 || w.target.is_some_and(|t| !t.is_multicast());
    let own = |a: Ipv6Addr| own.contains(&IpAddr::V6(a));
    let checked = iface.source_dest_check;
    let on_link = match p.direction {
        Direction::Outbound => {
            (link_local(dst) || link_scope_multicast(dst))
                && (!checked || own(src) || link_local(src) || unspecified)
        }
        Direction::Inbound => {
            (!dst.is_multicast() || link_scope_multicast(dst))
                && (!checked || own(dst) || link_local(dst) || link_scope_multicast(dst))
        }
    };
    sender_ok && target_ok && on_link
}

/// The first 13 bytes of every solicited-node multicast address (`ff02::1:ff00:0/104`).
fn solicited_node_prefix() -> [u8; 13] {
    let mut p = [0u8; 13];
    p[..2].copy_from_slice(&[0xff, 0x02]);
    p[11..].copy_from_slice(&[0x01, 0xff]);
    p
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
/// ICMP/ICMPv6 echo and every protocol but TCP/UDP are tracked (ICMP over IPv6 and ICMPv6
/// over IPv4 as other protocols); other ICMP messages of the packet's family are judged alone; a TCP/UDP flow is untracked when the direction that admits it allows it
/// from/to anywhere and the other direction allows the protocol to anywhere on all ports —
/// also for the packets answering such a flow. Only a SYN opens a tracked TCP flow: other TCP
/// packets the rules allow are judged alone, so an untracked flow whose rule is revoked stays
/// cut even if the instance speaks next.
pub fn tracked(state: &State, p: &Packet) -> bool {
    let icmp_of_family = if p.src.is_ipv4() {
        PROTO_ICMP
    } else {
        PROTO_ICMPV6
    };
    match p.protocol as i16 {
        // ICMP over IPv6 and ICMPv6 over IPv4 are other protocols (SG-ENF-5).
        proto if proto == icmp_of_family => is_echo(p),
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
