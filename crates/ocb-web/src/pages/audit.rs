//! The audit log (SPEC §13.1, §12.3; admin only): append-only events, newest first, filtered by
//! event (a name, or its prefix before the dot), actor, period and date range, 50 per page.

use crate::auth::Admin;
use crate::error::AppError;
use crate::state::AppState;
use crate::view::{page_of, pager, param, query_string};
use axum::extract::{Query, State};
use axum::response::Response;
use ocb_store::AuditFilter;
use serde_json::json;
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
        let rows: Vec<_> = rows
            .iter()
            .map(|e| {
                json!({
                    "id": e.id, "occurred_at": e.occurred_at, "event": e.event, "actor": e.actor,
                    "channel": e.channel, "period": e.period,
                    // Escaped by the template like every other value; never marked safe.
                    "details": serde_json::to_string(&e.details).unwrap_or_default(),
                })
            })
            .collect();
        Ok(json!({
            "title": "Audit log",
            "f": {"event": f.event, "actor": f.actor, "period": f.period, "from": f.from, "to": f.to},
            "events": s.audit_event_names()?,
            "rows": rows,
            "pager": pager(page, PER_PAGE, total),
            "query": query_string(&[
                ("event", f.event.as_deref()), ("actor", f.actor.as_deref()), ("period", f.period.as_deref()),
                ("from", f.from.as_deref()), ("to", f.to.as_deref()),
            ]),
        }))
    })
    .await
}
