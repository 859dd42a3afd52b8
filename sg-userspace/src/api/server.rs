//! Server side of the API: accepts connections on the Unix socket and hands each request line
//! to a handler.

use std::{io, os::unix::fs::PermissionsExt, path::Path, sync::Arc};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{UnixListener, UnixStream},
};
use tracing::{debug, warn};

use super::{MAX_FRAME, ObserveRequest, ObservedEvent, Request, Response, Streamed};
use crate::model::ApiError;

/// What the server needs to stream decisions to `Observe` requests: the daemon's events, and
/// how to start and stop watching for one observer (its interfaces' events switch on while
/// anyone watches them).
pub struct Observing {
    pub events: tokio::sync::broadcast::Sender<std::sync::Arc<ObservedEvent>>,
    /// Checks the request and starts watching: the observer's id, and its request with the
    /// interface named as events name it.
    #[allow(clippy::type_complexity)]
    pub start:
        Box<dyn Fn(&ObserveRequest) -> Result<(u64, ObserveRequest), ApiError> + Send + Sync>,
    pub stop: Box<dyn Fn(u64) + Send + Sync>,
}

/// Fails if a live daemon is listening on the socket.
pub fn refuse_if_live(path: &Path) -> io::Result<()> {
    if path.exists() && std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("another sgd is already listening on {}", path.display()),
        ));
    }
    Ok(())
}

/// Binds the socket, root-only from its first moment. A live daemon already listening there
/// is an error; a stale socket file left by a dead one is replaced.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    refuse_if_live(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    // Changing the firewall is an administrator's privilege. A socket is created with the
    // umask's mode and could only be narrowed after `bind`, so it is bound inside a private
    // directory (0700), narrowed there, and only then renamed into place: no client but root
    // can ever reach it. (The umask is the process's, shared with every thread: not touched.)
    let private = tempfile::Builder::new()
        .prefix(".sgd-bind-")
        .tempdir_in(dir)?;
    let inner = private.path().join("s");
    let listener = UnixListener::bind(&inner)?;
    std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&inner, path)?;
    Ok(listener)
}

/// What clients may take of the server (issue 17, hostile clients): the server answers past
/// these with an error, or closes that connection, and serves the others.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of one request line.
    pub max_request: usize,
    /// Bytes of requests being read at once, all connections together: many clients each
    /// sending a request just under `max_request` cannot make sgd hold them all.
    pub max_buffered: usize,
    /// How long a connection may take to send its next request, whole.
    pub request_timeout: std::time::Duration,
    /// Connections served at once (an observer holds one while it watches).
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request: MAX_FRAME,
            max_buffered: 2 * MAX_FRAME,
            request_timeout: std::time::Duration::from_secs(60),
            max_connections: 256,
        }
    }
}

/// Logs a kind of refusal at most once per 10 s, with how many there were since: a flood of
/// hostile clients cannot flood the log.
struct Refusals {
    what: &'static str,
    state: std::sync::Mutex<(Option<std::time::Instant>, u64)>,
}

impl Refusals {
    const fn new(what: &'static str) -> Self {
        Self {
            what,
            state: std::sync::Mutex::new((None, 0)),
        }
    }

    fn note(&self, limit: usize) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.1 += 1;
        if state
            .0
            .is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(10))
        {
            warn!(refused = state.1, limit, "{}", self.what);
            *state = (Some(std::time::Instant::now()), 0);
        }
    }
}

/// What every connection of one server shares.
struct Shared {
    limits: Limits,
    /// Bytes of `limits.max_buffered` not taken by requests being read.
    buffered: Arc<tokio::sync::Semaphore>,
    too_many: Refusals,
    too_large: Refusals,
    too_much: Refusals,
}

/// Serves connections until the listener fails. `handle` runs each request to completion.
pub async fn serve<H>(
    listener: UnixListener,
    handle: Arc<H>,
    observing: Option<Arc<Observing>>,
) -> io::Result<()>
where
    H: Fn(Request) -> Response + Send + Sync + 'static,
{
    serve_with(listener, handle, observing, Limits::default()).await
}

/// [`serve`] within `limits`.
pub async fn serve_with<H>(
    listener: UnixListener,
    handle: Arc<H>,
    observing: Option<Arc<Observing>>,
    limits: Limits,
) -> io::Result<()>
where
    H: Fn(Request) -> Response + Send + Sync + 'static,
{
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let shared = Arc::new(Shared {
        limits,
        buffered: Arc::new(tokio::sync::Semaphore::new(limits.max_buffered)),
        too_many: Refusals::new("too many API connections: refusing new ones"),
        too_large: Refusals::new("API requests too large: connections closed"),
        too_much: Refusals::new(
            "too many bytes of API requests being read at once: connections refused",
        ),
    });
    loop {
        let (stream, _) = listener.accept().await?;
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            shared.too_many.note(limits.max_connections);
            tokio::spawn(async move {
                let (_, mut write) = stream.into_split();
                let busy = Response::Error(ApiError::new(
                    "RequestLimitExceeded",
                    "sgd is serving too many connections; try again",
                ));
                let _ = tokio::time::timeout(limits.request_timeout, send(&mut write, &busy)).await;
            });
            continue;
        };
        let handle = handle.clone();
        let observing = observing.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = connection(stream, handle, observing, &shared).await {
                debug!(error = %e, "client connection ended with an error");
            }
        });
    }
}

/// Why a connection's next request could not be read.
enum Refused {
    Closed,
    TooLarge,
    TooSlow,
    /// The bytes being read by all connections reached `max_buffered`.
    TooMuch,
}

/// Reads the next request line into `line`: at most `max_request` bytes, within the timeout,
/// holding its bytes of the shared budget (returned, to be held until the request is done).
async fn next_request(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    line: &mut Vec<u8>,
    shared: &Shared,
) -> io::Result<Result<Option<tokio::sync::OwnedSemaphorePermit>, Refused>> {
    line.clear();
    let limits = shared.limits;
    let read = async {
        let mut held: Option<tokio::sync::OwnedSemaphorePermit> = None;
        loop {
            let buf = reader.fill_buf().await?;
            if buf.is_empty() {
                // The client's end, before any request or before its newline: nothing runs.
                return Ok(Err(Refused::Closed));
            }
            let (take, whole) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            // The newline is not counted: a request of exactly `max_request` bytes is one.
            if line.len() + take - usize::from(whole) > limits.max_request {
                return Ok(Err(Refused::TooLarge));
            }
            let Some(permit) = u32::try_from(take)
                .ok()
                .and_then(|n| shared.buffered.clone().try_acquire_many_owned(n).ok())
            else {
                return Ok(Err(Refused::TooMuch));
            };
            match &mut held {
                Some(h) => h.merge(permit),
                None => held = Some(permit),
            }
            line.extend_from_slice(&buf[..take]);
            reader.consume(take);
            if whole {
                return Ok(Ok(held));
            }
        }
    };
    match tokio::time::timeout(limits.request_timeout, read).await {
        Err(_) => Ok(Err(Refused::TooSlow)),
        Ok(r) => r,
    }
}

async fn connection<H>(
    stream: UnixStream,
    handle: Arc<H>,
    observing: Option<Arc<Observing>>,
    shared: &Shared,
) -> io::Result<()>
where
    H: Fn(Request) -> Response + Send + Sync + 'static,
{
    let limits = shared.limits;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        let held = match next_request(&mut reader, &mut line, shared).await? {
            Ok(held) => held,
            Err(Refused::Closed) => return Ok(()),
            Err(Refused::TooLarge) => {
                shared.too_large.note(limits.max_request);
                let e = ApiError::new(
                    "RequestTooLarge",
                    format!("a request may be at most {} bytes", limits.max_request),
                );
                return send(&mut write, &Response::Error(e)).await;
            }
            Err(Refused::TooMuch) => {
                shared.too_much.note(limits.max_buffered);
                let e = ApiError::new(
                    "RequestLimitExceeded",
                    "sgd is reading too many large requests at once; try again",
                );
                return send(&mut write, &Response::Error(e)).await;
            }
            Err(Refused::TooSlow) => {
                debug!(
                    timeout = ?limits.request_timeout,
                    "an API client sent no whole request in time: connection closed"
                );
                return Ok(());
            }
        };
        let parsed = serde_json::from_slice::<Request>(&line);
        // A large line's buffer goes back to the system before the request runs; its bytes of
        // the budget stay taken until it is answered (the parsed request is about as large).
        if line.capacity() > 64 * 1024 {
            line = Vec::new();
        }
        let resp = match parsed {
            Ok(Request::Observe(req)) => match &observing {
                Some(o) => return observe(o.clone(), req, reader, write).await,
                None => Response::Error(ApiError::new(
                    "Unavailable",
                    "this sgd has no flow events to observe",
                )),
            },
            Ok(req) => {
                let handle = handle.clone();
                tokio::task::spawn_blocking(move || handle(req))
                    .await
                    .unwrap_or_else(|e| {
                        warn!(error = %e, "request handler panicked");
                        Response::Error(ApiError::internal("the request failed inside sgd"))
                    })
            }
            Err(e) => Response::Error(ApiError::new(
                "InvalidRequest",
                format!("malformed request: {e}"),
            )),
        };
        send(&mut write, &resp).await?;
        drop(held);
    }
}

/// Writes one response line.
async fn send(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    v: &impl serde::Serialize,
) -> io::Result<()> {
    let mut out = serde_json::to_vec(v).expect("responses always serialise");
    out.push(b'\n');
    write.write_all(&out).await
}

/// Streams the decisions `req` selects until the client goes (its end of the socket closes,
/// or a write fails); the observer stops watching then, whatever happened.
async fn observe(
    o: Arc<Observing>,
    req: ObserveRequest,
    mut reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    mut write: tokio::net::unix::OwnedWriteHalf,
) -> io::Result<()> {
    // Subscribed before the events switch on, so none is missed.
    let mut events = o.events.subscribe();
    let started = {
        let (o, req) = (o.clone(), req.clone());
        tokio::task::spawn_blocking(move || (o.start)(&req))
            .await
            .unwrap_or_else(|_| Err(ApiError::internal("observe failed inside sgd")))
    };
    let (id, req) = match started {
        Ok(started) => started,
        Err(e) => return send(&mut write, &Response::Error(e)).await,
    };
    let streamed = async {
        send(&mut write, &Response::Ok(serde_json::Value::Null)).await?;
        // Whatever the client sends now is read into this and dropped: nothing it sends can
        // make the server hold more.
        let mut rest = [0u8; 256];
        loop {
            tokio::select! {
                got = events.recv() => match got {
                    Ok(e) if crate::observe::selects(&req, &e) => {
                        send(&mut write, &Streamed::Event(Box::new((*e).clone()))).await?;
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        send(&mut write, &Streamed::Lost(n)).await?;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                },
                // The client sends nothing more: end of input means it went.
                n = reader.read(&mut rest) => {
                    if n? == 0 {
                        return Ok(());
                    }
                }
            }
        }
    };
    let r: io::Result<()> = streamed.await;
    let _ = tokio::task::spawn_blocking(move || (o.stop)(id)).await;
    r
}

#[cfg(test)]
mod tests;
