//! `describe-conntrack` and `flush-conntrack`: the tracked flows a query selects, shown or
//! removed. Which flows a query selects and how a flow is shown are `crate::conntrack`'s; this
//! room only brings the datapath's table and the daemon's interfaces to it.

use super::Core;
use crate::{
    api::{ConntrackQuery, DescribeConntrackResult, FlushConntrackResult},
    conntrack,
    datapath::Flow,
    model::ApiResult,
};

impl Core {
    pub(super) fn describe_conntrack(
        &self,
        req: &ConntrackQuery,
    ) -> ApiResult<DescribeConntrackResult> {
        let flows = self.select_flows(req)?;
        Ok(DescribeConntrackResult {
            connection_tracking_entries: flows.iter().map(conntrack::to_entry).collect(),
        })
    }

    pub(super) fn flush_conntrack(
        &mut self,
        req: &ConntrackQuery,
    ) -> ApiResult<FlushConntrackResult> {
        let flows = self.select_flows(req)?;
        Ok(FlushConntrackResult {
            flushed: self.datapath.flush(&flows) as u64,
        })
    }

    /// The tracked flows `req` selects; naming an interface sgd does not know is an error,
    /// not an empty answer.
    fn select_flows(&self, req: &ConntrackQuery) -> ApiResult<Vec<Flow>> {
        conntrack::select(self.datapath.conntrack(), req, |i| {
            self.state.interfaces.contains_key(i)
        })
    }
}
