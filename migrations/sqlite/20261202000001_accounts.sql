-- Accounts: users, their sessions, API tokens and the audit log.

-- Roles are admin, editor or viewer; the password is an argon2id PHC string.
CREATE TABLE account_user (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

-- A browser's sign-in. Only the SHA-256 of the cookie's value is kept, so a
-- copy of the database cannot be used to sign in.
CREATE TABLE account_session (
    id INTEGER PRIMARY KEY,
    secret_hash BLOB NOT NULL UNIQUE,
    user TEXT NOT NULL REFERENCES account_user (name) ON DELETE CASCADE,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    address TEXT NOT NULL
);

-- Scoped API tokens, shown once when made; only their SHA-256 is kept.
CREATE TABLE account_token (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    secret_hash BLOB NOT NULL UNIQUE,
    -- Space-separated: read:<pattern>, publish:<pattern>, operate, admin.
    scopes TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER,
    last_used_ms INTEGER
);

-- Who did what: sign-ins, failed sign-ins, user and token changes, setup.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    address TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at_ms);
