//! Settings overrides (SPEC §4.5): review pattern lists saved in the web UI, stored as JSON in
//! `settings_overrides` under their config key (`review.flag_patterns`, …). The config file is
//! never rewritten; "revert" deletes the row. Every change is audited with old and new values.
//!
//! Also the dev-mode data reset (§12.3), which empties the billing data but never users, audit
//! events or these settings.

use crate::audit::{self, AuditEvent};
use crate::{map_busy, Actor, Result, Store, StoreError};
use ocb_core::flags::ReviewRules;
use ocb_core::review_settings::{EffectiveReview, PatternKind, StoredPatterns};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;

/// The first schema version with `settings_overrides`; a read-only open of an older database
/// (dry runs, `config check`) simply has no overrides.
const SETTINGS_SCHEMA: i64 = 4;

fn has_settings_table(conn: &Connection) -> Result<bool> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    Ok(v >= SETTINGS_SCHEMA)
}

fn load(conn: &Connection, kind: PatternKind) -> Result<Option<StoredPatterns>> {
    if !has_settings_table(conn)? {
        return Ok(None);
    }
    let row = conn
        .prepare_cached(
            "SELECT value, updated_at, updated_by FROM settings_overrides WHERE key = ?1",
        )?
        .query_row([kind.key()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    row.map(|(value, updated_at, updated_by)| {
        let patterns: Vec<String> = serde_json::from_str(&value)
            .map_err(|e| StoreError::Corrupt(format!("settings override {}: {e}", kind.key())))?;
        Ok(StoredPatterns {
            patterns,
            updated_at,
            updated_by,
        })
    })
    .transpose()
}

/// Row counts removed by a dev-mode reset, per table.
pub type ResetCounts = Vec<(&'static str, u64)>;

/// Tables emptied by the dev-mode reset, children before parents (foreign keys stay on).
/// Users, sessions, API tokens, audit events and settings overrides are kept.
const RESET_TABLES: &[&str] = &[
    "review_log",
    "charge_events",
    "charges",
    "tag_sets",
    "import_periods",
    "imports",
    "statements",
    "statement_runs",
    "email_log",
    "journal_exports",
    "jobs",
    "period_notes",
    "period_history",
    "periods",
    "sources",
];

impl Store {
    /// The stored override of one pattern list, if any.
    pub fn review_override(&self, kind: PatternKind) -> Result<Option<StoredPatterns>> {
        load(&self.conn, kind)
    }

    /// The effective review settings: each list from the database override when present, else
    /// from the config lists given (already compiled in `config_rules`).
    pub fn effective_review(
        &self,
        config_flag: &[String],
        config_fund_org: &[String],
        config_rules: &ReviewRules,
    ) -> Result<EffectiveReview> {
        let flag = load(&self.conn, PatternKind::FlagPatterns)?;
        let fund = load(&self.conn, PatternKind::FundOrgPatterns)?;
        EffectiveReview::resolve(config_flag, config_fund_org, config_rules, flag, fund)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// `rules` (compiled from the config file) with each list replaced by its database override
    /// when one exists. Ingest applies this itself, so every entry point flags alike.
    pub fn apply_review_overrides(&self, rules: &ReviewRules) -> Result<ReviewRules> {
        let mut out = rules.clone();
        for kind in PatternKind::ALL {
            let Some(stored) = load(&self.conn, kind)? else {
                continue;
            };
            let compiled = stored
                .patterns
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    kind.compile(p).map_err(|e| {
                        StoreError::Corrupt(format!("{}[{i}] (database override): {e}", kind.key()))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            match kind {
                PatternKind::FlagPatterns => out.flag_patterns = compiled,
                PatternKind::FundOrgPatterns => out.fund_org_patterns = compiled,
            }
        }
        Ok(out)
    }

    /// Saves an override (validated by the caller). `old` is the list in effect before, for the
    /// audit record. Returns false (and writes nothing) when the list in effect is unchanged.
    pub fn save_review_override(
        &mut self,
        actor: &Actor,
        kind: PatternKind,
        old: &[String],
        new: &[String],
    ) -> Result<bool> {
        let at = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let stored = load(&tx, kind)?;
        // Unchanged only when an override already holds this list: saving the config's own
        // list still pins it, which is what the user asked for.
        if stored.as_ref().is_some_and(|s| s.patterns == new) {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO settings_overrides (key, value, updated_at, updated_by) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
                                              updated_by = excluded.updated_by",
            params![kind.key(), json!(new).to_string(), at, actor.name],
        )?;
        audit::insert(
            &tx,
            &at,
            actor,
            &AuditEvent {
                event: "settings.updated",
                target_type: Some("setting"),
                target_id: Some(kind.key().into()),
                period: None,
                details: json!({"key": kind.key(), "old": old, "new": new}),
            },
        )?;
        tx.commit().map_err(map_busy)?;
        Ok(true)
    }

    /// Deletes every review override ("Revert to config file"); one `settings.reverted` audit
    /// event per deleted key, with the override and the config list that takes effect again.
    /// Returns the keys reverted.
    pub fn revert_review_overrides(
        &mut self,
        actor: &Actor,
        config_flag: &[String],
        config_fund_org: &[String],
    ) -> Result<Vec<&'static str>> {
        let at = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let mut reverted = Vec::new();
        for kind in PatternKind::ALL {
            let Some(old) = load(&tx, kind)? else {
                continue;
            };
            let new = match kind {
                PatternKind::FlagPatterns => config_flag,
                PatternKind::FundOrgPatterns => config_fund_org,
            };
            tx.execute(
                "DELETE FROM settings_overrides WHERE key = ?1",
                [kind.key()],
            )?;
            audit::insert(
                &tx,
                &at,
                actor,
                &AuditEvent {
                    event: "settings.reverted",
                    target_type: Some("setting"),
                    target_id: Some(kind.key().into()),
                    period: None,
                    details: json!({"key": kind.key(), "old": old.patterns, "new": new}),
                },
            )?;
            reverted.push(kind.key());
        }
        tx.commit().map_err(map_busy)?;
        Ok(reverted)
    }

    /// Dev-mode data reset: empties the billing data in one transaction and audits
    /// `settings.reset` with the row counts. The caller checks `dev_mode`.
    pub fn reset_dev_data(&mut self, actor: &Actor) -> Result<ResetCounts> {
        let at = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let mut counts = Vec::new();
        for table in RESET_TABLES {
            // Table names come from the constant list above, never from input.
            let n = tx.execute(&format!("DELETE FROM {table}"), [])?;
            counts.push((*table, n as u64));
        }
        // Sessions survive (the admin stays logged in) but forget their deleted period.
        tx.execute("UPDATE sessions SET selected_period = NULL", [])?;
        let details: serde_json::Map<String, serde_json::Value> = counts
            .iter()
            .map(|(t, n)| ((*t).to_string(), json!(n)))
            .collect();
        audit::insert(
            &tx,
            &at,
            actor,
            &AuditEvent {
                event: "settings.reset",
                target_type: Some("database"),
                target_id: None,
                period: None,
                details: json!({"tables": details}),
            },
        )?;
        tx.commit().map_err(map_busy)?;
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;
    use ocb_core::review_settings::Origin;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn audit_events(s: &Store) -> Vec<(String, String)> {
        let mut stmt = s
            .conn
            .prepare("SELECT event, details FROM audit_events ORDER BY id")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    #[test]
    fn override_then_revert_with_audit() {
        let mut s = store();
        let config = strings(&["gpu"]);
        let rules = ReviewRules::compile(&config, &[]).expect("valid");
        let alice = Actor::cli("alice");
        let e = s.effective_review(&config, &[], &rules).expect("effective");
        assert_eq!(e.flag_patterns.origin, Origin::ConfigFile);

        let new = strings(&["tpu", "fpga"]);
        assert!(s
            .save_review_override(&alice, PatternKind::FlagPatterns, &config, &new)
            .expect("save"));
        assert!(!s
            .save_review_override(&alice, PatternKind::FlagPatterns, &new, &new)
            .expect("same list again"));
        let e = s.effective_review(&config, &[], &rules).expect("effective");
        assert_eq!(e.flag_patterns.patterns, new);
        let applied = s.apply_review_overrides(&rules).expect("applied");
        let texts: Vec<&str> = applied
            .flag_patterns
            .iter()
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(texts, ["tpu", "fpga"]);
        assert_eq!(
            e.flag_patterns.origin,
            Origin::Database {
                updated_at: "2025-02-03T04:05:06Z".into(),
                updated_by: "alice".into()
            }
        );
        assert_eq!(e.fund_org_patterns.origin, Origin::ConfigFile);

        let reverted = s
            .revert_review_overrides(&alice, &config, &[])
            .expect("revert");
        assert_eq!(reverted, ["review.flag_patterns"]);
        let e = s.effective_review(&config, &[], &rules).expect("effective");
        assert_eq!(e.flag_patterns.patterns, config);
        assert!(s
            .revert_review_overrides(&alice, &config, &[])
            .expect("nothing to revert")
            .is_empty());

        let events = audit_events(&s);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].0, "settings.updated");
        let d: serde_json::Value = serde_json::from_str(&events[0].1).expect("json");
        assert_eq!(
            d,
            json!({"key": "review.flag_patterns", "old": ["gpu"], "new": ["tpu", "fpga"]})
        );
        assert_eq!(events[1].0, "settings.reverted");
        let d: serde_json::Value = serde_json::from_str(&events[1].1).expect("json");
        assert_eq!(d["old"], json!(["tpu", "fpga"]));
        assert_eq!(d["new"], json!(["gpu"]));
    }

    #[test]
    fn dev_reset_keeps_users_audit_and_settings() {
        let mut s = store();
        let alice = Actor::cli("alice");
        s.open_period(&alice, "2025-01".parse().expect("period"), None)
            .expect("open");
        s.save_review_override(
            &alice,
            PatternKind::FundOrgPatterns,
            &[],
            &strings(&["^A$"]),
        )
        .expect("save");
        let counts = s.reset_dev_data(&alice).expect("reset");
        assert!(counts.contains(&("periods", 1)));
        assert!(s.list_periods().expect("periods").is_empty());
        assert!(s
            .review_override(PatternKind::FundOrgPatterns)
            .expect("load")
            .is_some());
        let events: Vec<String> = audit_events(&s).into_iter().map(|e| e.0).collect();
        assert_eq!(
            events,
            ["period.created", "settings.updated", "settings.reset"]
        );
    }
}
