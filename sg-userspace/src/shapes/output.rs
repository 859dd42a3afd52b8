//! The operations' outputs, one struct per output shape of botocore's EC2 model (its name
//! with `Result`), with AWS's member names; members AWS does not have are sgd's own and say
//! so. A member that is `None` is left out of both wires; a list is always written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{IpPermission, Tag};

/// Declares [`Output`], one variant per output shape, and `From` each shape.
macro_rules! outputs {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        /// An operation's output: one of the shapes below, or nothing (the operations without
        /// an output shape, which the AWS CLI answers with no output).
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Output {
            None,
            $($variant($ty),)*
        }

        $(impl From<$ty> for Output {
            fn from(v: $ty) -> Self {
                Self::$variant(v)
            }
        })*
    };
}

outputs! {
    Return(ReturnResult),
    CreateSecurityGroup(CreateSecurityGroupResult),
    DeleteSecurityGroup(DeleteSecurityGroupResult),
    SecurityGroups(DescribeSecurityGroupsResult),
    SecurityGroupRules(DescribeSecurityGroupRulesResult),
    Authorize(AuthorizeSecurityGroupResult),
    Import(ImportSecurityGroupsResult),
    Vpc(VpcResult),
    Vpcs(DescribeVpcsResult),
    PrefixList(PrefixListResult),
    PrefixLists(DescribeManagedPrefixListsResult),
    Entries(GetManagedPrefixListEntriesResult),
    Tags(DescribeTagsResult),
    NetworkInterface(CreateNetworkInterfaceResult),
    NetworkInterfaces(DescribeNetworkInterfacesResult),
    AssignedAddresses(AssignPrivateIpAddressesResult),
    Export(ExportInterfaceRulesResult),
    Conntrack(DescribeConntrackResult),
    Flushed(FlushConntrackResult),
    Metrics(GetMetricsResult),
    AccessKey(CreateAccessKeyResult),
    AccessKeys(ListAccessKeysResult),
    Hosts(DescribeHostsResult),
    Seeded(SeedFleetStoreResult),
    Explained(Box<ExplainResult>),
    FlowLogsCreated(CreateFlowLogsResult),
    FlowLogsDeleted(DeleteFlowLogsResult),
    FlowLogs(DescribeFlowLogsResult),
}

impl Output {
    /// The output as the Unix socket carries it.
    pub fn to_json(&self) -> serde_json::Value {
        // Every output is plain data with string keys: this cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The list a describe's pages are cut from, if this output is a describe's.
    pub fn pages(&mut self) -> Option<&mut dyn Paged> {
        match self {
            Self::SecurityGroups(o) => Some(o),
            Self::SecurityGroupRules(o) => Some(o),
            Self::Vpcs(o) => Some(o),
            Self::PrefixLists(o) => Some(o),
            Self::Entries(o) => Some(o),
            Self::NetworkInterfaces(o) => Some(o),
            Self::FlowLogs(o) => Some(o),
            _ => None,
        }
    }
}

/// A describe's output that can be cut into pages (`MaxResults`, `NextToken`).
pub trait Paged {
    /// How many items the whole answer has.
    fn count(&self) -> usize;
    /// Keeps the items `start..end` only.
    fn keep(&mut self, start: usize, end: usize);
    /// The token of the next page (none on the last page).
    fn set_next_token(&mut self, token: Option<String>);
}

macro_rules! paged {
    ($($ty:ty => $list:ident),* $(,)?) => {
        $(impl Paged for $ty {
            fn count(&self) -> usize {
                self.$list.len()
            }
            fn keep(&mut self, start: usize, end: usize) {
                self.$list.truncate(end);
                self.$list.drain(..start.min(end));
            }
            fn set_next_token(&mut self, token: Option<String>) {
                self.next_token = token;
            }
        })*
    };
}

paged! {
    DescribeSecurityGroupsResult => security_groups,
    DescribeSecurityGroupRulesResult => security_group_rules,
    DescribeVpcsResult => vpcs,
    DescribeManagedPrefixListsResult => prefix_lists,
    GetManagedPrefixListEntriesResult => entries,
    DescribeNetworkInterfacesResult => network_interfaces,
    DescribeFlowLogsResult => flow_logs,
}

/// `{"Return": true}`: `RevokeSecurityGroupIngress`/`Egress`, `ModifySecurityGroupRules`,
/// `UpdateSecurityGroupRuleDescriptionsIngress`/`Egress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReturnResult {
    pub r#return: bool,
}

impl ReturnResult {
    pub const TRUE: Self = Self { r#return: true };
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSecurityGroupResult {
    pub group_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    pub security_group_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSecurityGroupResult {
    pub r#return: bool,
    pub group_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSecurityGroupsResult {
    pub security_groups: Vec<SecurityGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSecurityGroupRulesResult {
    pub security_group_rules: Vec<SecurityGroupRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// `AuthorizeSecurityGroupIngress`/`Egress`: the rules added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizeSecurityGroupResult {
    pub r#return: bool,
    pub security_group_rules: Vec<SecurityGroupRule>,
}

/// sgd's own `import-security-groups`: the groups imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportSecurityGroupsResult {
    pub r#return: bool,
    pub group_ids: Vec<String>,
}

/// A counter pair and the time of the last packet (RFC 3339), if any: sgd's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HitCounters {
    pub packets: u64,
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_hit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityGroup {
    pub description: String,
    pub group_name: String,
    pub ip_permissions: Vec<IpPermission>,
    pub owner_id: String,
    pub group_id: String,
    pub ip_permissions_egress: Vec<IpPermission>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    pub vpc_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReferencedGroupInfo {
    pub group_id: String,
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityGroupRule {
    pub security_group_rule_id: String,
    pub group_id: String,
    pub group_owner_id: String,
    pub is_egress: bool,
    pub ip_protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_ipv4: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_ipv6: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_list_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_group_info: Option<ReferencedGroupInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group_rule_arn: Option<String>,
    /// sgd's own: the rule's counters summed over the interfaces it protects (SG-ENF-12),
    /// in `describe-security-group-rules`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<HitCounters>,
}

/// `CreateVpc`, `CreateDefaultVpc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VpcResult {
    /// Boxed, as [`CreateNetworkInterfaceResult`]'s interface.
    pub vpc: Box<Vpc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeVpcsResult {
    pub vpcs: Vec<Vpc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// botocore's `Vpc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Vpc {
    pub cidr_block: String,
    pub dhcp_options_id: String,
    pub state: String,
    pub vpc_id: String,
    pub owner_id: String,
    pub instance_tenancy: String,
    pub ipv6_cidr_block_association_set: Vec<VpcIpv6CidrBlockAssociation>,
    pub cidr_block_association_set: Vec<VpcCidrBlockAssociation>,
    pub is_default: bool,
    pub tags: Vec<Tag>,
    /// sgd's own: EC2-Classic semantics for the VPC's groups (SG-CLASSIC).
    pub classic: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VpcCidrBlockAssociation {
    pub association_id: String,
    pub cidr_block: String,
    pub cidr_block_state: CidrBlockState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VpcIpv6CidrBlockAssociation {
    pub association_id: String,
    pub ipv6_cidr_block: String,
    pub ipv6_cidr_block_state: CidrBlockState,
    pub ipv6_pool: String,
    pub network_border_group: String,
}

/// `VpcCidrBlockState` (`associated`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CidrBlockState {
    pub state: String,
}

/// `CreateFlowLogs`: the flow logs made, and the resources none could be made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateFlowLogsResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    pub flow_log_ids: Vec<String>,
    pub unsuccessful: Vec<UnsuccessfulItem>,
}

/// `DeleteFlowLogs`: the ids that could not be deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteFlowLogsResult {
    pub unsuccessful: Vec<UnsuccessfulItem>,
}

/// botocore's `UnsuccessfulItem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnsuccessfulItem {
    pub error: UnsuccessfulItemError,
    pub resource_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnsuccessfulItemError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeFlowLogsResult {
    pub flow_logs: Vec<FlowLogShape>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// botocore's `FlowLog`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FlowLogShape {
    pub creation_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_logs_error_message: Option<String>,
    pub deliver_logs_status: String,
    pub flow_log_id: String,
    pub flow_log_status: String,
    pub resource_id: String,
    pub traffic_type: String,
    pub log_destination_type: String,
    pub log_destination: String,
    pub log_format: String,
    pub tags: Vec<Tag>,
    pub max_aggregation_interval: i64,
}

/// `CreateManagedPrefixList`, `ModifyManagedPrefixList`, `DeleteManagedPrefixList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrefixListResult {
    pub prefix_list: ManagedPrefixList,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeManagedPrefixListsResult {
    pub prefix_lists: Vec<ManagedPrefixList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// botocore's `ManagedPrefixList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPrefixList {
    pub prefix_list_id: String,
    pub address_family: String,
    pub state: String,
    pub prefix_list_arn: String,
    pub prefix_list_name: String,
    pub max_entries: u32,
    pub version: u64,
    pub tags: Vec<Tag>,
    pub owner_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetManagedPrefixListEntriesResult {
    pub entries: Vec<PrefixListEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrefixListEntry {
    pub cidr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTagsResult {
    pub tags: Vec<TagDescription>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagDescription {
    pub key: String,
    pub resource_id: String,
    pub resource_type: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateNetworkInterfaceResult {
    /// Boxed: the largest shape, which would make every [`Output`] as large.
    pub network_interface: Box<NetworkInterface>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeNetworkInterfacesResult {
    pub network_interfaces: Vec<NetworkInterface>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// botocore's `NetworkInterface`, then sgd's own members: `AttachMode`, `Datapath`,
/// `Statistics`, `ConntrackAllowance`, `RuleStatistics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInterface {
    pub network_interface_id: String,
    pub description: String,
    pub interface_type: String,
    pub requester_managed: bool,
    pub tag_set: Vec<Tag>,
    pub status: String,
    pub vpc_id: String,
    /// The VPC's one subnet (sgd models no other).
    pub subnet_id: String,
    pub owner_id: String,
    pub groups: Vec<GroupIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip_address: Option<String>,
    pub private_ip_addresses: Vec<NetworkInterfacePrivateIpAddress>,
    pub ipv6_addresses: Vec<NetworkInterfaceIpv6Address>,
    pub source_dest_check: bool,
    pub connection_tracking_configuration: ConnectionTrackingConfiguration,
    /// sgd's own: `instance` or `host`.
    pub attach_mode: String,
    /// sgd's own: `enforce`, or `audit` (what the groups refuse passes, counted as
    /// `audit_passed` in the statistics).
    #[serde(default = "enforce")]
    pub enforcement_mode: String,
    /// sgd's own: the programs that protect it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapath: Option<InterfaceDatapath>,
    /// sgd's own: packets by verdict reason, and the tracking allowance still available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<BTreeMap<String, u64>>,
    /// sgd's own: the tracking tables' use (SG-ENF-9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conntrack_allowance: Option<ConntrackAllowance>,
    /// sgd's own, in describes: each rule's counters on this interface (SG-ENF-12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_statistics: Option<Vec<RuleStatistic>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupIdentifier {
    pub group_name: String,
    pub group_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInterfacePrivateIpAddress {
    pub private_ip_address: String,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInterfaceIpv6Address {
    pub ipv6_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionTrackingConfiguration {
    pub tcp_established_timeout: u32,
    pub udp_stream_timeout: u32,
    pub udp_timeout: u32,
}

/// Which hooks see the interface's arriving and leaving packets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InterfaceDatapath {
    pub arriving: String,
    pub leaving: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConntrackAllowance {
    pub tcp: TableUse,
    pub other: TableUse,
    /// Within `tcp`: half-open flows opened from outside (issue 17; a maximum of 0 is no
    /// budget). Past it, instance mode answers new inbound SYNs with SYN cookies.
    #[serde(default)]
    pub tcp_half_open: TableUse,
    /// Within `other`: flows opened from outside; the rest stays for the instance's own.
    #[serde(default)]
    pub other_inbound: TableUse,
    /// Entries the sweeper has removed since sgd started.
    pub swept: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableUse {
    pub maximum: u64,
    pub in_use: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleStatistic {
    pub security_group_rule_id: String,
    pub packets: u64,
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_hit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssignPrivateIpAddressesResult {
    pub network_interface_id: String,
    pub assigned_private_ip_addresses: Vec<AssignedPrivateIpAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssignedPrivateIpAddress {
    pub private_ip_address: String,
}

/// sgd's own `export-interface-rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExportInterfaceRulesResult {
    pub ruleset: String,
}

/// sgd's own `describe-conntrack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeConntrackResult {
    pub connection_tracking_entries: Vec<ConnectionTrackingEntry>,
}

/// A tracked flow, as seen from the interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionTrackingEntry {
    pub network_interface_id: String,
    pub protocol: String,
    pub local_address: String,
    pub local_port: u16,
    pub remote_address: String,
    pub remote_port: u16,
    pub direction: String,
    pub state: String,
    /// Both directions.
    pub packets: u64,
    pub bytes: u64,
    /// To the instance, and from it (what flow logs record apart).
    pub inbound_packets: u64,
    pub inbound_bytes: u64,
    pub outbound_packets: u64,
    pub outbound_bytes: u64,
    pub seconds_until_expiry: u64,
}

/// sgd's own `flush-conntrack`: how many flows were removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FlushConntrackResult {
    pub flushed: u64,
}

/// sgd's own `get-metrics`: the Prometheus text a scraper gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricsResult {
    pub metrics: String,
}

/// sgd's own `explain`: the verdict on one packet, why, and whether the live kernel maps
/// and the reference evaluator agree on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExplainResult {
    pub network_interface_id: String,
    pub direction: String,
    pub packet: ExplainedPacket,
    /// `ACCEPT` or `REJECT`, as in flow logs.
    pub verdict: String,
    /// ACCEPT: `SecurityGroupRules`, `TrackedFlow`, `NeighbourDiscovery` (never filtered,
    /// SG-ENF-10), `NotProtected` (no security group enforced on the interface) or
    /// `ClassicEgress` (an EC2-Classic interface's outbound traffic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admitted_by: Option<String>,
    /// REJECT: `NoRule`, `StaleGroupReference` (a rule that would allow it names a group that
    /// no longer exists), `SourceDestCheck` (SG-IF-5), `ConntrackAllowanceExceeded` (the
    /// flow would be tracked and the table is full, SG-ENF-9) or `MalformedPacket`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The rules that allow it (every one, by the reference evaluator).
    pub security_group_rule_ids: Vec<String>,
    pub security_group_rules: Vec<SecurityGroupRule>,
    /// A flow the rules admit: whether it is tracked (SG-ENF-3: untracked flows are judged by
    /// the rules packet by packet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracked: Option<bool>,
    /// What the kernel's maps decide, by a test run of the crafted packet through the
    /// installed programs' code; absent for another host's interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelVerdict>,
    /// `audit` when the interface is in audit mode: a REJECT then passes, counted as
    /// `audit_passed` (absent in enforce mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcement_mode: Option<String>,
    /// Whether the kernel and the reference evaluator agree (absent when the kernel was not
    /// asked). `false` is a bug: report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agree: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExplainedPacket {
    pub protocol: String,
    pub source: String,
    pub destination: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KernelVerdict {
    pub verdict: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admitted_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The rule(s) credited with admitting it (its per-rule counter's).
    pub security_group_rule_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracked: Option<bool>,
}

/// One decision `sgctl observe` streams: a flow the rules admitted or refused, when it first
/// appears and then at most once a second while it lasts, with its counters so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObservedEvent {
    /// RFC 3339, of the flow's last packet.
    pub time: String,
    pub network_interface_id: String,
    /// `ingress` or `egress`.
    pub direction: String,
    /// `ACCEPT` or `REJECT` (in audit mode, a refused packet that passed is `REJECT` with
    /// `Audit`).
    pub verdict: String,
    /// `SecurityGroupRules` for an accepted flow; else `NoRule`, `SourceDestCheck` or
    /// `ConntrackAllowanceExceeded`.
    pub reason: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub audit: bool,
    pub protocol: String,
    pub source: String,
    pub source_port: u16,
    pub destination: String,
    pub destination_port: u16,
    pub packets: u64,
    pub bytes: u64,
    /// TCP flags seen, OR-ed (as flow logs' `tcp-flags`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_flags: Option<u8>,
}

/// IAM's `CreateAccessKeyResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccessKeyResult {
    pub access_key: AccessKey,
}

/// IAM's `AccessKey` (with the secret) and `AccessKeyMetadata` (without).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKey {
    pub user_name: String,
    pub access_key_id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
    pub create_date: String,
    /// Not an IAM member: whether the key may only read.
    pub read_only: bool,
}

/// IAM's `ListAccessKeysResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccessKeysResult {
    pub access_key_metadata: Vec<AccessKey>,
    pub is_truncated: bool,
}

/// sgd's own `describe-hosts`: the fleet's hosts (issue 15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeHostsResult {
    pub hosts: Vec<HostDescription>,
}

/// A host of the fleet: live while its record's lease is renewed; known also by the
/// interfaces it owns (a host that is down keeps them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostDescription {
    pub host_id: String,
    pub live: bool,
    /// The revision of the shared state it has applied, as it last reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_revision: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// How many interfaces of the shared state are its.
    pub network_interfaces: usize,
    /// The VPCs whose changes it follows: those of its interfaces, and those of the groups
    /// their groups' rules name (a host follows no other VPC's changes).
    #[serde(default)]
    pub followed_vpcs: Vec<String>,
}

/// sgd's own `seed-fleet-store`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SeedFleetStoreResult {
    /// The revision the seed committed at.
    pub revision: i64,
}

fn enforce() -> String {
    "enforce".into()
}
