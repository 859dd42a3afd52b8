//! Real packets: TCP connections, UDP datagrams and ICMP echoes between the soak's
//! namespaces, from sockets bound to the ports and echo identifiers the soak chose (so no
//! flow ever meets an entry the model does not know of).

use std::{
    io::{Read, Write},
    net::{IpAddr, SocketAddr, TcpStream, UdpSocket},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use sg_tests::Netns;
use socket2::{Domain, Protocol, Socket, Type};

/// How long a TCP handshake may take (the kernel sends the SYN again after 1 s and 3 s).
const CONNECT: Duration = Duration::from_millis(3500);
/// How long one echo may take before it is sent again (UDP, ICMP) or counts as lost (TCP).
const WAIT: Duration = Duration::from_millis(800);
/// Attempts of a UDP or ICMP exchange.
const TRIES: u32 = 3;

/// What happened to an exchange on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// The whole exchange made it, after this many attempts.
    Passed { attempts: u32 },
    /// Some packets passed but not all (a TCP handshake completed, its data not echoed).
    Partial,
    /// Nothing came back.
    Blocked,
}

/// An open socket of a flow the soak keeps.
pub enum Sock {
    Tcp(TcpStream),
    Udp(UdpSocket),
    Echo(Socket),
}

static NONCE: AtomicU64 = AtomicU64::new(1);

fn domain(a: IpAddr) -> Domain {
    if a.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    }
}

/// A TCP connection from `src` to `dst` opened in `ns`, and one echo on it: the stream when
/// both made it.
pub fn tcp_open(
    ns: &Netns,
    src: SocketAddr,
    dst: SocketAddr,
) -> Result<(Seen, Option<TcpStream>), String> {
    let s = ns.run(move || -> Result<Socket, String> {
        let s = Socket::new(domain(src.ip()), Type::STREAM, None).map_err(|e| e.to_string())?;
        s.set_reuse_address(true).map_err(|e| e.to_string())?;
        s.bind(&src.into())
            .map_err(|e| format!("bind {src}: {e}"))?;
        Ok(s)
    })?;
    match s.connect_timeout(&dst.into(), CONNECT) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Ok((Seen::Blocked, None)),
        Err(e) => return Err(format!("connect {src} -> {dst}: {e}")),
    }
    let mut stream: TcpStream = s.into();
    if tcp_echo(&mut stream) {
        Ok((Seen::Passed { attempts: 1 }, Some(stream)))
    } else {
        Ok((Seen::Partial, None))
    }
}

/// One message to the echo server and back.
pub fn tcp_echo(s: &mut TcpStream) -> bool {
    let nonce = NONCE.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    if s.set_read_timeout(Some(WAIT * 2)).is_err() || s.write_all(&nonce).is_err() {
        return false;
    }
    let mut buf = [0u8; 8];
    s.read_exact(&mut buf).is_ok() && buf == nonce
}

/// Reads with `recv` (true: the awaited answer) for up to [`WAIT`], each read given what is
/// left of it (`set_timeout`); whether the answer came.
fn answer_within(
    set_timeout: impl Fn(Duration) -> std::io::Result<()>,
    mut recv: impl FnMut() -> std::io::Result<bool>,
) -> bool {
    let until = Instant::now() + WAIT;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if left.is_zero() || set_timeout(left).is_err() {
            return false;
        }
        match recv() {
            Ok(true) => return true,
            Ok(false) => {}
            Err(_) => return false,
        }
    }
    false
}

/// A UDP socket in `ns` bound to `src` and connected to `dst`.
pub fn udp_socket(ns: &Netns, src: SocketAddr, dst: SocketAddr) -> Result<UdpSocket, String> {
    ns.run(move || {
        let s = UdpSocket::bind(src).map_err(|e| format!("bind {src}: {e}"))?;
        s.connect(dst).map_err(|e| e.to_string())?;
        Ok(s)
    })
}

/// A datagram to the echo server and back, sent again up to [`TRIES`] times; a late answer to
/// an earlier attempt counts.
pub fn udp_echo(s: &UdpSocket) -> Seen {
    let mut sent = Vec::new();
    let mut buf = [0u8; 64];
    for attempt in 1..=TRIES {
        let nonce = NONCE.fetch_add(1, Ordering::Relaxed).to_be_bytes();
        sent.push(nonce);
        if s.send(&nonce).is_err() {
            continue;
        }
        let answered = answer_within(
            |left| s.set_read_timeout(Some(left)),
            // Anything else is an answer to an earlier probe of this flow.
            || {
                s.recv(&mut buf)
                    .map(|n| n == 8 && sent.iter().any(|x| x[..] == buf[..8]))
            },
        );
        if answered {
            return Seen::Passed { attempts: attempt };
        }
    }
    Seen::Blocked
}

/// An ICMP echo ("ping") socket in `ns` bound to `src` with echo identifier `id` (the
/// namespace's `net.ipv4.ping_group_range` must admit root).
pub fn echo_socket(ns: &Netns, src: IpAddr, id: u16) -> Result<Socket, String> {
    ns.run(move || {
        let proto = if src.is_ipv4() {
            Protocol::ICMPV4
        } else {
            Protocol::ICMPV6
        };
        let s = Socket::new(domain(src), Type::DGRAM, Some(proto))
            .map_err(|e| format!("ping socket: {e}"))?;
        s.bind(&SocketAddr::new(src, id).into())
            .map_err(|e| format!("bind ping socket {src} id {id}: {e}"))?;
        Ok(s)
    })
}

/// An echo request to `dst` and its reply, sent again up to [`TRIES`] times.
pub fn ping(s: &Socket, dst: IpAddr) -> Seen {
    let (request, reply) = if dst.is_ipv4() { (8, 0) } else { (128, 129) };
    let mut sent = Vec::new();
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 128];
    for attempt in 1..=TRIES {
        let nonce = NONCE.fetch_add(1, Ordering::Relaxed).to_be_bytes();
        sent.push(nonce);
        // Type, code, checksum, identifier (the kernel fills those two in), sequence, data.
        let mut msg = vec![request, 0, 0, 0, 0, 0, 0, attempt as u8];
        msg.extend_from_slice(&nonce);
        if s.send_to(&msg, &SocketAddr::new(dst, 0).into()).is_err() {
            continue;
        }
        let answered = answer_within(
            |left| s.set_read_timeout(Some(left)),
            || {
                s.recv(&mut buf).map(|n| {
                    // SAFETY: recv initialised the first n bytes.
                    let got: Vec<u8> = buf[..n]
                        .iter()
                        .map(|b| unsafe { b.assume_init() })
                        .collect();
                    n == 16 && got[0] == reply && sent.iter().any(|x| x[..] == got[8..16])
                })
            },
        );
        if answered {
            return Seen::Passed { attempts: attempt };
        }
    }
    Seen::Blocked
}
