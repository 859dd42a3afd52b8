//! Single-stream TCP throughput (iperf3) through each mode against no firewall and nftables.

use std::{collections::BTreeMap, time::Duration};

use crate::{Results, median};

/// One iperf3 TCP stream from peer a into the instance; Gbit/s received.
fn iperf(t: &sg_tests::Topology, secs: u32) -> f64 {
    let mut server = std::process::Command::new("ip")
        .args(["netns", "exec", &t.fw.name, "iperf3", "-s", "-1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("iperf3 server (is iperf3 installed?)");
    std::thread::sleep(Duration::from_millis(300));
    let out = t.a.exec(&[
        "iperf3",
        "-c",
        sg_tests::FW_A4,
        "-t",
        &secs.to_string(),
        "-J",
    ]);
    let _ = server.wait();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap_or(0.0)
        / 1e9
}

pub(crate) fn throughput(quick: bool) -> Results {
    let mut r = Results::new();
    let secs = if quick { 2 } else { 5 };
    // No firewall and the default mode alternate, five rounds, and the medians are
    // compared: single runs on this shared VM vary by ~20%.
    let rounds = if quick { 1 } else { 5 };
    let t = sg_tests::Topology::new();
    let mut ruleset = String::new();
    let mut runs: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let protected = |mode: &str, ruleset: &mut String| {
        let d = sg_tests::Daemon::start_with(&t.fw, None, &["--xdp-mode", mode]);
        let g = d.create_group("bench");
        d.allow_in(&g, "tcp", "5201", "192.0.2.2/32");
        d.attach("fwa", &[&g]);
        let gbps = iperf(&t, secs);
        if ruleset.is_empty() {
            let out = d.sgctl(&["export", "--network-interface-id", "fwa", "--format", "nft"]);
            *ruleset = String::from_utf8_lossy(&out.stdout).into_owned();
        }
        gbps
    };
    for round in 0..rounds {
        runs.entry("throughput.none_gbps")
            .or_default()
            .push(iperf(&t, secs));
        let gbps = protected("auto", &mut ruleset);
        runs.entry("throughput.sg_default_gbps")
            .or_default()
            .push(gbps);
        if round == 0 {
            for (mode, key) in [
                ("native", "throughput.sg_native_gbps"),
                ("skb", "throughput.sg_skb_gbps"),
                ("tc", "throughput.sg_tc_gbps"),
            ] {
                let gbps = protected(mode, &mut ruleset);
                runs.entry(key).or_default().push(gbps);
            }
        }
    }
    for (key, v) in runs {
        r.insert(key.into(), median(v));
    }
    let file = std::env::temp_dir().join(format!("sg-bench-{}.nft", std::process::id()));
    std::fs::write(&file, &ruleset).expect("ruleset");
    let loaded =
        t.fw.exec(&["nft", "-f", file.to_str().expect("utf-8")])
            .status
            .success();
    let _ = std::fs::remove_file(&file);
    if loaded {
        r.insert("throughput.nft_gbps".into(), iperf(&t, secs));
        r.insert(
            "throughput.ratio_vs_nft".into(),
            r["throughput.sg_default_gbps"] / r["throughput.nft_gbps"],
        );
    }
    r.insert(
        "throughput.ratio_vs_none".into(),
        r["throughput.sg_default_gbps"] / r["throughput.none_gbps"],
    );
    r
}
