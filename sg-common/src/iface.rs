//! Per-interface configuration (`IFACE_CFG`: ifindex -> [`IfaceCfg`]).
//!
//! The datapath finds it without hashing for interfaces whose ifindex is below
//! [`FAST_IFINDEX`] (nearly all): `IFACE_INDEX[ifindex]` holds 1 + the position of the
//! configuration in `IFACE_CFGS`, two positions per counter slot ([`cfg_position`]), and the
//! few fields every packet needs ([`IndexEntry`]), so a packet that passes on the flow cache
//! reads nothing else. Userspace writes a new configuration into the position not in use,
//! then switches with one 8-byte write of `IFACE_INDEX`, so a packet sees the old or the new
//! configuration whole.
//! Larger ifindexes find their entry in the `IFACE_ENTRY` hash instead. `IFACE_CFG` (a hash)
//! holds every configuration, by ifindex, for a restarted daemon to resume from.

/// The firewall runs on the instance itself: the arriving hook (XDP, or TC ingress) sees
/// inbound, TC egress sees outbound.
pub const MODE_INSTANCE: u32 = 0;
/// The firewall runs on the host side of the instance's veth/tap: the arriving hook sees the
/// instance's outbound traffic, TC egress its inbound traffic.
pub const MODE_HOST: u32 = 1;

/// Maximum number of protected interfaces per daemon (size of the counter array slots).
pub const MAX_IFACES: u32 = 256;

/// Interfaces with a smaller ifindex are found through `IFACE_INDEX` (an array this long).
pub const FAST_IFINDEX: u32 = 1 << 14;

/// Position in `IFACE_CFGS` of generation `generation` (0 or 1) of the configuration of the
/// interface in counter slot `slot`.
#[inline(always)]
pub const fn cfg_position(slot: u32, generation: u32) -> u32 {
    slot * 2 + (generation & 1)
}

/// An `IFACE_INDEX` entry, one 8-byte word written atomically: bits 0-15 hold 1 + the
/// position in `IFACE_CFGS` (0: not protected), bits 16-31 the counter slot, bits 32-39 the
/// mode, bit 40 the source/destination check, bit 41 audit mode, bit 42 flow events, bits
/// 44-47 which (direction, family) have a ruleset, all copied from the configuration at that
/// position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexEntry(pub u64);

impl IndexEntry {
    #[inline(always)]
    pub const fn new(position: u32, cfg: &IfaceCfg) -> Self {
        IndexEntry(
            (position as u64 + 1) & 0xffff
                | (cfg.stats_slot as u64 & 0xffff) << 16
                | (cfg.mode as u64 & 0xff) << 32
                | ((cfg.flags & FLAG_SOURCE_DEST_CHECK != 0) as u64) << 40
                | ((cfg.flags & FLAG_AUDIT != 0) as u64) << 41
                | ((cfg.flags & FLAG_EVENTS != 0) as u64) << 42
                | ((cfg.ruleset[0][0] != 0) as u64) << 44
                | ((cfg.ruleset[0][1] != 0) as u64) << 45
                | ((cfg.ruleset[1][0] != 0) as u64) << 46
                | ((cfg.ruleset[1][1] != 0) as u64) << 47,
        )
    }

    /// Whether direction `dir` of family index `family` has any rule (a ruleset): without,
    /// every packet not tracked is dropped, and the configuration need not be read.
    #[inline(always)]
    pub const fn has_rules(self, dir: u8, family: usize) -> bool {
        self.0 >> (44 + (dir as u32 & 1) * 2 + (family as u32 & 1)) & 1 != 0
    }

    /// The configuration's position in `IFACE_CFGS`; `None`: not protected.
    #[inline(always)]
    pub const fn position(self) -> Option<u32> {
        match (self.0 & 0xffff) as u32 {
            0 => None,
            p => Some(p - 1),
        }
    }

    #[inline(always)]
    pub const fn stats_slot(self) -> u32 {
        (self.0 >> 16) as u32 & 0xffff
    }

    #[inline(always)]
    pub const fn mode(self) -> u32 {
        (self.0 >> 32) as u32 & 0xff
    }

    #[inline(always)]
    pub const fn source_dest_check(self) -> bool {
        self.0 >> 40 & 1 != 0
    }

    /// Audit mode: packets the groups refuse pass, counted in `AUDIT_PASSED`.
    #[inline(always)]
    pub const fn audit(self) -> bool {
        self.0 >> 41 & 1 != 0
    }

    /// Someone (an observer, a flow log) wants this interface's flow events.
    #[inline(always)]
    pub const fn events(self) -> bool {
        self.0 >> 42 & 1 != 0
    }
}

/// Configuration of one protected interface. Replaced whole with one map update, so a reader
/// sees either the old or the new ruleset ids, never a mix.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfaceCfg {
    /// `ruleset[direction][family]`: id of the compiled ruleset in `RULES_V4`/`RULES_V6`.
    pub ruleset: [[u32; 2]; 2],
    /// [`MODE_INSTANCE`] or [`MODE_HOST`].
    pub mode: u32,
    /// Slot of this interface in the `STATS` array (0..[`MAX_IFACES`]).
    pub stats_slot: u32,
    /// Idle timeout of established TCP flows, seconds (SG-IF-4, default 432 000).
    pub tcp_established_timeout: u32,
    /// Idle timeout of UDP flows that are not yet streams, seconds (default 30).
    pub udp_timeout: u32,
    /// Idle timeout of UDP streams, seconds (default 180).
    pub udp_stream_timeout: u32,
    /// Bit [`open_bit`]`(dir, family, udp)`: direction `dir` allows TCP (UDP) to `0.0.0.0/0`
    /// (`::/0`) on all ports, the condition for untracked flows (SG-ENF-3).
    pub open_to_all: u32,
    /// [`FLAG_SOURCE_DEST_CHECK`]: host mode's source/destination check (SG-IF-5): the
    /// instance's side of every IP packet must be one of its addresses in `IFACE_ADDRS`.
    /// [`FLAG_AUDIT`]: audit mode: what the groups refuse passes, and is counted.
    pub flags: u32,
    /// Which lookups each ruleset needs: [`crate::rule::hosts_bit`],
    /// [`crate::rule::prefixes_bit`] and [`crate::rule::anywhere_bit`] per direction and
    /// family.
    pub lookups: u32,
}

/// [`IfaceCfg::flags`]: the source/destination check (bit 0 was the whole field once, so
/// configurations pinned by older daemons read the same).
pub const FLAG_SOURCE_DEST_CHECK: u32 = 1;
/// [`IfaceCfg::flags`]: audit mode.
pub const FLAG_AUDIT: u32 = 2;
/// [`IfaceCfg::flags`]: flow events wanted (`crate::events`).
pub const FLAG_EVENTS: u32 = 4;

/// The bit of [`IfaceCfg::open_to_all`] for a direction, family index and protocol.
#[inline(always)]
pub const fn open_bit(dir: u8, family: usize, udp: bool) -> u32 {
    1 << ((dir as u32 & 1) * 4 + (family as u32 & 1) * 2 + udp as u32)
}
const _: () = assert!(core::mem::size_of::<IfaceCfg>() == 48);

/// Key of `IFACE_ADDRS`: one private address of a host-mode interface's instance.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AddrKey {
    pub ifindex: u32,
    /// 4 or 6.
    pub family: u8,
    pub _pad: [u8; 3],
    /// IPv4 addresses use the first 4 bytes.
    pub addr: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<AddrKey>() == 24);

#[cfg(feature = "user")]
unsafe impl aya::Pod for IfaceCfg {}
#[cfg(feature = "user")]
unsafe impl aya::Pod for AddrKey {}
