//! Page plumbing shared by every handler: the layout view model (user, period selector, review
//! badge, flash messages), rendering, redirects with flash messages, money, timestamps and
//! pagination. Pages hand `page` a typed view model (any `Serialize`).

use crate::error::AppError;
use crate::security::CurrentUser;
use crate::services::review::{pending_by_period, PendingPeriod};
use crate::state::AppState;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use ocb_config::Role;
use ocb_core::exact::ExactSum;
use ocb_store::Store;
use serde::Serialize;
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

/// The signed-in user as the layout shows them.
#[derive(Debug, Serialize)]
struct UserView {
    username: String,
    display_name: String,
    role: &'static str,
    can_review: bool,
    is_admin: bool,
}

/// A period of the selector.
#[derive(Debug, Serialize)]
struct PeriodChoice {
    period: String,
    status: String,
}

/// The sidebar's review badge: charges waiting in every period that can still be reviewed,
/// with the periods named in its label (issue 16, item 14; the badge used to count only the
/// selected period and showed a red "0").
#[derive(Debug, Serialize)]
pub struct ReviewBadge {
    /// Charges waiting (the badge is not shown at 0).
    pub total: i64,
    /// Per period, newest first.
    pub periods: Vec<PendingPeriod>,
    /// `5 charges to review: 3 in 2025-01, 2 in 2024-12`.
    pub label: String,
}

impl ReviewBadge {
    /// The badge of these queues.
    pub fn new(periods: Vec<PendingPeriod>) -> Self {
        let total: i64 = periods.iter().map(|p| p.count).sum();
        let parts: Vec<String> = periods
            .iter()
            .map(|p| format!("{} in {}", p.count, p.period))
            .collect();
        let noun = if total == 1 { "charge" } else { "charges" };
        let label = if parts.is_empty() {
            "No charges to review".to_string()
        } else {
            format!("{total} {noun} to review: {}", parts.join(", "))
        };
        Self {
            total,
            periods,
            label,
        }
    }
}

/// What every page's layout shows (base.html reads it as `layout`).
#[derive(Debug, Serialize)]
struct Layout {
    user: UserView,
    csrf: String,
    periods: Vec<PeriodChoice>,
    selected_period: Option<String>,
    selected_status: Option<String>,
    review_badge: ReviewBadge,
    flash: Vec<ocb_store::Flash>,
    active: &'static str,
    import_sources: Vec<String>,
    import_periods: Vec<String>,
}

fn layout(
    store: &Store,
    cache: &crate::browse_cache::BrowseCache,
    u: &CurrentUser,
    active: &'static str,
    known: &[String],
) -> Result<(Layout, Option<String>), AppError> {
    // Statuses only: summing every period's charges on every page would cost a full scan each.
    let periods = store.period_heads()?;
    let chosen = u
        .session
        .selected_period
        .as_ref()
        .filter(|p| periods.iter().any(|x| &x.period == *p))
        .cloned();
    // period_heads is newest first: "first open" is the oldest open period still to finish.
    let selected = chosen
        .or_else(|| {
            periods
                .iter()
                .rev()
                .find(|p| p.status == "open")
                .map(|p| p.period.clone())
        })
        .or_else(|| periods.first().map(|p| p.period.clone()));
    // Queue counts, cached per period against its change counter.
    let badge = ReviewBadge::new(pending_by_period(store, cache)?);
    let flash = if u.session.has_flash {
        store.take_flash(&u.session.id_hash)?
    } else {
        vec![]
    };
    let mut import_sources: Vec<String> = known.to_vec();
    for src in store.source_names()? {
        if !import_sources.iter().any(|k| k.eq_ignore_ascii_case(&src)) {
            import_sources.push(src);
        }
    }
    let selected_status = selected.as_deref().and_then(|s| {
        periods
            .iter()
            .find(|x| x.period == s)
            .map(|x| x.status.clone())
    });
    let display_name = if u.session.display_name.is_empty() {
        u.session.username.clone()
    } else {
        u.session.display_name.clone()
    };
    let v = Layout {
        user: UserView {
            username: u.session.username.clone(),
            display_name,
            role: u.role.as_str(),
            can_review: u.role >= Role::Reviewer,
            is_admin: u.role >= Role::Admin,
        },
        csrf: u.session.csrf_token.clone(),
        import_periods: periods
            .iter()
            .filter(|p| p.status != "finalized")
            .map(|p| p.period.clone())
            .collect(),
        periods: periods
            .into_iter()
            .map(|p| PeriodChoice {
                period: p.period,
                status: p.status,
            })
            .collect(),
        selected_period: selected.clone(),
        selected_status,
        review_badge: badge,
        flash,
        active,
        import_sources,
    };
    Ok((v, selected))
}

impl AppState {
    /// Renders a page: `build` runs on a blocking thread with the store and the page context
    /// and returns the template's own variables; the layout is added under `layout`.
    pub async fn page<F, T>(
        &self,
        user: CurrentUser,
        template: &'static str,
        active: &'static str,
        build: F,
    ) -> Result<Response, AppError>
    where
        F: FnOnce(&mut Store, &PageCtx) -> Result<T, AppError> + Send + 'static,
        T: Serialize,
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
            let vars = serde_json::to_value(build(store, &ctx)?).map_err(AppError::internal)?;
            let Value::Object(mut vars) = vars else {
                return Err(AppError::internal(format!(
                    "{template}: page data is not a map"
                )));
            };
            vars.insert(
                "layout".into(),
                serde_json::to_value(layout).map_err(AppError::internal)?,
            );
            let vars = Value::Object(vars);
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

/// A stored UTC timestamp (`2026-01-08T12:15:02Z`) as people read it: `8 Jan 2026 12:15 UTC`;
/// a date alone as `8 Jan 2026`. Anything else is shown as stored, so nothing is hidden. The
/// exact value stays in the page (the `when` macro puts it in `<time datetime>` and the title)
/// because raw ISO text wrapped mid-date in narrow columns (issue 16, item 14).
pub fn human_time(ts: &str) -> String {
    let t = ts.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        let utc = dt.with_timezone(&chrono::Utc);
        return utc.format("%-d %b %Y %H:%M UTC").to_string();
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return d.format("%-d %b %Y").to_string();
    }
    ts.to_string()
}

/// Longest run of characters without a break opportunity in [`break_points`].
const MAX_UNBROKEN: usize = 18;

/// A long identifier split where a line may break: after `.`, `-`, `_`, `:`, `/` and before
/// `@` (so `zorp.blinkman@research.example.edu` breaks as `zorp.` `blinkman` `@research.`
/// `example.` `edu`), and within any longer run every [`MAX_UNBROKEN`] characters. Templates put
/// a `<wbr>` between the parts, so the charge tables fit a 1,400 px window by wrapping long
/// e-mails, resource names and reasons at these points instead of mid-word everywhere or off
/// screen (issue 16, item 14). The parts are plain text, escaped by the template.
pub fn break_points(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut run = 0usize;
    for c in text.chars() {
        if (c == '@' || run >= MAX_UNBROKEN) && !cur.is_empty() {
            parts.push(std::mem::take(&mut cur));
            run = 0;
        }
        cur.push(c);
        run += 1;
        if matches!(c, '.' | '-' | '_' | ':' | '/' | ' ') {
            parts.push(std::mem::take(&mut cur));
            run = 0;
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
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
    fn timestamps_read_as_day_month_year_and_minutes() {
        assert_eq!(human_time("2026-01-08T12:15:02Z"), "8 Jan 2026 12:15 UTC");
        assert_eq!(
            human_time("2025-12-31T23:59:59+02:00"),
            "31 Dec 2025 21:59 UTC"
        );
        assert_eq!(human_time("2025-02-01"), "1 Feb 2025");
        assert_eq!(human_time("yesterday"), "yesterday", "unknown text is kept");
    }

    #[test]
    fn identifiers_break_after_separators_and_before_at() {
        assert_eq!(
            break_points("zorp.blinkman@example.edu"),
            ["zorp.", "blinkman", "@example.", "edu"]
        );
        assert_eq!(
            break_points("pattern_match:Secure File"),
            ["pattern_", "match:", "Secure ", "File"]
        );
        assert_eq!(break_points(""), Vec::<String>::new());
        let long = "a".repeat(40);
        let parts = break_points(&long);
        assert_eq!(parts.concat(), long, "nothing lost");
        assert!(parts.iter().all(|p| p.len() <= MAX_UNBROKEN), "{parts:?}");
    }

    #[test]
    fn money_rounds_half_even_with_separators() {
        assert_eq!(
            money("$", "20227.005".parse::<ExactSum>().expect("dec")),
            "$20,227.00"
        );
    }
}
