//! The verdict for one packet: never-filtered traffic, then connection tracking, then the
//! compiled rules of the interface (union of all its groups, allow-only).

use aya_ebpf::{helpers::bpf_ktime_get_coarse_ns, maps::lpm_trie::Key};

use sg_common::{
    conntrack::{
        CLOCK_BASE_NS, CtKey, ECHO_PINGER_LOCAL, ECHO_PINGER_REMOTE, FRAG_TIMEOUT_S, FragKey,
        ct_hash_words, word8, word16,
    },
    dir::{INBOUND, OUTBOUND},
    family,
    iface::{AddrKey, FAST_IFINDEX, IfaceCfg, IndexEntry, MAX_IFACES, MODE_INSTANCE, open_bit},
    probe::PROBE_UNPROTECTED,
    rule::{
        LARGE_SET, LIST_ICMP, LIST_TCP, LIST_UDP, LpmV4, LpmV6, LpmValue, MAX_RANGES, PortSetN,
        RULESET_BITS, RuleHitKey, RuleHits, anywhere_bit, host_set_v4, host_set_v6, hosts_bit,
        prefixes_bit,
    },
    stats::*,
    tcp::{TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN},
};

use crate::{
    Hook, Verdict, conntrack,
    events::flow_event,
    maps::{
        AUDIT_PASSED, CFG_COPY, CT_OTHER, FRAGS, HOSTS_V4, HOSTS_V6, IFACE_ADDRS, IFACE_CFGS,
        IFACE_ENTRY, IFACE_INDEX, PORT_SETS, PORT_SETS_SMALL, PROBE_OUT, RULE_HITS, RULES_V4,
        RULES_V6, WORK, count,
    },
    parse::{
        self, FRAG_FIRST, FRAG_LATER, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, Packet, Skip,
    },
};

/// The verdict for the packet in `data..end` (the linear part of `len` bytes) seen by `hook`
/// on interface `ifindex`. `link` is `parse`'s: 0 for Ethernet framing (XDP and the Ethernet
/// TC programs), else the packet's protocol (the TC programs for IP-framed devices).
#[inline(always)]
pub fn process(data: usize, end: usize, len: u32, ifindex: u32, hook: Hook, link: u16) -> Verdict {
    // Interfaces without configuration are not ours (or are being detached): leave them alone.
    let Some(iface) = iface_entry(ifindex) else {
        return Verdict::Pass;
    };
    let dir = direction(iface, hook);
    let reason = decide(iface, data, end, len, ifindex, dir, link);
    let pass = passes(reason);
    // Audit mode: judged, counted and tracked as ever, but what would be dropped passes.
    let audited = !pass && iface.audit();
    // Flow events: the decisions of the rules (not the packets of established flows).
    if iface.events() && reason < NUM_REASONS && judged(reason) {
        flow_event(
            ifindex,
            crate::events::packed(dir, audited, iface.stats_slot()),
            // Flow records know one acceptance: the rules'.
            if reason == PASS_SYN_COOKIE {
                PASS_RULE
            } else {
                reason
            },
            len,
        );
    }
    if audited {
        let slot = iface.stats_slot();
        if slot < MAX_IFACES
            && let Some(p) = AUDIT_PASSED.get_ptr_mut(slot)
        {
            unsafe { *p += 1 };
        }
        return Verdict::Pass;
    }
    if pass { Verdict::Pass } else { Verdict::Drop }
}

/// The direction of a packet `hook` sees on the interface: arriving packets (XDP or TC
/// ingress) are the instance's inbound traffic when the firewall runs on the instance, its
/// outbound traffic on the host side.
#[inline(always)]
fn direction(iface: IndexEntry, hook: Hook) -> u8 {
    let arriving_is_inbound = iface.mode() == MODE_INSTANCE;
    if hook.arriving() == arriving_is_inbound {
        INBOUND
    } else {
        OUTBOUND
    }
}

/// `decide`'s answer for an interface whose configuration went away mid-packet: passes,
/// counted nowhere.
const UNPROTECTED: u32 = NUM_REASONS;
/// `decide`'s answer without scratch space (never happens: a per-CPU array of one).
const NO_SCRATCH: u32 = NUM_REASONS + 1;

/// Whether the reason `decide` gave passes the packet.
#[inline(always)]
fn passes(reason: u32) -> bool {
    reason == PASS_CONNTRACK
        || reason == PASS_RULE
        || reason == PASS_SYN_COOKIE
        || reason == PASS_ALWAYS
        || reason == PASS_FRAGMENT
        || reason == UNPROTECTED
}

/// Whether the rules decided (a flow event's matter): a packet they admitted, or one refused
/// for a reason a flow record can carry (not a malformed packet or a stray fragment).
#[inline(always)]
fn judged(reason: u32) -> bool {
    reason == PASS_RULE
        || reason == PASS_SYN_COOKIE
        || reason == DROP_NO_RULE
        || reason == DROP_SPOOFED
        || reason == DROP_CT_FULL
}

/// The decision of the security groups on a packet of a protected interface going in
/// direction `dir`: the reason it is counted under (`sg_common::stats`), which says whether
/// it passes.
#[inline(always)]
fn decide(
    iface: IndexEntry,
    data: usize,
    end: usize,
    len: u32,
    ifindex: u32,
    dir: u8,
    link: u16,
) -> u32 {
    let slot = iface.stats_slot();
    let Some(work) = WORK.get_ptr_mut(0) else {
        return NO_SCRATCH;
    };
    let work = unsafe { &mut *work };
    match parse::parse::<true>(data, end, link, len, &mut work.pkt) {
        Ok(()) => {}
        Err(Skip::AlwaysPass) => {
            count(slot, PASS_ALWAYS);
            return PASS_ALWAYS;
        }
        Err(Skip::Malformed) => {
            count(slot, DROP_MALFORMED);
            return DROP_MALFORMED;
        }
    }
    let pkt = &work.pkt;
    // Valid neighbour and router discovery is never filtered (SG-ENF-10); anything else of
    // those types is judged like any other ICMPv6.
    if pkt.nd && neighbour_discovery(pkt, dir, ifindex, iface.source_dest_check()) {
        count(slot, PASS_ALWAYS);
        return PASS_ALWAYS;
    }
    if iface.source_dest_check() && !own_address(pkt, dir, ifindex) {
        count(slot, DROP_SPOOFED);
        return DROP_SPOOFED;
    }
    let len = len as u64;
    let mut clock = Clock(None);
    if pkt.frag == FRAG_LATER {
        return later_fragment(pkt, ifindex, slot, clock.now());
    }
    let key = ct_key(pkt, dir, ifindex, &mut work.key);
    let reason = judge(iface, dir, pkt, key, slot, len, &mut clock);
    if passes(reason) && pkt.frag == FRAG_FIRST {
        // Later fragments of this datagram follow this verdict.
        let _ = FRAGS.insert(frag_key(pkt, ifindex), clock.now(), 0);
    }
    reason
}

/// Explains the verdict on the packet in `data..end` (Ethernet framing) as the first packet
/// of a new flow, seen by `hook` on interface `ifindex`: the checks of [`process`] and
/// [`judge`] up to the rules, with no connection tracking (sgd looks tracked flows up
/// itself), nothing counted and nothing created. The outcome goes to `PROBE_OUT`.
#[inline(always)]
pub fn probe(data: usize, end: usize, len: u32, ifindex: u32, hook: Hook) {
    let Some(out) = PROBE_OUT.get_ptr_mut(0) else {
        return;
    };
    let out = unsafe { &mut *out };
    out.done = 1;
    out.reason = PROBE_UNPROTECTED;
    out.entry = 0;
    out.element = 0;
    out.tracked = 0;
    let Some(iface) = iface_entry(ifindex) else {
        return;
    };
    let dir = direction(iface, hook);
    out.dir = dir as u32;
    let Some(work) = WORK.get_ptr_mut(0) else {
        return;
    };
    let work = unsafe { &mut *work };
    match parse::parse::<true>(data, end, 0, len, &mut work.pkt) {
        Ok(()) => {}
        Err(Skip::AlwaysPass) => {
            out.reason = PASS_ALWAYS;
            return;
        }
        Err(Skip::Malformed) => {
            out.reason = DROP_MALFORMED;
            return;
        }
    }
    let pkt = &work.pkt;
    if pkt.nd && neighbour_discovery(pkt, dir, ifindex, iface.source_dest_check()) {
        out.reason = PASS_ALWAYS;
        return;
    }
    if iface.source_dest_check() && !own_address(pkt, dir, ifindex) {
        out.reason = DROP_SPOOFED;
        return;
    }
    let fam = if pkt.family == 4 {
        family::V4
    } else {
        family::V6
    };
    out.reason = DROP_NO_RULE;
    if !iface.has_rules(dir, fam) {
        return;
    }
    let Some(cfg) = iface_cfg(iface) else {
        out.reason = PROBE_UNPROTECTED;
        return;
    };
    if let Some(hit) = allowed(cfg, dir, pkt) {
        out.reason = PASS_RULE;
        out.entry = hit.entry;
        out.element = hit.element;
        let tracked = !pkt.icmp() || pkt.icmp_echo;
        out.tracked = (tracked && !untracked(cfg, dir, pkt)) as u32;
    }
}

/// Whether parsing the linear bytes of a packet of `len` bytes runs out of them (see
/// `parse::runs_short`).
#[inline(always)]
pub fn runs_short(data: usize, end: usize, len: u32, link: u16) -> bool {
    match WORK.get_ptr_mut(0) {
        Some(w) => parse::runs_short(data, end, link, len, unsafe { &mut (*w).pkt }),
        None => false,
    }
}

/// The packet's time, read once, and only if something needs it (a conntrack entry found or
/// created, a rule counter, a fragment): a packet denied by the rules never reads it.
pub struct Clock(Option<u64>);

impl Clock {
    #[inline(always)]
    pub fn now(&mut self) -> u64 {
        match self.0 {
            Some(t) => t,
            None => {
                // The coarse clock (one tick, a few ms, of resolution) is a memory read where
                // the fine one reads the TSC; timeouts are whole seconds. Userspace reads the
                // same clock (CLOCK_MONOTONIC_COARSE), so the sweeper and the datapath agree
                // on every entry's age.
                let t = unsafe { bpf_ktime_get_coarse_ns() } + CLOCK_BASE_NS;
                self.0 = Some(t);
                t
            }
        }
    }
}

/// The `IndexEntry` of a protected interface (see `sg_common::iface`).
#[inline(always)]
fn iface_entry(ifindex: u32) -> Option<IndexEntry> {
    let e = if ifindex < FAST_IFINDEX {
        let p = IFACE_INDEX.get_ptr(ifindex)?;
        // One 8-byte read: sgd stores the whole entry at once.
        IndexEntry(unsafe { core::ptr::read_volatile(p) })
    } else {
        IndexEntry(*iface_entry_hashed(ifindex)?)
    };
    e.position()?;
    Some(e)
}

/// The configuration an entry points to, copied into this CPU's scratch value (`CFG_COPY`):
/// sgd rewrites a configuration only in the position not in use, but a packet slow enough to
/// see a second switch would otherwise read two. Not on the stack, which has no 52 bytes to
/// spare.
#[inline(always)]
fn iface_cfg(e: IndexEntry) -> Option<&'static IfaceCfg> {
    let cfg = IFACE_CFGS.get(e.position()?)?;
    let copy = CFG_COPY.get_ptr_mut(0)?;
    unsafe {
        *copy = *cfg;
        Some(&*copy)
    }
}

/// Kept out of line: if the compiler merged this lookup with the `IFACE_INDEX` one into a
/// single call site, the verifier could inline neither.
#[inline(never)]
fn iface_entry_hashed(ifindex: u32) -> Option<&'static u64> {
    unsafe { IFACE_ENTRY.get(ifindex) }
}

/// Source/destination check (SG-IF-5): the instance's side of the packet (the source of its
/// outbound traffic, the destination of its inbound traffic) is one of its addresses.
#[inline(always)]
fn own_address(pkt: &Packet, dir: u8, ifindex: u32) -> bool {
    let key = AddrKey {
        ifindex,
        family: pkt.family,
        _pad: [0; 3],
        addr: if dir == OUTBOUND { pkt.src } else { pkt.dst },
    };
    unsafe { IFACE_ADDRS.get(key) }.is_some()
}

/// The direction-dependent conditions on a neighbour-discovery packet that `parse` found
/// valid: the instance sends it only to a link-local address or a link-scope group (a router
/// never forwards those, so it cannot leave the link), and with the source/destination check
/// the instance's side is its own address, a link-local one, or (sending) the unspecified one.
#[inline(always)]
fn neighbour_discovery(pkt: &Packet, dir: u8, ifindex: u32, check: bool) -> bool {
    let link_local = |a: &[u8; 16]| a[0] == 0xfe && a[1] & 0xc0 == 0x80;
    let link_scope = |a: &[u8; 16]| link_local(a) || a[0] == 0xff;
    if dir == OUTBOUND && !link_scope(&pkt.dst) {
        return false;
    }
    if !check {
        return true;
    }
    if dir == OUTBOUND {
        link_local(&pkt.src) || pkt.src == [0; 16] || own_address(pkt, dir, ifindex)
    } else {
        link_scope(&pkt.dst) || own_address(pkt, dir, ifindex)
    }
}

/// Later fragments pass only after their first fragment passed, within `FRAG_TIMEOUT_S`.
#[inline(always)]
fn later_fragment(pkt: &Packet, ifindex: u32, slot: u32, now: u64) -> u32 {
    let key = frag_key(pkt, ifindex);
    if let Some(seen) = FRAGS.get_ptr_mut(key) {
        let seen = unsafe { &mut *seen };
        if now.saturating_sub(*seen) <= FRAG_TIMEOUT_S * 1_000_000_000 {
            *seen = now;
            count(slot, PASS_FRAGMENT);
            return PASS_FRAGMENT;
        }
    }
    count(slot, DROP_FRAGMENT);
    DROP_FRAGMENT
}

#[inline(always)]
fn frag_key(pkt: &Packet, ifindex: u32) -> FragKey {
    FragKey {
        ifindex,
        src: pkt.src,
        dst: pkt.dst,
        id: pkt.frag_id,
        // IPv6 identifies a datagram by addresses and id only; a later fragment's "protocol"
        // may be an extension header that the first fragment walked past (RFC 8200).
        proto: if pkt.family == 4 { pkt.proto } else { 0 },
        family: pkt.family,
        _pad: [0; 2],
    }
}

/// Conntrack, then the rules, for a packet with its L4 header.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn judge(
    iface: IndexEntry,
    dir: u8,
    pkt: &Packet,
    (key, h): (&CtKey, u64),
    slot: u32,
    len: u64,
    clock: &mut Clock,
) -> u32 {
    // ICMP of its own family is tracked only as echo (SG-ENF-4); everything else is, ICMP of
    // the other family as any other protocol (SG-ENF-5).
    let tracked = !pkt.icmp() || pkt.icmp_echo;
    let tcp = pkt.proto == PROTO_TCP;
    let fam = if pkt.family == 4 {
        family::V4
    } else {
        family::V6
    };
    let no_rules = !iface.has_rules(dir, fam);
    // A direction without rules (the default group's inbound side) passes only tracked
    // flows (SG-RULE-5: allow-only): the presence filter first, so a flood there is dropped
    // on one array read, the flow cache unread. (Folding the second filter read below into
    // this one made the compiler emit ~100 more instructions for the whole program.)
    if no_rules && !(tracked && conntrack::maybe_tracked(h)) {
        count(slot, DROP_NO_RULE);
        return DROP_NO_RULE;
    }
    // An established flow usually passes on this CPU's flow cache, reading nothing else.
    if tracked && conntrack::cached(key, h, pkt, dir, len) {
        count(slot, PASS_CONNTRACK);
        return PASS_CONNTRACK;
    }
    // A packet of no tracked flow usually learns so from the presence filter (an array read
    // the verifier inlines); only the rest pays for a hash-table lookup.
    let maybe = tracked && conntrack::maybe_tracked(h);
    if !maybe && no_rules {
        // Not tracked, and no rule for this direction and family (SG-RULE-5: allow-only).
        count(slot, DROP_NO_RULE);
        return DROP_NO_RULE;
    }
    let Some(cfg) = iface_cfg(iface) else {
        // Not protected any more.
        return UNPROTECTED;
    };
    // Each lookup names its map directly: the verifier inlines a hash lookup only at a call
    // site that always sees the same map (a pointer chosen at run time goes through the
    // generic helper).
    let known = if !maybe {
        conntrack::NOT_TRACKED
    } else if tcp {
        conntrack::hit_tcp(
            key,
            pkt,
            h,
            clock.now(),
            conntrack::pack(len, dir, cfg.tcp_established_timeout),
        )
    } else {
        conntrack::hit(&CT_OTHER, key, h, pkt, dir, len, cfg, clock) as u8
    };
    if known == conntrack::ADMITTED {
        count(slot, PASS_CONNTRACK);
        return PASS_CONNTRACK;
    }
    // A foreign SYN on a live connection is judged by the rules without opening a flow:
    // opening would replace the connection's entry. Arithmetic, not a branch: a branch here
    // would have the verifier walk `by_rules` once for each outcome.
    let opens = tracked as u32 & ((known as u32 >> 1) ^ 1);
    let packed = conntrack::pack(len, dir, opens);
    let mut reason = by_rules(cfg, key, pkt, h, packed);
    if reason >= SYNACK_TRACK {
        reason = track_late(reason, key, pkt, h, packed, clock.now());
    }
    count(slot, reason);
    reason
}

/// The verdict of the rules for a packet no tracked flow admitted, as the reason to count
/// (`PASS_RULE`, `DROP_NO_RULE`, `DROP_CT_FULL`); `packed` is `conntrack::pack(len, dir,
/// may_open)`. Opens a tracked flow where the packet starts one and may.
///
/// Out of line: the rule lookups' keys and registers take a frame of their own, not room
/// in the program's, which the whole call chain shares (512 bytes).
#[inline(never)]
fn by_rules(cfg: &IfaceCfg, key: &CtKey, pkt: &Packet, h: u64, packed: u64) -> u32 {
    let (len, dir, tracked) = (
        packed & 0xffff_ffff,
        (packed >> 32) as u8 & 1,
        packed >> 33 != 0,
    );
    let mut clock = Clock(None);
    let tcp = pkt.proto == PROTO_TCP;
    let flags = pkt.tcp_flags & (TCP_SYN | TCP_ACK | TCP_FIN | TCP_RST);
    let instance = cfg.mode == MODE_INSTANCE;
    let Some(hit) = allowed(cfg, dir, pkt) else {
        // The instance answering a SYN that passed without an entry (see below).
        if tracked && tcp && instance && dir == OUTBOUND && flags == TCP_SYN | TCP_ACK {
            return syn_cookie_answer(cfg, pkt);
        }
        return DROP_NO_RULE;
    };
    // Only a SYN opens a tracked TCP flow: other TCP packets the rules allow pass without an
    // entry. So a revoked rule of an untracked flow cannot be revived by the instance's next
    // packet, and forged mid-stream packets cannot fill the table with 5-day entries.
    let opens = !tcp || flags == TCP_SYN;
    if tracked && !untracked(cfg, dir, pkt) {
        if opens {
            let created = conntrack::create(key, pkt, h, clock.now(), packed);
            if created == conntrack::OVER_BUDGET && tcp && instance {
                // The half-open budget is spent (a SYN flood, issue 17): the SYN passes
                // without an entry, for the instance's own stack to answer (with a SYN
                // cookie once its listen queue is full); the client's ACK opens the flow.
                count_rule_hit(&hit, len, clock.now());
                return PASS_SYN_COOKIE;
            }
            if created != conntrack::CREATED {
                if crate::log::warnings() {
                    crate::log::rare(crate::log::CT_FULL, key.ifindex);
                }
                return DROP_CT_FULL;
            }
        } else if tcp
            && instance
            && dir == INBOUND
            && flags & (TCP_SYN | TCP_RST | TCP_ACK) == TCP_ACK
            && conntrack::cookies_on()
            && conntrack::cookie_valid(pkt, false)
        {
            // The client's ACK completing a handshake the instance answered with a SYN
            // cookie: the flow is tracked from here, established (by `judge`).
            count_rule_hit(&hit, len, clock.now());
            return COOKIE_ACK_TRACK;
        }
    }
    count_rule_hit(&hit, len, clock.now());
    PASS_RULE
}

/// Instance mode: a SYN-ACK leaving that no tracked flow and no outbound rule admits, which
/// answers a SYN the rules admitted and passed without an entry (`by_rules`, the half-open
/// budget spent). It passes if the inbound rules admit that SYN: stateless if it carries the
/// instance's SYN cookie; otherwise the instance keeps state for the handshake (its listen
/// queue), and the flow is tracked from this SYN-ACK, half-open (counted in the budget but
/// never refused by it: the instance's listen queues bound such entries).
///
/// Returns `DROP_NO_RULE`, `PASS_SYN_COOKIE`, or [`SYNACK_TRACK`] when the flow is to be
/// tracked from this SYN-ACK.
#[inline(never)]
fn syn_cookie_answer(cfg: &IfaceCfg, pkt: &Packet) -> u32 {
    if !conntrack::cookies_on() {
        return DROP_NO_RULE;
    }
    // The SYN it answers: from this packet's destination, to its source port.
    let Some((set, _)) = lpm(cfg, INBOUND, pkt.family, &pkt.dst, 128) else {
        return DROP_NO_RULE;
    };
    if set_allows(set, pkt.family, pkt.proto, pkt.sport).is_none() {
        return DROP_NO_RULE;
    }
    if conntrack::cookie_valid(pkt, true) {
        PASS_SYN_COOKIE
    } else {
        SYNACK_TRACK
    }
}

/// [`by_rules`]' answers for a packet a TCP flow is to be tracked from, by [`judge`]
/// (`conntrack::create_from_*` called from `by_rules` would make a call chain deeper than
/// the verifier's 512 bytes of stack): a SYN-ACK of a SYN passed without an entry, and the
/// ACK acknowledging a SYN cookie.
const SYNACK_TRACK: u32 = NUM_REASONS + 2;
const COOKIE_ACK_TRACK: u32 = NUM_REASONS + 3;

/// Tracks the flow `by_rules` said to (`SYNACK_TRACK`, `COOKIE_ACK_TRACK`): the reason the
/// packet is counted under.
#[inline(always)]
fn track_late(reason: u32, key: &CtKey, pkt: &Packet, h: u64, packed: u64, now: u64) -> u32 {
    if reason == SYNACK_TRACK {
        if conntrack::create_from_synack(key, pkt, h, now, packed) != conntrack::CREATED {
            return DROP_CT_FULL;
        }
        return PASS_SYN_COOKIE;
    }
    // The ACK passes whatever happens: if the table is full, untracked, as any ACK the
    // rules admit.
    let _ = conntrack::create_from_cookie(key, pkt, h, now, packed);
    PASS_RULE
}

/// The key of a flow from the instance's point of view, so both directions share one entry.
/// Written into `key` (scratch space, see `maps::Work`).
#[inline(always)]
pub fn ct_key<'a>(pkt: &Packet, dir: u8, ifindex: u32, key: &'a mut CtKey) -> (&'a CtKey, u64) {
    let inbound = dir == INBOUND;
    let (local, remote) = if inbound {
        (pkt.dst, pkt.src)
    } else {
        (pkt.src, pkt.dst)
    };
    let (local_port, remote_port) = if pkt.proto == PROTO_TCP || pkt.proto == PROTO_UDP {
        if inbound {
            (pkt.dport, pkt.sport)
        } else {
            (pkt.sport, pkt.dport)
        }
    } else if pkt.icmp_echo {
        let icmp_type = (pkt.dport >> 8) as u8;
        let request = icmp_type == 8 || icmp_type == 128;
        let pinger = if request != inbound {
            ECHO_PINGER_LOCAL
        } else {
            ECHO_PINGER_REMOTE
        };
        (pkt.sport, pinger)
    } else {
        (0, 0)
    };
    key.ifindex = ifindex;
    key.local = local;
    key.remote = remote;
    // Ports, protocol and family (and the padding) written as whole words (see
    // `CtKey::words_mut`).
    let w = key.words_mut();
    w[9] = word16(local_port, remote_port);
    w[10] = word8([pkt.proto, pkt.family, 0, 0]);
    let h = ct_hash_words(key.words());
    (key, h)
}

/// The entry of the longest prefix (at most `max_len` bits) covering `addr` in the ruleset of
/// this direction and family: (port-set id, entry id). A full-length lookup tries the
/// ruleset's single addresses first (one hash lookup), then its prefixes.
#[inline(always)]
fn lpm(cfg: &IfaceCfg, dir: u8, family: u8, addr: &[u8; 16], max_len: u32) -> Option<(u32, u32)> {
    let fam = if family == 4 { family::V4 } else { family::V6 };
    let ruleset = cfg.ruleset[dir as usize & 1][fam];
    if ruleset == 0 {
        return None;
    }
    let mut a4 = [0u8; 4];
    a4.copy_from_slice(&addr[..4]);
    if max_len >= 128 && cfg.lookups & hosts_bit(dir, fam) != 0 {
        let host = if family == 4 {
            host_v4(&LpmV4 { ruleset, addr: a4 })
        } else {
            // A key built from values, not a reference into the parsed packet (see "The
            // verifier's budget" in docs/design.md).
            host_v6(&LpmV6 {
                ruleset,
                addr: *addr,
            })
        };
        if let Some(v) = host {
            return Some((v.port_set, v.entry));
        }
    }
    if cfg.lookups & prefixes_bit(dir, fam) == 0 {
        return None;
    }
    let hit = if family == 4 {
        RULES_V4.get(Key::new(
            RULESET_BITS + max_len.min(32),
            LpmV4 { ruleset, addr: a4 },
        ))
    } else {
        RULES_V6.get(Key::new(
            RULESET_BITS + max_len,
            LpmV6 {
                ruleset,
                addr: *addr,
            },
        ))
    }?;
    Some((hit.port_set, hit.entry))
}

// The two host lookups are kept out of line so the compiler cannot merge them into one call
// site, which the verifier could not inline, and so the keys are built once, here, not at
// every inlined use of `lpm`. Each reads one set (one cache line); a way matches on the whole
// key, ruleset included, so an empty way (ruleset 0) never does.
#[inline(never)]
fn host_v4(key: &LpmV4) -> Option<&'static LpmValue> {
    let key = key.host_key();
    let set = HOSTS_V4.get(host_set_v4(key))?;
    for way in &set.ways {
        if unsafe { core::ptr::read_volatile(&way.key) } == key {
            return Some(&way.value);
        }
    }
    None
}

#[inline(never)]
fn host_v6(key: &LpmV6) -> Option<&'static LpmValue> {
    let words = key.addr_words();
    let set = HOSTS_V6.get(host_set_v6(key.ruleset, &words))?;
    for way in &set.ways {
        if unsafe { core::ptr::read_volatile(&way.ruleset) } == key.ruleset && way.addr == words {
            return Some(&way.value);
        }
    }
    None
}

/// The element of port set `id` (small or large) that allows protocol `p` to destination
/// port (ICMP: `type << 8 | code`): a range index, or `MAX_RANGES + p`.
#[inline(always)]
fn set_allows(id: u32, family: u8, p: u8, port: u16) -> Option<u32> {
    if id & LARGE_SET != 0 {
        set_allows_in(unsafe { PORT_SETS.get(id) }?, family, p, port)
    } else {
        set_allows_in(unsafe { PORT_SETS_SMALL.get(id) }?, family, p, port)
    }
}

#[inline(always)]
fn set_allows_in<const N: usize>(set: &PortSetN<N>, family: u8, p: u8, port: u16) -> Option<u32> {
    if set.all_ports[(p >> 5) as usize] & (1u32 << (p & 31)) != 0 {
        return Some(MAX_RANGES as u32 + p as u32);
    }
    let icmp_proto = if family == 4 {
        PROTO_ICMP
    } else {
        PROTO_ICMPV6
    };
    let list = match p {
        PROTO_TCP => LIST_TCP,
        PROTO_UDP => LIST_UDP,
        _ if p == icmp_proto => LIST_ICMP,
        _ => return None,
    };
    in_ranges(set, list, port)
}

/// Whether the rules for this direction allow the packet: one longest-prefix lookup of the
/// remote address gives the port set of every rule covering it (prefix closure).
/// Returns the rule-hit key of what allowed it.
#[inline(always)]
fn allowed(cfg: &IfaceCfg, dir: u8, pkt: &Packet) -> Option<RuleHitKey> {
    let remote = if dir == INBOUND { &pkt.src } else { &pkt.dst };
    let (set, entry) = lpm(cfg, dir, pkt.family, remote, 128)?;
    let element = set_allows(set, pkt.family, pkt.proto, pkt.dport)?;
    Some(RuleHitKey { entry, element })
}

/// Counts a packet admitted by the rules against the element (and so the rule) that
/// admitted it (SG-ENF-12).
#[inline(always)]
fn count_rule_hit(key: &RuleHitKey, len: u64, now: u64) {
    if let Some(h) = RULE_HITS.get_ptr_mut(key) {
        let h = unsafe { &mut *h };
        h.packets += 1;
        h.bytes += len;
        h.last_ns = now;
    } else {
        let _ = RULE_HITS.insert(
            key,
            RuleHits {
                packets: 1,
                bytes: len,
                last_ns: now,
            },
            0,
        );
    }
}

/// Whether the rules of `dir` allow `port` of the packet's protocol from/to anywhere: a lookup
/// limited to the ruleset's `/0` entry.
#[inline(always)]
fn allowed_from_anywhere(cfg: &IfaceCfg, dir: u8, pkt: &Packet, port: u16) -> bool {
    let fam = if pkt.family == 4 {
        family::V4
    } else {
        family::V6
    };
    if cfg.lookups & anywhere_bit(dir, fam) == 0 {
        return false;
    }
    match lpm(cfg, dir, pkt.family, &pkt.src, 0) {
        Some((set, _)) => set_allows(set, pkt.family, pkt.proto, port).is_some(),
        None => false,
    }
}

/// SG-ENF-3: a TCP/UDP flow is not tracked when the direction that admits it allows it from/to
/// anywhere and the other direction allows the protocol to anywhere on all ports. A packet is
/// untracked when it opens such a flow, or answers one opened from the other side.
#[inline(always)]
fn untracked(cfg: &IfaceCfg, dir: u8, pkt: &Packet) -> bool {
    if pkt.proto != PROTO_TCP && pkt.proto != PROTO_UDP {
        return false;
    }
    let fam = if pkt.family == 4 {
        family::V4
    } else {
        family::V6
    };
    let udp = pkt.proto == PROTO_UDP;
    let other = dir ^ 1;
    (cfg.open_to_all & open_bit(other, fam, udp) != 0
        && allowed_from_anywhere(cfg, dir, pkt, pkt.dport))
        || (cfg.open_to_all & open_bit(dir, fam, udp) != 0
            && allowed_from_anywhere(cfg, other, pkt, pkt.sport))
}

/// Bounded binary search for `v` in one protocol's sorted, non-overlapping ranges.
#[inline(always)]
fn in_ranges<const N: usize>(set: &PortSetN<N>, list: usize, v: u16) -> Option<u32> {
    // log2(N) + 1 halvings find the last range starting at or below `v`.
    let steps = (usize::BITS - N.leading_zeros()) as usize;
    let l = set.lists[list];
    let mut base = l.start as usize;
    let mut len = l.len as usize;
    if len == 0 {
        return None;
    }
    for _ in 0..steps {
        if len <= 1 {
            break;
        }
        let half = len / 2;
        let mid = base + half;
        if set.ranges[mid & (N - 1)].lo <= v {
            base = mid;
        }
        len -= half;
    }
    let i = base & (N - 1);
    let r = set.ranges[i];
    (r.lo <= v && v <= r.hi).then_some(i as u32)
}
