//! `observe`: who is watching which interface's decisions. An interface produces flow events
//! only while someone watches it (or a flow log covers it), so nobody watching costs
//! the datapath nothing; the events themselves are read and sent out in `serve`.

use std::collections::HashSet;

use tracing::warn;

use super::Core;
use crate::{
    api::ObserveRequest,
    model::{ApiError, ApiResult},
    observe,
};

impl Core {
    /// Checks an observer's request and starts watching its interface (every interface of
    /// this host without one): the observer's id, and the request with the interface named
    /// as events name it.
    pub fn observe_start(&mut self, req: &ObserveRequest) -> ApiResult<(u64, ObserveRequest)> {
        observe::check(req)?;
        let mut req = req.clone();
        let device = match &req.network_interface_id {
            Some(id) => {
                let id = match self.host_id() {
                    Some(host) => crate::fleet::qualify(host, id),
                    None => id.clone(),
                };
                if !self.state.interfaces.contains_key(&id) {
                    return Err(ApiError::interface_not_found(&id));
                }
                let dev = self.local_device(&id).ok_or_else(|| {
                    ApiError::invalid_value(format!(
                        "{id} is another host's interface: observe it on its host"
                    ))
                })?;
                let dev = dev.to_owned();
                req.network_interface_id = Some(id);
                Some(dev)
            }
            None => None,
        };
        self.next_observer += 1;
        let id = self.next_observer;
        self.observers.insert(id, device);
        self.rewatch();
        Ok((id, req))
    }

    /// An observer went.
    pub fn observe_stop(&mut self, id: u64) {
        self.observers.remove(&id);
        self.rewatch();
    }

    /// Flow events on exactly the interfaces someone watches or a flow log covers.
    pub(super) fn rewatch(&mut self) {
        let all = self.observers.values().any(Option::is_none);
        let devices: HashSet<String> = self
            .observers
            .values()
            .flatten()
            .chain(&self.flow_logs.devices)
            .cloned()
            .collect();
        if let Err(e) = self.datapath.watch(all, devices) {
            warn!(error = %e, "switching flow events failed");
        }
    }

    /// The interface id of a protected device's ifindex (fleet-wide in a fleet).
    pub fn interface_of(&self, ifindex: u32) -> Option<String> {
        let dev = self.datapath.device_of(ifindex)?;
        Some(match self.host_id() {
            Some(host) => crate::fleet::qualify(host, &dev),
            None => dev,
        })
    }

    /// The datapath's log records, for the daemon's one reader.
    pub fn take_datapath_logger(&mut self) -> Option<aya_log::EbpfLogger<&'static dyn log::Log>> {
        self.datapath.take_logger()
    }

    /// The flow events' ring buffer, for the daemon's one reader.
    pub fn take_flow_events(&mut self) -> Option<aya::maps::RingBuf<aya::maps::MapData>> {
        self.datapath.take_flow_events()
    }
}
