//! Custom topics on the dashboard: each topic's recent events with the numbers
//! in them, for its card (latest values and change) and its chart.

use std::collections::{BTreeMap, VecDeque};

use crate::{
    chart::scale::{ChartPoint, ChartSeries, Line},
    model::{Snapshot, TopicEvent},
    topic_fields::numeric_fields,
};

#[derive(Clone, Debug, PartialEq)]
pub struct TopicPoint {
    pub id: u64,
    pub at_ms: i64,
    pub values: BTreeMap<String, f64>,
}

/// One custom topic's recent points, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicFeed {
    pub topic: String,
    pub points: VecDeque<TopicPoint>,
    capacity: usize,
}

impl TopicFeed {
    pub fn latest(&self) -> Option<&TopicPoint> {
        self.points.back()
    }

    /// The value of `field` before the latest one, for the card's change.
    pub fn previous(&self, field: &str) -> Option<f64> {
        self.points.iter().rev().skip(1).find_map(|p| p.values.get(field).copied())
    }

    /// Every field seen, in name order: the chart's lines.
    pub fn fields(&self) -> Vec<String> {
        let mut names: Vec<String> = self.points.iter().flat_map(|p| p.values.keys().cloned()).collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn series(&self) -> ChartSeries {
        let lines = self
            .fields()
            .into_iter()
            .map(|field| {
                let points = self.points.iter().filter_map(|p| Some(ChartPoint { t: p.at_ms as f64 / 1000.0, v: *p.values.get(&field)? })).collect();
                Line { name: field, points }
            })
            .collect();
        ChartSeries { lines, ..ChartSeries::default() }
    }
}

/// Every custom topic the server declares, in its order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopicBoard {
    feeds: Vec<TopicFeed>,
}

impl TopicBoard {
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let capacity = snapshot.max_points.max(1);
        let mut board = Self { feeds: snapshot.topics.iter().map(|topic| TopicFeed { topic: topic.clone(), points: VecDeque::new(), capacity }).collect() };
        for event in &snapshot.custom {
            board.apply(event);
        }
        board
    }

    /// Takes an event of a declared topic; repeated or older ids are ignored.
    pub fn apply(&mut self, event: &TopicEvent) -> bool {
        let Some(feed) = self.feeds.iter_mut().find(|f| f.topic == event.topic) else { return false };
        if feed.points.back().is_some_and(|p| p.id >= event.id) {
            return false;
        }
        if feed.points.len() == feed.capacity {
            feed.points.pop_front();
        }
        feed.points.push_back(TopicPoint { id: event.id, at_ms: event.at_ms, values: numeric_fields(&event.data).into_iter().collect() });
        true
    }

    pub fn feeds(&self) -> &[TopicFeed] {
        &self.feeds
    }

    pub fn feed(&self, topic: &str) -> Option<&TopicFeed> {
        self.feeds.iter().find(|f| f.topic == topic)
    }

    pub fn topics(&self) -> Vec<String> {
        self.feeds.iter().map(|f| f.topic.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(topic: &str, id: u64, data: &str) -> TopicEvent {
        TopicEvent { topic: topic.into(), id, at_ms: id as i64 * 1000, data: data.into() }
    }

    #[test]
    fn feeds_keep_declared_topics_bounded_and_in_order() {
        let snapshot = Snapshot { topics: vec!["sales".into(), "temp".into()], max_points: 2, ..Snapshot::default() };
        let mut board = TopicBoard::from_snapshot(&snapshot);
        assert!(board.apply(&event("sales", 5, r#"{"orders": 3}"#)));
        assert!(!board.apply(&event("sales", 5, r#"{"orders": 99}"#)), "a replayed id is ignored");
        assert!(!board.apply(&event("other", 6, r#"{"x": 1}"#)), "undeclared topics have no card");
        board.apply(&event("sales", 7, r#"{"orders": 4, "refunds": 1}"#));
        board.apply(&event("sales", 8, r#"{"orders": 6}"#));
        let sales = board.feed("sales").unwrap();
        assert_eq!(sales.points.iter().map(|p| p.id).collect::<Vec<_>>(), [7, 8], "bounded by max_points");
        assert_eq!(sales.previous("orders"), Some(4.0));
        assert_eq!(sales.fields(), ["orders", "refunds"]);
        let series = sales.series();
        assert_eq!(series.lines.iter().map(|l| (l.name.as_str(), l.points.len())).collect::<Vec<_>>(), [("orders", 2), ("refunds", 1)]);
        assert_eq!(board.topics(), ["sales", "temp"]);
    }
}
