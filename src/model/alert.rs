//! Alert wire types: what `/api/alerts`, its history, the delivery log and
//! the `alert` topic carry, shared by the server and the dashboard.

use serde::{Deserialize, Serialize};

/// A rule's state for one subject, as `GET /api/alerts` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AlertState {
    pub rule: String,
    /// What the rule watches: a speed target, a monitor, or the topic's name.
    pub subject: String,
    pub series: String,
    pub field: String,
    pub condition: String,
    /// `ok`, `pending`, `firing` or `flapping`.
    pub phase: String,
    /// Since when the breach holds, in Unix milliseconds.
    pub since_ms: Option<i64>,
    pub value: Option<f64>,
    /// The condition's value: a chart draws it as a line.
    pub threshold: Option<f64>,
    /// Why its latest notification was held back: a silence, a maintenance
    /// window, or the rule it depends on firing.
    pub not_sent: Option<String>,
}

/// A change of a rule's state: the data of an event on the `alert` topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AlertTransition {
    pub rule: String,
    pub subject: String,
    /// `pending`, `firing`, `cleared`, `resolved`, `flapping` or `settled`.
    pub kind: String,
    pub from: String,
    pub to: String,
    pub at_ms: i64,
    pub value: f64,
    pub threshold: Option<f64>,
    pub started_ms: Option<i64>,
    pub worst: Option<f64>,
    /// Why it was not notified, when it would have been.
    pub not_sent: Option<String>,
}

/// One breach of a rule, from `GET /api/alerts/history`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Incident {
    pub id: i64,
    pub rule: String,
    pub subject: String,
    pub started_ms: i64,
    pub fired_ms: i64,
    pub ended_ms: Option<i64>,
    /// How long it lasted, or has lasted so far.
    pub duration_ms: i64,
    pub state: String,
    pub worst: Option<f64>,
    pub threshold: Option<f64>,
    /// The samples that decided it.
    pub samples: Vec<AlertSample>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AlertSample {
    pub at_ms: i64,
    pub value: f64,
}

/// One delivery attempt, from `GET /api/alerts/deliveries`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub delivery_id: String,
    pub channel: String,
    pub rule: String,
    pub at_ms: i64,
    /// `sent`, `retry`, `failed`, `expired`, or `silenced` or `suppressed` for one held back.
    pub outcome: String,
    /// The exact error of a failed attempt.
    pub error: Option<String>,
    /// Above 1 when a digest carried several notifications.
    pub notifications: i64,
}

/// A silence set through the API or the alerts page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Silence {
    pub id: i64,
    /// None: every rule.
    pub rule: Option<String>,
    /// None: every subject.
    pub subject: Option<String>,
    pub starts_ms: i64,
    pub ends_ms: i64,
    pub reason: String,
}

/// How many finished incidents the snapshot carries for the charts, at most.
pub const KEPT_INCIDENT_SPANS: usize = 200;
/// And how far back: 30 days, in milliseconds.
pub const SPAN_DAYS_MS: i64 = 30 * 86_400_000;

/// Whether a rule's series is a speed series, whose incidents the charts shade.
pub fn is_speed_series(series: &str) -> bool {
    series == "speed" || series.starts_with("speed:")
}

/// A finished incident as a chart shades it: `[series, field, started_ms,
/// ended_ms]`. An array rather than an object: short on the wire, and
/// cheap for the dashboard to read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentSpan(pub String, pub String, pub i64, pub i64);

/// Described by hand: a derived schema would call each item an object.
#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for IncidentSpan {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ArrayItems, ObjectBuilder, Type};
        let item = |kind: Type, description: &str| ObjectBuilder::new().schema_type(kind).description(Some(description)).build();
        ArrayBuilder::new()
            .description(Some("A finished incident: [series, field, started_ms, ended_ms]"))
            .prefix_items([
                item(Type::String, "The rule's series"),
                item(Type::String, "The rule's field"),
                item(Type::Integer, "Start, in ms since the Unix epoch"),
                item(Type::Integer, "End, in ms since the Unix epoch"),
            ])
            .items(ArrayItems::False)
            .min_items(Some(4))
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for IncidentSpan {}
