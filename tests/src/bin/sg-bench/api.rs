//! The EC2 Query API beside moto_server (the emulator people run today), same machine, same
//! run, same boto3 client script (`tests/python/api_bench.py`): DescribeSecurityGroups of
//! 2 500 groups, and AuthorizeSecurityGroupIngress, which sgd enforces in the kernel (the
//! group is attached to a veth) before it answers.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::Results;

/// The venv with boto3 and moto (`cargo xtask bench` installs them).
fn venv() -> Option<PathBuf> {
    let v = sg_tests::aws_venv_path();
    v.join("bin/moto_server").exists().then_some(v)
}

/// Runs the bench script in `ns` against `endpoint`.
fn run(
    ns: &sg_tests::Netns,
    venv: &Path,
    endpoint: &str,
    args: &[String],
    key: (&str, &str),
) -> Value {
    let out = sg_tests::aws_python(ns, venv, 1800, "api_bench.py", endpoint, "us-east-1", key)
        .args(args)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "api_bench.py against {endpoint}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("bench JSON")
}

/// Waits for a TCP port to accept in `ns`.
fn wait_port(ns: &sg_tests::Netns, port: u16) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let ok = ns.run(move || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        if ok {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("nothing listens on 127.0.0.1:{port}");
}

pub(crate) fn api(quick: bool) -> Results {
    let mut r = Results::new();
    let Some(venv) = venv() else {
        eprintln!("[bench] api: no moto_server in the AWS venv (cargo xtask bench installs it)");
        return r;
    };
    // moto refuses a 61st rule in a group (AWS's default quota): 50 authorizes on each side.
    let (groups, describes, authorizes) = if quick { (200, 10, 30) } else { (2500, 30, 50) };
    let t = sg_tests::Topology::new();
    // Room for 2 500 groups in the default VPC.
    let config = r#"{ "quotas": { "groups_per_vpc": 3000 } }"#;
    let d = sg_tests::Daemon::start_with(&t.fw, Some(config), &["--api-listen", "127.0.0.1:8443"]);
    let key = d.ok(&["create-access-key"]);
    let (id, secret) = (
        key["AccessKey"]["AccessKeyId"]
            .as_str()
            .expect("id")
            .to_owned(),
        key["AccessKey"]["SecretAccessKey"]
            .as_str()
            .expect("secret")
            .to_owned(),
    );
    // The authorizes go to a group attached to an interface: each answer waits for the
    // kernel's maps.
    let target = d.create_group("enforced");
    d.attach("fwa", &[&target]);
    let args = |target: Option<&str>| -> Vec<String> {
        let mut a = vec![
            groups.to_string(),
            describes.to_string(),
            authorizes.to_string(),
        ];
        a.extend(target.map(str::to_owned));
        a
    };
    let sg = run(
        &t.fw,
        &venv,
        "http://127.0.0.1:8443",
        &args(Some(&target)),
        (&id, &secret),
    );
    drop(d);
    let mut moto = Command::new("ip")
        .args(["netns", "exec", &t.fw.name])
        .arg(venv.join("bin/moto_server"))
        .args(["-H", "127.0.0.1", "-p", "5000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server");
    wait_port(&t.fw, 5000);
    let mo = run(
        &t.fw,
        &venv,
        "http://127.0.0.1:5000",
        &args(None),
        ("AKIAEXAMPLE", "secret"),
    );
    let _ = moto.kill();
    let _ = moto.wait();
    for (side, v) in [("api", &sg), ("api.moto", &mo)] {
        for op in ["describe", "describe_raw", "authorize"] {
            for k in ["p50_ms", "p99_ms", "rps"] {
                if let Some(x) = v[op][k].as_f64() {
                    r.insert(format!("{side}.{op}_{k}"), x);
                }
            }
        }
        if let Some(n) = v["groups"].as_f64() {
            r.insert(format!("{side}.groups"), n);
        }
    }
    for op in ["describe", "describe_raw", "authorize"] {
        if let (Some(a), Some(b)) = (sg[op]["rps"].as_f64(), mo[op]["rps"].as_f64()) {
            r.insert(format!("api.{op}_rps_ratio_vs_moto"), a / b);
        }
    }
    // The issue's key: the server's throughput on the describe, the heavier call (its answer
    // read whole, not parsed by boto3, whose parse costs the same on both sides).
    if let Some(&x) = r.get("api.describe_raw_rps_ratio_vs_moto") {
        r.insert("api.rps_ratio_vs_moto".into(), x);
    }
    r
}
