//! The alert commands: `netpulse notify-test NAME` and `netpulse alerts backtest RULE`.
//! Each returns its exit code: 0 done, 1 not delivered, 2 bad flags or config.

use std::collections::HashMap;

use crate::{
    format,
    server::{
        alerts::{backtest::backtest, compose::subject_label, routes::test_message, send::send, service::Alerts, template},
        clock::now_ms,
        config::cli::{load_config_file, BacktestArgs, NotifyTestArgs},
        store::Store,
    },
};

const DAY_MS: i64 = 86_400_000;

pub async fn notify_test(args: NotifyTestArgs) -> u8 {
    let config = match load_config_file(args.config.as_deref()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("netpulse: {err}");
            return 2;
        }
    };
    let alerts = match Alerts::new(&config) {
        Ok(alerts) => alerts,
        Err(err) => {
            eprintln!("netpulse: {err}");
            return 2;
        }
    };
    let Some(channel) = alerts.channels.get(&args.channel) else {
        let mut names: Vec<&String> = alerts.channels.keys().collect();
        names.sort();
        eprintln!("netpulse: no [[notify]] channel is named {:?}; channels: {}", args.channel, names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", "));
        return 2;
    };
    let note = test_message(&config.node);
    match send(channel, &note, &alerts.http).await {
        Ok(()) => {
            println!("delivered to {} (delivery id {})", args.channel, note.delivery_id);
            0
        }
        Err(err) => {
            println!("not delivered to {}: {err}", args.channel);
            1
        }
    }
}

pub async fn backtest_command(args: BacktestArgs) -> u8 {
    let mut config = match load_config_file(args.config.as_deref()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("netpulse: {err}");
            return 2;
        }
    };
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if let Some(url) = args.database_url {
        config.database_url = Some(url);
    }
    if let Err(err) = crate::server::store::config::validate_database_url(config.database_url.as_ref()) {
        eprintln!("netpulse: {err}");
        return 2;
    }
    let rules = match config.checked_rules() {
        Ok(rules) => rules,
        Err(err) => {
            eprintln!("netpulse: {err}");
            return 2;
        }
    };
    let Some(rule) = rules.iter().find(|r| r.name == args.rule) else {
        eprintln!("netpulse: no [[alert]] rule is named {:?}; rules: {}", args.rule, rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", "));
        return 2;
    };
    let to_ms = args.to.unwrap_or_else(now_ms);
    let from_ms = args.from.unwrap_or(to_ms - 7 * DAY_MS);
    if from_ms >= to_ms {
        eprintln!("netpulse: --from must be before --to");
        return 2;
    }
    if config.database_url.is_none() && !config.data_dir.join("netpulse.db").exists() {
        eprintln!("netpulse: no history database in {} (set --data-dir or data_dir)", config.data_dir.display());
        return 2;
    }
    let store = match Store::open_configured(&config).await {
        Ok(store) => store,
        Err(err) => {
            eprintln!("netpulse: history database: {err}");
            return 1;
        }
    };
    let result = match backtest(&store, rule, from_ms, to_ms).await {
        Ok(result) => result,
        Err(err) => {
            eprintln!("netpulse: {err}");
            return 2;
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&result).unwrap_or_default());
        return 0;
    }
    let time = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default();
    println!("{} over {} samples from {} to {}: {} incidents", rule.name, result.samples, time(from_ms), time(to_ms), result.incidents.len());
    let mut firing_ms: HashMap<&str, i64> = HashMap::new();
    for incident in &result.incidents {
        let end = incident.ended_ms.unwrap_or(to_ms);
        *firing_ms.entry(incident.subject.as_str()).or_default() += end - incident.started_ms;
        let (_, unit) = template::label_and_unit(&rule.field);
        println!(
            "  {}  {:>10}  {}{}{}  {}",
            time(incident.started_ms),
            format::duration(end - incident.started_ms),
            incident.worst.map(|w| format!("worst {}{}{unit}", template::number(w), if unit.is_empty() { "" } else { " " })).unwrap_or_default(),
            if incident.ended_ms.is_none() { ", still firing" } else { "" },
            if incident.flapped { ", flapped" } else { "" },
            subject_label(&incident.subject),
        );
    }
    for (subject, total) in firing_ms {
        println!("{}: in breach for {} in all", subject_label(subject), format::duration(total));
    }
    0
}
