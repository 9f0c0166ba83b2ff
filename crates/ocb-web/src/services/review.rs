//! The review queue (SPEC §7): its filter, the queue size per period (the sidebar badge and the
//! review page), the actions of the page and the API, and the validation of an attribution
//! override (§7.5).

use crate::browse_cache::BrowseCache;
use crate::error::AppError;
use crate::state::AppState;
use crate::view::param;
use ocb_core::flags::ReviewRules;
use ocb_store::{Actor, ChargeFilter, Override, ReviewRequest, ReviewSummary, Store, StoreError};
use serde::Serialize;
use std::collections::HashMap;

/// The queue filter of a query; `period` defaults to `default_period` (the page passes the
/// selected period, the API none: every period).
pub fn queue_filter(q: &HashMap<String, String>, default_period: Option<&str>) -> ChargeFilter {
    ChargeFilter {
        period: param(q, "period").or_else(|| default_period.map(str::to_string)),
        source: param(q, "source"),
        reason: param(q, "reason"),
        pi_email: param(q, "pi"),
        project_id: param(q, "project"),
        search: param(q, "q"),
    }
}

/// Charges waiting for review in one period.
#[derive(Debug, Clone, Serialize)]
pub struct PendingPeriod {
    /// `YYYY-MM`.
    pub period: String,
    /// Charges in its queue.
    pub count: i64,
}

/// The queue size of every period that can still be reviewed (open or closed), newest first,
/// leaving out empty queues. Finalized periods are never changed (§7.2), so nothing of theirs is
/// waiting. Why not only the selected period: an admin working in January must still see that
/// December, closed with flags left, needs a decision (issue 16, item 14).
pub fn pending_by_period(s: &Store, cache: &BrowseCache) -> Result<Vec<PendingPeriod>, AppError> {
    let mut out = Vec::new();
    for p in s.period_heads()? {
        if p.status == "finalized" {
            continue;
        }
        let count = cache.figures(s, &p.period)?.map_or(0, |f| f.2);
        if count > 0 {
            out.push(PendingPeriod {
                period: p.period,
                count,
            });
        }
    }
    Ok(out)
}

/// Runs a review action. A refusal the user can act on (queue changed, finalized period,
/// over-long note …) is `Ok(Err(message))`; a failure of the server is `Err`.
pub async fn act(
    st: &AppState,
    actor: Actor,
    req: ReviewRequest,
) -> Result<Result<ReviewSummary, String>, AppError> {
    st.db(move |s| match s.review(&actor, &req) {
        Ok(sum) => Ok(Ok(sum)),
        Err(StoreError::Refused(m)) => Ok(Err(m)),
        Err(e) => Err(e.into()),
    })
    .await
}

/// Why an override was refused: the field and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideProblem {
    /// `pi_email` or `fund_org`.
    pub field: &'static str,
    /// Shown to the user.
    pub message: String,
}

/// Validates an override against the effective fund/org patterns (SPEC §7.5).
pub fn check_override(rules: &ReviewRules, o: &Override) -> Result<(), OverrideProblem> {
    if let Some(e) = o
        .pi_email
        .as_deref()
        .filter(|e| !ocb_core::attribution::is_valid_email(e))
    {
        return Err(OverrideProblem {
            field: "pi_email",
            message: format!("'{e}' is not a valid email address."),
        });
    }
    if let Some(f) = o.fund_org.as_deref().filter(|f| !rules.fund_org_ok(f)) {
        return Err(OverrideProblem {
            field: "fund_org",
            message: format!("Fund/org '{f}' does not match the fund/org patterns."),
        });
    }
    Ok(())
}
