//! The charges browser (SPEC §12.3): filters, sorting, 50 per page, the exact sum of all matches,
//! the streamed CSV export of the whole filtered set, and the charge detail page. Filters and
//! pages come from [`crate::services::charges`], as in the API.

use crate::auth::Viewer;
use crate::error::AppError;
use crate::services::charges::{browse, filter_of, reason_options, FILTER_KEYS};
use crate::state::AppState;
use crate::view::{page_of, pager, param, query_string, PageCtx};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use ocb_store::{BrowseRow, SortKey, Unattributed};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;

const PER_PAGE: u64 = 50;

fn sort_of(q: &HashMap<String, String>) -> (SortKey, bool) {
    let key = SortKey::parse(param(q, "sort").as_deref().unwrap_or(""));
    let desc = match param(q, "dir").as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        _ => key == SortKey::Billed,
    };
    (key, desc)
}

/// A charge row of the browser, the review queue and the PI, project and import pages.
#[derive(Debug, Serialize)]
pub struct ChargeRowView {
    id: i64,
    period: String,
    source: String,
    pi_email: Option<String>,
    project_id: Option<String>,
    fund_org: Option<String>,
    service_name: Option<String>,
    resource_id: Option<String>,
    resource_name: Option<String>,
    /// The charge date (`YYYY-MM-DD`).
    date: Option<String>,
    /// Money, formatted.
    billed: String,
    status: String,
    reasons: Vec<String>,
}

impl ChargeRowView {
    /// The row of a browser match.
    pub fn new(ctx: &PageCtx, r: &BrowseRow) -> Self {
        Self {
            id: r.id,
            period: r.period.clone(),
            source: r.source.clone(),
            pi_email: r.pi_email.clone(),
            project_id: r.project_id.clone(),
            fund_org: r.fund_org.clone(),
            service_name: r.service_name.clone(),
            resource_id: r.resource_id.clone(),
            resource_name: r.resource_name.clone(),
            date: r
                .charge_period_start
                .as_deref()
                .map(|d| d.get(..10).unwrap_or(d).to_string()),
            billed: ctx.money(r.billed_cost),
            status: r.status.clone(),
            reasons: r.reasons.clone(),
        }
    }
}

/// The filters as the form shows them.
#[derive(Debug, Serialize)]
struct FilterView {
    /// A period, or `all`.
    period: String,
    source: Option<String>,
    pi: Option<String>,
    project: Option<String>,
    fund_org: Option<String>,
    status: String,
    reason: Option<String>,
    q: Option<String>,
    import: Option<i64>,
    without: Option<&'static str>,
}

/// `/charges`.
#[derive(Debug, Serialize)]
struct ChargesPage {
    title: &'static str,
    rows: Vec<ChargeRowView>,
    count: u64,
    sum: String,
    pager: Value,
    query: String,
    query_no_sort: String,
    sort: String,
    dir: &'static str,
    f: FilterView,
    sources: Vec<String>,
    /// The Reason filter's options. Not named `reasons`: the template imports the `reasons`
    /// macro, which would shadow a variable of that name, and the select then listed the
    /// macro's attributes (`name`, `arguments`, `caller`) instead (issue 16, item 14).
    reason_options: Vec<String>,
}

pub async fn list(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let st2 = st.clone();
    st.page(u, "charges.html", "charges", move |s, ctx| {
        let cache = &st2.charts.browse;
        let f = filter_of(&q, ctx.period.as_deref());
        let (sort, desc) = sort_of(&q);
        let page = page_of(&q);
        let result = browse(s, cache, &f, sort, desc, (page - 1) * PER_PAGE, PER_PAGE)?;
        let keep: Vec<(&str, Option<&str>)> = FILTER_KEYS
            .iter()
            .map(|k| (*k, q.get(*k).map(String::as_str)))
            .collect();
        let mut keep_no_sort = keep.clone();
        keep_no_sort.retain(|(k, _)| *k != "sort");
        Ok(ChargesPage {
            title: "Charges",
            rows: result
                .rows
                .iter()
                .map(|r| ChargeRowView::new(ctx, r))
                .collect(),
            count: result.total_count,
            sum: ctx.money(result.total_billed),
            pager: pager(page, PER_PAGE, result.total_count),
            query: query_string(&keep),
            query_no_sort: query_string(&keep_no_sort),
            sort: q.get("sort").cloned().unwrap_or_else(|| "billed".into()),
            dir: if desc { "desc" } else { "asc" },
            reason_options: reason_options(s, cache, f.base.period.as_deref())?,
            f: FilterView {
                period: f.base.period.unwrap_or_else(|| "all".into()),
                source: f.base.source,
                pi: f.base.pi_email,
                project: f.base.project_id,
                fund_org: f.fund_org,
                status: q.get("status").cloned().unwrap_or_default(),
                reason: f.base.reason,
                q: f.base.search,
                import: f.import_id,
                without: f.without.map(Unattributed::as_str),
            },
            sources: s.source_names()?,
        })
    })
    .await
}

fn cell(v: &Option<String>) -> String {
    ocb_core::spreadsheet::neutralize_formula(v.as_deref().unwrap_or("")).into_owned()
}

/// `GET /charges/export.csv`: the whole filtered set, streamed as it is read.
pub async fn export(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let selected = u.session.selected_period.clone();
    let f = filter_of(&q, selected.as_deref());
    let (sort, desc) = sort_of(&q);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(8);
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let store = match st2.open_store() {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.message)));
                return;
            }
        };
        let mut w = csv::Writer::from_writer(Vec::with_capacity(64 * 1024));
        let header = [
            "charge_id",
            "period",
            "source",
            "pi_email",
            "project_id",
            "fund_org",
            "cost_center",
            "reference_1",
            "reference_2",
            "service_name",
            "resource_id",
            "resource_name",
            "charge_period_start",
            "charge_period_end",
            "list_cost",
            "billed_cost",
            "status",
            "reasons",
        ];
        let _ = w.write_record(header);
        let mut sink = |r: BrowseRow| -> bool {
            let rec = [
                r.id.to_string(),
                cell(&Some(r.period.clone())),
                cell(&Some(r.source.clone())),
                cell(&r.pi_email),
                cell(&r.project_id),
                cell(&r.fund_org),
                cell(&r.cost_center),
                cell(&r.reference_1),
                cell(&r.reference_2),
                cell(&r.service_name),
                cell(&r.resource_id),
                cell(&r.resource_name),
                cell(&r.charge_period_start),
                cell(&r.charge_period_end),
                r.list_cost.map(|d| d.to_string()).unwrap_or_default(),
                r.billed_cost.to_string(),
                r.status.clone(),
                cell(&Some(r.reasons.join(";"))),
            ];
            if w.write_record(&rec).is_err() {
                return false;
            }
            if w.get_ref().len() >= 60 * 1024 {
                let full = std::mem::replace(
                    &mut w,
                    csv::Writer::from_writer(Vec::with_capacity(64 * 1024)),
                );
                return match full.into_inner() {
                    Ok(chunk) => tx.blocking_send(Ok(chunk)).is_ok(),
                    Err(_) => false,
                };
            }
            true
        };
        if let Err(e) = store.for_each_charge(&f, sort, desc, &mut sink) {
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            return;
        }
        if let Ok(rest) = w.into_inner() {
            let _ = tx.blocking_send(Ok(rest));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"charges.csv\""),
    );
    Ok(resp)
}

/// Fields of the charge detail page, grouped; every stored column appears once.
const GROUPS: &[(&str, &[&str])] = &[
    (
        "Attribution",
        &[
            "pi_email",
            "pi_name",
            "project_id",
            "fund_org",
            "cost_center",
            "account_code",
            "reference_1",
            "reference_2",
            "end_date",
            "reconciliation_end",
        ],
    ),
    (
        "Override",
        &[
            "ovr_pi_email",
            "ovr_project_id",
            "ovr_fund_org",
            "ovr_by",
            "ovr_at",
        ],
    ),
    (
        "Resource",
        &[
            "resource_id",
            "resource_name",
            "service_name",
            "charge_category",
            "charge_class",
            "charge_description",
            "sku_id",
            "sku_price_id",
        ],
    ),
    (
        "Costs",
        &[
            "billed_cost",
            "list_cost",
            "contracted_cost",
            "effective_cost",
        ],
    ),
    (
        "Dates",
        &[
            "billing_period_start",
            "billing_period_end",
            "charge_period_start",
            "charge_period_end",
        ],
    ),
    (
        "Source and import",
        &[
            "source_name",
            "period",
            "created_import_id",
            "import_id",
            "line",
            "occurrence",
        ],
    ),
    (
        "Review",
        &[
            "review_state",
            "flag_reasons",
            "reviewed_by",
            "reviewed_at",
            "review_note",
            "removed_at",
            "removed_by_import",
        ],
    ),
];

pub async fn detail(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    st.page(u, "charge_detail.html", "charges", move |s, ctx| {
        let cols = s.charge_columns(id)?.ok_or_else(|| AppError::not_found(format!("Charge {id} not found")))?;
        let get = |n: &str| cols.iter().find(|(k, _)| k == n).and_then(|(_, v)| v.clone());
        let groups: Vec<Value> = GROUPS
            .iter()
            .map(|(title, names)| {
                let fields: Vec<Value> = names.iter().map(|n| json!({"name": n, "value": get(n)})).collect();
                json!({"title": title, "fields": fields})
            })
            .collect();
        let pretty = |v: Option<String>| -> Option<String> {
            v.map(|t| serde_json::from_str::<Value>(&t).ok().and_then(|j| serde_json::to_string_pretty(&j).ok()).unwrap_or(t))
        };
        let row = s.charge(id)?.ok_or_else(|| AppError::not_found(format!("Charge {id} not found")))?;
        let removed = get("removed_at").is_some();
        let state = get("review_state").unwrap_or_default();
        let billed = get("billed_cost").and_then(|b| b.parse::<ocb_core::exact::ExactSum>().ok()).map(|d| ctx.money(d));
        Ok(json!({
            "title": format!("Charge {id}"),
            "id": id,
            "summary": {
                "pi_email": row.pi_email, "project_id": row.project_id, "fund_org": row.fund_org, "source": row.source,
                "period": row.period, "resource": row.resource_name.clone().or(row.resource_id.clone()),
                "service": row.service_name, "billed": billed, "reasons": row.reasons,
                "status": if removed { "removed".to_string() } else { match state.as_str() { "pending" => "flagged".into(), "none" => "billable".into(), s => s.to_string() } },
            },
            "groups": groups,
            "tags": pretty(get("tags")),
            "tags_raw": get("tags_raw"),
            "extra": pretty(get("extra")),
            // Details as readable key/value lines (issue 16, item 14), not raw JSON.
            "history": s.charge_history(id)?.into_iter().map(|e| json!({
                "time": e.time, "kind": e.kind, "import_id": e.import_id, "filename": e.filename,
                "actor": e.actor, "channel": e.channel, "details": crate::details::fields(&e.details),
            })).collect::<Vec<_>>(),
            "can_review": ctx.can_review(),
            "in_queue": !removed && state == "pending",
            "rejected": !removed && state == "rejected",
        }))
    })
    .await
}
