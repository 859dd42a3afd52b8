//! The HTTP endpoint (`sgd --api-listen`): EC2 Query API and STS `GetCallerIdentity` for
//! the AWS clients people already run, pointed at sgd with their endpoint override.
//!
//! Every request is checked in this order, and the first failure answers: the body's size,
//! the SigV4 signature (`sigv4`; unknown key, bad signature, expired date, wrong region), the
//! form (`form`), the operation (`InvalidAction` if sgd does not serve it), its parameters
//! (`decode`), the key's right to change things (`UnauthorizedOperation` for a read-only key),
//! then `DryRun` (validated, answers `DryRunOperation`, changes nothing) or the operation.
//! Client errors are 4xx, never 5xx: clients retry 5xx.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, SystemTime},
};

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{
    Request as HttpRequest, Response as HttpResponse, StatusCode, body::Bytes, body::Incoming,
    header, server::conn::http1, service::service_fn,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

use super::{
    decode, encode,
    form::Params,
    idempotency::{Seen, Tokens},
    sigv4::{self, Service},
    xml,
};
use crate::{
    api::{Output, Request},
    model::ApiError,
};

/// Largest request body read (form-encoded parameters; the largest legitimate calls, an
/// authorize with many permissions, are tens of KiB).
pub const MAX_BODY: usize = 1 << 20;

/// Bytes of request bodies being read at once, all connections together (32 bodies of the
/// largest size); a request past it is answered 503 `RequestLimitExceeded`, which every AWS
/// client retries after a pause.
pub const MAX_BUFFERED: usize = 32 * MAX_BODY;

/// Bytes of one request's line and headers (hyper's read buffer; its default is ~400 KiB).
const MAX_HEAD: usize = 64 * 1024;

/// Connections served at once; more wait in the kernel's accept queue.
pub const MAX_CONNECTIONS: usize = 256;

/// How long a client may take to send a request's headers, and its TLS handshake.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The EC2 Query API version every client sends.
pub const EC2_VERSION: &str = "2016-11-15";
/// STS's.
pub const STS_VERSION: &str = "2011-06-15";

/// What the endpoint needs of the daemon.
pub trait Backend: Send + Sync + 'static {
    /// The secret of an access key, and whether the key may only read.
    fn key(&self, access_key_id: &str) -> Option<(String, bool)>;
    /// The account every resource belongs to (`ownerId`).
    fn account(&self) -> String;
    /// Checks a request as if it ran, changing nothing (`DryRun`).
    fn check(&self, request: &Request) -> Result<(), ApiError>;
    /// Runs a request.
    fn run(&self, request: Request) -> Result<Output, ApiError>;
    /// Runs a request, with the revision of the shared state it committed (a fleet's write;
    /// sent back as `x-sgd-revision`). By default, [`Backend::run`] and no revision.
    fn run_revision(&self, request: Request) -> (Result<Output, ApiError>, Option<i64>) {
        (self.run(request), None)
    }
}

/// How the endpoint is set up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The region requests must be signed for.
    pub region: String,
    /// The allowed difference between a request's date and this host's clock.
    pub max_skew: Duration,
    /// Bytes of request bodies being read at once ([`MAX_BUFFERED`]).
    pub max_buffered: usize,
}

/// Serves HTTP (or HTTPS with `tls`) on `listener` until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    settings: Settings,
    backend: Arc<dyn Backend>,
) {
    let bodies = Arc::new(tokio::sync::Semaphore::new(settings.max_buffered));
    let settings = Arc::new(settings);
    let tokens = Arc::new(Tokens::default());
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        // A connection holds one slot until it ends: a client that opens many (or sends
        // slowly) cannot take every descriptor of the daemon.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "accepting an API connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Answers go out at once (headers and body are separate writes; with Nagle, a client
        // that delays its ACKs would wait 40 ms for the second).
        let _ = stream.set_nodelay(true);
        let shared = Shared {
            settings: settings.clone(),
            tokens: tokens.clone(),
            bodies: bodies.clone(),
        };
        let (backend, tls) = (backend.clone(), tls.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let service = service_fn(move |req| {
                let (shared, backend) = (shared.clone(), backend.clone());
                async move { Ok::<_, Infallible>(answer(req, peer, &shared, backend).await) }
            });
            // Headers must arrive in time (hyper enforces it only with a timer), also between
            // the requests of a kept-alive connection, and fit in `MAX_HEAD`.
            let mut http = http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEAD);
            let result = match tls {
                Some(tls) => match tokio::time::timeout(HEADER_TIMEOUT, tls.accept(stream)).await {
                    Ok(Ok(s)) => http.serve_connection(TokioIo::new(s), service).await,
                    Ok(Err(e)) => {
                        debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                },
                None => http.serve_connection(TokioIo::new(stream), service).await,
            };
            if let Err(e) = result {
                debug!(%peer, error = %e, "API connection ended");
            }
        });
    }
}

/// What every request of the endpoint shares.
#[derive(Clone)]
struct Shared {
    settings: Arc<Settings>,
    tokens: Arc<Tokens>,
    /// Bytes of `settings.max_buffered` not taken by bodies being read.
    bodies: Arc<tokio::sync::Semaphore>,
}

/// One answer: status, and the XML body.
struct Answer {
    status: u16,
    body: String,
}

async fn answer(
    req: HttpRequest<Incoming>,
    peer: SocketAddr,
    shared: &Shared,
    backend: Arc<dyn Backend>,
) -> HttpResponse<Full<Bytes>> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut revision = None;
    let a = handle(req, shared, backend, &request_id, &mut revision).await;
    debug!(%peer, status = a.status, request_id, "API request answered");
    let mut builder = HttpResponse::builder();
    if let Some(rev) = revision {
        // In a fleet: the revision of the shared state the write committed (sgd's own).
        builder = builder.header("x-sgd-revision", rev.to_string());
    }
    builder
        .status(StatusCode::from_u16(a.status).unwrap_or(StatusCode::BAD_REQUEST))
        .header(header::CONTENT_TYPE, "text/xml;charset=UTF-8")
        .header("x-amzn-RequestId", &request_id)
        // Some SDKs correct their clock with it.
        .header(header::DATE, httpdate::fmt_http_date(SystemTime::now()))
        .body(Full::new(Bytes::from(a.body)))
        .unwrap_or_else(|_| HttpResponse::new(Full::new(Bytes::new())))
}

fn ec2_error(status: u16, e: &ApiError, request_id: &str) -> Answer {
    Answer {
        status,
        body: xml::ec2_error(e, request_id),
    }
}

/// The HTTP status of an operation's error: 5xx only when sgd itself failed (clients retry
/// those), 400 for everything the request got wrong.
fn status_of(e: &ApiError) -> u16 {
    match e.code.as_str() {
        "InternalError" => 500,
        "Unavailable" | "RequestLimitExceeded" => 503,
        "UnauthorizedOperation" => 403,
        "DryRunOperation" => 412,
        _ => 400,
    }
}

async fn handle(
    req: HttpRequest<Incoming>,
    shared: &Shared,
    backend: Arc<dyn Backend>,
    request_id: &str,
    revision: &mut Option<i64>,
) -> Answer {
    let (settings, tokens) = (&*shared.settings, &*shared.tokens);
    let (parts, body) = req.into_parts();
    if parts.method != hyper::Method::POST && parts.method != hyper::Method::GET {
        return ec2_error(
            405,
            &ApiError::new(
                "InvalidAction",
                format!("The HTTP method {} is not supported.", parts.method),
            ),
            request_id,
        );
    }
    let query = parts.uri.query().unwrap_or("");
    let headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let mut signed = sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query,
        headers: &headers,
        body: &[],
    };
    // Errors before the signature is checked are worded for the service the request names.
    let claimed = Service::claimed_by(&signed).unwrap_or(Service::Ec2);
    // The signature covers the query with `+` as a literal plus, while form decoding reads it
    // as a space: refused, so that what was signed is what is read.
    if query.contains('+') {
        let err = ApiError::new(
            "MalformedQueryString",
            "A '+' in the query string is ambiguous: encode a space as %20 and a plus as %2B.",
        );
        return service_error(claimed, 400, &err, request_id);
    }
    let now = SystemTime::now();
    let mut policy = sigv4::Policy::new(&settings.region, &["ec2", "sts"], now);
    policy.max_skew = settings.max_skew;
    let lookup = |id: &str| backend.key(id).map(|(secret, _)| secret);
    let refuse = |e: sigv4::SigV4Error| {
        // Debug, not info: anyone can send unsigned requests, and must not fill the log.
        debug!(error = %e, "API request refused: signature");
        let err = ApiError::new(e.code(claimed), e.message(claimed));
        service_error(claimed, e.status(claimed), &err, request_id)
    };
    // Whatever can be refused on the headers is, before the body is read: a client without a
    // key, or with a stale date or another region, cannot make sgd read and hold a body.
    if let Err(e) = sigv4::precheck(&signed, &policy, &lookup) {
        return refuse(e);
    }
    let too_large = || {
        let err = ApiError::invalid_value(format!(
            "The request body is larger than {MAX_BODY} bytes or was cut short."
        ));
        service_error(claimed, 413, &err, request_id)
    };
    // The body's bytes are taken from the shared budget before it is read (all of
    // `MAX_BODY` when its length is not announced), and given back once it is answered.
    let announced = hyper::body::Body::size_hint(&body).upper();
    if announced.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large();
    }
    let want = announced.map_or(MAX_BODY, |n| n as usize);
    let Some(_budget) = u32::try_from(want)
        .ok()
        .and_then(|n| shared.bodies.clone().try_acquire_many_owned(n).ok())
    else {
        debug!(
            bytes = want,
            "API request refused: too many bodies being read"
        );
        let err = ApiError::new(
            "RequestLimitExceeded",
            "sgd is reading too many requests at once; try again.",
        );
        return service_error(claimed, 503, &err, request_id);
    };
    let body =
        match tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY).collect()).await {
            Ok(Ok(b)) => b.to_bytes(),
            Ok(Err(_)) | Err(_) => return too_large(),
        };
    signed.body = &body;
    let verified = match sigv4::verify(&signed, &policy, &lookup) {
        Ok(v) => v,
        Err(e) => return refuse(e),
    };
    let service = Service::from_scope(&verified.service).unwrap_or(Service::Ec2);
    if verified.session_token.is_some() {
        // sgd issues no temporary credentials, so no session token can be valid.
        let (code, status) = match service {
            Service::Sts => ("InvalidClientTokenId", 403),
            Service::Ec2 => ("AuthFailure", 401),
        };
        let err = ApiError::new(
            code,
            "The security token included in the request is invalid.",
        );
        return service_error(service, status, &err, request_id);
    }
    let read_only = backend
        .key(&verified.access_key_id)
        .is_none_or(|(_, read_only)| read_only);
    let params = match Params::parse(query, &body) {
        Ok(p) => p,
        Err(e) => return form_error(service, &e, request_id),
    };
    let action = match params.action() {
        Ok(a) => a.to_owned(),
        Err(e) => return form_error(service, &e, request_id),
    };
    match service {
        Service::Sts => sts(
            &action,
            &params,
            &verified.access_key_id,
            backend,
            request_id,
        ),
        Service::Ec2 => {
            ec2(
                &action, &params, read_only, backend, tokens, request_id, revision,
            )
            .await
        }
    }
}

fn form_error(service: Service, e: &super::form::FormError, request_id: &str) -> Answer {
    service_error(service, 400, &ApiError::from(e.clone()), request_id)
}

/// An error in the envelope of the service the request is for (EC2's `<Response><Errors>`,
/// STS's `<ErrorResponse>`).
fn service_error(service: Service, status: u16, err: &ApiError, request_id: &str) -> Answer {
    Answer {
        status,
        body: match service {
            Service::Sts => xml::sts_error(err, request_id),
            Service::Ec2 => xml::ec2_error(err, request_id),
        },
    }
}

fn sts(
    action: &str,
    params: &Params,
    access_key_id: &str,
    backend: Arc<dyn Backend>,
    request_id: &str,
) -> Answer {
    if action != "GetCallerIdentity" {
        let err = ApiError::new(
            "InvalidAction",
            format!("Could not find operation {action} for version {STS_VERSION}"),
        );
        return service_error(Service::Sts, 400, &err, request_id);
    }
    if let Err(e) = params.deny_unused() {
        return form_error(Service::Sts, &e, request_id);
    }
    let account = backend.account();
    let mut w = xml::XmlWriter::sts_response("GetCallerIdentity", request_id);
    w.text("UserId", access_key_id)
        .text("Account", &account)
        .text(
            "Arn",
            format!("arn:aws:iam::{account}:user/{}", super::keys::USER_NAME),
        );
    Answer {
        status: 200,
        body: w.finish(),
    }
}

async fn ec2(
    action: &str,
    params: &Params,
    read_only: bool,
    backend: Arc<dyn Backend>,
    tokens: &Tokens,
    request_id: &str,
    revision: &mut Option<i64>,
) -> Answer {
    let Some(&(name, _)) = decode::OPERATIONS.iter().find(|(a, _)| *a == action) else {
        return ec2_error(
            400,
            &ApiError::new(
                "InvalidAction",
                format!("The action {action} is not valid for this web service."),
            ),
            request_id,
        );
    };
    let decoded = match decode::decode(name, params) {
        Some(Ok(d)) => d,
        Some(Err(e)) => return form_error(Service::Ec2, &e, request_id),
        None => unreachable!("every listed operation decodes"),
    };
    if decoded.writes && read_only {
        return ec2_error(
            403,
            &ApiError::new(
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            ),
            request_id,
        );
    }
    let request = decoded.request;
    let dry_run = decoded.dry_run;
    let page = decoded.page;
    // A retried create with its idempotency token answers what the first call did.
    let token = (!dry_run && super::idempotency::OPERATIONS.contains(&name))
        .then(|| params.get("ClientToken"))
        .flatten()
        .map(|t| (t.to_owned(), params.digest(&["ClientToken", "DryRun"])));
    if let Some((t, digest)) = &token {
        match tokens.seen(t, digest) {
            Ok(Seen::Again(output)) => {
                return Answer {
                    status: 200,
                    body: encode::response(name, request_id, &output),
                };
            }
            Ok(Seen::New) => {}
            Err(e) => return ec2_error(400, &e, request_id),
        }
    }
    // The daemon's core is synchronous and behind a lock: off the async workers.
    let outcome = tokio::task::spawn_blocking(move || {
        if dry_run {
            let checked = match backend.check(&request) {
                Ok(()) => Err(ApiError::new(
                    "DryRunOperation",
                    "Request would have succeeded, but DryRun flag is set.",
                )),
                Err(e) => Err(e),
            };
            (checked, None)
        } else {
            backend.run_revision(request)
        }
    })
    .await
    .map(|(outcome, rev)| {
        *revision = rev;
        outcome
    });
    match outcome {
        Ok(Ok(mut output)) => {
            if let Some((t, digest)) = &token {
                tokens.remember(t, digest, &output);
            }
            if let Some(page) = &page
                && let Err(e) = super::page::cut(&mut output, page)
            {
                return ec2_error(status_of(&e), &e, request_id);
            }
            Answer {
                status: 200,
                body: encode::response(name, request_id, &output),
            }
        }
        Ok(Err(e)) => ec2_error(status_of(&e), &e, request_id),
        Err(e) => {
            // A panic's text stays in the log, not in the answer.
            tracing::error!(error = %e, request_id, "an API request failed inside sgd");
            ec2_error(
                500,
                &ApiError::internal("the request could not be carried out"),
                request_id,
            )
        }
    }
}

/// Refuses to serve in clear text on an address other hosts can reach, unless `forced`:
/// SigV4 protects a request's integrity, not its confidentiality.
pub fn check_plain_http(addr: SocketAddr, tls: bool, forced: bool) -> anyhow::Result<()> {
    if tls || forced || addr.ip().is_loopback() {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to serve the API without TLS on {addr}, which other hosts can reach: give \
         --api-tls-cert and --api-tls-key, listen on a loopback address (behind a TLS proxy), \
         or force it with --api-insecure-http"
    )
}

/// A TLS acceptor from PEM files: the certificate chain and its private key.
pub fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<TlsAcceptor> {
    use anyhow::Context as _;
    use tokio_rustls::rustls::{
        self,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _},
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing certificates in {}", cert.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key {}", key.display()))?;
    // ring, not aws-lc-rs: it builds without cmake or a C toolchain beyond cc. rustls 0.23.48
    // deprecates its provider for lacking post-quantum key exchange; the classic suites it
    // offers are what the AWS SDKs negotiate today.
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not fit together")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests;
