//! The counters for scrapers: the Prometheus text (`sgctl get-metrics`, and over HTTP with
//! `sgd --metrics-listen`), and how one rule's counters read in `describe-*` output.

use std::{
    fmt::Write as _,
    sync::{Arc, Mutex},
};

use sg_common::{rule::RuleHits, stats::REASON_NAMES};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::Core;
use crate::{
    datapath::Datapath,
    shapes::{GetMetricsResult, HitCounters},
};

impl Core {
    /// `get-metrics`: the same text a scraper gets, so it can be read without an HTTP server;
    /// with `prefix`, only the families whose names start with it.
    pub(super) fn get_metrics(&mut self, prefix: Option<&str>) -> GetMetricsResult {
        let metrics = match prefix {
            None => self.metrics(),
            // A section runs when its families may start with the prefix, or the reverse.
            Some(p) => only_families(
                &self.metrics_of(&|family| family.starts_with(p) || p.starts_with(family)),
                p,
            ),
        };
        GetMetricsResult { metrics }
    }

    /// The counters in the Prometheus text format (`sgd --metrics-listen`, `sgctl get-metrics`).
    pub fn metrics(&mut self) -> String {
        self.metrics_of(&|_| true)
    }

    /// The counters of the families `want` names: the others' collectors do not run.
    fn metrics_of(&mut self, want: &dyn Fn(&str) -> bool) -> String {
        let mut m = String::new();
        // The datapath's counters: this host's interfaces, by device.
        let ifaces: Vec<String> = self
            .state
            .interfaces
            .keys()
            .filter_map(|id| self.local_device(id))
            .map(str::to_owned)
            .collect();
        if want("sg_packets_total") {
            let _ = writeln!(
                m,
                "# HELP sg_packets_total Packets seen by the datapath, by interface and verdict reason."
            );
            let _ = writeln!(m, "# TYPE sg_packets_total counter");
            for i in &ifaces {
                for (reason, n) in REASON_NAMES
                    .iter()
                    .zip(self.datapath.stats(i).unwrap_or_default())
                {
                    let _ = writeln!(
                        m,
                        "sg_packets_total{{interface=\"{i}\",reason=\"{reason}\"}} {n}"
                    );
                }
            }
        }
        if want("sg_observers") {
            let _ = writeln!(
                m,
                "# HELP sg_observers Clients streaming decisions (sgctl observe); flow events are on only while there are some."
            );
            let _ = writeln!(m, "# TYPE sg_observers gauge");
            let _ = writeln!(m, "sg_observers {}", self.observers.len());
        }
        if want("sg_flow_events_lost_total") {
            let _ = writeln!(
                m,
                "# HELP sg_flow_events_lost_total Flow events the kernel's ring buffer had no room for."
            );
            let _ = writeln!(m, "# TYPE sg_flow_events_lost_total counter");
            let _ = writeln!(
                m,
                "sg_flow_events_lost_total {}",
                self.datapath.events_lost()
            );
        }
        if want("sg_audit_passed_total") {
            let _ = writeln!(
                m,
                "# HELP sg_audit_passed_total Packets the groups refused that passed because the interface is in audit mode."
            );
            let _ = writeln!(m, "# TYPE sg_audit_passed_total counter");
            for i in &ifaces {
                let n = self.datapath.audit_passed(i).unwrap_or(0);
                let _ = writeln!(m, "sg_audit_passed_total{{interface=\"{i}\"}} {n}");
            }
        }
        if want("sg_conntrack_") {
            let _ = writeln!(
                m,
                "# HELP sg_conntrack_allowance_exceeded_total New flows refused because the table was full (SG-ENF-9)."
            );
            let _ = writeln!(m, "# TYPE sg_conntrack_allowance_exceeded_total counter");
            let exceeded = REASON_NAMES
                .iter()
                .position(|r| *r == "conntrack_allowance_exceeded")
                .unwrap_or(0);
            for i in &ifaces {
                let n = self.datapath.stats(i).map_or(0, |s| s[exceeded]);
                let _ = writeln!(
                    m,
                    "sg_conntrack_allowance_exceeded_total{{interface=\"{i}\"}} {n}"
                );
            }
            let [(tcp, tcp_max), (other, other_max)] = self.datapath.conntrack_usage();
            let _ = writeln!(
                m,
                "# HELP sg_conntrack_allowance_available Tracked flows that can still be created."
            );
            let _ = writeln!(m, "# TYPE sg_conntrack_allowance_available gauge");
            let _ = writeln!(
                m,
                "sg_conntrack_allowance_available{{table=\"tcp\"}} {}",
                tcp_max.saturating_sub(tcp)
            );
            let _ = writeln!(
                m,
                "sg_conntrack_allowance_available{{table=\"other\"}} {}",
                other_max.saturating_sub(other)
            );
            let _ = writeln!(m, "# HELP sg_conntrack_entries Tracked flows in the table.");
            let _ = writeln!(m, "# TYPE sg_conntrack_entries gauge");
            let _ = writeln!(m, "sg_conntrack_entries{{table=\"tcp\"}} {tcp}");
            let _ = writeln!(m, "sg_conntrack_entries{{table=\"other\"}} {other}");
            let [(half_open, half_open_max), (inbound, inbound_max)] =
                self.datapath.conntrack_budgets();
            let _ = writeln!(
                m,
                "# HELP sg_conntrack_budget_entries Tracked flows in a budget within a table: TCP half-open flows opened from outside, other flows opened from outside."
            );
            let _ = writeln!(m, "# TYPE sg_conntrack_budget_entries gauge");
            let _ = writeln!(
                m,
                "sg_conntrack_budget_entries{{budget=\"tcp_half_open\"}} {half_open}"
            );
            let _ = writeln!(
                m,
                "sg_conntrack_budget_entries{{budget=\"other_inbound\"}} {inbound}"
            );
            let _ = writeln!(
                m,
                "# HELP sg_conntrack_budget_maximum The limit of a budget (0: none)."
            );
            let _ = writeln!(m, "# TYPE sg_conntrack_budget_maximum gauge");
            let _ = writeln!(
                m,
                "sg_conntrack_budget_maximum{{budget=\"tcp_half_open\"}} {half_open_max}"
            );
            let _ = writeln!(
                m,
                "sg_conntrack_budget_maximum{{budget=\"other_inbound\"}} {inbound_max}"
            );
            let _ = writeln!(
                m,
                "# HELP sg_conntrack_swept_total Expired tracked flows removed by the sweeper."
            );
            let _ = writeln!(m, "# TYPE sg_conntrack_swept_total counter");
            let _ = writeln!(m, "sg_conntrack_swept_total {}", self.datapath.swept());
        }
        if want("sg_rule_packets_total") {
            let _ = writeln!(
                m,
                "# HELP sg_rule_packets_total Packets admitted by each rule (SG-ENF-12)."
            );
            let _ = writeln!(m, "# TYPE sg_rule_packets_total counter");
            for i in &ifaces {
                let mut hits: Vec<(String, RuleHits)> =
                    self.datapath.rule_hits(i).into_iter().collect();
                hits.sort_by(|a, b| a.0.cmp(&b.0));
                for (rule, h) in hits {
                    let _ = writeln!(
                        m,
                        "sg_rule_packets_total{{interface=\"{i}\",rule=\"{rule}\"}} {}",
                        h.packets
                    );
                }
            }
        }
        if let Some(f) = &self.fleet {
            f.write_metrics(&mut m);
        }
        m
    }
}

/// The lines of `text` (Prometheus text) whose family name starts with `prefix`.
fn only_families(text: &str, prefix: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let name = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
            .unwrap_or(line);
        if name.starts_with(prefix) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Counters as printed: packets, bytes and the time of the last packet (if any).
pub(super) fn hit_counters(h: &RuleHits) -> HitCounters {
    HitCounters {
        packets: h.packets,
        bytes: h.bytes,
        last_hit: (h.last_ns != 0).then(|| {
            let t = Datapath::wall_time(h.last_ns);
            humantime::format_rfc3339_seconds(t).to_string()
        }),
    }
}

/// Answers every HTTP request with the metrics (a scrape endpoint, nothing more).
pub(super) async fn serve_metrics(listener: tokio::net::TcpListener, core: Arc<Mutex<Core>>) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let core = core.clone();
        tokio::spawn(async move {
            // Read the request head (bounded); its content does not matter.
            let mut buf = vec![0u8; 8192];
            let mut len = 0;
            while len < buf.len() {
                match conn.read(&mut buf[len..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => len += n,
                }
                if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            let body = tokio::task::spawn_blocking(move || {
                core.lock().unwrap_or_else(|p| p.into_inner()).metrics()
            })
            .await
            .unwrap_or_default();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes()).await;
            let _ = conn.write_all(body.as_bytes()).await;
        });
    }
}
