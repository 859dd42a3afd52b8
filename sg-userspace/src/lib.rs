//! Security groups, as on AWS EC2/VPC, enforced by eBPF on Linux interfaces.
//!
//! The pure modules ([`model`], [`compiler`]) know nothing of the kernel and are tested
//! without root; [`datapath`] owns the eBPF maps and programs; [`daemon`] ties them to the
//! [`store`] and the [`api`] that `sgctl` ([`cli`]) talks to.

pub mod api;
#[cfg(feature = "bench")]
pub mod bench;
pub mod cli;
pub mod compiler;
pub mod conntrack;
pub mod daemon;
pub mod datapath;
pub mod ec2;
pub mod eval;
pub mod explain;
pub mod export;
pub mod fleet;
pub mod flowlog;
pub mod model;
pub mod observe;
pub mod paths;
pub mod shapes;
pub mod store;
pub mod testkit;
pub mod watch;
