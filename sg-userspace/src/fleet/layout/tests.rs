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
    assert!(docs.contains_key("iface/host-a/veth0"), "{docs:?}");
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
    assert_eq!(d.puts.len(), 1, "{d:?}");
    assert_eq!(d.deletes, ["iface/host-a/veth0"]);
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
        apply(&mut state, VERSION_KEY, Some(b"2")),
        Err(LayoutError::Version { .. })
    ));
    let before = state.clone();
    apply(&mut state, GUARD_KEY, Some(b"req-1")).unwrap();
    apply(&mut state, "host/host-b", Some(b"{}")).unwrap();
    assert_eq!(state, before);
    assert!(matches!(
        apply(&mut state, "meta/other", Some(b"x")),
        Err(LayoutError::UnknownKey(_))
    ));
    assert!(matches!(
        apply(&mut state, "group/sg-1", Some(b"not json")),
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
