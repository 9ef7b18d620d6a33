//! How figures and times read on the dashboard and in its event log; pure, so natively tested.

use chrono::{DateTime, Timelike, Utc};

/// Three significant digits or so: 941, 94.1, 9.41; a dash when unmeasured.
pub fn metric(value: Option<f64>) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) if !v.is_finite() => "—".to_owned(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// A timestamp as the viewer's wall-clock time, `offset` minutes east of
/// UTC. With no offset (on the server, and while the page hydrates, so that
/// both render alike) it is UTC and says so.
pub fn wall_time(at: DateTime<Utc>, offset: Option<i32>) -> String {
    let local = shifted(at, offset);
    format!("{} {}", local.date_naive(), clock_of(local, offset))
}

/// A `<time>` in the viewer's zone (UTC, labelled, with none), for markup built as a string.
pub fn time_html(at_ms: i64, prefix: &str, zone: Option<i32>) -> String {
    let at = DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
    format!("<time datetime=\"{}\">{prefix}{}</time>", at.to_rfc3339(), wall_time(at, zone))
}

/// `HH:MM:SS` of the viewer's clock, or UTC (labelled) with no offset.
pub fn wall_clock(at: DateTime<Utc>, offset: Option<i32>) -> String {
    clock_of(shifted(at, offset), offset)
}

fn shifted(at: DateTime<Utc>, offset: Option<i32>) -> DateTime<Utc> {
    at + chrono::Duration::minutes(i64::from(offset.unwrap_or(0)))
}

/// Written out rather than with strftime, whose parser would add to the WASM bundle.
fn clock_of(local: DateTime<Utc>, offset: Option<i32>) -> String {
    let zone = if offset.is_none() { " UTC" } else { "" };
    format!("{:02}:{:02}:{:02}{zone}", local.hour(), local.minute(), local.second())
}

/// The change from `previous` to `latest`, signed, as precise as the figure;
/// `None` when either is missing.
pub fn delta(latest: Option<f64>, previous: Option<f64>) -> Option<String> {
    let change = latest? - previous?;
    if !change.is_finite() {
        return None;
    }
    let magnitude = metric(Some(change.abs()));
    Some(if magnitude.trim_start_matches(['0', '.']).is_empty() {
        "±0".to_owned()
    } else if change > 0.0 {
        format!("+{magnitude}")
    } else {
        format!("−{magnitude}")
    })
}

/// How long ago something happened, from milliseconds.
pub fn age(ms: f64) -> String {
    let secs = (ms / 1000.0).max(0.0) as u64;
    match secs {
        0..=4 => "just now".to_owned(),
        5..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        _ => format!("{} h ago", secs / 3600),
    }
}

/// A duration as "45 s", "10 min", "2 h 5 min" or "3 d 4 h".
pub fn duration(ms: i64) -> String {
    let seconds = ms.max(0) / 1000;
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => match (s / 3600, s % 3600 / 60) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m} min"),
        },
        s => match (s / 86_400, s % 86_400 / 3600) {
            (d, 0) => format!("{d} d"),
            (d, h) => format!("{d} d {h} h"),
        },
    }
}

/// Text made safe to place in HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a check's own kind adds to its row: a certificate's days left, a
/// ping's loss or a DNS answer (a check is one kind, so at most one is set).
pub fn probe_detail(cert_days_left: Option<f64>, loss_pct: Option<f64>, answer: Option<&str>) -> Option<String> {
    let certificate = cert_days_left.map(|days| match days < 0.0 {
        true => format!("certificate expired {} days ago", metric(Some(-days))),
        false => format!("certificate: {} days left", metric(Some(days))),
    });
    certificate.or_else(|| loss_pct.map(|pct| format!("{}% packet loss", metric(Some(pct))))).or_else(|| answer.map(|text| format!("answer: {text}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn durations_are_short() {
        assert_eq!([duration(45_000), duration(600_000), duration(7_500_000), duration(90_000_000)], ["45 s", "10 min", "2 h 5 min", "1 d 1 h"]);
    }

    #[test]
    fn metrics_keep_about_three_significant_digits() {
        assert_eq!(metric(None), "—");
        assert_eq!(metric(Some(f64::NAN)), "—");
        assert_eq!(metric(Some(941.26)), "941");
        assert_eq!(metric(Some(94.126)), "94.1");
        assert_eq!(metric(Some(9.4126)), "9.41");
        assert_eq!(metric(Some(0.0)), "0.00");
    }

    #[test]
    fn deltas_are_signed_and_rounded_like_the_figure() {
        assert_eq!(delta(Some(94.5), Some(90.0)).as_deref(), Some("+4.50"));
        assert_eq!(delta(Some(90.0), Some(194.5)).as_deref(), Some("−104"));
        assert_eq!(delta(Some(1.0), Some(1.0)).as_deref(), Some("±0"));
        assert_eq!(delta(Some(1.0), None), None);
    }

    #[test]
    fn a_check_s_own_figure_reads_as_one_phrase() {
        assert_eq!(probe_detail(Some(41.52), None, None).as_deref(), Some("certificate: 41.5 days left"));
        assert_eq!(probe_detail(Some(-2.4), None, None).as_deref(), Some("certificate expired 2.40 days ago"));
        assert_eq!(probe_detail(None, Some(33.333), None).as_deref(), Some("33.3% packet loss"));
        assert_eq!(probe_detail(None, None, Some("192.168.1.20")).as_deref(), Some("answer: 192.168.1.20"));
        assert_eq!(probe_detail(None, None, None), None);
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(-5.0), "just now");
        assert_eq!(age(12_400.0), "12 s ago");
        assert_eq!(age(185_000.0), "3 min ago");
        assert_eq!(age(7_300_000.0), "2 h ago");
    }

    #[test]
    fn times_read_in_the_viewers_zone_or_say_utc() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 23, 5, 4).unwrap();
        assert_eq!(wall_time(at, None), "2026-11-21 23:05:04 UTC");
        assert_eq!(wall_clock(at, None), "23:05:04 UTC");
        // India, 5 h 30 min east: past midnight, the date moves too.
        assert_eq!(wall_time(at, Some(330)), "2026-11-22 04:35:04");
        assert_eq!(wall_clock(at, Some(-300)), "18:05:04");
    }
}
