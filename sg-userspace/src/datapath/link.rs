//! How a device frames its packets (SG-IF-6): the datapath parses Ethernet frames, and packets
//! that start with the IP header (TUN, WireGuard, IP-in-IP, SIT and IPv6 tunnels), and
//! refuses every other link type rather than attach to something it cannot parse.

use std::{ffi::CString, io, os::fd::AsRawFd};

/// Link types (`ARPHRD_*`, `include/uapi/linux/if_arp.h`) whose packets start with an
/// Ethernet header.
const ETHERNET_TYPES: &[(u16, &str)] = &[(1, "ether"), (772, "loopback")];

/// Link types whose packets start with the IP header, the family in its version field:
/// TUN and WireGuard (`none`), tested with real packets. IP tunnels (ipip, sit, ip6tnl),
/// raw-IP modems and GRE are refused until they are tested: the kernels here build none of
/// them, and where their TC hooks find the inner header (GRE keeps the outer headers at
/// egress, older ipip/sit receive paths kept the outer MAC header) is not something to
/// assume.
const IP_TYPES: &[(u16, &str)] = &[(65534, "none")];

/// The framing of a device the datapath can protect: it picks the programs attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Ethernet,
    /// Packets start with the IP header: the TC programs for them (`sg_tc_*_ip`), no XDP.
    Ip,
}

/// Why a device cannot be protected.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(
        "network interface {iface} has link type {kind} ({arphrd}), whose packets the firewall \
         cannot parse; it protects Ethernet devices (ether, loopback) and devices whose packets \
         start with the IP header (none: TUN and WireGuard)"
    )]
    Unsupported {
        iface: String,
        arphrd: u16,
        kind: String,
    },
    #[error("reading the link type of {iface}: {source}")]
    Io {
        iface: String,
        #[source]
        source: io::Error,
    },
}

/// The framing of device `name` in this thread's network namespace.
pub fn link(name: &str) -> Result<Link, LinkError> {
    let arphrd = arphrd(name).map_err(|source| LinkError::Io {
        iface: name.to_owned(),
        source,
    })?;
    classify(arphrd).ok_or_else(|| LinkError::Unsupported {
        iface: name.to_owned(),
        arphrd,
        kind: kind_name(arphrd).to_owned(),
    })
}

/// The framing of link type `arphrd`, if the datapath parses it.
pub fn classify(arphrd: u16) -> Option<Link> {
    if ETHERNET_TYPES.iter().any(|(t, _)| *t == arphrd) {
        Some(Link::Ethernet)
    } else if IP_TYPES.iter().any(|(t, _)| *t == arphrd) {
        Some(Link::Ip)
    } else {
        None
    }
}

/// A name for the link types users meet (`ip -d link` spells them the same way).
fn kind_name(arphrd: u16) -> &'static str {
    match arphrd {
        32 => "infiniband",
        519 => "rawip",
        768 => "ipip",
        769 => "tunnel6",
        776 => "sit",
        280 => "can",
        512 => "ppp",
        778 => "gre",
        823 => "ip6gre",
        801 => "ieee80211",
        803 => "ieee80211_radiotap",
        _ => "unknown",
    }
}

/// The device's `ARPHRD_*` type: `SIOCGIFHWADDR` answers with it as the address family, for
/// the network namespace of the socket asked (sysfs shows the mounting process's).
fn arphrd(name: &str) -> io::Result<u16> {
    let cname = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let bytes = cname.as_bytes_with_nul();
    // SAFETY: a zeroed `ifreq` is valid; the name (with its NUL) fits, checked below.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if bytes.len() > req.ifr_name.len() {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    for (d, s) in req.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: SIOCGIFHWADDR reads the name and writes `ifr_hwaddr` of a valid `ifreq`.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel filled the `ifr_hwaddr` member of the union.
    Ok(unsafe { req.ifr_ifru.ifru_hwaddr.sa_family })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_ethernet_framed() {
        assert_eq!(link("lo").expect("lo exists"), Link::Ethernet);
    }

    #[test]
    fn link_types_are_parsed_or_refused() {
        for t in [1, 772] {
            assert_eq!(classify(t), Some(Link::Ethernet), "{t}");
        }
        // TUN and WireGuard.
        assert_eq!(classify(65534), Some(Link::Ip));
        // Untested IP tunnels and raw-IP modems; PPP, GRE and ip6gre (outer headers at TC
        // egress), InfiniBand, CAN, 802.11.
        for t in [519, 768, 769, 776, 512, 778, 823, 32, 280, 801] {
            assert_eq!(classify(t), None, "{t}");
        }
    }

    #[test]
    fn the_refusal_names_the_device_and_its_link_type() {
        let e = LinkError::Unsupported {
            iface: "ppp0".into(),
            arphrd: 512,
            kind: kind_name(512).into(),
        };
        let text = e.to_string();
        assert!(
            text.starts_with("network interface ppp0 has link type ppp (512)"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_device_is_an_error_not_a_guess() {
        assert!(matches!(link("sg-no-such-if"), Err(LinkError::Io { .. })));
    }
}
