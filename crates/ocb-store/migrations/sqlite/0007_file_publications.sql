-- OpenChargeback schema v7 (SQLite): pending publications of output files (issue 15).
--
-- An output file is written under a hidden temporary name in its folder and synced; its record
-- (journal export, e-mail log row …), its audit event and one row here are committed in one
-- transaction; then the file is renamed to its final name and the row deleted. A row left by a
-- crash between the commit and the rename tells recovery to finish that rename; a staged file
-- without a row belongs to a record that never committed and is deleted.
CREATE TABLE file_publications (
    staged_path  TEXT PRIMARY KEY,          -- absolute or as configured, hidden name
    target_path  TEXT NOT NULL,             -- the final name the record gives
    created_at   TEXT NOT NULL
);

CREATE INDEX file_publications_target ON file_publications (target_path);
