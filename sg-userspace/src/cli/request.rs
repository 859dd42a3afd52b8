//! From parsed arguments to the `Request` sent to sgd: shorthand and JSON option values,
//! `--protocol`/`--port`/`--cidr` folded into permissions, and the `UsageError` for a mistake
//! found before anything is sent.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Command, ConntrackArgs, DescriptionArgs, PermissionArgs, shorthand};
use crate::{
    api::{
        ConntrackQuery, CreateManagedPrefixList, CreateNetworkInterface, CreateSecurityGroup,
        CreateVpc, DeleteSecurityGroup, DescribeManagedPrefixLists, DescribeNetworkInterfaces,
        DescribeSecurityGroupRules, DescribeSecurityGroups, DescribeVpcs, ImportSecurityGroups,
        IpPermission, IpRange, Ipv6Range, ModifyManagedPrefixList, ModifyNetworkInterfaceAttribute,
        ModifySecurityGroupRules, NetworkInterfaceIdRequest, Permissions, PrefixListIdRequest,
        PrivateAddresses, Request, UpdateDescriptions, UserIdGroupPair,
    },
    model::{PROTO_ALL, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, parse_protocol},
};

/// A command-line mistake, reported before anything is sent.
#[derive(Debug)]
pub struct UsageError(pub String);

fn parse_port(proto: i16, s: Option<&str>) -> Result<(Option<i32>, Option<i32>), UsageError> {
    let bad = || {
        UsageError(format!(
            "argument --port: invalid value '{}'",
            s.unwrap_or("")
        ))
    };
    let num = |t: &str| t.trim().parse::<i32>().map_err(|_| bad());
    match proto {
        PROTO_TCP | PROTO_UDP => match s {
            None => Ok((None, None)),
            Some("-1") => Ok((Some(0), Some(65535))),
            Some(s) => match s.split_once('-') {
                Some((a, b)) => Ok((Some(num(a)?), Some(num(b)?))),
                None => {
                    let p = num(s)?;
                    Ok((Some(p), Some(p)))
                }
            },
        },
        PROTO_ICMP | PROTO_ICMPV6 => match s {
            None | Some("-1") => Ok((Some(-1), Some(-1))),
            Some(s) => match s.split_once('-') {
                Some((t, c)) => Ok((Some(num(t)?), Some(num(c)?))),
                None => Ok((Some(num(s)?), Some(-1))),
            },
        },
        _ => Ok((None, None)),
    }
}

impl PermissionArgs {
    /// The permissions to send: `--ip-permissions` as given, or one built from the shorthand
    /// options.
    pub fn to_permissions(&self) -> Result<Vec<IpPermission>, UsageError> {
        if let Some(text) = &self.ip_permissions {
            return ip_permissions(text);
        }
        if self.protocol.is_none() && !self.security_group_rule_ids.is_empty() {
            return Ok(Vec::new());
        }
        let Some(protocol) = &self.protocol else {
            return Err(UsageError(
                "one of --ip-permissions or --protocol (with --cidr or --source-group) is required"
                    .into(),
            ));
        };
        // An unknown protocol goes to sgd as given; it answers InvalidPermission.Malformed.
        let proto = parse_protocol(protocol).unwrap_or(PROTO_TCP);
        let (from_port, to_port) = parse_port(proto, self.port.as_deref())?;
        let mut p = IpPermission {
            ip_protocol: if proto == PROTO_ALL {
                "-1".into()
            } else {
                protocol.to_ascii_lowercase()
            },
            from_port,
            to_port,
            ..Default::default()
        };
        match (&self.cidr, &self.source_group) {
            (Some(c), None) if c.contains(':') => p.ipv6_ranges.push(Ipv6Range {
                cidr_ipv6: c.clone(),
                description: None,
            }),
            (Some(c), None) => p.ip_ranges.push(IpRange {
                cidr_ip: c.clone(),
                description: None,
            }),
            (None, Some(g)) => p.user_id_group_pairs.push(UserIdGroupPair {
                group_id: Some(g.clone()),
                ..Default::default()
            }),
            _ => {
                return Err(UsageError(
                    "exactly one of --cidr or --source-group is required".into(),
                ));
            }
        }
        Ok(vec![p])
    }

    fn request(&self) -> Result<Permissions, UsageError> {
        Ok(Permissions {
            group_id: self.group_id.clone(),
            group_name: self.group_name.clone(),
            ip_permissions: self.to_permissions()?,
            security_group_rule_ids: self.security_group_rule_ids.clone(),
            tag_specifications: each("--tag-specifications", &self.tag_specifications)?,
        })
    }
}

impl ConntrackArgs {
    fn query(&self) -> Result<ConntrackQuery, UsageError> {
        Ok(ConntrackQuery {
            network_interface_id: self.network_interface_id.clone(),
            filters: each("--filters", &self.filters)?,
        })
    }
}

/// Parses every value of a repeated structured option.
fn each<T: DeserializeOwned>(option: &str, values: &[String]) -> Result<Vec<T>, UsageError> {
    values
        .iter()
        .map(|v| shorthand::parse(option, v).map_err(UsageError))
        .collect()
}

/// Reads `file://path` (or returns the text itself).
fn file_or_text(option: &str, text: &str) -> Result<String, UsageError> {
    match text.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("argument {option}: cannot read {path}: {e}"))),
        None => Ok(text.to_owned()),
    }
}

fn ip_permissions(text: &str) -> Result<Vec<IpPermission>, UsageError> {
    let text = file_or_text("--ip-permissions", text)?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| UsageError(format!("argument --ip-permissions: invalid JSON: {e}")))?;
    // Accept one permission object as well as a list.
    let value = if value.is_object() {
        Value::Array(vec![value])
    } else {
        value
    };
    serde_json::from_value(value).map_err(|e| UsageError(format!("argument --ip-permissions: {e}")))
}

impl Command {
    pub fn to_request(&self) -> Result<Request, UsageError> {
        Ok(match self {
            Self::CreateSecurityGroup {
                group_name,
                description,
                vpc_id,
                tag_specifications,
                copy_from,
            } => Request::CreateSecurityGroup(CreateSecurityGroup {
                group_name: Some(group_name.clone()),
                description: Some(description.clone()),
                vpc_id: vpc_id.clone(),
                tag_specifications: each("--tag-specifications", tag_specifications)?,
                copy_from_group_id: copy_from.clone(),
            }),
            Self::DeleteSecurityGroup {
                group_id,
                group_name,
            } => Request::DeleteSecurityGroup(DeleteSecurityGroup {
                group_id: group_id.clone(),
                group_name: group_name.clone(),
            }),
            Self::DescribeSecurityGroups {
                group_ids,
                group_names,
                filters,
            } => Request::DescribeSecurityGroups(DescribeSecurityGroups {
                group_ids: group_ids.clone(),
                group_names: group_names.clone(),
                filters: each("--filters", filters)?,
            }),
            Self::DescribeSecurityGroupRules {
                security_group_rule_ids,
                filters,
            } => Request::DescribeSecurityGroupRules(DescribeSecurityGroupRules {
                security_group_rule_ids: security_group_rule_ids.clone(),
                filters: each("--filters", filters)?,
            }),
            Self::AuthorizeSecurityGroupIngress(a) => {
                Request::AuthorizeSecurityGroupIngress(a.request()?)
            }
            Self::AuthorizeSecurityGroupEgress(a) => {
                Request::AuthorizeSecurityGroupEgress(a.request()?)
            }
            Self::RevokeSecurityGroupIngress(a) => {
                Request::RevokeSecurityGroupIngress(a.request()?)
            }
            Self::RevokeSecurityGroupEgress(a) => Request::RevokeSecurityGroupEgress(a.request()?),
            Self::ModifySecurityGroupRules {
                group_id,
                security_group_rules,
            } => Request::ModifySecurityGroupRules(ModifySecurityGroupRules {
                group_id: Some(group_id.clone()),
                security_group_rules: each("--security-group-rules", security_group_rules)?,
            }),
            Self::UpdateSecurityGroupRuleDescriptionsIngress(a) => {
                Request::UpdateSecurityGroupRuleDescriptionsIngress(a.request()?)
            }
            Self::UpdateSecurityGroupRuleDescriptionsEgress(a) => {
                Request::UpdateSecurityGroupRuleDescriptionsEgress(a.request()?)
            }
            Self::ModifyNetworkInterfaceAttribute {
                network_interface_id,
                groups,
                connection_tracking_specification,
                source_dest_check,
                no_source_dest_check,
            } => Request::ModifyNetworkInterfaceAttribute(ModifyNetworkInterfaceAttribute {
                network_interface_id: Some(network_interface_id.clone()),
                groups: groups.clone(),
                connection_tracking_specification: connection_tracking_specification
                    .as_deref()
                    .map(|s| shorthand::parse("--connection-tracking-specification", s))
                    .transpose()
                    .map_err(UsageError)?,
                source_dest_check: match (source_dest_check, no_source_dest_check) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
            }),
            Self::CreateNetworkInterface {
                network_interface_id,
                attach_mode,
                private_ip_addresses,
                groups,
                no_source_dest_check,
            } => Request::CreateNetworkInterface(CreateNetworkInterface {
                network_interface_id: Some(network_interface_id.clone()),
                attach_mode: Some(attach_mode.clone()),
                private_ip_addresses: private_ip_addresses.clone(),
                groups: groups.clone(),
                source_dest_check: no_source_dest_check.then_some(false),
            }),
            Self::DeleteNetworkInterface {
                network_interface_id,
            } => Request::DeleteNetworkInterface(NetworkInterfaceIdRequest {
                network_interface_id: Some(network_interface_id.clone()),
            }),
            Self::AssignPrivateIpAddresses {
                network_interface_id,
                private_ip_addresses,
            } => Request::AssignPrivateIpAddresses(PrivateAddresses {
                network_interface_id: Some(network_interface_id.clone()),
                private_ip_addresses: private_ip_addresses.clone(),
            }),
            Self::UnassignPrivateIpAddresses {
                network_interface_id,
                private_ip_addresses,
            } => Request::UnassignPrivateIpAddresses(PrivateAddresses {
                network_interface_id: Some(network_interface_id.clone()),
                private_ip_addresses: private_ip_addresses.clone(),
            }),
            Self::DescribeNetworkInterfaces {
                network_interface_ids,
                filters,
            } => Request::DescribeNetworkInterfaces(DescribeNetworkInterfaces {
                network_interface_ids: network_interface_ids.clone(),
                filters: each("--filters", filters)?,
            }),
            Self::CreateVpc {
                cidr_block,
                classic,
                tag_specifications,
            } => Request::CreateVpc(CreateVpc {
                cidr_block: Some(cidr_block.clone()),
                classic: *classic,
                tag_specifications: each("--tag-specifications", tag_specifications)?,
            }),
            Self::DescribeVpcs { vpc_ids, filters } => Request::DescribeVpcs(DescribeVpcs {
                vpc_ids: vpc_ids.clone(),
                filters: each("--filters", filters)?,
            }),
            Self::CreateManagedPrefixList {
                prefix_list_name,
                max_entries,
                address_family,
                entries,
                tag_specifications,
            } => Request::CreateManagedPrefixList(CreateManagedPrefixList {
                prefix_list_name: Some(prefix_list_name.clone()),
                max_entries: Some(*max_entries),
                address_family: Some(address_family.clone()),
                entries: each("--entries", entries)?,
                tag_specifications: each("--tag-specifications", tag_specifications)?,
            }),
            Self::ModifyManagedPrefixList {
                prefix_list_id,
                current_version,
                prefix_list_name,
                max_entries,
                add_entries,
                remove_entries,
            } => Request::ModifyManagedPrefixList(ModifyManagedPrefixList {
                prefix_list_id: Some(prefix_list_id.clone()),
                current_version: *current_version,
                prefix_list_name: prefix_list_name.clone(),
                max_entries: *max_entries,
                add_entries: each("--add-entries", add_entries)?,
                remove_entries: each("--remove-entries", remove_entries)?,
            }),
            Self::DeleteManagedPrefixList { prefix_list_id } => {
                Request::DeleteManagedPrefixList(PrefixListIdRequest {
                    prefix_list_id: Some(prefix_list_id.clone()),
                })
            }
            Self::DescribeManagedPrefixLists {
                prefix_list_ids,
                filters,
            } => Request::DescribeManagedPrefixLists(DescribeManagedPrefixLists {
                prefix_list_ids: prefix_list_ids.clone(),
                filters: each("--filters", filters)?,
            }),
            Self::GetManagedPrefixListEntries { prefix_list_id } => {
                Request::GetManagedPrefixListEntries(PrefixListIdRequest {
                    prefix_list_id: Some(prefix_list_id.clone()),
                })
            }
            Self::CreateTags { resources, tags } => Request::CreateTags(crate::api::CreateTags {
                resources: resources.clone(),
                tags: each("--tags", tags)?,
            }),
            Self::DeleteTags { resources, tags } => Request::DeleteTags(crate::api::DeleteTags {
                resources: resources.clone(),
                tags: each("--tags", tags)?,
            }),
            Self::DescribeTags { filters } => Request::DescribeTags(crate::api::DescribeTags {
                filters: each("--filters", filters)?,
                ..Default::default()
            }),
            Self::GetMetrics => Request::GetMetrics(crate::api::Empty {}),
            Self::CreateAccessKey { read_only } => {
                Request::CreateAccessKey(crate::api::CreateAccessKey {
                    read_only: *read_only,
                })
            }
            Self::ListAccessKeys => Request::ListAccessKeys(crate::api::Empty {}),
            Self::DeleteAccessKey { access_key_id } => {
                Request::DeleteAccessKey(crate::api::DeleteAccessKey {
                    access_key_id: Some(access_key_id.clone()),
                })
            }
            Self::Export {
                network_interface_id,
                format,
            } => Request::ExportInterfaceRules(crate::api::ExportRequest {
                network_interface_id: Some(network_interface_id.clone()),
                format: Some(format.clone()),
            }),
            Self::DescribeConntrack(a) => Request::DescribeConntrack(a.query()?),
            Self::FlushConntrack(a) => Request::FlushConntrack(a.query()?),
            Self::Import { file } => {
                let text = if file == "-" {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                        .map_err(|e| UsageError(format!("reading standard input: {e}")))?;
                    s
                } else {
                    let path = file.strip_prefix("file://").unwrap_or(file);
                    std::fs::read_to_string(path)
                        .map_err(|e| UsageError(format!("cannot read {path}: {e}")))?
                };
                let doc: ImportSecurityGroups = serde_json::from_str(&text).map_err(|e| {
                    UsageError(format!(
                        "{file} is not the output of describe-security-groups: {e}"
                    ))
                })?;
                Request::ImportSecurityGroups(doc)
            }
        })
    }
}

impl DescriptionArgs {
    fn request(&self) -> Result<UpdateDescriptions, UsageError> {
        Ok(UpdateDescriptions {
            group_id: self.group_id.clone(),
            group_name: self.group_name.clone(),
            ip_permissions: self
                .ip_permissions
                .as_deref()
                .map(ip_permissions)
                .transpose()?
                .unwrap_or_default(),
            security_group_rule_descriptions: each(
                "--security-group-rule-descriptions",
                &self.security_group_rule_descriptions,
            )?,
        })
    }
}
