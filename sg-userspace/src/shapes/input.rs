//! The operations' inputs, as the AWS CLI accepts them and the EC2 Query decoder builds them.
//! Members AWS does not have (`Classic`, `AttachMode`, `CopyFromGroupId`) are sgd's own and
//! say so.

use serde::{Deserialize, Serialize};

use super::{IpPermission, Tag};

/// `Name=...,Values=...` of the describe operations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Filter {
    pub name: String,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TagSpecification {
    pub resource_type: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateSecurityGroup {
    pub group_name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
    /// "Copy to new" (SG-GRP-5): start with this group's rules instead of the default
    /// outbound rule. Not an EC2 API parameter (the console's action).
    #[serde(default)]
    pub copy_from_group_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeleteSecurityGroup {
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeSecurityGroups {
    #[serde(default)]
    pub group_ids: Vec<String>,
    #[serde(default)]
    pub group_names: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeSecurityGroupRules {
    #[serde(default)]
    pub security_group_rule_ids: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Permissions {
    pub group_id: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub ip_permissions: Vec<IpPermission>,
    /// Revoke only: the rules to remove, by id.
    #[serde(default)]
    pub security_group_rule_ids: Vec<String>,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
}

/// The new definition of a rule in `ModifySecurityGroupRules`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SecurityGroupRuleRequest {
    pub ip_protocol: Option<String>,
    #[serde(default)]
    pub from_port: Option<i32>,
    #[serde(default)]
    pub to_port: Option<i32>,
    #[serde(default)]
    pub cidr_ipv4: Option<String>,
    #[serde(default)]
    pub cidr_ipv6: Option<String>,
    #[serde(default)]
    pub prefix_list_id: Option<String>,
    #[serde(default)]
    pub referenced_group_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SecurityGroupRuleUpdate {
    pub security_group_rule_id: Option<String>,
    pub security_group_rule: Option<SecurityGroupRuleRequest>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ModifySecurityGroupRules {
    pub group_id: Option<String>,
    #[serde(default)]
    pub security_group_rules: Vec<SecurityGroupRuleUpdate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RuleDescription {
    pub security_group_rule_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UpdateDescriptions {
    pub group_id: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub ip_permissions: Vec<IpPermission>,
    #[serde(default)]
    pub security_group_rule_descriptions: Vec<RuleDescription>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ConnectionTrackingSpecification {
    #[serde(default)]
    pub tcp_established_timeout: Option<i64>,
    #[serde(default)]
    pub udp_stream_timeout: Option<i64>,
    #[serde(default)]
    pub udp_timeout: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ModifyNetworkInterfaceAttribute {
    pub network_interface_id: Option<String>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    #[serde(default)]
    pub connection_tracking_specification: Option<ConnectionTrackingSpecification>,
    #[serde(default)]
    pub source_dest_check: Option<bool>,
    /// `enforce` or `audit` (sgd's own, not an EC2 parameter): in audit mode what the groups
    /// refuse passes and is counted.
    #[serde(default)]
    pub enforcement_mode: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateNetworkInterface {
    /// The Linux device to protect. Not an EC2 API parameter: EC2 clients name the device
    /// with the tag `sgd:device` (see `model::ops::DEVICE_TAG`).
    #[serde(default)]
    pub network_interface_id: Option<String>,
    /// `instance` or `host`; by default `host` when private addresses are declared and
    /// `instance` otherwise. Not an EC2 API parameter.
    #[serde(default)]
    pub attach_mode: Option<String>,
    #[serde(default)]
    pub private_ip_addresses: Vec<String>,
    /// The groups; none means the VPC's `default` group, as on EC2.
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub source_dest_check: Option<bool>,
    /// The subnet, which names the VPC: each VPC has one, `subnet-` and the VPC id's digits.
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NetworkInterfaceIdRequest {
    pub network_interface_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PrivateAddresses {
    pub network_interface_id: Option<String>,
    #[serde(default)]
    pub private_ip_addresses: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeNetworkInterfaces {
    #[serde(default)]
    pub network_interface_ids: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateVpc {
    pub cidr_block: Option<String>,
    /// A /56 IPv6 block for the VPC, from sgd's pool (`model::vpcs::IPV6_POOL`); its new
    /// groups then get outbound `::/0` too.
    #[serde(default)]
    pub amazon_provided_ipv6_cidr_block: bool,
    /// EC2-Classic semantics for the VPC's groups (SG-CLASSIC). Not an EC2 API parameter.
    #[serde(default)]
    pub classic: bool,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeVpcs {
    #[serde(default)]
    pub vpc_ids: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeleteVpc {
    pub vpc_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PrefixListEntryIn {
    pub cidr: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateManagedPrefixList {
    pub prefix_list_name: Option<String>,
    pub max_entries: Option<u32>,
    pub address_family: Option<String>,
    #[serde(default)]
    pub entries: Vec<PrefixListEntryIn>,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ModifyManagedPrefixList {
    pub prefix_list_id: Option<String>,
    #[serde(default)]
    pub current_version: Option<u64>,
    #[serde(default)]
    pub prefix_list_name: Option<String>,
    #[serde(default)]
    pub max_entries: Option<u32>,
    #[serde(default)]
    pub add_entries: Vec<PrefixListEntryIn>,
    #[serde(default)]
    pub remove_entries: Vec<PrefixListEntryIn>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PrefixListIdRequest {
    pub prefix_list_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeManagedPrefixLists {
    #[serde(default)]
    pub prefix_list_ids: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
}

/// `CreateFlowLogs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateFlowLogs {
    #[serde(default)]
    pub resource_ids: Vec<String>,
    pub resource_type: Option<String>,
    #[serde(default)]
    pub traffic_type: Option<String>,
    #[serde(default)]
    pub log_destination_type: Option<String>,
    #[serde(default)]
    pub log_destination: Option<String>,
    #[serde(default)]
    pub log_format: Option<String>,
    #[serde(default)]
    pub max_aggregation_interval: Option<i64>,
    /// CloudWatch Logs' and cross-account delivery's: refused here (there is no such
    /// destination), never silently ignored.
    #[serde(default)]
    pub log_group_name: Option<String>,
    #[serde(default)]
    pub deliver_logs_permission_arn: Option<String>,
    #[serde(default)]
    pub deliver_cross_account_role: Option<String>,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
    #[serde(default)]
    pub client_token: Option<String>,
}

/// `DescribeFlowLogs` (its filters are `Filter`, singular, in EC2's API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeFlowLogs {
    #[serde(default)]
    pub flow_log_ids: Vec<String>,
    #[serde(default, alias = "Filters")]
    pub filter: Vec<Filter>,
}

/// `DeleteFlowLogs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeleteFlowLogs {
    #[serde(default)]
    pub flow_log_ids: Vec<String>,
}

/// `CreateTags`: adds or overwrites tags on security groups (`sg-`), rules (`sgr-`), managed
/// prefix lists (`pl-`) and VPCs (`vpc-`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateTags {
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A tag to delete: without a value it goes whatever its value; with one (even `""`), only
/// if its value is that.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TagToDelete {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `DeleteTags`: no `Tags` at all deletes every tag not prefixed `aws:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeleteTags {
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub tags: Vec<TagToDelete>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeTags {
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// 5..=1000 items per page; all of them when absent.
    #[serde(default)]
    pub max_results: Option<i64>,
    /// The `NextToken` of the previous page.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// `sgctl export`: an interface's effective rules in another firewall's language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ExportRequest {
    pub network_interface_id: Option<String>,
    /// `nft` (the only format).
    #[serde(default)]
    pub format: Option<String>,
}

/// `sgctl get-metrics`: the counters in the Prometheus text format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GetMetrics {
    /// Only the metric families whose names start with this (`sg_store_`); the others are
    /// not even read, so a poller of a few gauges does not pay for every rule's counters.
    #[serde(default)]
    pub prefix: Option<String>,
}

/// `sgctl explain`: the verdict on one packet at an interface, and why. sgd's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ExplainRequest {
    pub network_interface_id: String,
    /// `ingress` (to the instance) or `egress` (from it).
    pub direction: String,
    /// tcp, udp, icmp, icmpv6 or a protocol number.
    pub protocol: String,
    /// The address on the other side: the source of ingress traffic, the destination of
    /// egress traffic.
    pub peer: String,
    /// TCP/UDP: the destination port.
    #[serde(default)]
    pub port: Option<i32>,
    /// TCP/UDP: the source port. Given, the tracked flow of exactly this packet is looked
    /// up; else the packet is judged as the first of a new flow.
    #[serde(default)]
    pub source_port: Option<i32>,
    /// ICMP/ICMPv6 type and code (default: echo request, code 0).
    #[serde(default)]
    pub icmp_type: Option<i32>,
    #[serde(default)]
    pub icmp_code: Option<i32>,
    /// The instance's address (default: its first private address of the peer's family).
    #[serde(default)]
    pub local_address: Option<String>,
}

/// A request without parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// `sgctl create-access-key`: a new key for the HTTP API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateAccessKey {
    /// The key may only read (not an IAM parameter: IAM would attach a policy).
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeleteAccessKey {
    pub access_key_id: Option<String>,
}

/// Which tracked flows `describe-conntrack` and `flush-conntrack` select.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ConntrackQuery {
    #[serde(default)]
    pub network_interface_id: Option<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
}

/// `sgctl observe`: the decisions to stream (sgd's own, over the Unix socket only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ObserveRequest {
    /// Only this interface (default: every interface of this host).
    #[serde(default)]
    pub network_interface_id: Option<String>,
    /// `ACCEPT` or `REJECT` only.
    #[serde(default)]
    pub verdict: Option<String>,
    /// Names: protocol, direction, source-address, destination-address, source-port,
    /// destination-port, reason.
    #[serde(default)]
    pub filters: Vec<Filter>,
}

/// `sgctl import`: the output of `aws ec2 describe-security-groups`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportSecurityGroups {
    pub security_groups: Vec<ImportedGroup>,
}

/// A group as `describe-security-groups` prints it; fields we do not model are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportedGroup {
    pub group_id: String,
    pub group_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub ip_permissions: Vec<IpPermission>,
    #[serde(default)]
    pub ip_permissions_egress: Vec<IpPermission>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub security_group_arn: Option<String>,
}
