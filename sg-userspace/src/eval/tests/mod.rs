//! Tests of the reference evaluator, one file per topic: rule matching, connection
//! tracking, neighbour discovery, and the compiler checked against it; the packet builder
//! they share lives here.

mod compiler_agreement;
mod neighbour_discovery;
mod rules;
mod tracking;

use super::*;
use crate::testkit::ip;

fn pkt(
    iface: &str,
    direction: Direction,
    remote: &str,
    local: &str,
    protocol: u8,
    port: u16,
) -> Packet {
    let (src, dst) = match direction {
        Direction::Inbound => (ip(remote), ip(local)),
        Direction::Outbound => (ip(local), ip(remote)),
    };
    Packet {
        iface: iface.into(),
        direction,
        src,
        dst,
        protocol,
        src_port: 40000,
        dst_port: port,
        tcp_syn: true,
        icmp_type: 0,
        icmp_code: 0,
        nd: None,
    }
}
