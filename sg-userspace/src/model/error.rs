//! AWS error codes (SG-ERR). Every failed request carries one code and a message in the AWS
//! wording; the CLI prints them in the AWS CLI form.

use serde::{Deserialize, Serialize};

/// An error returned to API clients: an AWS error code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "PascalCase")]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn group_not_found(id: &str) -> Self {
        Self::new(
            "InvalidGroup.NotFound",
            format!("The security group '{id}' does not exist"),
        )
    }

    pub fn group_id_malformed(id: &str) -> Self {
        Self::new(
            "InvalidGroupId.Malformed",
            format!("Invalid id: \"{id}\" (expecting \"sg-...\")"),
        )
    }

    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", message)
    }

    pub fn missing(param: &str) -> Self {
        Self::new(
            "MissingParameter",
            format!("The request must contain the parameter {param}"),
        )
    }

    pub fn malformed_permission(message: impl Into<String>) -> Self {
        Self::new("InvalidPermission.Malformed", message)
    }

    pub fn interface_not_found(id: &str) -> Self {
        Self::new(
            "InvalidNetworkInterfaceID.NotFound",
            format!("The networkInterface ID '{id}' does not exist"),
        )
    }

    /// The daemon could not carry out a valid request (datapath or storage failure). Nothing
    /// was changed.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalError", message)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
