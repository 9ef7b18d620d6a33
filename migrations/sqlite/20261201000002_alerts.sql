-- Alerts: incidents, the notification outbox and its delivery log.

-- One breach of one rule for one subject (a speed target, a monitor, a topic).
CREATE TABLE alert_incident (
    id INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- When the breach began (pending or firing), when it fired, when it ended.
    started_ms INTEGER NOT NULL,
    fired_ms INTEGER NOT NULL,
    ended_ms INTEGER,
    -- firing, flapping or resolved.
    state TEXT NOT NULL,
    worst REAL,
    threshold REAL,
    -- The samples that decided it, as JSON: [{"at_ms":…, "value":…}, …].
    samples TEXT NOT NULL
);
CREATE INDEX alert_incident_by_start ON alert_incident (started_ms);
CREATE INDEX alert_incident_open ON alert_incident (rule, subject) WHERE ended_ms IS NULL;

-- Every notification is stored here before it is sent, and retried until it is
-- delivered or expires.
CREATE TABLE alert_outbox (
    id INTEGER PRIMARY KEY,
    -- Sent with the notification, so that a receiver can drop a duplicate.
    delivery_id TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    -- What templates and digests are built from, as JSON.
    facts TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- pending, sent, merged (into a digest), failed or expired.
    status TEXT NOT NULL,
    last_error TEXT,
    done_ms INTEGER
);
CREATE INDEX alert_outbox_due ON alert_outbox (next_attempt_ms) WHERE status = 'pending';

-- Each attempt: sent, retry (with the error), failed or expired.
CREATE TABLE alert_delivery (
    id INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    rule TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    -- How many outbox rows the attempt carried: above 1 for a digest.
    notifications INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX alert_delivery_by_time ON alert_delivery (at_ms);

-- Silences set through the API: while one covers a rule (or every rule, when
-- `rule` is NULL) and subject, its transitions are recorded but not sent.
CREATE TABLE alert_silence (
    id INTEGER PRIMARY KEY,
    rule TEXT,
    subject TEXT,
    starts_ms INTEGER NOT NULL,
    ends_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX alert_silence_by_end ON alert_silence (ends_ms);
