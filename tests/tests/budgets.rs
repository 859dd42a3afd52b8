//! Budgets within the conntrack tables (issue 17; within SG-ENF-9's allowance, with
//! SG-ENF-6's 60 s for a SYN answered but not acknowledged), judged packet by packet through
//! BPF_PROG_TEST_RUN: half-open TCP flows opened from outside, and inbound flows of the other
//! table. Their counts follow their entries through handshakes, sweeps and flushes; a
//! handshake answered but never acknowledged times out as a handshake (60 s), not as an
//! established flow; past the half-open budget an instance's SYNs pass for its SYN cookies,
//! and its answer is tracked if it kept state. (`syn_flood.rs` floods real sockets.)

use std::time::Duration;

use sg_tests::{
    frame::{Frame, TCP_ACK, TCP_SYN},
    lab::{IFACE, Lab, with_lab},
    require_root,
};
use sg_userspace::{
    datapath::{CtBudgets, Datapath, Hook},
    testkit::{ip, perm},
};

const ME4: &str = "192.0.2.1";

macro_rules! lab_test {
    ($name:ident, $body:expr) => {
        #[test]
        fn $name() {
            if !require_root(stringify!($name)) {
                return;
            }
            let body: fn(&mut Lab) = $body;
            with_lab(body);
        }
    };
}

/// TCP 8080 and UDP 53 open to anyone inbound; outbound only UDP 53 to 198.51.100.53, so
/// every flow is tracked (SG-ENF-3); the budgets `half_open` and `inbound`.
fn setup(l: &mut Lab, half_open: u32, inbound: u32) {
    let g = l.world.group("lab");
    l.world
        .authorize(
            &g,
            false,
            vec![
                perm("tcp", Some((8080, 8080)), "0.0.0.0/0"),
                perm("udp", Some((53, 53)), "0.0.0.0/0"),
            ],
        )
        .expect("authorize");
    l.world
        .revoke(&g, true, vec![perm("-1", None, "0.0.0.0/0")])
        .expect("revoke egress");
    l.world
        .authorize(
            &g,
            true,
            vec![perm("udp", Some((53, 53)), "198.51.100.53/32")],
        )
        .expect("authorize egress");
    l.world.attach(IFACE, &[&g], &[ip(ME4)]).expect("attach");
    l.apply();
    l.dp.set_conntrack_budgets(CtBudgets {
        tcp_half_open: half_open,
        other_inbound: inbound,
    });
}

fn peer(n: u8) -> String {
    format!("203.0.113.{n}")
}

fn syn(n: u8) -> Vec<u8> {
    Frame::tcp(ip(&peer(n)), ip(ME4), 40000 + n as u16, 8080, TCP_SYN).bytes()
}

fn syn_ack(n: u8, port: u16) -> Vec<u8> {
    Frame::tcp(
        ip(ME4),
        ip(&peer(n)),
        port,
        40000 + n as u16,
        TCP_SYN | TCP_ACK,
    )
    .bytes()
}

fn ack(n: u8) -> Vec<u8> {
    Frame::tcp(ip(&peer(n)), ip(ME4), 40000 + n as u16, 8080, TCP_ACK).bytes()
}

fn data_out(n: u8) -> Vec<u8> {
    Frame::tcp(ip(ME4), ip(&peer(n)), 8080, 40000 + n as u16, TCP_ACK).bytes()
}

/// The half-open count, and the inbound count of the other table.
fn counts(l: &Lab) -> (u64, u64) {
    let [(half_open, _), (inbound, _)] = l.dp.conntrack_budgets();
    (half_open, inbound)
}

lab_test!(
    half_open_flows_are_counted_until_their_handshake_completes,
    |l| {
        setup(l, 2, 0);
        assert!(l.run(Hook::Xdp, &syn(1)));
        assert!(l.run(Hook::TcEgress, &syn_ack(1, 8080)));
        assert_eq!(
            counts(l).0,
            1,
            "answered, not acknowledged: still half-open"
        );
        assert!(l.run(Hook::Xdp, &syn(2)));
        assert_eq!(counts(l).0, 2);
        assert_eq!(l.counter("pass_syn_cookie"), 0);
        // Past the budget: passed without an entry, for the instance's SYN cookies.
        assert!(l.run(Hook::Xdp, &syn(3)));
        assert_eq!(l.counter("pass_syn_cookie"), 1);
        assert_eq!(l.dp.conntrack().len(), 2, "no entry for the third");
        // The first client's ACK completes its handshake: out of the budget.
        assert!(l.run(Hook::Xdp, &ack(1)));
        assert_eq!(counts(l).0, 1);
        assert!(l.run(Hook::Xdp, &syn(4)), "room again");
        assert_eq!(counts(l).0, 2);
        assert_eq!(l.counter("conntrack_allowance_exceeded"), 0);
    }
);

lab_test!(an_unacknowledged_handshake_times_out_as_one, |l| {
    setup(l, 100, 0);
    // Answered but never acknowledged (a spoofed SYN the instance answered), and a whole one.
    assert!(l.run(Hook::Xdp, &syn(1)));
    assert!(l.run(Hook::TcEgress, &syn_ack(1, 8080)));
    assert!(l.run(Hook::Xdp, &syn(2)));
    assert!(l.run(Hook::TcEgress, &syn_ack(2, 8080)));
    assert!(l.run(Hook::Xdp, &ack(2)));
    assert_eq!(counts(l).0, 1);
    // A handshake's 60 s later: the half-open one is gone (not kept 5 days), the other kept.
    l.dp.age_conntrack(Duration::from_secs(61));
    let report = l.dp.sweep(Datapath::now());
    assert_eq!(report.removed_tcp, 1);
    assert_eq!(counts(l).0, 0, "the sweep took it from the budget");
    let flows = l.dp.conntrack();
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0].key.remote_port, 40002);
    assert!(
        l.run(Hook::TcEgress, &data_out(2)),
        "the established flow goes on"
    );
});

lab_test!(
    the_answer_to_a_syn_passed_without_an_entry_is_tracked_from_it,
    |l| {
        setup(l, 1, 0);
        assert!(l.run(Hook::Xdp, &syn(1)));
        assert!(l.run(Hook::Xdp, &syn(2)), "past the budget");
        assert_eq!(l.dp.conntrack().len(), 1);
        // The instance answers without a cookie (its listen queue had room): no outbound rule
        // admits the SYN-ACK, but the inbound rules admit the SYN it answers. It passes, and the
        // handshake is tracked from it, half-open, outside the budget's limit.
        assert!(l.run(Hook::TcEgress, &syn_ack(2, 8080)));
        assert_eq!(l.dp.conntrack().len(), 2);
        assert_eq!(counts(l).0, 2);
        assert!(l.run(Hook::Xdp, &ack(2)));
        assert_eq!(counts(l).0, 1, "complete");
        assert!(l.run(Hook::TcEgress, &data_out(2)), "tracked: replies pass");
        // A SYN-ACK from a port no inbound rule opens answers no SYN the rules admitted.
        assert!(!l.run(Hook::TcEgress, &syn_ack(3, 9090)));
        assert_eq!(l.counter("pass_syn_cookie"), 2, "the SYN and its SYN-ACK");
        // The ACK of a flow that is not tracked, with no valid cookie, tracks nothing.
        assert!(l.run(Hook::Xdp, &ack(5)), "the rules admit it");
        assert_eq!(l.dp.conntrack().len(), 2);
        assert!(!l.run(Hook::TcEgress, &data_out(5)));
        // A flush takes every entry from its budget.
        let flows = l.dp.conntrack();
        assert_eq!(l.dp.flush(&flows), 2);
        assert_eq!(counts(l), (0, 0));
    }
);

lab_test!(without_budgets_the_tables_are_as_on_aws, |l| {
    setup(l, 0, 0);
    for n in 1..=20 {
        assert!(l.run(Hook::Xdp, &syn(n)));
    }
    assert_eq!(l.dp.conntrack().len(), 20, "every SYN tracked");
    assert_eq!(counts(l).0, 20, "counted all the same");
    assert!(l.run(Hook::Xdp, &syn(21)));
    assert_eq!(l.counter("pass_syn_cookie"), 0);
    // No SYN went untracked, so no SYN-ACK passes without its flow.
    assert!(!l.run(Hook::TcEgress, &syn_ack(30, 8080)));
});

lab_test!(inbound_flows_of_the_other_table_have_a_budget, |l| {
    setup(l, 0, 3);
    for n in 1..=3 {
        let f = Frame::udp(ip(&peer(n)), ip(ME4), 5000, 53).bytes();
        assert!(l.run(Hook::Xdp, &f));
    }
    assert_eq!(counts(l).1, 3);
    let fourth = Frame::udp(ip(&peer(4)), ip(ME4), 5000, 53).bytes();
    assert!(!l.run(Hook::Xdp, &fourth), "past the inbound budget");
    assert_eq!(l.counter("conntrack_allowance_exceeded"), 1);
    // The instance's own flows have the rest of the table.
    let own = Frame::udp(ip(ME4), ip("198.51.100.53"), 6000, 53).bytes();
    assert!(l.run(Hook::TcEgress, &own));
    let reply = Frame::udp(ip("198.51.100.53"), ip(ME4), 53, 6000).bytes();
    assert!(l.run(Hook::Xdp, &reply));
    assert_eq!(counts(l).1, 3, "not counted: opened by the instance");
    // Swept (UDP's 30 s), the inbound flows leave their budget.
    l.dp.age_conntrack(Duration::from_secs(31));
    l.dp.sweep(Datapath::now());
    assert_eq!(counts(l).1, 0);
    assert!(l.run(Hook::Xdp, &fourth), "room again");
});
