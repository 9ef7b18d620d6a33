//! SQL text shared by both databases: numbered placeholders (`$1`, which
//! SQLite and PostgreSQL both read), multi-row inserts, and the few phrases
//! where the two differ. sqlx's `QueryBuilder` writes `?` under the `Any`
//! driver, which PostgreSQL refuses, so rows are numbered here.

use std::fmt::Write;

use crate::server::store::Backend;

/// Rows one multi-row INSERT carries: at 5 parameters a row this stays under
/// SQLite's 32,766 parameters and PostgreSQL's 65,535.
pub const ROWS_PER_INSERT: usize = 1000;

/// `head VALUES ($1, $2), ($3, $4)… tail` for `rows` rows of `width` values;
/// on SQLite `(?, ?), (?, ?)…`, since sqlx looks each numbered name up in
/// SQLite's list of names, a linear search: a 4,000-value insert spent most
/// of its time there.
pub fn insert_rows(backend: Backend, head: &str, rows: usize, width: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * width * 6);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        match backend {
            Backend::Sqlite => sql.push_str(&vec!["?"; width].join(", ")),
            Backend::Postgres => sql.push_str(&placeholders(row * width + 1, width)),
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// `$first, $first+1, …`, `count` of them.
pub fn placeholders(first: usize, count: usize) -> String {
    let mut list = String::new();
    for n in first..first + count {
        if n > first {
            list.push_str(", ");
        }
        let _ = write!(list, "${n}");
    }
    list
}

/// The advisory lock every write transaction takes on PostgreSQL, so that
/// writes are one at a time as on SQLite: a rollup rebuilt from samples no
/// batch can change meanwhile, a field no batch is writing under deleted.
pub const WRITE_LOCK: i64 = 0x6e70_7772_6974_6500; // "npwrite"

/// Replaces a rollup bucket that is built again.
pub const REPLACE_ROLLUP: &str = " ON CONFLICT (field_id, step_s, bucket) DO UPDATE SET n = excluded.n, min = excluded.min, mean = excluded.mean, \
                                  max = excluded.max, p95 = excluded.p95";

/// Wraps a query so that its rows come back as one JSON array in one row.
/// sqlx hands each SQLite row across threads one at a time, which cost more
/// than the query itself; one row of JSON parses in a fraction of that.
pub fn as_json_array(backend: Backend, sql: &str, columns: &str) -> String {
    match backend {
        Backend::Sqlite => format!("SELECT coalesce(json_group_array(json_array({columns})), '[]') FROM ({sql})"),
        Backend::Postgres => format!("SELECT coalesce(json_agg(json_build_array({columns}))::text, '[]') FROM ({sql}) AS page"),
    }
}

/// The statement that opens a write transaction: SQLite takes its write lock
/// at once, so that two writers never deadlock upgrading; PostgreSQL then
/// takes [`WRITE_LOCK`] (see `Store::begin_write`).
pub fn begin_write(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_numbered_across_the_statement() {
        let insert = |backend| insert_rows(backend, "INSERT INTO t (a, b)", 2, 2, " ON CONFLICT DO NOTHING");
        assert_eq!(insert(Backend::Postgres), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING");
        assert_eq!(insert(Backend::Sqlite), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON CONFLICT DO NOTHING");
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 0), "");
    }
}
