//! Flow logs (`fl-`): `CreateFlowLogs`, `DescribeFlowLogs`, `DeleteFlowLogs`, with EC2's
//! names, validation and errors. What they record, and how, is `crate::flowlog`; the daemon
//! writes the files.
//!
//! Where EC2 differs from a host: the only destination is a file (`LogDestinationType
//! file`, `LogDestination` an absolute path on each host); a `SecurityGroup` resource (every
//! interface the group is in force on) is sgd's own, beside `VPC` and `NetworkInterface`.
//! As on EC2, a request for several resources makes one flow log per resource, and a
//! resource that cannot have one is reported in `Unsuccessful` while the others get theirs.

use std::path::Path;

use super::{ApiError, ApiResult, FlowLog, IdSource, State, filters, hex17, tags};
use crate::{
    flowlog::format::{self, DEFAULT_FORMAT},
    shapes::{
        CreateFlowLogs, CreateFlowLogsResult, DeleteFlowLogs, DeleteFlowLogsResult,
        DescribeFlowLogs, DescribeFlowLogsResult, FlowLogShape, UnsuccessfulItem,
        UnsuccessfulItemError,
    },
};

/// The resource types a flow log can cover here.
pub const RESOURCE_TYPES: [&str; 3] = ["VPC", "NetworkInterface", "SecurityGroup"];

/// The one destination type: a file on the host.
pub const DESTINATION_FILE: &str = "file";

/// `MaxAggregationInterval` when none is given (EC2's).
pub const DEFAULT_INTERVAL: u32 = 600;

/// Resource ids one request may name (EC2's limit for these resource types).
const MAX_RESOURCES: usize = 1000;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidParameter", message)
}

fn unsuccessful(resource_id: &str, e: ApiError) -> UnsuccessfulItem {
    UnsuccessfulItem {
        error: UnsuccessfulItemError {
            code: e.code,
            message: e.message,
        },
        resource_id: resource_id.to_owned(),
    }
}

/// Whether the resource a flow log names exists (`None`: it does; else EC2's error).
fn resource_missing(state: &State, kind: &str, id: &str) -> Option<ApiError> {
    match kind {
        "VPC" => (!state.vpcs.contains_key(id)).then(|| {
            ApiError::new(
                "InvalidVpcID.NotFound",
                format!("The vpc ID '{id}' does not exist"),
            )
        }),
        "NetworkInterface" => {
            (!state.interfaces.contains_key(id)).then(|| ApiError::interface_not_found(id))
        }
        _ => (!state.groups.contains_key(id)).then(|| {
            ApiError::new(
                "InvalidGroup.NotFound",
                format!("The security group '{id}' does not exist"),
            )
        }),
    }
}

/// `CreateFlowLogs`. `destination_ok` checks that this host can write the file (the model
/// does no I/O); `now` is the creation time (RFC 3339).
pub fn create(
    state: &mut State,
    ids: &mut dyn IdSource,
    req: &CreateFlowLogs,
    destination_ok: &dyn Fn(&Path) -> Result<(), String>,
    now: &str,
) -> ApiResult<CreateFlowLogsResult> {
    let kind = req
        .resource_type
        .as_deref()
        .ok_or_else(|| ApiError::missing("ResourceType"))?;
    if !RESOURCE_TYPES.contains(&kind) {
        return Err(invalid(format!(
            "ResourceType '{kind}' is not supported: flow logs here cover a {}",
            RESOURCE_TYPES.join(", a ")
        )));
    }
    if req.resource_ids.is_empty() {
        return Err(ApiError::missing("ResourceId"));
    }
    if req.resource_ids.len() > MAX_RESOURCES {
        return Err(invalid(format!(
            "A request may name at most {MAX_RESOURCES} resources"
        )));
    }
    let traffic = req
        .traffic_type
        .as_deref()
        .ok_or_else(|| ApiError::missing("TrafficType"))?;
    if !["ACCEPT", "REJECT", "ALL"].contains(&traffic) {
        return Err(ApiError::invalid_value(format!(
            "Invalid value '{traffic}' for TrafficType: must be ACCEPT, REJECT or ALL"
        )));
    }
    match req.log_destination_type.as_deref() {
        Some(DESTINATION_FILE) => {}
        None => {
            return Err(invalid(
                "LogDestinationType must be 'file': sgd writes flow logs to files (EC2's default, cloud-watch-logs, does not exist here)",
            ));
        }
        Some(other) => {
            return Err(invalid(format!(
                "LogDestinationType '{other}' is not supported: sgd writes flow logs to files (LogDestinationType file)"
            )));
        }
    }
    for (name, given) in [
        ("LogGroupName", &req.log_group_name),
        ("DeliverLogsPermissionArn", &req.deliver_logs_permission_arn),
        ("DeliverCrossAccountRole", &req.deliver_cross_account_role),
    ] {
        if given.is_some() {
            return Err(invalid(format!(
                "{name} applies to CloudWatch Logs and cross-account delivery only, not to LogDestinationType file"
            )));
        }
    }
    let destination = req
        .log_destination
        .as_deref()
        .ok_or_else(|| ApiError::missing("LogDestination"))?;
    let log_format = match req.log_format.as_deref() {
        Some(f) => f.split_whitespace().collect::<Vec<_>>().join(" "),
        None => DEFAULT_FORMAT
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    };
    format::parse(&log_format)?;
    let interval = match req.max_aggregation_interval {
        None => DEFAULT_INTERVAL,
        Some(60) => 60,
        Some(600) => 600,
        Some(n) => {
            return Err(ApiError::invalid_value(format!(
                "Invalid value '{n}' for MaxAggregationInterval: must be 60 or 600"
            )));
        }
    };
    // One file, one format: records of every flow log writing to it share its header.
    if let Some(other) = state
        .flow_logs
        .values()
        .find(|f| f.destination == destination && f.format != log_format)
    {
        return Err(invalid(format!(
            "LogDestination '{destination}' is the destination of {} with another LogFormat; flow logs sharing a file must share its format",
            other.id
        )));
    }
    destination_ok(Path::new(destination)).map_err(invalid)?;
    let tags = tags::tags_for(&req.tag_specifications, "vpc-flow-log")?;
    let mut out = CreateFlowLogsResult {
        client_token: req.client_token.clone(),
        flow_log_ids: Vec::new(),
        unsuccessful: Vec::new(),
    };
    for rid in &req.resource_ids {
        if let Some(e) = resource_missing(state, kind, rid) {
            out.unsuccessful.push(unsuccessful(rid, e));
            continue;
        }
        let same = state.flow_logs.values().any(|f| {
            f.resource_id == *rid && f.traffic_type == traffic && f.destination == destination
        });
        if same {
            out.unsuccessful.push(unsuccessful(
                rid,
                ApiError::new(
                    "FlowLogAlreadyExists",
                    "Error. There is an existing Flow Log with the same configuration and log destination.",
                ),
            ));
            continue;
        }
        let id = format!("fl-{}", hex17(ids.next()));
        state.flow_logs.insert(
            id.clone(),
            FlowLog {
                id: id.clone(),
                resource_type: kind.to_owned(),
                resource_id: rid.clone(),
                traffic_type: traffic.to_owned(),
                destination: destination.to_owned(),
                format: log_format.clone(),
                max_aggregation_interval: interval,
                created: now.to_owned(),
                tags: tags.clone(),
            },
        );
        out.flow_log_ids.push(id);
    }
    Ok(out)
}

/// The flow log in EC2's shape; `failure`: why its last window could not be written.
pub fn to_shape(f: &FlowLog, failure: Option<String>) -> FlowLogShape {
    FlowLogShape {
        creation_time: f.created.clone(),
        deliver_logs_status: if failure.is_some() {
            "FAILED"
        } else {
            "SUCCESS"
        }
        .into(),
        deliver_logs_error_message: failure,
        flow_log_id: f.id.clone(),
        flow_log_status: "ACTIVE".into(),
        resource_id: f.resource_id.clone(),
        traffic_type: f.traffic_type.clone(),
        log_destination_type: DESTINATION_FILE.into(),
        log_destination: f.destination.clone(),
        log_format: f.format.clone(),
        tags: f.tags.clone(),
        max_aggregation_interval: i64::from(f.max_aggregation_interval),
    }
}

struct View<'a>(&'a FlowLogShape);

impl filters::Filterable for View<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let f = self.0;
        Some(vec![match name {
            "deliver-log-status" => f.deliver_logs_status.clone(),
            "log-destination-type" => f.log_destination_type.clone(),
            "flow-log-id" => f.flow_log_id.clone(),
            "resource-id" => f.resource_id.clone(),
            "traffic-type" => f.traffic_type.clone(),
            // There are no log groups here: the filter matches nothing.
            "log-group-name" => return Some(Vec::new()),
            _ => return None,
        }])
    }

    fn tags(&self) -> &[super::Tag] {
        &self.0.tags
    }
}

/// `DescribeFlowLogs`: those named (all without names), through the filters. An id that
/// does not exist matches nothing (as on EC2).
pub fn describe(
    state: &State,
    req: &DescribeFlowLogs,
    failure: &dyn Fn(&str) -> Option<String>,
) -> ApiResult<DescribeFlowLogsResult> {
    let mut flow_logs = Vec::new();
    for f in state
        .flow_logs
        .values()
        .filter(|f| req.flow_log_ids.is_empty() || req.flow_log_ids.contains(&f.id))
    {
        let shape = to_shape(f, failure(&f.id));
        if filters::matches(&View(&shape), &req.filter)? {
            flow_logs.push(shape);
        }
    }
    Ok(DescribeFlowLogsResult {
        flow_logs,
        next_token: None,
    })
}

/// `DeleteFlowLogs`: each id that exists is deleted; the others are `Unsuccessful`.
pub fn delete(state: &mut State, req: &DeleteFlowLogs) -> ApiResult<DeleteFlowLogsResult> {
    if req.flow_log_ids.is_empty() {
        return Err(ApiError::missing("FlowLogId"));
    }
    let mut out = DeleteFlowLogsResult {
        unsuccessful: Vec::new(),
    };
    for id in &req.flow_log_ids {
        if state.flow_logs.remove(id).is_none() {
            out.unsuccessful.push(unsuccessful(
                id,
                ApiError::new(
                    "InvalidFlowLogId.NotFound",
                    format!("Flow Log '{id}' does not exist"),
                ),
            ));
        }
    }
    Ok(out)
}

/// Removes the flow logs whose resource is gone (as EC2 deletes an interface's flow logs
/// with the interface). Run after every change.
pub fn prune(state: &mut State) {
    let gone: Vec<String> = state
        .flow_logs
        .values()
        .filter(|f| resource_missing(state, &f.resource_type, &f.resource_id).is_some())
        .map(|f| f.id.clone())
        .collect();
    for id in gone {
        state.flow_logs.remove(&id);
    }
}

/// Whether flow log `f` covers interface `iface` (by VPC, by the interface itself, or by a
/// group in force on it).
pub fn covers(state: &State, f: &FlowLog, iface: &super::Interface) -> bool {
    match f.resource_type.as_str() {
        "VPC" => iface.vpc_id == f.resource_id,
        "NetworkInterface" => iface.id == f.resource_id,
        _ => state.effective_groups(iface).contains(&f.resource_id),
    }
}

#[cfg(test)]
mod tests;
