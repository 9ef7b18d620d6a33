//! Rules as written: what is accepted, and the key each mistake names.

use super::*;

fn rule(extra: &str) -> Result<Rule, Invalid> {
    let speed = ["http://127.0.0.1:9/speedtest".to_owned()];
    let monitors = ["gateway".to_owned()];
    let topics = ["sales".to_owned()];
    let channels = ["phone".to_owned()];
    let known = Known { speed_targets: &speed, monitors: &monitors, topics: &topics, channels: &channels };
    let table = format!("name = \"r\"\n{extra}");
    toml::from_str::<AlertConfig>(&table).unwrap().validate(&known)
}

#[test]
fn a_complete_rule_is_accepted() {
    let ok = rule(
        "series = \"speed:http://127.0.0.1:9/speedtest/\"\nfield = \"download_mbps\"\ncondition = \"< 80%\"\nbaseline = 500\nrecover = \">= 90%\"\naggregate = \"3 of 5\"\nfor = \"10m\"\nflapping = \"4 in 1h\"\nnotify = [\"phone\"]\n",
    )
    .unwrap();
    assert_eq!(ok.watched, Watched::Speed { target: Some("http://127.0.0.1:9/speedtest".into()) });
    assert_eq!(ok.judgement.pending_for, Duration::from_secs(600));
    assert_eq!(ok.judgement.flapping, Some((4, Duration::from_secs(3600))));
    assert!(rule("series = \"probe\"\nfield = \"up\"\ncondition = \"< 1\"\n").is_ok());
    assert!(rule("series = \"topic:sales\"\nfield = \"orders\"\ncondition = \"< 1\"\n").is_ok());
}

#[test]
fn a_rule_may_watch_one_agent_node_s_checks_or_tests() {
    let probe = rule("series = \"probe:gateway@tokyo\"\nfield = \"up\"\ncondition = \"< 1\"\n").unwrap();
    assert_eq!(probe.watched, Watched::Probe { monitor: Some("gateway@tokyo".into()) });
    let speed = rule("series = \"speed:http://127.0.0.1:9/speedtest/@tokyo\"\nfield = \"download_mbps\"\ncondition = \"< 1\"\n").unwrap();
    assert_eq!(speed.watched, Watched::Speed { target: Some("http://127.0.0.1:9/speedtest@tokyo".into()) });
    let dead_man = rule("series = \"node:tokyo\"\nfield = \"online\"\ncondition = \"< 1\"\n").unwrap();
    assert_eq!(dead_man.watched, Watched::Node { node: Some("tokyo".into()) });
    assert_eq!(rule("series = \"node\"\nfield = \"online\"\ncondition = \"< 1\"\n").unwrap().watched, Watched::Node { node: None });
    assert_eq!(rule("series = \"node\"\nfield = \"up\"\ncondition = \"< 1\"\n").unwrap_err().0, "alert.field");
    for unknown in ["node:to kyo", "probe:nas@tokyo", "probe:gateway@", "probe:gateway@to kyo", "speed:http://127.0.0.1:8/@tokyo"] {
        let error = rule(&format!("series = \"{unknown}\"\nfield = \"up\"\ncondition = \"< 1\"\n")).unwrap_err();
        assert_eq!(error.0, "alert.series", "{unknown}");
    }
}

#[test]
fn each_mistake_names_its_key() {
    let cases = [
        ("series = \"speeed\"\nfield = \"up\"\ncondition = \"< 1\"\n", "alert.series"),
        ("series = \"probe:nas\"\nfield = \"up\"\ncondition = \"< 1\"\n", "alert.series"),
        ("series = \"topic:visitors\"\nfield = \"n\"\ncondition = \"< 1\"\n", "alert.series"),
        ("series = \"speed\"\nfield = \"downlaod_mbps\"\ncondition = \"< 1\"\n", "alert.field"),
        ("series = \"speed\"\nfield = \"download_mbps\"\ncondition = \"under 1\"\n", "alert.condition"),
        ("series = \"speed\"\nfield = \"download_mbps\"\ncondition = \"< 80%\"\n", "alert.baseline"),
        ("series = \"speed\"\nfield = \"download_mbps\"\ncondition = \"< 1\"\nfor = \"ten minutes\"\n", "alert.for"),
        ("series = \"speed\"\nfield = \"download_mbps\"\ncondition = \"< 1\"\naggregate = \"4 of 3\"\n", "alert.aggregate"),
        ("series = \"speed\"\nfield = \"download_mbps\"\ncondition = \"< 1\"\nnotify = [\"pager\"]\n", "alert.notify"),
        ("series = \"speed\"\nfield = \"download_mbps\"\ncondition = \"< 1\"\nmessage = \"{{ nope }}\"\n", "alert.message"),
        ("series = \"speed\"\nfield = \"download_mbps\"\ncondition = \"< 1\"\nrepeat = \"5s\"\n", "alert.repeat"),
        ("series = \"speed\"\nfield = \"download_mbps\"\ncondition = \"< 1\"\nflapping = \"often\"\n", "alert.flapping"),
        ("series = \"probe\"\nfield = \"up\"\ncondition = \"< 1\"\nconfirm = true\n", "alert.confirm"),
    ];
    for (table, key) in cases {
        let (named, reason) = rule(table).unwrap_err();
        assert_eq!(named, key, "{table}: {reason}");
        assert!(reason.starts_with("rule \"r\": ") && !reason.contains('\n'), "{reason}");
    }
}

#[test]
fn a_rule_across_nodes_counts_a_monitor_or_target_from_every_node() {
    let across = rule("series = \"probe:gateway\"\nfield = \"up\"\ncondition = \"< 1\"\nnodes_at_least = 2\n").unwrap();
    let count = across.quorum.expect("judged across nodes");
    assert_eq!((count.field.as_str(), count.judgement.condition.number), ("nodes_in_breach", 2.0));
    assert!(rule("series = \"speed\"\nfield = \"download_mbps\"\ncondition = \"< 50\"\nnodes_at_least = 3\n").is_ok());
    for extra in [
        "series = \"probe:gateway@tokyo\"\nfield = \"up\"\ncondition = \"< 1\"\nnodes_at_least = 2\n",
        "series = \"topic:sales\"\nfield = \"orders\"\ncondition = \"< 1\"\nnodes_at_least = 2\n",
        "series = \"probe\"\nfield = \"up\"\ncondition = \"< 1\"\nnodes_at_least = 0\n",
        "series = \"speed\"\nfield = \"download_mbps\"\ncondition = \"< 50\"\nconfirm = true\nnodes_at_least = 2\n",
    ] {
        assert_eq!(rule(extra).unwrap_err().0, "alert.nodes_at_least", "{extra}");
    }
}
