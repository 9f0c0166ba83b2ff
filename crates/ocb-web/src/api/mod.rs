//! The JSON API under `/api/v1` (SPEC §12.10).
//!
//! Requests authenticate with `Authorization: Bearer ocb_…` only: the session cookie is ignored
//! here, which is why these routes need no CSRF token (a browser cannot attach a bearer token
//! on its own). The token's user is re-read at every request, so a disabled or deleted user, a
//! revoked or expired token, or a changed role take effect at once. Read-only tokens may only
//! `GET`. The handlers call the same store and ingest methods as the HTML pages; this module
//! only translates between JSON and those calls.
//!
//! Errors are `{"error": {"code", "message", "details"}}`; lists are
//! `{"items", "page", "per_page", "total"}`; amounts are exact decimal strings.

mod charges;
mod imports;
mod journal;
mod periods;
mod reevaluate;
mod statements;
pub mod token;

use crate::error::AppError;
use crate::security::ClientIp;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use axum::Router;
use ocb_config::Role;
use ocb_store::{StoreError, TokenUser};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The API routes (nested at `/api/v1` by the main router).
pub fn router(st: AppState) -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/periods", get(periods::list).post(periods::create))
        .route("/periods/{period}", get(periods::detail))
        .route("/periods/{period}/close", post(periods::close))
        .route("/periods/{period}/reopen", post(periods::reopen))
        .route("/periods/{period}/finalize", post(periods::finalize))
        .route("/charges", get(charges::list))
        .route("/charges/{id}", get(charges::detail))
        .route("/review", get(charges::queue))
        .route("/review/approve", post(charges::approve))
        .route("/review/reject", post(charges::reject))
        .route("/review/restore", post(charges::restore))
        .route(
            "/imports",
            // The file is limited while it streams to disk (413), not by a body buffer.
            get(imports::list)
                .post(imports::create)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/imports/{id}", get(imports::detail))
        .route("/imports/{id}/errors.csv", get(imports::errors_csv))
        .route("/imports/{id}/rejects.csv", get(imports::rejects_csv))
        .route("/jobs/{id}", get(imports::job))
        .route("/reevaluate", post(reevaluate::run))
        .route("/statements", get(statements::list))
        .route("/statements/{id}/pdf", get(statements::pdf))
        .route("/statements/generate", post(statements::generate))
        .route("/statements/send", post(statements::send))
        .route("/journal", get(journal::log).post(journal::export))
        .route("/journal/{id}/download", get(journal::download))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "There is no API endpoint at this address.",
            )
        })
        .layer(middleware::from_fn_with_state(st, authenticate))
}

/// An API failure, rendered as the JSON error object of SPEC §12.10.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    details: Value,
}

impl ApiError {
    /// A status with a message and no details.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            details: Value::Null,
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 422: well-formed input that breaks a rule.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// Adds machine-readable details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    fn code(&self) -> &'static str {
        match self.status.as_u16() {
            400 => "bad_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            409 => "conflict",
            413 => "payload_too_large",
            422 => "validation_failed",
            429 => "too_many_requests",
            503 => "busy",
            _ => "internal_error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code(), "message": self.message, "details": self.details}});
        let mut r = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self::new(e.status, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

/// The token's user for this request.
#[derive(Debug, Clone)]
pub struct ApiUser {
    /// Token and owner, as re-read now.
    pub token: TokenUser,
    /// The owner's current role.
    pub role: Role,
    /// Client address (audit).
    pub client_ip: String,
}

impl ApiUser {
    /// The actor of audit and history rows: channel `api`.
    pub fn actor(&self) -> ocb_store::Actor {
        ocb_store::Actor {
            name: self.token.username.clone(),
            channel: "api".into(),
            role: Some(self.role.as_str().into()),
        }
    }
}

fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates every API request; answers 401 without a live token and 403 when a
/// read-only token asks for anything but a read.
async fn authenticate(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "A valid API token is required (Authorization: Bearer <token>).",
        )
        .into_response()
    };
    let client_ip = req
        .extensions()
        .get::<ClientIp>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    // Guessing tokens: after 4 × `web.login_max_attempts` unknown tokens from one address within
    // `web.login_lockout_minutes`, that address is refused (even with a valid token) until the
    // window has passed, as the login form does (SPEC §12.9, §12.10).
    if let Some(minutes) = st.api_throttle.address_locked(&client_ip) {
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed attempts. Try again in {minutes} minutes."),
        )
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(minutes * 60));
        return no_store(r);
    }
    let Some(tok) = bearer(&req).filter(|t| token::well_formed(t)) else {
        return no_store(unauthorized());
    };
    let hash = token::hash(st.config.web.secret_key.expose(), tok);
    let found = st
        .db(move |s| {
            let found = s.api_token_user(&hash)?;
            if let Some(t) = &found {
                // Last-use time is best effort: a busy database must not fail the request.
                if let Err(e) = s.touch_api_token(t) {
                    tracing::debug!(event = "db.busy", error = %e, "token last use not recorded");
                }
            }
            Ok(found)
        })
        .await;
    let token = match found {
        Ok(Some(t)) => t,
        Ok(None) => {
            st.api_throttle.fail_address(&client_ip);
            return no_store(unauthorized());
        }
        Err(e) => return no_store(ApiError::from(e).into_response()),
    };
    if token.read_only && !matches!(*req.method(), Method::GET | Method::HEAD) {
        return no_store(
            ApiError::new(
                StatusCode::FORBIDDEN,
                "This token is read-only: only GET requests are allowed.",
            )
            .into_response(),
        );
    }
    let role = Role::parse(&token.role).unwrap_or(Role::Viewer);
    req.extensions_mut().insert(ApiUser {
        token,
        role,
        client_ip,
    });
    no_store(next.run(req).await)
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

macro_rules! api_role {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        pub struct $name(pub ApiUser);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
                let user = parts
                    .extensions
                    .get::<ApiUser>()
                    .cloned()
                    .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "A valid API token is required."))?;
                if user.role < $role {
                    return Err(ApiError::new(StatusCode::FORBIDDEN, format!("This needs the {} role.", $role.as_str())));
                }
                Ok($name(user))
            }
        }
    };
}

api_role!(
    /// Any token.
    ApiViewer,
    Role::Viewer
);
api_role!(
    /// A token of a reviewer or admin.
    ApiReviewer,
    Role::Reviewer
);
api_role!(
    /// A token of an admin.
    ApiAdmin,
    Role::Admin
);

/// `page` and `per_page` of a list request (SPEC §12.10: default 50, at most 500).
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// 1-based page.
    pub page: u64,
    /// Items per page.
    pub per_page: u64,
}

impl Paging {
    /// From the query; out-of-range values are refused rather than silently changed.
    pub fn of(q: &HashMap<String, String>) -> Result<Self, ApiError> {
        let num = |k: &str, default: u64, max: u64| -> Result<u64, ApiError> {
            match q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "Invalid {k} '{v}': use a number from 1 to {max}."
                        ))
                    }),
            }
        };
        Ok(Self {
            page: num("page", 1, u64::MAX / 1000)?,
            per_page: num("per_page", 50, 500)?,
        })
    }

    /// Rows to skip.
    pub fn offset(&self) -> u64 {
        (self.page - 1) * self.per_page
    }

    /// The list envelope.
    pub fn wrap<T: serde::Serialize>(&self, items: T, total: u64) -> Json<Value> {
        Json(json!({"items": items, "page": self.page, "per_page": self.per_page, "total": total}))
    }
}

/// A JSON body; an empty body is the type's default (e.g. `POST …/close` without notes).
pub fn body<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))
}

/// `GET /api/v1/me`: the token's user and role.
async fn me(ApiViewer(u): ApiViewer) -> Json<Value> {
    let t = &u.token;
    Json(json!({
        "username": t.username, "display_name": t.display_name, "email": t.email, "role": u.role.as_str(),
        "config_managed": t.config_managed, "token": {"id": t.token_id, "read_only": t.read_only},
    }))
}
