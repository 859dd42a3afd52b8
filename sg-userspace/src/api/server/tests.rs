//! Hostile and clumsy clients (issue 17, item 3): a request too large, a client too slow,
//! too many connections, too many bytes being read at once, a client gone mid-request. Each is answered or closed, and the
//! others are served throughout.

use std::time::Duration;

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::UnixStream,
};

use super::*;

const LIMITS: Limits = Limits {
    max_request: 4096,
    max_buffered: 6000,
    request_timeout: Duration::from_millis(300),
    max_connections: 4,
};

/// A server on a socket in `dir` answering every request with `{"Ok": "pong"}`.
async fn server(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("sgd.sock");
    let listener = bind(&path).expect("bind");
    let handle = Arc::new(|_: Request| Response::Ok(serde_json::json!("pong")));
    tokio::spawn(serve_with(listener, handle, None, LIMITS));
    path
}

/// One request on a new connection, as sgctl sends it: its answer.
async fn ask(path: &Path) -> String {
    let mut s = UnixStream::connect(path).await.expect("connect");
    s.write_all(b"{\"Action\":\"DescribeVpcs\"}\n")
        .await
        .expect("send");
    answer(&mut s).await
}

async fn answer(s: &mut UnixStream) -> String {
    let mut line = String::new();
    let mut reader = BufReader::new(s);
    let read = reader.read_line(&mut line);
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("an answer in time")
        .expect("read");
    line
}

/// Whether the server closed `s` within `wait`: end of input, or a reset (a Unix socket
/// closed with input it never read resets its peer).
async fn closed(s: &mut UnixStream, wait: Duration) -> bool {
    let mut buf = Vec::new();
    match tokio::time::timeout(wait, s.read_to_end(&mut buf)).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => e.kind() == io::ErrorKind::ConnectionReset,
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_request_too_large_is_refused_and_the_connection_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = server(&dir).await;
    let mut s = UnixStream::connect(&path).await.unwrap();
    // More than a request may be, with no end in sight.
    let _ = s.write_all(&vec![b'x'; 10_000]).await;
    let line = answer(&mut s).await;
    assert!(line.contains("RequestTooLarge"), "{line}");
    assert!(closed(&mut s, Duration::from_secs(2)).await);
    assert!(ask(&path).await.contains("pong"));
    // A request just within the limit is read (and, being no request, refused as such).
    let mut s = UnixStream::connect(&path).await.unwrap();
    let mut near = vec![b' '; LIMITS.max_request - 1];
    near.push(b'\n');
    s.write_all(&near).await.unwrap();
    assert!(answer(&mut s).await.contains("InvalidRequest"));
}

#[tokio::test]
async fn a_client_too_slow_is_closed_and_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = server(&dir).await;
    let mut slow = UnixStream::connect(&path).await.unwrap();
    slow.write_all(b"{\"Action\":").await.unwrap();
    // Served meanwhile.
    assert!(ask(&path).await.contains("pong"));
    assert!(
        closed(&mut slow, Duration::from_secs(3)).await,
        "closed after the timeout"
    );
    // An idle connection is closed the same way; one that keeps asking is not.
    let mut busy = UnixStream::connect(&path).await.unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        busy.write_all(b"{\"Action\":\"DescribeVpcs\"}\n")
            .await
            .unwrap();
        let mut line = String::new();
        BufReader::new(&mut busy)
            .read_line(&mut line)
            .await
            .unwrap();
        assert!(line.contains("pong"), "{line}");
    }
}

#[tokio::test]
async fn connections_past_the_limit_are_refused_until_one_goes() {
    let dir = tempfile::tempdir().unwrap();
    let path = server(&dir).await;
    let mut held = Vec::new();
    for _ in 0..LIMITS.max_connections {
        held.push(UnixStream::connect(&path).await.unwrap());
    }
    // The server took them all (each holds a slot while it waits for a request).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refused = ask(&path).await;
    assert!(refused.contains("RequestLimitExceeded"), "{refused}");
    // They go (the client closes, or the server times it out): room again.
    held.pop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(ask(&path).await.contains("pong"));
    drop(held);
}

#[tokio::test]
async fn a_client_gone_mid_request_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = server(&dir).await;
    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let listener_path = dir.path().join("counting.sock");
    let listener = bind(&listener_path).unwrap();
    let counter = asked.clone();
    let handle = Arc::new(move |_: Request| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Response::Ok(serde_json::Value::Null)
    });
    tokio::spawn(serve_with(listener, handle, None, LIMITS));
    for _ in 0..20 {
        let mut s = UnixStream::connect(&listener_path).await.unwrap();
        // A whole request but for its newline, then gone: never run.
        s.write_all(b"{\"Action\":\"DescribeVpcs\"}").await.unwrap();
        drop(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert!(ask(&path).await.contains("pong"));
}

#[tokio::test]
async fn requests_being_read_share_one_budget() {
    let dir = tempfile::tempdir().unwrap();
    let path = server(&dir).await;
    // Two requests each within `max_request`, but together past `max_buffered`: the second
    // is refused and closed, the first is still read whole and answered.
    let padding = vec![b' '; 4000];
    let mut first = UnixStream::connect(&path).await.unwrap();
    first.write_all(&padding).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut second = UnixStream::connect(&path).await.unwrap();
    second.write_all(&padding).await.unwrap();
    let line = answer(&mut second).await;
    assert!(line.contains("RequestLimitExceeded"), "{line}");
    assert!(closed(&mut second, Duration::from_secs(2)).await);
    first
        .write_all(b"{\"Action\":\"DescribeVpcs\"}\n")
        .await
        .unwrap();
    assert!(answer(&mut first).await.contains("pong"));
    // Once answered, its bytes are back: another large request fits.
    let mut third = UnixStream::connect(&path).await.unwrap();
    third.write_all(&padding).await.unwrap();
    third
        .write_all(b"{\"Action\":\"DescribeVpcs\"}\n")
        .await
        .unwrap();
    assert!(answer(&mut third).await.contains("pong"));
}

#[tokio::test]
async fn the_socket_is_root_only_and_replaces_a_stale_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sgd.sock");
    let listener = bind(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    // The private directory it was bound in is gone.
    let names = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names(dir.path()), ["sgd.sock"]);
    // A live daemon's socket is not taken over; a dead one's is replaced.
    let err = bind(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    drop(listener);
    let _again = bind(&path).unwrap();
    assert_eq!(names(dir.path()), ["sgd.sock"]);
}
