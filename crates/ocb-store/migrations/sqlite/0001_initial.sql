-- OpenChargeback schema v1 (SQLite). Money is exact decimal TEXT; sums use the dec_sum() aggregate
-- registered by the store (never REAL). Timestamps are RFC 3339 UTC text.

CREATE TABLE sources (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL UNIQUE,          -- lower-cased name: sources are case-insensitive
    display_name  TEXT,
    type          TEXT NOT NULL DEFAULT 'file' CHECK (type IN ('file', 'api')),
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_via   TEXT NOT NULL
);

CREATE TABLE periods (
    period          TEXT PRIMARY KEY,            -- YYYY-MM
    status          TEXT NOT NULL CHECK (status IN ('open', 'closed', 'finalized')),
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    closed_at       TEXT,
    closed_by       TEXT,
    reopened_at     TEXT,
    reopened_by     TEXT,
    reopen_reason   TEXT,
    finalized_at    TEXT,
    finalized_by    TEXT,
    change_counter  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE period_notes (
    id          INTEGER PRIMARY KEY,
    period      TEXT NOT NULL REFERENCES periods(period),
    text        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE period_history (
    id           INTEGER PRIMARY KEY,
    period       TEXT NOT NULL REFERENCES periods(period),
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    actor        TEXT NOT NULL,
    channel      TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    note         TEXT
);

CREATE TABLE imports (
    id               INTEGER PRIMARY KEY,
    uuid             TEXT NOT NULL UNIQUE,
    status           TEXT NOT NULL CHECK (status IN ('committed', 'failed')),
    created_at       TEXT NOT NULL,
    actor            TEXT NOT NULL,
    channel          TEXT NOT NULL,
    source           TEXT NOT NULL,
    source_id        INTEGER REFERENCES sources(id),  -- NULL for refused imports of a new source
    filename         TEXT NOT NULL,
    path             TEXT,
    kind             TEXT,
    size_bytes       INTEGER,
    sha256           TEXT,
    mode             TEXT NOT NULL,
    expected_period  TEXT,
    skip_invalid     INTEGER NOT NULL,
    rows_read        INTEGER NOT NULL DEFAULT 0,
    inserted         INTEGER NOT NULL DEFAULT 0,
    updated          INTEGER NOT NULL DEFAULT 0,
    unchanged        INTEGER NOT NULL DEFAULT 0,
    rejected         INTEGER NOT NULL DEFAULT 0,
    removed          INTEGER NOT NULL DEFAULT 0,
    flagged_rows     INTEGER NOT NULL DEFAULT 0,
    flagged_cost     TEXT NOT NULL DEFAULT '0',
    total_cost       TEXT NOT NULL DEFAULT '0',
    warnings         TEXT NOT NULL DEFAULT '[]',  -- JSON list
    errors           TEXT NOT NULL DEFAULT '[]',  -- JSON list, capped at 10,000 entries
    error_count      INTEGER NOT NULL DEFAULT 0,  -- always exact
    failure_kind     TEXT,
    failure_message  TEXT,
    rejects_path     TEXT,
    errors_path      TEXT,
    duration_ms      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE import_periods (
    import_id     INTEGER NOT NULL REFERENCES imports(id),
    period        TEXT NOT NULL,                 -- '(unknown)' for rejected records without a period
    rows_read     INTEGER NOT NULL,
    inserted      INTEGER NOT NULL,
    updated       INTEGER NOT NULL,
    unchanged     INTEGER NOT NULL,
    rejected      INTEGER NOT NULL,
    removed       INTEGER NOT NULL,
    flagged_rows  INTEGER NOT NULL,
    flagged_cost  TEXT NOT NULL,
    total_cost    TEXT NOT NULL,
    PRIMARY KEY (import_id, period)
);

CREATE TABLE charges (
    id                    INTEGER PRIMARY KEY,
    source_id             INTEGER NOT NULL REFERENCES sources(id),
    period                TEXT NOT NULL REFERENCES periods(period),
    key_hash              BLOB NOT NULL,         -- identity tuple hash (SPEC 5.7)
    occurrence            INTEGER NOT NULL,
    content_hash          BLOB NOT NULL,
    created_import_id     INTEGER NOT NULL REFERENCES imports(id),
    import_id             INTEGER NOT NULL REFERENCES imports(id),  -- last import that wrote it
    line                  INTEGER,
    billing_period_start  TEXT NOT NULL,
    billing_period_end    TEXT,
    charge_period_start   TEXT,
    charge_period_end     TEXT,
    list_cost             TEXT,
    contracted_cost       TEXT,
    billed_cost           TEXT NOT NULL,
    effective_cost        TEXT,
    resource_id           TEXT,
    resource_name         TEXT,
    service_name          TEXT,
    charge_category       TEXT,
    charge_class          TEXT,
    charge_description    TEXT,
    sku_id                TEXT,
    sku_price_id          TEXT,
    tags                  TEXT,                  -- canonical JSON object
    tags_raw              TEXT,                  -- verbatim cell when not a JSON object
    extra                 TEXT,                  -- JSON object of every other column
    pi_email              TEXT,
    project_id            TEXT,
    fund_org              TEXT,
    cost_center           TEXT,
    account_code          TEXT,
    reference_1           TEXT,
    reference_2           TEXT,
    pi_name               TEXT,
    end_date              TEXT,
    reconciliation_end    TEXT,
    ovr_pi_email          TEXT,
    ovr_project_id        TEXT,
    ovr_fund_org          TEXT,
    ovr_by                TEXT,
    ovr_at                TEXT,
    flag_reasons          TEXT,                  -- JSON list, NULL when never flagged
    review_state          TEXT NOT NULL DEFAULT 'none'
                          -- Comparisons, not IN (...): SQLite rebuilds an IN list's ephemeral
                          -- index for every inserted row, which cost a fifth of a bulk insert.
                          CHECK (review_state = 'none' OR review_state = 'pending'
                                 OR review_state = 'approved' OR review_state = 'rejected'),
    reviewed_by           TEXT,
    reviewed_at           TEXT,
    review_note           TEXT,
    removed_at            TEXT,
    removed_by_import     INTEGER REFERENCES imports(id)
);

CREATE INDEX charges_scope ON charges (period, source_id);
-- Only queued charges are indexed: most rows never enter it, so bulk inserts stay cheap.
CREATE INDEX charges_queue ON charges (period) WHERE review_state = 'pending' AND removed_at IS NULL;

CREATE TABLE charge_events (
    id           INTEGER PRIMARY KEY,
    charge_id    INTEGER NOT NULL REFERENCES charges(id),
    occurred_at  TEXT NOT NULL,
    kind         TEXT NOT NULL,  -- updated, flagged, cleared, reflagged, approved, rejected, restored, removed, restored_by_import
    import_id    INTEGER REFERENCES imports(id),
    actor        TEXT NOT NULL,
    channel      TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX charge_events_charge ON charge_events (charge_id);

CREATE TABLE review_log (
    id           INTEGER PRIMARY KEY,
    occurred_at  TEXT NOT NULL,
    period       TEXT NOT NULL,
    charge_id    INTEGER NOT NULL REFERENCES charges(id),
    -- Comparisons, not IN (...), for the reason given at charges.review_state.
    action       TEXT NOT NULL CHECK (action = 'approved' OR action = 'rejected' OR action = 'restored'
                                      OR action = 'reflagged' OR action = 'cleared'),
    actor        TEXT NOT NULL,
    channel      TEXT NOT NULL,
    pi_email     TEXT,
    resource_id  TEXT,
    service      TEXT,
    amount       TEXT NOT NULL,
    reasons      TEXT NOT NULL DEFAULT '[]',
    note         TEXT,
    override     TEXT
);
CREATE INDEX review_log_period ON review_log (period);

CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY,
    occurred_at  TEXT NOT NULL,
    event        TEXT NOT NULL,
    actor        TEXT NOT NULL,
    actor_role   TEXT,
    channel      TEXT NOT NULL,
    target_type  TEXT,
    target_id    TEXT,
    period       TEXT,
    details      TEXT NOT NULL DEFAULT '{}',
    request_id   TEXT,
    client_ip    TEXT
);
CREATE INDEX audit_events_event ON audit_events (event);

-- The audit trail is append-only, enforced by the database itself (SPEC 13.1).
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

-- Statement generation runs (filled by `generate`); finalize requires a current final run.
CREATE TABLE statement_runs (
    id              INTEGER PRIMARY KEY,
    period          TEXT NOT NULL REFERENCES periods(period),
    kind            TEXT NOT NULL CHECK (kind IN ('draft', 'final')),
    change_counter  INTEGER NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT NOT NULL,
    actor           TEXT NOT NULL,
    channel         TEXT NOT NULL,
    statements      INTEGER NOT NULL,
    total           TEXT NOT NULL
);
