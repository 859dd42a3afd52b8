//! `sgctl`: operations named and shaped as the AWS CLI's `aws ec2` subcommands. Output is the
//! AWS response JSON (or `--output table`); errors are printed as the AWS CLI prints them.

mod args;
mod request;
mod shorthand;
mod table;

use clap::Parser;
use serde_json::Value;

pub use args::{Cli, Command, ConntrackArgs, DescriptionArgs, Output, PermissionArgs};
pub use request::UsageError;

use crate::api::{Request, Response, client};

/// Exit status of the AWS CLI when the service returned an error.
pub const EXIT_SERVICE_ERROR: i32 = 254;
/// Exit status of the AWS CLI for invalid command-line parameters.
pub const EXIT_USAGE: i32 = 252;
/// Exit status for other failures (e.g. the daemon is not reachable).
pub const EXIT_OTHER: i32 = 255;

/// JSON as the AWS CLI prints it: four-space indentation.
pub fn to_aws_json(v: &Value) -> String {
    use serde::Serialize as _;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser).expect("JSON values always serialise");
    String::from_utf8(buf).expect("JSON is UTF-8")
}

/// Runs `sgctl` with the process's arguments; returns the exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let req = match cli.command.to_request() {
        Ok(r) => r,
        Err(UsageError(msg)) => {
            eprintln!("sgctl: error: {msg}");
            return EXIT_USAGE;
        }
    };
    match client::call(&cli.socket, &req) {
        Ok(Response::Ok(Value::Null)) => 0,
        // Text outputs (not AWS responses) are printed as they are.
        Ok(Response::Ok(Value::Object(m)))
            if matches!(
                req,
                Request::GetMetrics(_) | Request::ExportInterfaceRules(_)
            ) =>
        {
            let text = m
                .get("Metrics")
                .or(m.get("Ruleset"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            print!("{text}");
            0
        }
        Ok(Response::Ok(v)) => {
            match cli.output {
                Output::Json => println!("{}", to_aws_json(&v)),
                Output::Table => print!("{}", table::render(req.operation(), &v)),
            }
            0
        }
        Ok(Response::Error(e)) => {
            eprintln!(
                "\nAn error occurred ({}) when calling the {} operation: {}",
                e.code,
                req.operation(),
                e.message
            );
            EXIT_SERVICE_ERROR
        }
        Err(e) => {
            eprintln!("sgctl: {e}");
            EXIT_OTHER
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::IpPermission;

    fn perms(args: &[&str]) -> Result<Vec<IpPermission>, UsageError> {
        let mut full = vec![
            "sgctl",
            "authorize-security-group-ingress",
            "--group-id",
            "sg-12345678",
        ];
        full.extend_from_slice(args);
        match Cli::try_parse_from(full).expect("parses").command {
            Command::AuthorizeSecurityGroupIngress(a) => a.to_permissions(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn shorthand_tcp_port_and_range() {
        let p = perms(&[
            "--protocol",
            "tcp",
            "--port",
            "22",
            "--cidr",
            "203.0.113.0/24",
        ])
        .unwrap();
        assert_eq!((p[0].from_port, p[0].to_port), (Some(22), Some(22)));
        assert_eq!(p[0].ip_ranges[0].cidr_ip, "203.0.113.0/24");
        let p = perms(&[
            "--protocol",
            "udp",
            "--port",
            "8000-8100",
            "--cidr",
            "2001:db8::/32",
        ])
        .unwrap();
        assert_eq!((p[0].from_port, p[0].to_port), (Some(8000), Some(8100)));
        assert_eq!(p[0].ipv6_ranges[0].cidr_ipv6, "2001:db8::/32");
        let p = perms(&["--protocol", "tcp", "--port", "-1", "--cidr", "0.0.0.0/0"]).unwrap();
        assert_eq!((p[0].from_port, p[0].to_port), (Some(0), Some(65535)));
    }

    #[test]
    fn shorthand_icmp_and_all() {
        let p = perms(&["--protocol", "icmp", "--port", "8-0", "--cidr", "0.0.0.0/0"]).unwrap();
        assert_eq!((p[0].from_port, p[0].to_port), (Some(8), Some(0)));
        let p = perms(&["--protocol", "icmp", "--port", "-1", "--cidr", "0.0.0.0/0"]).unwrap();
        assert_eq!((p[0].from_port, p[0].to_port), (Some(-1), Some(-1)));
        let p = perms(&["--protocol", "all", "--source-group", "sg-12345678"]).unwrap();
        assert_eq!(p[0].ip_protocol, "-1");
        assert_eq!(
            p[0].user_id_group_pairs[0].group_id.as_deref(),
            Some("sg-12345678")
        );
    }

    #[test]
    fn ip_permissions_json_in_the_aws_shape() {
        let json = r#"[{"IpProtocol":"tcp","FromPort":443,"ToPort":443,
            "IpRanges":[{"CidrIp":"198.51.100.0/24","Description":"web"}]}]"#;
        let p = perms(&["--ip-permissions", json]).unwrap();
        assert_eq!(p[0].ip_ranges[0].description.as_deref(), Some("web"));
        assert!(perms(&["--ip-permissions", "[{\"Bogus\":1}]"]).is_err());
        assert!(perms(&["--protocol", "tcp", "--port", "x", "--cidr", "0.0.0.0/0"]).is_err());
        assert!(perms(&["--protocol", "tcp", "--port", "22"]).is_err());
    }

    #[test]
    fn aws_json_indentation() {
        let v = serde_json::json!({"GroupId": "sg-1"});
        assert_eq!(to_aws_json(&v), "{\n    \"GroupId\": \"sg-1\"\n}");
    }
}
