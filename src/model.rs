//! Wire types shared by the server and the browser: what travels over SSE and `/api/snapshot`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod account_page;
pub mod admin_page;
pub mod alert;
pub mod alerts_page;
pub mod auth_page;
mod history;
pub mod node;
pub mod status_page;
pub mod test_now;

pub use history::{History, HistoryPoint, HistoryStats};

/// The topic every speed test result is published on.
pub const SPEED_TOPIC: &str = "speed";

/// The topic every endpoint check is published on.
pub const PROBE_TOPIC: &str = "probe";

/// The on-demand topic of once-a-second round trips to the speed target.
pub const LIVE_TOPIC: &str = "live";

/// The topic every change of an alert rule's state is published on.
pub const ALERT_TOPIC: &str = "alert";

/// An agent node's state ([`node::NodeReport`]), keyed by the node's name.
pub const NODE_TOPIC: &str = "node";

/// Events the dashboard's log shows, and the snapshot carries for it.
pub const LOG_LENGTH: usize = 50;

/// Topics that exist on every netpulse, in the order `/api/events` lists them.
pub const BUILTIN_TOPICS: &[&str] = &[SPEED_TOPIC, PROBE_TOPIC, LIVE_TOPIC, ALERT_TOPIC, NODE_TOPIC];

/// Names custom topics may not take: the built-ins and `reset`, which the
/// stream itself uses.
pub const RESERVED_TOPICS: &[&str] = &[SPEED_TOPIC, PROBE_TOPIC, LIVE_TOPIC, ALERT_TOPIC, NODE_TOPIC, "reset"];

/// One speed test result, as published on the `speed` topic.
///
/// A figure is `None` when it was not measured, either because that phase
/// failed or because an earlier phase failed; `error` then says why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SpeedSample {
    /// The netpulse instance that ran the test.
    pub node: String,
    /// The target's base URL.
    pub target: String,
    /// When the test finished.
    #[serde(deserialize_with = "rfc3339")]
    pub at: DateTime<Utc>,
    pub download_mbps: Option<f64>,
    pub upload_mbps: Option<f64>,
    pub latency_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
    /// Median round trip while the download ran: bufferbloat shows here.
    #[serde(default)]
    pub latency_down_ms: Option<f64>,
    /// Median round trip while the upload ran.
    #[serde(default)]
    pub latency_up_ms: Option<f64>,
    /// Bytes received during the download phase, warm-up included.
    #[serde(default)]
    pub bytes_down: u64,
    /// Bytes sent during the upload phase, warm-up included.
    #[serde(default)]
    pub bytes_up: u64,
    pub error: Option<String>,
}

#[cfg(test)]
impl SpeedSample {
    /// A sample at `unix_secs` with the given rates and nothing else measured.
    pub fn for_test(unix_secs: i64, download_mbps: Option<f64>, upload_mbps: Option<f64>) -> Self {
        Self {
            node: "n".into(),
            target: "t".into(),
            at: DateTime::from_timestamp(unix_secs, 0).expect("a valid test timestamp"),
            download_mbps,
            upload_mbps,
            latency_ms: None,
            jitter_ms: None,
            latency_down_ms: None,
            latency_up_ms: None,
            bytes_down: 0,
            bytes_up: 0,
            error: None,
        }
    }
}

/// One check of a configured monitor, as published on the `probe` topic.
///
/// A target that is down or slow is a normal result: `up` is false and
/// `error` says why. Timings are `None` where the check did not get that far
/// or the protocol has no such phase (no `tls_ms` over plain HTTP).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProbeResult {
    pub monitor: String,
    /// The URL, or `tcp://host:port`, `dns://resolver/name TYPE`, `icmp://host` or `push`.
    pub url: String,
    #[serde(deserialize_with = "rfc3339")]
    pub at: DateTime<Utc>,
    pub up: bool,
    pub status_code: Option<u16>,
    /// From the start of the check to the end of the response (or the connect, for TCP).
    pub response_ms: Option<f64>,
    // The dashboard shows none of the fields marked `skip_deserializing` in
    // the browser-only build: not reading them keeps their parser out of the
    // WASM bundle. Any build with `ssr` reads them all.
    #[cfg_attr(all(feature = "hydrate", not(feature = "ssr")), serde(default, skip_deserializing))]
    pub dns_ms: Option<f64>,
    #[cfg_attr(all(feature = "hydrate", not(feature = "ssr")), serde(default, skip_deserializing))]
    pub connect_ms: Option<f64>,
    #[cfg_attr(all(feature = "hydrate", not(feature = "ssr")), serde(default, skip_deserializing))]
    pub tls_ms: Option<f64>,
    /// From the request being sent to the first byte of the response.
    #[cfg_attr(all(feature = "hydrate", not(feature = "ssr")), serde(default, skip_deserializing))]
    pub ttfb_ms: Option<f64>,
    /// `HTTP/1.1` or `HTTP/2`, as the last answer came; none for TCP checks.
    #[serde(default)]
    #[cfg_attr(all(feature = "hydrate", not(feature = "ssr")), serde(skip_deserializing))]
    pub protocol: Option<String>,
    /// Where redirects led, when there were any.
    #[serde(default)]
    #[cfg_attr(all(feature = "hydrate", not(feature = "ssr")), serde(skip_deserializing))]
    pub final_url: Option<String>,
    /// Redirects followed.
    #[serde(default)]
    #[cfg_attr(all(feature = "hydrate", not(feature = "ssr")), serde(skip_deserializing))]
    pub redirects: u8,
    /// Days until the server's certificate expires, for TLS and HTTPS checks; negative once it has.
    #[serde(default)]
    pub cert_days_left: Option<f64>,
    /// A DNS check's answer, its records joined with ", ".
    #[serde(default)]
    pub answer: Option<String>,
    /// A ping check's lost share of echo requests, in percent, and its round
    /// trips' min, max and mean deviation (`response_ms` is their average).
    #[serde(default)]
    pub loss_pct: Option<f64>,
    #[serde(default)]
    #[cfg_attr(all(feature = "hydrate", not(feature = "ssr")), serde(skip_deserializing))]
    pub rtt_min_ms: Option<f64>,
    #[serde(default)]
    #[cfg_attr(all(feature = "hydrate", not(feature = "ssr")), serde(skip_deserializing))]
    pub rtt_max_ms: Option<f64>,
    #[serde(default)]
    #[cfg_attr(all(feature = "hydrate", not(feature = "ssr")), serde(skip_deserializing))]
    pub rtt_mdev_ms: Option<f64>,
    pub error: Option<String>,
    /// The agent node that ran the check (its `monitor` then ends in `@<node>`); none for the server's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(all(feature = "hydrate", not(feature = "ssr")), serde(skip_deserializing))]
    pub node: Option<String>,
}

/// One round trip on the `live` topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LiveLatency {
    pub target: String,
    #[serde(deserialize_with = "rfc3339")]
    pub at: DateTime<Utc>,
    pub rtt_ms: Option<f64>,
    pub error: Option<String>,
}

/// What a page needs to render before its live stream connects.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Snapshot {
    pub node: String,
    /// The id of the newest event the server has published; a stream that
    /// resumes from it receives exactly what came after this snapshot.
    pub last_event_id: u64,
    /// How many points the client keeps per series.
    pub max_points: usize,
    /// Recent speed samples, oldest first.
    pub speed: Vec<SpeedSample>,
    /// The latest check of each configured monitor, in config order.
    #[serde(default)]
    pub probes: Vec<ProbeResult>,
    /// Whether history is being saved; the dashboard warns when it is not.
    #[serde(default)]
    pub store: StoreHealth,
    /// The custom topics the server declares, in config order.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Recent events of those topics, oldest first.
    #[serde(default)]
    pub custom: Vec<TopicEvent>,
    /// The newest events of every topic, oldest first, for the event log.
    #[serde(default)]
    pub log: Vec<TopicEvent>,
    /// Every alert rule's state per subject; empty when no rule is configured.
    #[serde(default)]
    pub alerts: Vec<alert::AlertState>,
    /// Recent finished incidents (at most 200, of the last 30 days), for the charts.
    #[serde(default)]
    pub incidents: Vec<alert::IncidentSpan>,
    /// Each agent node that has reported, as the `node` topic last told it; empty without agents.
    #[serde(default)]
    pub nodes: Vec<node::NodeReport>,
    /// Whether the caller may start speed tests now (`POST /api/speed/test-now`).
    #[serde(default)]
    pub may_test_now: bool,
    /// Whose speed tests `speed` holds and the page shows (`?node=`): this server's name, an
    /// agent node's, or [`EVERY_NODE`] for all of them overlaid; empty means this server's.
    #[serde(default)]
    pub speed_node: String,
}

/// `?node=*`: every node's speed tests, overlaid.
pub const EVERY_NODE: &str = "*";

/// How a stream opened with `?envelope=1` (as the dashboard opens it) carries
/// each event: the server's time of publication around the payload, so that
/// the browser never stamps a time of its own: `{"at_ms":<ms>,"data":<payload>}`.
pub fn envelope(at_ms: i64, data: &str) -> String {
    format!("{{\"at_ms\":{at_ms},\"data\":{data}}}")
}

/// The time and payload of an [`envelope`]; `None` for anything else. Read by
/// hand: the server writes exactly this shape, and a JSON value type would cost the bundle.
pub fn open_envelope(text: &str) -> Option<(i64, &str)> {
    let rest = text.strip_prefix("{\"at_ms\":")?;
    let (at_ms, rest) = rest.split_once(",\"data\":")?;
    Some((at_ms.parse().ok()?, rest.strip_suffix('}')?))
}

/// One published event as a snapshot carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TopicEvent {
    pub topic: String,
    pub id: u64,
    /// When it was published, in ms since the Unix epoch.
    pub at_ms: i64,
    /// The event's JSON text.
    pub data: String,
}

/// The history store's state, as `/api/status` and the dashboard show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StoreHealth {
    /// False once a write has failed, until one succeeds again.
    pub ok: bool,
    /// Events the store could not keep.
    pub failed_writes: u64,
    /// The latest failure, for a person to act on.
    pub last_error: Option<String>,
}

impl Default for StoreHealth {
    fn default() -> Self {
        Self { ok: true, failed_writes: 0, last_error: None }
    }
}

/// Body of every JSON error response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiErrorBody {
    pub error: String,
}

/// Reads an RFC 3339 time with chrono's dedicated parser; serde's default goes
/// through the general format parser, which costs the browser bundle more.
pub(crate) fn rfc3339<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    DateTime::parse_from_rfc3339(&text).map(|at| at.with_timezone(&Utc)).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod envelope_tests {
    use super::*;

    #[test]
    fn an_envelope_opens_to_its_time_and_the_payload_as_sent() {
        let payload = "{\"sales\": 4200,\n \"note\": \"a }, \\\"data\\\": x\"}";
        assert_eq!(open_envelope(&envelope(1_764_547_200_123, payload)), Some((1_764_547_200_123, payload)));
        assert_eq!(open_envelope(&envelope(-5, "{}")), Some((-5, "{}")));
        // The payload itself is checked by whoever parses it as JSON.
        for bad in ["", "{}", "{\"at_ms\":x,\"data\":{}}", "{\"at_ms\":1,\"data\":", "{\"data\":{},\"at_ms\":1}"] {
            assert_eq!(open_envelope(bad), None, "{bad:?}");
        }
    }
}
