-- Duraclaw's D1 schema: users, login sessions, failed-login counters, the sessions index.
-- Timestamps are milliseconds since the Unix epoch.

-- The first sign-up is the admin; after it, only the admin creates users.
CREATE TABLE users (
    id          TEXT PRIMARY KEY,                     -- 32 hex chars
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,  -- 1-64 of [A-Za-z0-9._@+-]
    pass_hash   TEXT NOT NULL,                        -- hex, PBKDF2-HMAC-SHA256, 32 bytes
    salt        TEXT NOT NULL,                        -- hex, 16 random bytes
    iterations  INTEGER NOT NULL,
    is_admin    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

-- One row per signed-in browser; the cookie holds the token, this table only its SHA-256.
CREATE TABLE login_sessions (
    token_hash  TEXT PRIMARY KEY,                     -- hex SHA-256 of the 32-byte token
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX login_sessions_by_user ON login_sessions(user_id);

-- Failed logins per (lower-cased) user name in the current window: the rate limit survives
-- isolate restarts and is shared by every isolate.
CREATE TABLE login_failures (
    name          TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    window_start  INTEGER NOT NULL
);

-- The session list. The Worker inserts a row when a session is created; the session's Durable
-- Object updates status, last_seq, cost_usd and updated_at by id.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,                     -- 32 hex chars, also the DO's name
    owner_id    TEXT NOT NULL REFERENCES users(id),
    title       TEXT NOT NULL,
    project     TEXT NOT NULL,
    worktree    TEXT,
    status      TEXT NOT NULL,                        -- SessionStatus::name()
    cost_usd    REAL NOT NULL DEFAULT 0,
    last_seq    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX sessions_by_owner_updated ON sessions(owner_id, updated_at);
