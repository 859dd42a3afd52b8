//! TCP window tracking: which packets belong to a tracked connection (SG-ENF-13).
//!
//! Each side of a tracked TCP flow records, in sequence space, how far it has sent (`end`),
//! how far the other side's acknowledgements and windows let it send (`maxend`), the largest
//! window it advertised (`maxwin`) and the highest acknowledgement it sent (`maxack`). A
//! packet belongs to the connection when it fits those bounds, the four checks of Linux
//! conntrack (`tcp_in_window`, after Rooij's "Real stateful TCP packet filtering"):
//!
//! - I:   `seq <= sender.maxend` (it starts inside what the receiver allowed),
//! - II:  `end >= sender.end - receiver.maxwin` (it is not older than one receiver window),
//! - III: `ack <= receiver.end` (it acknowledges nothing the receiver has not sent),
//! - IV:  `ack >= receiver.end - max(sender.maxwin, 66000)`.
//!
//! Stricter than Linux where a guess would hurt: a pure ACK's sequence number is checked too
//! (Linux skips I and II for it), and a RST or FIN changes the state only when it is where a
//! real one is (see [`track`]). Pure: the datapath runs it, userspace unit-tests it.

use crate::conntrack::{CT_STATE_CLOSING, CT_STATE_ESTABLISHED, CT_STATE_NEW, CT_STATE_RST};

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

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
const MIN_ACK_WINDOW: u32 = 66_000;

/// What one side of a connection has sent, in sequence space.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpSide {
    /// The highest sequence number sent, plus one (SYN and FIN count one each).
    pub end: u32,
    /// The highest sequence number the other side's acknowledgements and windows allow.
    pub maxend: u32,
    /// The largest window advertised, scaled.
    pub maxwin: u32,
    /// The highest acknowledgement sent (with [`SIDE_MAXACK`]).
    pub maxack: u32,
    /// Shift of this side's window field (0 unless both SYNs carried the option).
    pub wscale: u8,
    /// [`SIDE_SEEN`], [`SIDE_WSCALE`], [`SIDE_MAXACK`].
    pub flags: u8,
    pub _pad: [u8; 2],
}
const _: () = assert!(core::mem::size_of::<TcpSide>() == 20);

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
    /// The sequence number after this segment.
    #[inline(always)]
    pub fn end(&self) -> u32 {
        self.seq
            .wrapping_add(self.len)
            .wrapping_add((self.flags & TCP_SYN != 0) as u32)
            .wrapping_add((self.flags & TCP_FIN != 0) as u32)
    }
}

/// Sequence-space order (RFC 1982): `a` comes before `b`.
#[inline(always)]
pub fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

#[inline(always)]
pub fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

#[inline(always)]
fn seq_max(a: u32, b: u32) -> u32 {
    if after(b, a) { b } else { a }
}

/// What window tracking says of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// It belongs to the connection: pass it and refresh the flow.
    Admit,
    /// A RST inside the window but not at either exact place a real one sits: pass it (the
    /// endpoint answers with a challenge ACK, RFC 5961) but change and refresh nothing.
    AdmitOnly,
    /// It does not belong to the connection: the tracked flow does not admit it.
    Reject,
}

/// The side a SYN opens.
#[inline(always)]
fn opened(seg: &Segment) -> TcpSide {
    let end = seg.end();
    let ws = seg.wscale != WSCALE_NONE;
    TcpSide {
        end,
        maxend: end,
        maxwin: if seg.win == 0 { 1 } else { seg.win as u32 },
        maxack: 0,
        wscale: if !ws {
            0
        } else if seg.wscale > MAX_WSCALE {
            MAX_WSCALE
        } else {
            seg.wscale
        },
        flags: SIDE_SEEN | if ws { SIDE_WSCALE } else { 0 },
        _pad: [0; 2],
    }
}

/// The sides of a flow opened by a SYN sent in direction `dir` (`sides[dir]` sends it).
#[inline(always)]
pub fn open(dir: u8, seg: &Segment) -> [TcpSide; 2] {
    let mut sides = [TcpSide::default(); 2];
    sides[(dir & 1) as usize] = opened(seg);
    sides
}

/// Folds another copy of the same flow's sides (a CPU's flow-cache copy) into `into`: every
/// field only grows, so the result is at least as recent as either.
#[inline(always)]
pub fn merge(into: &mut [TcpSide; 2], from: &[TcpSide; 2]) {
    for i in 0..2 {
        let (a, b) = (&mut into[i], &from[i]);
        if b.flags & SIDE_SEEN == 0 || a.flags & SIDE_SEEN == 0 {
            continue;
        }
        a.end = seq_max(a.end, b.end);
        a.maxend = seq_max(a.maxend, b.maxend);
        if b.maxwin > a.maxwin {
            a.maxwin = b.maxwin;
        }
        if b.flags & SIDE_MAXACK != 0 {
            a.maxack = if a.flags & SIDE_MAXACK != 0 {
                seq_max(a.maxack, b.maxack)
            } else {
                b.maxack
            };
            a.flags |= SIDE_MAXACK;
        }
    }
}

/// Checks a packet without SYN or RST sent in direction `dir` against the window and, if it
/// fits, records it. Both sides must have been seen. Returns whether it fits.
///
/// The sides are read where needed and written only once every check passed, never copied
/// whole: the datapath's stack is 512 bytes for the whole call chain, and copies of ten
/// fields would each take a spill slot.
#[inline(always)]
pub fn track_data(sides: &mut [TcpSide; 2], dir: u8, seg: &Segment) -> bool {
    let si = (dir & 1) as usize;
    let ri = si ^ 1;
    if sides[si].flags & sides[ri].flags & SIDE_SEEN == 0 {
        return false;
    }
    let end = seg.end();
    if after(seg.seq, sides[si].maxend) || before(end, sides[si].end.wrapping_sub(sides[ri].maxwin))
    {
        return false;
    }
    let ack = seg.flags & TCP_ACK != 0;
    if ack {
        let r_end = sides[ri].end;
        let lag = if sides[si].maxwin > MIN_ACK_WINDOW {
            sides[si].maxwin
        } else {
            MIN_ACK_WINDOW
        };
        if after(seg.ack, r_end) || before(seg.ack, r_end.wrapping_sub(lag)) {
            return false;
        }
    }
    let s = &mut sides[si];
    let win = (seg.win as u32) << (s.wscale & 15);
    if win > s.maxwin {
        s.maxwin = win;
    }
    if after(end, s.end) {
        s.end = end;
    }
    if ack && (s.flags & SIDE_MAXACK == 0 || after(seg.ack, s.maxack)) {
        s.maxack = seg.ack;
        s.flags |= SIDE_MAXACK;
    }
    let s_maxend = s.maxend;
    let r = &mut sides[ri];
    // The receiver's window must be larger than seen if the sender went past it.
    if r.maxwin != 0 && after(end, s_maxend) {
        r.maxwin = r.maxwin.wrapping_add(end.wrapping_sub(s_maxend));
    }
    if ack {
        // A zero window still lets the receiver send one byte (a window probe).
        let allowed = seg.ack.wrapping_add(win).wrapping_add((win == 0) as u32);
        if after(allowed, r.maxend) {
            r.maxend = allowed;
        }
    }
    true
}

/// Window tracking of one packet of a tracked flow opened in direction `origin`, sent in
/// direction `dir`; updates the sides and the state (`CT_STATE_*`) when it admits it, and
/// changes nothing otherwise.
///
/// - A SYN: the originator's retransmission (or a new initial sequence number) while the
///   handshake is open, the other side's SYN of a simultaneous open, or an old duplicate of
///   an established flow's SYN (passed, nothing changed). Any other SYN is a new connection.
/// - A SYN-ACK: must acknowledge the other side's SYN within Linux's tolerance (III, IV);
///   it opens its side and the flow is established.
/// - A RST: before its side has answered, only one that acknowledges the SYN exactly
///   (RFC 793, a refused connection). Otherwise it resets the flow only at one of the two
///   places a real RST sits: the sender's next sequence number, or the last acknowledgement
///   the receiver sent (RFC 5961's exact match; a RST answering a stray segment carries that
///   segment's acknowledgement). Elsewhere in the window it passes without effect
///   ([`Track::AdmitOnly`]); outside, it is rejected. A blind attacker must hit one of two
///   values in 2^32.
/// - A FIN: must fit the window, and closes the flow only when it is the last data sent (its
///   sequence number is not past the sender's end): an early one passes as data.
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
    if f & TCP_SYN != 0 {
        if f & TCP_RST != 0 {
            return Track::Reject;
        }
        return syn(sides, state, origin, dir, seg);
    }
    if f & TCP_RST != 0 {
        if sides[si].flags & SIDE_SEEN == 0 {
            if f & TCP_ACK != 0 && sides[ri].flags & SIDE_SEEN != 0 && seg.ack == sides[ri].end {
                *state = CT_STATE_RST;
                return Track::Admit;
            }
            return Track::Reject;
        }
        if seg.seq == sides[si].end
            || sides[ri].flags & SIDE_MAXACK != 0 && seg.seq == sides[ri].maxack
        {
            *state = CT_STATE_RST;
            return Track::Admit;
        }
        let inside = !after(seg.seq, sides[si].maxend)
            && !before(seg.end(), sides[si].end.wrapping_sub(sides[ri].maxwin));
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
    if f & TCP_FIN != 0 && !after(seg.seq, s_end) && *state != CT_STATE_RST {
        *state = CT_STATE_CLOSING;
    }
    Track::Admit
}

#[inline(always)]
fn syn(sides: &mut [TcpSide; 2], state: &mut u8, origin: u8, dir: u8, seg: &Segment) -> Track {
    let si = (dir & 1) as usize;
    let ri = si ^ 1;
    let seen = sides[si].flags & SIDE_SEEN != 0;
    // An old duplicate of this side's SYN on an established flow: the endpoint answers it with
    // an ACK; it must neither pass as a new connection (which would replace the flow) nor
    // change anything.
    let old_dup = seen
        && *state == CT_STATE_ESTABLISHED
        && before(seg.seq, sides[si].end)
        && !before(seg.end(), sides[si].end.wrapping_sub(sides[ri].maxwin));
    let dup = if old_dup {
        Track::AdmitOnly
    } else {
        Track::Reject
    };
    if seg.flags & TCP_ACK == 0 {
        if *state != CT_STATE_NEW {
            return dup;
        }
        if dir == origin || !seen {
            sides[si] = opened(seg);
            return Track::Admit;
        }
        return if seg.end() == sides[si].end {
            Track::Admit
        } else {
            Track::Reject
        };
    }
    // A SYN-ACK acknowledges the other side's SYN.
    let r_end = sides[ri].end;
    let lag = if sides[si].maxwin > MIN_ACK_WINDOW {
        sides[si].maxwin
    } else {
        MIN_ACK_WINDOW
    };
    if sides[ri].flags & SIDE_SEEN == 0
        || after(seg.ack, r_end)
        || before(seg.ack, r_end.wrapping_sub(lag))
    {
        return Track::Reject;
    }
    if !seen {
        sides[si] = opened(seg);
        if sides[si].flags & sides[ri].flags & SIDE_WSCALE == 0 {
            sides[si].wscale = 0;
            sides[ri].wscale = 0;
        }
    } else if seg.end() != sides[si].end {
        return dup;
    }
    let s = &mut sides[si];
    if s.flags & SIDE_MAXACK == 0 || after(seg.ack, s.maxack) {
        s.maxack = seg.ack;
        s.flags |= SIDE_MAXACK;
    }
    // A SYN's window is never scaled.
    let allowed = seg.ack.wrapping_add(seg.win as u32);
    let r = &mut sides[ri];
    if after(allowed, r.maxend) {
        r.maxend = allowed;
    }
    if *state == CT_STATE_NEW {
        *state = CT_STATE_ESTABLISHED;
    }
    Track::Admit
}

#[cfg(test)]
mod tests;
