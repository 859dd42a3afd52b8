//! Connection tracking (`CT_TCP`, `CT_OTHER`: LRU hash maps).
//!
//! Keys are written from the instance's point of view (local = the instance's address), so
//! both directions of a flow find the same entry without normalising.

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtKey {
    pub ifindex: u32,
    /// IPv4 addresses use the first 4 bytes; the rest is zero.
    pub local: [u8; 16],
    pub remote: [u8; 16],
    /// TCP/UDP: ports; ICMP echo: identifier in `local_port`; other protocols: 0.
    pub local_port: u16,
    pub remote_port: u16,
    pub proto: u8,
    /// 4 or 6.
    pub family: u8,
    pub _pad: [u8; 2],
}
const _: () = assert!(core::mem::size_of::<CtKey>() == 44);

/// Entry states (which timeout applies, SG-ENF-6).
pub const CT_STATE_NEW: u8 = 0;
pub const CT_STATE_ESTABLISHED: u8 = 1;
pub const CT_STATE_CLOSING: u8 = 2;
pub const CT_STATE_RST: u8 = 3;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtValue {
    /// `bpf_ktime_get_ns` of the last packet.
    pub last_seen_ns: u64,
    pub packets: u64,
    pub bytes: u64,
    /// Direction ([`crate::dir`]) of the packet that created the entry.
    pub origin: u8,
    pub state: u8,
    /// Direction of the last packet.
    pub last_dir: u8,
    /// Number of direction changes seen (a UDP flow with traffic both ways more than once is a
    /// stream).
    pub turns: u8,
    pub _pad: u32,
}
const _: () = assert!(core::mem::size_of::<CtValue>() == 32);

/// Fixed timeouts, seconds (SG-ENF-5, SG-ENF-6).
pub const TIMEOUT_SYN_S: u64 = 60;
pub const TIMEOUT_CLOSING_S: u64 = 120;
pub const TIMEOUT_RST_S: u64 = 10;
pub const TIMEOUT_ICMP_S: u64 = 30;
pub const TIMEOUT_OTHER_S: u64 = 600;

#[cfg(feature = "user")]
mod pod {
    unsafe impl aya::Pod for super::CtKey {}
    unsafe impl aya::Pod for super::CtValue {}
}
