//! Watches the kernel's routing netlink for link and address changes, so sgd reacts at once
//! when an interface appears, disappears or changes address (SG-IF-3), not at its next poll.

use std::{io, sync::Arc, thread};

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use tokio::sync::Notify;
use tracing::warn;

const RTMGRP_LINK: u32 = 0x1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;

/// Starts a thread that wakes `changed` on every link or address event of this network
/// namespace.
pub fn spawn(changed: Arc<Notify>) -> io::Result<()> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind(&SocketAddr::new(
        0,
        RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
    ))?;
    thread::Builder::new()
        .name("sg-netlink".into())
        .spawn(move || {
            loop {
                match socket.recv_from_full() {
                    Ok(_) => changed.notify_one(),
                    Err(e) => {
                        // ENOBUFS: events were lost; a refresh re-reads everything anyway.
                        warn!(error = %e, "netlink watch");
                        changed.notify_one();
                        if e.raw_os_error() != Some(libc::ENOBUFS) {
                            return;
                        }
                    }
                }
            }
        })?;
    Ok(())
}
