-- OpenChargeback schema v5 (SQLite): each distinct tag set stored once.
--
-- A month repeats a few thousand tag sets across a million charges; the canonical JSON was a
-- fifth of every stored row (and of every byte written to the WAL and copied at checkpoint).
-- New charges point to their set; charges stored before v5 keep their inline `tags`, and
-- readers take `coalesce(tags, <the set's tags>)`.
CREATE TABLE tag_sets (
    id    INTEGER PRIMARY KEY,
    tags  TEXT NOT NULL UNIQUE              -- canonical JSON object
);

ALTER TABLE charges ADD COLUMN tag_set_id INTEGER REFERENCES tag_sets(id);
