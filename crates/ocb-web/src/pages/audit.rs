//! The audit log (SPEC §13.1, §12.3; admin only): append-only events, newest first, filtered by
//! event (a name, or its prefix before the dot), actor, period and date range, 50 per page.

use crate::auth::Admin;
use crate::details::{self, DetailField};
use crate::error::AppError;
use crate::state::AppState;
use crate::view::{page_of, pager, param, query_string};
use axum::extract::{Query, State};
use axum::response::Response;
use ocb_store::AuditFilter;
use serde::Serialize;
use std::collections::HashMap;

const PER_PAGE: u64 = 50;

/// A `YYYY-MM-DD` date, else an error naming the field.
fn day(q: &HashMap<String, String>, key: &str) -> Result<Option<String>, AppError> {
    match param(q, key) {
        Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map(|_| Some(d.clone()))
            .map_err(|_| {
                AppError::bad_request(format!("Invalid date '{d}' ({key}): use YYYY-MM-DD"))
            }),
        None => Ok(None),
    }
}

/// An event row.
#[derive(Debug, Serialize)]
struct AuditRow {
    id: i64,
    occurred_at: String,
    event: String,
    actor: String,
    channel: String,
    period: Option<String>,
    /// Readable key/value lines, escaped by the template (never marked safe).
    details: Vec<DetailField>,
}

/// The filters as the form shows them.
#[derive(Debug, Serialize)]
struct AuditFilterView {
    event: Option<String>,
    actor: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `/audit`.
#[derive(Debug, Serialize)]
struct AuditPage {
    title: &'static str,
    f: AuditFilterView,
    events: Vec<String>,
    rows: Vec<AuditRow>,
    pager: serde_json::Value,
    query: String,
}

/// `GET /audit` (`event`, `actor`, `period`, `from`, `to`, `page`).
pub async fn list(
    State(st): State<AppState>,
    Admin(u): Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let f = AuditFilter {
        event: param(&q, "event"),
        actor: param(&q, "actor"),
        period: param(&q, "period"),
        from: day(&q, "from")?,
        to: day(&q, "to")?,
    };
    st.page(u, "audit.html", "audit", move |s, _| {
        let page = page_of(&q);
        let (rows, total) = s.audit_page(&f, (page - 1) * PER_PAGE, PER_PAGE)?;
        let rows = rows
            .into_iter()
            .map(|e| AuditRow {
                details: details::fields(&e.details),
                id: e.id,
                occurred_at: e.occurred_at,
                event: e.event,
                actor: e.actor,
                channel: e.channel,
                period: e.period,
            })
            .collect();
        let query = query_string(&[
            ("event", f.event.as_deref()),
            ("actor", f.actor.as_deref()),
            ("period", f.period.as_deref()),
            ("from", f.from.as_deref()),
            ("to", f.to.as_deref()),
        ]);
        Ok(AuditPage {
            title: "Audit log",
            events: s.audit_event_names()?,
            rows,
            pager: pager(page, PER_PAGE, total),
            query,
            f: AuditFilterView {
                event: f.event,
                actor: f.actor,
                period: f.period,
                from: f.from,
                to: f.to,
            },
        })
    })
    .await
}
