//! Billing periods (SPEC §6, §12.3): list, create, detail, and the admin transitions close,
//! reopen (reason required) and finalize (confirmation required). Refusals come back as flash
//! errors on the detail page, never as a server error.

use crate::auth::{Admin, Viewer};
use crate::error::AppError;
use crate::security::{form_field, CurrentUser};
use crate::state::AppState;
use crate::view::{parse_period, see_other};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use ocb_core::period::PeriodAction;
use ocb_store::{ImportFilter, PeriodTransition, StoreError};
use serde_json::json;

pub async fn list(State(st): State<AppState>, Viewer(u): Viewer) -> Result<Response, AppError> {
    st.page(u, "periods.html", "periods", |s, ctx| {
        let mut rows = Vec::new();
        for p in s.list_periods()? {
            let o = s.period_overview(&p.period)?;
            rows.push(json!({
                "period": p.period, "status": p.status, "billable": ctx.money(p.billable_total),
                "charges": p.billable_count, "pis": o.active_pis, "flagged": p.flagged_count,
                "statements": p.statements,
            }));
        }
        Ok(json!({"title": "Billing periods", "periods": rows, "is_admin": ctx.is_admin()}))
    })
    .await
}

pub async fn new_form(State(st): State<AppState>, Admin(u): Admin) -> Result<Response, AppError> {
    let current = ocb_core::period::Period::of_instant(&chrono::Utc::now()).to_string();
    st.page(u, "period_new.html", "periods", move |_, _| {
        Ok(json!({"title": "New period", "default_period": current}))
    })
    .await
}

pub async fn create(State(st): State<AppState>, Admin(u): Admin, body: Bytes) -> Response {
    let period = form_field(&body, "period")
        .unwrap_or_default()
        .trim()
        .to_string();
    let notes = form_field(&body, "notes").filter(|n| !n.trim().is_empty());
    let actor = u.actor();
    let p2 = period.clone();
    let done = st
        .db(move |s| {
            let p = parse_period(&p2)?;
            if s.period_status(p)?.is_some() {
                return Err(AppError::bad_request(format!("Period {p2} already exists")));
            }
            s.open_period(&actor, p, notes.as_deref())?;
            Ok(())
        })
        .await;
    match done {
        Ok(()) => {
            st.flash_redirect(
                &u,
                "success",
                format!("Period {period} created (open)"),
                &format!("/periods/{period}"),
            )
            .await
        }
        Err(e) => {
            st.flash_redirect(&u, "error", e.message, "/periods/new")
                .await
        }
    }
}

pub async fn detail(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Path(period): Path<String>,
) -> Result<Response, AppError> {
    let p = parse_period(&period)?;
    st.page(u, "period_detail.html", "periods", move |s, ctx| {
        let info = s
            .get_period(p)?
            .ok_or_else(|| AppError::not_found(format!("Billing period {period} not found")))?;
        let o = s.period_overview(&period)?;
        let (imports, _) = s.import_log(&ImportFilter { period: Some(period.clone()), ..Default::default() }, 0, 20)?;
        let (pis, _) = s.pi_list(&period, 0, 5)?;
        Ok(json!({
            "title": format!("Period {period}"),
            "period": period,
            "info": {
                "status": info.status, "created_at": info.created_at, "created_by": info.created_by,
                "closed_at": info.closed_at, "closed_by": info.closed_by, "reopened_at": info.reopened_at,
                "reopen_reason": info.reopen_reason, "finalized_at": info.finalized_at, "finalized_by": info.finalized_by,
                "statements": info.statements,
            },
            "cards": {
                "billable": ctx.money(info.billable_total), "billable_count": info.billable_count,
                "active_pis": o.active_pis, "projects": o.projects,
                "pending_count": info.flagged_count, "pending": ctx.money(info.flagged_total),
                "rejected_count": o.rejected_count, "rejected": ctx.money(o.rejected_total),
            },
            "imports": imports.iter().map(|i| super::imports::row(ctx, i)).collect::<Vec<_>>(),
            "top_pis": pis.iter().map(|p| json!({"email": p.email, "billable": ctx.money(p.billable), "charges": p.charges})).collect::<Vec<_>>(),
            "notes": s.period_notes(p)?,
            "history": s.period_history(p)?,
            "is_admin": ctx.is_admin(),
            "can_import": ctx.can_review() && info.status == "open",
        }))
    })
    .await
}

async fn transition(
    st: AppState,
    u: CurrentUser,
    period: String,
    action: PeriodAction,
    note: Option<String>,
) -> Response {
    let back = format!("/periods/{period}");
    let actor = u.actor();
    let done = st
        .db(move |s| {
            let p = parse_period(&period)?;
            match s.transition_period(&actor, p, action, note.as_deref()) {
                Ok(t) => Ok(Ok(t)),
                Err(StoreError::Refused(m)) => Ok(Err(m)),
                Err(e) => Err(e.into()),
            }
        })
        .await;
    match done {
        Ok(Ok(PeriodTransition::Done(m))) => st.flash_redirect(&u, "success", m, &back).await,
        Ok(Ok(PeriodTransition::AlreadyThere(m))) => st.flash_redirect(&u, "info", m, &back).await,
        Ok(Err(m)) => st.flash_redirect(&u, "error", m, &back).await,
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {
            crate::view::see_other("/periods")
        }
        Err(e) => st.flash_redirect(&u, "error", e.message, &back).await,
    }
}

pub async fn close(
    State(st): State<AppState>,
    Admin(u): Admin,
    Path(period): Path<String>,
    body: Bytes,
) -> Response {
    let note = form_field(&body, "notes");
    transition(st, u, period, PeriodAction::Close, note).await
}

pub async fn reopen(
    State(st): State<AppState>,
    Admin(u): Admin,
    Path(period): Path<String>,
    body: Bytes,
) -> Response {
    let reason = form_field(&body, "reason").filter(|r| !r.trim().is_empty());
    if reason.is_none() {
        let back = format!("/periods/{period}");
        return st
            .flash_redirect(
                &u,
                "error",
                "A reason is required to reopen a period.".into(),
                &back,
            )
            .await;
    }
    transition(st, u, period, PeriodAction::Reopen, reason).await
}

pub async fn finalize(
    State(st): State<AppState>,
    Admin(u): Admin,
    Path(period): Path<String>,
    body: Bytes,
) -> Response {
    if form_field(&body, "confirm").as_deref() != Some("1") {
        let back = format!("/periods/{period}");
        return st
            .flash_redirect(
                &u,
                "error",
                "Tick \"This cannot be undone\" to finalize the period.".into(),
                &back,
            )
            .await;
    }
    let note = form_field(&body, "notes");
    transition(st, u, period, PeriodAction::Finalize, note).await
}

pub async fn note(
    State(st): State<AppState>,
    Admin(u): Admin,
    Path(period): Path<String>,
    body: Bytes,
) -> Response {
    let text = form_field(&body, "note").unwrap_or_default();
    let back = format!("/periods/{period}");
    if text.trim().is_empty() {
        return st
            .flash_redirect(&u, "error", "The note is empty.".into(), &back)
            .await;
    }
    let actor = u.actor();
    let p2 = period.clone();
    match st
        .db(move |s| Ok(s.add_period_note(&actor, parse_period(&p2)?, &text)?))
        .await
    {
        Ok(()) => {
            st.flash_redirect(&u, "success", "Note added".into(), &back)
                .await
        }
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => see_other("/periods"),
        Err(e) => st.flash_redirect(&u, "error", e.message, &back).await,
    }
}
