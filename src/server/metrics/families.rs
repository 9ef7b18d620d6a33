//! The metric families, named as Prometheus advises: base units in the name
//! (seconds, bytes), `_total` for counters, and labels for what varies.

use std::collections::BTreeMap;

use prometheus::{core::Collector, Gauge, GaugeVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry};

use crate::{
    model::{node::NodeReport, ProbeResult, SpeedSample, ALERT_TOPIC, NODE_TOPIC, PROBE_TOPIC, SPEED_TOPIC},
    server::{
        auth::access::{series_of, topic_series, Caller},
        AppState,
    },
};

/// Every state an alert rule can be in, each a series that is 1 for the current one.
const ALERT_STATES: [&str; 4] = ["ok", "pending", "firing", "flapping"];

/// Adds a collector; the names are fixed here, so only a programming error could clash.
fn add(registry: &Registry, collector: impl Collector + 'static) {
    if let Err(error) = registry.register(Box::new(collector)) {
        tracing::error!(%error, "a metric could not be registered");
    }
}

fn gauges(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let family = GaugeVec::new(Opts::new(name, help), labels).expect("a valid metric name");
    add(registry, family.clone());
    family
}

/// The figures of the latest test of each target.
fn latest_speed(state: &AppState, caller: &Caller) -> BTreeMap<String, SpeedSample> {
    let (events, _) = state.hub.recent(SPEED_TOPIC);
    events
        .iter()
        .filter(|event| state.auth.access().may_read(caller, &series_of(SPEED_TOPIC, &event.key)))
        .filter_map(|event| serde_json::from_str::<SpeedSample>(&event.data).ok())
        .map(|sample| (sample.target.clone(), sample))
        .collect()
}

fn speed(registry: &Registry, state: &AppState, caller: &Caller) {
    let download = gauges(registry, "netpulse_speed_download_bytes_per_second", "Download rate of the latest speed test.", &["target"]);
    let upload = gauges(registry, "netpulse_speed_upload_bytes_per_second", "Upload rate of the latest speed test.", &["target"]);
    let latency = gauges(registry, "netpulse_speed_latency_seconds", "Idle round-trip time of the latest speed test.", &["target"]);
    let jitter = gauges(registry, "netpulse_speed_jitter_seconds", "Jitter of the idle round trips of the latest speed test.", &["target"]);
    let loaded = gauges(registry, "netpulse_speed_loaded_latency_seconds", "Round-trip time while downloading or uploading.", &["target", "direction"]);
    let ok = gauges(registry, "netpulse_speed_test_ok", "1 when the latest speed test succeeded, 0 when it failed.", &["target"]);
    let at = gauges(registry, "netpulse_speed_last_test_timestamp_seconds", "When the latest speed test finished, in Unix seconds.", &["target"]);
    let per_second = |mbps: f64| mbps * 1e6 / 8.0;
    for (target, sample) in latest_speed(state, caller) {
        let set = |family: &GaugeVec, labels: &[&str], value: Option<f64>| {
            if let Some(value) = value.filter(|v| v.is_finite()) {
                family.with_label_values(labels).set(value);
            }
        };
        let target = [target.as_str()];
        set(&download, &target, sample.download_mbps.map(per_second));
        set(&upload, &target, sample.upload_mbps.map(per_second));
        set(&latency, &target, sample.latency_ms.map(|ms| ms / 1000.0));
        set(&jitter, &target, sample.jitter_ms.map(|ms| ms / 1000.0));
        set(&loaded, &[target[0], "download"], sample.latency_down_ms.map(|ms| ms / 1000.0));
        set(&loaded, &[target[0], "upload"], sample.latency_up_ms.map(|ms| ms / 1000.0));
        set(&ok, &target, Some(if sample.error.is_none() { 1.0 } else { 0.0 }));
        set(&at, &target, Some(sample.at.timestamp_millis() as f64 / 1000.0));
    }
}

fn monitors(registry: &Registry, probes: &[ProbeResult]) {
    let up = gauges(registry, "netpulse_monitor_up", "1 when the monitor's latest check succeeded, 0 when it failed.", &["monitor"]);
    let response = gauges(registry, "netpulse_monitor_response_seconds", "Duration of the monitor's latest check, to the end of the response.", &["monitor"]);
    let phase = gauges(registry, "netpulse_monitor_phase_seconds", "Time the latest check spent in each phase.", &["monitor", "phase"]);
    let status = gauges(registry, "netpulse_monitor_status_code", "HTTP status of the monitor's latest check.", &["monitor"]);
    let at = gauges(registry, "netpulse_monitor_last_check_timestamp_seconds", "When the monitor was last checked, in Unix seconds.", &["monitor"]);
    let cert = gauges(
        registry,
        "netpulse_monitor_cert_expiry_timestamp_seconds",
        "When the HTTPS server's certificate expires, in Unix seconds, to within 15 minutes.",
        &["monitor"],
    );
    let loss = gauges(registry, "netpulse_monitor_ping_loss_ratio", "Share of the latest ping check's echo requests that got no reply.", &["monitor"]);
    let rtt = gauges(registry, "netpulse_monitor_ping_rtt_seconds", "Round trips of the latest ping check: min, max and mean deviation.", &["monitor", "stat"]);
    for probe in probes {
        let name = probe.monitor.as_str();
        up.with_label_values(&[name]).set(if probe.up { 1.0 } else { 0.0 });
        at.with_label_values(&[name]).set(probe.at.timestamp_millis() as f64 / 1000.0);
        if let Some(ms) = probe.response_ms {
            response.with_label_values(&[name]).set(ms / 1000.0);
        }
        if let Some(pct) = probe.loss_pct {
            loss.with_label_values(&[name]).set(pct / 100.0);
        }
        for (stat, ms) in [("min", probe.rtt_min_ms), ("max", probe.rtt_max_ms), ("mdev", probe.rtt_mdev_ms)] {
            if let Some(ms) = ms {
                rtt.with_label_values(&[name, stat]).set(ms / 1000.0);
            }
        }
        if let Some(days) = probe.cert_days_left {
            // Days to the hundredth, counted from the check.
            cert.with_label_values(&[name]).set((probe.at.timestamp_millis() as f64 / 1000.0 + days * 86_400.0).round());
        }
        if let Some(code) = probe.status_code {
            status.with_label_values(&[name]).set(f64::from(code));
        }
        for (label, ms) in [("dns", probe.dns_ms), ("connect", probe.connect_ms), ("tls", probe.tls_ms), ("ttfb", probe.ttfb_ms)] {
            if let Some(ms) = ms {
                phase.with_label_values(&[name, label]).set(ms / 1000.0);
            }
        }
    }
}

fn server(registry: &Registry, state: &AppState, caller: &Caller) {
    let info = IntGaugeVec::new(Opts::new("netpulse_build_info", "Always 1; the labels say which netpulse this is."), &["version", "node"]).expect("valid");
    info.with_label_values(&[env!("CARGO_PKG_VERSION"), &state.config.node]).set(1);
    add(registry, info);
    let uptime = Gauge::new("netpulse_uptime_seconds", "Time since netpulse started.").expect("valid");
    uptime.set(state.started.elapsed().as_secs_f64());
    add(registry, uptime);
    let published = IntCounter::new("netpulse_events_published_total", "Events published on every topic since start-up.").expect("valid");
    published.inc_by(state.hub.published());
    add(registry, published);
    let counts = state.subscribers.counts();
    let clients = IntGauge::new("netpulse_stream_clients", "Open event streams.").expect("valid");
    clients.set(i64::try_from(counts.total).unwrap_or(i64::MAX));
    add(registry, clients);
    let per_topic =
        IntGaugeVec::new(Opts::new("netpulse_stream_subscribers", "Open event streams that follow each topic; * for every topic."), &["topic"]).expect("valid");
    let shown = |topic: &str| topic == "*" || state.auth.access().may_read(caller, &topic_series(topic));
    for (topic, n) in counts.per_topic.iter().filter(|(topic, _)| shown(topic)) {
        per_topic.with_label_values(&[topic]).set(i64::try_from(*n).unwrap_or(i64::MAX));
    }
    add(registry, per_topic);
    let dropped = IntCounter::new("netpulse_stream_dropped_for_lag_total", "Streams cut off because they fell too far behind.").expect("valid");
    dropped.inc_by(counts.dropped_for_lag);
    add(registry, dropped);
    let health = state.writer.health();
    let store_ok = IntGauge::new("netpulse_store_ok", "1 while history is being written, 0 when writes fail.").expect("valid");
    store_ok.set(i64::from(health.ok));
    add(registry, store_ok);
    let failed = IntCounter::new("netpulse_store_failed_writes_total", "Events that could not be written to history.").expect("valid");
    failed.inc_by(health.failed_writes);
    add(registry, failed);
}

fn alerts(registry: &Registry, state: &AppState) {
    let states = IntGaugeVec::new(
        Opts::new("netpulse_alert_state", "1 for the state each rule is in for each subject, 0 for the others."),
        &["rule", "subject", "state"],
    )
    .expect("valid");
    for alert in state.alerts.board.list() {
        for name in ALERT_STATES {
            states.with_label_values(&[&alert.rule, &alert.subject, name]).set(i64::from(alert.phase == name));
        }
    }
    add(registry, states);
}

/// Each enrolled node's latest report on the `node` topic.
fn nodes(registry: &Registry, reports: &[NodeReport]) {
    let online = gauges(registry, "netpulse_agent_online", "1 while the agent node reports, 0 once it is offline.", &["node"]);
    let seen = gauges(registry, "netpulse_agent_last_seen_timestamp_seconds", "When the agent node last sent a batch, in Unix seconds.", &["node"]);
    let offset = gauges(registry, "netpulse_agent_clock_offset_seconds", "The server's clock minus the agent node's.", &["node"]);
    let backlog = gauges(registry, "netpulse_agent_outbox_results", "Results waiting in the agent node's outbox.", &["node"]);
    let dropped =
        gauges(registry, "netpulse_agent_outbox_dropped_results", "Results the agent node's outbox dropped for want of room since it joined.", &["node"]);
    for report in reports {
        let node = [report.node.as_str()];
        online.with_label_values(&node).set(f64::from(u8::from(report.online)));
        backlog.with_label_values(&node).set(report.backlog as f64);
        dropped.with_label_values(&node).set(report.dropped as f64);
        if let Some(at_ms) = report.last_seen_ms {
            seen.with_label_values(&node).set(at_ms as f64 / 1000.0);
        }
        if let Some(offset_ms) = report.clock_offset_ms {
            offset.with_label_values(&node).set(offset_ms as f64 / 1000.0);
        }
    }
}

/// A registry with every family, filled from the state as it is now.
pub fn gather(state: &AppState, caller: &Caller) -> Registry {
    let registry = Registry::new();
    let access = state.auth.access();
    server(&registry, state, caller);
    speed(&registry, state, caller);
    let probes: Vec<ProbeResult> = state.latest_probes().into_iter().filter(|p| access.may_read(caller, &series_of(PROBE_TOPIC, &p.monitor))).collect();
    monitors(&registry, &probes);
    let reports: Vec<NodeReport> = state
        .agents
        .names()
        .iter()
        .filter(|name| access.may_read(caller, &series_of(NODE_TOPIC, name)))
        .filter_map(|name| state.hub.latest(NODE_TOPIC, name))
        .filter_map(|event| serde_json::from_str(&event.data).ok())
        .collect();
    nodes(&registry, &reports);
    if access.may_read(caller, ALERT_TOPIC) {
        alerts(&registry, state);
    }
    registry
}
