//! The in-kernel half of the conntrack sweeper: userspace reads the tables in batches and
//! picks the entries idle past their timeout; this program re-reads each candidate and
//! deletes it only if it is still that idle, all in one system call per `SWEEP_BATCH`
//! candidates (two per entry otherwise). It marks the candidates it removed; sgd takes them
//! from the presence filter.

use aya_ebpf::{
    bindings::xdp_action, cty::c_void, helpers::bpf_loop, macros::xdp, maps::HashMap,
    programs::XdpContext,
};
use sg_common::conntrack::{CtKey, CtValue, SWEEP_BATCH, SWEEP_FRAME_LEN, budget};

use crate::maps::{CT_OTHER, CT_TCP, SWEEP_ITEMS, SWEEP_OUT};

#[repr(C)]
struct Run {
    now: u64,
    removed: u64,
}

/// Run through `BPF_PROG_TEST_RUN` by the sweeper only; never attached.
#[xdp]
pub fn sg_sweep(ctx: XdpContext) -> u32 {
    let (data, end) = (ctx.data(), ctx.data_end());
    if data + SWEEP_FRAME_LEN > end {
        return xdp_action::XDP_ABORTED;
    }
    let (now, count, table) = unsafe {
        (
            core::ptr::read_unaligned(data as *const u64),
            core::ptr::read_unaligned((data + 8) as *const u32),
            core::ptr::read_unaligned((data + 12) as *const u32),
        )
    };
    let mut run = Run { now, removed: 0 };
    let n = count.min(SWEEP_BATCH);
    if table == 0 {
        loop_tcp(n, &mut run);
    } else {
        loop_other(n, &mut run);
    }
    if let Some(out) = SWEEP_OUT.get_ptr_mut(0) {
        unsafe { *out = run.removed };
    }
    xdp_action::XDP_PASS
}

// One function per table: each loop and each lookup names its map directly.
#[inline(never)]
fn loop_tcp(n: u32, run: &mut Run) {
    unsafe { bpf_loop(n, one_tcp as *mut c_void, run as *mut Run as *mut c_void, 0) };
}

#[inline(never)]
fn loop_other(n: u32, run: &mut Run) {
    unsafe {
        bpf_loop(
            n,
            one_other as *mut c_void,
            run as *mut Run as *mut c_void,
            0,
        )
    };
}

extern "C" fn one_tcp(i: u64, ctx: *mut c_void) -> i64 {
    one(&CT_TCP, true, i, ctx)
}

extern "C" fn one_other(i: u64, ctx: *mut c_void) -> i64 {
    one(&CT_OTHER, false, i, ctx)
}

#[inline(always)]
fn one(map: &HashMap<CtKey, CtValue>, tcp: bool, i: u64, ctx: *mut c_void) -> i64 {
    let run = unsafe { &mut *(ctx as *mut Run) };
    let Some(item) = SWEEP_ITEMS.get_ptr_mut(i as u32) else {
        return 1;
    };
    let item = unsafe { &mut *item };
    let Some(v) = (unsafe { map.get(&item.key) }) else {
        return 0;
    };
    if run.now.saturating_sub(v.last_seen_ns) <= item.timeout_ns {
        return 0;
    }
    // Read before the removal: the entry leaves its budget with it.
    let counted = budget::of(v, tcp);
    if map.remove(&item.key).is_ok() {
        // sgd takes the removed entries from the presence filter after the sweep.
        item.removed = 1;
        run.removed += 1;
        crate::conntrack::budget_leave(counted);
    }
    0
}
