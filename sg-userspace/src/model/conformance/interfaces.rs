//! Interfaces (SG-IF 1, 3-5): groups from one VPC, group references that follow addresses
//! and attachments, connection-tracking timeouts, host mode's declared addresses and the
//! source/destination check.

use serde_json::{Value, json};

use super::{code, group_in, new_vpc};
use crate::{
    api::{ConnectionTrackingSpecification, ModifyNetworkInterfaceAttribute},
    compiler::{self, DIR_IN},
    model::*,
    testkit::{World, ip, perm_group},
};

#[test]
fn sg_if_1_groups_from_the_interface_vpc_only() {
    let mut w = World::new();
    let a = w.group("a");
    let vpc = new_vpc(&mut w, false);
    let other = group_in(&mut w, &vpc, "b").unwrap();
    assert_eq!(
        code(w.attach("eth0", &[&a, &other], &[])),
        "InvalidParameterValue"
    );
    w.attach("eth0", &[&a], &[]).unwrap();
    assert_eq!(
        code(w.attach("eth0", &[&other], &[])),
        "InvalidParameterValue"
    );
    // A new interface joins its groups' VPC.
    w.attach("eth1", &[&other], &[]).unwrap();
    assert_eq!(w.state.interfaces["eth1"].vpc_id, vpc);
}

#[test]
fn sg_if_3_group_references_follow_addresses_and_attachments() {
    let mut w = World::new();
    let web = w.group("web");
    let db = w.group("db");
    w.authorize(
        &db,
        false,
        vec![perm_group("tcp", Some((5432, 5432)), &web)],
    )
    .unwrap();
    w.attach("db0", &[&db], &[ip("192.0.2.10")]).unwrap();
    w.attach("web0", &[&web], &[ip("192.0.2.20")]).unwrap();
    let allows = |w: &World, remote: &str| {
        let c = compiler::compile_all(&w.state, &w.addrs);
        c["db0"]
            .lookup(DIR_IN, ip(remote))
            .is_some_and(|s| s.allows(6, 5432, compiler::FAM_V4))
    };
    assert!(allows(&w, "192.0.2.20"));
    w.addrs.insert("web0".into(), vec![ip("192.0.2.21")]);
    assert!(
        !allows(&w, "192.0.2.20"),
        "the old address no longer matches"
    );
    assert!(allows(&w, "192.0.2.21"), "the new address matches");
    w.attach("web0", &[&db], &[ip("192.0.2.21")]).unwrap();
    assert!(
        !allows(&w, "192.0.2.21"),
        "detached from web: no longer a member"
    );
}

#[test]
fn sg_if_4_connection_tracking_timeouts() {
    let mut w = World::new();
    let g = w.group("g");
    w.attach("eth0", &[&g], &[]).unwrap();
    assert_eq!(
        w.state.interfaces["eth0"].timeouts,
        Timeouts {
            tcp_established: 432_000,
            udp_stream: 180,
            udp: 30
        }
    );
    let set = |w: &mut World, tcp, stream, udp| {
        let req = ModifyNetworkInterfaceAttribute {
            network_interface_id: Some("eth0".into()),
            connection_tracking_specification: Some(ConnectionTrackingSpecification {
                tcp_established_timeout: tcp,
                udp_stream_timeout: stream,
                udp_timeout: udp,
            }),
            ..Default::default()
        };
        ops::modify_network_interface_attribute(&mut w.state, &w.quotas, &req, &|_| true)
    };
    set(&mut w, Some(60), None, Some(60)).unwrap();
    assert_eq!(
        w.state.interfaces["eth0"].timeouts,
        Timeouts {
            tcp_established: 60,
            udp_stream: 180,
            udp: 60
        }
    );
    for (tcp, stream, udp) in [
        (Some(59), None, None),
        (Some(432_001), None, None),
        (None, Some(59), None),
        (None, Some(181), None),
        (None, None, Some(29)),
        (None, None, Some(61)),
    ] {
        assert_eq!(
            code(set(&mut w, tcp, stream, udp)),
            "InvalidParameterValue",
            "{tcp:?} {stream:?} {udp:?}"
        );
    }
}

#[test]
fn sg_if_5_host_mode_declared_addresses_and_source_dest_check() {
    use crate::api::{CreateNetworkInterface, PrivateAddresses};
    let mut w = World::new();
    let g = w.group("g");
    let create = |w: &mut World, mode: &str, addrs: &[&str]| {
        let req = CreateNetworkInterface {
            network_interface_id: Some("veth1".into()),
            attach_mode: Some(mode.into()),
            private_ip_addresses: addrs.iter().map(|a| a.to_string()).collect(),
            groups: vec![g.clone()],
            source_dest_check: None,
            ..Default::default()
        };
        ops::create_network_interface(&mut w.state, &w.quotas, &req, &|_| true)
    };
    assert_eq!(code(create(&mut w, "host", &[])), "MissingParameter");
    assert_eq!(
        code(create(&mut w, "host", &["fe80::1"])),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(create(&mut w, "host", &["10.0.0.1", "10.0.0.1"])),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(create(&mut w, "instance", &["10.0.0.1"])),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(create(&mut w, "bridge", &["10.0.0.1"])),
        "InvalidParameterValue"
    );
    create(&mut w, "host", &["10.0.0.1", "2001:db8::1"]).unwrap();
    let i = &w.state.interfaces["veth1"];
    assert_eq!(
        (i.mode, i.source_dest_check),
        (AttachMode::Host, true),
        "on by default"
    );
    assert_eq!(
        code(create(&mut w, "host", &["10.0.0.2"])),
        "InvalidParameterValue",
        "already protected"
    );
    let assign = |w: &mut World, a: &str, on: bool| {
        let req = PrivateAddresses {
            network_interface_id: Some("veth1".into()),
            private_ip_addresses: vec![a.into()],
        };
        crate::testkit::json(ops::assign_private_addresses(&mut w.state, &req, on))
    };
    // EC2's AssignPrivateIpAddressesResult; unassigning answers nothing.
    assert_eq!(
        assign(&mut w, "10.0.0.2", true).unwrap(),
        json!({
            "NetworkInterfaceId": "veth1",
            "AssignedPrivateIpAddresses": [{ "PrivateIpAddress": "10.0.0.2" }],
        })
    );
    assert_eq!(
        code(assign(&mut w, "10.0.0.2", true)),
        "InvalidParameterValue"
    );
    assert_eq!(assign(&mut w, "10.0.0.1", false).unwrap(), Value::Null);
    assert_eq!(
        w.state.interfaces["veth1"].private_addresses,
        vec![ip("2001:db8::1"), ip("10.0.0.2")]
    );
    // Switchable per interface; not on instance-mode interfaces.
    let sdc = |w: &mut World, iface: &str, on: bool| {
        let req = ModifyNetworkInterfaceAttribute {
            network_interface_id: Some(iface.into()),
            source_dest_check: Some(on),
            ..Default::default()
        };
        ops::modify_network_interface_attribute(&mut w.state, &w.quotas, &req, &|_| true)
    };
    sdc(&mut w, "veth1", false).unwrap();
    assert!(!w.state.interfaces["veth1"].source_dest_check);
    w.attach("eth0", &[&g], &[]).unwrap();
    assert_eq!(code(sdc(&mut w, "eth0", true)), "InvalidParameterValue");
    ops::delete_network_interface(&mut w.state, &Some("veth1".into())).unwrap();
    assert_eq!(
        code(ops::delete_network_interface(
            &mut w.state,
            &Some("veth1".into())
        )),
        "InvalidNetworkInterfaceID.NotFound"
    );
}

/// `CreateNetworkInterface` as EC2 clients send it (issue 14): the device named by the tag
/// `sgd:device`, the VPC by its one subnet, no groups meaning the VPC's `default` group
/// (SG-IF-1), host mode when addresses are declared (SG-IF-5).
#[test]
fn sg_if_1_create_network_interface_in_ec2s_form() {
    use crate::api::{CreateNetworkInterface, Tag, TagSpecification};
    let mut w = World::new();
    let vpc = w.state.default_vpc_id().unwrap();
    let device = |name: &str| TagSpecification {
        resource_type: Some("network-interface".into()),
        tags: vec![Tag {
            key: ops::DEVICE_TAG.into(),
            value: name.into(),
        }],
    };
    let create = |w: &mut World, req: CreateNetworkInterface| {
        ops::create_network_interface(&mut w.state, &w.quotas, &req, &|d| d.starts_with("veth"))
    };
    let req = CreateNetworkInterface {
        subnet_id: Some(ops::subnet_of(&vpc)),
        description: Some("vm 1".into()),
        private_ip_addresses: vec!["10.0.0.5".into()],
        tag_specifications: vec![device("veth1")],
        ..Default::default()
    };
    create(&mut w, req.clone()).unwrap();
    let iface = &w.state.interfaces["veth1"];
    assert_eq!(iface.vpc_id, vpc);
    assert!(iface.group_ids.is_empty(), "the VPC's default group");
    assert_eq!(
        w.state.effective_groups(iface),
        [w.state.default_group_of(&vpc).unwrap().id.clone()]
    );
    assert_eq!(iface.mode, AttachMode::Host, "addresses declared");
    assert_eq!(iface.description, "vm 1");
    // Refusals, each changing nothing.
    let before = w.state.clone();
    let cases = [
        (
            CreateNetworkInterface {
                subnet_id: Some("subnet-00000000000000000".into()),
                tag_specifications: vec![device("veth2")],
                ..Default::default()
            },
            "InvalidSubnetID.NotFound",
        ),
        (
            CreateNetworkInterface {
                subnet_id: Some(ops::subnet_of(&vpc)),
                ..Default::default()
            },
            "MissingParameter",
        ),
        (
            CreateNetworkInterface {
                network_interface_id: Some("veth3".into()),
                tag_specifications: vec![device("veth2")],
                ..Default::default()
            },
            "InvalidParameterCombination",
        ),
        (
            CreateNetworkInterface {
                tag_specifications: vec![TagSpecification {
                    resource_type: Some("network-interface".into()),
                    tags: vec![Tag {
                        key: "Name".into(),
                        value: "web".into(),
                    }],
                }],
                network_interface_id: Some("veth2".into()),
                ..Default::default()
            },
            "InvalidParameterValue",
        ),
    ];
    for (req, want) in cases {
        let mut next = before.clone();
        let got = ops::create_network_interface(&mut next, &w.quotas, &req, &|_| true);
        assert_eq!(code(got), want, "{req:?}");
    }
    // A group of another VPC than the subnet's.
    let other = new_vpc(&mut w, false);
    let g = group_in(&mut w, &other, "elsewhere").unwrap();
    let req = CreateNetworkInterface {
        subnet_id: Some(ops::subnet_of(&vpc)),
        groups: vec![g],
        tag_specifications: vec![device("veth4")],
        ..Default::default()
    };
    assert_eq!(code(create(&mut w, req)), "InvalidParameterValue");
}
