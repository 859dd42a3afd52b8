//! The daemon's JSON API: one request per line on a Unix socket, one response line back.
//! Operations and parameters are named as in the EC2 API.

pub mod client;
pub mod server;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::ApiError;
pub use crate::shapes::*;

/// Largest request or response line accepted (a describe of many groups fits easily).
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// Declares the request enum with each operation's EC2 name.
macro_rules! requests {
    ($($op:ident($ty:ty)),* $(,)?) => {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "Action")]
        pub enum Request {
            $($op($ty),)*
        }

        impl Request {
            /// The EC2 operation name, as the AWS CLI prints it in errors.
            pub fn operation(&self) -> &'static str {
                match self {
                    $(Self::$op(_) => stringify!($op),)*
                }
            }
        }
    };
}

requests! {
    CreateSecurityGroup(CreateSecurityGroup),
    DeleteSecurityGroup(DeleteSecurityGroup),
    DescribeSecurityGroups(DescribeSecurityGroups),
    DescribeSecurityGroupRules(DescribeSecurityGroupRules),
    AuthorizeSecurityGroupIngress(Permissions),
    AuthorizeSecurityGroupEgress(Permissions),
    RevokeSecurityGroupIngress(Permissions),
    RevokeSecurityGroupEgress(Permissions),
    ModifySecurityGroupRules(ModifySecurityGroupRules),
    UpdateSecurityGroupRuleDescriptionsIngress(UpdateDescriptions),
    UpdateSecurityGroupRuleDescriptionsEgress(UpdateDescriptions),
    ModifyNetworkInterfaceAttribute(ModifyNetworkInterfaceAttribute),
    DescribeNetworkInterfaces(DescribeNetworkInterfaces),
    CreateVpc(CreateVpc),
    DescribeVpcs(DescribeVpcs),
    DeleteVpc(DeleteVpc),
    CreateDefaultVpc(Empty),
    CreateManagedPrefixList(CreateManagedPrefixList),
    ModifyManagedPrefixList(ModifyManagedPrefixList),
    DeleteManagedPrefixList(PrefixListIdRequest),
    DescribeManagedPrefixLists(DescribeManagedPrefixLists),
    GetManagedPrefixListEntries(PrefixListIdRequest),
    ImportSecurityGroups(ImportSecurityGroups),
    CreateTags(CreateTags),
    DeleteTags(DeleteTags),
    DescribeTags(DescribeTags),
    CreateNetworkInterface(CreateNetworkInterface),
    DeleteNetworkInterface(NetworkInterfaceIdRequest),
    AssignPrivateIpAddresses(PrivateAddresses),
    UnassignPrivateIpAddresses(PrivateAddresses),
    GetMetrics(GetMetrics),
    ExportInterfaceRules(ExportRequest),
    DescribeConntrack(ConntrackQuery),
    FlushConntrack(ConntrackQuery),
    // The HTTP API's access keys (IAM's names and shapes); over the Unix socket only.
    CreateAccessKey(CreateAccessKey),
    ListAccessKeys(Empty),
    DeleteAccessKey(DeleteAccessKey),
    // A fleet's hosts and its shared store (issue 15); sgd's own, over the Unix socket only.
    DescribeHosts(Empty),
    SeedFleetStore(Empty),
    // Why a packet is accepted or rejected (issue 16); sgd's own, over the Unix socket only.
    Explain(ExplainRequest),
    // A stream of decisions: the answer is `null`, then one `ObservedEvent` per line until
    // the client goes; sgd's own, over the Unix socket only.
    Observe(ObserveRequest),
    // Flow logs (issue 16).
    CreateFlowLogs(Box<CreateFlowLogs>),
    DescribeFlowLogs(DescribeFlowLogs),
    DeleteFlowLogs(DeleteFlowLogs),
}

/// A line of an `Observe` stream after its first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Streamed {
    Event(Box<ObservedEvent>),
    /// Events this observer missed (it read too slowly, or the kernel's buffer was full).
    Lost(u64),
}

/// One response line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The operation's output in the AWS response shape (`null` for operations without one).
    Ok(Value),
    Error(ApiError),
}
