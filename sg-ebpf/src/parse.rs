//! Header parsing. Every read is bounds-checked against `data_end` first (the verifier demands
//! it); anything that does not parse is reported as malformed, never passed by accident.

use core::mem::size_of;

use network_types::{
    eth::EthHdr,
    ip::{Ipv4Hdr, Ipv6Hdr},
    tcp::TcpHdr,
    udp::UdpHdr,
};

use sg_common::tcp::{MAX_WSCALE, TCP_SYN, WSCALE_NONE};

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
    /// TCP: what window tracking reads (SG-ENF-13); `flags` is `tcp_flags`.
    pub seq: u32,
    pub ack: u32,
    /// TCP payload bytes.
    pub seg_len: u32,
    pub win: u16,
    /// A SYN's window-scale option (`sg_common::tcp::WSCALE_NONE` when absent).
    pub wscale: u8,
    /// ICMPv6 133-137 that is valid neighbour or router discovery as far as the packet alone
    /// tells (RFC 4861, see `valid_nd`); the policy adds the checks that depend on direction.
    pub nd: bool,
    /// Scratch: `window_scale`'s offset.
    pub cursor: u32,
    /// The whole packet's length, from `data` (with what is not in the linear part).
    pub len: u32,
}

impl Packet {
    /// Whether the packet is ICMP of its own family (ICMP over IPv4, ICMPv6 over IPv6);
    /// protocol 58 over IPv4 and 1 over IPv6 are other protocols (SG-ENF-5).
    #[inline(always)]
    pub fn icmp(&self) -> bool {
        self.proto == PROTO_ICMP && self.family == 4
            || self.proto == PROTO_ICMPV6 && self.family == 6
    }
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

/// `parse`'s `link` for a device whose packets start with the IP header, when the packet
/// carries no protocol: the family comes from the version field.
pub const LINK_IP_ANY: u16 = 0xffff;

/// Parses a frame. `link` is 0 for Ethernet framing; on a device whose packets start with
/// the IP header (SG-IF-6) it is the packet's protocol (`ETH_P_IP`, `ETH_P_IPV6`, another one
/// for a non-IP packet) or [`LINK_IP_ANY`].
///
/// `FULL` false parses the headers only, for `runs_short`: no window-scale option, no
/// neighbour-discovery validity (neither can make a packet malformed).
#[inline(always)]
pub fn parse<const FULL: bool>(
    data: usize,
    end: usize,
    link: u16,
    len: u32,
    pkt: &mut Packet,
) -> Result<(), Skip> {
    let (ether_type, off) = if link != 0 {
        (ip_link_type(data, end, link)?, 0)
    } else {
        ethernet(data, end)?
    };
    // One call site each: every inlined copy of an IP parser costs stack and instructions.
    // The version field must agree with the protocol the kernel delivers by (checked there).
    match ether_type {
        ETH_P_IP => parse_v4::<FULL>(data, end, off, len, pkt),
        ETH_P_IPV6 => parse_v6::<FULL>(data, end, off, len, pkt),
        ETH_P_8021Q | ETH_P_8021AD => Err(Skip::Malformed),
        ETH_P_ARP => Err(Skip::AlwaysPass),
        _ => Err(Skip::AlwaysPass),
    }
}

/// The protocol of a packet on a device whose packets start with the IP header, given the
/// protocol `link` it is delivered as. The version field decides whenever it says IP: a
/// packet whose bytes are IPv4 or IPv6 is judged as such whatever protocol it claims (a
/// TUN device hands the bytes on as they are; a raw socket may claim any protocol), and one
/// that claims IP with other bytes is malformed. Only a non-IP claim over non-IP bytes
/// passes as non-IP.
#[inline(always)]
fn ip_link_type(data: usize, end: usize, link: u16) -> Result<u16, Skip> {
    // Four bytes, not one: a one-byte check compiles to `data >= end`, which gives the
    // verifier no readable range.
    let version = match ptr_at::<[u8; 4]>(data, end, 0) {
        Ok(v) => (unsafe { (*v)[0] }) >> 4,
        Err(_) => 0,
    };
    match version {
        4 if link != ETH_P_IPV6 => Ok(ETH_P_IP),
        6 if link != ETH_P_IP => Ok(ETH_P_IPV6),
        _ if link == ETH_P_IP || link == ETH_P_IPV6 || link == LINK_IP_ANY => Err(Skip::Malformed),
        _ => Err(Skip::AlwaysPass),
    }
}

/// The EtherType after the Ethernet header and up to two VLAN tags, and where it ends.
#[inline(always)]
fn ethernet(data: usize, end: usize) -> Result<(u16, usize), Skip> {
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
    Ok((ether_type, off))
}

#[inline(always)]
fn parse_v4<const FULL: bool>(
    data: usize,
    end: usize,
    off: usize,
    total: u32,
    pkt: &mut Packet,
) -> Result<(), Skip> {
    let ip: *const Ipv4Hdr = ptr_at(data, end, off)?;
    let (vihl, tot_len, frags, id, proto, src, dst) = unsafe {
        (
            (*ip).vihl,
            (*ip).tot_len,
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
    // Written out here and in `parse_v6`, not through a shared constructor: built by value
    // and moved into the scratch value, the constructor cost the verifier 130K more
    // instructions per program (measured).
    *pkt = Packet {
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
        seq: 0,
        ack: 0,
        seg_len: 0,
        win: 0,
        wscale: WSCALE_NONE,
        nd: false,
        cursor: 0,
        len: total,
    };
    // A later fragment has no L4 header: its ports must never be read (SG-ENF-11).
    if frag == FRAG_LATER {
        return Ok(());
    }
    // IPv4 options are skipped by the header length, never assumed absent.
    let ip_end = ip_end(off, be16(tot_len), total);
    parse_l4::<FULL>(data, end, off + ihl, ip_end, pkt)
}

#[inline(always)]
fn parse_v6<const FULL: bool>(
    data: usize,
    end: usize,
    off: usize,
    total: u32,
    pkt: &mut Packet,
) -> Result<(), Skip> {
    let ip: *const Ipv6Hdr = ptr_at(data, end, off)?;
    let (vcf0, payload_len, mut next, hop_limit, src, dst) = unsafe {
        (
            (*ip).vcf[0],
            (*ip).payload_len,
            (*ip).next_hdr,
            (*ip).hop_limit,
            (*ip).src_addr,
            (*ip).dst_addr,
        )
    };
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
    *pkt = Packet {
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
        seq: 0,
        ack: 0,
        seg_len: 0,
        win: 0,
        wscale: WSCALE_NONE,
        nd: false,
        cursor: 0,
        len: total,
    };
    if frag == FRAG_LATER {
        return Ok(());
    }
    let payload_len = be16(payload_len);
    let ip_end = ip_end(off + Ipv6Hdr::LEN, payload_len, total);
    parse_l4::<FULL>(data, end, l4, ip_end, pkt)?;
    // Neighbour and router discovery are never filtered (SG-ENF-10) when they are that.
    if FULL && pkt.proto == PROTO_ICMPV6 && (133..=137).contains(&((pkt.dport >> 8) as u8)) {
        pkt.nd = l4 == off + Ipv6Hdr::LEN
            && hop_limit == 255
            && ip_end <= end - data
            && valid_nd(data, end, l4, ip_end.saturating_sub(l4), pkt);
    }
    Ok(())
}

/// Whether parsing the linear bytes `data..end` of a packet of `len` bytes runs out of them
/// (or finds the packet malformed), parsing into `pkt`. Out of line: one inlined parser is
/// enough.
#[inline(never)]
pub fn runs_short(data: usize, end: usize, link: u16, len: u32, pkt: &mut Packet) -> bool {
    parse::<false>(data, end, link, len, pkt).err() == Some(Skip::Malformed)
}

/// Where the IP packet ends (offset from `data`): its header's length field counted from
/// `start`, or, when the field is 0 (a jumbo or BIG TCP packet), the packet's `total`
/// length. A length field past the packet is the kernel's to drop; `conntrack::segment`
/// caps what window tracking counts at the packet's length. (Capping here, a branch the
/// verifier would carry through the rest of the program, took the TC programs past its
/// limit.)
#[inline(always)]
fn ip_end(start: usize, len: u16, total: u32) -> usize {
    if len == 0 {
        total as usize
    } else {
        start + len as usize
    }
}

#[inline(always)]
fn parse_l4<const FULL: bool>(
    data: usize,
    end: usize,
    l4: usize,
    ip_end: usize,
    pkt: &mut Packet,
) -> Result<(), Skip> {
    if l4 > MAX_L4_OFFSET {
        return Err(Skip::Malformed);
    }
    match pkt.proto {
        PROTO_TCP => {
            let tcp: *const TcpHdr = ptr_at(data, end, l4)?;
            let h: *const [u8; 16] = ptr_at(data, end, l4)?;
            let doff = unsafe {
                pkt.sport = be16((*tcp).source);
                pkt.dport = be16((*tcp).dest);
                let h = *h;
                pkt.seq = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
                pkt.ack = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
                pkt.tcp_flags = h[13];
                pkt.win = be16([h[14], h[15]]);
                ((h[12] >> 4) as usize) * 4
            };
            // A header shorter than 20 bytes is no TCP (the kernel drops it too).
            if doff < TcpHdr::LEN {
                return Err(Skip::Malformed);
            }
            pkt.seg_len = ip_end.saturating_sub(l4 + doff) as u32;
            if FULL && pkt.tcp_flags & TCP_SYN != 0 {
                pkt.wscale = window_scale(data, end, l4, doff, &mut pkt.cursor);
            }
        }
        PROTO_UDP => {
            let udp: *const UdpHdr = ptr_at(data, end, l4)?;
            unsafe {
                pkt.sport = be16((*udp).src);
                pkt.dport = be16((*udp).dst);
            }
        }
        PROTO_ICMP | PROTO_ICMPV6 if pkt.icmp() => {
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

/// Options walked before giving up on finding the window scale (a SYN carries five or six).
const MAX_TCP_OPTIONS: usize = 12;

/// The window-scale option of a SYN whose header is `doff` bytes: the shift,
/// `WSCALE_NONE` when absent, `MAX_WSCALE` when the options cannot be read (the widest
/// window: an odd SYN must not get a connection cut for being out of window).
///
/// The offset lives in `cursor` (scratch map memory, whose contents the verifier does not
/// track): read back each round, it is the same unknown to the verifier at every loop head,
/// so the rounds' states prune instead of doubling with each option (a NOP's offset is one
/// more, another option's a range).
#[inline(never)]
fn window_scale(data: usize, end: usize, l4: usize, doff: usize, cursor: &mut u32) -> u8 {
    unsafe { core::ptr::write_volatile(cursor, TcpHdr::LEN as u32) };
    for _ in 0..MAX_TCP_OPTIONS {
        let off = unsafe { core::ptr::read_volatile(cursor) } as usize & 63;
        if off >= doff {
            return WSCALE_NONE;
        }
        let Some(opt) = option_at(data, end, l4 + off) else {
            return MAX_WSCALE;
        };
        let next = match opt[0] {
            0 => return WSCALE_NONE,
            1 => off + 1,
            3 if opt[1] == 3 => return opt[2],
            _ if opt[1] < 2 => return MAX_WSCALE,
            _ => off + opt[1] as usize,
        };
        unsafe { core::ptr::write_volatile(cursor, next as u32) };
    }
    MAX_WSCALE
}

/// Three bytes of a TCP option (kind, length, value) at `at`. Out of line: inside the
/// option loop, the compiler turns the bounds check into arithmetic on the packet's end,
/// which the verifier refuses.
#[inline(never)]
fn option_at(data: usize, end: usize, at: usize) -> Option<[u8; 3]> {
    let p: *const [u8; 3] = ptr_at(data, end, at).ok()?;
    Some(unsafe { *p })
}

/// The RFC 4861 conditions on neighbour and router discovery (ICMPv6 133-137) that the packet
/// alone decides: code 0, at least the message's fixed length, a source that is never
/// multicast (link-local for router advertisements and redirects; unspecified only for a
/// router solicitation or for duplicate address detection's neighbour solicitation, to a
/// solicited-node group), a target address that is never multicast, and a destination that
/// is unicast or a link-scope group (`ff02::/16`). The caller has checked hop limit 255, that no extension
/// header comes first and that the frame holds the whole message. Out of line:
/// only discovery packets come here.
#[inline(never)]
fn valid_nd(data: usize, end: usize, l4: usize, icmp_len: usize, pkt: &Packet) -> bool {
    let t = (pkt.dport >> 8) as u8;
    let code = pkt.dport as u8;
    let min = match t {
        133 => 8,
        134 => 16,
        135 | 136 => 24,
        _ => 40,
    };
    if code != 0 || icmp_len < min {
        return false;
    }
    let (src, dst) = (&pkt.src, &pkt.dst);
    let multicast = |a: &[u8; 16]| a[0] == 0xff;
    let link_local = |a: &[u8; 16]| a[0] == 0xfe && a[1] & 0xc0 == 0x80;
    let unspecified = src.iter().all(|b| *b == 0);
    if multicast(src) || multicast(dst) && dst[1] != 2 {
        return false;
    }
    let solicited_node = dst[..13] == [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff];
    let source_ok = match t {
        133 => true,
        134 | 137 => link_local(src),
        135 => !unspecified || solicited_node,
        _ => !unspecified,
    };
    if !source_ok {
        return false;
    }
    if t == 133 || t == 134 {
        return true;
    }
    // Neighbour solicitation, advertisement, redirect: a target address after 4 reserved
    // (flag) bytes.
    let Ok(target) = ptr_at::<[u8; 4]>(data, end, l4 + 8) else {
        return false;
    };
    let first = unsafe { (*target)[0] };
    first != 0xff
}
