//! `sgd`: the security-group daemon.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use sg_userspace::{
    daemon::{self, Config, FileConfig},
    datapath::{DatapathLog, XdpModeChoice},
    paths,
};
use tracing_subscriber::EnvFilter;

/// Enforces AWS-style security groups on this host's interfaces with eBPF (XDP and TC), and
/// serves the API that `sgctl` uses.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Directory of the state database and of the optional configuration file `sgd.json`.
    #[arg(long, default_value = paths::STATE_DIR)]
    state_dir: PathBuf,
    /// Unix socket of the API.
    #[arg(long, default_value = paths::SOCKET, env = "SG_SOCKET")]
    socket: PathBuf,
    /// Directory on a bpf filesystem where the datapath's maps are pinned. If its parent is
    /// not on a bpf filesystem (e.g. under `ip netns exec`), one is mounted there.
    #[arg(long, default_value = paths::PIN_DIR)]
    pin_dir: PathBuf,
    /// Which hook sees arriving packets: native XDP on devices with a driver and TC ingress on
    /// virtual devices (auto), or one of native XDP, generic (skb) XDP, TC ingress.
    #[arg(long, value_enum, default_value_t = XdpModeChoice::Auto)]
    xdp_mode: XdpModeChoice,
    /// What the eBPF programs log here: errors, rare conditions (a full connection-tracking
    /// table, lost flow events; each at most once a second per CPU), and at debug every
    /// decision on --datapath-log-interface. Disabled levels cost the datapath nothing.
    #[arg(long, value_enum, default_value_t = DatapathLog::Warn)]
    datapath_log: DatapathLog,
    /// With --datapath-log debug: the device whose every decision is logged.
    #[arg(long)]
    datapath_log_interface: Option<String>,
    /// Close flow logs' capture windows after at most this many seconds (default: each flow
    /// log's MaxAggregationInterval, 60 or 600). AWS's own windows are at most 60 s on
    /// Nitro instances whatever the setting.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=600))]
    flow_log_window: Option<u64>,
    /// The directory flow logs may write to (`LogDestination` must be inside it); created if
    /// missing.
    #[arg(long, default_value = paths::FLOW_LOG_DIR)]
    flow_log_dir: PathBuf,
    /// Remove everything pinned under --pin-dir (the programs detach from every interface,
    /// tracked flows are forgotten) and exit. sgd otherwise leaves its datapath pinned when it
    /// stops, so interfaces stay protected across restarts and upgrades.
    #[arg(long)]
    cleanup: bool,
    /// Serve the counters in the Prometheus text format over HTTP at this address (e.g.
    /// 127.0.0.1:9120).
    #[arg(long)]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Serve the EC2 Query API (and STS GetCallerIdentity) over HTTP at this address, for the
    /// AWS CLI, boto3, Ansible and Terraform (e.g. 127.0.0.1:8443). Off unless given. Every
    /// request must be signed (SigV4) with a key from `sgctl create-access-key`.
    #[arg(long)]
    api_listen: Option<std::net::SocketAddr>,
    /// The region of this host's resources: in their ARNs, and what API requests must be
    /// signed for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Serve the API over TLS with this certificate chain (PEM); needs --api-tls-key.
    #[arg(long, requires = "api_tls_key")]
    api_tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --api-tls-cert.
    #[arg(long, requires = "api_tls_cert")]
    api_tls_key: Option<PathBuf>,
    /// Serve the API in clear text on an address other hosts can reach (refused otherwise:
    /// SigV4 protects integrity, not confidentiality).
    #[arg(long)]
    api_insecure_http: bool,
    /// Keep the groups in a shared store, for many hosts: etcd://HOST:PORT[,HOST:PORT...]
    /// (etcds:// for TLS). Without it, this host's own embedded store. Needs --host-id.
    #[arg(long, requires = "host_id")]
    store: Option<String>,
    /// This host's name in the fleet (a-z, 0-9, '-', '.', '_'); its interfaces are
    /// HOST/DEVICE fleet-wide.
    #[arg(long, requires = "store")]
    host_id: Option<String>,
    /// The CA certificate (PEM) that signed etcd's certificates (etcds://).
    #[arg(long)]
    etcd_ca: Option<PathBuf>,
    /// This host's client certificate (PEM) for etcd; needs --etcd-key.
    #[arg(long, requires = "etcd_key")]
    etcd_cert: Option<PathBuf>,
    /// The private key (PEM) of --etcd-cert.
    #[arg(long, requires = "etcd_cert")]
    etcd_key: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut filter = EnvFilter::try_from_env("SG_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    if args.datapath_log == DatapathLog::Debug {
        // The programs' debug records (their target is the eBPF crate's module path).
        filter = filter.add_directive("sg_ebpf=debug".parse().expect("a valid directive"));
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    if args.cleanup {
        sg_userspace::datapath::Datapath::cleanup(&args.pin_dir)
            .with_context(|| format!("removing {}", args.pin_dir.display()))?;
        tracing::info!(pin_dir = %args.pin_dir.display(), "removed the pinned datapath");
        return Ok(());
    }
    let mut cfg = Config {
        state_dir: args.state_dir,
        socket: args.socket,
        pin_dir: args.pin_dir,
        xdp_mode: args.xdp_mode,
        datapath_log: args.datapath_log,
        datapath_log_interface: args.datapath_log_interface.clone(),
        metrics_listen: args.metrics_listen,
        flow_log_window: args.flow_log_window,
        flow_log_dir: args.flow_log_dir.clone(),
        region: args.region.clone(),
        api: args.api_listen.map(|listen| daemon::ApiConfig {
            listen,
            tls: args.api_tls_cert.clone().zip(args.api_tls_key.clone()),
            insecure_http: args.api_insecure_http,
        }),
        ..Config::default()
    };
    let file = cfg.state_dir.join(paths::CONFIG_FILE);
    let mut fleet_file = FileConfig::default();
    if file.exists() {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let fc: FileConfig =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
        if let Some(q) = fc.quotas {
            cfg.quotas = q;
        }
        if let Some(n) = fc.conntrack_tcp_max {
            cfg.ct_tcp_max = n;
        }
        if let Some(n) = fc.conntrack_other_max {
            cfg.ct_other_max = n;
        }
        if fc.conntrack_tcp_half_open_max.is_some() || fc.conntrack_other_inbound_max.is_some() {
            let defaults =
                sg_userspace::datapath::CtBudgets::defaults(cfg.ct_tcp_max, cfg.ct_other_max);
            cfg.ct_budgets = Some(sg_userspace::datapath::CtBudgets {
                tcp_half_open: fc
                    .conntrack_tcp_half_open_max
                    .unwrap_or(defaults.tcp_half_open),
                other_inbound: fc
                    .conntrack_other_inbound_max
                    .unwrap_or(defaults.other_inbound),
            });
        }
        if let Some(n) = fc.flow_log_max_file_bytes {
            cfg.flow_log_rotation.max_bytes = n.max(4096);
        }
        if let Some(n) = fc.flow_log_max_files {
            // At least one: a window larger than a file spans two.
            cfg.flow_log_rotation.keep = n.max(1);
        }
        fleet_file = fc;
    }
    let fleet = FleetArgs {
        store: args.store.or(fleet_file.store),
        host_id: args.host_id.or(fleet_file.host_id),
        etcd_ca: args.etcd_ca.or(fleet_file.etcd_ca),
        etcd_cert: args.etcd_cert.or(fleet_file.etcd_cert),
        etcd_key: args.etcd_key.or(fleet_file.etcd_key),
    };
    cfg.fleet = fleet
        .config()
        .with_context(|| "the fleet store (--store)")?;
    cfg.quotas
        .check()
        .map_err(|e| anyhow::anyhow!("invalid quotas in {}: {e}", file.display()))?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        let shutdown = async {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
            let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        };
        daemon::run(cfg, shutdown).await
    })
}

/// The fleet options, from the command line or `sgd.json`.
struct FleetArgs {
    store: Option<String>,
    host_id: Option<String>,
    etcd_ca: Option<PathBuf>,
    etcd_cert: Option<PathBuf>,
    etcd_key: Option<PathBuf>,
}

impl FleetArgs {
    fn config(self) -> anyhow::Result<Option<sg_userspace::fleet::FleetConfig>> {
        use sg_userspace::fleet::{self, etcd};
        let Some(url) = self.store else {
            anyhow::ensure!(
                self.host_id.is_none(),
                "a host id (--host-id) needs a shared store (--store)"
            );
            return Ok(None);
        };
        let host_id = self
            .host_id
            .ok_or_else(|| anyhow::anyhow!("a shared store needs this host's --host-id"))?;
        fleet::check_host_id(&host_id).map_err(anyhow::Error::msg)?;
        let (endpoints, tls) = etcd::parse_store_url(&url).map_err(anyhow::Error::msg)?;
        let tls = match (tls, self.etcd_ca) {
            (true, Some(ca)) => Some(etcd::EtcdTls {
                ca,
                cert: self.etcd_cert,
                key: self.etcd_key,
            }),
            (true, None) => anyhow::bail!("etcds:// needs the CA certificate: --etcd-ca"),
            (false, None) if self.etcd_cert.is_none() => None,
            (false, _) => anyhow::bail!("TLS options for etcd need an etcds:// store"),
        };
        Ok(Some(fleet::FleetConfig {
            etcd: etcd::EtcdConfig {
                endpoints,
                prefix: fleet::layout::DEFAULT_PREFIX.to_owned(),
                tls,
                timeout: std::time::Duration::from_secs(3),
            },
            host_id,
        }))
    }
}
