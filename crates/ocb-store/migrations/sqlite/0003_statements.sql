-- OpenChargeback schema v3 (SQLite): statements and the email log (SPEC §8, §9.8).

-- One statement per (period, PI, project); the id stays stable across regenerations (upsert).
CREATE TABLE statements (
    id                INTEGER PRIMARY KEY,
    period            TEXT NOT NULL REFERENCES periods(period),
    pi_email          TEXT NOT NULL,                 -- lower-case
    project_id        TEXT NOT NULL,                 -- '(no project)' when the charges have none
    kind              TEXT NOT NULL CHECK (kind IN ('draft', 'final', 'stale')),
    fund_orgs         TEXT NOT NULL DEFAULT '[]',    -- JSON list, 'N/A' for none
    pi_name           TEXT,
    total             TEXT NOT NULL,                 -- amount due (Σ rounded billing lines)
    total_list        TEXT NOT NULL,
    total_discount    TEXT NOT NULL,
    total_exact       TEXT NOT NULL,                 -- exact Σ BilledCost
    total_list_exact  TEXT NOT NULL,
    charge_count      INTEGER NOT NULL,
    content_hash      TEXT NOT NULL,                 -- SHA-256 of the canonical figures (§8.6)
    template_data     TEXT NOT NULL,                 -- the JSON data object the PDF was rendered from
    pdf_path          TEXT NOT NULL,                 -- absolute
    generated_at      TEXT NOT NULL,
    run_id            INTEGER REFERENCES statement_runs(id),
    sent_at           TEXT,
    UNIQUE (period, pi_email, project_id)
);
CREATE INDEX statements_pi ON statements (period, pi_email);

-- Generation runs: counts, and the staging directory whose PDFs still have to be moved into
-- place (NULL once done) plus PDFs of removed statements to delete — startup recovery finishes
-- both for a committed run (§8.4 step 7).
ALTER TABLE statement_runs ADD COLUMN pis INTEGER NOT NULL DEFAULT 0;
ALTER TABLE statement_runs ADD COLUMN new_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE statement_runs ADD COLUMN updated_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE statement_runs ADD COLUMN unchanged_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE statement_runs ADD COLUMN removed_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE statement_runs ADD COLUMN staging_dir TEXT;
ALTER TABLE statement_runs ADD COLUMN pending_removals TEXT;

-- One row per send operation (per PI email).
CREATE TABLE email_log (
    id             INTEGER PRIMARY KEY,
    occurred_at    TEXT NOT NULL,
    period         TEXT NOT NULL,
    recipient      TEXT NOT NULL,
    subject        TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('success', 'error', 'dev_mode')),
    error          TEXT,                            -- last failure
    details        TEXT NOT NULL DEFAULT '{}',      -- JSON: every attempt's error, attachments
    attempts       INTEGER NOT NULL,
    statement_ids  TEXT NOT NULL DEFAULT '[]',      -- JSON list
    message_id     TEXT,
    file_path      TEXT,                            -- dev mode .eml
    actor          TEXT NOT NULL,
    channel        TEXT NOT NULL
);
CREATE INDEX email_log_period ON email_log (period, recipient);
