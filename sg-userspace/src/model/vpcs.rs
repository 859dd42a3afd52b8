//! VPCs (`CreateVpc`, `DescribeVpcs`, `DeleteVpc`, `CreateDefaultVpc`): each is a namespace of
//! groups with its own `default` group (SG-GRP-3), optionally with EC2-Classic semantics
//! (SG-CLASSIC), and optionally with an IPv6 block (`AmazonProvidedIpv6CidrBlock`).

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use super::{
    ApiError, ApiResult, IdSource, Ipv6Block, Peer, State, Tag, Vpc, filters, hex17, ops, rules,
};
use crate::shapes::{
    self, CidrBlockState, CreateVpc, DeleteVpc, DescribeVpcs, DescribeVpcsResult, Output,
    VpcCidrBlockAssociation, VpcIpv6CidrBlockAssociation, VpcResult,
};

/// The CIDR of a default VPC (EC2 User Guide, "Default VPCs": `172.31.0.0/16`).
pub const DEFAULT_VPC_CIDR: &str = "172.31.0.0/16";

/// The pool of sgd's VPC IPv6 blocks: unique local addresses (RFC 4193). EC2 hands out /56s
/// of Amazon's global unicast space (e.g. from `2600:1f18::/32`); sgd owns no global space,
/// and its blocks are labels (nothing here routes them or puts them on a device), so it must
/// not name addresses that belong to someone else. A ULA prefix is the one range meant to be
/// chosen locally, without registration. A VPC's block is the first /56 of the ULA /48 whose
/// 40-bit Global ID is the last 10 hex digits of the VPC's id (`vpc-0123456789abcdef0` gets
/// `fd78:9abc:def0::/56`): pseudo-random as RFC 4193 asks (VPC ids are random), readable back
/// to its VPC, and the same for the same id on every host. If another VPC of the state holds
/// that block, the next Global ID's is taken, so blocks are unique within a state.
pub const IPV6_POOL: &str = "fd00::/8";

/// The `Ipv6Pool` EC2 shows for an Amazon-provided IPv6 block.
const AMAZON_POOL: &str = "Amazon";

/// The id of the association of a VPC's (one) IPv4 CIDR: EC2's `vpc-cidr-assoc-` followed by
/// the VPC's own 17 hex digits, so that it is stable and unique without being stored.
pub fn cidr_association_id(vpc_id: &str) -> String {
    format!(
        "vpc-cidr-assoc-{}",
        vpc_id.strip_prefix("vpc-").unwrap_or(vpc_id)
    )
}

/// A VPC in EC2's `Vpc` shape (botocore `ec2/2016-11-15`, shape `Vpc`). sgd has no tenancy
/// nor DHCP options: the tenancy is `default`, the DHCP options `default` (EC2's value for
/// "no DHCP options", AssociateDhcpOptions). `Classic` is sgd's own member (SG-CLASSIC).
fn to_shape(state: &State, v: &Vpc) -> shapes::Vpc {
    shapes::Vpc {
        cidr_block: v.cidr_block.clone(),
        dhcp_options_id: "default".into(),
        state: "available".into(),
        vpc_id: v.id.clone(),
        owner_id: state.owner_id.clone(),
        instance_tenancy: "default".into(),
        ipv6_cidr_block_association_set: ipv6_associations(state, v),
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

/// A VPC's `Ipv6CidrBlockAssociationSet` (botocore shape `VpcIpv6CidrBlockAssociation`): its
/// block, if it has one, as EC2 shows an Amazon-provided block; the network border group is
/// the region, as for a block not limited to a Local Zone.
fn ipv6_associations(state: &State, v: &Vpc) -> Vec<VpcIpv6CidrBlockAssociation> {
    v.ipv6_block
        .iter()
        .map(|b| VpcIpv6CidrBlockAssociation {
            association_id: b.association_id.clone(),
            ipv6_cidr_block: b.cidr_block.to_string(),
            ipv6_cidr_block_state: CidrBlockState {
                state: "associated".into(),
            },
            ipv6_pool: AMAZON_POOL.into(),
            network_border_group: state.region.clone(),
        })
        .collect()
}

/// The /56 at the start of the ULA /48 with Global ID `global` (40 bits), in [`IPV6_POOL`].
fn ula_56(global: u64) -> Ipv6Net {
    let addr = (0xfd_u128 << 120) | (u128::from(global & ((1 << 40) - 1)) << 80);
    Ipv6Net::new(Ipv6Addr::from(addr), 56).expect("56 is a valid IPv6 prefix length")
}

/// A new IPv6 block for VPC `vpc_id` (see [`IPV6_POOL`]), unique among the state's VPCs, with
/// an association id that is none of the state's (nor the VPC's own IPv4 association's).
fn new_ipv6_block(state: &State, ids: &mut dyn IdSource, vpc_id: &str) -> Ipv6Block {
    let tail = vpc_id.len().saturating_sub(10);
    let mut global = vpc_id
        .get(tail..)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0);
    let blocks = || state.vpcs.values().filter_map(|v| v.ipv6_block.as_ref());
    let cidr_block = loop {
        let net = ula_56(global);
        if !blocks().any(|b| b.cidr_block == net) {
            break net;
        }
        global += 1;
    };
    let association_id = loop {
        let id = format!("vpc-cidr-assoc-{}", hex17(ids.next()));
        let used = id == cidr_association_id(vpc_id)
            || state.vpcs.keys().any(|v| cidr_association_id(v) == id)
            || blocks().any(|b| b.association_id == id);
        if !used {
            break id;
        }
    };
    Ipv6Block {
        cidr_block,
        association_id,
    }
}

/// Brings a state loaded from a store up to date; returns whether it changed, so that the
/// caller saves it. Stores written before IPv6 blocks existed hold no `ipv6_block`: a default
/// VPC among them gets its block here, so it stays dual-stack as it always was in effect (its
/// groups were given `::/0`) and its new groups still are (see [`add_default_vpc`]). Other
/// VPCs stay without one, as `CreateVpc` made them, and their groups keep the rules stored.
pub fn upgrade(state: &mut State, ids: &mut dyn IdSource) -> bool {
    let missing: Vec<String> = state
        .vpcs
        .values()
        .filter(|v| v.is_default && !v.classic && v.ipv6_block.is_none())
        .map(|v| v.id.clone())
        .collect();
    for id in &missing {
        let block = new_ipv6_block(state, ids, id);
        state.vpcs.get_mut(id).expect("listed above").ipv6_block = Some(block);
    }
    !missing.is_empty()
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
    let dual_stack = req.amazon_provided_ipv6_cidr_block;
    if dual_stack && req.classic {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "An EC2-Classic VPC cannot have an IPv6 CIDR block: \
             AmazonProvidedIpv6CidrBlock cannot be combined with Classic.",
        ));
    }
    let tags = rules::tags_for(&req.tag_specifications, "vpc")?;
    let id = add_vpc(
        state,
        ids,
        net.to_string(),
        false,
        req.classic,
        dual_stack,
        tags,
    );
    Ok(VpcResult {
        vpc: Box::new(to_shape(state, &state.vpcs[&id])),
    })
}

/// Adds a VPC and its `default` group; returns its id. A dual-stack VPC gets its IPv6 block
/// first, so that its `default` group's outbound rules include `::/0` (SG-GRP-3).
fn add_vpc(
    state: &mut State,
    ids: &mut dyn IdSource,
    cidr_block: String,
    is_default: bool,
    classic: bool,
    dual_stack: bool,
    tags: Vec<Tag>,
) -> String {
    let id = format!("vpc-{}", hex17(ids.next()));
    let ipv6_block = dual_stack.then(|| new_ipv6_block(state, ids, &id));
    state.vpcs.insert(
        id.clone(),
        Vpc {
            id: id.clone(),
            is_default,
            cidr_block,
            classic,
            tags,
            ipv6_block,
        },
    );
    ops::create_default_group(state, ids, &id);
    id
}

/// Adds a default VPC (`172.31.0.0/16`) and its `default` group; returns its id. sgd's default
/// VPCs are dual-stack, where EC2's are IPv4-only until a block is associated: a deliberate
/// difference. A Linux host's interfaces carry IPv6 addresses whatever a VPC says, and the
/// spec gives every group outbound `::/0` (SG-GRP-3/4); with a dual-stack default VPC that
/// holds word for word for every group there, while VPCs made by `CreateVpc` follow EC2
/// (`::/0` only with `AmazonProvidedIpv6CidrBlock`).
pub(super) fn add_default_vpc(state: &mut State, ids: &mut dyn IdSource) -> String {
    add_vpc(
        state,
        ids,
        DEFAULT_VPC_CIDR.into(),
        true,
        false,
        true,
        Vec::new(),
    )
}

/// `CreateDefaultVpc`: a default VPC (`172.31.0.0/16`, dual-stack: [`add_default_vpc`]) with
/// its `default` group, when the account has none (`DefaultVpcAlreadyExists` otherwise, as EC2 answers).
pub fn create_default_vpc(state: &mut State, ids: &mut dyn IdSource) -> ApiResult<VpcResult> {
    if state.default_vpc().is_some() {
        return Err(ApiError::new(
            "DefaultVpcAlreadyExists",
            "A Default VPC already exists for this account in this region.",
        ));
    }
    let id = add_default_vpc(state, ids);
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
        let ipv6 = |f: fn(&Ipv6Block) -> String| v.ipv6_block.iter().map(f).collect();
        Some(match name {
            "vpc-id" => vec![v.id.clone()],
            "is-default" => vec![v.is_default.to_string()],
            "state" => vec!["available".into()],
            "cidr" | "cidr-block-association.cidr-block" => vec![v.cidr_block.clone()],
            "cidr-block-association.association-id" => vec![cidr_association_id(&v.id)],
            "cidr-block-association.state" => vec!["associated".into()],
            "ipv6-cidr-block-association.ipv6-cidr-block" => ipv6(|b| b.cidr_block.to_string()),
            "ipv6-cidr-block-association.association-id" => ipv6(|b| b.association_id.clone()),
            "ipv6-cidr-block-association.state" => ipv6(|_| "associated".into()),
            "ipv6-cidr-block-association.ipv6-pool" => ipv6(|_| AMAZON_POOL.into()),
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
