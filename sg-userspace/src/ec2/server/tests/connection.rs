//! What one client may take of the endpoint (issue 17, hostile clients).
//!
//! Connections that never finish their headers are closed by `HEADER_TIMEOUT`, so that idle
//! clients cannot hold the `MAX_CONNECTIONS` slots. SLOW: those tests wait out the real
//! timeout (10 s; the tokio `test-util` feature that could pause time is not enabled). They run
//! in parallel with the rest, and fail if the connection is still open 5 s after the timeout.
//! Headers past `MAX_HEAD`, and bodies past the shared `max_buffered`, are refused at once.

use std::time::Instant;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

/// Reads from `stream` until the server closes it, and returns how long that took from
/// `since`; panics if it is still open 5 s after `HEADER_TIMEOUT`.
async fn closed_after(stream: &mut TcpStream, since: Instant) -> Duration {
    let mut answer = Vec::new();
    // Whether hyper answers something before closing (it may write a 408) does not matter, only
    // that it closes: end of file, or a reset.
    let _ = tokio::time::timeout(
        HEADER_TIMEOUT + Duration::from_secs(5),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the connection is still open 5 s after the header timeout");
    since.elapsed()
}

#[tokio::test]
async fn silent_connection_is_closed_by_the_header_timeout() {
    let (addr, fake) = start(Fake::new()).await;
    let since = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let waited = closed_after(&mut stream, since).await;
    // Not closed at once for some other reason: the timeout did it.
    assert!(
        waited >= HEADER_TIMEOUT - Duration::from_secs(1),
        "{waited:?}"
    );
    assert_eq!((fake.runs(), fake.checks()), (0, 0));
}

#[tokio::test]
async fn half_sent_headers_are_cut_off_by_the_header_timeout() {
    let (addr, fake) = start(Fake::new()).await;
    let since = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let waited = closed_after(&mut stream, since).await;
    assert!(
        waited >= HEADER_TIMEOUT - Duration::from_secs(1),
        "{waited:?}"
    );
    assert_eq!((fake.runs(), fake.checks()), (0, 0));
}

#[tokio::test]
async fn headers_past_max_head_are_refused_and_others_served() {
    let (addr, fake) = start(Fake::new()).await;
    let mut head = b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-padding: ".to_vec();
    head.extend(std::iter::repeat_n(b'x', MAX_HEAD * 2));
    head.extend_from_slice(b"\r\ncontent-length: 0\r\n\r\n");
    let reply = exchange(addr, &head).await;
    assert_eq!(reply.status, 431, "{reply:?}");
    assert_eq!((fake.runs(), fake.checks()), (0, 0));
    let reply = Call::ec2("Action=DescribeSecurityGroups").send(addr).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn bodies_being_read_share_one_budget() {
    // Room for one body of `MAX_BODY`: while a slow client is sending one, another is
    // answered 503 at once (AWS clients retry it), and it is read once the first is done.
    let (addr, fake) = start_with(Fake::new(), MAX_BODY).await;
    let large = |padding: usize| {
        let mut call = Call::ec2("Action=DescribeSecurityGroups");
        call.body.push_str("&x=");
        call.body.push_str(&"x".repeat(padding));
        call
    };
    let slow = large(MAX_BODY / 2);
    let headers = slow.signed_headers(addr);
    let mut head = "POST / HTTP/1.1\r\n".to_owned();
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", slow.body.len()));
    let mut first = TcpStream::connect(addr).await.unwrap();
    first.write_all(head.as_bytes()).await.unwrap();
    let (sent, rest) = slow.body.as_bytes().split_at(1000);
    first.write_all(sent).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reply = large(MAX_BODY / 2).send(addr).await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(
        reply.body.contains("RequestLimitExceeded"),
        "{}",
        reply.body
    );
    // The slow one finishes: read whole (and refused for its unknown parameter, not 503).
    first.write_all(rest).await.unwrap();
    let mut answer = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), first.read(&mut answer))
        .await
        .expect("an answer in time")
        .unwrap();
    let answer = Reply::parse(&answer[..n]);
    assert_eq!(answer.status, 400, "{}", answer.body);
    drop(first);
    let reply = large(MAX_BODY / 2).send(addr).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("UnknownParameter"), "{}", reply.body);
    assert_eq!(fake.runs(), 0);
}
