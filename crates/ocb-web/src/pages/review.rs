//! The review queue and its actions (SPEC §7.2, §7.4, §12.5): approve/reject one (with note and,
//! on approval, an attribution override), selected, by filter (with the count check), the whole
//! period, restore; and the review log. Every action goes through `Store::review`.

use super::charges::ChargeRowView;
use crate::auth::{Reviewer, Viewer};
use crate::error::AppError;
use crate::security::CurrentUser;
use crate::services::charges::{browse, reason_options};
use crate::services::review::{
    act, check_override, pending_by_period, queue_filter, PendingPeriod,
};
use crate::state::AppState;
use crate::view::{page_of, pager, param, query_string};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use ocb_store::{
    BrowseFilter, ChargeFilter, Override, ReviewAction, ReviewLogFilter, ReviewRequest,
    ReviewScope, SortKey, StatusFilter,
};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

const PER_PAGE: u64 = 50;

/// The queue filters as the form shows them.
#[derive(Debug, Serialize)]
struct QueueFilterView {
    period: Option<String>,
    source: Option<String>,
    reason: Option<String>,
    pi: Option<String>,
    project: Option<String>,
    q: Option<String>,
}

/// `/review`.
#[derive(Debug, Serialize)]
struct ReviewPage {
    title: &'static str,
    rows: Vec<ChargeRowView>,
    count: u64,
    sum: String,
    pager: serde_json::Value,
    query: String,
    f: QueueFilterView,
    /// See `ChargesPage::reason_options` in [`super::charges`] for why not `reasons`.
    reason_options: Vec<String>,
    sources: Vec<String>,
    can_review: bool,
    /// Queues of the other periods that can still be reviewed, so an empty page never hides
    /// work waiting elsewhere (the sidebar badge counts them all).
    elsewhere: Vec<PendingPeriod>,
}

pub async fn queue(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let st2 = st.clone();
    st.page(u, "review.html", "review", move |s, ctx| {
        let cache = &st2.charts.browse;
        let base = queue_filter(&q, ctx.period.as_deref());
        let f = BrowseFilter {
            base: base.clone(),
            status: StatusFilter::Flagged,
            ..Default::default()
        };
        let page = page_of(&q);
        let offset = (page - 1) * PER_PAGE;
        let result = browse(s, cache, &f, SortKey::Billed, true, offset, PER_PAGE)?;
        let keep = [
            ("period", base.period.as_deref()),
            ("source", base.source.as_deref()),
            ("reason", base.reason.as_deref()),
            ("pi", base.pi_email.as_deref()),
            ("project", base.project_id.as_deref()),
            ("q", base.search.as_deref()),
        ];
        let elsewhere = pending_by_period(s, cache)?
            .into_iter()
            .filter(|p| base.period.as_deref() != Some(p.period.as_str()))
            .collect();
        Ok(ReviewPage {
            title: "Review",
            rows: result
                .rows
                .iter()
                .map(|r| ChargeRowView::new(ctx, r))
                .collect(),
            count: result.total_count,
            sum: ctx.money(result.total_billed),
            pager: pager(page, PER_PAGE, result.total_count),
            query: query_string(&keep),
            reason_options: reason_options(s, cache, base.period.as_deref())?,
            sources: s.source_names()?,
            can_review: ctx.can_review(),
            elsewhere,
            f: QueueFilterView {
                period: base.period,
                source: base.source,
                reason: base.reason,
                pi: base.pi_email,
                project: base.project_id,
                q: base.search,
            },
        })
    })
    .await
}

pub async fn logs(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    st.page(u, "review_logs.html", "review_logs", move |s, ctx| {
        let f = ReviewLogFilter { period: param(&q, "period"), action: param(&q, "action"), actor: param(&q, "actor"), pi_email: param(&q, "pi") };
        let page = page_of(&q);
        let (rows, total) = s.review_log(&f, (page - 1) * PER_PAGE, PER_PAGE)?;
        let keep = [("period", f.period.as_deref()), ("action", f.action.as_deref()), ("actor", f.actor.as_deref()), ("pi", f.pi_email.as_deref())];
        let rows: Vec<_> = rows
            .iter()
            .map(|r| json!({"time": r.time, "period": r.period, "charge_id": r.charge_id, "action": r.action, "actor": r.actor,
                            "channel": r.channel, "pi_email": r.pi_email, "resource_id": r.resource_id, "service": r.service,
                            "amount": ctx.money(r.amount), "reasons": r.reasons, "note": r.note, "override": r.override_}))
            .collect();
        Ok(json!({"title": "Review log", "rows": rows, "pager": pager(page, PER_PAGE, total), "query": query_string(&keep),
                  "f": {"period": f.period, "action": f.action, "actor": f.actor, "pi": f.pi_email}}))
    })
    .await
}

/// The urlencoded form as pairs (repeated `ids` allowed).
fn pairs(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn get(p: &[(String, String)], k: &str) -> Option<String> {
    p.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn back(p: &[(String, String)]) -> String {
    get(p, "next")
        .filter(|n| crate::security::local_redirect(n).is_some())
        .unwrap_or_else(|| "/review".into())
}

/// Runs a request; the outcome is (level, message, acted).
async fn run(
    st: &AppState,
    u: &CurrentUser,
    req: ReviewRequest,
) -> Result<(&'static str, String, u64), AppError> {
    let actor = u.actor();
    let single = matches!(&req.scope, ReviewScope::Ids(ids) if ids.len() == 1);
    let verb = match req.action {
        ReviewAction::Approve => "Approved",
        ReviewAction::Reject => "Rejected",
        ReviewAction::Restore => "Restored",
    };
    let sum = match act(st, actor, req).await? {
        Ok(s) => s,
        Err(m) => return Ok(("error", m, 0)),
    };
    if single {
        let o = sum.outcomes.first();
        let msg = o.map(|o| o.message.clone()).unwrap_or_default();
        return Ok((
            if sum.acted == 1 { "success" } else { "warning" },
            msg,
            sum.acted,
        ));
    }
    let mut msg = format!("{verb} {} charges", sum.acted);
    if sum.skipped > 0 {
        msg.push_str(&format!("; {} skipped", sum.skipped));
        if let Some(o) = sum.outcomes.iter().find(|o| !o.done) {
            msg.push_str(&format!(" ({})", o.message));
        }
    }
    Ok((
        if sum.acted > 0 { "success" } else { "warning" },
        msg,
        sum.acted,
    ))
}

/// htmx: empty body plus a trigger (the row is removed client-side) or a warning fragment;
/// plain forms: flash and redirect.
async fn respond(
    st: &AppState,
    u: &CurrentUser,
    headers: &HeaderMap,
    to: &str,
    trigger: &'static str,
    out: Result<(&'static str, String, u64), AppError>,
) -> Response {
    let htmx = headers.contains_key("hx-request");
    match out {
        Err(e) if htmx => e.as_fragment().into_response(),
        Err(e) => st.flash_redirect(u, "error", e.message, to).await,
        Ok((_, _, 1)) if htmx => {
            let mut r = StatusCode::OK.into_response();
            r.headers_mut()
                .insert("hx-trigger", HeaderValue::from_static(trigger));
            r
        }
        Ok((level, msg, _)) if htmx => {
            let msg = if msg.contains("not in the review queue") {
                "Charge is not in the review queue.".to_string()
            } else {
                msg
            };
            Html(crate::error::flash_fragment(level, &msg)).into_response()
        }
        Ok((level, msg, _)) => st.flash_redirect(u, level, msg, to).await,
    }
}

fn single_id(p: &[(String, String)]) -> Result<i64, AppError> {
    get(p, "id")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| AppError::bad_request("A charge id is required."))
}

fn request(action: ReviewAction, scope: ReviewScope, note: Option<String>) -> ReviewRequest {
    ReviewRequest {
        action,
        scope,
        note,
        override_: None,
        expected_count: None,
    }
}

pub async fn approve(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    approve_one(st, u, headers, pairs(&body)).await
}

/// `POST /review/{id}/approve`: upstream's URL for approving one charge (issue 17), an alias of
/// `POST /review/approve` with the id taken from the path. Same role, same CSRF check (the
/// middleware checks every state-changing request), same handler.
pub async fn approve_path(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    approve_one(st, u, headers, with_id(pairs(&body), id)).await
}

/// `POST /review/{id}/reject`: upstream's URL for rejecting one charge, as
/// [`approve_path`] is for approving.
pub async fn reject_path(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    reject_one(st, u, headers, with_id(pairs(&body), id)).await
}

/// The form fields with `id` set to the charge named in the path (the path wins over a field).
fn with_id(mut p: Vec<(String, String)>, id: i64) -> Vec<(String, String)> {
    p.retain(|(k, _)| k != "id");
    p.push(("id".into(), id.to_string()));
    p
}

async fn approve_one(
    st: AppState,
    u: CurrentUser,
    headers: HeaderMap,
    p: Vec<(String, String)>,
) -> Response {
    let to = back(&p);
    // Fund/org overrides are checked against the patterns in effect (database override, §4.5).
    let rules = crate::services::settings::effective_rules(&st).await;
    let out = match rules
        .and_then(|r| single_id(&p).and_then(|id| override_of(&r, &p).map(|o| (id, o))))
    {
        Ok((id, o)) => {
            let mut req = request(
                ReviewAction::Approve,
                ReviewScope::Ids(vec![id]),
                get(&p, "note"),
            );
            req.override_ = o;
            run(&st, &u, req).await
        }
        Err(e) => Err(e),
    };
    respond(&st, &u, &headers, &to, "chargeApproved", out).await
}

/// The attribution override of a single approval, validated (SPEC §7.5).
fn override_of(
    rules: &ocb_core::flags::ReviewRules,
    p: &[(String, String)],
) -> Result<Option<Override>, AppError> {
    let o = Override {
        pi_email: get(p, "pi_email"),
        project_id: get(p, "project_id"),
        fund_org: get(p, "fund_org"),
    };
    if o.pi_email.is_none() && o.project_id.is_none() && o.fund_org.is_none() {
        return Ok(None);
    }
    check_override(rules, &o).map_err(|e| AppError::bad_request(e.message))?;
    Ok(Some(o))
}

pub async fn reject(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    reject_one(st, u, headers, pairs(&body)).await
}

async fn reject_one(
    st: AppState,
    u: CurrentUser,
    headers: HeaderMap,
    p: Vec<(String, String)>,
) -> Response {
    let to = back(&p);
    let out = match single_id(&p) {
        Ok(id) => {
            run(
                &st,
                &u,
                request(
                    ReviewAction::Reject,
                    ReviewScope::Ids(vec![id]),
                    get(&p, "note"),
                ),
            )
            .await
        }
        Err(e) => Err(e),
    };
    respond(&st, &u, &headers, &to, "chargeRejected", out).await
}

pub async fn restore(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = pairs(&body);
    let to = back(&p);
    let out = match single_id(&p) {
        Ok(id) => {
            run(
                &st,
                &u,
                request(
                    ReviewAction::Restore,
                    ReviewScope::Ids(vec![id]),
                    get(&p, "note"),
                ),
            )
            .await
        }
        Err(e) => Err(e),
    };
    respond(&st, &u, &headers, &to, "chargeRestored", out).await
}

fn action_of(p: &[(String, String)]) -> Result<ReviewAction, AppError> {
    match get(p, "action").as_deref() {
        Some("approve") => Ok(ReviewAction::Approve),
        Some("reject") => Ok(ReviewAction::Reject),
        _ => Err(AppError::bad_request("Choose approve or reject.")),
    }
}

pub async fn selected(State(st): State<AppState>, Reviewer(u): Reviewer, body: Bytes) -> Response {
    let p = pairs(&body);
    let to = back(&p);
    let ids: Vec<i64> = p
        .iter()
        .filter(|(k, _)| k == "ids")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let out = match action_of(&p) {
        Ok(_) if ids.is_empty() => Err(AppError::bad_request("Select at least one charge.")),
        Ok(a) => run(&st, &u, request(a, ReviewScope::Ids(ids), get(&p, "note"))).await,
        Err(e) => Err(e),
    };
    let out = out.map(|(l, m, n)| (l, m, n.max(2))); // always a flash, never the htmx row protocol
    respond(&st, &u, &HeaderMap::new(), &to, "", out).await
}

fn expected(p: &[(String, String)]) -> Result<Option<u64>, AppError> {
    get(p, "expected_count")
        .map(|v| {
            v.parse()
                .map_err(|_| AppError::bad_request("Invalid expected count."))
        })
        .transpose()
}

pub async fn by_filter(State(st): State<AppState>, Reviewer(u): Reviewer, body: Bytes) -> Response {
    let p = pairs(&body);
    let to = back(&p);
    let f = ChargeFilter {
        period: get(&p, "period"),
        source: get(&p, "source"),
        reason: get(&p, "reason"),
        pi_email: get(&p, "pi"),
        project_id: get(&p, "project"),
        search: get(&p, "q"),
    };
    let out = match (action_of(&p), expected(&p)) {
        (_, _) if f.period.is_none() => Err(AppError::bad_request(
            "A period is required to act on a filter.",
        )),
        (Ok(a), Ok(n)) => {
            let mut req = request(a, ReviewScope::Filter(f), get(&p, "note"));
            req.expected_count = n;
            run(&st, &u, req).await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let out = out.map(|(l, m, n)| (l, m, n.max(2)));
    respond(&st, &u, &HeaderMap::new(), &to, "", out).await
}

pub async fn approve_all(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    body: Bytes,
) -> Response {
    let p = pairs(&body);
    let to = back(&p);
    let out = match (get(&p, "period"), expected(&p)) {
        (None, _) => Err(AppError::bad_request("A period is required.")),
        (_, Err(e)) => Err(e),
        (Some(period), Ok(n)) => {
            let f = ChargeFilter {
                period: Some(period),
                ..Default::default()
            };
            let mut req = request(
                ReviewAction::Approve,
                ReviewScope::Filter(f),
                get(&p, "note"),
            );
            req.expected_count = n;
            run(&st, &u, req).await
        }
    };
    let out = out.map(|(l, m, n)| (l, m, n.max(2)));
    respond(&st, &u, &HeaderMap::new(), &to, "", out).await
}
