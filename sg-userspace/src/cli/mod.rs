//! `sgctl`: operations named and shaped as the AWS CLI's `aws ec2` subcommands. Input takes
//! the AWS CLI's forms (shorthand, JSON, file://, --cli-input-json, --generate-cli-skeleton);
//! output is the AWS response JSON (or `--output table`); errors are printed as the AWS CLI
//! prints them.

mod args;
mod input;
mod request;
mod shapes;
// Public for the fuzz target `cli_shorthand` (fuzz/), which parses text with it directly.
pub mod shorthand;
mod table;

use clap::Parser;
use serde_json::Value;

pub use args::{Cli, Command, ConntrackArgs, DescriptionArgs, Output, PermissionArgs};
pub use request::{Prepared, UsageError};

use crate::api::{Request, Response, client};

/// Exit status of the AWS CLI when the service returned an error.
pub const EXIT_SERVICE_ERROR: i32 = 254;
/// Exit status of the AWS CLI for invalid command-line parameters.
pub const EXIT_USAGE: i32 = 252;
/// Exit status for other failures (e.g. the daemon is not reachable).
pub const EXIT_OTHER: i32 = 255;
/// Exit status of `explain` when the kernel and the reference evaluator disagree (a bug).
pub const EXIT_DISAGREE: i32 = 1;

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
    let req = match cli.prepare() {
        Ok(Prepared::Request(r)) => r,
        Ok(Prepared::Skeleton(s)) => {
            println!("{s}");
            return 0;
        }
        Err(UsageError(msg)) => {
            eprintln!("sgctl: error: {msg}");
            return EXIT_USAGE;
        }
    };
    if let Request::Observe(_) = req {
        return observe(&cli, &req);
    }
    let output = cli.output.unwrap_or(Output::Json);
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
            match output {
                Output::Json => println!("{}", to_aws_json(&v)),
                Output::Table => print!("{}", table::render(req.operation(), &v)),
            }
            if matches!(req, Request::Explain(_)) && v["Agree"] == Value::Bool(false) {
                eprintln!(
                    "sgctl: the kernel and the reference evaluator disagree on this packet: \
                     this is a bug in sgd; please report it with the output above"
                );
                return EXIT_DISAGREE;
            }
            0
        }
        Ok(Response::Error(e)) => service_error(&req, &e),
        Err(e) => {
            eprintln!("sgctl: {e}");
            EXIT_OTHER
        }
    }
}

/// Prints an error sgd answered as the AWS CLI prints a service's; its exit status.
fn service_error(req: &Request, e: &crate::model::ApiError) -> i32 {
    eprintln!(
        "\nAn error occurred ({}) when calling the {} operation: {}",
        e.code,
        req.operation(),
        e.message
    );
    EXIT_SERVICE_ERROR
}

/// `sgctl observe`: prints each decision sgd streams until it closes the stream (or sgctl is
/// interrupted).
fn observe(cli: &Cli, req: &Request) -> i32 {
    use crate::api::Streamed;
    let json = cli.output == Some(Output::Json);
    let r = client::stream(&cli.socket, req, |s| match s {
        Streamed::Event(e) if json => {
            println!("{}", serde_json::to_string(&e).unwrap_or_default())
        }
        Streamed::Event(e) => println!("{}", crate::observe::line(&e)),
        Streamed::Lost(n) => eprintln!("sgctl: {n} decisions were missed (reading too slowly)"),
    });
    match r {
        Ok(Response::Error(e)) => service_error(req, &e),
        Ok(Response::Ok(_)) => 0,
        Err(e) => {
            eprintln!("sgctl: {e}");
            EXIT_OTHER
        }
    }
}

#[cfg(test)]
mod tests;
