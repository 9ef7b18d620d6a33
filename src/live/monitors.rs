//! The latest check of each monitor, as the dashboard's monitor table shows it.

use crate::model::{ProbeResult, Snapshot};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct MonitorBoard {
    /// In the order monitors were first seen: the config's order, from the snapshot.
    rows: Vec<ProbeResult>,
}

impl MonitorBoard {
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        Self { rows: snapshot.probes.clone() }
    }

    /// Takes a newer check; a replayed older one never hides a newer one.
    pub fn apply(&mut self, result: ProbeResult) {
        match self.rows.iter_mut().find(|row| row.monitor == result.monitor) {
            Some(row) if row.at <= result.at => *row = result,
            Some(_) => {}
            None => self.rows.push(result),
        }
    }

    pub fn merge_snapshot(&mut self, snapshot: &Snapshot) {
        for result in &snapshot.probes {
            self.apply(result.clone());
        }
    }

    pub fn rows(&self) -> &[ProbeResult] {
        &self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn check(monitor: &str, secs: i64, up: bool) -> ProbeResult {
        ProbeResult {
            monitor: monitor.into(),
            url: "http://h/".into(),
            at: DateTime::<Utc>::from_timestamp(secs, 0).unwrap(),
            up,
            status_code: Some(if up { 200 } else { 503 }),
            response_ms: Some(1.0),
            connect_ms: Some(0.1),
            ttfb_ms: Some(0.5),
            error: (!up).then(|| "unexpected status 503".into()),
            ..ProbeResult::default()
        }
    }

    #[test]
    fn keeps_the_newest_check_per_monitor_in_first_seen_order() {
        let mut board = MonitorBoard::default();
        board.apply(check("web", 10, true));
        board.apply(check("api", 10, true));
        board.apply(check("web", 20, false));
        board.apply(check("web", 15, true));
        let rows: Vec<(&str, bool)> = board.rows().iter().map(|r| (r.monitor.as_str(), r.up)).collect();
        assert_eq!(rows, [("web", false), ("api", true)]);
    }
}
