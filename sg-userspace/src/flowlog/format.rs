//! The VPC Flow Logs record format: the fields AWS defines (with the version each came in),
//! reading a `--log-format`, and writing a record in it. Pure: records come from `window`.
//!
//! Every AWS field is accepted. Those that mean something here are filled; the rest (subnets,
//! instances, availability zones, sublocations, AWS service ranges, ECS) are `-`, which is
//! what AWS writes for a field that does not apply to a record.

use std::net::IpAddr;

use crate::model::{ApiError, ApiResult};

/// AWS's default format: every version 2 field, in order.
pub const DEFAULT_FORMAT: &str = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} \
     ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";

/// Every field of a record, with the flow-log version that introduced it.
pub const FIELDS: &[(&str, u8)] = &[
    ("version", 2),
    ("account-id", 2),
    ("interface-id", 2),
    ("srcaddr", 2),
    ("dstaddr", 2),
    ("srcport", 2),
    ("dstport", 2),
    ("protocol", 2),
    ("packets", 2),
    ("bytes", 2),
    ("start", 2),
    ("end", 2),
    ("action", 2),
    ("log-status", 2),
    ("vpc-id", 3),
    ("subnet-id", 3),
    ("instance-id", 3),
    ("tcp-flags", 3),
    ("type", 3),
    ("pkt-srcaddr", 3),
    ("pkt-dstaddr", 3),
    ("region", 4),
    ("az-id", 4),
    ("sublocation-type", 4),
    ("sublocation-id", 4),
    ("pkt-src-aws-service", 5),
    ("pkt-dst-aws-service", 5),
    ("flow-direction", 5),
    ("traffic-path", 5),
    ("ecs-cluster-arn", 7),
    ("ecs-cluster-name", 7),
    ("ecs-container-instance-arn", 7),
    ("ecs-container-instance-id", 7),
    ("ecs-container-id", 7),
    ("ecs-second-container-id", 7),
    ("ecs-service-name", 7),
    ("ecs-task-definition-arn", 7),
    ("ecs-task-arn", 7),
    ("ecs-task-id", 7),
    ("reject-reason", 8),
];

/// A format, read: its fields in order, and the version its records carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pub fields: Vec<&'static str>,
    pub version: u8,
}

fn invalid(message: String) -> ApiError {
    ApiError::new("InvalidParameter", message)
}

/// Reads a `LogFormat`: `${field}` tokens separated by spaces, at least one, each a field of
/// [`FIELDS`]. The version of its records is the highest of its fields' (AWS).
pub fn parse(text: &str) -> ApiResult<Format> {
    let mut fields = Vec::new();
    for token in text.split_whitespace() {
        let name = token
            .strip_prefix("${")
            .and_then(|t| t.strip_suffix('}'))
            .ok_or_else(|| {
                invalid(format!(
                    "LogFormat: '{token}' is not a field; write each as ${{field-name}}, separated by spaces"
                ))
            })?;
        let &(known, _) = FIELDS
            .iter()
            .find(|(f, _)| *f == name)
            .ok_or_else(|| invalid(format!("LogFormat: unknown field '{name}'")))?;
        fields.push(known);
    }
    if fields.is_empty() {
        return Err(invalid("LogFormat must name at least one field".into()));
    }
    let version = fields
        .iter()
        .filter_map(|f| FIELDS.iter().find(|(n, _)| n == f))
        .map(|&(_, v)| v)
        .max()
        .unwrap_or(2);
    Ok(Format { fields, version })
}

impl Format {
    /// The line of field names a file starts with (as AWS's plain-text files on S3 do).
    pub fn header(&self) -> String {
        self.fields.join(" ")
    }

    /// One record in this format.
    pub fn render(&self, r: &Record) -> String {
        let mut line = String::new();
        for (i, f) in self.fields.iter().enumerate() {
            if i > 0 {
                line.push(' ');
            }
            match self.value(r, f) {
                Some(v) => line.push_str(&v),
                None => line.push('-'),
            }
        }
        line
    }

    /// Field `f` of `r`; `None`: `-` (it does not apply, or has no meaning here).
    fn value(&self, r: &Record, f: &str) -> Option<String> {
        let flow = r.flow.as_ref();
        Some(match f {
            "version" => self.version.to_string(),
            "account-id" => r.account_id.clone(),
            "interface-id" => r.interface_id.clone(),
            "vpc-id" => r.vpc_id.clone(),
            "region" => r.region.clone(),
            "start" => r.start.to_string(),
            "end" => r.end.to_string(),
            "log-status" => r.status.name().to_owned(),
            "srcaddr" => flow?.srcaddr.to_string(),
            "dstaddr" => flow?.dstaddr.to_string(),
            "pkt-srcaddr" => flow?.pkt_srcaddr.to_string(),
            "pkt-dstaddr" => flow?.pkt_dstaddr.to_string(),
            "srcport" => flow?.srcport.to_string(),
            "dstport" => flow?.dstport.to_string(),
            "protocol" => flow?.protocol.to_string(),
            "packets" => flow?.packets.to_string(),
            "bytes" => flow?.bytes.to_string(),
            "action" => if flow?.accepted { "ACCEPT" } else { "REJECT" }.to_owned(),
            "tcp-flags" => {
                let flow = flow?;
                if flow.protocol != 6 {
                    return None;
                }
                flow.tcp_flags.to_string()
            }
            "type" => if flow?.srcaddr.is_ipv4() {
                "IPv4"
            } else {
                "IPv6"
            }
            .to_owned(),
            "flow-direction" => if flow?.ingress { "ingress" } else { "egress" }.to_owned(),
            "reject-reason" => flow?.reject_reason.clone()?,
            // Subnets, instances, zones, sublocations, AWS service ranges, the path out of
            // the VPC and ECS do not exist here.
            _ => return None,
        })
    }
}

/// `log-status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// No traffic on the interface in the window.
    NoData,
    /// Some flows of the window could not be recorded.
    SkipData,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::NoData => "NODATA",
            Self::SkipData => "SKIPDATA",
        }
    }
}

/// One record: a flow's packets in one direction in one capture window, or an interface's
/// `NODATA` / `SKIPDATA` for the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub interface_id: String,
    pub account_id: String,
    pub vpc_id: String,
    pub region: String,
    /// Unix seconds: the first and last packet in the window (`NODATA`, `SKIPDATA`: the
    /// window).
    pub start: u64,
    pub end: u64,
    pub status: Status,
    /// `None` for `NODATA` and `SKIPDATA`.
    pub flow: Option<FlowFields>,
}

/// What a record says of its flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFields {
    /// AWS's: inbound, the peer and the interface's own address; outbound, the reverse.
    pub srcaddr: IpAddr,
    pub dstaddr: IpAddr,
    /// The packets' own addresses (they differ from the above for packets the
    /// source/destination check refused).
    pub pkt_srcaddr: IpAddr,
    pub pkt_dstaddr: IpAddr,
    /// 0 for protocols without ports (ICMP included, as AWS writes them).
    pub srcport: u16,
    pub dstport: u16,
    pub protocol: u8,
    pub packets: u64,
    pub bytes: u64,
    pub accepted: bool,
    pub ingress: bool,
    /// FIN 1, SYN 2, RST 4, SYN-ACK 18, OR-ed over the window.
    pub tcp_flags: u8,
    /// Refused: why (`NoRule`, `SourceDestCheck`, `ConntrackAllowanceExceeded`; prefixed
    /// `audit:` where audit mode passed the packets).
    pub reject_reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(flow: Option<FlowFields>, status: Status) -> Record {
        Record {
            interface_id: "eni-0123456789abcdef0".into(),
            account_id: "123456789010".into(),
            vpc_id: "vpc-1".into(),
            region: "us-east-1".into(),
            start: 1418530010,
            end: 1418530070,
            status,
            flow,
        }
    }

    fn ssh() -> FlowFields {
        FlowFields {
            srcaddr: "172.31.16.139".parse().unwrap(),
            dstaddr: "172.31.16.21".parse().unwrap(),
            pkt_srcaddr: "172.31.16.139".parse().unwrap(),
            pkt_dstaddr: "172.31.16.21".parse().unwrap(),
            srcport: 20641,
            dstport: 22,
            protocol: 6,
            packets: 20,
            bytes: 4249,
            accepted: true,
            ingress: true,
            tcp_flags: 2,
            reject_reason: None,
        }
    }

    #[test]
    fn the_default_format_writes_aws_own_examples() {
        let f = parse(DEFAULT_FORMAT).unwrap();
        assert_eq!(f.version, 2);
        assert_eq!(
            f.render(&record(Some(ssh()), Status::Ok)),
            "2 123456789010 eni-0123456789abcdef0 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
        );
        assert_eq!(
            f.render(&record(None, Status::NoData)),
            "2 123456789010 eni-0123456789abcdef0 - - - - - - - 1418530010 1418530070 - NODATA"
        );
        assert_eq!(
            f.render(&record(None, Status::SkipData)),
            "2 123456789010 eni-0123456789abcdef0 - - - - - - - 1418530010 1418530070 - SKIPDATA"
        );
        assert_eq!(
            f.header(),
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
        );
    }

    #[test]
    fn a_custom_format_has_the_version_of_its_newest_field() {
        let f = parse("${vpc-id} ${tcp-flags} ${flow-direction} ${traffic-path} ${subnet-id} ${type} ${pkt-srcaddr} ${reject-reason}").unwrap();
        assert_eq!(f.version, 8);
        let mut refused = ssh();
        refused.accepted = false;
        refused.reject_reason = Some("NoRule".into());
        assert_eq!(
            f.render(&record(Some(refused), Status::Ok)),
            "vpc-1 2 ingress - - IPv4 172.31.16.139 NoRule"
        );
        assert_eq!(parse("${version} ${srcaddr}").unwrap().version, 2);
        assert_eq!(parse("${region}").unwrap().version, 4);
        let mut udp = ssh();
        udp.protocol = 17;
        assert_eq!(
            parse("${tcp-flags} ${reject-reason} ${action}")
                .unwrap()
                .render(&record(Some(udp), Status::Ok)),
            "- - ACCEPT"
        );
    }

    #[test]
    fn bad_formats_are_refused() {
        for bad in [
            "",
            "   ",
            "${nope}",
            "version",
            "${version}${srcaddr}",
            "${version",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code, "InvalidParameter", "{bad}");
        }
    }
}
