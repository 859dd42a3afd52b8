//! Tracked flows as `sgctl describe-conntrack` shows them, and the filters that select flows
//! for it and for `flush-conntrack` (an administrator's tool: AWS has none, Azure calls it
//! flushConnection).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sg_common::{conntrack::*, dir};

use crate::{
    api::{ConnectionTrackingEntry, ConntrackQuery},
    datapath::Flow,
    model::{ApiError, ApiResult, Tag, filters, protocol_name},
};

fn addr(family: u8, bytes: [u8; 16]) -> IpAddr {
    if family == 4 {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(bytes))
    }
}

/// ICMP echo keys carry the pinger's side where a port would be: not a port.
fn remote_port(k: &CtKey) -> u16 {
    if k.proto == 1 || k.proto == 58 {
        0
    } else {
        k.remote_port
    }
}

fn state_name(f: &Flow) -> &'static str {
    match (f.key.proto, f.value.state) {
        (6, CT_STATE_NEW) => "SYN_SENT",
        (6, CT_STATE_ESTABLISHED) => "ESTABLISHED",
        (6, CT_STATE_CLOSING) => "CLOSING",
        (6, _) => "RESET",
        (17, _) if f.value.turns >= 2 => "STREAM",
        _ => "ACTIVE",
    }
}

fn direction(f: &Flow) -> &'static str {
    if f.value.origin == dir::INBOUND {
        "inbound"
    } else {
        "outbound"
    }
}

struct FlowView<'a>(&'a Flow);

impl filters::Filterable for FlowView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let f = self.0;
        let k = &f.key;
        Some(vec![match name {
            "protocol" => protocol_name(k.proto as i16),
            "local-address" => addr(k.family, k.local).to_string(),
            "remote-address" => addr(k.family, k.remote).to_string(),
            "local-port" => k.local_port.to_string(),
            "remote-port" => remote_port(k).to_string(),
            "state" => state_name(f).to_owned(),
            "direction" => direction(f).to_owned(),
            _ => return None,
        }])
    }

    fn tags(&self) -> &[Tag] {
        &[]
    }
}

/// The flows a query selects.
pub fn select(
    flows: Vec<Flow>,
    q: &ConntrackQuery,
    known_iface: impl Fn(&str) -> bool,
) -> ApiResult<Vec<Flow>> {
    if let Some(id) = &q.network_interface_id
        && !known_iface(id)
    {
        return Err(ApiError::interface_not_found(id));
    }
    let mut out = Vec::new();
    for f in flows {
        if q.network_interface_id
            .as_ref()
            .is_some_and(|id| *id != f.iface)
        {
            continue;
        }
        if filters::matches(&FlowView(&f), &q.filters)? {
            out.push(f);
        }
    }
    Ok(out)
}

pub fn to_entry(f: &Flow) -> ConnectionTrackingEntry {
    let k = &f.key;
    ConnectionTrackingEntry {
        network_interface_id: f.iface.clone(),
        protocol: protocol_name(k.proto as i16),
        local_address: addr(k.family, k.local).to_string(),
        local_port: k.local_port,
        remote_address: addr(k.family, k.remote).to_string(),
        remote_port: remote_port(k),
        direction: direction(f).into(),
        state: state_name(f).into(),
        packets: f.value.packets[0] + f.value.packets[1],
        bytes: f.value.bytes[0] + f.value.bytes[1],
        inbound_packets: f.value.packets[dir::INBOUND as usize],
        inbound_bytes: f.value.bytes[dir::INBOUND as usize],
        outbound_packets: f.value.packets[dir::OUTBOUND as usize],
        outbound_bytes: f.value.bytes[dir::OUTBOUND as usize],
        seconds_until_expiry: f.expires_in_s,
    }
}
