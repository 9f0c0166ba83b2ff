//! Turns one record of cells into a [`FocusRow`] or a [`RejectedRecord`] (SPEC §3.4–§3.7).
//!
//! This is the per-row hot path of ingest: positions and JSON keys are worked out once per file,
//! dates repeated on consecutive rows (every row of a file usually shares its billing period) are
//! parsed once, and the only allocations are the owned strings the stored row needs.

use crate::cell::{push_json_str, Cell, RecordView};
use crate::columns::{Columns, FocusColumn};
use crate::diag::{Code, Diagnostic, LineRef};
use crate::row::{FocusRow, RejectedRecord, RowResult};
use ocb_core::amount::{parse_amount, AmountError};
use ocb_core::charge::{ChargeFields, SharedText};
use ocb_core::date::{parse_focus_date, FocusDate};
use ocb_core::fast_map::FastMap;
use ocb_core::period::Period;
use ocb_core::tags::TagsCell;
use ocb_core::Decimal;
use std::borrow::Cow;
use std::sync::Arc;

/// Per-file state for building rows.
pub(crate) struct RowBuilder {
    pos: Positions,
    headers: Vec<String>,
    /// `"header":` for every extra column, with its position.
    extra_keys: Vec<(usize, String)>,
    dates: [DateCache; 4],
    tag_cache: TagCache,
    has_tags: bool,
    /// Export directories: unified position -> position in the current part.
    perm: Option<Vec<usize>>,
}

/// A record seen through a column permutation (a directory part with another column order).
pub(crate) struct Permuted<'a> {
    pub(crate) rec: &'a dyn RecordView,
    pub(crate) perm: &'a [usize],
}

impl RecordView for Permuted<'_> {
    fn len(&self) -> usize {
        self.perm.len()
    }

    fn cell(&self, i: usize) -> Cell<'_> {
        self.rec.cell(self.perm[i])
    }
}

/// Positions of the named fields (SPEC §3.1).
#[derive(Debug, Clone, Copy)]
struct Positions {
    bps: Option<usize>,
    bpe: Option<usize>,
    cps: Option<usize>,
    cpe: Option<usize>,
    list: Option<usize>,
    contracted: Option<usize>,
    billed: Option<usize>,
    effective: Option<usize>,
    resource_id: Option<usize>,
    resource_name: Option<usize>,
    service_name: Option<usize>,
    category: Option<usize>,
    class: Option<usize>,
    description: Option<usize>,
    sku_id: Option<usize>,
    sku_price_id: Option<usize>,
    tags: Option<usize>,
}

/// Parsed `Tags` cells by their text. Real exports repeat a few thousand tag sets across millions
/// of rows (every resource, every day), so most rows skip JSON parsing. Bounded: when full it
/// starts over, so memory stays flat on files with ever-new tag sets.
#[derive(Default)]
struct TagCache {
    map: FastMap<Box<str>, (Arc<TagsCell>, Option<SharedText>)>,
}

const TAG_CACHE_ENTRIES: usize = 8192;

impl TagCache {
    fn parse(&mut self, text: &str) -> (Arc<TagsCell>, Option<SharedText>) {
        if let Some((tags, canonical)) = self.map.get(text) {
            return (Arc::clone(tags), canonical.clone());
        }
        let (tags, canonical) = crate::tags::parse_tags(text);
        let (tags, canonical) = (Arc::new(tags), canonical.map(SharedText::from));
        if self.map.len() >= TAG_CACHE_ENTRIES {
            self.map.clear();
        }
        self.map
            .insert(text.into(), (Arc::clone(&tags), canonical.clone()));
        (tags, canonical)
    }
}

/// Parsed dates of one date column by cell text. Billing-period dates repeat on every row;
/// charge-period dates cycle through the days of the period (a one-entry cache missed on nearly
/// every row of a daily file, and parsing plus canonicalising was a tenth of the reader's work).
#[derive(Default)]
struct DateCache {
    seen: ocb_core::fast_map::FastMap<Box<str>, (Option<FocusDate>, SharedText)>,
    /// The last text parsed and its result: a column often repeats its previous row's value
    /// (billing period bounds always do), and comparing ten bytes is cheaper than hashing them.
    last: Option<Option<DateValue>>,
    /// The text of `last` (a reused buffer: no allocation per row).
    last_text: String,
}

/// Distinct texts kept per column before the cache starts over (bounded memory on files whose
/// timestamps never repeat).
const DATE_CACHE_ENTRIES: usize = 4096;

/// Parsed date cell: canonical text and instant.
#[derive(Clone)]
struct DateValue {
    canonical: SharedText,
    date: FocusDate,
}

impl RowBuilder {
    pub(crate) fn new(columns: &Columns) -> Self {
        use FocusColumn as C;
        let p = |c| columns.position(c);
        let pos = Positions {
            bps: p(C::BillingPeriodStart),
            bpe: p(C::BillingPeriodEnd),
            cps: p(C::ChargePeriodStart),
            cpe: p(C::ChargePeriodEnd),
            list: p(C::ListCost),
            contracted: p(C::ContractedCost),
            billed: p(C::BilledCost),
            effective: p(C::EffectiveCost),
            resource_id: p(C::ResourceId),
            resource_name: p(C::ResourceName),
            service_name: p(C::ServiceName),
            category: p(C::ChargeCategory),
            class: p(C::ChargeClass),
            description: p(C::ChargeDescription),
            sku_id: p(C::SkuId),
            sku_price_id: p(C::SkuPriceId),
            tags: p(C::Tags),
        };
        Self {
            pos,
            headers: columns.headers().to_vec(),
            extra_keys: extra_keys(columns),
            dates: Default::default(),
            tag_cache: TagCache::default(),
            has_tags: columns.has_tags(),
            perm: None,
        }
    }

    /// Sets (or clears) the column permutation of the current directory part.
    pub(crate) fn set_permutation(&mut self, perm: Option<Vec<usize>>) {
        self.perm = perm;
    }

    fn header(&self, pos: usize) -> &str {
        &self.headers[pos]
    }

    /// Builds the result for one record whose cell count equals the header's.
    pub(crate) fn build(&mut self, line: LineRef, rec: &dyn RecordView) -> RowResult {
        match self.perm.take() {
            None => self.build_in_order(line, rec),
            Some(perm) => {
                let result = self.build_in_order(line, &Permuted { rec, perm: &perm });
                self.perm = Some(perm);
                result
            }
        }
    }

    fn build_in_order(&mut self, line: LineRef, rec: &dyn RecordView) -> RowResult {
        let mut errors = Vec::new();
        let p = self.pos;
        let bps = self.date(0, p.bps, rec, &line, Code::EPeriodStart, &mut errors);
        let bpe = self.date(1, p.bpe, rec, &line, Code::EDate, &mut errors);
        let cps = self.date(2, p.cps, rec, &line, Code::EDate, &mut errors);
        let cpe = self.date(3, p.cpe, rec, &line, Code::EDate, &mut errors);
        let billed = self.cost(p.billed, rec, &line, true, &mut errors);
        let list = self.cost(p.list, rec, &line, false, &mut errors);
        let contracted = self.cost(p.contracted, rec, &line, false, &mut errors);
        let effective = self.cost(p.effective, rec, &line, false, &mut errors);
        let (Some(bps), Some(Some(billed)), true) = (bps.as_ref(), billed, errors.is_empty())
        else {
            let period = bps.map(|d| Period::of_instant(&d.date.utc));
            return RowResult::Rejected(rejected(line, errors, rec, period));
        };
        let mut warnings = Vec::new();
        self.date_warnings(
            &line,
            [Some(bps), bpe.as_ref(), cps.as_ref(), cpe.as_ref()],
            &mut warnings,
        );
        let (tags, tags_json) = self.tags(rec, &line, &mut warnings);
        let tags_raw = match &*tags {
            TagsCell::Invalid(raw) => Some(raw.clone()),
            _ => None,
        };
        let text = |pos: Option<usize>| pos.and_then(|i| owned_text(rec.cell(i)));
        let fields = ChargeFields {
            billing_period_start: bps.canonical.clone(),
            billing_period_end: bpe.as_ref().map(|d| d.canonical.clone()),
            charge_period_start: cps.as_ref().map(|d| d.canonical.clone()),
            charge_period_end: cpe.map(|d| d.canonical),
            list_cost: list.flatten(),
            contracted_cost: contracted.flatten(),
            billed_cost: billed,
            effective_cost: effective.flatten(),
            resource_id: text(p.resource_id),
            resource_name: text(p.resource_name),
            service_name: text(p.service_name),
            charge_category: text(p.category),
            charge_class: text(p.class),
            charge_description: text(p.description),
            sku_id: text(p.sku_id),
            sku_price_id: text(p.sku_price_id),
            tags_json,
            tags_raw,
            extra_json: self.extra_json(rec),
        };
        let charge_date = cps.as_ref().unwrap_or(bps).date.date();
        RowResult::Row(FocusRow {
            line,
            period: Period::of_instant(&bps.date.utc),
            charge_date,
            fields,
            tags,
            warnings,
            raw_hash: rec.raw_hash(),
        })
    }

    /// Parses a date cell; `None` when the column is absent, the cell null, or on error (which is
    /// pushed). `slot` selects the per-column cache.
    fn date(
        &mut self,
        slot: usize,
        pos: Option<usize>,
        rec: &dyn RecordView,
        line: &LineRef,
        code: Code,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<DateValue> {
        let cell = pos.map(|i| rec.cell(i)).unwrap_or(Cell::Null);
        let column = || pos.map_or(FocusColumn::BillingPeriodStart.id(), |i| &self.headers[i]);
        if cell.is_null() {
            if code == Code::EPeriodStart {
                errors.push(Diagnostic::new(
                    line.clone(),
                    Some(column()),
                    None,
                    code,
                    "BillingPeriodStart is empty",
                ));
            }
            return None;
        }
        let parsed = match cell {
            Cell::Text(t) => self.dates[slot].parse(t),
            Cell::Instant(utc) => Some(DateValue {
                canonical: ocb_core::date::canonical_instant(&utc).into(),
                date: FocusDate {
                    utc,
                    form: ocb_core::date::DateForm::Zulu,
                },
            }),
            _ => None,
        };
        if parsed.is_none() {
            let value = cell.as_text().unwrap_or_default();
            errors.push(Diagnostic::new(
                line.clone(),
                Some(column()),
                Some(&value),
                code,
                date_reason(&value),
            ));
        }
        parsed
    }

    /// Parses a cost cell: `None` = error (pushed), `Some(None)` = null/absent.
    fn cost(
        &self,
        pos: Option<usize>,
        rec: &dyn RecordView,
        line: &LineRef,
        required: bool,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<Option<Decimal>> {
        let cell = pos.map(|i| rec.cell(i)).unwrap_or(Cell::Null);
        let column = pos.map(|i| self.header(i));
        if cell.is_null() {
            if required {
                errors.push(Diagnostic::new(
                    line.clone(),
                    Some(column.unwrap_or("BilledCost")),
                    None,
                    Code::ENumber,
                    "BilledCost is empty",
                ));
                return None;
            }
            return Some(None);
        }
        let result = match cell {
            Cell::Text(t) => parse_amount(t),
            _ => Err(AmountError::Syntax),
        };
        match result {
            Ok(d) => Some(Some(d)),
            Err(e) => {
                let value = cell.as_text().unwrap_or_default();
                errors.push(Diagnostic::new(
                    line.clone(),
                    column,
                    Some(&value),
                    Code::ENumber,
                    number_reason(&e, &value),
                ));
                None
            }
        }
    }

    fn date_warnings(
        &self,
        line: &LineRef,
        dates: [Option<&DateValue>; 4],
        warnings: &mut Vec<Diagnostic>,
    ) {
        let positions = [self.pos.bps, self.pos.bpe, self.pos.cps, self.pos.cpe];
        if let Some((d, pos)) = dates
            .iter()
            .zip(positions)
            .find_map(|(d, p)| d.filter(|d| d.date.form.converted_offset()).zip(p))
        {
            warnings.push(Diagnostic::new(
                line.clone(),
                Some(self.header(pos)),
                None,
                Code::WOffset,
                format!("non-UTC offset converted to UTC ({})", d.canonical),
            ));
        }
        if let (Some(start), Some(end)) = (dates[0], dates[1]) {
            if end.date.utc < start.date.utc {
                warnings.push(Diagnostic::new(
                    line.clone(),
                    self.pos.bpe.map(|i| self.header(i)),
                    Some(&end.canonical),
                    Code::WPeriodEnd,
                    format!(
                        "BillingPeriodEnd is before BillingPeriodStart ({})",
                        start.canonical
                    ),
                ));
            }
        }
    }

    /// The `Tags` cell and its canonical JSON.
    fn tags(
        &mut self,
        rec: &dyn RecordView,
        line: &LineRef,
        warnings: &mut Vec<Diagnostic>,
    ) -> (Arc<TagsCell>, Option<SharedText>) {
        let Some(pos) = self.pos.tags.filter(|_| self.has_tags) else {
            return (Arc::new(TagsCell::NoColumn), None);
        };
        let cell = rec.cell(pos);
        let (tags, canonical) = match cell {
            _ if cell.is_null() => (Arc::new(TagsCell::Null), None),
            Cell::Text(t) | Cell::Json(t) => self.tag_cache.parse(t),
            Cell::Map(m) => {
                let tags = TagsCell::Object(m.clone());
                let canonical = tags.canonical_json().map(SharedText::from);
                (Arc::new(tags), canonical)
            }
            other => (
                Arc::new(TagsCell::Invalid(
                    other.as_text().unwrap_or_default().into_owned(),
                )),
                None,
            ),
        };
        if let TagsCell::Invalid(raw) = &*tags {
            warnings.push(Diagnostic::new(
                line.clone(),
                Some(self.header(pos)),
                Some(raw),
                Code::WTagsInvalid,
                "Tags is not a JSON object: stored verbatim, the row has no tags",
            ));
        }
        (tags, canonical)
    }

    /// `{header: value-or-null}` for every extra column, `None` when there are none.
    fn extra_json(&self, rec: &dyn RecordView) -> Option<String> {
        if self.extra_keys.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(self.extra_keys.len() * 24);
        out.push('{');
        for (n, (pos, key)) in self.extra_keys.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(key);
            let cell = rec.cell(*pos);
            match cell {
                _ if cell.is_null() => out.push_str("null"),
                Cell::Text(t) => push_json_str(&mut out, t),
                // Nested Parquet values stay JSON (SPEC §3.6).
                Cell::Json(j) => out.push_str(j),
                Cell::Map(_) => out.push_str(&cell.as_text().unwrap_or_default()),
                other => push_json_str(&mut out, &other.as_text().unwrap_or_default()),
            }
        }
        out.push('}');
        Some(out)
    }
}

impl DateCache {
    /// Parses through the cache.
    fn parse(&mut self, text: &str) -> Option<DateValue> {
        if let Some(result) = &self.last {
            if self.last_text == text {
                return result.clone();
            }
        }
        let result = self.lookup(text);
        self.last_text.clear();
        self.last_text.push_str(text);
        self.last = Some(result.clone());
        result
    }

    /// Parses through the per-column map.
    fn lookup(&mut self, text: &str) -> Option<DateValue> {
        let value = |(parsed, canonical): &(Option<FocusDate>, SharedText)| {
            parsed.map(|date| DateValue {
                canonical: canonical.clone(),
                date,
            })
        };
        if let Some(hit) = self.seen.get(text) {
            return value(hit);
        }
        let parsed = parse_focus_date(text, true);
        let mut canonical = String::new();
        if let Some(d) = &parsed {
            push_canonical(&mut canonical, text, d);
        }
        if self.seen.len() >= DATE_CACHE_ENTRIES {
            self.seen.clear();
        }
        let entry = (parsed, SharedText::from(canonical));
        let result = value(&entry);
        self.seen.insert(text.into(), entry);
        result
    }
}

/// Appends the canonical RFC 3339 UTC form of a parsed date (same output as
/// [`FocusDate::canonical`], which the tests check): copies the text when it already is
/// canonical, else formats digits directly (no `fmt` machinery on the per-row path).
fn push_canonical(out: &mut String, text: &str, d: &FocusDate) {
    use chrono::{Datelike, Timelike};
    use ocb_core::date::DateForm;
    let b = text.as_bytes();
    match d.form {
        DateForm::DateOnly if b.len() == 10 => {
            out.push_str(text);
            out.push_str("T00:00:00Z");
            return;
        }
        DateForm::Zulu if b.len() == 20 && b[10] == b'T' && b[19] == b'Z' => {
            out.push_str(text);
            return;
        }
        _ => {}
    }
    let u = &d.utc;
    let year = u.year();
    if !(0..=9999).contains(&year) {
        out.push_str(&d.canonical());
        return;
    }
    let mut buf = [0u8; 20];
    put_digits(&mut buf[0..4], year.unsigned_abs());
    buf[4] = b'-';
    put_digits(&mut buf[5..7], u.month());
    buf[7] = b'-';
    put_digits(&mut buf[8..10], u.day());
    buf[10] = b'T';
    put_digits(&mut buf[11..13], u.hour());
    buf[13] = b':';
    put_digits(&mut buf[14..16], u.minute());
    buf[16] = b':';
    put_digits(&mut buf[17..19], u.second());
    out.push_str(std::str::from_utf8(&buf[..19]).unwrap_or_default());
    let nanos = u.nanosecond();
    if nanos != 0 {
        let mut frac = [0u8; 9];
        put_digits(&mut frac, nanos);
        let len = frac.iter().rposition(|&c| c != b'0').map_or(0, |p| p + 1);
        out.push('.');
        out.push_str(std::str::from_utf8(&frac[..len]).unwrap_or_default());
    }
    out.push('Z');
}

/// Writes `v` as zero-padded decimal digits filling `out`.
fn put_digits(out: &mut [u8], mut v: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// JSON keys for the extra columns. A repeated unknown header gets a ` (2)`, ` (3)` suffix so no
/// value is lost to a duplicate JSON key.
fn extra_keys(columns: &Columns) -> Vec<(usize, String)> {
    let mut seen: Vec<&str> = Vec::new();
    columns
        .extra_positions()
        .iter()
        .map(|&pos| {
            let name = columns.headers()[pos].as_str();
            let n = seen.iter().filter(|s| **s == name).count();
            seen.push(name);
            let key: Cow<'_, str> = if n == 0 {
                Cow::Borrowed(name)
            } else {
                Cow::Owned(format!("{name} ({})", n + 1))
            };
            let mut out = String::new();
            push_json_str(&mut out, &key);
            out.push(':');
            (pos, out)
        })
        .collect()
}

fn owned_text(cell: Cell<'_>) -> Option<String> {
    if cell.is_null() {
        return None;
    }
    cell.as_text().map(Cow::into_owned)
}

/// A rejected record with every cell as read.
pub(crate) fn rejected(
    line: LineRef,
    errors: Vec<Diagnostic>,
    rec: &dyn RecordView,
    period: Option<Period>,
) -> RejectedRecord {
    let fields = (0..rec.len())
        .map(|i| rec.cell(i).as_text().unwrap_or_default().into_owned())
        .collect();
    RejectedRecord {
        line,
        errors,
        fields,
        raw: None,
        period,
    }
}

/// Why a non-null date cell was refused.
pub(crate) fn date_reason(text: &str) -> String {
    let t = text.trim().as_bytes();
    let iso_shape = t.len() >= 10
        && t[4] == b'-'
        && t[7] == b'-'
        && t[..10]
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if iso_shape && parse_focus_date(&text.trim()[..10], false).is_none() {
        return "not a valid calendar date".into();
    }
    "not an accepted date (use YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS with optional fraction and Z or \
     ±hh:mm, YYYY-MM-DD HH:MM:SS, or M/D/YYYY)"
        .into()
}

/// Why a non-null cost cell was refused.
pub(crate) fn number_reason(err: &AmountError, text: &str) -> String {
    let decorated = text
        .chars()
        .any(|c| matches!(c, ',' | '$' | '€' | '£' | '¥'));
    match err {
        AmountError::Syntax if decorated => {
            "not a number (thousands separators and currency symbols are not allowed)".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::TextRecord;
    use rstest::rstest;
    use std::path::Path;

    const HEADER: &[&str] = &[
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "ListCost",
        "BilledCost",
        "ResourceId",
        "Tags",
        "x_Extra",
    ];

    fn build(cells: &[&str]) -> RowResult {
        let columns = Columns::recognise(Path::new("t.csv"), HEADER).expect("header");
        let mut b = RowBuilder::new(&columns);
        let text: String = cells.concat();
        let mut ends = Vec::new();
        let mut at = 0;
        for c in cells {
            at += c.len();
            ends.push(at);
        }
        b.build(
            LineRef::line(2),
            &TextRecord {
                text: &text,
                ends: &ends,
            },
        )
    }

    fn row(cells: &[&str]) -> FocusRow {
        match build(cells) {
            RowResult::Row(r) => r,
            RowResult::Rejected(r) => panic!("rejected: {:?}", r.errors),
        }
    }

    fn codes(cells: &[&str]) -> Vec<(String, Code)> {
        match build(cells) {
            RowResult::Rejected(r) => r
                .errors
                .into_iter()
                .map(|e| (e.column.unwrap_or_default(), e.code))
                .collect(),
            RowResult::Row(_) => panic!("accepted"),
        }
    }

    const GOOD: [&str; 9] = [
        "2025-01-01",
        "2025-02-01",
        "2025-01-05T10:00:00Z",
        "",
        "NULL",
        "0.00000080000",
        " 00123 ",
        r#"{"pi_email": "a@x.edu", "n": 12345}"#,
        "NA",
    ];

    #[test]
    fn good_row_is_fully_built() {
        let r = row(&GOOD);
        let f = &r.fields;
        assert_eq!(&*f.billing_period_start, "2025-01-01T00:00:00Z");
        assert_eq!(
            f.billing_period_end.as_deref(),
            Some("2025-02-01T00:00:00Z")
        );
        assert_eq!(
            f.charge_period_start.as_deref(),
            Some("2025-01-05T10:00:00Z")
        );
        assert_eq!(f.charge_period_end, None);
        assert_eq!(f.list_cost, None);
        assert_eq!(f.billed_cost.to_string(), "0.00000080000");
        assert_eq!(f.resource_id.as_deref(), Some(" 00123 "));
        assert_eq!(
            f.tags_json.as_deref(),
            Some(r#"{"pi_email":"a@x.edu","n":12345}"#)
        );
        assert_eq!(f.extra_json.as_deref(), Some(r#"{"x_Extra":"NA"}"#));
        assert_eq!(r.period.to_string(), "2025-01");
        assert_eq!(r.charge_date.to_string(), "2025-01-05");
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn offsets_period_end_and_bad_tags_warn_once_each() {
        let mut cells = GOOD;
        cells[0] = "2025-01-31T23:00:00-05:00";
        cells[1] = "2025-01-31";
        cells[2] = "2025-01-31T23:00:00-05:00";
        cells[7] = "{not json";
        let r = row(&cells);
        let got: Vec<Code> = r.warnings.iter().map(|w| w.code).collect();
        assert_eq!(
            got,
            vec![Code::WOffset, Code::WPeriodEnd, Code::WTagsInvalid]
        );
        assert_eq!(r.period.to_string(), "2025-02");
        assert_eq!(r.fields.tags_raw.as_deref(), Some("{not json"));
        assert_eq!(r.fields.tags_json, None);
        assert_eq!(*r.tags, TagsCell::Invalid("{not json".into()));
    }

    #[rstest]
    #[case(0, "", Code::EPeriodStart)]
    #[case(0, "2025-13-01", Code::EPeriodStart)]
    #[case(1, "yesterday", Code::EDate)]
    #[case(3, "2025-02-30", Code::EDate)]
    #[case(5, "", Code::ENumber)]
    #[case(5, "$1,234", Code::ENumber)]
    #[case(5, "NaN", Code::ENumber)]
    #[case(4, "12,50", Code::ENumber)]
    #[case(5, "1e28", Code::ENumber)]
    fn each_bad_cell_is_a_row_error(#[case] idx: usize, #[case] value: &str, #[case] code: Code) {
        let mut cells = GOOD;
        cells[idx] = value;
        assert_eq!(codes(&cells), vec![(HEADER[idx].to_string(), code)]);
    }

    #[test]
    fn several_problems_are_all_reported_with_values_and_reasons() {
        let mut cells = GOOD;
        cells[0] = "2025-13-01";
        cells[2] = "01-01-2025";
        cells[5] = "$1,234";
        let RowResult::Rejected(r) = build(&cells) else {
            panic!("accepted")
        };
        let got: Vec<_> = r
            .errors
            .iter()
            .map(|e| {
                (
                    e.code,
                    e.value.clone().unwrap_or_default(),
                    e.message.clone(),
                )
            })
            .collect();
        assert_eq!(got[0].0, Code::EPeriodStart);
        assert_eq!(got[0].2, "not a valid calendar date");
        assert_eq!(got[1].0, Code::EDate);
        assert!(got[1].2.starts_with("not an accepted date"));
        assert_eq!(got[2].1, "$1,234");
        assert!(got[2].2.contains("currency symbols"), "{}", got[2].2);
        assert_eq!(r.period, None);
        assert_eq!(r.fields.len(), 9);
        assert!(
            r.reason().contains("BilledCost: not a number"),
            "{}",
            r.reason()
        );
    }

    #[test]
    fn rejected_record_keeps_period_when_start_parsed() {
        let mut cells = GOOD;
        cells[5] = "abc";
        let RowResult::Rejected(r) = build(&cells) else {
            panic!("accepted")
        };
        assert_eq!(r.period.map(|p| p.to_string()).as_deref(), Some("2025-01"));
        assert_eq!(r.errors[0].message, "not a number");
    }

    #[test]
    fn us_dates_are_accepted_for_lite_files() {
        let mut cells = GOOD;
        cells[0] = "1/5/2025";
        assert_eq!(
            &*row(&cells).fields.billing_period_start,
            "2025-01-05T00:00:00Z"
        );
    }

    proptest::proptest! {
        #[test]
        fn fast_canonical_matches_core(
            secs in -2_000_000_000i64..20_000_000_000,
            nanos in proptest::prop_oneof![proptest::strategy::Just(0u32), 0u32..1_000_000_000],
            offset in -14i32 * 60..=14 * 60,
            form in 0usize..5,
        ) {
            let utc = chrono::DateTime::from_timestamp(secs, nanos).expect("in range");
            let local = utc.naive_utc() + chrono::Duration::minutes(i64::from(offset));
            let (h, m) = (offset.abs() / 60, offset.abs() % 60);
            let sign = if offset < 0 { '-' } else { '+' };
            let text = match form {
                0 => local.format("%Y-%m-%d").to_string(),
                1 => utc.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                2 => utc.format("%Y-%m-%d %H:%M:%S%.f").to_string(),
                3 => format!("{}{sign}{h:02}:{m:02}", local.format("%Y-%m-%dT%H:%M:%S%.f")),
                _ => format!(" {} ", utc.format("%Y-%m-%dT%H:%M:%S%.9fZ")),
            };
            let d = parse_focus_date(&text, true).expect("valid");
            let mut fast = String::new();
            push_canonical(&mut fast, &text, &d);
            proptest::prop_assert_eq!(fast, d.canonical());
        }
    }

    #[test]
    fn duplicate_unknown_headers_keep_both_values() {
        let columns = Columns::recognise(
            Path::new("t.csv"),
            &["BillingPeriodStart", "BilledCost", "x", "x"],
        )
        .expect("header");
        let keys: Vec<String> = extra_keys(&columns).into_iter().map(|k| k.1).collect();
        assert_eq!(keys, vec!["\"x\":", "\"x (2)\":"]);
    }

    #[test]
    fn date_cache_answers_repeats_alternations_and_errors_like_a_first_parse() {
        let mut cache = DateCache::default();
        let texts = [
            "2025-01-01",
            "2025-01-01",
            "2025-01-02T03:04:05+01:00",
            "2025-01-01",
            "2025-13-01",
            "2025-13-01",
            "2025-01-02T03:04:05+01:00",
        ];
        for text in texts {
            let cached = cache.parse(text).map(|v| (v.canonical.to_string(), v.date));
            let fresh = parse_focus_date(text, true).map(|d| (d.canonical(), d));
            assert_eq!(cached, fresh, "{text}");
        }
    }
}
