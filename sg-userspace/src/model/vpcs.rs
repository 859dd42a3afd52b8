//! VPCs (`CreateVpc`, `DescribeVpcs`, `DeleteVpc`, `CreateDefaultVpc`): each is a namespace of
//! groups with its own `default` group (SG-GRP-3), optionally with EC2-Classic semantics
//! (SG-CLASSIC).

use super::{ApiError, ApiResult, IdSource, Peer, State, Tag, Vpc, filters, hex17, ops, rules};
use crate::shapes::{
    self, CidrBlockState, CreateVpc, DeleteVpc, DescribeVpcs, DescribeVpcsResult, Output,
    VpcCidrBlockAssociation, VpcResult,
};

/// The CIDR of a default VPC (EC2 User Guide, "Default VPCs": `172.31.0.0/16`).
pub const DEFAULT_VPC_CIDR: &str = "172.31.0.0/16";

/// The id of the association of a VPC's (one) IPv4 CIDR: EC2's `vpc-cidr-assoc-` followed by
/// the VPC's own 17 hex digits, so that it is stable and unique without being stored.
pub fn cidr_association_id(vpc_id: &str) -> String {
    format!(
        "vpc-cidr-assoc-{}",
        vpc_id.strip_prefix("vpc-").unwrap_or(vpc_id)
    )
}

/// A VPC in EC2's `Vpc` shape (botocore `ec2/2016-11-15`, shape `Vpc`). sgd has no tenancy,
/// DHCP options nor IPv6 blocks: the tenancy is `default`, the DHCP options `default` (EC2's
/// value for "no DHCP options", AssociateDhcpOptions), and the IPv6 association set empty.
/// `Classic` is sgd's own member (SG-CLASSIC).
fn to_shape(state: &State, v: &Vpc) -> shapes::Vpc {
    shapes::Vpc {
        cidr_block: v.cidr_block.clone(),
        dhcp_options_id: "default".into(),
        state: "available".into(),
        vpc_id: v.id.clone(),
        owner_id: state.owner_id.clone(),
        instance_tenancy: "default".into(),
        ipv6_cidr_block_association_set: Vec::new(),
        cidr_block_association_set: vec![VpcCidrBlockAssociation {
            association_id: cidr_association_id(&v.id),
            cidr_block: v.cidr_block.clone(),
            cidr_block_state: CidrBlockState {
                state: "associated".into(),
            },
        }],
        is_default: v.is_default,
        tags: v.tags.clone(),
        classic: v.classic,
    }
}

/// `CreateVpc`'s CIDR checks, in EC2's codes and words: a value that is no IPv4 CIDR is an
/// `InvalidParameterValue`, a netmask outside /16../28 an `InvalidVpc.Range`.
fn vpc_cidr(cidr: &str) -> ApiResult<ipnet::Ipv4Net> {
    let net = super::validate::cidr_v4(cidr).map_err(|_| {
        ApiError::invalid_value(format!(
            "Value ({cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
        ))
    })?;
    if !(16..=28).contains(&net.prefix_len()) {
        return Err(ApiError::new(
            "InvalidVpc.Range",
            format!("The CIDR '{cidr}' is invalid."),
        ));
    }
    Ok(net)
}

pub fn create_vpc(
    state: &mut State,
    ids: &mut dyn IdSource,
    req: &CreateVpc,
) -> ApiResult<VpcResult> {
    let cidr = ops::required(&req.cidr_block, "CidrBlock")?;
    let net = vpc_cidr(cidr)?;
    let tags = rules::tags_for(&req.tag_specifications, "vpc")?;
    let id = add_vpc(state, ids, net.to_string(), false, req.classic, tags);
    Ok(VpcResult {
        vpc: Box::new(to_shape(state, &state.vpcs[&id])),
    })
}

/// Adds a VPC and its `default` group; returns its id.
fn add_vpc(
    state: &mut State,
    ids: &mut dyn IdSource,
    cidr_block: String,
    is_default: bool,
    classic: bool,
    tags: Vec<Tag>,
) -> String {
    let id = format!("vpc-{}", hex17(ids.next()));
    state.vpcs.insert(
        id.clone(),
        Vpc {
            id: id.clone(),
            is_default,
            cidr_block,
            classic,
            tags,
        },
    );
    ops::create_default_group(state, ids, &id);
    id
}

/// `CreateDefaultVpc`: a default VPC (`172.31.0.0/16`) with its `default` group, when the
/// account has none (`DefaultVpcAlreadyExists` otherwise, as EC2 answers).
pub fn create_default_vpc(state: &mut State, ids: &mut dyn IdSource) -> ApiResult<VpcResult> {
    if state.default_vpc().is_some() {
        return Err(ApiError::new(
            "DefaultVpcAlreadyExists",
            "A Default VPC already exists for this account in this region.",
        ));
    }
    let id = add_vpc(state, ids, DEFAULT_VPC_CIDR.into(), true, false, Vec::new());
    Ok(VpcResult {
        vpc: Box::new(to_shape(state, &state.vpcs[&id])),
    })
}

/// `DeleteVpc`: refused (`DependencyViolation`) while the VPC holds groups other than its
/// `default` group, or interfaces, or while a group elsewhere references its `default` group;
/// the `default` group goes with it. The default VPC can be deleted too, as on EC2
/// (`CreateDefaultVpc` makes a new one). No output (EC2's `<return>true</return>`).
pub fn delete_vpc(state: &mut State, req: &DeleteVpc) -> ApiResult<Output> {
    let id = ops::required(&req.vpc_id, "VpcId")?;
    if !state.vpcs.contains_key(id) {
        return Err(ops::vpc_not_found(id));
    }
    let default_group = state.default_group_of(id).map(|g| g.id.clone());
    let other_groups = state
        .groups
        .values()
        .any(|g| g.vpc_id == id && Some(&g.id) != default_group.as_ref());
    let interfaces = state.interfaces.values().any(|i| i.vpc_id == id);
    let referenced = default_group.as_ref().is_some_and(|dg| {
        state
            .groups
            .values()
            .any(|g| g.vpc_id != id && g.rules.iter().any(|r| r.peer == Peer::Group(dg.clone())))
    });
    if other_groups || interfaces || referenced {
        return Err(ApiError::new(
            "DependencyViolation",
            format!("The vpc '{id}' has dependencies and cannot be deleted."),
        ));
    }
    if let Some(dg) = default_group {
        state.groups.remove(&dg);
    }
    state.vpcs.remove(id);
    Ok(Output::None)
}

pub fn describe_vpcs(state: &State, req: &DescribeVpcs) -> ApiResult<DescribeVpcsResult> {
    for id in &req.vpc_ids {
        if !state.vpcs.contains_key(id) {
            return Err(ops::vpc_not_found(id));
        }
    }
    let mut vpcs = Vec::new();
    for v in state
        .vpcs
        .values()
        .filter(|v| req.vpc_ids.is_empty() || req.vpc_ids.contains(&v.id))
    {
        if filters::matches(&VpcView(state, v), &req.filters)? {
            vpcs.push(to_shape(state, v));
        }
    }
    Ok(DescribeVpcsResult {
        vpcs,
        next_token: None,
    })
}

/// The `DescribeVpcs` filters sgd can answer.
struct VpcView<'a>(&'a State, &'a Vpc);

impl filters::Filterable for VpcView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let v = self.1;
        Some(match name {
            "vpc-id" => vec![v.id.clone()],
            "is-default" => vec![v.is_default.to_string()],
            "state" => vec!["available".into()],
            "cidr" | "cidr-block-association.cidr-block" => vec![v.cidr_block.clone()],
            "cidr-block-association.association-id" => vec![cidr_association_id(&v.id)],
            "cidr-block-association.state" => vec!["associated".into()],
            "dhcp-options-id" => vec!["default".into()],
            "owner-id" => vec![self.0.owner_id.clone()],
            _ => return None,
        })
    }

    fn tags(&self) -> &[Tag] {
        &self.1.tags
    }
}

#[cfg(test)]
mod tests;
