//! The request pipeline of `ec2::server`, end to end and without root (issue 14): `serve` on a
//! loopback port, requests signed with `sigv4::sign` and written as HTTP/1.1 over TCP, and a
//! fake [`Backend`] that counts the calls it gets and answers what the test chose. What is
//! pinned down here is what the endpoint refuses before the daemon sees anything (signature,
//! body size, form, operation, read-only keys) and how `DryRun` and the backend's errors come
//! back, so that none of it depends on the integration tests that need root and a venv.
//!
//! - this file: the fake backend, the signing client and the answer parser;
//! - `tests/signature.rs`: requests refused before the form is read;
//! - `tests/operations.rs`: operations, read-only keys, `DryRun`, STS, backend errors;
//! - `tests/connection.rs`: the header timeout (slow: about 10 s each).

mod connection;
mod operations;
mod signature;

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::SystemTime,
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use super::*;

/// The region the test server accepts.
const REGION: &str = "us-east-1";
/// The account the fake backend owns.
const ACCOUNT: &str = "123456789012";
/// An access key that may do everything: (id, secret).
const FULL: (&str, &str) = ("AKIDFULLACCESS", "full-access-secret");
/// An access key that may only read.
const READ: (&str, &str) = ("AKIDREADONLY", "read-only-secret");

/// What the fake's `run` does.
enum Run {
    Answer(Result<Output, ApiError>),
    Panic,
}

/// A [`Backend`] that records what reaches it and answers as told.
struct Fake {
    runs: AtomicUsize,
    checks: AtomicUsize,
    /// Every request `run` or `check` got, in order.
    requests: Mutex<Vec<Request>>,
    run: Run,
    check: Result<(), ApiError>,
    /// How many more times `key` finds a key (then it finds none, as if it was revoked).
    key_lookups_left: AtomicUsize,
}

impl Fake {
    /// `run` answers one security group, `check` passes.
    fn new() -> Self {
        Self::running(Ok(groups(1)))
    }

    fn running(answer: Result<Output, ApiError>) -> Self {
        Self {
            runs: AtomicUsize::new(0),
            checks: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            run: Run::Answer(answer),
            check: Ok(()),
            key_lookups_left: AtomicUsize::new(usize::MAX),
        }
    }

    fn panicking() -> Self {
        Self {
            run: Run::Panic,
            ..Self::new()
        }
    }

    fn checking(answer: Result<(), ApiError>) -> Self {
        Self {
            check: answer,
            ..Self::new()
        }
    }

    /// Finds keys `n` times only.
    fn forgetting_keys_after(n: usize) -> Self {
        Self {
            key_lookups_left: AtomicUsize::new(n),
            ..Self::new()
        }
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    fn checks(&self) -> usize {
        self.checks.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Backend for Fake {
    fn key(&self, access_key_id: &str) -> Option<(String, bool)> {
        self.key_lookups_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .ok()?;
        [(FULL, false), (READ, true)]
            .into_iter()
            .find(|((id, _), _)| *id == access_key_id)
            .map(|((_, secret), read_only)| (secret.to_owned(), read_only))
    }

    fn account(&self) -> String {
        ACCOUNT.to_owned()
    }

    fn check(&self, request: &Request) -> Result<(), ApiError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.requests.lock().unwrap().push(request.clone());
        self.check.clone()
    }

    fn run(&self, request: Request) -> Result<Output, ApiError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.requests.lock().unwrap().push(request);
        match &self.run {
            Run::Answer(answer) => answer.clone(),
            Run::Panic => panic!("the fake backend panics, as asked"),
        }
    }
}

/// A `DescribeSecurityGroups` output of `n` groups, `sg-1` to `sg-n`.
fn groups(n: usize) -> Output {
    let groups = (1..=n)
        .map(|i| crate::shapes::SecurityGroup {
            description: String::new(),
            group_name: format!("group-{i}"),
            ip_permissions: Vec::new(),
            owner_id: ACCOUNT.into(),
            group_id: format!("sg-{i}"),
            ip_permissions_egress: Vec::new(),
            tags: Vec::new(),
            vpc_id: "vpc-1".into(),
            security_group_arn: None,
        })
        .collect();
    crate::shapes::DescribeSecurityGroupsResult {
        security_groups: groups,
        next_token: None,
    }
    .into()
}

/// Serves `fake` on a free loopback port, in clear text, until the test's runtime ends.
async fn start(fake: Fake) -> (SocketAddr, Arc<Fake>) {
    start_with(fake, MAX_BUFFERED).await
}

/// [`start`], reading at most `max_buffered` bytes of bodies at once.
async fn start_with(fake: Fake, max_buffered: usize) -> (SocketAddr, Arc<Fake>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = Arc::new(fake);
    let settings = Settings {
        region: REGION.to_owned(),
        max_skew: sigv4::DEFAULT_MAX_SKEW,
        max_buffered,
    };
    let backend: Arc<dyn Backend> = fake.clone();
    tokio::spawn(serve(listener, None, settings, backend));
    (addr, fake)
}

/// `YYYYMMDDTHHMMSSZ`, the `X-Amz-Date` of `time`.
fn amz_date(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time)
        .to_string()
        .replace(['-', ':'], "")
}

/// A request as an AWS SDK would sign it: `host`, `x-amz-date`, the body's `content-type`
/// and any `extra` headers are signed.
#[derive(Clone)]
struct Call {
    method: &'static str,
    query: String,
    body: String,
    key: (&'static str, &'static str),
    region: &'static str,
    service: &'static str,
    time: SystemTime,
    extra: Vec<(&'static str, String)>,
}

impl Call {
    /// An EC2 form POST of `params` (`Action=…&…`), signed with the full key, now.
    fn ec2(params: &str) -> Self {
        Self {
            method: "POST",
            query: String::new(),
            body: format!("{params}&Version={EC2_VERSION}"),
            key: FULL,
            region: REGION,
            service: "ec2",
            time: SystemTime::now(),
            extra: Vec::new(),
        }
    }

    /// An EC2 GET with `params` in the URL's query.
    fn ec2_get(params: &str) -> Self {
        Self {
            method: "GET",
            query: format!("{params}&Version={EC2_VERSION}"),
            body: String::new(),
            ..Self::ec2("")
        }
    }

    /// An STS form POST of `params`.
    fn sts(params: &str) -> Self {
        Self {
            body: format!("{params}&Version={STS_VERSION}"),
            service: "sts",
            ..Self::ec2("")
        }
    }

    fn key(self, key: (&'static str, &'static str)) -> Self {
        Self { key, ..self }
    }

    fn region(self, region: &'static str) -> Self {
        Self { region, ..self }
    }

    fn service(self, service: &'static str) -> Self {
        Self { service, ..self }
    }

    fn method(self, method: &'static str) -> Self {
        Self { method, ..self }
    }

    fn at(self, time: SystemTime) -> Self {
        Self { time, ..self }
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.extra.push((name, value.to_owned()));
        self
    }

    /// The headers to send to `addr`, exactly as signed, `authorization` last.
    fn signed_headers(&self, addr: SocketAddr) -> Vec<(String, String)> {
        let mut headers = vec![
            ("host".to_owned(), addr.to_string()),
            ("x-amz-date".to_owned(), amz_date(self.time)),
        ];
        if !self.body.is_empty() {
            headers.push((
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ));
        }
        headers.extend(self.extra.iter().map(|(n, v)| ((*n).to_owned(), v.clone())));
        let borrowed: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        let request = sigv4::Request {
            method: self.method,
            path: "/",
            query: &self.query,
            headers: &borrowed,
            body: self.body.as_bytes(),
        };
        let authorization =
            sigv4::sign(&request, self.key.0, self.key.1, self.region, self.service).unwrap();
        headers.push(("authorization".to_owned(), authorization));
        headers
    }

    /// Signs and sends the request, unchanged.
    async fn send(&self, addr: SocketAddr) -> Reply {
        let headers = self.signed_headers(addr);
        send(
            addr,
            self.method,
            &self.query,
            &headers,
            self.body.as_bytes(),
        )
        .await
    }
}

/// Sends one HTTP/1.1 request to `/` with `query`, `headers` as given (plus `content-length`
/// and `connection: close`), and reads the answer.
async fn send(
    addr: SocketAddr,
    method: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Reply {
    let target = match query {
        "" => "/".to_owned(),
        q => format!("/?{q}"),
    };
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    exchange(addr, &bytes).await
}

/// Writes `bytes` on a new connection while reading the answer until the server closes it.
/// The write side stays open meanwhile (hyper may drop a request whose client half-closed).
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.split();
    // The server may answer (413) before reading everything: a failed write is not the test's
    // failure, the answer is what counts.
    let write = async {
        let _ = writer.write_all(bytes).await;
    };
    let read = async {
        let mut answer = Vec::new();
        let _ = reader.read_to_end(&mut answer).await;
        answer
    };
    let ((), answer) =
        tokio::time::timeout(Duration::from_secs(20), async { tokio::join!(write, read) })
            .await
            .expect("no answer within 20 s");
    Reply::parse(&answer)
}

/// An HTTP answer: status, headers (names lower-case) and body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn parse(raw: &[u8]) -> Self {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {head:?}"));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Self {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The text of the first `<name>` element of the body.
    fn element(&self, name: &str) -> Option<&str> {
        let start = self.body.find(&format!("<{name}>"))? + name.len() + 2;
        let len = self.body[start..].find(&format!("</{name}>"))?;
        Some(&self.body[start..start + len])
    }
}

/// `reply` is the EC2 or STS error `code` with `status`, and the backend saw nothing.
#[track_caller]
fn assert_refused(reply: &Reply, status: u16, code: &str, fake: &Fake) {
    assert_eq!(
        (reply.status, reply.element("Code")),
        (status, Some(code)),
        "{}",
        reply.body
    );
    assert_eq!(
        (fake.runs(), fake.checks()),
        (0, 0),
        "the backend was reached"
    );
}
