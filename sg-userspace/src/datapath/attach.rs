//! Attach and links: brings an interface's datapath state to its compiled form (the first
//! time by attaching, afterwards by switching rulesets), attaches the arriving hook (XDP or TC
//! ingress) and TC egress through links pinned by ifindex and reused across restarts, writes
//! the address set of host-mode interfaces, and detaches and frees on removal. Also the device
//! queries the daemon makes: does a device exist, its addresses, does it have a driver.

use std::{
    fs,
    net::IpAddr,
    path::{Path, PathBuf},
};

use aya::programs::{
    SchedClassifier, TcAttachType, Xdp, XdpMode,
    links::{FdLink, PinnedLink},
    tc::SchedClassifierLink,
    xdp::XdpLink,
};
use sg_common::{
    iface::{
        AddrKey, FLAG_AUDIT, FLAG_SOURCE_DEST_CHECK, IfaceCfg, MAX_IFACES, MODE_HOST, MODE_INSTANCE,
    },
    maps as names,
};
use tracing::{info, warn};

use super::{
    Datapath, DatapathError, XdpModeChoice,
    link::{self, Link},
    map_err, program,
    rulesets::Written,
};
use crate::{
    compiler::CompiledIface,
    model::{AttachMode, Enforcement, Interface},
};

/// An interface this datapath protects, and what was written and attached for it.
pub(super) struct Attached {
    pub(super) ifindex: u32,
    pub(super) slot: u32,
    compiled: CompiledIface,
    /// The interface as last applied (mode, timeouts, addresses, source/destination check).
    pub(super) iface: Interface,
    pub(super) written: Written,
    /// Keys written to `IFACE_ADDRS`.
    pub(super) addrs: Vec<AddrKey>,
    /// The link of the arriving hook (XDP, or TC ingress).
    pub(super) arriving: Option<OwnedLink>,
    /// Which hook that is (see [`Datapath::arriving_hook`]).
    arriving_hook: &'static str,
    pub(super) tc: Option<OwnedLink>,
    /// How the device frames packets (SG-IF-6).
    pub(super) link: Link,
}

/// A link this daemon owns, pinned when the daemon pins (so it outlives the daemon); dropped
/// and unpinned to detach.
pub(super) struct OwnedLink {
    link: FdLink,
    pub(super) pin: Option<PathBuf>,
}

impl Datapath {
    /// Whether the interface named `iface` is protected.
    pub fn is_attached(&self, iface: &str) -> bool {
        self.attached.contains_key(iface)
    }

    /// The names of the protected interfaces.
    pub fn attached_ifaces(&self) -> Vec<String> {
        self.attached.keys().cloned().collect()
    }

    /// Brings an interface's datapath state to `compiled`: attaches it the first time,
    /// switches rulesets atomically afterwards, does nothing when nothing changed.
    pub fn apply(
        &mut self,
        iface: &Interface,
        compiled: &CompiledIface,
    ) -> Result<(), DatapathError> {
        let ifindex = nix::net::if_::if_nametoindex(iface.id.as_str())
            .map_err(|_| DatapathError::NoDevice(iface.id.clone()))?;
        if let Some(a) = self.attached.get(&iface.id) {
            if a.ifindex != ifindex {
                // The device was replaced by one with the same name: start afresh.
                self.remove(&iface.id)?;
            } else if a.compiled == *compiled && a.iface == *iface {
                return Ok(());
            }
        }
        let Some(a) = self.attached.get(&iface.id) else {
            return self.attach(iface, ifindex, compiled);
        };
        let (slot, old_addrs) = (a.slot, a.addrs.clone());
        let written = self.write(&iface.id, compiled)?;
        let addrs = match self.write_addrs(ifindex, iface, &old_addrs) {
            Ok(k) => k,
            Err(e) => {
                self.free(written);
                return Err(e);
            }
        };
        if let Err(e) = self.ifaces.set(ifindex, self.cfg_of(&written, slot, iface)) {
            self.free(written);
            self.free_addrs(&addrs, &old_addrs);
            return Err(map_err(names::IFACE_CFG)(e));
        }
        let a = self.attached.get_mut(&iface.id).expect("present above");
        let old = std::mem::replace(&mut a.written, written);
        a.compiled = compiled.clone();
        a.iface = iface.clone();
        a.addrs = addrs.clone();
        // The old ruleset is unreachable from here on; freeing it (thousands of map deletes
        // for a large one) waits for `reclaim`, after the caller has answered.
        self.retired.push(old);
        self.free_addrs(&old_addrs, &addrs);
        Ok(())
    }

    fn attach(
        &mut self,
        iface: &Interface,
        ifindex: u32,
        compiled: &CompiledIface,
    ) -> Result<(), DatapathError> {
        // Never attach to a device whose packets the programs cannot parse.
        let link = link::link(&iface.id)?;
        let used: Vec<u32> = self.attached.values().map(|a| a.slot).collect();
        // An interface resumed from a previous run keeps its slot and its counters; others get
        // a slot no resumed interface still claims.
        let slot = match self.previous.get(&ifindex).map(|c| c.stats_slot) {
            Some(s) if s < MAX_IFACES && !used.contains(&s) => s,
            _ => {
                let claimed = |s: &u32| {
                    self.previous
                        .iter()
                        .any(|(i, c)| c.stats_slot == *s && *i != ifindex)
                };
                let s = (0..MAX_IFACES)
                    .find(|s| !used.contains(s) && !claimed(s))
                    .or_else(|| (0..MAX_IFACES).find(|s| !used.contains(s)))
                    .ok_or(DatapathError::NoSlot)?;
                // A previous run's interface still holding this slot (only when every slot
                // is taken) stops being protected now: its configuration positions are about
                // to be this interface's.
                let holders: Vec<u32> = self
                    .previous
                    .iter()
                    .filter(|(i, c)| c.stats_slot == s && **i != ifindex)
                    .map(|(i, _)| *i)
                    .collect();
                for i in holders {
                    warn!(
                        ifindex = i,
                        slot = s,
                        "giving a previous run's interface slot away"
                    );
                    let _ = self.ifaces.remove(i);
                    self.previous.remove(&i);
                }
                // Reset the slot's counters, which may hold a previous interface's figures.
                self.reset_stats(s);
                s
            }
        };
        let written = self.write(&iface.id, compiled)?;
        let addrs = match self.write_addrs(ifindex, iface, &[]) {
            Ok(k) => k,
            Err(e) => {
                self.free(written);
                return Err(e);
            }
        };
        let mut a = Attached {
            ifindex,
            slot,
            compiled: compiled.clone(),
            iface: iface.clone(),
            written,
            addrs,
            arriving: None,
            arriving_hook: "",
            tc: None,
            link,
        };
        if let Err(e) = self
            .ifaces
            .set(ifindex, self.cfg_of(&a.written, slot, iface))
        {
            self.teardown(a);
            return Err(map_err(names::IFACE_CFG)(e));
        }
        match self.attach_links(&iface.id, ifindex, &mut a) {
            Ok(()) => {
                info!(iface = %iface.id, ifindex, "protecting interface");
                self.attached.insert(iface.id.clone(), a);
                Ok(())
            }
            Err(e) => {
                self.teardown(a);
                Err(e)
            }
        }
    }

    /// Writes the address set of a host-mode interface with the source/destination check on;
    /// returns the keys now wanted (the caller frees `old` ones no longer wanted).
    fn write_addrs(
        &mut self,
        ifindex: u32,
        iface: &Interface,
        old: &[AddrKey],
    ) -> Result<Vec<AddrKey>, DatapathError> {
        let wanted: Vec<AddrKey> = if iface.mode == AttachMode::Host && iface.source_dest_check {
            iface
                .private_addresses
                .iter()
                .map(|a| addr_key(ifindex, *a))
                .collect()
        } else {
            Vec::new()
        };
        for (i, k) in wanted.iter().enumerate() {
            if old.contains(k) {
                continue;
            }
            if let Err(e) = self.iface_addrs.insert(k, 1, 0) {
                let written: Vec<AddrKey> = wanted[..i].to_vec();
                self.free_addrs(&written, old);
                return Err(map_err(names::IFACE_ADDRS)(e));
            }
        }
        Ok(wanted)
    }

    /// Removes the keys of `gone` that are not in `keep`.
    fn free_addrs(&mut self, gone: &[AddrKey], keep: &[AddrKey]) {
        for k in gone.iter().filter(|k| !keep.contains(k)) {
            let _ = self.iface_addrs.remove(k);
        }
    }

    /// Where an interface's link is pinned: by ifindex, so a pin is never reused for another
    /// device of the same name (and bpffs refuses the dots interface names may have).
    fn link_pin(&self, ifindex: u32, hook: &str) -> Option<PathBuf> {
        self.links_dir
            .as_ref()
            .map(|d| d.join(link_pin_name(ifindex, hook)))
    }

    /// Attaches both programs to an interface. A link pinned by a previous run for this
    /// interface is reused: its program is replaced atomically (no moment unprotected), and the
    /// interface keeps its tracked flows.
    fn attach_links(
        &mut self,
        name: &str,
        ifindex: u32,
        a: &mut Attached,
    ) -> Result<(), DatapathError> {
        let attach_err = |source| DatapathError::Attach {
            iface: name.to_owned(),
            source,
        };
        let (xdp_pin, tc_pin) = (self.link_pin(ifindex, "xdp"), self.link_pin(ifindex, "tc"));
        let tc_in_pin = self.link_pin(ifindex, "tcin");
        let xdp_mode = self.cfg.xdp_mode;
        // Devices whose packets start with the IP header get TC hooks whatever the mode: the
        // TC programs learn the family from the socket buffer's protocol.
        let use_tc = a.link == Link::Ip
            || match xdp_mode {
                XdpModeChoice::Tc => true,
                XdpModeChoice::Auto => !has_driver(name),
                XdpModeChoice::Native | XdpModeChoice::Skb => false,
            };
        let mut xdp_link = None;
        if !use_tc {
            let xdp = self.xdp_prog()?;
            let reused = pinned_link(&xdp_pin)
                .and_then(|l| XdpLink::try_from(l).ok())
                .and_then(|l| {
                    xdp.attach_to_link(l)
                        .map_err(|e| warn!(iface = name, error = %e, "a pinned XDP link could not be reused"))
                        .ok()
                });
            let id = match reused {
                // A pinned link keeps the mode it was first attached in.
                Some(id) => {
                    a.arriving_hook = "xdp";
                    Some(id)
                }
                None => {
                    let mode = match xdp_mode {
                        XdpModeChoice::Skb => XdpMode::Skb,
                        _ => XdpMode::Driver,
                    };
                    match xdp.attach_to_if_index(ifindex, mode) {
                        Ok(l) => {
                            a.arriving_hook = if mode == XdpMode::Skb {
                                "xdp-generic"
                            } else {
                                "xdp-native"
                            };
                            Some(l)
                        }
                        Err(e) if xdp_mode == XdpModeChoice::Auto => {
                            warn!(iface = name, error = %e, "native XDP failed; using TC ingress");
                            None
                        }
                        Err(e) => return Err(attach_err(e)),
                    }
                }
            };
            if let Some(id) = id {
                let link = xdp.take_link(id)?;
                // Kernels >= 5.9 attach XDP through links (fd-based, pinnable).
                let fd = FdLink::try_from(link).map_err(|source| DatapathError::Link {
                    iface: name.to_owned(),
                    source,
                })?;
                xdp_link = Some(own(fd, xdp_pin.clone())?);
            }
        }
        let arriving = match xdp_link {
            Some(l) => {
                // A previous run may have used TC ingress here: now XDP is in place, let go.
                unpin_link(&tc_in_pin, name);
                l
            }
            None => {
                let l = self.attach_tc(name, TcAttachType::Ingress, a.link, &tc_in_pin)?;
                a.arriving_hook = "tc-ingress";
                unpin_link(&xdp_pin, name);
                l
            }
        };
        a.arriving = Some(arriving);
        a.tc = Some(self.attach_tc(name, TcAttachType::Egress, a.link, &tc_pin)?);
        Ok(())
    }

    /// Attaches the TC program of `kind` (ingress or egress) through tcx, or swaps it into the
    /// link a previous run pinned at `pin`.
    fn attach_tc(
        &mut self,
        name: &str,
        kind: TcAttachType,
        link: Link,
        pin: &Option<PathBuf>,
    ) -> Result<OwnedLink, DatapathError> {
        let prog = match (kind == TcAttachType::Ingress, link) {
            (true, Link::Ethernet) => names::PROG_TC_INGRESS,
            (false, Link::Ethernet) => names::PROG_TC_EGRESS,
            (true, Link::Ip) => names::PROG_TC_INGRESS_IP,
            (false, Link::Ip) => names::PROG_TC_EGRESS_IP,
        };
        let tc: &mut SchedClassifier = program(&mut self.ebpf, prog)?;
        let reused = pinned_link(pin)
            .and_then(|l| SchedClassifierLink::try_from(l).ok())
            .and_then(|l| {
                tc.attach_to_link(l)
                    .map_err(
                        |e| warn!(iface = name, error = %e, "a pinned TC link could not be reused"),
                    )
                    .ok()
            });
        let id = match reused {
            Some(id) => id,
            None => tc
                .attach(name, kind)
                .map_err(|source| DatapathError::Attach {
                    iface: name.to_owned(),
                    source,
                })?,
        };
        let link = tc.take_link(id)?;
        let fd = FdLink::try_from(link).map_err(|source| DatapathError::Link {
            iface: name.to_owned(),
            source,
        })?;
        own(fd, pin.clone())
    }

    /// The hook that sees packets arriving on a protected interface: `xdp-native`,
    /// `xdp-generic`, `tc-ingress`, or `xdp` (a pinned XDP link taken over from a previous run,
    /// in the mode it was attached in).
    pub fn arriving_hook(&self, iface: &str) -> Option<&'static str> {
        self.attached.get(iface).map(|a| a.arriving_hook)
    }

    pub(super) fn xdp_prog(&mut self) -> Result<&mut Xdp, DatapathError> {
        program(&mut self.ebpf, names::PROG_XDP)
    }

    /// Stops protecting an interface and frees everything written for it.
    pub fn remove(&mut self, name: &str) -> Result<(), DatapathError> {
        if let Some(a) = self.attached.remove(name) {
            info!(iface = name, "no longer protecting interface");
            self.teardown(a);
        }
        Ok(())
    }

    /// Detaches links and frees entries; keeps going on errors and logs each.
    fn teardown(&mut self, a: Attached) {
        for OwnedLink { link, pin } in [a.arriving, a.tc].into_iter().flatten() {
            if let Some(pin) = pin
                && let Err(e) = fs::remove_file(&pin)
            {
                warn!(error = %e, pin = %pin.display(), "unpinning a link failed");
            }
            drop(link);
        }
        if let Err(e) = self.ifaces.remove(a.ifindex) {
            warn!(error = %e, "removing interface configuration failed");
        }
        self.free(a.written);
        self.free_addrs(&a.addrs, &[]);
    }
}

fn link_pin_name(ifindex: u32, hook: &str) -> String {
    format!("if{ifindex}-{hook}")
}

/// Removes the pin of a link a previous run left at `pin`, if there is one: with the pin gone
/// and no descriptor open, the kernel detaches it.
fn unpin_link(pin: &Option<PathBuf>, iface: &str) {
    if let Some(p) = pin
        && p.exists()
    {
        info!(iface, pin = %p.display(), "detaching a link of another attach mode");
        if let Err(e) = fs::remove_file(p) {
            warn!(iface, error = %e, pin = %p.display(), "unpinning a link failed");
        }
    }
}

/// Opens a link pinned at `pin`, if there is one.
fn pinned_link(pin: &Option<PathBuf>) -> Option<FdLink> {
    let pin = pin.as_ref()?;
    match PinnedLink::from_pin(pin) {
        Ok(p) => Some(FdLink::from(p)),
        Err(_) => None,
    }
}

/// Takes ownership of a link, pinning it at `pin` (replacing a stale pin there).
fn own(link: FdLink, pin: Option<PathBuf>) -> Result<OwnedLink, DatapathError> {
    let Some(path) = pin else {
        return Ok(OwnedLink { link, pin: None });
    };
    if path.exists() {
        // The same link, already pinned (reused), or a stale one: pin the live link afresh.
        let _ = fs::remove_file(&path);
    }
    let pinned = link.pin(&path).map_err(|source| DatapathError::Pin {
        path: path.clone(),
        source,
    })?;
    Ok(OwnedLink {
        link: FdLink::from(pinned),
        pin: Some(path),
    })
}

fn addr_key(ifindex: u32, a: IpAddr) -> AddrKey {
    let mut addr = [0u8; 16];
    let family = match a {
        IpAddr::V4(v4) => {
            addr[..4].copy_from_slice(&v4.octets());
            4
        }
        IpAddr::V6(v6) => {
            addr = v6.octets();
            6
        }
    };
    AddrKey {
        ifindex,
        family,
        _pad: [0; 3],
        addr,
    }
}

pub(super) fn iface_cfg(w: &Written, slot: u32, iface: &Interface) -> IfaceCfg {
    let t = &iface.timeouts;
    IfaceCfg {
        ruleset: w.rulesets,
        mode: match iface.mode {
            AttachMode::Instance => MODE_INSTANCE,
            AttachMode::Host => MODE_HOST,
        },
        flags: if iface.mode == AttachMode::Host && iface.source_dest_check {
            FLAG_SOURCE_DEST_CHECK
        } else {
            0
        } | if iface.enforcement == Enforcement::Audit {
            FLAG_AUDIT
        } else {
            0
        },
        stats_slot: slot,
        tcp_established_timeout: t.tcp_established,
        udp_timeout: t.udp,
        udp_stream_timeout: t.udp_stream,
        open_to_all: w.open_to_all,
        lookups: w.lookups,
    }
}

/// Whether the device has a driver (a physical NIC); virtual devices such as veth have none.
fn has_driver(name: &str) -> bool {
    Path::new("/sys/class/net")
        .join(name)
        .join("device")
        .exists()
}

/// Whether a network device of this name exists in this network namespace.
pub fn device_exists(name: &str) -> bool {
    nix::net::if_::if_nametoindex(name).is_ok()
}

/// Private addresses of a device (instance mode reads them from the device, SG-IF-5). IPv6
/// link-local addresses are left out: they are not what group references match.
pub fn device_addresses(name: &str) -> Vec<IpAddr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for a in addrs.filter(|a| a.interface_name == name) {
        let Some(addr) = a.address else { continue };
        if let Some(v4) = addr.as_sockaddr_in() {
            out.push(IpAddr::V4(v4.ip()));
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            let ip = v6.ip();
            if ip.segments()[0] & 0xffc0 != 0xfe80 {
                out.push(IpAddr::V6(ip));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The hardware address of a device as EC2 writes a `MacAddress` (`0a:1b:2c:3d:4e:5f`), if it
/// has a six-byte one (Ethernet devices; TUN and WireGuard devices have none).
pub fn device_mac(name: &str) -> Option<String> {
    let addrs = nix::ifaddrs::getifaddrs().ok()?;
    addrs
        .filter(|a| a.interface_name == name)
        .filter_map(|a| a.address?.as_link_addr().copied())
        .find(|l| l.halen() == 6)
        .and_then(|l| l.addr())
        .map(|m| {
            m.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        })
}

#[cfg(test)]
mod mac_tests {
    #[test]
    fn device_macs_are_written_as_ec2_does() {
        // Loopback has a six-byte, all-zero hardware address; a missing device has none.
        assert_eq!(
            super::device_mac("lo").as_deref(),
            Some("00:00:00:00:00:00")
        );
        assert_eq!(super::device_mac("sg-no-such-dev"), None);
    }
}
