//! Header parsing. Every read is bounds-checked against `data_end` first (the verifier demands
//! it); anything that does not parse is reported as malformed, never passed by accident.

use core::mem::size_of;

use network_types::{
    eth::EthHdr,
    ip::{Ipv4Hdr, Ipv6Hdr},
    tcp::TcpHdr,
    udp::UdpHdr,
};

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;

const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;

/// IPv6 extension headers walked before giving up (SG-ENF-11).
const MAX_EXT_HEADERS: usize = 8;
/// Largest L4 offset we accept; keeps every offset provably bounded for the verifier.
pub const MAX_L4_OFFSET: usize = 512;

/// Why a frame is not handed to the policy as an IP packet.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// ARP, neighbour/router discovery and non-IP frames (SG-ENF-10).
    AlwaysPass,
    Malformed,
}

/// Fragment kinds (SG-ENF-11).
pub const FRAG_NONE: u8 = 0;
/// The first fragment: carries the L4 header and is judged on it.
pub const FRAG_FIRST: u8 = 1;
/// A later fragment: no L4 header; follows the first fragment's verdict.
pub const FRAG_LATER: u8 = 2;

/// The fields of an IP packet the policy and connection tracking need, ports in host order.
#[derive(Clone, Copy)]
pub struct Packet {
    /// 4 or 6.
    pub family: u8,
    pub proto: u8,
    /// TCP flags byte (0 for other protocols).
    pub tcp_flags: u8,
    /// ICMP/ICMPv6 echo request or reply: tracked by identifier (SG-ENF-4).
    pub icmp_echo: bool,
    /// `FRAG_NONE`, `FRAG_FIRST` or `FRAG_LATER`.
    pub frag: u8,
    /// IPv4 identification or IPv6 fragment identification (fragments only).
    pub frag_id: u32,
    pub src: [u8; 16],
    pub dst: [u8; 16],
    /// TCP/UDP source port; ICMP echo identifier.
    pub sport: u16,
    /// TCP/UDP destination port; ICMP `type << 8 | code`.
    pub dport: u16,
}

#[inline(always)]
fn ptr_at<T>(data: usize, end: usize, off: usize) -> Result<*const T, Skip> {
    if data + off + size_of::<T>() > end {
        return Err(Skip::Malformed);
    }
    Ok((data + off) as *const T)
}

/// An IPv4 address in the first 4 bytes of 16, the rest zero. Built as one integer so the
/// compiler emits two stores, not a byte-by-byte `memset` loop.
#[inline(always)]
fn v4_addr(a: [u8; 4]) -> [u8; 16] {
    (u32::from_le_bytes(a) as u128).to_le_bytes()
}

#[inline(always)]
fn be16(b: [u8; 2]) -> u16 {
    u16::from_be_bytes(b)
}

#[inline(always)]
pub fn parse(data: usize, end: usize) -> Result<Packet, Skip> {
    let eth: *const EthHdr = ptr_at(data, end, 0)?;
    let mut ether_type = u16::from_be(unsafe { (*eth).ether_type });
    let mut off = EthHdr::LEN;
    // Up to two VLAN tags (802.1ad outer, 802.1Q inner).
    for _ in 0..2 {
        if ether_type != ETH_P_8021Q && ether_type != ETH_P_8021AD {
            break;
        }
        let tag: *const [u8; 4] = ptr_at(data, end, off)?;
        ether_type = be16(unsafe { [(*tag)[2], (*tag)[3]] });
        off += 4;
    }
    match ether_type {
        ETH_P_IP => parse_v4(data, end, off),
        ETH_P_IPV6 => parse_v6(data, end, off),
        ETH_P_8021Q | ETH_P_8021AD => Err(Skip::Malformed),
        ETH_P_ARP => Err(Skip::AlwaysPass),
        _ => Err(Skip::AlwaysPass),
    }
}

#[inline(always)]
fn parse_v4(data: usize, end: usize, off: usize) -> Result<Packet, Skip> {
    let ip: *const Ipv4Hdr = ptr_at(data, end, off)?;
    let (vihl, frags, id, proto, src, dst) = unsafe {
        (
            (*ip).vihl,
            (*ip).frags,
            (*ip).id,
            (*ip).proto,
            (*ip).src_addr,
            (*ip).dst_addr,
        )
    };
    if vihl >> 4 != 4 {
        return Err(Skip::Malformed);
    }
    let ihl = ((vihl & 0x0f) as usize) * 4;
    if ihl < Ipv4Hdr::LEN {
        return Err(Skip::Malformed);
    }
    let frags = be16(frags);
    let frag = if frags & 0x1fff != 0 {
        FRAG_LATER
    } else if frags & 0x2000 != 0 {
        FRAG_FIRST
    } else {
        FRAG_NONE
    };
    let mut pkt = Packet {
        family: 4,
        proto,
        tcp_flags: 0,
        icmp_echo: false,
        frag,
        frag_id: be16(id) as u32,
        src: v4_addr(src),
        dst: v4_addr(dst),
        sport: 0,
        dport: 0,
    };
    // A later fragment has no L4 header: its ports must never be read (SG-ENF-11).
    if frag == FRAG_LATER {
        return Ok(pkt);
    }
    // IPv4 options are skipped by the header length, never assumed absent.
    parse_l4(data, end, off + ihl, &mut pkt)?;
    Ok(pkt)
}

#[inline(always)]
fn parse_v6(data: usize, end: usize, off: usize) -> Result<Packet, Skip> {
    let ip: *const Ipv6Hdr = ptr_at(data, end, off)?;
    let (vcf0, mut next, src, dst) =
        unsafe { ((*ip).vcf[0], (*ip).next_hdr, (*ip).src_addr, (*ip).dst_addr) };
    if vcf0 >> 4 != 6 {
        return Err(Skip::Malformed);
    }
    let mut l4 = off + Ipv6Hdr::LEN;
    let mut done = false;
    let mut frag = FRAG_NONE;
    let mut frag_id = 0u32;
    for _ in 0..MAX_EXT_HEADERS {
        if l4 > MAX_L4_OFFSET {
            return Err(Skip::Malformed);
        }
        match next {
            // Hop-by-hop, routing, destination options: length in 8-byte units, excluding the
            // first 8 bytes.
            0 | 43 | 60 => {
                let h: *const [u8; 2] = ptr_at(data, end, l4)?;
                let (nh, len) = unsafe { ((*h)[0], (*h)[1]) };
                next = nh;
                l4 += (len as usize + 1) * 8;
            }
            // Authentication header: length in 4-byte units, minus 2.
            51 => {
                let h: *const [u8; 2] = ptr_at(data, end, l4)?;
                let (nh, len) = unsafe { ((*h)[0], (*h)[1]) };
                next = nh;
                l4 += (len as usize + 2) * 4;
            }
            // Fragment header: only the first fragment carries the L4 header.
            44 => {
                let h: *const [u8; 8] = ptr_at(data, end, l4)?;
                let (nh, fo, id) = unsafe {
                    let h = *h;
                    (
                        h[0],
                        be16([h[2], h[3]]),
                        u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                    )
                };
                frag_id = id;
                next = nh;
                l4 += 8;
                if fo >> 3 != 0 {
                    frag = FRAG_LATER;
                    done = true;
                    break;
                }
                if fo & 1 != 0 {
                    frag = FRAG_FIRST;
                }
            }
            _ => {
                done = true;
                break;
            }
        }
    }
    if !done || l4 > MAX_L4_OFFSET {
        return Err(Skip::Malformed);
    }
    let mut pkt = Packet {
        family: 6,
        proto: next,
        tcp_flags: 0,
        icmp_echo: false,
        frag,
        frag_id,
        src,
        dst,
        sport: 0,
        dport: 0,
    };
    if frag == FRAG_LATER {
        return Ok(pkt);
    }
    parse_l4(data, end, l4, &mut pkt)?;
    // Neighbour and router discovery are never filtered (SG-ENF-10).
    if pkt.proto == PROTO_ICMPV6 {
        let icmp_type = (pkt.dport >> 8) as u8;
        if (133..=137).contains(&icmp_type) {
            return Err(Skip::AlwaysPass);
        }
    }
    Ok(pkt)
}

#[inline(always)]
fn parse_l4(data: usize, end: usize, l4: usize, pkt: &mut Packet) -> Result<(), Skip> {
    if l4 > MAX_L4_OFFSET {
        return Err(Skip::Malformed);
    }
    match pkt.proto {
        PROTO_TCP => {
            let tcp: *const TcpHdr = ptr_at(data, end, l4)?;
            let flags: *const [u8; 14] = ptr_at(data, end, l4)?;
            unsafe {
                pkt.sport = be16((*tcp).source);
                pkt.dport = be16((*tcp).dest);
                pkt.tcp_flags = (*flags)[13];
            }
        }
        PROTO_UDP => {
            let udp: *const UdpHdr = ptr_at(data, end, l4)?;
            unsafe {
                pkt.sport = be16((*udp).src);
                pkt.dport = be16((*udp).dst);
            }
        }
        PROTO_ICMP | PROTO_ICMPV6 => {
            let icmp: *const [u8; 8] = ptr_at(data, end, l4)?;
            let (t, c, id) = unsafe { ((*icmp)[0], (*icmp)[1], be16([(*icmp)[4], (*icmp)[5]])) };
            pkt.dport = ((t as u16) << 8) | c as u16;
            // Echo request/reply: 8/0 for ICMP, 128/129 for ICMPv6.
            let echo = if pkt.proto == PROTO_ICMP {
                (t == 8 || t == 0) && pkt.family == 4
            } else {
                (t == 128 || t == 129) && pkt.family == 6
            };
            if echo {
                pkt.icmp_echo = true;
                pkt.sport = id;
            }
        }
        _ => {}
    }
    Ok(())
}
