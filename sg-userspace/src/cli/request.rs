//! From parsed arguments to the `Request` sent to sgd: each option's value read into its
//! parameter (`input`), `--protocol`/`--port`/`--cidr` folded into a permission, the
//! parameters of `--cli-input-json` merged under the options, and the `UsageError` for a
//! mistake found before anything is sent.

use serde_json::{Map, Value};

use super::{
    Cli, Command, ConntrackArgs, DescriptionArgs, PermissionArgs, input,
    shapes::{self, Operation, Shape, check},
};
use crate::{
    api::{IpPermission, IpRange, Ipv6Range, Request, UserIdGroupPair},
    model::{PROTO_ALL, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, parse_protocol},
};

/// A command-line mistake, reported before anything is sent.
#[derive(Debug)]
pub struct UsageError(pub String);

/// What the command line asks for.
#[derive(Debug)]
pub enum Prepared {
    /// `--generate-cli-skeleton`: print this and stop.
    Skeleton(String),
    Request(Request),
}

impl Cli {
    pub fn prepare(&self) -> Result<Prepared, UsageError> {
        let params = self.command.params()?;
        if self.generate_cli_skeleton.is_some() {
            return Ok(Prepared::Skeleton(shapes::skeleton(params.op)));
        }
        params
            .finish(self.cli_input_json.as_deref())
            .map(Prepared::Request)
    }
}

/// The parameters of one operation, as the command line gave them.
pub struct Params {
    op: &'static Operation,
    map: Map<String, Value>,
}

impl Params {
    fn new(op: &str) -> Self {
        Self {
            op: Operation::named(op),
            map: Map::new(),
        }
    }

    fn shape(&self, option: &str, name: &str) -> Result<&'static Shape, UsageError> {
        match self.op.field(name) {
            Some(f) => Ok(&f.shape),
            None => Err(UsageError(format!(
                "argument {option}: not a parameter of {}",
                self.op.name
            ))),
        }
    }

    fn set(&mut self, name: &str, v: impl Into<Value>) {
        self.map.insert(name.to_owned(), v.into());
    }

    fn string(&mut self, option: &str, name: &str, v: &Option<String>) -> Result<(), UsageError> {
        if let Some(v) = v {
            self.set(name, input::string(option, v)?);
        }
        Ok(())
    }

    /// A list parameter; an option not given (no values) leaves it out.
    fn list(&mut self, option: &str, name: &str, values: &[String]) -> Result<(), UsageError> {
        if values.is_empty() {
            return Ok(());
        }
        let Shape::List(member) = self.shape(option, name)? else {
            unreachable!("{name} is a list");
        };
        let items = input::list(option, name, member, values)?;
        self.set(name, items);
        Ok(())
    }

    fn structure(
        &mut self,
        option: &str,
        name: &str,
        v: &Option<String>,
    ) -> Result<(), UsageError> {
        if let Some(v) = v {
            let shape = self.shape(option, name)?;
            self.set(name, input::structure(option, name, shape, v)?);
        }
        Ok(())
    }

    fn number(&mut self, name: &str, v: Option<impl Into<Value>>) {
        if let Some(v) = v {
            self.set(name, v);
        }
    }

    fn flag(&mut self, name: &str, on: bool) {
        if on {
            self.set(name, true);
        }
    }

    /// Merges `--cli-input-json` under the options (a parameter the command line gave is kept
    /// whole, as the AWS CLI does), checks what is required, and makes the request.
    pub fn finish(self, cli_input_json: Option<&str>) -> Result<Request, UsageError> {
        let Self { op, mut map } = self;
        if let Some(text) = cli_input_json {
            let bad = |e: String| UsageError(format!("argument --cli-input-json: {e}"));
            for (k, v) in input::cli_input_json(text)? {
                let v = match op.field(&k) {
                    Some(f) => check(&f.shape, v, &k).map_err(bad)?,
                    None if matches!(op.input, Shape::Open(_)) => v,
                    None => {
                        let names: Vec<&str> = op.fields().iter().map(|f| f.name).collect();
                        return Err(bad(format!(
                            "unknown parameter in input: \"{k}\", must be one of: {}",
                            names.join(", ")
                        )));
                    }
                };
                // A parameter the command line gave is kept whole.
                map.entry(k).or_insert(v);
            }
        }
        if op.name.contains("SecurityGroupIngress") || op.name.contains("SecurityGroupEgress") {
            let given = |k: &str| map.get(k).is_some_and(|v| v != &Value::Array(vec![]));
            if !given("IpPermissions") && !given("SecurityGroupRuleIds") {
                return Err(UsageError(
                    "one of --ip-permissions or --protocol (with --cidr or --source-group) is required"
                        .into(),
                ));
            }
        }
        if let Some(f) = op
            .fields()
            .iter()
            .find(|f| f.required && !map.contains_key(f.name))
        {
            let option = if op.name == "ImportSecurityGroups" {
                "<FILE>".to_owned()
            } else {
                kebab_option(f.name)
            };
            return Err(UsageError(format!(
                "the following arguments are required: {option} (or \"{}\" in --cli-input-json)",
                f.name
            )));
        }
        if let Some(Value::Array(items)) = map.remove("PrivateIpAddresses") {
            let addrs = input::private_addresses("--private-ip-addresses", items)?;
            map.insert("PrivateIpAddresses".into(), addrs);
        }
        map.insert("Action".into(), op.name.into());
        serde_json::from_value(Value::Object(map))
            .map_err(|e| UsageError(format!("invalid parameters for {}: {e}", op.name)))
    }
}

/// `GroupName` → `--group-name`.
fn kebab_option(name: &str) -> String {
    let mut out = String::from("-");
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

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
    /// The permission that `--protocol`, `--port` and `--cidr` or `--source-group` describe
    /// (the AWS CLI's simplified options), if `--protocol` is given.
    fn simplified(&self) -> Result<Option<IpPermission>, UsageError> {
        let Some(protocol) = &self.protocol else {
            return Ok(None);
        };
        let protocol = input::string("--protocol", protocol)?;
        let port = self
            .port
            .as_deref()
            .map(|p| input::string("--port", p))
            .transpose()?;
        // An unknown protocol goes to sgd as given; it answers InvalidPermission.Malformed.
        let proto = parse_protocol(&protocol).unwrap_or(PROTO_TCP);
        let (from_port, to_port) = parse_port(proto, port.as_deref())?;
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
            (Some(c), None) => {
                let c = input::string("--cidr", c)?;
                if c.contains(':') {
                    p.ipv6_ranges.push(Ipv6Range {
                        cidr_ipv6: c,
                        description: None,
                    });
                } else {
                    p.ip_ranges.push(IpRange {
                        cidr_ip: c,
                        description: None,
                    });
                }
            }
            (None, Some(g)) => p.user_id_group_pairs.push(UserIdGroupPair {
                group_id: Some(input::string("--source-group", g)?),
                ..Default::default()
            }),
            _ => {
                return Err(UsageError(
                    "exactly one of --cidr or --source-group is required".into(),
                ));
            }
        }
        Ok(Some(p))
    }

    fn params(&self, op: &str) -> Result<Params, UsageError> {
        let mut p = Params::new(op);
        p.string("--group-id", "GroupId", &self.group_id)?;
        p.string("--group-name", "GroupName", &self.group_name)?;
        p.list("--ip-permissions", "IpPermissions", &self.ip_permissions)?;
        if let Some(perm) = self.simplified()? {
            p.set(
                "IpPermissions",
                serde_json::to_value(vec![perm]).expect("serialises"),
            );
        }
        p.list(
            "--security-group-rule-ids",
            "SecurityGroupRuleIds",
            &self.security_group_rule_ids,
        )?;
        p.list(
            "--tag-specifications",
            "TagSpecifications",
            &self.tag_specifications,
        )?;
        Ok(p)
    }
}

impl DescriptionArgs {
    fn params(&self, op: &str) -> Result<Params, UsageError> {
        let mut p = Params::new(op);
        p.string("--group-id", "GroupId", &self.group_id)?;
        p.string("--group-name", "GroupName", &self.group_name)?;
        p.list("--ip-permissions", "IpPermissions", &self.ip_permissions)?;
        p.list(
            "--security-group-rule-descriptions",
            "SecurityGroupRuleDescriptions",
            &self.security_group_rule_descriptions,
        )?;
        Ok(p)
    }
}

impl ConntrackArgs {
    fn params(&self, op: &str) -> Result<Params, UsageError> {
        let mut p = Params::new(op);
        p.string(
            "--network-interface-id",
            "NetworkInterfaceId",
            &self.network_interface_id,
        )?;
        p.list("--filters", "Filters", &self.filters)?;
        Ok(p)
    }
}

impl Command {
    /// The request the command line describes (with `--cli-input-json`'s parameters, if
    /// given).
    pub fn to_request(&self, cli_input_json: Option<&str>) -> Result<Request, UsageError> {
        self.params()?.finish(cli_input_json)
    }

    /// The operation's parameters given as options.
    pub fn params(&self) -> Result<Params, UsageError> {
        const NI: &str = "--network-interface-id";
        const PL: &str = "--prefix-list-id";
        Ok(match self {
            Self::CreateSecurityGroup {
                group_name,
                description,
                vpc_id,
                tag_specifications,
                copy_from,
            } => {
                let mut p = Params::new("CreateSecurityGroup");
                p.string("--description", "Description", description)?;
                p.string("--group-name", "GroupName", group_name)?;
                p.string("--vpc-id", "VpcId", vpc_id)?;
                p.list(
                    "--tag-specifications",
                    "TagSpecifications",
                    tag_specifications,
                )?;
                p.string("--copy-from", "CopyFromGroupId", copy_from)?;
                p
            }
            Self::DeleteSecurityGroup {
                group_id,
                group_name,
            } => {
                let mut p = Params::new("DeleteSecurityGroup");
                p.string("--group-id", "GroupId", group_id)?;
                p.string("--group-name", "GroupName", group_name)?;
                p
            }
            Self::DescribeSecurityGroups {
                group_ids,
                group_names,
                filters,
            } => {
                let mut p = Params::new("DescribeSecurityGroups");
                p.list("--filters", "Filters", filters)?;
                p.list("--group-ids", "GroupIds", group_ids)?;
                p.list("--group-names", "GroupNames", group_names)?;
                p
            }
            Self::DescribeSecurityGroupRules {
                security_group_rule_ids,
                filters,
            } => {
                let mut p = Params::new("DescribeSecurityGroupRules");
                p.list("--filters", "Filters", filters)?;
                p.list(
                    "--security-group-rule-ids",
                    "SecurityGroupRuleIds",
                    security_group_rule_ids,
                )?;
                p
            }
            Self::AuthorizeSecurityGroupIngress(a) => a.params("AuthorizeSecurityGroupIngress")?,
            Self::AuthorizeSecurityGroupEgress(a) => a.params("AuthorizeSecurityGroupEgress")?,
            Self::RevokeSecurityGroupIngress(a) => a.params("RevokeSecurityGroupIngress")?,
            Self::RevokeSecurityGroupEgress(a) => a.params("RevokeSecurityGroupEgress")?,
            Self::ModifySecurityGroupRules {
                group_id,
                security_group_rules,
            } => {
                let mut p = Params::new("ModifySecurityGroupRules");
                p.string("--group-id", "GroupId", group_id)?;
                p.list(
                    "--security-group-rules",
                    "SecurityGroupRules",
                    security_group_rules,
                )?;
                p
            }
            Self::UpdateSecurityGroupRuleDescriptionsIngress(a) => {
                a.params("UpdateSecurityGroupRuleDescriptionsIngress")?
            }
            Self::UpdateSecurityGroupRuleDescriptionsEgress(a) => {
                a.params("UpdateSecurityGroupRuleDescriptionsEgress")?
            }
            Self::ModifyNetworkInterfaceAttribute {
                network_interface_id,
                groups,
                connection_tracking_specification,
                source_dest_check,
                no_source_dest_check,
                enforcement_mode,
            } => {
                let mut p = Params::new("ModifyNetworkInterfaceAttribute");
                p.string("--enforcement-mode", "EnforcementMode", enforcement_mode)?;
                p.structure(
                    "--connection-tracking-specification",
                    "ConnectionTrackingSpecification",
                    connection_tracking_specification,
                )?;
                p.string(NI, "NetworkInterfaceId", network_interface_id)?;
                if *source_dest_check || *no_source_dest_check {
                    p.set("SourceDestCheck", *source_dest_check);
                }
                if let Some(groups) = groups {
                    p.list("--groups", "Groups", groups)?;
                }
                p
            }
            Self::CreateNetworkInterface {
                network_interface_id,
                subnet_id,
                description,
                tag_specifications,
                attach_mode,
                private_ip_addresses,
                groups,
                no_source_dest_check,
            } => {
                let mut p = Params::new("CreateNetworkInterface");
                p.string(NI, "NetworkInterfaceId", network_interface_id)?;
                p.string("--subnet-id", "SubnetId", subnet_id)?;
                p.string("--description", "Description", description)?;
                p.list(
                    "--tag-specifications",
                    "TagSpecifications",
                    tag_specifications,
                )?;
                p.string("--attach-mode", "AttachMode", attach_mode)?;
                p.list("--groups", "Groups", groups)?;
                p.list(
                    "--private-ip-addresses",
                    "PrivateIpAddresses",
                    private_ip_addresses,
                )?;
                if *no_source_dest_check {
                    p.set("SourceDestCheck", false);
                }
                p
            }
            Self::DeleteNetworkInterface {
                network_interface_id,
            } => {
                let mut p = Params::new("DeleteNetworkInterface");
                p.string(NI, "NetworkInterfaceId", network_interface_id)?;
                p
            }
            Self::AssignPrivateIpAddresses {
                network_interface_id,
                private_ip_addresses,
            }
            | Self::UnassignPrivateIpAddresses {
                network_interface_id,
                private_ip_addresses,
            } => {
                let mut p = Params::new(if matches!(self, Self::AssignPrivateIpAddresses { .. }) {
                    "AssignPrivateIpAddresses"
                } else {
                    "UnassignPrivateIpAddresses"
                });
                p.string(NI, "NetworkInterfaceId", network_interface_id)?;
                p.list(
                    "--private-ip-addresses",
                    "PrivateIpAddresses",
                    private_ip_addresses,
                )?;
                p
            }
            Self::DescribeNetworkInterfaces {
                network_interface_ids,
                filters,
            } => {
                let mut p = Params::new("DescribeNetworkInterfaces");
                p.list(
                    "--network-interface-ids",
                    "NetworkInterfaceIds",
                    network_interface_ids,
                )?;
                p.list("--filters", "Filters", filters)?;
                p
            }
            Self::CreateVpc {
                cidr_block,
                amazon_provided_ipv6_cidr_block,
                no_amazon_provided_ipv6_cidr_block,
                classic,
                tag_specifications,
            } => {
                let mut p = Params::new("CreateVpc");
                p.string("--cidr-block", "CidrBlock", cidr_block)?;
                if *amazon_provided_ipv6_cidr_block || *no_amazon_provided_ipv6_cidr_block {
                    p.set(
                        "AmazonProvidedIpv6CidrBlock",
                        *amazon_provided_ipv6_cidr_block,
                    );
                }
                p.flag("Classic", *classic);
                p.list(
                    "--tag-specifications",
                    "TagSpecifications",
                    tag_specifications,
                )?;
                p
            }
            Self::DescribeVpcs { vpc_ids, filters } => {
                let mut p = Params::new("DescribeVpcs");
                p.list("--vpc-ids", "VpcIds", vpc_ids)?;
                p.list("--filters", "Filters", filters)?;
                p
            }
            Self::DeleteVpc { vpc_id } => {
                let mut p = Params::new("DeleteVpc");
                p.string("--vpc-id", "VpcId", vpc_id)?;
                p
            }
            Self::CreateDefaultVpc => Params::new("CreateDefaultVpc"),
            Self::CreateManagedPrefixList {
                prefix_list_name,
                max_entries,
                address_family,
                entries,
                tag_specifications,
            } => {
                let mut p = Params::new("CreateManagedPrefixList");
                p.string("--prefix-list-name", "PrefixListName", prefix_list_name)?;
                p.list("--entries", "Entries", entries)?;
                p.number("MaxEntries", *max_entries);
                p.list(
                    "--tag-specifications",
                    "TagSpecifications",
                    tag_specifications,
                )?;
                p.string("--address-family", "AddressFamily", address_family)?;
                p
            }
            Self::ModifyManagedPrefixList {
                prefix_list_id,
                current_version,
                prefix_list_name,
                max_entries,
                add_entries,
                remove_entries,
            } => {
                let mut p = Params::new("ModifyManagedPrefixList");
                p.string(PL, "PrefixListId", prefix_list_id)?;
                p.number("CurrentVersion", *current_version);
                p.string("--prefix-list-name", "PrefixListName", prefix_list_name)?;
                p.list("--add-entries", "AddEntries", add_entries)?;
                p.list("--remove-entries", "RemoveEntries", remove_entries)?;
                p.number("MaxEntries", *max_entries);
                p
            }
            Self::DeleteManagedPrefixList { prefix_list_id }
            | Self::GetManagedPrefixListEntries { prefix_list_id } => {
                let mut p = Params::new(if matches!(self, Self::DeleteManagedPrefixList { .. }) {
                    "DeleteManagedPrefixList"
                } else {
                    "GetManagedPrefixListEntries"
                });
                p.string(PL, "PrefixListId", prefix_list_id)?;
                p
            }
            Self::DescribeManagedPrefixLists {
                prefix_list_ids,
                filters,
            } => {
                let mut p = Params::new("DescribeManagedPrefixLists");
                p.list("--prefix-list-ids", "PrefixListIds", prefix_list_ids)?;
                p.list("--filters", "Filters", filters)?;
                p
            }
            Self::CreateFlowLogs {
                resource_type,
                resource_ids,
                traffic_type,
                log_destination_type,
                log_destination,
                log_format,
                max_aggregation_interval,
                tag_specifications,
            } => {
                let mut p = Params::new("CreateFlowLogs");
                p.list("--resource-ids", "ResourceIds", resource_ids)?;
                p.string("--resource-type", "ResourceType", resource_type)?;
                p.string("--traffic-type", "TrafficType", traffic_type)?;
                p.string(
                    "--log-destination-type",
                    "LogDestinationType",
                    log_destination_type,
                )?;
                p.string("--log-destination", "LogDestination", log_destination)?;
                p.string("--log-format", "LogFormat", log_format)?;
                p.number("MaxAggregationInterval", *max_aggregation_interval);
                p.list(
                    "--tag-specifications",
                    "TagSpecifications",
                    tag_specifications,
                )?;
                p
            }
            Self::DescribeFlowLogs {
                flow_log_ids,
                filter,
            } => {
                let mut p = Params::new("DescribeFlowLogs");
                p.list("--flow-log-ids", "FlowLogIds", flow_log_ids)?;
                p.list("--filter", "Filter", filter)?;
                p
            }
            Self::DeleteFlowLogs { flow_log_ids } => {
                let mut p = Params::new("DeleteFlowLogs");
                p.list("--flow-log-ids", "FlowLogIds", flow_log_ids)?;
                p
            }
            Self::CreateTags { resources, tags } | Self::DeleteTags { resources, tags } => {
                let mut p = Params::new(if matches!(self, Self::CreateTags { .. }) {
                    "CreateTags"
                } else {
                    "DeleteTags"
                });
                p.list("--resources", "Resources", resources)?;
                p.list("--tags", "Tags", tags)?;
                p
            }
            Self::DescribeTags { filters } => {
                let mut p = Params::new("DescribeTags");
                p.list("--filters", "Filters", filters)?;
                p
            }
            Self::GetMetrics { prefix } => {
                let mut p = Params::new("GetMetrics");
                p.string("--prefix", "Prefix", prefix)?;
                p
            }
            Self::CreateAccessKey { read_only } => {
                let mut p = Params::new("CreateAccessKey");
                p.flag("ReadOnly", *read_only);
                p
            }
            Self::ListAccessKeys => Params::new("ListAccessKeys"),
            Self::DescribeHosts => Params::new("DescribeHosts"),
            Self::SeedFleetStore => Params::new("SeedFleetStore"),
            Self::DeleteAccessKey { access_key_id } => {
                let mut p = Params::new("DeleteAccessKey");
                p.string("--access-key-id", "AccessKeyId", access_key_id)?;
                p
            }
            Self::Export {
                network_interface_id,
                format,
            } => {
                let mut p = Params::new("ExportInterfaceRules");
                p.string(NI, "NetworkInterfaceId", network_interface_id)?;
                p.string("--format", "Format", format)?;
                p
            }
            Self::Explain {
                network_interface_id,
                direction,
                protocol,
                peer,
                port,
                source_port,
                icmp_type,
                icmp_code,
                local_address,
            } => {
                let mut p = Params::new("Explain");
                p.string(NI, "NetworkInterfaceId", network_interface_id)?;
                p.string("--direction", "Direction", direction)?;
                p.string("--protocol", "Protocol", protocol)?;
                p.string("--peer", "Peer", peer)?;
                p.number("Port", *port);
                p.number("SourcePort", *source_port);
                p.number("IcmpType", *icmp_type);
                p.number("IcmpCode", *icmp_code);
                p.string("--local-address", "LocalAddress", local_address)?;
                p
            }
            Self::Observe {
                network_interface_id,
                verdict,
                filters,
            } => {
                let mut p = Params::new("Observe");
                p.string(NI, "NetworkInterfaceId", network_interface_id)?;
                p.string("--verdict", "Verdict", verdict)?;
                p.list("--filters", "Filters", filters)?;
                p
            }
            Self::DescribeConntrack(a) => a.params("DescribeConntrack")?,
            Self::FlushConntrack(a) => a.params("FlushConntrack")?,
            Self::Import { file } => {
                let mut p = Params::new("ImportSecurityGroups");
                if let Some(file) = file {
                    p.map = import_document(file)?;
                }
                p
            }
        })
    }
}

/// `sgctl import FILE`: the output of describe-security-groups, from a file or `-`.
fn import_document(file: &str) -> Result<Map<String, Value>, UsageError> {
    let text = if file == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| UsageError(format!("reading standard input: {e}")))?;
        s
    } else {
        let path = file.strip_prefix("file://").unwrap_or(file);
        std::fs::read_to_string(path).map_err(|e| UsageError(format!("cannot read {path}: {e}")))?
    };
    let not_output = |e: &dyn std::fmt::Display| {
        UsageError(format!(
            "{file} is not the output of describe-security-groups: {e}"
        ))
    };
    let doc: Value = serde_json::from_str(&text).map_err(|e| not_output(&e))?;
    let op = Operation::named("ImportSecurityGroups");
    match check(&op.input, doc, "input").map_err(|e| not_output(&e))? {
        Value::Object(map) => Ok(map),
        _ => unreachable!("a structure stays one"),
    }
}

#[cfg(test)]
mod tests;
