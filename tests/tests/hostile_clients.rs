//! Many hostile clients at once against a real sgd (issue 17, item 3; the socket root-only,
//! SG-API): idle connections past
//! the cap, requests without end, slow clients, clients gone mid-request, oversized HTTP
//! headers and bodies, all together. Throughout, a client already connected is answered;
//! sgd's memory stays within its budgets; refusals are logged once per burst, not once per
//! client; nothing a client left unfinished runs; afterwards everyone is served again.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    os::unix::net::UnixStream,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use sg_tests::*;

const API_PORT: u16 = 8797;

/// sgd's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// One request line on a connection already open, and its answer line (within 10 s).
fn ask(reader: &mut BufReader<UnixStream>, request: &str) -> String {
    let stream = reader.get_mut();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    writeln!(stream, "{request}").expect("send");
    let mut line = String::new();
    reader.read_line(&mut line).expect("an answer within 10 s");
    line
}

/// Everything the server sends on `s` until it closes (or 10 s pass).
fn drain(s: &mut impl Read) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The HTTP attack, from inside the namespace: returns the connections to hold, how many
/// bodies were refused for the budget (503), and how many oversized heads were answered 431.
fn http_attack(key_id: &str) -> (Vec<TcpStream>, usize, usize) {
    let connect = || TcpStream::connect(("127.0.0.1", API_PORT)).expect("connect");
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y%m%dT%H%M%SZ"])
        .output()
        .expect("date");
    let amz_date = String::from_utf8(out.stdout).expect("utf-8");
    let amz_date = amz_date.trim();
    // Signed with a real key, date and region (so its body is read), but a signature that
    // could only be checked once the body is whole.
    let head = format!(
        "POST / HTTP/1.1\r\nhost: 127.0.0.1:{API_PORT}\r\nx-amz-date: {amz_date}\r\n\
         authorization: AWS4-HMAC-SHA256 Credential={key_id}/{}/us-east-1/ec2/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature={}\r\n\
         content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n",
        &amz_date[..8],
        "0".repeat(64),
        1 << 20,
    );
    let slow_body = |s: &mut TcpStream| {
        s.write_all(head.as_bytes()).expect("head");
        s.write_all(&[b'x'; 1000]).expect("body");
    };
    let mut held: Vec<TcpStream> = (0..32)
        .map(|_| {
            let mut s = connect();
            slow_body(&mut s);
            s
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    let refused = (0..8)
        .filter(|_| {
            let mut s = connect();
            slow_body(&mut s);
            s.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let mut answer = vec![0; 4096];
            let n = s.read(&mut answer).unwrap_or(0);
            let answer = String::from_utf8_lossy(&answer[..n]);
            answer.starts_with("HTTP/1.1 503") && answer.contains("RequestLimitExceeded")
        })
        .count();
    let heads = (0..10)
        .filter(|_| {
            let mut s = connect();
            let mut big = b"POST / HTTP/1.1\r\nx-padding: ".to_vec();
            big.extend(std::iter::repeat_n(b'x', 1 << 20));
            let _ = s.write_all(&big);
            s.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            drain(&mut s).starts_with("HTTP/1.1 431")
        })
        .count();
    held.extend((0..300).map(|_| connect()));
    (held, refused, heads)
}

#[test]
fn many_hostile_clients_at_once_cannot_stop_sgd_serving_others() {
    if !require_root("many_hostile_clients_at_once_cannot_stop_sgd_serving_others") {
        return;
    }
    let ns = Netns::new("hostile");
    let listen = format!("127.0.0.1:{API_PORT}");
    let d = Daemon::start_with(
        &ns,
        None,
        &["--api-listen", &listen, "--region", "us-east-1"],
    );
    let pid = d.pid().expect("sgd runs");
    let key_id = d.ok(&["create-access-key"])["AccessKey"]["AccessKeyId"]
        .as_str()
        .expect("key id")
        .to_owned();
    let group = d.create_group("kept");
    let socket = d.socket();
    let connect = || UnixStream::connect(&socket).expect("connect");

    // The client that must be served throughout: connected before the attack.
    let mut good = BufReader::new(connect());
    let describe = r#"{"Action":"DescribeSecurityGroups"}"#;
    assert!(ask(&mut good, describe).contains(&group));
    let base = rss_kib(pid);
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(base));
    let attacking = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, attacking) = (peak.clone(), attacking.clone());
        thread::spawn(move || {
            while attacking.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let started = Instant::now();

    // Idle connections, holding slots.
    let idle: Vec<UnixStream> = (0..200).map(|_| connect()).collect();
    // Requests without end: each pushes bytes until sgd refuses it (RequestTooLarge at
    // 64 MiB, or RequestLimitExceeded once the shared budget is taken) and closes.
    let endless: Vec<_> = (0..8)
        .map(|_| {
            let mut s = connect();
            thread::spawn(move || {
                let chunk = vec![b'x'; 1 << 20];
                let mut sent = 0usize;
                while s.write_all(&chunk).is_ok() {
                    sent += chunk.len();
                    assert!(sent <= 200 << 20, "sgd read 200 MiB of one request");
                }
                s.set_read_timeout(Some(Duration::from_secs(10)))
                    .expect("timeout");
                drain(&mut s)
            })
        })
        .collect();
    // Slow clients: a byte now and then, never a newline.
    let slow: Vec<UnixStream> = (0..20)
        .map(|_| {
            let mut s = connect();
            s.write_all(b"{\"Action\":").expect("send");
            s
        })
        .collect();
    // Gone mid-request: a whole delete but for its newline, then closed. Never run.
    for _ in 0..20 {
        let mut s = connect();
        let delete = format!(r#"{{"Action":"DeleteSecurityGroup","GroupId":"{group}"}}"#);
        s.write_all(delete.as_bytes()).expect("send");
    }
    // Past the cap of 256 connections: refused, each with an answer.
    let past: Vec<UnixStream> = (0..60).map(|_| connect()).collect();
    // The HTTP endpoint: bodies sent slowly past its budget, oversized heads, and more idle
    // connections than it serves.
    let key_id = key_id.clone();
    let (http_held, http_refused, http_heads) = ns.run(move || http_attack(&key_id));
    // 32 bodies of 1 MiB fill its budget: the 8 past it are refused at once.
    assert_eq!(http_refused, 8, "bodies refused for the budget");
    assert_eq!(http_heads, 10, "oversized heads answered 431");

    for s in &slow {
        let mut s = s;
        let _ = s.write_all(b" ");
    }
    // The client connected before it all is answered, again and again.
    for _ in 0..20 {
        let answer = ask(&mut good, describe);
        assert!(answer.contains(&group), "{answer}");
    }
    let mut refused = 0;
    for mut s in past {
        // Those served after all (slots freed meanwhile) see the end of this client's input
        // and close: each is answered or closed at once.
        s.shutdown(std::net::Shutdown::Write).expect("shutdown");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let answer = drain(&mut s);
        if answer.contains("RequestLimitExceeded") {
            refused += 1;
        }
    }
    assert!(refused >= 60 - (256 - 1 - 200 - 20), "{refused} refused");
    for e in endless {
        let answer = e.join().expect("endless writer");
        assert!(
            answer.contains("RequestTooLarge") || answer.contains("RequestLimitExceeded"),
            "{answer}"
        );
    }
    attacking.store(false, Ordering::Relaxed);
    sampler.join().expect("sampler");
    let grown_mib = (peak.load(Ordering::Relaxed) - base) / 1024;
    eprintln!("sgd grew by {grown_mib} MiB under attack");
    // The Unix socket's budget is 128 MiB of requests being read (a buffer may hold up to
    // twice its bytes while it grows), HTTP's 32 MiB: without them 8 endless requests alone
    // would take 512 MiB.
    assert!(grown_mib <= 320, "sgd grew by {grown_mib} MiB");
    let log = d.log();
    let elapsed_windows = started.elapsed().as_secs() / 10 + 1;
    for what in [
        "too many API connections",
        "API requests too large",
        "too many bytes of API requests",
    ] {
        let lines = log.lines().filter(|l| l.contains(what)).count() as u64;
        assert!(
            lines <= elapsed_windows,
            "{what}: {lines} log lines in {elapsed_windows} windows of 10 s"
        );
    }

    drop((idle, slow, http_held));
    // Everyone is served again, and the deletes sent without their newline never ran.
    let out = d.ok(&["describe-security-groups", "--group-ids", &group]);
    assert_eq!(out["SecurityGroups"][0]["GroupId"], group.as_str());
    let answer = ns.run(|| {
        let mut s = TcpStream::connect(("127.0.0.1", API_PORT)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        s.write_all(
            b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .expect("send");
        drain(&mut s)
    });
    assert!(answer.contains("MissingAuthenticationToken"), "{answer}");
}
