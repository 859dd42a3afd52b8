//! VPC Flow Logs (issue 16): which flows each interface accepted and rejected, per capture
//! window, in AWS's record format, written to files.
//!
//! - `format`: the fields and the record format (`--log-format`).
//! - `window`: from the kernel's counters to records (pure).
//! - `file`: the destination file and its rotation.
//!
//! The flow-log resources themselves (create, describe, delete) are in
//! `model::flow_logs`; the daemon reads the maps and writes the files (`daemon::flow_logs`).

pub mod file;
pub mod format;
pub mod window;
