//! Sequences of requests applied to the model and persisted to a real redb store, as sgd's
//! `Core` does (`daemon::Core::run` and `commit`): each request runs on a copy of the state,
//! flow logs of vanished resources are pruned, and only a request that succeeds makes its copy
//! the state. (The operations that need the datapath, such as the describes of counters or
//! tracked flows, are left out; the network interfaces' devices are a fixed set.)
//!
//! The input is read one byte per choice (`arbitrary::Unstructured`, ranges below 256 take one
//! byte): an operation, then its parameters, each from a small set (a few CIDRs, names,
//! ports, protocols) or an existing resource picked by index (one index past the last names a
//! resource that does not exist). So the fuzzer reaches deep states quickly, and any bytes are
//! a valid sequence; `fuzz/make_corpus.py` writes a few to start from.
//!
//! Checked after every request:
//! - nothing panics (the operations, their outputs as JSON and as EC2 XML, the compiler),
//!   and the XML is well-formed (tag keys and values with markup in them included);
//! - a request that fails changes nothing: its copy is dropped, as `Core::run` drops it (the
//!   model's operations may fail part-way through);
//! - the state stays whole: every group and interface in an existing VPC, every interface's
//!   groups existing, every flow log's resource existing;
//! - the state compiles (what `Core::enforce` does next).
//!
//! At each `Restart` step and at the end, the state is saved as the difference from what the
//! store holds (`Store::save(Some(old), new)`, as `Core::commit` saves) and the store must load
//! it back as it is, with nothing for `load_upgraded` to change: a restarted sgd has what it
//! had. (Saving only there, not after every request, keeps an input fast: a redb commit costs
//! more than the rest of a request.)
#![no_main]

use std::{path::Path, sync::OnceLock};

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use sg_userspace::{
    api::*,
    compiler::{self, Addresses},
    ec2::encode,
    model::{
        ApiError, ApiResult, IdSource, Quotas, State, flow_logs, import, ops, prefix_lists, rules,
        tags, vpcs,
    },
    store::Store,
    testkit::Counter,
};

/// Most requests in one input: enough for deep states, few enough to keep an input fast.
const MAX_OPS: usize = 48;

const VPC_CIDRS: &[&str] = &[
    "10.0.0.0/16",
    "10.1.0.0/16",
    "192.168.0.0/24",
    "10.0.0.0/8",
    "x",
];
const NAMES: &[&str] = &["web", "db", "default", "sg-x", "a b ", "", "é"];
const DESCRIPTIONS: &[Option<&str>] = &[
    Some("d"),
    None,
    Some(""),
    Some("ssh from \u{1}"),
    Some("web & db: {ssh}"),
];
const PROTOCOLS: &[&str] = &[
    "tcp", "udp", "icmp", "icmpv6", "-1", "50", "TCP", "256", "x",
];
const PORTS: &[Option<i32>] = &[
    None,
    Some(22),
    Some(80),
    Some(-1),
    Some(0),
    Some(65535),
    Some(65536),
    Some(8),
];
const CIDRS_V4: &[&str] = &[
    "0.0.0.0/0",
    "10.0.0.0/8",
    "10.0.1.5/32",
    "10.0.1.5/24",
    "::/0",
];
const CIDRS_V6: &[&str] = &["::/0", "2001:db8::/32", "fd00::5/128", "10.0.0.0/8"];
/// With markup and a character XML cannot carry, which the EC2 XML must escape or replace.
const TAG_KEYS: &[&str] = &["Name", "env", "aws:x", "", "k<&>"];
const TAG_VALUES: &[&str] = &["a", "", "prod", "<a & \"b\"/>\u{1}\r"];
const FAMILIES: &[&str] = &["IPv4", "IPv6", "x"];
const MAX_ENTRIES: &[Option<u32>] = &[Some(1), Some(2), Some(5), Some(0), None];
/// The devices this host has; `missing0` is not one.
const DEVICES: &[&str] = &["eth-a", "eth-b", "eth-c", "missing0"];
const ATTACH_MODES: &[Option<&str>] = &[None, Some("instance"), Some("host"), Some("x")];
const ADDRESSES: &[&str] = &["10.0.0.5", "10.0.0.6", "fd00::5", "x"];
const TIMEOUTS: &[Option<i64>] = &[None, Some(60), Some(0), Some(432_000), Some(-1)];
const ENFORCEMENT: &[Option<&str>] = &[None, Some("audit"), Some("enforce"), Some("x")];
const FLOW_TYPES: &[&str] = &["VPC", "NetworkInterface", "SecurityGroup", "x"];
const TRAFFIC: &[Option<&str>] = &[Some("ALL"), Some("ACCEPT"), Some("REJECT"), None];
/// Flow-log files: those under this directory are accepted (the daemon's `flow_log_dir`).
const FLOW_DIR: &str = "/var/log/sg-flow";
const DESTINATIONS: &[Option<&str>] = &[Some("/var/log/sg-flow/a.log"), Some("/etc/passwd"), None];
const FORMATS: &[Option<&str>] = &[None, Some("${version} ${srcaddr} ${action}"), Some("${x}")];
const INTERVALS: &[Option<i64>] = &[None, Some(60), Some(600), Some(61)];

/// One choice; the first item when the input has run out.
fn pick<T: Copy>(u: &mut Unstructured, items: &[T]) -> T {
    *u.choose(items).unwrap_or(&items[0])
}

fn flag(u: &mut Unstructured) -> bool {
    u.arbitrary().unwrap_or(false)
}

fn count(u: &mut Unstructured, max: u8) -> usize {
    u.int_in_range(0..=max).unwrap_or(0) as usize
}

/// One of `ids`, or (one index past them) `missing`, which names nothing.
fn one_of<'s>(
    u: &mut Unstructured,
    ids: impl Iterator<Item = &'s String>,
    missing: &str,
) -> String {
    let ids: Vec<&String> = ids.collect();
    let i = u.int_in_range(0..=ids.len()).unwrap_or(0);
    ids.get(i)
        .map_or_else(|| missing.to_owned(), |s| (*s).clone())
}

fn s(v: &str) -> String {
    v.to_owned()
}

fn opt(v: Option<&str>) -> Option<String> {
    v.map(s)
}

fn vpc(u: &mut Unstructured, st: &State) -> String {
    one_of(u, st.vpcs.keys(), "vpc-0000000000000dead")
}

fn group(u: &mut Unstructured, st: &State) -> String {
    one_of(u, st.groups.keys(), "sg-0000000000000dead")
}

fn rule_id(u: &mut Unstructured, st: &State) -> String {
    let ids: Vec<String> = st
        .groups
        .values()
        .flat_map(|g| g.rules.iter().map(|r| r.id.clone()))
        .collect();
    one_of(u, ids.iter(), "sgr-0000000000000dead")
}

fn prefix_list(u: &mut Unstructured, st: &State) -> String {
    one_of(u, st.prefix_lists.keys(), "pl-0000000000000dead")
}

fn interface(u: &mut Unstructured, st: &State) -> String {
    one_of(u, st.interfaces.keys(), "missing0")
}

fn flow_log(u: &mut Unstructured, st: &State) -> String {
    one_of(u, st.flow_logs.keys(), "fl-0000000000000dead")
}

/// A group named by id, or by name (`GroupName`, the default VPC's groups).
fn group_ref(u: &mut Unstructured, st: &State) -> (Option<String>, Option<String>) {
    if flag(u) {
        (None, Some(s(pick(u, NAMES))))
    } else {
        (Some(group(u, st)), None)
    }
}

fn tag_list(u: &mut Unstructured) -> Vec<Tag> {
    (0..count(u, 2))
        .map(|_| Tag {
            key: s(pick(u, TAG_KEYS)),
            value: s(pick(u, TAG_VALUES)),
        })
        .collect()
}

fn tag_specs(u: &mut Unstructured, resource: &str) -> Vec<TagSpecification> {
    if !flag(u) {
        return Vec::new();
    }
    let resource_type = if flag(u) {
        Some(s("x"))
    } else {
        Some(s(resource))
    };
    vec![TagSpecification {
        resource_type,
        tags: tag_list(u),
    }]
}

fn permission(u: &mut Unstructured, st: &State, stale: bool) -> IpPermission {
    let mut p = IpPermission {
        ip_protocol: s(pick(u, PROTOCOLS)),
        from_port: pick(u, PORTS),
        to_port: pick(u, PORTS),
        ..Default::default()
    };
    for _ in 0..=count(u, 1) {
        let description = opt(pick(u, DESCRIPTIONS));
        match count(u, 3) {
            0 => p.ip_ranges.push(IpRange {
                cidr_ip: s(pick(u, CIDRS_V4)),
                description,
            }),
            1 => p.ipv6_ranges.push(Ipv6Range {
                cidr_ipv6: s(pick(u, CIDRS_V6)),
                description,
            }),
            2 => {
                let (group_id, group_name) = if stale && flag(u) {
                    (Some(s("sg-00000000000000bee")), None)
                } else {
                    group_ref(u, st)
                };
                p.user_id_group_pairs.push(UserIdGroupPair {
                    group_id,
                    group_name,
                    description,
                    ..Default::default()
                })
            }
            _ => p.prefix_list_ids.push(PrefixListId {
                prefix_list_id: prefix_list(u, st),
                description,
            }),
        }
    }
    p
}

fn permissions(u: &mut Unstructured, st: &State, stale: bool) -> Vec<IpPermission> {
    (0..count(u, 2)).map(|_| permission(u, st, stale)).collect()
}

fn entries(u: &mut Unstructured) -> Vec<PrefixListEntryIn> {
    (0..count(u, 3))
        .map(|_| PrefixListEntryIn {
            cidr: s(if flag(u) {
                pick(u, CIDRS_V6)
            } else {
                pick(u, CIDRS_V4)
            }),
            description: opt(pick(u, DESCRIPTIONS)),
        })
        .collect()
}

fn filters(u: &mut Unstructured) -> Vec<Filter> {
    const NAMES: &[&str] = &[
        "group-name",
        "vpc-id",
        "tag:Name",
        "ip-permission.protocol",
        "x",
    ];
    const VALUES: &[&str] = &["web", "*", "tcp", "?b", "[", "\\"];
    (0..count(u, 1))
        .map(|_| Filter {
            name: s(pick(u, NAMES)),
            values: (0..count(u, 2)).map(|_| s(pick(u, VALUES))).collect(),
        })
        .collect()
}

/// What a step of the sequence does: a request, or a restart of the daemon.
enum Step {
    Request(Request),
    Restart,
}

/// The next step, its parameters drawn against the current state `st`.
fn step(u: &mut Unstructured, st: &State) -> Step {
    let req = match u.int_in_range(0..=22u8).unwrap_or(0) {
        0 => Request::CreateVpc(CreateVpc {
            cidr_block: Some(s(pick(u, VPC_CIDRS))),
            amazon_provided_ipv6_cidr_block: flag(u),
            classic: flag(u),
            tag_specifications: tag_specs(u, "vpc"),
        }),
        1 => Request::CreateDefaultVpc(Empty {}),
        2 => Request::DeleteVpc(DeleteVpc {
            vpc_id: Some(vpc(u, st)),
        }),
        3 => Request::CreateSecurityGroup(CreateSecurityGroup {
            group_name: Some(s(pick(u, NAMES))),
            description: opt(pick(u, DESCRIPTIONS)),
            vpc_id: flag(u).then(|| vpc(u, st)),
            tag_specifications: tag_specs(u, "security-group"),
            copy_from_group_id: flag(u).then(|| group(u, st)),
        }),
        4 => {
            let (group_id, group_name) = group_ref(u, st);
            Request::DeleteSecurityGroup(DeleteSecurityGroup {
                group_id,
                group_name,
            })
        }
        5 | 6 => {
            let (egress, revoke) = (flag(u), u8::from(flag(u)));
            let (group_id, group_name) = group_ref(u, st);
            let p = Permissions {
                group_id,
                group_name,
                ip_permissions: permissions(u, st, false),
                security_group_rule_ids: (0..count(u, 1)).map(|_| rule_id(u, st)).collect(),
                tag_specifications: tag_specs(u, "security-group-rule"),
            };
            match (egress, revoke) {
                (false, 0) => Request::AuthorizeSecurityGroupIngress(p),
                (true, 0) => Request::AuthorizeSecurityGroupEgress(p),
                (false, _) => Request::RevokeSecurityGroupIngress(p),
                (true, _) => Request::RevokeSecurityGroupEgress(p),
            }
        }
        7 => Request::ModifySecurityGroupRules(ModifySecurityGroupRules {
            group_id: Some(group(u, st)),
            security_group_rules: (0..count(u, 2))
                .map(|_| SecurityGroupRuleUpdate {
                    security_group_rule_id: Some(rule_id(u, st)),
                    security_group_rule: Some(SecurityGroupRuleRequest {
                        ip_protocol: Some(s(pick(u, PROTOCOLS))),
                        from_port: pick(u, PORTS),
                        to_port: pick(u, PORTS),
                        cidr_ipv4: flag(u).then(|| s(pick(u, CIDRS_V4))),
                        cidr_ipv6: flag(u).then(|| s(pick(u, CIDRS_V6))),
                        prefix_list_id: flag(u).then(|| prefix_list(u, st)),
                        referenced_group_id: flag(u).then(|| group(u, st)),
                        description: opt(pick(u, DESCRIPTIONS)),
                    }),
                })
                .collect(),
        }),
        8 => {
            let egress = flag(u);
            let (group_id, group_name) = group_ref(u, st);
            let r = UpdateDescriptions {
                group_id,
                group_name,
                ip_permissions: permissions(u, st, false),
                security_group_rule_descriptions: (0..count(u, 2))
                    .map(|_| RuleDescription {
                        security_group_rule_id: Some(rule_id(u, st)),
                        description: opt(pick(u, DESCRIPTIONS)),
                    })
                    .collect(),
            };
            if egress {
                Request::UpdateSecurityGroupRuleDescriptionsEgress(r)
            } else {
                Request::UpdateSecurityGroupRuleDescriptionsIngress(r)
            }
        }
        9 => Request::CreateManagedPrefixList(CreateManagedPrefixList {
            prefix_list_name: Some(s(pick(u, NAMES))),
            max_entries: pick(u, MAX_ENTRIES),
            address_family: Some(s(pick(u, FAMILIES))),
            entries: entries(u),
            tag_specifications: tag_specs(u, "prefix-list"),
        }),
        10 => {
            let id = prefix_list(u, st);
            let version = st.prefix_lists.get(&id).map_or(1, |p| p.version);
            Request::ModifyManagedPrefixList(ModifyManagedPrefixList {
                prefix_list_id: Some(id),
                current_version: pick(u, &[Some(version), None, Some(version + 1)]),
                prefix_list_name: flag(u).then(|| s(pick(u, NAMES))),
                max_entries: pick(u, MAX_ENTRIES),
                add_entries: entries(u),
                remove_entries: entries(u),
            })
        }
        11 => Request::DeleteManagedPrefixList(PrefixListIdRequest {
            prefix_list_id: Some(prefix_list(u, st)),
        }),
        12 | 13 => {
            let resources = (0..=count(u, 1))
                .map(|_| match count(u, 3) {
                    0 => group(u, st),
                    1 => rule_id(u, st),
                    2 => prefix_list(u, st),
                    _ => vpc(u, st),
                })
                .collect();
            if flag(u) {
                Request::CreateTags(CreateTags {
                    resources,
                    tags: tag_list(u),
                })
            } else {
                Request::DeleteTags(DeleteTags {
                    resources,
                    tags: tag_list(u)
                        .into_iter()
                        .map(|t| TagToDelete {
                            key: t.key,
                            value: (!t.value.is_empty()).then_some(t.value),
                        })
                        .collect(),
                })
            }
        }
        14 => Request::CreateNetworkInterface(CreateNetworkInterface {
            network_interface_id: Some(s(pick(u, DEVICES))),
            attach_mode: opt(pick(u, ATTACH_MODES)),
            private_ip_addresses: (0..count(u, 2)).map(|_| s(pick(u, ADDRESSES))).collect(),
            groups: (0..count(u, 2)).map(|_| group(u, st)).collect(),
            source_dest_check: pick(u, &[None, Some(true), Some(false)]),
            subnet_id: flag(u).then(|| ops::subnet_of(&vpc(u, st))),
            description: opt(pick(u, DESCRIPTIONS)),
            tag_specifications: Vec::new(),
        }),
        15 => Request::DeleteNetworkInterface(NetworkInterfaceIdRequest {
            network_interface_id: Some(interface(u, st)),
        }),
        16 => Request::ModifyNetworkInterfaceAttribute(ModifyNetworkInterfaceAttribute {
            network_interface_id: Some(if flag(u) {
                s(pick(u, DEVICES))
            } else {
                interface(u, st)
            }),
            groups: flag(u).then(|| (0..count(u, 2)).map(|_| group(u, st)).collect()),
            connection_tracking_specification: flag(u).then(|| ConnectionTrackingSpecification {
                tcp_established_timeout: pick(u, TIMEOUTS),
                udp_stream_timeout: pick(u, TIMEOUTS),
                udp_timeout: pick(u, TIMEOUTS),
            }),
            source_dest_check: pick(u, &[None, Some(true), Some(false)]),
            enforcement_mode: opt(pick(u, ENFORCEMENT)),
        }),
        17 => {
            let r = PrivateAddresses {
                network_interface_id: Some(interface(u, st)),
                private_ip_addresses: (0..count(u, 2)).map(|_| s(pick(u, ADDRESSES))).collect(),
            };
            if flag(u) {
                Request::AssignPrivateIpAddresses(r)
            } else {
                Request::UnassignPrivateIpAddresses(r)
            }
        }
        18 => {
            let kind = pick(u, FLOW_TYPES);
            let resource_ids = (0..=count(u, 1))
                .map(|_| match kind {
                    "VPC" => vpc(u, st),
                    "NetworkInterface" => interface(u, st),
                    _ => group(u, st),
                })
                .collect();
            Request::CreateFlowLogs(Box::new(CreateFlowLogs {
                resource_ids,
                resource_type: Some(s(kind)),
                traffic_type: opt(pick(u, TRAFFIC)),
                log_destination_type: Some(s(flow_logs::DESTINATION_FILE)),
                log_destination: opt(pick(u, DESTINATIONS)),
                log_format: opt(pick(u, FORMATS)),
                max_aggregation_interval: pick(u, INTERVALS),
                tag_specifications: tag_specs(u, "vpc-flow-log"),
                ..Default::default()
            }))
        }
        19 => Request::DeleteFlowLogs(DeleteFlowLogs {
            flow_log_ids: (0..=count(u, 1)).map(|_| flow_log(u, st)).collect(),
        }),
        20 => Request::ImportSecurityGroups(ImportSecurityGroups {
            security_groups: (0..=count(u, 1))
                .map(|_| ImportedGroup {
                    group_id: pick(u, &["sg-00000000000000bee", "sg-00000000000000cafe", "bad"])
                        .to_owned(),
                    group_name: s(pick(u, NAMES)),
                    description: s("imported"),
                    owner_id: None,
                    vpc_id: flag(u).then(|| {
                        if flag(u) {
                            s("vpc-00000000000000abc")
                        } else {
                            vpc(u, st)
                        }
                    }),
                    ip_permissions: permissions(u, st, true),
                    ip_permissions_egress: permissions(u, st, true),
                    tags: tag_list(u),
                    security_group_arn: None,
                })
                .collect(),
        }),
        21 => match count(u, 6) {
            0 => Request::DescribeSecurityGroups(DescribeSecurityGroups {
                group_ids: (0..count(u, 1)).map(|_| group(u, st)).collect(),
                group_names: (0..count(u, 1)).map(|_| s(pick(u, NAMES))).collect(),
                filters: filters(u),
            }),
            1 => Request::DescribeSecurityGroupRules(DescribeSecurityGroupRules {
                security_group_rule_ids: (0..count(u, 1)).map(|_| rule_id(u, st)).collect(),
                filters: filters(u),
            }),
            2 => Request::DescribeVpcs(DescribeVpcs {
                vpc_ids: (0..count(u, 1)).map(|_| vpc(u, st)).collect(),
                filters: filters(u),
            }),
            3 => Request::DescribeManagedPrefixLists(DescribeManagedPrefixLists {
                prefix_list_ids: (0..count(u, 1)).map(|_| prefix_list(u, st)).collect(),
                filters: filters(u),
            }),
            4 => Request::GetManagedPrefixListEntries(PrefixListIdRequest {
                prefix_list_id: Some(prefix_list(u, st)),
            }),
            5 => Request::DescribeTags(DescribeTags {
                filters: filters(u),
                max_results: pick(u, &[None, Some(5), Some(4)]),
                next_token: None,
            }),
            _ => Request::DescribeFlowLogs(DescribeFlowLogs {
                flow_log_ids: (0..count(u, 1)).map(|_| flow_log(u, st)).collect(),
                filter: filters(u),
            }),
        },
        _ => return Step::Restart,
    };
    Step::Request(req)
}

/// Whether a path is one a flow log may write (the daemon's `flowlog::file::check`, with
/// `FLOW_DIR` as its directory).
fn destination_ok(p: &Path) -> Result<(), String> {
    if p.starts_with(FLOW_DIR) {
        Ok(())
    } else {
        Err(format!("not under {FLOW_DIR}"))
    }
}

/// Whether the device of an interface exists on this host.
fn device_exists(dev: &str) -> bool {
    DEVICES[..3].contains(&dev)
}

fn output<T: Into<Output>>(r: ApiResult<T>) -> ApiResult<Output> {
    r.map(Into::into)
}

/// `req` applied to `next`, as `Core::run` dispatches it (the model's side of each operation).
fn apply(next: &mut State, ids: &mut dyn IdSource, q: &Quotas, req: &Request) -> ApiResult<Output> {
    let now = "2026-12-06T10:30:00.000Z";
    match req {
        Request::CreateSecurityGroup(r) => output(ops::create_security_group(next, ids, q, r)),
        Request::DeleteSecurityGroup(r) => output(ops::delete_security_group(next, r)),
        Request::DescribeSecurityGroups(r) => output(ops::describe_security_groups(next, r)),
        Request::DescribeSecurityGroupRules(r) => output(rules::describe_rules(next, r)),
        Request::AuthorizeSecurityGroupIngress(r) => {
            output(rules::authorize(next, ids, q, r, false))
        }
        Request::AuthorizeSecurityGroupEgress(r) => output(rules::authorize(next, ids, q, r, true)),
        Request::RevokeSecurityGroupIngress(r) => output(rules::revoke(next, r, false)),
        Request::RevokeSecurityGroupEgress(r) => output(rules::revoke(next, r, true)),
        Request::ModifySecurityGroupRules(r) => output(rules::modify_rules(next, q, r)),
        Request::UpdateSecurityGroupRuleDescriptionsIngress(r) => {
            output(rules::update_descriptions(next, r, false))
        }
        Request::UpdateSecurityGroupRuleDescriptionsEgress(r) => {
            output(rules::update_descriptions(next, r, true))
        }
        Request::ImportSecurityGroups(r) => output(import::import(next, ids, q, r)),
        Request::CreateVpc(r) => output(vpcs::create_vpc(next, ids, r)),
        Request::DescribeVpcs(r) => output(vpcs::describe_vpcs(next, r)),
        Request::DeleteVpc(r) => output(vpcs::delete_vpc(next, r)),
        Request::CreateDefaultVpc(_) => output(vpcs::create_default_vpc(next, ids)),
        Request::CreateManagedPrefixList(r) => output(prefix_lists::create(next, ids, r)),
        Request::ModifyManagedPrefixList(r) => output(prefix_lists::modify(next, q, r)),
        Request::DeleteManagedPrefixList(r) => output(prefix_lists::delete(next, r)),
        Request::DescribeManagedPrefixLists(r) => output(prefix_lists::describe(next, r)),
        Request::GetManagedPrefixListEntries(r) => output(prefix_lists::entries(next, r)),
        Request::CreateTags(r) => output(tags::create_tags(next, r)),
        Request::DeleteTags(r) => output(tags::delete_tags(next, r)),
        Request::DescribeTags(r) => output(tags::describe_tags(next, r)),
        Request::CreateNetworkInterface(r) => {
            output(ops::create_network_interface(next, q, r, &device_exists))
        }
        Request::DeleteNetworkInterface(r) => {
            output(ops::delete_network_interface(next, &r.network_interface_id))
        }
        Request::ModifyNetworkInterfaceAttribute(r) => output(
            ops::modify_network_interface_attribute(next, q, r, &device_exists),
        ),
        Request::AssignPrivateIpAddresses(r) => {
            output(ops::assign_private_addresses(next, r, true))
        }
        Request::UnassignPrivateIpAddresses(r) => {
            output(ops::assign_private_addresses(next, r, false))
        }
        Request::CreateFlowLogs(r) => output(flow_logs::create(next, ids, r, &destination_ok, now)),
        Request::DescribeFlowLogs(r) => output(flow_logs::describe(next, r, &|_| None)),
        Request::DeleteFlowLogs(r) => output(flow_logs::delete(next, r)),
        other => unreachable!("{} is not generated", other.operation()),
    }
}

/// `xml` is well-formed: elements nest and close by name, and every reference is XML's own
/// or a character.
fn check_xml(xml: &str) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::GeneralRef(r)) => {
                let known = matches!(&*r, "lt" | "gt" | "amp" | "quot" | "apos")
                    || matches!(r.resolve_char_ref(), Ok(Some(_)));
                assert!(known, "unknown reference &{}; in {xml}", &*r);
            }
            Ok(_) => {}
            Err(e) => panic!("ill-formed XML ({e}): {xml}"),
        }
    }
}

/// The references every state keeps whole (what the deletes' `DependencyViolation` and the
/// flow logs' pruning guarantee).
fn check_whole(st: &State) {
    for g in st.groups.values() {
        assert!(st.vpcs.contains_key(&g.vpc_id), "group {} in no VPC", g.id);
    }
    for i in st.interfaces.values() {
        assert!(
            st.vpcs.contains_key(&i.vpc_id),
            "interface {} in no VPC",
            i.id
        );
        for g in &i.group_ids {
            assert!(
                st.groups.contains_key(g),
                "interface {} in missing group {g}",
                i.id
            );
        }
    }
    for f in st.flow_logs.values() {
        let there = match f.resource_type.as_str() {
            "VPC" => st.vpcs.contains_key(&f.resource_id),
            "NetworkInterface" => st.interfaces.contains_key(&f.resource_id),
            _ => st.groups.contains_key(&f.resource_id),
        };
        assert!(there, "flow log {} of a missing {}", f.id, f.resource_id);
    }
}

/// What `Core::enforce` compiles: every interface, with its declared addresses.
fn compile(st: &State) {
    let addrs: Addresses = st
        .interfaces
        .values()
        .map(|i| (i.id.clone(), i.private_addresses.clone()))
        .collect();
    let _ = compiler::compile_all(st, &addrs);
}

/// A restart: `st` saved over `saved` (what the store holds), then loaded back as it was, with
/// nothing to upgrade.
fn restart(store: &Store, saved: &mut State, st: &State, ids: &mut dyn IdSource) {
    store.save(Some(saved), st).expect("saving the state");
    *saved = st.clone();
    let (loaded, upgraded) = store
        .load_upgraded(ids)
        .expect("the store loads")
        .expect("the store holds a state");
    assert!(!upgraded, "a saved state needed upgrading on load");
    assert_eq!(&loaded, st, "the store loads another state");
}

thread_local! {
    /// What the store holds when an input starts: the previous input's final state.
    static HELD: std::cell::Cell<Option<State>> = const { std::cell::Cell::new(None) };
}

/// The store, one per process, kept from input to input. On tmpfs when there is one, so the
/// commits' syncs cost nothing.
fn store() -> &'static Store {
    static STORE: OnceLock<(tempfile::TempDir, Store)> = OnceLock::new();
    &STORE
        .get_or_init(|| {
            let shm = Path::new("/dev/shm");
            let dir = if shm.is_dir() {
                tempfile::tempdir_in(shm)
            } else {
                tempfile::tempdir()
            }
            .expect("a scratch directory");
            let store = Store::open(&dir.path().join("sg.redb")).expect("a new store");
            (dir, store)
        })
        .1
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let mut ids = Counter(0);
    let quotas = Quotas {
        // Small, so that the quotas are reached.
        groups_per_vpc: 4,
        rules_per_group: 6,
        groups_per_interface: 2,
        rules_per_interface: 12,
    };
    let store = store();
    let mut state = State::new(&mut ids);
    // What the store holds: the last input's final state (saved over, as a difference, at the
    // first restart: one commit fewer per input), or nothing yet.
    let mut saved = match HELD.take() {
        Some(held) => held,
        None => {
            store.save(None, &state).expect("saving the first state");
            state.clone()
        }
    };
    for _ in 0..MAX_OPS {
        if u.is_empty() {
            break;
        }
        let req = match step(&mut u, &state) {
            Step::Request(req) => req,
            Step::Restart => {
                restart(store, &mut saved, &state, &mut ids);
                continue;
            }
        };
        let mut next = state.clone();
        let result = apply(&mut next, &mut ids, &quotas, &req);
        flow_logs::prune(&mut next);
        match result {
            Ok(out) => {
                let _ = out.to_json();
                check_xml(&encode::response(req.operation(), "req-1", &out));
                state = next;
            }
            Err(ApiError { code, .. }) => {
                assert!(!code.is_empty(), "an error without a code");
                // `next` is dropped, as `Core::run` drops it: the state and the store stay.
            }
        }
        check_whole(&state);
        compile(&state);
    }
    restart(store, &mut saved, &state, &mut ids);
    HELD.set(Some(saved));
});
