//! Rules (SG-RULE): conversion between AWS `IpPermissions` and rules, validation, and the rule
//! operations: authorize, revoke (by permission or by `sgr-` id), modify in place, update
//! descriptions, describe.

use super::{
    ApiError, ApiResult, Group, IdSource, PROTO_ALL, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP,
    PROTO_UDP, Peer, Quotas, Rule, State, Tag, filters, hex17, parse_protocol, protocol_name,
    validate,
};
use crate::shapes::{
    AuthorizeSecurityGroupResult, DescribeSecurityGroupRules, DescribeSecurityGroupRulesResult,
    IpPermission, IpRange, Ipv6Range, ModifySecurityGroupRules, Permissions, PrefixListId,
    ReferencedGroupInfo, ReturnResult, SecurityGroupRule, SecurityGroupRuleRequest,
    UpdateDescriptions, UserIdGroupPair,
};

pub use super::tags::tags_for;

pub fn new_rule_id(ids: &mut dyn IdSource) -> String {
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

/// The group a request names by `GroupId`, or by `GroupName` in the default VPC.
pub fn resolve_group(
    state: &State,
    id: &Option<String>,
    name: &Option<String>,
) -> ApiResult<String> {
    match (id.as_deref(), name.as_deref()) {
        (Some(id), _) if !id.is_empty() => Ok(group(state, id)?.id.clone()),
        (_, Some(name)) if !name.is_empty() => {
            let vpc = &state.default_vpc_id()?;
            state
                .groups
                .values()
                .find(|g| &g.vpc_id == vpc && g.name == name)
                .map(|g| g.id.clone())
                .ok_or_else(|| {
                    ApiError::new(
                        "InvalidGroup.NotFound",
                        format!(
                            "The security group '{name}' does not exist in default VPC '{vpc}'"
                        ),
                    )
                })
        }
        _ => Err(ApiError::missing("GroupId")),
    }
}

/// Checks and normalises a permission's port range for its protocol (SG-RULE-2, SG-RULE-3).
pub fn port_range(
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

/// A rule an EC2-Classic group can hold (SG-CLASSIC): inbound, TCP/UDP/ICMP, no IPv6 peer.
pub fn check_classic(r: &Rule) -> ApiResult<()> {
    if r.egress {
        return Err(ApiError::invalid_value(
            "EC2-Classic security groups have no editable outbound rules: outbound traffic is always allowed",
        ));
    }
    if !matches!(r.protocol, PROTO_TCP | PROTO_UDP | PROTO_ICMP) {
        return Err(ApiError::malformed_permission(format!(
            "Unsupported IP protocol \"{}\" - supported: [tcp, udp, icmp]",
            protocol_name(r.protocol)
        )));
    }
    if matches!(r.peer, Peer::Ipv6(_)) {
        return Err(ApiError::invalid_value(
            "EC2-Classic security groups do not support IPv6",
        ));
    }
    Ok(())
}

/// Parses a rule's protocol, with EC2-Classic's restriction to TCP, UDP and ICMP.
fn protocol(s: &str, classic: bool) -> ApiResult<i16> {
    let p = parse_protocol(s)?;
    if classic && !matches!(p, PROTO_TCP | PROTO_UDP | PROTO_ICMP) {
        return Err(ApiError::malformed_permission(format!(
            "Unsupported IP protocol \"{s}\" - supported: [tcp, udp, icmp]"
        )));
    }
    Ok(p)
}

/// How strictly peers are checked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Peers {
    /// Referenced groups and prefix lists must exist.
    MustExist,
    /// `sgctl import`: references to groups or prefix lists that are not here are kept as
    /// stale rules (SG-GRP-7).
    MayBeStale,
}

fn resolve_pair(state: &State, pair: &UserIdGroupPair, peers: Peers) -> ApiResult<String> {
    match (&pair.group_id, &pair.group_name) {
        (Some(id), _) if peers == Peers::MayBeStale => {
            validate::group_id(id)?;
            Ok(id.clone())
        }
        (Some(id), _) => Ok(group(state, id)?.id.clone()),
        (None, Some(name)) => resolve_group(state, &None, &Some(name.clone())),
        (None, None) => Err(ApiError::missing("UserIdGroupPairs.GroupId")),
    }
}

fn prefix_list_peer(state: &State, id: &str, peers: Peers) -> ApiResult<Peer> {
    if !id.starts_with("pl-") {
        return Err(ApiError::new(
            "InvalidPrefixListId.Malformed",
            format!("The prefix list ID '{id}' is malformed"),
        ));
    }
    if peers == Peers::MustExist && !state.prefix_lists.contains_key(id) {
        return Err(ApiError::new(
            "InvalidPrefixListID.NotFound",
            format!("The prefix list ID '{id}' does not exist"),
        ));
    }
    Ok(Peer::PrefixList(id.to_owned()))
}

/// Turns `IpPermissions` into rules (without ids), validating every field.
pub fn permissions_to_rules(
    state: &State,
    classic: bool,
    egress: bool,
    perms: &[IpPermission],
    peers: Peers,
) -> ApiResult<Vec<Rule>> {
    if classic && egress {
        return Err(ApiError::invalid_value(
            "EC2-Classic security groups have no editable outbound rules: outbound traffic is always allowed",
        ));
    }
    let mut rules = Vec::new();
    for p in perms {
        let protocol = protocol(&p.ip_protocol, classic)?;
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
                tags: Vec::new(),
            });
            Ok(())
        };
        for r in &p.ip_ranges {
            push(Peer::Ipv4(validate::cidr_v4(&r.cidr_ip)?), &r.description)?;
        }
        for r in &p.ipv6_ranges {
            if classic {
                return Err(ApiError::invalid_value(
                    "EC2-Classic security groups do not support IPv6",
                ));
            }
            push(Peer::Ipv6(validate::cidr_v6(&r.cidr_ipv6)?), &r.description)?;
        }
        for pair in &p.user_id_group_pairs {
            push(
                Peer::Group(resolve_pair(state, pair, peers)?),
                &pair.description,
            )?;
        }
        for pl in &p.prefix_list_ids {
            push(
                prefix_list_peer(state, &pl.prefix_list_id, peers)?,
                &pl.description,
            )?;
        }
        if p.ip_ranges.is_empty()
            && p.ipv6_ranges.is_empty()
            && p.user_id_group_pairs.is_empty()
            && p.prefix_list_ids.is_empty()
        {
            return Err(ApiError::missing(
                "IpPermissions (one of IpRanges, Ipv6Ranges, UserIdGroupPairs, PrefixListIds)",
            ));
        }
    }
    Ok(rules)
}

/// Groups rules into AWS `IpPermissions`: one entry per (protocol, ports), peers in order.
pub fn to_permissions(state: &State, owner: &str, rules: &[&Rule]) -> Vec<IpPermission> {
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
        let description = r.description.clone();
        match &r.peer {
            Peer::Ipv4(n) => p.ip_ranges.push(IpRange {
                cidr_ip: n.to_string(),
                description,
            }),
            Peer::Ipv6(n) => p.ipv6_ranges.push(Ipv6Range {
                cidr_ipv6: n.to_string(),
                description,
            }),
            Peer::Group(id) => p.user_id_group_pairs.push(UserIdGroupPair {
                description,
                group_id: Some(id.clone()),
                user_id: Some(ref_owner(state, id, owner)),
                ..Default::default()
            }),
            Peer::PrefixList(id) => p.prefix_list_ids.push(PrefixListId {
                prefix_list_id: id.clone(),
                description,
            }),
        }
    }
    out
}

/// The account of a referenced group: its owner if it is here, else the referencing group's.
fn ref_owner(state: &State, id: &str, owner: &str) -> String {
    state
        .groups
        .get(id)
        .map_or(owner, |g| state.owner_of(g))
        .to_owned()
}

pub fn to_rule_out(state: &State, g: &Group, r: &Rule) -> SecurityGroupRule {
    let owner = state.owner_of(g);
    let mut out = SecurityGroupRule {
        security_group_rule_id: r.id.clone(),
        group_id: g.id.clone(),
        group_owner_id: owner.to_owned(),
        is_egress: r.egress,
        ip_protocol: protocol_name(r.protocol),
        from_port: r.from_port.unwrap_or(-1),
        to_port: r.to_port.unwrap_or(-1),
        cidr_ipv4: None,
        cidr_ipv6: None,
        prefix_list_id: None,
        referenced_group_info: None,
        description: r.description.clone(),
        tags: r.tags.clone(),
        security_group_rule_arn: Some(state.arn(owner, "security-group-rule", &r.id)),
        statistics: None,
    };
    match &r.peer {
        Peer::Ipv4(n) => out.cidr_ipv4 = Some(n.to_string()),
        Peer::Ipv6(n) => out.cidr_ipv6 = Some(n.to_string()),
        Peer::Group(id) => {
            out.referenced_group_info = Some(ReferencedGroupInfo {
                group_id: id.clone(),
                user_id: ref_owner(state, id, owner),
            })
        }
        Peer::PrefixList(id) => out.prefix_list_id = Some(id.clone()),
    }
    out
}

/// How AWS names a rule in error messages.
pub fn describe_rule(r: &Rule) -> String {
    let peer = match &r.peer {
        Peer::Ipv4(n) => n.to_string(),
        Peer::Ipv6(n) => n.to_string(),
        Peer::Group(g) | Peer::PrefixList(g) => g.clone(),
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

/// Rules of one direction of a group, counted per family (SG-QUOTA): a group reference counts
/// once in each family, a prefix list counts its maximum size in its family.
fn family_counts(state: &State, rules: &[Rule], egress: bool) -> (usize, usize) {
    rules
        .iter()
        .filter(|r| r.egress == egress)
        .fold((0, 0), |(v4, v6), r| match &r.peer {
            Peer::Ipv4(_) => (v4 + 1, v6),
            Peer::Ipv6(_) => (v4, v6 + 1),
            Peer::Group(_) => (v4 + 1, v6 + 1),
            Peer::PrefixList(id) => match state.prefix_lists.get(id) {
                Some(pl) if pl.address_family == "IPv6" => (v4, v6 + pl.max_entries as usize),
                Some(pl) => (v4 + pl.max_entries as usize, v6),
                None => (v4 + 1, v6 + 1),
            },
        })
}

/// Checks a group's rule counts against the quota of its VPC.
pub fn check_rule_quota(state: &State, quotas: &Quotas, g: &Group) -> ApiResult<()> {
    let q = quotas.for_vpc(state.is_classic(&g.vpc_id));
    for egress in [false, true] {
        let (v4, v6) = family_counts(state, &g.rules, egress);
        if v4 > q.rules_per_group || v6 > q.rules_per_group {
            return Err(ApiError::new(
                "RulesPerSecurityGroupLimitExceeded",
                "The maximum number of rules per security group has been reached.",
            ));
        }
    }
    Ok(())
}

pub fn authorize(
    state: &mut State,
    ids: &mut dyn IdSource,
    quotas: &Quotas,
    req: &Permissions,
    egress: bool,
) -> ApiResult<AuthorizeSecurityGroupResult> {
    let gid = resolve_group(state, &req.group_id, &req.group_name)?;
    if req.ip_permissions.is_empty() {
        return Err(ApiError::missing("IpPermissions"));
    }
    let classic = state.is_classic(&state.groups[&gid].vpc_id);
    let mut new = permissions_to_rules(
        state,
        classic,
        egress,
        &req.ip_permissions,
        Peers::MustExist,
    )?;
    let tags = tags_for(&req.tag_specifications, "security-group-rule")?;
    for (i, r) in new.iter().enumerate() {
        if new[..i].iter().any(|o| o.same_permission(r)) {
            return Err(ApiError::invalid_value(format!(
                "The same permission must not appear multiple times: {}",
                describe_rule(r)
            )));
        }
    }
    let g = &state.groups[&gid];
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
        r.tags = tags.clone();
    }
    let mut g = g.clone();
    g.rules.extend(new.iter().cloned());
    check_rule_quota(state, quotas, &g)?;
    let out: Vec<SecurityGroupRule> = new.iter().map(|r| to_rule_out(state, &g, r)).collect();
    state.groups.insert(gid, g);
    Ok(AuthorizeSecurityGroupResult {
        r#return: true,
        security_group_rules: out,
    })
}

pub fn revoke(state: &mut State, req: &Permissions, egress: bool) -> ApiResult<ReturnResult> {
    let gid = resolve_group(state, &req.group_id, &req.group_name)?;
    let g = &state.groups[&gid];
    let classic = state.is_classic(&g.vpc_id);
    if req.ip_permissions.is_empty() && req.security_group_rule_ids.is_empty() {
        return Err(ApiError::missing("IpPermissions or SecurityGroupRuleIds"));
    }
    let gone = permissions_to_rules(
        state,
        classic,
        egress,
        &req.ip_permissions,
        Peers::MayBeStale,
    )?;
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
    for id in &req.security_group_rule_ids {
        if !g.rules.iter().any(|o| &o.id == id && o.egress == egress) {
            return Err(ApiError::new(
                "InvalidSecurityGroupRuleId.NotFound",
                format!("The security group rule ID '{id}' does not exist in group '{gid}'"),
            ));
        }
    }
    let g = state.groups.get_mut(&gid).expect("resolved above");
    g.rules.retain(|o| {
        !gone.iter().any(|r| r.same_permission(o)) && !req.security_group_rule_ids.contains(&o.id)
    });
    Ok(ReturnResult::TRUE)
}

/// A rule's new definition from `ModifySecurityGroupRules` (SG-RULE-7).
fn rule_from_request(
    state: &State,
    classic: bool,
    egress: bool,
    r: &SecurityGroupRuleRequest,
) -> ApiResult<Rule> {
    let proto = r
        .ip_protocol
        .as_deref()
        .ok_or_else(|| ApiError::missing("SecurityGroupRule.IpProtocol"))?;
    let mut perm = IpPermission {
        ip_protocol: proto.to_owned(),
        from_port: r.from_port,
        to_port: r.to_port,
        ..Default::default()
    };
    let peers = [
        &r.cidr_ipv4,
        &r.cidr_ipv6,
        &r.referenced_group_id,
        &r.prefix_list_id,
    ];
    if peers.iter().filter(|p| p.is_some()).count() != 1 {
        return Err(ApiError::invalid_value(
            "A security group rule needs exactly one of CidrIpv4, CidrIpv6, ReferencedGroupId or PrefixListId",
        ));
    }
    if let Some(c) = &r.cidr_ipv4 {
        perm.ip_ranges.push(IpRange {
            cidr_ip: c.clone(),
            description: r.description.clone(),
        });
    }
    if let Some(c) = &r.cidr_ipv6 {
        perm.ipv6_ranges.push(Ipv6Range {
            cidr_ipv6: c.clone(),
            description: r.description.clone(),
        });
    }
    if let Some(g) = &r.referenced_group_id {
        perm.user_id_group_pairs.push(UserIdGroupPair {
            group_id: Some(g.clone()),
            description: r.description.clone(),
            ..Default::default()
        });
    }
    if let Some(p) = &r.prefix_list_id {
        perm.prefix_list_ids.push(PrefixListId {
            prefix_list_id: p.clone(),
            description: r.description.clone(),
        });
    }
    let mut rules = permissions_to_rules(state, classic, egress, &[perm], Peers::MustExist)?;
    Ok(rules.remove(0))
}

fn rule_not_found(id: &str) -> ApiError {
    ApiError::new(
        "InvalidSecurityGroupRuleId.NotFound",
        format!("The security group rule ID '{id}' does not exist"),
    )
}

pub fn modify_rules(
    state: &mut State,
    quotas: &Quotas,
    req: &ModifySecurityGroupRules,
) -> ApiResult<ReturnResult> {
    let gid = resolve_group(state, &req.group_id, &None)?;
    if req.security_group_rules.is_empty() {
        return Err(ApiError::missing("SecurityGroupRules"));
    }
    let mut g = state.groups[&gid].clone();
    let classic = state.is_classic(&g.vpc_id);
    for u in &req.security_group_rules {
        let id = u
            .security_group_rule_id
            .as_deref()
            .ok_or_else(|| ApiError::missing("SecurityGroupRuleId"))?;
        let def = u
            .security_group_rule
            .as_ref()
            .ok_or_else(|| ApiError::missing("SecurityGroupRule"))?;
        let idx = g
            .rules
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(|| rule_not_found(id))?;
        let mut new = rule_from_request(state, classic, g.rules[idx].egress, def)?;
        if g.rules
            .iter()
            .any(|o| o.id != id && o.same_permission(&new))
        {
            return Err(ApiError::new(
                "InvalidPermission.Duplicate",
                format!(
                    "the specified rule \"{}\" already exists",
                    describe_rule(&new)
                ),
            ));
        }
        new.id = id.to_owned();
        new.tags = std::mem::take(&mut g.rules[idx].tags);
        g.rules[idx] = new;
    }
    check_rule_quota(state, quotas, &g)?;
    state.groups.insert(gid, g);
    Ok(ReturnResult::TRUE)
}

pub fn update_descriptions(
    state: &mut State,
    req: &UpdateDescriptions,
    egress: bool,
) -> ApiResult<ReturnResult> {
    let gid = resolve_group(state, &req.group_id, &req.group_name)?;
    let mut g = state.groups[&gid].clone();
    let classic = state.is_classic(&g.vpc_id);
    if req.ip_permissions.is_empty() && req.security_group_rule_descriptions.is_empty() {
        return Err(ApiError::missing(
            "IpPermissions or SecurityGroupRuleDescriptions",
        ));
    }
    for wanted in permissions_to_rules(
        state,
        classic,
        egress,
        &req.ip_permissions,
        Peers::MayBeStale,
    )? {
        let r = g
            .rules
            .iter_mut()
            .find(|o| o.same_permission(&wanted))
            .ok_or_else(|| {
                ApiError::new(
                    "InvalidPermission.NotFound",
                    format!(
                        "The specified rule does not exist in this security group: {}",
                        describe_rule(&wanted)
                    ),
                )
            })?;
        r.description = wanted.description;
    }
    for d in &req.security_group_rule_descriptions {
        let id = d
            .security_group_rule_id
            .as_deref()
            .ok_or_else(|| ApiError::missing("SecurityGroupRuleId"))?;
        let r = g
            .rules
            .iter_mut()
            .find(|o| o.id == id && o.egress == egress)
            .ok_or_else(|| rule_not_found(id))?;
        r.description = validate::rule_description(&d.description)?;
    }
    state.groups.insert(gid, g);
    Ok(ReturnResult::TRUE)
}

struct RuleView<'a> {
    group: &'a Group,
    rule: &'a Rule,
}

impl filters::Filterable for RuleView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        Some(match name {
            "group-id" => vec![self.group.id.clone()],
            "security-group-rule-id" => vec![self.rule.id.clone()],
            "is-egress" => vec![self.rule.egress.to_string()],
            _ => return None,
        })
    }

    fn tags(&self) -> &[Tag] {
        &self.rule.tags
    }
}

pub fn describe_rules(
    state: &State,
    req: &DescribeSecurityGroupRules,
) -> ApiResult<DescribeSecurityGroupRulesResult> {
    for id in &req.security_group_rule_ids {
        if !state
            .groups
            .values()
            .any(|g| g.rules.iter().any(|r| &r.id == id))
        {
            return Err(rule_not_found(id));
        }
    }
    let mut out = Vec::new();
    for g in state.groups.values() {
        for r in &g.rules {
            if !req.security_group_rule_ids.is_empty()
                && !req.security_group_rule_ids.contains(&r.id)
            {
                continue;
            }
            if filters::matches(&RuleView { group: g, rule: r }, &req.filters)? {
                out.push(to_rule_out(state, g, r));
            }
        }
    }
    Ok(DescribeSecurityGroupRulesResult {
        security_group_rules: out,
        next_token: None,
    })
}
