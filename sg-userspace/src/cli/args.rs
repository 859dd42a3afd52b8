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
    /// The formatting style for command output (default json; for observe, one line of text
    /// per decision).
    #[arg(long, global = true, value_enum)]
    pub output: Option<Output>,
    /// Reads the operation's parameters from a JSON object (or file://path holding one)
    /// whose members are the API's names, as --generate-cli-skeleton prints them. Options
    /// given on the command line win over the same parameter here.
    #[arg(long, global = true, value_name = "JSON")]
    pub cli_input_json: Option<String>,
    /// Prints a JSON skeleton of every parameter of the operation (for --cli-input-json)
    /// and exits without calling sgd.
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "input",
          value_parser = ["input"])]
    pub generate_cli_skeleton: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// With either, the options that are otherwise required may be left out.
const INPUT: [&str; 2] = ["cli_input_json", "generate_cli_skeleton"];
/// `--group-id`, unless `--group-name` or one of `INPUT` is given.
const GROUP: [&str; 3] = ["group_name", "cli_input_json", "generate_cli_skeleton"];

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
        #[arg(long, required_unless_present_any = INPUT)]
        group_name: Option<String>,
        /// A description for the security group (same constraints as the name).
        #[arg(long, required_unless_present_any = INPUT)]
        description: Option<String>,
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
        #[arg(long, required_unless_present_any = GROUP)]
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
        /// vpc-id, description, owner-id, tag:<key>, tag-key, and of the rules
        /// ip-permission.{protocol,from-port,to-port,cidr,ipv6-cidr,prefix-list-id,group-id,
        /// group-name,user-id} (egress.ip-permission.* for outbound). Values may use * and ?.
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
        #[arg(long, required_unless_present_any = INPUT)]
        group_id: Option<String>,
        /// Information about the security group properties to update:
        /// SecurityGroupRuleId=string,SecurityGroupRule={IpProtocol=string,FromPort=integer,
        /// ToPort=integer,CidrIpv4=string,CidrIpv6=string,PrefixListId=string,
        /// ReferencedGroupId=string,Description=string} ... or JSON.
        #[arg(long, num_args = 1.., required_unless_present_any = INPUT)]
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
        #[arg(long, required_unless_present_any = INPUT)]
        network_interface_id: Option<String>,
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
        /// enforce (the default) or audit: the groups are evaluated and flows tracked alike,
        /// but in audit mode what they refuse passes, counted as audit_passed. Switching is
        /// atomic and keeps tracked flows. Not an AWS CLI option.
        #[arg(long)]
        enforcement_mode: Option<String>,
    },
    /// Protects a network interface. In host mode the interface is the host side of an
    /// instance's veth or tap: directions are the instance's, and its private addresses are
    /// declared here (they are what group references match and what the source/destination
    /// check allows). Not every option is the AWS CLI's: --attach-mode is ours.
    CreateNetworkInterface {
        /// The Linux name of the interface (or, as EC2 clients name it, the tag sgd:device).
        #[arg(long)]
        network_interface_id: Option<String>,
        /// The subnet, which names the VPC: sgd models one per VPC, subnet- followed by the
        /// VPC id's digits. Defaults to the VPC of the groups, or the default VPC.
        #[arg(long)]
        subnet_id: Option<String>,
        /// A description for the network interface.
        #[arg(long)]
        description: Option<String>,
        /// ResourceType=network-interface,Tags=[{Key=sgd:device,Value=DEVICE}] or JSON: the
        /// device to protect, as EC2 clients name it (interfaces keep no other tags).
        #[arg(long, num_args = 1..)]
        tag_specifications: Vec<String>,
        /// instance (the default: the firewall runs on the instance; addresses read from the
        /// device) or host (the firewall runs on the host side of the instance's veth/tap).
        #[arg(long)]
        attach_mode: Option<String>,
        /// [Host mode] The instance's private IPv4 and IPv6 addresses: plain addresses, or
        /// PrivateIpAddress=string,Primary=boolean ... (the primary one first), or JSON.
        #[arg(long, num_args = 1..)]
        private_ip_addresses: Vec<String>,
        /// The IDs of the security groups (1 to 5); the VPC's default group if none.
        #[arg(long, num_args = 1..)]
        groups: Vec<String>,
        /// [Host mode] Turn the source/destination check off.
        #[arg(long)]
        no_source_dest_check: bool,
    },
    /// Stops protecting a network interface and forgets it.
    DeleteNetworkInterface {
        /// The Linux name of the interface.
        #[arg(long, required_unless_present_any = INPUT)]
        network_interface_id: Option<String>,
    },
    /// [Host mode] Assigns more private addresses to an instance's interface.
    AssignPrivateIpAddresses {
        /// The Linux name of the interface.
        #[arg(long, required_unless_present_any = INPUT)]
        network_interface_id: Option<String>,
        /// The addresses (or PrivateIpAddress=string ... or JSON).
        #[arg(long, num_args = 1.., required_unless_present_any = INPUT)]
        private_ip_addresses: Vec<String>,
    },
    /// [Host mode] Removes private addresses from an instance's interface.
    UnassignPrivateIpAddresses {
        /// The Linux name of the interface.
        #[arg(long, required_unless_present_any = INPUT)]
        network_interface_id: Option<String>,
        /// The addresses (or PrivateIpAddress=string ... or JSON).
        #[arg(long, num_args = 1.., required_unless_present_any = INPUT)]
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
        #[arg(long, required_unless_present_any = INPUT)]
        cidr_block: Option<String>,
        /// Give the VPC a /56 IPv6 block (from sgd's ULA pool): its new security groups then
        /// allow all outbound IPv6 (::/0) too.
        #[arg(long, conflicts_with = "no_amazon_provided_ipv6_cidr_block")]
        amazon_provided_ipv6_cidr_block: bool,
        /// No IPv6 block (the default).
        #[arg(long)]
        no_amazon_provided_ipv6_cidr_block: bool,
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
        /// state, cidr, cidr-block-association.cidr-block,
        /// cidr-block-association.association-id, cidr-block-association.state,
        /// ipv6-cidr-block-association.ipv6-cidr-block,
        /// ipv6-cidr-block-association.association-id, ipv6-cidr-block-association.state,
        /// ipv6-cidr-block-association.ipv6-pool, dhcp-options-id, owner-id, tag:<key>,
        /// tag-key.
        #[arg(long, num_args = 1..)]
        filters: Vec<String>,
    },
    /// Deletes a VPC: it must hold no security group but its default group (deleted with
    /// it) and no network interface. The default VPC can be deleted too.
    DeleteVpc {
        /// The ID of the VPC.
        #[arg(long, required_unless_present_any = INPUT)]
        vpc_id: Option<String>,
    },
    /// Creates a default VPC (172.31.0.0/16) with its default security group, when there is
    /// none.
    CreateDefaultVpc,
    /// Creates a managed prefix list: a set of CIDR blocks that rules can reference.
    CreateManagedPrefixList {
        /// A name for the prefix list (cannot start with com.amazonaws).
        #[arg(long, required_unless_present_any = INPUT)]
        prefix_list_name: Option<String>,
        /// The maximum number of entries (1-1000); a rule referencing the list counts this many
        /// rules against the group's quota.
        #[arg(long, required_unless_present_any = INPUT)]
        max_entries: Option<u32>,
        /// The IP address type: IPv4 | IPv6.
        #[arg(long, required_unless_present_any = INPUT)]
        address_family: Option<String>,
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
        #[arg(long, required_unless_present_any = INPUT)]
        prefix_list_id: Option<String>,
        /// The current version of the prefix list (the change fails if it has moved on).
        #[arg(long)]
        current_version: Option<u64>,
        /// A new name.
        #[arg(long)]
        prefix_list_name: Option<String>,
        /// A new maximum number of entries.
        #[arg(long)]
        max_entries: Option<u32>,
        /// Entries to add: Cidr=string,Description=string ... or JSON.
        #[arg(long, num_args = 1..)]
        add_entries: Vec<String>,
        /// Entries to remove: Cidr=string ... or JSON.
        #[arg(long, num_args = 1..)]
        remove_entries: Vec<String>,
    },
    /// Deletes a managed prefix list that no rule references.
    DeleteManagedPrefixList {
        /// The ID of the prefix list.
        #[arg(long, required_unless_present_any = INPUT)]
        prefix_list_id: Option<String>,
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
        #[arg(long, required_unless_present_any = INPUT)]
        prefix_list_id: Option<String>,
    },
    /// Creates a flow log for each resource: the flows its interfaces accept and reject,
    /// written to a file in the VPC Flow Logs format, one record per flow and capture window.
    CreateFlowLogs {
        /// VPC | NetworkInterface | SecurityGroup (every interface the group is in force on).
        #[arg(long, required_unless_present_any = INPUT)]
        resource_type: Option<String>,
        /// The IDs of the resources (one flow log each).
        #[arg(long, num_args = 1.., required_unless_present_any = INPUT)]
        resource_ids: Vec<String>,
        /// ACCEPT | REJECT | ALL.
        #[arg(long, required_unless_present_any = INPUT)]
        traffic_type: Option<String>,
        /// file (the only destination here).
        #[arg(long, required_unless_present_any = INPUT)]
        log_destination_type: Option<String>,
        /// The file, an absolute path on each host (rotated by size: PATH.1, PATH.2, ...).
        #[arg(long, required_unless_present_any = INPUT)]
        log_destination: Option<String>,
        /// The fields of a record: '${version} ${account-id} ...' (default: AWS's version 2
        /// format).
        #[arg(long)]
        log_format: Option<String>,
        /// The longest capture window, seconds: 60 | 600 (default 600).
        #[arg(long)]
        max_aggregation_interval: Option<i64>,
        /// ResourceType=vpc-flow-log,Tags=[{Key=string,Value=string},...] or JSON.
        #[arg(long, num_args = 1..)]
        tag_specifications: Vec<String>,
    },
    /// Describes flow logs.
    DescribeFlowLogs {
        /// The IDs of the flow logs.
        #[arg(long, num_args = 1..)]
        flow_log_ids: Vec<String>,
        /// The filters: Name=string,Values=string,string ... Names: deliver-log-status,
        /// log-destination-type, flow-log-id, log-group-name, resource-id, traffic-type,
        /// tag:<key>, tag-key.
        #[arg(long, num_args = 1..)]
        filter: Vec<String>,
    },
    /// Deletes flow logs (the window each has open is written first).
    DeleteFlowLogs {
        /// The IDs of the flow logs.
        #[arg(long, num_args = 1.., required_unless_present_any = INPUT)]
        flow_log_ids: Vec<String>,
    },
    /// Adds or overwrites tags on security groups, security group rules, managed prefix lists
    /// and VPCs: on every resource given, or on none. A resource can have 50 tags.
    CreateTags {
        /// The IDs of the resources (sg-..., sgr-..., pl-..., vpc-...).
        #[arg(long, num_args = 1.., required_unless_present_any = INPUT)]
        resources: Vec<String>,
        /// The tags: Key=string,Value=string ... or JSON. Keys: 1 to 128 characters, not
        /// starting with aws:; values: up to 256 characters, may be empty (Key=k,Value=).
        #[arg(long, num_args = 1.., required_unless_present_any = INPUT)]
        tags: Vec<String>,
    },
    /// Deletes tags from security groups, security group rules, managed prefix lists and VPCs.
    DeleteTags {
        /// The IDs of the resources (sg-..., sgr-..., pl-..., vpc-...).
        #[arg(long, num_args = 1.., required_unless_present_any = INPUT)]
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
        #[arg(long, required_unless_present_any = INPUT)]
        network_interface_id: Option<String>,
        /// The output format: nft (the default and only one).
        #[arg(long)]
        format: Option<String>,
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
    /// In a fleet (sgd --store): the hosts, whether each is live, and the revision of the
    /// shared state each has applied.
    DescribeHosts,
    /// In a fleet whose etcd lost its data: writes this host's copy of the shared state into
    /// the empty store (run it on the host whose copy is the most recent). Refused if the
    /// store holds a state.
    SeedFleetStore,
    /// Deletes an access key of the HTTP API: requests signed with it are refused from now on.
    DeleteAccessKey {
        /// The ID of the access key.
        #[arg(long, required_unless_present_any = INPUT)]
        access_key_id: Option<String>,
    },
    /// Prints the datapath's counters in the Prometheus text format (also served by
    /// `sgd --metrics-listen`). Not an AWS CLI operation.
    GetMetrics {
        /// Only the metric families whose names start with this (e.g. sg_store_).
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Lists tracked flows: interface, protocol, addresses and ports (ICMP echo: the
    /// identifier as LocalPort), the direction that opened the flow, state, packets, bytes and
    /// seconds until it expires. Not an AWS CLI operation.
    DescribeConntrack(ConntrackArgs),
    /// Removes tracked flows (all, or those selected): their next packets are judged by the
    /// rules again. An administrator's tool; not an AWS CLI operation.
    FlushConntrack(ConntrackArgs),
    /// Explains the verdict on one packet at an interface: ACCEPT or REJECT, the rules that
    /// admit it or the reason it is refused, from the reference evaluator and from a test run
    /// of the packet through the kernel's installed maps (their disagreement is a bug: sgctl
    /// then exits with status 1). The packet is the first of a new flow unless
    /// --source-port names an existing one. Not an AWS CLI operation.
    Explain {
        /// The interface.
        #[arg(long, required_unless_present_any = INPUT)]
        network_interface_id: Option<String>,
        /// ingress (to the instance) or egress (from it).
        #[arg(long, required_unless_present_any = INPUT)]
        direction: Option<String>,
        /// tcp, udp, icmp, icmpv6 or a protocol number.
        #[arg(long, required_unless_present_any = INPUT)]
        protocol: Option<String>,
        /// The address on the other side (the source of ingress, the destination of egress).
        #[arg(long, required_unless_present_any = INPUT)]
        peer: Option<String>,
        /// TCP/UDP: the destination port.
        #[arg(long)]
        port: Option<i32>,
        /// TCP/UDP: the source port; given, the tracked flow of exactly this packet counts.
        #[arg(long)]
        source_port: Option<i32>,
        /// ICMP/ICMPv6: the type (default: echo request).
        #[arg(long)]
        icmp_type: Option<i32>,
        /// ICMP/ICMPv6: the code (default 0).
        #[arg(long)]
        icmp_code: Option<i32>,
        /// The instance's address (default: its first private address of the peer's family).
        #[arg(long)]
        local_address: Option<String>,
    },
    /// Streams the firewall's decisions as they happen, one line each (--output json: one JSON
    /// object each): every flow the rules admit or refuse, when it first appears and then at
    /// most once a second while it lasts, with its packets and bytes so far. Established
    /// flows' packets are not decisions. Stops on Ctrl-C; costs nothing while no one watches.
    /// Not an AWS CLI operation.
    Observe {
        /// Only this interface (default: every interface of this host).
        #[arg(long)]
        network_interface_id: Option<String>,
        /// ACCEPT or REJECT only.
        #[arg(long)]
        verdict: Option<String>,
        /// Name=string,Values=string,... Names: protocol, direction, source-address,
        /// destination-address, source-port, destination-port, reason.
        #[arg(long, num_args = 1..)]
        filters: Vec<String>,
    },
    /// Imports security groups from the JSON that `aws ec2 describe-security-groups` prints
    /// (group IDs, names, descriptions, VPCs, rules and tags are kept). Not an AWS CLI
    /// operation.
    Import {
        /// The file to read (`-` for standard input, `file://path` accepted).
        #[arg(required_unless_present_any = INPUT)]
        file: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct PermissionArgs {
    /// The ID of the security group.
    #[arg(long, required_unless_present_any = GROUP)]
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
    /// The sets of IP permissions: IpProtocol=string,FromPort=integer,ToPort=integer,
    /// IpRanges=[{CidrIp=string,Description=string}],Ipv6Ranges=[{CidrIpv6=string,...}],
    /// UserIdGroupPairs=[{GroupId=string,...}],PrefixListIds=[{PrefixListId=string,...}] ...
    /// or JSON (a list or one object), or file://path holding either.
    #[arg(long, num_args = 1.., conflicts_with_all = ["protocol", "port", "cidr", "source_group"])]
    pub ip_permissions: Vec<String>,
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
    #[arg(long, required_unless_present_any = GROUP)]
    pub group_id: Option<String>,
    /// [Default VPC] The name of the security group.
    #[arg(long)]
    pub group_name: Option<String>,
    /// The IP permissions whose descriptions to set (shorthand or JSON as for
    /// authorize-security-group-ingress, or file://path); each must match an existing rule,
    /// its Description fields are the new descriptions.
    #[arg(long, num_args = 1..)]
    pub ip_permissions: Vec<String>,
    /// The rules by ID: SecurityGroupRuleId=string,Description=string ... or JSON.
    #[arg(long, num_args = 1..)]
    pub security_group_rule_descriptions: Vec<String>,
}
