//! `TestRun` verdicts of the loaded datapath on crafted packets, one or more per SG-ENF line
//! and per parsing case. Instance mode: inbound = XDP, outbound = TC egress.

use std::time::Duration;

use sg_tests::{
    frame::{Ext, Frame, Nd, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, arp},
    lab::{IFACE, Lab, with_lab, with_lab_opts},
    require_root,
};
use sg_userspace::testkit::{ip, perm};

const ME4: &str = "192.0.2.1";
const ME6: &str = "2001:db8::1";
const PEER4: &str = "203.0.113.7";
const OTHER4: &str = "198.51.100.9";
const PEER6: &str = "2001:db8:ffff::7";

macro_rules! lab_test {
    ($name:ident, $body:expr) => {
        #[test]
        fn $name() {
            if !require_root(stringify!($name)) {
                return;
            }
            with_lab($body);
        }
    };
}

/// A group with the given inbound permissions attached to the lab interface.
fn setup(l: &mut Lab, inbound: Vec<sg_userspace::api::IpPermission>) -> String {
    let g = l.world.group("lab");
    if !inbound.is_empty() {
        l.world.authorize(&g, false, inbound).expect("authorize");
    }
    l.world
        .attach(IFACE, &[&g], &[ip(ME4), ip(ME6)])
        .expect("attach");
    l.apply();
    g
}

fn tcp_in(from: &str, sport: u16, dport: u16, flags: u8) -> Frame {
    let to = if from.contains(':') { ME6 } else { ME4 };
    Frame::tcp(ip(from), ip(to), sport, dport, flags)
}

/// A RST that refuses a SYN sent with sequence number 0: it acknowledges the SYN exactly
/// (SG-ENF-13).
fn refusal(from: &str, sport: u16, dport: u16) -> Frame {
    let mut f = tcp_in(from, sport, dport, TCP_RST | TCP_ACK);
    f.l4[8..12].copy_from_slice(&1u32.to_be_bytes());
    f
}

fn tcp_out(to: &str, sport: u16, dport: u16, flags: u8) -> Frame {
    let from = if to.contains(':') { ME6 } else { ME4 };
    Frame::tcp(ip(from), ip(to), sport, dport, flags)
}

lab_test!(sg_enf_1_replies_pass_whatever_the_inbound_rules, |l| {
    setup(l, vec![]);
    assert!(l.outbound(&tcp_out(PEER4, 40000, 443, TCP_SYN)));
    assert!(
        l.inbound(&tcp_in(PEER4, 443, 40000, TCP_SYN | TCP_ACK)),
        "reply"
    );
    assert!(l.inbound(&tcp_in(PEER4, 443, 40000, TCP_ACK)));
    assert!(
        !l.inbound(&tcp_in(PEER4, 443, 40001, TCP_ACK)),
        "another flow"
    );
    assert!(
        !l.inbound(&tcp_in(OTHER4, 443, 40000, TCP_ACK)),
        "another host"
    );
    assert!(l.outbound(&tcp_out(PEER6, 40000, 443, TCP_SYN)));
    assert!(
        l.inbound(&tcp_in(PEER6, 443, 40000, TCP_SYN | TCP_ACK)),
        "reply (IPv6)"
    );
    assert!(l.outbound(&Frame::udp(ip(ME4), ip(PEER4), 5353, 53)));
    assert!(
        l.inbound(&Frame::udp(ip(PEER4), ip(ME4), 53, 5353)),
        "UDP reply"
    );
    assert!(!l.inbound(&Frame::udp(ip(PEER4), ip(ME4), 53, 5354)));
});

lab_test!(sg_enf_2_tracked_flow_outlives_its_rule, |l| {
    let g = setup(l, vec![perm("tcp", Some((22, 22)), "203.0.113.0/24")]);
    assert!(l.inbound(&tcp_in(PEER4, 50000, 22, TCP_SYN)));
    assert!(l.outbound(&tcp_out(PEER4, 22, 50000, TCP_SYN | TCP_ACK)));
    l.world
        .revoke(
            &g,
            false,
            vec![perm("tcp", Some((22, 22)), "203.0.113.0/24")],
        )
        .unwrap();
    l.apply();
    assert!(
        l.inbound(&tcp_in(PEER4, 50000, 22, TCP_ACK)),
        "tracked flow continues"
    );
    assert!(l.outbound(&tcp_out(PEER4, 22, 50000, TCP_ACK)));
    assert!(
        !l.inbound(&tcp_in(PEER4, 50001, 22, TCP_SYN)),
        "new flows are refused"
    );
});

lab_test!(sg_enf_3_untracked_flows_create_no_entry_and_are_cut, |l| {
    let g = setup(
        l,
        vec![
            perm("tcp", Some((22, 22)), "0.0.0.0/0"),
            perm("udp", Some((53, 53)), "0.0.0.0/0"),
        ],
    );
    assert!(l.inbound(&tcp_in(PEER4, 50000, 22, TCP_SYN)));
    assert!(
        l.outbound(&tcp_out(PEER4, 22, 50000, TCP_SYN | TCP_ACK)),
        "answer of an untracked flow"
    );
    assert!(l.inbound(&Frame::udp(ip(PEER4), ip(ME4), 5000, 53)));
    assert!(
        l.dp.conntrack().is_empty(),
        "no entries: {:?}",
        l.dp.conntrack()
    );
    l.world
        .revoke(&g, false, vec![perm("tcp", Some((22, 22)), "0.0.0.0/0")])
        .unwrap();
    l.apply();
    assert!(
        !l.inbound(&tcp_in(PEER4, 50000, 22, TCP_ACK)),
        "cut at once"
    );
    // Even if the instance speaks first after the revoke: its packet passes (outbound is open)
    // but opens no tracked flow, so the client stays cut.
    assert!(l.outbound(&tcp_out(PEER4, 22, 50000, TCP_ACK)));
    assert!(!l.inbound(&tcp_in(PEER4, 50000, 22, TCP_ACK)), "still cut");
    assert!(l.dp.conntrack().is_empty());
    // Outbound no longer fully open: the same rule now admits tracked flows.
    l.world
        .authorize(&g, false, vec![perm("tcp", Some((22, 22)), "0.0.0.0/0")])
        .unwrap();
    l.world
        .revoke(&g, true, vec![perm("-1", None, "0.0.0.0/0")])
        .unwrap();
    l.world
        .authorize(&g, true, vec![perm("tcp", Some((1, 65535)), "0.0.0.0/0")])
        .unwrap();
    l.apply();
    assert!(l.inbound(&tcp_in(PEER4, 50002, 22, TCP_SYN)));
    assert_eq!(
        l.dp.conntrack().len(),
        1,
        "tracked once outbound is not open on all ports"
    );
});

lab_test!(sg_enf_4_icmp_echo_tracked_by_identifier, |l| {
    setup(l, vec![]);
    assert!(l.outbound(&Frame::icmp(ip(ME4), ip(PEER4), 8, 0, 7)));
    assert!(
        l.inbound(&Frame::icmp(ip(PEER4), ip(ME4), 0, 0, 7)),
        "echo reply, same id"
    );
    assert!(
        !l.inbound(&Frame::icmp(ip(PEER4), ip(ME4), 0, 0, 8)),
        "another id"
    );
    assert!(
        !l.inbound(&Frame::icmp(ip(PEER4), ip(ME4), 8, 0, 7)),
        "an inbound request needs a rule"
    );
    assert!(l.outbound(&Frame::icmp(ip(ME6), ip(PEER6), 128, 0, 9)));
    assert!(
        l.inbound(&Frame::icmp(ip(PEER6), ip(ME6), 129, 0, 9)),
        "ICMPv6 echo reply"
    );
    assert!(!l.inbound(&Frame::icmp(ip(PEER6), ip(ME6), 129, 0, 10)));
});

lab_test!(
    sg_enf_5_other_protocols_tracked_by_address_and_protocol,
    |l| {
        setup(l, vec![]);
        let gre = |s: &str, d: &str| Frame::new(ip(s), ip(d), 47, vec![0u8; 8]);
        assert!(l.outbound(&gre(ME4, PEER4)));
        assert!(l.inbound(&gre(PEER4, ME4)), "B may answer within 600 s");
        assert!(!l.inbound(&gre(OTHER4, ME4)));
        assert!(
            !l.inbound(&Frame::new(ip(PEER4), ip(ME4), 50, vec![0u8; 8])),
            "another protocol"
        );
        l.dp.age_conntrack(Duration::from_secs(599));
        assert!(
            l.inbound(&gre(PEER4, ME4)),
            "within 600 s; the window restarts"
        );
        l.dp.age_conntrack(Duration::from_secs(601));
        assert!(!l.inbound(&gre(PEER4, ME4)), "idle past 600 s");
    }
);

lab_test!(sg_enf_6_7_timeouts_are_exact, |l| {
    setup(l, vec![]);
    // TCP established: 432 000 s.
    assert!(l.outbound(&tcp_out(PEER4, 40000, 443, TCP_SYN)));
    assert!(l.inbound(&tcp_in(PEER4, 443, 40000, TCP_SYN | TCP_ACK)));
    // Established once the originator acknowledges (until then a handshake's 60 s).
    assert!(l.outbound(&tcp_out(PEER4, 40000, 443, TCP_ACK)));
    l.dp.age_conntrack(Duration::from_secs(432_000 - 1));
    assert!(
        l.inbound(&tcp_in(PEER4, 443, 40000, TCP_ACK)),
        "idle 5 days - 1 s: alive"
    );
    l.dp.age_conntrack(Duration::from_secs(432_000 + 1));
    assert!(
        !l.inbound(&tcp_in(PEER4, 443, 40000, TCP_ACK)),
        "idle 5 days + 1 s: gone"
    );
    // SYN sent, no answer: 60 s.
    assert!(l.outbound(&tcp_out(PEER4, 40001, 443, TCP_SYN)));
    l.dp.age_conntrack(Duration::from_secs(61));
    assert!(!l.inbound(&tcp_in(PEER4, 443, 40001, TCP_SYN | TCP_ACK)));
    // After RST: 10 s.
    assert!(l.outbound(&tcp_out(PEER4, 40002, 443, TCP_SYN)));
    assert!(l.inbound(&refusal(PEER4, 443, 40002)));
    l.dp.age_conntrack(Duration::from_secs(9));
    assert!(
        l.inbound(&refusal(PEER4, 443, 40002)),
        "a retransmitted refusal"
    );
    l.dp.age_conntrack(Duration::from_secs(11));
    assert!(!l.inbound(&refusal(PEER4, 443, 40002)));
    // FIN: 120 s.
    assert!(l.outbound(&tcp_out(PEER4, 40003, 443, TCP_SYN)));
    assert!(l.inbound(&tcp_in(PEER4, 443, 40003, TCP_SYN | TCP_ACK)));
    assert!(l.outbound(&tcp_out(PEER4, 40003, 443, TCP_FIN | TCP_ACK)));
    l.dp.age_conntrack(Duration::from_secs(119));
    assert!(l.inbound(&tcp_in(PEER4, 443, 40003, TCP_FIN | TCP_ACK)));
    l.dp.age_conntrack(Duration::from_secs(121));
    assert!(!l.inbound(&tcp_in(PEER4, 443, 40003, TCP_ACK)));
    // UDP: 30 s, then 180 s once a stream.
    let out = Frame::udp(ip(ME4), ip(PEER4), 5000, 53);
    let back = Frame::udp(ip(PEER4), ip(ME4), 53, 5000);
    assert!(l.outbound(&out));
    l.dp.age_conntrack(Duration::from_secs(29));
    assert!(l.inbound(&back));
    assert!(
        l.outbound(&out),
        "traffic both ways more than once: a stream"
    );
    l.dp.age_conntrack(Duration::from_secs(179));
    assert!(l.inbound(&back));
    l.dp.age_conntrack(Duration::from_secs(181));
    assert!(!l.inbound(&back));
    let out2 = Frame::udp(ip(ME4), ip(PEER4), 5001, 53);
    assert!(l.outbound(&out2));
    l.dp.age_conntrack(Duration::from_secs(31));
    assert!(
        !l.inbound(&Frame::udp(ip(PEER4), ip(ME4), 53, 5001)),
        "UDP idle 31 s"
    );
    // ICMP: 30 s.
    assert!(l.outbound(&Frame::icmp(ip(ME4), ip(PEER4), 8, 0, 3)));
    l.dp.age_conntrack(Duration::from_secs(31));
    assert!(!l.inbound(&Frame::icmp(ip(PEER4), ip(ME4), 0, 0, 3)));
});

lab_test!(sg_enf_6_per_interface_tcp_timeout, |l| {
    setup(l, vec![]);
    l.set_tcp_established_timeout(60);
    assert!(l.outbound(&tcp_out(PEER4, 40000, 443, TCP_SYN)));
    assert!(l.inbound(&tcp_in(PEER4, 443, 40000, TCP_SYN | TCP_ACK)));
    // Established once the originator acknowledges (until then a handshake's 60 s).
    assert!(l.outbound(&tcp_out(PEER4, 40000, 443, TCP_ACK)));
    l.dp.age_conntrack(Duration::from_secs(59));
    assert!(l.inbound(&tcp_in(PEER4, 443, 40000, TCP_ACK)));
    l.dp.age_conntrack(Duration::from_secs(61));
    assert!(!l.inbound(&tcp_in(PEER4, 443, 40000, TCP_ACK)));
});

lab_test!(sg_enf_8_path_mtu_messages_need_a_rule, |l| {
    let g = setup(l, vec![]);
    assert!(l.outbound(&tcp_out(PEER4, 40000, 443, TCP_SYN)));
    let frag_needed = Frame::icmp(ip(PEER4), ip(ME4), 3, 4, 0);
    let too_big = Frame::icmp(ip(PEER6), ip(ME6), 2, 0, 0);
    assert!(!l.inbound(&frag_needed), "even for an open flow");
    assert!(!l.inbound(&too_big));
    l.world
        .authorize(
            &g,
            false,
            vec![
                perm("icmp", Some((3, 4)), "0.0.0.0/0"),
                perm("icmpv6", Some((2, -1)), "::/0"),
            ],
        )
        .unwrap();
    l.apply();
    assert!(l.inbound(&frag_needed));
    assert!(l.inbound(&too_big));
    assert!(
        !l.inbound(&Frame::icmp(ip(PEER4), ip(ME4), 3, 3, 0)),
        "another code"
    );
});

lab_test!(sg_enf_10_arp_and_neighbour_discovery_always_pass, |l| {
    setup(l, vec![]);
    assert!(l.run(sg_userspace::datapath::Hook::Xdp, &arp()));
    assert!(l.run(sg_userspace::datapath::Hook::TcEgress, &arp()));
    // Valid neighbour discovery (RFC 4861: hop limit 255, the type's full length), from a
    // link-local neighbour and to link-scope multicast.
    let a6 = |s: &str| -> std::net::Ipv6Addr { s.parse().unwrap() };
    for msg in [
        Nd::RouterSolicitation,
        Nd::RouterAdvertisement,
        Nd::NeighborSolicitation { target: a6(ME6) },
        Nd::NeighborAdvertisement {
            target: a6("fe80::2"),
        },
        Nd::Redirect {
            target: a6("fe80::3"),
            destination: a6(PEER6),
        },
    ] {
        assert!(
            l.inbound(&Frame::nd(a6("fe80::2"), a6(ME6), msg)),
            "inbound {msg:?}"
        );
        assert!(
            l.outbound(&Frame::nd(a6("fe80::1"), a6("ff02::1"), msg)),
            "outbound {msg:?}"
        );
    }
    assert!(
        !l.inbound(&Frame::icmp(ip(PEER6), ip(ME6), 128, 0, 0)),
        "echo is filtered"
    );
    assert!(l.counter("pass_always") >= 12);
});

lab_test!(sg_enf_11_ipv4_options_and_ipv6_extension_headers, |l| {
    setup(
        l,
        vec![
            perm("tcp", Some((22, 22)), "203.0.113.0/24"),
            perm("tcp", Some((22, 22)), "2001:db8:ffff::/48"),
        ],
    );
    let mut f = tcp_in(PEER4, 50000, 22, TCP_SYN);
    f.v4_options = vec![1, 1, 1, 0, 0x44, 4, 5, 0]; // NOPs, EOL, a timestamp option
    assert!(l.inbound(&f), "ports read after the options");
    let mut f = tcp_in(PEER4, 50001, 23, TCP_SYN);
    f.v4_options = vec![0x16, 0x00, 0x00, 0x16]; // bytes that would read as port 22 without IHL
    assert!(!l.inbound(&f));
    let mut f = tcp_in(PEER6, 50000, 22, TCP_SYN);
    f.v6_ext = vec![Ext::HopByHop, Ext::DestOpts, Ext::Routing, Ext::DestOpts];
    assert!(l.inbound(&f), "through an extension-header chain");
    let mut f = tcp_in(PEER6, 50001, 23, TCP_SYN);
    f.v6_ext = vec![Ext::HopByHop];
    assert!(!l.inbound(&f));
    let mut f = tcp_in(PEER6, 50002, 22, TCP_SYN);
    f.v6_ext = vec![Ext::DestOpts; 9];
    assert!(!l.inbound(&f), "too long a chain is malformed");
});

lab_test!(sg_enf_11_fragments_follow_the_first, |l| {
    setup(
        l,
        vec![
            perm("udp", Some((53, 53)), "203.0.113.0/24"),
            perm("udp", Some((53, 53)), "2001:db8:ffff::/48"),
        ],
    );
    for (peer, me) in [(PEER4, ME4), (PEER6, ME6)] {
        let mut first = Frame::udp(ip(peer), ip(me), 5000, 53);
        first.frag = Some((77, 0, true));
        let mut later = Frame::new(ip(peer), ip(me), 17, vec![0u8; 64]);
        later.frag = Some((77, 3, false));
        let mut orphan = later.clone();
        orphan.frag = Some((78, 3, false));
        assert!(!l.inbound(&orphan), "no first fragment seen");
        assert!(l.inbound(&first));
        assert!(l.inbound(&later), "follows the first");
        let mut refused = Frame::udp(ip(peer), ip(me), 5000, 54);
        refused.frag = Some((79, 0, true));
        let mut refused_later = later.clone();
        refused_later.frag = Some((79, 3, false));
        assert!(!l.inbound(&refused));
        assert!(!l.inbound(&refused_later), "follows the refused first");
    }
    // A later fragment whose payload would read as an allowed port is never parsed as ports.
    let mut tricky = Frame::new(
        ip(PEER4),
        ip(ME4),
        17,
        vec![0x13, 0x88, 0x00, 0x35, 0, 8, 0, 0],
    );
    tricky.frag = Some((90, 1, false));
    assert!(!l.inbound(&tricky));
    assert!(l.counter("drop_fragment") >= 5);
    assert!(l.counter("pass_fragment") >= 2);
});

lab_test!(sg_enf_11_vlan_and_malformed, |l| {
    setup(l, vec![perm("tcp", Some((22, 22)), "203.0.113.0/24")]);
    let mut f = tcp_in(PEER4, 50000, 22, TCP_SYN);
    f.vlans = vec![100];
    assert!(l.inbound(&f), "one VLAN tag");
    f.vlans = vec![100, 200];
    assert!(l.inbound(&f), "QinQ");
    let mut f = tcp_in(PEER4, 50001, 23, TCP_SYN);
    f.vlans = vec![100];
    assert!(!l.inbound(&f));
    let good = tcp_in(PEER4, 50002, 22, TCP_SYN).bytes();
    let before = l.counter("drop_malformed");
    for cut in [14, 20, 33, 34 + 3, 34 + 19] {
        assert!(
            !l.run(sg_userspace::datapath::Hook::Xdp, &good[..cut]),
            "truncated at {cut}"
        );
    }
    let mut bad_ihl = good.clone();
    bad_ihl[14] = 0x44;
    assert!(
        !l.run(sg_userspace::datapath::Hook::Xdp, &bad_ihl),
        "IHL < 5"
    );
    let mut bad_version = good.clone();
    bad_version[14] = 0x55;
    assert!(!l.run(sg_userspace::datapath::Hook::Xdp, &bad_version));
    assert_eq!(l.counter("drop_malformed") - before, 7);
    // Non-IP frames (here LLDP) are not security groups' business.
    let mut lldp = vec![
        0x01, 0x80, 0xc2, 0, 0, 0x0e, 0x02, 0, 0, 0, 0, 2, 0x88, 0xcc,
    ];
    lldp.extend_from_slice(&[0u8; 32]);
    assert!(l.run(sg_userspace::datapath::Hook::Xdp, &lldp));
});

lab_test!(sg_enf_9_only_a_syn_opens_a_tcp_flow, |l| {
    setup(l, vec![perm("tcp", Some((80, 80)), "203.0.113.0/24")]);
    // Forged mid-stream packets the rules allow pass but take no room in the table.
    for port in 0..100 {
        assert!(l.inbound(&tcp_in(PEER4, 30000 + port, 80, TCP_ACK)));
    }
    assert!(l.dp.conntrack().is_empty());
    assert!(l.inbound(&tcp_in(PEER4, 40000, 80, TCP_SYN)));
    assert_eq!(l.dp.conntrack().len(), 1);
});

lab_test!(sg_enf_12_drops_counted_by_reason, |l| {
    setup(l, vec![perm("tcp", Some((22, 22)), "203.0.113.0/24")]);
    assert!(!l.inbound(&tcp_in(OTHER4, 50000, 22, TCP_SYN)));
    assert!(!l.inbound(&tcp_in(PEER4, 50000, 23, TCP_SYN)));
    assert!(l.inbound(&tcp_in(PEER4, 50000, 22, TCP_SYN)));
    assert!(l.outbound(&tcp_out(PEER4, 22, 50000, TCP_SYN | TCP_ACK)));
    assert!(l.inbound(&tcp_in(PEER4, 50000, 22, TCP_ACK)));
    assert_eq!(l.counter("drop_no_rule"), 2);
    assert_eq!(l.counter("pass_rule"), 1);
    // The SYN-ACK and the ACK.
    assert_eq!(l.counter("pass_conntrack"), 2);
});

lab_test!(no_cap_below_the_quotas_1000_rules_and_10000_members, |l| {
    let groups = l.world.thousand_rules();
    // One more group referencing 10 000 member addresses.
    let members = l.world.group("members");
    let refd = l.world.group("referenced");
    l.world
        .authorize(
            &members,
            false,
            vec![sg_userspace::testkit::perm_group(
                "tcp",
                Some((5432, 5432)),
                &refd,
            )],
        )
        .unwrap();
    for m in 0..100 {
        let addrs: Vec<std::net::IpAddr> =
            (0..100).map(|i| ip(&format!("172.16.{m}.{i}"))).collect();
        l.world.attach(&format!("m{m}"), &[&refd], &addrs).unwrap();
    }
    let all: Vec<&str> = groups.iter().map(String::as_str).collect();
    l.world.attach(IFACE, &all, &[ip(ME4)]).unwrap();
    l.apply();
    // rule n = 999: udp, 10.249.3.0/16 -> 10.249.0.0/16, ports 36963..=37062.
    assert!(l.inbound(&Frame::udp(ip("10.249.7.7"), ip(ME4), 1, 37000)));
    assert!(!l.inbound(&Frame::udp(ip("10.249.7.7"), ip(ME4), 1, 37063)));
    assert!(!l.inbound(&Frame::tcp(ip("10.249.7.7"), ip(ME4), 1, 37000, TCP_SYN)));
    // The member group on another interface set: switch the lab interface to it.
    l.world.attach(IFACE, &[&members], &[ip(ME4)]).unwrap();
    l.apply();
    assert!(
        l.inbound(&tcp_in("172.16.99.99", 40000, 5432, TCP_SYN)),
        "the 10 000th member"
    );
    assert!(
        l.inbound(&tcp_in("172.16.0.0", 40000, 5432, TCP_SYN)),
        "the first member"
    );
    assert!(
        !l.inbound(&tcp_in("172.16.100.1", 40000, 5432, TCP_SYN)),
        "not a member"
    );
});

lab_test!(sg_enf_12_allowed_traffic_credited_to_its_rule, |l| {
    let g = setup(
        l,
        vec![
            perm("tcp", Some((22, 22)), "203.0.113.0/24"),
            perm("tcp", Some((20, 30)), "203.0.113.7/32"),
        ],
    );
    let ids: Vec<String> = l.world.state.groups[&g]
        .rules
        .iter()
        .filter(|r| !r.egress)
        .map(|r| r.id.clone())
        .collect();
    assert!(
        l.inbound(&tcp_in(PEER4, 50000, 22, TCP_SYN)),
        "from .7: the /32 rule is more specific"
    );
    assert!(l.inbound(&tcp_in("203.0.113.8", 50000, 22, TCP_SYN)));
    assert!(l.inbound(&tcp_in("203.0.113.9", 50000, 22, TCP_SYN)));
    assert!(l.outbound(&tcp_out(PEER4, 22, 50000, TCP_SYN | TCP_ACK)));
    assert!(
        l.inbound(&tcp_in(PEER4, 50000, 22, TCP_ACK)),
        "conntrack: not a rule admission"
    );
    let hits = l.dp.rule_hits(IFACE);
    assert_eq!(hits[&ids[0]].packets, 2);
    assert_eq!(hits[&ids[1]].packets, 1);
    assert_eq!(
        hits[&ids[1]].bytes,
        tcp_in(PEER4, 50000, 22, TCP_SYN).bytes().len() as u64
    );
    assert!(hits[&ids[1]].last_ns > 0);
    // Counts survive a ruleset switch.
    l.world
        .authorize(&g, false, vec![perm("udp", Some((53, 53)), "0.0.0.0/0")])
        .unwrap();
    l.apply();
    assert!(l.inbound(&tcp_in("203.0.113.10", 50000, 22, TCP_SYN)));
    let hits = l.dp.rule_hits(IFACE);
    assert_eq!(hits[&ids[0]].packets, 3);
    assert_eq!(hits[&ids[1]].packets, 1);
    // The default outbound rule (all protocols) is credited too.
    assert!(l.outbound(&tcp_out(OTHER4, 40000, 443, TCP_SYN)));
    let egress = l.world.state.groups[&g]
        .rules
        .iter()
        .find(|r| r.egress)
        .unwrap()
        .id
        .clone();
    assert_eq!(l.dp.rule_hits(IFACE)[&egress].packets, 1);
});

/// SG-ENF-9: when the table is full, new flows are dropped and counted, established flows
/// keep working, and a flood of new UDP flows cannot take the room of TCP flows.
#[test]
fn sg_enf_9_conntrack_allowance() {
    if !require_root("sg_enf_9_conntrack_allowance") {
        return;
    }
    sg_tests::lab::with_lab_sized(8, 32, |l| {
        setup(l, vec![]);
        for port in 0..4 {
            assert!(l.outbound(&tcp_out(PEER4, 40000 + port, 443, TCP_SYN)));
            assert!(l.inbound(&tcp_in(PEER4, 443, 40000 + port, TCP_SYN | TCP_ACK)));
        }
        let udp_out = |p: u16| Frame::udp(ip(ME4), ip(PEER4), 10000 + p, 53);
        let udp_back = |p: u16| Frame::udp(ip(PEER4), ip(ME4), 53, 10000 + p);
        let mut passed = 0;
        for p in 0..1000 {
            if l.outbound(&udp_out(p)) {
                passed += 1;
            }
        }
        assert_eq!(passed, 32, "exactly the allowance of new flows");
        assert_eq!(l.counter("conntrack_allowance_exceeded"), 1000 - 32);
        assert!(
            l.inbound(&udp_back(0)),
            "established UDP flows keep working"
        );
        assert!(l.outbound(&udp_out(31)));
        assert!(!l.inbound(&udp_back(500)), "a refused flow has no entry");
        for port in 0..4 {
            assert!(
                l.inbound(&tcp_in(PEER4, 443, 40000 + port, TCP_ACK)),
                "TCP flows untouched by the flood"
            );
        }
        assert!(
            l.outbound(&tcp_out(PEER4, 40010, 443, TCP_SYN)),
            "TCP has its own room"
        );
        assert_eq!(l.dp.conntrack_usage(), [(5, 8), (32, 32)]);
        // Untracked flows need no room.
        l.world
            .authorize(
                &l.world
                    .state
                    .groups
                    .keys()
                    .find(|g| l.world.state.groups[*g].name == "lab")
                    .unwrap()
                    .clone(),
                false,
                vec![perm("udp", Some((5353, 5353)), "0.0.0.0/0")],
            )
            .unwrap();
        l.apply();
        assert!(l.inbound(&Frame::udp(ip(OTHER4), ip(ME4), 5353, 5353)));
    });
}

// SG-ENF-6/7 in the sweeper: with an injected clock, each timeout's boundary: an entry idle
// one second less than its timeout stays, one second more is removed.
lab_test!(sweeper_removes_exactly_what_expired, |l| {
    setup(l, vec![]);
    let s = |n: u64| n * 1_000_000_000;
    let t0 = sg_userspace::datapath::Datapath::now();
    // TCP established, UDP (not a stream), UDP stream, ICMP echo, other protocol, SYN sent,
    // FIN, RST.
    assert!(l.outbound(&tcp_out(PEER4, 40000, 443, TCP_SYN)));
    assert!(l.inbound(&tcp_in(PEER4, 443, 40000, TCP_SYN | TCP_ACK)));
    // Established once the originator acknowledges (until then a handshake's 60 s).
    assert!(l.outbound(&tcp_out(PEER4, 40000, 443, TCP_ACK)));
    assert!(l.outbound(&Frame::udp(ip(ME4), ip(PEER4), 5000, 53)));
    assert!(l.outbound(&Frame::udp(ip(ME4), ip(PEER4), 5001, 53)));
    assert!(l.inbound(&Frame::udp(ip(PEER4), ip(ME4), 53, 5001)));
    assert!(l.outbound(&Frame::udp(ip(ME4), ip(PEER4), 5001, 53)));
    assert!(l.outbound(&Frame::icmp(ip(ME4), ip(PEER4), 8, 0, 1)));
    assert!(l.outbound(&Frame::new(ip(ME4), ip(PEER4), 47, vec![0; 8])));
    assert!(l.outbound(&tcp_out(PEER4, 40001, 443, TCP_SYN)));
    assert!(l.outbound(&tcp_out(PEER4, 40002, 443, TCP_SYN)));
    assert!(l.inbound(&tcp_in(PEER4, 443, 40002, TCP_SYN | TCP_ACK)));
    assert!(l.inbound(&tcp_in(PEER4, 443, 40002, TCP_FIN | TCP_ACK)));
    assert!(l.outbound(&tcp_out(PEER4, 40003, 443, TCP_SYN)));
    assert!(l.inbound(&refusal(PEER4, 443, 40003)));
    assert_eq!(l.dp.conntrack().len(), 8);
    let left = |l: &mut Lab| l.dp.conntrack_usage()[0].0 + l.dp.conntrack_usage()[1].0;
    let mut expect = 8;
    // (idle time at which the next entry goes, what goes)
    for (timeout, what) in [
        (10, "RST"),
        (30, "UDP and ICMP"),
        (60, "SYN sent"),
        (120, "FIN"),
        (180, "UDP stream"),
        (600, "other protocol"),
        (432_000, "TCP established"),
    ] {
        let before = l.dp.sweep(t0 + s(timeout - 1));
        assert_eq!(
            before.removed_tcp + before.removed_other,
            0,
            "{what}: nothing at {}",
            timeout - 1
        );
        let r = l.dp.sweep(t0 + s(timeout + 1));
        let gone = r.removed_tcp + r.removed_other;
        assert!(gone >= 1, "{what} removed after {} s: {r:?}", timeout + 1);
        expect -= gone;
        assert_eq!(left(l), expect);
    }
    assert_eq!(expect, 0);
    assert!(
        l.dp.sweeps_in_kernel(),
        "the sweep program loaded and ran (else the sweeper falls back to one entry at a time)"
    );
});

// The sweeper deletes a candidate only if the entry is still idle past its timeout when it
// is deleted: a flow that came back to life after the table was read is kept (SG-ENF-7).
lab_test!(sweeper_keeps_a_flow_revived_since_it_was_read, |l| {
    use sg_common::conntrack::SweepItem;
    setup(l, vec![]);
    assert!(l.outbound(&tcp_out(PEER4, 40000, 443, TCP_SYN)));
    let flows = l.dp.conntrack();
    assert_eq!(flows.len(), 1);
    let item = SweepItem {
        key: flows[0].key,
        removed: 0,
        timeout_ns: 60 * 1_000_000_000,
    };
    // Userspace read it as idle (a stale snapshot), but the entry is fresh: kept.
    let now = sg_userspace::datapath::Datapath::now();
    assert_eq!(l.dp.remove_expired(true, &[item], now), 0);
    assert_eq!(l.dp.conntrack().len(), 1);
    // Idle past the timeout when deleted: removed. Candidates that no longer exist are
    // skipped.
    let later = now + 61 * 1_000_000_000;
    assert_eq!(l.dp.remove_expired(true, &[item, item], later), 1);
    assert!(l.dp.conntrack().is_empty());
});

lab_test!(sweeper_follows_the_interface_timeout, |l| {
    setup(l, vec![]);
    let t0 = sg_userspace::datapath::Datapath::now();
    assert!(l.outbound(&tcp_out(PEER4, 40000, 443, TCP_SYN)));
    assert!(l.inbound(&tcp_in(PEER4, 443, 40000, TCP_SYN | TCP_ACK)));
    // Established once the originator acknowledges (until then a handshake's 60 s).
    assert!(l.outbound(&tcp_out(PEER4, 40000, 443, TCP_ACK)));
    l.set_tcp_established_timeout(3600);
    assert_eq!(l.dp.sweep(t0 + 3599 * 1_000_000_000).removed_tcp, 0);
    assert_eq!(l.dp.sweep(t0 + 3601 * 1_000_000_000).removed_tcp, 1);
});

// A prefix whose port set has more ranges than a small set holds (32) lives in the large
// map; both kinds give the same verdicts, and a ruleset can switch between them.
lab_test!(large_and_small_port_sets, |l| {
    let perms: Vec<_> = (0..50)
        .map(|i| {
            perm(
                "tcp",
                Some((1000 + 10 * i, 1000 + 10 * i + 2)),
                "203.0.113.0/24",
            )
        })
        .collect();
    let g = setup(l, perms);
    for i in 0..50u16 {
        assert!(
            l.inbound(&tcp_in(PEER4, 50000 + i, 1000 + 10 * i + 1, TCP_SYN)),
            "port {}",
            1000 + 10 * i + 1
        );
        assert!(
            !l.inbound(&tcp_in(PEER4, 51000 + i, 1000 + 10 * i + 5, TCP_SYN)),
            "port {}",
            1000 + 10 * i + 5
        );
    }
    // Back to a small set: revoke all but three.
    for i in 3..50 {
        l.world
            .revoke(
                &g,
                false,
                vec![perm(
                    "tcp",
                    Some((1000 + 10 * i, 1000 + 10 * i + 2)),
                    "203.0.113.0/24",
                )],
            )
            .unwrap();
    }
    l.apply();
    assert!(l.inbound(&tcp_in(PEER4, 52000, 1021, TCP_SYN)));
    assert!(!l.inbound(&tcp_in(PEER4, 52001, 1031, TCP_SYN)));
});

// Interfaces with an ifindex past the directly indexed table (`FAST_IFINDEX`) find their
// configuration through the hash: the same verdicts (SG-ENF-1, SG-ENF-2), and once the
// interface is no longer protected its traffic is left alone.
#[test]
fn interface_with_a_large_ifindex() {
    if !require_root("interface_with_a_large_ifindex") {
        return;
    }
    let at = sg_common::iface::FAST_IFINDEX + 1000;
    with_lab_opts(4096, 4096, Some(at), move |l| {
        assert_eq!(l.ifindex, at);
        let g = setup(l, vec![perm("tcp", Some((22, 22)), "203.0.113.0/24")]);
        assert!(l.inbound(&tcp_in(PEER4, 40000, 22, TCP_SYN)));
        assert!(!l.inbound(&tcp_in(PEER4, 40001, 23, TCP_SYN)));
        assert!(!l.inbound(&tcp_in(OTHER4, 40002, 22, TCP_SYN)));
        assert!(l.outbound(&tcp_out(PEER4, 22, 40000, TCP_SYN | TCP_ACK)));
        assert_eq!(l.counter("pass_conntrack"), 1);
        // Applied again (a new ruleset), then detached.
        l.world
            .authorize(
                &g,
                false,
                vec![perm("tcp", Some((23, 23)), "203.0.113.0/24")],
            )
            .expect("authorize");
        l.apply();
        assert!(l.inbound(&tcp_in(PEER4, 40003, 23, TCP_SYN)));
        l.dp.remove(IFACE).expect("detach");
        assert!(l.inbound(&tcp_in(OTHER4, 40004, 9999, TCP_SYN)));
    });
}

// On interfaces without a native XDP driver sgd sees arriving packets at TC ingress: the same
// policy, the same verdicts (SG-ENF-1, SG-ENF-2), sharing conntrack with TC egress.
lab_test!(tc_ingress_gives_the_xdp_verdicts, |l| {
    use sg_userspace::datapath::Hook;
    setup(l, vec![perm("tcp", Some((22, 22)), "203.0.113.0/24")]);
    let tc_in = |l: &mut Lab, f: Frame| l.run(Hook::TcIngress, &f.bytes());
    assert!(tc_in(l, tcp_in(PEER4, 40000, 22, TCP_SYN)));
    assert!(!tc_in(l, tcp_in(PEER4, 40001, 23, TCP_SYN)));
    assert!(!tc_in(l, tcp_in(OTHER4, 40002, 22, TCP_SYN)));
    // A reply to the instance's own connection passes by conntrack; unsolicited, it does not.
    assert!(!tc_in(l, tcp_in(OTHER4, 443, 40003, TCP_SYN | TCP_ACK)));
    assert!(l.outbound(&tcp_out(OTHER4, 40003, 443, TCP_SYN)));
    assert!(tc_in(l, tcp_in(OTHER4, 443, 40003, TCP_SYN | TCP_ACK)));
    assert_eq!(l.counter("pass_conntrack"), 1);
    assert_eq!(l.counter("drop_no_rule"), 3);
    // And the same for a frame XDP saw: both hooks share one verdict.
    for (f, want) in [
        (tcp_in(PEER4, 40004, 22, TCP_SYN), true),
        (tcp_in(PEER4, 40005, 80, TCP_SYN), false),
        (Frame::udp(ip(PEER4), ip(ME4), 53, 53), false),
    ] {
        assert_eq!(tc_in(l, f.clone()), want);
        assert_eq!(l.inbound(&f), want);
    }
});

// Single addresses the host table has no room for go in the trie: the same verdicts for the
// members in either place (SG-GRP-1, SG-ENF-1).
/// A group "members" whose interface "m" has `addrs`, and the lab interface (addresses
/// `mine`) in a group allowing TCP 443 from it; returns the members' group id.
fn members_allowed_443(
    l: &mut Lab,
    addrs: &[std::net::IpAddr],
    mine: &[std::net::IpAddr],
) -> String {
    let g = l.world.group("lab");
    let members = l.world.group("members");
    l.world
        .authorize(
            &g,
            false,
            vec![sg_userspace::testkit::perm_group(
                "tcp",
                Some((443, 443)),
                &members,
            )],
        )
        .expect("authorize");
    l.world.attach("m", &[&members], addrs).expect("members");
    l.world.attach(IFACE, &[&g], mine).expect("attach");
    members
}

// Members whose addresses share a set of the host table: the set's ways take the first, the
// trie the rest, with the same verdicts; a switch empties the old ways, which are written
// again only after a grace period (SG-GRP-1, SG-ENF-1).
lab_test!(members_sharing_a_host_set, |l| {
    use sg_common::rule::{HOST_WAYS_V4, HOST_WAYS_V6, LpmV4, LpmV6, host_set_v4, host_set_v6};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    // The first ruleset an apply writes is the inbound IPv4 one, then the inbound IPv6 one.
    let r4 = l.dp.next_ruleset();
    let r6 = r4 + 1;
    let set4 = |a: Ipv4Addr| {
        host_set_v4(
            LpmV4 {
                ruleset: r4,
                addr: a.octets(),
            }
            .host_key(),
        )
    };
    let set6 = |a: Ipv6Addr| {
        let key = LpmV6 {
            ruleset: r6,
            addr: a.octets(),
        };
        host_set_v6(r6, &key.addr_words())
    };
    // Addresses in one set: the ways plus two more, and one beyond that is no member.
    let v4: Vec<Ipv4Addr> = {
        let first = Ipv4Addr::from(0x0a01_0000u32);
        (0x0a01_0000u32..)
            .map(Ipv4Addr::from)
            .filter(|a| set4(*a) == set4(first))
            .take(HOST_WAYS_V4 + 3)
            .collect()
    };
    let v6: Vec<Ipv6Addr> = {
        let first = Ipv6Addr::from(0x2001_0db8_0001_u128 << 80);
        ((0x2001_0db8_0001_u128 << 80)..)
            .map(Ipv6Addr::from)
            .filter(|a| set6(*a) == set6(first))
            .take(HOST_WAYS_V6 + 3)
            .collect()
    };
    let (m4, stranger4) = v4.split_at(v4.len() - 1);
    let (m6, stranger6) = v6.split_at(v6.len() - 1);
    let addrs: Vec<IpAddr> = m4
        .iter()
        .map(|a| IpAddr::V4(*a))
        .chain(m6.iter().map(|a| IpAddr::V6(*a)))
        .collect();
    let members = members_allowed_443(l, &addrs, &[ip(ME4), ip(ME6)]);
    l.apply();
    assert_eq!(
        l.dp.host_ways().map(|(used, _)| used),
        [HOST_WAYS_V4, HOST_WAYS_V6],
        "the set's ways are all taken, the other members went in the trie"
    );
    let me = |a: &IpAddr| ip(if a.is_ipv4() { ME4 } else { ME6 });
    for (i, a) in addrs.iter().enumerate() {
        let port = 40000 + i as u16;
        assert!(
            l.inbound(&Frame::tcp(*a, me(a), port, 443, TCP_SYN)),
            "member {a}"
        );
        assert!(
            !l.inbound(&Frame::tcp(*a, me(a), port, 444, TCP_SYN)),
            "member {a}, another port"
        );
    }
    for a in [IpAddr::V4(stranger4[0]), IpAddr::V6(stranger6[0])] {
        assert!(
            !l.inbound(&Frame::tcp(a, me(&a), 40100, 443, TCP_SYN)),
            "{a} shares the set but is no member"
        );
    }
    // A switch to fewer members: the old ways wait for a grace period, the new ruleset takes
    // free ways of the same set meanwhile (different ruleset, other sets), and after the
    // grace period only the new ruleset's ways are in use.
    l.world
        .attach("m", &[&members], &addrs[..1])
        .expect("fewer members");
    l.apply();
    let [(_, cooling4), (_, cooling6)] = l.dp.host_ways();
    assert_eq!(
        (cooling4, cooling6),
        (HOST_WAYS_V4, HOST_WAYS_V6),
        "emptied ways are not reused before a grace period"
    );
    l.dp.settle_hosts();
    assert_eq!(l.dp.host_ways(), [(1, 0), (0, 0)]);
    assert!(l.inbound(&Frame::tcp(addrs[0], ip(ME4), 40200, 443, TCP_SYN)));
    for a in &addrs[1..] {
        assert!(
            !l.inbound(&Frame::tcp(*a, me(a), 40201, 443, TCP_SYN)),
            "{a} is no member any more"
        );
    }
});

lab_test!(members_beyond_the_host_table_room, |l| {
    use std::net::{IpAddr, Ipv4Addr};
    let n = sg_common::rule::HOSTS_MAX_ENTRIES as usize + 500;
    let member = |i: usize| IpAddr::V4(Ipv4Addr::from(0x0a00_0001u32 + i as u32));
    let addrs: Vec<IpAddr> = (0..n).map(member).collect();
    let members = members_allowed_443(l, &addrs, &[ip(ME4)]);
    l.apply();
    for i in [0, 1, n / 2, n - 2, n - 1] {
        let from = member(i);
        assert!(
            l.inbound(&Frame::tcp(from, ip(ME4), 40000, 443, TCP_SYN)),
            "member {i}"
        );
        assert!(
            !l.inbound(&Frame::tcp(from, ip(ME4), 40001, 444, TCP_SYN)),
            "member {i}, another port"
        );
    }
    assert!(!l.inbound(&Frame::tcp(member(n), ip(ME4), 40000, 443, TCP_SYN)));
    // And after a switch to a smaller membership, the trie's share is freed with the rest.
    l.world
        .attach("m", &[&members], &addrs[..10])
        .expect("fewer members");
    l.apply();
    assert!(l.inbound(&Frame::tcp(member(9), ip(ME4), 40002, 443, TCP_SYN)));
    assert!(!l.inbound(&Frame::tcp(member(n - 1), ip(ME4), 40003, 443, TCP_SYN)));
});
