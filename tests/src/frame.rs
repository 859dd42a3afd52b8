//! Hand-built Ethernet frames for `TestRun`: IPv4 (with options and fragments), IPv6 (with
//! extension-header chains and fragments), VLAN tags, TCP, UDP, ICMP and ICMPv6, ARP.

use std::net::IpAddr;

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

/// An IPv6 extension header to put before the L4 header.
#[derive(Clone, Debug)]
pub enum Ext {
    HopByHop,
    Routing,
    DestOpts,
}

/// A packet description; [`Frame::bytes`] lays it out.
#[derive(Clone, Debug)]
pub struct Frame {
    pub vlans: Vec<u16>,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    /// The L4 header and payload (for a later fragment: just payload).
    pub l4: Vec<u8>,
    pub v4_options: Vec<u8>,
    pub v6_ext: Vec<Ext>,
    /// (identification, offset in 8-byte units, more fragments).
    pub frag: Option<(u32, u16, bool)>,
}

impl Frame {
    pub fn new(src: IpAddr, dst: IpAddr, proto: u8, l4: Vec<u8>) -> Self {
        Self {
            vlans: vec![],
            src,
            dst,
            proto,
            l4,
            v4_options: vec![],
            v6_ext: vec![],
            frag: None,
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

    pub fn bytes(&self) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
        let ether = if self.src.is_ipv4() {
            0x0800u16
        } else {
            0x86dd
        };
        for (i, vid) in self.vlans.iter().enumerate() {
            let tpid: u16 = if i == 0 && self.vlans.len() > 1 {
                0x88a8
            } else {
                0x8100
            };
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&vid.to_be_bytes());
        }
        f.extend_from_slice(&ether.to_be_bytes());
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let ihl = 20 + self.v4_options.len();
                assert!(
                    ihl.is_multiple_of(4) && ihl <= 60,
                    "IPv4 options must pad to 4 bytes"
                );
                let total = (ihl + self.l4.len()) as u16;
                let (id, frags) = match self.frag {
                    Some((id, off, more)) => (id as u16, off | if more { 0x2000 } else { 0 }),
                    None => (0, 0),
                };
                f.push(0x40 | (ihl / 4) as u8);
                f.push(0);
                f.extend_from_slice(&total.to_be_bytes());
                f.extend_from_slice(&id.to_be_bytes());
                f.extend_from_slice(&frags.to_be_bytes());
                f.extend_from_slice(&[64, self.proto, 0, 0]);
                f.extend_from_slice(&s.octets());
                f.extend_from_slice(&d.octets());
                f.extend_from_slice(&self.v4_options);
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let mut chain: Vec<(u8, Vec<u8>)> = self
                    .v6_ext
                    .iter()
                    .map(|e| {
                        (
                            match e {
                                Ext::HopByHop => 0,
                                Ext::Routing => 43,
                                Ext::DestOpts => 60,
                            },
                            vec![0u8; 8],
                        )
                    })
                    .collect();
                if let Some((id, off, more)) = self.frag {
                    let mut h = vec![0u8; 8];
                    h[2..4].copy_from_slice(&((off << 3) | more as u16).to_be_bytes());
                    h[4..8].copy_from_slice(&id.to_be_bytes());
                    chain.push((44, h));
                }
                let first = chain.first().map_or(self.proto, |c| c.0);
                for i in 0..chain.len() {
                    chain[i].1[0] = chain.get(i + 1).map_or(self.proto, |c| c.0);
                }
                let ext: Vec<u8> = chain.into_iter().flat_map(|c| c.1).collect();
                let payload = (ext.len() + self.l4.len()) as u16;
                f.extend_from_slice(&[0x60, 0, 0, 0]);
                f.extend_from_slice(&payload.to_be_bytes());
                f.extend_from_slice(&[first, 64]);
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

pub fn tcp(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut h = vec![0u8; 20];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h[12] = 5 << 4;
    h[13] = flags;
    h[14..16].copy_from_slice(&64240u16.to_be_bytes());
    h
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
