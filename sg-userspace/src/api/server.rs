//! Server side of the API: accepts connections on the Unix socket and hands each request line
//! to a handler.

use std::{io, os::unix::fs::PermissionsExt, path::Path, sync::Arc};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{UnixListener, UnixStream},
};
use tracing::{debug, warn};

use super::{MAX_FRAME, Request, Response};
use crate::model::ApiError;

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

/// Serves connections until the listener fails. `handle` runs each request to completion.
pub async fn serve<H>(listener: UnixListener, handle: Arc<H>) -> io::Result<()>
where
    H: Fn(Request) -> Response + Send + Sync + 'static,
{
    loop {
        let (stream, _) = listener.accept().await?;
        let handle = handle.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, handle).await {
                debug!(error = %e, "client connection ended with an error");
            }
        });
    }
}

async fn connection<H>(stream: UnixStream, handle: Arc<H>) -> io::Result<()>
where
    H: Fn(Request) -> Response + Send + Sync + 'static,
{
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read.take(MAX_FRAME as u64));
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let resp = match serde_json::from_str::<Request>(&line) {
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
        let mut out = serde_json::to_vec(&resp).expect("responses always serialise");
        out.push(b'\n');
        write.write_all(&out).await?;
    }
}
