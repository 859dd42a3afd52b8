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

/// Binds the socket. A live daemon already listening there is an error; a stale socket file
/// left by a dead one is removed.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    refuse_if_live(path)?;
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let listener = UnixListener::bind(path)?;
    // Changing the firewall is an administrator's privilege.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// What one client may take of the server (issue 17, hostile clients): the server answers
/// past these with an error, or closes that connection, and serves the others.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of one request line.
    pub max_request: usize,
    /// How long a connection may take to send its next request, whole.
    pub request_timeout: std::time::Duration,
    /// Connections served at once (an observer holds one while it watches).
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request: MAX_FRAME,
            request_timeout: std::time::Duration::from_secs(60),
            max_connections: 256,
        }
    }
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
    // Refusals of a burst are logged once, with how many there were.
    let mut refused = 0u64;
    let mut last_logged: Option<std::time::Instant> = None;
    loop {
        let (stream, _) = listener.accept().await?;
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused += 1;
            if last_logged.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(10)) {
                warn!(
                    refused,
                    max = limits.max_connections,
                    "too many API connections: refusing new ones"
                );
                last_logged = Some(std::time::Instant::now());
                refused = 0;
            }
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
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = connection(stream, handle, observing, limits).await {
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
}

/// Reads the next request line: at most `max` bytes, within the timeout.
async fn next_request(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    line: &mut String,
    limits: Limits,
) -> io::Result<Result<(), Refused>> {
    line.clear();
    let mut limited = (&mut *reader).take(limits.max_request as u64 + 1);
    match tokio::time::timeout(limits.request_timeout, limited.read_line(line)).await {
        Err(_) => Ok(Err(Refused::TooSlow)),
        Ok(Ok(0)) => Ok(Err(Refused::Closed)),
        Ok(Ok(n)) if n > limits.max_request || !line.ends_with('\n') => {
            // A line cut by the limit, or the client's end before its newline.
            Ok(Err(if n > limits.max_request {
                Refused::TooLarge
            } else {
                Refused::Closed
            }))
        }
        Ok(Ok(_)) => Ok(Ok(())),
        Ok(Err(e)) => Err(e),
    }
}

async fn connection<H>(
    stream: UnixStream,
    handle: Arc<H>,
    observing: Option<Arc<Observing>>,
    limits: Limits,
) -> io::Result<()>
where
    H: Fn(Request) -> Response + Send + Sync + 'static,
{
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    loop {
        match next_request(&mut reader, &mut line, limits).await? {
            Ok(()) => {}
            Err(Refused::Closed) => return Ok(()),
            Err(Refused::TooLarge) => {
                warn!(
                    max = limits.max_request,
                    "an API request too large: connection closed"
                );
                let e = ApiError::new(
                    "RequestTooLarge",
                    format!("a request may be at most {} bytes", limits.max_request),
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
        }
        let resp = match serde_json::from_str::<Request>(&line) {
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
