//! `sgctl`: operations named and shaped as the AWS CLI's `aws ec2` subcommands. Output is the
//! AWS response JSON; errors are printed as the AWS CLI prints them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

use crate::{
    api::{
        CreateSecurityGroup, DeleteSecurityGroup, DescribeNetworkInterfaces,
        DescribeSecurityGroups, IpPermission, IpRange, Ipv6Range, ModifyNetworkInterfaceAttribute,
        Permissions, Request, Response, UserIdGroupPair, client,
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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Creates a security group. A new group has no inbound rules and one outbound rule that
    /// allows all traffic to 0.0.0.0/0 and ::/0.
    CreateSecurityGroup {
        /// The name of the security group (up to 255 characters; a-z, A-Z, 0-9, spaces and
        /// ._-:/()#,@[]+=&;{}!$*; may not start with sg-).
        #[arg(long)]
        group_name: String,
        /// A description for the security group (same length and characters as the name).
        #[arg(long)]
        description: String,
        /// The ID of the VPC. Defaults to the default VPC.
        #[arg(long)]
        vpc_id: Option<String>,
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
    },
    /// Adds the specified inbound (ingress) rules to a security group.
    AuthorizeSecurityGroupIngress(PermissionArgs),
    /// Adds the specified outbound (egress) rules to a security group.
    AuthorizeSecurityGroupEgress(PermissionArgs),
    /// Removes the specified inbound (ingress) rules from a security group. The values must
    /// match an existing rule exactly.
    RevokeSecurityGroupIngress(PermissionArgs),
    /// Removes the specified outbound (egress) rules from a security group.
    RevokeSecurityGroupEgress(PermissionArgs),
    /// Modifies a network interface attribute. `--groups` replaces the interface's whole set
    /// of security groups; the interface is protected from then on.
    ModifyNetworkInterfaceAttribute {
        /// The ID of the network interface: its Linux name (e.g. eth0).
        #[arg(long)]
        network_interface_id: String,
        /// Changes the security groups for the network interface (1 to 5 group IDs).
        #[arg(long, num_args = 1.., required = true)]
        groups: Vec<String>,
    },
    /// Describes the protected network interfaces: groups, addresses, timeouts, counters.
    DescribeNetworkInterfaces {
        /// The network interface IDs (Linux names).
        #[arg(long, num_args = 1..)]
        network_interface_ids: Vec<String>,
    },
}

#[derive(Args, Debug)]
pub struct PermissionArgs {
    /// The ID of the security group.
    #[arg(long)]
    pub group_id: String,
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
    /// The ID of the security group whose members' addresses the rule matches.
    #[arg(long)]
    pub source_group: Option<String>,
    /// The sets of IP permissions, as JSON in the AWS shape (IpProtocol, FromPort, ToPort,
    /// IpRanges, Ipv6Ranges, UserIdGroupPairs, PrefixListIds), or file://path to read it
    /// from a file.
    #[arg(long, conflicts_with_all = ["protocol", "port", "cidr", "source_group"])]
    pub ip_permissions: Option<String>,
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
            let text = match text.strip_prefix("file://") {
                Some(path) => std::fs::read_to_string(path).map_err(|e| {
                    UsageError(format!(
                        "argument --ip-permissions: cannot read {path}: {e}"
                    ))
                })?,
                None => text.clone(),
            };
            let value: Value = serde_json::from_str(&text)
                .map_err(|e| UsageError(format!("argument --ip-permissions: invalid JSON: {e}")))?;
            // Accept one permission object as well as a list.
            let value = if value.is_object() {
                Value::Array(vec![value])
            } else {
                value
            };
            return serde_json::from_value(value)
                .map_err(|e| UsageError(format!("argument --ip-permissions: {e}")));
        }
        let Some(protocol) = &self.protocol else {
            return Err(UsageError(
                "one of --ip-permissions or --protocol (with --cidr or --source-group) is required"
                    .into(),
            ));
        };
        let proto = parse_protocol(protocol)
            .map_err(|e| UsageError(format!("argument --protocol: {}", e.message)))?;
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
            group_id: Some(self.group_id.clone()),
            ip_permissions: self.to_permissions()?,
        })
    }
}

impl Command {
    pub fn to_request(&self) -> Result<Request, UsageError> {
        Ok(match self {
            Self::CreateSecurityGroup {
                group_name,
                description,
                vpc_id,
            } => Request::CreateSecurityGroup(CreateSecurityGroup {
                group_name: Some(group_name.clone()),
                description: Some(description.clone()),
                vpc_id: vpc_id.clone(),
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
            } => Request::DescribeSecurityGroups(DescribeSecurityGroups {
                group_ids: group_ids.clone(),
                group_names: group_names.clone(),
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
            Self::ModifyNetworkInterfaceAttribute {
                network_interface_id,
                groups,
            } => Request::ModifyNetworkInterfaceAttribute(ModifyNetworkInterfaceAttribute {
                network_interface_id: Some(network_interface_id.clone()),
                groups: Some(groups.clone()),
            }),
            Self::DescribeNetworkInterfaces {
                network_interface_ids,
            } => Request::DescribeNetworkInterfaces(DescribeNetworkInterfaces {
                network_interface_ids: network_interface_ids.clone(),
            }),
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
        Ok(Response::Ok(v)) => {
            println!("{}", to_aws_json(&v));
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
