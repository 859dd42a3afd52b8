//! Flow logs end to end (issue 16): real traffic in namespaces, then the records sgd wrote,
//! field by field, against what the traffic was and what the kernel counted; the same file
//! read by flowlogs-reader (a parser of AWS's flow logs, from PyPI); rotation; a flood of
//! refused packets that becomes one record per flow and window.
//!
//! sgd runs with `--flow-log-window 2` (capture windows of 2 s, read every second), so the
//! records come in seconds rather than minutes.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use serde_json::Value;
use sg_tests::*;

type Record = HashMap<String, String>;

/// Every field, the custom format of the main test.
const ALL_FIELDS: &str = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} \
    ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} \
    ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} \
    ${pkt-dstaddr} ${region} ${az-id} ${flow-direction} ${traffic-path} ${reject-reason}";

fn records(path: &Path) -> Vec<Record> {
    flow_log_records(path)
}

/// Waits until the records of `path` satisfy `done` (windows close every 2 s).
fn wait_records(path: &Path, what: &str, done: impl Fn(&[Record]) -> bool) -> Vec<Record> {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let r = records(path);
        if done(&r) {
            return r;
        }
        assert!(Instant::now() < end, "{what}: {r:#?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn num(r: &Record, f: &str) -> u64 {
    r[f].parse()
        .unwrap_or_else(|_| panic!("{f} is a number: {r:?}"))
}

/// The records of one flow and direction, and their packets and bytes summed over windows.
fn flow(rs: &[Record], pick: impl Fn(&Record) -> bool) -> (Vec<&Record>, u64, u64) {
    let mine: Vec<&Record> = rs
        .iter()
        .filter(|r| r["log-status"] == "OK" && pick(r))
        .collect();
    let packets = mine.iter().map(|r| num(r, "packets")).sum();
    let bytes = mine.iter().map(|r| num(r, "bytes")).sum();
    (mine, packets, bytes)
}

fn flows_of(d: &Daemon) -> Vec<Value> {
    d.ok(&["describe-conntrack"])["ConnectionTrackingEntries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn flow_logs_record_what_the_traffic_was() {
    if !require_root("flow_logs_record_what_the_traffic_was") {
        return;
    }
    let t = Topology::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let dir = logs.path().to_str().unwrap();
    let mut d = Daemon::start_with(
        &t.fw,
        None,
        &["--flow-log-window", "2", "--flow-log-dir", dir],
    );
    let all_file = logs.path().join("all.log");
    let rejects_file = logs.path().join("rejects.log");
    let web = d.create_group("web");
    d.allow_in(&web, "tcp", "22", "192.0.2.0/24");
    // Open to anywhere, and the default egress rule open too: untracked (SG-ENF-3).
    d.allow_in(&web, "tcp", "80", "0.0.0.0/0");
    d.attach("fwa", &[&web]);
    // b is an instance behind fwb, protected from the host side, with the
    // source/destination check on (SG-IF-5).
    d.ok(&[
        "create-network-interface",
        "--network-interface-id",
        "fwb",
        "--attach-mode",
        "host",
        "--private-ip-addresses",
        B4,
    ]);
    let groups = d.ok(&["describe-security-groups", "--group-ids", &web]);
    let account = groups["SecurityGroups"][0]["OwnerId"]
        .as_str()
        .unwrap()
        .to_owned();
    let vpc = groups["SecurityGroups"][0]["VpcId"]
        .as_str()
        .unwrap()
        .to_owned();

    let all = d.create_flow_log(
        "VPC",
        &[&vpc],
        "ALL",
        &all_file,
        &[
            "--log-format",
            ALL_FIELDS,
            "--max-aggregation-interval",
            "60",
        ],
    );
    assert_eq!(all["FlowLogIds"].as_array().map(Vec::len), Some(1), "{all}");
    assert_eq!(all["Unsuccessful"], serde_json::json!([]));
    let rejects = d.create_flow_log("SecurityGroup", &[&web], "REJECT", &rejects_file, &[]);
    let rejects_id = rejects["FlowLogIds"][0].as_str().unwrap().to_owned();
    let described = d.ok(&["describe-flow-logs", "--flow-log-ids", &rejects_id]);
    let f = &described["FlowLogs"][0];
    assert_eq!(
        (
            f["ResourceId"].as_str(),
            f["TrafficType"].as_str(),
            f["LogDestinationType"].as_str(),
            f["DeliverLogsStatus"].as_str(),
            f["FlowLogStatus"].as_str(),
            f["MaxAggregationInterval"].as_i64(),
        ),
        (
            Some(web.as_str()),
            Some("REJECT"),
            Some("file"),
            Some("SUCCESS"),
            Some("ACTIVE"),
            Some(600)
        )
    );
    assert!(
        f["LogFormat"]
            .as_str()
            .unwrap()
            .starts_with("${version} ${account-id}")
    );

    let _ssh = tcp_server(&t.fw, 22);
    let _web = tcp_server(&t.fw, 80);
    // Accepted and tracked, with its replies; refused; untracked; a flood of one refused
    // flow; spoofed.
    assert!(tcp_connects(&t.a, FW_A4, 22));
    let ssh = flows_of(&d)
        .into_iter()
        .find(|f| f["LocalPort"] == 22)
        .expect("the SSH flow is tracked");
    assert!(!tcp_connects_quick(&t.a, FW_A4, 23));
    assert!(tcp_connects(&t.a, FW_A4, 80));
    t.a.run(|| {
        let s = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
        for _ in 0..300 {
            s.send_to(&[0u8; 100], (FW_A4, 9999)).expect("send");
        }
    });
    t.b.ip(&["addr", "add", "198.51.100.66/32", "dev", "eth0"]);
    assert!(!tcp_connects_from(&t.b, "198.51.100.66", FW_B4, 22));

    let rs = wait_records(&all_file, "every flow recorded", |rs| {
        let ok =
            |pick: &dyn Fn(&Record) -> bool| rs.iter().any(|r| r["log-status"] == "OK" && pick(r));
        ok(&|r| r["dstport"] == "22" && r["action"] == "ACCEPT")
            && ok(&|r| r["srcport"] == "22" && r["action"] == "ACCEPT")
            && ok(&|r| r["dstport"] == "23")
            && ok(&|r| r["srcport"] == "80")
            && ok(&|r| r["dstport"] == "9999")
            && ok(&|r| r["pkt-srcaddr"] == "198.51.100.66")
    });
    // Every record: the interface's and the account's fields, version 8 (reject-reason).
    for r in &rs {
        assert_eq!(r["version"], "8");
        assert_eq!(r["account-id"], account);
        assert_eq!(r["vpc-id"], vpc);
        assert_eq!(r["region"], "us-east-1");
        for f in ["subnet-id", "instance-id", "az-id", "traffic-path"] {
            assert_eq!(r[f], "-", "{f} has no meaning here: {r:?}");
        }
        assert!(num(r, "start") <= num(r, "end"), "{r:?}");
    }

    // SSH: tracked; one record per direction and window, counted exactly as conntrack did
    // (once the windows holding its last packets are written).
    let port = ssh["RemotePort"].as_u64().unwrap().to_string();
    let now = flows_of(&d)
        .into_iter()
        .find(|f| f["LocalPort"] == 22 && f["RemotePort"] == ssh["RemotePort"])
        .expect("still tracked (closing)");
    let want = (
        now["InboundPackets"].as_u64().unwrap(),
        now["OutboundPackets"].as_u64().unwrap(),
    );
    let rs = wait_records(&all_file, "the SSH flow counted as conntrack did", |rs| {
        let inb = flow(rs, |r| r["dstport"] == "22" && r["srcport"] == port).1;
        let outb = flow(rs, |r| r["srcport"] == "22" && r["dstport"] == port).1;
        (inb, outb) == want
    });
    let (inbound, packets, bytes) = flow(&rs, |r| r["dstport"] == "22" && r["srcport"] == port);
    let r = inbound[0];
    assert_eq!(
        (
            r["interface-id"].as_str(),
            r["srcaddr"].as_str(),
            r["dstaddr"].as_str(),
            r["protocol"].as_str(),
            r["action"].as_str(),
            r["type"].as_str(),
            r["flow-direction"].as_str(),
            r["reject-reason"].as_str(),
        ),
        ("fwa", A4, FW_A4, "6", "ACCEPT", "IPv4", "ingress", "-")
    );
    assert_eq!(
        (r["pkt-srcaddr"].as_str(), r["pkt-dstaddr"].as_str()),
        (A4, FW_A4)
    );
    // The client's SYN (2) and its FIN (1).
    let flags: u64 = inbound
        .iter()
        .map(|r| num(r, "tcp-flags"))
        .fold(0, |a, f| a | f);
    assert_eq!(flags & 3, 3, "SYN and FIN: {inbound:?}");
    assert_eq!(packets, now["InboundPackets"].as_u64().unwrap(), "{now}");
    // Records count IP packets: conntrack counted the Ethernet headers too.
    assert_eq!(
        bytes,
        now["InboundBytes"].as_u64().unwrap() - 14 * packets,
        "{now}"
    );
    let (replies, packets, _) = flow(&rs, |r| r["srcport"] == "22" && r["dstport"] == port);
    assert_eq!(packets, now["OutboundPackets"].as_u64().unwrap());
    let r = replies[0];
    assert_eq!(
        (
            r["srcaddr"].as_str(),
            r["dstaddr"].as_str(),
            r["flow-direction"].as_str()
        ),
        (FW_A4, A4, "egress")
    );
    let flags: u64 = replies
        .iter()
        .map(|r| num(r, "tcp-flags"))
        .fold(0, |a, f| a | f);
    assert_eq!(flags & 18, 18, "the SYN-ACK: {replies:?}");

    // The refused SYN(s): REJECT, and why.
    let (refused, _, _) = flow(&rs, |r| r["dstport"] == "23");
    assert!(refused.iter().all(|r| r["action"] == "REJECT"
        && r["reject-reason"] == "NoRule"
        && r["flow-direction"] == "ingress"
        && r["tcp-flags"] == "2"));

    // Untracked: every packet judged, both ways, accepted.
    let (client, inb, _) = flow(&rs, |r| r["dstport"] == "80" && r["action"] == "ACCEPT");
    // Each packet judged: the flags are those of the packets, not of their union (the
    // client's SYN and its ACKs are no SYN-ACK).
    let flags = client
        .iter()
        .map(|r| num(r, "tcp-flags"))
        .fold(0, |a, f| a | f);
    assert_eq!(flags & 18, 2, "{client:?}");
    let (_, outb, _) = flow(&rs, |r| r["srcport"] == "80" && r["action"] == "ACCEPT");
    assert!(inb >= 3 && outb >= 2, "{inb} {outb}");
    assert!(
        flows_of(&d).iter().all(|f| f["LocalPort"] != 80),
        "untracked"
    );

    // 300 refused datagrams of one flow: their records, not 300 events, and every packet.
    let rs = wait_records(&all_file, "the whole flood", |rs| {
        flow(rs, |r| r["dstport"] == "9999").1 >= 300
    });
    let (flood, packets, bytes) = flow(&rs, |r| r["dstport"] == "9999");
    assert!(flood.len() <= 2, "one record per window: {flood:?}");
    assert_eq!(packets, 300);
    assert_eq!(bytes, 300 * (20 + 8 + 100));
    assert_eq!(flood[0]["protocol"], "17");
    assert_eq!(flood[0]["tcp-flags"], "-");

    // Spoofed by the instance behind fwb: srcaddr is its address, pkt-srcaddr the packet's.
    let (spoofed, _, _) = flow(&rs, |r| r["pkt-srcaddr"] == "198.51.100.66");
    let r = spoofed[0];
    assert_eq!(
        (
            r["interface-id"].as_str(),
            r["srcaddr"].as_str(),
            r["dstaddr"].as_str(),
            r["flow-direction"].as_str(),
            r["action"].as_str(),
            r["reject-reason"].as_str()
        ),
        ("fwb", B4, FW_B4, "egress", "REJECT", "SourceDestCheck")
    );

    // The REJECT flow log, default format: only refusals, of the group's interface.
    let rj = wait_records(&rejects_file, "the refusals", |rs| {
        rs.iter().any(|r| r["dstport"] == "9999") && rs.iter().any(|r| r["dstport"] == "23")
    });
    assert_eq!(
        records(&rejects_file).first().map(|r| r.keys().len()),
        Some(14),
        "the version 2 fields"
    );
    assert!(
        rj.iter()
            .all(|r| r["log-status"] != "OK" || r["action"] == "REJECT")
    );
    assert!(
        rj.iter().all(|r| r["interface-id"] == "fwa"),
        "the group is on fwa only"
    );

    // Quiet windows: NODATA, with the window's times and nothing else.
    let rs = wait_records(&all_file, "a quiet window", |rs| {
        rs.iter()
            .any(|r| r["log-status"] == "NODATA" && r["interface-id"] == "fwa")
    });
    let quiet = rs.iter().find(|r| r["log-status"] == "NODATA").unwrap();
    // Quiet since: nothing was counted again in the windows after (each counted once).
    std::thread::sleep(Duration::from_secs(6));
    let later = records(&all_file);
    assert_eq!(flow(&later, |r| r["dstport"] == "9999").1, 300);
    assert_eq!(
        (
            flow(&later, |r| r["dstport"] == "22" && r["srcport"] == port).1,
            flow(&later, |r| r["srcport"] == "22" && r["dstport"] == port).1
        ),
        want
    );
    assert_eq!(
        (quiet["srcaddr"].as_str(), quiet["action"].as_str()),
        ("-", "-")
    );

    // A real parser of AWS's flow logs reads the same records.
    if let Some(venv) = aws_venv("flow_logs_record_what_the_traffic_was") {
        let out = Command::new(venv.join("bin/python"))
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/flowlogs_parse.py"))
            .arg(&rejects_file)
            .arg(&all_file)
            .output()
            .expect("run flowlogs_parse.py");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let parsed: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
        let ours: Vec<Record> = records(&rejects_file)
            .into_iter()
            .chain(records(&all_file))
            .collect();
        assert!(
            parsed.len() >= ours.len(),
            "{} {}",
            parsed.len(),
            ours.len()
        );
        for (p, r) in parsed.iter().zip(&ours) {
            for (field, v) in p.as_object().unwrap() {
                let mine = &r[&field.replace('_', "-")];
                let theirs = match v {
                    Value::Null => "-".to_owned(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                assert_eq!(&theirs, mine, "{field}: {p} vs {r:?}");
            }
        }
    }

    // Deleting a flow log writes its open window and stops it; sgd stopping writes the
    // others' (nothing counted is lost).
    let out = d.ok(&[
        "delete-flow-logs",
        "--flow-log-ids",
        &rejects_id,
        "fl-0123456789abcdef0",
    ]);
    assert_eq!(
        out["Unsuccessful"][0]["Error"]["Code"],
        "InvalidFlowLogId.NotFound"
    );
    assert_eq!(
        d.ok(&["describe-flow-logs"])["FlowLogs"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert!(!tcp_connects_quick(&t.a, FW_A4, 24));
    d.stop();
    assert!(
        records(&all_file).iter().any(|r| r["dstport"] == "24"),
        "the last window is written at stop"
    );
}

#[test]
fn flow_log_files_rotate_within_their_cap() {
    if !require_root("flow_log_files_rotate_within_their_cap") {
        return;
    }
    let t = Topology::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start_with(
        &t.fw,
        Some(r#"{"flow_log_max_file_bytes": 4096, "flow_log_max_files": 2}"#),
        &[
            "--flow-log-window",
            "2",
            "--flow-log-dir",
            logs.path().to_str().unwrap(),
        ],
    );
    let file = logs.path().join("flows.log");
    let web = d.create_group("web");
    d.attach("fwa", &[&web]);
    d.create_flow_log("NetworkInterface", &["fwa"], "REJECT", &file, &[]);
    // 200 refused flows (one source port each): 200 records, about 20 KB.
    t.a.run(|| {
        for _ in 0..200 {
            let s = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
            s.send_to(b"x", (FW_A4, 9999)).expect("send");
        }
    });
    let rotated = |n: u32| PathBuf::from(format!("{}.{n}", file.display()));
    let end = Instant::now() + Duration::from_secs(20);
    while !rotated(2).exists() {
        assert!(Instant::now() < end, "rotated twice");
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(Duration::from_secs(3));
    assert!(!rotated(3).exists(), "two rotated files kept");
    for p in [file.clone(), rotated(1), rotated(2)] {
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.len() <= 4096,
            "{} is {} bytes",
            p.display(),
            text.len()
        );
        assert!(
            text.starts_with("version account-id interface-id"),
            "{}",
            p.display()
        );
    }
    // The newest files hold the newest records; the oldest were dropped, never the disk
    // filled.
    let kept: usize = records(&file)
        .iter()
        .filter(|r| r["log-status"] == "OK")
        .count();
    assert!(kept > 0 && kept < 200, "{kept}");
}

#[test]
fn bad_requests_are_refused_and_windows_cut_short_are_written() {
    if !require_root("bad_requests_are_refused_and_windows_cut_short_are_written") {
        return;
    }
    let t = Topology::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Daemon::start_with(
        &t.fw,
        None,
        &["--flow-log-dir", dir.path().to_str().unwrap()],
    );
    let missing = dir.path().join("missing/f.log");
    let err = |args: &[&str]| -> String {
        let out = d.sgctl(args);
        assert!(!out.status.success(), "{args:?} must fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let base = [
        "create-flow-logs",
        "--resource-type",
        "NetworkInterface",
        "--resource-ids",
        "fwa",
        "--traffic-type",
        "ALL",
        "--log-destination-type",
    ];
    let e = err(&[
        &base[..],
        &["s3", "--log-destination", "arn:aws:s3:::bucket"],
    ]
    .concat());
    assert!(e.contains("InvalidParameter"), "{e}");
    let e = err(&[
        &base[..],
        &["file", "--log-destination", missing.to_str().unwrap()],
    ]
    .concat());
    assert!(e.contains("does not exist"), "{e}");
    // Only inside the flow-log directory: an API caller must not have sgd write elsewhere.
    let e = err(&[&base[..], &["file", "--log-destination", "/etc/sg-x.log"]].concat());
    assert!(e.contains("outside"), "{e}");
    assert!(!Path::new("/etc/sg-x.log").exists());
    let e = err(&[&base[..], &["file", "--log-destination", "relative.log"]].concat());
    assert!(e.contains("absolute"), "{e}");
    let e = err(&[
        &base[..],
        &[
            "file",
            "--log-destination",
            "/tmp/x.log",
            "--log-format",
            "${version} ${bogus}",
        ],
    ]
    .concat());
    assert!(e.contains("unknown field 'bogus'"), "{e}");
    // An interface that does not exist: unsuccessful, not an error.
    let web = d.create_group("web");
    d.attach("fwa", &[&web]);
    let dest = dir.path().join("f.log");
    let out = d.create_flow_log("NetworkInterface", &["fwa", "nope0"], "ALL", &dest, &[]);
    assert_eq!(out["FlowLogIds"].as_array().map(Vec::len), Some(1));
    assert_eq!(out["Unsuccessful"][0]["ResourceId"], "nope0");
    let fl = out["FlowLogIds"][0].as_str().unwrap().to_owned();

    // Windows are 600 s here: deleting the flow log writes the window it had open.
    assert!(!tcp_connects_quick(&t.a, FW_A4, 23));
    d.ok(&["delete-flow-logs", "--flow-log-ids", &fl]);
    let refused = |port: &str| {
        records(&dest)
            .iter()
            .any(|r| r["dstport"] == port && r["action"] == "REJECT")
    };
    assert!(refused("23"), "{:#?}", records(&dest));
    // So does sgd stopping; the flow log is kept, and logs again once sgd is back.
    let again = d.create_flow_log("NetworkInterface", &["fwa"], "REJECT", &dest, &[]);
    assert_eq!(again["FlowLogIds"].as_array().map(Vec::len), Some(1));
    assert!(!tcp_connects_quick(&t.a, FW_A4, 24));
    d.stop();
    assert!(refused("24"), "{:#?}", records(&dest));
    d.respawn();
    assert_eq!(
        d.ok(&["describe-flow-logs"])["FlowLogs"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert!(!tcp_connects_quick(&t.a, FW_A4, 25));
    d.stop();
    assert!(refused("25"), "{:#?}", records(&dest));
    d.respawn();
    // Deleting the interface deletes its flow log (as EC2 does).
    d.ok(&["delete-network-interface", "--network-interface-id", "fwa"]);
    assert_eq!(
        d.ok(&["describe-flow-logs"])["FlowLogs"],
        serde_json::json!([])
    );
}
