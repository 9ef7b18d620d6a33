//! The ingest benchmark's peer: the same rows written by Debian's `sqlite3` shell.

use std::{
    process::{Command, Stdio},
    time::Instant,
};

use serde_json::json;

pub fn sqlite_count(database: &std::path::Path, query: &str) -> usize {
    let output = Command::new("sqlite3").arg(database).arg(query).output().expect("the sqlite3 shell (Debian's sqlite3)");
    String::from_utf8_lossy(&output.stdout).trim().parse().unwrap()
}

/// The same rows through the `sqlite3` shell: per result an event, its two samples, its
/// (node, number) and the latest-event upsert, `batch` results a transaction.
pub fn sqlite_shell(batch: usize, agents: usize, results: usize, result_json: fn(usize, usize, i64) -> String) {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("peer.db");
    let mut sql = String::from(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;\n\
         CREATE TABLE event_log (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, key TEXT NOT NULL, at_ms INTEGER NOT NULL, data TEXT NOT NULL);\n\
         CREATE TABLE sample (field_id INTEGER NOT NULL, at_ms INTEGER NOT NULL, event_id INTEGER NOT NULL, milli INTEGER NOT NULL, PRIMARY KEY (field_id, at_ms, event_id)) WITHOUT ROWID;\n\
         CREATE TABLE agent_result (node_id INTEGER NOT NULL, seq INTEGER NOT NULL, event_id INTEGER, PRIMARY KEY (node_id, seq)) WITHOUT ROWID;\n\
         CREATE TABLE latest_event (topic TEXT NOT NULL, key TEXT NOT NULL, id INTEGER NOT NULL, at_ms INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (topic, key)) WITHOUT ROWID;\n",
    );
    let now_ms = chrono::Utc::now().timestamp_millis();
    for start in (0..results).step_by(batch) {
        sql.push_str("BEGIN;\n");
        for n in start..(start + batch).min(results) {
            let (node, seq, at) = (n % agents, n / agents + 1, now_ms + n as i64);
            let key = format!("m{}@n{node}", seq % 10);
            let data = result_json(seq, seq % 10, at).replace('\'', "''");
            sql.push_str(&format!(
                "INSERT INTO event_log VALUES ({id}, 'probe', '{key}', {at}, '{data}');\n\
                 INSERT INTO sample VALUES ({f1}, {at}, {id}, 1000);\nINSERT INTO sample VALUES ({f2}, {at}, {id}, {ms});\n\
                 INSERT INTO agent_result VALUES ({node}, {seq}, {id});\n\
                 INSERT INTO latest_event VALUES ('probe', '{key}', {id}, {at}, '{data}') ON CONFLICT (topic, key) DO UPDATE SET id = excluded.id, at_ms = excluded.at_ms, data = excluded.data;\n",
                id = n + 1,
                f1 = (node * 10 + seq % 10) * 2,
                f2 = (node * 10 + seq % 10) * 2 + 1,
                ms = seq * 37 % 900 * 100,
            ));
        }
        sql.push_str("COMMIT;\n");
    }
    let script = dir.path().join("peer.sql");
    std::fs::write(&script, sql).unwrap();
    let input = std::fs::File::open(&script).unwrap();
    let started = Instant::now();
    let status = Command::new("sqlite3").arg(&database).stdin(input).stdout(Stdio::null()).status().expect("the sqlite3 shell (Debian's sqlite3)");
    let seconds = started.elapsed().as_secs_f64();
    assert!(status.success());
    assert_eq!(sqlite_count(&database, "SELECT count(*) FROM agent_result"), results);
    println!(
        "{}",
        json!({ "bench": "ingest_sqlite3_shell", "batch": batch, "results": results, "seconds": seconds, "results_per_second": results as f64 / seconds })
    );
}
