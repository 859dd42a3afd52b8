//! The EC2 Query API over HTTP (issue 14): what AWS clients (awscli, boto3, Ansible, Terraform)
//! send and expect when pointed at `sgd` with an endpoint override.
//!
//! - `form`: the Query protocol's form-encoded parameters (`IpPermissions.1.IpRanges.1.CidrIp`).
//! - `xml`: EC2 and STS XML responses and error bodies.
//! - `sigv4`: verification of AWS Signature Version 4 on a request.
//! - `decode`: each operation's parameters to the daemon's request.
//! - `encode`: the daemon's outputs (AWS's shapes and member names) as EC2 XML.
//! - `server`: the HTTP endpoint: signature, form, operation, read-only keys, `DryRun`.
//! - `idempotency`: `ClientToken`s, so a retried create does not create twice.
//! - `page`: the describes' pages (`MaxResults`, `NextToken`).
//! - `keys`: the access keys requests are signed with (the credentials file).

pub mod decode;
pub mod encode;
pub mod form;
pub mod idempotency;
pub mod keys;
pub mod page;
pub mod server;
pub mod sigv4;
pub mod xml;
