//! The router: every route with its minimum role (the extractor in each handler's signature
//! enforces it), plus the small pages that need no module of their own.

mod audit;
pub(crate) mod charges;
mod dashboard;
mod emails;
pub(crate) mod imports;
pub(crate) mod journal;
mod lockouts;
pub(crate) mod output_jobs;
mod people;
mod periods;
mod review;
pub(crate) mod settings;
pub(crate) mod settings_tools;
pub(crate) mod statements;
mod tokens;
mod users;

use crate::auth::{self, Viewer};
use crate::error::AppError;
use crate::state::AppState;
use crate::{assets, jobs, security, upload};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

/// Builds the application: routes, the security middleware and the state.
pub fn router(st: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/static/{file}", get(assets::serve))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/", get(dashboard::show))
        .route("/set-period", post(set_period))
        .route("/periods", get(periods::list).post(periods::create))
        .route("/periods/new", get(periods::new_form))
        .route("/periods/{period}", get(periods::detail))
        .route("/periods/{period}/close", post(periods::close))
        .route("/periods/{period}/reopen", post(periods::reopen))
        .route("/periods/{period}/finalize", post(periods::finalize))
        .route("/periods/{period}/notes", post(periods::note))
        .route("/sources", get(sources))
        .route("/charges", get(charges::list))
        .route("/charges/export.csv", get(charges::export))
        .route("/charges/{id}", get(charges::detail))
        .route("/projects", get(people::projects))
        .route("/projects/{project_id}", get(people::project))
        .route("/pis", get(people::pis))
        .route("/pis/{email}", get(people::pi))
        .route("/review", get(review::queue))
        .route("/review/logs", get(review::logs))
        .route("/review/approve", post(review::approve))
        .route("/review/reject", post(review::reject))
        .route("/review/restore", post(review::restore))
        .route("/review/selected", post(review::selected))
        .route("/review/by-filter", post(review::by_filter))
        .route("/review/approve-all", post(review::approve_all))
        // Upstream's form URLs (issue 17; table in docs/web.md): the same handlers, so the same
        // role and CSRF checks.
        .route("/review/{id}/approve", post(review::approve_path))
        .route("/review/{id}/reject", post(review::reject_path))
        .route("/imports", get(imports::list))
        .route(
            "/imports/upload",
            // Each file is limited while it streams to disk (413), not by a body buffer.
            post(upload::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/imports/commit", post(upload::commit))
        .route("/imports/{id}", get(imports::detail))
        .route("/imports/{id}/errors.csv", get(imports::errors_csv))
        .route("/imports/{id}/rejects.csv", get(imports::rejects_csv))
        .route("/jobs/{id}", get(jobs::status))
        .route("/statements", get(statements::list))
        .route(
            "/statements/generate",
            get(statements::generate_form).post(statements::generate),
        )
        .route("/statements/send-unsent", post(statements::send_unsent))
        .route("/statements/{id}/preview", get(statements::preview))
        .route("/statements/{id}/download", get(statements::download))
        .route("/statements/{id}/send", post(statements::send_one))
        .route("/statements/{id}/resend", post(statements::resend))
        .route("/pis/{email}/resend", post(statements::pi_resend))
        .route("/journal", get(journal::form))
        .route("/journal/export", post(journal::export))
        .route("/journal/logs", get(journal::logs))
        .route("/journal/logs/{id}/download", get(journal::download))
        .route("/emails", get(emails::list))
        .route("/emails/{id}/resend", post(emails::resend))
        .route("/audit", get(audit::list))
        .route(
            "/settings/users/change-password",
            get(auth::change_password_form).post(auth::change_password),
        )
        .route("/settings/users", get(users::list).post(users::create))
        .route("/settings/users/new", get(users::new_form))
        .route(
            "/settings/users/{id}",
            get(users::edit_form).post(users::update),
        )
        .route("/settings/users/{id}/password", post(users::reset_password))
        .route("/settings/users/{id}/disable", post(users::disable))
        .route("/settings/users/{id}/enable", post(users::enable))
        .route(
            "/settings/users/{id}/revoke-sessions",
            post(users::revoke_sessions),
        )
        .route("/settings/users/{id}/delete", post(users::delete))
        .route("/settings/users/{id}/unlock", post(lockouts::lift_for_user))
        .route("/account/unlock", post(lockouts::lift_own))
        .route("/settings", get(settings::show))
        .route("/settings/patterns", post(settings::save))
        .route("/settings/review-patterns", post(settings::save))
        .route("/settings/revert", post(settings::revert))
        .route("/settings/reset", post(settings::reset))
        .route(
            "/settings/test-patterns",
            get(settings_tools::test_patterns),
        )
        .route(
            "/settings/reevaluate",
            get(settings_tools::preview).post(settings_tools::apply),
        )
        .route("/account/tokens", get(tokens::list).post(tokens::create))
        .route("/account/tokens/{id}/revoke", post(tokens::revoke))
        .nest("/api/v1", crate::api::router(st.clone()))
        .route("/help", get(help_index))
        .route("/help/{section}", get(help_section))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(st.clone(), security::layer))
        .with_state(st)
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

async fn not_found() -> Response {
    AppError::not_found("There is no page at this address.").into_response()
}

/// `POST /set-period`: only existing periods are accepted.
async fn set_period(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    body: axum::body::Bytes,
) -> Response {
    let period = security::form_field(&body, "period").unwrap_or_default();
    let back = security::form_field(&body, "next")
        .filter(|n| security::local_redirect(n).is_some())
        .unwrap_or_else(|| "/".into());
    let hash = u.session.id_hash.clone();
    let p = period.clone();
    let done = st
        .db(move |s| {
            let parsed = crate::view::parse_period(&p)?;
            if s.period_status(parsed)?.is_none() {
                return Err(AppError::bad_request(format!(
                    "Billing period {p} not found"
                )));
            }
            Ok(s.set_session_period(&hash, &p)?)
        })
        .await;
    match done {
        Ok(()) => crate::view::see_other(&back),
        Err(e) => st.flash_redirect(&u, "error", e.message, &back).await,
    }
}

/// `GET /sources`.
async fn sources(State(st): State<AppState>, Viewer(u): Viewer) -> Result<Response, AppError> {
    let known = st.config.imports.known_sources.clone();
    st.page(u, "sources.html", "sources", move |s, _| {
        let rows: Vec<_> = s
            .list_sources()?
            .into_iter()
            .map(|src| {
                let k = known.iter().find(|k| k.name.eq_ignore_ascii_case(&src.name));
                json!({
                    "name": src.name, "display_name": src.display_name.clone().or_else(|| k.map(|k| k.display_name.clone())),
                    "type": src.source_type, "charges": src.charges, "known": k.is_some(),
                    "fund_org": k.map(|k| k.fund_org.clone()), "account_code": k.map(|k| k.account_code.clone()),
                    "mode": k.map(|k| k.import_mode.as_str()), "pattern": k.map(|k| k.pattern.clone()),
                    "last_import_at": src.last_import_at, "last_import_status": src.last_import_status,
                    "last_import_rows": src.last_import_rows, "last_import_errors": src.last_import_errors,
                })
            })
            .collect();
        Ok(json!({"title": "Sources", "sources": rows}))
    })
    .await
}

/// Help sections: (slug, title).
const HELP: &[(&str, &str)] = &[
    ("monthly-cycle", "The monthly cycle"),
    ("importing", "Importing files"),
    ("review", "Reviewing flagged charges"),
    ("periods", "Billing periods"),
    ("charges", "Finding charges"),
    ("roles", "Roles and security"),
    ("shortcuts", "Keyboard shortcuts"),
];

async fn help_index(State(st): State<AppState>, Viewer(u): Viewer) -> Result<Response, AppError> {
    help(st, u, None, None).await
}

async fn help_section(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Path(section): Path<String>,
) -> Result<Response, AppError> {
    match HELP.iter().find(|(slug, _)| *slug == section) {
        Some((slug, _)) => help(st, u, Some(slug), None).await,
        None => {
            help(
                st,
                u,
                None,
                Some(format!("There is no help section '{section}'.")),
            )
            .await
        }
    }
}

async fn help(
    st: AppState,
    u: crate::security::CurrentUser,
    section: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let max_attempts = st.config.web.login_max_attempts;
    let lockout = st.config.web.login_lockout_minutes;
    let upload_mb = st.config.web.max_upload_mb;
    let status = if error.is_some() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let mut resp = st
        .page(u, "help.html", "help", move |_, _| {
            let title = section.and_then(|s| HELP.iter().find(|(slug, _)| *slug == s)).map_or("Help", |(_, t)| *t);
            Ok(json!({
                "title": title, "section": section, "error": error,
                "sections": HELP.iter().map(|(slug, t)| json!({"slug": slug, "title": t})).collect::<Vec<_>>(),
                "login_max_attempts": max_attempts, "login_lockout_minutes": lockout, "max_upload_mb": upload_mb,
            }))
        })
        .await?;
    *resp.status_mut() = status;
    Ok(resp)
}
