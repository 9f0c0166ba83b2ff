//! Page plumbing shared by every handler: the layout view model (user, period selector, review
//! badge, flash messages), rendering, redirects with flash messages, money and pagination.

use crate::error::AppError;
use crate::security::CurrentUser;
use crate::state::AppState;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use ocb_config::Role;
use ocb_core::exact::ExactSum;
use ocb_store::Store;
use serde_json::{json, Value};

/// Formats money with the currency, rounded half-even to cents: `$20,227.00`. Exact totals of
/// any size are shown whole (an `ExactSum` may exceed `Decimal`).
pub fn money(currency: &str, amount: impl Into<ExactSum>) -> String {
    amount.into().money(currency)
}

/// What a page handler knows about the request besides its own parameters.
pub struct PageCtx {
    /// The user.
    pub user: CurrentUser,
    /// The selected period (session choice, else first open, else latest), if any exists.
    pub period: Option<String>,
    /// Currency symbol.
    pub currency: String,
}

impl PageCtx {
    /// Money with the configured currency.
    pub fn money(&self, d: impl Into<ExactSum>) -> String {
        money(&self.currency, d)
    }

    /// True for reviewer and admin.
    pub fn can_review(&self) -> bool {
        self.user.role >= Role::Reviewer
    }

    /// True for admin.
    pub fn is_admin(&self) -> bool {
        self.user.role >= Role::Admin
    }
}

fn layout(
    store: &Store,
    cache: &crate::browse_cache::BrowseCache,
    u: &CurrentUser,
    active: &str,
    known: &[String],
) -> Result<(Value, Option<String>), AppError> {
    // Statuses only: summing every period's charges on every page would cost a full scan each.
    let periods = store.period_heads()?;
    let chosen = u
        .session
        .selected_period
        .as_ref()
        .filter(|p| periods.iter().any(|x| &x.period == *p))
        .cloned();
    // list_periods is newest first: "first open" is the oldest open period still to finish.
    let selected = chosen
        .or_else(|| {
            periods
                .iter()
                .rev()
                .find(|p| p.status == "open")
                .map(|p| p.period.clone())
        })
        .or_else(|| periods.first().map(|p| p.period.clone()));
    // The queue count, cached per period against its change counter.
    let badge = match &selected {
        Some(p) => cache.figures(store, p)?.map_or(0, |f| f.2),
        None => 0,
    };
    let flash = if u.session.has_flash {
        store.take_flash(&u.session.id_hash)?
    } else {
        vec![]
    };
    let status = |p: &str| {
        periods
            .iter()
            .find(|x| x.period == p)
            .map(|x| x.status.clone())
            .unwrap_or_default()
    };
    let mut import_sources: Vec<String> = known.to_vec();
    for src in store.source_names()? {
        if !import_sources.iter().any(|k| k.eq_ignore_ascii_case(&src)) {
            import_sources.push(src);
        }
    }
    let import_periods: Vec<&str> = periods
        .iter()
        .filter(|p| p.status != "finalized")
        .map(|p| p.period.as_str())
        .collect();
    let v = json!({
        "user": {
            "username": u.session.username,
            "display_name": if u.session.display_name.is_empty() { u.session.username.clone() } else { u.session.display_name.clone() },
            "role": u.role.as_str(),
            "can_review": u.role >= Role::Reviewer,
            "is_admin": u.role >= Role::Admin,
        },
        "csrf": u.session.csrf_token,
        "periods": periods.iter().map(|p| json!({"period": p.period, "status": p.status})).collect::<Vec<_>>(),
        "selected_period": selected,
        "selected_status": selected.as_deref().map(status),
        "review_badge": badge,
        "flash": flash,
        "active": active,
        "import_sources": import_sources,
        "import_periods": import_periods,
    });
    Ok((v, selected))
}

impl AppState {
    /// Renders a page: `build` runs on a blocking thread with the store and the page context
    /// and returns the template's own variables; the layout is added under `layout`.
    pub async fn page<F>(
        &self,
        user: CurrentUser,
        template: &'static str,
        active: &'static str,
        build: F,
    ) -> Result<Response, AppError>
    where
        F: FnOnce(&mut Store, &PageCtx) -> Result<Value, AppError> + Send + 'static,
    {
        let st = self.clone();
        self.db(move |store| {
            let known: Vec<String> = st
                .config
                .imports
                .known_sources
                .iter()
                .map(|k| k.name.clone())
                .collect();
            let (layout, period) = layout(store, &st.charts.browse, &user, active, &known)?;
            let ctx = PageCtx {
                user,
                period,
                currency: st.config.currency.clone(),
            };
            let mut vars = build(store, &ctx)?;
            vars["layout"] = layout;
            let html = st.templates.render(template, &vars)?;
            Ok(Html(html).into_response())
        })
        .await
    }

    /// Queues a flash message for the user's next page.
    pub async fn flash(
        &self,
        u: &CurrentUser,
        level: &'static str,
        text: String,
    ) -> Result<(), AppError> {
        let id = u.session.id_hash.clone();
        self.db(move |s| Ok(s.push_flash(&id, level, &text)?)).await
    }

    /// Flash then redirect (the usual end of a form post).
    pub async fn flash_redirect(
        &self,
        u: &CurrentUser,
        level: &'static str,
        text: String,
        to: &str,
    ) -> Response {
        match self.flash(u, level, text).await {
            Ok(()) => see_other(to),
            Err(e) => e.into_response(),
        }
    }
}

/// 303 See Other.
pub fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(to).unwrap_or_else(|_| HeaderValue::from_static("/")),
    );
    r
}

/// Pagination view model.
pub fn pager(page: u64, per_page: u64, total: u64) -> Value {
    let pages = total.div_ceil(per_page).max(1);
    let page = page.clamp(1, pages);
    let lo = page.saturating_sub(3).max(1);
    let hi = (page + 3).min(pages);
    json!({
        "page": page, "pages": pages, "total": total, "per_page": per_page,
        "prev": (page > 1).then(|| page - 1), "next": (page < pages).then(|| page + 1),
        "numbers": (lo..=hi).collect::<Vec<_>>(),
        "first": (page - 1) * per_page + u64::from(total > 0), "last": (page * per_page).min(total),
    })
}

/// The page number of a query (1-based, default 1).
pub fn page_of(q: &std::collections::HashMap<String, String>) -> u64 {
    q.get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}

/// A query string of the non-empty pairs (for links that keep the filters).
pub fn query_string(pairs: &[(&str, Option<&str>)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

/// A non-empty, trimmed query value.
pub fn param(q: &std::collections::HashMap<String, String>, k: &str) -> Option<String> {
    q.get(k)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The period of a request parameter, validated (`YYYY-MM`).
pub fn parse_period(s: &str) -> Result<ocb_core::period::Period, AppError> {
    s.parse()
        .map_err(|_| AppError::bad_request(format!("Invalid period '{s}': use YYYY-MM")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_clamps_and_numbers() {
        let p = pager(9, 50, 120);
        assert_eq!(p["page"], 3);
        assert_eq!(p["pages"], 3);
        assert_eq!(p["first"], 101);
        assert_eq!(p["last"], 120);
        assert_eq!(pager(1, 50, 0)["first"], 0);
    }

    #[test]
    fn money_rounds_half_even_with_separators() {
        assert_eq!(
            money("$", "20227.005".parse::<ExactSum>().expect("dec")),
            "$20,227.00"
        );
    }
}
