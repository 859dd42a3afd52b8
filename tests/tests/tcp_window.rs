//! TCP window tracking (SG-ENF-13) through `TestRun` on the loaded programs: a tracked
//! connection admits only the packets that belong to it, so a blind attacker who knows the
//! addresses and ports but not the sequence numbers can neither cut nor keep alive nor ride
//! a tracked flow, while real connections (handshakes, data, retransmissions, window
//! scaling, closes, resets, simultaneous opens) keep working. Instance mode: the instance
//! has no inbound rule, so what arrives passes only as part of a tracked flow.

use std::time::Duration;

use rand::{Rng, SeedableRng, rngs::StdRng};
use sg_common::conntrack::{CT_STATE_CLOSING, CT_STATE_ESTABLISHED, CT_STATE_RST};
use sg_tests::{
    frame::{Frame, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, Tcp},
    lab::{IFACE, Lab, pin_to_cpu, with_lab},
    require_root,
};
use sg_userspace::testkit::ip;

const ME4: &str = "192.0.2.1";
const PEER4: &str = "203.0.113.7";
const ME6: &str = "2001:db8::1";
const PEER6: &str = "2001:db8:ffff::7";

macro_rules! lab_test {
    ($(#[$doc:meta])* $name:ident, $body:expr) => {
        $(#[$doc])*
        #[test]
        fn $name() {
            if !require_root(stringify!($name)) {
                return;
            }
            let body: fn(&mut Lab) = $body;
            with_lab(move |l| {
                pin_to_cpu(None);
                body(l)
            });
        }
    };
}

/// A group with no inbound rule (and the default outbound rule) on the lab interface.
fn setup(l: &mut Lab) {
    let g = l.world.group("lab");
    l.world
        .attach(IFACE, &[&g], &[ip(ME4), ip(ME6)])
        .expect("attach");
    l.apply();
}

const IN: usize = 0;
const OUT: usize = 1;

/// One connection between the instance (`ME`, port `local`) and a remote host (port
/// `remote`), with both endpoints' sequence numbers: `next[d]` is the next sequence number of
/// the side sending in direction `d` (`IN`: the remote, `OUT`: the instance).
struct Conn {
    me: &'static str,
    peer: &'static str,
    local: u16,
    remote: u16,
    next: [u32; 2],
    /// Each side's window field and window-scale option.
    window: [u16; 2],
    wscale: [Option<u8>; 2],
}

impl Conn {
    fn new(local: u16, remote: u16, isn: [u32; 2]) -> Self {
        Conn {
            me: ME4,
            peer: PEER4,
            local,
            remote,
            next: isn,
            window: [64240; 2],
            wscale: [None; 2],
        }
    }

    fn v6(mut self) -> Self {
        self.me = ME6;
        self.peer = PEER6;
        self
    }

    /// A segment sent in direction `d` with these fields and `len` bytes of payload.
    fn seg(&self, d: usize, flags: u8, seq: u32, ack: u32, len: usize) -> Frame {
        let (sport, dport, src, dst) = if d == OUT {
            (self.local, self.remote, self.me, self.peer)
        } else {
            (self.remote, self.local, self.peer, self.me)
        };
        let mut t = Tcp::new(sport, dport, flags);
        t.seq = seq;
        t.ack = ack;
        t.window = self.window[d];
        if flags & TCP_SYN != 0
            && let Some(ws) = self.wscale[d]
        {
            // MSS, SACK permitted, window scale: the options a Linux SYN carries.
            t.options = vec![2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, ws];
        }
        let mut l4 = t.bytes();
        l4.resize(l4.len() + len, 0x61);
        Frame::new(ip(src), ip(dst), 6, l4)
    }

    /// The next segment of direction `d`: `len` bytes at its next sequence number,
    /// acknowledging everything the other side sent; advances the sender.
    fn next(&mut self, d: usize, flags: u8, len: usize) -> Frame {
        let f = self.seg(d, flags | TCP_ACK, self.next[d], self.next[d ^ 1], len);
        self.next[d] = self.next[d]
            .wrapping_add(len as u32)
            .wrapping_add((flags & (TCP_SYN | TCP_FIN) != 0) as u32);
        f
    }

    /// The instance opens the connection: SYN, SYN-ACK, ACK.
    fn open(&mut self, l: &mut Lab) {
        let syn = self.seg(OUT, TCP_SYN, self.next[OUT], 0, 0);
        self.next[OUT] = self.next[OUT].wrapping_add(1);
        assert!(l.outbound(&syn), "SYN");
        let synack = self.seg(IN, TCP_SYN | TCP_ACK, self.next[IN], self.next[OUT], 0);
        self.next[IN] = self.next[IN].wrapping_add(1);
        assert!(l.inbound(&synack), "SYN-ACK");
        let ack = self.next(OUT, 0, 0);
        assert!(l.outbound(&ack), "third ACK");
    }

    /// The flow's state in the table.
    fn state(&self, l: &Lab) -> Option<u8> {
        l.dp.conntrack()
            .into_iter()
            .find(|f| {
                f.key.proto == 6
                    && f.key.local_port == self.local
                    && f.key.remote_port == self.remote
            })
            .map(|f| f.value.state)
    }
}

lab_test!(
    /// Hole 1 of the red team: spoofed RSTs and FINs from the remote's address and port, at
    /// random sequence numbers, cut nothing: the flow stays established, and ten seconds
    /// later (the RST timeout) the remote's data still arrives.
    sg_enf_13_blind_rst_and_fin_do_not_cut_a_flow,
    |l| {
        setup(l);
        let mut c = Conn::new(40000, 443, [0x1000_0000, 0x8000_0000]);
        c.open(l);
        assert!(l.inbound(&c.next(IN, 0, 500)));
        let mut rng = StdRng::seed_from_u64(7);
        let mut passed = 0;
        for _ in 0..2000 {
            let seq: u32 = rng.random();
            let ack: u32 = rng.random();
            passed += l.inbound(&c.seg(IN, TCP_RST, seq, 0, 0)) as u32;
            passed += l.inbound(&c.seg(IN, TCP_RST | TCP_ACK, seq, ack, 0)) as u32;
            passed += l.inbound(&c.seg(IN, TCP_FIN | TCP_ACK, seq, ack, 0)) as u32;
        }
        assert!(passed <= 2, "out-of-window RST/FIN passed {passed} times");
        assert_eq!(c.state(l), Some(CT_STATE_ESTABLISHED));
        l.dp.age_conntrack(Duration::from_secs(11));
        assert!(l.inbound(&c.next(IN, 0, 100)), "the remote's data after 11 s");
        assert!(l.outbound(&c.next(OUT, 0, 0)));
    }
);

lab_test!(
    /// The same from the instance's side (a spoofed RST leaving through the instance, as a
    /// host-mode neighbour or a compromised process might send it).
    sg_enf_13_blind_rst_from_the_instance_side_changes_nothing,
    |l| {
        setup(l);
        let mut c = Conn::new(40001, 443, [5, 0xffff_fff0]);
        c.open(l);
        let mut rng = StdRng::seed_from_u64(8);
        for _ in 0..500 {
            l.outbound(&c.seg(OUT, TCP_RST, rng.random(), 0, 0));
        }
        assert_eq!(c.state(l), Some(CT_STATE_ESTABLISHED));
    }
);

lab_test!(
    /// A real RST (at the sender's next sequence number) resets the flow: it passes, the flow
    /// times out after 10 s (SG-ENF-6).
    sg_enf_13_a_real_rst_resets_the_flow,
    |l| {
        setup(l);
        let mut c = Conn::new(40002, 443, [1000, 2000]);
        c.open(l);
        assert!(l.inbound(&c.next(IN, 0, 300)));
        assert!(l.inbound(&c.seg(IN, TCP_RST, c.next[IN], 0, 0)));
        assert_eq!(c.state(l), Some(CT_STATE_RST));
        l.dp.age_conntrack(Duration::from_secs(11));
        assert!(!l.inbound(&c.next(IN, 0, 10)), "gone 10 s after the reset");
    }
);

lab_test!(
    /// A RST that answers a segment the remote no longer has a socket for carries that
    /// segment's acknowledgement: the last one the instance sent, behind the remote's next
    /// sequence number when the instance has not acknowledged everything yet.
    sg_enf_13_a_rst_answering_a_stray_segment_resets_the_flow,
    |l| {
        setup(l);
        let mut c = Conn::new(40003, 443, [1000, 2000]);
        c.open(l);
        let acked = c.next[IN];
        assert!(l.inbound(&c.next(IN, 0, 700)));
        assert!(l.inbound(&c.seg(IN, TCP_RST, acked, 0, 0)));
        assert_eq!(c.state(l), Some(CT_STATE_RST));
    }
);

lab_test!(
    /// A RST inside the window but not at an exact place passes (the endpoint answers it with
    /// a challenge ACK, RFC 5961) and changes nothing; the real RST that follows resets.
    sg_enf_13_an_inexact_rst_in_the_window_changes_nothing,
    |l| {
        setup(l);
        let mut c = Conn::new(40004, 443, [1000, 2000]);
        c.open(l);
        assert!(l.inbound(&c.seg(IN, TCP_RST, c.next[IN].wrapping_add(1000), 0, 0)));
        assert_eq!(c.state(l), Some(CT_STATE_ESTABLISHED));
        assert!(l.inbound(&c.seg(IN, TCP_RST, c.next[IN], 0, 0)));
        assert_eq!(c.state(l), Some(CT_STATE_RST));
    }
);

lab_test!(
    /// A connection the remote refuses: its RST must acknowledge the SYN exactly.
    sg_enf_13_a_refused_connection,
    |l| {
        setup(l);
        let c = Conn::new(40005, 443, [1000, 0]);
        assert!(l.outbound(&c.seg(OUT, TCP_SYN, 1000, 0, 0)));
        assert!(!l.inbound(&c.seg(IN, TCP_RST | TCP_ACK, 0, 1002, 0)), "wrong ack");
        assert!(!l.inbound(&c.seg(IN, TCP_ACK, 0, 1001, 0)), "no ACK before the SYN-ACK");
        assert!(l.inbound(&c.seg(IN, TCP_RST | TCP_ACK, 0, 1001, 0)));
        assert_eq!(c.state(l), Some(CT_STATE_RST));
    }
);

lab_test!(
    /// A real close: each FIN at its sender's next sequence number; the flow is closing.
    /// A FIN outside the window is not the flow's.
    sg_enf_13_a_real_close,
    |l| {
        setup(l);
        let mut c = Conn::new(40006, 443, [1000, 2000]);
        c.open(l);
        let far = c.seg(IN, TCP_FIN | TCP_ACK, c.next[IN].wrapping_add(1 << 30), c.next[OUT], 0);
        assert!(!l.inbound(&far));
        assert_eq!(c.state(l), Some(CT_STATE_ESTABLISHED));
        assert!(l.outbound(&c.next(OUT, TCP_FIN, 0)));
        assert_eq!(c.state(l), Some(CT_STATE_CLOSING));
        assert!(l.inbound(&c.next(IN, TCP_FIN, 0)));
        assert!(l.outbound(&c.next(OUT, 0, 0)));
    }
);

lab_test!(
    /// Out-of-window segments from the remote are not admitted, and they do not keep the flow
    /// alive: with the established timeout at 60 s, a flow fed only with them expires.
    sg_enf_13_out_of_window_packets_do_not_refresh_a_flow,
    |l| {
        setup(l);
        l.set_tcp_established_timeout(60);
        let mut c = Conn::new(40007, 443, [1000, 2000]);
        c.open(l);
        let ahead = c.seg(IN, TCP_ACK, c.next[IN].wrapping_add(10_000_000), c.next[OUT], 10);
        let stale = c.seg(IN, TCP_ACK, c.next[IN].wrapping_sub(10_000_000), c.next[OUT], 10);
        let wild_ack = c.seg(IN, TCP_ACK, c.next[IN], c.next[OUT].wrapping_add(1 << 31), 0);
        for f in [&ahead, &stale, &wild_ack] {
            assert!(!l.inbound(f));
        }
        l.dp.age_conntrack(Duration::from_secs(50));
        for f in [&ahead, &stale, &wild_ack] {
            assert!(!l.inbound(f));
        }
        l.dp.age_conntrack(Duration::from_secs(11));
        assert!(!l.inbound(&c.next(IN, 0, 10)), "expired: nothing refreshed it");
    }
);

lab_test!(
    /// The per-CPU flow cache checks the window too: right after a segment passed (the flow
    /// is cached), a segment outside the window is still refused.
    sg_enf_13_the_flow_cache_checks_the_window,
    |l| {
        setup(l);
        let mut c = Conn::new(40008, 443, [1000, 2000]);
        c.open(l);
        for _ in 0..3 {
            assert!(l.inbound(&c.next(IN, 0, 1000)));
        }
        let ahead = c.seg(IN, TCP_ACK, c.next[IN].wrapping_add(1 << 30), c.next[OUT], 10);
        assert!(!l.inbound(&ahead));
        assert!(l.inbound(&c.next(IN, 0, 1000)), "the stream goes on");
        assert!(l.outbound(&c.next(OUT, 0, 0)));
        assert!(l.inbound(&c.next(IN, 0, 1000)));
    }
);

lab_test!(
    /// Retransmissions, keepalives and a window probe are the flow's.
    sg_enf_13_retransmissions_and_keepalives_pass,
    |l| {
        setup(l);
        let mut c = Conn::new(40009, 443, [1000, 2000]);
        c.open(l);
        let first = c.next(IN, 0, 1000);
        assert!(l.inbound(&first));
        for _ in 0..5 {
            assert!(l.inbound(&c.next(IN, 0, 1000)));
        }
        assert!(l.inbound(&first), "a retransmission");
        let keepalive = c.seg(IN, TCP_ACK, c.next[IN].wrapping_sub(1), c.next[OUT], 0);
        assert!(l.inbound(&keepalive));
        // The instance closes its window; the remote probes one byte past it.
        let mut zero = c.seg(OUT, TCP_ACK, c.next[OUT], c.next[IN], 0);
        zero.l4[14..16].copy_from_slice(&0u16.to_be_bytes());
        assert!(l.outbound(&zero));
        let probe = c.seg(IN, TCP_ACK, c.next[IN], c.next[OUT], 1);
        assert!(l.inbound(&probe));
    }
);

lab_test!(
    /// Window scaling (RFC 7323): with both SYNs offering it, the remote may send megabytes
    /// past the last acknowledgement; without, only a 64 KiB window.
    sg_enf_13_window_scaling,
    |l| {
        setup(l);
        for (port, scaled) in [(40010u16, true), (40011, false)] {
            let mut c = Conn::new(port, 443, [1000, 2000]);
            c.wscale = [Some(7), if scaled { Some(7) } else { None }];
            c.window = [65535, 65535];
            c.open(l);
            // The instance's window: 65535 << 7, about 8 MiB when scaled.
            let far = c.seg(IN, TCP_ACK, c.next[IN].wrapping_add(4_000_000), c.next[OUT], 1000);
            assert_eq!(l.inbound(&far), scaled, "4 MB ahead, scaled: {scaled}");
        }
    }
);

lab_test!(
    /// A simultaneous open (both sides send a SYN, then a SYN-ACK) establishes the flow.
    sg_enf_13_simultaneous_open,
    |l| {
        setup(l);
        let mut c = Conn::new(40012, 5001, [1000, 9000]);
        assert!(l.outbound(&c.seg(OUT, TCP_SYN, 1000, 0, 0)));
        assert!(l.inbound(&c.seg(IN, TCP_SYN, 9000, 0, 0)));
        assert!(l.outbound(&c.seg(OUT, TCP_SYN | TCP_ACK, 1000, 9001, 0)));
        assert!(l.inbound(&c.seg(IN, TCP_SYN | TCP_ACK, 9000, 1001, 0)));
        assert_eq!(c.state(l), Some(CT_STATE_ESTABLISHED));
        c.next = [9001, 1001];
        assert!(l.inbound(&c.next(IN, 0, 100)));
        assert!(l.outbound(&c.next(OUT, 0, 100)));
    }
);

lab_test!(
    /// An old duplicate SYN-ACK (and SYN) on an established flow passes and changes nothing;
    /// a SYN-ACK that acknowledges nothing the instance sent does not pass.
    sg_enf_13_old_duplicates_of_the_handshake,
    |l| {
        setup(l);
        let mut c = Conn::new(40013, 443, [1000, 2000]);
        c.open(l);
        assert!(l.inbound(&c.next(IN, 0, 100)));
        assert!(l.inbound(&c.seg(IN, TCP_SYN | TCP_ACK, 1000, 2001, 0)));
        assert!(l.outbound(&c.seg(OUT, TCP_SYN, 2000, 0, 0)));
        assert_eq!(c.state(l), Some(CT_STATE_ESTABLISHED));
        let bogus = c.seg(IN, TCP_SYN | TCP_ACK, 1000, 0x7000_0000, 0);
        assert!(!l.inbound(&bogus));
        assert!(l.inbound(&c.next(IN, 0, 100)), "the flow is intact");
    }
);

lab_test!(
    /// IPv6 flows are tracked the same way.
    sg_enf_13_ipv6,
    |l| {
        setup(l);
        let mut c = Conn::new(40014, 443, [1000, 2000]).v6();
        c.open(l);
        assert!(l.inbound(&c.next(IN, 0, 100)));
        let mut rng = StdRng::seed_from_u64(9);
        for _ in 0..200 {
            l.inbound(&c.seg(IN, TCP_RST, rng.random(), 0, 0));
        }
        assert_eq!(c.state(l), Some(CT_STATE_ESTABLISHED));
        assert!(!l.inbound(&c.seg(IN, TCP_ACK, c.next[IN] ^ 0x8000_0000, c.next[OUT], 1)));
        assert!(l.inbound(&c.seg(IN, TCP_RST, c.next[IN], 0, 0)));
        assert_eq!(c.state(l), Some(CT_STATE_RST));
    }
);

lab_test!(
    /// A spoofed SYN on a live connection that an inbound rule would admit (a server open to
    /// anyone) neither opens a flow in its place nor passes on the flow's strength: the
    /// connection goes on.
    sg_enf_13_a_spoofed_syn_does_not_replace_a_live_flow,
    |l| {
        let g = l.world.group("server");
        l.world
            .authorize(&g, false, vec![sg_userspace::testkit::perm("tcp", Some((443, 443)), "0.0.0.0/0")])
            .expect("authorize");
        // Only DNS out: the server's replies ride the tracked flow.
        let egress = l.world.state.groups[&g]
            .rules
            .iter()
            .filter(|r| r.egress)
            .map(|r| r.id.clone())
            .collect::<Vec<_>>();
        let req = sg_userspace::api::Permissions {
            group_id: Some(g.clone()),
            security_group_rule_ids: egress,
            ..Default::default()
        };
        sg_userspace::model::rules::revoke(&mut l.world.state, &req, true).expect("revoke egress");
        l.world
            .attach(IFACE, &[&g], &[ip(ME4), ip(ME6)])
            .expect("attach");
        l.apply();
        // The remote opens the connection (inbound), the instance answers.
        let mut c = Conn::new(443, 40100, [7000, 90_000]);
        assert!(l.inbound(&c.seg(IN, TCP_SYN, c.next[IN], 0, 0)));
        c.next[IN] += 1;
        assert!(l.outbound(&c.seg(OUT, TCP_SYN | TCP_ACK, c.next[OUT], c.next[IN], 0)));
        c.next[OUT] += 1;
        assert!(l.inbound(&c.next(IN, 0, 100)));
        assert!(l.outbound(&c.next(OUT, 0, 100)));
        // A spoofed SYN from the client's address and port, a new sequence number: the rule
        // admits SYNs to 443, but it must not take the flow's place.
        let spoofed = c.seg(IN, TCP_SYN, 0x1234_5678, 0, 0);
        assert!(l.inbound(&spoofed), "the rules admit a SYN to 443");
        assert_eq!(c.state(l), Some(CT_STATE_ESTABLISHED));
        assert!(l.outbound(&c.next(OUT, 0, 100)), "the server's replies still pass");
        assert!(l.inbound(&c.next(IN, 0, 100)));
    }
);

lab_test!(
    /// FINs close only where a real one sits: not without an ACK, not behind the data sent,
    /// not before it (an early FIN passes as data); the one at the end closes.
    sg_enf_13_fins_close_only_at_the_end,
    |l| {
        setup(l);
        let mut c = Conn::new(40017, 443, [1000, 2000]);
        c.open(l);
        assert!(l.inbound(&c.next(IN, 0, 3000)));
        let no_ack = c.seg(IN, TCP_FIN, c.next[IN], 0, 0);
        assert!(!l.inbound(&no_ack), "a FIN without ACK");
        let behind = c.seg(IN, TCP_FIN | TCP_ACK, c.next[IN] - 2000, c.next[OUT], 0);
        assert!(l.inbound(&behind), "in the window");
        assert_eq!(c.state(l), Some(CT_STATE_ESTABLISHED), "but behind the end");
        let early = c.seg(IN, TCP_FIN | TCP_ACK, c.next[IN] + 500, c.next[OUT], 0);
        assert!(l.inbound(&early), "in the window");
        assert_eq!(c.state(l), Some(CT_STATE_ESTABLISHED), "but past the end");
        assert!(l.inbound(&c.next(IN, 0, 500)));
        assert!(l.inbound(&c.next(IN, TCP_FIN, 0)));
        assert_eq!(c.state(l), Some(CT_STATE_CLOSING));
    }
);

lab_test!(
    /// Flag combinations no endpoint sends are not the flow's, even at the right numbers.
    sg_enf_13_invalid_flags_are_not_the_flows,
    |l| {
        setup(l);
        let mut c = Conn::new(40018, 443, [1000, 2000]);
        c.open(l);
        for flags in [0, TCP_FIN, TCP_SYN | TCP_FIN, TCP_RST | TCP_FIN, TCP_SYN | TCP_RST] {
            let f = c.seg(IN, flags, c.next[IN], c.next[OUT], 0);
            assert!(!l.inbound(&f), "flags {flags:#x}");
        }
        assert_eq!(c.state(l), Some(CT_STATE_ESTABLISHED));
        assert!(l.inbound(&c.next(IN, 0, 10)));
    }
);

/// A flow whose segments passed on one CPU's flow cache is judged with that CPU's copy of the
/// window when its RST arrives on another CPU: the table alone lags behind what the cache
/// passed, and an exact RST would look inexact.
#[test]
fn sg_enf_13_copies_of_other_cpus_are_consulted() {
    if !require_root("sg_enf_13_copies_of_other_cpus_are_consulted") {
        return;
    }
    let cpus = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .map(|s| {
            (0..nix::sched::CpuSet::count())
                .filter(|c| s.is_set(*c).unwrap_or(false))
                .count()
        })
        .expect("CPU set");
    assert!(
        cpus >= 2,
        "this test needs two CPUs, the machine has {cpus}"
    );
    with_lab(|l| {
        setup(l);
        pin_to_cpu(Some(0));
        let mut c = Conn::new(40015, 443, [1000, 2000]);
        c.open(l);
        // The handshake's last segment cached the flow: these pass on CPU 0's cache, moving
        // only its copy of the window.
        for _ in 0..4 {
            assert!(l.inbound(&c.next(IN, 0, 1000)));
        }
        pin_to_cpu(Some(1));
        // Only CPU 0's copy knows how far the remote got: the table still has it at its SYN.
        assert!(l.inbound(&c.seg(IN, TCP_RST, c.next[IN], 0, 0)));
        assert_eq!(c.state(l), Some(CT_STATE_RST), "exact against CPU 0's copy");
        // And a FIN at the end of what CPU 0 passed closes.
        pin_to_cpu(Some(0));
        let mut d = Conn::new(40016, 443, [1000, 2000]);
        d.open(l);
        for _ in 0..4 {
            assert!(l.inbound(&d.next(IN, 0, 1000)));
        }
        pin_to_cpu(Some(1));
        assert!(l.inbound(&d.next(IN, TCP_FIN, 0)));
        assert_eq!(d.state(l), Some(CT_STATE_CLOSING));
    });
}
