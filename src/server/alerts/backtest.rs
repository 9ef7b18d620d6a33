//! Backtesting a rule: stored raw samples replayed through the same tracker
//! the live evaluator uses, giving the incidents the rule would have raised.

use serde::Serialize;

use crate::server::{
    alerts::{
        condition::Sample,
        config::{Rule, Watched, NODE_FIELDS},
        tracker::{Phase, Tracker},
    },
    store::{
        fields::{from_milli, PROBE_FIELDS, SPEED_FIELDS},
        Store, StoreError,
    },
};

/// The fields kept as history, which a backtest can replay.
fn replayable() -> impl Iterator<Item = &'static str> {
    SPEED_FIELDS.iter().chain(["up"].iter()).chain(PROBE_FIELDS).chain(NODE_FIELDS).copied()
}

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("{0:?} is not kept as history, so it cannot be replayed; fields that can: {list}", list = replayable().collect::<Vec<_>>().join(", "))]
    NotKept(String),
    #[error("history database: {0}")]
    Store(#[from] StoreError),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BacktestIncident {
    pub subject: String,
    pub started_ms: i64,
    pub fired_ms: i64,
    /// None: still firing at the end of the range.
    pub ended_ms: Option<i64>,
    pub worst: Option<f64>,
    pub flapped: bool,
}

#[derive(Debug, Serialize)]
pub struct Backtest {
    pub samples: usize,
    pub incidents: Vec<BacktestIncident>,
}

/// The series and the subject prefix a rule reads from history.
fn series_filter(watched: &Watched) -> (String, bool) {
    match watched {
        Watched::Speed { target: Some(target) } => (format!("speed:{target}"), false),
        Watched::Speed { target: None } => ("speed:".into(), true),
        Watched::Probe { monitor: Some(monitor) } => (format!("probe:{monitor}"), false),
        Watched::Probe { monitor: None } => ("probe:".into(), true),
        Watched::Topic { topic } => (format!("topic:{topic}"), false),
        Watched::Node { node: Some(node) } => (format!("node:{node}"), false),
        Watched::Node { node: None } => ("node:".into(), true),
    }
}

pub async fn backtest(store: &Store, rule: &Rule, from_ms: i64, to_ms: i64) -> Result<Backtest, BacktestError> {
    let custom = matches!(rule.watched, Watched::Topic { .. });
    if !custom && !replayable().any(|field| field == rule.field) {
        return Err(BacktestError::NotKept(rule.field.clone()));
    }
    let (series, prefix) = series_filter(&rule.watched);
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT f.series, s.at_ms, s.milli FROM sample s JOIN field f ON f.id = s.field_id \
         WHERE f.name = $1 AND (f.series = $2 OR ($3 AND substr(f.series, 1, length($4)) = $5)) AND s.at_ms >= $6 AND s.at_ms < $7 \
         ORDER BY f.series, s.at_ms, s.event_id",
    )
    .bind(&rule.field)
    .bind(&series)
    .bind(prefix)
    .bind(&series)
    .bind(&series)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(store.pool())
    .await
    .map_err(StoreError::from)?;
    let samples = rows.len();
    let mut incidents = Vec::new();
    let mut current: Option<(String, Tracker)> = None;
    for (series_name, at_ms, milli) in rows {
        let subject = if custom {
            series_name.trim_start_matches("topic:").to_owned()
        } else {
            series_name.split_once(':').map(|(_, s)| s.to_owned()).unwrap_or_default()
        };
        if current.as_ref().is_none_or(|(held, _)| *held != subject) {
            current = Some((subject.clone(), Tracker::default()));
        }
        let Some((_, tracker)) = current.as_mut() else { continue };
        let Some(transition) = tracker.observe(&rule.judgement, Sample { at_ms, value: from_milli(milli) }) else { continue };
        match (transition.kind, transition.to) {
            ("firing", _) | ("flapping", _) if incidents.last().is_none_or(|i: &BacktestIncident| i.ended_ms.is_some() || i.subject != subject) => {
                incidents.push(BacktestIncident {
                    subject: subject.clone(),
                    started_ms: transition.started_ms.unwrap_or(at_ms),
                    fired_ms: at_ms,
                    ended_ms: None,
                    worst: transition.worst,
                    flapped: transition.kind == "flapping",
                });
            }
            ("flapping", _) => {
                if let Some(open) = incidents.last_mut() {
                    open.flapped = true;
                }
            }
            ("resolved", _) | ("settled", Phase::Ok) => {
                if let Some(open) = incidents.last_mut().filter(|i| i.ended_ms.is_none()) {
                    open.ended_ms = Some(at_ms);
                    open.worst = transition.worst.or(open.worst);
                }
            }
            _ => {}
        }
    }
    Ok(Backtest { samples, incidents })
}
