//! API tokens (SPEC §14.5). The store keeps only a keyed hash of each token (computed by the
//! web crate with `web.secret_key`), never the token itself. A lookup joins the owner on every
//! request, so a token of a disabled or deleted user stops working at once, and acts with the
//! user's current role.

use crate::audit::{self, AuditEvent};
use crate::{map_busy, Actor, Result, Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension};
use serde_json::json;

/// A token as listed to its owner (no hash).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiTokenRecord {
    /// Row id.
    pub id: i64,
    /// The owner's label.
    pub name: String,
    /// Limited to GET requests.
    pub read_only: bool,
    /// Creation time (UTC RFC 3339).
    pub created_at: String,
    /// Expiry, if any.
    pub expires_at: Option<String>,
    /// Last successful use.
    pub last_used_at: Option<String>,
    /// Revocation time; revoked tokens are kept for the record.
    pub revoked_at: Option<String>,
}

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// Label.
    pub name: String,
    /// Keyed hash (hex).
    pub token_hash: String,
    /// GET only.
    pub read_only: bool,
    /// Optional expiry (UTC RFC 3339).
    pub expires_at: Option<String>,
}

/// The user a valid token acts for, re-read at each request.
#[derive(Debug, Clone)]
pub struct TokenUser {
    /// Token id.
    pub token_id: i64,
    /// Token limited to GET.
    pub read_only: bool,
    /// Last use as stored (to keep the update rare).
    pub last_used_at: Option<String>,
    /// Owner id.
    pub user_id: i64,
    /// Owner username.
    pub username: String,
    /// Owner display name.
    pub display_name: String,
    /// Owner email.
    pub email: String,
    /// Owner's current role.
    pub role: String,
    /// Owner is config-managed.
    pub config_managed: bool,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Store {
    /// Stores a token for `user_id` (audited `api_token.created`); returns its id.
    pub fn create_api_token(
        &mut self,
        actor: &Actor,
        user_id: i64,
        t: &NewApiToken,
    ) -> Result<i64> {
        let at = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let owner: String = tx
            .query_row("SELECT username FROM users WHERE id = ?1", [user_id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("User {user_id} not found")))?;
        tx.execute(
            "INSERT INTO api_tokens (user_id, name, token_hash, read_only, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![user_id, t.name, t.token_hash, t.read_only, at, t.expires_at],
        )?;
        let id = tx.last_insert_rowid();
        let details = json!({"owner": owner, "token_id": id, "name": t.name, "read_only": t.read_only, "expires_at": t.expires_at});
        let e = AuditEvent {
            event: "api_token.created",
            target_type: Some("api_token"),
            target_id: Some(id.to_string()),
            period: None,
            details,
        };
        audit::insert(&tx, &at, actor, &e)?;
        tx.commit()?;
        Ok(id)
    }

    /// A user's tokens, newest first (revoked ones included, marked).
    pub fn list_api_tokens(&self, user_id: i64) -> Result<Vec<ApiTokenRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, read_only, created_at, expires_at, last_used_at, revoked_at FROM api_tokens
             WHERE user_id = ?1 ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([user_id], |r| {
            Ok(ApiTokenRecord {
                id: r.get(0)?,
                name: r.get(1)?,
                read_only: r.get(2)?,
                created_at: r.get(3)?,
                expires_at: r.get(4)?,
                last_used_at: r.get(5)?,
                revoked_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every user's tokens, or one user's (`username`, case-insensitive), with the owner's
    /// username, by owner then newest first (the operator's `users token list`).
    pub fn all_api_tokens(&self, username: Option<&str>) -> Result<Vec<(String, ApiTokenRecord)>> {
        let mut stmt = self.conn.prepare(
            "SELECT u.username, t.id, t.name, t.read_only, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE ?1 IS NULL OR u.username = ?1 COLLATE NOCASE ORDER BY u.username, t.id DESC",
        )?;
        let rows = stmt.query_map([username], |r| {
            Ok((
                r.get(0)?,
                ApiTokenRecord {
                    id: r.get(1)?,
                    name: r.get(2)?,
                    read_only: r.get(3)?,
                    created_at: r.get(4)?,
                    expires_at: r.get(5)?,
                    last_used_at: r.get(6)?,
                    revoked_at: r.get(7)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The owner (user id) of token `token_id`, if it exists (the operator's `users token
    /// revoke ID`, which then revokes it as [`Store::revoke_api_token`]).
    pub fn api_token_owner(&self, token_id: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT user_id FROM api_tokens WHERE id = ?1",
                [token_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Revokes one of `user_id`'s tokens (a token of someone else is "not found", so ids of
    /// other users' tokens cannot be probed). Audited `api_token.revoked`.
    pub fn revoke_api_token(&mut self, actor: &Actor, user_id: i64, token_id: i64) -> Result<()> {
        let at = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        // (name, read_only, expires_at, revoked_at, owner)
        type Found = (String, bool, Option<String>, Option<String>, String);
        let found: Option<Found> = tx
            .query_row(
                "SELECT t.name, t.read_only, t.expires_at, t.revoked_at, u.username FROM api_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.id = ?1 AND t.user_id = ?2",
                params![token_id, user_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((name, read_only, expires_at, revoked_at, owner)) = found else {
            return Err(StoreError::NotFound(format!("Token {token_id} not found")));
        };
        if revoked_at.is_some() {
            return Err(StoreError::Refused(format!(
                "Token '{name}' is already revoked."
            )));
        }
        tx.execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1",
            params![token_id, at],
        )?;
        let details = json!({"owner": owner, "token_id": token_id, "name": name, "read_only": read_only, "expires_at": expires_at});
        let e = AuditEvent {
            event: "api_token.revoked",
            target_type: Some("api_token"),
            target_id: Some(token_id.to_string()),
            period: None,
            details,
        };
        audit::insert(&tx, &at, actor, &e)?;
        tx.commit()?;
        Ok(())
    }

    /// The user of a live token: not revoked, not expired, owner existing and enabled.
    pub fn api_token_user(&self, token_hash: &str) -> Result<Option<TokenUser>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT t.id, t.read_only, t.last_used_at, t.expires_at, u.id, u.username, u.display_name, u.email, u.role, u.config_managed
                 FROM api_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND u.disabled = 0",
            )?
            .query_row([token_hash], |r| {
                Ok((
                    TokenUser {
                        token_id: r.get(0)?,
                        read_only: r.get(1)?,
                        last_used_at: r.get(2)?,
                        user_id: r.get(4)?,
                        username: r.get(5)?,
                        display_name: r.get(6)?,
                        email: r.get(7)?,
                        role: r.get(8)?,
                        config_managed: r.get(9)?,
                    },
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .optional()?;
        let now = (self.clock)();
        Ok(row.and_then(|(user, expires)| {
            // An unreadable expiry counts as expired: refusing is the safe side.
            let live = expires.is_none_or(|e| parse_time(&e).is_some_and(|t| t > now));
            live.then_some(user)
        }))
    }

    /// Records a use (at most once a minute per token, to keep API reads from writing).
    pub fn touch_api_token(&self, t: &TokenUser) -> Result<()> {
        let stale = t
            .last_used_at
            .as_deref()
            .and_then(parse_time)
            .is_none_or(|at| (self.clock)() - at > Duration::seconds(60));
        if stale {
            self.conn
                .prepare_cached("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1")?
                .execute(params![t.token_id, self.now()])
                .map_err(map_busy)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;
    use crate::NewUser;

    fn user(s: &mut Store, name: &str) -> i64 {
        let u = NewUser {
            username: name.into(),
            email: format!("{name}@x.edu"),
            display_name: name.into(),
            password_hash: "$2b$04$h".into(),
            role: "reviewer".into(),
            recovery: false,
        };
        s.create_user(&Actor::system(), &u).expect("user")
    }

    fn token(hash: &str, expires_at: Option<&str>) -> NewApiToken {
        NewApiToken {
            name: "ci".into(),
            token_hash: hash.into(),
            read_only: false,
            expires_at: expires_at.map(str::to_string),
        }
    }

    #[test]
    fn operators_list_every_users_tokens_and_find_a_tokens_owner() {
        let mut s = store();
        let (amy, bob) = (user(&mut s, "amy"), user(&mut s, "bob"));
        let a = Actor::cli("op");
        let t1 = s.create_api_token(&a, amy, &token("h1", None)).expect("t1");
        let t2 = s.create_api_token(&a, bob, &token("h2", None)).expect("t2");
        let t3 = s.create_api_token(&a, amy, &token("h3", None)).expect("t3");
        let all: Vec<(String, i64)> = s
            .all_api_tokens(None)
            .expect("all")
            .into_iter()
            .map(|(u, t)| (u, t.id))
            .collect();
        assert_eq!(
            all,
            [("amy".into(), t3), ("amy".into(), t1), ("bob".into(), t2)]
        );
        let bobs = s.all_api_tokens(Some("BOB")).expect("bob's");
        assert_eq!((bobs.len(), bobs[0].1.id), (1, t2));
        assert!(s.all_api_tokens(Some("nobody")).expect("none").is_empty());
        assert_eq!(s.api_token_owner(t2).expect("owner"), Some(bob));
        assert_eq!(s.api_token_owner(999).expect("owner"), None);
    }

    #[test]
    fn tokens_work_until_revoked_expired_or_their_user_is_disabled_or_deleted() {
        let mut s = store();
        let amy = user(&mut s, "amy");
        let a = Actor::cli("amy");
        let id = s
            .create_api_token(&a, amy, &token("h1", None))
            .expect("create");
        let t = s.api_token_user("h1").expect("lookup").expect("live");
        assert_eq!((t.username.as_str(), t.role.as_str()), ("amy", "reviewer"));
        s.touch_api_token(&t).expect("touch");
        assert!(s.list_api_tokens(amy).expect("list")[0]
            .last_used_at
            .is_some());
        assert!(s.api_token_user("other").expect("lookup").is_none());
        // Someone else cannot revoke it; the owner can, once.
        let bob = user(&mut s, "bob");
        assert!(matches!(
            s.revoke_api_token(&a, bob, id),
            Err(StoreError::NotFound(_))
        ));
        s.revoke_api_token(&a, amy, id).expect("revoke");
        assert!(s.api_token_user("h1").expect("lookup").is_none());
        assert!(matches!(
            s.revoke_api_token(&a, amy, id),
            Err(StoreError::Refused(_))
        ));
        // The fixed test clock is 2025-02-03: an expiry before it is dead, after it alive.
        s.create_api_token(&a, amy, &token("old", Some("2025-02-01T00:00:00Z")))
            .expect("create");
        s.create_api_token(&a, amy, &token("new", Some("2025-03-01T00:00:00Z")))
            .expect("create");
        assert!(s.api_token_user("old").expect("lookup").is_none());
        assert!(s.api_token_user("new").expect("lookup").is_some());
        s.conn
            .execute("UPDATE users SET disabled = 1 WHERE id = ?1", [amy])
            .expect("disable");
        assert!(s.api_token_user("new").expect("lookup").is_none());
        s.conn
            .execute("UPDATE users SET disabled = 0 WHERE id = ?1", [amy])
            .expect("enable");
        assert!(s.api_token_user("new").expect("lookup").is_some());
        s.conn
            .execute("DELETE FROM users WHERE id = ?1", [amy])
            .expect("delete");
        assert!(s.api_token_user("new").expect("lookup").is_none());
        let events: Vec<String> = s
            .audit_events(None, 20)
            .expect("audit")
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(
            events.iter().filter(|e| *e == "api_token.created").count(),
            3
        );
        assert_eq!(
            events.iter().filter(|e| *e == "api_token.revoked").count(),
            1
        );
    }
}
