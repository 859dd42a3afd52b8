//! Serving: [`run`] opens the [`Core`], answers the API socket one request at a time, keeps
//! interfaces and addresses current (netlink events, a timer as safety net), sweeps expired
//! flows, serves the metrics when asked, and on shutdown leaves the datapath pinned so the
//! interfaces stay protected until the next sgd.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context as _;
use tracing::{info, warn};

use super::{Config, Core, metrics};
use crate::api::{Request, server};

/// The lease of a fleet host's liveness record: a host that stops renewing it for this long
/// is shown as down (its interfaces stay, as a stopped instance keeps its ENI).
const HOST_TTL: Duration = Duration::from_secs(15);

/// How often expired tracked flows are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Runs the daemon until `shutdown` completes.
pub async fn run(cfg: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    // Refuse early if another daemon serves this socket; listen only once ready, so a client
    // that connects finds the datapath loaded and the interfaces protected.
    server::refuse_if_live(&cfg.socket)?;
    if let Some(api) = &cfg.api {
        // Refused before anything is loaded or bound.
        crate::ec2::server::check_plain_http(api.listen, api.tls.is_some(), api.insecure_http)?;
    }
    let core = Core::open(&cfg)?;
    let listener =
        server::bind(&cfg.socket).with_context(|| format!("binding {}", cfg.socket.display()))?;
    let core = Arc::new(Mutex::new(core));
    info!(socket = %cfg.socket.display(), "sgd ready");
    let handler = {
        let core = core.clone();
        Arc::new(move |req: Request| {
            let resp = core.lock().unwrap_or_else(|p| p.into_inner()).handle(req);
            // Free the rulesets this request replaced while the reply goes out: they were
            // unreachable from the switch on, so enforcement never waits for it.
            let core = core.clone();
            tokio::runtime::Handle::current().spawn_blocking(move || {
                core.lock().unwrap_or_else(|p| p.into_inner()).reclaim();
            });
            resp
        })
    };
    // In a fleet: follow the shared state (each update applied under the lock, off the async
    // workers), and keep this host's liveness record.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let record = core
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .start_following(tx);
    if let Some(f) = record {
        let core = core.clone();
        tokio::spawn(async move {
            while let Some(update) = rx.recv().await {
                let core = core.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    core.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .apply_update(update);
                })
                .await;
            }
        });
        let started = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let host = f.host.clone();
        f.etcd.keep_host_alive(f.host, HOST_TTL, move || {
            serde_json::json!({
                "HostId": host,
                "AppliedRevision": f.applied.load(std::sync::atomic::Ordering::Relaxed),
                "Started": started,
                "Version": env!("CARGO_PKG_VERSION"),
            })
            .to_string()
        });
    }
    // The datapath's own log lines, as the programs write them.
    let logger = core
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take_datapath_logger();
    if let Some(logger) = logger {
        tokio::spawn(read_datapath_log(logger));
    }
    // Link and address events trigger a refresh at once; the timer is the safety net.
    let changed = Arc::new(tokio::sync::Notify::new());
    if let Err(e) = crate::watch::spawn(changed.clone()) {
        warn!(error = %e, "cannot watch netlink; interfaces and addresses are polled only");
    }
    let refresher = {
        let core = core.clone();
        let every = cfg.refresh;
        async move {
            let mut tick = tokio::time::interval(every);
            let mut last_sweep = std::time::Instant::now();
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = changed.notified() => {}
                }
                let sweep = last_sweep.elapsed() >= SWEEP_EVERY;
                if sweep {
                    last_sweep = std::time::Instant::now();
                }
                let core = core.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    let mut core = core.lock().unwrap_or_else(|p| p.into_inner());
                    core.refresh();
                    // Rulesets that address changes replaced are freed here, with no
                    // request to wait for.
                    core.reclaim();
                    if sweep {
                        core.sweep();
                    }
                    core.flow_logs_tick(false);
                })
                .await;
            }
        }
    };
    if let Some(api) = &cfg.api {
        let tls = match &api.tls {
            Some((cert, key)) => Some(crate::ec2::server::tls_acceptor(cert, key)?),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(api.listen)
            .await
            .with_context(|| format!("binding {}", api.listen))?;
        info!(
            addr = %api.listen,
            region = %cfg.region,
            tls = tls.is_some(),
            "serving the EC2 Query API"
        );
        let settings = crate::ec2::server::Settings {
            region: cfg.region.clone(),
            max_skew: crate::ec2::sigv4::DEFAULT_MAX_SKEW,
            max_buffered: crate::ec2::server::MAX_BUFFERED,
        };
        tokio::spawn(crate::ec2::server::serve(
            listener,
            tls,
            settings,
            Arc::new({
                let c = core.lock().unwrap_or_else(|p| p.into_inner());
                CoreBackend {
                    keys: c.shared_keys(),
                    account: c.account(),
                    core: core.clone(),
                }
            }),
        ));
    }
    if let Some(addr) = cfg.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        info!(%addr, "serving metrics");
        tokio::spawn(metrics::serve_metrics(listener, core.clone()));
    }
    let result = tokio::select! {
        r = server::serve(listener, handler, Some(observing(&core))) => r.context("serving the API"),
        () = refresher => Ok(()),
        () = shutdown => Ok(()),
    };
    info!("sgd stopping");
    // The flow logs' open windows, cut short, are written: nothing counted is lost.
    let closing = core.clone();
    let _ = tokio::task::spawn_blocking(move || {
        closing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .flow_logs_close();
    })
    .await;
    // The pinned programs, links and maps stay: the interfaces remain protected, with their
    // tracked flows, until a new sgd takes over (or `sgd --cleanup`).
    let _ = std::fs::remove_file(&cfg.socket);
    drop(core);
    result
}

/// The HTTP API's view of the daemon: the same [`Core`], under the same lock, as the socket;
/// the keys from their shared copy, so checking a signature never waits for that lock.
struct CoreBackend {
    core: Arc<Mutex<Core>>,
    keys: super::keys::SharedKeys,
    /// The account never changes once the state exists.
    account: String,
}

impl CoreBackend {
    fn core(&self) -> std::sync::MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl crate::ec2::server::Backend for CoreBackend {
    fn key(&self, access_key_id: &str) -> Option<(String, bool)> {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(access_key_id)
            .map(|k| (k.secret.clone(), k.read_only))
    }

    fn account(&self) -> String {
        self.account.clone()
    }

    fn check(&self, request: &Request) -> Result<(), crate::model::ApiError> {
        self.core().check(request)
    }

    fn run(&self, request: Request) -> Result<crate::shapes::Output, crate::model::ApiError> {
        self.run_revision(request).0
    }

    fn run_revision(
        &self,
        request: Request,
    ) -> (
        Result<crate::shapes::Output, crate::model::ApiError>,
        Option<i64>,
    ) {
        let resp = {
            let mut core = self.core();
            core.forget_last_write();
            let resp = core.answer(&request);
            (resp, core.last_write())
        };
        // As for the socket: the replaced rulesets are freed while the reply goes out.
        let core = self.core.clone();
        tokio::runtime::Handle::current().spawn_blocking(move || {
            core.lock().unwrap_or_else(|p| p.into_inner()).reclaim();
        });
        resp
    }
}

/// How many decisions wait for the slowest observer before it misses some (and is told).
const OBSERVED_BACKLOG: usize = 4096;

/// `observe`: the daemon's flow events, read from the kernel's ring buffer on a task of their
/// own and sent to every observer, and the start and stop of watching.
fn observing(core: &Arc<Mutex<Core>>) -> Arc<server::Observing> {
    let (events, _) = tokio::sync::broadcast::channel(OBSERVED_BACKLOG);
    let ring = core
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take_flow_events();
    if let Some(ring) = ring {
        tokio::spawn(read_flow_events(ring, core.clone(), events.clone()));
    }
    let (start_core, stop_core) = (core.clone(), core.clone());
    Arc::new(server::Observing {
        events,
        start: Box::new(move |req| {
            start_core
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .observe_start(req)
        }),
        stop: Box::new(move |id| {
            stop_core
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .observe_stop(id)
        }),
    })
}

/// Reads flow events as the kernel writes them (woken by the ring buffer's epoll readiness)
/// and sends each to the observers, named by interface id.
async fn read_flow_events(
    ring: aya::maps::RingBuf<aya::maps::MapData>,
    core: Arc<Mutex<Core>>,
    events: tokio::sync::broadcast::Sender<Arc<crate::api::ObservedEvent>>,
) {
    // SAFETY: the ring buffer owns its map's file descriptor for as long as it lives, and
    // always answers that one.
    let registered = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE)
    };
    let mut ring = match registered {
        Ok(r) => r,
        Err(e) => {
            warn!(error = %e, "cannot poll the flow events' ring buffer: observe shows nothing");
            return;
        }
    };
    // ifindex -> interface id, asked of the core once per interface (and again after a
    // while: an ifindex can come back as another device).
    let mut names: std::collections::HashMap<u32, String> = std::collections::HashMap::new();
    let mut names_since = std::time::Instant::now();
    loop {
        let mut guard = match ring.readable_mut().await {
            Ok(g) => g,
            Err(e) => {
                warn!(error = %e, "reading flow events failed: observe stops");
                return;
            }
        };
        let mut records = Vec::new();
        while let Some(item) = guard.get_inner_mut().next() {
            records.push(item.to_vec());
        }
        guard.clear_ready();
        if names_since.elapsed() > std::time::Duration::from_secs(10) {
            names.clear();
            names_since = std::time::Instant::now();
        }
        for r in records {
            let flow = crate::datapath::ObservedFlow::read(&r, |ifindex| {
                if let Some(n) = names.get(&ifindex) {
                    return Some(n.clone());
                }
                let n = core
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .interface_of(ifindex)?;
                names.insert(ifindex, n.clone());
                Some(n)
            });
            if let Some(f) = flow {
                // Nobody listening is no error: the events are switched off soon after.
                let _ = events.send(Arc::new(crate::observe::event(&f)));
            }
        }
    }
}

/// Writes the programs' log records into sgd's log as they come (aya-log, through the `log`
/// crate into tracing).
async fn read_datapath_log(logger: aya_log::EbpfLogger<&'static dyn log::Log>) {
    // SAFETY: the logger owns its ring buffer's file descriptor for as long as it lives,
    // and always answers that one.
    let registered = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(logger, tokio::io::Interest::READABLE)
    };
    let mut logger = match registered {
        Ok(l) => l,
        Err(e) => {
            warn!(error = %e, "cannot poll the datapath's log");
            return;
        }
    };
    loop {
        let Ok(mut guard) = logger.readable_mut().await else {
            return;
        };
        guard.get_inner_mut().flush();
        guard.clear_ready();
    }
}
