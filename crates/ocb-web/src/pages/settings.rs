//! `/settings` (admin, SPEC §12.3): the effective review patterns with their origin and an
//! editor (validated per line), "Revert to config file", tag mapping and known sources
//! (read-only), system information and the dev-mode data reset. The live pattern test and the
//! re-evaluation live in [`super::settings_tools`].

use crate::auth::Admin;
use crate::error::AppError;
use crate::security::{form_field, CurrentUser};
use crate::services::settings::effective;
use crate::state::AppState;
use crate::view::PageCtx;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ocb_core::review_settings::{parse_lines, LineError, Origin, PatternKind};
use ocb_store::Store;
use serde_json::{json, Value};

fn field_name(kind: PatternKind) -> &'static str {
    match kind {
        PatternKind::FlagPatterns => "flag_patterns",
        PatternKind::FundOrgPatterns => "fund_org_patterns",
    }
}

/// What the user submitted when a save failed: the texts as typed and their errors.
struct Submitted {
    texts: [String; 2],
    errors: [Vec<LineError>; 2],
}

fn view(
    st: &AppState,
    s: &Store,
    ctx: &PageCtx,
    submitted: Option<&Submitted>,
) -> Result<Value, AppError> {
    let e = effective(st, s)?;
    let lists: Vec<Value> = PatternKind::ALL
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let list = match kind {
                PatternKind::FlagPatterns => &e.flag_patterns,
                PatternKind::FundOrgPatterns => &e.fund_org_patterns,
            };
            let (label, help) = match kind {
                PatternKind::FlagPatterns => ("Flag patterns", "A charge is flagged when a pattern matches anywhere in its service, resource id or resource name (case-insensitive)."),
                PatternKind::FundOrgPatterns => ("Fund/org patterns", "When any are set, a fund/org must match one of them entirely (case-insensitive); otherwise the charge is flagged invalid_fund_org."),
            };
            json!({
                "name": field_name(*kind), "key": kind.key(), "label": label, "help": help,
                "text": submitted.map_or_else(|| list.patterns.join("\n"), |sub| sub.texts[i].clone()),
                "count": list.patterns.len(),
                "origin": list.origin.describe(),
                "is_override": list.origin != Origin::ConfigFile,
                "errors": submitted.map_or(&[][..], |sub| &sub.errors[i][..]),
            })
        })
        .collect();
    let c = &st.config;
    let m = &c.tag_mapping;
    let tag_mapping: Vec<Value> = [
        ("pi_email", &m.pi_email),
        ("project_id", &m.project_id),
        ("fund_org", &m.fund_org),
        ("cost_center", &m.cost_center),
        ("account_code", &m.account_code),
        ("reference_1", &m.reference_1),
        ("reference_2", &m.reference_2),
        ("end_date", &m.end_date),
        ("reconciliation_end", &m.reconciliation_end),
        ("pi_name", &m.pi_name),
    ]
    .iter()
    .map(|(field, keys)| json!({"field": field, "keys": keys}))
    .collect();
    let sources: Vec<Value> = c
        .imports
        .known_sources
        .iter()
        .map(|k| json!({"name": k.name, "display_name": k.display_name, "pattern": k.pattern, "fund_org": k.fund_org, "account_code": k.account_code, "mode": k.import_mode.as_str()}))
        .collect();
    let path = |p: &std::path::Path| p.display().to_string();
    let system = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "schema_version": ocb_store::SCHEMA_VERSION,
        "config_file": c.config_path.as_deref().map(path),
        "database": path(s.path()),
        "pdf_dir": path(&c.output.pdf_dir), "journal_dir": path(&c.output.journal_dir),
        "email_dir": path(&c.output.email_dir), "import_dir": path(&c.output.import_dir),
        "backup_dir": path(&c.output.backup_dir),
        "smtp": c.smtp.as_ref().map(|s| format!("{}:{}", s.host, s.port)),
        "dev_mode": c.dev_mode,
    });
    Ok(json!({
        "title": "Settings",
        "lists": lists,
        "any_override": e.flag_patterns.origin != Origin::ConfigFile || e.fund_org_patterns.origin != Origin::ConfigFile,
        "has_errors": submitted.is_some(),
        "period": ctx.period,
        "tag_mapping": tag_mapping,
        "known_sources": sources,
        "system": system,
        "dev_mode": c.dev_mode,
    }))
}

/// `GET /settings`.
pub async fn show(State(st): State<AppState>, Admin(u): Admin) -> Result<Response, AppError> {
    let st2 = st.clone();
    st.page(u, "settings.html", "settings", move |s, ctx| {
        view(&st2, s, ctx, None)
    })
    .await
}

/// `POST /settings/patterns`: validates both lists line by line; on any error the page comes
/// back (422) with the texts as typed and every bad line named. A list equal to the one in
/// effect is not saved, so an unchanged form never turns the config file's list into an override.
pub async fn save(
    State(st): State<AppState>,
    Admin(u): Admin,
    body: Bytes,
) -> Result<Response, AppError> {
    let texts = PatternKind::ALL.map(|k| form_field(&body, field_name(k)).unwrap_or_default());
    let parsed = [
        parse_lines(PatternKind::FlagPatterns, &texts[0]),
        parse_lines(PatternKind::FundOrgPatterns, &texts[1]),
    ];
    if parsed.iter().any(Result::is_err) {
        let [a, b] = parsed.map(|p| p.err().unwrap_or_default());
        let sub = Submitted {
            texts,
            errors: [a, b],
        };
        let st2 = st.clone();
        let mut r = st
            .page(u, "settings.html", "settings", move |s, ctx| {
                view(&st2, s, ctx, Some(&sub))
            })
            .await?;
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(r);
    }
    let [flag, fund] = parsed.map(|p| p.unwrap_or_default());
    let actor = u.actor();
    let st2 = st.clone();
    let saved = st
        .db(move |s| {
            let e = effective(&st2, s)?;
            let mut saved = Vec::new();
            for (kind, new, old) in [
                (PatternKind::FlagPatterns, flag, e.flag_patterns.patterns),
                (
                    PatternKind::FundOrgPatterns,
                    fund,
                    e.fund_org_patterns.patterns,
                ),
            ] {
                if new != old && s.save_review_override(&actor, kind, &old, &new)? {
                    saved.push(kind.key());
                }
            }
            Ok(saved)
        })
        .await?;
    let (level, text) = if saved.is_empty() {
        (
            "info",
            "No changes: the patterns in effect are already these.".to_string(),
        )
    } else {
        ("success", format!("Saved {} to the database. Stored charges keep their flags until you re-evaluate them.", saved.join(" and ")))
    };
    Ok(st.flash_redirect(&u, level, text, "/settings").await)
}

/// `POST /settings/revert`: deletes the database overrides ("Revert to config file").
pub async fn revert(State(st): State<AppState>, Admin(u): Admin) -> Response {
    let actor = u.actor();
    let st2 = st.clone();
    let done = st
        .db(move |s| {
            let r = &st2.config.review;
            Ok(s.revert_review_overrides(&actor, &r.flag_patterns, &r.fund_org_patterns)?)
        })
        .await;
    let (level, text) = match done {
        Ok(keys) if keys.is_empty() => (
            "info",
            "The config file's patterns are already in effect.".to_string(),
        ),
        Ok(keys) => (
            "success",
            format!("Reverted {} to the config file.", keys.join(" and ")),
        ),
        Err(e) => ("error", e.message),
    };
    st.flash_redirect(&u, level, text, "/settings").await
}

/// `POST /settings/reset`: empties the billing data (dev mode only, with confirmation). Users,
/// sessions, API tokens, audit events and settings are kept.
pub async fn reset(State(st): State<AppState>, Admin(u): Admin, body: Bytes) -> Response {
    if !st.config.dev_mode {
        return AppError::new(
            StatusCode::FORBIDDEN,
            "Data reset is only available in dev mode.",
        )
        .into_response();
    }
    if form_field(&body, "confirm").as_deref() != Some("yes") {
        return flash(
            &st,
            &u,
            "error",
            "Tick the confirmation box to reset the data.".into(),
        )
        .await;
    }
    let actor = u.actor();
    let done = st.db(move |s| Ok(s.reset_dev_data(&actor)?)).await;
    // Period change counters start again from zero: cached chart figures would be stale.
    st.charts.clear();
    match done {
        Ok(counts) => {
            let rows: u64 = counts.iter().map(|(_, n)| n).sum();
            flash(&st, &u, "success", format!("Dev data reset: {rows} rows removed. Users, audit events and settings were kept.")).await
        }
        Err(e) => flash(&st, &u, "error", e.message).await,
    }
}

async fn flash(st: &AppState, u: &CurrentUser, level: &'static str, text: String) -> Response {
    st.flash_redirect(u, level, text, "/settings").await
}
