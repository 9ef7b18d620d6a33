//! The history API's wire types: a series over a time range, point by point.

use serde::{Deserialize, Serialize};

/// One field's figures over one history bucket (or one raw sample, where `n` is 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HistoryStats {
    pub n: i64,
    pub min: f64,
    pub mean: f64,
    pub max: f64,
    pub p95: f64,
}

/// One point of `GET /api/history`: a bucket's start and each field's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HistoryPoint {
    /// Start of the bucket (or the sample's time), in ms since the Unix epoch.
    pub t: i64,
    #[serde(flatten)]
    pub values: std::collections::BTreeMap<String, HistoryStats>,
}

/// Read by hand: a derived `flatten` buffers every value through serde's
/// generic content type, which costs the browser bundle more than this.
impl<'de> Deserialize<'de> for HistoryPoint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PointVisitor;
        impl<'de> serde::de::Visitor<'de> for PointVisitor {
            type Value = HistoryPoint;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a history point: t and one object per field")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<HistoryPoint, A::Error> {
                let (mut t, mut values) = (None, std::collections::BTreeMap::new());
                while let Some(key) = map.next_key::<String>()? {
                    if key == "t" {
                        t = Some(map.next_value()?);
                    } else {
                        values.insert(key, map.next_value()?);
                    }
                }
                Ok(HistoryPoint { t: t.ok_or_else(|| serde::de::Error::missing_field("t"))?, values })
            }
        }
        deserializer.deserialize_map(PointVisitor)
    }
}

/// The answer of `GET /api/history`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct History {
    pub series: String,
    /// `raw`, `1m`, `10m` or `1h`: what the points were computed from.
    pub source: String,
    /// Bucket width in seconds; 0 for raw samples.
    pub step_s: i64,
    pub from_ms: i64,
    pub to_ms: i64,
    pub fields: Vec<String>,
    pub points: Vec<HistoryPoint>,
}

#[cfg(test)]
mod wire_tests {
    use super::*;
    use crate::model::SpeedSample;

    #[test]
    fn history_points_and_times_read_back_what_the_server_writes() {
        let mut values = std::collections::BTreeMap::new();
        values.insert("up".to_owned(), HistoryStats { n: 2, min: 0.0, mean: 0.5, max: 1.0, p95: 1.0 });
        let point = HistoryPoint { t: 1_763_510_400_000, values };
        let json = serde_json::to_string(&point).unwrap();
        assert_eq!(json, r#"{"t":1763510400000,"up":{"n":2,"min":0.0,"mean":0.5,"max":1.0,"p95":1.0}}"#);
        assert_eq!(serde_json::from_str::<HistoryPoint>(&json).unwrap(), point);
        assert!(serde_json::from_str::<HistoryPoint>(r#"{"up":{"n":1,"min":1,"mean":1,"max":1,"p95":1}}"#).is_err(), "t is required");

        let sample = SpeedSample::for_test(1_763_510_400, Some(1.0), None);
        let text = serde_json::to_string(&sample).unwrap();
        assert_eq!(serde_json::from_str::<SpeedSample>(&text).unwrap(), sample);
        let offset = text.replace("2025-11-19T00:00:00Z", "2025-11-19T01:00:00+01:00");
        assert_eq!(serde_json::from_str::<SpeedSample>(&offset).unwrap().at, sample.at, "any offset, read as UTC");
        assert!(serde_json::from_str::<SpeedSample>(&text.replace("2025-11-19T00:00:00Z", "yesterday")).is_err());
    }
}
