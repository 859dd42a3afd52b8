//! EC2 Query requests to the daemon's [`Request`]s: one decoder per operation, reading the
//! wire names botocore sends (the EC2 model's `queryName`, else its `locationName` with the
//! first letter upper-cased: `GroupId.N`, `Filter.N.Value.M`, `IpPermissions.N.Groups.M`,
//! `TagSpecification.N.Tag.M`). Every name a decoder does not read is refused
//! (`UnknownParameter`), so a misspelt or unsupported parameter never goes unnoticed.

use super::form::{FormError, Params};
use crate::api::*;

/// What a Query request asks for, besides the operation itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub request: Request,
    /// `DryRun=true`: check, answer `DryRunOperation`, change nothing.
    pub dry_run: bool,
    /// Whether the operation changes anything (a read-only key may not call it).
    pub writes: bool,
    /// For the describes that page: which page the caller asks for.
    pub page: Option<Page>,
}

/// A describe's `MaxResults` and `NextToken`, and the output list they page through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub max_results: Option<usize>,
    pub next_token: Option<String>,
    /// What tokens of this request are bound to (`Params::digest` of everything but the
    /// paging and `DryRun`).
    pub digest: String,
}

/// Whether `action` is a describe whose pages are cut from its whole answer (its output
/// implements `shapes::Paged`).
fn pages(action: &str) -> bool {
    matches!(
        action,
        "DescribeSecurityGroups"
            | "DescribeSecurityGroupRules"
            | "DescribeVpcs"
            | "DescribeManagedPrefixLists"
            | "GetManagedPrefixListEntries"
            | "DescribeNetworkInterfaces"
            | "DescribeFlowLogs"
    )
}

/// The EC2 operations served over HTTP, and whether each writes.
pub const OPERATIONS: &[(&str, bool)] = &[
    ("CreateSecurityGroup", true),
    ("DeleteSecurityGroup", true),
    ("DescribeSecurityGroups", false),
    ("DescribeSecurityGroupRules", false),
    ("AuthorizeSecurityGroupIngress", true),
    ("AuthorizeSecurityGroupEgress", true),
    ("RevokeSecurityGroupIngress", true),
    ("RevokeSecurityGroupEgress", true),
    ("ModifySecurityGroupRules", true),
    ("UpdateSecurityGroupRuleDescriptionsIngress", true),
    ("UpdateSecurityGroupRuleDescriptionsEgress", true),
    ("CreateVpc", true),
    ("DescribeVpcs", false),
    ("DeleteVpc", true),
    ("CreateDefaultVpc", true),
    ("CreateManagedPrefixList", true),
    ("ModifyManagedPrefixList", true),
    ("DeleteManagedPrefixList", true),
    ("DescribeManagedPrefixLists", false),
    ("GetManagedPrefixListEntries", false),
    ("DescribeNetworkInterfaces", false),
    ("CreateNetworkInterface", true),
    ("DeleteNetworkInterface", true),
    ("ModifyNetworkInterfaceAttribute", true),
    ("AssignPrivateIpAddresses", true),
    ("UnassignPrivateIpAddresses", true),
    ("CreateTags", true),
    ("DeleteTags", true),
    ("DescribeTags", false),
    ("CreateFlowLogs", true),
    ("DescribeFlowLogs", false),
    ("DeleteFlowLogs", true),
];

/// Decodes an EC2 request of operation `action`; `None` if it is not one of [`OPERATIONS`]
/// (the caller answers `InvalidAction`).
pub fn decode(action: &str, p: &Params) -> Option<Result<Decoded, FormError>> {
    let &(_, writes) = OPERATIONS.iter().find(|(a, _)| *a == action)?;
    Some(decode_known(action, p).and_then(|request| {
        let dry_run = p.bool("DryRun")?.unwrap_or(false);
        let page = if pages(action) { Some(page(p)?) } else { None };
        p.deny_unused()?;
        Ok(Decoded {
            request,
            dry_run,
            writes,
            page,
        })
    }))
}

fn decode_known(action: &str, p: &Params) -> Result<Request, FormError> {
    Ok(match action {
        "CreateSecurityGroup" => Request::CreateSecurityGroup(CreateSecurityGroup {
            group_name: Some(p.required("GroupName")?.to_owned()),
            description: Some(p.required("GroupDescription")?.to_owned()),
            vpc_id: owned(p.get("VpcId")),
            tag_specifications: tag_specifications(p)?,
            copy_from_group_id: None,
        }),
        "DeleteSecurityGroup" => Request::DeleteSecurityGroup(DeleteSecurityGroup {
            group_id: owned(p.get("GroupId")),
            group_name: owned(p.get("GroupName")),
        }),
        "DescribeSecurityGroups" => {
            let group_ids = strings(p, "GroupId")?;
            if !group_ids.is_empty() && p.get("MaxResults").is_some() {
                // EC2: MaxResults cannot be combined with GroupIds.
                return Err(FormError::InvalidValue {
                    name: p.full_name("MaxResults"),
                    value: p.get("MaxResults").unwrap_or_default().to_owned(),
                    expected: "MaxResults cannot be combined with GroupIds.",
                });
            }
            Request::DescribeSecurityGroups(DescribeSecurityGroups {
                group_ids,
                group_names: strings(p, "GroupName")?,
                filters: filters(p)?,
            })
        }
        "DescribeSecurityGroupRules" => {
            Request::DescribeSecurityGroupRules(DescribeSecurityGroupRules {
                security_group_rule_ids: strings(p, "SecurityGroupRuleId")?,
                filters: filters(p)?,
            })
        }
        "AuthorizeSecurityGroupIngress" => {
            Request::AuthorizeSecurityGroupIngress(permissions(p, false, false)?)
        }
        "AuthorizeSecurityGroupEgress" => {
            Request::AuthorizeSecurityGroupEgress(permissions(p, true, false)?)
        }
        "RevokeSecurityGroupIngress" => {
            Request::RevokeSecurityGroupIngress(permissions(p, false, true)?)
        }
        "RevokeSecurityGroupEgress" => {
            Request::RevokeSecurityGroupEgress(permissions(p, true, true)?)
        }
        "ModifySecurityGroupRules" => Request::ModifySecurityGroupRules(ModifySecurityGroupRules {
            group_id: Some(p.required("GroupId")?.to_owned()),
            security_group_rules: p
                .structs("SecurityGroupRule")?
                .iter()
                .map(|u| {
                    Ok(SecurityGroupRuleUpdate {
                        security_group_rule_id: owned(u.get("SecurityGroupRuleId")),
                        security_group_rule: u
                            .structure("SecurityGroupRule")
                            .map(|r| rule_request(&r))
                            .transpose()?,
                    })
                })
                .collect::<Result<_, FormError>>()?,
        }),
        "UpdateSecurityGroupRuleDescriptionsIngress" => {
            Request::UpdateSecurityGroupRuleDescriptionsIngress(descriptions(p)?)
        }
        "UpdateSecurityGroupRuleDescriptionsEgress" => {
            Request::UpdateSecurityGroupRuleDescriptionsEgress(descriptions(p)?)
        }
        "CreateVpc" => Request::CreateVpc(CreateVpc {
            cidr_block: owned(p.get("CidrBlock")),
            amazon_provided_ipv6_cidr_block: p
                .bool("AmazonProvidedIpv6CidrBlock")?
                .unwrap_or(false),
            classic: false,
            tag_specifications: tag_specifications(p)?,
        }),
        "DescribeVpcs" => Request::DescribeVpcs(DescribeVpcs {
            vpc_ids: strings(p, "VpcId")?,
            filters: filters(p)?,
        }),
        "DeleteVpc" => Request::DeleteVpc(DeleteVpc {
            vpc_id: Some(p.required("VpcId")?.to_owned()),
        }),
        "CreateDefaultVpc" => Request::CreateDefaultVpc(Empty {}),
        "CreateManagedPrefixList" => {
            // botocore always sends one; the endpoint keeps it (`ec2::idempotency`).
            let _ = p.get("ClientToken");
            Request::CreateManagedPrefixList(CreateManagedPrefixList {
                prefix_list_name: Some(p.required("PrefixListName")?.to_owned()),
                max_entries: Some(
                    u32_of(p, "MaxEntries")?.ok_or_else(|| missing(p, "MaxEntries"))?,
                ),
                address_family: Some(p.required("AddressFamily")?.to_owned()),
                entries: entries(p, "Entry")?,
                tag_specifications: tag_specifications(p)?,
            })
        }
        "ModifyManagedPrefixList" => Request::ModifyManagedPrefixList(ModifyManagedPrefixList {
            prefix_list_id: Some(p.required("PrefixListId")?.to_owned()),
            current_version: p
                .int("CurrentVersion")?
                .map(|v| u64::try_from(v).map_err(|_| out_of_range(p, "CurrentVersion", v)))
                .transpose()?,
            prefix_list_name: owned(p.get("PrefixListName")),
            max_entries: u32_of(p, "MaxEntries")?,
            add_entries: entries(p, "AddEntry")?,
            remove_entries: entries(p, "RemoveEntry")?,
        }),
        "CreateFlowLogs" => Request::CreateFlowLogs(Box::new(CreateFlowLogs {
            resource_ids: strings(p, "ResourceId")?,
            resource_type: owned(p.get("ResourceType")),
            traffic_type: owned(p.get("TrafficType")),
            log_destination_type: owned(p.get("LogDestinationType")),
            log_destination: owned(p.get("LogDestination")),
            log_format: owned(p.get("LogFormat")),
            max_aggregation_interval: p.int("MaxAggregationInterval")?,
            log_group_name: owned(p.get("LogGroupName")),
            deliver_logs_permission_arn: owned(p.get("DeliverLogsPermissionArn")),
            deliver_cross_account_role: owned(p.get("DeliverCrossAccountRole")),
            tag_specifications: tag_specifications(p)?,
            client_token: owned(p.get("ClientToken")),
        })),
        "DescribeFlowLogs" => Request::DescribeFlowLogs(DescribeFlowLogs {
            flow_log_ids: strings(p, "FlowLogId")?,
            filter: filters(p)?,
        }),
        "DeleteFlowLogs" => Request::DeleteFlowLogs(DeleteFlowLogs {
            flow_log_ids: strings(p, "FlowLogId")?,
        }),
        "DeleteManagedPrefixList" => Request::DeleteManagedPrefixList(PrefixListIdRequest {
            prefix_list_id: Some(p.required("PrefixListId")?.to_owned()),
        }),
        "DescribeManagedPrefixLists" => {
            Request::DescribeManagedPrefixLists(DescribeManagedPrefixLists {
                prefix_list_ids: strings(p, "PrefixListId")?,
                filters: filters(p)?,
            })
        }
        "GetManagedPrefixListEntries" => {
            Request::GetManagedPrefixListEntries(PrefixListIdRequest {
                prefix_list_id: Some(p.required("PrefixListId")?.to_owned()),
            })
        }
        "DescribeNetworkInterfaces" => {
            let ids = strings(p, "NetworkInterfaceId")?;
            if !ids.is_empty() && p.get("MaxResults").is_some() {
                // EC2: "MaxResults cannot be combined with NetworkInterfaceIds".
                return Err(FormError::InvalidValue {
                    name: p.full_name("MaxResults"),
                    value: p.get("MaxResults").unwrap_or_default().to_owned(),
                    expected: "MaxResults cannot be combined with NetworkInterfaceIds.",
                });
            }
            Request::DescribeNetworkInterfaces(DescribeNetworkInterfaces {
                network_interface_ids: ids,
                filters: filters(p)?,
            })
        }
        // EC2's parameters; the device is named by the tag `sgd:device` (the model reads
        // it), the mode follows from whether private addresses are declared.
        "CreateNetworkInterface" => {
            let mut private_ip_addresses: Vec<String> =
                owned(p.get("PrivateIpAddress")).into_iter().collect();
            for a in p.structs("PrivateIpAddresses")? {
                let ip = a.required("PrivateIpAddress")?.to_owned();
                // The primary address first, whatever its place on the wire.
                if a.bool("Primary")? == Some(true) {
                    private_ip_addresses.insert(0, ip);
                } else {
                    private_ip_addresses.push(ip);
                }
            }
            // Kept by the endpoint (`ec2::idempotency`).
            let _ = p.get("ClientToken");
            Request::CreateNetworkInterface(CreateNetworkInterface {
                network_interface_id: None,
                attach_mode: None,
                private_ip_addresses,
                groups: strings(p, "SecurityGroupId")?,
                source_dest_check: None,
                subnet_id: Some(p.required("SubnetId")?.to_owned()),
                description: owned(p.get("Description")),
                tag_specifications: tag_specifications(p)?,
            })
        }
        "DeleteNetworkInterface" => Request::DeleteNetworkInterface(NetworkInterfaceIdRequest {
            network_interface_id: Some(p.required("NetworkInterfaceId")?.to_owned()),
        }),
        "ModifyNetworkInterfaceAttribute" => {
            let groups = strings(p, "SecurityGroupId")?;
            Request::ModifyNetworkInterfaceAttribute(ModifyNetworkInterfaceAttribute {
                network_interface_id: Some(p.required("NetworkInterfaceId")?.to_owned()),
                groups: (!groups.is_empty()).then_some(groups),
                connection_tracking_specification: p
                    .structure("ConnectionTrackingSpecification")
                    .map(|c| {
                        Ok::<_, FormError>(ConnectionTrackingSpecification {
                            tcp_established_timeout: c.int("TcpEstablishedTimeout")?,
                            udp_stream_timeout: c.int("UdpStreamTimeout")?,
                            udp_timeout: c.int("UdpTimeout")?,
                        })
                    })
                    .transpose()?,
                // An AttributeBooleanValue: `SourceDestCheck.Value=true`.
                source_dest_check: p.bool("SourceDestCheck.Value")?,
                // Not an EC2 parameter: sgctl's, over the Unix socket.
                enforcement_mode: None,
            })
        }
        "AssignPrivateIpAddresses" => Request::AssignPrivateIpAddresses(addresses(p)?),
        "UnassignPrivateIpAddresses" => Request::UnassignPrivateIpAddresses(addresses(p)?),
        // `Resources` and `Tags` go on the wire as `ResourceId.N` and `Tag.N` (their
        // locationNames). A `Tag.N.Value` left out means "any value" to DeleteTags, and the
        // empty value to CreateTags (EC2 API reference).
        "CreateTags" => Request::CreateTags(CreateTags {
            resources: strings(p, "ResourceId")?,
            tags: tags(p, "Tag")?,
        }),
        "DeleteTags" => Request::DeleteTags(DeleteTags {
            resources: strings(p, "ResourceId")?,
            tags: p
                .structs("Tag")?
                .iter()
                .map(|t| {
                    Ok(TagToDelete {
                        key: t.required("Key")?.to_owned(),
                        value: owned(t.get("Value")),
                    })
                })
                .collect::<Result<_, FormError>>()?,
        }),
        "DescribeTags" => {
            let (max_results, next_token) = model_page(p)?;
            Request::DescribeTags(DescribeTags {
                filters: filters(p)?,
                max_results,
                next_token: owned(next_token),
            })
        }
        _ => unreachable!("decode_known is called for OPERATIONS only"),
    })
}

fn owned(v: Option<&str>) -> Option<String> {
    v.map(str::to_owned)
}

fn missing(p: &Params, name: &str) -> FormError {
    FormError::Missing {
        name: p.full_name(name),
    }
}

fn out_of_range(p: &Params, name: &str, v: i64) -> FormError {
    FormError::InvalidValue {
        name: p.full_name(name),
        value: v.to_string(),
        expected: "The value is out of range.",
    }
}

fn u32_of(p: &Params, name: &str) -> Result<Option<u32>, FormError> {
    p.int(name)?
        .map(|v| u32::try_from(v).map_err(|_| out_of_range(p, name, v)))
        .transpose()
}

fn i32_of(p: &Params, name: &str) -> Result<Option<i32>, FormError> {
    p.int(name)?
        .map(|v| i32::try_from(v).map_err(|_| out_of_range(p, name, v)))
        .transpose()
}

fn strings(p: &Params, prefix: &str) -> Result<Vec<String>, FormError> {
    Ok(p.strings(prefix)?.into_iter().map(str::to_owned).collect())
}

/// `MaxResults` (5 to 1000, as the EC2 model says) and `NextToken` of a describe.
fn page(p: &Params) -> Result<Page, FormError> {
    Ok(Page {
        max_results: max_results(p)?.map(|n| n as usize),
        next_token: owned(p.get("NextToken")),
        digest: p.digest(&["MaxResults", "NextToken", "DryRun"]),
    })
}

/// `MaxResults` and `NextToken` handed to the model, for `DescribeTags`, whose pages the
/// model cuts itself (its token names the last row, so a page boundary survives tags added
/// or removed in between).
fn model_page(p: &Params) -> Result<(Option<i64>, Option<&str>), FormError> {
    Ok((max_results(p)?, p.get("NextToken")))
}

/// `MaxResults`, between 5 and 1000 as the EC2 model says.
fn max_results(p: &Params) -> Result<Option<i64>, FormError> {
    match p.int("MaxResults")? {
        Some(n) if !(5..=1000).contains(&n) => Err(FormError::InvalidValue {
            name: p.full_name("MaxResults"),
            value: n.to_string(),
            expected: "Expected a value between 5 and 1000.",
        }),
        max => Ok(max),
    }
}

/// Filter values one describe may carry, all filters together: each is matched against
/// every resource under the daemon's lock, so a key (even a read-only one) must not make a
/// describe arbitrarily slow. sgd's own bound, far above what clients send.
pub const MAX_FILTER_VALUES: usize = 1000;

fn filters(p: &Params) -> Result<Vec<Filter>, FormError> {
    let filters: Vec<Filter> = p
        .structs("Filter")?
        .iter()
        .map(|f| {
            Ok(Filter {
                name: f.required("Name")?.to_owned(),
                values: strings(f, "Value")?,
            })
        })
        .collect::<Result<_, FormError>>()?;
    let values: usize = filters.iter().map(|f| f.values.len().max(1)).sum();
    if values > MAX_FILTER_VALUES {
        return Err(FormError::InvalidValue {
            name: p.full_name("Filter"),
            value: values.to_string(),
            expected: "At most 1000 filter values are allowed in one request.",
        });
    }
    Ok(filters)
}

fn tags(p: &Params, prefix: &str) -> Result<Vec<Tag>, FormError> {
    p.structs(prefix)?
        .iter()
        .map(|t| {
            Ok(Tag {
                key: t.required("Key")?.to_owned(),
                value: t.get("Value").unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

fn tag_specifications(p: &Params) -> Result<Vec<TagSpecification>, FormError> {
    p.structs("TagSpecification")?
        .iter()
        .map(|s| {
            Ok(TagSpecification {
                resource_type: owned(s.get("ResourceType")),
                tags: tags(s, "Tag")?,
            })
        })
        .collect()
}

fn ip_permission(p: &Params) -> Result<IpPermission, FormError> {
    let described = |item: &Params, what: &str| -> Result<(String, Option<String>), FormError> {
        Ok((
            item.required(what)?.to_owned(),
            owned(item.get("Description")),
        ))
    };
    Ok(IpPermission {
        ip_protocol: p.required("IpProtocol")?.to_owned(),
        from_port: i32_of(p, "FromPort")?,
        to_port: i32_of(p, "ToPort")?,
        ip_ranges: p
            .structs("IpRanges")?
            .iter()
            .map(|r| {
                let (cidr_ip, description) = described(r, "CidrIp")?;
                Ok(IpRange {
                    cidr_ip,
                    description,
                })
            })
            .collect::<Result<_, FormError>>()?,
        ipv6_ranges: p
            .structs("Ipv6Ranges")?
            .iter()
            .map(|r| {
                let (cidr_ipv6, description) = described(r, "CidrIpv6")?;
                Ok(Ipv6Range {
                    cidr_ipv6,
                    description,
                })
            })
            .collect::<Result<_, FormError>>()?,
        prefix_list_ids: p
            .structs("PrefixListIds")?
            .iter()
            .map(|r| {
                let (prefix_list_id, description) = described(r, "PrefixListId")?;
                Ok(PrefixListId {
                    prefix_list_id,
                    description,
                })
            })
            .collect::<Result<_, FormError>>()?,
        // The member `UserIdGroupPairs` goes on the wire as `Groups` (its locationName).
        user_id_group_pairs: p
            .structs("Groups")?
            .iter()
            .map(|g| {
                Ok(UserIdGroupPair {
                    description: owned(g.get("Description")),
                    group_id: owned(g.get("GroupId")),
                    group_name: owned(g.get("GroupName")),
                    user_id: owned(g.get("UserId")),
                    vpc_id: owned(g.get("VpcId")),
                    peering_status: owned(g.get("PeeringStatus")),
                    vpc_peering_connection_id: owned(g.get("VpcPeeringConnectionId")),
                })
            })
            .collect::<Result<_, FormError>>()?,
    })
}

/// Authorize and Revoke: `IpPermissions.N`, or the legacy top-level form (`IpProtocol`,
/// `FromPort`, `ToPort`, `CidrIp`, `SourceSecurityGroupName`, `SourceSecurityGroupOwnerId`),
/// which EC2 still accepts as one permission; Revoke also by `SecurityGroupRuleId.N`.
fn permissions(p: &Params, egress: bool, revoke: bool) -> Result<Permissions, FormError> {
    let mut ip_permissions: Vec<IpPermission> = p
        .structs("IpPermissions")?
        .iter()
        .map(ip_permission)
        .collect::<Result<_, _>>()?;
    let legacy_cidr = p.get("CidrIp");
    let legacy_group = p.get("SourceSecurityGroupName");
    let legacy_owner = p.get("SourceSecurityGroupOwnerId");
    // Without a protocol, EC2's legacy form means every protocol.
    let legacy_proto = p.get("IpProtocol");
    if legacy_proto.is_some() || legacy_cidr.is_some() || legacy_group.is_some() {
        ip_permissions.push(IpPermission {
            ip_protocol: legacy_proto.unwrap_or("-1").to_owned(),
            from_port: i32_of(p, "FromPort")?,
            to_port: i32_of(p, "ToPort")?,
            ip_ranges: legacy_cidr
                .map(|c| IpRange {
                    cidr_ip: c.to_owned(),
                    description: None,
                })
                .into_iter()
                .collect(),
            user_id_group_pairs: legacy_group
                .map(|g| UserIdGroupPair {
                    group_name: Some(g.to_owned()),
                    user_id: owned(legacy_owner),
                    ..Default::default()
                })
                .into_iter()
                .collect(),
            ..Default::default()
        });
    }
    Ok(Permissions {
        group_id: owned(p.get("GroupId")),
        // Egress operations name the group by id only.
        group_name: if egress {
            None
        } else {
            owned(p.get("GroupName"))
        },
        ip_permissions,
        security_group_rule_ids: if revoke {
            strings(p, "SecurityGroupRuleId")?
        } else {
            Vec::new()
        },
        tag_specifications: if revoke {
            Vec::new()
        } else {
            tag_specifications(p)?
        },
    })
}

fn rule_request(r: &Params) -> Result<SecurityGroupRuleRequest, FormError> {
    Ok(SecurityGroupRuleRequest {
        ip_protocol: owned(r.get("IpProtocol")),
        from_port: i32_of(r, "FromPort")?,
        to_port: i32_of(r, "ToPort")?,
        cidr_ipv4: owned(r.get("CidrIpv4")),
        cidr_ipv6: owned(r.get("CidrIpv6")),
        prefix_list_id: owned(r.get("PrefixListId")),
        referenced_group_id: owned(r.get("ReferencedGroupId")),
        description: owned(r.get("Description")),
    })
}

fn descriptions(p: &Params) -> Result<UpdateDescriptions, FormError> {
    Ok(UpdateDescriptions {
        group_id: owned(p.get("GroupId")),
        group_name: owned(p.get("GroupName")),
        ip_permissions: p
            .structs("IpPermissions")?
            .iter()
            .map(ip_permission)
            .collect::<Result<_, _>>()?,
        security_group_rule_descriptions: p
            .structs("SecurityGroupRuleDescription")?
            .iter()
            .map(|d| {
                Ok(RuleDescription {
                    security_group_rule_id: owned(d.get("SecurityGroupRuleId")),
                    description: owned(d.get("Description")),
                })
            })
            .collect::<Result<_, FormError>>()?,
    })
}

fn entries(p: &Params, prefix: &str) -> Result<Vec<PrefixListEntryIn>, FormError> {
    p.structs(prefix)?
        .iter()
        .map(|e| {
            Ok(PrefixListEntryIn {
                cidr: e.required("Cidr")?.to_owned(),
                description: owned(e.get("Description")),
            })
        })
        .collect()
}

fn addresses(p: &Params) -> Result<PrivateAddresses, FormError> {
    Ok(PrivateAddresses {
        network_interface_id: Some(p.required("NetworkInterfaceId")?.to_owned()),
        // The member `PrivateIpAddresses` goes on the wire as `PrivateIpAddress.N`.
        private_ip_addresses: strings(p, "PrivateIpAddress")?,
    })
}

#[cfg(test)]
mod tests;
