//! Default runtime paths, in one place.

pub const STATE_DIR: &str = "/var/lib/sg";
pub const SOCKET: &str = "/run/sg/sgd.sock";
pub const PIN_DIR: &str = "/sys/fs/bpf/sg";
/// Where flow logs may write (`sgd --flow-log-dir`).
pub const FLOW_LOG_DIR: &str = "/var/log/sg";
/// The store's file name inside the state directory.
pub const DB_FILE: &str = "sg.redb";
/// Optional configuration file inside the state directory.
pub const CONFIG_FILE: &str = "sgd.json";
