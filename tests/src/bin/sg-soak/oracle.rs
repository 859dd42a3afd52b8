//! The oracle: the soak's own copy of the state (the model's operations applied to what the
//! driver asked of sgd) judged by the reference evaluator, plus a model of each probed flow's
//! conntrack entry (SG-ENF-1..7): created by a packet the rules admit when the flow is
//! tracked, refreshed by every packet it admits, dead when idle past its timeout (the
//! interface's timeouts as they are now, as the datapath judges), and gone for good once the
//! sweeper may be sure to have removed it (dead under earlier timeouts, or its interface no
//! longer protected, for [`SURELY_SWEPT`]).
//!
//! The model knows packet times only to within a probe's duration. Where an entry's idle time
//! may lie on either side of its timeout (within [`SLACK`]), the probe is indeterminate:
//! counted apart, never as a verdict (the documented window of `docs/design.md`, "Soak").

use std::{
    collections::BTreeMap,
    net::IpAddr,
    time::{Duration, Instant},
};

use sg_userspace::{
    eval::{self, Conntrack, Direction, Packet},
    testkit::World,
};

/// How far apart the model's idea of an entry's idle time and the kernel's may be, beyond
/// the probes' own durations (coarse clock, delayed ACKs, scheduling).
pub const SLACK: Duration = Duration::from_secs(2);

/// An interface's timeouts, seconds (SG-IF-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: u32,
    pub udp_stream: u32,
    pub udp: u32,
}

impl Timeouts {
    pub const DEFAULT: Self = Self {
        tcp: 432_000,
        udp_stream: 180,
        udp: 30,
    };
}

/// The fixed ICMP echo timeout (SG-ENF-6).
const ICMP_TIMEOUT_S: u32 = 30;

/// What the driver has made of sgd, as the model's operations see it.
pub struct Model {
    pub world: World,
    /// Each interface's timeouts since when (defaults when never set, or since it was
    /// forgotten).
    pub timeouts: BTreeMap<String, Vec<(Instant, Timeouts)>>,
    /// When each interface stopped being protected (`delete-network-interface`) and when it
    /// was protected again: sgd's sweeper removes the flows of an interface it no longer
    /// protects (`Datapath::sweep`).
    pub forgotten: BTreeMap<String, Vec<(Instant, Option<Instant>)>>,
}

/// An entry dead this long (idle past its timeout, or of an interface no longer protected)
/// has surely been swept: sgd sweeps every 5 s, and a restart in between (10 to 30 s on a
/// busy machine) delays that. Until then a dead entry may come back to life (its interface
/// protected again, its timeout raised).
pub const SURELY_SWEPT: Duration = Duration::from_secs(60);

impl Model {
    /// `iface` is no longer protected.
    pub fn forget(&mut self, iface: &str) {
        self.set_timeouts(iface, Timeouts::DEFAULT);
        self.forgotten
            .entry(iface.into())
            .or_default()
            .push((Instant::now(), None));
    }

    /// `iface` is protected (again).
    pub fn protected(&mut self, iface: &str) {
        if let Some((_, back @ None)) = self.forgotten.get_mut(iface).and_then(|f| f.last_mut()) {
            *back = Some(Instant::now());
        }
    }

    /// Whether the sweeper removed an entry made at `made` on `iface` while the interface was
    /// unprotected: `None` when it may or may not have.
    fn swept(&self, iface: &str, made: Instant) -> Option<bool> {
        let mut swept = Some(false);
        for &(gone, back) in self.forgotten.get(iface).into_iter().flatten() {
            if gone < made {
                continue;
            }
            match back {
                Some(back) if back - gone >= SURELY_SWEPT => return Some(true),
                _ => swept = None,
            }
        }
        swept
    }

    pub fn set_timeouts(&mut self, iface: &str, t: Timeouts) {
        self.timeouts
            .entry(iface.into())
            .or_default()
            .push((Instant::now(), t));
    }

    pub fn timeouts(&self, iface: &str) -> Timeouts {
        self.history(iface)
            .last()
            .map_or(Timeouts::DEFAULT, |&(_, t)| t)
    }

    fn history(&self, iface: &str) -> &[(Instant, Timeouts)] {
        self.timeouts.get(iface).map_or(&[], Vec::as_slice)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
    /// ICMP echo over IPv4, ICMPv6 echo over IPv6.
    Echo,
}

/// What the model knows of a flow's entry.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The last packet that refreshed it passed within this window.
    seen: (Instant, Instant),
    last_dir: Direction,
    turns: u8,
    /// More direction changes may have happened than counted (a datagram was sent again).
    turns_unsure: bool,
    /// When the entry was made (by a packet sent by then).
    made: Instant,
    /// The sgd run (0, 1, ... after each restart) in which the entry was made.
    pub life: u32,
}

impl Entry {
    /// The entry with times in seconds since `start`.
    pub fn describe(&self, start: Instant) -> String {
        let s = |t: Instant| t.saturating_duration_since(start).as_secs_f64();
        format!(
            "seen +{:.1}..{:.1} s, turns {}{}, made in run {}",
            s(self.seen.0),
            s(self.seen.1),
            self.turns,
            if self.turns_unsure { "+" } else { "" },
            self.life
        )
    }
}

/// One flow (5-tuple) as the instance sees it.
#[derive(Clone, Debug)]
pub struct Flow {
    pub iface: String,
    pub proto: Proto,
    /// The instance's address and port (TCP/UDP); the peer's.
    pub local: IpAddr,
    pub local_port: u16,
    pub remote: IpAddr,
    pub remote_port: u16,
    /// The side that opened the flow (TCP, UDP) or sends the echo requests.
    pub opener: Direction,
    /// ICMP echo identifier.
    pub echo_id: u16,
    pub entry: Option<Entry>,
    /// What the last exchanges exercised (taken by [`Flow::take_notes`]).
    pub notes: Notes,
}

/// What an exchange exercised, beyond its verdict.
#[derive(Clone, Copy, Debug, Default)]
pub struct Notes {
    /// A packet passed by its live entry that the rules alone would have refused (SG-ENF-1,
    /// SG-ENF-2).
    pub tracked_past_rules: bool,
    /// An entry was dead by its timeout (SG-ENF-6, SG-ENF-7).
    pub expired: bool,
    /// A packet of a flow without an entry was judged by the rules alone (an untracked flow,
    /// or one whose entry expired).
    pub judged_alone: bool,
}

/// The model's verdict on one packet, or on a whole exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judged {
    Pass,
    Drop,
    /// An entry's idle time is within the slack of its timeout: either may happen.
    Unsure,
}

fn reverse(d: Direction) -> Direction {
    match d {
        Direction::Inbound => Direction::Outbound,
        Direction::Outbound => Direction::Inbound,
    }
}

impl Flow {
    fn packet(&self, dir: Direction, syn: bool) -> Packet {
        let (src, dst, sport, dport) = match dir {
            Direction::Inbound => (self.remote, self.local, self.remote_port, self.local_port),
            Direction::Outbound => (self.local, self.remote, self.local_port, self.remote_port),
        };
        let v4 = self.local.is_ipv4();
        let (protocol, src_port, dst_port, icmp_type) = match self.proto {
            Proto::Tcp => (6, sport, dport, 0),
            Proto::Udp => (17, sport, dport, 0),
            Proto::Echo => {
                let request = dir == self.opener;
                let t = match (v4, request) {
                    (true, true) => 8,
                    (true, false) => 0,
                    (false, true) => 128,
                    (false, false) => 129,
                };
                (if v4 { 1 } else { 58 }, self.echo_id, 0, t)
            }
        };
        Packet {
            iface: self.iface.clone(),
            direction: dir,
            src,
            dst,
            protocol,
            src_port,
            dst_port,
            tcp_syn: syn,
            icmp_type,
            icmp_code: 0,
            nd: None,
        }
    }

    /// An entry's timeout under `t`, at least and at most (seconds).
    fn bounds(proto: Proto, e: &Entry, t: Timeouts) -> (u32, u32) {
        match proto {
            // Entries the soak keeps are established (the handshake completes in the probe
            // that opens them).
            Proto::Tcp => (t.tcp, t.tcp),
            Proto::Udp if e.turns >= 2 => (t.udp_stream, t.udp_stream),
            Proto::Udp if e.turns_unsure => (t.udp, t.udp_stream),
            Proto::Udp => (t.udp, t.udp),
            Proto::Echo => (ICMP_TIMEOUT_S, ICMP_TIMEOUT_S),
        }
    }

    /// Whether the entry is alive for packets sent within `at`, given the interface's
    /// timeouts over time: `None` when that depends on times the model does not know closely
    /// enough. An entry that expired under earlier timeouts is gone for good once swept,
    /// even if they were raised since.
    fn alive(
        proto: Proto,
        e: &Entry,
        history: &[(Instant, Timeouts)],
        at: (Instant, Instant),
    ) -> Option<bool> {
        let secs = |s: u32| Duration::from_secs(s.into());
        let mut in_force = history
            .iter()
            .rev()
            .find(|(since, _)| *since <= e.seen.0)
            .map_or(Timeouts::DEFAULT, |&(_, t)| t);
        for &(changed, next) in history.iter().filter(|(since, _)| *since > e.seen.0) {
            let (lo, hi) = Self::bounds(proto, e, in_force);
            if changed.saturating_duration_since(e.seen.0) + SLACK < secs(lo) {
                in_force = next;
                continue;
            }
            if changed.saturating_duration_since(e.seen.1) > secs(hi) + SLACK + SURELY_SWEPT {
                return Some(false);
            }
            return None;
        }
        let (lo, hi) = Self::bounds(proto, e, in_force);
        let idle_min = at.0.saturating_duration_since(e.seen.1);
        let idle_max = at.1.saturating_duration_since(e.seen.0);
        if idle_max + SLACK < secs(lo) {
            Some(true)
        } else if idle_min > secs(hi) + SLACK {
            Some(false)
        } else {
            None
        }
    }

    /// The verdict on a packet of direction `dir` sent within `at`, and what it does to the
    /// entry: the reference evaluator for the rules, the entry model for tracking.
    pub fn step(
        &mut self,
        m: &Model,
        dir: Direction,
        syn: bool,
        at: (Instant, Instant),
        life: u32,
    ) -> Judged {
        if !m.world.state.interfaces.contains_key(&self.iface) {
            // Not protected: nothing filters, nothing tracks.
            return Judged::Pass;
        }
        let (proto, timeouts) = (self.proto, m.history(&self.iface));
        if let Some(e) = &mut self.entry {
            let alive = match m.swept(&self.iface, e.made) {
                Some(false) => Self::alive(proto, e, timeouts, at),
                Some(true) => Some(false),
                None => None,
            };
            match alive {
                Some(true) => {
                    let p = self.packet(dir, syn);
                    if !eval::evaluate(&m.world.state, &m.world.addrs, &p, Conntrack::default())
                        .allows()
                    {
                        self.notes.tracked_past_rules = true;
                    }
                    let Some(e) = &mut self.entry else {
                        unreachable!("the entry just checked")
                    };
                    e.seen = at;
                    if e.last_dir != dir {
                        e.last_dir = dir;
                        e.turns = e.turns.saturating_add(1);
                    }
                    return Judged::Pass;
                }
                None => return Judged::Unsure,
                Some(false) => {
                    self.notes.expired = true;
                    self.entry = None;
                }
            }
        } else {
            self.notes.judged_alone = true;
        }
        let p = self.packet(dir, syn);
        let verdict = eval::evaluate(&m.world.state, &m.world.addrs, &p, Conntrack::default());
        if !verdict.allows() {
            return Judged::Drop;
        }
        if eval::tracked(&m.world.state, &p) {
            self.entry = Some(Entry {
                seen: at,
                last_dir: dir,
                turns: 0,
                turns_unsure: false,
                made: at.1,
                life,
            });
        }
        Judged::Pass
    }

    /// The verdict on an exchange: the packets of `dirs` in turn (the first a SYN if `syn`),
    /// each given only if the one before passed.
    pub fn exchange(
        &mut self,
        m: &Model,
        syn: bool,
        dirs: &[Direction],
        at: (Instant, Instant),
        life: u32,
    ) -> Judged {
        for (i, d) in dirs.iter().enumerate() {
            match self.step(m, *d, syn && i == 0, at, life) {
                Judged::Pass => {}
                other => return other,
            }
        }
        Judged::Pass
    }

    /// A request and its answer, from the opener's side.
    pub fn round_trip(&self) -> [Direction; 2] {
        [self.opener, reverse(self.opener)]
    }

    /// More direction changes than counted may have happened (a datagram was sent again).
    pub fn turns_unsure(&mut self) {
        if let Some(e) = &mut self.entry {
            e.turns_unsure = true;
        }
    }

    pub fn take_notes(&mut self) -> Notes {
        std::mem::take(&mut self.notes)
    }

    /// The run of sgd the entry was made in, if the model says it is there.
    pub fn entry_life(&self) -> Option<u32> {
        self.entry.as_ref().map(|e| e.life)
    }
}
