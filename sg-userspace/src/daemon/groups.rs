//! What sgd adds to the security-group operations: the counters of each rule in
//! `describe-security-group-rules` (SG-ENF-12), which only the datapath knows. The other group,
//! rule, VPC, prefix-list and import operations read or change only the state, so the
//! dispatch calls `model` for them directly.

use std::collections::HashMap;

use sg_common::rule::RuleHits;

use super::{Core, metrics};
use crate::{
    api::{DescribeSecurityGroupRules, DescribeSecurityGroupRulesResult},
    model::{ApiResult, rules},
};

impl Core {
    /// `describe-security-group-rules`, each rule with its counters summed over interfaces.
    pub(super) fn describe_security_group_rules(
        &mut self,
        req: &DescribeSecurityGroupRules,
    ) -> ApiResult<DescribeSecurityGroupRulesResult> {
        let mut out = rules::describe_rules(&self.state, req)?;
        let totals = self.rule_totals();
        for r in &mut out.security_group_rules {
            let hits = totals
                .get(&r.security_group_rule_id)
                .copied()
                .unwrap_or_default();
            r.statistics = Some(metrics::hit_counters(&hits));
        }
        Ok(out)
    }

    /// Each rule's counters summed over the interfaces, by rule id: a group on several
    /// interfaces counts on each of them.
    fn rule_totals(&mut self) -> HashMap<String, RuleHits> {
        let mut totals: HashMap<String, RuleHits> = HashMap::new();
        let ifaces: Vec<String> = self.state.interfaces.keys().cloned().collect();
        for iface in ifaces {
            for (rule, h) in self.datapath.rule_hits(&iface) {
                let t = totals.entry(rule).or_default();
                t.packets += h.packets;
                t.bytes += h.bytes;
                t.last_ns = t.last_ns.max(h.last_ns);
            }
        }
        totals
    }
}
