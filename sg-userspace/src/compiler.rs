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
use sg_common::rule::{
    LIST_ICMP, LIST_TCP, LIST_UDP, MAX_RANGES, PortRange, PortSet, PortSetN, RangeList,
};

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
        self.to_kernel_sized()
    }

    /// Number of ranges (the kernel layout needs a set with room for them).
    pub fn ranges(&self) -> usize {
        self.lists.iter().map(Vec::len).sum()
    }

    /// The datapath's layout with room for `N` ranges.
    pub fn to_kernel_sized<const N: usize>(&self) -> Result<Box<PortSetN<N>>, CompileError> {
        let total = self.ranges();
        if total > N {
            return Err(CompileError::TooManyRanges {
                ranges: total,
                max: N,
            });
        }
        let mut set = Box::new(PortSetN::<N> {
            all_ports: self.all_ports,
            ..PortSetN::default()
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
    /// The ids of the interface's rules, in order; `credits` index into it.
    pub rule_ids: Vec<String>,
    /// `credits[direction][family][i]`, for entry `i` of `tables`: (element of its port set's
    /// kernel layout, index of the rule credited with traffic it admits) (SG-ENF-12).
    pub credits: [[Vec<Credits>; 2]; 2],
}

/// (element of a port set's kernel layout, index into `CompiledIface::rule_ids`) pairs.
pub type Credits = Vec<(u32, u32)>;

/// Credit index of traffic no rule admits explicitly (EC2-Classic's implicit outbound).
pub const NO_RULE: u32 = u32::MAX;

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

/// A hash map with a fast (non-cryptographic) hasher, for the compiler's and datapath
/// writer's hot maps.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Compiles every interface of the state.
pub fn compile_all(state: &State, addrs: &Addresses) -> BTreeMap<String, CompiledIface> {
    compile_some(state, addrs, &|_| true)
}

/// [`compile_all`] for the interfaces `wanted` selects only (a fleet host's own): members
/// are still every interface's.
pub fn compile_some(
    state: &State,
    addrs: &Addresses,
    wanted: &dyn Fn(&str) -> bool,
) -> BTreeMap<String, CompiledIface> {
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
        .filter(|(iface, _)| wanted(iface))
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

/// A rule as it applies under one prefix: its place in the rule order and its own CIDR's
/// length. When rules overlap, the most specific CIDR (then the first rule) is credited with
/// the traffic.
#[derive(Clone, Copy)]
struct Contrib<'a> {
    /// `None`: EC2-Classic's implicit allow-all outbound.
    rule: Option<&'a Rule>,
    order: u32,
    cidr_len: u8,
}

impl Contrib<'_> {
    /// Sort key: smaller is better (longer CIDR, then earlier rule).
    fn rank(&self) -> (std::cmp::Reverse<u8>, u32) {
        (std::cmp::Reverse(self.cidr_len), self.order)
    }
}

fn best<'a>(a: Option<Contrib<'a>>, b: Contrib<'a>) -> Option<Contrib<'a>> {
    match a {
        Some(a) if a.rank() <= b.rank() => Some(a),
        _ => Some(b),
    }
}

/// Splits overlapping ranges into intervals each credited to its best contributor; adjacent
/// intervals credited to the same rule are joined.
fn intervals(ranges: &[(u16, u16, Contrib<'_>)]) -> Vec<(u16, u16, u32)> {
    let mut events: Vec<(u32, bool, usize)> = Vec::with_capacity(ranges.len() * 2);
    for (i, (lo, hi, _)) in ranges.iter().enumerate() {
        events.push((*lo as u32, true, i));
        events.push((*hi as u32 + 1, false, i));
    }
    events.sort_unstable();
    let mut active: std::collections::BTreeMap<((std::cmp::Reverse<u8>, u32), usize), ()> =
        Default::default();
    let mut out: Vec<(u16, u16, u32)> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let pos = events[i].0;
        while i < events.len() && events[i].0 == pos {
            let (_, start, r) = events[i];
            let key = (ranges[r].2.rank(), r);
            if start {
                active.insert(key, ());
            } else {
                active.remove(&key);
            }
            i += 1;
        }
        let (Some(((_, _), r)), Some(&(next, _, _))) =
            (active.keys().next().copied(), events.get(i))
        else {
            continue;
        };
        let order = ranges[r].2.order;
        let (lo, hi) = (pos as u16, (next - 1) as u16);
        match out.last_mut() {
            Some(last) if last.2 == order && last.1 as u32 + 1 == pos => last.1 = hi,
            _ => out.push((lo, hi, order)),
        }
    }
    out
}

/// The port set of one prefix from the rules covering it, and which rule each element of its
/// kernel layout (ranges in list order, then `MAX_RANGES + protocol`) is credited to.
fn build_set(contribs: &[Contrib<'_>], fam: usize) -> (PortSetSpec, Vec<(u32, u32)>) {
    let icmp = if fam == FAM_V4 {
        PROTO_ICMP
    } else {
        PROTO_ICMPV6
    };
    let mut all: [Option<Contrib<'_>>; 256] = [None; 256];
    let mut ranges: [Vec<(u16, u16, Contrib<'_>)>; 3] = Default::default();
    for c in contribs {
        let Some(r) = c.rule else {
            for a in all.iter_mut() {
                *a = best(*a, *c);
            }
            continue;
        };
        match r.protocol {
            PROTO_ALL => {
                for a in all.iter_mut() {
                    *a = best(*a, *c);
                }
            }
            PROTO_TCP | PROTO_UDP => {
                let list = if r.protocol == PROTO_TCP {
                    LIST_TCP
                } else {
                    LIST_UDP
                };
                let (f, t) = (r.from_port.unwrap_or(0), r.to_port.unwrap_or(65535));
                ranges[list].push((f as u16, t as u16, *c));
            }
            p if p == icmp => {
                let (t, code) = (r.from_port.unwrap_or(-1), r.to_port.unwrap_or(-1));
                let (lo, hi) = match (t, code) {
                    (-1, _) => (0, 0xffff),
                    (t, -1) => ((t as u16) << 8, (t as u16) << 8 | 0xff),
                    (t, code) => ((t as u16) << 8 | code as u16, (t as u16) << 8 | code as u16),
                };
                ranges[LIST_ICMP].push((lo, hi, *c));
            }
            // ICMP towards an IPv6 peer or ICMPv6 towards an IPv4 peer matches nothing.
            PROTO_ICMP | PROTO_ICMPV6 => {}
            p => all[p as usize] = best(all[p as usize], *c),
        }
    }
    let mut spec = PortSetSpec::default();
    let mut credit = Vec::new();
    for (p, c) in all.iter().enumerate() {
        if let Some(c) = c {
            spec.set_all(p as u8);
            credit.push((MAX_RANGES as u32 + p as u32, c.order));
        }
    }
    let mut next = 0u32;
    for (list, proto) in [
        (LIST_TCP, PROTO_TCP),
        (LIST_UDP, PROTO_UDP),
        (LIST_ICMP, icmp),
    ] {
        if spec.all(proto as u8) {
            continue;
        }
        for (lo, hi, order) in intervals(&ranges[list]) {
            spec.lists[list].push((lo, hi));
            credit.push((next, order));
            next += 1;
        }
    }
    (spec, credit)
}

/// Whether sorted, non-overlapping ranges cover every port.
fn covers_all(ranges: &[(u16, u16)]) -> bool {
    let mut next = 0u32;
    for &(lo, hi) in ranges {
        if lo as u32 > next {
            return false;
        }
        next = next.max(hi as u32 + 1);
    }
    next > 65535
}

fn compile_rules<'a>(
    state: &State,
    rules: impl Iterator<Item = &'a Rule>,
    members: &HashMap<&str, Vec<IpAddr>>,
    classic: bool,
) -> CompiledIface {
    let mut out = CompiledIface::default();
    // [dir][fam]: prefix -> the rules with exactly this prefix.
    // foldhash: these maps hold every member address and port set, hashed many times per
    // compile; SipHash's flooding resistance buys nothing for the daemon's own data.
    let mut base: [[FastMap<IpNet, Vec<Contrib<'a>>>; 2]; 2] = Default::default();
    if classic {
        // EC2-Classic: outbound always allows everything (SG-CLASSIC).
        let implicit = Contrib {
            rule: None,
            order: NO_RULE,
            cidr_len: 0,
        };
        base[DIR_OUT][FAM_V4].insert("0.0.0.0/0".parse().expect("valid"), vec![implicit]);
        base[DIR_OUT][FAM_V6].insert("::/0".parse().expect("valid"), vec![implicit]);
    }
    for r in rules {
        let order = out.rule_ids.len() as u32;
        out.rule_ids.push(r.id.clone());
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
            let c = Contrib {
                rule: Some(r),
                order,
                cidr_len: net.prefix_len(),
            };
            base[dir][fam].entry(net).or_default().push(c);
        }
    }
    let mut interned: FastMap<PortSetSpec, usize> = FastMap::default();
    for dir in [DIR_IN, DIR_OUT] {
        for fam in [FAM_V4, FAM_V6] {
            let table = &base[dir][fam];
            let mut entries = Vec::with_capacity(table.len());
            // The prefix lengths in use (usually a handful): only these can hold a covering
            // prefix, so the closure probes them rather than every length up to /128.
            let mut lengths: Vec<u8> = table.keys().map(IpNet::prefix_len).collect();
            lengths.sort_unstable();
            lengths.dedup();
            for net in table.keys() {
                // Prefix closure: every rule whose CIDR covers this prefix.
                let contribs: Vec<Contrib<'_>> = lengths
                    .iter()
                    .take_while(|len| **len <= net.prefix_len())
                    .filter_map(|len| table.get(&supernet(net, *len)))
                    .flatten()
                    .copied()
                    .collect();
                let (spec, credit) = build_set(&contribs, fam);
                if spec.is_empty() {
                    continue;
                }
                if net.prefix_len() == 0 {
                    // What is allowed to/from anywhere decides untracked flows (SG-ENF-3).
                    for (udp, proto, list) in
                        [(false, PROTO_TCP, LIST_TCP), (true, PROTO_UDP, LIST_UDP)]
                    {
                        if spec.all(proto as u8) || covers_all(&spec.lists[list]) {
                            out.open_to_all |= open_bit(dir as u8, fam, udp);
                        }
                    }
                }
                let next = interned.len();
                let idx = *interned.entry(spec).or_insert(next);
                entries.push((*net, idx, credit));
            }
            entries.sort_by_key(|e| (e.0, e.1));
            out.credits[dir][fam] = entries
                .iter_mut()
                .map(|e| std::mem::take(&mut e.2))
                .collect();
            out.tables[dir][fam] = entries.into_iter().map(|(n, i, _)| (n, i)).collect();
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
