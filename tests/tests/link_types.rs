//! Devices whose packets start with the IP header (SG-IF-6), with real packets: a TUN device
//! in a namespace, protected by sgd, fed by this test through the device's file descriptor
//! (what a VPN daemon writes arrives on the device; what the stack sends there is read back).
//! The red team found every packet passing on such a device; here the rules hold, in both
//! directions and both families, and replies pass through connection tracking.
//! (The kernels here build no ipip, sit, ip6tnl, GRE or WireGuard devices: TUN is the L3
//! device there is; the link-type classification itself is unit-tested in sg-userspace.)

use std::{
    fs::File,
    io::{Read, Write},
    net::{Ipv6Addr, SocketAddr, UdpSocket},
    os::fd::AsRawFd,
    time::{Duration, Instant},
};

use sg_tests::{Daemon, Netns, require_root};

const TUN: &str = "tun9";
const ME4: [u8; 4] = [198, 51, 100, 1];
const PEER4: [u8; 4] = [198, 51, 100, 2];
const ALLOWED4: [u8; 4] = [198, 51, 100, 200];
const ME6: &str = "2001:db8:99::1";
const PEER6: &str = "2001:db8:99::2";
const ALLOWED6: &str = "2001:db8:99::200";

/// Opens TUN device `name` (no packet-information header) in the calling thread's namespace.
fn open_tun(name: &str) -> File {
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
    const IFF_TUN: libc::c_short = 0x0001;
    const IFF_NO_PI: libc::c_short = 0x1000;
    let f = File::options()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .expect("/dev/net/tun");
    // SAFETY: a zeroed ifreq is valid; the name fits; TUNSETIFF reads name and flags.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(name.as_bytes()) {
        *d = *s as libc::c_char;
    }
    req.ifr_ifru.ifru_flags = IFF_TUN | IFF_NO_PI;
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), TUNSETIFF, &mut req) };
    assert!(rc == 0, "TUNSETIFF: {}", std::io::Error::last_os_error());
    f
}

fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    for part in parts {
        for c in part.chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 packet with a correct header checksum.
fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = checksum(&[&h]);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(l4);
    h
}

/// A UDP datagram over IPv4 (checksum 0: none).
fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    ipv4(src, dst, 17, &u)
}

/// A TCP SYN over IPv4, with a correct checksum.
fn syn4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&7777u32.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = 0x02;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    let pseudo = [&src[..], &dst[..], &[0, 6], &20u16.to_be_bytes()].concat();
    let c = checksum(&[&pseudo, &t]);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    ipv4(src, dst, 6, &t)
}

/// A UDP datagram over IPv6, with its (mandatory) checksum.
fn udp6(src: Ipv6Addr, dst: Ipv6Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&len.to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let pseudo = [
        &src.octets()[..],
        &dst.octets()[..],
        &u32::from(len).to_be_bytes(),
        &[0, 0, 0, 17],
    ]
    .concat();
    let c = checksum(&[&pseudo, &u]);
    u[6..8].copy_from_slice(&c.to_be_bytes());
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&len.to_be_bytes());
    p.extend_from_slice(&[17, 64]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&u);
    p
}

/// Reads packets from the TUN device for up to `wait`; returns the first that `want` accepts.
fn read_until(tun: &mut File, wait: Duration, want: impl Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        match tun.read(&mut buf) {
            Ok(n) if want(&buf[..n]) => return Some(buf[..n].to_vec()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("reading {TUN}: {e}"),
        }
    }
    None
}

/// Whether a datagram carrying `tag` arrives on `sock` within half a second.
fn arrives(sock: &UdpSocket, tag: &[u8]) -> bool {
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut buf = [0u8; 256];
    while Instant::now() < deadline {
        if let Ok((n, _)) = sock.recv_from(&mut buf)
            && &buf[..n] == tag
        {
            return true;
        }
    }
    false
}

/// A namespace with TUN device `TUN` up (198.51.100.1/24, 2001:db8:99::1/64), and the
/// device's file descriptor, non-blocking.
fn tun_namespace(tag: &str) -> (Netns, File) {
    let ns = Netns::new(tag);
    let tun = ns.run(|| {
        let f = open_tun(TUN);
        // SAFETY: F_SETFL on a file descriptor this function owns.
        unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        f
    });
    ns.ip(&["addr", "add", "198.51.100.1/24", "dev", TUN]);
    ns.ip(&["addr", "add", "2001:db8:99::1/64", "dev", TUN, "nodad"]);
    ns.ip(&["link", "set", TUN, "up"]);
    (ns, tun)
}

/// A TCP RST written back to the device for the SYN of `sport`: the stack saw the SYN.
fn rst_for(p: &[u8], sport: u16) -> bool {
    p.len() >= 40 && p[0] >> 4 == 4 && p[9] == 6 && u16::from_be_bytes([p[22], p[23]]) == sport
}

#[test]
fn sg_if_6_a_tun_device_is_filtered_by_its_groups() {
    if !require_root("sg_if_6_a_tun_device_is_filtered_by_its_groups") {
        return;
    }
    let (ns, mut tun) = tun_namespace("tun");
    let d = Daemon::start(&ns);
    let g = d.create_group("tunnel");
    for (proto, port, cidr) in [
        ("udp", "5000", "198.51.100.200/32"),
        ("tcp", "22", "198.51.100.200/32"),
        ("udp", "5000", "2001:db8:99::200/128"),
    ] {
        d.allow_in(&g, proto, port, cidr);
    }
    d.attach(TUN, &[&g]);
    let described = d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        TUN,
    ]);
    assert_eq!(
        described["NetworkInterfaces"][0]["Datapath"]["Arriving"], "tc-ingress",
        "TC hooks on a device without Ethernet headers: {described}"
    );
    let sock = ns.run(|| {
        let s = UdpSocket::bind("[::]:5000").expect("bind 5000");
        s.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        s
    });

    // Inbound (written to the device, delivered to the stack): only what the group allows.
    tun.write_all(&udp4(PEER4, ME4, 4000, 5000, b"from-peer"))
        .expect("write");
    assert!(
        !arrives(&sock, b"from-peer"),
        "UDP 5000 from a source no rule allows"
    );
    tun.write_all(&udp4(ALLOWED4, ME4, 4000, 5000, b"from-allowed"))
        .expect("write");
    assert!(
        arrives(&sock, b"from-allowed"),
        "UDP 5000 from the allowed source"
    );
    tun.write_all(&syn4(PEER4, ME4, 41000, 22)).expect("write");
    assert!(
        read_until(&mut tun, Duration::from_millis(500), |p| rst_for(p, 41000)).is_none(),
        "a SYN to 22 from a source no rule allows reaches nothing"
    );
    tun.write_all(&syn4(ALLOWED4, ME4, 41001, 22))
        .expect("write");
    assert!(
        read_until(&mut tun, Duration::from_secs(2), |p| rst_for(p, 41001)).is_some(),
        "a SYN to 22 (closed) from the allowed source is answered by the stack"
    );
    let (me6, peer6, allowed6) = (
        ME6.parse().expect("v6"),
        PEER6.parse().expect("v6"),
        ALLOWED6.parse().expect("v6"),
    );
    tun.write_all(&udp6(peer6, me6, 4000, 5000, b"v6-from-peer"))
        .expect("write");
    assert!(
        !arrives(&sock, b"v6-from-peer"),
        "IPv6 from a source no rule allows"
    );
    tun.write_all(&udp6(allowed6, me6, 4000, 5000, b"v6-from-allowed"))
        .expect("write");
    assert!(
        arrives(&sock, b"v6-from-allowed"),
        "IPv6 from the allowed source"
    );

    // Outbound (the stack sends through the device; the default rule allows it) opens a
    // tracked flow, whose replies pass; the same port from another host does not.
    let client = ns.run(|| UdpSocket::bind("198.51.100.1:6000").expect("bind 6000"));
    client
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    client
        .send_to(b"query", SocketAddr::from((PEER4, 7000)))
        .expect("send");
    let sent = read_until(&mut tun, Duration::from_secs(2), |p| {
        p.len() >= 28 && p[0] >> 4 == 4 && p[9] == 17 && p[16..20] == PEER4
    });
    assert!(
        sent.is_some(),
        "the outbound datagram leaves through the device"
    );
    tun.write_all(&udp4(PEER4, ME4, 7000, 6000, b"reply"))
        .expect("write");
    assert!(
        arrives(&client, b"reply"),
        "the reply rides the tracked flow"
    );
    tun.write_all(&udp4([198, 51, 100, 3], ME4, 7000, 6000, b"other"))
        .expect("write");
    assert!(
        !arrives(&client, b"other"),
        "another host's datagram does not"
    );

    let stats = &d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        TUN,
    ])["NetworkInterfaces"][0]["Statistics"];
    assert!(
        stats["drop_no_rule"].as_u64().unwrap_or(0) >= 4,
        "the refusals are counted: {stats}"
    );
}

/// Sends `packet` out of `ifname` through a packet socket that claims protocol `proto` (in
/// the calling thread's namespace). A packet the egress hook drops fails with `ENOBUFS`.
fn send_claiming(ifname: &str, proto: u16, packet: &[u8]) -> std::io::Result<()> {
    let ifindex = nix::net::if_::if_nametoindex(ifname).expect("ifindex");
    // SAFETY: plain socket calls on a descriptor this function owns; the address is a
    // valid, fully initialised sockaddr_ll.
    unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM, i32::from(proto.to_be()));
        assert!(
            fd >= 0,
            "packet socket: {}",
            std::io::Error::last_os_error()
        );
        let mut addr: libc::sockaddr_ll = std::mem::zeroed();
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = proto.to_be();
        addr.sll_ifindex = ifindex as i32;
        let sent = libc::sendto(
            fd,
            packet.as_ptr().cast(),
            packet.len(),
            0,
            (&addr as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        );
        let result = if sent == packet.len() as isize {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        };
        libc::close(fd);
        result
    }
}

#[test]
fn sg_if_6_a_claimed_protocol_does_not_carry_ip_past_the_rules() {
    if !require_root("sg_if_6_a_claimed_protocol_does_not_carry_ip_past_the_rules") {
        return;
    }
    let (ns, mut tun) = tun_namespace("tunpi");
    let udp = udp4(ME4, PEER4, 6000, 9, b"claimed");
    let is_it = |p: &[u8]| p.len() >= 28 && p[9] == 17 && p.ends_with(b"claimed");
    // Unprotected, the bytes go out as they are, whatever the socket claims.
    ns.run({
        let udp = udp.clone();
        move || send_claiming(TUN, 0x1234, &udp)
    })
    .expect("send");
    assert!(
        read_until(&mut tun, Duration::from_secs(1), is_it).is_some(),
        "control: the device hands on an IPv4 packet sent as protocol 0x1234"
    );
    // Protected by a group without outbound rules, the same bytes are judged as the IPv4
    // packet they are, and refused.
    let d = Daemon::start(&ns);
    let g = d.create_group("no-egress");
    d.ok(&[
        "revoke-security-group-egress",
        "--group-id",
        &g,
        "--ip-permissions",
        r#"[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]"#,
    ]);
    d.attach(TUN, &[&g]);
    for proto in [0x1234u16, 0x0806, 0x0800] {
        // Refused at TC egress: the send fails with ENOBUFS (or succeeds and nothing leaves).
        let sent = ns.run({
            let udp = udp.clone();
            move || send_claiming(TUN, proto, &udp)
        });
        assert!(
            sent.as_ref()
                .map_or_else(|e| e.raw_os_error() == Some(libc::ENOBUFS), |()| true),
            "{sent:?}"
        );
        assert!(
            read_until(&mut tun, Duration::from_millis(500), is_it).is_none(),
            "an IPv4 packet claiming protocol {proto:#06x} is refused like any other"
        );
    }
}
