//! Neighbour discovery (SG-ENF-10): valid messages always allowed, invalid ones judged by the
//! rules, and host mode's messages on the instance's own addresses.

use super::pkt;
use crate::{
    eval::*,
    testkit::{World, ip, perm},
};

/// A neighbour-discovery message as RFC 4861 sends it: right after the IPv6 header, hop
/// limit 255, code 0, the type's minimum length, all in the frame.
fn nd(direction: Direction, src: &str, dst: &str, icmp_type: u8, target: Option<&str>) -> Packet {
    let length = match icmp_type {
        133 => 8,
        134 => 16,
        135 | 136 => 24,
        _ => 40,
    };
    Packet {
        iface: "eth0".into(),
        direction,
        src: ip(src),
        dst: ip(dst),
        protocol: 58,
        src_port: 0,
        dst_port: 0,
        tcp_syn: false,
        icmp_type,
        icmp_code: 0,
        nd: Some(NdWire {
            hop_limit: 255,
            direct: true,
            length,
            complete: true,
            target: target.map(|t| t.parse().unwrap()),
        }),
    }
}

/// The same message with its wire shape changed by `f`.
fn nd_with(mut p: Packet, f: impl FnOnce(&mut NdWire)) -> Packet {
    f(p.nd.as_mut().unwrap());
    p
}

#[test]
fn sg_enf_10_valid_neighbour_discovery_always_allowed() {
    use Direction::{Inbound, Outbound};
    let mut w = World::new();
    let a = w.group("a");
    w.attach("eth0", &[&a], &[ip("2001:db8::1")]).unwrap();
    w.revoke(&a, true, vec![perm("-1", None, "::/0")]).unwrap();
    let me = "2001:db8::1";
    for p in [
        nd(Inbound, "fe80::2", "ff02::2", 133, None),
        nd(Inbound, "::", "ff02::2", 133, None),
        nd(Inbound, "fe80::2", "ff02::1", 134, None),
        nd(Inbound, "fe80::2", "ff02::1:ff00:1", 135, Some(me)),
        nd(Inbound, "2001:db8::2", me, 135, Some(me)),
        nd(Inbound, "::", "ff02::1:ff00:1", 135, Some(me)),
        nd(Inbound, "fe80::2", "fe80::1", 136, Some("fe80::2")),
        nd(Inbound, "fe80::2", me, 137, Some("fe80::3")),
        nd(Outbound, "::", "ff02::2", 133, None),
        nd(Outbound, "::", "ff02::1:ff00:1", 135, Some(me)),
        nd(Outbound, me, "fe80::2", 136, Some(me)),
        nd(Outbound, "fe80::1", "ff02::1", 134, None),
        nd(Outbound, "fe80::1", "fe80::2", 137, Some("fe80::3")),
    ] {
        assert_eq!(w.eval(&p), Verdict::AlwaysAllowed, "{p:?}");
    }
    let mut echo = pkt("eth0", Inbound, "2001:db8::2", me, 58, 0);
    echo.icmp_type = 128;
    assert_eq!(w.eval(&echo), Verdict::Denied);
}

#[test]
fn sg_enf_10_invalid_neighbour_discovery_is_judged_by_the_rules() {
    use Direction::{Inbound, Outbound};
    let mut w = World::new();
    let a = w.group("a");
    w.attach("eth0", &[&a], &[ip("2001:db8::1")]).unwrap();
    w.revoke(&a, true, vec![perm("-1", None, "::/0")]).unwrap();
    let me = "2001:db8::1";
    let ns = nd(Inbound, "fe80::2", "ff02::1:ff00:1", 135, Some(me));
    let mut code = ns.clone();
    code.icmp_code = 1;
    let invalid = [
        nd_with(ns.clone(), |w| w.hop_limit = 64),
        nd_with(ns.clone(), |w| w.direct = false),
        nd_with(ns.clone(), |w| w.length = 16),
        nd_with(ns.clone(), |w| w.complete = false),
        nd_with(ns.clone(), |w| w.target = Some("ff02::1".parse().unwrap())),
        code,
        Packet {
            nd: None,
            ..ns.clone()
        },
        nd(Inbound, "ff02::2", "ff02::1", 136, Some("fe80::9")),
        nd(Inbound, "2001:db8::2", "ff02::1", 134, None),
        nd(Inbound, "2001:db8::2", me, 137, Some("fe80::3")),
        nd(Inbound, "::", "ff02::1", 136, Some(me)),
        nd(Inbound, "::", me, 135, Some(me)),
        nd(Inbound, "fe80::2", "ff05::1", 134, None),
        nd(Outbound, me, "2001:db8::99", 135, Some("2001:db8::99")),
        nd(Outbound, "fe80::1", "ff05::2", 133, None),
    ];
    for p in &invalid {
        assert_eq!(w.eval(p), Verdict::Denied, "{p:?}");
    }
    // An ICMPv6 rule admits them like any ICMPv6 (SG-RULE-3).
    w.authorize(&a, false, vec![perm("icmpv6", None, "::/0")])
        .unwrap();
    w.authorize(&a, true, vec![perm("icmpv6", None, "::/0")])
        .unwrap();
    for p in &invalid {
        assert!(matches!(w.eval(p), Verdict::Rules(_)), "{p:?}");
    }
}

#[test]
fn sg_enf_10_host_mode_neighbour_discovery_is_on_the_instance_s_addresses() {
    use Direction::{Inbound, Outbound};
    let mut w = World::new();
    let a = w.group("a");
    let vm = "2001:db8:9::10";
    let req = crate::api::CreateNetworkInterface {
        network_interface_id: Some("eth0".into()),
        attach_mode: Some("host".into()),
        private_ip_addresses: vec![vm.into()],
        groups: vec![a.clone()],
        source_dest_check: None,
        ..Default::default()
    };
    crate::model::ops::create_network_interface(&mut w.state, &w.quotas, &req, &|_| true).unwrap();
    w.addrs.insert("eth0".into(), vec![ip(vm)]);
    for p in [
        nd(Outbound, vm, "fe80::1", 136, Some(vm)),
        nd(Outbound, "fe80::10", "ff02::2", 133, None),
        nd(Outbound, "::", "ff02::1:ff00:10", 135, Some(vm)),
        nd(Inbound, "fe80::1", vm, 136, Some("fe80::1")),
        nd(Inbound, "fe80::1", "fe80::10", 135, Some("fe80::10")),
        nd(Inbound, "fe80::1", "ff02::1", 134, None),
    ] {
        assert_eq!(w.eval(&p), Verdict::AlwaysAllowed, "{p:?}");
    }
    for p in [
        nd(
            Outbound,
            "2001:db8:9::77",
            "fe80::1",
            136,
            Some("2001:db8:9::77"),
        ),
        nd(
            Inbound,
            "fe80::1",
            "2001:db8:9::77",
            135,
            Some("2001:db8:9::77"),
        ),
    ] {
        assert_ne!(w.eval(&p), Verdict::AlwaysAllowed, "{p:?}");
    }
    // Without the check, only validity and the link count.
    w.state
        .interfaces
        .get_mut("eth0")
        .unwrap()
        .source_dest_check = false;
    let spoofed = nd(
        Outbound,
        "2001:db8:9::77",
        "fe80::1",
        136,
        Some("2001:db8:9::77"),
    );
    assert_eq!(w.eval(&spoofed), Verdict::AlwaysAllowed);
}
