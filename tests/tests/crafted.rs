//! The red-team battery (`shared/redteam`: attack_basic, attack_state, attack_host,
//! poc_nd_egress) as `TestRun` verdicts on the loaded programs: one test per attempt or per
//! small group of related attempts, each checking the verdict and the one reason counter the
//! packet was counted under (SG-ENF-12).
//!
//! The instance lab mirrors the red-team one: the instance has 192.0.2.1 and 2001:db8::1, its
//! group allows TCP 22 from the allowed peer (192.0.2.2/32, 2001:db8::2/128) only; the
//! attacker is 192.0.2.66 / 2001:db8::66 and the server the instance talks to 192.0.2.80.
//! Instance mode: inbound = XDP, outbound = TC egress. The host-mode lab protects the host
//! side of an instance with 192.0.2.10 and 2001:db8:9::10 (declared, source/destination check
//! on): what the instance sends arrives at XDP, what it receives leaves through TC egress.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Duration,
};

use sg_common::{conntrack::CT_STATE_NEW, stats::REASON_NAMES};
use sg_tests::{
    frame::{
        Ext, Frame, Nd, TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG,
        Tcp, icmp, icmp_error, lladdr_option, solicited_node, udp,
    },
    lab::{IFACE, Lab, with_lab},
    require_root,
};
use sg_userspace::{
    api::CreateNetworkInterface,
    datapath::Hook,
    model::ops,
    testkit::{ip, perm},
};

const ME4: &str = "192.0.2.1";
const ME6: &str = "2001:db8::1";
const ME_LL: &str = "fe80::1";
const OK4: &str = "192.0.2.2";
const OK6: &str = "2001:db8::2";
const ATK4: &str = "192.0.2.66";
const ATK6: &str = "2001:db8::66";
const SRV4: &str = "192.0.2.80";
/// A link-local neighbour (a router, in the ND cases).
const NEIGH_LL: &str = "fe80::2";

// Host mode: the instance, an off-link host the hypervisor routes to, spoofed sources.
const VM4: &str = "192.0.2.10";
const VM6: &str = "2001:db8:9::10";
const VM_LL: &str = "fe80::10";
const HV_LL: &str = "fe80::1";
const OUT4: &str = "198.51.100.2";
const OUT6: &str = "2001:db8:8::2";
const SPOOF4: &str = "192.0.2.77";
const SPOOF6: &str = "2001:db8:9::77";

/// What the datapath did with one frame: the verdict (true: pass) and the reason counter
/// it was counted under.
type Outcome = (bool, &'static str);
const BY_RULE: Outcome = (true, "pass_rule");
const TRACKED: Outcome = (true, "pass_conntrack");
const ALWAYS: Outcome = (true, "pass_always");
const FOLLOWS: Outcome = (true, "pass_fragment");
const NO_RULE: Outcome = (false, "drop_no_rule");
const MALFORMED: Outcome = (false, "drop_malformed");
const ORPHAN: Outcome = (false, "drop_fragment");
const SPOOFED: Outcome = (false, "drop_source_dest_check");

macro_rules! lab_test {
    ($(#[$doc:meta])* $name:ident, $body:expr) => {
        $(#[$doc])*
        #[test]
        fn $name() {
            if !require_root(stringify!($name)) {
                return;
            }
            with_lab($body);
        }
    };
}

/// Runs `f` through `hook` and returns its verdict and the one counter it moved (by one).
fn run(l: &mut Lab, hook: Hook, f: &Frame) -> Outcome {
    let before = l.dp.stats(IFACE).expect("attached");
    let pass = l.run(hook, &f.bytes());
    let after = l.dp.stats(IFACE).expect("attached");
    let moved: Vec<(&'static str, u64)> = REASON_NAMES
        .iter()
        .zip(before.iter().zip(&after))
        .filter(|(_, (b, a))| a != b)
        .map(|(n, (b, a))| (*n, a - b))
        .collect();
    assert!(
        matches!(moved.as_slice(), [(_, 1)]),
        "one packet, one count: {moved:?}"
    );
    (pass, moved[0].0)
}

/// Instance mode: a frame to the instance.
fn inbound(l: &mut Lab, f: &Frame) -> Outcome {
    run(l, Hook::Xdp, f)
}

/// Instance mode: a frame from the instance.
fn outbound(l: &mut Lab, f: &Frame) -> Outcome {
    run(l, Hook::TcEgress, f)
}

/// Host mode: a frame the instance sends (it arrives on the host side).
fn from_instance(l: &mut Lab, f: &Frame) -> Outcome {
    run(l, Hook::Xdp, f)
}

/// Host mode: a frame to the instance (it leaves the host side).
fn to_instance(l: &mut Lab, f: &Frame) -> Outcome {
    run(l, Hook::TcEgress, f)
}

fn a4(s: &str) -> Ipv4Addr {
    s.parse().expect("IPv4 address")
}

fn a6(s: &str) -> Ipv6Addr {
    s.parse().expect("IPv6 address")
}

/// The instance's address of `peer`'s family.
fn me(peer: &str) -> IpAddr {
    ip(if peer.contains(':') { ME6 } else { ME4 })
}

/// TCP from `from` to the instance.
fn tcp_in(from: &str, sport: u16, dport: u16, flags: u8) -> Frame {
    Frame::tcp(ip(from), me(from), sport, dport, flags)
}

/// A SYN from `from` to the instance's port 22 carrying 40 bytes of payload.
fn syn22(from: &str, sport: u16) -> Frame {
    let mut f = tcp_in(from, sport, 22, TCP_SYN);
    f.l4.extend_from_slice(&[0x42; 40]);
    f
}

/// The red-team lab's group: TCP 22 from the allowed peer only, the default outbound rules.
fn setup(l: &mut Lab) -> String {
    let g = l.world.group("narrow");
    l.world
        .authorize(
            &g,
            false,
            vec![
                perm("tcp", Some((22, 22)), &format!("{OK4}/32")),
                perm("tcp", Some((22, 22)), &format!("{OK6}/128")),
            ],
        )
        .expect("authorize");
    l.world
        .attach(IFACE, &[&g], &[ip(ME4), ip(ME6)])
        .expect("attach");
    l.apply();
    g
}

/// Revokes the default outbound rules: the group allows no outbound traffic (SG-GRP-4).
fn revoke_egress(l: &mut Lab, g: &str) {
    for all in ["0.0.0.0/0", "::/0"] {
        l.world
            .revoke(g, true, vec![perm("-1", None, all)])
            .expect("revoke the default outbound rule");
    }
}

/// [`setup`] without outbound rules.
fn setup_no_egress(l: &mut Lab) -> String {
    let g = setup(l);
    revoke_egress(l, &g);
    l.apply();
    g
}

/// Host mode (SG-IF-5): the lab interface is the host side of an instance with declared
/// addresses 192.0.2.10 and 2001:db8:9::10 and the source/destination check on (its
/// default), in a group without inbound rules and with (or without) the default outbound
/// rules.
fn setup_host(l: &mut Lab, egress: bool) -> String {
    let g = l.world.group("vm");
    if !egress {
        revoke_egress(l, &g);
    }
    let req = CreateNetworkInterface {
        network_interface_id: Some(IFACE.into()),
        attach_mode: Some("host".into()),
        private_ip_addresses: vec![VM4.into(), VM6.into()],
        groups: vec![g.clone()],
        source_dest_check: None,
        ..Default::default()
    };
    ops::create_network_interface(&mut l.world.state, &l.world.quotas, &req, &|_| true)
        .expect("host-mode interface");
    assert!(l.world.state.interfaces[IFACE].source_dest_check);
    l.world.addrs.insert(IFACE.into(), vec![ip(VM4), ip(VM6)]);
    l.apply();
    g
}

/// A neighbour-discovery frame as RFC 4861 sends it (hop limit 255, code 0).
fn nd(src: &str, dst: &str, msg: Nd) -> Frame {
    Frame::nd(a6(src), a6(dst), msg)
}

fn ns(target: &str) -> Nd {
    Nd::NeighborSolicitation { target: a6(target) }
}

fn na(target: &str) -> Nd {
    Nd::NeighborAdvertisement { target: a6(target) }
}

fn redirect(target: &str, destination: &str) -> Nd {
    Nd::Redirect {
        target: a6(target),
        destination: a6(destination),
    }
}

/// The solicited-node multicast address of `a` as a string.
fn sol(a: &str) -> String {
    solicited_node(a6(a)).to_string()
}

/// Appends bytes the red-team scripts put after each header (a tag the oracle looked for).
fn with_payload(mut f: Frame, tag: &str) -> Frame {
    f.l4.extend_from_slice(format!("xx RT-{tag} xx").as_bytes());
    f
}

// --- attack_basic.py: baselines --------------------------------------------------------------

lab_test!(
    /// base_ok_syn22 / base_atk_syn22: the union of rules decides, by source (SG-RULE-5).
    base_syn_to_22_from_the_allowed_peer_and_the_attacker,
    |l| {
        setup(l);
        assert_eq!(inbound(l, &syn22(OK4, 40000)), BY_RULE);
        assert_eq!(inbound(l, &syn22(ATK4, 40000)), NO_RULE);
    }
);

lab_test!(
    /// base_atk_udp / base_atk_echo / base_atk_echoreply: allow-only rules (SG-RULE-5); an
    /// echo reply passes only as part of an echo the instance sent (SG-ENF-4).
    base_attacker_udp_echo_and_unsolicited_echo_reply,
    |l| {
        setup(l);
        assert_eq!(inbound(l, &Frame::udp(ip(ATK4), ip(ME4), 53, 53)), NO_RULE);
        assert_eq!(
            inbound(l, &Frame::icmp(ip(ATK4), ip(ME4), 8, 0, 7)),
            NO_RULE
        );
        assert_eq!(
            inbound(l, &Frame::icmp(ip(ATK4), ip(ME4), 0, 0, 7)),
            NO_RULE
        );
    }
);

lab_test!(
    /// base_atk_gre / base_atk_p253 / base_atk_sctp: other protocols need a rule unless the
    /// instance spoke first (SG-ENF-5, SG-RULE-2).
    base_attacker_other_protocols,
    |l| {
        setup(l);
        for proto in [47, 253, 132] {
            assert_eq!(
                inbound(l, &Frame::new(ip(ATK4), ip(ME4), proto, vec![0; 16])),
                NO_RULE,
                "protocol {proto}"
            );
        }
        assert!(l.dp.conntrack().is_empty());
    }
);

lab_test!(
    /// base_atk_ipip: IP-in-IP is protocol 4 from the outer source; the allowed TCP 22 it
    /// carries is not what the rules judge (SG-RULE-2).
    base_ip_in_ip_carrying_allowed_tcp_22,
    |l| {
        setup(l);
        let inner = Frame::tcp(ip(OK4), ip(ME4), 40000, 22, TCP_SYN);
        let outer = Frame::new(ip(ATK4), ip(ME4), 4, inner.packet());
        assert_eq!(inbound(l, &outer), NO_RULE);
    }
);

lab_test!(
    /// flags_atk_*: no TCP flag combination gets the attacker to port 22 or into the
    /// connection table (SG-RULE-5, SG-ENF-1).
    tcp_flag_combinations_from_the_attacker,
    |l| {
        setup(l);
        let all = TCP_SYN | TCP_ACK | TCP_FIN | TCP_RST | TCP_PSH | TCP_URG | TCP_ECE | TCP_CWR;
        for (i, flags) in [
            TCP_SYN | TCP_FIN,
            TCP_SYN | TCP_RST,
            0,
            TCP_ACK,
            TCP_FIN,
            TCP_FIN | TCP_PSH | TCP_URG,
            TCP_SYN | TCP_ACK,
            TCP_RST,
            all,
        ]
        .into_iter()
        .enumerate()
        {
            let f = tcp_in(ATK4, 41000 + i as u16, 22, flags);
            assert_eq!(inbound(l, &f), NO_RULE, "flags {flags:#04x}");
        }
        assert!(l.dp.conntrack().is_empty());
    }
);

// --- attack_basic.py: IPv4 options and header lengths ------------------------------------------

lab_test!(
    /// opt_ok_ihl15 / opt_atk_ihl15: 40 bytes of options are skipped by the header length
    /// (SG-ENF-11).
    ipv4_40_bytes_of_options,
    |l| {
        setup(l);
        let mut ok = syn22(OK4, 40000);
        ok.v4_options = vec![1; 40];
        assert_eq!(inbound(l, &ok), BY_RULE);
        let mut atk = syn22(ATK4, 40000);
        atk.v4_options = vec![1; 40];
        assert_eq!(inbound(l, &atk), NO_RULE);
    }
);

lab_test!(
    /// opt_atk_ra / opt_atk_lsrr: router alert and loose source routing change nothing about
    /// who may reach 22 (SG-ENF-11); the allowed peer's packet with them still passes.
    ipv4_router_alert_and_source_route,
    |l| {
        setup(l);
        let router_alert = vec![0x94, 4, 0, 0];
        let mut lsrr = vec![0x83, 7, 4];
        lsrr.extend_from_slice(&a4(OK4).octets());
        lsrr.push(0); // end of options
        for (sport, opts) in [(40000, router_alert), (40001, lsrr)] {
            let mut atk = syn22(ATK4, sport);
            atk.v4_options = opts.clone();
            assert_eq!(inbound(l, &atk), NO_RULE, "options {opts:?}");
            let mut ok = syn22(OK4, sport);
            ok.v4_options = opts;
            assert_eq!(inbound(l, &ok), BY_RULE);
        }
    }
);

lab_test!(
    /// opt_atk_ihl4: a header length below 20 bytes is malformed, dropped and counted
    /// (SG-ENF-11, SG-ENF-12), even from the allowed peer.
    ipv4_header_length_4_is_malformed,
    |l| {
        setup(l);
        for from in [ATK4, OK4] {
            let mut f = syn22(from, 40000);
            f.ihl = Some(4);
            assert_eq!(inbound(l, &f), MALFORMED, "from {from}");
        }
    }
);

lab_test!(
    /// opt_atk_ihl6lie: with a header length of 24 over a 20-byte header the L4 header is
    /// read where the header length says, as the kernel reads it (SG-ENF-11): the ports the
    /// rules see are the bytes at offset 24.
    ipv4_lying_header_length_is_followed,
    |l| {
        setup(l);
        let lying = |from: &str, real_dport: u16, read_dport: u16| {
            let mut t = Tcp::new(4321, real_dport, TCP_SYN);
            t.seq = (4321 << 16) | read_dport as u32; // ports when read 4 bytes later
            let mut l4 = t.bytes();
            l4.extend_from_slice(&[0; 8]);
            // The header as read must itself be TCP: a data offset of 5 (a shorter one is
            // malformed, as the kernel has it) and SYN, in the checksum's bytes.
            l4[16] = 5 << 4;
            l4[17] = TCP_SYN;
            let mut f = Frame::new(ip(from), ip(ME4), 6, l4);
            f.ihl = Some(6);
            f
        };
        assert_eq!(inbound(l, &lying(ATK4, 22, 22)), NO_RULE);
        assert_eq!(
            inbound(l, &lying(OK4, 22, 23)),
            NO_RULE,
            "port 22 only where the header length does not point"
        );
        assert_eq!(inbound(l, &lying(OK4, 80, 22)), BY_RULE);
    }
);

lab_test!(
    /// opt_atk_totlen: an IPv4 total length of 20 with the TCP header in the trailer gets the
    /// attacker nowhere (SG-ENF-11).
    ipv4_total_length_shorter_than_the_frame,
    |l| {
        setup(l);
        let mut f = syn22(ATK4, 40000);
        f.ip_len = Some(20);
        assert_eq!(inbound(l, &f), NO_RULE);
    }
);

// --- attack_basic.py: IPv4 fragments ----------------------------------------------------------

lab_test!(
    /// frag_ok_tcp22: the first fragment is judged on its L4 header, the later ones follow it
    /// (SG-ENF-11).
    ipv4_fragments_of_allowed_tcp_22,
    |l| {
        setup(l);
        let frags = syn22(OK4, 40000).fragments(101, 24);
        assert_eq!(frags.len(), 3);
        assert_eq!(inbound(l, &frags[0]), BY_RULE);
        assert_eq!(inbound(l, &frags[1]), FOLLOWS);
        assert_eq!(inbound(l, &frags[2]), FOLLOWS);
    }
);

lab_test!(
    /// frag_atk_tcp22 / frag_atk_later: a refused first fragment takes its later fragments
    /// with it; later fragments without a first are dropped and counted (SG-ENF-11).
    ipv4_fragments_from_the_attacker,
    |l| {
        setup(l);
        let frags = syn22(ATK4, 40000).fragments(102, 24);
        assert_eq!(inbound(l, &frags[0]), NO_RULE);
        assert_eq!(inbound(l, &frags[1]), ORPHAN);
        assert_eq!(inbound(l, &frags[2]), ORPHAN);
        for f in &syn22(ATK4, 40001).fragments(103, 24)[1..] {
            assert_eq!(inbound(l, f), ORPHAN, "later fragments alone");
        }
    }
);

lab_test!(
    /// frag_ok_tiny (?) / frag_atk_tiny: an 8-byte first fragment splits the TCP header; it
    /// cannot be judged on its L4 header, so it is dropped as malformed (SG-ENF-11,
    /// SG-ENF-12), from anyone, and its later fragments have no first.
    ipv4_tiny_first_fragment,
    |l| {
        setup(l);
        for (from, id) in [(OK4, 104), (ATK4, 105)] {
            let frags = syn22(from, 40000).fragments(id, 8);
            assert_eq!(inbound(l, &frags[0]), MALFORMED, "from {from}");
            for f in &frags[1..] {
                assert_eq!(inbound(l, f), ORPHAN, "from {from}");
            }
        }
    }
);

lab_test!(
    /// frag_atk_udp: fragmented UDP from the attacker (SG-ENF-11).
    ipv4_fragmented_udp_from_the_attacker,
    |l| {
        setup(l);
        let f = Frame::new(ip(ATK4), ip(ME4), 17, udp(53, 53, 56));
        let frags = f.fragments(106, 16);
        assert_eq!(inbound(l, &frags[0]), NO_RULE);
        for f in &frags[1..] {
            assert_eq!(inbound(l, f), ORPHAN);
        }
    }
);

lab_test!(
    /// frag_ok_protoswap: later fragments follow the first fragment of their own datagram,
    /// which IPv4 identifies by addresses, identification and protocol (SG-ENF-11): UDP
    /// fragments do not ride on an allowed TCP first fragment with the same id.
    ipv4_protocol_swap_in_later_fragments,
    |l| {
        setup(l);
        let tcp = syn22(OK4, 40000).fragments(107, 24);
        let udp = Frame::new(ip(OK4), ip(ME4), 17, udp(53, 53, 48)).fragments(107, 24);
        assert_eq!(inbound(l, &tcp[0]), BY_RULE);
        for f in &udp[1..] {
            assert_eq!(inbound(l, f), ORPHAN);
        }
    }
);

lab_test!(
    /// frag_ok_overlap (?): every first fragment is judged on its own L4 header (SG-ENF-11):
    /// a second offset-0 fragment to port 80 is refused although one to 22 passed; the later
    /// fragments follow the first fragment that passed.
    ipv4_overlapping_first_fragment,
    |l| {
        setup(l);
        let good = syn22(OK4, 40000).fragments(108, 24);
        let mut evil = syn22(OK4, 40000);
        evil.l4[2..4].copy_from_slice(&80u16.to_be_bytes());
        let evil = &evil.fragments(108, 24)[0];
        assert_eq!(inbound(l, &good[0]), BY_RULE);
        assert_eq!(inbound(l, evil), NO_RULE);
        assert_eq!(inbound(l, &good[1]), FOLLOWS);
        assert_eq!(inbound(l, &good[2]), FOLLOWS);
    }
);

lab_test!(
    /// frag_ok_ovl8 (?): a later fragment at offset 8 (RFC 1858) overlaps TCP bytes 8-15 but
    /// cannot reach the ports the first fragment was judged on; as a later fragment of an
    /// admitted datagram it follows the first (SG-ENF-11).
    ipv4_overlap_at_offset_8,
    |l| {
        setup(l);
        let frags = syn22(OK4, 40000).fragments(109, 24);
        let mut overlap = Frame::new(ip(OK4), ip(ME4), 6, vec![0; 8]);
        overlap.frag = Some((109, 1, true));
        assert_eq!(inbound(l, &frags[0]), BY_RULE);
        assert_eq!(inbound(l, &overlap), FOLLOWS);
        assert_eq!(inbound(l, &frags[1]), FOLLOWS);
        assert_eq!(inbound(l, &frags[2]), FOLLOWS);
    }
);

// --- attack_basic.py: IPv6 ---------------------------------------------------------------------

lab_test!(
    /// v6_base_ok / v6_base_atk (SG-RULE-5, SG-ENF-11: IPv6 too).
    ipv6_syn_to_22_from_the_allowed_peer_and_the_attacker,
    |l| {
        setup(l);
        assert_eq!(inbound(l, &syn22(OK6, 40000)), BY_RULE);
        assert_eq!(inbound(l, &syn22(ATK6, 40000)), NO_RULE);
    }
);

lab_test!(
    /// v6_chain_ok / v6_chain_atk: hop-by-hop, destination options, a type-0 routing header
    /// with no segments left and destination options are walked to TCP (SG-ENF-11).
    ipv6_extension_chain_with_a_routing_header,
    |l| {
        setup(l);
        let chain = vec![Ext::HopByHop, Ext::DestOpts, Ext::Routing, Ext::DestOpts];
        let mut ok = syn22(OK6, 40000);
        ok.v6_ext = chain.clone();
        assert_eq!(inbound(l, &ok), BY_RULE);
        let mut atk = syn22(ATK6, 40000);
        atk.v6_ext = chain;
        assert_eq!(inbound(l, &atk), NO_RULE);
    }
);

lab_test!(
    /// v6_9ext_atk / v6_9ext_ok (?): chains are walked 8 headers deep (docs/design.md); a
    /// longer one is dropped and counted as malformed, never passed unjudged (SG-ENF-11,
    /// SG-ENF-12), whoever sends it.
    ipv6_nine_extension_headers_are_malformed,
    |l| {
        setup(l);
        for from in [ATK6, OK6] {
            let mut f = syn22(from, 40000);
            f.v6_ext = vec![Ext::HopByHop];
            f.v6_ext.extend(vec![Ext::DestOpts; 8]);
            assert_eq!(inbound(l, &f), MALFORMED, "from {from}");
        }
    }
);

lab_test!(
    /// v6_bigdo_atk / v6_bigdo_ok (?): an L4 header past the deepest offset the parser
    /// accepts (a 600-byte destination-options header) is dropped and counted as malformed
    /// (SG-ENF-11, SG-ENF-12), whoever sends it.
    ipv6_600_byte_destination_options_are_malformed,
    |l| {
        setup(l);
        for from in [ATK6, OK6] {
            let mut f = syn22(from, 40000);
            f.v6_ext = vec![Ext::DestOptsLen(600)];
            assert_eq!(inbound(l, &f), MALFORMED, "from {from}");
        }
    }
);

lab_test!(
    /// v6_ah_atk: the authentication header is walked (SG-ENF-11): the attacker's TCP 22
    /// behind it is refused by the rules, the allowed peer's passes.
    ipv6_authentication_header,
    |l| {
        setup(l);
        let mut atk = syn22(ATK6, 40000);
        atk.v6_ext = vec![Ext::Auth];
        assert_eq!(inbound(l, &atk), NO_RULE);
        let mut ok = syn22(OK6, 40000);
        ok.v6_ext = vec![Ext::Auth];
        assert_eq!(inbound(l, &ok), BY_RULE);
    }
);

lab_test!(
    /// v6_nonext_atk / v6_253_atk: "no next header" with a payload and an unassigned
    /// protocol are other protocols that need a rule (SG-RULE-2, SG-ENF-5).
    ipv6_no_next_header_and_protocol_253,
    |l| {
        setup(l);
        for proto in [59, 253] {
            let f = with_payload(Frame::new(ip(ATK6), ip(ME6), proto, vec![]), "v6_nonext");
            assert_eq!(inbound(l, &f), NO_RULE, "next header {proto}");
        }
    }
);

lab_test!(
    /// v6_udp_atk / v6_echo_atk / v6_echorep_atk (SG-RULE-5, SG-ENF-4).
    ipv6_attacker_udp_echo_and_unsolicited_echo_reply,
    |l| {
        setup(l);
        assert_eq!(inbound(l, &Frame::udp(ip(ATK6), ip(ME6), 53, 53)), NO_RULE);
        assert_eq!(
            inbound(l, &Frame::icmp(ip(ATK6), ip(ME6), 128, 0, 9)),
            NO_RULE
        );
        assert_eq!(
            inbound(l, &Frame::icmp(ip(ATK6), ip(ME6), 129, 0, 9)),
            NO_RULE
        );
    }
);

lab_test!(
    /// v6_mapped_atk: an IPv4-mapped IPv6 source is an IPv6 address; the IPv4 rule for the
    /// allowed peer does not cover it (SG-RULE-4).
    ipv6_v4_mapped_source,
    |l| {
        setup(l);
        assert_eq!(inbound(l, &syn22("::ffff:192.0.2.2", 40000)), NO_RULE);
    }
);

lab_test!(
    /// v6_ns_atk (?): a neighbour solicitation from an on-link neighbour, valid per RFC 4861
    /// (hop limit 255, right after the IPv6 header, its full length) and followed by bytes
    /// the ND options would hold, is never filtered (SG-ENF-10).
    ipv6_valid_ns_with_trailing_bytes_always_passes,
    |l| {
        setup(l);
        let f = with_payload(nd(ATK6, ME6, ns(ME6)), "v6_ns_atk");
        assert_eq!(inbound(l, &f), ALWAYS);
    }
);

lab_test!(
    /// v6_ns_do_atk (?), hole 3: ICMPv6 type 136 behind a destination-options header is not
    /// neighbour discovery (RFC 4861 messages follow the IPv6 header directly), so it is not
    /// in the never-filtered list (SG-ENF-10) and needs a rule like any ICMPv6 (SG-RULE-5).
    ipv6_na_behind_destination_options_needs_a_rule,
    |l| {
        setup(l);
        let mut f = with_payload(nd(ATK6, ME6, na(ATK6)), "v6_ns_do_atk");
        f.v6_ext = vec![Ext::DestOpts];
        assert_eq!(inbound(l, &f), NO_RULE);
    }
);

lab_test!(
    /// v6_frag_ok / v6_frag_atk / v6_fraglater_atk: IPv6 fragments follow their first
    /// fragment (SG-ENF-11).
    ipv6_fragmented_tcp_22,
    |l| {
        setup(l);
        let ok = syn22(OK6, 40000).fragments(201, 24);
        assert_eq!(inbound(l, &ok[0]), BY_RULE);
        for f in &ok[1..] {
            assert_eq!(inbound(l, f), FOLLOWS);
        }
        let atk = syn22(ATK6, 40000).fragments(202, 24);
        assert_eq!(inbound(l, &atk[0]), NO_RULE);
        for f in &atk[1..] {
            assert_eq!(inbound(l, f), ORPHAN);
        }
        for f in &syn22(ATK6, 40001).fragments(203, 24)[1..] {
            assert_eq!(inbound(l, f), ORPHAN, "later fragments alone");
        }
    }
);

lab_test!(
    /// v6_atomic_atk: an atomic fragment (offset 0, no more fragments) is judged on its L4
    /// header (SG-ENF-11).
    ipv6_atomic_fragment,
    |l| {
        setup(l);
        let mut atk = syn22(ATK6, 40000);
        atk.frag = Some((204, 0, false));
        assert_eq!(inbound(l, &atk), NO_RULE);
        let mut ok = syn22(OK6, 40000);
        ok.frag = Some((205, 0, false));
        assert_eq!(inbound(l, &ok), BY_RULE);
    }
);

lab_test!(
    /// v6_frag_split_atk / v6_frag_split_ok (?): a first fragment that ends after a
    /// destination-options header holds no L4 header to judge (RFC 7112 requires the whole
    /// chain in the first fragment): malformed, from anyone, and the fragment with the TCP
    /// header has no first (SG-ENF-11, SG-ENF-12).
    ipv6_header_chain_split_across_fragments,
    |l| {
        setup(l);
        for (from, id) in [(ATK6, 206), (OK6, 207)] {
            let mut first = Frame::new(ip(from), ip(ME6), 6, vec![]);
            first.v6_ext = vec![Ext::Fragment(id, 0, true), Ext::DestOpts];
            let mut second = Frame::new(ip(from), ip(ME6), 60, tcp_in(from, 1234, 22, TCP_SYN).l4);
            second.frag = Some((id, 1, false));
            assert_eq!(inbound(l, &first), MALFORMED, "from {from}");
            assert_eq!(inbound(l, &second), ORPHAN, "from {from}");
        }
    }
);

lab_test!(
    /// v6_ndfrag_atk: whatever becomes of the first fragment of a fragmented neighbour
    /// solicitation (see `nd_in_fragments_needs_a_rule`), its later fragments never pass: an
    /// always-pass message admits no fragments (SG-ENF-10, SG-ENF-11).
    ipv6_fragmented_ns_later_fragments_are_dropped,
    |l| {
        setup(l);
        let mut f = nd(ATK6, ME6, ns(ME6));
        f.l4.extend_from_slice(&[0x42; 120]);
        let frags = f.fragments(208, 48);
        let (_, first_counted) = inbound(l, &frags[0]);
        assert!(
            ["pass_always", "drop_no_rule"].contains(&first_counted),
            "{first_counted}"
        );
        for f in &frags[1..] {
            assert_eq!(inbound(l, f), ORPHAN);
        }
    }
);

lab_test!(
    /// v6_2frag_atk: two fragment headers (a first fragment of one id holding an atomic
    /// fragment of another) still lead to the TCP header, judged by the rules (SG-ENF-11).
    ipv6_two_fragment_headers,
    |l| {
        setup(l);
        let mut f = syn22(ATK6, 40000);
        f.v6_ext = vec![Ext::Fragment(209, 0, true), Ext::Fragment(216, 0, false)];
        assert_eq!(inbound(l, &f), NO_RULE);
    }
);

// --- attack_basic.py: VLAN tags, broadcast, multicast, link-local -----------------------------

lab_test!(
    /// vlan_ok_prio (?) / vlan_atk_prio / vlan_atk_vid5: a tagged frame is judged on the IP
    /// packet it carries, whatever the VLAN id (SG-ENF-11): the allowed peer's SYN passes,
    /// the attacker's does not.
    vlan_single_tag,
    |l| {
        setup(l);
        for vid in [0, 5] {
            let mut ok = syn22(OK4, 40000 + vid);
            ok.vlans = vec![vid];
            assert_eq!(inbound(l, &ok), BY_RULE, "VID {vid}");
            let mut atk = syn22(ATK4, 40000 + vid);
            atk.vlans = vec![vid];
            assert_eq!(inbound(l, &atk), NO_RULE, "VID {vid}");
        }
    }
);

lab_test!(
    /// vlan_ok_qinq (?) / vlan_atk_qinq / vlan_atk_ad: two tags, 802.1Q/802.1Q or
    /// 802.1ad/802.1Q, are skipped to the IP packet (SG-ENF-11).
    vlan_two_tags,
    |l| {
        setup(l);
        for (sport, tpids) in [(40000, vec![0x8100, 0x8100]), (40001, vec![0x88a8, 0x8100])] {
            let mut ok = syn22(OK4, sport);
            ok.vlans = vec![0, 0];
            ok.vlan_tpids = tpids.clone();
            assert_eq!(inbound(l, &ok), BY_RULE, "{tpids:x?}");
            let mut atk = syn22(ATK4, sport);
            atk.vlans = vec![0, 0];
            atk.vlan_tpids = tpids.clone();
            assert_eq!(inbound(l, &atk), NO_RULE, "{tpids:x?}");
        }
    }
);

lab_test!(
    /// vlan_atk_3 / vlan_atk_4: past two tags (docs/design.md) the frame is dropped and
    /// counted as malformed, never passed as non-IP (SG-ENF-11, SG-ENF-12), from anyone.
    vlan_three_and_four_tags_are_malformed,
    |l| {
        setup(l);
        for (from, tags) in [(ATK4, 3), (ATK4, 4), (OK4, 3)] {
            let mut f = syn22(from, 40000);
            f.vlans = vec![0; tags];
            f.vlan_tpids = vec![0x8100; tags];
            assert_eq!(inbound(l, &f), MALFORMED, "{tags} tags from {from}");
        }
    }
);

lab_test!(
    /// bcast_atk_udp / bcast_atk_subnet / mcast_atk_igmp / mcast6_atk_udp: broadcast and
    /// multicast destinations are no way around the rules (SG-RULE-5).
    broadcast_and_multicast_from_the_attacker,
    |l| {
        setup(l);
        for dst in ["255.255.255.255", "192.0.2.255"] {
            assert_eq!(
                inbound(l, &Frame::udp(ip(ATK4), ip(dst), 5, 5)),
                NO_RULE,
                "to {dst}"
            );
        }
        let igmp = Frame::new(ip(ATK4), ip("224.0.0.1"), 2, vec![0x11, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(inbound(l, &igmp), NO_RULE);
        assert_eq!(
            inbound(l, &Frame::udp(ip(ATK6), ip("ff02::1"), 5, 5)),
            NO_RULE
        );
    }
);

lab_test!(
    /// ll6_atk: a link-local source is just another address the rules do not cover
    /// (SG-RULE-4).
    link_local_source_to_22,
    |l| {
        setup(l);
        assert_eq!(inbound(l, &syn22("fe80::66", 40000)), NO_RULE);
    }
);

// --- attack_state.py: replies and connection tracking ------------------------------------------

lab_test!(
    /// udp_reply_*: the reply to the instance's UDP flow passes on the flow alone; another
    /// source port, another host, another local port or another protocol needs a rule
    /// (SG-ENF-1).
    udp_replies_to_a_tracked_flow,
    |l| {
        setup(l);
        assert_eq!(
            outbound(l, &Frame::udp(ip(ME4), ip(SRV4), 40000, 53)),
            BY_RULE
        );
        assert_eq!(
            inbound(l, &Frame::udp(ip(SRV4), ip(ME4), 53, 40000)),
            TRACKED
        );
        for (f, what) in [
            (Frame::udp(ip(SRV4), ip(ME4), 54, 40000), "other source port"),
            (Frame::udp(ip(ATK4), ip(ME4), 53, 40000), "other host"),
            (Frame::udp(ip(SRV4), ip(ME4), 53, 40001), "other local port"),
            (
                Frame::tcp(ip(SRV4), ip(ME4), 53, 40000, TCP_SYN),
                "TCP on the UDP flow's ports",
            ),
        ] {
            assert_eq!(inbound(l, &f), NO_RULE, "{what}");
        }
    }
);

lab_test!(
    /// icmp_err_srv / icmp_fragneeded_atk / icmp_redirect_atk / icmp_ts_atk: ICMP errors
    /// quoting a tracked flow are not part of it and need a rule (SG-ENF-8, SG-ENF-4), as do
    /// redirects and timestamp requests.
    icmp_errors_quoting_a_tracked_flow_need_a_rule,
    |l| {
        setup(l);
        let flow = Frame::udp(ip(ME4), ip(SRV4), 40000, 53);
        assert_eq!(outbound(l, &flow), BY_RULE);
                for (from, t, code, rest, what) in [
            (SRV4, 3, 3, [0; 4], "port unreachable from the server"),
            (ATK4, 3, 4, [0, 0, 2, 64], "fragmentation needed (MTU 576)"),
            (ATK4, 5, 1, a4(ATK4).octets(), "redirect to the attacker"),
        ] {
            let f = Frame::new(ip(from), ip(ME4), 1, icmp_error(t, code, rest, &flow));
            assert_eq!(inbound(l, &f), NO_RULE, "{what}");
        }
        let mut timestamp = Frame::icmp(ip(ATK4), ip(ME4), 13, 0, 7);
        timestamp.l4.extend_from_slice(&[0; 12]);
        assert_eq!(inbound(l, &timestamp), NO_RULE, "timestamp request");
    }
);

lab_test!(
    /// echo_reply_* / echo_req_rides / echo_err_rides: an echo is tracked by identifier and
    /// by who pinged (SG-ENF-4): only the server's reply with the same identifier rides on
    /// the instance's ping; an error quoting the ping needs a rule (SG-ENF-8).
    echo_replies_ride_only_on_their_own_ping,
    |l| {
        setup(l);
        let ping = Frame::icmp(ip(ME4), ip(SRV4), 8, 0, 4242);
        assert_eq!(outbound(l, &ping), BY_RULE);
        assert_eq!(
            inbound(l, &Frame::icmp(ip(SRV4), ip(ME4), 0, 0, 4242)),
            TRACKED
        );
        for (f, what) in [
            (Frame::icmp(ip(ATK4), ip(ME4), 0, 0, 4242), "reply from another host"),
            (Frame::icmp(ip(SRV4), ip(ME4), 0, 0, 4243), "another identifier"),
            (
                Frame::icmp(ip(SRV4), ip(ME4), 8, 0, 4242),
                "a request with the ping's identifier",
            ),
            (
                Frame::new(ip(SRV4), ip(ME4), 1, icmp_error(3, 1, [0; 4], &ping)),
                "host unreachable quoting the ping",
            ),
        ] {
            assert_eq!(inbound(l, &f), NO_RULE, "{what}");
        }
    }
);

lab_test!(
    /// gre_reply_srv / gre_atk / gre_srv_as_ipip: after the instance sent GRE to the server,
    /// the server's GRE is admitted, nobody else's, and no other protocol of the server's
    /// (SG-ENF-5).
    other_protocol_answers_only_from_the_host_spoken_to,
    |l| {
        setup(l);
        let gre = |s: &str, d: &str| Frame::new(ip(s), ip(d), 47, b"\0\0\x08\0gre".to_vec());
        assert_eq!(outbound(l, &gre(ME4, SRV4)), BY_RULE);
        assert_eq!(inbound(l, &gre(SRV4, ME4)), TRACKED);
        assert_eq!(inbound(l, &gre(ATK4, ME4)), NO_RULE);
        let inner = Frame::udp(ip(ATK4), ip(ME4), 9, 9);
        let ipip = Frame::new(ip(SRV4), ip(ME4), 4, inner.packet());
        assert_eq!(inbound(l, &ipip), NO_RULE);
    }
);

lab_test!(
    /// The spoofed ACK sweep: after the instance's unanswered SYN to 192.0.2.99:81, ACKs
    /// "from" 192.0.2.99:81 to other local ports are dropped and neither create an entry nor
    /// touch the SYN-sent one (SG-ENF-1, SG-ENF-9).
    spoofed_acks_change_no_connection_state,
    |l| {
        setup(l);
        let silent = "192.0.2.99";
        assert_eq!(
            outbound(l, &Frame::tcp(ip(ME4), ip(silent), 40000, 81, TCP_SYN)),
            BY_RULE
        );
        let snapshot = |l: &Lab| -> Vec<_> {
            l.dp.conntrack()
                .into_iter()
                .map(|f| (f.key, f.value))
                .collect()
        };
        let before = snapshot(l);
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].1.state, CT_STATE_NEW, "SYN sent");
        for (i, port) in [32768u16, 40001, 49999, 60999].into_iter().enumerate() {
            let mut t = Tcp::new(81, port, TCP_ACK);
            t.seq = 0x1000_0000 * (i as u32 + 1);
            t.ack = 0x0badcafe ^ i as u32;
            let f = Frame::new(ip(silent), ip(ME4), 6, t.bytes());
            assert_eq!(inbound(l, &f), NO_RULE, "ACK to {port}");
        }
        assert_eq!(snapshot(l), before);
    }
);

lab_test!(
    /// ack_ok_nostate: an ACK the rules allow passes but opens no tracked flow: only a SYN
    /// does (SG-ENF-9: forged mid-stream packets take no room; SG-ENF-2).
    allowed_unsolicited_ack_creates_no_entry,
    |l| {
        setup(l);
        assert_eq!(inbound(l, &tcp_in(OK4, 5555, 22, TCP_ACK)), BY_RULE);
        assert!(l.dp.conntrack().is_empty());
    }
);

// --- attack_host.py: host mode, the source/destination check ----------------------------------

lab_test!(
    /// h_legit_udp / h_legit6_udp: the instance's own addresses pass the check and the
    /// default outbound rules (SG-IF-5, SG-GRP-4).
    host_own_source_passes,
    |l| {
        setup_host(l, true);
        assert_eq!(
            from_instance(l, &Frame::udp(ip(VM4), ip(OUT4), 5, 5)),
            BY_RULE
        );
        assert_eq!(
            from_instance(l, &Frame::udp(ip(VM6), ip(OUT6), 5, 5)),
            BY_RULE
        );
    }
);

lab_test!(
    /// h_spoof_udp / h_spoof_out_src / h_spoof6_udp / h_spoof_mapped / h_spoof_ll6: any
    /// source but a declared address is dropped and counted (SG-IF-5), the IPv4-mapped form of
    /// the instance's own IPv4 address and link-local sources included.
    host_spoofed_sources_are_dropped,
    |l| {
        setup_host(l, true);
        for (src, dst) in [
            (SPOOF4, OUT4),
            ("198.51.100.9", OUT4),
            (SPOOF6, OUT6),
            ("::ffff:192.0.2.10", OUT6),
            ("fe80::77", OUT6),
        ] {
            assert_eq!(
                from_instance(l, &Frame::udp(ip(src), ip(dst), 5, 5)),
                SPOOFED,
                "from {src}"
            );
        }
    }
);

lab_test!(
    /// h_spoof_frag_later: the check comes before fragment handling: a spoofed later fragment
    /// is a spoofed packet (SG-IF-5, SG-ENF-11).
    host_spoofed_later_fragment,
    |l| {
        setup_host(l, true);
        let f = Frame::new(ip(SPOOF4), ip(OUT4), 17, udp(5, 5, 64));
        for later in &f.fragments(301, 24)[1..] {
            assert_eq!(from_instance(l, later), SPOOFED);
        }
    }
);

lab_test!(
    /// h_spoof_vlan0 / h_spoof_qinq: VLAN tags do not hide a spoofed source (SG-IF-5).
    host_spoofed_source_inside_vlan_tags,
    |l| {
        setup_host(l, true);
        for tags in [1, 2] {
            let mut f = Frame::udp(ip(SPOOF4), ip(OUT4), 5, 5);
            f.vlans = vec![0; tags];
            f.vlan_tpids = vec![0x8100; tags];
            assert_eq!(from_instance(l, &f), SPOOFED, "{tags} tags");
        }
    }
);

lab_test!(
    /// h_spoof6_ns / h_spoof6_na / h_spoof6_rs / h_spoof6_redir / h_spoof6_nscode, hole 3:
    /// ICMPv6 types 133-137 that are not valid neighbour discovery (hop limit 64, behind
    /// extension headers, code 7) are no exception to the source/destination check
    /// (SG-IF-5, SG-ENF-10).
    host_spoofed_nd_lookalikes_are_dropped,
    |l| {
        setup_host(l, true);
        let mut cases = vec![];
        let mut f = with_payload(nd(SPOOF6, OUT6, ns(OUT6)), "h_spoof6_ns");
        f.hop_limit = 64;
        cases.push((f, "NS"));
        let mut f = nd("2001:db8:dead::1", OUT6, na(OUT6));
        f.hop_limit = 64;
        cases.push((f, "NA"));
        let mut f = nd(SPOOF6, OUT6, Nd::RouterSolicitation);
        f.hop_limit = 64;
        f.v6_ext = vec![Ext::HopByHop, Ext::DestOpts];
        cases.push((f, "RS behind hop-by-hop and destination options"));
        let mut f = nd(SPOOF6, OUT6, redirect(OUT6, OUT6));
        f.hop_limit = 64;
        cases.push((f, "Redirect"));
        let mut f = nd(SPOOF6, OUT6, ns(OUT6));
        f.hop_limit = 64;
        f.l4[1] = 7; // code
        cases.push((f, "NS code 7"));
        for (f, what) in cases {
            assert_eq!(from_instance(l, &f), SPOOFED, "{what}");
        }
    }
);

// --- poc_nd_egress.py: host mode without outbound rules ----------------------------------------

lab_test!(
    /// nd_ctrl_udp_own / nd_ctrl_echo_own: a group without outbound rules lets nothing out
    /// (SG-GRP-4, SG-RULE-5).
    host_no_outbound_rules_lets_nothing_out,
    |l| {
        setup_host(l, false);
        assert_eq!(
            from_instance(l, &Frame::udp(ip(VM6), ip(OUT6), 4711, 4712)),
            NO_RULE
        );
        assert_eq!(
            from_instance(l, &Frame::icmp(ip(VM6), ip(OUT6), 128, 0, 1)),
            NO_RULE
        );
    }
);

lab_test!(
    /// nd_own_ns / nd_spoof_ns / nd_spoof_136_code9, hole 3: ICMPv6 types 135/136 to an
    /// off-link host, with arbitrary payload, a spoofed source, behind a destination-options
    /// header or with code 9, are not neighbour discovery (SG-ENF-10): without outbound rules
    /// they are dropped (SG-GRP-4), spoofed ones by the check (SG-IF-5).
    host_nd_lookalikes_leave_no_instance_without_rules,
    |l| {
        setup_host(l, false);
        let mut own = with_payload(nd(VM6, OUT6, ns(OUT6)), "nd_own_ns");
        own.hop_limit = 64;
        assert_eq!(from_instance(l, &own), NO_RULE, "own source");
        let mut spoofed = with_payload(nd("2001:db8:bad::1", OUT6, ns(OUT6)), "nd_spoof_ns");
        spoofed.hop_limit = 64;
        assert_eq!(from_instance(l, &spoofed), SPOOFED, "spoofed source");
        let mut f = with_payload(nd("2001:db8:bad::2", OUT6, na(OUT6)), "nd_spoof_136_code9");
        f.hop_limit = 64;
        f.l4[1] = 9; // code
        f.v6_ext = vec![Ext::DestOpts];
        assert_eq!(from_instance(l, &f), SPOOFED, "type 136 code 9 behind options");
        // The same NS with hop limit 255, from the instance's own address, is still not ND:
        // an instance's ND goes to link-local or link-scope multicast destinations only.
        let mut off_link = nd(VM6, OUT6, ns(OUT6));
        off_link.hop_limit = 255;
        assert_eq!(from_instance(l, &off_link), NO_RULE, "NS to an off-link host");
    }
);

// --- Neighbour discovery (SG-ENF-10), hole 3 ---------------------------------------------------

lab_test!(
    /// Valid neighbour and router discovery (RFC 4861) passes with no rule for it, both
    /// ways, counted as always passed (SG-ENF-10): router and neighbour solicitations and
    /// advertisements, redirects, duplicate address detection (NS from :: to the
    /// solicited-node address), router solicitations from ::, with and without options.
    nd_valid_messages_pass_without_rules,
    |l| {
        setup_no_egress(l);
        let slla = lladdr_option(1, [0x02, 0, 0, 0, 0, 2]);
        let tlla = lladdr_option(2, [0x02, 0, 0, 0, 0, 2]);
        let with = |mut f: Frame, option: &[u8]| {
            f.l4.extend_from_slice(option);
            f
        };
        let me_sol = sol(ME6);
        for (f, what) in [
            (nd(NEIGH_LL, "ff02::2", Nd::RouterSolicitation), "RS"),
            (nd("::", "ff02::2", Nd::RouterSolicitation), "RS from ::"),
            (
                with(nd(NEIGH_LL, "ff02::1", Nd::RouterAdvertisement), &slla),
                "RA to all nodes",
            ),
            (nd(NEIGH_LL, ME_LL, Nd::RouterAdvertisement), "RA, unicast"),
            (
                with(nd(NEIGH_LL, &me_sol, ns(ME6)), &slla),
                "NS to the solicited-node address",
            ),
            (nd(ATK6, ME6, ns(ME6)), "NS, unicast, from a global address"),
            (nd("::", &me_sol, ns(ME6)), "DAD"),
            (with(nd(NEIGH_LL, ME_LL, na(NEIGH_LL)), &tlla), "NA"),
            (nd(ATK6, "ff02::1", na(ATK6)), "unsolicited NA"),
            (
                nd(NEIGH_LL, ME6, redirect("fe80::3", "2001:db8:ffff::9")),
                "Redirect",
            ),
        ] {
            assert_eq!(inbound(l, &f), ALWAYS, "inbound {what}");
        }
        for (f, what) in [
            (nd("::", "ff02::2", Nd::RouterSolicitation), "RS from ::"),
            (
                with(nd(ME_LL, "ff02::2", Nd::RouterSolicitation), &slla),
                "RS",
            ),
            (nd("::", &me_sol, ns(ME6)), "DAD"),
            (nd(ME_LL, &sol(NEIGH_LL), ns(NEIGH_LL)), "NS"),
            (nd(ME6, NEIGH_LL, ns(NEIGH_LL)), "NS to a link-local address"),
            (nd(ME6, NEIGH_LL, na(ME6)), "NA"),
            (with(nd(ME_LL, "ff02::1", na(ME6)), &tlla), "unsolicited NA"),
            (nd(ME_LL, "ff02::1", Nd::RouterAdvertisement), "RA"),
            (
                nd(ME_LL, NEIGH_LL, redirect("fe80::3", "2001:db8::99")),
                "Redirect",
            ),
        ] {
            assert_eq!(outbound(l, &f), ALWAYS, "outbound {what}");
        }
    }
);

lab_test!(
    /// Hole 3: neighbour discovery comes with hop limit 255 (RFC 4861: a message from off
    /// link has a lower one); otherwise it is ICMPv6 that needs a rule (SG-ENF-10,
    /// SG-RULE-5).
    nd_hop_limit_below_255_needs_a_rule,
    |l| {
        setup_no_egress(l);
        for hop_limit in [64, 254] {
            for msg in [
                Nd::RouterSolicitation,
                Nd::RouterAdvertisement,
                ns(ME6),
                na(NEIGH_LL),
                redirect("fe80::3", "2001:db8:ffff::9"),
            ] {
                let mut f = nd(NEIGH_LL, ME6, msg);
                f.hop_limit = hop_limit;
                assert_eq!(inbound(l, &f), NO_RULE, "{msg:?}, hop limit {hop_limit}");
            }
            let mut f = nd(ME_LL, &sol(NEIGH_LL), ns(NEIGH_LL));
            f.hop_limit = hop_limit;
            assert_eq!(outbound(l, &f), NO_RULE, "outbound NS, hop limit {hop_limit}");
        }
    }
);

lab_test!(
    /// Hole 3: neighbour discovery has code 0 (SG-ENF-10, SG-RULE-5).
    nd_code_other_than_0_needs_a_rule,
    |l| {
        setup_no_egress(l);
        for (msg, code) in [(ns(ME6), 1), (na(NEIGH_LL), 9), (Nd::RouterAdvertisement, 255)] {
            let mut f = nd(NEIGH_LL, ME6, msg);
            f.l4[1] = code;
            assert_eq!(inbound(l, &f), NO_RULE, "{msg:?} code {code}");
        }
        let mut f = nd(ME_LL, "ff02::2", Nd::RouterSolicitation);
        f.l4[1] = 1;
        assert_eq!(outbound(l, &f), NO_RULE, "outbound RS code 1");
    }
);

lab_test!(
    /// Hole 3: neighbour discovery follows the IPv6 header directly; behind hop-by-hop or
    /// destination options it is ICMPv6 that needs a rule (SG-ENF-10, SG-RULE-5).
    nd_behind_extension_headers_needs_a_rule,
    |l| {
        setup_no_egress(l);
        for chain in [
            vec![Ext::HopByHop],
            vec![Ext::DestOpts],
            vec![Ext::HopByHop, Ext::DestOpts],
        ] {
            let mut f = nd(NEIGH_LL, &sol(ME6), ns(ME6));
            f.v6_ext = chain.clone();
            assert_eq!(inbound(l, &f), NO_RULE, "NS behind {chain:?}");
            let mut f = nd(ME_LL, "ff02::2", Nd::RouterSolicitation);
            f.v6_ext = chain.clone();
            assert_eq!(outbound(l, &f), NO_RULE, "outbound RS behind {chain:?}");
        }
    }
);

lab_test!(
    /// Hole 3 (v6_ndfrag_atk): neighbour discovery is never fragmented (RFC 6980): a first or
    /// atomic fragment of type 135 is ICMPv6 that needs a rule (SG-ENF-10, SG-ENF-11).
    nd_in_fragments_needs_a_rule,
    |l| {
        setup_no_egress(l);
        let mut f = nd(ATK6, ME6, ns(ME6));
        f.l4.extend_from_slice(&[0x42; 120]);
        let frags = f.fragments(401, 48);
        assert_eq!(inbound(l, &frags[0]), NO_RULE, "first fragment");
        let mut atomic = nd(NEIGH_LL, &sol(ME6), ns(ME6));
        atomic.frag = Some((402, 0, false));
        assert_eq!(inbound(l, &atomic), NO_RULE, "atomic fragment");
        let mut out = nd(ME_LL, &sol(NEIGH_LL), ns(NEIGH_LL));
        out.frag = Some((403, 0, false));
        assert_eq!(outbound(l, &out), NO_RULE, "outbound atomic fragment");
    }
);

lab_test!(
    /// Hole 3: a message shorter than its type's minimum (RA 16, NS 24, NA 24, Redirect 40
    /// bytes), or one whose length runs past the frame, is not neighbour discovery
    /// (SG-ENF-10, SG-RULE-5).
    nd_wrong_length_needs_a_rule,
    |l| {
        setup_no_egress(l);
        for (msg, len) in [
            (Nd::RouterAdvertisement, 12),
            (ns(ME6), 16),
            (na(NEIGH_LL), 20),
            (redirect("fe80::3", "2001:db8:ffff::9"), 24),
            (redirect("fe80::3", "2001:db8:ffff::9"), 39),
        ] {
            let mut f = nd(NEIGH_LL, ME6, msg);
            f.l4.truncate(len);
            assert_eq!(inbound(l, &f), NO_RULE, "{msg:?} of {len} bytes");
        }
        let mut f = nd(NEIGH_LL, &sol(ME6), ns(ME6));
        f.ip_len = Some(24 + 40);
        assert_eq!(inbound(l, &f), NO_RULE, "NS whose length runs past the frame");
        let mut f = nd(ME_LL, &sol(NEIGH_LL), ns(NEIGH_LL));
        f.l4.truncate(16);
        assert_eq!(outbound(l, &f), NO_RULE, "outbound NS of 16 bytes");
    }
);

lab_test!(
    /// Hole 3: neighbour discovery never comes from a multicast source (SG-ENF-10).
    nd_from_a_multicast_source_needs_a_rule,
    |l| {
        setup_no_egress(l);
        assert_eq!(
            inbound(l, &nd("ff02::1", &sol(ME6), ns(ME6))),
            NO_RULE,
            "NS"
        );
        assert_eq!(
            inbound(l, &nd("ff02::2", "ff02::1", na("fe80::9"))),
            NO_RULE,
            "NA"
        );
        assert_eq!(
            outbound(l, &nd("ff02::1", "ff02::1", Nd::RouterAdvertisement)),
            NO_RULE,
            "outbound RA"
        );
    }
);

lab_test!(
    /// Hole 3: router advertisements and redirects come from a router's link-local address
    /// only (RFC 4861 6.1.2, 8.1): from a global or the unspecified address they need a rule
    /// (SG-ENF-10).
    nd_router_messages_only_from_link_local,
    |l| {
        setup_no_egress(l);
        for (f, what) in [
            (nd(ATK6, "ff02::1", Nd::RouterAdvertisement), "RA from a global address"),
            (nd("::", "ff02::1", Nd::RouterAdvertisement), "RA from ::"),
            (
                nd(ATK6, ME6, redirect("fe80::3", "2001:db8:ffff::9")),
                "Redirect from a global address",
            ),
        ] {
            assert_eq!(inbound(l, &f), NO_RULE, "{what}");
        }
        assert_eq!(
            outbound(l, &nd(ME6, "ff02::1", Nd::RouterAdvertisement)),
            NO_RULE,
            "outbound RA from a global address"
        );
        assert_eq!(
            outbound(l, &nd(ME6, NEIGH_LL, redirect("fe80::3", "2001:db8::99"))),
            NO_RULE,
            "outbound Redirect from a global address"
        );
    }
);

lab_test!(
    /// Hole 3: the unspecified source is for router solicitations and for duplicate address
    /// detection (NS to a solicited-node address) only; an NA from :: or an NS from :: to
    /// another destination needs a rule (SG-ENF-10).
    nd_unspecified_source_only_for_rs_and_dad,
    |l| {
        setup_no_egress(l);
        for (f, what) in [
            (nd("::", "ff02::1", na(ME6)), "NA from ::"),
            (nd("::", ME6, ns(ME6)), "NS from :: to a unicast address"),
            (nd("::", "ff02::1", ns(ME6)), "NS from :: to all nodes"),
            (
                nd("::", ME6, redirect("fe80::3", "2001:db8:ffff::9")),
                "Redirect from ::",
            ),
        ] {
            assert_eq!(inbound(l, &f), NO_RULE, "{what}");
        }
        assert_eq!(
            outbound(l, &nd("::", "ff02::1", na(ME6))),
            NO_RULE,
            "outbound NA from ::"
        );
        assert_eq!(
            outbound(l, &nd("::", "ff02::2", ns(NEIGH_LL))),
            NO_RULE,
            "outbound NS from :: to all routers"
        );
    }
);

lab_test!(
    /// Hole 3: the target of a solicitation, advertisement or redirect is never a multicast
    /// address (SG-ENF-10).
    nd_multicast_target_needs_a_rule,
    |l| {
        setup_no_egress(l);
        for (f, what) in [
            (nd(NEIGH_LL, "ff02::1:ff00:1", ns("ff02::1")), "NS"),
            (nd(NEIGH_LL, ME_LL, na("ff02::1")), "NA"),
            (
                nd(NEIGH_LL, ME6, redirect("ff02::1", "2001:db8:ffff::9")),
                "Redirect",
            ),
        ] {
            assert_eq!(inbound(l, &f), NO_RULE, "{what} with a multicast target");
        }
        assert_eq!(
            outbound(l, &nd(ME_LL, NEIGH_LL, na("ff02::2"))),
            NO_RULE,
            "outbound NA with a multicast target"
        );
    }
);

lab_test!(
    /// Hole 3 (poc_nd_egress in instance mode): the instance's own neighbour discovery goes
    /// to link-local unicast or link-scope multicast (ff02::/16) destinations only; to a
    /// global or wider-scope multicast destination it is ICMPv6 that needs an outbound rule
    /// (SG-ENF-10, SG-GRP-4).
    nd_outbound_only_to_the_link,
    |l| {
        setup_no_egress(l);
        for (f, what) in [
            (nd(ME6, "2001:db8::99", ns("2001:db8::99")), "NS to a global address"),
            (nd(ME6, "2001:db8::99", na(ME6)), "NA to a global address"),
            (nd(ME_LL, "ff05::2", Nd::RouterSolicitation), "RS to site-scope multicast"),
            (
                nd(ME_LL, "ff0e::1:ff00:99", ns("2001:db8::99")),
                "NS to global-scope multicast",
            ),
        ] {
            assert_eq!(outbound(l, &f), NO_RULE, "{what}");
        }
    }
);

lab_test!(
    /// Hole 3: inbound neighbour discovery is addressed to a unicast address or link-scope
    /// multicast (ff02::/16); to a wider-scope multicast destination it needs a rule
    /// (SG-ENF-10).
    nd_inbound_to_wider_scope_multicast_needs_a_rule,
    |l| {
        setup_no_egress(l);
        assert_eq!(
            inbound(l, &nd(NEIGH_LL, "ff05::1", Nd::RouterAdvertisement)),
            NO_RULE,
            "RA to site-scope multicast"
        );
        assert_eq!(
            inbound(l, &nd(NEIGH_LL, "ff0e::1", na(NEIGH_LL))),
            NO_RULE,
            "NA to global-scope multicast"
        );
    }
);

lab_test!(
    /// Hole 3: what is not valid neighbour discovery is judged like any ICMPv6 (SG-RULE-3,
    /// SG-RULE-5): an ICMPv6 rule admits it, one for another type or source does not; valid
    /// ND still passes without a rule (SG-ENF-10).
    nd_invalid_is_judged_by_the_icmpv6_rules,
    |l| {
        let g = setup(l);
        l.world
            .authorize(
                &g,
                false,
                vec![perm("icmpv6", Some((135, -1)), "fe80::/10")],
            )
            .expect("authorize");
        l.apply();
        let mut hop64 = nd(NEIGH_LL, &sol(ME6), ns(ME6));
        hop64.hop_limit = 64;
        assert_eq!(inbound(l, &hop64), BY_RULE, "NS type 135 from fe80::/10");
        let mut na64 = nd(NEIGH_LL, ME_LL, na(NEIGH_LL));
        na64.hop_limit = 64;
        assert_eq!(inbound(l, &na64), NO_RULE, "NA: another type");
        let mut global = nd(ATK6, ME6, ns(ME6));
        global.hop_limit = 64;
        assert_eq!(inbound(l, &global), NO_RULE, "NS from outside fe80::/10");
        assert_eq!(inbound(l, &nd(NEIGH_LL, ME_LL, na(NEIGH_LL))), ALWAYS);
    }
);

lab_test!(
    /// Host mode: valid neighbour discovery passes without rules both ways (SG-ENF-10) and
    /// the source/destination check (SG-IF-5): from the instance with its own, a link-local
    /// or the unspecified source; to it at its own, a link-local or a link-scope multicast
    /// address.
    host_valid_nd_passes,
    |l| {
        setup_host(l, false);
        for (f, what) in [
            (nd("::", "ff02::2", Nd::RouterSolicitation), "RS from ::"),
            (nd(VM_LL, "ff02::2", Nd::RouterSolicitation), "RS"),
            (nd("::", &sol(VM6), ns(VM6)), "DAD"),
            (nd(VM_LL, &sol(HV_LL), ns(HV_LL)), "NS"),
            (nd(VM6, HV_LL, na(VM6)), "NA from its own address"),
        ] {
            assert_eq!(from_instance(l, &f), ALWAYS, "from the instance: {what}");
        }
        for (f, what) in [
            (nd(HV_LL, "ff02::1", Nd::RouterAdvertisement), "RA"),
            (nd(HV_LL, &sol(VM6), ns(VM6)), "NS"),
            (nd(HV_LL, VM_LL, na(HV_LL)), "NA to its link-local address"),
            (nd(HV_LL, VM6, na(HV_LL)), "NA to its own address"),
            (nd(HV_LL, VM6, redirect("fe80::2", OUT6)), "Redirect"),
        ] {
            assert_eq!(to_instance(l, &f), ALWAYS, "to the instance: {what}");
        }
    }
);

lab_test!(
    /// Hole 3, host mode: with the source/destination check on, neighbour discovery from
    /// the instance with a source that is neither its own, link-local nor unspecified, or to
    /// it at a destination that is neither its own, link-local nor link-scope multicast, is
    /// spoofed traffic (SG-IF-5, SG-ENF-10).
    host_nd_is_source_and_destination_checked,
    |l| {
        setup_host(l, true);
        for (f, what) in [
            (nd(SPOOF6, HV_LL, na(SPOOF6)), "NA from another address"),
            (
                nd("2001:db8:bad::1", &sol(HV_LL), ns(HV_LL)),
                "NS from another address",
            ),
        ] {
            assert_eq!(from_instance(l, &f), SPOOFED, "from the instance: {what}");
        }
        for (f, what) in [
            (nd(HV_LL, SPOOF6, ns(SPOOF6)), "NS to another address"),
            (nd(HV_LL, SPOOF6, Nd::RouterAdvertisement), "RA to another address"),
        ] {
            assert_eq!(to_instance(l, &f), SPOOFED, "to the instance: {what}");
        }
    }
);

// --- "Also seen": ICMP of the other family is another protocol (SG-ENF-5) ---------------------

lab_test!(
    /// Protocol 58 over IPv4 is not ICMP of its family: it is another protocol, tracked by
    /// addresses and protocol number (SG-ENF-5): after the instance sent it to B, B's
    /// packets of protocol 58 are admitted for 600 s whatever their content, nobody else's.
    icmpv6_over_ipv4_is_tracked_as_another_protocol,
    |l| {
        setup(l);
        let peer = "203.0.113.7";
        assert_eq!(
            outbound(l, &Frame::new(ip(ME4), ip(peer), 58, icmp(128, 0, 7))),
            BY_RULE
        );
        let answer = Frame::new(ip(peer), ip(ME4), 58, icmp(135, 3, 99));
        assert_eq!(inbound(l, &answer), TRACKED, "B answers within 600 s");
        assert_eq!(
            inbound(l, &Frame::new(ip(ATK4), ip(ME4), 58, icmp(129, 0, 7))),
            NO_RULE,
            "another host"
        );
        l.dp.age_conntrack(Duration::from_secs(599));
        assert_eq!(inbound(l, &answer), TRACKED, "idle 599 s");
        l.dp.age_conntrack(Duration::from_secs(601));
        assert_eq!(inbound(l, &answer), NO_RULE, "idle 601 s");
    }
);

lab_test!(
    /// Protocol 1 over IPv6 is not ICMPv6: it is another protocol, tracked by addresses and
    /// protocol number (SG-ENF-5).
    icmp_over_ipv6_is_tracked_as_another_protocol,
    |l| {
        setup(l);
        let peer = "2001:db8:ffff::7";
        assert_eq!(
            outbound(l, &Frame::new(ip(ME6), ip(peer), 1, icmp(8, 0, 7))),
            BY_RULE
        );
        let answer = Frame::new(ip(peer), ip(ME6), 1, icmp(3, 3, 0));
        assert_eq!(inbound(l, &answer), TRACKED, "B answers within 600 s");
        assert_eq!(
            inbound(l, &Frame::new(ip(ATK6), ip(ME6), 1, icmp(0, 0, 7))),
            NO_RULE,
            "another host"
        );
        l.dp.age_conntrack(Duration::from_secs(601));
        assert_eq!(inbound(l, &answer), NO_RULE, "idle 601 s");
    }
);
