//! Conntrack: the sweep of a full table.

use std::time::Instant;

use sg_common::conntrack::{CT_STATE_ESTABLISHED, CtKey, CtValue};
use sg_tests::lab::Lab;
use sg_userspace::datapath::Datapath;

use crate::{Results, testrun::prefixes_world};

pub(crate) fn conntrack(l: &mut Lab, quick: bool) -> Results {
    let mut r = Results::new();
    l.world = prefixes_world(10);
    l.apply();
    let n: u32 = if quick { 100_000 } else { 1_000_000 };
    let now = Datapath::now();
    for i in 0..n {
        let mut local = [0u8; 16];
        local[..4].copy_from_slice(&[192, 0, 2, 1]);
        let mut remote = [0u8; 16];
        remote[..4].copy_from_slice(&(0x0a00_0000u32 + i / 1000).to_be_bytes());
        let key = CtKey {
            ifindex: l.ifindex,
            local,
            remote,
            local_port: 443,
            remote_port: (i % 1000) as u16 + 1024,
            proto: 6,
            family: 4,
            _pad: [0; 2],
        };
        let value = CtValue {
            last_seen_ns: now,
            state: CT_STATE_ESTABLISHED,
            ..Default::default()
        };
        l.dp.insert_conntrack(key, value).expect("insert");
    }
    let bytes = l.dp.conntrack_tcp_bytes().unwrap_or(0) as f64;
    let usage =
        nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_THREAD).expect("rusage");
    let start = Instant::now();
    let report = l.dp.sweep(now + 433_000 * 1_000_000_000);
    let wall = start.elapsed().as_secs_f64() * 1000.0;
    let after =
        nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_THREAD).expect("rusage");
    let cpu = |u: &nix::sys::resource::Usage| {
        let (a, b) = (u.user_time(), u.system_time());
        a.tv_sec() as f64 * 1000.0
            + a.tv_usec() as f64 / 1000.0
            + b.tv_sec() as f64 * 1000.0
            + b.tv_usec() as f64 / 1000.0
    };
    assert_eq!(report.removed_tcp, n as u64);
    let key = if quick {
        "conntrack.sweep_100k_ms"
    } else {
        "conntrack.sweep_1m_ms"
    };
    r.insert(key.into(), wall);
    r.insert(format!("{key}_cpu"), cpu(&after) - cpu(&usage));
    r.insert(
        "conntrack.bytes_per_entry".into(),
        bytes / f64::from(1u32 << 21),
    );
    r
}
