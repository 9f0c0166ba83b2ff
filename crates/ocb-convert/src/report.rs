//! The item buckets (charged / skipped / error, plus unmapped and warnings) and the what-if
//! report JSON (INTEGRATIONS.md §1.7, §1.8).

use crate::error::{ConvertError, ExitCode};
use crate::kind::Kind;
use crate::money::fmt2;
use crate::row::FocusLiteRow;
use ocb_core::period::Period;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A warning (never blocks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The item it concerns, if any.
    pub item: Option<String>,
    /// Code, e.g. `unknown_partition`.
    pub code: String,
    /// Sentence for people.
    pub message: String,
}

impl Warning {
    /// A warning.
    pub fn new(item: Option<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            item,
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// An item priced but not attributed (§1.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    /// Item key (account, path, VM, user …).
    pub item: String,
    /// Reason code.
    pub reason: String,
    /// Whether a row was emitted (false when its ListCost rounds to 0.00).
    pub emitted: bool,
    /// The emitted row's ResourceId.
    pub resource_id: Option<String>,
    /// Rounded list cost.
    pub list_cost: Decimal,
    /// Rounded billed cost.
    pub billed_cost: Decimal,
    /// Items behind the entry.
    pub count: u64,
    /// Detail sentence.
    pub detail: String,
}

/// An invalid record (§1.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// Item key.
    pub item: String,
    /// Input line, when the input has lines.
    pub line: Option<u64>,
    /// Code, e.g. `bad_elapsed`.
    pub code: String,
    /// Sentence for people.
    pub message: String,
}

/// A skipped-items aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipEntry {
    /// Items.
    pub count: u64,
    /// Detail of the first item.
    pub detail: String,
}

/// Where every item ended, besides "charged".
#[derive(Debug, Clone, Default)]
pub struct Buckets {
    /// Unmapped items (emitted or not).
    pub unmapped: Vec<Unmapped>,
    /// Skipped items keyed by (item, reason).
    pub skipped: BTreeMap<(String, String), SkipEntry>,
    /// Invalid records.
    pub errors: Vec<ItemError>,
    /// Warnings.
    pub warnings: Vec<Warning>,
    /// Whether invalid records become skipped entries (`--skip-invalid`).
    pub skip_invalid: bool,
}

impl Buckets {
    /// Empty buckets; `skip_invalid` routes invalid records to `skipped`.
    pub fn new(skip_invalid: bool) -> Self {
        Self {
            skip_invalid,
            ..Self::default()
        }
    }

    /// Counts `n` items skipped for `reason`.
    pub fn skip_n(&mut self, item: &str, reason: &str, n: u64, detail: impl Into<String>) {
        let e = self
            .skipped
            .entry((item.to_string(), reason.to_string()))
            .or_insert_with(|| SkipEntry {
                count: 0,
                detail: detail.into(),
            });
        e.count += n;
    }

    /// One item skipped for `reason`.
    pub fn skip(&mut self, item: &str, reason: &str, detail: impl Into<String>) {
        self.skip_n(item, reason, 1, detail);
    }

    /// An invalid record: an error, or with `--skip-invalid` a skipped `invalid_record:<code>`.
    pub fn invalid(
        &mut self,
        item: &str,
        line: Option<u64>,
        code: &str,
        message: impl Into<String>,
    ) {
        let message = message.into();
        if self.skip_invalid {
            self.skip(item, &format!("invalid_record:{code}"), message);
        } else {
            self.errors.push(ItemError {
                item: item.to_string(),
                line,
                code: code.to_string(),
                message,
            });
        }
    }

    /// A warning.
    pub fn warn(&mut self, item: Option<&str>, code: &str, message: impl Into<String>) {
        self.warnings
            .push(Warning::new(item.map(str::to_string), code, message));
    }

    /// An unmapped item whose row was emitted.
    pub fn unmapped_row(
        &mut self,
        item: &str,
        reason: &str,
        row: &FocusLiteRow,
        count: u64,
        detail: impl Into<String>,
    ) {
        self.unmapped.push(Unmapped {
            item: item.to_string(),
            reason: reason.to_string(),
            emitted: true,
            resource_id: Some(row.resource_id.clone()),
            list_cost: row.list_cost,
            billed_cost: row.billed_cost,
            count,
            detail: detail.into(),
        });
    }

    /// Applies the §1.7 zero-cost exception: an unmapped row whose ListCost is 0.00 is not
    /// emitted; it is listed with `emitted: false` and skipped `unmapped_zero_cost`.
    /// Returns the row when it should be emitted.
    pub fn unmapped(
        &mut self,
        item: &str,
        reason: &str,
        row: FocusLiteRow,
        count: u64,
        detail: impl Into<String>,
    ) -> Option<FocusLiteRow> {
        let detail = detail.into();
        // Both must be zero: a cloud credit has no list price but real money (never dropped).
        if row.list_cost.is_zero() && row.billed_cost.is_zero() {
            self.unmapped.push(Unmapped {
                item: item.to_string(),
                reason: reason.to_string(),
                emitted: false,
                resource_id: None,
                list_cost: Decimal::ZERO,
                billed_cost: Decimal::ZERO,
                count,
                detail: detail.clone(),
            });
            self.skip_n(item, "unmapped_zero_cost", count, detail);
            None
        } else {
            self.unmapped_row(item, reason, &row, count, detail);
            Some(row)
        }
    }

    /// Σ skipped counts.
    pub fn skipped_count(&self) -> u64 {
        self.skipped.values().map(|e| e.count).sum()
    }

    /// Sorts the lists by (item, reason/code) as the report requires.
    pub fn sort(&mut self) {
        self.unmapped
            .sort_by(|a, b| (&a.item, &a.reason).cmp(&(&b.item, &b.reason)));
        self.errors
            .sort_by(|a, b| (&a.item, &a.code, a.line).cmp(&(&b.item, &b.code, b.line)));
        self.warnings
            .sort_by(|a, b| (&a.item, &a.code).cmp(&(&b.item, &b.code)));
    }
}

/// The result of a conversion: rows plus everything the report and audit need.
#[derive(Debug, Clone)]
pub struct Conversion {
    /// The converter.
    pub kind: Kind,
    /// Source name.
    pub source: String,
    /// Billing period.
    pub period: Period,
    /// Output rows, sorted and unique.
    pub rows: Vec<FocusLiteRow>,
    /// Buckets.
    pub buckets: Buckets,
    /// Items read.
    pub items_read: u64,
    /// Items that contributed to a row.
    pub items_charged: u64,
    /// `metadata.<kind>` of the report.
    pub kind_meta: Option<Value>,
    /// Kind options echoed in `metadata.options`.
    pub options: Map<String, Value>,
    /// The kind's audit extras, in order.
    pub audit_extras: Vec<(String, crate::audit::AuditValue)>,
}

/// Report totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Rows.
    pub rows: usize,
    /// Σ printed ListCost.
    pub list: Decimal,
    /// Σ printed BilledCost.
    pub billed: Decimal,
}

impl Totals {
    /// list − billed.
    pub fn subsidy(&self) -> Decimal {
        self.list - self.billed
    }
}

impl Conversion {
    /// An empty conversion to fill.
    pub fn new(kind: Kind, source: &str, period: Period, skip_invalid: bool) -> Self {
        Self {
            kind,
            source: source.to_string(),
            period,
            rows: Vec::new(),
            buckets: Buckets::new(skip_invalid),
            items_read: 0,
            items_charged: 0,
            kind_meta: None,
            options: Map::new(),
            audit_extras: Vec::new(),
        }
    }

    /// Fills the kind's default FOCUS columns, sorts rows and buckets, checks uniqueness, and
    /// warns `no_records` for an empty output.
    pub fn finish(mut self) -> crate::error::Result<Self> {
        let defaults = crate::row::FocusColumns::for_kind(self.kind, &self.source);
        for row in &mut self.rows {
            row.focus = std::mem::take(&mut row.focus).or(&defaults);
        }
        crate::csv_out::finalize(&mut self.rows)?;
        check_range(&self.rows)?;
        if self.rows.is_empty() {
            self.buckets.warn(
                None,
                "no_records",
                "no rows for this period: the CSV holds only the header",
            );
        }
        self.buckets.sort();
        Ok(self)
    }

    /// Σ of the printed row values.
    pub fn totals(&self) -> Totals {
        Totals {
            rows: self.rows.len(),
            list: self.rows.iter().map(|r| r.list_cost).sum(),
            billed: self.rows.iter().map(|r| r.billed_cost).sum(),
        }
    }

    /// Whether `itemsRead = itemsCharged + Σ skipped + errors` holds.
    pub fn reconciles(&self) -> bool {
        self.items_read
            == self.items_charged + self.buckets.skipped_count() + self.buckets.errors.len() as u64
    }

    /// Exit code from the buckets: 4 for invalid records, 5 for unmapped under `--strict`.
    pub fn exit_code(&self, strict: bool) -> ExitCode {
        if !self.buckets.errors.is_empty() {
            ExitCode::Input
        } else if strict && !self.buckets.unmapped.is_empty() {
            ExitCode::Strict
        } else {
            ExitCode::Ok
        }
    }

    /// The CSV bytes.
    pub fn csv(&self) -> Vec<u8> {
        crate::csv_out::to_csv_bytes(&self.rows)
    }
}

/// Refuses a run whose output would carry an amount `ingest` rejects (a sum of in-range lines
/// can leave the range). The whole run is refused rather than the row dropped, so that no charge
/// silently goes missing; such a total (at least 100 trillion) means the input is wrong.
fn check_range(rows: &[FocusLiteRow]) -> crate::error::Result<()> {
    for row in rows {
        let amounts = [
            ("ListCost", row.list_cost),
            ("ContractedCost", row.contracted_cost),
            ("BilledCost", row.billed_cost),
            ("EffectiveCost", row.effective_cost),
        ];
        if let Some((column, value)) = amounts
            .into_iter()
            .find(|(_, v)| !ocb_core::amount::in_range(*v))
        {
            return Err(ConvertError::Input(format!(
                "the row for {} would have {column} {value}, which is {}",
                row.resource_id,
                ocb_core::amount::AmountError::Range
            )));
        }
    }
    Ok(())
}

/// A file that went into a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    /// Path as given.
    pub path: String,
    /// SHA-256 of its bytes (hex).
    pub sha256: String,
}

impl FileRef {
    /// Hashes `bytes`.
    pub fn new(path: &str, bytes: &[u8]) -> Self {
        use sha2::Digest;
        Self {
            path: path.to_string(),
            sha256: hex::encode(sha2::Sha256::digest(bytes)),
        }
    }
}

/// `convert` or `dry-run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Normal run.
    Convert,
    /// `--dry-run`.
    DryRun,
}

impl Mode {
    /// Report/audit spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Convert => "convert",
            Self::DryRun => "dry-run",
        }
    }
}

/// What the caller (CLI, web) knows about the run.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Mode.
    pub mode: Mode,
    /// Inputs.
    pub inputs: Vec<FileRef>,
    /// Config files.
    pub config_files: Vec<FileRef>,
    /// CSV path (None in dry-run).
    pub output_file: Option<String>,
    /// `--strict`.
    pub strict: bool,
    /// `--skip-invalid`.
    pub skip_invalid: bool,
    /// RFC 3339 UTC.
    pub generated_at: String,
}

fn files(list: &[FileRef]) -> Value {
    Value::Array(
        list.iter()
            .map(|f| json!({"path": f.path, "sha256": f.sha256}))
            .collect(),
    )
}

fn record(row: &FocusLiteRow) -> Value {
    let cells = row.cells();
    let mut m = Map::new();
    for (i, name) in crate::row::HEADER.iter().enumerate() {
        let v = if *name == "Tags" {
            row.tags.to_value()
        } else {
            Value::String(cells[i].clone())
        };
        m.insert((*name).to_string(), v);
    }
    m.insert("_meta".into(), Value::Object(row.meta.clone()));
    Value::Object(m)
}

/// The what-if report as a JSON value (§1.8).
pub fn report_value(conv: &Conversion, run: &RunInfo) -> Value {
    let b = &conv.buckets;
    let totals = conv.totals();
    let mut options = Map::new();
    options.insert("strict".into(), Value::Bool(run.strict));
    options.insert("skipInvalid".into(), Value::Bool(run.skip_invalid));
    options.extend(conv.options.clone());
    let mut metadata = Map::new();
    metadata.insert("schemaVersion".into(), json!(1));
    metadata.insert("converter".into(), json!(conv.kind.name()));
    metadata.insert("source".into(), json!(conv.source));
    metadata.insert("billingPeriod".into(), json!(conv.period.to_string()));
    metadata.insert("generatedAt".into(), json!(run.generated_at));
    metadata.insert("mode".into(), json!(run.mode.as_str()));
    metadata.insert("inputs".into(), files(&run.inputs));
    metadata.insert("configFiles".into(), files(&run.config_files));
    metadata.insert("options".into(), Value::Object(options));
    metadata.insert("outputFile".into(), json!(run.output_file));
    metadata.insert(
        "counts".into(),
        json!({
            "itemsRead": conv.items_read,
            "itemsCharged": conv.items_charged,
            "rowsEmitted": conv.rows.len(),
            "unmapped": b.unmapped.len(),
            "skipped": b.skipped_count(),
            "errors": b.errors.len(),
            "warnings": b.warnings.len(),
        }),
    );
    if let Some(meta) = &conv.kind_meta {
        metadata.insert(conv.kind.name().into(), meta.clone());
    }
    let unmapped: Vec<Value> = b
        .unmapped
        .iter()
        .map(|u| {
            json!({"item": u.item, "reason": u.reason, "emitted": u.emitted, "resourceId": u.resource_id,
                   "listCost": fmt2(u.list_cost), "billedCost": fmt2(u.billed_cost), "count": u.count, "detail": u.detail})
        })
        .collect();
    let skipped: Vec<Value> = b
        .skipped
        .iter()
        .map(|((item, reason), e)| json!({"item": item, "reason": reason, "count": e.count, "detail": e.detail}))
        .collect();
    let errors: Vec<Value> = b
        .errors
        .iter()
        .map(|e| json!({"item": e.item, "line": e.line, "code": e.code, "message": e.message}))
        .collect();
    let warnings: Vec<Value> = b
        .warnings
        .iter()
        .map(|w| json!({"item": w.item, "code": w.code, "message": w.message}))
        .collect();
    json!({
        "metadata": Value::Object(metadata),
        "records": conv.rows.iter().map(record).collect::<Vec<_>>(),
        "unmapped": unmapped,
        "skipped": skipped,
        "errors": errors,
        "warnings": warnings,
        "totals": {"rows": totals.rows, "listCost": fmt2(totals.list), "billedCost": fmt2(totals.billed),
                   "subsidyAmount": fmt2(totals.subsidy())},
    })
}

/// The report text: pretty-printed with 2-space indent and a final newline.
pub fn render_report(conv: &Conversion, run: &RunInfo) -> String {
    let mut s = serde_json::to_string_pretty(&report_value(conv, run))
        .expect("a JSON value always serialises");
    s.push('\n');
    s
}
