//! `validate`: checks an input against the lite and strict FOCUS rules without a database
//! (SPEC §3.8).
//!
//! [`validate_path`] streams the input once through [`FocusReader`], counting every rule's
//! violations with up to `max_examples` examples each, plus the periods found with their exact
//! billed totals. A file error fails `L1` and is reported, never raised. The report serialises
//! to the spec's `--json` shape; [`render_human`] gives the terminal form.

mod human;
mod rules;

use crate::reader::FocusReader;
use crate::row::RowResult;
use ocb_core::attribution::TagMapping;
use ocb_core::exact::ExactSum;
use ocb_core::flags::ReviewRules;
use ocb_core::period::Period;
use rules::Tally;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

pub use human::render_human;

/// Default number of examples per rule (`--max-examples`).
pub const DEFAULT_MAX_EXAMPLES: usize = 20;

/// What to check and how much to show.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// Also run the strict FOCUS conformance rules (`--strict`).
    pub strict: bool,
    /// Examples kept per rule (`--max-examples`).
    pub max_examples: usize,
    /// Tag keys for `pi_email`, `project_id`, `fund_org` (config `tag_mapping`).
    pub tag_mapping: TagMapping,
    /// Fund/org patterns (config `review.fund_org_patterns`).
    pub review: ReviewRules,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        Self {
            strict: false,
            max_examples: DEFAULT_MAX_EXAMPLES,
            tag_mapping: TagMapping::default(),
            review: ReviewRules::default(),
        }
    }
}

/// The result of validating one input (one element of `files` in `--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// The path as given.
    pub path: String,
    /// `csv`, `csv.gz`, `parquet` or `directory`.
    pub kind: String,
    /// Data records read.
    pub rows: u64,
    /// `lite` or `strict`.
    pub profile: String,
    /// `pass` or `fail`.
    pub result: String,
    /// Periods found, in order, with the rows and exact billed total of their good rows.
    pub periods: Vec<PeriodSummary>,
    /// Every rule of the profile, in table order.
    pub rules: Vec<RuleReport>,
}

/// Rows and billed total of one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodSummary {
    /// `YYYY-MM`.
    pub period: String,
    /// Good rows in the period.
    pub rows: u64,
    /// Exact sum of their `BilledCost`, as a decimal string.
    pub billed_total: String,
}

/// The outcome of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleReport {
    /// `L1`…`L6`, `S1`…`S10`, `W0`…`W6`, `W_PERIOD_END`.
    pub id: String,
    /// Short description.
    pub name: String,
    /// `pass`, `fail`, `warn`, or `skipped` when the input could not be opened and the rule
    /// never ran (only L1 runs then).
    pub status: String,
    /// Violations (rows, or columns for column rules).
    pub count: u64,
    /// The first violations.
    pub examples: Vec<Example>,
}

/// One violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Example {
    /// `line 17`, `row 5`, `part.csv:line 3`; `null` for file-level findings.
    pub line: Option<String>,
    /// Column header, when the finding concerns one column.
    pub column: Option<String>,
    /// Offending value (at most 200 characters).
    pub value: Option<String>,
    /// Why.
    pub message: String,
}

impl FileReport {
    /// True when no rule failed (warnings allowed).
    pub fn passed(&self) -> bool {
        self.result == "pass"
    }

    /// Number of failed rules.
    pub fn failed_rules(&self) -> usize {
        self.rules.iter().filter(|r| r.status == "fail").count()
    }

    /// Number of rules with warnings.
    pub fn warning_rules(&self) -> usize {
        self.rules.iter().filter(|r| r.status == "warn").count()
    }
}

/// Validates one input (file or export directory).
pub fn validate_path(path: &Path, options: &ValidateOptions) -> FileReport {
    let mut tally = Tally::new(options);
    let (kind, rows, periods) = match FocusReader::open(path) {
        Err(e) => {
            tally.unopened(&e);
            (guess_kind(path), 0, BTreeMap::new())
        }
        Ok(reader) => {
            let kind = reader.kind().as_str().to_string();
            let (rows, periods) = read_all(reader, &mut tally);
            (kind, rows, periods)
        }
    };
    tally.into_report(path, kind, rows, periods)
}

/// Rows and exact billed total per period: an `ExactSum`, because the amounts of a file may
/// sum beyond `Decimal` (issue 15: ten accepted amounts made `validate` panic).
type Periods = BTreeMap<Period, (u64, ExactSum)>;

fn read_all(mut reader: FocusReader, tally: &mut Tally<'_>) -> (u64, Periods) {
    tally.columns(reader.columns());
    let mut periods = Periods::new();
    while let Some(result) = reader.next_row() {
        reader.with_last_record(|rec| tally.strict_cells(result.line(), rec));
        match &result {
            RowResult::Row(row) => {
                let entry = periods.entry(row.period).or_default();
                entry.0 += 1;
                entry.1 += row.fields.billed_cost;
                tally.row(row);
            }
            RowResult::Rejected(bad) => tally.rejected(bad),
        }
    }
    let rows = reader.rows_read();
    if let Err(e) = reader.finish() {
        tally.file_error(&e);
    }
    (rows, periods)
}

fn guess_kind(path: &Path) -> String {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let kind = if path.is_dir() {
        "directory"
    } else if name.ends_with(".parquet") {
        "parquet"
    } else if name.ends_with(".gz") {
        "csv.gz"
    } else {
        "csv"
    };
    kind.to_string()
}

#[cfg(test)]
mod tests;
