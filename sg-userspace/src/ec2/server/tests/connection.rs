//! Connections that never finish their headers are closed by `HEADER_TIMEOUT`, so that idle
//! clients cannot hold the `MAX_CONNECTIONS` slots. SLOW: each test waits out the real
//! timeout (10 s; the tokio `test-util` feature that could pause time is not enabled). They run
//! in parallel with the rest, and fail if the connection is still open 5 s after the timeout.

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
