//! `sgctl observe`: which decisions an observer asked for, and how one is shown. The
//! datapath's flow events (`datapath::ObservedFlow`) become [`ObservedEvent`]s once, in the
//! daemon's reader, and every observer filters them.

use std::time::SystemTime;

use sg_common::stats::{DROP_CT_FULL, DROP_NO_RULE, DROP_SPOOFED, PASS_RULE};

use crate::{
    api::{ObserveRequest, ObservedEvent},
    datapath::ObservedFlow,
    model::{ApiError, ApiResult, Tag, filters, protocol_name},
};

/// The filters an observer may give.
const FILTERS: [&str; 7] = [
    "protocol",
    "direction",
    "source-address",
    "destination-address",
    "source-port",
    "destination-port",
    "reason",
];

/// Checks an observer's request: a known verdict and filter names (the interface is the
/// daemon's to check).
pub fn check(req: &ObserveRequest) -> ApiResult<()> {
    if let Some(v) = &req.verdict
        && v != "ACCEPT"
        && v != "REJECT"
    {
        return Err(ApiError::invalid_value(format!(
            "Verdict must be ACCEPT or REJECT, not \"{v}\""
        )));
    }
    for f in &req.filters {
        if !FILTERS.contains(&f.name.as_str()) {
            return Err(ApiError::invalid_value(format!(
                "The filter '{}' is invalid; observe filters on {}",
                f.name,
                FILTERS.join(", ")
            )));
        }
    }
    Ok(())
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// The event of a flow.
pub fn event(f: &ObservedFlow) -> ObservedEvent {
    let accepted = f.reason == PASS_RULE;
    ObservedEvent {
        time: rfc3339(f.last),
        network_interface_id: f.interface.clone(),
        direction: if f.inbound { "ingress" } else { "egress" }.into(),
        verdict: if accepted { "ACCEPT" } else { "REJECT" }.into(),
        reason: match f.reason {
            PASS_RULE => "SecurityGroupRules",
            DROP_NO_RULE => "NoRule",
            DROP_SPOOFED => "SourceDestCheck",
            DROP_CT_FULL => "ConntrackAllowanceExceeded",
            _ => "Other",
        }
        .into(),
        audit: f.audit,
        protocol: protocol_name(i16::from(f.protocol)),
        source: f.src.to_string(),
        source_port: f.src_port,
        destination: f.dst.to_string(),
        destination_port: f.dst_port,
        packets: f.packets,
        bytes: f.bytes,
        tcp_flags: (f.protocol == 6).then_some(f.tcp_flags),
    }
}

struct View<'a>(&'a ObservedEvent);

impl filters::Filterable for View<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let e = self.0;
        Some(vec![match name {
            "protocol" => e.protocol.clone(),
            "direction" => e.direction.clone(),
            "source-address" => e.source.clone(),
            "destination-address" => e.destination.clone(),
            "source-port" => e.source_port.to_string(),
            "destination-port" => e.destination_port.to_string(),
            "reason" => e.reason.clone(),
            _ => return None,
        }])
    }

    fn tags(&self) -> &[Tag] {
        &[]
    }
}

/// Whether an observer who asked `req` wants `e`.
pub fn selects(req: &ObserveRequest, e: &ObservedEvent) -> bool {
    req.network_interface_id
        .as_ref()
        .is_none_or(|i| *i == e.network_interface_id)
        && req.verdict.as_ref().is_none_or(|v| *v == e.verdict)
        && filters::matches(&View(e), &req.filters).unwrap_or(false)
}

/// One line for people, as `hubble observe` prints them.
pub fn line(e: &ObservedEvent) -> String {
    let endpoint = |a: &str, p: u16| {
        if p == 0 {
            a.to_owned()
        } else if a.contains(':') {
            format!("[{a}]:{p}")
        } else {
            format!("{a}:{p}")
        }
    };
    format!(
        "{} {} {} {}{} {} {} -> {} {} ({} packets, {} bytes)",
        e.time,
        e.network_interface_id,
        e.direction,
        e.verdict,
        if e.audit { " (audit: passed)" } else { "" },
        e.protocol,
        endpoint(&e.source, e.source_port),
        endpoint(&e.destination, e.destination_port),
        e.reason,
        e.packets,
        e.bytes
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Filter;

    fn flow(reason: u32) -> ObservedFlow {
        ObservedFlow {
            interface: "fwa".into(),
            inbound: true,
            reason,
            audit: false,
            protocol: 6,
            src: "192.0.2.2".parse().expect("address"),
            dst: "192.0.2.1".parse().expect("address"),
            src_port: 40000,
            dst_port: 23,
            packets: 3,
            bytes: 180,
            tcp_flags: 2,
            first: SystemTime::UNIX_EPOCH,
            last: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn events_carry_the_verdict_and_reason_and_filters_select_them() {
        let e = event(&flow(DROP_NO_RULE));
        assert_eq!(
            (e.verdict.as_str(), e.reason.as_str()),
            ("REJECT", "NoRule")
        );
        assert_eq!(e.tcp_flags, Some(2));
        assert_eq!(
            line(&e),
            "1970-01-01T00:00:00.000Z fwa ingress REJECT tcp 192.0.2.2:40000 -> 192.0.2.1:23 NoRule (3 packets, 180 bytes)"
        );
        let mut req = ObserveRequest::default();
        assert!(selects(&req, &e));
        req.verdict = Some("ACCEPT".into());
        assert!(!selects(&req, &e));
        req.verdict = Some("REJECT".into());
        req.filters = vec![Filter {
            name: "destination-port".into(),
            values: vec!["22".into(), "23".into()],
        }];
        assert!(selects(&req, &e));
        req.network_interface_id = Some("fwb".into());
        assert!(!selects(&req, &e));
        let accepted = event(&flow(PASS_RULE));
        assert_eq!(accepted.verdict, "ACCEPT");
    }

    #[test]
    fn bad_requests_are_refused() {
        let mut req = ObserveRequest {
            verdict: Some("DROP".into()),
            ..Default::default()
        };
        assert!(check(&req).is_err());
        req.verdict = None;
        req.filters = vec![Filter {
            name: "vpc-id".into(),
            values: vec![],
        }];
        assert!(
            check(&req)
                .expect_err("unknown filter")
                .message
                .contains("vpc-id")
        );
    }
}
