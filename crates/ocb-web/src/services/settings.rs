//! The review settings in effect (SPEC §4.5): a database override wins over the config file.
//! The settings page, the re-evaluation, the review page's override check and the API all read
//! them here.

use crate::error::AppError;
use crate::state::AppState;
use ocb_core::flags::ReviewRules;
use ocb_core::review_settings::EffectiveReview;
use ocb_store::Store;

/// The review settings in effect (database override, else config file).
pub fn effective(st: &AppState, s: &Store) -> Result<EffectiveReview, AppError> {
    let r = &st.config.review;
    Ok(s.effective_review(&r.flag_patterns, &r.fund_org_patterns, &r.rules)?)
}

/// The compiled effective rules, for handlers that validate a fund/org.
pub async fn effective_rules(st: &AppState) -> Result<ReviewRules, AppError> {
    let st2 = st.clone();
    st.db(move |s| Ok(effective(&st2, s)?.rules)).await
}
