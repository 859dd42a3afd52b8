//! Real TCP through window tracking (SG-ENF-13): the instance has no inbound rule, so every
//! byte that comes back rides its tracked flows. With 2% of the segments lost on the way
//! (retransmissions, SACK, fast recovery), window scaling and large windows in both
//! directions, every byte arrives; a real close leaves the flow closing, a real reset resets
//! it.

use std::{
    io::{Read, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    thread,
    time::Duration,
};

use sg_tests::*;

const PORT: u16 = 5101;
const BYTES: usize = 16 << 20;

/// The byte at offset `i` of the stream: a pattern that shows misplaced data.
fn byte(i: usize) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

/// A server in `ns` that echoes each connection's bytes back until the client closes, then
/// closes too.
fn echo_server(ns: &Netns) {
    let listener = ns.run(|| TcpListener::bind(("0.0.0.0", PORT)).expect("bind"));
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { break };
            thread::spawn(move || {
                let mut buf = vec![0u8; 64 << 10];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
}

/// The flows of the test's port as `describe-conntrack` lists them.
fn states(d: &Daemon) -> Vec<String> {
    let out = d.ok(&[
        "describe-conntrack",
        "--network-interface-id",
        "fwa",
        "--filters",
        "Name=remote-port,Values=5101",
    ]);
    out["ConnectionTrackingEntries"]
        .as_array()
        .expect("list")
        .iter()
        .map(|f| f["State"].as_str().expect("state").to_owned())
        .collect()
}

#[test]
fn sg_enf_13_real_connections_survive_loss_and_close_or_reset() {
    if !require_root("sg_enf_13_real_connections_survive_loss_and_close_or_reset") {
        return;
    }
    let t = Topology::new();
    let d = Daemon::start(&t.fw);
    let g = d.create_group("client");
    d.attach("fwa", &[&g]);
    // Loss on the peer's side, both ways: its input and its output.
    let nft = t.a.exec(&[
        "nft",
        "add table inet lossy; \
         add chain inet lossy in { type filter hook input priority 0; }; \
         add chain inet lossy out { type filter hook output priority 0; }; \
         add rule inet lossy in tcp dport 5101 numgen random mod 100 < 2 drop; \
         add rule inet lossy out tcp sport 5101 numgen random mod 100 < 2 drop",
    ]);
    assert!(nft.status.success(), "nft: {nft:?}");
    echo_server(&t.a);

    // 16 MiB out and back over one connection, writing and reading at once.
    let target: SocketAddr = (A4.parse::<std::net::IpAddr>().expect("addr"), PORT).into();
    let s =
        t.fw.run(move || TcpStream::connect_timeout(&target, Duration::from_secs(5)))
            .expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut w = s.try_clone().expect("clone");
    let writer = thread::spawn(move || {
        let chunk: Vec<u8> = (0..BYTES).map(byte).collect();
        for part in chunk.chunks(256 << 10) {
            w.write_all(part).expect("write");
        }
    });
    let mut r = s.try_clone().expect("clone");
    let mut got = 0usize;
    let mut buf = vec![0u8; 64 << 10];
    while got < BYTES {
        let n = r.read(&mut buf).expect("every byte comes back");
        assert!(n > 0, "closed after {got} bytes");
        for (i, b) in buf[..n].iter().enumerate() {
            assert_eq!(*b, byte(got + i), "byte {}", got + i);
        }
        got += n;
    }
    writer.join().expect("writer");
    let lost = t.a.exec(&["nft", "list", "ruleset"]);
    assert!(
        String::from_utf8_lossy(&lost.stdout).contains("numgen"),
        "the loss is in place"
    );
    assert_eq!(states(&d), vec!["ESTABLISHED"]);

    // A real close: the instance's FIN, the server's FIN.
    s.shutdown(Shutdown::Write).expect("shutdown");
    assert_eq!(
        r.read(&mut buf).expect("EOF"),
        0,
        "the server closes in turn"
    );
    thread::sleep(Duration::from_millis(300));
    assert_eq!(states(&d), vec!["CLOSING"]);
    drop(s);

    // A real reset: SO_LINGER 0 makes close() send a RST.
    d.ok(&["flush-conntrack"]);
    let s =
        t.fw.run(move || TcpStream::connect_timeout(&target, Duration::from_secs(5)))
            .expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    (&s).write_all(b"ping").expect("write");
    let mut four = [0u8; 4];
    (&s).read_exact(&mut four).expect("echo");
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .expect("linger");
    drop(s);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(states(&d), vec!["RESET"]);
}
