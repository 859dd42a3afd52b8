//! Network-interface operations that need more than the state: the link check before a device
//! is protected (SG-IF-6), `describe-network-interfaces` and the `create-network-interface`
//! output with what the datapath knows (status, hooks, counters, each rule's counters), and
//! `export-interface-rules`. Deleting an interface and assigning addresses change only the
//! state, so the dispatch calls `model` for them.

use std::collections::BTreeMap;

use sg_common::{rule::RuleHits, stats::REASON_NAMES};

use super::{Core, addresses_of, metrics};
use crate::{
    api::{
        ConnectionTrackingConfiguration, ConntrackAllowance, CreateNetworkInterface,
        CreateNetworkInterfaceResult, DescribeNetworkInterfaces, DescribeNetworkInterfacesResult,
        ExportInterfaceRulesResult, ExportRequest, GroupIdentifier, InterfaceDatapath,
        ModifyNetworkInterfaceAttribute, NetworkInterface, NetworkInterfaceIpv6Address,
        NetworkInterfacePrivateIpAddress, Output, RuleStatistic, TableUse,
    },
    datapath::{self, Datapath},
    export,
    model::{ApiError, ApiResult, AttachMode, Interface, Quotas, State, filters, ops},
};

/// `create-network-interface`, refused before anything is stored when the datapath cannot
/// parse the device's packets (SG-IF-6).
pub(super) fn create_network_interface(
    next: &mut State,
    quotas: &Quotas,
    req: &CreateNetworkInterface,
    host: Option<&str>,
) -> ApiResult<Output> {
    check_link(&device(host, ops::device_of(req)?).map(str::to_owned))?;
    ops::create_network_interface(next, quotas, req, &|id| exists_here(host, id))
}

/// `modify-network-interface-attribute`, with the same link check as creation: on a device
/// sgd does not know yet it starts protection, as creation does.
pub(super) fn modify_network_interface_attribute(
    next: &mut State,
    quotas: &Quotas,
    req: &ModifyNetworkInterfaceAttribute,
    host: Option<&str>,
) -> ApiResult<Output> {
    let dev = req
        .network_interface_id
        .as_deref()
        .and_then(|id| device(host, id));
    check_link(&dev.map(str::to_owned))?;
    ops::modify_network_interface_attribute(next, quotas, req, &|id| exists_here(host, id))
}

/// The device of interface `id` if it is this host's (`host`: this host's fleet id).
fn device<'a>(host: Option<&str>, id: &'a str) -> Option<&'a str> {
    match host {
        Some(h) => crate::fleet::local_device(h, id),
        None => Some(id),
    }
}

/// Whether interface `id` is a device of this host: only such interfaces can be created.
fn exists_here(host: Option<&str>, id: &str) -> bool {
    device(host, id).is_some_and(datapath::device_exists)
}

impl Core {
    /// `describe-network-interfaces`: each interface as [`Self::interface_shape`] shows it, and
    /// the counters of each of its rules (SG-ENF-12).
    pub(super) fn describe_network_interfaces(
        &mut self,
        req: &DescribeNetworkInterfaces,
    ) -> ApiResult<DescribeNetworkInterfacesResult> {
        for id in &req.network_interface_ids {
            if !self.state.interfaces.contains_key(id) {
                return Err(ApiError::interface_not_found(id));
            }
        }
        let mut out = Vec::new();
        let ifaces: Vec<Interface> = self
            .state
            .interfaces
            .values()
            .filter(|i| {
                req.network_interface_ids.is_empty() || req.network_interface_ids.contains(&i.id)
            })
            .cloned()
            .collect();
        for iface in &ifaces {
            if !filters::matches(&InterfaceView(&self.state, iface), &req.filters)? {
                continue;
            }
            let mut ni = self.interface_shape(iface);
            // Counters are the datapath's: this host's interfaces only.
            ni.rule_statistics = match self.local_device(&iface.id).map(str::to_owned) {
                Some(dev) => Some(rule_statistics(&mut self.datapath, &dev)),
                None => None,
            };
            out.push(ni);
        }
        Ok(DescribeNetworkInterfacesResult {
            network_interfaces: out,
            next_token: None,
        })
    }

    /// The output of `create-network-interface`, read after the commit so that it shows the
    /// interface as enforced (its status, hooks and counters), not as the model left it.
    pub(super) fn created_network_interface(
        &self,
        req: &CreateNetworkInterface,
    ) -> Option<CreateNetworkInterfaceResult> {
        let iface = self.state.interfaces.get(ops::device_of(req).ok()?)?;
        Some(CreateNetworkInterfaceResult {
            network_interface: Box::new(self.interface_shape(iface)),
        })
    }

    /// `export-interface-rules`: the interface's rules for another firewall, written for the
    /// addresses of the last compile so the export matches what is enforced.
    pub(super) fn export_interface_rules(
        &self,
        req: &ExportRequest,
    ) -> ApiResult<ExportInterfaceRulesResult> {
        let iface = ops::required(&req.network_interface_id, "NetworkInterfaceId")?;
        match req.format.as_deref().unwrap_or("nft") {
            "nft" => export::nft(&self.state, &self.addrs, iface)
                .map(|ruleset| ExportInterfaceRulesResult { ruleset }),
            other => Err(ApiError::invalid_value(format!(
                "Unknown export format '{other}': nft"
            ))),
        }
    }

    /// An interface in the shape of `describe-network-interfaces`, with its counters.
    fn interface_shape(&self, iface: &Interface) -> NetworkInterface {
        let groups = self
            .state
            .effective_groups(iface)
            .iter()
            .filter_map(|id| self.state.groups.get(id))
            .map(|g| GroupIdentifier {
                group_name: g.name.clone(),
                group_id: g.id.clone(),
            })
            .collect();
        // Another host's interface: what the shared state says; no datapath of ours.
        let dev = self.local_device(&iface.id).unwrap_or("");
        let addrs = addresses_of(iface, self.local_device(&iface.id));
        let v4: Vec<String> = addrs
            .iter()
            .filter(|a| a.is_ipv4())
            .map(|a| a.to_string())
            .collect();
        let v6 = addrs
            .iter()
            .filter(|a| a.is_ipv6())
            .map(|a| NetworkInterfaceIpv6Address {
                ipv6_address: a.to_string(),
            })
            .collect();
        let mut ni = NetworkInterface {
            network_interface_id: iface.id.clone(),
            description: iface.description.clone(),
            interface_type: "interface".into(),
            requester_managed: false,
            tag_set: Vec::new(),
            status: if self.datapath.is_attached(dev) {
                "in-use"
            } else {
                "available"
            }
            .into(),
            vpc_id: iface.vpc_id.clone(),
            subnet_id: ops::subnet_of(&iface.vpc_id),
            owner_id: self.state.owner_id.clone(),
            groups,
            mac_address: datapath::device_mac(dev),
            private_ip_address: v4.first().cloned(),
            private_ip_addresses: v4
                .iter()
                .enumerate()
                .map(|(i, a)| NetworkInterfacePrivateIpAddress {
                    private_ip_address: a.clone(),
                    primary: i == 0,
                })
                .collect(),
            ipv6_addresses: v6,
            source_dest_check: iface.source_dest_check,
            connection_tracking_configuration: ConnectionTrackingConfiguration {
                tcp_established_timeout: iface.timeouts.tcp_established,
                udp_stream_timeout: iface.timeouts.udp_stream,
                udp_timeout: iface.timeouts.udp,
            },
            attach_mode: match iface.mode {
                AttachMode::Instance => "instance",
                AttachMode::Host => "host",
            }
            .into(),
            enforcement_mode: iface.enforcement.name().into(),
            // Which programs protect it: arriving packets at XDP or TC ingress, leaving ones
            // at TC egress.
            datapath: self
                .datapath
                .arriving_hook(dev)
                .map(|hook| InterfaceDatapath {
                    arriving: hook.to_string(),
                    leaving: "tc-egress".into(),
                }),
            statistics: None,
            conntrack_allowance: None,
            rule_statistics: None,
        };
        if let Some(stats) = self.datapath.stats(dev) {
            let mut m: BTreeMap<String, u64> = REASON_NAMES
                .iter()
                .zip(stats)
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            m.insert(
                "audit_passed".into(),
                self.datapath.audit_passed(dev).unwrap_or(0),
            );
            // The allowance is the daemon's, shared by its interfaces (SG-ENF-9).
            let [(tcp, tcp_max), (other, other_max)] = self.datapath.conntrack_usage();
            let budgets = self.datapath.conntrack_budgets();
            m.insert(
                "conntrack_allowance_available".into(),
                tcp_max.saturating_sub(tcp) + other_max.saturating_sub(other),
            );
            ni.statistics = Some(m);
            ni.conntrack_allowance = Some(ConntrackAllowance {
                tcp: TableUse {
                    maximum: tcp_max,
                    in_use: tcp,
                },
                other: TableUse {
                    maximum: other_max,
                    in_use: other,
                },
                tcp_half_open: {
                    let (in_use, maximum) = budgets[0];
                    TableUse { maximum, in_use }
                },
                other_inbound: {
                    let (in_use, maximum) = budgets[1];
                    TableUse { maximum, in_use }
                },
                swept: self.datapath.swept(),
            });
        }
        ni
    }
}

/// The counters of each rule on `iface`, ordered by rule id (SG-ENF-12).
fn rule_statistics(datapath: &mut Datapath, iface: &str) -> Vec<RuleStatistic> {
    let mut hits: Vec<(String, RuleHits)> = datapath.rule_hits(iface).into_iter().collect();
    hits.sort_by(|a, b| a.0.cmp(&b.0));
    hits.iter()
        .map(|(rule, h)| {
            let c = metrics::hit_counters(h);
            RuleStatistic {
                security_group_rule_id: rule.clone(),
                packets: c.packets,
                bytes: c.bytes,
                last_hit: c.last_hit,
            }
        })
        .collect()
}

/// Refuses to protect a device whose packets the datapath cannot parse (SG-IF-6), before
/// anything is stored. A device that does not exist is the operation's to judge.
fn check_link(name: &Option<String>) -> ApiResult<()> {
    let Some(name) = name else {
        return Ok(());
    };
    match datapath::link(name) {
        Err(e @ datapath::LinkError::Unsupported { .. }) => {
            Err(ApiError::invalid_value(e.to_string()))
        }
        _ => Ok(()),
    }
}

/// The `DescribeNetworkInterfaces` filters sgd can answer.
struct InterfaceView<'a>(&'a State, &'a Interface);

impl filters::Filterable for InterfaceView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let (state, i) = (self.0, self.1);
        let groups = || -> Vec<&str> {
            if i.group_ids.is_empty() {
                // No groups given: the VPC's default group (SG-IF-1).
                state
                    .groups
                    .values()
                    .filter(|g| g.vpc_id == i.vpc_id && g.name == "default")
                    .map(|g| g.id.as_str())
                    .collect()
            } else {
                i.group_ids.iter().map(String::as_str).collect()
            }
        };
        Some(match name {
            "network-interface-id" => vec![i.id.clone()],
            "vpc-id" => vec![i.vpc_id.clone()],
            "group-id" => groups().into_iter().map(str::to_owned).collect(),
            "group-name" => groups()
                .into_iter()
                .filter_map(|id| state.groups.get(id).map(|g| g.name.clone()))
                .collect(),
            "private-ip-address" | "addresses.private-ip-address" => {
                i.private_addresses.iter().map(|a| a.to_string()).collect()
            }
            "owner-id" => vec![state.owner_id.clone()],
            _ => return None,
        })
    }

    fn tags(&self) -> &[crate::model::Tag] {
        &[]
    }
}
