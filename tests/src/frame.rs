//! Hand-built Ethernet frames for `TestRun`: IPv4 (with options, fragments and lying header
//! fields), IPv6 (with extension-header chains and fragments), VLAN tags, TCP, UDP, ICMP and
//! ICMPv6 (errors and neighbour discovery), ARP.

use std::net::{IpAddr, Ipv6Addr};

pub use sg_common::tcp::{TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG};
pub const TCP_ECE: u8 = 0x40;
pub const TCP_CWR: u8 = 0x80;

/// An IPv6 extension header to put before the L4 header.
#[derive(Clone, Debug)]
pub enum Ext {
    HopByHop,
    Routing,
    DestOpts,
    /// A destination-options header of this many bytes (a multiple of 8, 8..=2048), filled
    /// with padding options.
    DestOptsLen(usize),
    /// An authentication header (RFC 4302) with a 12-byte ICV: 24 bytes.
    Auth,
    /// A fragment header at this place of the chain: (identification, offset in 8-byte
    /// units, more fragments). [`Frame::frag`] puts one at the end of the chain instead.
    Fragment(u32, u16, bool),
}

impl Ext {
    /// Its next-header value and its bytes (next-header field still zero).
    fn layout(&self) -> (u8, Vec<u8>) {
        match *self {
            Ext::HopByHop => (0, vec![0u8; 8]),
            Ext::Routing => (43, vec![0u8; 8]),
            Ext::DestOpts => (60, vec![0u8; 8]),
            Ext::DestOptsLen(len) => {
                assert!(
                    len.is_multiple_of(8) && (8..=2048).contains(&len),
                    "extension header length"
                );
                let mut h = vec![0, (len / 8 - 1) as u8];
                let mut left = len - 2;
                while left > 0 {
                    if left == 1 {
                        h.push(0); // Pad1
                        left = 0;
                    } else {
                        // PadN: type 1, length, zeros; never leave a lone byte but for Pad1.
                        let n = left.min(257);
                        h.extend_from_slice(&[1, (n - 2) as u8]);
                        h.resize(h.len() + n - 2, 0);
                        left -= n;
                    }
                }
                (60, h)
            }
            Ext::Auth => {
                let mut h = vec![0u8; 24];
                h[1] = 4; // (24 / 4) - 2
                h[4..8].copy_from_slice(&0x100u32.to_be_bytes()); // SPI
                h[8..12].copy_from_slice(&1u32.to_be_bytes()); // sequence number
                (51, h)
            }
            Ext::Fragment(id, off, more) => {
                let mut h = vec![0u8; 8];
                h[2..4].copy_from_slice(&((off << 3) | more as u16).to_be_bytes());
                h[4..8].copy_from_slice(&id.to_be_bytes());
                (44, h)
            }
        }
    }
}

/// A packet description; [`Frame::bytes`] lays it out.
#[derive(Clone, Debug)]
pub struct Frame {
    pub vlans: Vec<u16>,
    /// TPIDs of the VLAN tags, by position; a tag without one gets the default: 802.1ad
    /// (0x88a8) for the outer tag of a stack, 802.1Q (0x8100) otherwise.
    pub vlan_tpids: Vec<u16>,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    /// The L4 header and payload (for a later fragment: just payload).
    pub l4: Vec<u8>,
    pub v4_options: Vec<u8>,
    pub v6_ext: Vec<Ext>,
    /// (identification, offset in 8-byte units, more fragments).
    pub frag: Option<(u32, u16, bool)>,
    /// IPv4 TTL, IPv6 hop limit.
    pub hop_limit: u8,
    /// IPv4 header length in 4-byte words when it should lie about the options (default:
    /// what the options take).
    pub ihl: Option<u8>,
    /// IPv4 total length, IPv6 payload length, when it should differ from what the frame
    /// holds.
    pub ip_len: Option<u16>,
}

impl Frame {
    pub fn new(src: IpAddr, dst: IpAddr, proto: u8, l4: Vec<u8>) -> Self {
        Self {
            vlans: vec![],
            vlan_tpids: vec![],
            src,
            dst,
            proto,
            l4,
            v4_options: vec![],
            v6_ext: vec![],
            frag: None,
            hop_limit: 64,
            ihl: None,
            ip_len: None,
        }
    }

    pub fn tcp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, flags: u8) -> Self {
        Self::new(src, dst, 6, tcp(sport, dport, flags))
    }

    pub fn udp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16) -> Self {
        Self::new(src, dst, 17, udp(sport, dport, 8))
    }

    /// ICMP for IPv4 addresses, ICMPv6 for IPv6 ones.
    pub fn icmp(src: IpAddr, dst: IpAddr, icmp_type: u8, code: u8, id: u16) -> Self {
        let proto = if src.is_ipv4() { 1 } else { 58 };
        Self::new(src, dst, proto, icmp(icmp_type, code, id))
    }

    /// A neighbour-discovery message as RFC 4861 sends it: ICMPv6 right after the IPv6
    /// header, hop limit 255, code 0, the type's fixed part and no options.
    pub fn nd(src: Ipv6Addr, dst: Ipv6Addr, msg: Nd) -> Self {
        let mut f = Self::new(src.into(), dst.into(), 58, msg.message(&[]));
        f.hop_limit = 255;
        f
    }

    /// This packet cut into fragments of `size` bytes of its L4 part (a multiple of 8; the
    /// last takes the rest), all with identification `id`.
    pub fn fragments(&self, id: u32, size: usize) -> Vec<Frame> {
        assert!(size > 0 && size.is_multiple_of(8), "fragment size");
        self.l4
            .chunks(size)
            .enumerate()
            .map(|(i, part)| {
                let mut f = self.clone();
                f.l4 = part.to_vec();
                f.frag = Some((id, (i * size / 8) as u16, (i + 1) * size < self.l4.len()));
                f
            })
            .collect()
    }

    /// The Ethernet frame.
    pub fn bytes(&self) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
        let ether = if self.src.is_ipv4() {
            0x0800u16
        } else {
            0x86dd
        };
        for (i, vid) in self.vlans.iter().enumerate() {
            let tpid: u16 = match self.vlan_tpids.get(i) {
                Some(t) => *t,
                None if i == 0 && self.vlans.len() > 1 => 0x88a8,
                None => 0x8100,
            };
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&vid.to_be_bytes());
        }
        f.extend_from_slice(&ether.to_be_bytes());
        f.extend_from_slice(&self.packet());
        f
    }

    /// The IP packet (what follows the Ethernet header and VLAN tags).
    pub fn packet(&self) -> Vec<u8> {
        let mut f = Vec::new();
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let ihl = 20 + self.v4_options.len();
                assert!(
                    ihl.is_multiple_of(4) && ihl <= 60,
                    "IPv4 options must pad to 4 bytes"
                );
                let total = self.ip_len.unwrap_or((ihl + self.l4.len()) as u16);
                let (id, frags) = match self.frag {
                    Some((id, off, more)) => (id as u16, off | if more { 0x2000 } else { 0 }),
                    None => (0, 0),
                };
                f.push(0x40 | self.ihl.unwrap_or((ihl / 4) as u8));
                f.push(0);
                f.extend_from_slice(&total.to_be_bytes());
                f.extend_from_slice(&id.to_be_bytes());
                f.extend_from_slice(&frags.to_be_bytes());
                f.extend_from_slice(&[self.hop_limit, self.proto, 0, 0]);
                f.extend_from_slice(&s.octets());
                f.extend_from_slice(&d.octets());
                f.extend_from_slice(&self.v4_options);
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let mut chain: Vec<(u8, Vec<u8>)> = self.v6_ext.iter().map(Ext::layout).collect();
                if let Some((id, off, more)) = self.frag {
                    chain.push(Ext::Fragment(id, off, more).layout());
                }
                let first = chain.first().map_or(self.proto, |c| c.0);
                for i in 0..chain.len() {
                    chain[i].1[0] = chain.get(i + 1).map_or(self.proto, |c| c.0);
                }
                let ext: Vec<u8> = chain.into_iter().flat_map(|c| c.1).collect();
                let payload = self.ip_len.unwrap_or((ext.len() + self.l4.len()) as u16);
                f.extend_from_slice(&[0x60, 0, 0, 0]);
                f.extend_from_slice(&payload.to_be_bytes());
                f.extend_from_slice(&[first, self.hop_limit]);
                f.extend_from_slice(&s.octets());
                f.extend_from_slice(&d.octets());
                f.extend_from_slice(&ext);
            }
            _ => panic!("mixed address families"),
        }
        f.extend_from_slice(&self.l4);
        f
    }
}

/// A TCP header with chosen fields; [`tcp`] is the plain one.
#[derive(Clone, Debug)]
pub struct Tcp {
    pub sport: u16,
    pub dport: u16,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    /// Raw option bytes, padded with end-of-options to a multiple of 4.
    pub options: Vec<u8>,
}

impl Tcp {
    /// Sequence and acknowledgment numbers 0, window 64240, no options.
    pub fn new(sport: u16, dport: u16, flags: u8) -> Self {
        Self {
            sport,
            dport,
            flags,
            seq: 0,
            ack: 0,
            window: 64240,
            options: vec![],
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut options = self.options.clone();
        options.resize(options.len().next_multiple_of(4), 0);
        let len = 20 + options.len();
        assert!(len <= 60, "TCP options take at most 40 bytes");
        let mut h = vec![0u8; 20];
        h[0..2].copy_from_slice(&self.sport.to_be_bytes());
        h[2..4].copy_from_slice(&self.dport.to_be_bytes());
        h[4..8].copy_from_slice(&self.seq.to_be_bytes());
        h[8..12].copy_from_slice(&self.ack.to_be_bytes());
        h[12] = ((len / 4) as u8) << 4;
        h[13] = self.flags;
        h[14..16].copy_from_slice(&self.window.to_be_bytes());
        h.extend_from_slice(&options);
        h
    }
}

pub fn tcp(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    Tcp::new(sport, dport, flags).bytes()
}

pub fn udp(sport: u16, dport: u16, len: u16) -> Vec<u8> {
    let mut h = vec![0u8; len.max(8) as usize];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h[4..6].copy_from_slice(&len.max(8).to_be_bytes());
    h
}

pub fn icmp(icmp_type: u8, code: u8, id: u16) -> Vec<u8> {
    let mut h = vec![icmp_type, code, 0, 0, 0, 0, 0, 1];
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h
}

/// An ICMP or ICMPv6 error message: type, code, the 4 type-specific bytes (`rest`: next-hop
/// MTU, gateway, pointer...) and the packet it quotes, whole.
pub fn icmp_error(icmp_type: u8, code: u8, rest: [u8; 4], quoted: &Frame) -> Vec<u8> {
    let mut h = vec![icmp_type, code, 0, 0];
    h.extend_from_slice(&rest);
    h.extend_from_slice(&quoted.packet());
    h
}

/// A neighbour-discovery message (RFC 4861, ICMPv6 types 133-137) with its type's fixed part.
#[derive(Clone, Copy, Debug)]
pub enum Nd {
    RouterSolicitation,
    RouterAdvertisement,
    NeighborSolicitation {
        target: Ipv6Addr,
    },
    NeighborAdvertisement {
        target: Ipv6Addr,
    },
    Redirect {
        target: Ipv6Addr,
        destination: Ipv6Addr,
    },
}

impl Nd {
    pub fn icmp_type(self) -> u8 {
        match self {
            Nd::RouterSolicitation => 133,
            Nd::RouterAdvertisement => 134,
            Nd::NeighborSolicitation { .. } => 135,
            Nd::NeighborAdvertisement { .. } => 136,
            Nd::Redirect { .. } => 137,
        }
    }

    /// The ICMPv6 message: header and the type's fixed part, so exactly the type's minimum
    /// length (RS 8, RA 16, NS and NA 24, Redirect 40 bytes), then `options`.
    pub fn message(self, options: &[u8]) -> Vec<u8> {
        let mut m = vec![self.icmp_type(), 0, 0, 0, 0, 0, 0, 0];
        match self {
            Nd::RouterSolicitation => {}
            Nd::RouterAdvertisement => {
                // Current hop limit 64, router lifetime 1800 s; reachable and retransmit
                // timers unspecified.
                m[4] = 64;
                m[6..8].copy_from_slice(&1800u16.to_be_bytes());
                m.extend_from_slice(&[0u8; 8]);
            }
            Nd::NeighborSolicitation { target } => m.extend_from_slice(&target.octets()),
            Nd::NeighborAdvertisement { target } => {
                m[4] = 0x60; // solicited, override
                m.extend_from_slice(&target.octets());
            }
            Nd::Redirect {
                target,
                destination,
            } => {
                m.extend_from_slice(&target.octets());
                m.extend_from_slice(&destination.octets());
            }
        }
        m.extend_from_slice(options);
        m
    }
}

/// A source (`kind` 1) or target (2) link-layer address option (RFC 4861 4.6.1).
pub fn lladdr_option(kind: u8, mac: [u8; 6]) -> Vec<u8> {
    let mut o = vec![kind, 1];
    o.extend_from_slice(&mac);
    o
}

/// The solicited-node multicast address of `a`: `ff02::1:ff` and its last 24 bits.
pub fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | o[13] as u16,
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// An ARP request frame.
pub fn arp() -> Vec<u8> {
    let mut f = vec![
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 2, 0x08, 0x06,
    ];
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&[
        0x02, 0, 0, 0, 0, 2, 192, 0, 2, 2, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1,
    ]);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_are_unchanged() {
        let f = Frame::tcp(
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            1,
            2,
            TCP_SYN,
        );
        let b = f.bytes();
        assert_eq!(b.len(), 14 + 20 + 20);
        assert_eq!(&b[14..16], &[0x45, 0]);
        assert_eq!(b[14 + 8], 64, "TTL");
        assert_eq!(&b[34 + 12..34 + 16], &[0x50, TCP_SYN, 0xfa, 0xf0]);
        let f = Frame::udp(a6("2001:db8::1").into(), a6("2001:db8::2").into(), 1, 2);
        assert_eq!(&f.bytes()[14 + 4..14 + 8], &[0, 8, 17, 64]);
    }

    #[test]
    fn lengths_and_overrides() {
        let mut f = Frame::new(
            a6("2001:db8::1").into(),
            a6("2001:db8::2").into(),
            6,
            vec![],
        );
        f.v6_ext = vec![Ext::DestOptsLen(600), Ext::Auth, Ext::Fragment(7, 0, true)];
        let p = f.packet();
        assert_eq!(p.len(), 40 + 600 + 24 + 8);
        assert_eq!((p[6], p[40], p[41]), (60, 51, 74), "DO -> AH, 600 / 8 - 1");
        assert_eq!(
            (p[640], p[641], p[664]),
            (44, 4, 6),
            "AH -> fragment -> TCP"
        );
        let mut f = Frame::tcp(
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            1,
            2,
            TCP_SYN,
        );
        f.ihl = Some(6);
        f.ip_len = Some(20);
        f.vlans = vec![0, 0, 0];
        f.vlan_tpids = vec![0x8100];
        let b = f.bytes();
        assert_eq!(&b[12..14], &[0x81, 0]);
        assert_eq!(&b[16..18], &[0x81, 0], "later tags default to 802.1Q");
        assert_eq!(&b[26..30], &[0x46, 0, 0, 20]);
    }

    #[test]
    fn nd_messages() {
        let t = a6("2001:db8::1");
        assert_eq!(solicited_node(t), a6("ff02::1:ff00:1"));
        for (m, len) in [
            (Nd::RouterSolicitation, 8),
            (Nd::RouterAdvertisement, 16),
            (Nd::NeighborSolicitation { target: t }, 24),
            (Nd::NeighborAdvertisement { target: t }, 24),
            (
                Nd::Redirect {
                    target: t,
                    destination: t,
                },
                40,
            ),
        ] {
            let f = Frame::nd(a6("fe80::1"), a6("ff02::1"), m);
            assert_eq!(f.l4.len(), len);
            assert_eq!(f.packet()[7], 255, "hop limit");
        }
        assert_eq!(lladdr_option(1, [2, 0, 0, 0, 0, 1]).len(), 8);
    }
}
