//! `sgctl`: operations named and shaped as the AWS CLI's `aws ec2` subcommands. Output is the
//! AWS response JSON (or `--output table`); errors are printed as the AWS CLI prints them.

mod shorthand;
mod table;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{
    api::{
        ConntrackQuery, CreateManagedPrefixList, CreateNetworkInterface, CreateSecurityGroup,
        CreateVpc, DeleteSecurityGroup, DescribeManagedPrefixLists, DescribeNetworkInterfaces,
        DescribeSecurityGroupRules, DescribeSecurityGroups, DescribeVpcs, ImportSecurityGroups,
        IpPermission, IpRange, Ipv6Range, ModifyManagedPrefixList, ModifyNetworkInterfaceAttribute,
        ModifySecurityGroupRules, NetworkInterfaceIdRequest, Permissions, PrefixListIdRequest,
        PrivateAddresses, Request, Response, UpdateDescriptions, UserIdGroupPair, client,
    },
    model::{PROTO_ALL, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, parse_protocol},
    paths,
};

/// Exit status of the AWS CLI when the service returned an error.
pub const EXIT_SERVICE_ERROR: i32 = 254;
/// Exit status of the AWS CLI for invalid command-line parameters.
pub const EXIT_USAGE: i32 = 252;
/// Exit status for other failures (e.g. the daemon is not reachable).
pub const EXIT_OTHER: i32 = 255;

/// Manage the security groups that sgd enforces on this host. Operations, options and JSON
/// output follow the AWS CLI (`aws ec2 ...`).
#[derive(Parser, Debug)]
#[command(name = "sgctl", version)]
pub struct Cli {
    /// Unix socket of sgd.
    #[arg(long, global = true, env = "SG_SOCKET", default_value = paths::SOCKET)]
    pub socket: PathBuf,
    /// The formatting style for command output.
    #[arg(long, global = true, value_enum, default_value_t = Output::Json)]
    pub output: Output,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Json,
    Table,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Creates a security group. A new group has no inbound rules and one outbound rule that
    /// allows all traffic to 0.0.0.0/0 and ::/0 (none in an EC2-Classic VPC).
    CreateSecurityGroup {
        /// The name of the security group. Constraints: up to 255 characters; a-z, A-Z, 0-9,
        /// spaces, and ._-:/()#,@[]+=&;{}!$* (EC2-Classic: any ASCII); cannot start with sg-.
        #[arg(long)]
        group_name: String,
        /// A description for the security group (same constraints as the name).
        #[arg(long)]
        description: String,
        /// The ID of the VPC. Defaults to the default VPC.
        #[arg(long)]
        vpc_id: Option<String>,
        /// The tags to assign to the security group:
        /// ResourceType=security-group,Tags=[{Key=string,Value=string},...] or JSON.
        #[arg(long, num_args = 1..)]
        tag_specifications: Vec<String>,
        /// Copy to new: start the group with all inbound and outbound rules of this group
        /// instead of the default outbound rule (the EC2 console's "Copy to new").
        #[arg(long, value_name = "GROUP_ID")]
        copy_from: Option<String>,
    },
    /// Deletes a security group. Fails while an interface or another group's rule uses it.
    DeleteSecurityGroup {
        /// The ID of the security group.
        #[arg(long, required_unless_present = "group_name")]
        group_id: Option<String>,
        /// [Default VPC] The name of the security group.
        #[arg(long)]
        group_name: Option<String>,
    },
    /// Describes the specified security groups or all of your security groups.
    DescribeSecurityGroups {
        /// The IDs of the security groups.
        #[arg(long, num_args = 1..)]
        group_ids: Vec<String>,
        /// [Default VPC] The names of the security groups.
        #[arg(long, num_args = 1..)]
        group_names: Vec<String>,
        /// The filters: Name=string,Values=string,string ... Names: group-id, group-name,
        /// vpc-id, description, owner-id, tag:<key>, tag-key. Values may use * and ?.
        #[arg(long, num_args = 1..)]
        filters: Vec<String>,
    },
    /// Describes one or more of your security group rules.
    DescribeSecurityGroupRules {
        /// The IDs of the security group rules.
        #[arg(long, num_args = 1..)]
        security_group_rule_ids: Vec<String>,
        /// The filters: group-id, security-group-rule-id, is-egress, tag:<key>, tag-key.
        #[arg(long, num_args = 1..)]
        filters: Vec<String>,
    },
    /// Adds the specified inbound (ingress) rules to a security group.
    AuthorizeSecurityGroupIngress(PermissionArgs),
    /// Adds the specified outbound (egress) rules to a security group.
    AuthorizeSecurityGroupEgress(PermissionArgs),
    /// Removes the specified inbound (ingress) rules from a security group. The values must
    /// match an existing rule exactly, or give the rules' IDs.
    RevokeSecurityGroupIngress(PermissionArgs),
    /// Removes the specified outbound (egress) rules from a security group.
    RevokeSecurityGroupEgress(PermissionArgs),
    /// Modifies the rules of a security group in place, keeping their IDs.
    ModifySecurityGroupRules {
        /// The ID of the security group.
        #[arg(long)]
        group_id: String,
        /// Information about the security group properties to update:
        /// SecurityGroupRuleId=string,SecurityGroupRule={IpProtocol=string,FromPort=integer,
        /// ToPort=integer,CidrIpv4=string,CidrIpv6=string,PrefixListId=string,
        /// ReferencedGroupId=string,Description=string} ... or JSON.
        #[arg(long, num_args = 1.., required = true)]
        security_group_rules: Vec<String>,
    },
    /// Updates the description of inbound rules, matched by permission or by rule ID.
    UpdateSecurityGroupRuleDescriptionsIngress(DescriptionArgs),
    /// Updates the description of outbound rules, matched by permission or by rule ID.
    UpdateSecurityGroupRuleDescriptionsEgress(DescriptionArgs),
    /// Modifies a network interface attribute. `--groups` replaces the interface's whole set
    /// of security groups; the interface is protected from then on.
    ModifyNetworkInterfaceAttribute {
        /// The ID of the network interface: its Linux name (e.g. eth0).
        #[arg(long)]
        network_interface_id: String,
        /// Changes the security groups for the network interface (1 to 5 group IDs, all from
        /// one VPC).
        #[arg(long, num_args = 1..)]
        groups: Option<Vec<String>>,
        /// Connection tracking timeouts, seconds: TcpEstablishedTimeout=integer (60-432000),
        /// UdpStreamTimeout=integer (60-180), UdpTimeout=integer (30-60).
        #[arg(long)]
        connection_tracking_specification: Option<String>,
        /// [Host mode] Drop traffic from the instance whose source is not one of its private
        /// addresses, and traffic to it with another destination (the default).
        #[arg(long, conflicts_with = "no_source_dest_check")]
        source_dest_check: bool,
        /// [Host mode] Turn the source/destination check off (e.g. for a router instance).
        #[arg(long)]
        no_source_dest_check: bool,
    },
    /// Protects a network interface. In host mode the interface is the host side of an
    /// instance's veth or tap: directions are the instance's, and its private addresses are
    /// declared here (they are what group references match and what the source/destination
    /// check allows). Not every option is the AWS CLI's: --attach-mode is ours.
    CreateNetworkInterface {
        /// The Linux name of the interface.
        #[arg(long)]
        network_interface_id: String,
        /// instance (the firewall runs on the instance; addresses read from the device) or
        /// host (the firewall runs on the host side of the instance's veth/tap).
        #[arg(long, default_value = "instance")]
        attach_mode: String,
        /// [Host mode] The instance's private IPv4 and IPv6 addresses.
        #[arg(long, num_args = 1..)]
        private_ip_addresses: Vec<String>,
        /// The IDs of the security groups (1 to 5).
        #[arg(long, num_args = 1.., required = true)]
        groups: Vec<String>,
        /// [Host mode] Turn the source/destination check off.
        #[arg(long)]
        no_source_dest_check: bool,
    },
    /// Stops protecting a network interface and forgets it.
    DeleteNetworkInterface {
        /// The Linux name of the interface.
        #[arg(long)]
        network_interface_id: String,
    },
    /// [Host mode] Assigns more private addresses to an instance's interface.
    AssignPrivateIpAddresses {
        #[arg(long)]
        network_interface_id: String,
        #[arg(long, num_args = 1.., required = true)]
        private_ip_addresses: Vec<String>,
    },
    /// [Host mode] Removes private addresses from an instance's interface.
    UnassignPrivateIpAddresses {
        #[arg(long)]
        network_interface_id: String,
        #[arg(long, num_args = 1.., required = true)]
        private_ip_addresses: Vec<String>,
    },
    /// Describes the protected network interfaces: groups, addresses, timeouts, counters.
    DescribeNetworkInterfaces {
        /// The network interface IDs (Linux names).
        #[arg(long, num_args = 1..)]
        network_interface_ids: Vec<String>,
    },
    /// Creates a VPC: a separate namespace of security groups with its own default group.
    CreateVpc {
        /// The IPv4 network range for the VPC, in CIDR notation (/16 to /28).
        #[arg(long)]
        cidr_block: String,
        /// Give the VPC's groups EC2-Classic semantics: inbound rules only, TCP/UDP/ICMP only,
        /// an interface's groups fixed once attached.
        #[arg(long)]
        classic: bool,
        /// ResourceType=vpc,Tags=[{Key=string,Value=string},...] or JSON.
        #[arg(long, num_args = 1..)]
        tag_specifications: Vec<String>,
    },
    /// Describes one or more of your VPCs.
    DescribeVpcs {
        /// The IDs of the VPCs.
        #[arg(long, num_args = 1..)]
        vpc_ids: Vec<String>,
    },
    /// Creates a managed prefix list: a set of CIDR blocks that rules can reference.
    CreateManagedPrefixList {
        /// A name for the prefix list (cannot start with com.amazonaws).
        #[arg(long)]
        prefix_list_name: String,
        /// The maximum number of entries (1-1000); a rule referencing the list counts this many
        /// rules against the group's quota.
        #[arg(long)]
        max_entries: u32,
        /// The IP address type: IPv4 | IPv6.
        #[arg(long)]
        address_family: String,
        /// The entries: Cidr=string,Description=string ... or JSON.
        #[arg(long, num_args = 1..)]
        entries: Vec<String>,
        /// ResourceType=prefix-list,Tags=[{Key=string,Value=string},...] or JSON.
        #[arg(long, num_args = 1..)]
        tag_specifications: Vec<String>,
    },
    /// Modifies a managed prefix list: add or remove entries, rename, resize.
    ModifyManagedPrefixList {
        /// The ID of the prefix list.
        #[arg(long)]
        prefix_list_id: String,
        /// The current version of the prefix list (the change fails if it has moved on).
        #[arg(long)]
        current_version: Option<u64>,
        /// A new name.
        #[arg(long)]
        prefix_list_name: Option<String>,
        /// A new maximum number of entries.
        #[arg(long)]
        max_entries: Option<u32>,
        /// Entries to add: Cidr=string,Description=string ...
        #[arg(long, num_args = 1..)]
        add_entries: Vec<String>,
        /// Entries to remove: Cidr=string ...
        #[arg(long, num_args = 1..)]
        remove_entries: Vec<String>,
    },
    /// Deletes a managed prefix list that no rule references.
    DeleteManagedPrefixList {
        /// The ID of the prefix list.
        #[arg(long)]
        prefix_list_id: String,
    },
    /// Describes your managed prefix lists.
    DescribeManagedPrefixLists {
        /// The IDs of the prefix lists.
        #[arg(long, num_args = 1..)]
        prefix_list_ids: Vec<String>,
    },
    /// Gets the entries of a managed prefix list.
    GetManagedPrefixListEntries {
        /// The ID of the prefix list.
        #[arg(long)]
        prefix_list_id: String,
    },
    /// Prints an interface's effective rules as an equivalent nftables ruleset (stateful, inet
    /// family), e.g. to compare with `nft -f`. Not an AWS CLI operation.
    Export {
        /// The interface.
        #[arg(long)]
        network_interface_id: String,
        /// The output format.
        #[arg(long, default_value = "nft")]
        format: String,
    },
    /// Prints the datapath's counters in the Prometheus text format (also served by
    /// `sgd --metrics-listen`). Not an AWS CLI operation.
    GetMetrics,
    /// Lists tracked flows: interface, protocol, addresses and ports (ICMP echo: the
    /// identifier as LocalPort), the direction that opened the flow, state, packets, bytes and
    /// seconds until it expires. Not an AWS CLI operation.
    DescribeConntrack(ConntrackArgs),
    /// Removes tracked flows (all, or those selected): their next packets are judged by the
    /// rules again. An administrator's tool; not an AWS CLI operation.
    FlushConntrack(ConntrackArgs),
    /// Imports security groups from the JSON that `aws ec2 describe-security-groups` prints
    /// (group IDs, names, descriptions, VPCs, rules and tags are kept). Not an AWS CLI
    /// operation.
    Import {
        /// The file to read (`-` for standard input, `file://path` accepted).
        file: String,
    },
}

#[derive(Args, Debug)]
pub struct PermissionArgs {
    /// The ID of the security group.
    #[arg(long, required_unless_present = "group_name")]
    pub group_id: Option<String>,
    /// [Default VPC] The name of the security group.
    #[arg(long)]
    pub group_name: Option<String>,
    /// The IP protocol name (tcp, udp, icmp, icmpv6) or number; -1 or all means all
    /// protocols. Used with --port and --cidr or --source-group.
    #[arg(long, allow_hyphen_values = true)]
    pub protocol: Option<String>,
    /// For TCP or UDP: the port or range of ports (22 or 8000-8100; -1 means all ports).
    /// For ICMP/ICMPv6: the type, or type-code (8-0); -1 means all types and codes.
    #[arg(long, allow_hyphen_values = true)]
    pub port: Option<String>,
    /// The IPv4 or IPv6 address range, in CIDR format.
    #[arg(long)]
    pub cidr: Option<String>,
    /// The ID of the security group whose members' private addresses the rule matches.
    #[arg(long)]
    pub source_group: Option<String>,
    /// The sets of IP permissions, as JSON in the AWS shape (IpProtocol, FromPort, ToPort,
    /// IpRanges, Ipv6Ranges, UserIdGroupPairs, PrefixListIds), or file://path to read it
    /// from a file.
    #[arg(long, conflicts_with_all = ["protocol", "port", "cidr", "source_group"])]
    pub ip_permissions: Option<String>,
    /// [Revoke] The IDs of the security group rules to remove.
    #[arg(long, num_args = 1.., conflicts_with_all = ["protocol", "port", "cidr", "source_group"])]
    pub security_group_rule_ids: Vec<String>,
    /// [Authorize] Tags for the new rules:
    /// ResourceType=security-group-rule,Tags=[{Key=string,Value=string},...] or JSON.
    #[arg(long, num_args = 1..)]
    pub tag_specifications: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ConntrackArgs {
    /// Only flows on this interface.
    #[arg(long)]
    pub network_interface_id: Option<String>,
    /// Name=string,Values=string,... Names: protocol, local-address, remote-address,
    /// local-port, remote-port, state, direction.
    #[arg(long, num_args = 1..)]
    pub filters: Vec<String>,
}

impl ConntrackArgs {
    fn query(&self) -> Result<ConntrackQuery, UsageError> {
        Ok(ConntrackQuery {
            network_interface_id: self.network_interface_id.clone(),
            filters: each("--filters", &self.filters)?,
        })
    }
}

#[derive(Args, Debug)]
pub struct DescriptionArgs {
    /// The ID of the security group.
    #[arg(long, required_unless_present = "group_name")]
    pub group_id: Option<String>,
    /// [Default VPC] The name of the security group.
    #[arg(long)]
    pub group_name: Option<String>,
    /// The IP permissions whose descriptions to set (JSON in the AWS shape, or file://path);
    /// each must match an existing rule, its Description fields are the new descriptions.
    #[arg(long)]
    pub ip_permissions: Option<String>,
    /// The rules by ID: SecurityGroupRuleId=string,Description=string ... or JSON.
    #[arg(long, num_args = 1..)]
    pub security_group_rule_descriptions: Vec<String>,
}

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
            } => Request::DescribeNetworkInterfaces(DescribeNetworkInterfaces {
                network_interface_ids: network_interface_ids.clone(),
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
            Self::DescribeVpcs { vpc_ids } => Request::DescribeVpcs(DescribeVpcs {
                vpc_ids: vpc_ids.clone(),
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
            Self::DescribeManagedPrefixLists { prefix_list_ids } => {
                Request::DescribeManagedPrefixLists(DescribeManagedPrefixLists {
                    prefix_list_ids: prefix_list_ids.clone(),
                })
            }
            Self::GetManagedPrefixListEntries { prefix_list_id } => {
                Request::GetManagedPrefixListEntries(PrefixListIdRequest {
                    prefix_list_id: Some(prefix_list_id.clone()),
                })
            }
            Self::GetMetrics => Request::GetMetrics(crate::api::Empty {}),
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

/// JSON as the AWS CLI prints it: four-space indentation.
pub fn to_aws_json(v: &Value) -> String {
    use serde::Serialize as _;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser).expect("JSON values always serialise");
    String::from_utf8(buf).expect("JSON is UTF-8")
}

/// Runs `sgctl` with the process's arguments; returns the exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let req = match cli.command.to_request() {
        Ok(r) => r,
        Err(UsageError(msg)) => {
            eprintln!("sgctl: error: {msg}");
            return EXIT_USAGE;
        }
    };
    match client::call(&cli.socket, &req) {
        Ok(Response::Ok(Value::Null)) => 0,
        // Text outputs (not AWS responses) are printed as they are.
        Ok(Response::Ok(Value::Object(m)))
            if matches!(
                req,
                Request::GetMetrics(_) | Request::ExportInterfaceRules(_)
            ) =>
        {
            let text = m
                .get("Metrics")
                .or(m.get("Ruleset"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            print!("{text}");
            0
        }
        Ok(Response::Ok(v)) => {
            match cli.output {
                Output::Json => println!("{}", to_aws_json(&v)),
                Output::Table => print!("{}", table::render(req.operation(), &v)),
            }
            0
        }
        Ok(Response::Error(e)) => {
            eprintln!(
                "\nAn error occurred ({}) when calling the {} operation: {}",
                e.code,
                req.operation(),
                e.message
            );
            EXIT_SERVICE_ERROR
        }
        Err(e) => {
            eprintln!("sgctl: {e}");
            EXIT_OTHER
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(args: &[&str]) -> Result<Vec<IpPermission>, UsageError> {
        let mut full = vec![
            "sgctl",
            "authorize-security-group-ingress",
            "--group-id",
            "sg-12345678",
        ];
        full.extend_from_slice(args);
        match Cli::try_parse_from(full).expect("parses").command {
            Command::AuthorizeSecurityGroupIngress(a) => a.to_permissions(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn shorthand_tcp_port_and_range() {
        let p = perms(&[
            "--protocol",
            "tcp",
            "--port",
            "22",
            "--cidr",
            "203.0.113.0/24",
        ])
        .unwrap();
        assert_eq!((p[0].from_port, p[0].to_port), (Some(22), Some(22)));
        assert_eq!(p[0].ip_ranges[0].cidr_ip, "203.0.113.0/24");
        let p = perms(&[
            "--protocol",
            "udp",
            "--port",
            "8000-8100",
            "--cidr",
            "2001:db8::/32",
        ])
        .unwrap();
        assert_eq!((p[0].from_port, p[0].to_port), (Some(8000), Some(8100)));
        assert_eq!(p[0].ipv6_ranges[0].cidr_ipv6, "2001:db8::/32");
        let p = perms(&["--protocol", "tcp", "--port", "-1", "--cidr", "0.0.0.0/0"]).unwrap();
        assert_eq!((p[0].from_port, p[0].to_port), (Some(0), Some(65535)));
    }

    #[test]
    fn shorthand_icmp_and_all() {
        let p = perms(&["--protocol", "icmp", "--port", "8-0", "--cidr", "0.0.0.0/0"]).unwrap();
        assert_eq!((p[0].from_port, p[0].to_port), (Some(8), Some(0)));
        let p = perms(&["--protocol", "icmp", "--port", "-1", "--cidr", "0.0.0.0/0"]).unwrap();
        assert_eq!((p[0].from_port, p[0].to_port), (Some(-1), Some(-1)));
        let p = perms(&["--protocol", "all", "--source-group", "sg-12345678"]).unwrap();
        assert_eq!(p[0].ip_protocol, "-1");
        assert_eq!(
            p[0].user_id_group_pairs[0].group_id.as_deref(),
            Some("sg-12345678")
        );
    }

    #[test]
    fn ip_permissions_json_in_the_aws_shape() {
        let json = r#"[{"IpProtocol":"tcp","FromPort":443,"ToPort":443,
            "IpRanges":[{"CidrIp":"198.51.100.0/24","Description":"web"}]}]"#;
        let p = perms(&["--ip-permissions", json]).unwrap();
        assert_eq!(p[0].ip_ranges[0].description.as_deref(), Some("web"));
        assert!(perms(&["--ip-permissions", "[{\"Bogus\":1}]"]).is_err());
        assert!(perms(&["--protocol", "tcp", "--port", "x", "--cidr", "0.0.0.0/0"]).is_err());
        assert!(perms(&["--protocol", "tcp", "--port", "22"]).is_err());
    }

    #[test]
    fn aws_json_indentation() {
        let v = serde_json::json!({"GroupId": "sg-1"});
        assert_eq!(to_aws_json(&v), "{\n    \"GroupId\": \"sg-1\"\n}");
    }
}
