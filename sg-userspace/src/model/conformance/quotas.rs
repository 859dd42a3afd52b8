//! Quotas (SG-QUOTA): groups per VPC, rules per group with a prefix list counted at its
//! maximum size, and the quotas' own limits.

use super::code;
use crate::{
    api::{CreateManagedPrefixList, CreateSecurityGroup, ModifyManagedPrefixList, PrefixListId},
    model::*,
    testkit::{World, perm},
};

#[test]
fn sg_quota_groups_per_vpc_and_prefix_list_size() {
    let mut w = World::new();
    w.quotas.groups_per_vpc = 3; // the default group counts
    w.group("a");
    w.group("b");
    assert_eq!(
        code(w.create(CreateSecurityGroup {
            group_name: Some("c".into()),
            description: Some("d".into()),
            ..Default::default()
        })),
        "SecurityGroupLimitExceeded"
    );
    let mut w = World::new();
    w.quotas.rules_per_group = 10;
    let g = w.group("g");
    let pl = prefix_lists::create(
        &mut w.state,
        &mut w.ids,
        &CreateManagedPrefixList {
            prefix_list_name: Some("big".into()),
            max_entries: Some(10),
            address_family: Some("IPv4".into()),
            ..Default::default()
        },
    )
    .unwrap()
    .prefix_list
    .prefix_list_id;
    let mut p = perm("tcp", Some((1, 1)), "0.0.0.0/0");
    p.ip_ranges.clear();
    p.prefix_list_ids.push(PrefixListId {
        prefix_list_id: pl.clone(),
        description: None,
    });
    w.authorize(&g, false, vec![p])
        .expect("10 entries = 10 rules: at the quota");
    assert_eq!(
        code(w.authorize(&g, false, vec![perm("tcp", Some((2, 2)), "192.0.2.0/24")])),
        "RulesPerSecurityGroupLimitExceeded"
    );
    // IPv6 is counted separately.
    w.authorize(&g, false, vec![perm("tcp", Some((2, 2)), "2001:db8::/32")])
        .unwrap();
    // Growing the list's maximum would exceed the quota of the group using it.
    let grow = ModifyManagedPrefixList {
        prefix_list_id: Some(pl),
        max_entries: Some(11),
        ..Default::default()
    };
    assert_eq!(
        code(prefix_lists::modify(&mut w.state, &w.quotas, &grow)),
        "RulesPerSecurityGroupLimitExceeded"
    );
    assert!(Quotas::default().check().is_ok());
    assert!(
        Quotas {
            rules_per_group: 201,
            ..Quotas::default()
        }
        .check()
        .is_err()
    );
}
