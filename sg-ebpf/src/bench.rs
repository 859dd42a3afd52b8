//! Benchmark-only XDP programs, in an object of their own that `sgd` never loads: only
//! `cargo xtask bench` (through `sg_userspace::bench`) does. They give the per-packet figures
//! their baselines (the empty program, one conntrack lookup, dropping everything) and the live
//! flood its generator.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::xdp_action,
    macros::{map, xdp},
    maps::{DevMap, HashMap, PerCpuArray},
    programs::XdpContext,
};
use sg_common::conntrack::{BENCH_CT_KEY, CtKey, CtValue};

/// Where `sg_bench_redirect` sends frames.
#[map(name = "BENCH_TX")]
static BENCH_TX: DevMap = DevMap::with_max_entries(1, 0);

/// `sg_bench_drop`'s count.
#[map(name = "BENCH_DROPS")]
static BENCH_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// A table of the conntrack tables' type (`CT_TCP` in the datapath: a preallocated hash of the
/// same key and value), holding the one entry `sg_bench_ct_lookup` looks up. Its size does not
/// change the cost of that lookup (one bucket, one element, both hot), so it is kept small.
#[map(name = "BENCH_CT")]
static BENCH_CT: HashMap<CtKey, CtValue> = HashMap::with_max_entries(1 << 10, 0);

/// The key `sg_bench_ct_lookup` looks up (a constant: building it on the stack would cost
/// the floor a `memset` call the real program does not make).
static FLOOR_KEY: CtKey = BENCH_CT_KEY;

/// Passes everything: the baseline of the per-packet figures.
#[xdp]
pub fn sg_noop(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
}

/// Traffic generator: with BPF_F_TEST_XDP_LIVE_FRAMES, every test run redirects its frame
/// into the device in `BENCH_TX[0]`, as a NIC driver would hand frames to XDP.
#[xdp]
pub fn sg_bench_redirect(_ctx: XdpContext) -> u32 {
    BENCH_TX.redirect(0, 0).unwrap_or(xdp_action::XDP_ABORTED)
}

/// The floor of a conntrack hit: one lookup in a conntrack-shaped table and nothing else.
#[xdp]
pub fn sg_bench_ct_lookup(_ctx: XdpContext) -> u32 {
    match unsafe { BENCH_CT.get(&FLOOR_KEY) } {
        Some(_) => xdp_action::XDP_PASS,
        None => xdp_action::XDP_DROP,
    }
}

/// Drops every frame, counting it: the baseline of the floods.
#[xdp]
pub fn sg_bench_drop(_ctx: XdpContext) -> u32 {
    if let Some(n) = BENCH_DROPS.get_ptr_mut(0) {
        unsafe { *n += 1 };
    }
    xdp_action::XDP_DROP
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
