-- Access rules added by admins while netpulse runs, beside the config's
-- [[access]] table; both are read by the same decision.
CREATE TABLE access_rule (
    id INTEGER PRIMARY KEY,
    -- anonymous, role:<role>, user:<name> or token:<name>.
    who TEXT NOT NULL,
    series TEXT NOT NULL,
    -- read, publish or deny.
    allow TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    UNIQUE (who, series, allow)
);
