//! Custom topics on the dashboard: each topic's recent events with the numbers
//! in them, for its card (latest values and change) and its chart.

use std::collections::{BTreeMap, VecDeque};

use serde::{
    de::{IgnoredAny, MapAccess, Visitor},
    Deserialize, Deserializer,
};

use crate::{
    chart::scale::{ChartPoint, ChartSeries, Line},
    model::{Snapshot, TopicEvent},
};

/// Fields one topic may chart; the rest are ignored, as the store ignores them.
pub const MAX_TOPIC_FIELDS: usize = 32;

/// The top-level numbers of a JSON object, by name, in name order; anything
/// else has none.
pub fn numeric_fields(data: &str) -> Vec<(String, f64)> {
    let Ok(NumericFields(mut fields)) = serde_json::from_str::<NumericFields>(data) else { return Vec::new() };
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields.dedup_by(|a, b| a.0 == b.0);
    fields.retain(|(name, _)| name.len() <= 64);
    fields.truncate(MAX_TOPIC_FIELDS);
    fields
}

/// Reads only what a chart can use, skipping the rest unparsed: lighter than
/// a whole `serde_json::Value`, in the browser bundle too.
struct NumericFields(Vec<(String, f64)>);

/// A field's value when it is a number.
struct Number(Option<f64>);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl<'de> Visitor<'de> for NumberVisitor {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_f64<E>(self, v: f64) -> Result<Number, E> {
                Ok(Number(Some(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Number, E> {
                Ok(Number(Some(v as f64)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Number, E> {
                Ok(Number(Some(v as f64)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_unit<E>(self) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Number, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Number(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Number, A::Error> {
                IgnoredAny.visit_map(map).map(|_| Number(None))
            }
        }
        deserializer.deserialize_any(NumberVisitor)
    }
}

impl<'de> Deserialize<'de> for NumericFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = NumericFields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NumericFields, A::Error> {
                let mut fields = Vec::new();
                while let Some((name, Number(value))) = map.next_entry::<String, Number>()? {
                    if let Some(value) = value.filter(|v| v.is_finite()) {
                        fields.push((name, value));
                    }
                }
                Ok(NumericFields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

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
        ChartSeries { lines, first_colour: 0 }
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
    fn only_top_level_numbers_are_fields() {
        let fields = numeric_fields(r#"{"temp": 21.5, "name": "lab", "ok": true, "n": 3, "nested": {"x": 1}}"#);
        assert_eq!(fields, [("n".to_owned(), 3.0), ("temp".to_owned(), 21.5)]);
        assert!(numeric_fields("[1, 2]").is_empty());
        assert_eq!(numeric_fields(r#"{"b": 2, "a": 1, "b": 3}"#), [("a".to_owned(), 1.0), ("b".to_owned(), 2.0)], "a repeated name keeps its first value");
        assert!(numeric_fields("not json").is_empty());
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
