//! Imports: the write transaction of one ingest, the import record, and reads of past imports.
//!
//! One import is one `BEGIN IMMEDIATE` transaction that commits last (SPEC §5.10): killing the
//! process at any moment leaves the database as before the import. Rows are written as they are
//! read (prepared statements, no per-row round trips beyond SQLite's in-process calls), so memory
//! stays flat; the write lock is held for the length of the import.

mod duplicates;

use crate::audit::{self, AuditEvent};
use crate::bulk_journal::BulkJournal;
use crate::busy::{Beacon, BeaconFile};
use crate::charge_insert::{
    reasons_json, Inserter, PreparedCharge, Written, CONTENT as CONTENT_OPTIONAL,
};
use crate::decimal::exact;
use crate::writeback::Writeback;
use crate::{map_busy, periods, sources, Actor, Result, Store, StoreError};
use ocb_core::charge::{Hash128, NewCharge, ReviewState};
use ocb_core::exact::ExactSum;
use ocb_core::flags::FlagReason;
use ocb_core::period::{Period, PeriodStatus};
use ocb_core::reimport::SystemReview;
use ocb_core::source::ImportMode;
use rusqlite::{params, Connection, ToSql, Transaction};

use serde::Serialize;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// What an import is, before it runs.
#[derive(Debug, Clone)]
pub struct ImportHeader {
    /// Names the artefact directory.
    pub uuid: String,
    /// Canonical source name.
    pub source: String,
    /// Display name for a source created by this import.
    pub display_name: Option<String>,
    /// Original file name.
    pub filename: String,
    /// Full path (CLI).
    pub path: Option<String>,
    /// Import mode used.
    pub mode: ImportMode,
    /// Expected period, if given.
    pub expected_period: Option<Period>,
    /// `--skip-invalid`.
    pub skip_invalid: bool,
}

/// Counters of an import or of one of its periods (SPEC §5.6).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportTotals {
    /// Data records read.
    pub rows_read: u64,
    /// New (or restored) charges.
    pub inserted: u64,
    /// Charges whose content changed.
    pub updated: u64,
    /// Rows equal to their stored charge.
    pub unchanged: u64,
    /// Records with row errors.
    pub rejected: u64,
    /// Existing charges soft-removed (not rows).
    pub removed: u64,
    /// Valid rows not imported because the file was refused (0 for a committed import), so
    /// that `rows_read = inserted + updated + unchanged + rejected + refused` always holds.
    pub refused: u64,
    /// Rows whose resulting charge is held for review (pending or rejected).
    pub flagged_rows: u64,
    /// Exact sum of their billed cost.
    pub flagged_cost: ExactSum,
    /// Exact sum of BilledCost of stored rows.
    pub total_cost: ExactSum,
}

impl ImportTotals {
    /// The figures of a refused import: nothing was written, so the rows that would have been
    /// inserted, updated or kept count as refused, and no charge was removed or flagged.
    pub fn refuse(&mut self) {
        self.refused += self.inserted + self.updated + self.unchanged;
        self.inserted = 0;
        self.updated = 0;
        self.unchanged = 0;
        self.removed = 0;
        self.flagged_rows = 0;
        self.flagged_cost = ExactSum::ZERO;
        self.total_cost = ExactSum::ZERO;
    }

    /// Totals from the seven stored counters (column order of [`counters`]).
    pub(crate) fn from_counters(
        [rows_read, inserted, updated, unchanged, rejected, removed, flagged_rows]: [u64; 7],
        flagged_cost: ExactSum,
        total_cost: ExactSum,
    ) -> Self {
        Self {
            rows_read,
            inserted,
            updated,
            unchanged,
            rejected,
            removed,
            // Not stored: only a refused import has such rows, and it stores nothing else.
            refused: rows_read.saturating_sub(inserted + updated + unchanged + rejected),
            flagged_rows,
            flagged_cost,
            total_cost,
        }
    }

    /// Whether the counts add up (`db check`).
    pub fn reconciles(&self) -> bool {
        self.rows_read
            == self.inserted + self.updated + self.unchanged + self.rejected + self.refused
    }
}

/// Counters of one period of an import (`(unknown)` for rejected records without a period).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodCounts {
    /// `YYYY-MM` or `(unknown)`.
    pub period: String,
    /// Its counters.
    #[serde(flatten)]
    pub totals: ImportTotals,
}

/// A warning or error as stored with the import.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct StoredDiagnostic {
    /// `E_…` / `W_…`.
    pub code: String,
    /// `line 17`, `row 5`, `part.csv:line 3`, or empty for file-level items.
    pub line: String,
    /// Column, if any.
    pub column: Option<String>,
    /// Offending value (truncated).
    pub value: Option<String>,
    /// Reason sentence.
    pub message: String,
}

/// The outcome figures written to the import record.
#[derive(Debug, Clone, Default)]
pub struct ImportRecord {
    /// Input kind.
    pub kind: Option<String>,
    /// Input size.
    pub size_bytes: Option<u64>,
    /// SHA-256 hex of the input.
    pub sha256: Option<String>,
    /// File totals.
    pub totals: ImportTotals,
    /// Per-period counters.
    pub periods: Vec<PeriodCounts>,
    /// Warnings.
    pub warnings: Vec<StoredDiagnostic>,
    /// Errors (at most 10,000 stored).
    pub errors: Vec<StoredDiagnostic>,
    /// Exact error count.
    pub error_count: u64,
    /// Rejects file.
    pub rejects_path: Option<String>,
    /// Error report.
    pub errors_path: Option<String>,
    /// Wall time.
    pub duration_ms: u64,
}

/// A refused import (`file_error`, `row_errors`, `period_closed`, …).
#[derive(Debug, Clone)]
pub struct FailedImport {
    /// Failure kind.
    pub kind: &'static str,
    /// Message.
    pub message: String,
}

/// A stored charge as the re-import diff needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExistingCharge {
    /// Charge id.
    pub id: i64,
    /// Identity hash.
    pub key_hash: Hash128,
    /// Occurrence number.
    pub occurrence: u32,
    /// Stored content hash.
    pub content_hash: Hash128,
    /// Review state.
    pub state: ReviewState,
    /// Soft-removed.
    pub removed: bool,
}

/// Import list row.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    /// Import id.
    pub id: i64,
    /// Artefact uuid.
    pub uuid: String,
    /// `committed` / `failed`.
    pub status: String,
    /// UTC time.
    pub created_at: String,
    /// Actor.
    pub actor: String,
    /// Channel.
    pub channel: String,
    /// Source.
    pub source: String,
    /// File name.
    pub filename: String,
    /// Mode.
    pub mode: String,
    /// Counters.
    #[serde(flatten)]
    pub totals: ImportTotals,
    /// Row error count.
    pub error_count: u64,
    /// Failure kind.
    pub failure_kind: Option<String>,
    /// Failure message.
    pub failure_message: Option<String>,
    /// Periods of the breakdown.
    pub periods: Vec<PeriodCounts>,
}

pub(crate) fn load_existing(
    conn: &Connection,
    source_id: i64,
    period: Period,
) -> Result<Vec<ExistingCharge>> {
    // Sized up front: a re-import of a million charges must not double its memory while growing.
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM charges WHERE period = ?1 AND source_id = ?2")?
        .query_row(params![period.to_string(), source_id], |r| r.get(0))?;
    let mut index = Vec::with_capacity(count as usize);
    let mut stmt = conn.prepare_cached(
        "SELECT id, key_hash, occurrence, content_hash, review_state, removed_at IS NOT NULL
         FROM charges WHERE period = ?1 AND source_id = ?2",
    )?;
    let mut rows = stmt.query(params![period.to_string(), source_id])?;
    while let Some(r) = rows.next()? {
        let key: [u8; 16] = blob16(r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?)?;
        let content: [u8; 16] = blob16(r.get_ref(3)?.as_blob().map_err(rusqlite::Error::from)?)?;
        let state_text = r.get_ref(4)?.as_str().map_err(rusqlite::Error::from)?;
        let state = ReviewState::parse(state_text)
            .ok_or_else(|| StoreError::Corrupt(format!("review state {state_text:?}")))?;
        index.push(ExistingCharge {
            id: r.get(0)?,
            key_hash: key,
            occurrence: r.get(2)?,
            content_hash: content,
            state,
            removed: r.get(5)?,
        });
    }
    Ok(index)
}

fn blob16(b: &[u8]) -> Result<[u8; 16]> {
    b.try_into()
        .map_err(|_| StoreError::Corrupt("hash is not 16 bytes".into()))
}

impl Store {
    /// The existing charges of a (source, period) for a read-only diff (dry run).
    pub fn existing_charges(&self, source_id: i64, period: Period) -> Result<Vec<ExistingCharge>> {
        load_existing(&self.conn, source_id, period)
    }

    /// Starts the write transaction of an import.
    pub fn begin_import(
        &mut self,
        actor: &Actor,
        header: &ImportHeader,
    ) -> Result<ImportWriter<'_>> {
        let started = self.now();
        // The writer creates every parent row (source, import, periods) itself inside this
        // transaction, so the per-row foreign-key probes (four B-tree lookups per charge, 8% of
        // the writer's work) prove nothing here; `db check` still runs `foreign_key_check`.
        // The pragma only takes effect outside a transaction, hence before BEGIN; the guard
        // turns checks back on after the transaction ends, however it ends.
        let fk_guard = ForeignKeysOff::new(&self.conn)?;
        let solo = self.solo_imports && self.path.as_os_str() != ":memory:";
        let journal = BulkJournal::enter(&self.conn, solo, &self.waiting);
        let tx = Transaction::new_unchecked(&self.conn, rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let source_id = match sources::find_id(&tx, &header.source)? {
            Some((id, _)) => id,
            None => sources::create(
                &tx,
                &started,
                actor,
                &header.source,
                header.display_name.as_deref(),
                "file",
                "import",
            )?,
        };
        let import_id = insert_import_row(&tx, header, actor, &started, Some(source_id), None)?;
        let beacon = Beacon {
            import_id,
            uuid: header.uuid.clone(),
            source: header.source.clone(),
            filename: header.filename.clone(),
            pid: std::process::id(),
            started_at: started.clone(),
        };
        Ok(ImportWriter {
            beacon: BeaconFile::publish(&self.path, &beacon),
            tx,
            import_id,
            source_id,
            at: started,
            actor: actor.clone(),
            touched: BTreeSet::new(),
            header: header.clone(),
            last_period: None,
            inserter: Inserter::new(&self.conn),
            _fk_guard: fk_guard,
            _journal: journal,
            _writeback: Writeback::start(&self.path),
        })
    }

    /// Records a refused import in its own transaction (no charges, no source creation).
    pub fn record_failed_import(
        &mut self,
        actor: &Actor,
        header: &ImportHeader,
        record: &ImportRecord,
        failure: &FailedImport,
    ) -> Result<i64> {
        let at = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let source_id = sources::find_id(&tx, &header.source)?.map(|(id, _)| id);
        let id = insert_import_row(&tx, header, actor, &at, source_id, Some(failure))?;
        write_record(&tx, id, record)?;
        audit::insert(
            &tx,
            &at,
            actor,
            &AuditEvent {
                event: "import.failed",
                target_type: Some("import"),
                target_id: Some(id.to_string()),
                period: header.expected_period.map(|p| p.to_string()),
                details: json!({"import_id": id, "filename": header.filename, "source": header.source, "mode": header.mode.as_str(),
                                "failure": failure.kind, "message": failure.message, "rows_read": record.totals.rows_read,
                                "rejected": record.totals.rejected}),
            },
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Imports, newest first.
    pub fn list_imports(&self, limit: usize) -> Result<Vec<ImportSummary>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, uuid, status, created_at, actor, channel, source, filename, mode, rows_read, inserted, updated,
                    unchanged, rejected, removed, flagged_rows, flagged_cost, total_cost, error_count, failure_kind, failure_message
             FROM imports ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                Ok((
                    ImportSummary {
                        id: r.get(0)?,
                        uuid: r.get(1)?,
                        status: r.get(2)?,
                        created_at: r.get(3)?,
                        actor: r.get(4)?,
                        channel: r.get(5)?,
                        source: r.get(6)?,
                        filename: r.get(7)?,
                        mode: r.get(8)?,
                        totals: ImportTotals::default(),
                        error_count: r.get::<_, i64>(18)? as u64,
                        failure_kind: r.get(19)?,
                        failure_message: r.get(20)?,
                        periods: vec![],
                    },
                    totals_from(r, 9)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (mut summary, raw) in rows {
            summary.totals = raw.into_totals()?;
            summary.periods = self.import_periods(summary.id)?;
            out.push(summary);
        }
        Ok(out)
    }

    fn import_periods(&self, import_id: i64) -> Result<Vec<PeriodCounts>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT period, rows_read, inserted, updated, unchanged, rejected, removed, flagged_rows, flagged_cost, total_cost
             FROM import_periods WHERE import_id = ?1 ORDER BY period",
        )?;
        let rows = stmt
            .query_map([import_id], |r| {
                Ok((r.get::<_, String>(0)?, totals_from(r, 1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(period, raw)| {
                Ok(PeriodCounts {
                    period,
                    totals: raw.into_totals()?,
                })
            })
            .collect()
    }

    /// Ids of imports whose artefact directory may exist, by uuid (for startup clean-up).
    pub fn import_uuids(&self) -> Result<BTreeSet<String>> {
        let mut stmt = self.conn.prepare("SELECT uuid FROM imports")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

struct RawTotals([i64; 7], String, String);

impl RawTotals {
    fn into_totals(self) -> Result<ImportTotals> {
        Ok(ImportTotals::from_counters(
            self.0.map(|v| v as u64),
            exact(&self.1)?,
            exact(&self.2)?,
        ))
    }
}

fn totals_from(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<RawTotals> {
    let mut n = [0i64; 7];
    for (i, slot) in n.iter_mut().enumerate() {
        *slot = r.get(at + i)?;
    }
    Ok(RawTotals(n, r.get(at + 7)?, r.get(at + 8)?))
}

/// The import row, `committed` while its transaction runs, or `failed` with the failure.
pub(crate) fn insert_import_row(
    conn: &Connection,
    header: &ImportHeader,
    actor: &Actor,
    at: &str,
    source_id: Option<i64>,
    failure: Option<&FailedImport>,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO imports (uuid, status, created_at, actor, channel, source, source_id, filename, path, mode,
                              expected_period, skip_invalid, failure_kind, failure_message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            header.uuid,
            if failure.is_some() { "failed" } else { "committed" },
            at,
            actor.name,
            actor.channel,
            header.source,
            source_id,
            header.filename,
            header.path,
            header.mode.as_str(),
            header.expected_period.map(|p| p.to_string()),
            header.skip_invalid,
            failure.map(|f| f.kind),
            failure.map(|f| f.message.as_str())
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The seven row counters in column order: rows_read, inserted, updated, unchanged, rejected,
/// removed, flagged_rows (the import row and each period row store them alike).
fn counters(t: &ImportTotals) -> [i64; 7] {
    [
        t.rows_read,
        t.inserted,
        t.updated,
        t.unchanged,
        t.rejected,
        t.removed,
        t.flagged_rows,
    ]
    .map(|v| v as i64)
}

pub(crate) fn write_record(conn: &Connection, import_id: i64, rec: &ImportRecord) -> Result<()> {
    let t = &rec.totals;
    let c = counters(t);
    conn.execute(
        "UPDATE imports SET kind = ?2, size_bytes = ?3, sha256 = ?4, rows_read = ?5, inserted = ?6, updated = ?7,
                unchanged = ?8, rejected = ?9, removed = ?10, flagged_rows = ?11, flagged_cost = ?12, total_cost = ?13,
                warnings = ?14, errors = ?15, error_count = ?16, rejects_path = ?17, errors_path = ?18, duration_ms = ?19
         WHERE id = ?1",
        params![
            import_id,
            rec.kind,
            rec.size_bytes.map(|v| v as i64),
            rec.sha256,
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            c[6],
            t.flagged_cost.to_string(),
            t.total_cost.to_string(),
            serde_json::to_string(&rec.warnings).expect("diagnostics serialise"),
            serde_json::to_string(&rec.errors).expect("diagnostics serialise"),
            rec.error_count as i64,
            rec.rejects_path,
            rec.errors_path,
            rec.duration_ms as i64
        ],
    )?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO import_periods (import_id, period, rows_read, inserted, updated, unchanged, rejected, removed,
                                     flagged_rows, flagged_cost, total_cost)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for p in &rec.periods {
        let t = &p.totals;
        let [r, i, u, n, j, m, f] = counters(t);
        stmt.execute(params![
            import_id,
            p.period,
            r,
            i,
            u,
            n,
            j,
            m,
            f,
            t.flagged_cost.to_string(),
            t.total_cost.to_string()
        ])?;
    }
    Ok(())
}

/// The open write transaction of one import. Dropping it without [`ImportWriter::commit`] rolls
/// everything back.
pub struct ImportWriter<'a> {
    // Before `tx`: removed while this import still holds the write lock, so it never removes
    // the beacon of the writer after it.
    beacon: Option<BeaconFile>,
    tx: Transaction<'a>,
    import_id: i64,
    source_id: i64,
    at: String,
    actor: Actor,
    touched: BTreeSet<String>,
    header: ImportHeader,
    last_period: Option<Period>,
    inserter: Inserter<'a>,
    // Declared after `tx`: fields drop in order, so checks come back on once the transaction
    // has committed or rolled back.
    _fk_guard: ForeignKeysOff<'a>,
    // After `tx`: WAL mode comes back once the transaction has ended.
    _journal: BulkJournal<'a>,
    // Also after `tx`: it keeps writing back through the commit (and a WAL checkpoint).
    _writeback: Option<Writeback>,
}

/// Foreign-key enforcement off for one import transaction (see [`Store::begin_import`]).
pub(crate) struct ForeignKeysOff<'a>(&'a Connection);

impl<'a> ForeignKeysOff<'a> {
    pub(crate) fn new(conn: &'a Connection) -> Result<Self> {
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        Ok(Self(conn))
    }
}

impl Drop for ForeignKeysOff<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.pragma_update(None, "foreign_keys", "ON") {
            tracing::error!(event = "db.error", error = %e, "could not re-enable foreign keys");
        }
    }
}

/// The content columns as stored: `tags` inline (charges before schema v5, rewritten charges)
/// or through the charge's tag set.
const CONTENT_COLUMNS: &str = "billing_period_start, billing_period_end, charge_period_start, charge_period_end,
    list_cost, contracted_cost, billed_cost, effective_cost, resource_id, resource_name, service_name,
    charge_category, charge_class, charge_description, sku_id, sku_price_id,
    coalesce(tags, (SELECT t.tags FROM tag_sets t WHERE t.id = charges.tag_set_id)), tags_raw, extra,
    pi_email, project_id, fund_org, cost_center, account_code, reference_1, reference_2, pi_name, end_date,
    reconciliation_end";

/// Names of the content columns, in bind order (for history diffs).
pub(crate) const CONTENT_NAMES: &[&str] = CONTENT_OPTIONAL;

pub(crate) fn content_values(c: &NewCharge) -> [Option<String>; 29] {
    let f = &c.fields;
    let a = &c.attribution;
    let d = |v: Option<ocb_core::Decimal>| v.map(|d| d.to_string());
    [
        Some(f.billing_period_start.to_string()),
        f.billing_period_end.as_deref().map(str::to_owned),
        f.charge_period_start.as_deref().map(str::to_owned),
        f.charge_period_end.as_deref().map(str::to_owned),
        d(f.list_cost),
        d(f.contracted_cost),
        Some(f.billed_cost.to_string()),
        d(f.effective_cost),
        f.resource_id.clone(),
        f.resource_name.clone(),
        f.service_name.clone(),
        f.charge_category.clone(),
        f.charge_class.clone(),
        f.charge_description.clone(),
        f.sku_id.clone(),
        f.sku_price_id.clone(),
        f.tags_json.as_deref().map(str::to_owned),
        f.tags_raw.clone(),
        f.extra_json.clone(),
        a.pi_email.clone(),
        a.project_id.clone(),
        a.fund_org.clone(),
        a.cost_center.clone(),
        a.account_code.clone(),
        a.reference_1.clone(),
        a.reference_2.clone(),
        a.pi_name.clone(),
        a.end_date.map(|d| d.to_string()),
        a.reconciliation_end.map(|d| d.to_string()),
    ]
}

/// A rewritten charge keeps its tags inline (`tag_set_id` cleared): rewrites are rare.
fn update_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let sets = CONTENT_NAMES.iter().enumerate().map(|(i, n)| format!("{n} = ?{}", i + 10)).collect::<Vec<_>>().join(", ");
        format!(
            "UPDATE charges SET content_hash = ?2, import_id = ?3, line = ?4, flag_reasons = ?5, review_state = ?6,
                    removed_at = NULL, removed_by_import = NULL,
                    reviewed_by = CASE WHEN ?7 THEN NULL ELSE reviewed_by END,
                    reviewed_at = CASE WHEN ?7 THEN NULL ELSE reviewed_at END,
                    review_note = CASE WHEN ?7 THEN NULL ELSE review_note END,
                    occurrence = ?8, key_hash = ?9, tag_set_id = NULL, {sets}
             WHERE id = ?1"
        )
    })
}

impl ImportWriter<'_> {
    /// The import's id.
    pub fn import_id(&self) -> i64 {
        self.import_id
    }

    /// The source's id (created in this transaction when new).
    pub fn source_id(&self) -> i64 {
        self.source_id
    }

    /// Period status as seen inside the write transaction (the re-check of SPEC §5.9).
    pub fn period_status(&self, period: Period) -> Result<Option<PeriodStatus>> {
        periods::status_of(&self.tx, period)
    }

    /// Creates an absent period as `open` (audit `period.created` via import).
    pub fn create_period(&mut self, period: Period) -> Result<()> {
        periods::create(&self.tx, &self.at, &self.actor, period, "import", None)
    }

    /// Existing charges of this source in a period.
    pub fn existing(&self, period: Period) -> Result<Vec<ExistingCharge>> {
        load_existing(&self.tx, self.source_id, period)
    }

    /// Stores a new charge (buffered; see [`crate::charge_insert`]).
    pub fn insert(&mut self, c: impl Into<Box<PreparedCharge>>, state: ReviewState) -> Result<()> {
        let c = c.into();
        let period = c.charge.period;
        if self.last_period != Some(period) {
            self.last_period = Some(period);
            self.touched.insert(period.to_string());
        }
        self.inserter
            .push((self.source_id, self.import_id), c, state)
    }

    /// Charges written since the last call, to be freed by the thread that made them.
    pub fn take_written(&mut self) -> Written {
        self.inserter.take_written()
    }

    /// Writes the buffered charges.
    fn flush(&mut self) -> Result<()> {
        self.inserter.flush((self.source_id, self.import_id))
    }

    /// Rewrites a matched charge with new content (update or restore), writing history and review log.
    pub fn rewrite(
        &mut self,
        existing: &ExistingCharge,
        c: &NewCharge,
        state: ReviewState,
        log: Option<SystemReview>,
    ) -> Result<()> {
        let period = c.period.to_string();
        self.touched.insert(period.clone());
        let new_values = content_values(c);
        let old = self.old_content(existing.id)?;
        let changed: serde_json::Map<String, serde_json::Value> = CONTENT_NAMES
            .iter()
            .zip(old.iter().zip(new_values.iter()))
            .filter(|(_, (o, n))| o != n)
            .map(|(name, (o, n))| ((*name).to_string(), json!({"old": o, "new": n})))
            .collect();
        let clears_review = existing.removed || existing.state != state;
        let mut stmt = self.tx.prepare_cached(update_sql())?;
        let reasons = reasons_json(&c.reasons);
        let head: [&dyn ToSql; 9] = [
            &existing.id,
            &&c.content_hash[..],
            &self.import_id,
            &(c.line as i64),
            &reasons,
            &state.as_str(),
            &clears_review,
            &c.occurrence,
            &&c.key_hash[..],
        ];
        let all: Vec<&dyn ToSql> = head
            .into_iter()
            .chain(new_values.iter().map(|v| v as &dyn ToSql))
            .collect();
        stmt.execute(all.as_slice())?;
        let kind = if existing.removed {
            "restored_by_import"
        } else {
            "updated"
        };
        let details = json!({
            "changed": changed,
            "review_state": {"old": existing.state.as_str(), "new": state.as_str()},
            "reasons": c.reasons.iter().map(FlagReason::as_string).collect::<Vec<_>>(),
            "message": format!("{} by import {}", if existing.removed { "restored" } else { "updated" }, self.import_id),
        });
        self.event(existing.id, kind, details)?;
        if let Some(action) = log {
            self.review_log(existing.id, &period, c, action)?;
        }
        Ok(())
    }

    fn old_content(&self, id: i64) -> Result<Vec<Option<String>>> {
        static SQL: OnceLock<String> = OnceLock::new();
        let mut stmt = self.tx.prepare_cached(
            SQL.get_or_init(|| format!("SELECT {CONTENT_COLUMNS} FROM charges WHERE id = ?1")),
        )?;
        Ok(stmt.query_row([id], |r| {
            (0..CONTENT_NAMES.len())
                .map(|i| r.get::<_, Option<String>>(i))
                .collect::<rusqlite::Result<Vec<_>>>()
        })?)
    }

    fn event(&self, charge_id: i64, kind: &str, details: serde_json::Value) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO charge_events (charge_id, occurred_at, kind, import_id, actor, channel, details)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![charge_id, self.at, kind, self.import_id, self.actor.name, self.actor.channel, details.to_string()])?;
        Ok(())
    }

    fn review_log(
        &self,
        charge_id: i64,
        period: &str,
        c: &NewCharge,
        action: SystemReview,
    ) -> Result<()> {
        let reasons = serde_json::to_string(
            &c.reasons
                .iter()
                .map(FlagReason::as_string)
                .collect::<Vec<_>>(),
        )
        .expect("strings serialise");
        self.tx
            .prepare_cached(
                "INSERT INTO review_log (occurred_at, period, charge_id, action, actor, channel, pi_email, resource_id, service, amount, reasons, note)
                 VALUES (?1, ?2, ?3, ?4, 'system', ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                self.at,
                period,
                charge_id,
                action.as_str(),
                self.actor.channel,
                c.attribution.pi_email,
                c.fields.resource_id,
                c.fields.service_name,
                c.fields.billed_cost.to_string(),
                reasons,
                format!("import {}", self.import_id)
            ])?;
        Ok(())
    }

    /// Soft-removes live charges no row matched (`replace` mode).
    pub fn remove(&mut self, period: Period, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.touched.insert(period.to_string());
        let mut stmt = self.tx.prepare_cached(
            "UPDATE charges SET removed_at = ?2, removed_by_import = ?3 WHERE id = ?1",
        )?;
        for id in ids {
            stmt.execute(params![id, self.at, self.import_id])?;
        }
        drop(stmt);
        for id in ids {
            self.event(
                *id,
                "removed",
                json!({"message": format!("removed by import {}", self.import_id)}),
            )?;
        }
        Ok(())
    }

    /// Writes the import record, advances the change counters, audits, and commits.
    pub fn commit(mut self, record: &ImportRecord) -> Result<i64> {
        self.flush()?;
        write_record(&self.tx, self.import_id, record)?;
        for p in &self.touched {
            periods::bump_counter(&self.tx, p)?;
        }
        let t = &record.totals;
        audit::insert(
            &self.tx,
            &self.at,
            &self.actor,
            &AuditEvent {
                event: "import.completed",
                target_type: Some("import"),
                target_id: Some(self.import_id.to_string()),
                period: self
                    .header
                    .expected_period
                    .map(|p| p.to_string())
                    .or_else(|| record.periods.first().map(|p| p.period.clone())),
                details: json!({
                    "import_id": self.import_id, "filename": self.header.filename, "source": self.header.source,
                    "mode": self.header.mode.as_str(),
                    "periods": record.periods.iter().map(|p| p.period.clone()).collect::<Vec<_>>(),
                    "rows_read": t.rows_read, "inserted": t.inserted, "updated": t.updated, "unchanged": t.unchanged,
                    "removed": t.removed, "rejected": t.rejected, "flagged_count": t.flagged_rows,
                    "flagged_cost": t.flagged_cost.to_string(), "total_cost": t.total_cost.to_string(),
                }),
            },
        )?;
        self.beacon = None;
        self.tx.commit().map_err(map_busy)?;
        Ok(self.import_id)
    }
}
