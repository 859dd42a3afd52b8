//! EC2-Classic groups (SG-CLASSIC): inbound only, TCP/UDP/ICMP only, groups fixed once
//! attached, their limits, and copying into a classic VPC.

use super::{code, group_in, inbound, new_vpc, rules_of};
use crate::{
    api::CreateSecurityGroup,
    compiler,
    eval::Direction,
    model::*,
    testkit::{World, ip, perm},
};

#[test]
fn sg_classic_inbound_only_tcp_udp_icmp_and_fixed_groups() {
    let mut w = World::new();
    let vpc = new_vpc(&mut w, true);
    let g = group_in(&mut w, &vpc, "web|legacy%").expect("any ASCII name");
    assert!(
        rules_of(&w, &g).is_empty(),
        "no outbound rules: outbound is implicit"
    );
    assert_eq!(
        code(w.authorize(&g, true, vec![perm("tcp", Some((1, 1)), "0.0.0.0/0")])),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(w.authorize(&g, false, vec![perm("47", None, "0.0.0.0/0")])),
        "InvalidPermission.Malformed"
    );
    assert_eq!(
        code(w.authorize(&g, false, vec![perm("-1", None, "0.0.0.0/0")])),
        "InvalidPermission.Malformed"
    );
    w.authorize(&g, false, vec![perm("udp", Some((53, 53)), "0.0.0.0/0")])
        .unwrap();
    w.attach("eth0", &[&g], &[ip("10.1.0.5")]).unwrap();
    let other = group_in(&mut w, &vpc, "other").unwrap();
    assert_eq!(
        code(w.attach("eth0", &[&other], &[ip("10.1.0.5")])),
        "InvalidParameterValue",
        "groups fixed once attached"
    );
    // Outbound always allowed.
    let mut out = inbound("eth0", "192.0.2.1", "10.1.0.5", 47, 0);
    out.direction = Direction::Outbound;
    std::mem::swap(&mut out.src, &mut out.dst);
    assert!(w.eval(&out).allows());
    let c = compiler::compile_all(&w.state, &w.addrs);
    assert!(
        c["eth0"]
            .lookup(compiler::DIR_OUT, ip("192.0.2.1"))
            .is_some_and(|s| s.allows(47, 0, compiler::FAM_V4))
    );
    let default = w.state.default_group_of(&vpc).unwrap().id.clone();
    let del = crate::api::DeleteSecurityGroup {
        group_id: Some(default),
        group_name: None,
    };
    assert_eq!(
        code(ops::delete_security_group(&mut w.state, &del)),
        "InvalidGroup.Reserved"
    );
}

#[test]
fn sg_classic_limits() {
    let q = Quotas::default().for_vpc(true);
    assert_eq!(
        (q.groups_per_vpc, q.rules_per_group, q.groups_per_interface),
        (500, 100, 500)
    );
    let mut w = World::new();
    let vpc = new_vpc(&mut w, true);
    let g = group_in(&mut w, &vpc, "g").unwrap();
    let perms: Vec<_> = (0..100)
        .map(|i| perm("tcp", Some((i, i)), "0.0.0.0/0"))
        .collect();
    w.authorize(&g, false, perms).expect("100 rules fit");
    assert_eq!(
        code(w.authorize(&g, false, vec![perm("tcp", Some((100, 100)), "0.0.0.0/0")])),
        "RulesPerSecurityGroupLimitExceeded"
    );
    let many: Vec<String> = (0..6)
        .map(|i| group_in(&mut w, &vpc, &format!("m{i}")).unwrap())
        .collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    w.attach("eth9", &refs, &[])
        .expect("more than 5 groups in classic");
}

#[test]
fn sg_classic_copy_and_descriptions() {
    let mut w = World::new();
    let vpc = new_vpc(&mut w, true);
    let src = w.group("vpc-group"); // a VPC group: all-protocol outbound rules
    let copy = |w: &mut World, from: &str, desc: &str| {
        w.create(CreateSecurityGroup {
            group_name: Some("copy".into()),
            description: Some(desc.into()),
            vpc_id: Some(vpc.clone()),
            copy_from_group_id: Some(from.into()),
            ..Default::default()
        })
    };
    assert_eq!(
        code(copy(&mut w, &src, "d")),
        "InvalidParameterValue",
        "outbound rules cannot enter classic"
    );
    let classic_src = group_in(&mut w, &vpc, "classic-src").unwrap();
    w.authorize(
        &classic_src,
        false,
        vec![perm("tcp", Some((22, 22)), "0.0.0.0/0")],
    )
    .unwrap();
    copy(&mut w, &classic_src, "sg-like description | any ASCII")
        .expect("classic copy with an ASCII description");
}
