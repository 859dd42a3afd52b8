//! `sgctl import`: brings groups over from the JSON that `aws ec2 describe-security-groups`
//! prints, keeping group ids, names, descriptions, owners, VPCs, rules and tags, so that
//! `describe-security-groups` prints the same groups back.

use super::{
    ApiError, ApiResult, Group, IdSource, Quotas, State, Vpc, ops,
    rules::{self, Peers, new_rule_id, permissions_to_rules},
    validate,
};
use crate::shapes::{ImportSecurityGroups, ImportSecurityGroupsResult};

pub fn import(
    state: &mut State,
    ids: &mut dyn IdSource,
    quotas: &Quotas,
    req: &ImportSecurityGroups,
) -> ApiResult<ImportSecurityGroupsResult> {
    if req.security_groups.is_empty() {
        return Err(ApiError::missing("SecurityGroups"));
    }
    // First every group (so rules may reference any of them), then their rules.
    for g in &req.security_groups {
        validate::group_id(&g.group_id)?;
        if state.groups.contains_key(&g.group_id) {
            return Err(ApiError::new(
                "InvalidGroup.Duplicate",
                format!("The security group '{}' already exists", g.group_id),
            ));
        }
        let vpc_id = match &g.vpc_id {
            Some(v) => v.clone(),
            None => state.default_vpc_id()?,
        };
        if !state.vpcs.contains_key(&vpc_id) {
            if !vpc_id.starts_with("vpc-") {
                return Err(ApiError::invalid_value(format!(
                    "Invalid VPC id '{vpc_id}'"
                )));
            }
            state.vpcs.insert(
                vpc_id.clone(),
                Vpc {
                    id: vpc_id.clone(),
                    is_default: false,
                    cidr_block: "0.0.0.0/0".into(),
                    classic: false,
                    tags: vec![],
                    // Whether it has one on AWS is not in the document: IPv4 only, and its
                    // groups keep the outbound rules the document gives them.
                    ipv6_block: None,
                },
            );
        }
        let name = g.group_name.trim_end_matches(' ').to_owned();
        if g.group_name != "default" {
            validate::group_name(&name, false)?;
        }
        if state
            .groups
            .values()
            .any(|o| o.vpc_id == vpc_id && o.name.eq_ignore_ascii_case(&name))
        {
            return Err(ApiError::new(
                "InvalidGroup.Duplicate",
                format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
            ));
        }
        for t in &g.tags {
            validate::tag(t)?;
        }
        state.groups.insert(
            g.group_id.clone(),
            Group {
                id: g.group_id.clone(),
                name,
                description: g.description.clone(),
                vpc_id,
                owner_id: g.owner_id.clone(),
                arn: g.security_group_arn.clone(),
                tags: g.tags.clone(),
                rules: Vec::new(),
            },
        );
    }
    for g in &req.security_groups {
        let classic = state.is_classic(&state.groups[&g.group_id].vpc_id);
        let mut rules =
            permissions_to_rules(state, classic, false, &g.ip_permissions, Peers::MayBeStale)?;
        if !g.ip_permissions_egress.is_empty() {
            rules.extend(permissions_to_rules(
                state,
                classic,
                true,
                &g.ip_permissions_egress,
                Peers::MayBeStale,
            )?);
        }
        for r in &mut rules {
            r.id = new_rule_id(ids);
        }
        let group = state.groups.get_mut(&g.group_id).expect("inserted above");
        group.rules = rules;
        let group = group.clone();
        rules::check_rule_quota(state, quotas, &group)?;
    }
    // Every VPC keeps a `default` group (SG-GRP-3).
    let vpcs: Vec<String> = state.vpcs.keys().cloned().collect();
    for vpc in vpcs {
        if state.default_group_of(&vpc).is_none() {
            ops::create_default_group(state, ids, &vpc);
        }
    }
    for vpc in state.vpcs.keys() {
        let n = state.groups.values().filter(|g| &g.vpc_id == vpc).count();
        if n > quotas.for_vpc(state.is_classic(vpc)).groups_per_vpc {
            return Err(ApiError::new(
                "SecurityGroupLimitExceeded",
                "The maximum number of security groups has been reached.",
            ));
        }
    }
    Ok(ImportSecurityGroupsResult {
        r#return: true,
        group_ids: req
            .security_groups
            .iter()
            .map(|g| g.group_id.clone())
            .collect(),
    })
}
