//! PostgreSQL keeps raw samples in one partition per calendar month (UTC), so
//! that retention drops whole months instead of deleting row by row. A
//! month's partition is made before the first sample in it is written; times
//! outside the years 1970 to 9999 (a node's broken clock) land in the default
//! partition. On SQLite none of this applies and every call is a no-op.

use std::{collections::HashSet, sync::Mutex};

use chrono::{Datelike, NaiveDate};

use crate::server::store::{Backend, Store, StoreError};

const PREFIX: &str = "sample_m";

/// The months whose partitions are known to exist, as `year * 12 + month0`.
#[derive(Default)]
pub struct Partitions {
    known: Mutex<HashSet<i32>>,
}

/// The month `at_ms` falls in, when a partition of its own can hold it.
fn month_of(at_ms: i64) -> Option<i32> {
    let at = chrono::DateTime::from_timestamp_millis(at_ms)?;
    (1970..=9999).contains(&at.year()).then(|| at.year() * 12 + at.month0() as i32)
}

/// Where a month's partition begins and ends, in unix milliseconds.
fn bounds(month: i32) -> (i64, i64) {
    let start = |month: i32| {
        NaiveDate::from_ymd_opt(month.div_euclid(12), month.rem_euclid(12) as u32 + 1, 1)
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .map_or(i64::MAX, |time| time.and_utc().timestamp_millis())
    };
    (start(month), start(month + 1))
}

fn name(month: i32) -> String {
    format!("{PREFIX}{:04}{:02}", month.div_euclid(12), month.rem_euclid(12) + 1)
}

fn month_of_name(name: &str) -> Option<i32> {
    let digits = name.strip_prefix(PREFIX).filter(|d| d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit()))?;
    let (year, month) = (digits[..4].parse::<i32>().ok()?, digits[4..].parse::<i32>().ok()?);
    (1..=12).contains(&month).then_some(year * 12 + month - 1)
}

impl Partitions {
    /// Makes the partitions the samples stamped `times` need; outside any
    /// transaction, so that a batch that fails later keeps them.
    pub async fn ensure(&self, store: &Store, times: impl Iterator<Item = i64>) -> Result<(), StoreError> {
        if store.backend() != Backend::Postgres {
            return Ok(());
        }
        let missing: HashSet<i32> = {
            let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
            times.filter_map(month_of).filter(|month| !known.contains(month)).collect()
        };
        for month in missing {
            let (from, to) = bounds(month);
            let create = format!("CREATE TABLE IF NOT EXISTS {} PARTITION OF sample FOR VALUES FROM ({from}) TO ({to})", name(month));
            if let Err(error) = sqlx::query(&create).execute(store.pool()).await {
                // Another connection may have made it between the check and the create.
                if !self.exists(store, month).await? {
                    return Err(error.into());
                }
            }
            self.known.lock().unwrap_or_else(|p| p.into_inner()).insert(month);
        }
        Ok(())
    }

    async fn exists(&self, store: &Store, month: i32) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_class WHERE relname = $1 AND relkind = 'r'").bind(name(month)).fetch_one(store.pool()).await?
            > 0)
    }

    /// Drops the partitions whose every sample is older than `before_ms`;
    /// returns how many samples they held.
    pub async fn drop_before(&self, store: &Store, before_ms: i64) -> Result<u64, StoreError> {
        if store.backend() != Backend::Postgres {
            return Ok(0);
        }
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'sample'",
        )
        .fetch_all(store.pool())
        .await?;
        let mut dropped = 0;
        for (name, month) in names.iter().filter_map(|name| Some((name, month_of_name(name)?))) {
            if bounds(month).1 <= before_ms {
                let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {name}")).fetch_one(store.pool()).await?;
                sqlx::query(&format!("DROP TABLE {name}")).execute(store.pool()).await?;
                self.known.lock().unwrap_or_else(|p| p.into_inner()).remove(&month);
                dropped += u64::try_from(rows).unwrap_or_default();
            }
        }
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_have_their_calendar_bounds_and_names() {
        // 2026-12-06T21:00:00Z
        let month = month_of(1_796_590_800_000).unwrap();
        assert_eq!(name(month), "sample_m202612");
        assert_eq!(bounds(month), (1_796_083_200_000, 1_798_761_600_000), "December 2026, UTC");
        assert_eq!(month_of_name("sample_m202612"), Some(month));
        assert_eq!(month_of(bounds(month).1), Some(month + 1), "a month's end is the next one's start");
        assert_eq!(month_of(bounds(month).1 - 1), Some(month));
        assert_eq!(month_of(-1), None, "before 1970: the default partition");
        assert_eq!(month_of(i64::MAX), None);
        assert_eq!(month_of_name("sample_m2026x2"), None);
        assert_eq!(month_of_name("sample_m202613"), None);
        assert_eq!(month_of_name("sample_default"), None);
    }
}
