//! The daemon's JSON API: one request per line on a Unix socket, one response line back.
//! Operations and parameters are named as in the EC2 API.

pub mod aws;
pub mod client;
pub mod server;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::ApiError;
pub use aws::*;

/// Largest request or response line accepted (a describe of many groups fits easily).
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Action")]
pub enum Request {
    CreateSecurityGroup(CreateSecurityGroup),
    DeleteSecurityGroup(DeleteSecurityGroup),
    DescribeSecurityGroups(DescribeSecurityGroups),
    AuthorizeSecurityGroupIngress(Permissions),
    AuthorizeSecurityGroupEgress(Permissions),
    RevokeSecurityGroupIngress(Permissions),
    RevokeSecurityGroupEgress(Permissions),
    ModifyNetworkInterfaceAttribute(ModifyNetworkInterfaceAttribute),
    DescribeNetworkInterfaces(DescribeNetworkInterfaces),
}

impl Request {
    /// The EC2 operation name, as the AWS CLI prints it in errors.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::CreateSecurityGroup(_) => "CreateSecurityGroup",
            Self::DeleteSecurityGroup(_) => "DeleteSecurityGroup",
            Self::DescribeSecurityGroups(_) => "DescribeSecurityGroups",
            Self::AuthorizeSecurityGroupIngress(_) => "AuthorizeSecurityGroupIngress",
            Self::AuthorizeSecurityGroupEgress(_) => "AuthorizeSecurityGroupEgress",
            Self::RevokeSecurityGroupIngress(_) => "RevokeSecurityGroupIngress",
            Self::RevokeSecurityGroupEgress(_) => "RevokeSecurityGroupEgress",
            Self::ModifyNetworkInterfaceAttribute(_) => "ModifyNetworkInterfaceAttribute",
            Self::DescribeNetworkInterfaces(_) => "DescribeNetworkInterfaces",
        }
    }

    /// Whether the request can change state (and so must be applied as one transaction).
    pub fn is_mutation(&self) -> bool {
        !matches!(
            self,
            Self::DescribeSecurityGroups(_) | Self::DescribeNetworkInterfaces(_)
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateSecurityGroup {
    pub group_name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
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
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Permissions {
    pub group_id: Option<String>,
    #[serde(default)]
    pub ip_permissions: Vec<IpPermission>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ModifyNetworkInterfaceAttribute {
    pub network_interface_id: Option<String>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeNetworkInterfaces {
    #[serde(default)]
    pub network_interface_ids: Vec<String>,
}

/// One response line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The operation's output in the AWS response shape (`null` for operations without one).
    Ok(Value),
    Error(ApiError),
}
