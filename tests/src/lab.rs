//! A datapath loaded in a private network namespace, for `TestRun` verdict tests: the real
//! programs and maps, attached to a veth end `t0` (instance mode: XDP = inbound, TC egress =
//! outbound), driven through the real compiler from a model state.

use sg_userspace::{
    compiler,
    datapath::{Datapath, DatapathConfig, DatapathLog, Hook, XdpModeChoice},
    testkit::World,
};

use crate::{Netns, frame::Frame};

/// The protected interface inside the lab namespace.
pub const IFACE: &str = "t0";

pub struct Lab {
    pub world: World,
    pub dp: Datapath,
    pub ifindex: u32,
}

impl Lab {
    /// Compiles the world and brings the datapath to it.
    pub fn apply(&mut self) {
        let compiled = compiler::compile_all(&self.world.state, &self.world.addrs);
        let iface = self.world.state.interfaces[IFACE].clone();
        self.dp
            .apply(&iface, &compiled[IFACE])
            .expect("apply ruleset");
        self.dp.reclaim();
    }

    /// Runs a frame arriving on the interface (inbound); true if it passes.
    pub fn inbound(&mut self, f: &Frame) -> bool {
        self.run(Hook::Xdp, &f.bytes())
    }

    /// Runs a frame leaving the interface (outbound); true if it passes.
    pub fn outbound(&mut self, f: &Frame) -> bool {
        self.run(Hook::TcEgress, &f.bytes())
    }

    pub fn run(&mut self, hook: Hook, bytes: &[u8]) -> bool {
        self.dp
            .test_run(hook, self.ifindex, bytes, 1)
            .expect("test run")
            .pass
    }

    /// Sets the interface's TCP established timeout (SG-IF-4) through the model and applies it.
    pub fn set_tcp_established_timeout(&mut self, secs: i64) {
        let req = sg_userspace::api::ModifyNetworkInterfaceAttribute {
            network_interface_id: Some(IFACE.into()),
            connection_tracking_specification: Some(
                sg_userspace::api::ConnectionTrackingSpecification {
                    tcp_established_timeout: Some(secs),
                    ..Default::default()
                },
            ),
            ..Default::default()
        };
        sg_userspace::model::ops::modify_network_interface_attribute(
            &mut self.world.state,
            &self.world.quotas,
            &req,
            &|_| true,
        )
        .expect("modify the interface");
        self.apply();
    }

    /// A counter of the interface by name (`drop_malformed`, ...).
    pub fn counter(&self, name: &str) -> u64 {
        let i = sg_common::stats::REASON_NAMES
            .iter()
            .position(|n| *n == name)
            .expect("counter name");
        self.dp.stats(IFACE).expect("attached")[i]
    }
}

/// Runs `f` with a fresh lab in a fresh namespace; everything is removed afterwards.
pub fn with_lab<T: Send + 'static>(f: impl FnOnce(&mut Lab) -> T + Send + 'static) -> T {
    with_lab_sized(4096, 4096, f)
}

/// The same with conntrack allowances of `ct_tcp` TCP and `ct_other` other flows.
pub fn with_lab_sized<T: Send + 'static>(
    ct_tcp: u32,
    ct_other: u32,
    f: impl FnOnce(&mut Lab) -> T + Send + 'static,
) -> T {
    with_lab_opts(ct_tcp, ct_other, None, f)
}

/// The same with the lab interface created at a chosen ifindex.
pub fn with_lab_opts<T: Send + 'static>(
    ct_tcp: u32,
    ct_other: u32,
    ifindex: Option<u32>,
    f: impl FnOnce(&mut Lab) -> T + Send + 'static,
) -> T {
    lab(ct_tcp, ct_other, ifindex, DatapathLog::default(), f)
}

/// The same with the datapath's log at `log` (the default: warn).
pub fn with_lab_logging<T: Send + 'static>(
    ct_tcp: u32,
    ct_other: u32,
    log: DatapathLog,
    f: impl FnOnce(&mut Lab) -> T + Send + 'static,
) -> T {
    lab(ct_tcp, ct_other, None, log, f)
}

fn lab<T: Send + 'static>(
    ct_tcp: u32,
    ct_other: u32,
    ifindex: Option<u32>,
    log: DatapathLog,
    f: impl FnOnce(&mut Lab) -> T + Send + 'static,
) -> T {
    let ns = Netns::new("lab");
    // The links stay down: no real traffic (IPv6 autoconfiguration, MLD) reaches the
    // programs and disturbs the counters; TestRun does not need them up.
    let index = ifindex.map(|i| i.to_string());
    let mut args = vec!["link", "add", IFACE];
    if let Some(i) = &index {
        args.extend(["index", i.as_str()]);
    }
    args.extend(["type", "veth", "peer", "name", "t1"]);
    ns.ip(&args);
    let ifindex_wanted = ifindex;
    ns.run(move || {
        let dp = Datapath::load(DatapathConfig {
            pin_dir: None,
            xdp_mode: XdpModeChoice::Skb,
            ct_tcp_max: ct_tcp,
            ct_other_max: ct_other,
            // TestRun suites judge the tables as AWS does; the budgets have tests of their own.
            budgets: sg_userspace::datapath::CtBudgets::NONE,
            log,
            log_interface: None,
        })
        .expect("load datapath");
        let ifindex = nix::net::if_::if_nametoindex(IFACE).expect("ifindex");
        if let Some(want) = ifindex_wanted {
            assert_eq!(ifindex, want, "lab interface at the requested ifindex");
        }
        let mut lab = Lab {
            world: World::new(),
            dp,
            ifindex,
        };
        f(&mut lab)
    })
}

/// Pins the calling thread to `cpu` (or to the one it runs on): every test run then uses one
/// CPU's flow cache, so a test knows which cache passed what.
pub fn pin_to_cpu(cpu: Option<usize>) {
    use nix::{sched, unistd::Pid};
    let cpu = cpu.unwrap_or_else(|| sched::sched_getcpu().expect("current CPU"));
    let mut set = sched::CpuSet::new();
    set.set(cpu).expect("CPU set");
    sched::sched_setaffinity(Pid::from_raw(0), &set).expect("pin the test thread");
}
