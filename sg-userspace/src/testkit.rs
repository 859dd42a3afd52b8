//! Test fixtures shared by the unit tests and the kernel tests (`tests/`): a state with
//! deterministic ids and shorthand for building groups, rules and attachments.

use std::net::IpAddr;

use crate::{
    api::{
        AuthorizeSecurityGroupResult, CreateSecurityGroup, CreateSecurityGroupResult, IpPermission,
        IpRange, Ipv6Range, ModifyNetworkInterfaceAttribute, Output, Permissions, ReturnResult,
        UserIdGroupPair,
    },
    compiler::Addresses,
    eval::{self, Conntrack, Packet, Verdict},
    model::{ApiResult, IdSource, Quotas, State, ops, rules},
};

/// Ids 1, 2, 3, ...: deterministic, and never colliding.
pub struct Counter(pub u128);

impl IdSource for Counter {
    fn next(&mut self) -> u128 {
        self.0 += 1;
        self.0
    }
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// A permission for one CIDR (IPv4 or IPv6 by its form).
pub fn perm(proto: &str, ports: Option<(i32, i32)>, cidr: &str) -> IpPermission {
    let mut p = IpPermission {
        ip_protocol: proto.into(),
        from_port: ports.map(|p| p.0),
        to_port: ports.map(|p| p.1),
        ..Default::default()
    };
    if cidr.contains(':') {
        p.ipv6_ranges.push(Ipv6Range {
            cidr_ipv6: cidr.into(),
            description: None,
        });
    } else {
        p.ip_ranges.push(IpRange {
            cidr_ip: cidr.into(),
            description: None,
        });
    }
    p
}

/// A permission whose peer is a group.
pub fn perm_group(proto: &str, ports: Option<(i32, i32)>, group: &str) -> IpPermission {
    IpPermission {
        ip_protocol: proto.into(),
        from_port: ports.map(|p| p.0),
        to_port: ports.map(|p| p.1),
        user_id_group_pairs: vec![UserIdGroupPair {
            group_id: Some(group.into()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub struct World {
    pub state: State,
    pub ids: Counter,
    pub quotas: Quotas,
    pub addrs: Addresses,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    pub fn new() -> Self {
        let mut ids = Counter(0);
        Self {
            state: State::new(&mut ids),
            ids,
            quotas: Quotas::default(),
            addrs: Addresses::new(),
        }
    }

    pub fn create(&mut self, req: CreateSecurityGroup) -> ApiResult<CreateSecurityGroupResult> {
        ops::create_security_group(&mut self.state, &mut self.ids, &self.quotas, &req)
    }

    /// Creates a group in the default VPC and returns its id.
    pub fn group(&mut self, name: &str) -> String {
        let req = CreateSecurityGroup {
            group_name: Some(name.into()),
            description: Some("test group".into()),
            ..Default::default()
        };
        self.create(req).expect("create group").group_id
    }

    pub fn authorize(
        &mut self,
        g: &str,
        egress: bool,
        perms: Vec<IpPermission>,
    ) -> ApiResult<AuthorizeSecurityGroupResult> {
        let req = Permissions {
            group_id: Some(g.into()),
            ip_permissions: perms,
            ..Default::default()
        };
        rules::authorize(&mut self.state, &mut self.ids, &self.quotas, &req, egress)
    }

    pub fn revoke(
        &mut self,
        g: &str,
        egress: bool,
        perms: Vec<IpPermission>,
    ) -> ApiResult<ReturnResult> {
        let req = Permissions {
            group_id: Some(g.into()),
            ip_permissions: perms,
            ..Default::default()
        };
        rules::revoke(&mut self.state, &req, egress)
    }

    pub fn attach(&mut self, iface: &str, groups: &[&str], addrs: &[IpAddr]) -> ApiResult<Output> {
        let req = ModifyNetworkInterfaceAttribute {
            network_interface_id: Some(iface.into()),
            groups: Some(groups.iter().map(|g| g.to_string()).collect()),
            ..Default::default()
        };
        let out =
            ops::modify_network_interface_attribute(&mut self.state, &self.quotas, &req, &|_| {
                true
            })?;
        self.addrs.insert(iface.into(), addrs.to_vec());
        Ok(out)
    }

    /// 5 groups of 200 rules (rules per group x groups per interface = 1000, SG-QUOTA): TCP
    /// and UDP, mixed and overlapping port ranges over prefixes of different lengths. Rule
    /// n (0..1000) allows `10.(n%250).(n/250).0/{16,20,24}`; rule 999 allows UDP
    /// 36963-37062 from 10.249.0.0/16. Returns the group ids.
    pub fn thousand_rules(&mut self) -> Vec<String> {
        self.quotas.rules_per_group = self.quotas.rules_per_group.max(201);
        let groups: Vec<String> = (0..5).map(|i| self.group(&format!("big{i}"))).collect();
        for (gi, g) in groups.iter().enumerate() {
            let perms = (0..200)
                .map(|i| {
                    let n = gi * 200 + i;
                    let cidr = format!("10.{}.{}.0/{}", n % 250, n / 250, [16, 20, 24][n % 3]);
                    let from = (n * 37 % 60000) as i32;
                    perm(
                        ["tcp", "udp"][n % 2],
                        Some((from, from + (n % 100) as i32)),
                        &cidr,
                    )
                })
                .collect();
            self.authorize(g, false, perms).expect("200 rules");
        }
        groups
    }

    pub fn eval(&self, p: &Packet) -> Verdict {
        eval::evaluate(&self.state, &self.addrs, p, Conntrack::default())
    }
}

/// An output as the Unix socket carries it (tests read outputs the way `sgctl` prints them).
pub fn json<T: serde::Serialize>(result: ApiResult<T>) -> ApiResult<serde_json::Value> {
    result.map(|v| serde_json::to_value(v).expect("outputs are JSON"))
}
