//! Group and interface operations (SG-GRP, SG-IF, SG-API); rule operations are in
//! [`super::rules`]. Each returns the AWS-shaped output or an [`ApiError`]. An operation that
//! fails may have changed the state part-way: callers apply it to a copy and keep the copy only
//! on success, so a request is all-or-nothing (SG-RULE-6).

use super::{
    ApiError, ApiResult, AttachMode, Enforcement, Group, IdSource, Interface, PROTO_ALL, Peer,
    Quotas, Rule, State, Tag, Timeouts, filters, hex17,
    rules::{self, group, new_rule_id, resolve_group, to_permissions},
    validate,
};
use std::net::IpAddr;

use crate::shapes::{
    AssignPrivateIpAddressesResult, AssignedPrivateIpAddress, CreateNetworkInterface,
    CreateSecurityGroup, CreateSecurityGroupResult, DeleteSecurityGroup, DeleteSecurityGroupResult,
    DescribeSecurityGroups, DescribeSecurityGroupsResult, ModifyNetworkInterfaceAttribute, Output,
    PrivateAddresses, SecurityGroup,
};

pub use rules::{authorize, revoke};

fn all_rule(ids: &mut dyn IdSource, egress: bool, peer: Peer) -> Rule {
    Rule {
        id: new_rule_id(ids),
        egress,
        protocol: PROTO_ALL,
        from_port: None,
        to_port: None,
        peer,
        description: None,
        tags: Vec::new(),
    }
}

/// Adds the `default` group of a VPC: inbound all from itself, outbound all to anywhere
/// (SG-GRP-3, [`default_egress`]); in an EC2-Classic VPC outbound is implicit and not a rule.
pub fn create_default_group(state: &mut State, ids: &mut dyn IdSource, vpc_id: &str) -> String {
    let id = format!("sg-{}", hex17(ids.next()));
    let mut rules = vec![all_rule(ids, false, Peer::Group(id.clone()))];
    if !state.is_classic(vpc_id) {
        rules.extend(default_egress(ids, state.is_dual_stack(vpc_id)));
    }
    state.groups.insert(
        id.clone(),
        Group {
            id: id.clone(),
            name: "default".into(),
            description: "default VPC security group".into(),
            vpc_id: vpc_id.into(),
            owner_id: None,
            arn: None,
            tags: Vec::new(),
            rules,
        },
    );
    id
}

/// The outbound rules every new group starts with (SG-GRP-4): all traffic to `0.0.0.0/0`, and
/// to `::/0` when its VPC is dual-stack, as on EC2 ("if your VPC has an associated IPv6 CIDR
/// block"). The default VPC always is (`vpcs::add_vpc`), so there SG-GRP-3/4 hold word for
/// word; a VPC made by `CreateVpc` without `AmazonProvidedIpv6CidrBlock` gets IPv4 only.
fn default_egress(ids: &mut dyn IdSource, dual_stack: bool) -> Vec<Rule> {
    let mut rules = vec![all_rule(
        ids,
        true,
        Peer::Ipv4("0.0.0.0/0".parse().expect("valid CIDR")),
    )];
    if dual_stack {
        rules.push(all_rule(
            ids,
            true,
            Peer::Ipv6("::/0".parse().expect("valid CIDR")),
        ));
    }
    rules
}

pub fn required<'a>(v: &'a Option<String>, name: &str) -> ApiResult<&'a str> {
    match v.as_deref() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::missing(name)),
    }
}

pub fn vpc_not_found(id: &str) -> ApiError {
    ApiError::new(
        "InvalidVpcID.NotFound",
        format!("The vpc ID '{id}' does not exist"),
    )
}

pub fn create_security_group(
    state: &mut State,
    ids: &mut dyn IdSource,
    quotas: &Quotas,
    req: &CreateSecurityGroup,
) -> ApiResult<CreateSecurityGroupResult> {
    let vpc_id = match &req.vpc_id {
        Some(v) if !state.vpcs.contains_key(v) => return Err(vpc_not_found(v)),
        Some(v) => v.clone(),
        None => state.default_vpc_id()?,
    };
    let classic = state.is_classic(&vpc_id);
    let name = validate::group_name(required(&req.group_name, "GroupName")?, classic)?;
    let description = required(&req.description, "GroupDescription")?;
    if classic {
        validate::classic_text("GroupDescription", description)?;
    } else {
        validate::text("GroupDescription", description)?;
    }
    let tags = rules::tags_for(&req.tag_specifications, "security-group")?;
    let in_vpc = state.groups.values().filter(|g| g.vpc_id == vpc_id);
    if in_vpc.clone().any(|g| g.name.eq_ignore_ascii_case(&name)) {
        return Err(ApiError::new(
            "InvalidGroup.Duplicate",
            format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
        ));
    }
    if in_vpc.count() >= quotas.for_vpc(classic).groups_per_vpc {
        return Err(ApiError::new(
            "SecurityGroupLimitExceeded",
            "The maximum number of security groups has been reached.",
        ));
    }
    let id = format!("sg-{}", hex17(ids.next()));
    // "Copy to new" (SG-GRP-5): the source's rules, under new ids, instead of the defaults.
    let rules = match &req.copy_from_group_id {
        Some(src) => {
            let src = group(state, src)?;
            if classic {
                for r in &src.rules {
                    rules::check_classic(r)?;
                }
            }
            let mut copied = src.rules.clone();
            for r in &mut copied {
                r.id = new_rule_id(ids);
            }
            copied
        }
        None if classic => Vec::new(),
        None => default_egress(ids, state.is_dual_stack(&vpc_id)),
    };
    let group = Group {
        id: id.clone(),
        name,
        description: description.to_owned(),
        vpc_id,
        owner_id: None,
        arn: None,
        tags: tags.clone(),
        rules,
    };
    rules::check_rule_quota(state, quotas, &group)?;
    state.groups.insert(id.clone(), group);
    Ok(CreateSecurityGroupResult {
        security_group_arn: state.arn(&state.owner_id, "security-group", &id),
        group_id: id,
        tags,
    })
}

pub fn delete_security_group(
    state: &mut State,
    req: &DeleteSecurityGroup,
) -> ApiResult<DeleteSecurityGroupResult> {
    let id = resolve_group(state, &req.group_id, &req.group_name)?;
    let g = &state.groups[&id];
    if g.name == "default" {
        if state.is_classic(&g.vpc_id) {
            return Err(ApiError::new(
                "InvalidGroup.Reserved",
                "The security group 'default' is reserved",
            ));
        }
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
    Ok(DeleteSecurityGroupResult {
        r#return: true,
        group_id: id,
    })
}

struct GroupView<'a>(&'a State, &'a Group);

impl filters::Filterable for GroupView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let g = self.1;
        Some(match name {
            "group-id" => vec![g.id.clone()],
            "group-name" => vec![g.name.clone()],
            "vpc-id" => vec![g.vpc_id.clone()],
            "description" => vec![g.description.clone()],
            "owner-id" => vec![self.0.owner_of(g).to_owned()],
            other => {
                // `ip-permission.*` (inbound rules) and `egress.ip-permission.*` (outbound):
                // each filter matches if any rule of that direction has the value, as on EC2
                // (two such filters need not match the same rule).
                let (egress, field) = match other.strip_prefix("egress.ip-permission.") {
                    Some(f) => (true, f),
                    None => (false, other.strip_prefix("ip-permission.")?),
                };
                let rules = g.rules.iter().filter(|r| r.egress == egress);
                let port = |p: Option<i32>| p.unwrap_or(-1).to_string();
                match field {
                    "protocol" => rules.map(|r| super::protocol_name(r.protocol)).collect(),
                    "from-port" => rules.map(|r| port(r.from_port)).collect(),
                    "to-port" => rules.map(|r| port(r.to_port)).collect(),
                    "cidr" => rules
                        .filter_map(|r| match &r.peer {
                            Peer::Ipv4(n) => Some(n.to_string()),
                            _ => None,
                        })
                        .collect(),
                    "ipv6-cidr" => rules
                        .filter_map(|r| match &r.peer {
                            Peer::Ipv6(n) => Some(n.to_string()),
                            _ => None,
                        })
                        .collect(),
                    "prefix-list-id" => rules
                        .filter_map(|r| match &r.peer {
                            Peer::PrefixList(id) => Some(id.clone()),
                            _ => None,
                        })
                        .collect(),
                    "group-id" => rules
                        .filter_map(|r| match &r.peer {
                            Peer::Group(id) => Some(id.clone()),
                            _ => None,
                        })
                        .collect(),
                    "group-name" => rules
                        .filter_map(|r| match &r.peer {
                            Peer::Group(id) => self.0.groups.get(id).map(|o| o.name.clone()),
                            _ => None,
                        })
                        .collect(),
                    "user-id" => rules
                        .filter_map(|r| match &r.peer {
                            Peer::Group(id) => {
                                self.0.groups.get(id).map(|o| self.0.owner_of(o).to_owned())
                            }
                            _ => None,
                        })
                        .collect(),
                    _ => return None,
                }
            }
        })
    }

    fn tags(&self) -> &[Tag] {
        &self.1.tags
    }
}

pub fn describe_security_groups(
    state: &State,
    req: &DescribeSecurityGroups,
) -> ApiResult<DescribeSecurityGroupsResult> {
    let mut out: Vec<&Group> = Vec::new();
    for id in &req.group_ids {
        out.push(group(state, id)?);
    }
    for name in &req.group_names {
        out.push(&state.groups[&resolve_group(state, &None, &Some(name.clone()))?]);
    }
    if req.group_ids.is_empty() && req.group_names.is_empty() {
        out.extend(state.groups.values());
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    let mut groups = Vec::new();
    for g in out {
        if filters::matches(&GroupView(state, g), &req.filters)? {
            groups.push(to_security_group(state, g));
        }
    }
    Ok(DescribeSecurityGroupsResult {
        security_groups: groups,
        next_token: None,
    })
}

pub fn to_security_group(state: &State, g: &Group) -> SecurityGroup {
    let owner = state.owner_of(g);
    let (egress, ingress): (Vec<&Rule>, Vec<&Rule>) = g.rules.iter().partition(|r| r.egress);
    SecurityGroup {
        description: g.description.clone(),
        group_name: g.name.clone(),
        ip_permissions: to_permissions(state, owner, &ingress),
        owner_id: owner.to_owned(),
        group_id: g.id.clone(),
        ip_permissions_egress: to_permissions(state, owner, &egress),
        tags: g.tags.clone(),
        vpc_id: g.vpc_id.clone(),
        // An imported group keeps the ARN AWS gave it.
        security_group_arn: Some(
            g.arn
                .clone()
                .unwrap_or_else(|| state.arn(owner, "security-group", &g.id)),
        ),
    }
}

/// Checks an interface's connection-tracking timeouts (SG-IF-4).
fn timeouts(
    current: Timeouts,
    spec: &crate::shapes::ConnectionTrackingSpecification,
) -> ApiResult<Timeouts> {
    let check = |name: &str, v: Option<i64>, range: std::ops::RangeInclusive<i64>, cur: u32| match v
    {
        None => Ok(cur),
        Some(v) if range.contains(&v) => Ok(v as u32),
        Some(v) => Err(ApiError::invalid_value(format!(
            "Invalid value '{v}' for {name}: must be between {} and {} seconds",
            range.start(),
            range.end()
        ))),
    };
    Ok(Timeouts {
        tcp_established: check(
            "TcpEstablishedTimeout",
            spec.tcp_established_timeout,
            60..=432_000,
            current.tcp_established,
        )?,
        udp_stream: check(
            "UdpStreamTimeout",
            spec.udp_stream_timeout,
            60..=180,
            current.udp_stream,
        )?,
        udp: check("UdpTimeout", spec.udp_timeout, 30..=60, current.udp)?,
    })
}

/// Replaces an interface's groups (SG-IF-1): 1..=5 existing groups of one VPC; a new
/// interface joins the VPC of its groups; EC2-Classic interfaces keep their groups.
fn set_groups(
    state: &State,
    quotas: &Quotas,
    iface: &mut Interface,
    groups: &[String],
    new: bool,
) -> ApiResult<()> {
    let name = iface.id.clone();
    let mut set: Vec<String> = Vec::new();
    for id in groups {
        group(state, id)?;
        if !set.contains(id) {
            set.push(id.clone());
        }
    }
    let Some(first) = set.first() else {
        return Err(ApiError::missing("Groups"));
    };
    if new {
        iface.vpc_id = state.groups[first].vpc_id.clone();
    }
    if let Some(g) = set
        .iter()
        .map(|id| &state.groups[id])
        .find(|g| g.vpc_id != iface.vpc_id)
    {
        return Err(ApiError::invalid_value(format!(
            "security group {} and interface {name} belong to different networks",
            g.id
        )));
    }
    let classic = state.is_classic(&iface.vpc_id);
    if set.len() > quotas.for_vpc(classic).groups_per_interface {
        return Err(ApiError::new(
            "SecurityGroupsPerInterfaceLimitExceeded",
            "The maximum number of security groups per interface has been reached.",
        ));
    }
    if classic && !iface.group_ids.is_empty() && iface.group_ids != set {
        return Err(ApiError::invalid_value(format!(
            "the security groups of EC2-Classic interface {name} cannot be changed once attached"
        )));
    }
    iface.group_ids = set;
    Ok(())
}

/// Parses declared private addresses: unique, no link-local, unspecified or multicast.
fn private_addresses(list: &[String]) -> ApiResult<Vec<IpAddr>> {
    let mut out: Vec<IpAddr> = Vec::new();
    for a in list {
        let ip: IpAddr = a.trim().parse().map_err(|_| {
            ApiError::invalid_value(format!(
                "Invalid value '{a}' for PrivateIpAddresses: not an IP address"
            ))
        })?;
        let bad = ip.is_unspecified()
            || ip.is_multicast()
            || ip.is_loopback()
            || matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80);
        if bad {
            return Err(ApiError::invalid_value(format!(
                "Invalid value '{a}' for PrivateIpAddresses: not a unicast address an instance can own"
            )));
        }
        if out.contains(&ip) {
            return Err(ApiError::invalid_value(format!(
                "Duplicate private address {a}"
            )));
        }
        out.push(ip);
    }
    Ok(out)
}

/// The tag that names the Linux device of a `CreateNetworkInterface` sent by an EC2 client,
/// which has no parameter for it (`--tag-specifications
/// 'ResourceType=network-interface,Tags=[{Key=sgd:device,Value=veth0}]'`).
pub const DEVICE_TAG: &str = "sgd:device";

/// The subnet of a VPC: sgd models one per VPC, named after it (`vpc-0abc…` has
/// `subnet-0abc…`), so that EC2 clients, which must name a subnet, name the VPC.
pub fn subnet_of(vpc_id: &str) -> String {
    format!("subnet-{}", vpc_id.strip_prefix("vpc-").unwrap_or(vpc_id))
}

/// The device a `CreateNetworkInterface` protects: `NetworkInterfaceId` (sgctl), or the
/// `sgd:device` tag (EC2 clients). Interfaces keep no other tags, so any other is refused
/// rather than dropped.
pub fn device_of(req: &CreateNetworkInterface) -> ApiResult<&str> {
    let mut tagged = None;
    for spec in &req.tag_specifications {
        if spec.resource_type.as_deref() != Some("network-interface") {
            return Err(ApiError::invalid_value(format!(
                "Invalid resource type '{}' for tags of a network interface",
                spec.resource_type.as_deref().unwrap_or_default()
            )));
        }
        for t in &spec.tags {
            if t.key != DEVICE_TAG {
                return Err(ApiError::invalid_value(format!(
                    "sgd keeps no tags on network interfaces; only '{DEVICE_TAG}' (the device \
                     to protect) is accepted, not '{}'",
                    t.key
                )));
            }
            tagged = Some(t.value.as_str());
        }
    }
    match (req.network_interface_id.as_deref(), tagged) {
        (Some(a), Some(b)) if a != b => Err(ApiError::new(
            "InvalidParameterCombination",
            format!("NetworkInterfaceId '{a}' and tag {DEVICE_TAG}={b} name different devices"),
        )),
        (Some(d), _) | (None, Some(d)) if !d.is_empty() => Ok(d),
        _ => Err(ApiError::missing(&format!(
            "NetworkInterfaceId (or the tag {DEVICE_TAG})"
        ))),
    }
}

/// `CreateNetworkInterface`: protects an interface in instance or host mode (host mode
/// declares the instance's private addresses). Without groups it gets its VPC's `default`
/// group; with a subnet, it joins that subnet's VPC, else the VPC of its groups.
pub fn create_network_interface(
    state: &mut State,
    quotas: &Quotas,
    req: &CreateNetworkInterface,
    device_exists: &dyn Fn(&str) -> bool,
) -> ApiResult<Output> {
    let name = device_of(req)?;
    let subnet_vpc = match &req.subnet_id {
        None => None,
        Some(s) => Some(
            state
                .vpcs
                .keys()
                .find(|v| &subnet_of(v) == s)
                .cloned()
                .ok_or_else(|| {
                    ApiError::new(
                        "InvalidSubnetID.NotFound",
                        format!("The subnet ID '{s}' does not exist"),
                    )
                })?,
        ),
    };
    if !device_exists(name) {
        return Err(ApiError::interface_not_found(name));
    }
    if state.interfaces.contains_key(name) {
        return Err(ApiError::invalid_value(format!(
            "The network interface {name} is already protected; use modify-network-interface-attribute"
        )));
    }
    let declared = if req.private_ip_addresses.is_empty() {
        "instance"
    } else {
        "host"
    };
    let mode = match req.attach_mode.as_deref().unwrap_or(declared) {
        "instance" => AttachMode::Instance,
        "host" => AttachMode::Host,
        other => {
            return Err(ApiError::invalid_value(format!(
                "Invalid value '{other}' for AttachMode: instance or host"
            )));
        }
    };
    let vpc = match &subnet_vpc {
        Some(v) => v.clone(),
        None => state.default_vpc_id()?,
    };
    let mut iface = Interface::new(name, &vpc, mode);
    if let Some(d) = &req.description {
        validate::text("Description", d)?;
        iface.description = d.clone();
    }
    let addrs = private_addresses(&req.private_ip_addresses)?;
    match mode {
        AttachMode::Host if addrs.is_empty() => {
            return Err(ApiError::missing("PrivateIpAddresses"));
        }
        AttachMode::Instance if !addrs.is_empty() => {
            return Err(ApiError::invalid_value(
                "In instance mode the private addresses are read from the device; declare them only in host mode",
            ));
        }
        _ => iface.private_addresses = addrs,
    }
    if let Some(sdc) = req.source_dest_check {
        check_source_dest_mode(&iface, sdc)?;
        iface.source_dest_check = sdc;
    }
    // No groups: the VPC's `default` group (SG-IF-1), as EC2 does.
    if !req.groups.is_empty() {
        set_groups(state, quotas, &mut iface, &req.groups, subnet_vpc.is_none())?;
    }
    if state.default_group_of(&iface.vpc_id).is_none() && iface.group_ids.is_empty() {
        return Err(ApiError::missing("Groups"));
    }
    state.interfaces.insert(name.to_owned(), iface);
    // The daemon answers with the interface as enforced, once committed.
    Ok(Output::None)
}

/// Source/destination check is enforced on the host side only: on the instance itself its
/// own stack decides what it sends.
fn check_source_dest_mode(iface: &Interface, on: bool) -> ApiResult<()> {
    if on && iface.mode == AttachMode::Instance {
        return Err(ApiError::invalid_value(format!(
            "SourceDestCheck applies to host-mode interfaces; {} is protected in instance mode",
            iface.id
        )));
    }
    Ok(())
}

/// `DeleteNetworkInterface`: stops protecting the interface.
pub fn delete_network_interface(state: &mut State, id: &Option<String>) -> ApiResult<Output> {
    let name = required(id, "NetworkInterfaceId")?;
    state
        .interfaces
        .remove(name)
        .ok_or_else(|| ApiError::interface_not_found(name))?;
    Ok(Output::None)
}

/// `AssignPrivateIpAddresses` / `UnassignPrivateIpAddresses` on a host-mode interface.
/// Assigning answers EC2's `AssignPrivateIpAddressesResult`; unassigning answers nothing.
pub fn assign_private_addresses(
    state: &mut State,
    req: &PrivateAddresses,
    assign: bool,
) -> ApiResult<Output> {
    let name = required(&req.network_interface_id, "NetworkInterfaceId")?;
    let iface = state
        .interfaces
        .get_mut(name)
        .ok_or_else(|| ApiError::interface_not_found(name))?;
    if iface.mode != AttachMode::Host {
        return Err(ApiError::invalid_value(format!(
            "{name} is protected in instance mode: its addresses are those of the device"
        )));
    }
    let addrs = private_addresses(&req.private_ip_addresses)?;
    if addrs.is_empty() {
        return Err(ApiError::missing("PrivateIpAddresses"));
    }
    for &a in &addrs {
        let present = iface.private_addresses.contains(&a);
        match (assign, present) {
            (true, true) => {
                return Err(ApiError::invalid_value(format!(
                    "{a} is already assigned to {name}"
                )));
            }
            (false, false) => {
                return Err(ApiError::invalid_value(format!(
                    "{a} is not assigned to {name}"
                )));
            }
            (true, false) => iface.private_addresses.push(a),
            (false, true) => iface.private_addresses.retain(|x| *x != a),
        }
    }
    if iface.private_addresses.is_empty() {
        return Err(ApiError::invalid_value(format!(
            "{name} must keep at least one private address"
        )));
    }
    if !assign {
        // UnassignPrivateIpAddresses has no output in the EC2 model.
        return Ok(Output::None);
    }
    // EC2's AssignPrivateIpAddressesResult: the interface and the addresses it was given.
    Ok(AssignPrivateIpAddressesResult {
        network_interface_id: name.to_owned(),
        assigned_private_ip_addresses: addrs
            .iter()
            .map(|a| AssignedPrivateIpAddress {
                private_ip_address: a.to_string(),
            })
            .collect(),
    }
    .into())
}

/// `ModifyNetworkInterfaceAttribute`: `--groups` replaces the interface's whole set (SG-IF-1);
/// `--connection-tracking-specification` sets its timeouts (SG-IF-4);
/// `--[no-]source-dest-check` switches the check (SG-IF-5); `--enforcement-mode` switches
/// between enforcing the groups and auditing them (sgd's own). `device_exists` tells whether a
/// network device of that name exists on this host.
pub fn modify_network_interface_attribute(
    state: &mut State,
    quotas: &Quotas,
    req: &ModifyNetworkInterfaceAttribute,
    device_exists: &dyn Fn(&str) -> bool,
) -> ApiResult<Output> {
    let name = required(&req.network_interface_id, "NetworkInterfaceId")?;
    let known = state.interfaces.contains_key(name);
    if !known && !device_exists(name) {
        return Err(ApiError::interface_not_found(name));
    }
    if req.groups.is_none()
        && req.connection_tracking_specification.is_none()
        && req.source_dest_check.is_none()
        && req.enforcement_mode.is_none()
    {
        return Err(ApiError::missing(
            "Groups, ConnectionTrackingSpecification, SourceDestCheck or EnforcementMode",
        ));
    }
    let enforcement = match req.enforcement_mode.as_deref() {
        None => None,
        Some("enforce") => Some(Enforcement::Enforce),
        Some("audit") => Some(Enforcement::Audit),
        Some(other) => {
            return Err(ApiError::invalid_value(format!(
                "EnforcementMode must be enforce or audit, not \"{other}\""
            )));
        }
    };
    let mut iface = match state.interfaces.get(name) {
        Some(i) => i.clone(),
        None => Interface::new(name, &state.default_vpc_id()?, AttachMode::Instance),
    };
    if let Some(groups) = &req.groups {
        set_groups(state, quotas, &mut iface, groups, !known)?;
    }
    if let Some(spec) = &req.connection_tracking_specification {
        iface.timeouts = timeouts(iface.timeouts, spec)?;
    }
    if let Some(sdc) = req.source_dest_check {
        check_source_dest_mode(&iface, sdc)?;
        iface.source_dest_check = sdc;
    }
    if let Some(e) = enforcement {
        iface.enforcement = e;
    }
    state.interfaces.insert(name.to_owned(), iface);
    Ok(Output::None)
}

#[cfg(test)]
mod tests;
