-- Web UI: users, server-side sessions and background jobs (SPEC §12.1, §12.9, §14).

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL,
    username_key    TEXT NOT NULL UNIQUE,        -- lower-cased: usernames are case-insensitive
    email           TEXT NOT NULL DEFAULT '',
    display_name    TEXT NOT NULL DEFAULT '',
    password_hash   TEXT NOT NULL,               -- bcrypt; never logged, never shown
    role            TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'viewer')),
    config_managed  INTEGER NOT NULL DEFAULT 0,  -- synced from web.users; read-only in the UI
    recovery        INTEGER NOT NULL DEFAULT 0,
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    password_changed_at TEXT
);

-- The cookie holds a random 256-bit id; only its SHA-256 is stored.
CREATE TABLE sessions (
    id_hash          TEXT PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    last_seen_at     TEXT NOT NULL,
    expires_at       TEXT NOT NULL,               -- sliding idle expiry
    selected_period  TEXT,
    flash            TEXT NOT NULL DEFAULT '[]',  -- JSON list of {level, text}, shown once
    client_ip        TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,                  -- import, statements, send
    period        TEXT,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'interrupted')),
    created_at    TEXT NOT NULL,
    finished_at   TEXT,
    username      TEXT NOT NULL,
    label         TEXT NOT NULL DEFAULT '',
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER,
    result        TEXT,                           -- JSON
    error         TEXT
);
