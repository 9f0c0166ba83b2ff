//! One upstream charge → the charge our ingest would have stored for the same FOCUS row, so that
//! re-ingesting the original file afterwards finds every charge unchanged (issue 17).
//!
//! What the Python project kept of a row: the charge dates (as dates), the four costs (as
//! floats), resource, service, the raw tags and its own attribution. What it did not keep is
//! rebuilt the way a FOCUS file of the project's own making carries it: `BillingPeriodStart` =
//! the first instant of the period, `BillingPeriodEnd` = the first instant of the next (FOCUS's
//! exclusive end); category, class, SKU, description and extra columns absent.

use super::report::UpstreamReport;
use crate::IngestSettings;
use ocb_core::attribution::{attribute, is_valid_email, Attribution};
use ocb_core::charge::{ChargeFields, Hash128, NewCharge, ReviewState, SharedText};
use ocb_core::date::parse_focus_date;
use ocb_core::fast_map::FastMap;
use ocb_core::flags::{compute_flags, FlagInput, FlagReason, ReviewRules};
use ocb_core::period::Period;
use ocb_core::tags::TagsCell;
use ocb_core::Decimal;
use ocb_store::upstream::{decimal_of_text, is_overly_precise, ImportedCharge, UpstreamCharge};
use ocb_store::PreparedCharge;
use std::collections::HashMap;
use std::sync::Arc;

const COST_COLUMNS: [&str; 4] = [
    "list_cost",
    "contracted_cost",
    "billed_cost",
    "effective_cost",
];

/// Tags parsed once per distinct `raw_tags` text (a month repeats a few thousand tag sets).
struct TagSet {
    json: Option<SharedText>,
    raw: Option<String>,
    attribution: Arc<Attribution>,
}

/// Maps upstream charges, numbering identity occurrences per (source, period) in file order.
pub(crate) struct ChargeMapper<'s> {
    settings: &'s IngestSettings,
    rules: ReviewRules,
    tags: FastMap<String, Arc<TagSet>>,
    occurrences: HashMap<(i64, Period, Hash128), u32>,
    /// Charges the Python project did not flag but our rules would.
    pub(crate) newly_flaggable: u64,
}

/// An amount from SQLite's text of the stored double; precise values go to the report.
pub(crate) fn amount(
    report: &mut UpstreamReport,
    column: &str,
    id: i64,
    text: Option<&str>,
) -> Result<Option<Decimal>, String> {
    let Some(t) = text else { return Ok(None) };
    let d = decimal_of_text(t).map_err(|e| format!("{column}: {e}"))?;
    if is_overly_precise(d) {
        report.precise(column, id, d.to_string());
    }
    Ok(Some(d))
}

/// A charge date as our reader canonicalises it; text that is no date stays as written.
fn canonical_date(text: Option<&str>) -> Option<SharedText> {
    let t = text?.trim();
    if t.is_empty() {
        return None;
    }
    Some(match parse_focus_date(t, true) {
        Some(d) => d.canonical().into(),
        None => t.into(),
    })
}

/// Our review state of an upstream charge (UPSTREAM-DB.md, "Meanings").
fn review_state(
    c: &UpstreamCharge,
) -> (ReviewState, Option<String>, Option<String>, Option<String>) {
    if c.rejected_at.is_some() {
        let at = c.rejected_at.as_deref().map(super::time::utc);
        return (
            ReviewState::Rejected,
            c.rejected_by.clone(),
            at,
            c.rejection_note.clone(),
        );
    }
    if c.needs_review {
        return (ReviewState::Pending, None, None, None);
    }
    match &c.reviewed_at {
        Some(at) => (
            ReviewState::Approved,
            c.reviewed_by.clone(),
            Some(super::time::utc(at)),
            None,
        ),
        None => (ReviewState::None, None, None, None),
    }
}

/// A non-empty trimmed value.
fn value(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl<'s> ChargeMapper<'s> {
    pub(crate) fn new(settings: &'s IngestSettings, rules: ReviewRules) -> Self {
        Self {
            settings,
            rules,
            tags: FastMap::default(),
            occurrences: HashMap::new(),
            newly_flaggable: 0,
        }
    }

    fn tag_set(&mut self, raw: Option<&str>) -> Arc<TagSet> {
        let key = raw.unwrap_or_default();
        if let Some(t) = self.tags.get(key) {
            return t.clone();
        }
        let cell = TagsCell::parse(raw.filter(|r| !r.trim().is_empty()));
        let set = Arc::new(TagSet {
            json: cell.canonical_json().map(SharedText::from),
            raw: match &cell {
                TagsCell::Invalid(text) => Some(text.clone()),
                _ => None,
            },
            attribution: Arc::new(attribute(cell.object(), &self.settings.tag_mapping)),
        });
        if self.tags.len() >= 65_536 {
            self.tags.clear();
        }
        self.tags.insert(key.to_string(), set.clone());
        set
    }

    /// The Python project's own attribution wins where it has one: it is what was billed.
    /// Shares the tag set's attribution when the Python project's columns agree with it (the
    /// usual case: a clone per row was a tenth of the import's time).
    fn attribution(tags: &Arc<Attribution>, c: &UpstreamCharge) -> Arc<Attribution> {
        let same = |ours: &Option<String>, upstream: &Option<String>| {
            upstream
                .as_deref()
                .map(str::trim)
                .is_none_or(|u| u.is_empty() || ours.as_deref() == Some(u))
        };
        let agrees = same(&tags.pi_email, &c.pi_email)
            && same(&tags.project_id, &c.project_id)
            && same(&tags.fund_org, &c.fund_org)
            && same(&tags.reference_1, &c.reference_1)
            && same(&tags.reference_2, &c.reference_2);
        if agrees {
            return tags.clone();
        }
        Arc::new(Self::merged(tags, c))
    }

    fn merged(tags: &Attribution, c: &UpstreamCharge) -> Attribution {
        let mut a = tags.clone();
        if let Some(pi) = value(&c.pi_email) {
            a.pi_email = Some(if is_valid_email(&pi) {
                pi.to_lowercase()
            } else {
                pi
            });
        }
        for (slot, upstream) in [
            (&mut a.project_id, &c.project_id),
            (&mut a.fund_org, &c.fund_org),
            (&mut a.reference_1, &c.reference_1),
            (&mut a.reference_2, &c.reference_2),
        ] {
            if let Some(v) = value(upstream) {
                *slot = Some(v);
            }
        }
        a
    }

    fn fields(
        &mut self,
        c: &UpstreamCharge,
        period: Period,
        report: &mut UpstreamReport,
    ) -> Result<(ChargeFields, Arc<TagSet>), String> {
        let mut costs = [None; 4];
        for (i, slot) in costs.iter_mut().enumerate() {
            *slot = amount(report, COST_COLUMNS[i], c.id, c.costs[i].as_deref())?;
        }
        let billed = costs[2].ok_or("billed_cost is empty")?;
        let tags = self.tag_set(c.raw_tags.as_deref());
        let start = |p: Period| SharedText::from(format!("{}T00:00:00Z", p.first_day()));
        let fields = ChargeFields {
            billing_period_start: start(period),
            billing_period_end: Some(start(period.next())),
            charge_period_start: canonical_date(c.charge_period_start.as_deref()),
            charge_period_end: canonical_date(c.charge_period_end.as_deref()),
            list_cost: costs[0],
            contracted_cost: costs[1],
            billed_cost: billed,
            effective_cost: costs[3],
            resource_id: c.resource_id.clone(),
            resource_name: c.resource_name.clone(),
            service_name: c.service_name.clone(),
            tags_json: tags.json.clone(),
            tags_raw: tags.raw.clone(),
            ..Default::default()
        };
        Ok((fields, tags))
    }

    fn reasons(&self, fields: &ChargeFields, a: &Attribution, period: Period) -> Vec<FlagReason> {
        let charge_date = fields
            .charge_period_start
            .as_deref()
            .and_then(|d| parse_focus_date(d, false))
            .map_or_else(|| period.first_day(), |d| d.date());
        let input = FlagInput {
            pi_email: a.pi_email.as_deref(),
            project_id: a.project_id.as_deref(),
            fund_org: a.fund_org.as_deref(),
            charge_date: Some(charge_date),
            end_date: a.end_date,
            reconciliation_end: a.reconciliation_end,
            service_name: fields.service_name.as_deref(),
            resource_id: fields.resource_id.as_deref(),
            resource_name: fields.resource_name.as_deref(),
            period_mismatch: false,
            changed_after_review: false,
            // Upstream stored no input rows, only charges it had already collapsed by
            // resource and date, so identical input rows cannot be recognised here.
            possible_duplicate: false,
        };
        compute_flags(&input, &self.rules)
    }

    /// The charge, or why it cannot be brought over.
    pub(crate) fn map(
        &mut self,
        c: &UpstreamCharge,
        source_id: i64,
        period: Period,
        report: &mut UpstreamReport,
    ) -> Result<ImportedCharge, String> {
        let (fields, tags) = self.fields(c, period, report)?;
        let attribution = Self::attribution(&tags.attribution, c);
        let (state, reviewed_by, reviewed_at, review_note) = review_state(c);
        let mut reasons = self.reasons(&fields, &attribution, period);
        if state == ReviewState::None && !reasons.is_empty() {
            // The Python project's decision stands; `reevaluate` applies our rules on request.
            self.newly_flaggable += 1;
            reasons.clear();
        }
        let key_hash = fields.identity_hash();
        let n = self
            .occurrences
            .entry((source_id, period, key_hash))
            .or_insert(0);
        *n += 1;
        let charge = NewCharge {
            line: c.id.max(0) as u64,
            period,
            key_hash,
            occurrence: *n,
            content_hash: fields.content_hash(),
            fields,
            attribution,
            reasons,
        };
        Ok(ImportedCharge {
            charge: Box::new(PreparedCharge::new(charge)),
            state,
            reviewed_by,
            reviewed_at,
            review_note,
        })
    }
}
