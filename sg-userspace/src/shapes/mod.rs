//! The shapes of the EC2 API: each operation's input and output, as the AWS CLI prints and
//! accepts them and botocore's EC2 model names them (SG-API). The model takes inputs and
//! returns outputs; the Unix socket (`crate::api`) writes outputs as JSON and the HTTP
//! endpoint (`crate::ec2`) as EC2 XML, two serialisations of the same structs. This module
//! depends on neither, so the model knows nothing of either wire.
//!
//! - `common`: shapes found in both inputs and outputs (`IpPermission`, `Tag`, ...).
//! - `input`: the operations' parameters.
//! - `output`: the operations' results, and [`Output`], any one of them.

mod common;
mod input;
mod output;

pub use common::*;
pub use input::*;
pub use output::*;
