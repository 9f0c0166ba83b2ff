-- OpenChargeback schema v4 (SQLite): journal export log, API tokens and settings overrides
-- (SPEC §10.11, §14.5, §4.5).

-- One row per successful journal export (§10.11); the stored file can be downloaded again.
CREATE TABLE journal_exports (
    id               INTEGER PRIMARY KEY,
    exported_at      TEXT NOT NULL,                 -- UTC RFC 3339
    period           TEXT NOT NULL,
    period_status    TEXT NOT NULL,                 -- status at the time of the export
    format           TEXT NOT NULL,                 -- default, summary, gl, template, ...
    template_name    TEXT,
    include_flagged  INTEGER NOT NULL,
    row_count        INTEGER NOT NULL,              -- data lines of the file
    charge_count     INTEGER NOT NULL,
    total            TEXT NOT NULL,                 -- net charge, exact decimal
    debit_total      TEXT,                          -- gl / template only
    credit_total     TEXT,
    actor            TEXT NOT NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('web', 'api', 'cli', 'system')),
    file_name        TEXT NOT NULL,
    stored_path      TEXT NOT NULL,                 -- absolute
    sha256           TEXT NOT NULL
);
CREATE INDEX journal_exports_period ON journal_exports (period, format);

-- API tokens (§14.5): only a keyed hash of the token is stored; the token is shown once.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,             -- hex HMAC-SHA-256 keyed with web.secret_key
    read_only     INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Settings edited in the web UI (§4.5), e.g. key `review.patterns`: a JSON value that overrides
-- the config file until reverted (the row is deleted on revert).
CREATE TABLE settings_overrides (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,                       -- JSON
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);
