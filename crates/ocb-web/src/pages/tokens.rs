//! The user's own API tokens (SPEC §12.3 `/account/tokens`, §14.5): create, list, revoke.
//!
//! A new token is shown once, in the response to the create request itself: it is never put in
//! a flash message or anywhere else in the database, which keeps only its keyed hash.

use crate::api::token;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::security::{form_field, CurrentUser};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use ocb_store::StoreError;
use serde_json::{json, Value};

async fn render(
    st: &AppState,
    u: CurrentUser,
    status: StatusCode,
    created: Option<Value>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let me = u.session.user_id;
    let today = Utc::now().date_naive().to_string();
    // Stored times are RFC 3339 UTC with a `Z`, so text order is time order.
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut resp = st
        .page(u, "tokens.html", "account", move |s, _| {
            let tokens = s.list_api_tokens(me)?;
            Ok(json!({"title": "API tokens", "tokens": tokens, "created": created, "error": error, "today": today, "now": now}))
        })
        .await?;
    *resp.status_mut() = status;
    Ok(resp)
}

/// `GET /account/tokens`.
pub async fn list(State(st): State<AppState>, Viewer(u): Viewer) -> Result<Response, AppError> {
    render(&st, u, StatusCode::OK, None, None).await
}

/// The expiry of the form: valid through the chosen day (UTC), which must not be in the past.
fn expiry(day: &str) -> Result<Option<String>, String> {
    if day.is_empty() {
        return Ok(None);
    }
    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| format!("Invalid expiry date '{day}': use YYYY-MM-DD."))?;
    if d < Utc::now().date_naive() {
        return Err("The expiry date is in the past.".into());
    }
    let end = d.succ_opt().ok_or("Invalid expiry date.")?;
    Ok(Some(format!("{end}T00:00:00Z")))
}

/// `POST /account/tokens`: creates a token for the logged-in user and shows it once.
pub async fn create(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    body: Bytes,
) -> Result<Response, AppError> {
    let name = form_field(&body, "name")
        .unwrap_or_default()
        .trim()
        .to_string();
    let read_only = form_field(&body, "read_only").is_some_and(|v| v == "1" || v == "on");
    let secret = st.config.web.secret_key.expose();
    let checked = expiry(form_field(&body, "expires_on").unwrap_or_default().trim())
        .and_then(|expires_at| token::issue(secret, &name, read_only, expires_at));
    let (plain, t) = match checked {
        Ok(v) => v,
        Err(msg) => return render(&st, u, StatusCode::UNPROCESSABLE_ENTITY, None, Some(msg)).await,
    };
    let expires_at = t.expires_at.clone();
    let (actor, me) = (u.actor(), u.session.user_id);
    let id = st
        .db(move |s| Ok(s.create_api_token(&actor, me, &t)?))
        .await?;
    let created = json!({"id": id, "name": name, "token": plain, "read_only": read_only, "expires_at": expires_at});
    let mut resp = render(&st, u, StatusCode::OK, Some(created), None).await?;
    // The page holds a secret: keep it out of every cache (the layer adds no-store too).
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

/// `POST /account/tokens/{id}/revoke`: only the owner's own tokens.
pub async fn revoke(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Path(id): Path<i64>,
) -> Response {
    let (actor, me) = (u.actor(), u.session.user_id);
    let done = st
        .db(move |s| match s.revoke_api_token(&actor, me, id) {
            Ok(()) => Ok(Ok(())),
            Err(StoreError::Refused(m) | StoreError::NotFound(m)) => Ok(Err(m)),
            Err(e) => Err(e.into()),
        })
        .await;
    match done {
        Ok(Ok(())) => {
            st.flash_redirect(
                &u,
                "success",
                "Token revoked; it no longer works.".into(),
                "/account/tokens",
            )
            .await
        }
        Ok(Err(m)) => st.flash_redirect(&u, "error", m, "/account/tokens").await,
        Err(e) => e.into_response(),
    }
}
