//! The security-group operations (SG-API) on a [`State`]. Each returns the AWS-shaped output or
//! an [`ApiError`]. An operation that fails may have changed the state part-way: callers apply
//! it to a copy and keep the copy only on success, so a request is all-or-nothing (SG-RULE-6).

use serde_json::{Value, json};

use super::{
    ApiError, ApiResult, AttachMode, Group, IdSource, Interface, PROTO_ALL, PROTO_ICMP,
    PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, Peer, Quotas, Rule, State, Timeouts, hex17, parse_protocol,
    protocol_name, validate,
};
use crate::api::{
    CreateSecurityGroup, DeleteSecurityGroup, DescribeSecurityGroups, IpPermission, IpRange,
    Ipv6Range, ModifyNetworkInterfaceAttribute, ReferencedGroupInfo, SecurityGroup,
    SecurityGroupRule, TagOut, UserIdGroupPair,
};

/// Adds the `default` group of a VPC: inbound all from itself, outbound all to anywhere
/// (SG-GRP-3).
pub fn create_default_group(state: &mut State, ids: &mut dyn IdSource, vpc_id: &str) -> String {
    let id = format!("sg-{}", hex17(ids.next()));
    let mut rules = vec![Rule {
        id: new_rule_id(ids),
        egress: false,
        protocol: PROTO_ALL,
        from_port: None,
        to_port: None,
        peer: Peer::Group(id.clone()),
        description: None,
    }];
    rules.extend(default_egress(ids));
    state.groups.insert(
        id.clone(),
        Group {
            id: id.clone(),
            name: "default".into(),
            description: "default VPC security group".into(),
            vpc_id: vpc_id.into(),
            tags: Vec::new(),
            rules,
        },
    );
    id
}

/// The outbound rules every new group starts with (SG-GRP-4): all traffic to `0.0.0.0/0` and
/// `::/0`.
fn default_egress(ids: &mut dyn IdSource) -> Vec<Rule> {
    let all = |ids: &mut dyn IdSource, peer| Rule {
        id: new_rule_id(ids),
        egress: true,
        protocol: PROTO_ALL,
        from_port: None,
        to_port: None,
        peer,
        description: None,
    };
    vec![
        all(ids, Peer::Ipv4("0.0.0.0/0".parse().expect("valid CIDR"))),
        all(ids, Peer::Ipv6("::/0".parse().expect("valid CIDR"))),
    ]
}

fn new_rule_id(ids: &mut dyn IdSource) -> String {
    format!("sgr-{}", hex17(ids.next()))
}

/// Looks a group up by id, checking the id's format first.
pub fn group<'a>(state: &'a State, id: &str) -> ApiResult<&'a Group> {
    validate::group_id(id)?;
    state
        .groups
        .get(id)
        .ok_or_else(|| ApiError::group_not_found(id))
}

fn required<'a>(v: &'a Option<String>, name: &str) -> ApiResult<&'a str> {
    match v.as_deref() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::missing(name)),
    }
}

pub fn create_security_group(
    state: &mut State,
    ids: &mut dyn IdSource,
    quotas: &Quotas,
    req: &CreateSecurityGroup,
) -> ApiResult<Value> {
    let name = validate::group_name(required(&req.group_name, "GroupName")?)?;
    let description = required(&req.description, "GroupDescription")?;
    validate::text("GroupDescription", description)?;
    let vpc_id = match &req.vpc_id {
        Some(v) => {
            if !state.vpcs.contains_key(v) {
                return Err(ApiError::new(
                    "InvalidVpcID.NotFound",
                    format!("The vpc ID '{v}' does not exist"),
                ));
            }
            v.clone()
        }
        None => state.default_vpc().id.clone(),
    };
    let in_vpc = state.groups.values().filter(|g| g.vpc_id == vpc_id);
    if in_vpc.clone().any(|g| g.name.eq_ignore_ascii_case(&name)) {
        return Err(ApiError::new(
            "InvalidGroup.Duplicate",
            format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
        ));
    }
    if in_vpc.count() >= quotas.groups_per_vpc {
        return Err(ApiError::new(
            "SecurityGroupLimitExceeded",
            "The maximum number of security groups has been reached.",
        ));
    }
    let id = format!("sg-{}", hex17(ids.next()));
    let group = Group {
        id: id.clone(),
        name,
        description: description.to_owned(),
        vpc_id,
        tags: Vec::new(),
        rules: default_egress(ids),
    };
    state.groups.insert(id.clone(), group);
    Ok(json!({ "GroupId": id }))
}

pub fn delete_security_group(state: &mut State, req: &DeleteSecurityGroup) -> ApiResult<Value> {
    let id = match (&req.group_id, &req.group_name) {
        (Some(id), _) => group(state, id)?.id.clone(),
        (None, Some(name)) => {
            let vpc = state.default_vpc().id.clone();
            state
                .groups
                .values()
                .find(|g| g.vpc_id == vpc && g.name == *name)
                .ok_or_else(|| {
                    ApiError::new(
                        "InvalidGroup.NotFound",
                        format!(
                            "The security group '{name}' does not exist in default VPC '{vpc}'"
                        ),
                    )
                })?
                .id
                .clone()
        }
        (None, None) => return Err(ApiError::missing("GroupId")),
    };
    let g = &state.groups[&id];
    if g.name == "default" {
        return Err(ApiError::new(
            "CannotDelete",
            format!("the specified group: \"{id}\" name: \"default\" cannot be deleted by a user"),
        ));
    }
    let attached = state.interfaces.values().any(|i| i.group_ids.contains(&id));
    let referenced = state.groups.values().any(|other| {
        other.id != id
            && other
                .rules
                .iter()
                .any(|r| r.peer == Peer::Group(id.clone()))
    });
    if attached || referenced {
        return Err(ApiError::new(
            "DependencyViolation",
            format!("resource {id} has a dependent object"),
        ));
    }
    state.groups.remove(&id);
    Ok(json!({ "Return": true, "GroupId": id }))
}

pub fn describe_security_groups(state: &State, req: &DescribeSecurityGroups) -> ApiResult<Value> {
    let mut out = Vec::new();
    if req.group_ids.is_empty() && req.group_names.is_empty() {
        out.extend(state.groups.values());
    }
    for id in &req.group_ids {
        out.push(group(state, id)?);
    }
    let vpc = &state.default_vpc().id;
    for name in &req.group_names {
        let g = state
            .groups
            .values()
            .find(|g| &g.vpc_id == vpc && &g.name == name)
            .ok_or_else(|| {
                ApiError::new(
                    "InvalidGroup.NotFound",
                    format!("The security group '{name}' does not exist in default VPC '{vpc}'"),
                )
            })?;
        out.push(g);
    }
    out.dedup_by(|a, b| a.id == b.id);
    let groups: Vec<SecurityGroup> = out
        .into_iter()
        .map(|g| to_security_group(state, g))
        .collect();
    Ok(json!({ "SecurityGroups": groups }))
}

fn to_security_group(state: &State, g: &Group) -> SecurityGroup {
    let (egress, ingress): (Vec<&Rule>, Vec<&Rule>) = g.rules.iter().partition(|r| r.egress);
    SecurityGroup {
        description: g.description.clone(),
        group_name: g.name.clone(),
        ip_permissions: to_permissions(state, &ingress),
        owner_id: state.owner_id.clone(),
        group_id: g.id.clone(),
        ip_permissions_egress: to_permissions(state, &egress),
        tags: g
            .tags
            .iter()
            .map(|t| TagOut {
                key: t.key.clone(),
                value: t.value.clone(),
            })
            .collect(),
        vpc_id: g.vpc_id.clone(),
    }
}

/// Groups rules into AWS `IpPermissions`: one entry per (protocol, ports), peers in order.
fn to_permissions(state: &State, rules: &[&Rule]) -> Vec<IpPermission> {
    let mut out: Vec<IpPermission> = Vec::new();
    for r in rules {
        let proto = protocol_name(r.protocol);
        let idx = match out.iter().position(|p| {
            p.ip_protocol == proto && p.from_port == r.from_port && p.to_port == r.to_port
        }) {
            Some(i) => i,
            None => {
                out.push(IpPermission {
                    ip_protocol: proto,
                    from_port: r.from_port,
                    to_port: r.to_port,
                    ..Default::default()
                });
                out.len() - 1
            }
        };
        let p = &mut out[idx];
        match &r.peer {
            Peer::Ipv4(n) => p.ip_ranges.push(IpRange {
                cidr_ip: n.to_string(),
                description: r.description.clone(),
            }),
            Peer::Ipv6(n) => p.ipv6_ranges.push(Ipv6Range {
                cidr_ipv6: n.to_string(),
                description: r.description.clone(),
            }),
            Peer::Group(id) => p.user_id_group_pairs.push(UserIdGroupPair {
                description: r.description.clone(),
                group_id: Some(id.clone()),
                user_id: Some(state.owner_id.clone()),
                ..Default::default()
            }),
        }
    }
    out
}

fn to_rule_out(state: &State, group_id: &str, r: &Rule) -> SecurityGroupRule {
    let (cidr_ipv4, cidr_ipv6, referenced_group_info) = match &r.peer {
        Peer::Ipv4(n) => (Some(n.to_string()), None, None),
        Peer::Ipv6(n) => (None, Some(n.to_string()), None),
        Peer::Group(id) => (
            None,
            None,
            Some(ReferencedGroupInfo {
                group_id: id.clone(),
                user_id: state.owner_id.clone(),
            }),
        ),
    };
    SecurityGroupRule {
        security_group_rule_id: r.id.clone(),
        group_id: group_id.to_owned(),
        group_owner_id: state.owner_id.clone(),
        is_egress: r.egress,
        ip_protocol: protocol_name(r.protocol),
        from_port: r.from_port.unwrap_or(-1),
        to_port: r.to_port.unwrap_or(-1),
        cidr_ipv4,
        cidr_ipv6,
        referenced_group_info,
        description: r.description.clone(),
    }
}

/// Checks and normalises a permission's port range for its protocol (SG-RULE-2, SG-RULE-3).
fn port_range(
    proto: i16,
    from: Option<i32>,
    to: Option<i32>,
) -> ApiResult<(Option<i32>, Option<i32>)> {
    match proto {
        PROTO_TCP | PROTO_UDP => {
            let (Some(f), Some(t)) = (from, to) else {
                return Err(ApiError::invalid_value(
                    "Invalid value for portRange. Must specify both from and to ports with TCP/UDP.",
                ));
            };
            if !(0..=65535).contains(&f) || !(0..=65535).contains(&t) {
                return Err(ApiError::invalid_value(format!(
                    "Invalid value for portRange {f}-{t}: ports must be within 0-65535"
                )));
            }
            if f > t {
                return Err(ApiError::invalid_value(format!(
                    "Invalid value for portRange {f}-{t}: fromPort must not be greater than toPort"
                )));
            }
            Ok((Some(f), Some(t)))
        }
        PROTO_ICMP | PROTO_ICMPV6 => {
            let (t, c) = (from.unwrap_or(-1), to.unwrap_or(-1));
            if !(-1..=255).contains(&t) || !(-1..=255).contains(&c) {
                return Err(ApiError::invalid_value(format!(
                    "Invalid value for ICMP type {t} or code {c}: must be within -1..=255"
                )));
            }
            if t == -1 && c != -1 {
                return Err(ApiError::invalid_value(
                    "Invalid value for ICMP code: when the type is -1 (all), the code must be -1",
                ));
            }
            Ok((Some(t), Some(c)))
        }
        // -1 and protocols without ports cover every port whatever range is given.
        _ => Ok((None, None)),
    }
}

/// Turns `IpPermissions` into rules (without ids), validating every field.
pub fn permissions_to_rules(
    state: &State,
    egress: bool,
    perms: &[IpPermission],
) -> ApiResult<Vec<Rule>> {
    let mut rules = Vec::new();
    for p in perms {
        let protocol = parse_protocol(&p.ip_protocol)?;
        let (from_port, to_port) = port_range(protocol, p.from_port, p.to_port)?;
        let mut push = |peer, description: &Option<String>| -> ApiResult<()> {
            rules.push(Rule {
                id: String::new(),
                egress,
                protocol,
                from_port,
                to_port,
                peer,
                description: validate::rule_description(description)?,
            });
            Ok(())
        };
        for r in &p.ip_ranges {
            push(Peer::Ipv4(validate::cidr_v4(&r.cidr_ip)?), &r.description)?;
        }
        for r in &p.ipv6_ranges {
            push(Peer::Ipv6(validate::cidr_v6(&r.cidr_ipv6)?), &r.description)?;
        }
        for pair in &p.user_id_group_pairs {
            let id = match (&pair.group_id, &pair.group_name) {
                (Some(id), _) => group(state, id)?.id.clone(),
                (None, Some(name)) => {
                    let vpc = &state.default_vpc().id;
                    state
                        .groups
                        .values()
                        .find(|g| &g.vpc_id == vpc && &g.name == name)
                        .ok_or_else(|| ApiError::group_not_found(name))?
                        .id
                        .clone()
                }
                (None, None) => return Err(ApiError::missing("UserIdGroupPairs.GroupId")),
            };
            push(Peer::Group(id), &pair.description)?;
        }
        if !p.prefix_list_ids.is_empty() {
            return Err(ApiError::invalid_value(
                "Prefix list peers (PrefixListIds) are not supported by this version of sgd",
            ));
        }
        if p.ip_ranges.is_empty() && p.ipv6_ranges.is_empty() && p.user_id_group_pairs.is_empty() {
            return Err(ApiError::missing(
                "IpPermissions (one of IpRanges, Ipv6Ranges, UserIdGroupPairs)",
            ));
        }
    }
    Ok(rules)
}

fn describe_rule(r: &Rule) -> String {
    let peer = match &r.peer {
        Peer::Ipv4(n) => n.to_string(),
        Peer::Ipv6(n) => n.to_string(),
        Peer::Group(g) => g.clone(),
    };
    let proto = match r.protocol {
        PROTO_ALL => "ALL".to_owned(),
        p => protocol_name(p).to_ascii_uppercase(),
    };
    match (r.from_port, r.to_port) {
        (Some(f), Some(t)) => format!("peer: {peer}, {proto}, from port: {f}, to port: {t}, ALLOW"),
        _ => format!("peer: {peer}, {proto}, ALLOW"),
    }
}

fn family_counts(rules: &[Rule], egress: bool) -> (usize, usize) {
    rules
        .iter()
        .filter(|r| r.egress == egress)
        .fold((0, 0), |(v4, v6), r| match r.peer {
            Peer::Ipv4(_) => (v4 + 1, v6),
            Peer::Ipv6(_) => (v4, v6 + 1),
            // A group reference counts once in each family.
            Peer::Group(_) => (v4 + 1, v6 + 1),
        })
}

pub fn authorize(
    state: &mut State,
    ids: &mut dyn IdSource,
    quotas: &Quotas,
    group_id: &Option<String>,
    egress: bool,
    perms: &[IpPermission],
) -> ApiResult<Value> {
    let gid = group(state, required(group_id, "GroupId")?)?.id.clone();
    if perms.is_empty() {
        return Err(ApiError::missing("IpPermissions"));
    }
    let mut new = permissions_to_rules(state, egress, perms)?;
    for (i, r) in new.iter().enumerate() {
        if new[..i].iter().any(|o| o.same_permission(r)) {
            return Err(ApiError::invalid_value(format!(
                "The same permission must not appear multiple times: {}",
                describe_rule(r)
            )));
        }
    }
    let g = state.groups.get_mut(&gid).expect("group checked above");
    if let Some(r) = new
        .iter()
        .find(|r| g.rules.iter().any(|o| o.same_permission(r)))
    {
        return Err(ApiError::new(
            "InvalidPermission.Duplicate",
            format!("the specified rule \"{}\" already exists", describe_rule(r)),
        ));
    }
    for r in &mut new {
        r.id = new_rule_id(ids);
    }
    g.rules.extend(new.iter().cloned());
    let (v4, v6) = family_counts(&g.rules, egress);
    if v4 > quotas.rules_per_group || v6 > quotas.rules_per_group {
        return Err(ApiError::new(
            "RulesPerSecurityGroupLimitExceeded",
            "The maximum number of rules per security group has been reached.",
        ));
    }
    let out: Vec<SecurityGroupRule> = new.iter().map(|r| to_rule_out(state, &gid, r)).collect();
    Ok(json!({ "Return": true, "SecurityGroupRules": out }))
}

pub fn revoke(
    state: &mut State,
    group_id: &Option<String>,
    egress: bool,
    perms: &[IpPermission],
) -> ApiResult<Value> {
    let gid = group(state, required(group_id, "GroupId")?)?.id.clone();
    if perms.is_empty() {
        return Err(ApiError::missing("IpPermissions"));
    }
    let gone = permissions_to_rules(state, egress, perms)?;
    let g = state.groups.get_mut(&gid).expect("group checked above");
    for r in &gone {
        if !g.rules.iter().any(|o| o.same_permission(r)) {
            return Err(ApiError::new(
                "InvalidPermission.NotFound",
                format!(
                    "The specified rule does not exist in this security group: {}",
                    describe_rule(r)
                ),
            ));
        }
    }
    g.rules
        .retain(|o| !gone.iter().any(|r| r.same_permission(o)));
    Ok(json!({ "Return": true }))
}

/// `ModifyNetworkInterfaceAttribute --groups`: replaces the interface's whole set (SG-IF-1).
/// `device_exists` tells whether a network device of that name exists on this host.
pub fn modify_network_interface_attribute(
    state: &mut State,
    quotas: &Quotas,
    req: &ModifyNetworkInterfaceAttribute,
    device_exists: &dyn Fn(&str) -> bool,
) -> ApiResult<Value> {
    let name = required(&req.network_interface_id, "NetworkInterfaceId")?;
    if !state.interfaces.contains_key(name) && !device_exists(name) {
        return Err(ApiError::interface_not_found(name));
    }
    let Some(groups) = &req.groups else {
        return Err(ApiError::missing("Groups"));
    };
    let mut set: Vec<String> = Vec::new();
    for id in groups {
        group(state, id)?;
        if !set.contains(id) {
            set.push(id.clone());
        }
    }
    if set.is_empty() {
        return Err(ApiError::missing("Groups"));
    }
    if set.len() > quotas.groups_per_interface {
        return Err(ApiError::new(
            "SecurityGroupsPerInterfaceLimitExceeded",
            "The maximum number of security groups per interface has been reached.",
        ));
    }
    let vpc_id = state
        .interfaces
        .get(name)
        .map(|i| i.vpc_id.clone())
        .unwrap_or_else(|| state.default_vpc().id.clone());
    if let Some(g) = set
        .iter()
        .map(|id| &state.groups[id])
        .find(|g| g.vpc_id != vpc_id)
    {
        return Err(ApiError::invalid_value(format!(
            "security group {} and interface {name} belong to different networks",
            g.id
        )));
    }
    let iface = state
        .interfaces
        .entry(name.to_owned())
        .or_insert_with(|| Interface {
            id: name.to_owned(),
            vpc_id,
            group_ids: Vec::new(),
            mode: AttachMode::Instance,
            timeouts: Timeouts::default(),
        });
    iface.group_ids = set;
    Ok(Value::Null)
}

#[cfg(test)]
mod tests;
