//! The signals the live stream writes into and the dashboard reads, seeded
//! from the page's snapshot. Built on the server too, which renders from them.

use leptos::prelude::*;

use crate::{
    live::{
        alerts::AlertBoard, connection::ConnectionState, event_log::EventLog, history::SpeedHistory, monitors::MonitorBoard, nodes::NodeBoard,
        topic_feed::TopicBoard,
    },
    model::Snapshot,
};

#[derive(Clone, Copy)]
pub struct LiveSignals {
    pub history: RwSignal<SpeedHistory>,
    pub board: RwSignal<MonitorBoard>,
    pub topics: RwSignal<TopicBoard>,
    pub log: RwSignal<EventLog>,
    pub alerts: RwSignal<AlertBoard>,
    pub nodes: RwSignal<NodeBoard>,
    pub connection: RwSignal<ConnectionState>,
    /// When the newest event arrived, in ms since the Unix epoch.
    pub last_event_at: RwSignal<Option<f64>>,
}

impl LiveSignals {
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        Self {
            history: RwSignal::new(SpeedHistory::from_snapshot(snapshot)),
            board: RwSignal::new(MonitorBoard::from_snapshot(snapshot)),
            topics: RwSignal::new(TopicBoard::from_snapshot(snapshot)),
            log: RwSignal::new(EventLog::from_events(&snapshot.log)),
            alerts: RwSignal::new(AlertBoard::from_snapshot(snapshot)),
            nodes: RwSignal::new(NodeBoard::from_snapshot(snapshot)),
            connection: RwSignal::new(ConnectionState::Connecting),
            last_event_at: RwSignal::new(snapshot.log.last().map(|event| event.at_ms as f64)),
        }
    }
}
