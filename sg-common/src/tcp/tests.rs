//! Window tracking on scripted connections (SG-ENF-13).

use super::*;

const OUT: u8 = 1;
const IN: u8 = 0;

/// A tracked flow and two well-behaved endpoints: `next[d]` is the next sequence number
/// of the side sending in direction `d`, `acked[d]` what it has received.
struct Flow {
    sides: [TcpSide; 2],
    state: u8,
    origin: u8,
    next: [u32; 2],
    acked: [u32; 2],
    wscale: [u8; 2],
}

fn seg(seq: u32, ack: u32, len: u32, win: u16, flags: u8) -> Segment {
    Segment {
        seq,
        ack,
        len,
        win,
        flags,
        wscale: WSCALE_NONE,
    }
}

impl Flow {
    /// A handshake opened by `origin` with initial sequence numbers `isn` (by direction) and
    /// window-scale options `ws` (`WSCALE_NONE`: absent).
    fn handshake(origin: u8, isn: [u32; 2], ws: [u8; 2]) -> Self {
        let resp = origin ^ 1;
        let mut syn = seg(isn[origin as usize], 0, 0, 64240, TCP_SYN);
        syn.wscale = ws[origin as usize];
        let mut f = Flow {
            sides: open(origin, &syn),
            state: CT_STATE_NEW,
            origin,
            next: [0; 2],
            acked: [0; 2],
            wscale: [0; 2],
        };
        f.next[origin as usize] = isn[origin as usize].wrapping_add(1);
        let mut synack = seg(
            isn[resp as usize],
            f.next[origin as usize],
            0,
            65160,
            TCP_SYN | TCP_ACK,
        );
        synack.wscale = ws[resp as usize];
        assert_eq!(f.send_seg(resp, synack), Track::Admit, "SYN-ACK");
        assert_eq!(f.state, CT_STATE_ESTABLISHED);
        f.next[resp as usize] = isn[resp as usize].wrapping_add(1);
        f.acked[origin as usize] = f.next[resp as usize];
        f.acked[resp as usize] = f.next[origin as usize];
        if ws[0] != WSCALE_NONE && ws[1] != WSCALE_NONE {
            f.wscale = ws;
        }
        assert_eq!(f.ack(origin), Track::Admit, "third ACK");
        f
    }

    fn send_seg(&mut self, dir: u8, s: Segment) -> Track {
        track(&mut self.sides, &mut self.state, self.origin, dir, &s)
    }

    /// The side sending in `dir` advertises this many bytes of window.
    fn window(&self, dir: u8) -> u16 {
        (1_048_576u32 >> self.wscale[dir as usize]).min(65535) as u16
    }

    /// `dir` sends `len` bytes of new data (acknowledging everything received).
    fn data(&mut self, dir: u8, len: u32) -> Track {
        let d = dir as usize;
        let s = seg(self.next[d], self.acked[d], len, self.window(dir), TCP_ACK);
        let t = self.send_seg(dir, s);
        if t == Track::Admit {
            self.next[d] = self.next[d].wrapping_add(len);
            self.acked[d ^ 1] = self.next[d];
        }
        t
    }

    fn ack(&mut self, dir: u8) -> Track {
        self.data(dir, 0)
    }

    fn fin(&mut self, dir: u8) -> Track {
        let d = dir as usize;
        let s = seg(
            self.next[d],
            self.acked[d],
            0,
            self.window(dir),
            TCP_FIN | TCP_ACK,
        );
        let t = self.send_seg(dir, s);
        if t == Track::Admit {
            self.next[d] = self.next[d].wrapping_add(1);
            self.acked[d ^ 1] = self.next[d];
        }
        t
    }
}

#[test]
fn a_real_connection_opens_carries_data_and_closes() {
    let mut f = Flow::handshake(OUT, [1000, 5_000_000], [WSCALE_NONE; 2]);
    for _ in 0..100 {
        assert_eq!(f.data(OUT, 1448), Track::Admit);
        assert_eq!(f.data(IN, 1448), Track::Admit);
    }
    assert_eq!(f.state, CT_STATE_ESTABLISHED);
    assert_eq!(f.fin(OUT), Track::Admit);
    assert_eq!(f.state, CT_STATE_CLOSING);
    assert_eq!(f.fin(IN), Track::Admit);
    assert_eq!(f.ack(OUT), Track::Admit);
}

#[test]
fn sequence_numbers_wrap() {
    let mut f = Flow::handshake(IN, [u32::MAX - 3000, u32::MAX - 10], [7, 7]);
    for _ in 0..20 {
        assert_eq!(f.data(IN, 1448), Track::Admit);
        assert_eq!(f.data(OUT, 1448), Track::Admit);
    }
    assert!(f.next[0] < 100_000 && f.next[1] < 100_000, "both wrapped");
}

#[test]
fn a_blind_rst_changes_nothing() {
    let mut f = Flow::handshake(OUT, [1000, 5_000_000], [WSCALE_NONE; 2]);
    f.data(IN, 500);
    // Far outside the window: rejected.
    let blind = seg(f.next[0].wrapping_add(0x4000_0000), 0, 0, 0, TCP_RST);
    assert_eq!(f.send_seg(IN, blind), Track::Reject);
    // Inside the window but not where a real RST sits: passes, changes nothing.
    let near = seg(f.next[0].wrapping_add(100), 0, 0, 0, TCP_RST);
    assert_eq!(f.send_seg(IN, near), Track::AdmitOnly);
    assert_eq!(f.state, CT_STATE_ESTABLISHED);
    // The same from the other side.
    let near = seg(f.next[1].wrapping_sub(100), 0, 0, 0, TCP_RST | TCP_ACK);
    assert_eq!(f.send_seg(OUT, near), Track::AdmitOnly);
    assert_eq!(f.state, CT_STATE_ESTABLISHED);
    assert_eq!(f.data(OUT, 10), Track::Admit, "the connection goes on");
}

#[test]
fn a_real_rst_resets_at_the_senders_next_sequence_number() {
    let mut f = Flow::handshake(OUT, [1000, 5_000_000], [WSCALE_NONE; 2]);
    f.data(IN, 500);
    let rst = seg(f.next[0], 0, 0, 0, TCP_RST);
    assert_eq!(f.send_seg(IN, rst), Track::Admit);
    assert_eq!(f.state, CT_STATE_RST);
}

#[test]
fn a_rst_answering_a_stray_segment_resets_at_its_acknowledgement() {
    let mut f = Flow::handshake(OUT, [1000, 5_000_000], [WSCALE_NONE; 2]);
    // The remote sends data the instance has not acknowledged yet, and loses its socket; a
    // segment of the instance then draws a RST whose sequence number is that segment's
    // acknowledgement: the last one the instance sent, not the remote's next.
    f.data(IN, 500);
    let last_ack = f.sides[OUT as usize].maxack as u32;
    assert_ne!(last_ack, f.next[IN as usize]);
    let rst = seg(last_ack, 0, 0, 0, TCP_RST);
    assert_eq!(f.send_seg(IN, rst), Track::Admit);
    assert_eq!(f.state, CT_STATE_RST);
}

#[test]
fn a_refused_connection_is_reset_only_by_a_rst_acknowledging_the_syn() {
    let syn = seg(7000, 0, 0, 64240, TCP_SYN);
    let mut sides = open(OUT, &syn);
    let mut state = CT_STATE_NEW;
    let wrong = seg(0, 7002, 0, 0, TCP_RST | TCP_ACK);
    assert_eq!(
        track(&mut sides, &mut state, OUT, IN, &wrong),
        Track::Reject
    );
    let no_ack = seg(0, 7001, 0, 0, TCP_RST);
    assert_eq!(
        track(&mut sides, &mut state, OUT, IN, &no_ack),
        Track::Reject
    );
    assert_eq!(state, CT_STATE_NEW);
    let refused = seg(0, 7001, 0, 0, TCP_RST | TCP_ACK);
    assert_eq!(
        track(&mut sides, &mut state, OUT, IN, &refused),
        Track::Admit
    );
    assert_eq!(state, CT_STATE_RST);
}

#[test]
fn a_blind_fin_is_rejected_and_an_early_one_does_not_close() {
    let mut f = Flow::handshake(IN, [1000, 5_000_000], [WSCALE_NONE; 2]);
    let blind = seg(
        f.next[0].wrapping_add(0x8000_0000),
        f.acked[0],
        0,
        100,
        TCP_FIN | TCP_ACK,
    );
    assert_eq!(f.send_seg(IN, blind), Track::Reject);
    // In the window but past the data sent so far: passes as data, does not close.
    let early = seg(f.next[0] + 3000, f.acked[0], 0, 100, TCP_FIN | TCP_ACK);
    assert_eq!(f.send_seg(IN, early), Track::Admit);
    assert_eq!(f.state, CT_STATE_ESTABLISHED);
}

#[test]
fn out_of_window_data_and_acks_are_rejected() {
    let mut f = Flow::handshake(OUT, [1000, 5_000_000], [WSCALE_NONE; 2]);
    f.data(OUT, 1000);
    let d = OUT as usize;
    // Past what the receiver allowed.
    let ahead = seg(f.next[d] + 200_000, f.acked[d], 10, 100, TCP_ACK);
    assert_eq!(f.send_seg(OUT, ahead), Track::Reject);
    // Older than a receiver window.
    let stale = seg(
        f.next[d].wrapping_sub(200_000),
        f.acked[d],
        10,
        100,
        TCP_ACK,
    );
    assert_eq!(f.send_seg(OUT, stale), Track::Reject);
    // Acknowledging data never sent.
    let future_ack = seg(f.next[d], f.acked[d] + 10, 0, 100, TCP_ACK);
    assert_eq!(f.send_seg(OUT, future_ack), Track::Reject);
    // Acknowledging far behind.
    let old_ack = seg(f.next[d], f.acked[d].wrapping_sub(100_000), 0, 100, TCP_ACK);
    assert_eq!(f.send_seg(OUT, old_ack), Track::Reject);
    // A pure ACK's sequence number counts too.
    let ack_far = seg(f.next[d] + 0x1000_0000, f.acked[d], 0, 100, TCP_ACK);
    assert_eq!(f.send_seg(OUT, ack_far), Track::Reject);
    assert_eq!(
        f.data(OUT, 10),
        Track::Admit,
        "the real sender still passes"
    );
}

#[test]
fn retransmissions_keepalives_and_window_probes_pass() {
    let mut f = Flow::handshake(OUT, [1000, 5_000_000], [WSCALE_NONE; 2]);
    let d = OUT as usize;
    let first = f.next[d];
    for _ in 0..10 {
        f.data(OUT, 1000);
    }
    // A retransmission of the first segment.
    let re = seg(first, f.acked[d], 1000, 100, TCP_ACK);
    assert_eq!(f.send_seg(OUT, re), Track::Admit);
    // A keepalive: one byte before the next.
    let ka = seg(f.next[d] - 1, f.acked[d], 0, 100, TCP_ACK);
    assert_eq!(f.send_seg(OUT, ka), Track::Admit);
    // The receiver closes its window; the sender probes one byte past it.
    let zero = seg(f.next[0], f.next[d], 0, 0, TCP_ACK);
    assert_eq!(f.send_seg(IN, zero), Track::Admit);
    let probe = seg(f.next[d], f.acked[d], 1, 100, TCP_ACK);
    assert_eq!(f.send_seg(OUT, probe), Track::Admit);
}

#[test]
fn window_scaling_counts_only_when_both_sides_offer_it() {
    // Both offer: a 1 MiB window (16 << 16).
    let mut f = Flow::handshake(OUT, [1000, 5_000_000], [6, 4]);
    let d = OUT as usize;
    let ack = seg(f.next[0], f.acked[0], 0, 65535, TCP_ACK);
    assert_eq!(f.send_seg(IN, ack), Track::Admit);
    let far = seg(f.next[d] + 1_000_000, f.acked[d], 1000, 100, TCP_ACK);
    assert_eq!(
        f.send_seg(OUT, far),
        Track::Admit,
        "inside the scaled window"
    );
    // Only one offers: windows are not scaled, so the same segment is outside.
    let mut g = Flow::handshake(OUT, [1000, 5_000_000], [6, WSCALE_NONE]);
    let ack = seg(g.next[0], g.acked[0], 0, 65535, TCP_ACK);
    assert_eq!(g.send_seg(IN, ack), Track::Admit);
    let far = seg(g.next[d] + 1_000_000, g.acked[d], 1000, 100, TCP_ACK);
    assert_eq!(g.send_seg(OUT, far), Track::Reject);
}

#[test]
fn simultaneous_open() {
    let syn_out = seg(100, 0, 0, 64240, TCP_SYN);
    let mut sides = open(OUT, &syn_out);
    let mut state = CT_STATE_NEW;
    let syn_in = seg(9000, 0, 0, 64240, TCP_SYN);
    assert_eq!(
        track(&mut sides, &mut state, OUT, IN, &syn_in),
        Track::Admit
    );
    let sa_out = seg(100, 9001, 0, 64240, TCP_SYN | TCP_ACK);
    assert_eq!(
        track(&mut sides, &mut state, OUT, OUT, &sa_out),
        Track::Admit
    );
    let sa_in = seg(9000, 101, 0, 64240, TCP_SYN | TCP_ACK);
    assert_eq!(track(&mut sides, &mut state, OUT, IN, &sa_in), Track::Admit);
    assert_eq!(state, CT_STATE_ESTABLISHED);
    let data = seg(101, 9001, 100, 64240, TCP_ACK);
    assert_eq!(track(&mut sides, &mut state, OUT, OUT, &data), Track::Admit);
}

#[test]
fn syns_on_an_established_flow() {
    // Initial sequence numbers by direction: the remote's 1000, the instance's 5 000 000.
    let mut f = Flow::handshake(OUT, [1000, 5_000_000], [WSCALE_NONE; 2]);
    f.data(OUT, 100);
    // An old duplicate of the SYN: passes, changes nothing.
    let dup = seg(5_000_000, 0, 0, 64240, TCP_SYN);
    assert_eq!(f.send_seg(OUT, dup), Track::AdmitOnly);
    // A SYN with a new initial sequence number, from either side: not this connection's,
    // and it must not replace it.
    let new = seg(0x9000_0000, 0, 0, 64240, TCP_SYN);
    assert_eq!(f.send_seg(OUT, new), Track::Foreign);
    assert_eq!(f.send_seg(IN, new), Track::Foreign);
    // A retransmitted SYN-ACK (the third ACK was lost): still this flow's.
    let sa = seg(1000, 5_000_001, 0, 65160, TCP_SYN | TCP_ACK);
    assert_eq!(f.send_seg(IN, sa), Track::Admit);
    // Once the remote has sent data, an old duplicate: passes, changes nothing.
    f.data(IN, 100);
    let before = f.sides;
    assert_eq!(f.send_seg(IN, sa), Track::AdmitOnly);
    assert_eq!(f.sides, before);
    assert_eq!(f.state, CT_STATE_ESTABLISHED);
    // A SYN-ACK acknowledging nothing the instance sent.
    let bogus = seg(1000, 0x7000_0000, 0, 65160, TCP_SYN | TCP_ACK);
    assert_eq!(f.send_seg(IN, bogus), Track::Reject);
}

#[test]
fn the_other_side_must_answer_the_syn_first() {
    let syn = seg(7000, 0, 0, 64240, TCP_SYN);
    let mut sides = open(OUT, &syn);
    let mut state = CT_STATE_NEW;
    let data = seg(1, 7001, 10, 100, TCP_ACK);
    assert_eq!(track(&mut sides, &mut state, OUT, IN, &data), Track::Reject);
    let bad_synack = seg(1, 9999, 0, 100, TCP_SYN | TCP_ACK);
    assert_eq!(
        track(&mut sides, &mut state, OUT, IN, &bad_synack),
        Track::Reject
    );
    assert_eq!(state, CT_STATE_NEW);
}

#[test]
fn merging_copies_keeps_the_furthest_of_each() {
    let mut f = Flow::handshake(OUT, [1000, 5_000_000], [WSCALE_NONE; 2]);
    let base = f.sides;
    // One copy sees the instance's data, another the remote's.
    f.data(OUT, 3000);
    let a = f.sides;
    f.sides = base;
    f.data(IN, 2000);
    let mut merged = a;
    merge(&mut merged, &f.sides);
    assert_eq!(merged[OUT as usize].end, a[OUT as usize].end);
    assert_eq!(merged[IN as usize].end, f.sides[IN as usize].end);
    assert_eq!(merged[OUT as usize].maxend, f.sides[OUT as usize].maxend);
    let mut again = merged;
    merge(&mut again, &base);
    assert_eq!(again, merged, "an older copy changes nothing");
}

#[test]
fn flags_no_endpoint_sends_are_never_the_flows() {
    let mut f = Flow::handshake(OUT, [1000, 5_000_000], [WSCALE_NONE; 2]);
    let (seq, ack) = (f.next[IN as usize], f.acked[IN as usize]);
    for flags in [
        0,
        TCP_FIN,
        TCP_SYN | TCP_FIN,
        TCP_SYN | TCP_RST,
        TCP_RST | TCP_FIN,
        TCP_FIN | TCP_PSH | TCP_URG,
    ] {
        assert_eq!(
            f.send_seg(IN, seg(seq, ack, 0, 100, flags)),
            Track::Reject,
            "{flags:#x}"
        );
    }
    assert_eq!(f.state, CT_STATE_ESTABLISHED);
    assert!(valid_flags(TCP_ACK | TCP_PSH) && valid_flags(TCP_SYN | TCP_ACK));
}

#[test]
fn a_fin_behind_the_end_does_not_close() {
    let mut f = Flow::handshake(OUT, [1000, 5_000_000], [WSCALE_NONE; 2]);
    f.data(IN, 5000);
    let behind = seg(f.next[0] - 3000, f.acked[0], 0, 100, TCP_FIN | TCP_ACK);
    assert_eq!(f.send_seg(IN, behind), Track::Admit);
    assert_eq!(f.state, CT_STATE_ESTABLISHED);
    assert_eq!(f.fin(IN), Track::Admit);
    assert_eq!(f.state, CT_STATE_CLOSING);
}

#[test]
fn a_copy_gigabytes_behind_moves_nothing_back() {
    // Across more than 2^31 bytes a 32-bit sequence number would look ahead again.
    let mut f = Flow::handshake(IN, [1000, 5_000_000], [14, 14]);
    let stale = f.sides;
    for _ in 0..3 {
        for _ in 0..1024 {
            f.data(IN, 1 << 20);
            f.ack(OUT);
        }
    }
    let now = f.sides;
    let mut merged = now;
    merge(&mut merged, &stale);
    assert_eq!(merged, now);
    assert_eq!(f.data(IN, 1000), Track::Admit);
}

#[test]
fn a_syn_on_a_closed_flow_is_a_new_connection() {
    let mut f = Flow::handshake(OUT, [1000, 5_000_000], [WSCALE_NONE; 2]);
    f.fin(OUT);
    assert_eq!(f.state, CT_STATE_CLOSING);
    let new = seg(0x9000_0000, 0, 0, 64240, TCP_SYN);
    assert_eq!(f.send_seg(OUT, new), Track::Reject);
}

#[test]
fn a_syn_spoofed_from_the_responders_side_does_not_keep_the_real_answer_out() {
    let syn = seg(7000, 0, 0, 64240, TCP_SYN);
    let mut sides = open(OUT, &syn);
    let mut state = CT_STATE_NEW;
    let spoofed = seg(0x4000_0000, 0, 0, 64240, TCP_SYN);
    assert_eq!(
        track(&mut sides, &mut state, OUT, IN, &spoofed),
        Track::Admit
    );
    let real = seg(123, 7001, 0, 65160, TCP_SYN | TCP_ACK);
    assert_eq!(track(&mut sides, &mut state, OUT, IN, &real), Track::Admit);
    assert_eq!(state, CT_STATE_ESTABLISHED);
    let data = seg(124, 7001, 100, 65160, TCP_ACK);
    assert_eq!(track(&mut sides, &mut state, OUT, IN, &data), Track::Admit);
}

#[test]
fn a_fast_open_server_sends_before_the_third_ack() {
    let syn = seg(7000, 0, 0, 64240, TCP_SYN);
    let mut sides = open(OUT, &syn);
    let mut state = CT_STATE_NEW;
    let synack = seg(123, 7001, 0, 65160, TCP_SYN | TCP_ACK);
    assert_eq!(
        track(&mut sides, &mut state, OUT, IN, &synack),
        Track::Admit
    );
    let burst = seg(124, 7001, 1400, 65160, TCP_ACK);
    assert_eq!(track(&mut sides, &mut state, OUT, IN, &burst), Track::Admit);
    let more = seg(1524, 7001, 1400, 65160, TCP_ACK);
    assert_eq!(track(&mut sides, &mut state, OUT, IN, &more), Track::Admit);
}

#[test]
fn packets_a_gigabyte_off_are_far_off() {
    let f = Flow::handshake(OUT, [1000, 5_000_000], [WSCALE_NONE; 2]);
    let near = seg(f.next[0] + 100_000, 0, 0, 0, TCP_RST);
    let far = seg(f.next[0].wrapping_add(0x9000_0000), 0, 0, 0, TCP_RST);
    assert!(!far_off(&f.sides, IN, &near));
    assert!(far_off(&f.sides, IN, &far));
}

#[test]
fn flow_logs_record_fin_syn_rst_and_syn_ack_only() {
    assert_eq!(flow_log_flags(TCP_SYN), 2);
    assert_eq!(flow_log_flags(TCP_SYN | TCP_ACK), 18);
    assert_eq!(flow_log_flags(TCP_ACK), 0);
    assert_eq!(flow_log_flags(TCP_ACK | TCP_PSH | TCP_URG), 0);
    assert_eq!(flow_log_flags(TCP_FIN | TCP_ACK), 1);
    assert_eq!(flow_log_flags(TCP_RST | TCP_ACK), 4);
    // Each side remembers what it sent since the flow opened; copies merge by OR.
    let syn = seg(7000, 0, 0, 64240, TCP_SYN);
    let mut sides = open(OUT, &syn);
    assert_eq!((sides[OUT as usize].seen, sides[IN as usize].seen), (2, 0));
    let mut state = CT_STATE_NEW;
    let synack = seg(123, 7001, 0, 65160, TCP_SYN | TCP_ACK);
    assert_eq!(
        track(&mut sides, &mut state, OUT, IN, &synack),
        Track::Admit
    );
    assert_eq!(sides[IN as usize].seen, 18);
    let mut copy = sides;
    copy[IN as usize].seen |= 1;
    merge(&mut sides, &copy);
    assert_eq!(sides[IN as usize].seen, 19);
}

/// A flow the server answered with a SYN cookie (issue 17): tracked from the client's ACK,
/// then data both ways, a blind RST refused, the real close.
#[test]
fn a_flow_opened_by_a_cookie_acknowledgement_is_tracked_from_there() {
    let (client_isn, cookie) = (4_000_000_000u32, 77_777u32);
    let ack = seg(
        client_isn.wrapping_add(1),
        cookie.wrapping_add(1),
        0,
        502,
        TCP_ACK,
    );
    let mut f = Flow {
        sides: open_from_cookie(IN, &ack),
        state: CT_STATE_ESTABLISHED,
        origin: IN,
        next: [client_isn.wrapping_add(1), cookie.wrapping_add(1)],
        acked: [cookie.wrapping_add(1), client_isn.wrapping_add(1)],
        wscale: [7, 7],
    };
    assert_eq!(f.sides[IN as usize].seen, TCP_SYN);
    assert_eq!(f.sides[OUT as usize].seen, TCP_SYN | TCP_ACK);
    // The ACK itself again (a retransmission), then data both ways, across the wrap.
    assert_eq!(f.send_seg(IN, ack), Track::Admit);
    for _ in 0..50 {
        assert_eq!(f.data(OUT, 1448), Track::Admit);
        assert_eq!(f.data(IN, 1448), Track::Admit);
    }
    let blind = seg(f.next[0].wrapping_add(0x5000_0000), 0, 0, 0, TCP_RST);
    assert_eq!(f.send_seg(IN, blind), Track::Reject);
    let wrong_ack = seg(
        f.next[0],
        f.acked[0].wrapping_add(0x5000_0000),
        0,
        502,
        TCP_ACK,
    );
    assert_eq!(f.send_seg(IN, wrong_ack), Track::Reject);
    assert_eq!(f.fin(OUT), Track::Admit);
    assert_eq!(f.state, CT_STATE_CLOSING);
}

/// A SYN the firewall let through without an entry, answered by a server that kept state
/// (issue 17): tracked from its SYN-ACK, half-open until the client's ACK, then a connection
/// like any other, window scaling and all.
#[test]
fn a_flow_opened_by_a_syn_ack_is_half_open_until_the_client_acknowledges() {
    for ws in [WSCALE_NONE, 7] {
        let (client_isn, server_isn) = (123_456u32, 3_000_000_000u32);
        let mut synack = seg(
            server_isn,
            client_isn.wrapping_add(1),
            0,
            65160,
            TCP_SYN | TCP_ACK,
        );
        synack.wscale = ws;
        let mut sides = [TcpSide::default(); 2];
        let state = open_from_synack(&mut sides, OUT, &synack).expect("a SYN-ACK");
        assert_eq!(state, CT_STATE_ESTABLISHED);
        assert_eq!(
            sides[IN as usize].flags & SIDE_MAXACK,
            0,
            "the client acknowledged nothing"
        );
        let mut f = Flow {
            sides,
            state,
            origin: IN,
            next: [client_isn.wrapping_add(1), server_isn.wrapping_add(1)],
            acked: [server_isn.wrapping_add(1), client_isn.wrapping_add(1)],
            wscale: if ws == WSCALE_NONE { [0, 0] } else { [7, 7] },
        };
        assert_eq!(f.ack(IN), Track::Admit, "the client's ACK");
        assert_ne!(f.sides[IN as usize].flags & SIDE_MAXACK, 0);
        for _ in 0..50 {
            assert_eq!(f.data(IN, 1448), Track::Admit);
            assert_eq!(f.data(OUT, 1448), Track::Admit);
        }
        let blind = seg(f.next[1].wrapping_add(0x5000_0000), 0, 0, 0, TCP_RST);
        assert_eq!(f.send_seg(OUT, blind), Track::Reject);
    }
    let not_synack = seg(1, 2, 0, 100, TCP_ACK);
    assert!(open_from_synack(&mut [TcpSide::default(); 2], OUT, &not_synack).is_none());
}
