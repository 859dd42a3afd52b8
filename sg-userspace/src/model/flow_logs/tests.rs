use super::*;
use crate::{shapes::Filter, testkit::World};

fn ok(_: &Path) -> Result<(), String> {
    Ok(())
}

fn req(kind: &str, ids: &[&str], traffic: &str, dest: &str) -> CreateFlowLogs {
    CreateFlowLogs {
        resource_ids: ids.iter().map(|s| s.to_string()).collect(),
        resource_type: Some(kind.into()),
        traffic_type: Some(traffic.into()),
        log_destination_type: Some("file".into()),
        log_destination: Some(dest.into()),
        ..Default::default()
    }
}

fn world() -> (World, String, String) {
    let mut w = World::new();
    let g = w.group("web");
    w.attach("fwa", &[&g], &[]).unwrap();
    let vpc = w.state.default_vpc_id().unwrap();
    (w, g, vpc)
}

#[test]
fn one_flow_log_per_resource_and_unknown_resources_are_unsuccessful() {
    let (mut w, g, vpc) = world();
    let out = create(
        &mut w.state,
        &mut w.ids,
        &req(
            "VPC",
            &[&vpc, "vpc-0000000000000000f"],
            "ALL",
            "/var/log/f.log",
        ),
        &ok,
        "2026-12-07T00:00:00.000Z",
    )
    .unwrap();
    assert_eq!(out.flow_log_ids.len(), 1);
    assert!(out.flow_log_ids[0].starts_with("fl-"));
    assert_eq!(out.unsuccessful.len(), 1);
    assert_eq!(out.unsuccessful[0].error.code, "InvalidVpcID.NotFound");
    assert_eq!(out.unsuccessful[0].resource_id, "vpc-0000000000000000f");
    let f = &w.state.flow_logs[&out.flow_log_ids[0]];
    assert_eq!(f.format, DEFAULT_FORMAT);
    assert_eq!(f.max_aggregation_interval, 600);
    assert!(covers(&w.state, f, &w.state.interfaces["fwa"]));
    // The same again: FlowLogAlreadyExists; another traffic type is another flow log.
    let again = create(
        &mut w.state,
        &mut w.ids,
        &req("VPC", &[&vpc], "ALL", "/var/log/f.log"),
        &ok,
        "t",
    )
    .unwrap();
    assert!(again.flow_log_ids.is_empty());
    assert_eq!(again.unsuccessful[0].error.code, "FlowLogAlreadyExists");
    let by_group = create(
        &mut w.state,
        &mut w.ids,
        &req("SecurityGroup", &[&g], "REJECT", "/var/log/f.log"),
        &ok,
        "t",
    )
    .unwrap();
    let f = &w.state.flow_logs[&by_group.flow_log_ids[0]];
    assert!(covers(&w.state, f, &w.state.interfaces["fwa"]));
}

#[test]
fn requests_are_validated_as_ec2_does() {
    let (mut w, _, vpc) = world();
    let mut bad = |r: CreateFlowLogs| {
        create(&mut w.state, &mut w.ids, &r, &ok, "t")
            .unwrap_err()
            .code
    };
    let base = req("VPC", &[&vpc], "ALL", "/var/log/f.log");
    assert_eq!(
        bad(CreateFlowLogs {
            resource_type: None,
            ..base.clone()
        }),
        "MissingParameter"
    );
    assert_eq!(
        bad(CreateFlowLogs {
            resource_type: Some("Subnet".into()),
            ..base.clone()
        }),
        "InvalidParameter"
    );
    assert_eq!(
        bad(CreateFlowLogs {
            resource_ids: vec![],
            ..base.clone()
        }),
        "MissingParameter"
    );
    assert_eq!(
        bad(CreateFlowLogs {
            traffic_type: Some("SOME".into()),
            ..base.clone()
        }),
        "InvalidParameterValue"
    );
    for t in [None, Some("s3"), Some("cloud-watch-logs")] {
        assert_eq!(
            bad(CreateFlowLogs {
                log_destination_type: t.map(Into::into),
                ..base.clone()
            }),
            "InvalidParameter"
        );
    }
    assert_eq!(
        bad(CreateFlowLogs {
            log_group_name: Some("g".into()),
            ..base.clone()
        }),
        "InvalidParameter"
    );
    assert_eq!(
        bad(CreateFlowLogs {
            log_format: Some("${version} ${nope}".into()),
            ..base.clone()
        }),
        "InvalidParameter"
    );
    assert_eq!(
        bad(CreateFlowLogs {
            max_aggregation_interval: Some(120),
            ..base.clone()
        }),
        "InvalidParameterValue"
    );
    assert_eq!(
        bad(CreateFlowLogs {
            tag_specifications: vec![crate::shapes::TagSpecification {
                resource_type: Some("security-group".into()),
                tags: vec![],
            }],
            ..base.clone()
        }),
        "InvalidParameterValue"
    );
    // A destination the host cannot write.
    let e = create(&mut w.state, &mut w.ids, &base, &|_| Err("no".into()), "t").unwrap_err();
    assert_eq!(e.code, "InvalidParameter");
    assert!(w.state.flow_logs.is_empty());
}

#[test]
fn flow_logs_sharing_a_file_share_its_format() {
    let (mut w, g, vpc) = world();
    create(
        &mut w.state,
        &mut w.ids,
        &req("VPC", &[&vpc], "ALL", "/f"),
        &ok,
        "t",
    )
    .unwrap();
    let custom = CreateFlowLogs {
        log_format: Some("${interface-id}  ${action}".into()),
        ..req("SecurityGroup", &[&g], "ALL", "/f")
    };
    let e = create(&mut w.state, &mut w.ids, &custom, &ok, "t").unwrap_err();
    assert_eq!(e.code, "InvalidParameter");
    let elsewhere = CreateFlowLogs {
        log_destination: Some("/g".into()),
        ..custom
    };
    let out = create(&mut w.state, &mut w.ids, &elsewhere, &ok, "t").unwrap();
    // Spaces are normalised.
    assert_eq!(
        w.state.flow_logs[&out.flow_log_ids[0]].format,
        "${interface-id} ${action}"
    );
}

#[test]
fn describe_filters_and_delete_reports_unknown_ids() {
    let (mut w, g, vpc) = world();
    let a = create(
        &mut w.state,
        &mut w.ids,
        &req("VPC", &[&vpc], "ALL", "/f"),
        &ok,
        "t",
    )
    .unwrap()
    .flow_log_ids[0]
        .clone();
    let b = create(
        &mut w.state,
        &mut w.ids,
        &CreateFlowLogs {
            max_aggregation_interval: Some(60),
            ..req("SecurityGroup", &[&g], "REJECT", "/f")
        },
        &ok,
        "t",
    )
    .unwrap()
    .flow_log_ids[0]
        .clone();
    let failing = |id: &str| (id == b).then(|| "disk full".to_string());
    let all = describe(&w.state, &DescribeFlowLogs::default(), &failing).unwrap();
    assert_eq!(all.flow_logs.len(), 2);
    let shown = all.flow_logs.iter().find(|f| f.flow_log_id == b).unwrap();
    assert_eq!(
        (
            shown.deliver_logs_status.as_str(),
            shown.max_aggregation_interval,
            shown.log_destination_type.as_str(),
            shown.flow_log_status.as_str()
        ),
        ("FAILED", 60, "file", "ACTIVE")
    );
    let filtered = describe(
        &w.state,
        &DescribeFlowLogs {
            filter: vec![Filter {
                name: "traffic-type".into(),
                values: vec!["ALL".into()],
            }],
            ..Default::default()
        },
        &failing,
    )
    .unwrap();
    assert_eq!(filtered.flow_logs.len(), 1);
    assert_eq!(filtered.flow_logs[0].flow_log_id, a);
    let bad_filter = DescribeFlowLogs {
        filter: vec![Filter {
            name: "nope".into(),
            values: vec![],
        }],
        ..Default::default()
    };
    assert!(describe(&w.state, &bad_filter, &failing).is_err());
    let out = delete(
        &mut w.state,
        &DeleteFlowLogs {
            flow_log_ids: vec![a.clone(), "fl-0000000000000000f".into()],
        },
    )
    .unwrap();
    assert_eq!(out.unsuccessful.len(), 1);
    assert_eq!(out.unsuccessful[0].error.code, "InvalidFlowLogId.NotFound");
    assert!(!w.state.flow_logs.contains_key(&a));
    assert!(delete(&mut w.state, &DeleteFlowLogs::default()).is_err());
}

#[test]
fn a_flow_log_goes_with_its_resource() {
    let (mut w, g, _) = world();
    create(
        &mut w.state,
        &mut w.ids,
        &req("NetworkInterface", &["fwa"], "ALL", "/f"),
        &ok,
        "t",
    )
    .unwrap();
    create(
        &mut w.state,
        &mut w.ids,
        &req("SecurityGroup", &[&g], "ALL", "/f"),
        &ok,
        "t",
    )
    .unwrap();
    prune(&mut w.state);
    assert_eq!(w.state.flow_logs.len(), 2);
    w.state.interfaces.remove("fwa");
    prune(&mut w.state);
    assert_eq!(w.state.flow_logs.len(), 1);
}
