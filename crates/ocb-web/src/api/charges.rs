//! `/api/v1/charges…` and `/api/v1/review…` (SPEC §12.10): the charges browser's filters and
//! detail, the review queue, and approve/reject/restore by ids or by filter with the count the
//! client saw. Every action goes through `Store::review`, exactly as the review page's.

use super::{body, ApiError, ApiReviewer, ApiUser, ApiViewer, Paging};
use crate::services::charges::{browse as browse_page, filter_of};
use crate::services::review::{act as review_act, check_override, queue_filter};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Json;
use ocb_store::{
    BrowseFilter, ChargeFilter, Override, ReviewAction, ReviewRequest, ReviewScope, SortKey,
    StatusFilter,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const STATUSES: [&str; 6] = [
    "billable", "flagged", "approved", "rejected", "removed", "all",
];
const SORTS: [&str; 7] = [
    "pi", "resource", "service", "project", "fund_org", "date", "billed",
];

/// Refuses values the web page would silently replace by its default: a script should learn
/// that `status=flaged` is a typo, not get a different set.
fn check_choice(q: &HashMap<String, String>, key: &str, allowed: &[&str]) -> Result<(), ApiError> {
    match q.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        Some(v) if !allowed.contains(&v) => Err(ApiError::bad_request(format!(
            "Invalid {key} '{v}': use one of {}",
            allowed.join(", ")
        ))
        .with_details(json!({"field": key, "allowed": allowed}))),
        _ => Ok(()),
    }
}

fn sort_of(q: &HashMap<String, String>) -> Result<(SortKey, bool), ApiError> {
    check_choice(q, "sort", &SORTS)?;
    check_choice(q, "dir", &["asc", "desc"])?;
    let key = SortKey::parse(q.get("sort").map_or("", |s| s.trim()));
    let desc = q
        .get("dir")
        .map_or(key == SortKey::Billed, |d| d.trim() != "asc");
    Ok((key, desc))
}

async fn browse(
    st: AppState,
    q: HashMap<String, String>,
    f: BrowseFilter,
) -> Result<Json<Value>, ApiError> {
    let paging = Paging::of(&q)?;
    let (sort, desc) = sort_of(&q)?;
    let st2 = st.clone();
    let page = st
        .db(move |s| {
            let cache = &st2.charts.browse;
            browse_page(s, cache, &f, sort, desc, paging.offset(), paging.per_page)
        })
        .await?;
    let mut out = paging.wrap(&page.rows, page.total_count);
    out["total_billed"] = json!(page.total_billed.to_string());
    Ok(out)
}

/// `GET /api/v1/charges`: the filters of `/charges` (`period` absent = every period).
pub async fn list(
    State(st): State<AppState>,
    ApiViewer(_u): ApiViewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    check_choice(&q, "status", &STATUSES)?;
    check_choice(&q, "without", &["pi", "project"])?;
    let f = filter_of(&q, None);
    browse(st, q, f).await
}

/// `GET /api/v1/charges/{id}`: every stored column, tags and extra as JSON, and the history.
pub async fn detail(
    State(st): State<AppState>,
    ApiViewer(_u): ApiViewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let (cols, history, row) = st
        .db(move |s| {
            let cols = s.charge_columns(id)?;
            Ok((cols, s.charge_history(id)?, s.charge(id)?))
        })
        .await?;
    let (Some(cols), Some(row)) = (cols, row) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Charge {id} not found"),
        ));
    };
    let mut obj = Map::new();
    for (k, v) in cols {
        let value = match (k.as_str(), v) {
            // Stored as JSON text: returned as JSON, not as a string to parse again.
            ("tags" | "extra", Some(t)) => serde_json::from_str(&t).unwrap_or(Value::String(t)),
            (_, v) => json!(v),
        };
        obj.insert(k, value);
    }
    let removed = obj.get("removed_at").is_some_and(|v| !v.is_null());
    let status = match (removed, row.review_state.as_str()) {
        (true, _) => "removed",
        (false, "pending") => "flagged",
        (false, "none") => "billable",
        (false, other) => other,
    };
    obj.insert("status".into(), json!(status));
    obj.insert("reasons".into(), json!(row.reasons));
    obj.insert("history".into(), json!(history));
    Ok(Json(Value::Object(obj)))
}

/// `GET /api/v1/review`: charges in the queue, with the queue filters.
pub async fn queue(
    State(st): State<AppState>,
    ApiViewer(_u): ApiViewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let f = BrowseFilter {
        // `period` absent = every period (the page defaults to the selected one).
        base: queue_filter(&q, None),
        status: StatusFilter::Flagged,
        ..Default::default()
    };
    browse(st, q, f).await
}

/// The filter of a bulk action, with the web form's key names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterBody {
    period: Option<String>,
    source: Option<String>,
    reason: Option<String>,
    pi: Option<String>,
    project: Option<String>,
    q: Option<String>,
}

/// `{ids}` or `{filter, expected_count}`, `note?`, `override?` (single approval only).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    ids: Option<Vec<i64>>,
    filter: Option<FilterBody>,
    expected_count: Option<u64>,
    note: Option<String>,
    #[serde(rename = "override")]
    override_: Option<OverrideBody>,
}

/// The attribution override of a single approval.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    pi_email: Option<String>,
    project_id: Option<String>,
    fund_org: Option<String>,
}

fn scope_of(b: &mut ActionBody, action: ReviewAction) -> Result<ReviewScope, ApiError> {
    match (b.ids.take(), b.filter.take()) {
        (Some(_), Some(_)) => Err(ApiError::invalid("Give either ids or filter, not both.")),
        (None, None) => Err(ApiError::invalid(
            "Give ids or a filter with expected_count.",
        )),
        (Some(ids), None) if ids.is_empty() => Err(ApiError::invalid("ids is empty.")),
        (Some(ids), None) => Ok(ReviewScope::Ids(ids)),
        (None, Some(_)) if action == ReviewAction::Restore => Err(ApiError::invalid(
            "restore takes ids (a filter selects queued charges only).",
        )),
        (None, Some(f)) => {
            let keep =
                |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            let f = ChargeFilter {
                period: keep(f.period),
                source: keep(f.source),
                reason: keep(f.reason),
                pi_email: keep(f.pi),
                project_id: keep(f.project),
                search: keep(f.q),
            };
            if f.period.is_none() {
                return Err(ApiError::invalid(
                    "filter.period is required to act on a filter.",
                ));
            }
            if b.expected_count.is_none() {
                return Err(ApiError::invalid("expected_count is required with a filter (the number of charges you reviewed)."));
            }
            Ok(ReviewScope::Filter(f))
        }
    }
}

/// The override of a single approval, validated as on the review page (SPEC §7.5), against the
/// effective fund/org patterns (a database override of §4.5 wins over the config file).
async fn check(st: &AppState, o: &Override) -> Result<(), ApiError> {
    let rules = crate::services::settings::effective_rules(st).await?;
    check_override(&rules, o).map_err(|p| {
        ApiError::invalid(p.message).with_details(json!({"field": format!("override.{}", p.field)}))
    })
}

async fn act(
    st: AppState,
    u: ApiUser,
    action: ReviewAction,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut b: ActionBody = body(&bytes)?;
    let scope = scope_of(&mut b, action)?;
    let keep = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let override_ = b
        .override_
        .take()
        .map(|o| Override {
            pi_email: keep(o.pi_email),
            project_id: keep(o.project_id),
            fund_org: keep(o.fund_org),
        })
        .filter(|o| o.pi_email.is_some() || o.project_id.is_some() || o.fund_org.is_some());
    if let Some(o) = &override_ {
        if action != ReviewAction::Approve
            || !matches!(&scope, ReviewScope::Ids(ids) if ids.len() == 1)
        {
            return Err(ApiError::invalid(
                "override applies to the approval of a single charge.",
            ));
        }
        check(&st, o).await?;
    }
    let req = ReviewRequest {
        action,
        scope,
        note: b.note,
        override_,
        expected_count: b.expected_count,
    };
    // A refusal (queue changed since the client counted, finalized period, over-long note …)
    // is a conflict.
    match review_act(&st, u.actor(), req).await? {
        Ok(summary) => Ok(Json(json!(summary))),
        Err(m) => Err(ApiError::new(StatusCode::CONFLICT, m)),
    }
}

/// `POST /api/v1/review/approve`.
pub async fn approve(
    State(st): State<AppState>,
    ApiReviewer(u): ApiReviewer,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    act(st, u, ReviewAction::Approve, bytes).await
}

/// `POST /api/v1/review/reject`.
pub async fn reject(
    State(st): State<AppState>,
    ApiReviewer(u): ApiReviewer,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    act(st, u, ReviewAction::Reject, bytes).await
}

/// `POST /api/v1/review/restore`.
pub async fn restore(
    State(st): State<AppState>,
    ApiReviewer(u): ApiReviewer,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    act(st, u, ReviewAction::Restore, bytes).await
}
