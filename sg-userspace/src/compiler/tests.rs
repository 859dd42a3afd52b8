use super::*;
use crate::testkit::{self, ip};

/// The shared test world with the shorthand these tests use.
struct Fixture(testkit::World);

impl std::ops::Deref for Fixture {
    type Target = testkit::World;
    fn deref(&self) -> &testkit::World {
        &self.0
    }
}

impl std::ops::DerefMut for Fixture {
    fn deref_mut(&mut self) -> &mut testkit::World {
        &mut self.0
    }
}

impl Fixture {
    fn new() -> Self {
        Self(testkit::World::new())
    }

    fn allow(&mut self, g: &str, egress: bool, proto: &str, ports: Option<(i32, i32)>, cidr: &str) {
        self.0
            .authorize(g, egress, vec![testkit::perm(proto, ports, cidr)])
            .unwrap();
    }

    fn attach(&mut self, iface: &str, groups: &[&str]) {
        self.0.attach(iface, groups, &[]).unwrap();
    }
}

fn allows(c: &CompiledIface, dir: usize, remote: &str, proto: u8, port: u16) -> bool {
    let a = ip(remote);
    let fam = if a.is_ipv4() { FAM_V4 } else { FAM_V6 };
    c.lookup(dir, a).is_some_and(|s| s.allows(proto, port, fam))
}

#[test]
fn sg_rule_5_prefix_closure_unions_covering_rules() {
    let mut f = Fixture::new();
    let g = f.group("web");
    f.allow(&g, false, "tcp", Some((22, 22)), "0.0.0.0/0");
    f.allow(&g, false, "tcp", Some((80, 80)), "203.0.113.0/24");
    f.allow(&g, false, "udp", Some((53, 53)), "203.0.113.128/25");
    f.attach("eth0", &[&g]);
    let c = &compile_all(&f.state, &Addresses::new())["eth0"];
    assert!(allows(c, DIR_IN, "203.0.113.200", 6, 22));
    assert!(allows(c, DIR_IN, "203.0.113.200", 6, 80));
    assert!(allows(c, DIR_IN, "203.0.113.200", 17, 53));
    assert!(allows(c, DIR_IN, "203.0.113.5", 6, 80));
    assert!(!allows(c, DIR_IN, "203.0.113.5", 17, 53));
    assert!(allows(c, DIR_IN, "198.51.100.1", 6, 22));
    assert!(!allows(c, DIR_IN, "198.51.100.1", 6, 80));
    assert!(!allows(c, DIR_IN, "198.51.100.1", 6, 23));
    // IPv6 has no inbound rules at all.
    assert!(!allows(c, DIR_IN, "2001:db8::1", 6, 22));
    // Default egress: everything, both families.
    assert!(allows(c, DIR_OUT, "192.0.2.1", 132, 0));
    assert!(allows(c, DIR_OUT, "2001:db8::1", 6, 443));
}

#[test]
fn sg_rule_5_union_of_groups_most_permissive_wins() {
    let mut f = Fixture::new();
    let a = f.group("a");
    let b = f.group("b");
    f.allow(&a, false, "tcp", Some((22, 22)), "203.0.113.1/32");
    f.allow(&b, false, "tcp", Some((22, 22)), "0.0.0.0/0");
    f.attach("eth0", &[&a, &b]);
    let c = &compile_all(&f.state, &Addresses::new())["eth0"];
    assert!(allows(c, DIR_IN, "198.51.100.9", 6, 22));
    assert!(allows(c, DIR_IN, "203.0.113.1", 6, 22));
}

#[test]
fn sg_rule_4_group_reference_expands_to_member_addresses() {
    let mut f = Fixture::new();
    let web = f.group("web");
    let db = f.group("db");
    f.0.authorize(
        &db,
        false,
        vec![testkit::perm_group("tcp", Some((5432, 5432)), &web)],
    )
    .unwrap();
    f.attach("db0", &[&db]);
    f.attach("web0", &[&web]);
    let mut addrs = Addresses::new();
    addrs.insert("web0".into(), vec![ip("192.0.2.10"), ip("2001:db8::10")]);
    addrs.insert("db0".into(), vec![ip("192.0.2.20")]);
    let c = &compile_all(&f.state, &addrs)["db0"];
    assert!(allows(c, DIR_IN, "192.0.2.10", 6, 5432));
    assert!(allows(c, DIR_IN, "2001:db8::10", 6, 5432));
    assert!(!allows(c, DIR_IN, "192.0.2.11", 6, 5432));
    assert!(!allows(c, DIR_IN, "192.0.2.10", 6, 5433));
}

#[test]
fn sg_grp_3_default_group_allows_its_members() {
    let mut f = Fixture::new();
    // Interfaces with no explicit groups get the VPC's default group (SG-IF-1).
    let vpc = f.state.default_vpc().unwrap().id.clone();
    f.state.interfaces.insert(
        "a0".into(),
        crate::model::Interface::new("a0", &vpc, crate::model::AttachMode::Instance),
    );
    let mut b = f.state.interfaces["a0"].clone();
    b.id = "b0".into();
    f.state.interfaces.insert("b0".into(), b);
    let mut addrs = Addresses::new();
    addrs.insert("a0".into(), vec![ip("192.0.2.1")]);
    addrs.insert("b0".into(), vec![ip("192.0.2.2")]);
    let all = compile_all(&f.state, &addrs);
    assert!(allows(&all["a0"], DIR_IN, "192.0.2.2", 17, 9));
    assert!(!allows(&all["a0"], DIR_IN, "192.0.2.3", 17, 9));
}

#[test]
fn ranges_split_by_credited_rule_and_sets_interned() {
    let mut f = Fixture::new();
    let g = f.group("web");
    f.allow(&g, false, "tcp", Some((10, 20)), "192.0.2.0/24");
    f.allow(&g, false, "tcp", Some((21, 30)), "192.0.2.0/24");
    f.allow(&g, false, "tcp", Some((25, 40)), "192.0.2.0/24");
    f.allow(&g, false, "tcp", Some((100, 200)), "192.0.2.0/24");
    f.allow(&g, false, "tcp", Some((10, 20)), "198.51.100.0/24");
    f.allow(&g, false, "tcp", Some((21, 30)), "198.51.100.0/24");
    f.allow(&g, false, "tcp", Some((25, 40)), "198.51.100.0/24");
    f.allow(&g, false, "tcp", Some((100, 200)), "198.51.100.0/24");
    f.allow(&g, false, "icmp", Some((8, -1)), "198.51.100.0/24");
    f.allow(&g, false, "icmp", Some((8, -1)), "192.0.2.0/24");
    f.allow(&g, false, "tcp", Some((150, 150)), "192.0.2.128/25");
    f.attach("eth0", &[&g]);
    let c = &compile_all(&f.state, &Addresses::new())["eth0"];
    let t = &c.tables[DIR_IN][FAM_V4];
    assert_eq!(t.len(), 3);
    assert_eq!(t[0].1, t[2].1, "identical port sets are shared");
    let s = &c.port_sets[t[0].1];
    // Overlaps are split so each range is credited to one rule (the first of equals).
    assert_eq!(
        s.lists[LIST_TCP],
        vec![(10, 20), (21, 30), (31, 40), (100, 200)]
    );
    assert_eq!(s.lists[LIST_ICMP], vec![(8 << 8, 8 << 8 | 0xff)]);
    let id = |c: &CompiledIface, i: u32| c.rule_ids[i as usize].clone();
    let rule = |n: usize| {
        f.state.groups[&g]
            .rules
            .iter()
            .filter(|r| !r.egress)
            .nth(n)
            .unwrap()
            .id
            .clone()
    };
    let credits = &c.credits[DIR_IN][FAM_V4][0];
    assert_eq!(
        credits
            .iter()
            .map(|&(e, r)| (e, id(c, r)))
            .collect::<Vec<_>>(),
        vec![
            (0, rule(0)),
            (1, rule(1)),
            (2, rule(2)),
            (3, rule(3)),
            (4, rule(9)),
        ]
    );
    // Under the /25, the more specific rule is credited with port 150.
    let s25 = &c.port_sets[t[1].1];
    assert_eq!(
        s25.lists[LIST_TCP][3..],
        [(100, 149), (150, 150), (151, 200)]
    );
    assert_eq!(id(c, c.credits[DIR_IN][FAM_V4][1][4].1), rule(10));
    assert!(allows(c, DIR_IN, "192.0.2.1", 1, 8 << 8));
    assert!(!allows(c, DIR_IN, "192.0.2.1", 1, 0));
    let k = s.to_kernel().unwrap();
    assert_eq!(k.lists[LIST_TCP].len, 4);
    assert_eq!(k.ranges[3], PortRange { lo: 100, hi: 200 });
}

#[test]
fn icmp_type_code_encoding() {
    let mut f = Fixture::new();
    let g = f.group("web");
    f.allow(&g, false, "icmp", Some((3, 4)), "0.0.0.0/0");
    f.allow(&g, false, "icmpv6", None, "::/0");
    f.attach("eth0", &[&g]);
    let c = &compile_all(&f.state, &Addresses::new())["eth0"];
    assert!(allows(c, DIR_IN, "192.0.2.1", 1, 3 << 8 | 4));
    assert!(!allows(c, DIR_IN, "192.0.2.1", 1, 3 << 8 | 3));
    assert!(allows(c, DIR_IN, "2001:db8::1", 58, 128 << 8));
    assert!(!allows(c, DIR_IN, "2001:db8::1", 1, 0));
}
