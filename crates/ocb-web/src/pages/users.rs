//! User administration (SPEC §12.3 `/settings/users…`, §14.5), admin only: list, create, edit
//! (email, display name, role), password reset, enable/disable, revoke sessions, delete.
//!
//! The protections (yourself, the last enabled admin, config-managed accounts) are enforced by
//! the store inside its write transaction; the form checks, the policy of §14.3 and hashing are
//! in `services::users`, shared with the CLI's `users` commands. This module reads the forms
//! and turns refusals into flash messages.

use crate::auth::Admin;
use crate::error::AppError;
use crate::password;
use crate::security::{form_field, CurrentUser};
use crate::services::users::{self as user_admin, NewAccount, UserError};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ocb_config::Role;
use ocb_store::{Store, UserEdit};
use serde_json::{json, Value};

/// `GET /settings/users`.
pub async fn list(State(st): State<AppState>, Admin(u): Admin) -> Result<Response, AppError> {
    let me = u.session.user_id;
    st.page(u, "users.html", "users", move |s, _| {
        let mut rows = Vec::new();
        for r in s.list_users()? {
            let sessions = s.session_count(r.id)?;
            rows.push(json!({
                "id": r.id, "username": r.username, "display_name": r.display_name, "email": r.email,
                "role": r.role, "config_managed": r.config_managed, "recovery": r.recovery,
                "disabled": r.disabled, "created_at": r.created_at, "sessions": sessions, "me": r.id == me,
            }));
        }
        Ok(json!({"title": "Users", "users": rows}))
    })
    .await
}

fn roles() -> Value {
    json!(["viewer", "reviewer", "admin"])
}

/// The create form, with the values of a refused attempt (never the password).
async fn create_form(
    st: &AppState,
    u: CurrentUser,
    error: Option<String>,
    values: Value,
) -> Result<Response, AppError> {
    let rules = password::policy_summary(&st.config.web.password_requirements);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut resp = st
        .page(u, "user_new.html", "users", move |_, _| {
            Ok(json!({"title": "New user", "rules": rules, "roles": roles(), "error": error, "v": values}))
        })
        .await?;
    *resp.status_mut() = status;
    Ok(resp)
}

/// `GET /settings/users/new`.
pub async fn new_form(State(st): State<AppState>, Admin(u): Admin) -> Result<Response, AppError> {
    create_form(&st, u, None, json!({"role": "viewer"})).await
}

/// `POST /settings/users`: creates a database user (audited `user.created` by the store).
pub async fn create(
    State(st): State<AppState>,
    Admin(u): Admin,
    body: Bytes,
) -> Result<Response, AppError> {
    let f = |k: &str| {
        let v = form_field(&body, k).unwrap_or_default();
        if k.contains("password") {
            v
        } else {
            v.trim().to_string()
        }
    };
    let values = json!({"username": f("username"), "email": f("email"), "display_name": f("display_name"), "role": f("role")});
    let account = NewAccount {
        username: f("username"),
        email: f("email"),
        display_name: f("display_name"),
        role: f("role"),
        password: f("password"),
        confirm: f("confirm_password"),
    };
    let (policy, actor) = (st.config.web.password_requirements.clone(), u.actor());
    let created = st
        .db(move |s| refusal(user_admin::create(s, &actor, &account, &policy)))
        .await?;
    match created {
        Ok(id) => {
            let msg = format!(
                "User {} created",
                values["username"].as_str().unwrap_or_default()
            );
            Ok(st
                .flash_redirect(&u, "success", msg, &format!("/settings/users/{id}"))
                .await)
        }
        Err(msg) => create_form(&st, u, Some(msg), values).await,
    }
}

/// A refusal as a message to show; other errors stay errors.
fn refusal<T>(r: Result<T, UserError>) -> Result<Result<T, String>, AppError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(UserError::Refused(m)) => Ok(Err(m)),
        Err(UserError::NotFound(m)) => Err(AppError::not_found(m)),
        Err(UserError::Store(e)) => Err(e.into()),
        Err(UserError::Hash(m)) => Err(AppError::internal(m)),
    }
}

/// `GET /settings/users/{id}`: the edit page with every action.
pub async fn edit_form(
    State(st): State<AppState>,
    Admin(u): Admin,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let rules = password::policy_summary(&st.config.web.password_requirements);
    let me = u.session.user_id;
    let throttle = st.clone();
    st.page(u, "user_edit.html", "users", move |s, _| {
        let r = s.get_user(id)?;
        let locked = throttle.throttle.locked_addresses(&r.username);
        let sessions = s.session_count(id)?;
        let tokens = s.list_api_tokens(id)?.iter().filter(|t| t.revoked_at.is_none()).count();
        Ok(json!({
            "title": format!("User {}", r.username),
            "u": {"id": r.id, "username": r.username, "display_name": r.display_name, "email": r.email, "role": r.role,
                  "config_managed": r.config_managed, "recovery": r.recovery, "disabled": r.disabled,
                  "created_at": r.created_at, "sessions": sessions, "tokens": tokens, "me": r.id == me,
                  "locked_addresses": locked},
            "roles": roles(), "rules": rules, "managed_message": ocb_store::CONFIG_MANAGED,
        }))
    })
    .await
}

/// Runs one admin action on user `id` and ends with a flash on its page (or the list after a
/// delete). `action` returns the success message, or a refusal as `Err(message)`.
async fn act<F>(st: AppState, u: CurrentUser, id: i64, to_list: bool, action: F) -> Response
where
    F: FnOnce(&mut Store, &ocb_store::Actor) -> Result<Result<String, String>, AppError>
        + Send
        + 'static,
{
    let actor = u.actor();
    let page = format!("/settings/users/{id}");
    match st.db(move |s| action(s, &actor)).await {
        Ok(Ok(msg)) => {
            st.flash_redirect(
                &u,
                "success",
                msg,
                if to_list { "/settings/users" } else { &page },
            )
            .await
        }
        Ok(Err(msg)) => st.flash_redirect(&u, "error", msg, &page).await,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            st.flash_redirect(&u, "error", e.message, "/settings/users")
                .await
        }
        Err(e) => e.into_response(),
    }
}

/// `POST /settings/users/{id}`: email, display name, role.
pub async fn update(
    State(st): State<AppState>,
    Admin(u): Admin,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = |k: &str| form_field(&body, k).unwrap_or_default().trim().to_string();
    let edit = UserEdit {
        email: f("email"),
        display_name: f("display_name"),
        role: f("role"),
    };
    act(st, u, id, false, move |s, actor| {
        if edit.email.is_empty() {
            return Ok(Err("Email is required.".into()));
        }
        if !ocb_core::attribution::is_valid_email(&edit.email) {
            return Ok(Err(format!(
                "'{}' is not a valid email address.",
                edit.email
            )));
        }
        if Role::parse(&edit.role).is_none() {
            return Ok(Err("Invalid role.".into()));
        }
        Ok(
            refusal(s.update_user(actor, id, &edit).map_err(UserError::from))?
                .map(|()| "User updated".to_string()),
        )
    })
    .await
}

/// `POST /settings/users/{id}/password`: admin reset; the user's sessions end.
pub async fn reset_password(
    State(st): State<AppState>,
    Admin(u): Admin,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let (new, confirm) = (
        form_field(&body, "password").unwrap_or_default(),
        form_field(&body, "confirm_password").unwrap_or_default(),
    );
    let policy = st.config.web.password_requirements.clone();
    act(st, u, id, false, move |s, actor| {
        Ok(refusal(user_admin::set_password(
            s,
            actor,
            id,
            (new.as_str(), confirm.as_str()),
            &policy,
        ))?
        .map(|()| "Password reset; the user's sessions were signed out.".to_string()))
    })
    .await
}

/// `POST /settings/users/{id}/disable`.
pub async fn disable(State(st): State<AppState>, Admin(u): Admin, Path(id): Path<i64>) -> Response {
    act(st, u, id, false, move |s, actor| {
        Ok(
            refusal(user_admin::set_disabled(s, actor, id, true))?.map(|changed| {
                if changed {
                    "User disabled; their sessions and API tokens no longer work."
                } else {
                    "User was already disabled"
                }
                .to_string()
            }),
        )
    })
    .await
}

/// `POST /settings/users/{id}/enable`.
pub async fn enable(State(st): State<AppState>, Admin(u): Admin, Path(id): Path<i64>) -> Response {
    act(st, u, id, false, move |s, actor| {
        Ok(
            refusal(user_admin::set_disabled(s, actor, id, false))?.map(|changed| {
                if changed {
                    "User enabled"
                } else {
                    "User was already enabled"
                }
                .to_string()
            }),
        )
    })
    .await
}

/// `POST /settings/users/{id}/revoke-sessions`. Revoking one's own sessions signs out this
/// browser too, which is what the admin asked for.
pub async fn revoke_sessions(
    State(st): State<AppState>,
    Admin(u): Admin,
    Path(id): Path<i64>,
) -> Response {
    if id == u.session.user_id {
        let actor = u.actor();
        return match st
            .db(move |s| Ok(s.revoke_user_sessions(&actor, id)?))
            .await
        {
            Ok(_) => crate::view::see_other("/login"),
            Err(e) => e.into_response(),
        };
    }
    act(st, u, id, false, move |s, actor| {
        Ok(
            refusal(s.revoke_user_sessions(actor, id).map_err(UserError::from))?
                .map(|n| format!("{n} session(s) signed out")),
        )
    })
    .await
}

/// `POST /settings/users/{id}/delete`.
pub async fn delete(State(st): State<AppState>, Admin(u): Admin, Path(id): Path<i64>) -> Response {
    act(st, u, id, true, move |s, actor| {
        Ok(refusal(user_admin::delete(s, actor, id))?.map(|name| format!("User {name} deleted")))
    })
    .await
}
