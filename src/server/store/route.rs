//! `GET /api/history`: a series over a time range as JSON, or as CSV with `format=csv`.

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::model::SPEED_TOPIC;
use crate::server::{
    auth::{
        access::{is_node_name, series_of, split_node, without_node, Action, Caller},
        guard::require,
    },
    clock::now_ms,
    config::Config,
    events::topics,
    http::error::ApiError,
    store::history::{History, HistoryRequest, MAX_POINTS},
    AppState,
};

const DAY_MS: i64 = 86_400_000;
/// The widest range one request may ask for.
const MAX_SPAN_MS: i64 = 10 * 366 * DAY_MS;

/// The times a request may name: 1970 to the end of 9999, so that every
/// sum and difference below stays far from overflow.
const LATEST_MS: i64 = 253_402_300_799_999;

/// The largest step, in seconds: one bucket for the widest range.
const MAX_STEP_S: i64 = MAX_SPAN_MS / 1000;

/// A time as unix milliseconds or RFC 3339, within 1970 to 9999.
fn parse_time(name: &str, raw: &str) -> Result<i64, ApiError> {
    let ms = match raw.parse::<i64>() {
        Ok(ms) => ms,
        Err(_) => DateTime::parse_from_rfc3339(raw)
            .map(|t| t.timestamp_millis())
            .map_err(|_| ApiError::bad_request(format!("{name}={raw:?} is neither unix milliseconds nor an RFC 3339 time")))?,
    };
    if (0..=LATEST_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(ApiError::bad_request(format!("{name}={raw:?} is outside 1970 to 9999")))
    }
}

/// Checks the series name's shape: `speed`, `speed:<target>`, `probe:<monitor>` or
/// `topic:<name>`; the first three also as measured from an agent node, `…@<node>`.
fn check_series(series: &str, config: &Config) -> Result<(), ApiError> {
    let measured = match without_node(series) {
        Some(measured) if !series.starts_with("topic:") => measured,
        _ => series,
    };
    let known = match measured.split_once(':') {
        None => measured == "speed",
        Some(("speed", target)) => !target.is_empty(),
        Some(("probe", monitor)) => config.monitors.iter().any(|m| m.name == monitor),
        Some(("topic", name)) => topics::check_name(name).is_ok(),
        Some(("node", name)) => is_node_name(name),
        Some(_) => false,
    };
    if known {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("unknown series {series:?}: use speed, speed:<target URL>, probe:<monitor name>, node:<agent node> or topic:<name>")))
    }
}

pub fn parse_request(params: &HashMap<String, String>, config: &Config, now_ms: i64) -> Result<HistoryRequest, ApiError> {
    for key in params.keys() {
        if !matches!(key.as_str(), "series" | "from" | "to" | "last" | "step" | "format") {
            return Err(ApiError::bad_request(format!("unknown parameter {key:?}; use series, from, to, last, step and format")));
        }
    }
    let series = params.get("series").ok_or_else(|| ApiError::bad_request("series is required, e.g. series=speed"))?.clone();
    check_series(&series, config)?;
    // `to` is exclusive: by default it lies just past now, so an event
    // published in this very millisecond is in the answer.
    let to_ms = params.get("to").map(|raw| parse_time("to", raw)).transpose()?.unwrap_or(now_ms.saturating_add(1));
    // `last`: the seconds before `to`, so that a client need not send its own clock's idea of now.
    let last_ms = match params.get("last") {
        None => None,
        Some(_) if params.contains_key("from") => return Err(ApiError::bad_request("give from or last, not both")),
        Some(raw) => Some(
            raw.parse::<i64>()
                .ok()
                .filter(|s| (1..=MAX_SPAN_MS / 1000).contains(s))
                .ok_or_else(|| ApiError::bad_request(format!("last={raw:?} is not a whole number of seconds from 1 to {}", MAX_SPAN_MS / 1000)))?
                * 1000,
        ),
    };
    let from_ms = match (params.get("from"), last_ms) {
        (Some(raw), _) => parse_time("from", raw)?,
        (None, Some(last_ms)) => to_ms.saturating_sub(last_ms).max(0),
        (None, None) => to_ms.saturating_sub(DAY_MS).max(0),
    };
    if from_ms >= to_ms {
        return Err(ApiError::bad_request("from must be before to"));
    }
    if to_ms - from_ms > MAX_SPAN_MS {
        return Err(ApiError::bad_request("the range is longer than ten years"));
    }
    let step_s = match params.get("step") {
        None => None,
        Some(raw) => {
            let step: i64 = raw
                .parse()
                .ok()
                .filter(|s| (1..=MAX_STEP_S).contains(s))
                .ok_or_else(|| ApiError::bad_request(format!("step={raw:?} is not a whole number of seconds from 1 to {MAX_STEP_S}")))?;
            if step >= 60 && step % 60 != 0 {
                return Err(ApiError::bad_request("a step of a minute or more must be whole minutes"));
            }
            if (to_ms - from_ms) / 1000 / step > MAX_POINTS {
                return Err(ApiError::bad_request(format!("that step gives more than {MAX_POINTS} points; use a larger step or a shorter range")));
            }
            Some(step)
        }
    };
    Ok(HistoryRequest { series, from_ms, to_ms, step_s })
}

/// A series over a time range: raw samples or rollup buckets, as JSON or CSV.
#[utoipa::path(
    get,
    path = "/api/history",
    tag = "history",
    params(
        ("series" = String, Query, description = "speed, speed:<target URL>, probe:<monitor name>, node:<agent node> or topic:<name>; the first three with @<node> for an agent's"),
        ("from" = Option<String>, Query, description = "Start, inclusive: ms since the Unix epoch or RFC 3339; 24 h before `to` by default"),
        ("to" = Option<String>, Query, description = "End, exclusive: ms since the Unix epoch or RFC 3339; now by default"),
        ("last" = Option<i64>, Query, description = "Seconds before `to`, instead of `from`", minimum = 1),
        ("step" = Option<i64>, Query, description = "Bucket width in seconds (whole minutes from 60 up); chosen from the range by default", minimum = 1),
        ("format" = Option<String>, Query, description = "json (default) or csv"),
    ),
    responses(
        (status = 200, description = "The series' points", content(
            (crate::model::History = "application/json"),
            (String = "text/csv; charset=utf-8"),
        )),
        (status = 400, description = "A parameter is missing, unknown or out of range", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in (or a session or token that no longer works), and visitors may not read the series", body = crate::model::ApiErrorBody),
        (status = 403, description = "The caller may not read the series", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database cannot be reached, or netpulse is shutting down", body = crate::model::ApiErrorBody),
    )
)]
pub async fn history(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let csv = match params.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => return Err(ApiError::bad_request(format!("format={other:?}: use json or csv"))),
    };
    let now = now_ms();
    let request = parse_request(&params, &state.config, now)?;
    if request.series == SPEED_TOPIC {
        // The merged series holds every target's samples, also of targets no
        // longer configured: each target ever stored must be readable.
        let stored = state.store.speed_target_series().await.map_err(|err| {
            tracing::error!(%err, "cannot list the stored speed targets");
            ApiError::Unavailable("the history database cannot be read right now".into())
        })?;
        let configured = state.config.speed.targets().into_iter().map(|scheduled| series_of(SPEED_TOPIC, &scheduled.target.label()));
        // Agent nodes' targets are in their own merged series (`speed@<node>`), not this one.
        let nodes = state.agents.names();
        let own = stored.into_iter().filter(|series| !split_node(series).is_some_and(|(_, node)| nodes.iter().any(|n| n == node)));
        for series in own.chain(configured) {
            require(&state, &caller, &series, Action::Read)?;
        }
    } else if let Some(node) = request.series.strip_prefix("speed@") {
        // A node's merged series: each of its targets must be readable too.
        let stored = state.store.speed_target_series().await.map_err(|err| {
            tracing::error!(%err, "cannot list the stored speed targets");
            ApiError::Unavailable("the history database cannot be read right now".into())
        })?;
        for series in stored.iter().filter(|series| split_node(series).is_some_and(|(_, of)| of == node)) {
            require(&state, &caller, series, Action::Read)?;
        }
    }
    require(&state, &caller, &request.series, Action::Read)?;
    let store = &state.store;
    let history = store.history(&request, state.config.history.retention(), now).await.map_err(|err| {
        tracing::error!(%err, "history query failed");
        ApiError::Unavailable("the history database cannot be read right now".into())
    })?;
    if csv {
        Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], to_csv(&history)).into_response())
    } else {
        Ok(Json(history).into_response())
    }
}

/// One row per point and field: `time,field,n,min,mean,max,p95`.
pub fn to_csv(history: &History) -> String {
    let mut out = String::from("time,field,n,min,mean,max,p95\n");
    for point in &history.points {
        let time = DateTime::<Utc>::from_timestamp_millis(point.t).map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)).unwrap_or_default();
        for (field, s) in &point.values {
            out.push_str(&format!("{time},{},{},{},{},{},{}\n", csv_field(field), s.n, s.min, s.mean, s.max, s.p95));
        }
    }
    out
}

/// Quotes a field name when CSV needs it (custom topics choose their names).
fn csv_field(name: &str) -> String {
    if name.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const NOW: i64 = 1_764_547_200_000;

    #[test]
    fn extreme_numbers_get_a_400_not_an_overflow() {
        let config = Config::default();
        for pairs in [
            &[("series", "speed"), ("from", "-9223372036854775808"), ("to", "9223372036854775807")][..],
            &[("series", "speed"), ("to", "-9223372036854775808")],
            &[("series", "speed"), ("from", "0"), ("to", "1000"), ("step", "9223372036854775807")],
            &[("series", "speed"), ("from", "0"), ("to", "253402300799999")],
        ] {
            assert!(parse_request(&params(pairs), &config, NOW).is_err(), "{pairs:?}");
        }
        let last_hour = parse_request(&params(&[("series", "speed"), ("last", "3600")]), &config, NOW).unwrap();
        assert_eq!((last_hour.from_ms, last_hour.to_ms), (NOW + 1 - 3_600_000, NOW + 1), "last ends at the server's now");
        assert!(parse_request(&params(&[("series", "speed"), ("last", "60"), ("from", "0")]), &config, NOW).is_err());
        assert!(parse_request(&params(&[("series", "speed"), ("last", "0")]), &config, NOW).is_err());
        let near_the_end = parse_request(&params(&[("series", "speed"), ("from", "253402300700000"), ("to", "253402300799999")]), &config, NOW).unwrap();
        assert_eq!(near_the_end.to_ms - near_the_end.from_ms, 99_999);
    }

    #[test]
    fn an_agent_s_series_names_its_node_after_an_at_sign() {
        let config = Config::from_toml("[[monitor]]\nname = \"web\"\ntcp = \"127.0.0.1:1\"\n").unwrap();
        for good in ["speed@tokyo", "speed:http://h/speedtest@tokyo", "probe:web@tokyo", "probe:web"] {
            assert!(check_series(good, &config).is_ok(), "{good}");
        }
        for bad in ["probe:db@tokyo", "speed@", "probe:web@bad node", "nonsense@tokyo"] {
            assert!(check_series(bad, &config).is_err(), "{bad}");
        }
    }

    proptest! {
        /// Whatever the numbers, the parser answers, and what it accepts is a
        /// bounded range the store can read without overflow.
        #[test]
        fn any_from_to_and_step_is_an_answer_within_the_caps(
            from in prop_oneof![any::<i64>().prop_map(|n| n.to_string()), "[0-9:TZ+.-]{0,30}"],
            to in prop_oneof![any::<i64>().prop_map(|n| n.to_string()), (0i64..=LATEST_MS).prop_map(|n| n.to_string())],
            step in prop::option::of(prop_oneof![any::<i64>().prop_map(|n| n.to_string()), (1i64..100_000).prop_map(|n| n.to_string())]),
        ) {
            let mut pairs = vec![("series", "speed"), ("from", from.as_str()), ("to", to.as_str())];
            if let Some(step) = &step {
                pairs.push(("step", step.as_str()));
            }
            if let Ok(request) = parse_request(&params(&pairs), &Config::default(), NOW) {
                prop_assert!(0 <= request.from_ms && request.from_ms < request.to_ms && request.to_ms <= LATEST_MS);
                prop_assert!(request.to_ms - request.from_ms <= MAX_SPAN_MS);
                if let Some(step) = request.step_s {
                    prop_assert!((1..=MAX_STEP_S).contains(&step));
                    prop_assert!((request.to_ms - request.from_ms) / 1000 / step <= MAX_POINTS);
                }
            }
        }
    }
}
