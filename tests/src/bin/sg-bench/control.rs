//! Control plane: apply latency, recompiles, member updates.

use std::time::Instant;

use sg_tests::lab::{IFACE, Lab};
use sg_userspace::{
    compiler,
    testkit::{World, ip, perm},
};

use crate::{
    Results, percentile,
    testrun::{me, prefixes_world},
};

/// Brings the lab interface to the model's current state; returns the milliseconds from
/// `start` to the new ruleset in force (compile, map writes, switch). Freeing the replaced
/// ruleset comes after, untimed: sgd does it once the request has been answered.
pub(crate) fn enforce(l: &mut Lab, start: Instant) -> f64 {
    let compiled = compiler::compile_all(&l.world.state, &l.world.addrs);
    let iface = l.world.state.interfaces[IFACE].clone();
    l.dp.apply(&iface, &compiled[IFACE]).expect("apply");
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    l.dp.reclaim();
    ms
}

pub(crate) fn control(l: &mut Lab, quick: bool) -> Results {
    let mut r = Results::new();
    // An interface with 1000 rules; then one more authorize, timed from request to the new
    // ruleset in force (compile + map writes + switch), many times.
    let mut w = World::new();
    w.quotas.rules_per_group = 201;
    let groups: Vec<String> = (0..5).map(|i| w.group(&format!("g{i}"))).collect();
    for (gi, g) in groups.iter().enumerate() {
        let perms = (0..200)
            .map(|i| {
                perm(
                    "tcp",
                    Some(((gi * 200 + i) as i32, (gi * 200 + i) as i32)),
                    &format!("10.{gi}.{i}.0/24"),
                )
            })
            .collect();
        w.authorize(g, false, perms).expect("rules");
    }
    let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
    w.attach(IFACE, &refs, &[me(false)]).expect("attach");
    l.world = w;
    l.apply();
    let mut times = Vec::new();
    for i in 0..(if quick { 50 } else { 300 }) {
        // Alternately add and remove one rule: each is a new ruleset of ~1000 rules.
        let rule = vec![perm("udp", Some((5353, 5353)), "0.0.0.0/0")];
        let start = Instant::now();
        if i % 2 == 0 {
            l.world
                .authorize(&groups[0], false, rule)
                .expect("authorize");
        } else {
            l.world.revoke(&groups[0], false, rule).expect("revoke");
        }
        times.push(enforce(l, start));
    }
    let start = Instant::now();
    let compiled = compiler::compile_all(&l.world.state, &l.world.addrs);
    r.insert(
        "control.compile_1000_rules_ms".into(),
        start.elapsed().as_secs_f64() * 1000.0,
    );
    drop(compiled);
    r.insert(
        "control.apply_p50_ms".into(),
        percentile(times.clone(), 0.5),
    );
    r.insert("control.apply_p99_ms".into(), percentile(times, 0.99));
    // Full recompile of 100 interfaces x 1000 rules.
    for i in 0..100 {
        l.world
            .attach(&format!("x{i}"), &refs, &[ip(&format!("172.16.0.{i}"))])
            .expect("attach");
    }
    let start = Instant::now();
    let compiled = compiler::compile_all(&l.world.state, &l.world.addrs);
    r.insert(
        "control.recompile_ms".into(),
        start.elapsed().as_secs_f64() * 1000.0,
    );
    assert_eq!(compiled.len(), 101);
    // One interface joins a group referenced by 10 000 members.
    let mut w = prefixes_world(10_000);
    let members = w
        .state
        .groups
        .values()
        .find(|g| g.name == "members")
        .expect("members")
        .id
        .clone();
    l.world = std::mem::take(&mut w);
    l.apply();
    let start = Instant::now();
    l.world
        .attach("newcomer", &[&members], &[ip("172.31.0.1")])
        .expect("attach");
    r.insert("control.member_update_ms".into(), enforce(l, start));
    r
}
