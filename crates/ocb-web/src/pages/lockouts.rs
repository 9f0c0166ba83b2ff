//! Lifting login lockouts (issue 16, item 7). Failed logins lock a (username, address) pair,
//! not the account everywhere; the lockout ends when its window has passed, or earlier when the
//! account's owner (signed in from another address) or an admin lifts it. Each lift is audited
//! as `auth.lockout_lifted`.

use crate::auth::{Admin, Viewer};
use crate::security::CurrentUser;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use ocb_store::AuditEvent;
use serde_json::json;

/// `POST /settings/users/{id}/unlock` (admin).
pub async fn lift_for_user(
    State(st): State<AppState>,
    Admin(u): Admin,
    Path(id): Path<i64>,
) -> Response {
    let found = st.db(move |s| Ok(s.get_user(id)?.username)).await;
    match found {
        Ok(name) => lift(&st, &u, name, &format!("/settings/users/{id}")).await,
        Err(e) => e.into_response(),
    }
}

/// `POST /account/unlock`: the signed-in user lifts the lockouts of their own username.
pub async fn lift_own(State(st): State<AppState>, Viewer(u): Viewer) -> Response {
    let name = u.session.username.clone();
    lift(&st, &u, name, "/settings/users/change-password").await
}

async fn lift(st: &AppState, u: &CurrentUser, username: String, back: &str) -> Response {
    let addresses = st.throttle.lift(&username);
    let (actor, ip) = (u.actor(), u.client_ip.clone());
    let name = username.clone();
    let audited = st
        .db(move |s| {
            let e = AuditEvent {
                event: "auth.lockout_lifted",
                target_type: Some("user"),
                target_id: Some(name.clone()),
                period: None,
                details: json!({"username": name, "addresses": addresses, "by": actor.name}),
            };
            Ok(s.audit_request(&actor, &e, Some(&ip))?)
        })
        .await;
    if let Err(e) = audited {
        return e.into_response();
    }
    let text =
        format!("Login lockouts of {username} lifted ({addresses} address(es) were locked).");
    st.flash_redirect(u, "success", text, back).await
}
