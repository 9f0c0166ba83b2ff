//! Web users (SPEC §14): database accounts and the config-managed bootstrap/recovery accounts
//! synced from `web.users` at every `serve` start. Password hashes are stored, never logged.
//!
//! The store does not hash or verify passwords (that is the web crate's bcrypt code); it keeps
//! the rows and the rules that need the database (unique names, the last enabled admin).

use crate::audit::{self, AuditEvent};
use crate::{map_busy, Actor, Result, Store, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::json;

/// A stored user.
#[derive(Clone, serde::Serialize)]
pub struct UserRecord {
    /// Row id.
    pub id: i64,
    /// Username as first spelled.
    pub username: String,
    /// Email.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// bcrypt hash (never serialised).
    #[serde(skip)]
    pub password_hash: String,
    /// `admin`, `reviewer` or `viewer`.
    pub role: String,
    /// Synced from `web.users`: read-only in the UI.
    pub config_managed: bool,
    /// Recovery account: always checked against the config hash.
    pub recovery: bool,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
    /// Creation time.
    pub created_at: String,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("config_managed", &self.config_managed)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A user to create, or a config user to sync.
#[derive(Clone)]
pub struct NewUser {
    /// Username (checked by the caller against `^[A-Za-z0-9_.-]{1,100}$`).
    pub username: String,
    /// Email.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// bcrypt hash.
    pub password_hash: String,
    /// Role.
    pub role: String,
    /// Recovery flag (config users).
    pub recovery: bool,
}

pub(crate) const COLUMNS: &str = "id, username, email, display_name, password_hash, role, config_managed, recovery, disabled, created_at";

pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: r.get(0)?,
        username: r.get(1)?,
        email: r.get(2)?,
        display_name: r.get(3)?,
        password_hash: r.get(4)?,
        role: r.get(5)?,
        config_managed: r.get(6)?,
        recovery: r.get(7)?,
        disabled: r.get(8)?,
        created_at: r.get(9)?,
    })
}

fn find(conn: &Connection, username: &str) -> Result<Option<UserRecord>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users WHERE username_key = ?1"
        ))?
        .query_row([username.to_lowercase()], from_row)
        .optional()?)
}

pub(crate) fn enabled_admins(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0",
        [],
        |r| r.get(0),
    )?)
}

impl Store {
    /// The user with this name (case-insensitive).
    pub fn find_user(&self, username: &str) -> Result<Option<UserRecord>> {
        find(&self.conn, username)
    }

    /// Number of accounts (enabled or not).
    pub fn count_users(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
    }

    /// Every user, by name.
    pub fn list_users(&self) -> Result<Vec<UserRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM users ORDER BY username_key"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The time of each user's latest successful login, keyed by lower-case username. Read from
    /// the `auth.login_success` audit events (indexed by event): the audit trail already holds
    /// every login, so no column has to be kept in step with it.
    pub fn last_logins(&self) -> Result<std::collections::HashMap<String, String>> {
        let mut stmt = self.conn.prepare(
            "SELECT lower(target_id), max(occurred_at) FROM audit_events
             WHERE event = 'auth.login_success' AND target_id IS NOT NULL GROUP BY lower(target_id)",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Creates a database user; refused when the name exists (`Username 'x' already exists.`).
    pub fn create_user(&mut self, actor: &Actor, u: &NewUser) -> Result<i64> {
        let at = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        if find(&tx, &u.username)?.is_some() {
            return Err(StoreError::Refused(format!(
                "Username '{}' already exists.",
                u.username
            )));
        }
        tx.execute(
            "INSERT INTO users (username, username_key, email, display_name, password_hash, role, created_at, created_by, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7)",
            params![u.username, u.username.to_lowercase(), u.email, u.display_name, u.password_hash, u.role, at, actor.name],
        )?;
        let id = tx.last_insert_rowid();
        audit::insert(
            &tx,
            &at,
            actor,
            &AuditEvent {
                event: "user.created",
                target_type: Some("user"),
                target_id: Some(u.username.clone()),
                period: None,
                details: json!({"username": u.username, "email": u.email, "role": u.role, "created_by": actor.name}),
            },
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Sets a user's password hash and revokes their other sessions (all but `keep_session`).
    pub fn set_user_password(
        &mut self,
        actor: &Actor,
        user_id: i64,
        password_hash: &str,
        keep_session: Option<&str>,
    ) -> Result<()> {
        let at = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let username: String = tx
            .query_row("SELECT username FROM users WHERE id = ?1", [user_id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| StoreError::NotFound("user not found".into()))?;
        tx.execute(
            "UPDATE users SET password_hash = ?2, updated_at = ?3, password_changed_at = ?3 WHERE id = ?1",
            params![user_id, password_hash, at],
        )?;
        let revoked = tx.execute(
            "DELETE FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR id_hash <> ?2)",
            params![user_id, keep_session],
        )?;
        let event = if actor.name.eq_ignore_ascii_case(&username) {
            "user.password_changed"
        } else {
            "user.password_reset"
        };
        audit::insert(
            &tx,
            &at,
            actor,
            &AuditEvent {
                event,
                target_type: Some("user"),
                target_id: Some(username.clone()),
                period: None,
                details: json!({"username": username, "sessions_revoked": revoked}),
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Syncs the `web.users` accounts (SPEC §14.1): creates or updates each as config-managed;
    /// config-managed accounts no longer in the config are disabled and become ordinary
    /// database accounts, except the last enabled admin. Returns warnings to log.
    pub fn sync_config_users(&mut self, users: &[NewUser]) -> Result<Vec<String>> {
        let at = self.now();
        let actor = Actor::system();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let mut changes = Vec::new();
        let mut warnings = Vec::new();
        for u in users {
            let key = u.username.to_lowercase();
            match find(&tx, &u.username)? {
                None => {
                    tx.execute(
                        "INSERT INTO users (username, username_key, email, display_name, password_hash, role, config_managed, recovery, created_at, created_by, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, 'config', ?8)",
                        params![u.username, key, u.email, u.display_name, u.password_hash, u.role, u.recovery, at],
                    )?;
                    changes
                        .push(json!({"username": u.username, "change": "created", "role": u.role}));
                }
                Some(existing) => {
                    let same = existing.email == u.email
                        && existing.display_name == u.display_name
                        && existing.password_hash == u.password_hash
                        && existing.role == u.role
                        && existing.recovery == u.recovery
                        && existing.config_managed
                        && !existing.disabled;
                    if !same {
                        tx.execute(
                            "UPDATE users SET email = ?2, display_name = ?3, password_hash = ?4, role = ?5, recovery = ?6,
                                    config_managed = 1, disabled = 0, updated_at = ?7 WHERE id = ?1",
                            params![existing.id, u.email, u.display_name, u.password_hash, u.role, u.recovery, at],
                        )?;
                        changes.push(
                            json!({"username": u.username, "change": "updated", "role": u.role}),
                        );
                    }
                }
            }
        }
        let keys: Vec<String> = users.iter().map(|u| u.username.to_lowercase()).collect();
        let stale: Vec<(i64, String, String)> = {
            let mut stmt = tx.prepare(
                "SELECT id, username_key, role FROM users WHERE config_managed = 1 AND disabled = 0",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .filter(|(_, k, _)| !keys.contains(k))
                .collect()
        };
        for (id, key, role) in stale {
            if role == "admin" && enabled_admins(&tx)? <= 1 {
                warnings.push(format!(
                    "config user '{key}' was removed from the config but is the last enabled admin; it stays enabled"
                ));
                tx.execute(
                    "UPDATE users SET config_managed = 0, updated_at = ?2 WHERE id = ?1",
                    params![id, at],
                )?;
                continue;
            }
            tx.execute(
                "UPDATE users SET config_managed = 0, recovery = 0, disabled = 1, updated_at = ?2 WHERE id = ?1",
                params![id, at],
            )?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
            changes.push(json!({"username": key, "change": "disabled (removed from config)"}));
        }
        if !changes.is_empty() {
            audit::insert(
                &tx,
                &at,
                &actor,
                &AuditEvent {
                    event: "users.config_synced",
                    target_type: Some("user"),
                    target_id: None,
                    period: None,
                    details: json!({"changes": changes}),
                },
            )?;
        }
        tx.commit()?;
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;

    fn cfg(name: &str, role: &str) -> NewUser {
        NewUser {
            username: name.into(),
            email: format!("{name}@x.edu"),
            display_name: name.into(),
            password_hash: "$2b$04$hash".into(),
            role: role.into(),
            recovery: false,
        }
    }

    #[test]
    fn usernames_are_case_insensitive_and_unique() {
        let mut s = store();
        s.create_user(&Actor::system(), &cfg("Alice", "viewer"))
            .expect("create");
        let err = s
            .create_user(&Actor::system(), &cfg("alice", "viewer"))
            .expect_err("duplicate");
        assert_eq!(err.to_string(), "Username 'alice' already exists.");
        assert_eq!(
            s.find_user("ALICE").expect("find").map(|u| u.username),
            Some("Alice".into())
        );
    }

    #[test]
    fn config_users_removed_from_config_are_disabled_except_the_last_admin() {
        let mut s = store();
        s.sync_config_users(&[cfg("root", "admin"), cfg("bob", "viewer")])
            .expect("sync");
        assert!(
            s.find_user("bob")
                .expect("find")
                .expect("bob")
                .config_managed
        );
        let warnings = s.sync_config_users(&[]).expect("sync");
        let bob = s.find_user("bob").expect("find").expect("bob");
        assert!(bob.disabled && !bob.config_managed);
        let root = s.find_user("root").expect("find").expect("root");
        assert!(!root.disabled, "last admin stays enabled");
        assert_eq!(warnings.len(), 1);
    }
}
