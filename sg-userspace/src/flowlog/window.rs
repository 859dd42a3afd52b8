//! From the kernel's counters to flow-log records. Pure: the daemon reads the maps (each
//! tick, a few seconds apart) and hands their contents here as [`AggIn`] and [`FlowIn`].
//!
//! Two sources, never counted twice:
//! - Tracked flows: the conntrack entry counts every packet of the flow, by direction
//!   (`CtValue::packets`), and remembers the TCP flags each side sent. Each tick the growth
//!   since the last becomes the flow's traffic, accepted.
//! - The decisions of the rules (`FLOW_AGG`): rejected packets, and every packet of an
//!   untracked flow. The packet that opened a tracked flow is a decision too; it is already
//!   in the entry's counts, so that one decision (once per flow) is taken as read.
//!
//! Ticks come more often than the shortest idle timeout of a tracked flow (10 s), so the
//! last packets of a flow are read before its entry can expire and be swept.
//!
//! [`Deltas::tick`] turns one reading into [`Delta`]s; each flow log's [`Sink`] adds those
//! of its interfaces and, at the end of its capture window, yields its records.

use std::{
    collections::{HashMap, HashSet},
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use sg_common::{
    conntrack::CtKey,
    dir::INBOUND,
    events::AggKey,
    stats::{DROP_CT_FULL, DROP_NO_RULE, DROP_SPOOFED, PASS_RULE},
};

use super::format::{FlowFields, Record, Status};

/// One `FLOW_AGG` entry, its times in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggIn {
    pub key: AggKey,
    pub packets: u64,
    pub bytes: u64,
    /// The packets' TCP flags as flow logs record them, OR-ed.
    pub tcp_flags: u8,
    pub first: u64,
    pub last: u64,
    /// The entry's creation on the maps' clock: tells an entry from one the kernel dropped
    /// and made again under the same key.
    pub first_ns: u64,
    /// Some CPU holds counts of it not yet in the entry (it must not be deleted).
    pub pending: bool,
}

/// One live tracked flow, with the counts other CPUs have not yet added to its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowIn {
    pub key: CtKey,
    pub serial: u32,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// `TcpSide::seen` by direction.
    pub tcp_seen: [u8; 2],
    /// The direction of the packet that opened it (the rules' decision on it is in
    /// `FLOW_AGG` too).
    pub origin: u8,
    /// Unix seconds of the last packet.
    pub last: u64,
}

/// What a record is about: one flow, one direction, one verdict (and why), on one interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey {
    pub ifindex: u32,
    pub ingress: bool,
    pub protocol: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub accepted: bool,
    /// Refused: the reason code (`sg_common::stats`), and whether audit mode passed it.
    pub reason: u32,
    pub audit: bool,
}

/// Traffic of one [`RecordKey`] since the last tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub key: RecordKey,
    pub packets: u64,
    pub bytes: u64,
    /// As flow logs record them.
    pub tcp_flags: u8,
    pub first: u64,
    pub last: u64,
}

fn addr(family: u8, b: [u8; 16]) -> IpAddr {
    if family == 4 {
        IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(b))
    }
}

/// The record key of a flow's packets in direction `dir`, `accepted` or refused for `reason`.
fn record_key(k: &CtKey, dir: u8, accepted: bool, reason: u32, audit: bool) -> RecordKey {
    let (local, remote) = (addr(k.family, k.local), addr(k.family, k.remote));
    let ingress = dir == INBOUND;
    // An echo flow's key holds its identifier and pinger, not ports: AWS writes 0 for ICMP.
    let icmp = k.proto == 1 || k.proto == 58;
    let (lp, rp) = if icmp {
        (0, 0)
    } else {
        (k.local_port, k.remote_port)
    };
    let (src, dst, src_port, dst_port) = if ingress {
        (remote, local, rp, lp)
    } else {
        (local, remote, lp, rp)
    };
    RecordKey {
        ifindex: k.ifindex,
        ingress,
        protocol: k.proto,
        src,
        dst,
        src_port,
        dst_port,
        accepted,
        reason,
        audit,
    }
}

/// What was last read of a tracked flow.
#[derive(Debug, Clone, Copy)]
struct FlowSeen {
    serial: u32,
    packets: [u64; 2],
    bytes: [u64; 2],
    tcp_seen: [u8; 2],
}

/// What was last read of a `FLOW_AGG` entry, and how many ticks it has been idle.
#[derive(Debug, Clone, Copy)]
struct AggSeen {
    first_ns: u64,
    packets: u64,
    bytes: u64,
    idle: u32,
}

/// An entry idle this many ticks and this many seconds, with everything read and nothing
/// pending on any CPU, is removed from `FLOW_AGG`.
pub const IDLE_TICKS: u32 = 3;
pub const IDLE_S: u64 = 10;

/// How many flows `FLOW_AGG` took in for an interface since it was covered, and how many
/// new entries the readings found: fewer found means the LRU dropped some unread.
#[derive(Debug, Clone, Copy, Default)]
struct Intake {
    base: u64,
    found: u64,
}

/// The readings so far, to take differences from.
#[derive(Debug, Default)]
pub struct Deltas {
    flows: HashMap<CtKey, FlowSeen>,
    aggs: HashMap<AggKey, AggSeen>,
    /// Tracked flows whose opening decision was taken as read, by the serial of the flow.
    opened: HashMap<CtKey, u32>,
    intake: HashMap<u32, Intake>,
    /// Unix seconds of the last tick.
    last_tick: u64,
}

/// One tick's result.
#[derive(Debug, Default)]
pub struct Tick {
    pub deltas: Vec<Delta>,
    /// Interfaces some of whose flows the kernel dropped from `FLOW_AGG` before they were
    /// read: their windows are `SKIPDATA`.
    pub skipped: HashSet<u32>,
    /// `FLOW_AGG` entries read to the end and idle: to delete.
    pub stale: Vec<AggKey>,
}

impl Deltas {
    /// One reading of the maps (only the interfaces flow logs cover), at Unix second `now`.
    /// The readings of the interfaces in `fresh` (newly covered) are baselines: what they
    /// counted before (for a tracked flow, before a restart) belongs to no window here.
    ///
    /// A reading may be a moment low (counts moving between a CPU's pending copy and the
    /// entry as it is read): the highest reading stands, so nothing is counted twice.
    pub fn tick(
        &mut self,
        aggs: &[AggIn],
        flows: &[FlowIn],
        inserted: &HashMap<u32, u64>,
        now: u64,
        fresh: &HashSet<u32>,
    ) -> Tick {
        let mut out = Tick::default();
        let since = self.last_tick.min(now);
        // Tracked flows: the growth of each direction's counts.
        let mut live = HashMap::with_capacity(flows.len());
        for f in flows {
            let first = fresh.contains(&f.key.ifindex);
            let before = self
                .flows
                .get(&f.key)
                .filter(|s| s.serial == f.serial)
                .copied()
                .unwrap_or(FlowSeen {
                    serial: f.serial,
                    packets: [0; 2],
                    bytes: [0; 2],
                    tcp_seen: [0; 2],
                });
            let mut seen = before;
            for d in 0..2 {
                seen.packets[d] = before.packets[d].max(f.packets[d]);
                seen.bytes[d] = before.bytes[d].max(f.bytes[d]);
                seen.tcp_seen[d] = before.tcp_seen[d] | f.tcp_seen[d];
                let packets = f.packets[d].saturating_sub(before.packets[d]);
                if packets == 0 || first {
                    continue;
                }
                let flags = if f.key.proto == 6 {
                    f.tcp_seen[d] & !before.tcp_seen[d]
                } else {
                    0
                };
                out.deltas.push(Delta {
                    key: record_key(&f.key, d as u8, true, PASS_RULE, false),
                    packets,
                    bytes: f.bytes[d].saturating_sub(before.bytes[d]),
                    tcp_flags: flags,
                    first: since.max(1).min(f.last),
                    last: f.last,
                });
            }
            if first {
                // Its opening decision (if still in `FLOW_AGG`) belongs to the baseline too.
                self.opened.insert(f.key, f.serial);
            }
            live.insert(f.key, seen);
        }
        self.flows = live;
        let tracked: HashMap<&CtKey, &FlowIn> = flows.iter().map(|f| (&f.key, f)).collect();
        self.opened.retain(|k, _| tracked.contains_key(k));
        // The decisions of the rules.
        let mut found: HashMap<u32, u64> = HashMap::new();
        let mut seen = HashMap::with_capacity(aggs.len());
        for a in aggs {
            let ifindex = a.key.flow.ifindex;
            let first = fresh.contains(&ifindex);
            let before = self
                .aggs
                .get(&a.key)
                .copied()
                .filter(|b| b.first_ns == a.first_ns);
            if before.is_none() {
                *found.entry(ifindex).or_default() += 1;
            }
            let before = before.unwrap_or(AggSeen {
                first_ns: a.first_ns,
                packets: 0,
                bytes: 0,
                idle: 0,
            });
            let mut packets = a.packets.saturating_sub(before.packets);
            let mut bytes = a.bytes.saturating_sub(before.bytes);
            let accepted = u32::from(a.key.reason) == PASS_RULE;
            // The decision that opened a tracked flow: its entry counts that packet. Only
            // one per flow: other packets the rules judged (a SYN foreign to the connection,
            // a segment outside its window) passed without the entry counting them.
            if accepted
                && packets > 0
                && let Some(f) = tracked.get(&a.key.flow)
                && f.origin == a.key.dir
                && self.opened.get(&a.key.flow) != Some(&f.serial)
            {
                self.opened.insert(a.key.flow, f.serial);
                bytes -= bytes / packets;
                packets -= 1;
            }
            if packets > 0 && !first {
                out.deltas.push(Delta {
                    key: record_key(
                        &a.key.flow,
                        a.key.dir,
                        accepted,
                        u32::from(a.key.reason),
                        a.key.audit != 0,
                    ),
                    packets,
                    bytes,
                    tcp_flags: if a.key.flow.proto == 6 {
                        a.tcp_flags
                    } else {
                        0
                    },
                    first: if before.packets == 0 {
                        a.first
                    } else {
                        since.max(a.first).min(a.last)
                    },
                    last: a.last,
                });
            }
            let grew = a.packets > before.packets;
            let idle = if grew { 0 } else { before.idle + 1 };
            if idle >= IDLE_TICKS && !a.pending && now.saturating_sub(a.last) >= IDLE_S {
                out.stale.push(a.key);
                continue;
            }
            seen.insert(
                a.key,
                AggSeen {
                    first_ns: a.first_ns,
                    packets: before.packets.max(a.packets),
                    bytes: before.bytes.max(a.bytes),
                    idle,
                },
            );
        }
        self.aggs = seen;
        // Flows the kernel took in that no reading found: dropped unread.
        for (ifindex, n) in inserted {
            let intake = self.intake.entry(*ifindex).or_default();
            if fresh.contains(ifindex) {
                *intake = Intake { base: *n, found: 0 };
                continue;
            }
            intake.found += found.get(ifindex).copied().unwrap_or(0);
            let taken = n.saturating_sub(intake.base);
            if taken > intake.found {
                out.skipped.insert(*ifindex);
                intake.found = taken;
            }
        }
        self.last_tick = now;
        out
    }

    /// Forgets an interface's readings (it is no longer covered): a later reading starts it
    /// afresh.
    pub fn forget(&mut self, ifindex: u32) {
        self.flows.retain(|k, _| k.ifindex != ifindex);
        self.aggs.retain(|k, _| k.flow.ifindex != ifindex);
        self.opened.retain(|k, _| k.ifindex != ifindex);
        self.intake.remove(&ifindex);
    }
}

/// What a record knows of its interface when it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub interface_id: String,
    pub vpc_id: String,
    pub account_id: String,
    pub region: String,
    /// Its private addresses, the first of each family its primary.
    pub addresses: Vec<IpAddr>,
    /// Bytes of link-layer header in each packet as the datapath counted it (14 on
    /// Ethernet): taken off, since records count IP packets.
    pub link_header: u64,
}

/// Which records a flow log keeps (`TrafficType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    Accept,
    Reject,
    All,
}

impl Traffic {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ACCEPT" => Some(Self::Accept),
            "REJECT" => Some(Self::Reject),
            "ALL" => Some(Self::All),
            _ => None,
        }
    }

    fn keeps(self, accepted: bool) -> bool {
        match self {
            Self::Accept => accepted,
            Self::Reject => !accepted,
            Self::All => true,
        }
    }
}

#[derive(Debug, Clone)]
struct Acc {
    packets: u64,
    bytes: u64,
    tcp_flags: u8,
    first: u64,
    last: u64,
}

/// One flow log's capture window: what it has gathered since the window opened.
#[derive(Debug)]
pub struct Sink {
    pub traffic: Traffic,
    /// Seconds.
    pub interval: u64,
    /// Unix second the window opened.
    pub start: u64,
    acc: HashMap<RecordKey, Acc>,
    skipped: HashSet<u32>,
}

impl Sink {
    pub fn new(traffic: Traffic, interval: u64, now: u64) -> Self {
        Self {
            traffic,
            interval,
            start: now,
            acc: HashMap::new(),
            skipped: HashSet::new(),
        }
    }

    /// Adds a tick's traffic on the interfaces this flow log covers.
    pub fn add(&mut self, tick: &Tick, covered: &HashSet<u32>) {
        for d in &tick.deltas {
            if !covered.contains(&d.key.ifindex) || !self.traffic.keeps(d.key.accepted) {
                continue;
            }
            let a = self.acc.entry(d.key.clone()).or_insert(Acc {
                packets: 0,
                bytes: 0,
                tcp_flags: 0,
                first: d.first,
                last: d.last,
            });
            a.packets += d.packets;
            a.bytes += d.bytes;
            a.tcp_flags |= d.tcp_flags;
            a.first = a.first.min(d.first);
            a.last = a.last.max(d.last);
        }
        self.skipped
            .extend(tick.skipped.iter().filter(|i| covered.contains(i)));
    }

    /// Marks the window of every covered interface as having lost records.
    pub fn skip(&mut self, covered: &HashSet<u32>) {
        self.skipped.extend(covered);
    }

    /// Whether the window is over at Unix second `now`.
    pub fn due(&self, now: u64) -> bool {
        now >= self.start + self.interval
    }

    /// Closes the window at `now` and opens the next: the records of every covered
    /// interface (`info` names them; an interface it cannot name is left out), in a stable
    /// order; `NODATA` for an interface without traffic, `SKIPDATA` for one that lost some.
    pub fn close(
        &mut self,
        now: u64,
        covered: &HashSet<u32>,
        info: &dyn Fn(u32) -> Option<InterfaceInfo>,
    ) -> Vec<Record> {
        let start = self.start;
        self.start = now;
        let acc = std::mem::take(&mut self.acc);
        let skipped = std::mem::take(&mut self.skipped);
        let mut keys: Vec<&RecordKey> = acc.keys().collect();
        keys.sort();
        let mut ifaces: Vec<u32> = covered.iter().copied().collect();
        ifaces.sort_unstable();
        let mut out = Vec::new();
        for ifindex in ifaces {
            let Some(i) = info(ifindex) else { continue };
            let window = |status| Record {
                interface_id: i.interface_id.clone(),
                account_id: i.account_id.clone(),
                vpc_id: i.vpc_id.clone(),
                region: i.region.clone(),
                start,
                end: now,
                status,
                flow: None,
            };
            if skipped.contains(&ifindex) {
                out.push(window(Status::SkipData));
            }
            let mine: Vec<&&RecordKey> = keys.iter().filter(|k| k.ifindex == ifindex).collect();
            if mine.is_empty() && !skipped.contains(&ifindex) {
                out.push(window(Status::NoData));
            }
            for k in mine {
                let a = &acc[*k];
                out.push(Record {
                    start: a.first.max(start).min(now),
                    end: a.last.max(a.first).max(start).min(now),
                    status: Status::Ok,
                    flow: Some(fields(k, a, &i)),
                    ..window(Status::Ok)
                });
            }
        }
        out
    }
}

/// The interface's own address standing for `pkt` (AWS: srcaddr of outbound traffic and
/// dstaddr of inbound are the interface's private address): `pkt` if it is one, else the
/// primary of its family, else `pkt`.
fn own(addresses: &[IpAddr], pkt: IpAddr) -> IpAddr {
    if addresses.contains(&pkt) {
        return pkt;
    }
    addresses
        .iter()
        .find(|a| a.is_ipv4() == pkt.is_ipv4())
        .copied()
        .unwrap_or(pkt)
}

fn fields(k: &RecordKey, a: &Acc, i: &InterfaceInfo) -> FlowFields {
    let (srcaddr, dstaddr) = if k.ingress {
        (k.src, own(&i.addresses, k.dst))
    } else {
        (own(&i.addresses, k.src), k.dst)
    };
    FlowFields {
        srcaddr,
        dstaddr,
        pkt_srcaddr: k.src,
        pkt_dstaddr: k.dst,
        srcport: k.src_port,
        dstport: k.dst_port,
        protocol: k.protocol,
        packets: a.packets,
        bytes: a.bytes.saturating_sub(a.packets * i.link_header),
        accepted: k.accepted,
        ingress: k.ingress,
        tcp_flags: a.tcp_flags,
        reject_reason: (!k.accepted).then(|| {
            let code = reason_code(k.reason);
            if k.audit {
                format!("audit:{code}")
            } else {
                code.to_owned()
            }
        }),
    }
}

/// The reason code of a refusal (as `explain` and `observe` name them).
pub fn reason_code(reason: u32) -> &'static str {
    match reason {
        DROP_NO_RULE => "NoRule",
        DROP_SPOOFED => "SourceDestCheck",
        DROP_CT_FULL => "ConntrackAllowanceExceeded",
        _ => "Other",
    }
}

#[cfg(test)]
mod tests;
