//! `POST /api/v1/reevaluate` (SPEC §12.10, §7.7), admin: re-evaluates the flags of one period,
//! or of every period that is not finalized, with the effective review settings — the same
//! function as the settings page's "Re-evaluate flags". `dry_run` reports the counts and writes
//! nothing (the settings page's preview).

use super::{body, ApiAdmin, ApiError};
use crate::pages::settings_tools::{reevaluate, summary};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Json;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReevaluateBody {
    period: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// `POST /api/v1/reevaluate` `{period?, dry_run?}` → the report (`dry_run`, `periods` with the
/// counts of each, `skipped_finalized`, `totals`) and a one-line `message`. A named period that
/// is finalized is left alone and listed in `skipped_finalized`; an unknown one is `404`.
pub async fn run(
    State(st): State<AppState>,
    ApiAdmin(u): ApiAdmin,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: ReevaluateBody = body(&bytes)?;
    let period = match b.period.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(
            p.parse()
                .map_err(|_| ApiError::invalid(format!("Invalid period '{p}': use YYYY-MM")))?,
        ),
        None => None,
    };
    let report = reevaluate(&st, u.actor(), period, b.dry_run).await?;
    let mut v = serde_json::to_value(&report)
        .map_err(|e| ApiError::from(crate::error::AppError::internal(e)))?;
    v["message"] = Value::String(summary(&report));
    Ok(Json(v))
}
