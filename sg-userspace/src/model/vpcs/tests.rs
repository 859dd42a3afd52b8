//! VPC outputs in EC2's `Vpc` shape, `CreateVpc`'s CIDR errors, `DeleteVpc`,
//! `CreateDefaultVpc` and IPv6 blocks (issue 14, item 4), against botocore's EC2 model and
//! EC2's answers.

use serde_json::{Value, json};

use super::*;
use crate::{
    api::{CreateSecurityGroup, CreateVpc, DeleteVpc, DescribeVpcs, Filter},
    model::{AttachMode, Interface},
    testkit::World,
};

fn create(w: &mut World, cidr: &str) -> ApiResult<Value> {
    let req = CreateVpc {
        cidr_block: Some(cidr.into()),
        ..Default::default()
    };
    crate::testkit::json(create_vpc(&mut w.state, &mut w.ids, &req))
}

fn delete(w: &mut World, id: &str) -> ApiResult<Value> {
    crate::testkit::json(delete_vpc(
        &mut w.state,
        &DeleteVpc {
            vpc_id: Some(id.into()),
        },
    ))
}

fn describe(w: &World, id: &str) -> Value {
    let req = DescribeVpcs {
        vpc_ids: vec![id.into()],
        ..Default::default()
    };
    crate::testkit::json(describe_vpcs(&w.state, &req)).unwrap()["Vpcs"][0].clone()
}

#[test]
fn vpc_output_has_the_members_ec2_always_returns() {
    let mut w = World::new();
    let out = create(&mut w, "10.1.0.0/16").unwrap()["Vpc"].clone();
    let id = out["VpcId"].as_str().unwrap().to_owned();
    let hex = id.strip_prefix("vpc-").unwrap();
    assert_eq!(out["InstanceTenancy"], "default");
    assert_eq!(out["State"], "available");
    assert_eq!(out["OwnerId"], json!(w.state.owner_id));
    assert_eq!(out["DhcpOptionsId"], "default");
    assert_eq!(out["IsDefault"], false);
    assert_eq!(
        out["CidrBlockAssociationSet"],
        json!([{
            "AssociationId": format!("vpc-cidr-assoc-{hex}"),
            "CidrBlock": "10.1.0.0/16",
            "CidrBlockState": { "State": "associated" },
        }])
    );
    assert_eq!(out["Ipv6CidrBlockAssociationSet"], json!([]));
    // The same VPC, with the same association id, in every describe.
    assert_eq!(describe(&w, &id), out);
    assert_eq!(describe(&w, &id), describe(&w, &id));
}

#[test]
fn create_vpc_cidr_errors_are_ec2s() {
    let mut w = World::new();
    for bad in ["10.0.0.0/33", "not-a-cidr", "2001:db8::/56", "10.0.0.0"] {
        let e = create(&mut w, bad).unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue", "{bad}");
        assert_eq!(
            e.message,
            format!(
                "Value ({bad}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
            )
        );
    }
    for bad in ["10.0.0.0/15", "10.0.0.0/29", "0.0.0.0/0"] {
        let e = create(&mut w, bad).unwrap_err();
        assert_eq!(e.code, "InvalidVpc.Range", "{bad}");
        assert_eq!(e.message, format!("The CIDR '{bad}' is invalid."));
    }
    for good in ["10.0.0.0/16", "10.0.0.0/28"] {
        create(&mut w, good).unwrap();
    }
}

#[test]
fn delete_vpc_takes_its_default_group_and_refuses_with_dependencies() {
    let mut w = World::new();
    let id = create(&mut w, "10.1.0.0/16").unwrap()["Vpc"]["VpcId"]
        .as_str()
        .unwrap()
        .to_owned();
    let req = CreateSecurityGroup {
        group_name: Some("web".into()),
        description: Some("d".into()),
        vpc_id: Some(id.clone()),
        ..Default::default()
    };
    let g = w.create(req).unwrap().group_id;
    let e = delete(&mut w, &id).unwrap_err();
    assert_eq!(e.code, "DependencyViolation");
    assert_eq!(
        e.message,
        format!("The vpc '{id}' has dependencies and cannot be deleted.")
    );
    let before = w.state.clone();
    w.state.groups.remove(&g);
    // An interface in the VPC is a dependency too.
    let iface = Interface::new("eth9", &id, AttachMode::Instance);
    w.state.interfaces.insert("eth9".into(), iface);
    assert_eq!(delete(&mut w, &id).unwrap_err().code, "DependencyViolation");
    w.state.interfaces.remove("eth9");
    let dg = w.state.default_group_of(&id).unwrap().id.clone();
    assert_eq!(delete(&mut w, &id).unwrap(), Value::Null);
    assert!(!w.state.vpcs.contains_key(&id));
    assert!(!w.state.groups.contains_key(&dg), "its default group goes");
    assert_eq!(before.vpcs.len(), w.state.vpcs.len() + 1);
    assert_eq!(
        delete(&mut w, &id).unwrap_err().code,
        "InvalidVpcID.NotFound"
    );
    assert_eq!(
        delete_vpc(&mut w.state, &DeleteVpc::default())
            .unwrap_err()
            .code,
        "MissingParameter"
    );
}

#[test]
fn default_vpc_can_be_deleted_and_created_again() {
    let mut w = World::new();
    let e = create_default_vpc(&mut w.state, &mut w.ids).unwrap_err();
    assert_eq!(e.code, "DefaultVpcAlreadyExists");
    assert_eq!(
        e.message,
        "A Default VPC already exists for this account in this region."
    );
    let old = w.state.default_vpc().unwrap().id.clone();
    delete(&mut w, &old).unwrap();
    assert!(w.state.default_vpc().is_none());
    // Without a default VPC, a group must name its VPC (EC2's VPCIdNotSpecified).
    let req = CreateSecurityGroup {
        group_name: Some("web".into()),
        description: Some("d".into()),
        ..Default::default()
    };
    assert_eq!(w.create(req.clone()).unwrap_err().code, "VPCIdNotSpecified");

    let out =
        crate::testkit::json(create_default_vpc(&mut w.state, &mut w.ids)).unwrap()["Vpc"].clone();
    let id = out["VpcId"].as_str().unwrap().to_owned();
    assert_ne!(id, old);
    assert_eq!(out["IsDefault"], true);
    assert_eq!(out["CidrBlock"], DEFAULT_VPC_CIDR);
    assert_eq!(w.state.default_vpc().unwrap().id, id);
    assert!(
        w.state.default_group_of(&id).is_some(),
        "with its default group"
    );
    w.create(req).unwrap();
    assert_eq!(
        create_default_vpc(&mut w.state, &mut w.ids)
            .unwrap_err()
            .code,
        "DefaultVpcAlreadyExists"
    );
}

fn create_dual_stack(w: &mut World, cidr: &str) -> ApiResult<Value> {
    let req = CreateVpc {
        cidr_block: Some(cidr.into()),
        amazon_provided_ipv6_cidr_block: true,
        ..Default::default()
    };
    crate::testkit::json(create_vpc(&mut w.state, &mut w.ids, &req))
}

/// The VPCs `DescribeVpcs` answers for one filter, by id.
fn filtered(w: &World, name: &str, values: &[&str]) -> Vec<String> {
    let req = DescribeVpcs {
        filters: vec![Filter {
            name: name.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }],
        ..Default::default()
    };
    crate::testkit::json(describe_vpcs(&w.state, &req)).unwrap()["Vpcs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["VpcId"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn amazon_provided_ipv6_block_is_a_56_from_the_ula_pool_shown_as_ec2_does() {
    let mut w = World::new();
    let out = create_dual_stack(&mut w, "10.1.0.0/16").unwrap()["Vpc"].clone();
    let id = out["VpcId"].as_str().unwrap().to_owned();
    let block = w.state.vpcs[&id].ipv6_block.clone().expect("a block");
    // The first /56 of the ULA /48 whose Global ID is the id's last 10 hex digits.
    let tail = &id[id.len() - 10..];
    let want: Ipv6Net = format!("fd{}:{}:{}::/56", &tail[..2], &tail[2..6], &tail[6..])
        .parse()
        .unwrap();
    assert_eq!(block.cidr_block, want);
    let pool: Ipv6Net = IPV6_POOL.parse().unwrap();
    assert!(pool.contains(&block.cidr_block) && block.cidr_block.prefix_len() == 56);
    assert!(block.association_id.starts_with("vpc-cidr-assoc-"));
    assert_eq!(block.association_id.len(), "vpc-cidr-assoc-".len() + 17);
    assert_ne!(block.association_id, cidr_association_id(&id));
    assert_eq!(
        out["Ipv6CidrBlockAssociationSet"],
        json!([{
            "AssociationId": block.association_id,
            "Ipv6CidrBlock": block.cidr_block.to_string(),
            "Ipv6CidrBlockState": { "State": "associated" },
            "NetworkBorderGroup": "us-east-1",
            "Ipv6Pool": "Amazon",
        }])
    );
    // The IPv4 association is unchanged, and every describe shows the same VPC.
    assert_eq!(
        out["CidrBlockAssociationSet"][0]["CidrBlock"],
        "10.1.0.0/16"
    );
    assert_eq!(describe(&w, &id), out);
    // The network border group is the region sgd runs for.
    w.state.region = "eu-west-3".into();
    assert_eq!(
        describe(&w, &id)["Ipv6CidrBlockAssociationSet"][0]["NetworkBorderGroup"],
        "eu-west-3"
    );
}

#[test]
fn ipv6_blocks_are_unique_among_the_states_vpcs() {
    let mut w = World::new();
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..20 {
        let out = create_dual_stack(&mut w, &format!("10.{i}.0.0/16")).unwrap();
        let id = out["Vpc"]["VpcId"].as_str().unwrap();
        let b = w.state.vpcs[id].ipv6_block.clone().unwrap();
        assert!(seen.insert(b.cidr_block), "{} twice", b.cidr_block);
    }
    // Two ids ending in the same 10 hex digits: the second takes the next Global ID's block.
    let first = new_ipv6_block(&w.state, &mut w.ids, "vpc-0aaaaa0123456789a");
    let mut taken = w.state.vpcs.values().next().unwrap().clone();
    taken.id = "vpc-0aaaaa0123456789a".into();
    taken.ipv6_block = Some(first.clone());
    w.state.vpcs.insert(taken.id.clone(), taken);
    let second = new_ipv6_block(&w.state, &mut w.ids, "vpc-0bbbbb0123456789a");
    assert_eq!(first.cidr_block.to_string(), "fd12:3456:789a::/56");
    assert_eq!(second.cidr_block.to_string(), "fd12:3456:789b::/56");
    assert_ne!(first.association_id, second.association_id);
    // The example of IPV6_POOL's documentation, README.md and docs/design.md.
    let doc = new_ipv6_block(&w.state, &mut w.ids, "vpc-0123456789abcdef0");
    assert_eq!(doc.cidr_block.to_string(), "fd78:9abc:def0::/56");
    // An id that is not hex (an imported VPC's) still gets a block of the pool.
    let odd = new_ipv6_block(&w.state, &mut w.ids, "vpc-imported");
    assert_eq!(odd.cidr_block.to_string(), "fd00::/56");
}

#[test]
fn classic_vpcs_cannot_have_an_ipv6_block() {
    let mut w = World::new();
    let req = CreateVpc {
        cidr_block: Some("10.1.0.0/16".into()),
        amazon_provided_ipv6_cidr_block: true,
        classic: true,
        ..Default::default()
    };
    let before = w.state.clone();
    let e = create_vpc(&mut w.state, &mut w.ids, &req).unwrap_err();
    assert_eq!(e.code, "InvalidParameterCombination");
    assert!(
        e.message.contains("AmazonProvidedIpv6CidrBlock"),
        "{}",
        e.message
    );
    assert_eq!(w.state, before);
    // Classic without IPv6 is still fine, and has no block.
    let req = CreateVpc {
        amazon_provided_ipv6_cidr_block: false,
        ..req
    };
    let id = create_vpc(&mut w.state, &mut w.ids, &req)
        .unwrap()
        .vpc
        .vpc_id;
    assert!(w.state.vpcs[&id].ipv6_block.is_none());
}

#[test]
fn default_vpcs_are_dual_stack_created_vpcs_only_when_asked() {
    let mut w = World::new();
    let default = w.state.default_vpc().unwrap().clone();
    assert!(default.ipv6_block.is_some(), "State::new's default VPC");
    let plain = create(&mut w, "10.1.0.0/16").unwrap()["Vpc"]["VpcId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(w.state.vpcs[&plain].ipv6_block.is_none());
    assert!(!w.state.is_dual_stack(&plain) && w.state.is_dual_stack(&default.id));
    delete(&mut w, &default.id).unwrap();
    let out =
        crate::testkit::json(create_default_vpc(&mut w.state, &mut w.ids)).unwrap()["Vpc"].clone();
    let id = out["VpcId"].as_str().unwrap();
    let block = w.state.vpcs[id]
        .ipv6_block
        .clone()
        .expect("CreateDefaultVpc's");
    assert_eq!(
        out["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"],
        block.cidr_block.to_string()
    );
}

#[test]
fn describe_vpcs_filters_on_the_ipv6_association() {
    let mut w = World::new();
    let default = w.state.default_vpc().unwrap().id.clone();
    let dual = create_dual_stack(&mut w, "10.1.0.0/16").unwrap()["Vpc"]["VpcId"]
        .as_str()
        .unwrap()
        .to_owned();
    create(&mut w, "10.2.0.0/16").unwrap();
    let b = w.state.vpcs[&dual].ipv6_block.clone().unwrap();
    let cidr = b.cidr_block.to_string();
    let f = "ipv6-cidr-block-association.ipv6-cidr-block";
    assert_eq!(filtered(&w, f, &[&cidr]), vec![dual.clone()]);
    assert_eq!(filtered(&w, f, &["2001:db8::/56"]), Vec::<String>::new());
    let f = "ipv6-cidr-block-association.association-id";
    assert_eq!(filtered(&w, f, &[&b.association_id]), vec![dual.clone()]);
    // The IPv4 association's id is not an IPv6 one.
    let v4 = cidr_association_id(&dual);
    assert_eq!(filtered(&w, f, &[&v4]), Vec::<String>::new());
    // Every dual-stack VPC, and only those, for the state and the pool.
    let mut both = vec![default, dual];
    both.sort();
    for (f, v) in [
        ("ipv6-cidr-block-association.state", "associated"),
        ("ipv6-cidr-block-association.ipv6-pool", "Amazon"),
        ("ipv6-cidr-block-association.ipv6-cidr-block", "fd*"),
    ] {
        assert_eq!(filtered(&w, f, &[v]), both, "{f}");
    }
}

#[test]
fn upgrade_gives_an_old_default_vpc_its_block_and_leaves_the_rest() {
    let mut w = World::new();
    let plain = create(&mut w, "10.1.0.0/16").unwrap()["Vpc"]["VpcId"]
        .as_str()
        .unwrap()
        .to_owned();
    // What a store written before IPv6 blocks holds: no VPC has one.
    let default = w.state.default_vpc().unwrap().id.clone();
    w.state.vpcs.get_mut(&default).unwrap().ipv6_block = None;
    let before = w.state.clone();
    assert!(upgrade(&mut w.state, &mut w.ids));
    assert!(w.state.vpcs[&default].ipv6_block.is_some());
    assert!(w.state.vpcs[&plain].ipv6_block.is_none());
    assert_eq!(w.state.groups, before.groups, "stored rules are kept");
    let once = w.state.clone();
    assert!(!upgrade(&mut w.state, &mut w.ids), "nothing more to do");
    assert_eq!(w.state, once);
}
