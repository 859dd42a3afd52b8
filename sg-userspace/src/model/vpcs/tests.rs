//! VPC outputs in EC2's `Vpc` shape, `CreateVpc`'s CIDR errors, `DeleteVpc` and
//! `CreateDefaultVpc` (issue 14, item 4), against botocore's EC2 model and EC2's answers.

use serde_json::{Value, json};

use super::*;
use crate::{
    api::{CreateSecurityGroup, CreateVpc, DeleteVpc, DescribeVpcs},
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
