//! `sgctl export --format nft`: an interface's effective rules as an equivalent nftables
//! ruleset (stateful, in the inet family), for comparison benchmarks and for users who want
//! to read or reuse the rules elsewhere. Untracked flows (SG-ENF-3) and the source/
//! destination check have no counterpart: nftables tracks every flow it accepts.

use std::{collections::BTreeSet, fmt::Write as _};

use crate::{
    compiler::Addresses,
    model::{
        ApiError, ApiResult, AttachMode, PROTO_ALL, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP,
        Peer, Rule, State,
    },
};

/// The addresses a rule's peer stands for, per family, as nftables set elements.
fn peer_elements(state: &State, addrs: &Addresses, peer: &Peer) -> (Vec<String>, Vec<String>) {
    let nets: Vec<ipnet::IpNet> = match peer {
        Peer::Ipv4(n) => vec![(*n).into()],
        Peer::Ipv6(n) => vec![(*n).into()],
        Peer::Group(g) => state
            .interfaces
            .values()
            .filter(|i| state.effective_groups(i).contains(g))
            .flat_map(|i| {
                addrs
                    .get(&i.id)
                    .into_iter()
                    .flatten()
                    .map(|a| ipnet::IpNet::from(*a))
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        Peer::PrefixList(id) => state
            .prefix_lists
            .get(id)
            .map(|p| p.entries.iter().map(|e| e.cidr).collect())
            .unwrap_or_default(),
    };
    let (v4, v6): (Vec<_>, Vec<_>) = nets
        .into_iter()
        .partition(|n| matches!(n, ipnet::IpNet::V4(_)));
    (
        v4.iter().map(ToString::to_string).collect(),
        v6.iter().map(ToString::to_string).collect(),
    )
}

/// The protocol and port part of a rule for one family, or `None` if it matches nothing there.
fn traffic(r: &Rule, v4: bool) -> Option<String> {
    let range = |f: i32, t: i32| {
        if f == t {
            f.to_string()
        } else {
            format!("{f}-{t}")
        }
    };
    Some(match r.protocol {
        PROTO_ALL => String::new(),
        PROTO_TCP | PROTO_UDP => {
            let p = if r.protocol == PROTO_TCP {
                "tcp"
            } else {
                "udp"
            };
            format!(
                " {p} dport {}",
                range(r.from_port.unwrap_or(0), r.to_port.unwrap_or(65535))
            )
        }
        PROTO_ICMP | PROTO_ICMPV6 => {
            if (r.protocol == PROTO_ICMP) != v4 {
                return None;
            }
            let kw = if v4 { "icmp" } else { "icmpv6" };
            let mut s = format!(" meta l4proto {kw}");
            if let Some(t) = r.from_port.filter(|t| *t >= 0) {
                let _ = write!(s, " {kw} type {t}");
                if let Some(c) = r.to_port.filter(|c| *c >= 0) {
                    let _ = write!(s, " {kw} code {c}");
                }
            }
            s
        }
        n => format!(" meta l4proto {n}"),
    })
}

/// The ruleset for one protected interface.
pub fn nft(state: &State, addrs: &Addresses, iface: &str) -> ApiResult<String> {
    let i = state
        .interfaces
        .get(iface)
        .ok_or_else(|| ApiError::interface_not_found(iface))?;
    let table = format!(
        "sg_{}",
        iface.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    // Instance mode: the instance's inbound enters through the interface. Host mode: the
    // instance's inbound is what the host forwards out of the interface.
    let (in_hook, in_match, out_hook, out_match) = match i.mode {
        AttachMode::Instance => ("input", "iifname", "output", "oifname"),
        AttachMode::Host => ("forward", "oifname", "forward", "iifname"),
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Rules of {iface} ({} mode), exported by sgctl.",
        if i.mode == AttachMode::Host {
            "host"
        } else {
            "instance"
        }
    );
    let _ = writeln!(s, "table inet {table} {{");
    for (egress, chain, hook, dev) in [
        (false, "inbound", in_hook, in_match),
        (true, "outbound", out_hook, out_match),
    ] {
        let _ = writeln!(s, "  chain {chain} {{");
        let _ = writeln!(
            s,
            "    # Stateful (SG-ENF-1); neighbour discovery always passes (SG-ENF-10)."
        );
        let _ = writeln!(s, "    ct state established accept");
        let _ = writeln!(
            s,
            "    icmpv6 type {{ nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect }} accept"
        );
        let dir = if egress { "daddr" } else { "saddr" };
        let groups = state.effective_groups(i);
        let rules = groups
            .iter()
            .filter_map(|g| state.groups.get(g))
            .flat_map(|g| g.rules.iter())
            .filter(|r| r.egress == egress);
        if egress && state.is_classic(&i.vpc_id) {
            let _ = writeln!(s, "    accept");
        }
        for r in rules {
            let (v4, v6) = peer_elements(state, addrs, &r.peer);
            for (family, elems, is_v4) in [("ip", v4, true), ("ip6", v6, false)] {
                if elems.is_empty() {
                    continue;
                }
                let Some(t) = traffic(r, is_v4) else { continue };
                let _ = writeln!(
                    s,
                    "    {family} {dir} {{ {} }}{t} accept comment \"{}\"",
                    elems.join(", "),
                    r.id
                );
            }
        }
        let _ = writeln!(s, "    drop");
        let _ = writeln!(s, "  }}");
        let _ = writeln!(s, "  chain {chain}_hook {{");
        let _ = writeln!(s, "    type filter hook {hook} priority 0; policy accept;");
        let _ = writeln!(s, "    {dev} \"{iface}\" jump {chain}");
        let _ = writeln!(s, "  }}");
    }
    let _ = writeln!(s, "}}");
    Ok(s)
}
