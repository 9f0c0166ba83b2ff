//! Roles on every route (SPEC §12.4) and the login, logout and password-change flows (§14).
//!
//! Handlers take [`Viewer`], [`Reviewer`] or [`Admin`]: the extractor refuses anonymous requests
//! (redirect to `/login`, or `HX-Redirect` for htmx) and users below the role (403) before the
//! handler body runs.

use crate::error::AppError;
use crate::password;
use crate::security::{self, ClientIp, CurrentUser, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::state::AppState;
use crate::throttle::Refusal;
use crate::view::see_other;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use ocb_config::Role;
use ocb_store::AuditEvent;
use serde_json::json;
use std::collections::HashMap;

fn reject(parts: &Parts, min: Role) -> Result<CurrentUser, Response> {
    let htmx = parts.headers.contains_key("hx-request");
    let Some(user) = parts.extensions.get::<CurrentUser>().cloned() else {
        if htmx {
            let mut r = StatusCode::OK.into_response();
            r.headers_mut()
                .insert("hx-redirect", HeaderValue::from_static("/login"));
            return Err(r);
        }
        return Err(see_other("/login"));
    };
    if user.role < min {
        let e = AppError::forbidden();
        return Err(if htmx { e.as_fragment() } else { e }.into_response());
    }
    Ok(user)
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        pub struct $name(pub CurrentUser);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = Response;

            async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
                reject(parts, $role).map($name)
            }
        }
    };
}

role_extractor!(
    /// Any logged-in user.
    Viewer,
    Role::Viewer
);
role_extractor!(
    /// Reviewer or admin.
    Reviewer,
    Role::Reviewer
);
role_extractor!(
    /// Admin.
    Admin,
    Role::Admin
);

fn login_page(
    st: &AppState,
    token: &str,
    error: Option<&str>,
    no_users: bool,
    status: StatusCode,
) -> Response {
    let ctx = json!({"csrf": token, "error": error, "no_users": no_users});
    match st.templates.render("login.html", &ctx) {
        Ok(html) => {
            let mut r = (status, Html(html)).into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                security::set_cookie(LOGIN_CSRF_COOKIE, token, st.config.dev_mode, false),
            );
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /login`.
pub async fn login_form(
    State(st): State<AppState>,
    user: Option<Extension<CurrentUser>>,
) -> Response {
    if user.is_some() {
        return see_other("/");
    }
    let no_users = match st.db(|s| Ok(s.count_users()? == 0)).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    login_page(
        &st,
        &security::random_token(),
        None,
        no_users,
        StatusCode::OK,
    )
}

enum Outcome {
    Ok { user_id: i64, weak: Weak },
    Failed(&'static str),
}

/// Whether the password just used falls short of the policy (or is a published example
/// password), and where the user can change it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Weak {
    No,
    /// A database user: sent to the change-password page.
    Database,
    /// A config user (issue 16, item 1: no longer exempt): warned, since only `config.yaml`
    /// can change the password.
    Config,
}

impl Weak {
    fn of(weak: bool, config_managed: bool) -> Self {
        match (weak, config_managed) {
            (false, _) => Weak::No,
            (true, false) => Weak::Database,
            (true, true) => Weak::Config,
        }
    }

    fn flash(self) -> Option<&'static str> {
        match self {
            Weak::No => None,
            Weak::Database => {
                Some("Your password no longer meets the password policy; please change it.")
            }
            Weak::Config => Some(
                "Your password does not meet the password policy or is a published example \
                 password. This account is managed in config.yaml: replace its password_hash there.",
            ),
        }
    }

    fn landing(self) -> &'static str {
        match self {
            Weak::Database => "/settings/users/change-password",
            Weak::No | Weak::Config => "/",
        }
    }
}

/// `POST /login`.
pub async fn login(
    State(st): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let field = |k: &str| security::form_field(&body, k).unwrap_or_default();
    let (username, pass, token) = (
        field("username").trim().to_string(),
        field("password"),
        field("csrf_token"),
    );
    let cookie = security::cookie_value(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if token.is_empty() || token != cookie {
        return AppError::new(
            StatusCode::FORBIDDEN,
            "The login form expired; reload the page and try again.",
        )
        .into_response();
    }
    let audit = |event: &'static str, reason: Option<&str>| {
        let (username, ip, reason) = (username.clone(), ip.clone(), reason.map(str::to_string));
        let st = st.clone();
        async move {
            let actor = ocb_store::Actor {
                name: username.clone(),
                channel: "web".into(),
                role: None,
            };
            let e = AuditEvent {
                event,
                target_type: Some("user"),
                target_id: Some(username.clone()),
                period: None,
                details: json!({"username": username, "client_ip": ip, "reason": reason}),
            };
            st.db(move |s| Ok(s.audit_request(&actor, &e, Some(&ip))?))
                .await
        }
    };
    let attempt = match st.throttle.begin(&username, &ip) {
        Ok(a) => a,
        Err(refusal) => {
            let reason = match refusal {
                Refusal::Wait(_) => "throttled",
                Refusal::Locked(_) => "locked",
            };
            if let Err(e) = audit("auth.lockout", Some(reason)).await {
                return e.into_response();
            }
            return refused(&st, &token, refusal);
        }
    };
    let users: Vec<(String, String)> = st
        .config
        .web
        .users
        .iter()
        .filter(|u| u.recovery)
        .map(|u| {
            (
                u.username.to_lowercase(),
                u.password_hash.expose().to_string(),
            )
        })
        .collect();
    let policy = st.config.web.password_requirements.clone();
    let (u2, p2) = (username.clone(), pass.clone());
    let outcome = st
        .db(move |s| {
            if !password::valid_username(&u2) {
                password::verify_dummy(&p2);
                return Ok(Outcome::Failed("bad_credentials"));
            }
            let Some(user) = s.find_user(&u2)? else {
                password::verify_dummy(&p2);
                return Ok(Outcome::Failed("bad_credentials"));
            };
            // Recovery users authenticate against the config file's hash first (SPEC §14.2).
            let recovery = users.iter().find(|(n, _)| *n == u2.to_lowercase());
            let ok = recovery.is_some_and(|(_, h)| password::verify(&p2, h))
                || password::verify(&p2, &user.password_hash);
            if !ok {
                return Ok(Outcome::Failed("bad_credentials"));
            }
            if user.disabled {
                return Ok(Outcome::Failed("disabled"));
            }
            let weak = Weak::of(
                password::check_policy(&p2, &policy).is_err(),
                user.config_managed,
            );
            Ok(Outcome::Ok {
                user_id: user.id,
                weak,
            })
        })
        .await;
    match outcome {
        Err(e) => e.into_response(),
        Ok(Outcome::Failed(reason)) => {
            st.throttle.fail(attempt);
            if let Err(e) = audit("auth.login_failed", Some(reason)).await {
                return e.into_response();
            }
            login_page(
                &st,
                &token,
                Some("Invalid username or password."),
                false,
                StatusCode::UNAUTHORIZED,
            )
        }
        Ok(Outcome::Ok { user_id, weak }) => {
            st.throttle.succeed(attempt);
            start_session(
                &st,
                &headers,
                user_id,
                weak,
                &ip,
                audit("auth.login_success", None),
            )
            .await
        }
    }
}

/// The login page refusing an attempt (429), with `Retry-After`.
fn refused(st: &AppState, token: &str, refusal: Refusal) -> Response {
    let (msg, seconds) = match refusal {
        Refusal::Wait(s) => (
            format!("Too many failed attempts. Try again in {s} seconds."),
            s,
        ),
        Refusal::Locked(m) => (
            format!(
                "Too many failed attempts. Try again in {m} minutes. The account's owner, signed \
                 in elsewhere, or an administrator can lift this lockout."
            ),
            m * 60,
        ),
    };
    let mut r = login_page(st, token, Some(&msg), false, StatusCode::TOO_MANY_REQUESTS);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    r
}

async fn start_session(
    st: &AppState,
    headers: &HeaderMap,
    user_id: i64,
    weak: Weak,
    ip: &str,
    audit: impl std::future::Future<Output = Result<(), AppError>>,
) -> Response {
    // Rotation: a fresh id at every login; any previous session of this browser ends.
    let old = security::cookie_value(headers, SESSION_COOKIE).map(|c| security::hash_id(&c));
    let id = security::random_token();
    let (hash, csrf, ip) = (
        security::hash_id(&id),
        security::random_token(),
        ip.to_string(),
    );
    let lifetime = st.config.web.session_lifetime_hours;
    let created = st
        .db(move |s| {
            if let Some(old) = old {
                s.delete_session(&old)?;
            }
            s.create_session(user_id, &hash, &csrf, lifetime, Some(&ip))?;
            if let Some(text) = weak.flash() {
                s.push_flash(&hash, "warning", text)?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = created {
        return e.into_response();
    }
    if let Err(e) = audit.await {
        return e.into_response();
    }
    let mut r = see_other(weak.landing());
    r.headers_mut().append(
        header::SET_COOKIE,
        security::set_cookie(SESSION_COOKIE, &id, st.config.dev_mode, false),
    );
    r.headers_mut().append(
        header::SET_COOKIE,
        security::set_cookie(LOGIN_CSRF_COOKIE, "", st.config.dev_mode, true),
    );
    r
}

/// `POST /logout`: the session is deleted, so the old cookie no longer works anywhere.
pub async fn logout(State(st): State<AppState>, Viewer(u): Viewer) -> Response {
    let actor = u.actor();
    let (hash, ip) = (u.session.id_hash.clone(), u.client_ip.clone());
    let done = st
        .db(move |s| {
            s.delete_session(&hash)?;
            let e = AuditEvent {
                event: "auth.logout",
                target_type: Some("user"),
                target_id: Some(actor.name.clone()),
                period: None,
                details: json!({"username": actor.name}),
            };
            Ok(s.audit_request(&actor, &e, Some(&ip))?)
        })
        .await;
    if let Err(e) = done {
        return e.into_response();
    }
    let mut r = see_other("/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        security::set_cookie(SESSION_COOKIE, "", st.config.dev_mode, true),
    );
    r
}

/// `GET /settings/users/change-password`.
pub async fn change_password_form(
    State(st): State<AppState>,
    Viewer(u): Viewer,
) -> Result<Response, AppError> {
    let rules = password::policy_summary(&st.config.web.password_requirements);
    let locked = st.throttle.locked_addresses(&u.session.username);
    st.page(u, "change_password.html", "account", move |_, ctx| {
        Ok(json!({"title": "Change password", "rules": rules, "managed": ctx.user.session.config_managed, "error": null,
                  "locked_addresses": locked}))
    })
    .await
}

/// `POST /settings/users/change-password`: verifies the current password, applies the policy,
/// stores a new hash and revokes the user's other sessions.
pub async fn change_password(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(_q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let field = |k: &str| security::form_field(&body, k).unwrap_or_default();
    let (current, new, confirm) = (
        field("current_password"),
        field("new_password"),
        field("confirm_password"),
    );
    let policy = st.config.web.password_requirements.clone();
    let (actor, user_id, keep) = (u.actor(), u.session.user_id, u.session.id_hash.clone());
    let managed = u.session.config_managed;
    let result = st
        .db(move |s| {
            if managed {
                return Ok(Err("This account is managed in config.yaml".to_string()));
            }
            let user = s
                .find_user(&actor.name)?
                .ok_or_else(|| AppError::not_found("user not found"))?;
            if !password::verify(&current, &user.password_hash) {
                return Ok(Err("Current password is incorrect.".into()));
            }
            if new != confirm {
                return Ok(Err("New passwords do not match.".into()));
            }
            if let Err(m) = password::check_policy(&new, &policy) {
                return Ok(Err(m));
            }
            let hash = password::hash(&new).map_err(AppError::internal)?;
            s.set_user_password(&actor, user_id, &hash, Some(&keep))?;
            Ok(Ok(()))
        })
        .await;
    match result {
        Err(e) => e.into_response(),
        Ok(Ok(())) => {
            st.flash_redirect(
                &u,
                "success",
                "Password changed. Your other sessions were signed out.".into(),
                "/",
            )
            .await
        }
        Ok(Err(msg)) => {
            st.flash_redirect(&u, "error", msg, "/settings/users/change-password")
                .await
        }
    }
}

/// The config users (`web.users`) as rows to sync into the database (SPEC §14.1).
pub fn config_users(c: &ocb_config::Config) -> Vec<ocb_store::NewUser> {
    c.web
        .users
        .iter()
        .map(|u| ocb_store::NewUser {
            username: u.username.clone(),
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            password_hash: u.password_hash.expose().to_string(),
            role: u.role.as_str().into(),
            recovery: u.recovery,
        })
        .collect()
}

/// Syncs the config users into the database, as `serve` does at startup and every `users`
/// command does first (SPEC §14.1); returns the warnings (e.g. the last admin kept enabled).
pub fn sync_config_users(
    store: &mut ocb_store::Store,
    c: &ocb_config::Config,
) -> Result<Vec<String>, ocb_store::StoreError> {
    store.sync_config_users(&config_users(c))
}
