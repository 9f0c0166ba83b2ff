//! Server-side web sessions (SPEC §12.9): the cookie carries a random id, the table only its
//! hash. The user and role are re-read with every lookup, so a disabled or deleted user loses
//! access at once. Flash messages and the selected period live with the session.
//!
//! Also background jobs (SPEC §12.1): rows for imports and other long work, so that a job that
//! was running when the server stopped is reported `interrupted` at the next start.

use crate::{map_busy, Result, Store};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension};

/// A live session with its user.
#[derive(Debug, Clone)]
pub struct SessionUser {
    /// Hash of the session id.
    pub id_hash: String,
    /// The user's row id.
    pub user_id: i64,
    /// Username.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role (re-read every request).
    pub role: String,
    /// Config-managed account.
    pub config_managed: bool,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// Period chosen in the period selector.
    pub selected_period: Option<String>,
    /// Last activity.
    pub last_seen_at: String,
    /// Login time (the absolute lifetime counts from here).
    pub created_at: String,
    /// Pending flash messages exist.
    pub has_flash: bool,
}

/// Why a session cookie was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionLookup {
    /// No such session (never existed, logged out, revoked).
    Unknown,
    /// Idle too long; deleted now.
    Expired,
    /// The user is disabled; the session was deleted now.
    Disabled,
}

/// A flash message.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Flash {
    /// `success`, `info`, `warning`, `error`.
    pub level: String,
    /// Text (escaped when shown).
    pub text: String,
}

/// A background job.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobRecord {
    /// Job id.
    pub id: i64,
    /// `import`, …
    pub kind: String,
    /// Period, when known.
    pub period: Option<String>,
    /// `queued|running|succeeded|failed|interrupted`.
    pub status: String,
    /// Start time.
    pub created_at: String,
    /// End time.
    pub finished_at: Option<String>,
    /// Who started it.
    pub username: String,
    /// What it works on (e.g. the file name).
    pub label: String,
    /// Result JSON.
    pub result: Option<serde_json::Value>,
    /// Error message.
    pub error: Option<String>,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Store {
    fn expiry(&self, lifetime_hours: u32) -> String {
        crate::stamp((self.clock)() + Duration::hours(i64::from(lifetime_hours)))
    }

    /// Stores a new session.
    pub fn create_session(
        &mut self,
        user_id: i64,
        id_hash: &str,
        csrf_token: &str,
        lifetime_hours: u32,
        client_ip: Option<&str>,
    ) -> Result<()> {
        let at = self.now();
        self.conn
            .execute(
                "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, client_ip)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
                params![id_hash, user_id, csrf_token, at, self.expiry(lifetime_hours), client_ip],
            )
            .map_err(map_busy)?;
        Ok(())
    }

    /// The session and its user, or why not. Expired sessions and sessions of disabled users
    /// are deleted here.
    pub fn load_session(&self, id_hash: &str) -> Result<Result<SessionUser, SessionLookup>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT s.user_id, u.username, u.display_name, u.role, u.config_managed, s.csrf_token, s.selected_period,
                        s.last_seen_at, s.flash <> '[]', s.expires_at, u.disabled, s.created_at
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?1",
            )?
            .query_row([id_hash], |r| {
                Ok((
                    SessionUser {
                        id_hash: id_hash.to_string(),
                        user_id: r.get(0)?,
                        username: r.get(1)?,
                        display_name: r.get(2)?,
                        role: r.get(3)?,
                        config_managed: r.get(4)?,
                        csrf_token: r.get(5)?,
                        selected_period: r.get(6)?,
                        last_seen_at: r.get(7)?,
                        has_flash: r.get(8)?,
                        created_at: r.get(11)?,
                    },
                    r.get::<_, String>(9)?,
                    r.get::<_, bool>(10)?,
                ))
            })
            .optional()?;
        let Some((session, expires_at, disabled)) = row else {
            return Ok(Err(SessionLookup::Unknown));
        };
        let expired = parse_time(&expires_at).is_none_or(|t| t <= (self.clock)());
        if expired || disabled {
            self.delete_session(id_hash)?;
            return Ok(Err(if disabled {
                SessionLookup::Disabled
            } else {
                SessionLookup::Expired
            }));
        }
        Ok(Ok(session))
    }

    /// Slides the idle expiry (at most once a minute per session, to keep writes rare), never
    /// past `max_hours` after login.
    pub fn touch_session(
        &self,
        s: &SessionUser,
        lifetime_hours: u32,
        max_hours: u32,
    ) -> Result<()> {
        let stale =
            parse_time(&s.last_seen_at).is_none_or(|t| (self.clock)() - t > Duration::seconds(60));
        if stale {
            let idle = (self.clock)() + Duration::hours(i64::from(lifetime_hours));
            let expiry = match Self::session_end(s, max_hours) {
                Some(end) if end < idle => end,
                _ => idle,
            };
            self.conn
                .prepare_cached(
                    "UPDATE sessions SET last_seen_at = ?2, expires_at = ?3 WHERE id_hash = ?1",
                )?
                .execute(params![s.id_hash, self.now(), crate::stamp(expiry)])
                .map_err(map_busy)?;
        }
        Ok(())
    }

    /// The absolute end of a session: `max_hours` after login (issue 16, item 7).
    fn session_end(s: &SessionUser, max_hours: u32) -> Option<DateTime<Utc>> {
        parse_time(&s.created_at).map(|t| t + Duration::hours(i64::from(max_hours)))
    }

    /// Deletes the session when it began `max_hours` ago or more, however active it was
    /// (`web.session_max_hours`); true when it was ended now. A login time that cannot be read
    /// ends the session too: it cannot be shown to be young enough.
    pub fn end_session_past_max(&self, s: &SessionUser, max_hours: u32) -> Result<bool> {
        let past = Self::session_end(s, max_hours).is_none_or(|end| end <= (self.clock)());
        if past {
            self.delete_session(&s.id_hash)?;
        }
        Ok(past)
    }

    /// Deletes one session (logout).
    pub fn delete_session(&self, id_hash: &str) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])
            .map_err(map_busy)?
            > 0)
    }

    /// Number of live sessions of a user (tests, user admin).
    pub fn session_count(&self, user_id: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM sessions WHERE user_id = ?1",
            [user_id],
            |r| r.get(0),
        )?)
    }

    /// Stores the period chosen in the selector.
    pub fn set_session_period(&self, id_hash: &str, period: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE sessions SET selected_period = ?2 WHERE id_hash = ?1",
                params![id_hash, period],
            )
            .map_err(map_busy)?;
        Ok(())
    }

    /// Queues a flash message for the next page.
    pub fn push_flash(&self, id_hash: &str, level: &str, text: &str) -> Result<()> {
        let current: Option<String> = self
            .conn
            .query_row(
                "SELECT flash FROM sessions WHERE id_hash = ?1",
                [id_hash],
                |r| r.get(0),
            )
            .optional()?;
        let mut list: Vec<Flash> = current
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
        list.push(Flash {
            level: level.into(),
            text: text.into(),
        });
        self.conn
            .execute(
                "UPDATE sessions SET flash = ?2 WHERE id_hash = ?1",
                params![
                    id_hash,
                    serde_json::to_string(&list).expect("flash serialises")
                ],
            )
            .map_err(map_busy)?;
        Ok(())
    }

    /// Takes (and clears) the pending flash messages.
    pub fn take_flash(&self, id_hash: &str) -> Result<Vec<Flash>> {
        let current: Option<String> = self
            .conn
            .query_row(
                "SELECT flash FROM sessions WHERE id_hash = ?1",
                [id_hash],
                |r| r.get(0),
            )
            .optional()?;
        let Some(json) = current.filter(|j| j != "[]") else {
            return Ok(vec![]);
        };
        self.conn
            .execute(
                "UPDATE sessions SET flash = '[]' WHERE id_hash = ?1",
                [id_hash],
            )
            .map_err(map_busy)?;
        Ok(serde_json::from_str(&json).unwrap_or_default())
    }

    /// Creates a job row (`running`).
    pub fn create_job(
        &self,
        kind: &str,
        period: Option<&str>,
        username: &str,
        label: &str,
    ) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO jobs (kind, period, status, created_at, username, label) VALUES (?1, ?2, 'running', ?3, ?4, ?5)",
                params![kind, period, self.now(), username, label],
            )
            .map_err(map_busy)?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records a job's end.
    pub fn finish_job(
        &self,
        id: i64,
        succeeded: bool,
        result: Option<&serde_json::Value>,
        error: Option<&str>,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE jobs SET status = ?2, finished_at = ?3, result = ?4, error = ?5 WHERE id = ?1",
                params![
                    id,
                    if succeeded { "succeeded" } else { "failed" },
                    self.now(),
                    result.map(|r| r.to_string()),
                    error
                ],
            )
            .map_err(map_busy)?;
        Ok(())
    }

    /// One job.
    pub fn get_job(&self, id: i64) -> Result<Option<JobRecord>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, kind, period, status, created_at, finished_at, username, label, result, error FROM jobs WHERE id = ?1",
                [id],
                |r| {
                    Ok(JobRecord {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        period: r.get(2)?,
                        status: r.get(3)?,
                        created_at: r.get(4)?,
                        finished_at: r.get(5)?,
                        username: r.get(6)?,
                        label: r.get(7)?,
                        result: r
                            .get::<_, Option<String>>(8)?
                            .and_then(|j| serde_json::from_str(&j).ok()),
                        error: r.get(9)?,
                    })
                },
            )
            .optional()?)
    }

    /// Marks jobs left `queued`/`running` by a previous server as `interrupted` (startup).
    pub fn interrupt_stale_jobs(&self) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE jobs SET status = 'interrupted', finished_at = ?1 WHERE status IN ('queued', 'running')",
                [self.now()],
            )
            .map_err(map_busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;
    use crate::users::NewUser;
    use crate::Actor;

    fn with_user() -> (Store, i64) {
        let mut s = store();
        let id = s
            .create_user(
                &Actor::system(),
                &NewUser {
                    username: "amy".into(),
                    email: "amy@x.edu".into(),
                    display_name: "Amy".into(),
                    password_hash: "h".into(),
                    role: "reviewer".into(),
                    recovery: false,
                },
            )
            .expect("user");
        (s, id)
    }

    #[test]
    fn sessions_expire_and_flash_is_shown_once() {
        let (mut s, id) = with_user();
        s.create_session(id, "h1", "csrf", 8, None).expect("create");
        let live = s.load_session("h1").expect("load").expect("live");
        assert_eq!(
            (live.role.as_str(), live.csrf_token.as_str()),
            ("reviewer", "csrf")
        );
        s.push_flash("h1", "success", "Saved").expect("flash");
        assert_eq!(s.take_flash("h1").expect("take").len(), 1);
        assert!(s.take_flash("h1").expect("take").is_empty());
        s.set_clock(|| "2025-02-04T04:05:06Z".parse().expect("later"));
        assert_eq!(
            s.load_session("h1").expect("load").expect_err("expired"),
            SessionLookup::Expired
        );
        assert_eq!(s.session_count(id).expect("count"), 0);
    }

    /// Issue 16, item 7: an active session ends `max_hours` after login.
    #[test]
    fn sessions_end_at_their_absolute_lifetime_however_active() {
        let (mut s, id) = with_user();
        s.set_clock(|| "2025-02-01T08:00:00Z".parse().expect("login"));
        s.create_session(id, "h1", "csrf", 8, None).expect("create");
        // Active in the afternoon: the idle expiry slides, but never past 12 hours after login.
        s.set_clock(|| "2025-02-01T15:00:00Z".parse().expect("afternoon"));
        let live = s.load_session("h1").expect("load").expect("live at 7 h");
        assert!(!s.end_session_past_max(&live, 12).expect("check"));
        s.touch_session(&live, 8, 12).expect("touch");
        let expires: String = s
            .conn
            .query_row("SELECT expires_at FROM sessions", [], |r| r.get(0))
            .expect("expiry");
        assert_eq!(
            expires, "2025-02-01T20:00:00Z",
            "capped at login + 12 h, not 23:00"
        );
        s.set_clock(|| "2025-02-01T19:59:00Z".parse().expect("evening"));
        let live = s
            .load_session("h1")
            .expect("load")
            .expect("live at 11 h 59");
        assert!(!s.end_session_past_max(&live, 12).expect("check"));
        s.set_clock(|| "2025-02-01T20:00:00Z".parse().expect("12 h"));
        let live = s.load_session("h1").expect("load");
        // The capped expiry already ends it; a session touched before the cap existed ends by
        // its age.
        assert_eq!(live.expect_err("ended"), SessionLookup::Expired);
        s.set_clock(|| "2025-02-01T08:00:00Z".parse().expect("login"));
        s.create_session(id, "h2", "csrf", 100, None)
            .expect("create");
        s.set_clock(|| "2025-02-01T20:00:01Z".parse().expect("12 h"));
        let old = s
            .load_session("h2")
            .expect("load")
            .expect("idle limit not reached");
        assert!(s.end_session_past_max(&old, 12).expect("check"));
        assert_eq!(s.session_count(id).expect("count"), 0);
    }

    #[test]
    fn password_change_revokes_other_sessions() {
        let (mut s, id) = with_user();
        for h in ["a", "b", "c"] {
            s.create_session(id, h, "t", 8, None).expect("create");
        }
        let actor = Actor::cli("amy");
        s.set_user_password(&actor, id, "new", Some("b"))
            .expect("change");
        assert_eq!(s.session_count(id).expect("count"), 1);
        assert!(s.load_session("b").expect("load").is_ok());
    }

    #[test]
    fn running_jobs_become_interrupted_at_startup() {
        let (s, _) = with_user();
        let id = s
            .create_job("import", Some("2025-01"), "amy", "a.csv")
            .expect("job");
        assert_eq!(s.interrupt_stale_jobs().expect("interrupt"), 1);
        assert_eq!(
            s.get_job(id).expect("get").expect("job").status,
            "interrupted"
        );
    }
}
