//! Network-interface operations that need more than the state: the link check before a device
//! is protected (SG-IF-6), `describe-network-interfaces` and the `create-network-interface`
//! output with what the datapath knows (status, hooks, counters, each rule's counters), and
//! `export-interface-rules`. Deleting an interface and assigning addresses change only the
//! state, so the dispatch calls `model` for them.

use serde_json::{Value, json};
use sg_common::{rule::RuleHits, stats::REASON_NAMES};

use super::{Core, addresses_of, metrics};
use crate::{
    api::{
        CreateNetworkInterface, DescribeNetworkInterfaces, ExportRequest,
        ModifyNetworkInterfaceAttribute,
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
) -> ApiResult<Value> {
    check_link(&req.network_interface_id)?;
    ops::create_network_interface(next, quotas, req, &datapath::device_exists)
}

/// `modify-network-interface-attribute`, with the same link check as creation: on a device
/// sgd does not know yet it starts protection, as creation does.
pub(super) fn modify_network_interface_attribute(
    next: &mut State,
    quotas: &Quotas,
    req: &ModifyNetworkInterfaceAttribute,
) -> ApiResult<Value> {
    check_link(&req.network_interface_id)?;
    ops::modify_network_interface_attribute(next, quotas, req, &datapath::device_exists)
}

impl Core {
    /// `describe-network-interfaces`: each interface as [`Self::interface_json`] shows it, and
    /// the counters of each of its rules (SG-ENF-12).
    pub(super) fn describe_network_interfaces(
        &mut self,
        req: &DescribeNetworkInterfaces,
    ) -> ApiResult<Value> {
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
            let mut ni = self.interface_json(iface);
            ni["RuleStatistics"] = rule_statistics(&mut self.datapath, &iface.id);
            out.push(ni);
        }
        Ok(json!({ "NetworkInterfaces": out }))
    }

    /// The output of `create-network-interface`, read after the commit so that it shows the
    /// interface as enforced (its status, hooks and counters), not as the model left it.
    pub(super) fn created_network_interface(&self, req: &CreateNetworkInterface) -> Option<Value> {
        let iface = req
            .network_interface_id
            .as_ref()
            .and_then(|id| self.state.interfaces.get(id))?;
        Some(json!({ "NetworkInterface": self.interface_json(iface) }))
    }

    /// `export-interface-rules`: the interface's rules for another firewall, written for the
    /// addresses of the last compile so the export matches what is enforced.
    pub(super) fn export_interface_rules(&self, req: &ExportRequest) -> ApiResult<Value> {
        let iface = ops::required(&req.network_interface_id, "NetworkInterfaceId")?;
        match req.format.as_deref().unwrap_or("nft") {
            "nft" => export::nft(&self.state, &self.addrs, iface).map(|t| json!({ "Ruleset": t })),
            other => Err(ApiError::invalid_value(format!(
                "Unknown export format '{other}': nft"
            ))),
        }
    }

    /// An interface in the shape of `describe-network-interfaces`, with its counters.
    fn interface_json(&self, iface: &Interface) -> Value {
        let groups: Vec<Value> = self
            .state
            .effective_groups(iface)
            .iter()
            .filter_map(|id| self.state.groups.get(id))
            .map(|g| json!({ "GroupName": g.name, "GroupId": g.id }))
            .collect();
        let addrs = addresses_of(iface);
        let v4: Vec<String> = addrs
            .iter()
            .filter(|a| a.is_ipv4())
            .map(|a| a.to_string())
            .collect();
        let v6: Vec<Value> = addrs
            .iter()
            .filter(|a| a.is_ipv6())
            .map(|a| json!({ "Ipv6Address": a.to_string() }))
            .collect();
        // EC2's `NetworkInterface` members (botocore `ec2/2016-11-15`), then sgd's own:
        // `AttachMode`, `Datapath`, `Statistics`, `ConntrackAllowance`, `RuleStatistics`.
        let mut ni = json!({
            "NetworkInterfaceId": iface.id,
            "Description": "",
            "InterfaceType": "interface",
            "RequesterManaged": false,
            "TagSet": [],
            "AttachMode": match iface.mode { AttachMode::Instance => "instance", AttachMode::Host => "host" },
            "Status": if self.datapath.is_attached(&iface.id) { "in-use" } else { "available" },
            "VpcId": iface.vpc_id,
            "OwnerId": self.state.owner_id,
            "Groups": groups,
            "PrivateIpAddresses": v4.iter().enumerate()
                .map(|(i, a)| json!({ "PrivateIpAddress": a, "Primary": i == 0 }))
                .collect::<Vec<_>>(),
            "Ipv6Addresses": v6,
            "SourceDestCheck": iface.source_dest_check,
            "ConnectionTrackingConfiguration": {
                "TcpEstablishedTimeout": iface.timeouts.tcp_established,
                "UdpStreamTimeout": iface.timeouts.udp_stream,
                "UdpTimeout": iface.timeouts.udp,
            },
        });
        if let Some(mac) = datapath::device_mac(&iface.id) {
            ni["MacAddress"] = json!(mac);
        }
        if let Some(first) = v4.first() {
            ni["PrivateIpAddress"] = json!(first);
        }
        if let Some(hook) = self.datapath.arriving_hook(&iface.id) {
            // Which programs protect it: arriving packets at XDP or TC ingress, leaving ones
            // at TC egress.
            ni["Datapath"] = json!({ "Arriving": hook, "Leaving": "tc-egress" });
        }
        if let Some(stats) = self.datapath.stats(&iface.id) {
            let mut m: serde_json::Map<String, Value> = REASON_NAMES
                .iter()
                .zip(stats)
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            // The allowance is the daemon's, shared by its interfaces (SG-ENF-9).
            let [(tcp, tcp_max), (other, other_max)] = self.datapath.conntrack_usage();
            m.insert(
                "conntrack_allowance_available".into(),
                json!(tcp_max.saturating_sub(tcp) + other_max.saturating_sub(other)),
            );
            ni["Statistics"] = Value::Object(m);
            ni["ConntrackAllowance"] = json!({
                "Tcp": { "Maximum": tcp_max, "InUse": tcp },
                "Other": { "Maximum": other_max, "InUse": other },
                "Swept": self.datapath.swept(),
            });
        }
        ni
    }
}

/// The counters of each rule on `iface`, ordered by rule id (SG-ENF-12).
fn rule_statistics(datapath: &mut Datapath, iface: &str) -> Value {
    let mut hits: Vec<(String, RuleHits)> = datapath.rule_hits(iface).into_iter().collect();
    hits.sort_by(|a, b| a.0.cmp(&b.0));
    hits.iter()
        .map(|(rule, h)| {
            let mut v = metrics::hits_json(h);
            v["SecurityGroupRuleId"] = json!(rule);
            v
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
