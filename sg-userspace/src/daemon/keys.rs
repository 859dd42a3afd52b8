//! The HTTP API's access keys over the Unix socket (`sgctl create-access-key`,
//! `list-access-keys`, `delete-access-key`), in IAM's shapes. The keys live in the credentials
//! file (`ec2::keys`), not in the store: they are the daemon's, not the security groups'.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use serde_json::{Value, json};

use super::Core;
use crate::{
    api::{CreateAccessKey, DeleteAccessKey},
    ec2::keys::{AccessKey, USER_NAME},
    model::{ApiError, ApiResult},
};

/// The keys by id, shared with the HTTP API (see [`Core::shared_keys`]).
pub type SharedKeys = Arc<RwLock<HashMap<String, AccessKey>>>;

fn metadata(k: &AccessKey) -> Value {
    json!({
        "UserName": USER_NAME,
        "AccessKeyId": k.id,
        "Status": "Active",
        "CreateDate": humantime::format_rfc3339_seconds(k.created).to_string(),
        // Not an IAM member: what the key may do.
        "ReadOnly": k.read_only,
    })
}

impl Core {
    pub(super) fn create_access_key(&mut self, r: &CreateAccessKey) -> ApiResult<Value> {
        let k = self
            .keys
            .create(r.read_only)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        self.share_keys();
        let mut out = metadata(&k);
        out["SecretAccessKey"] = json!(k.secret);
        Ok(json!({ "AccessKey": out }))
    }

    pub(super) fn list_access_keys(&self) -> ApiResult<Value> {
        let keys: Vec<Value> = self.keys.keys().iter().map(metadata).collect();
        Ok(json!({ "AccessKeyMetadata": keys, "IsTruncated": false }))
    }

    pub(super) fn delete_access_key(&mut self, r: &DeleteAccessKey) -> ApiResult<Value> {
        let id = r
            .access_key_id
            .as_deref()
            .ok_or_else(|| ApiError::missing("AccessKeyId"))?;
        match self.keys.delete(id) {
            Ok(true) => {
                self.share_keys();
                Ok(Value::Null)
            }
            Ok(false) => Err(ApiError::new(
                "NoSuchEntity",
                format!("The Access Key with id {id} cannot be found."),
            )),
            Err(e) => Err(ApiError::internal(e.to_string())),
        }
    }

    /// The keys as the HTTP API reads them: a copy kept current with every change, readable
    /// without the lock on this `Core`.
    pub fn shared_keys(&self) -> SharedKeys {
        self.shared_keys.clone()
    }

    /// Brings the shared copy up to date with the file.
    pub(super) fn share_keys(&self) {
        let keys = self
            .keys
            .keys()
            .iter()
            .map(|k| (k.id.clone(), k.clone()))
            .collect();
        *self.shared_keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
    }
}

impl Core {
    /// The account every resource belongs to (`ownerId`, `GetCallerIdentity`'s `Account`).
    pub fn account(&self) -> String {
        self.state.owner_id.clone()
    }
}
