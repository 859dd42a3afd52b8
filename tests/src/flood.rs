//! Floods from a neighbour namespace (trafgen, Debian's netsniff-ng): spoofed sources, as
//! fast as the generator goes, for as long as the flood is kept.

use std::{
    os::unix::process::CommandExt,
    process::{Child, Command, Stdio},
    thread,
    time::Duration,
};

use serde_json::Value;

use crate::{A4, B4, Daemon, FW_A4, Netns, Topology};

/// A device's MAC address (a flood's frames must be addressed to it, or the stack ignores
/// them).
pub fn mac_of(ns: &Netns, dev: &str) -> String {
    let out = Command::new("ip")
        .args(["-n", &ns.name, "-j", "link", "show", dev])
        .output()
        .expect("ip link");
    let v: Value = serde_json::from_slice(&out.stdout).expect("ip -j");
    v[0]["address"].as_str().expect("address").to_owned()
}

/// SYNs from random sources and ports to `FW_A4:8080` (the device of MAC `mac`).
pub fn syn_flood(mac: &str) -> String {
    format!(
        "{{ eth(da={mac}, type=0x0800), ipv4(saddr=drnd(), daddr={FW_A4}, ttl=64), \
         tcp(sp=drnd(), dp=8080, seq=drnd(), syn, window=64240) }}\n"
    )
}

/// UDP datagrams from random sources and ports to `FW_A4:5300`: each a new inbound flow.
pub fn udp_flood(mac: &str) -> String {
    format!(
        "{{ eth(da={mac}, type=0x0800), ipv4(saddr=drnd(), daddr={FW_A4}, ttl=64), \
         udp(sp=drnd(), dp=5300), fill(0x41, 18) }}\n"
    )
}

/// trafgen in a namespace, sending a packet (trafgen's configuration language) from its
/// `eth0` without end, until dropped.
pub struct Flood {
    child: Child,
    conf: std::path::PathBuf,
}

impl Flood {
    pub fn start(ns: &Netns, packet: &str) -> Self {
        let conf =
            std::env::temp_dir().join(format!("sg-flood-{}-{}.cfg", std::process::id(), ns.name));
        std::fs::write(&conf, packet).expect("trafgen config");
        let child = Command::new("ip")
            .args([
                "netns", "exec", &ns.name, "trafgen", "--dev", "eth0", "--conf",
            ])
            .arg(&conf)
            .args(["--num", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // A group of its own, killed whole: `ip netns exec` runs trafgen as a child.
            .process_group(0)
            .spawn()
            .expect("trafgen (Debian: netsniff-ng)");
        // Let it reach full speed.
        thread::sleep(Duration::from_millis(500));
        Self { child, conf }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.conf);
    }
}

/// The interface's conntrack allowance, as `describe-network-interfaces` shows it.
pub fn allowance(d: &Daemon) -> Value {
    let out = d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "fwa",
    ]);
    out["NetworkInterfaces"][0]["ConntrackAllowance"].clone()
}

pub fn statistic(d: &Daemon, name: &str) -> u64 {
    let out = d.ok(&[
        "describe-network-interfaces",
        "--network-interface-ids",
        "fwa",
    ]);
    out["NetworkInterfaces"][0]["Statistics"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} in {out}"))
}

/// sgd protecting `fwa` with a group open on TCP 8080 and UDP 5300 to anyone, and egress only
/// to `b` (so no flow is untracked), the firewall namespace routing everything else to `a`.
pub fn instance(t: &Topology, config: &str) -> Daemon {
    t.fw.ip(&["route", "add", "default", "via", A4]);
    let d = Daemon::start_with_config(&t.fw, Some(config));
    let g = d.create_group("open");
    d.allow_in(&g, "tcp", "8080", "0.0.0.0/0");
    d.allow_in(&g, "udp", "5300", "0.0.0.0/0");
    d.ok(&[
        "revoke-security-group-egress",
        "--group-id",
        &g,
        "--protocol",
        "-1",
        "--cidr",
        "0.0.0.0/0",
    ]);
    d.ok(&[
        "authorize-security-group-egress",
        "--group-id",
        &g,
        "--protocol",
        "udp",
        "--port",
        "5300",
        "--cidr",
        &format!("{B4}/32"),
    ]);
    d.attach("fwa", &[&g]);
    d.attach("fwb", &[&g]);
    d
}
