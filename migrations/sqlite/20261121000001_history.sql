-- Every published event with its SSE id, kept for the replay window so that
-- a client resumes across restarts. Pruned by count and age.
CREATE TABLE event_log (
    id      INTEGER PRIMARY KEY,
    topic   TEXT    NOT NULL,
    at_ms   INTEGER NOT NULL,
    data    TEXT    NOT NULL
);

-- A numeric series: `speed`, `probe:<monitor>` or `topic:<name>`, and one of its fields.
CREATE TABLE field (
    id      INTEGER PRIMARY KEY,
    series  TEXT    NOT NULL,
    name    TEXT    NOT NULL,
    UNIQUE (series, name)
);

-- Raw samples. Values are stored in thousandths as integers: the wire rounds
-- to three decimals already, and small integers take 1 to 4 bytes, not 8.
CREATE TABLE sample (
    field_id  INTEGER NOT NULL,
    at_ms     INTEGER NOT NULL,
    event_id  INTEGER NOT NULL,
    milli     INTEGER NOT NULL,
    PRIMARY KEY (field_id, at_ms, event_id)
) WITHOUT ROWID;

-- Per-minute (step_s = 60) and per-hour (step_s = 3600) summaries, in thousandths.
CREATE TABLE rollup (
    field_id  INTEGER NOT NULL,
    step_s    INTEGER NOT NULL,
    bucket    INTEGER NOT NULL,  -- unix seconds / step_s
    n         INTEGER NOT NULL,
    min       INTEGER NOT NULL,
    mean      INTEGER NOT NULL,
    max       INTEGER NOT NULL,
    p95       INTEGER NOT NULL,
    PRIMARY KEY (field_id, step_s, bucket)
) WITHOUT ROWID;

-- How far each rollup has been built: buckets before `done_until_s` are final.
CREATE TABLE rollup_progress (
    step_s        INTEGER PRIMARY KEY,
    done_until_s  INTEGER NOT NULL
);
