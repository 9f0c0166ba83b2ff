//! The rule table of SPEC §3.8 and the counting of violations.

use super::{Example, FileReport, PeriodSummary, Periods, RuleReport, ValidateOptions};
use crate::cell::{Cell, RecordView};
use crate::columns::{Columns, FocusColumn, DATE_COLUMNS};
use crate::diag::{truncate_value, Code, Diagnostic, LineRef};
use crate::duplicates::{duplicate_message, DuplicateRows};
use crate::error::FileError;
use crate::row::{FocusRow, RejectedRecord};
use chrono::{Datelike, Timelike};
use ocb_core::amount::parse_amount;
use ocb_core::attribution::{attribute, is_valid_email};
use ocb_core::date::{parse_focus_date, DateForm, FocusDate};
use ocb_core::tags::TagsCell;
use std::borrow::Cow;
use std::path::Path;

macro_rules! rules {
    ($($variant:ident = $id:literal, $name:literal, $strict:literal;)*) => {
        /// A rule of SPEC §3.8.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum RuleId { $($variant,)* }

        impl RuleId {
            pub(crate) const ALL: &'static [RuleId] = &[$(RuleId::$variant,)*];

            pub(crate) fn id(self) -> &'static str {
                match self { $(RuleId::$variant => $id,)* }
            }

            pub(crate) fn name(self) -> &'static str {
                match self { $(RuleId::$variant => $name,)* }
            }

            /// Is this a warning rule (never fails)?
            pub(crate) fn is_warning(self) -> bool {
                self.id().starts_with('W')
            }

            /// Only checked with `--strict`.
            pub(crate) fn strict_only(self) -> bool {
                match self { $(RuleId::$variant => $strict,)* }
            }
        }
    };
}

rules! {
    L1 = "L1", "readable file with header and required columns", false;
    L2 = "L2", "well-formed records", false;
    L3 = "L3", "BillingPeriodStart parses", false;
    L4 = "L4", "costs are numbers", false;
    L5 = "L5", "other dates parse", false;
    L6 = "L6", "Tags is a JSON object", false;
    S1 = "S1", "mandatory FOCUS columns present", true;
    S2 = "S2", "dates in FOCUS UTC format", true;
    S3 = "S3", "BillingPeriodEnd is exclusive", true;
    S4 = "S4", "ChargePeriodEnd not before ChargePeriodStart", true;
    S5 = "S5", "ChargeCategory is an allowed value", true;
    S6 = "S6", "ChargeClass is null or Correction", true;
    S7 = "S7", "cost columns are non-null numbers", true;
    S8 = "S8", "BillingCurrency is a currency code", true;
    S9 = "S9", "ServiceCategory is an allowed value", true;
    S10 = "S10", "required values are non-null", true;
    W0 = "W0", "pi_email tag present", false;
    W1 = "W1", "project_id tag present", false;
    W2 = "W2", "fund_org tag present", false;
    W3 = "W3", "fund_org matches review.fund_org_patterns", false;
    W4 = "W4", "pi_email is a valid address", false;
    W5 = "W5", "columns are FOCUS or x_ columns", true;
    W6 = "W6", "dates without non-UTC offsets", false;
    W7 = "W7", "no row identical to another row", false;
    WPeriodEnd = "W_PERIOD_END", "BillingPeriodEnd not before BillingPeriodStart", false;
}

/// The 21 mandatory columns of FOCUS 1.0–1.2 (S1).
const MANDATORY: [FocusColumn; 21] = {
    use FocusColumn::*;
    [
        BilledCost,
        BillingAccountId,
        BillingAccountName,
        BillingCurrency,
        BillingPeriodEnd,
        BillingPeriodStart,
        ChargeCategory,
        ChargeClass,
        ChargeDescription,
        ChargePeriodEnd,
        ChargePeriodStart,
        ContractedCost,
        EffectiveCost,
        InvoiceIssuerName,
        ListCost,
        PricingQuantity,
        PricingUnit,
        ProviderName,
        PublisherName,
        ServiceCategory,
        ServiceName,
    ]
};

const CHARGE_CATEGORIES: [&str; 5] = ["Usage", "Purchase", "Tax", "Credit", "Adjustment"];

/// ServiceCategory values. The list is the same in FOCUS 1.0, 1.1, 1.2 and 1.3.
const SERVICE_CATEGORIES: [&str; 19] = [
    "AI and Machine Learning",
    "Analytics",
    "Business Applications",
    "Compute",
    "Databases",
    "Developer Tools",
    "Multicloud",
    "Identity",
    "Integration",
    "Internet of Things",
    "Management and Governance",
    "Media",
    "Migration",
    "Mobile",
    "Networking",
    "Security",
    "Storage",
    "Web",
    "Other",
];

#[derive(Default)]
struct Acc {
    count: u64,
    examples: Vec<Example>,
}

/// Counts per rule while the input streams.
pub(crate) struct Tally<'o> {
    options: &'o ValidateOptions,
    accs: Vec<Acc>,
    pos: Positions,
    /// The input could not be opened (missing, unreadable, no header): only L1 ran, and the
    /// other rules are reported as not run rather than as passes (issue 16, item 11).
    unopened: bool,
    /// Rows seen, to report identical ones (W7, issue 17).
    duplicates: DuplicateRows,
}

/// Positions (0-based) of the columns the strict rules read.
#[derive(Default)]
struct Positions {
    dates: [Option<usize>; 4],
    category: Option<usize>,
    class: Option<usize>,
    costs: [Option<usize>; 4],
    pricing_quantity: Option<usize>,
    currency: Option<usize>,
    service_category: Option<usize>,
    non_null: Vec<Vec<usize>>,
    headers: Vec<String>,
}

impl<'o> Tally<'o> {
    pub(crate) fn new(options: &'o ValidateOptions) -> Self {
        Self {
            options,
            accs: RuleId::ALL.iter().map(|_| Acc::default()).collect(),
            pos: Positions::default(),
            unopened: false,
            duplicates: DuplicateRows::new(),
        }
    }

    fn add(
        &mut self,
        rule: RuleId,
        line: Option<&LineRef>,
        column: Option<&str>,
        value: Option<&str>,
        message: impl Into<String>,
    ) {
        let max = self.options.max_examples;
        let acc = &mut self.accs[rule as usize];
        acc.count += 1;
        if acc.examples.len() < max {
            acc.examples.push(Example {
                line: line.map(ToString::to_string),
                column: column.map(str::to_string),
                value: value.map(truncate_value),
                message: message.into(),
            });
        }
    }

    fn add_diag(&mut self, rule: RuleId, d: &Diagnostic) {
        self.add(
            rule,
            Some(&d.line),
            d.column.as_deref(),
            d.value.as_deref(),
            d.message.clone(),
        );
    }

    /// The input could not be used (or failed mid-stream): L1 fails.
    pub(crate) fn file_error(&mut self, e: &FileError) {
        self.add(RuleId::L1, None, None, None, e.to_string());
    }

    /// The input could not be opened at all: L1 fails and no other rule runs.
    pub(crate) fn unopened(&mut self, e: &FileError) {
        self.file_error(e);
        self.unopened = true;
    }

    /// File-level rules on the header: L1 (Tags), S1, W5.
    pub(crate) fn columns(&mut self, columns: &Columns) {
        if !columns.has_tags() {
            self.add(RuleId::L1, None, Some("Tags"), None, "missing column Tags");
        }
        if self.options.strict {
            for col in MANDATORY {
                let substitute = match col {
                    FocusColumn::ProviderName => Some(FocusColumn::ServiceProviderName),
                    FocusColumn::PublisherName => Some(FocusColumn::HostProviderName),
                    _ => None,
                };
                if !columns.has(col) && !substitute.is_some_and(|s| columns.has(s)) {
                    self.add(
                        RuleId::S1,
                        None,
                        Some(col.id()),
                        None,
                        format!("missing column {col}"),
                    );
                }
            }
            for h in columns.unknown_headers() {
                self.add(
                    RuleId::W5,
                    None,
                    Some(h),
                    None,
                    "neither a FOCUS column nor x_-prefixed",
                );
            }
        }
        self.pos = Positions::of(columns);
    }

    /// A record with row errors: L2–L5.
    pub(crate) fn rejected(&mut self, bad: &RejectedRecord) {
        for e in &bad.errors {
            let rule = match e.code {
                Code::ERecord | Code::EEncoding => RuleId::L2,
                Code::EPeriodStart => RuleId::L3,
                Code::ENumber => RuleId::L4,
                _ => RuleId::L5,
            };
            self.add_diag(rule, e);
        }
    }

    /// A good row: tags rules and row warnings.
    pub(crate) fn row(&mut self, row: &FocusRow) {
        let line = Some(&row.line);
        match &*row.tags {
            TagsCell::Invalid(raw) => {
                self.add(
                    RuleId::L6,
                    line,
                    Some("Tags"),
                    Some(raw),
                    "not a JSON object",
                );
            }
            TagsCell::Null => self.add(RuleId::L6, line, Some("Tags"), None, "Tags is empty"),
            _ => {}
        }
        let a = attribute(row.tags.object(), &self.options.tag_mapping);
        match &a.pi_email {
            // A warning, not a failure (SPEC §3.8 W0, formerly L7): ingest keeps such rows
            // flagged `missing_pi_email`, and converters emit unmapped items that way.
            None => self.add(RuleId::W0, line, Some("Tags"), None, "no pi_email tag"),
            Some(e) if !is_valid_email(e) => {
                self.add(
                    RuleId::W4,
                    line,
                    Some("Tags"),
                    Some(e),
                    "not a valid email address",
                );
            }
            Some(_) => {}
        }
        if a.project_id.is_none() {
            self.add(RuleId::W1, line, Some("Tags"), None, "no project_id tag");
        }
        match &a.fund_org {
            None => self.add(RuleId::W2, line, Some("Tags"), None, "no fund_org tag"),
            Some(f) if !self.options.review.fund_org_ok(f) => self.add(
                RuleId::W3,
                line,
                Some("Tags"),
                Some(f),
                "matches none of review.fund_org_patterns",
            ),
            Some(_) => {}
        }
        if let Some(first) = self.duplicates.check(row.raw_hash, &row.line) {
            // Ingest keeps both rows and flags both `possible_duplicate` (SPEC §5.7).
            let message = duplicate_message(&first, &row.line);
            self.add(RuleId::W7, line, None, None, message);
        }
        for w in &row.warnings {
            match w.code {
                Code::WOffset => self.add_diag(RuleId::W6, w),
                Code::WPeriodEnd => self.add_diag(RuleId::WPeriodEnd, w),
                _ => {}
            }
        }
    }

    /// Strict rules S2–S10 on the cells as written.
    pub(crate) fn strict_cells(&mut self, line: &LineRef, rec: &dyn RecordView) {
        if !self.options.strict {
            return;
        }
        let dates = self.strict_dates(line, rec);
        self.strict_periods(line, &dates);
        self.strict_values(line, rec);
        let empty: Vec<usize> = self
            .pos
            .non_null
            .iter()
            .filter(|group| group.iter().all(|&p| rec.cell(p).is_null()))
            .map(|group| group[0])
            .collect();
        for p in empty {
            let column = self.pos.headers[p].clone();
            self.add(
                RuleId::S10,
                Some(line),
                Some(&column),
                None,
                "must not be null",
            );
        }
    }

    /// S2 for the four date columns; returns the parsed dates for S3/S4.
    fn strict_dates(&mut self, line: &LineRef, rec: &dyn RecordView) -> [Option<FocusDate>; 4] {
        let mut out = [None; 4];
        for (slot, pos) in self.pos.dates.into_iter().enumerate() {
            let Some(pos) = pos else { continue };
            let cell = rec.cell(pos);
            let parsed = match cell {
                _ if cell.is_null() => continue,
                Cell::Instant(utc) => Some(FocusDate {
                    utc,
                    form: DateForm::Zulu,
                }),
                Cell::Text(t) => {
                    let d = parse_focus_date(t, false);
                    if !d.is_some_and(|d| strict_form(t, &d)) {
                        let column = self.pos.headers[pos].clone();
                        self.add(
                            RuleId::S2,
                            Some(line),
                            Some(&column),
                            Some(t),
                            "use YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD HH:MM:SS (UTC)",
                        );
                    }
                    d
                }
                _ => None,
            };
            out[slot] = parsed;
        }
        out
    }

    /// S3 and S4.
    fn strict_periods(&mut self, line: &LineRef, d: &[Option<FocusDate>; 4]) {
        if let (Some(start), Some(end)) = (d[0], d[1]) {
            let problem = if end.utc <= start.utc {
                Some("must be later than BillingPeriodStart")
            } else if end.utc.time() != chrono::NaiveTime::MIN {
                Some("must be at 00:00:00 (the exclusive end)")
            } else if start.utc.day() == 1
                && start.utc.time().num_seconds_from_midnight() == 0
                && end.utc.day() != 1
            {
                Some("must be the first day of a later month (the exclusive end)")
            } else {
                None
            };
            if let Some(message) = problem {
                let column = self.pos.header(1, FocusColumn::BillingPeriodEnd);
                let value = end.canonical();
                self.add(RuleId::S3, Some(line), Some(&column), Some(&value), message);
            }
        }
        if let (Some(start), Some(end)) = (d[2], d[3]) {
            if end.utc < start.utc {
                let column = self.pos.header(3, FocusColumn::ChargePeriodEnd);
                let value = end.canonical();
                self.add(
                    RuleId::S4,
                    Some(line),
                    Some(&column),
                    Some(&value),
                    "is before ChargePeriodStart",
                );
            }
        }
    }

    /// S5–S9.
    fn strict_values(&mut self, line: &LineRef, rec: &dyn RecordView) {
        let p = &self.pos;
        let mut found: Vec<(RuleId, usize, Option<String>, &'static str)> = Vec::new();
        if let Some(i) = p.category {
            match text(rec, i) {
                Some(v) if CHARGE_CATEGORIES.contains(&v.as_ref()) => {}
                v => found.push((
                    RuleId::S5,
                    i,
                    v.map(Cow::into_owned),
                    "must be Usage, Purchase, Tax, Credit or Adjustment",
                )),
            }
        }
        if let Some(i) = p.class {
            if let Some(v) = text(rec, i).filter(|v| v != "Correction") {
                found.push((
                    RuleId::S6,
                    i,
                    Some(v.into_owned()),
                    "must be null or Correction",
                ));
            }
        }
        for i in p.costs.iter().flatten().copied() {
            match text(rec, i) {
                None => found.push((RuleId::S7, i, None, "must not be null")),
                Some(v) if parse_amount(&v).is_err() => {
                    found.push((RuleId::S7, i, Some(v.into_owned()), "not a number"));
                }
                Some(_) => {}
            }
        }
        if let Some(i) = p.pricing_quantity {
            if let Some(v) = text(rec, i).filter(|v| parse_amount(v).is_err()) {
                found.push((RuleId::S7, i, Some(v.into_owned()), "not a number"));
            }
        }
        if let Some(i) = p.currency {
            if let Some(v) = text(rec, i).filter(|v| !is_currency_code(v)) {
                found.push((
                    RuleId::S8,
                    i,
                    Some(v.into_owned()),
                    "must be three upper-case letters (ISO 4217)",
                ));
            }
        }
        if let Some(i) = p.service_category {
            if let Some(v) = text(rec, i).filter(|v| !SERVICE_CATEGORIES.contains(&v.as_ref())) {
                found.push((
                    RuleId::S9,
                    i,
                    Some(v.into_owned()),
                    "not a ServiceCategory value of FOCUS 1.0–1.3",
                ));
            }
        }
        for (rule, i, value, message) in found {
            let column = self.pos.headers[i].clone();
            self.add(rule, Some(line), Some(&column), value.as_deref(), message);
        }
    }

    /// Builds the report.
    pub(crate) fn into_report(
        self,
        path: &Path,
        kind: String,
        rows: u64,
        periods: Periods,
    ) -> FileReport {
        let strict = self.options.strict;
        let mut rules = Vec::new();
        for (rule, acc) in RuleId::ALL.iter().zip(self.accs) {
            if rule.strict_only() && !strict {
                continue;
            }
            let status = match (acc.count, rule.is_warning()) {
                (0, _) if self.unopened => "skipped",
                (0, _) => "pass",
                (_, true) => "warn",
                (_, false) => "fail",
            };
            rules.push(RuleReport {
                id: rule.id().to_string(),
                name: rule.name().to_string(),
                status: status.to_string(),
                count: acc.count,
                examples: acc.examples,
            });
        }
        let failed = rules.iter().any(|r| r.status == "fail");
        FileReport {
            path: path.display().to_string(),
            kind,
            rows,
            profile: if strict { "strict" } else { "lite" }.to_string(),
            result: if failed { "fail" } else { "pass" }.to_string(),
            periods: periods
                .into_iter()
                .map(|(p, (n, total))| PeriodSummary {
                    period: p.to_string(),
                    rows: n,
                    billed_total: total.to_string(),
                })
                .collect(),
            rules,
        }
    }
}

impl Positions {
    /// Header of date slot `slot`, or the column ID.
    fn header(&self, slot: usize, col: FocusColumn) -> String {
        self.dates[slot].map_or(col.id().to_string(), |i| self.headers[i].clone())
    }

    fn of(c: &Columns) -> Self {
        use FocusColumn as F;
        let p = |col| c.position(col);
        let single = |col| p(col).map(|i| vec![i]);
        let mut non_null: Vec<Vec<usize>> = [
            F::BillingAccountId,
            F::BillingCurrency,
            F::InvoiceIssuerName,
        ]
        .into_iter()
        .filter_map(single)
        .collect();
        let provider: Vec<usize> = [F::ProviderName, F::ServiceProviderName]
            .into_iter()
            .filter_map(p)
            .collect();
        if !provider.is_empty() {
            non_null.push(provider);
        }
        non_null.extend(
            [F::ServiceCategory, F::ServiceName]
                .into_iter()
                .filter_map(single),
        );
        non_null.extend(DATE_COLUMNS.into_iter().filter_map(single));
        Self {
            dates: DATE_COLUMNS.map(p),
            category: p(F::ChargeCategory),
            class: p(F::ChargeClass),
            costs: [
                F::BilledCost,
                F::EffectiveCost,
                F::ListCost,
                F::ContractedCost,
            ]
            .map(p),
            pricing_quantity: p(F::PricingQuantity),
            currency: p(F::BillingCurrency),
            service_category: p(F::ServiceCategory),
            non_null,
            headers: c.headers().to_vec(),
        }
    }
}

/// The cell as text, `None` when null.
fn text<'a>(rec: &'a dyn RecordView, i: usize) -> Option<Cow<'a, str>> {
    let cell = rec.cell(i);
    if cell.is_null() {
        return None;
    }
    cell.as_text()
}

/// S2 forms: `YYYY-MM-DDTHH:MM:SS[.f]Z` or `YYYY-MM-DD HH:MM:SS[.f]`.
fn strict_form(text: &str, d: &FocusDate) -> bool {
    let t = text.trim().as_bytes();
    match d.form {
        DateForm::Zulu => t.get(10) == Some(&b'T') && t.last() == Some(&b'Z'),
        DateForm::SpaceNaive => true,
        _ => false,
    }
}

fn is_currency_code(v: &str) -> bool {
    v.len() == 3 && v.bytes().all(|b| b.is_ascii_uppercase())
}
