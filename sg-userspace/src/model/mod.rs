//! The security-group model (SG-GRP, SG-RULE, SG-IF): VPCs, groups, rules and interfaces, with
//! the operations on them. Pure: no I/O, no kernel; the daemon persists and enforces the result.

#[cfg(test)]
mod conformance;
pub mod error;
pub mod filters;
pub mod flow_logs;
pub mod import;
pub mod ops;
pub mod prefix_lists;
pub mod rules;
pub mod tags;
pub mod validate;
pub mod vpcs;

use std::collections::BTreeMap;

use ipnet::{Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

pub use error::{ApiError, ApiResult};

/// Protocol number meaning "all protocols" (`-1` in AWS).
pub const PROTO_ALL: i16 = -1;
pub const PROTO_ICMP: i16 = 1;
pub const PROTO_TCP: i16 = 6;
pub const PROTO_UDP: i16 = 17;
pub const PROTO_ICMPV6: i16 = 58;

/// Parses an AWS `IpProtocol`: a name (`tcp`, `udp`, `icmp`, `icmpv6`, `all`), `-1`, or a
/// number 0..=255 (SG-RULE-2).
pub fn parse_protocol(s: &str) -> ApiResult<i16> {
    let p = match s.trim().to_ascii_lowercase().as_str() {
        "tcp" => PROTO_TCP,
        "udp" => PROTO_UDP,
        "icmp" => PROTO_ICMP,
        "icmpv6" => PROTO_ICMPV6,
        "-1" | "all" => PROTO_ALL,
        n => match n.parse::<i16>() {
            Ok(v) if (0..=255).contains(&v) => v,
            _ => {
                return Err(ApiError::malformed_permission(format!(
                    "Unsupported IP protocol \"{s}\" - supported: [all, tcp, udp, icmp, icmpv6, 0-255]"
                )));
            }
        },
    };
    Ok(p)
}

/// The `IpProtocol` string AWS prints for a protocol number.
pub fn protocol_name(p: i16) -> String {
    match p {
        PROTO_TCP => "tcp".into(),
        PROTO_UDP => "udp".into(),
        PROTO_ICMP => "icmp".into(),
        PROTO_ICMPV6 => "icmpv6".into(),
        PROTO_ALL => "-1".into(),
        n => n.to_string(),
    }
}

/// Whether rules of this protocol carry a port (or ICMP type/code) range (SG-RULE-2).
pub fn has_ports(p: i16) -> bool {
    matches!(p, PROTO_TCP | PROTO_UDP | PROTO_ICMP | PROTO_ICMPV6)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub is_default: bool,
    pub cidr_block: String,
    /// EC2-Classic semantics (SG-CLASSIC): inbound rules only, TCP/UDP/ICMP only, an
    /// interface's groups fixed once attached.
    #[serde(default)]
    pub classic: bool,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The VPC's IPv6 block (`AmazonProvidedIpv6CidrBlock`, [`vpcs::IPV6_POOL`]). A VPC with
    /// one is dual-stack: its new groups' default outbound rules include `::/0` (SG-GRP-3/4).
    /// Absent in stores written before IPv6 blocks existed (see [`vpcs::upgrade`]).
    #[serde(default)]
    pub ipv6_block: Option<Ipv6Block>,
}

/// An IPv6 CIDR block associated with a VPC (EC2's `VpcIpv6CidrBlockAssociation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipv6Block {
    /// A /56 from [`vpcs::IPV6_POOL`], unique among the state's VPCs.
    pub cidr_block: Ipv6Net,
    /// `vpc-cidr-assoc-...`, drawn when the block was associated; never the id of the VPC's
    /// IPv4 association.
    pub association_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Peer {
    Ipv4(Ipv4Net),
    Ipv6(Ipv6Net),
    /// Matches the private addresses of every interface attached to the group (SG-RULE-4).
    Group(String),
    /// Expands to the entries of a managed prefix list (`pl-...`).
    PrefixList(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub egress: bool,
    /// Protocol number, or [`PROTO_ALL`].
    pub protocol: i16,
    /// TCP/UDP: ports; ICMP/ICMPv6: type and code (`-1` = any). `None` for other protocols.
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub peer: Peer,
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl Rule {
    /// Two rules are the same permission when everything but id and description agree
    /// (SG-RULE-6).
    pub fn same_permission(&self, other: &Rule) -> bool {
        self.egress == other.egress
            && self.protocol == other.protocol
            && self.from_port == other.from_port
            && self.to_port == other.to_port
            && self.peer == other.peer
    }
}

pub use crate::shapes::Tag;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    /// The account that owns the group (kept from `sgctl import`; else the state's owner).
    #[serde(default)]
    pub owner_id: Option<String>,
    /// The ARN AWS gave the group (kept from `sgctl import`).
    #[serde(default)]
    pub arn: Option<String>,
    pub tags: Vec<Tag>,
    /// Inbound and outbound rules, in the order they were authorized.
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttachMode {
    /// The firewall runs on the instance: arriving packets (XDP or TC ingress) = inbound, TC
    /// egress = outbound. The private addresses are read from the device.
    Instance,
    /// The firewall runs on the host side of the instance's veth/tap: arriving packets = the
    /// instance's outbound, TC egress = its inbound. The private addresses are declared.
    Host,
}

/// Connection-tracking timeouts of an interface (SG-IF-4), seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    pub tcp_established: u32,
    pub udp_stream: u32,
    pub udp: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            tcp_established: 432_000,
            udp_stream: 180,
            udp: 30,
        }
    }
}

/// A protected interface (AWS: ENI). Its id is the Linux interface name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub id: String,
    pub vpc_id: String,
    /// Attached groups; empty means the VPC's `default` group (SG-IF-1).
    pub group_ids: Vec<String>,
    pub mode: AttachMode,
    pub timeouts: Timeouts,
    /// Host mode: the instance's private addresses (what group references match, SG-IF-5).
    #[serde(default)]
    pub private_addresses: Vec<std::net::IpAddr>,
    /// Host mode: drop traffic from the instance with another source address, or to it with
    /// another destination (AWS `SourceDestCheck`, SG-IF-5).
    #[serde(default)]
    pub source_dest_check: bool,
    /// EC2's `Description`, as given at creation.
    #[serde(default)]
    pub description: String,
    /// sgd's own: enforce the groups, or only audit them (what they refuse passes, counted
    /// and shown as refused). Stores written before it existed read as enforce.
    #[serde(default, skip_serializing_if = "Enforcement::is_enforce")]
    pub enforcement: Enforcement,
}

/// How an interface's groups apply (`--enforcement-mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    #[default]
    Enforce,
    /// Evaluated and tracked as in enforce mode, but a packet the groups refuse passes and
    /// is counted (`audit_passed`): to see what the groups would break before they do.
    Audit,
}

impl Enforcement {
    pub fn is_enforce(&self) -> bool {
        *self == Self::Enforce
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Audit => "audit",
        }
    }
}

impl Interface {
    /// A new interface protected in `mode`, with the defaults of SG-IF-4 and SG-IF-5.
    pub fn new(id: &str, vpc_id: &str, mode: AttachMode) -> Self {
        Self {
            id: id.to_owned(),
            vpc_id: vpc_id.to_owned(),
            group_ids: Vec::new(),
            mode,
            timeouts: Timeouts::default(),
            private_addresses: Vec::new(),
            source_dest_check: mode == AttachMode::Host,
            description: String::new(),
            enforcement: Enforcement::Enforce,
        }
    }
}

/// Quotas (SG-QUOTA), configurable in `sgd`'s configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Quotas {
    pub groups_per_vpc: usize,
    /// Inbound (and, separately, outbound) rules per group, counted per address family.
    pub rules_per_group: usize,
    pub groups_per_interface: usize,
    /// Rules per group x groups per interface.
    pub rules_per_interface: usize,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            groups_per_vpc: 2500,
            rules_per_group: 60,
            groups_per_interface: 5,
            // 60 x 5 = 300 by default; raising one quota means lowering the other.
            rules_per_interface: 1000,
        }
    }
}

impl Quotas {
    /// The quotas in force in a VPC: EC2-Classic has its own fixed limits (SG-CLASSIC).
    pub fn for_vpc(&self, classic: bool) -> Quotas {
        if classic {
            Quotas {
                groups_per_vpc: 500,
                rules_per_group: 100,
                groups_per_interface: 500,
                rules_per_interface: usize::MAX,
            }
        } else {
            *self
        }
    }

    /// A configuration must keep rules per group x groups per interface within the rules per
    /// interface (SG-QUOTA).
    pub fn check(&self) -> Result<(), String> {
        match self.rules_per_group.checked_mul(self.groups_per_interface) {
            Some(n) if n <= self.rules_per_interface => Ok(()),
            _ => Err(format!(
                "rules_per_group ({}) x groups_per_interface ({}) exceeds rules_per_interface ({})",
                self.rules_per_group, self.groups_per_interface, self.rules_per_interface
            )),
        }
    }
}

/// Everything the daemon persists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The account id shown as `OwnerId` (12 digits).
    pub owner_id: String,
    /// The region in ARNs (`sgd --region`). Not stored: the daemon's setting, not state.
    #[serde(skip, default = "default_region")]
    pub region: String,
    pub vpcs: BTreeMap<String, Vpc>,
    pub groups: BTreeMap<String, Group>,
    pub interfaces: BTreeMap<String, Interface>,
    #[serde(default)]
    pub prefix_lists: BTreeMap<String, PrefixList>,
    #[serde(default)]
    pub flow_logs: BTreeMap<String, FlowLog>,
}

/// A flow log (`fl-`): which interfaces' flows are recorded, which of them, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowLog {
    pub id: String,
    /// `VPC`, `NetworkInterface` or `SecurityGroup` (sgd's own: every interface the group is
    /// in force on).
    pub resource_type: String,
    pub resource_id: String,
    /// `ACCEPT`, `REJECT` or `ALL`.
    pub traffic_type: String,
    /// The file the records go to (on each host, for that host's interfaces).
    pub destination: String,
    /// As given, or AWS's default format.
    pub format: String,
    /// Seconds: 60 or 600.
    pub max_aggregation_interval: u32,
    /// RFC 3339.
    pub created: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A managed prefix list: a named, versioned set of CIDRs usable as a rule peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixList {
    pub id: String,
    pub name: String,
    /// `IPv4` or `IPv6`.
    pub address_family: String,
    pub max_entries: u32,
    pub version: u64,
    pub entries: Vec<PrefixListEntry>,
    pub tags: Vec<Tag>,
    /// Whether the list was modified since it was created: its `State` is then
    /// `modify-complete`, else `create-complete`.
    #[serde(default)]
    pub modified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixListEntry {
    pub cidr: ipnet::IpNet,
    pub description: Option<String>,
}

/// The region ARNs name when none is configured (`sgd --region`'s default).
pub fn default_region() -> String {
    "us-east-1".into()
}

impl State {
    /// An EC2 ARN of this account and region: `arn:aws:ec2:{region}:{account}:{kind}/{id}`.
    pub fn arn(&self, owner: &str, kind: &str, id: &str) -> String {
        format!("arn:aws:ec2:{}:{owner}:{kind}/{id}", self.region)
    }

    /// A fresh state: the default VPC and its `default` group (SG-GRP-3). The default VPC is
    /// dual-stack, unlike EC2's (see [`vpcs::add_vpc`]).
    pub fn new(ids: &mut dyn IdSource) -> Self {
        let mut state = Self {
            owner_id: format!("{:012}", ids.next() % 1_000_000_000_000),
            region: default_region(),
            vpcs: BTreeMap::new(),
            groups: BTreeMap::new(),
            interfaces: BTreeMap::new(),
            prefix_lists: BTreeMap::new(),
            flow_logs: BTreeMap::new(),
        };
        vpcs::add_default_vpc(&mut state, ids);
        state
    }

    /// The default VPC: every new state has one, but it can be deleted (`DeleteVpc`), as on
    /// EC2, until `CreateDefaultVpc` makes a new one.
    pub fn default_vpc(&self) -> Option<&Vpc> {
        self.vpcs.values().find(|v| v.is_default)
    }

    /// The id of the default VPC, for requests that name no VPC; without one, EC2's
    /// `VPCIdNotSpecified`.
    pub fn default_vpc_id(&self) -> ApiResult<String> {
        self.default_vpc()
            .map(|v| v.id.clone())
            .ok_or_else(|| ApiError::new("VPCIdNotSpecified", "No default VPC for this user"))
    }

    pub fn is_classic(&self, vpc_id: &str) -> bool {
        self.vpcs.get(vpc_id).is_some_and(|v| v.classic)
    }

    /// Whether the VPC has an IPv6 block, so that its new groups may send to `::/0`.
    pub fn is_dual_stack(&self, vpc_id: &str) -> bool {
        self.vpcs
            .get(vpc_id)
            .is_some_and(|v| v.ipv6_block.is_some())
    }

    /// The owner shown for a group.
    pub fn owner_of<'a>(&'a self, g: &'a Group) -> &'a str {
        g.owner_id.as_deref().unwrap_or(&self.owner_id)
    }

    pub fn default_group_of(&self, vpc_id: &str) -> Option<&Group> {
        self.groups
            .values()
            .find(|g| g.vpc_id == vpc_id && g.name == "default")
    }

    /// The groups in force on an interface: its set, or its VPC's `default` group.
    pub fn effective_groups(&self, iface: &Interface) -> Vec<String> {
        if iface.group_ids.is_empty() {
            self.default_group_of(&iface.vpc_id)
                .map(|g| g.id.clone())
                .into_iter()
                .collect()
        } else {
            iface.group_ids.clone()
        }
    }
}

/// Source of random ids; tests may supply a deterministic one.
pub trait IdSource {
    fn next(&mut self) -> u128;
}

/// Ids from the operating system's random generator.
pub struct RandomIds;

impl IdSource for RandomIds {
    fn next(&mut self) -> u128 {
        rand::random()
    }
}

/// 17 lowercase hex digits, as in `sg-0123456789abcdef0`.
pub fn hex17(v: u128) -> String {
    format!("{:017x}", v & ((1u128 << 68) - 1))
}
