//! The security-group datapath: one XDP program (packets arriving on an interface) and one TC
//! egress program (packets leaving it). Both run the same policy; the interface's mode decides
//! which hook sees the instance's inbound traffic (see `sg_common::iface`).
#![no_std]
#![no_main]
// `atomic_xadd`: the filter's counters (core's atomic types lack read-modify-write on BPF).
#![allow(internal_features)]
#![feature(core_intrinsics)]

mod conntrack;
mod events;
mod log;
mod maps;
mod parse;
mod policy;
mod sweep;

use aya_ebpf::{
    bindings::{TC_ACT_SHOT, TC_ACT_UNSPEC, xdp_action},
    macros::{classifier, xdp},
    programs::{TcContext, XdpContext},
};

/// Which hook a packet was seen on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Xdp,
    /// TC ingress: what XDP sees, on interfaces where sgd does not use XDP.
    TcIngress,
    TcEgress,
}

impl Hook {
    /// Whether the hook sees packets arriving on the interface.
    #[inline(always)]
    pub fn arriving(self) -> bool {
        self != Hook::TcEgress
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Drop,
}

#[xdp]
pub fn sg_xdp(ctx: XdpContext) -> u32 {
    let ifindex = unsafe { (*ctx.ctx).ingress_ifindex };
    // sgd protects devices whose packets start with the IP header through TC only: XDP
    // parses Ethernet frames.
    let len = (ctx.data_end() - ctx.data()) as u32;
    match policy::process(ctx.data(), ctx.data_end(), len, ifindex, Hook::Xdp, 0) {
        Verdict::Pass => xdp_action::XDP_PASS,
        Verdict::Drop => xdp_action::XDP_DROP,
    }
}

/// Bytes of headers the policy may read (the deepest L4 offset parsing accepts, plus a TCP
/// header), pulled into the linear part of the socket buffer when they are not all there.
const PULL_LEN: u32 = parse::MAX_L4_OFFSET as u32 + 64;

#[classifier]
pub fn sg_tc_egress(ctx: TcContext) -> i32 {
    tc::<false>(ctx, Hook::TcEgress)
}

/// Packets arriving on interfaces without a native XDP driver (veth, tap, ...): generic XDP
/// would have to copy every socket buffer it is handed (a whole 64 KiB GSO packet at a time),
/// while TC sees the socket buffer in place.
#[classifier]
pub fn sg_tc_ingress(ctx: TcContext) -> i32 {
    tc::<false>(ctx, Hook::TcIngress)
}

/// The same two for devices whose packets start with the IP header (TUN, WireGuard:
/// SG-IF-6). Programs of their own, so that neither kind walks (nor makes the verifier walk)
/// the other's parser.
#[classifier]
pub fn sg_tc_egress_ip(ctx: TcContext) -> i32 {
    tc::<true>(ctx, Hook::TcEgress)
}

#[classifier]
pub fn sg_tc_ingress_ip(ctx: TcContext) -> i32 {
    tc::<true>(ctx, Hook::TcIngress)
}

/// Explaining a verdict (`sg_common::probe`): run by sgd with BPF_PROG_TEST_RUN on a crafted
/// Ethernet frame, never attached to an interface.
#[classifier]
pub fn sg_probe_arriving(ctx: TcContext) -> i32 {
    probe(ctx, Hook::TcIngress)
}

#[classifier]
pub fn sg_probe_leaving(ctx: TcContext) -> i32 {
    probe(ctx, Hook::TcEgress)
}

#[inline(always)]
fn probe(ctx: TcContext, hook: Hook) -> i32 {
    let ifindex = unsafe { (*ctx.skb.skb).ifindex };
    let len = unsafe { core::ptr::read_volatile(&(*ctx.skb.skb).len) };
    policy::probe(ctx.data(), ctx.data_end(), len, ifindex, hook);
    TC_ACT_UNSPEC
}

#[inline(always)]
fn tc<const IP_LINK: bool>(ctx: TcContext, hook: Hook) -> i32 {
    let len = ctx.len();
    let want = if len < PULL_LEN { len } else { PULL_LEN };
    let ifindex = unsafe { (*ctx.skb.skb).ifindex };
    // `parse`'s link: Ethernet (0), or the packet's protocol as the kernel delivers it (none
    // given: the version field decides; never the Ethernet parser on such a device).
    let link = if IP_LINK {
        match u16::from_be(unsafe { (*ctx.skb.skb).protocol } as u16) {
            0 => parse::LINK_IP_ANY,
            p => p,
        }
    } else {
        0
    };
    // Usually the headers are already in the linear part (a GSO packet carries its payload in
    // fragments): pull only when parsing runs out of linear bytes, so no packet pays a copy
    // it does not need, and a long IPv6 extension chain parses as it does at XDP.
    if ((ctx.data_end() - ctx.data()) as u32) < want
        && policy::runs_short(ctx.data(), ctx.data_end(), len, link)
    {
        // Best effort: if the pull fails, parsing sees a short packet and drops it as malformed.
        let _ = ctx.pull_data(want);
    }
    // Read again, not kept from above: compared with `PULL_LEN` there, it would reach the
    // policy as two ranges, and the verifier walk the whole policy once for each.
    let len = unsafe { core::ptr::read_volatile(&(*ctx.skb.skb).len) };
    match policy::process(ctx.data(), ctx.data_end(), len, ifindex, hook, link) {
        // TC_ACT_UNSPEC (tcx "next"): let later programs on the interface run; passes if none.
        Verdict::Pass => TC_ACT_UNSPEC,
        Verdict::Drop => TC_ACT_SHOT,
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
