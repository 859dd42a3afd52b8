//! The datapath's packet parser, compiled for the host from the very file the eBPF programs
//! use (`sg-ebpf/src/parse.rs`), over every input as a frame of each kind of link.
//!
//! The frame is copied into a buffer of exactly its length, so AddressSanitizer reports any
//! read past `end`. Bytes the parser may never reach (past the furthest offset the verifier
//! is promised, see [`READ_BOUND`]) are poisoned too. Then the promises `parse.rs` documents
//! are asserted: what `Ok` packets hold, that `parse::<false>` (headers only) agrees with
//! `parse::<true>` on everything but the window scale and neighbour discovery, and that
//! `runs_short` is `parse::<false>` failing as malformed.
#![no_main]
// `#[cfg(sanitize = "address")]`: the poisoning calls exist only in an ASan build.
#![feature(cfg_sanitize)]

use libfuzzer_sys::fuzz_target;

#[path = "../../sg-ebpf/src/parse.rs"]
#[allow(dead_code)]
mod parse;

use parse::{
    FRAG_FIRST, FRAG_LATER, FRAG_NONE, LINK_IP_ANY, MAX_L4_OFFSET, PROTO_ICMPV6, PROTO_TCP, Packet,
    Skip,
};
use sg_common::tcp::WSCALE_NONE;

/// The `link` values `parse` is called with: Ethernet (0), an IP device's packet claiming
/// IPv4, IPv6 or ARP, and one carrying no protocol.
const LINKS: [u16; 5] = [0, 0x0800, 0x86dd, 0x0806, LINK_IP_ANY];

/// One past the furthest byte the parser may read: an L4 header at `MAX_L4_OFFSET` (the
/// largest it accepts), a TCP header of 60 bytes there, and the 3-byte option read that
/// starts at its last byte (`option_at`). Every other read ends before that.
const READ_BOUND: usize = MAX_L4_OFFSET + 60 + 2;

/// The packet's whole length (`len`) for a frame of `n` linear bytes: all of it, or more
/// that is not in the linear part (a non-linear skb), or the largest length there is.
fn lengths(n: usize) -> [u32; 3] {
    let n = n as u32;
    [n, n + 1500, u32::MAX]
}

fn blank() -> Packet {
    Packet {
        family: 0,
        proto: 0,
        tcp_flags: 0,
        icmp_echo: false,
        frag: 0,
        frag_id: 0,
        src: [0; 16],
        dst: [0; 16],
        sport: 0,
        dport: 0,
        seq: 0,
        ack: 0,
        seg_len: 0,
        win: 0,
        wscale: 0,
        nd: false,
        cursor: 0,
        len: 0,
    }
}

/// The fields both parse modes fill alike (all but `wscale`, `nd` and the scratch `cursor`).
fn headers(p: &Packet) -> impl PartialEq + std::fmt::Debug {
    (
        (
            p.family,
            p.proto,
            p.tcp_flags,
            p.icmp_echo,
            p.frag,
            p.frag_id,
        ),
        (p.src, p.dst, p.sport, p.dport),
        (p.seq, p.ack, p.seg_len, p.win, p.len),
    )
}

fn skip_name(r: &Result<(), Skip>) -> &'static str {
    match r {
        Ok(()) => "Ok",
        Err(Skip::AlwaysPass) => "AlwaysPass",
        Err(Skip::Malformed) => "Malformed",
    }
}

/// What an `Ok` packet must hold, as `parse.rs` documents its fields.
fn check_packet(p: &Packet, len: u32, full: bool) {
    assert!(p.family == 4 || p.family == 6, "family {}", p.family);
    assert!(
        [FRAG_NONE, FRAG_FIRST, FRAG_LATER].contains(&p.frag),
        "frag {}",
        p.frag
    );
    assert_eq!(p.len, len, "len is the packet's whole length");
    if p.family == 4 {
        assert_eq!(p.src[4..], [0; 12], "an IPv4 address fills 4 bytes of 16");
        assert_eq!(p.dst[4..], [0; 12], "an IPv4 address fills 4 bytes of 16");
    }
    if p.frag == FRAG_LATER {
        // A later fragment has no L4 header: its ports are never read (SG-ENF-11).
        assert_eq!((p.sport, p.dport, p.tcp_flags), (0, 0, 0), "later fragment");
        assert!(!p.icmp_echo && !p.nd);
    }
    if p.tcp_flags != 0 || p.seq != 0 || p.ack != 0 || p.win != 0 || p.seg_len != 0 {
        assert_eq!(p.proto, PROTO_TCP, "TCP fields of a non-TCP packet");
    }
    if p.icmp_echo {
        assert!(p.icmp(), "an echo is ICMP of its own family");
    }
    if p.nd {
        assert!(full, "neighbour discovery is judged by the full parse only");
        assert!(p.family == 6 && p.proto == PROTO_ICMPV6);
        assert!(
            (133..=137).contains(&(p.dport >> 8)),
            "ND type {}",
            p.dport >> 8
        );
    }
    if !full {
        assert_eq!(
            p.wscale, WSCALE_NONE,
            "the headers-only parse reads no options"
        );
    }
}

/// Parses the frame at `data..end` as every link kind and length, checking each result.
fn check(data: usize, end: usize) {
    for link in LINKS {
        for len in lengths(end - data) {
            let (mut full, mut short, mut again) = (blank(), blank(), blank());
            let r_full = parse::parse::<true>(data, end, link, len, &mut full);
            let r_short = parse::parse::<false>(data, end, link, len, &mut short);
            assert!(
                r_full == r_short,
                "link {link:#x}: parse::<true> says {}, parse::<false> says {}",
                skip_name(&r_full),
                skip_name(&r_short)
            );
            if r_full.is_ok() {
                check_packet(&full, len, true);
                check_packet(&short, len, false);
                assert_eq!(headers(&full), headers(&short), "link {link:#x}");
            }
            if link != 0 && r_full == Err(Skip::AlwaysPass) {
                assert!(
                    link != 0x0800 && link != 0x86dd && link != LINK_IP_ANY,
                    "a packet claimed as IP passes as non-IP (link {link:#x})"
                );
            }
            let short_of = parse::runs_short(data, end, link, len, &mut again);
            assert_eq!(short_of, r_short == Err(Skip::Malformed), "runs_short");
        }
    }
}

#[cfg(sanitize = "address")]
unsafe extern "C" {
    fn __asan_poison_memory_region(addr: *const u8, size: usize);
    fn __asan_unpoison_memory_region(addr: *const u8, size: usize);
}

/// Poisons (or unpoisons) `bytes[from..]`.
#[cfg(sanitize = "address")]
fn poison(bytes: &[u8], from: usize, on: bool) {
    if from < bytes.len() {
        let (p, n) = (bytes[from..].as_ptr(), bytes.len() - from);
        // SAFETY: the region is inside `bytes`; poisoning only changes ASan's shadow.
        unsafe {
            if on {
                __asan_poison_memory_region(p, n)
            } else {
                __asan_unpoison_memory_region(p, n)
            }
        }
    }
}

#[cfg(not(sanitize = "address"))]
fn poison(_: &[u8], _: usize, _: bool) {}

/// ASan's shadow tracks 8-byte granules, and can only mark a granule's tail unaddressable:
/// the frame starts `PAD` bytes into the allocation (which is 8-aligned), so that
/// `READ_BOUND` falls on a granule boundary and every byte from it on is poisoned.
const PAD: usize = (8 - READ_BOUND % 8) % 8;

fuzz_target!(|frame: &[u8]| {
    // Exactly the frame (after the pad): the allocation ends where the frame does.
    let mut buf = vec![0u8; PAD + frame.len()].into_boxed_slice();
    buf[PAD..].copy_from_slice(frame);
    let frame = &buf[PAD..];
    poison(&buf, PAD + READ_BOUND, true);
    let data = frame.as_ptr() as usize;
    check(data, data + frame.len());
    poison(&buf, PAD + READ_BOUND, false);
});
