//! PostgreSQL keeps raw samples in one partition per day (UTC), so that
//! retention drops whole days instead of deleting row by row: a day goes once
//! all of it is past `history.raw_days`, so raw samples stay up to a day
//! longer than on SQLite. A day's partition is made before the first sample
//! in it is written; times outside the years 1970 to 9999 (a node's broken
//! clock) land in the default partition, whose rows are deleted one by one.
//! On SQLite none of this applies and every call is a no-op.

use std::{collections::HashSet, sync::Mutex};

use chrono::NaiveDate;

use crate::server::store::{Backend, Store, StoreError};

const PREFIX: &str = "sample_d";
const DAY_MS: i64 = 86_400_000;
/// Days from 1970-01-01 to 10000-01-01.
const LAST_DAY: i64 = 2_932_897;

/// The days whose partitions are known to exist, as days since 1970-01-01.
#[derive(Default)]
pub struct Partitions {
    known: Mutex<HashSet<i64>>,
}

/// The day `at_ms` falls in, when a partition of its own can hold it.
fn day_of(at_ms: i64) -> Option<i64> {
    let day = at_ms.div_euclid(DAY_MS);
    (0..LAST_DAY).contains(&day).then_some(day)
}

/// Where a day's partition begins and ends, in unix milliseconds.
fn bounds(day: i64) -> (i64, i64) {
    (day * DAY_MS, (day + 1) * DAY_MS)
}

fn name(day: i64) -> String {
    let date = chrono::DateTime::from_timestamp_millis(day * DAY_MS).map_or_else(|| day.to_string(), |at| at.format("%Y%m%d").to_string());
    format!("{PREFIX}{date}")
}

fn day_of_name(name: &str) -> Option<i64> {
    let digits = name.strip_prefix(PREFIX).filter(|d| d.len() == 8)?;
    let date = NaiveDate::parse_from_str(digits, "%Y%m%d").ok()?;
    day_of(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

impl Partitions {
    /// Makes the partitions the samples stamped `times` need; outside any
    /// transaction, so that a batch that fails later keeps them.
    pub async fn ensure(&self, store: &Store, times: impl Iterator<Item = i64>) -> Result<(), StoreError> {
        if store.backend() != Backend::Postgres {
            return Ok(());
        }
        let missing: HashSet<i64> = {
            let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
            times.filter_map(day_of).filter(|day| !known.contains(day)).collect()
        };
        for day in missing {
            let (from, to) = bounds(day);
            let create = format!("CREATE TABLE IF NOT EXISTS {} PARTITION OF sample FOR VALUES FROM ({from}) TO ({to})", name(day));
            if let Err(error) = sqlx::query(&create).execute(store.pool()).await {
                // Another connection may have made it between the check and the create.
                if !self.exists(store, day).await? {
                    return Err(error.into());
                }
            }
            self.known.lock().unwrap_or_else(|p| p.into_inner()).insert(day);
        }
        Ok(())
    }

    async fn exists(&self, store: &Store, day: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_class WHERE relname = $1 AND relkind = 'r'").bind(name(day)).fetch_one(store.pool()).await?
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
        for (name, day) in names.iter().filter_map(|name| Some((name, day_of_name(name)?))) {
            if bounds(day).1 <= before_ms {
                let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {name}")).fetch_one(store.pool()).await?;
                sqlx::query(&format!("DROP TABLE {name}")).execute(store.pool()).await?;
                self.known.lock().unwrap_or_else(|p| p.into_inner()).remove(&day);
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
    fn days_have_their_calendar_bounds_and_names() {
        // 2026-12-06T21:00:00Z
        let day = day_of(1_796_590_800_000).unwrap();
        assert_eq!(name(day), "sample_d20261206");
        assert_eq!(bounds(day), (1_796_515_200_000, 1_796_601_600_000), "6 December 2026, UTC");
        assert_eq!(day_of_name("sample_d20261206"), Some(day));
        assert_eq!(day_of(bounds(day).1), Some(day + 1), "a day's end is the next one's start");
        assert_eq!(day_of(bounds(day).1 - 1), Some(day));
        assert_eq!(day_of(-1), None, "before 1970: the default partition");
        assert_eq!(day_of(i64::MAX), None);
        assert_eq!(name(LAST_DAY - 1), "sample_d99991231");
        assert_eq!(day_of_name("sample_d2026x206"), None);
        assert_eq!(day_of_name("sample_d20261306"), None);
        assert_eq!(day_of_name("sample_default"), None);
    }
}
