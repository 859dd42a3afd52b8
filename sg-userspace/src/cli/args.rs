//! The command line of `sgctl`: the clap definitions of the global options, every
//! subcommand and the argument groups they share, with the help text each prints.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::paths;

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
        /// The filters: Name=string,Values=string,string ... Names: network-interface-id,
        /// group-id, group-name, vpc-id, private-ip-address, owner-id.
        #[arg(long, num_args = 1..)]
        filters: Vec<String>,
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
        /// The filters: Name=string,Values=string,string ... Names: vpc-id, is-default,
        /// state, cidr, owner-id, tag:<key>, tag-key.
        #[arg(long, num_args = 1..)]
        filters: Vec<String>,
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
        /// The filters: Name=string,Values=string,string ... Names: prefix-list-id,
        /// prefix-list-name, owner-id, tag:<key>, tag-key.
        #[arg(long, num_args = 1..)]
        filters: Vec<String>,
    },
    /// Gets the entries of a managed prefix list.
    GetManagedPrefixListEntries {
        /// The ID of the prefix list.
        #[arg(long)]
        prefix_list_id: String,
    },
    /// Adds or overwrites tags on security groups, security group rules, managed prefix lists
    /// and VPCs: on every resource given, or on none. A resource can have 50 tags.
    CreateTags {
        /// The IDs of the resources (sg-..., sgr-..., pl-..., vpc-...).
        #[arg(long, num_args = 1.., required = true)]
        resources: Vec<String>,
        /// The tags: Key=string,Value=string ... or JSON. Keys: 1 to 128 characters, not
        /// starting with aws:; values: up to 256 characters, may be empty (Key=k,Value=).
        #[arg(long, num_args = 1.., required = true)]
        tags: Vec<String>,
    },
    /// Deletes tags from security groups, security group rules, managed prefix lists and VPCs.
    DeleteTags {
        /// The IDs of the resources (sg-..., sgr-..., pl-..., vpc-...).
        #[arg(long, num_args = 1.., required = true)]
        resources: Vec<String>,
        /// The tags to delete: Key=string[,Value=string] ... or JSON. A key alone deletes the
        /// tag whatever its value; with Value= the tag goes only if its value is empty.
        /// Without --tags, every tag not prefixed aws: is deleted.
        #[arg(long, num_args = 1..)]
        tags: Vec<String>,
    },
    /// Describes the tags of your security groups, rules, managed prefix lists and VPCs.
    DescribeTags {
        /// The filters: Name=string,Values=string,string ... Names: key, value, resource-id,
        /// resource-type (security-group | security-group-rule | prefix-list | vpc),
        /// tag:<key>. Values may use * and ?.
        #[arg(long, num_args = 1..)]
        filters: Vec<String>,
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
    /// Creates an access key for sgd's HTTP API (EC2 Query API): its secret is shown only
    /// here. Shaped as IAM's CreateAccessKey.
    CreateAccessKey {
        /// The key may only read: any change answers UnauthorizedOperation.
        #[arg(long)]
        read_only: bool,
    },
    /// Lists the HTTP API's access keys (never their secrets). Shaped as IAM's ListAccessKeys.
    ListAccessKeys,
    /// Deletes an access key of the HTTP API: requests signed with it are refused from now on.
    DeleteAccessKey {
        /// The ID of the access key.
        #[arg(long)]
        access_key_id: String,
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
