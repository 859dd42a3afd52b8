//! TCP window tracking: which packets belong to a tracked connection (SG-ENF-13).
//!
//! Each side of a tracked TCP flow records how far it has sent (`end`), how far the other
//! side's acknowledgements and windows let it send (`maxend`), the largest window it
//! advertised (`maxwin`) and the highest acknowledgement it sent (`maxack`). A packet
//! belongs to the connection when it fits those bounds, the four checks of Linux conntrack
//! (`tcp_in_window`, after Rooij's "Real stateful TCP packet filtering"):
//!
//! - I:   `seq <= sender.maxend` (it starts inside what the receiver allowed),
//! - II:  `end >= sender.end - receiver.maxwin` (it is not older than one receiver window),
//! - III: `ack <= receiver.end` (it acknowledges nothing the receiver has not sent),
//! - IV:  `ack >= receiver.end - max(sender.maxwin, 66000)`.
//!
//! Stricter than Linux where a guess would hurt: a pure ACK's sequence number is checked too
//! (Linux skips I and II for it), every segment but a SYN or RST must carry an ACK, and a
//! RST or FIN changes the state only where a real one sits (see [`track`]).
//!
//! Sequence numbers are kept extended to 64 bits (the wire's 32 bits plus the wraps seen), so
//! every comparison and every merge of two copies of a side is a plain integer one: a copy
//! left behind by the traffic (a CPU's flow-cache copy the flow moved away from, gigabytes
//! ago) is smaller, never mistaken for one ahead across a wrap. A wire value is read as the
//! 64-bit number nearest to a reference the side holds ([`extend`]).
//!
//! Pure: the datapath runs it, userspace unit-tests it.

use crate::conntrack::{CT_STATE_CLOSING, CT_STATE_ESTABLISHED, CT_STATE_NEW, CT_STATE_RST};

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_PSH: u8 = 0x08;
pub const TCP_ACK: u8 = 0x10;
pub const TCP_URG: u8 = 0x20;

/// `TcpSide::flags`: the side has sent its SYN (or SYN-ACK), so its fields mean something.
pub const SIDE_SEEN: u8 = 1;
/// The side's SYN carried the window-scale option.
pub const SIDE_WSCALE: u8 = 2;
/// `maxack` holds an acknowledgement the side sent.
pub const SIDE_MAXACK: u8 = 4;

/// `Segment::wscale` of a SYN without the window-scale option.
pub const WSCALE_NONE: u8 = 0xff;
/// The largest shift RFC 7323 allows; also what a SYN whose options could not be read is
/// taken to announce (the widest window: unreadable options must not cut a connection).
pub const MAX_WSCALE: u8 = 14;
/// Linux's floor for how far behind an acknowledgement may lag (`MAXACKWINDOW`).
const MIN_ACK_WINDOW: u64 = 66_000;
/// A window is at most 65 535 << 14 bytes: past this, a value is no window.
const MAX_WINDOW: u32 = 1 << 30;
/// Where a side's sequence space starts: a SYN's sequence number, extended, sits this far
/// above zero, so values behind it never go below zero.
const BASE: u64 = 1 << 33;

/// What one side of a connection has sent, in extended sequence space.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpSide {
    /// The highest sequence number sent, plus one (SYN and FIN count one each).
    pub end: u64,
    /// The highest sequence number the other side's acknowledgements and windows allow.
    pub maxend: u64,
    /// The highest acknowledgement sent (with [`SIDE_MAXACK`]), in the other side's space.
    pub maxack: u64,
    /// The largest window advertised, scaled.
    pub maxwin: u32,
    /// Shift of this side's window field (0 unless both SYNs carried the option).
    pub wscale: u8,
    /// [`SIDE_SEEN`], [`SIDE_WSCALE`], [`SIDE_MAXACK`].
    pub flags: u8,
    /// The TCP flags of this side's admitted packets as flow logs record them
    /// ([`flow_log_flags`]), OR-ed since the flow opened: FIN, SYN, RST, and ACK only with
    /// a SYN. Only packets with SYN, FIN or RST set it, and those never pass on the flow
    /// cache, so the table's entry always has them.
    pub seen: u8,
    pub _pad: u8,
}
const _: () = assert!(core::mem::size_of::<TcpSide>() == 32);

/// The fields of a TCP packet window tracking reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    pub seq: u32,
    pub ack: u32,
    /// Payload bytes.
    pub len: u32,
    /// The window field, unscaled.
    pub win: u16,
    pub flags: u8,
    /// A SYN's window-scale option: the shift, [`WSCALE_NONE`], or [`MAX_WSCALE`] when the
    /// options could not be read.
    pub wscale: u8,
}

impl Segment {
    /// Sequence numbers the segment takes: its payload, and one each for SYN and FIN.
    #[inline(always)]
    pub fn span(&self) -> u64 {
        self.len as u64 + (self.flags & TCP_SYN != 0) as u64 + (self.flags & TCP_FIN != 0) as u64
    }
}

/// The extended sequence number nearest to `near` whose low 32 bits are `wire`.
#[inline(always)]
pub fn extend(near: u64, wire: u32) -> u64 {
    near.wrapping_add(wire.wrapping_sub(near as u32) as i32 as i64 as u64)
}

/// Whether the flags are a combination a TCP endpoint sends (Linux's `tcp_valid_flags`,
/// PSH, ECE and CWR aside): a SYN, a SYN-ACK, a RST (with or without ACK), or an ACK with or
/// without FIN.
///
/// A bit table, not comparisons: each comparison that matched would leave the verifier a
/// path with the flags known exactly, and the code after it walked once per combination.
#[inline(always)]
pub fn valid_flags(f: u8) -> bool {
    const VALID: u32 = 1 << TCP_SYN
        | 1 << (TCP_SYN | TCP_ACK)
        | 1 << TCP_RST
        | 1 << (TCP_RST | TCP_ACK)
        | 1 << TCP_ACK
        | 1 << (TCP_FIN | TCP_ACK);
    let core = f & (TCP_FIN | TCP_SYN | TCP_RST | TCP_ACK);
    VALID >> core & 1 != 0
}

/// What window tracking says of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// It belongs to the connection: pass it and refresh the flow.
    Admit,
    /// A RST inside the window but not at either exact place a real one sits, or an old
    /// duplicate of the handshake: pass it (the endpoint answers with a challenge ACK, RFC
    /// 5961) but change and refresh nothing.
    AdmitOnly,
    /// It does not belong to the connection: the tracked flow does not admit it.
    Reject,
    /// A SYN on a live connection that is none of its own: not admitted, and it must not
    /// replace the connection's entry either (a spoofed one would end the connection); the
    /// rules judge it, as a packet of no flow.
    Foreign,
}

/// The side a SYN opens.
#[inline(always)]
fn opened(seg: &Segment) -> TcpSide {
    let end = BASE + seg.seq as u64 + seg.span();
    let ws = seg.wscale != WSCALE_NONE;
    TcpSide {
        end,
        maxend: end,
        maxack: 0,
        maxwin: if seg.win == 0 { 1 } else { seg.win as u32 },
        wscale: if !ws {
            0
        } else if seg.wscale > MAX_WSCALE {
            MAX_WSCALE
        } else {
            seg.wscale
        },
        flags: SIDE_SEEN | if ws { SIDE_WSCALE } else { 0 },
        seen: flow_log_flags(seg.flags),
        _pad: 0,
    }
}

/// The flags of a packet as VPC flow logs record them: FIN (1), SYN (2), RST (4), and a
/// SYN-ACK as 18; ACK alone, PSH and the rest are not recorded.
#[inline(always)]
pub fn flow_log_flags(f: u8) -> u8 {
    let syn_ack = if f & (TCP_SYN | TCP_ACK) == TCP_SYN | TCP_ACK {
        TCP_ACK
    } else {
        0
    };
    f & (TCP_FIN | TCP_SYN | TCP_RST) | syn_ack
}

/// The sides of a flow opened by a SYN sent in direction `dir` (`sides[dir]` sends it).
#[inline(always)]
pub fn open(dir: u8, seg: &Segment) -> [TcpSide; 2] {
    let mut sides = [TcpSide::default(); 2];
    sides[(dir & 1) as usize] = opened(seg);
    sides
}

/// The sides of a flow whose endpoint answered the SYN without keeping state (a SYN cookie:
/// issue 17), completed by the client's ACK `seg` sent in direction `dir`. Neither SYN was
/// seen, so neither window scale nor either window is known: both sides are taken to scale
/// by [`MAX_WSCALE`] with the largest window, what an unreadable SYN gets (a connection must
/// never be cut for a window too narrow). The sequence numbers are exact: the client's next
/// is the ACK's, the server's next is what the ACK acknowledges, and the server's last
/// acknowledgement is the client's SYN. Flow logs see a SYN from the client and a SYN-ACK
/// from the server, as for a handshake seen whole.
#[inline(always)]
pub fn open_from_cookie(dir: u8, seg: &Segment) -> [TcpSide; 2] {
    let si = (dir & 1) as usize;
    let client_next = BASE + seg.seq as u64;
    let server_next = BASE + seg.ack as u64;
    let client_win = ((seg.win as u64) << MAX_WSCALE).clamp(1, MAX_WINDOW as u64);
    let both = SIDE_SEEN | SIDE_WSCALE | SIDE_MAXACK;
    let mut sides = [TcpSide::default(); 2];
    sides[si] = TcpSide {
        end: client_next + seg.span(),
        maxend: client_next + MAX_WINDOW as u64,
        maxack: server_next,
        maxwin: MAX_WINDOW,
        wscale: MAX_WSCALE,
        flags: both,
        seen: TCP_SYN,
        _pad: 0,
    };
    sides[si ^ 1] = TcpSide {
        end: server_next,
        maxend: server_next + client_win,
        maxack: client_next,
        maxwin: MAX_WINDOW,
        wscale: MAX_WSCALE,
        flags: both,
        seen: TCP_SYN | TCP_ACK,
        _pad: 0,
    };
    sides
}

/// Opens, in `sides`, a flow whose SYN, sent in the direction opposite to `dir`, passed
/// without an entry and whose server kept state for it: opened by the server's SYN-ACK `seg`
/// (sent in direction `dir`), half-open until the client acknowledges it. The client's SYN
/// was not seen: its sequence number is what the SYN-ACK acknowledges, less one; its window
/// is taken to be the largest unscaled one, and it scales by [`MAX_WSCALE`] if the SYN-ACK
/// answered a window-scale option (the server sends one only then), what an unreadable SYN
/// gets. Returns the flow's state, or `None` (and `sides` undefined) if `seg` is no SYN-ACK.
/// In place: the datapath's stack has no room for a copy.
#[inline(always)]
pub fn open_from_synack(sides: &mut [TcpSide; 2], dir: u8, seg: &Segment) -> Option<u8> {
    if seg.flags & (TCP_SYN | TCP_ACK | TCP_FIN | TCP_RST) != TCP_SYN | TCP_ACK {
        return None;
    }
    let client = dir ^ 1;
    let syn = Segment {
        seq: seg.ack.wrapping_sub(1),
        ack: 0,
        len: 0,
        win: u16::MAX,
        flags: TCP_SYN,
        wscale: if seg.wscale == WSCALE_NONE {
            WSCALE_NONE
        } else {
            MAX_WSCALE
        },
    };
    sides[(client & 1) as usize] = opened(&syn);
    sides[(dir & 1) as usize] = TcpSide::default();
    let mut state = crate::conntrack::CT_STATE_NEW;
    match track(sides, &mut state, client, dir, seg) {
        Track::Admit => Some(state),
        _ => None,
    }
}

/// Folds another copy of the same flow's sides (a CPU's flow-cache copy) into `into`: every
/// field only grows, so the result is at least as recent as either.
#[inline(always)]
pub fn merge(into: &mut [TcpSide; 2], from: &[TcpSide; 2]) {
    for i in 0..2 {
        let (a, b) = (&mut into[i], &from[i]);
        a.seen |= b.seen;
        if b.flags & SIDE_SEEN == 0 || a.flags & SIDE_SEEN == 0 {
            continue;
        }
        if b.end > a.end {
            a.end = b.end;
        }
        if b.maxend > a.maxend {
            a.maxend = b.maxend;
        }
        if b.maxwin > a.maxwin {
            a.maxwin = b.maxwin;
        }
        if b.flags & SIDE_MAXACK != 0 && (a.flags & SIDE_MAXACK == 0 || b.maxack > a.maxack) {
            a.maxack = b.maxack;
            a.flags |= SIDE_MAXACK;
        }
    }
}

/// Whether a segment's sequence number is so far from the side's (one and a half
/// gigabytes, more than any window) that no copy of the window on any CPU could admit it:
/// rejected without looking.
#[inline(always)]
pub fn far_off(sides: &[TcpSide; 2], dir: u8, seg: &Segment) -> bool {
    let s = &sides[(dir & 1) as usize];
    let seq = extend(s.end, seg.seq);
    s.flags & SIDE_SEEN != 0 && seq.abs_diff(s.end) > (MAX_WINDOW + MAX_WINDOW / 2) as u64
}

/// Checks a segment sent in direction `dir` (no SYN, no RST, an ACK) against the window and,
/// if it fits, records it. Both sides must have been seen. Returns whether it fits.
///
/// The sides are read where needed and written only once every check passed, never copied
/// whole: the datapath's stack is 512 bytes for the whole call chain, and copies of the
/// fields would each take a spill slot.
#[inline(always)]
pub fn track_data(sides: &mut [TcpSide; 2], dir: u8, seg: &Segment) -> bool {
    let si = (dir & 1) as usize;
    let ri = si ^ 1;
    if sides[si].flags & sides[ri].flags & SIDE_SEEN == 0 || seg.flags & TCP_ACK == 0 {
        return false;
    }
    let seq = extend(sides[si].end, seg.seq);
    let end = seq + seg.span();
    let ack = extend(sides[ri].end, seg.ack);
    let lag = if sides[si].maxwin as u64 > MIN_ACK_WINDOW {
        sides[si].maxwin as u64
    } else {
        MIN_ACK_WINDOW
    };
    if seq > sides[si].maxend
        || end < sides[si].end.saturating_sub(sides[ri].maxwin as u64)
        || ack > sides[ri].end
        || ack < sides[ri].end.saturating_sub(lag)
    {
        return false;
    }
    let s = &mut sides[si];
    let win = (seg.win as u32) << (s.wscale & 15);
    if win > s.maxwin {
        s.maxwin = win;
    }
    if end > s.end {
        s.end = end;
    }
    if s.flags & SIDE_MAXACK == 0 || ack > s.maxack {
        s.maxack = ack;
        s.flags |= SIDE_MAXACK;
    }
    let s_maxend = s.maxend;
    let r = &mut sides[ri];
    // The receiver's window must be larger than seen if the sender went past it.
    if r.maxwin != 0 && end > s_maxend {
        let grown = r.maxwin as u64 + (end - s_maxend);
        r.maxwin = if grown > MAX_WINDOW as u64 {
            MAX_WINDOW
        } else {
            grown as u32
        };
    }
    // A zero window still lets the receiver send one byte (a window probe).
    let allowed = ack + win as u64 + (win == 0) as u64;
    if allowed > r.maxend {
        r.maxend = allowed;
    }
    true
}

/// Window tracking of one packet of a tracked flow opened in direction `origin`, sent in
/// direction `dir`; updates the sides and the state (`CT_STATE_*`) when it admits it, and
/// changes nothing otherwise.
///
/// - Flags no endpoint sends together (SYN with FIN, FIN without ACK, none at all, ...) are
///   never the flow's.
/// - A SYN: the originator's retransmission (or a new initial sequence number) while the
///   handshake is open, the other side's SYN of a simultaneous open, or an old duplicate of
///   an established flow's SYN (passed, nothing changed). Any other SYN on an open
///   handshake or an established flow is [`Track::Foreign`]: judged by the rules, and it
///   does not replace the flow. On a closing or reset flow it is a new connection.
/// - A SYN-ACK: must acknowledge the other side's SYN within Linux's tolerance (III, IV);
///   it opens its side and the flow is established.
/// - A RST: before its side has answered, only one that acknowledges the SYN exactly
///   (RFC 793, a refused connection). Otherwise it resets the flow only at one of the two
///   places a real RST sits: the sender's next sequence number, or the last acknowledgement
///   the receiver sent (RFC 5961's exact match; a RST answering a stray segment carries that
///   segment's acknowledgement). Elsewhere in the window it passes without effect
///   ([`Track::AdmitOnly`]); outside, it is rejected. A blind attacker must hit one of two
///   values in 2^32.
/// - A FIN: must fit the window (ACK included), and closes the flow only when it is the
///   last data sent: it starts no later and ends no earlier than the sender's end. An early
///   one passes as data; one behind the end (a retransmission from before the close) passes
///   without closing.
/// - Anything else: the window checks I-IV.
#[inline(always)]
pub fn track(
    sides: &mut [TcpSide; 2],
    state: &mut u8,
    origin: u8,
    dir: u8,
    seg: &Segment,
) -> Track {
    let si = (dir & 1) as usize;
    let ri = si ^ 1;
    let f = seg.flags;
    if !valid_flags(f) {
        return Track::Reject;
    }
    if f & TCP_SYN != 0 {
        return syn(sides, state, origin, dir, seg);
    }
    if f & TCP_RST != 0 {
        if sides[si].flags & SIDE_SEEN == 0 {
            let refused = f & TCP_ACK != 0
                && sides[ri].flags & SIDE_SEEN != 0
                && extend(sides[ri].end, seg.ack) == sides[ri].end;
            if refused {
                *state = CT_STATE_RST;
                return Track::Admit;
            }
            return Track::Reject;
        }
        let seq = extend(sides[si].end, seg.seq);
        if seq == sides[si].end || sides[ri].flags & SIDE_MAXACK != 0 && seq == sides[ri].maxack {
            *state = CT_STATE_RST;
            return Track::Admit;
        }
        let inside =
            seq <= sides[si].maxend && seq >= sides[si].end.saturating_sub(sides[ri].maxwin as u64);
        return if inside {
            Track::AdmitOnly
        } else {
            Track::Reject
        };
    }
    let s_end = sides[si].end;
    if !track_data(sides, dir, seg) {
        return Track::Reject;
    }
    if f & TCP_FIN != 0 && *state != CT_STATE_RST {
        let seq = extend(s_end, seg.seq);
        if seq <= s_end && seq + seg.span() >= s_end {
            *state = CT_STATE_CLOSING;
        }
    }
    Track::Admit
}

#[inline(always)]
fn syn(sides: &mut [TcpSide; 2], state: &mut u8, origin: u8, dir: u8, seg: &Segment) -> Track {
    let si = (dir & 1) as usize;
    let ri = si ^ 1;
    let seen = sides[si].flags & SIDE_SEEN != 0;
    let seq = extend(sides[si].end, seg.seq);
    // An old duplicate of this side's SYN on an established flow: the endpoint answers it with
    // an ACK; it must neither pass as a new connection (which would replace the flow) nor
    // change anything.
    let old_dup = seen
        && *state == CT_STATE_ESTABLISHED
        && seq < sides[si].end
        && seq + seg.span() >= sides[si].end.saturating_sub(sides[ri].maxwin as u64);
    // Not this connection's: on a closing or reset flow a new connection, else foreign.
    let other = if old_dup {
        Track::AdmitOnly
    } else if *state == CT_STATE_CLOSING || *state == CT_STATE_RST {
        Track::Reject
    } else {
        Track::Foreign
    };
    if seg.flags & TCP_ACK == 0 {
        if *state != CT_STATE_NEW {
            return other;
        }
        if dir == origin || !seen {
            sides[si] = opened(seg);
            return Track::Admit;
        }
        return if seq + seg.span() == sides[si].end {
            Track::Admit
        } else {
            other
        };
    }
    // A SYN-ACK acknowledges the other side's SYN.
    let r_end = sides[ri].end;
    let ack = extend(r_end, seg.ack);
    let lag = if sides[si].maxwin as u64 > MIN_ACK_WINDOW {
        sides[si].maxwin as u64
    } else {
        MIN_ACK_WINDOW
    };
    if sides[ri].flags & SIDE_SEEN == 0 || ack > r_end || ack < r_end.saturating_sub(lag) {
        return Track::Reject;
    }
    // The first answer; or, on an open handshake, one that acknowledges the SYN exactly
    // (a SYN spoofed from this side before it did must not keep the real answer out).
    let first = !seen || *state == CT_STATE_NEW && ack == r_end && seq + 1 != sides[si].end;
    if first {
        sides[si] = opened(seg);
        if sides[si].flags & sides[ri].flags & SIDE_WSCALE == 0 {
            sides[si].wscale = 0;
            sides[ri].wscale = 0;
        }
        // The originator's SYN window (never scaled) lets this side send data at once (a
        // Fast Open server's burst).
        sides[si].maxend = sides[si].end + sides[ri].maxwin as u64;
    } else if seq + seg.span() != sides[si].end {
        return other;
    }
    let s = &mut sides[si];
    if s.flags & SIDE_MAXACK == 0 || ack > s.maxack {
        s.maxack = ack;
        s.flags |= SIDE_MAXACK;
    }
    // A SYN's window is never scaled.
    let allowed = ack + seg.win as u64;
    let r = &mut sides[ri];
    if allowed > r.maxend {
        r.maxend = allowed;
    }
    if *state == CT_STATE_NEW {
        *state = CT_STATE_ESTABLISHED;
    }
    Track::Admit
}

#[cfg(test)]
mod tests;
