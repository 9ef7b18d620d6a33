//! How figures read on the dashboard.

use chrono::{DateTime, Utc};

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

/// A timestamp as UTC wall-clock time, identical on server and client so hydration matches.
pub fn utc_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
    fn times_are_labelled_utc() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 6, 5, 4).unwrap();
        assert_eq!(utc_time(at), "2026-11-21 06:05:04 UTC");
    }
}
