//! The etcd layout: documents and back, diffs that replay, versions and strangers refused.

use super::*;
use crate::{
    model::{AttachMode, Interface},
    testkit::{World, perm},
};

/// A state with a bit of everything: groups with rules, a second VPC, an interface.
fn sample() -> State {
    let mut w = World::new();
    let web = w.group("web");
    w.authorize(
        &web,
        false,
        vec![perm("tcp", Some((443, 443)), "0.0.0.0/0")],
    )
    .unwrap();
    let vpc = w.state.default_vpc_id().unwrap();
    let mut iface = Interface::new("host-a/veth0", &vpc, AttachMode::Host);
    iface.private_addresses = vec!["10.0.0.5".parse().unwrap()];
    iface.group_ids = vec![web];
    w.state.interfaces.insert(iface.id.clone(), iface);
    w.state
}

fn bytes(docs: &BTreeMap<String, String>) -> Vec<(&str, &[u8])> {
    docs.iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect()
}

#[test]
fn a_state_comes_back_from_its_documents() {
    let state = sample();
    let docs = documents(&state);
    let vpc = state.default_vpc_id().unwrap();
    assert!(
        docs.contains_key(&format!("vpc/{vpc}/iface/host-a/veth0")),
        "{docs:?}"
    );
    assert_eq!(docs[&follows_key("host-a")], format!("[\"{vpc}\"]"));
    let back = state_of(bytes(&docs), &state.region).unwrap().unwrap();
    assert_eq!(back, state);
}

#[test]
fn no_version_is_a_new_store() {
    assert_eq!(state_of(Vec::new(), "us-east-1").unwrap(), None);
}

#[test]
fn a_diff_replayed_on_the_old_state_gives_the_new_one() {
    let old = sample();
    let mut new = old.clone();
    let (gid, _) = new.groups.iter().find(|(_, g)| g.name == "web").unwrap();
    let gid = gid.clone();
    new.groups.get_mut(&gid).unwrap().rules.clear();
    new.interfaces.clear();
    let d = diff(&old, &new);
    let vpc = old.default_vpc_id().unwrap();
    assert_eq!(d.puts.len(), 1, "{d:?}");
    assert_eq!(
        d.deletes,
        [
            follows_key("host-a"),
            format!("vpc/{vpc}/iface/host-a/veth0")
        ]
    );
    assert_eq!(d.scopes(), [Scope::Global, Scope::Vpc(vpc)].into());
    let mut replayed = old.clone();
    for (k, v) in &d.puts {
        apply(&mut replayed, k, Some(v.as_bytes())).unwrap();
    }
    for k in &d.deletes {
        apply(&mut replayed, k, None).unwrap();
    }
    assert_eq!(replayed, new);
    assert!(diff(&new, &new).is_empty());
}

#[test]
fn another_layout_version_and_unknown_keys_are_refused_the_guard_and_hosts_ignored() {
    let mut state = sample();
    assert!(matches!(
        apply(&mut state, VERSION_KEY, Some(b"3")),
        Err(LayoutError::Version { .. })
    ));
    let before = state.clone();
    apply(&mut state, GUARD_KEY, Some(b"req-1")).unwrap();
    apply(&mut state, "guard/vpc/vpc-1/", Some(b"req-1")).unwrap();
    apply(&mut state, &follows_key("host-b"), Some(b"[]")).unwrap();
    assert_eq!(state, before);
    assert!(matches!(
        apply(&mut state, "global/other/x", Some(b"x")),
        Err(LayoutError::UnknownKey(_))
    ));
    assert!(matches!(
        apply(&mut state, "vpc/vpc-1/group/sg-1", Some(b"not json")),
        Err(LayoutError::Corrupt { .. })
    ));
}

#[test]
fn hosts_records_live_beside_the_watched_prefix() {
    let hosts = hosts_prefix(DEFAULT_PREFIX);
    assert_eq!(hosts, "/sg/v1-hosts/");
    // Outside [prefix, prefix end): a watch of the state never sees them.
    assert!(hosts.as_str() < DEFAULT_PREFIX || hosts.as_str() >= "/sg/v10");
}

#[test]
fn a_layout_1_store_is_refused() {
    let mut state = sample();
    assert!(matches!(
        apply(&mut state, "meta/version", Some(b"1")),
        Err(LayoutError::Version { .. })
    ));
}

#[test]
fn keys_scopes_and_markers() {
    assert_eq!(Scope::of("global/vpc/vpc-1"), Some(Scope::Global));
    assert_eq!(
        Scope::of("vpc/vpc-1/iface/h1/veth0"),
        Some(Scope::Vpc("vpc-1".into()))
    );
    assert_eq!(Scope::of(GUARD_KEY), None);
    assert_eq!(Scope::of("vpc/vpc-1"), None);
    let v = Scope::Vpc("vpc-1".into());
    assert_eq!(v.marker(), "guard/vpc/vpc-1/");
    assert_eq!(Scope::of_marker(&v.marker()), Some(v));
    assert_eq!(
        Scope::of_marker(&Scope::Global.marker()),
        Some(Scope::Global)
    );
    assert_eq!(Scope::of_marker(GUARD_KEY), None);
}

/// A host follows the VPCs of its interfaces and of the groups their rules name, no other.
#[test]
fn a_host_follows_its_vpcs_and_the_vpcs_its_rules_name() {
    let mut w = World::new();
    let web = w.group("web");
    let db = w.group("db");
    let unrelated = w.group("unrelated");
    let default_vpc = w.state.default_vpc_id().unwrap();
    // `db` and `unrelated` moved to VPCs of their own.
    let (other, far) = ("vpc-0other".to_owned(), "vpc-0far".to_owned());
    for (g, v) in [(&db, &other), (&unrelated, &far)] {
        let mut vpc = w.state.vpcs[&default_vpc].clone();
        vpc.id = v.clone();
        vpc.is_default = false;
        w.state.vpcs.insert(v.clone(), vpc);
        w.state.groups.get_mut(g).unwrap().vpc_id = v.clone();
    }
    let mut iface = Interface::new("h1/veth0", &default_vpc, AttachMode::Host);
    iface.group_ids = vec![web.clone()];
    w.state.interfaces.insert(iface.id.clone(), iface);
    assert_eq!(follows(&w.state)["h1"], [default_vpc.clone()].into());
    assert!(!follows(&w.state).contains_key("h2"));
    let rule = crate::model::Rule {
        peer: Peer::Group(db),
        ..w.state.groups[&web].rules[0].clone()
    };
    w.state.groups.get_mut(&web).unwrap().rules.push(rule);
    assert_eq!(follows(&w.state)["h1"], [default_vpc, other].into());
}

/// A scope replaced by its documents at a later revision: what went is deleted, the rest of
/// the state is untouched.
#[test]
fn a_scope_is_replaced_by_its_documents() {
    let old = sample();
    let vpc = old.default_vpc_id().unwrap();
    let mut new = old.clone();
    new.interfaces.clear();
    new.prefix_lists.clear();
    let scope = Scope::Vpc(vpc);
    let docs: BTreeMap<String, String> = documents(&new)
        .into_iter()
        .filter(|(k, _)| Scope::of(k).as_ref() == Some(&scope))
        .collect();
    let mut replaced = old.clone();
    replace_scope(&mut replaced, &scope, bytes(&docs)).unwrap();
    assert!(replaced.interfaces.is_empty());
    assert_eq!(replaced.groups, old.groups);
    assert_eq!(replaced.prefix_lists, old.prefix_lists);
}
