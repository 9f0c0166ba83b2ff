//! The charges browser (SPEC §12.3): filters, sorting, 50 per page, the exact sum of all matches,
//! the streamed CSV export of the whole filtered set, and the charge detail page.

use crate::auth::Viewer;
use crate::error::AppError;
use crate::state::AppState;
use crate::view::{page_of, pager, param, query_string, PageCtx};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use ocb_store::{BrowseFilter, BrowseRow, ChargeFilter, SortKey, StatusFilter};
use serde_json::{json, Value};
use std::collections::HashMap;

const PER_PAGE: u64 = 50;
const FILTER_KEYS: [&str; 10] = [
    "period", "source", "pi", "project", "fund_org", "status", "reason", "q", "import", "sort",
];

/// The filters of a query; `period` defaults to the selected one (`all` = every period).
pub fn filter_of(q: &HashMap<String, String>, selected: Option<&str>) -> BrowseFilter {
    let period = match param(q, "period").as_deref() {
        Some("all") => None,
        Some(p) => Some(p.to_string()),
        None => selected.map(str::to_string),
    };
    BrowseFilter {
        base: ChargeFilter {
            period,
            source: param(q, "source"),
            reason: param(q, "reason"),
            pi_email: param(q, "pi"),
            project_id: param(q, "project"),
            search: param(q, "q"),
        },
        fund_org: param(q, "fund_org"),
        status: StatusFilter::parse(param(q, "status").as_deref().unwrap_or("")),
        import_id: param(q, "import").and_then(|v| v.parse().ok()),
    }
}

fn sort_of(q: &HashMap<String, String>) -> (SortKey, bool) {
    let key = SortKey::parse(param(q, "sort").as_deref().unwrap_or(""));
    let desc = match param(q, "dir").as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        _ => key == SortKey::Billed,
    };
    (key, desc)
}

/// A browser row for templates.
pub fn row(ctx: &PageCtx, r: &BrowseRow) -> Value {
    json!({
        "id": r.id, "period": r.period, "source": r.source, "pi_email": r.pi_email, "project_id": r.project_id,
        "fund_org": r.fund_org, "service_name": r.service_name, "resource_id": r.resource_id,
        "resource_name": r.resource_name, "date": r.charge_period_start.as_deref().map(|d| d.get(..10).unwrap_or(d)),
        "billed": ctx.money(r.billed_cost), "status": r.status, "reasons": r.reasons,
    })
}

pub async fn list(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let st2 = st.clone();
    st.page(u, "charges.html", "charges", move |s, ctx| {
        let f = filter_of(&q, ctx.period.as_deref());
        let (sort, desc) = sort_of(&q);
        let page = page_of(&q);
        let (result, reasons) = browse(s, &st2, &f, sort, desc, (page - 1) * PER_PAGE)?;
        let keep: Vec<(&str, Option<&str>)> = FILTER_KEYS.iter().map(|k| (*k, q.get(*k).map(String::as_str))).collect();
        let mut keep_no_sort = keep.clone();
        keep_no_sort.retain(|(k, _)| *k != "sort");
        let sources: Vec<String> = s.source_names()?;
        Ok(json!({
            "title": "Charges",
            "rows": result.rows.iter().map(|r| row(ctx, r)).collect::<Vec<_>>(),
            "count": result.total_count,
            "sum": ctx.money(result.total_billed),
            "pager": pager(page, PER_PAGE, result.total_count),
            "query": query_string(&keep),
            "query_no_sort": query_string(&keep_no_sort),
            "sort": q.get("sort").cloned().unwrap_or_else(|| "billed".into()),
            "dir": if desc { "desc" } else { "asc" },
            "f": {
                "period": f.base.period.clone().unwrap_or_else(|| "all".into()), "source": f.base.source, "pi": f.base.pi_email,
                "project": f.base.project_id, "fund_org": f.fund_org, "status": q.get("status").cloned().unwrap_or_default(),
                "reason": f.base.reason, "q": f.base.search, "import": f.import_id,
            },
            "sources": sources,
            "reasons": reasons,
        }))
    })
    .await
}

/// One page of the browser and the queue's reasons: from the period's in-memory index when the
/// filter is for one period (see [`crate::browse_cache`]), else from SQLite.
pub fn browse(
    s: &ocb_store::Store,
    st: &AppState,
    f: &BrowseFilter,
    sort: SortKey,
    desc: bool,
    offset: u64,
) -> Result<(ocb_store::BrowsePage, Vec<String>), AppError> {
    if let Some(period) = f.base.period.as_deref() {
        if let Some(idx) = st.charts.browse.index(s, period)? {
            if let Some(page) = s.browse_indexed(&idx, f, sort, desc, offset, PER_PAGE)? {
                return Ok((page, idx.figures()?.queue_reasons.clone()));
            }
        }
    }
    let page = s.browse_charges(f, sort, desc, offset, PER_PAGE)?;
    Ok((page, s.queue_reasons(f.base.period.as_deref())?))
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
            "history": s.charge_history(id)?,
            "can_review": ctx.can_review(),
            "in_queue": !removed && state == "pending",
            "rejected": !removed && state == "rejected",
        }))
    })
    .await
}
