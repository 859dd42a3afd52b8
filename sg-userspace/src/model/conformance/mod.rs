//! Conformance of the model to `../shared/spec/security-groups.md`: one test or more per
//! line of SG-GRP, SG-RULE, SG-IF 1-5, SG-QUOTA, SG-CLASSIC and SG-API not already covered
//! next to the code (see `ops/tests.rs`, `validate.rs`, `compiler/tests.rs`, `eval/tests/`).
//! One file per requirement family; test names start with the requirement they prove. The
//! helpers the files share live here.

mod api;
mod classic;
mod groups;
mod interfaces;
mod quotas;
mod rules;

use super::*;
use crate::{
    api::{CreateSecurityGroup, CreateVpc},
    eval::{Direction, Packet},
    testkit::{World, ip},
};

fn code<T: std::fmt::Debug>(r: ApiResult<T>) -> String {
    r.expect_err("the request must fail").code
}

fn rules_of<'a>(w: &'a World, g: &str) -> &'a [Rule] {
    &w.state.groups[g].rules
}

fn inbound(iface: &str, remote: &str, local: &str, proto: u8, port: u16) -> Packet {
    Packet {
        iface: iface.into(),
        direction: Direction::Inbound,
        src: ip(remote),
        dst: ip(local),
        protocol: proto,
        src_port: 40000,
        dst_port: port,
        tcp_syn: true,
        icmp_type: 0,
        icmp_code: 0,
        nd: None,
    }
}

fn new_vpc(w: &mut World, classic: bool) -> String {
    let req = CreateVpc {
        cidr_block: Some("10.1.0.0/16".into()),
        classic,
        ..Default::default()
    };
    vpcs::create_vpc(&mut w.state, &mut w.ids, &req)
        .unwrap()
        .vpc
        .vpc_id
}

fn group_in(w: &mut World, vpc: &str, name: &str) -> ApiResult<String> {
    let req = CreateSecurityGroup {
        group_name: Some(name.into()),
        description: Some("d".into()),
        vpc_id: Some(vpc.into()),
        ..Default::default()
    };
    Ok(w.create(req)?.group_id)
}
