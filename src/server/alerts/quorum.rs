//! Rules across nodes, "down from at least K of N": with `nodes_at_least`, a
//! `probe` or `speed` rule judges each vantage point's copy of a monitor or
//! target (this server's `web`, `web@tokyo`, `web@berlin`) on its own, and
//! fires for the monitor itself once at least K of them breach.

use std::{collections::HashMap, time::Duration};

use crate::server::{
    alerts::{
        condition::{Aggregation, Comparison, Condition, Sample},
        config::{Rule, Watched},
        tracker::{Judgement, Phase, Tracker},
    },
    auth::access::split_node,
};

/// The field a rule across nodes judges: how many vantage points breach.
pub const NODES_IN_BREACH: &str = "nodes_in_breach";

/// The monitor or target a vantage point's subject copies: `web` of `web@tokyo`.
pub fn group_of(subject: &str) -> &str {
    split_node(subject).map_or(subject, |(own, _)| own)
}

/// The rule that judges the count: it fires at `at_least` vantage points in breach and recovers below.
pub fn count_rule(rule: &Rule, at_least: usize) -> Rule {
    Rule { field: NODES_IN_BREACH.to_owned(), judgement: count_judgement(at_least, rule.judgement.flapping), quorum: None, ..rule.clone() }
}

/// Each vantage point waited the rule's own `for`, so the count decides at once.
fn count_judgement(at_least: usize, flapping: Option<(usize, Duration)>) -> Judgement {
    let threshold = at_least as f64;
    Judgement {
        condition: Condition { comparison: Comparison::AtLeast, number: threshold, percent_of_baseline: false },
        recover: Condition { comparison: Comparison::Below, number: threshold, percent_of_baseline: false },
        aggregation: Aggregation::Last,
        pending_for: Duration::ZERO,
        baseline: None,
        flapping,
        confirm: false,
    }
}

/// `nodes_at_least` goes on a rule over a monitor or target from every node, and is 1 to 64.
pub fn check_at_least(at_least: u32, watched: &Watched, confirm: bool) -> Result<usize, String> {
    let one_node = |name: &Option<String>| name.as_deref().is_some_and(|name| split_node(name).is_some());
    match watched {
        Watched::Probe { monitor } if !one_node(monitor) => {}
        Watched::Speed { target } if !one_node(target) => {}
        _ => return Err("goes with probe, probe:<monitor>, speed or speed:<target>, each without @<node>: it counts the nodes".to_owned()),
    }
    if confirm {
        return Err("a rule across nodes cannot also confirm with a retest".to_owned());
    }
    if !(1..=64).contains(&at_least) {
        return Err(format!("must be 1 to 64 nodes, got {at_least}"));
    }
    Ok(at_least as usize)
}

/// Each rule's tracker per vantage point, as `observe` feeds them.
pub struct Vantages {
    trackers: HashMap<(usize, String), Tracker>,
    /// When this server started judging: the vantage points' trackers start empty then.
    started_ms: i64,
}

/// How long after start-up a vantage point's tracker may not yet know it breaches:
/// its `for`, and its window when it aggregates over one.
fn settling(judgement: &Judgement) -> Duration {
    let window = match judgement.aggregation {
        Aggregation::Over { window, .. } => window,
        _ => Duration::ZERO,
    };
    judgement.pending_for + window
}

impl Vantages {
    pub fn new(started_ms: i64) -> Self {
        Self { trackers: HashMap::new(), started_ms }
    }

    /// Judges `subject`'s sample by rule `index`'s own judgement; then how many of
    /// its group's vantage points breach, once at least `at_least` have reported
    /// since start-up. A count below `at_least` is held back while the trackers
    /// settle, so a restart does not resolve an open incident they have not yet re-judged.
    pub fn observe(&mut self, index: usize, judgement: &Judgement, at_least: usize, subject: &str, sample: Sample) -> Option<usize> {
        self.trackers.entry((index, subject.to_owned())).or_default().observe(judgement, sample);
        let group = group_of(subject);
        let mut reporting = 0;
        let mut breaching = 0;
        for ((rule, vantage), tracker) in &self.trackers {
            if *rule == index && group_of(vantage) == group {
                reporting += 1;
                breaching += usize::from(tracker.phase() == Phase::Firing);
            }
        }
        let settled_ms = self.started_ms.saturating_add(i64::try_from(settling(judgement).as_millis()).unwrap_or(i64::MAX / 2));
        let settling = breaching < at_least && sample.at_ms < settled_ms;
        (reporting >= at_least && !settling).then_some(breaching)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down_judgement(pending_for: Duration) -> Judgement {
        Judgement {
            condition: Condition::parse("< 1").unwrap(),
            recover: Condition::parse(">= 1").unwrap(),
            aggregation: Aggregation::Last,
            pending_for,
            baseline: None,
            flapping: None,
            confirm: false,
        }
    }

    #[test]
    fn counts_the_vantage_points_in_breach_once_enough_have_reported() {
        let judgement = down_judgement(Duration::ZERO);
        let mut vantages = Vantages::new(0);
        let at = |at_ms, value| Sample { at_ms, value };
        assert_eq!(vantages.observe(0, &judgement, 2, "web", at(1, 0.0)), None, "one of the two needed has reported");
        assert_eq!(vantages.observe(0, &judgement, 2, "web@tokyo", at(2, 1.0)), Some(1));
        assert_eq!(vantages.observe(0, &judgement, 2, "db@tokyo", at(2, 0.0)), None, "another monitor is its own group");
        assert_eq!(vantages.observe(0, &judgement, 2, "web@berlin", at(3, 0.0)), Some(2));
        assert_eq!(vantages.observe(1, &judgement, 2, "web@berlin", at(3, 0.0)), None, "each rule apart");
        assert_eq!(vantages.observe(0, &judgement, 2, "web", at(4, 1.0)), Some(1));
        assert_eq!(group_of("http://h/speedtest@tokyo"), "http://h/speedtest");
    }

    #[test]
    fn a_vantage_point_breaches_only_after_the_rules_own_for_and_a_low_count_waits_that_long_after_start_up() {
        let judgement = down_judgement(Duration::from_secs(60));
        let mut vantages = Vantages::new(0);
        assert_eq!(vantages.observe(0, &judgement, 1, "web@berlin", Sample { at_ms: 1, value: 1.0 }), None, "up, but berlin may not know yet");
        let at = |at_ms, value| Sample { at_ms, value };
        vantages.observe(0, &judgement, 1, "web@tokyo", at(0, 0.0));
        assert_eq!(vantages.observe(0, &judgement, 1, "web@tokyo", at(30_000, 0.0)), None, "pending: not a count to act on yet");
        assert_eq!(vantages.observe(0, &judgement, 1, "web@tokyo", at(60_000, 0.0)), Some(1));
        assert_eq!(vantages.observe(0, &judgement, 1, "web@tokyo", at(90_000, 1.0)), Some(0), "settled: a low count counts");
    }

    #[test]
    fn the_count_rule_fires_at_k_and_recovers_below() {
        let judgement = count_judgement(2, None);
        let mut tracker = Tracker::default();
        let at = |at_ms, value| Sample { at_ms, value };
        assert_eq!(tracker.observe(&judgement, at(0, 1.0)), None);
        assert_eq!(tracker.observe(&judgement, at(1, 2.0)).map(|t| t.kind), Some("firing"));
        assert_eq!(tracker.observe(&judgement, at(2, 3.0)), None);
        assert_eq!(tracker.observe(&judgement, at(3, 1.0)).map(|t| t.kind), Some("resolved"));
    }
}
