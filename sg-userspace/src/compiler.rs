//! Compiles the model into what the datapath looks up: per interface, direction and address
//! family, a table of prefixes each mapped to a port set.
//!
//! * Group references expand to the private addresses of every interface attached to the
//!   referenced group (SG-RULE-4).
//! * Prefix closure: a prefix's port set is the union of the port sets of every rule whose CIDR
//!   covers it, so one longest-prefix match is exact (rules are allow-only, SG-RULE-5).
//! * Port sets are normalised (sorted, merged ranges) and interned per interface.
//!
//! Pure: no kernel, no I/O.

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use sg_common::iface::open_bit;
use sg_common::rule::{LIST_ICMP, LIST_TCP, LIST_UDP, MAX_RANGES, PortRange, PortSet, RangeList};

use crate::model::{PROTO_ALL, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, Peer, Rule, State};

pub const DIR_IN: usize = 0;
pub const DIR_OUT: usize = 1;
pub const FAM_V4: usize = 0;
pub const FAM_V6: usize = 1;

/// What one prefix allows: protocols open on every port, and per-protocol inclusive ranges of
/// destination ports (ICMP: `type << 8 | code`). Ranges are sorted and merged once
/// [`PortSetSpec::normalize`] has run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortSetSpec {
    pub all_ports: [u32; 8],
    /// Indexed by `LIST_TCP`, `LIST_UDP`, `LIST_ICMP` (ICMP for IPv4, ICMPv6 for IPv6).
    pub lists: [Vec<(u16, u16)>; 3],
}

impl PortSetSpec {
    fn set_all(&mut self, proto: u8) {
        self.all_ports[(proto >> 5) as usize] |= 1 << (proto & 31);
    }

    pub fn all(&self, proto: u8) -> bool {
        self.all_ports[(proto >> 5) as usize] & (1 << (proto & 31)) != 0
    }

    /// Adds what one rule allows, for a peer of the given family.
    fn add_rule(&mut self, r: &Rule, fam: usize) {
        let icmp = if fam == FAM_V4 {
            PROTO_ICMP
        } else {
            PROTO_ICMPV6
        };
        match r.protocol {
            PROTO_ALL => self.all_ports = [u32::MAX; 8],
            PROTO_TCP | PROTO_UDP => {
                let list = if r.protocol == PROTO_TCP {
                    LIST_TCP
                } else {
                    LIST_UDP
                };
                let (f, t) = (r.from_port.unwrap_or(0), r.to_port.unwrap_or(65535));
                self.lists[list].push((f as u16, t as u16));
            }
            p if p == icmp => {
                let (t, c) = (r.from_port.unwrap_or(-1), r.to_port.unwrap_or(-1));
                let range = match (t, c) {
                    (-1, _) => (0, 0xffff),
                    (t, -1) => ((t as u16) << 8, (t as u16) << 8 | 0xff),
                    (t, c) => ((t as u16) << 8 | c as u16, (t as u16) << 8 | c as u16),
                };
                self.lists[LIST_ICMP].push(range);
            }
            // ICMP towards an IPv6 peer or ICMPv6 towards an IPv4 peer matches nothing.
            PROTO_ICMP | PROTO_ICMPV6 => {}
            p => self.set_all(p as u8),
        }
    }

    fn union(&mut self, other: &PortSetSpec) {
        for (a, b) in self.all_ports.iter_mut().zip(other.all_ports) {
            *a |= b;
        }
        for (a, b) in self.lists.iter_mut().zip(&other.lists) {
            a.extend_from_slice(b);
        }
    }

    /// Sorts and merges ranges; drops lists of protocols already open on every port.
    fn normalize(&mut self, fam: usize) {
        let icmp = if fam == FAM_V4 {
            PROTO_ICMP
        } else {
            PROTO_ICMPV6
        } as u8;
        for (list, proto) in [
            (LIST_TCP, PROTO_TCP as u8),
            (LIST_UDP, PROTO_UDP as u8),
            (LIST_ICMP, icmp),
        ] {
            let ranges = &mut self.lists[list];
            if self.all_ports[(proto >> 5) as usize] & (1 << (proto & 31)) != 0 {
                ranges.clear();
                continue;
            }
            ranges.sort_unstable();
            let mut merged: Vec<(u16, u16)> = Vec::with_capacity(ranges.len());
            for &(lo, hi) in ranges.iter() {
                match merged.last_mut() {
                    Some(last) if lo as u32 <= last.1 as u32 + 1 => last.1 = last.1.max(hi),
                    _ => merged.push((lo, hi)),
                }
            }
            *ranges = merged;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.all_ports == [0; 8] && self.lists.iter().all(Vec::is_empty)
    }

    /// Whether a packet of `proto` to destination port (ICMP: `type << 8 | code`) `port` is
    /// allowed, the way the datapath decides it.
    pub fn allows(&self, proto: u8, port: u16, fam: usize) -> bool {
        if self.all(proto) {
            return true;
        }
        let icmp = if fam == FAM_V4 {
            PROTO_ICMP
        } else {
            PROTO_ICMPV6
        } as u8;
        let list = match proto {
            p if p == PROTO_TCP as u8 => LIST_TCP,
            p if p == PROTO_UDP as u8 => LIST_UDP,
            p if p == icmp => LIST_ICMP,
            _ => return false,
        };
        self.lists[list]
            .iter()
            .any(|&(lo, hi)| lo <= port && port <= hi)
    }

    /// The datapath's fixed-size layout.
    pub fn to_kernel(&self) -> Result<Box<PortSet>, CompileError> {
        let total: usize = self.lists.iter().map(Vec::len).sum();
        if total > MAX_RANGES {
            return Err(CompileError::TooManyRanges {
                ranges: total,
                max: MAX_RANGES,
            });
        }
        let mut set = Box::new(PortSet {
            all_ports: self.all_ports,
            ..PortSet::default()
        });
        let mut next = 0usize;
        for (i, list) in self.lists.iter().enumerate() {
            set.lists[i] = RangeList {
                start: next as u32,
                len: list.len() as u32,
            };
            for &(lo, hi) in list {
                set.ranges[next] = PortRange { lo, hi };
                next += 1;
            }
        }
        Ok(set)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("a port set needs {ranges} ranges, more than the datapath's {max}")]
    TooManyRanges { ranges: usize, max: usize },
}

/// The compiled rules of one interface.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompiledIface {
    /// `tables[direction][family]`: prefix -> index into `port_sets`, prefix closure applied.
    pub tables: [[Vec<(IpNet, usize)>; 2]; 2],
    /// Interned, normalised port sets.
    pub port_sets: Vec<PortSetSpec>,
    /// `IfaceCfg::open_to_all`: which directions allow TCP/UDP to the whole address space on
    /// every port (SG-ENF-3).
    pub open_to_all: u32,
}

impl CompiledIface {
    /// Longest-prefix lookup, as the datapath does it: the port set for a remote address.
    pub fn lookup(&self, dir: usize, addr: IpAddr) -> Option<&PortSetSpec> {
        let fam = if addr.is_ipv4() { FAM_V4 } else { FAM_V6 };
        self.tables[dir][fam]
            .iter()
            .filter(|(net, _)| net.contains(&addr))
            .max_by_key(|(net, _)| net.prefix_len())
            .map(|(_, i)| &self.port_sets[*i])
    }
}

/// Private addresses of each interface, by interface id (read from the device in instance
/// mode).
pub type Addresses = BTreeMap<String, Vec<IpAddr>>;

/// Compiles every interface of the state.
pub fn compile_all(state: &State, addrs: &Addresses) -> BTreeMap<String, CompiledIface> {
    // Group id -> member addresses (SG-RULE-4, SG-IF-3).
    let mut members: HashMap<&str, Vec<IpAddr>> = HashMap::new();
    let effective: BTreeMap<&str, Vec<String>> = state
        .interfaces
        .values()
        .map(|i| (i.id.as_str(), state.effective_groups(i)))
        .collect();
    for (iface, groups) in &effective {
        for g in groups {
            members
                .entry(g)
                .or_default()
                .extend(addrs.get(*iface).into_iter().flatten());
        }
    }
    effective
        .iter()
        .map(|(iface, groups)| {
            let rules = groups
                .iter()
                .filter_map(|g| state.groups.get(g))
                .flat_map(|g| g.rules.iter());
            let classic = state
                .interfaces
                .get(*iface)
                .is_some_and(|i| state.is_classic(&i.vpc_id));
            (
                iface.to_string(),
                compile_rules(state, rules, &members, classic),
            )
        })
        .collect()
}

fn compile_rules<'a>(
    state: &State,
    rules: impl Iterator<Item = &'a Rule>,
    members: &HashMap<&str, Vec<IpAddr>>,
    classic: bool,
) -> CompiledIface {
    // [dir][fam]: prefix -> union of the port sets of rules with exactly this prefix.
    let mut base: [[HashMap<IpNet, PortSetSpec>; 2]; 2] = Default::default();
    if classic {
        // EC2-Classic: outbound always allows everything (SG-CLASSIC).
        let all = PortSetSpec {
            all_ports: [u32::MAX; 8],
            ..Default::default()
        };
        base[DIR_OUT][FAM_V4].insert("0.0.0.0/0".parse().expect("valid"), all.clone());
        base[DIR_OUT][FAM_V6].insert("::/0".parse().expect("valid"), all);
    }
    for r in rules {
        let dir = if r.egress { DIR_OUT } else { DIR_IN };
        let nets: Vec<IpNet> = match &r.peer {
            Peer::Ipv4(n) => vec![IpNet::V4(*n)],
            Peer::Ipv6(n) => vec![IpNet::V6(*n)],
            // A stale reference (group gone) has no members and matches nothing (SG-GRP-7).
            Peer::Group(g) => members
                .get(g.as_str())
                .into_iter()
                .flatten()
                .map(|a| IpNet::from(*a))
                .collect(),
            // A prefix list expands to its entries; a missing one matches nothing.
            Peer::PrefixList(id) => state
                .prefix_lists
                .get(id)
                .into_iter()
                .flat_map(|p| p.entries.iter().map(|e| e.cidr))
                .collect(),
        };
        for net in nets {
            let fam = if matches!(net, IpNet::V4(_)) {
                FAM_V4
            } else {
                FAM_V6
            };
            base[dir][fam].entry(net).or_default().add_rule(r, fam);
        }
    }
    let mut out = CompiledIface::default();
    let mut interned: HashMap<PortSetSpec, usize> = HashMap::new();
    for dir in [DIR_IN, DIR_OUT] {
        for fam in [FAM_V4, FAM_V6] {
            let table = &base[dir][fam];
            let mut entries = Vec::with_capacity(table.len());
            for net in table.keys() {
                let mut spec = PortSetSpec::default();
                for len in 0..=net.prefix_len() {
                    if let Some(s) = table.get(&supernet(net, len)) {
                        spec.union(s);
                    }
                }
                spec.normalize(fam);
                if spec.is_empty() {
                    continue;
                }
                let next = interned.len();
                let idx = *interned.entry(spec).or_insert(next);
                entries.push((*net, idx));
            }
            entries.sort();
            // The /0 entry's port set is exactly what is allowed to/from anywhere.
            if let Some(zero) = table.keys().find(|n| n.prefix_len() == 0) {
                let mut spec = table[zero].clone();
                spec.normalize(fam);
                for (udp, proto, list) in
                    [(false, PROTO_TCP, LIST_TCP), (true, PROTO_UDP, LIST_UDP)]
                {
                    if spec.all(proto as u8) || spec.lists[list] == [(0, 65535)] {
                        out.open_to_all |= open_bit(dir as u8, fam, udp);
                    }
                }
            }
            out.tables[dir][fam] = entries;
        }
    }
    let mut sets: Vec<(usize, PortSetSpec)> = interned.into_iter().map(|(s, i)| (i, s)).collect();
    sets.sort_by_key(|(i, _)| *i);
    out.port_sets = sets.into_iter().map(|(_, s)| s).collect();
    out
}

fn supernet(net: &IpNet, len: u8) -> IpNet {
    match net {
        IpNet::V4(n) => IpNet::V4(Ipv4Net::new(n.addr(), len).expect("len <= 32").trunc()),
        IpNet::V6(n) => IpNet::V6(Ipv6Net::new(n.addr(), len).expect("len <= 128").trunc()),
    }
}

#[cfg(test)]
mod tests;
