//! The email log (SPEC §9.8, §12.3): one row per send operation, filtered by period, status and
//! recipient server-side, 25 per page, newest first; "Resend" sends the row's PI their current
//! statements of that period again (§9.9) as a background job.

use super::output_jobs::{start, Work};
use crate::auth::{Reviewer, Viewer};
use crate::error::AppError;
use crate::state::AppState;
use crate::view::{page_of, pager, param, query_string, see_other};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use ocb_statements::SendOptions;
use serde_json::json;
use std::collections::HashMap;

const PER_PAGE: u64 = 25;
const STATUSES: [&str; 3] = ["success", "error", "dev_mode"];

/// `GET /emails` (`period`, `status`, `recipient`, `page`, `job`).
pub async fn list(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    st.page(u, "emails.html", "emails", move |s, ctx| {
        let period = param(&q, "period");
        let status = param(&q, "status").filter(|v| STATUSES.contains(&v.as_str()));
        let recipient = param(&q, "recipient");
        let page = page_of(&q);
        let total = s.email_log_count(period.as_deref(), status.as_deref(), recipient.as_deref())?;
        let rows = s.email_log(
            period.as_deref(),
            status.as_deref(),
            recipient.as_deref(),
            PER_PAGE as usize,
            ((page - 1) * PER_PAGE) as usize,
        )?;
        Ok(json!({
            "title": "Email log",
            "f": {"period": period, "status": status, "recipient": recipient},
            "statuses": STATUSES,
            "rows": rows,
            "pager": pager(page, PER_PAGE, total),
            "query": query_string(&[("period", period.as_deref()), ("status", status.as_deref()), ("recipient", recipient.as_deref())]),
            "job": q.get("job").and_then(|j| j.parse::<i64>().ok()),
            "can_review": ctx.can_review(),
        }))
    })
    .await
}

/// `POST /emails/{id}/resend`.
pub async fn resend(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    Path(id): Path<i64>,
) -> Response {
    let row = match st.db(move |s| Ok(s.email_log_entry(id)?)).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            let text = format!("Email log entry {id} not found.");
            return st.flash_redirect(&u, "error", text, "/emails").await;
        }
        Err(e) => return e.into_response(),
    };
    let Ok(period) = row.period.parse() else {
        return AppError::internal("stored email period").into_response();
    };
    let work = Work::Send(SendOptions {
        period,
        pis: vec![row.recipient.clone()],
        resend: true,
        dry_run: false,
    });
    match start(&st, &u, work).await {
        Ok(job) => see_other(&format!("/emails?period={}&job={job}", row.period)),
        Err(e) => st.flash_redirect(&u, "error", e.message, "/emails").await,
    }
}
