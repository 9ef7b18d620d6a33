-- Single-use join tokens an admin makes for a new agent; only their SHA-256 is kept.
CREATE TABLE agent_join_token (
    id INTEGER PRIMARY KEY,
    secret_hash BLOB NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    -- Set when an agent joined with it; a used token never works again.
    used_ms INTEGER,
    used_by_node TEXT
);

-- An enrolled agent: its own credential (SHA-256 only), and what its last batch said.
CREATE TABLE agent_node (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    credential_hash BLOB NOT NULL UNIQUE,
    joined_ms INTEGER NOT NULL,
    revoked_ms INTEGER,
    last_seen_ms INTEGER,
    -- The server's clock minus the agent's, from the best recent exchange.
    clock_offset_ms INTEGER,
    version TEXT NOT NULL DEFAULT '',
    -- Results waiting in the agent's outbox, and dropped there for want of room, as it last reported.
    backlog INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0,
    -- Every sequence number up to this one is stored (a lower bound: `agent_result` is the truth).
    acknowledged INTEGER NOT NULL DEFAULT 0
);

-- Each (node, sequence number) stored once, in the transaction of its event;
-- `event_id` is NULL for an item refused for its content (counted as done).
-- Rows at or below the node's `acknowledged` may be pruned.
CREATE TABLE agent_result (
    node_id INTEGER NOT NULL REFERENCES agent_node (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    event_id INTEGER,
    PRIMARY KEY (node_id, seq)
) WITHOUT ROWID;

-- Rollup buckets whose samples changed after they may have been built: late
-- results from agents. Rebuilt from the raw samples, then removed.
CREATE TABLE rollup_stale (
    field_id INTEGER NOT NULL,
    step_s INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    PRIMARY KEY (field_id, step_s, bucket)
) WITHOUT ROWID;
