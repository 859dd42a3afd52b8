//! The HTTP API's access keys over the Unix socket (`sgctl create-access-key`,
//! `list-access-keys`, `delete-access-key`), in IAM's shapes. The keys live in the credentials
//! file (`ec2::keys`), not in the store: they are the daemon's, not the security groups'.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use super::Core;
use crate::{
    api::{self, CreateAccessKey, CreateAccessKeyResult, DeleteAccessKey, ListAccessKeysResult},
    ec2::keys::{AccessKey, USER_NAME},
    model::{ApiError, ApiResult},
    shapes::Output,
};

/// The keys by id, shared with the HTTP API (see [`Core::shared_keys`]).
pub type SharedKeys = Arc<RwLock<HashMap<String, AccessKey>>>;

/// A key's metadata, without its secret.
fn metadata(k: &AccessKey) -> api::AccessKey {
    api::AccessKey {
        user_name: USER_NAME.into(),
        access_key_id: k.id.clone(),
        status: "Active".into(),
        secret_access_key: None,
        create_date: humantime::format_rfc3339_seconds(k.created).to_string(),
        read_only: k.read_only,
    }
}

impl Core {
    pub(super) fn create_access_key(
        &mut self,
        r: &CreateAccessKey,
    ) -> ApiResult<CreateAccessKeyResult> {
        let k = self
            .keys
            .create(r.read_only)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        self.share_keys();
        let mut access_key = metadata(&k);
        access_key.secret_access_key = Some(k.secret.clone());
        Ok(CreateAccessKeyResult { access_key })
    }

    pub(super) fn list_access_keys(&self) -> ApiResult<ListAccessKeysResult> {
        Ok(ListAccessKeysResult {
            access_key_metadata: self.keys.keys().iter().map(metadata).collect(),
            is_truncated: false,
        })
    }

    pub(super) fn delete_access_key(&mut self, r: &DeleteAccessKey) -> ApiResult<Output> {
        let id = r
            .access_key_id
            .as_deref()
            .ok_or_else(|| ApiError::missing("AccessKeyId"))?;
        match self.keys.delete(id) {
            Ok(true) => {
                self.share_keys();
                Ok(Output::None)
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
