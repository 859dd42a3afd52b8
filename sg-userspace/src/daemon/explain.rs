//! `explain`: the verdict on one packet at an interface and why, twice: by the reference
//! evaluator over the state (`crate::explain`), and by the live kernel maps, through a probe
//! program run on the crafted packet (`Datapath::probe`). Where they disagree the answer says
//! so and sgd logs it as the bug it is.

use std::net::IpAddr;

use sg_common::conntrack::CtKey;

use tracing::error;

use super::Core;
use crate::{
    api::{ExplainRequest, ExplainResult, KernelVerdict},
    eval::Direction,
    explain::{self, Judgement, Query},
    model::{ApiError, ApiResult, AttachMode, rules},
};

/// An address as conntrack keys hold it (IPv4 in the first 4 bytes, the rest zero).
fn key_bytes(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            b
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

impl Core {
    pub(super) fn explain(&mut self, req: &ExplainRequest) -> ApiResult<ExplainResult> {
        // The addresses the kernel's rules were compiled with.
        let q = explain::query(&self.state, &self.addrs, req)?;
        let live = q.exact_flow && self.live_flow(&q);
        let mut eval = explain::judge(&self.state, &self.addrs, &q, live);
        let inbound = q.packet.direction == Direction::Inbound;
        let mut kernel = match self.local_device(&q.iface) {
            Some(dev) if self.datapath.is_attached(dev) => {
                let dev = dev.to_owned();
                let instance_mode = self.state.interfaces[&q.iface].mode == AttachMode::Instance;
                // The hook that sees the instance's inbound traffic arrive is the arriving one
                // in instance mode, the leaving one in host mode.
                let probed = self
                    .datapath
                    .probe(&dev, inbound == instance_mode, &explain::frame(&q.packet))
                    .map_err(|e| ApiError::internal(format!("probing {dev}: {e}")))?;
                Some(explain::from_probe(&probed, live, inbound))
            }
            // Another host's interface, or a device not (yet) protected here.
            _ => None,
        };
        // A new tracked flow needs room in its table (SG-ENF-9): a fact of the kernel's
        // state, which both answers share, read (a count of the table) only if one needs it.
        let opens =
            |j: &Judgement| j.admitted_by == Some(explain::BY_RULES) && j.tracked == Some(true);
        if opens(&eval) || kernel.as_ref().is_some_and(opens) {
            let [tcp, other] = self.datapath.conntrack_usage();
            let (used, max) = if q.packet.protocol == 6 { tcp } else { other };
            if used >= max {
                for j in std::iter::once(&mut eval).chain(kernel.as_mut()) {
                    if opens(j) {
                        *j = Judgement::reject(explain::ALLOWANCE);
                    }
                }
            }
        }
        let agree = kernel.as_ref().map(|k| explain::agree(&eval, k));
        if agree == Some(false) {
            error!(
                packet = ?q.packet,
                evaluator = ?eval,
                kernel = ?kernel,
                "the kernel and the reference evaluator disagree on a verdict: this is a bug"
            );
        }
        let security_group_rules = eval
            .rule_ids
            .iter()
            .filter_map(|id| {
                self.state.groups.values().find_map(|g| {
                    g.rules
                        .iter()
                        .find(|r| r.id == *id)
                        .map(|r| rules::to_rule_out(&self.state, g, r))
                })
            })
            .collect();
        Ok(ExplainResult {
            network_interface_id: q.iface.clone(),
            direction: if inbound { "ingress" } else { "egress" }.into(),
            packet: explain::shown(&q.packet),
            verdict: eval.verdict().into(),
            admitted_by: eval.admitted_by.map(Into::into),
            reason: eval.reason.map(Into::into),
            security_group_rule_ids: eval.rule_ids.clone(),
            security_group_rules,
            tracked: eval.tracked,
            kernel: kernel.map(|k| KernelVerdict {
                verdict: k.verdict().into(),
                admitted_by: k.admitted_by.map(Into::into),
                reason: k.reason.map(Into::into),
                security_group_rule_ids: k.rule_ids,
                tracked: k.tracked,
            }),
            enforcement_mode: (self.state.interfaces[&q.iface].enforcement
                == crate::model::Enforcement::Audit)
                .then(|| "audit".into()),
            agree,
        })
    }

    /// Whether a live tracked flow holds exactly the packet of `q` (TCP or UDP, both ports
    /// known): one lookup of its key, as the datapath builds it.
    fn live_flow(&self, q: &Query) -> bool {
        let Some(ifindex) = self
            .local_device(&q.iface)
            .and_then(|dev| nix::net::if_::if_nametoindex(dev).ok())
        else {
            return false;
        };
        let p = &q.packet;
        let (local, remote, local_port, remote_port) = match p.direction {
            Direction::Inbound => (p.dst, p.src, p.dst_port, p.src_port),
            Direction::Outbound => (p.src, p.dst, p.src_port, p.dst_port),
        };
        let key = CtKey {
            ifindex,
            local: key_bytes(local),
            remote: key_bytes(remote),
            local_port,
            remote_port,
            proto: p.protocol,
            family: if local.is_ipv4() { 4 } else { 6 },
            _pad: [0; 2],
        };
        self.datapath.flow(&key).is_some()
    }
}
