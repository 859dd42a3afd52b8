//! Additional VPCs (`CreateVpc`, `DescribeVpcs`): each is a namespace of groups with its own
//! `default` group (SG-GRP-3), optionally with EC2-Classic semantics (SG-CLASSIC).

use serde_json::{Value, json};

use super::{ApiError, ApiResult, IdSource, State, Tag, Vpc, filters, hex17, ops, rules};
use crate::api::{CreateVpc, DescribeVpcs};

fn to_json(state: &State, v: &Vpc) -> Value {
    json!({
        "CidrBlock": v.cidr_block,
        "State": "available",
        "VpcId": v.id,
        "OwnerId": state.owner_id,
        "IsDefault": v.is_default,
        "Tags": v.tags,
        "Classic": v.classic,
    })
}

pub fn create_vpc(state: &mut State, ids: &mut dyn IdSource, req: &CreateVpc) -> ApiResult<Value> {
    let cidr = ops::required(&req.cidr_block, "CidrBlock")?;
    let net = super::validate::cidr_v4(cidr)?;
    if !(16..=28).contains(&net.prefix_len()) {
        return Err(ApiError::invalid_value(format!(
            "The CIDR '{cidr}' is invalid: a VPC's netmask must be between /16 and /28"
        )));
    }
    let tags = rules::tags_for(&req.tag_specifications, "vpc")?;
    let id = format!("vpc-{}", hex17(ids.next()));
    state.vpcs.insert(
        id.clone(),
        Vpc {
            id: id.clone(),
            is_default: false,
            cidr_block: net.to_string(),
            classic: req.classic,
            tags,
        },
    );
    ops::create_default_group(state, ids, &id);
    Ok(json!({ "Vpc": to_json(state, &state.vpcs[&id]) }))
}

pub fn describe_vpcs(state: &State, req: &DescribeVpcs) -> ApiResult<Value> {
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
            vpcs.push(to_json(state, v));
        }
    }
    Ok(json!({ "Vpcs": vpcs }))
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
            "owner-id" => vec![self.0.owner_id.clone()],
            _ => return None,
        })
    }

    fn tags(&self) -> &[Tag] {
        &self.1.tags
    }
}
