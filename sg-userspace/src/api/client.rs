//! Client side of the API: one request, one response, over the daemon's Unix socket.

use std::{
    io::{BufRead, BufReader, Read, Write},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
};

use super::{MAX_FRAME, Request, Response, Streamed};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "could not connect to sgd at {path}: {source} (is sgd running? see --socket / SG_SOCKET)"
    )]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("talking to sgd failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("sgd sent an invalid response: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("sgd closed the connection without answering")]
    Closed,
}

pub fn call(socket: &Path, req: &Request) -> Result<Response, ClientError> {
    let mut reader = BufReader::new(send(socket, req)?.take(MAX_FRAME as u64));
    let mut resp = String::new();
    if reader.read_line(&mut resp)? == 0 {
        return Err(ClientError::Closed);
    }
    Ok(serde_json::from_str(&resp)?)
}

/// Connects to sgd and sends one request line.
fn send(socket: &Path, req: &Request) -> Result<UnixStream, ClientError> {
    let mut stream = UnixStream::connect(socket).map_err(|source| ClientError::Connect {
        path: socket.to_owned(),
        source,
    })?;
    let mut line = serde_json::to_vec(req)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    Ok(stream)
}

/// Sends a request whose answer is a stream (`Observe`): returns sgd's answer if it refused;
/// else hands `each` every line that follows, until sgd closes the stream.
pub fn stream(
    socket: &Path,
    req: &Request,
    mut each: impl FnMut(Streamed),
) -> Result<Response, ClientError> {
    let mut reader = BufReader::new(send(socket, req)?);
    let mut resp = String::new();
    if reader.read_line(&mut resp)? == 0 {
        return Err(ClientError::Closed);
    }
    let first: Response = serde_json::from_str(&resp)?;
    if let Response::Error(_) = first {
        return Ok(first);
    }
    loop {
        resp.clear();
        if reader.read_line(&mut resp)? == 0 {
            return Ok(first);
        }
        each(serde_json::from_str(&resp)?);
    }
}
