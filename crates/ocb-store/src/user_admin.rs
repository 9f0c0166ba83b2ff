//! User administration (SPEC §14.5): edit, password reset, enable/disable, revoke sessions and
//! delete, with the protections enforced here, inside the write transaction, so that two admins
//! acting at once can never leave the instance without an enabled admin.
//!
//! Every change is audited with the acting username; hashes never appear in the details.

use crate::audit::{self, AuditEvent};
use crate::users::{enabled_admins, from_row, COLUMNS};
use crate::{map_busy, Actor, Result, Store, StoreError, UserRecord};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::{json, Map, Value};

/// The message for any change to a config-managed account (SPEC §14.1).
pub const CONFIG_MANAGED: &str = "This account is managed in config.yaml";

/// The editable fields of a database user.
#[derive(Debug, Clone)]
pub struct UserEdit {
    /// Email.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// `admin`, `reviewer` or `viewer`.
    pub role: String,
}

fn by_id(conn: &Connection, id: i64) -> Result<UserRecord> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("User {id} not found")))
}

fn refuse(msg: &str) -> StoreError {
    StoreError::Refused(msg.to_string())
}

/// The only enabled admin: the account the protections keep.
fn is_last_admin(tx: &Connection, u: &UserRecord) -> Result<bool> {
    Ok(u.role == "admin" && !u.disabled && enabled_admins(tx)? <= 1)
}

fn is_self(actor: &Actor, u: &UserRecord) -> bool {
    actor.name.eq_ignore_ascii_case(&u.username)
}

fn record(
    tx: &Transaction<'_>,
    at: &str,
    actor: &Actor,
    event: &'static str,
    u: &UserRecord,
    extra: Value,
) -> Result<()> {
    let mut details =
        json!({"username": u.username, "email": u.email, "role": u.role, "changed_by": actor.name});
    if let (Some(d), Value::Object(x)) = (details.as_object_mut(), extra) {
        d.extend(x);
    }
    audit::insert(
        tx,
        at,
        actor,
        &AuditEvent {
            event,
            target_type: Some("user"),
            target_id: Some(u.username.clone()),
            period: None,
            details,
        },
    )
}

impl Store {
    fn write_tx(&mut self) -> Result<Transaction<'_>> {
        self.conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)
    }

    /// One user by id.
    pub fn get_user(&self, id: i64) -> Result<UserRecord> {
        by_id(&self.conn, id)
    }

    /// Changes email, display name and role. Refused for config-managed accounts and when it
    /// would demote the last enabled admin. Audited as `user.updated` with `field: old → new`.
    pub fn update_user(&mut self, actor: &Actor, id: i64, edit: &UserEdit) -> Result<()> {
        let at = self.now();
        let tx = self.write_tx()?;
        let u = by_id(&tx, id)?;
        if u.config_managed {
            return Err(refuse(CONFIG_MANAGED));
        }
        if edit.role != "admin" && is_last_admin(&tx, &u)? {
            return Err(refuse("Cannot remove admin role from the last admin user."));
        }
        let mut changes = Map::new();
        for (field, old, new) in [
            ("email", &u.email, &edit.email),
            ("display_name", &u.display_name, &edit.display_name),
            ("role", &u.role, &edit.role),
        ] {
            if old != new {
                changes.insert(field.into(), json!(format!("{old} → {new}")));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        tx.execute(
            "UPDATE users SET email = ?2, display_name = ?3, role = ?4, updated_at = ?5 WHERE id = ?1",
            params![id, edit.email, edit.display_name, edit.role, at],
        )?;
        let after = by_id(&tx, id)?;
        record(
            &tx,
            &at,
            actor,
            "user.updated",
            &after,
            json!({"changes": changes}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Admin password reset: refused for config-managed accounts; revokes all the user's
    /// sessions (audited `user.password_reset`, or `user.password_changed` for oneself).
    pub fn reset_user_password(
        &mut self,
        actor: &Actor,
        id: i64,
        password_hash: &str,
    ) -> Result<()> {
        if self.get_user(id)?.config_managed {
            return Err(refuse(CONFIG_MANAGED));
        }
        self.set_user_password(actor, id, password_hash, None)
    }

    /// Disables or enables an account. Disabling revokes its sessions (its API tokens stop
    /// working because every token lookup re-reads the user). Refused for oneself, the last
    /// enabled admin and config-managed accounts. Returns false when nothing changed.
    pub fn set_user_disabled(&mut self, actor: &Actor, id: i64, disabled: bool) -> Result<bool> {
        let at = self.now();
        let tx = self.write_tx()?;
        let u = by_id(&tx, id)?;
        if u.config_managed {
            return Err(refuse(CONFIG_MANAGED));
        }
        if u.disabled == disabled {
            return Ok(false);
        }
        if disabled && is_self(actor, &u) {
            return Err(refuse("Cannot disable your own account."));
        }
        if disabled && is_last_admin(&tx, &u)? {
            return Err(refuse("Cannot disable the last admin user."));
        }
        tx.execute(
            "UPDATE users SET disabled = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, disabled, at],
        )?;
        let revoked = if disabled {
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?
        } else {
            0
        };
        let event = if disabled {
            "user.disabled"
        } else {
            "user.enabled"
        };
        record(
            &tx,
            &at,
            actor,
            event,
            &u,
            json!({"sessions_revoked": revoked}),
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Ends every session of a user (allowed for config-managed accounts too: it changes
    /// nothing in the account). Audited `auth.sessions_revoked`; returns the count.
    pub fn revoke_user_sessions(&mut self, actor: &Actor, id: i64) -> Result<usize> {
        let at = self.now();
        let tx = self.write_tx()?;
        let u = by_id(&tx, id)?;
        let n = tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
        record(
            &tx,
            &at,
            actor,
            "auth.sessions_revoked",
            &u,
            json!({"sessions_revoked": n}),
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Deletes a database account with its sessions and API tokens (foreign keys cascade).
    /// Refused for oneself, the last enabled admin and config-managed accounts.
    pub fn delete_user(&mut self, actor: &Actor, id: i64) -> Result<()> {
        let at = self.now();
        let tx = self.write_tx()?;
        let u = by_id(&tx, id)?;
        if is_self(actor, &u) {
            return Err(refuse("Cannot delete your own account."));
        }
        if u.config_managed {
            return Err(refuse(CONFIG_MANAGED));
        }
        if is_last_admin(&tx, &u)? {
            return Err(refuse("Cannot delete the last admin user."));
        }
        tx.execute("DELETE FROM users WHERE id = ?1", [id])?;
        record(&tx, &at, actor, "user.deleted", &u, json!({}))?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;
    use crate::NewUser;

    fn add(s: &mut Store, name: &str, role: &str) -> i64 {
        let u = NewUser {
            username: name.into(),
            email: format!("{name}@x.edu"),
            display_name: name.into(),
            password_hash: "$2b$04$h".into(),
            role: role.into(),
            recovery: false,
        };
        s.create_user(&Actor::system(), &u).expect("user")
    }

    fn web(name: &str) -> Actor {
        Actor {
            name: name.into(),
            channel: "web".into(),
            role: Some("admin".into()),
        }
    }

    fn refused(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(StoreError::Refused(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_last_enabled_admin_is_protected_and_nobody_removes_themself() {
        let mut s = store();
        let ada = add(&mut s, "ada", "admin");
        let bob = add(&mut s, "bob", "admin");
        assert_eq!(
            refused(s.delete_user(&web("ada"), ada)),
            "Cannot delete your own account."
        );
        assert_eq!(
            refused(s.set_user_disabled(&web("ADA"), ada, true)),
            "Cannot disable your own account."
        );
        assert!(s
            .set_user_disabled(&web("ada"), bob, true)
            .expect("disable bob"));
        // Bob is disabled, so Ada is now the last enabled admin.
        assert_eq!(
            refused(s.delete_user(&web("bob"), ada)),
            "Cannot delete the last admin user."
        );
        assert_eq!(
            refused(s.set_user_disabled(&web("bob"), ada, true)),
            "Cannot disable the last admin user."
        );
        let demote = UserEdit {
            email: "a@x.edu".into(),
            display_name: "Ada".into(),
            role: "viewer".into(),
        };
        assert_eq!(
            refused(s.update_user(&web("bob"), ada, &demote)),
            "Cannot remove admin role from the last admin user."
        );
        // A disabled admin is not protected: it can be deleted.
        s.delete_user(&web("ada"), bob).expect("delete bob");
        assert!(matches!(s.get_user(bob), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn edits_are_audited_with_old_and_new_values_and_disable_revokes_sessions() {
        let mut s = store();
        add(&mut s, "ada", "admin");
        let vic = add(&mut s, "vic", "viewer");
        s.create_session(vic, "h1", "c", 8, None).expect("session");
        let edit = UserEdit {
            email: "vic@y.edu".into(),
            display_name: "Vic".into(),
            role: "reviewer".into(),
        };
        s.update_user(&web("ada"), vic, &edit).expect("update");
        let e = &s.audit_events(Some("user.updated"), 1).expect("audit")[0];
        assert_eq!(e.actor, "ada");
        assert_eq!(e.details["changes"]["role"], "viewer → reviewer");
        assert_eq!(e.details["changes"]["email"], "vic@x.edu → vic@y.edu");
        assert!(s
            .set_user_disabled(&web("ada"), vic, true)
            .expect("disable"));
        assert_eq!(s.session_count(vic).expect("count"), 0);
        assert!(
            !s.set_user_disabled(&web("ada"), vic, true).expect("again"),
            "no change the second time"
        );
        assert!(s
            .set_user_disabled(&web("ada"), vic, false)
            .expect("enable"));
        assert_eq!(
            s.audit_events(Some("user.enabled"), 5)
                .expect("audit")
                .len(),
            1
        );
    }

    #[test]
    fn config_managed_accounts_are_read_only_but_sessions_can_be_revoked() {
        let mut s = store();
        add(&mut s, "ada", "admin");
        let mut root = NewUser {
            username: "root".into(),
            email: "r@x.edu".into(),
            display_name: "Root".into(),
            password_hash: "$2b$04$h".into(),
            role: "admin".into(),
            recovery: false,
        };
        root.recovery = true;
        s.sync_config_users(&[root]).expect("sync");
        let id = s.find_user("root").expect("find").expect("root").id;
        let edit = UserEdit {
            email: "x@x.edu".into(),
            display_name: "X".into(),
            role: "admin".into(),
        };
        assert_eq!(
            refused(s.update_user(&web("ada"), id, &edit)),
            CONFIG_MANAGED
        );
        assert_eq!(
            refused(s.reset_user_password(&web("ada"), id, "h")),
            CONFIG_MANAGED
        );
        assert_eq!(
            refused(s.set_user_disabled(&web("ada"), id, true)),
            CONFIG_MANAGED
        );
        assert_eq!(refused(s.delete_user(&web("ada"), id)), CONFIG_MANAGED);
        s.create_session(id, "h", "c", 8, None).expect("session");
        assert_eq!(s.revoke_user_sessions(&web("ada"), id).expect("revoke"), 1);
    }
}
