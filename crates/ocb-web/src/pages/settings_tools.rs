//! The settings page's tools (admin): the live pattern test (`GET /settings/test-patterns`,
//! htmx on input, SPEC §12.5) and "Re-evaluate flags" (§7.7) — a dry-run summary first
//! (`GET /settings/reevaluate`), then the run (`POST /settings/reevaluate`).
//!
//! Both take an optional `period`; empty means every period that is not finalized.

use crate::auth::Admin;
use crate::error::AppError;
use crate::security::form_field;
use crate::services::settings::effective;
use crate::state::AppState;
use crate::view::{param, parse_period};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use ocb_core::flags::Pattern;
use ocb_core::period::Period;
use ocb_core::review_settings::PatternKind;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Examples shown per pattern.
const EXAMPLES: usize = 20;

fn scope(raw: Option<String>) -> Result<Option<Period>, AppError> {
    match raw.map(|p| p.trim().to_string()).filter(|p| !p.is_empty()) {
        Some(p) => Ok(Some(parse_period(&p)?)),
        None => Ok(None),
    }
}

/// One line of the editor: compiled, or its error (shown inline).
fn compile_lines(kind: PatternKind, text: &str) -> Vec<(String, Result<Pattern, String>)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            (
                l.to_string(),
                kind.compile(l)
                    .map_err(|e| e.message.split_whitespace().collect::<Vec<_>>().join(" ")),
            )
        })
        .collect()
}

fn fragment(st: &AppState, template: &str, ctx: &Value) -> Response {
    match st.templates.render(template, ctx) {
        Ok(html) => Html(html).into_response(),
        Err(e) => e.as_fragment().into_response(),
    }
}

/// `GET /settings/test-patterns?flag_patterns=…&fund_org_patterns=…&period=…`: per flag
/// pattern, how many charges in scope it would flag with up to 20 examples; the fund/org values
/// that would fail. Matching uses the ingest's compiled patterns, so the preview is exact.
pub async fn test_patterns(
    State(st): State<AppState>,
    Admin(_u): Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let flag = compile_lines(
        PatternKind::FlagPatterns,
        &param(&q, "flag_patterns").unwrap_or_default(),
    );
    let fund = compile_lines(
        PatternKind::FundOrgPatterns,
        &param(&q, "fund_org_patterns").unwrap_or_default(),
    );
    let period = match scope(param(&q, "period")) {
        Ok(p) => p,
        Err(e) => return e.as_fragment().into_response(),
    };
    let currency = st.config.currency.clone();
    let result = st
        .db(move |s| {
            let p = period.map(|p| p.to_string());
            let mut counts = vec![0u64; flag.len()];
            let mut examples: Vec<Vec<Value>> = vec![Vec::new(); flag.len()];
            let mut scanned = 0u64;
            if flag.iter().any(|(_, c)| c.is_ok()) {
                s.for_each_pattern_subject(p.as_deref(), |c| {
                    scanned += 1;
                    for (i, (_, compiled)) in flag.iter().enumerate() {
                        let Ok(pat) = compiled else { continue };
                        let hit = [c.service_name, c.resource_id, c.resource_name].into_iter().flatten().any(|v| pat.is_match(v));
                        if hit {
                            counts[i] += 1;
                            if examples[i].len() < EXAMPLES {
                                examples[i].push(json!({"id": c.id, "period": c.period, "service": c.service_name, "resource": c.resource_name.or(c.resource_id)}));
                            }
                        }
                    }
                })?;
            }
            let flag_rows: Vec<Value> = flag
                .iter()
                .enumerate()
                .map(|(i, (text, compiled))| match compiled {
                    Ok(_) => json!({"pattern": text, "count": counts[i], "examples": examples[i]}),
                    Err(e) => json!({"pattern": text, "error": e}),
                })
                .collect();
            let valid: Vec<&Pattern> = fund.iter().filter_map(|(_, c)| c.as_ref().ok()).collect();
            let mut failing = Vec::new();
            let (mut failing_charges, mut values) = (0u64, 0u64);
            if !valid.is_empty() {
                for (value, n) in s.fund_org_counts(p.as_deref())? {
                    values += 1;
                    if !valid.iter().any(|pat| pat.is_match(&value)) {
                        failing_charges += n;
                        if failing.len() < EXAMPLES {
                            failing.push(json!({"value": value, "charges": n}));
                        }
                    }
                }
            }
            let fund_errors: Vec<Value> = fund
                .iter()
                .filter_map(|(t, c)| c.as_ref().err().map(|e| json!({"pattern": t, "error": e})))
                .collect();
            Ok(json!({
                "scope": p, "flag": flag_rows, "scanned": scanned, "currency": currency,
                "fund_checked": !valid.is_empty(), "fund_values": values, "fund_failing": failing,
                "fund_failing_charges": failing_charges, "fund_errors": fund_errors,
            }))
        })
        .await;
    match result {
        Ok(ctx) => fragment(&st, "settings_test.html", &ctx),
        Err(e) => e.as_fragment().into_response(),
    }
}

/// `GET /settings/reevaluate?period=…`: the dry-run summary with the button that applies it.
pub async fn preview(
    State(st): State<AppState>,
    Admin(u): Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let period = match scope(param(&q, "period")) {
        Ok(p) => p,
        Err(e) => return e.as_fragment().into_response(),
    };
    match reevaluate(&st, u.actor(), period, true).await {
        Ok(r) => fragment(
            &st,
            "settings_reevaluate.html",
            &json!({"report": r, "period": period.map(|p| p.to_string()), "csrf": u.session.csrf_token}),
        ),
        Err(e) => e.as_fragment().into_response(),
    }
}

/// `POST /settings/reevaluate`: runs it (one transaction per period) and reports the counts.
pub async fn apply(State(st): State<AppState>, Admin(u): Admin, body: Bytes) -> Response {
    let period = match scope(form_field(&body, "period")) {
        Ok(p) => p,
        Err(e) => return st.flash_redirect(&u, "error", e.message, "/settings").await,
    };
    let (level, text) = match reevaluate(&st, u.actor(), period, false).await {
        Ok(r) => ("success", summary(&r)),
        Err(e) => ("error", e.message),
    };
    st.flash_redirect(&u, level, text, "/settings").await
}

/// Re-evaluates the flags of `period` (else every period not finalized) with the effective
/// review settings (§4.5, §7.7); one transaction per period. Shared by the settings page and
/// the JSON API.
pub(crate) async fn reevaluate(
    st: &AppState,
    actor: ocb_store::Actor,
    period: Option<Period>,
    dry_run: bool,
) -> Result<ocb_store::ReevaluationReport, AppError> {
    let st2 = st.clone();
    st.db(move |s| {
        let rules = effective(&st2, s)?.rules;
        Ok(s.reevaluate_flags(&actor, period, &rules, dry_run)?)
    })
    .await
}

/// The one-line summary of a run.
pub(crate) fn summary(r: &ocb_store::ReevaluationReport) -> String {
    let t = &r.totals;
    let mut text = format!(
        "Flags re-evaluated in {} period(s): {} newly flagged, {} cleared, {} with changed reasons, {} unchanged, {} skipped (reviewed).",
        r.periods.len(), t.newly_flagged, t.cleared, t.changed, t.unchanged, t.skipped
    );
    if !r.skipped_finalized.is_empty() {
        text.push_str(&format!(
            " Finalized periods left alone: {}.",
            r.skipped_finalized.join(", ")
        ));
    }
    text
}
