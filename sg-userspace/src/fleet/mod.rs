//! Many hosts, one set of groups (issue 15): `sgd --store etcd://... --host-id NAME` keeps the
//! state in etcd, shared by every host, and each host enforces its own interfaces.
//!
//! - `layout`: the state as etcd keys and JSON documents; diffs (pure).
//! - `etcd`: the client (its own runtime, deadlines), guarded writes, the host's lease.
//! - `follow`: the follower (list, then watch; resume, relist).
//!
//! Interface ids are host-qualified in a fleet: `<host>/<device>` (`web-1/veth0`), unique
//! across hosts; on its own host an interface may also be named by its device alone. On one
//! host (the embedded store) ids stay device names.

pub mod etcd;
mod follow;
pub mod layout;

/// `sgd --store etcd://... --host-id NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetConfig {
    pub etcd: etcd::EtcdConfig,
    /// This host's name in the fleet ([`check_host_id`]).
    pub host_id: String,
}

/// A host id: 1 to 63 characters of `a-z`, `0-9`, `-`, `.` and `_`, starting with a letter
/// or digit: it is part of interface ids and etcd keys, so no `/`.
pub fn check_host_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 63
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid host id '{id}': 1 to 63 of a-z, 0-9, '-', '.', '_', starting with a letter or digit"
        ))
    }
}

/// The fleet-wide id of `host`'s interface `id` (which may already be qualified).
pub fn qualify(host: &str, id: &str) -> String {
    if id.contains('/') {
        id.to_owned()
    } else {
        format!("{host}/{id}")
    }
}

/// The device of interface `id` if it is `host`'s (`None` for another host's).
pub fn local_device<'a>(host: &str, id: &'a str) -> Option<&'a str> {
    match id.split_once('/') {
        Some((h, dev)) if h == host => Some(dev),
        Some(_) => None,
        None => Some(id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ids_and_interface_ids() {
        for ok in ["web-1", "h0", "rack2.host_3"] {
            check_host_id(ok).unwrap();
        }
        for bad in ["", "-a", "A", "a/b", &"x".repeat(64)] {
            assert!(check_host_id(bad).is_err(), "{bad}");
        }
        assert_eq!(qualify("h1", "veth0"), "h1/veth0");
        assert_eq!(qualify("h1", "h2/veth0"), "h2/veth0");
        assert_eq!(local_device("h1", "h1/veth0"), Some("veth0"));
        assert_eq!(local_device("h1", "h2/veth0"), None);
        assert_eq!(local_device("h1", "veth0"), Some("veth0"));
    }
}
