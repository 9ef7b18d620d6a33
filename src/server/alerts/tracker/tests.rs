//! The state machine, fed one sample a minute.

use super::*;

const MINUTE: i64 = 60_000;

fn rule(condition: &str, aggregation: &str, pending_for: Duration) -> Judgement {
    let condition = Condition::parse(condition).unwrap();
    Judgement {
        recover: condition.negated(),
        condition,
        aggregation: Aggregation::parse(aggregation).unwrap(),
        pending_for,
        baseline: None,
        flapping: None,
        confirm: false,
    }
}

/// Feeds `values` one minute apart; the kinds of the transitions, with the minute they came.
fn run(rule: &Judgement, values: &[f64]) -> Vec<(i64, &'static str)> {
    let mut tracker = Tracker::default();
    values.iter().enumerate().filter_map(|(i, &value)| tracker.observe(rule, Sample { at_ms: i as i64 * MINUTE, value }).map(|t| (i as i64, t.kind))).collect()
}

#[test]
fn one_bad_sample_does_not_fire_an_m_of_n_rule() {
    let rule = rule("< 100", "3 of 5", Duration::ZERO);
    assert_eq!(run(&rule, &[200.0, 40.0, 200.0, 200.0, 200.0, 200.0]), []);
    assert_eq!(run(&rule, &[200.0, 40.0, 40.0, 200.0, 40.0, 200.0, 200.0, 200.0]), [(4, "firing"), (6, "resolved")]);
}

#[test]
fn pending_must_last_before_firing_and_clears_if_the_breach_ends() {
    let rule = rule("< 100", "last", Duration::from_secs(600));
    let brief = run(&rule, &[40.0, 40.0, 40.0, 200.0]);
    assert_eq!(brief, [(0, "pending"), (3, "cleared")]);
    let long: Vec<f64> = std::iter::repeat_n(40.0, 12).chain([200.0]).collect();
    assert_eq!(run(&rule, &long), [(0, "pending"), (10, "firing"), (12, "resolved")]);
}

#[test]
fn hysteresis_keeps_a_rule_firing_while_the_value_hovers_at_the_threshold() {
    let mut rule = rule("< 100", "last", Duration::ZERO);
    let hovering = [90.0, 101.0, 99.0, 102.0, 98.0, 130.0];
    assert_eq!(run(&rule, &hovering).len(), 6, "without hysteresis every crossing is a transition");
    rule.recover = Condition::parse(">= 120").unwrap();
    assert_eq!(run(&rule, &hovering), [(0, "firing"), (5, "resolved")]);
}

#[test]
fn the_resolution_carries_the_start_and_the_worst_value() {
    let rule = rule("< 100", "last", Duration::ZERO);
    let mut tracker = Tracker::default();
    let mut last = None;
    for (i, value) in [80.0, 12.5, 60.0, 150.0].into_iter().enumerate() {
        last = tracker.observe(&rule, Sample { at_ms: 1_000 + i as i64 * MINUTE, value }).or(last);
    }
    let resolved = last.unwrap();
    assert_eq!(resolved.kind, "resolved");
    assert_eq!((resolved.started_ms, resolved.worst, resolved.value), (Some(1_000), Some(12.5), 150.0));
    assert_eq!(tracker.phase(), Phase::Ok);
}

#[test]
fn a_rule_that_flaps_notifies_once_and_is_quiet_until_it_settles() {
    let mut rule = rule("< 100", "last", Duration::ZERO);
    rule.flapping = Some((3, Duration::from_secs(600)));
    // Up and down every minute for ten minutes, then steady and good.
    let mut values: Vec<f64> = (0..10).map(|i| if i % 2 == 0 { 50.0 } else { 150.0 }).collect();
    values.extend(std::iter::repeat_n(150.0, 12));
    let kinds = run(&rule, &values);
    assert_eq!(kinds, [(0, "firing"), (1, "resolved"), (2, "firing"), (3, "flapping"), (19, "settled")], "{kinds:?}");
}

#[test]
fn a_percentage_needs_its_baseline() {
    let mut rule = rule("< 80%", "last", Duration::ZERO);
    rule.recover = Condition::parse(">= 90%").unwrap();
    rule.baseline = Some(500.0);
    let mut tracker = Tracker::default();
    let fired = tracker.observe(&rule, Sample { at_ms: 0, value: 350.0 }).unwrap();
    assert_eq!((fired.kind, fired.threshold), ("firing", Some(400.0)));
    assert!(tracker.observe(&rule, Sample { at_ms: MINUTE, value: 420.0 }).is_none(), "above 80% but below the 90% recovery");
    assert_eq!(tracker.observe(&rule, Sample { at_ms: 2 * MINUTE, value: 460.0 }).unwrap().kind, "resolved");
}

#[test]
fn a_confirming_rule_fires_only_when_the_retest_breaches_too() {
    let mut rule = rule("< 100", "last", Duration::ZERO);
    rule.confirm = true;
    assert_eq!(run(&rule, &[40.0, 200.0]), [(0, "confirming"), (1, "cleared")], "the retest was fine: no alert");
    assert_eq!(run(&rule, &[40.0, 30.0, 200.0]), [(0, "confirming"), (1, "firing"), (2, "resolved")]);
    let mut slow = rule.clone();
    slow.pending_for = Duration::from_secs(120);
    assert_eq!(run(&slow, &[40.0, 40.0, 40.0, 40.0]), [(0, "pending"), (2, "confirming"), (3, "firing")], "after its pending time");
}
