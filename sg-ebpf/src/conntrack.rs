//! Connection tracking: lookup with exact expiry (SG-ENF-7), creation, and the per-flow state
//! that picks the idle timeout (SG-ENF-6).

use aya_ebpf::maps::HashMap;
use sg_common::{conntrack::*, iface::IfaceCfg};

use crate::{
    parse::{PROTO_TCP, Packet},
    policy::Clock,
};

const TCP_FIN: u8 = 0x01;
const TCP_SYN: u8 = 0x02;
const TCP_RST: u8 = 0x04;
const TCP_ACK: u8 = 0x10;
const NS: u64 = 1_000_000_000;

/// Idle timeout of an entry, nanoseconds.
#[inline(always)]
fn timeout_ns(v: &CtValue, proto: u8, cfg: &IfaceCfg) -> u64 {
    timeout_s(v, proto, cfg) * NS
}

/// Looks the flow up; if a live entry exists, updates it and returns true. An entry idle past
/// its timeout counts as absent whatever the sweeper has done.
#[inline(always)]
pub fn hit(
    map: &HashMap<CtKey, CtValue>,
    key: &CtKey,
    pkt: &Packet,
    dir: u8,
    len: u64,
    cfg: &IfaceCfg,
    clock: &mut Clock,
) -> bool {
    let Some(v) = map.get_ptr_mut(key) else {
        return false;
    };
    let v = unsafe { &mut *v };
    let now = clock.now();
    if now.saturating_sub(v.last_seen_ns) > timeout_ns(v, pkt.proto, cfg) {
        return false;
    }
    if pkt.proto == PROTO_TCP {
        let f = pkt.tcp_flags;
        // A fresh SYN on a closed flow's tuple is a new connection: judge it by the rules.
        if f & (TCP_SYN | TCP_ACK) == TCP_SYN
            && (v.state == CT_STATE_CLOSING || v.state == CT_STATE_RST)
        {
            return false;
        }
        if f & TCP_RST != 0 {
            v.state = CT_STATE_RST;
        } else if f & TCP_FIN != 0 {
            if v.state != CT_STATE_RST {
                v.state = CT_STATE_CLOSING;
            }
        } else if v.state == CT_STATE_NEW && dir != v.origin {
            v.state = CT_STATE_ESTABLISHED;
        }
    }
    if dir != v.last_dir {
        v.last_dir = dir;
        v.turns = v.turns.saturating_add(1);
    }
    v.last_seen_ns = now;
    v.packets += 1;
    v.bytes += len;
    true
}

/// Creates (or replaces an expired) entry for a flow the rules admitted.
#[inline(always)]
pub fn create(
    map: &HashMap<CtKey, CtValue>,
    key: &CtKey,
    pkt: &Packet,
    dir: u8,
    len: u64,
    clock: &mut Clock,
) -> bool {
    let now = clock.now();
    let state = if pkt.proto != PROTO_TCP {
        CT_STATE_ESTABLISHED
    } else if pkt.tcp_flags & TCP_RST != 0 {
        CT_STATE_RST
    } else if pkt.tcp_flags & TCP_FIN != 0 {
        CT_STATE_CLOSING
    } else if pkt.tcp_flags & (TCP_SYN | TCP_ACK) == TCP_SYN {
        CT_STATE_NEW
    } else {
        // Only a SYN opens a TCP flow (see `policy::judge`); kept total for safety.
        CT_STATE_NEW
    };
    let v = CtValue {
        last_seen_ns: now,
        packets: 1,
        bytes: len,
        origin: dir,
        state,
        last_dir: dir,
        turns: 0,
        _pad: 0,
    };
    map.insert(key, v, 0).is_ok()
}
