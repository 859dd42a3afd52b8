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
        let mut entries: Vec<_> = flows.iter().map(conntrack::to_entry).collect();
        if let Some(host) = self.host_id() {
            // The table knows devices; in a fleet interfaces are named fleet-wide.
            for e in &mut entries {
                e.network_interface_id = crate::fleet::qualify(host, &e.network_interface_id);
            }
        }
        Ok(DescribeConntrackResult {
            connection_tracking_entries: entries,
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
        // In a fleet: the interface named fleet-wide (or by its device, on its own host) must
        // be this host's, whose table is this one; the table knows it by its device.
        let mut req = req.clone();
        if let (Some(host), Some(id)) = (self.host_id(), req.network_interface_id.clone()) {
            let id = crate::fleet::qualify(host, &id);
            let dev = crate::fleet::local_device(host, &id)
                .filter(|_| self.state.interfaces.contains_key(&id))
                .ok_or_else(|| crate::model::ApiError::interface_not_found(&id))?;
            req.network_interface_id = Some(dev.to_owned());
            return conntrack::select(self.datapath.conntrack(), &req, |_| true);
        }
        conntrack::select(self.datapath.conntrack(), &req, |i| {
            self.state.interfaces.contains_key(i)
        })
    }
}
