//! The import run: reader thread → bounded channel → diff and writes in one transaction.

use crate::artefacts::Artefacts;
use crate::prepare::{FirstCopy, Preparer};
use crate::report::{FailureInfo, ImportReport};
use crate::{file_name, Database, IngestError, IngestRequest, IngestSettings, Progress};
use ocb_core::charge::{Hash128, NewCharge, ReviewState};
use ocb_core::period::{Period, PeriodStatus};
use ocb_core::reimport::{decide, Decision, Matched};
use ocb_core::source::{check_source_name, ImportMode};
use ocb_core::tags::eq_ignore_case;
use ocb_focus::{Diagnostic, FileError, FocusReader, RejectedRecord, RowResult};
use ocb_store::{
    ExistingCharge, ImportHeader, ImportRecord, ImportTotals, ImportWriter, PeriodCounts,
    PreparedCharge, Store, StoredDiagnostic, Written,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, TrySendError};
use std::time::Instant;

/// Stored lists are capped; counts stay exact (SPEC §5.12).
const MAX_STORED_DIAGNOSTICS: usize = 10_000;
const BATCH: usize = 1024;

// Boxed: a charge is about half a kilobyte, and moving it by value from the channel down to the
// insert buffer cost more (four copies on each thread) than the allocation.
enum Item {
    /// A charge, its warnings, and whether its content hash is computed yet.
    Row(Box<PreparedCharge>, Vec<Diagnostic>, bool),
    Rejected(RejectedRecord),
    /// The first of identical rows, to flag at the end of the file (follows the later copy).
    FirstCopy(FirstCopy),
}

/// The charges of a batch.
fn charges(batch: &mut [Item]) -> impl Iterator<Item = &mut NewCharge> {
    batch.iter_mut().filter_map(|item| match item {
        Item::Row(c, _, _) => Some(&mut c.charge),
        Item::Rejected(_) | Item::FirstCopy(_) => None,
    })
}

/// Computes the content hashes of a batch on the reader thread.
///
/// Whichever thread has time computes a charge's content hash: the reader when its last batch
/// found the queue full (the writer is behind: an import into an empty period), otherwise the
/// consumer (a re-import or dry run, where the consumer only compares and the reader is the
/// bottleneck).
fn hash_contents(batch: &mut [Item]) {
    for item in batch {
        if let Item::Row(c, _, hashed) = item {
            c.charge.content_hash = c.charge.fields.content_hash();
            *hashed = true;
        }
    }
}

// One Target lives per import, so the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Target<'s> {
    Write(ImportWriter<'s>),
    Read(Option<&'s Store>, Option<i64>),
}

impl Target<'_> {
    fn status(&self, p: Period) -> Result<Option<PeriodStatus>, IngestError> {
        Ok(match self {
            Target::Write(w) => w.period_status(p)?,
            Target::Read(Some(s), _) => s.period_status(p)?,
            Target::Read(None, _) => None,
        })
    }

    fn existing(&self, p: Period) -> Result<Vec<ExistingCharge>, IngestError> {
        Ok(match self {
            Target::Write(w) => w.existing(p)?,
            Target::Read(Some(s), Some(id)) => s.existing_charges(*id, p)?,
            Target::Read(..) => Vec::new(),
        })
    }
}

/// The stored charges of one (source, period), sorted by identity for search: about 50 bytes
/// per charge, a third of what a hash map needs, so a million-charge re-import stays small.
/// Identities are hashes, so their leading bits are uniform: a table of bucket starts by those
/// bits narrows each search to a handful of neighbours (a plain binary search over a million
/// charges took twenty cache misses per row and bounded the re-import).
struct ExistingIndex {
    charges: Vec<ExistingCharge>,
    seen: Vec<bool>,
    /// `starts[b]..starts[b + 1]` holds the charges whose identity begins with bucket `b`.
    starts: Vec<u32>,
    bits: u32,
    /// Next free occurrence number of identities that got a new charge beside several stored.
    fresh: HashMap<Hash128, u32>,
}

/// What a row finds among the stored charges of its identity.
enum Found {
    /// This stored charge is the row's.
    Stored(ExistingCharge),
    /// None is: the row is a new charge.
    Nothing,
    /// Several charges share the identity and none has the row's content: decided once the
    /// whole file is read (see [`ExistingIndex::take`]).
    Later,
}

fn bucket(key: &Hash128, bits: u32) -> usize {
    let lead = u32::from_be_bytes([key[0], key[1], key[2], key[3]]);
    if bits == 0 {
        0
    } else {
        (lead >> (32 - bits)) as usize
    }
}

impl ExistingIndex {
    fn new(mut charges: Vec<ExistingCharge>) -> Self {
        charges.sort_unstable_by_key(|c| (c.key_hash, c.occurrence));
        let seen = vec![false; charges.len()];
        // About four charges per bucket.
        let bits = (charges.len() / 4).max(1).ilog2().min(24);
        let mut starts = vec![0u32; (1usize << bits) + 1];
        for c in &charges {
            starts[bucket(&c.key_hash, bits) + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        Self {
            charges,
            seen,
            starts,
            bits,
            fresh: HashMap::new(),
        }
    }

    /// The positions of the stored charges with identity `key`, by occurrence.
    fn group(&self, key: &Hash128) -> std::ops::Range<usize> {
        let b = bucket(key, self.bits);
        let (lo, hi) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        let bucket = &self.charges[lo..hi];
        let from = bucket.partition_point(|c| c.key_hash < *key);
        let to = bucket.partition_point(|c| c.key_hash <= *key);
        lo + from..lo + to
    }

    fn mark(&mut self, i: usize) -> Found {
        self.seen[i] = true;
        Found::Stored(self.charges[i])
    }

    /// The stored charge a row matches (SPEC §5.7).
    ///
    /// An identity with one stored charge matches by occurrence number, as rows always have.
    /// An identity with several (rows the identity columns cannot tell apart) matches by content
    /// first: the stored charge with the row's content, at the row's occurrence if it has that
    /// content, else the first one that does. So re-importing such rows in another order changes
    /// nothing and moves no review decision from one charge to another (issue 15). A row whose
    /// content none of them has waits for the end of the file ([`Self::take_next`]).
    fn take(&mut self, key: &Hash128, occurrence: u32, content: &Hash128) -> Found {
        let g = self.group(key);
        if g.len() <= 1 {
            return match g
                .clone()
                .find(|&i| self.charges[i].occurrence == occurrence)
            {
                Some(i) => self.mark(i),
                None => Found::Nothing,
            };
        }
        let same = |i: &usize| !self.seen[*i] && self.charges[*i].content_hash == *content;
        let at_occurrence = g
            .clone()
            .filter(same)
            .find(|&i| self.charges[i].occurrence == occurrence);
        match at_occurrence.or_else(|| g.clone().find(same)) {
            Some(i) => self.mark(i),
            None => Found::Later,
        }
    }

    /// For a row that waited: the first stored charge of its identity no row matched, by
    /// occurrence (so the rows left over pair with the charges left over in order).
    fn take_next(&mut self, key: &Hash128) -> Option<ExistingCharge> {
        let i = self.group(key).find(|&i| !self.seen[i])?;
        self.seen[i] = true;
        Some(self.charges[i])
    }

    /// An occurrence number no stored charge of identity `key` has, for a new charge beside
    /// them (the row's own number may belong to a charge another row matched).
    fn fresh_occurrence(&mut self, key: &Hash128) -> u32 {
        let g = self.group(key);
        let last = g
            .clone()
            .map(|i| self.charges[i].occurrence)
            .max()
            .unwrap_or(0);
        let next = self.fresh.entry(*key).or_insert(last);
        *next += 1;
        *next
    }

    /// Live charges no row matched.
    fn unmatched_live(&self) -> Vec<i64> {
        self.charges
            .iter()
            .zip(&self.seen)
            .filter(|(c, seen)| !**seen && !c.removed)
            .map(|(c, _)| c.id)
            .collect()
    }
}

struct PeriodState {
    index: ExistingIndex,
    totals: ImportTotals,
}

struct Run {
    mode: ImportMode,
    skip_invalid: bool,
    /// Keyed by period (not its text: formatting it per row was 4% of the writer thread).
    periods: BTreeMap<Period, PeriodState>,
    unknown: ImportTotals,
    refusal: Option<FailureInfo>,
    warnings: Vec<StoredDiagnostic>,
    warning_count: u64,
    errors: Vec<StoredDiagnostic>,
    error_count: u64,
    /// Rows whose stored charge is decided at the end of the file (see [`Found::Later`]). Kept
    /// in their boxes: they go on to the writer as boxes, like every row (see [`Item`]).
    #[allow(clippy::vec_box)]
    later: Vec<Box<PreparedCharge>>,
    /// First copies of identical rows, flagged once every row is written.
    first_copies: Vec<FirstCopy>,
}

fn stored(d: &Diagnostic) -> StoredDiagnostic {
    StoredDiagnostic {
        code: d.code.as_str().to_string(),
        line: d.line.to_string(),
        column: d.column.clone(),
        value: d.value.clone(),
        message: d.message.clone(),
    }
}

fn push_capped(list: &mut Vec<StoredDiagnostic>, count: &mut u64, d: StoredDiagnostic) {
    *count += 1;
    if list.len() < MAX_STORED_DIAGNOSTICS {
        list.push(d);
    }
}

impl Run {
    fn writing(&self) -> bool {
        self.refusal.is_none() && (self.error_count == 0 || self.skip_invalid)
    }

    fn period<'p>(
        &'p mut self,
        target: &mut Target<'_>,
        p: Period,
    ) -> Result<&'p mut PeriodState, IngestError> {
        if !self.periods.contains_key(&p) {
            match target.status(p)? {
                Some(PeriodStatus::Closed) => self.refuse(
                    "period_closed",
                    format!("Period {p} is closed; reopen it first"),
                ),
                Some(PeriodStatus::Finalized) => self.refuse(
                    "period_finalized",
                    format!("Period {p} is finalized and cannot accept imports"),
                ),
                Some(PeriodStatus::Open) => {}
                None => {
                    if let Target::Write(w) = target {
                        w.create_period(p)?;
                    }
                }
            }
            let index = ExistingIndex::new(target.existing(p)?);
            self.periods.insert(
                p,
                PeriodState {
                    index,
                    totals: ImportTotals::default(),
                },
            );
        }
        Ok(self.periods.get_mut(&p).expect("inserted above"))
    }

    fn refuse(&mut self, kind: &'static str, message: String) {
        if self.refusal.is_none() {
            self.refusal = Some(FailureInfo { kind, message });
        }
    }

    fn row(
        &mut self,
        target: &mut Target<'_>,
        mut prepared: Box<PreparedCharge>,
        warnings: Vec<Diagnostic>,
        hashed: bool,
    ) -> Result<(), IngestError> {
        let c = &mut prepared.charge;
        if !hashed {
            c.content_hash = c.fields.content_hash();
        }
        for w in &warnings {
            push_capped(&mut self.warnings, &mut self.warning_count, stored(w));
        }
        let state = self.period(target, c.period)?;
        let existing = match state.index.take(&c.key_hash, c.occurrence, &c.content_hash) {
            Found::Stored(e) => Some(e),
            Found::Nothing => None,
            Found::Later => {
                self.later.push(prepared);
                return Ok(());
            }
        };
        self.apply(target, prepared, existing)
    }

    /// Rows that waited for the end of the file take the stored charges of their identity that
    /// no row matched, in order; the others become new charges beside them.
    fn rows_decided_last(&mut self, target: &mut Target<'_>) -> Result<(), IngestError> {
        for mut prepared in std::mem::take(&mut self.later) {
            let c = &mut prepared.charge;
            let state = self.period(target, c.period)?;
            let existing = state.index.take_next(&c.key_hash);
            if existing.is_none() {
                c.occurrence = state.index.fresh_occurrence(&c.key_hash);
            }
            self.apply(target, prepared, existing)?;
        }
        Ok(())
    }

    /// Counts a row and writes what the re-import rules decide for it.
    fn apply(
        &mut self,
        target: &mut Target<'_>,
        mut prepared: Box<PreparedCharge>,
        existing: Option<ExistingCharge>,
    ) -> Result<(), IngestError> {
        let write = self.writing();
        let c = &mut prepared.charge;
        let matched = existing.map(|e| Matched {
            state: e.state,
            removed: e.removed,
            same_content: e.content_hash == c.content_hash,
        });
        let decision = decide(matched, &mut c.reasons);
        let t = &mut self.period(target, c.period)?.totals;
        t.rows_read += 1;
        t.total_cost += c.fields.billed_cost;
        let resulting = match &decision {
            Decision::Insert { state }
            | Decision::Restore { state }
            | Decision::Update { state, .. } => *state,
            Decision::Unchanged => existing.map_or(ReviewState::None, |e| e.state),
        };
        match decision {
            Decision::Insert { .. } | Decision::Restore { .. } => t.inserted += 1,
            Decision::Update { .. } => t.updated += 1,
            Decision::Unchanged => t.unchanged += 1,
        }
        if matches!(resulting, ReviewState::Pending | ReviewState::Rejected) {
            t.flagged_rows += 1;
            t.flagged_cost += c.fields.billed_cost;
        }
        let Target::Write(w) = target else {
            return Ok(());
        };
        if !write {
            return Ok(());
        }
        match (decision, existing) {
            (Decision::Insert { state }, _) => w.insert(prepared, state)?,
            (Decision::Restore { state }, Some(e)) => w.rewrite(&e, c, state, None)?,
            (Decision::Update { state, log }, Some(e)) => w.rewrite(&e, c, state, log)?,
            _ => {}
        }
        Ok(())
    }

    fn rejected(
        &mut self,
        target: &mut Target<'_>,
        r: &RejectedRecord,
        artefacts: &mut Artefacts,
    ) -> Result<(), IngestError> {
        artefacts.error_rows(&r.errors)?;
        if self.skip_invalid {
            artefacts.reject(r)?;
        }
        for e in &r.errors {
            push_capped(&mut self.errors, &mut self.error_count, stored(e));
        }
        if r.errors.is_empty() {
            self.error_count += 1; // a rejected record always counts as an error
        }
        let totals = match r.period {
            Some(p) => &mut self.period(target, p)?.totals,
            None => &mut self.unknown,
        };
        totals.rows_read += 1;
        totals.rejected += 1;
        Ok(())
    }

    /// Flags the first copies of identical rows `possible_duplicate` (the later copies were
    /// flagged when read). A dry run writes nothing and so cannot tell whether a first copy
    /// would change: its flagged counts include the later copies only.
    fn flag_first_copies(&mut self, target: &mut Target<'_>) -> Result<(), IngestError> {
        let (Target::Write(w), true) = (&mut *target, self.writing()) else {
            return Ok(());
        };
        for f in std::mem::take(&mut self.first_copies) {
            if w.flag_possible_duplicate(f.period, &f.key_hash, f.line, &f.message)? {
                if let Some(state) = self.periods.get_mut(&f.period) {
                    state.totals.flagged_rows += 1;
                    state.totals.flagged_cost += f.billed_cost;
                }
            }
        }
        Ok(())
    }

    /// `replace` mode: live charges of the file's periods that no row matched are removed,
    /// unless a record was rejected (it may be the new version of one of them, §5.5).
    fn removals(&mut self, target: &mut Target<'_>) -> Result<(), IngestError> {
        if self.mode != ImportMode::Replace {
            return Ok(());
        }
        let any_rejected =
            self.unknown.rejected > 0 || self.periods.values().any(|s| s.totals.rejected > 0);
        let write = self.writing();
        let mut suppressed = 0u64;
        for (p, state) in &mut self.periods {
            let ids = state.index.unmatched_live();
            if any_rejected {
                suppressed += ids.len() as u64;
                continue;
            }
            state.totals.removed += ids.len() as u64;
            if let (Target::Write(w), true) = (&mut *target, write) {
                w.remove(*p, &ids)?;
            }
        }
        if suppressed > 0 {
            let d = StoredDiagnostic {
                code: "W_REMOVALS_SUPPRESSED".into(),
                line: String::new(),
                column: None,
                value: None,
                message: format!("{suppressed} charges would have been removed; removals are suppressed because records were rejected"),
            };
            push_capped(&mut self.warnings, &mut self.warning_count, d);
        }
        Ok(())
    }

    fn totals(&self) -> (ImportTotals, Vec<PeriodCounts>) {
        let mut all = ImportTotals::default();
        let mut per: Vec<PeriodCounts> = self
            .periods
            .iter()
            .map(|(p, s)| PeriodCounts {
                period: p.to_string(),
                totals: s.totals.clone(),
            })
            .collect();
        if self.unknown.rows_read > 0 {
            per.push(PeriodCounts {
                period: "(unknown)".into(),
                totals: self.unknown.clone(),
            });
        }
        for p in &per {
            let t = &p.totals;
            all.rows_read += t.rows_read;
            all.inserted += t.inserted;
            all.updated += t.updated;
            all.unchanged += t.unchanged;
            all.rejected += t.rejected;
            all.removed += t.removed;
            all.flagged_rows += t.flagged_rows;
            all.flagged_cost += t.flagged_cost;
            all.total_cost += t.total_cost;
        }
        (all, per)
    }
}

fn canonical_source(
    db: &Database<'_>,
    settings: &IngestSettings,
    given: &str,
) -> Result<(String, Option<String>, Option<ImportMode>), IngestError> {
    let name = check_source_name(given).map_err(|e| IngestError::SourceName {
        name: given.to_string(),
        reason: e.to_string(),
    })?;
    if let Some(k) = settings
        .known_sources
        .iter()
        .find(|k| eq_ignore_case(k.name.trim(), &name))
    {
        return Ok((k.name.clone(), k.display_name.clone(), k.import_mode));
    }
    let stored = match db {
        Database::Write(s) => s.find_source(&name)?,
        Database::Read(s) => s.find_source(&name)?,
        Database::Empty => None,
    };
    Ok((stored.map(|(_, n)| n).unwrap_or(name), None, None))
}

pub(crate) fn run(
    mut db: Database<'_>,
    settings: &IngestSettings,
    req: &IngestRequest,
    progress: &mut dyn Progress,
) -> Result<ImportReport, IngestError> {
    let started = Instant::now();
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (source, display_name, source_mode) = canonical_source(&db, settings, &req.source)?;
    let mode = req.mode.or(source_mode).unwrap_or(settings.default_mode);
    let header = ImportHeader {
        uuid: uuid::Uuid::new_v4().to_string(),
        source,
        display_name,
        filename: req.filename.clone().unwrap_or_else(|| file_name(&req.path)),
        path: req
            .filename
            .is_none()
            .then(|| req.path.display().to_string()),
        mode,
        expected_period: req.expected_period,
        skip_invalid: req.skip_invalid,
    };
    let mut report = ImportReport {
        id: None,
        uuid: header.uuid.clone(),
        status: String::new(),
        dry_run: req.dry_run,
        created_at,
        actor: req.actor.name.clone(),
        channel: req.actor.channel.clone(),
        source: header.source.clone(),
        filename: header.filename.clone(),
        path: header.path.clone(),
        kind: None,
        size_bytes: None,
        sha256: None,
        mode: mode.as_str().to_string(),
        expected_period: req.expected_period.map(|p| p.to_string()),
        skip_invalid: req.skip_invalid,
        totals: ImportTotals::default(),
        periods: vec![],
        warnings: vec![],
        errors: vec![],
        error_count: 0,
        failure: None,
        rejects_path: None,
        errors_path: None,
        duration_ms: 0,
    };
    tracing::info!(event = "ingest.started", file = %header.filename, source = %header.source, dry_run = req.dry_run);
    if let Some(e) = database_as_input(&db, &req.path) {
        return file_error(db, report, &header, req, &e, started);
    }
    let reader = match FocusReader::open(&req.path) {
        Ok(r) => r,
        Err(e) => return file_error(db, report, &header, req, &e, started),
    };
    report.kind = Some(reader.kind().as_str().to_string());
    let mut artefacts = Artefacts::new(
        &settings.import_dir,
        &header.uuid,
        !req.dry_run,
        reader.columns().headers().to_vec(),
    );
    let file_warnings = reader.columns().file_warnings();
    let mut run = Run {
        mode,
        skip_invalid: req.skip_invalid,
        periods: BTreeMap::new(),
        unknown: ImportTotals::default(),
        refusal: None,
        warnings: vec![],
        warning_count: 0,
        errors: vec![],
        error_count: 0,
        later: Vec::new(),
        first_copies: Vec::new(),
    };
    for w in &file_warnings {
        push_capped(&mut run.warnings, &mut run.warning_count, stored(w));
    }
    let streamed = {
        let target = match &mut db {
            Database::Write(s) => Target::Write(s.begin_import(&req.actor, &header)?),
            Database::Read(s) => {
                let id = s.find_source(&header.source)?.map(|(id, _)| id);
                Target::Read(Some(&**s), id)
            }
            Database::Empty => Target::Read(None, None),
        };
        stream(
            target,
            reader,
            &mut run,
            &mut artefacts,
            &mut report,
            settings,
            req,
            progress,
            started,
        )
    };
    match streamed {
        Ok(Streamed::Done) => {}
        Ok(Streamed::FileError(e)) => return file_error(db, report, &header, req, &e, started),
        Err(e) => {
            artefacts.discard();
            return Err(e);
        }
    }
    if report.status == "failed" {
        if let (Database::Write(s), Some(f)) = (db, report.failure.as_ref()) {
            let failure = ocb_store::FailedImport {
                kind: f.kind,
                message: f.message.clone(),
            };
            report.id =
                Some(s.record_failed_import(&req.actor, &header, &record_of(&report), &failure)?);
        }
    }
    tracing::info!(event = "ingest.finished", file = %report.filename, status = %report.status, rows = report.totals.rows_read, duration_ms = report.duration_ms);
    Ok(report)
}

enum Streamed {
    Done,
    FileError(FileError),
}

/// Streams the rows through the diff into `target`, then commits (or rolls back) and fills the report.
#[allow(clippy::too_many_arguments)]
fn stream(
    mut target: Target<'_>,
    reader: FocusReader,
    run: &mut Run,
    artefacts: &mut Artefacts,
    report: &mut ImportReport,
    settings: &IngestSettings,
    req: &IngestRequest,
    progress: &mut dyn Progress,
    started: Instant,
) -> Result<Streamed, IngestError> {
    let (tx, rx) = sync_channel::<Vec<Item>>(8);
    let input_bytes = std::fs::metadata(&req.path).map_or(0, |m| m.len());
    // The size of a plain file, for a progress bar; a folder's own size means nothing here.
    let bar_total = if req.path.is_file() { input_bytes } else { 0 };
    // Written once per batch by the reader, read once per batch by the consumer: no lock.
    let read_bytes = AtomicU64::new(0);
    let read_bytes = &read_bytes;
    // Written charges go back to the reader thread to be freed there (see `Written`).
    let (recycle_tx, recycle_rx) = sync_channel::<Written>(16);
    let expected = req.expected_period;
    let (consumed, stats) = std::thread::scope(|scope| {
        let producer = std::thread::Builder::new()
            .name("ocb-reader".into())
            .spawn_scoped(scope, move || {
                let mut reader = reader;
                let mut prep = Preparer::new(settings, expected, input_bytes);
                let mut batch = Vec::with_capacity(BATCH);
                let mut writer_behind = false;
                while let Some(r) = reader.next_row() {
                    match r {
                        RowResult::Row(row) => {
                            let (c, w, first) = prep.prepare(row);
                            batch.push(Item::Row(c, w, false));
                            batch.extend(first.map(Item::FirstCopy));
                        }
                        RowResult::Rejected(rr) => batch.push(Item::Rejected(rr)),
                    }
                    // `>=`: a row and its first copy's notice may step over the size.
                    if batch.len() >= BATCH {
                        while let Ok(written) = recycle_rx.try_recv() {
                            drop(written);
                        }
                        prep.number(charges(&mut batch));
                        read_bytes.store(reader.bytes_read(), Ordering::Relaxed);
                        if writer_behind {
                            hash_contents(&mut batch);
                        }
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        writer_behind = match tx.try_send(full) {
                            Ok(()) => false,
                            Err(TrySendError::Full(full)) => {
                                if tx.send(full).is_err() {
                                    return reader.finish();
                                }
                                true
                            }
                            Err(TrySendError::Disconnected(_)) => return reader.finish(),
                        };
                    }
                }
                if !batch.is_empty() {
                    prep.number(charges(&mut batch));
                    let _ = tx.send(batch);
                }
                reader.finish()
            })
            .expect("the OS can start the reader thread");
        let mut consumed: Result<u64, IngestError> = Ok(0);
        for batch in rx.iter() {
            let n = batch
                .iter()
                .filter(|i| !matches!(i, Item::FirstCopy(_)))
                .count() as u64;
            let step = batch.into_iter().try_for_each(|item| match item {
                Item::Row(c, w, hashed) => run.row(&mut target, c, w, hashed),
                Item::Rejected(r) => run.rejected(&mut target, &r, artefacts),
                Item::FirstCopy(f) => {
                    run.first_copies.push(f);
                    Ok(())
                }
            });
            if let Target::Write(w) = &mut target {
                // A full recycle queue means the reader is gone or behind: free here instead.
                let _ = recycle_tx.try_send(w.take_written());
            }
            match step {
                Ok(()) => {
                    let total = consumed.as_ref().map_or(0, |t| *t) + n;
                    consumed = Ok(total);
                    progress.bytes(read_bytes.load(Ordering::Relaxed), bar_total);
                    progress.rows(total);
                }
                Err(e) => {
                    consumed = Err(e);
                    break;
                }
            }
        }
        drop(rx);
        let stats = producer.join().expect("reader thread does not panic");
        (consumed, stats)
    });
    consumed?;
    let stats = match stats {
        Ok(s) => s,
        Err(e) => {
            drop(target);
            artefacts.discard();
            return Ok(Streamed::FileError(e));
        }
    };
    report.size_bytes = Some(stats.size_bytes);
    report.sha256 = Some(stats.sha256.clone());
    run.rows_decided_last(&mut target)?;
    run.flag_first_copies(&mut target)?;
    run.removals(&mut target)?;
    if run.error_count > 0 && !req.skip_invalid {
        let records =
            run.unknown.rejected + run.periods.values().map(|p| p.totals.rejected).sum::<u64>();
        let problems = run.error_count;
        run.refusal = Some(FailureInfo {
            kind: "row_errors",
            message: format!("{records} records have errors ({problems} problems); nothing was imported (use --skip-invalid to import the valid rows)"),
        });
    }
    if run.refusal.is_some() {
        artefacts.drop_rejects();
    }
    let (rejects_path, errors_path) = artefacts.finish()?;
    let (totals, periods) = run.totals();
    report.totals = totals;
    report.periods = periods;
    report.warnings = std::mem::take(&mut run.warnings);
    report.errors = std::mem::take(&mut run.errors);
    report.error_count = run.error_count;
    report.rejects_path = rejects_path;
    report.errors_path = errors_path;
    report.failure = run.refusal.take();
    report.duration_ms = started.elapsed().as_millis() as u64;
    let failed = report.failure.is_some();
    match target {
        Target::Write(w) if !failed => {
            report.id = Some(w.commit(&record_of(report))?);
            report.status = "committed".into();
        }
        Target::Write(w) => {
            drop(w); // rolls back everything this import wrote
            report.status = "failed".into();
            // Nothing was written: the report and the stored record say so (a dry run still
            // shows what the import would have done).
            report.totals.refuse();
            report.periods.iter_mut().for_each(|p| p.totals.refuse());
        }
        Target::Read(..) => {
            report.status = if failed {
                "failed".into()
            } else {
                "dry_run".into()
            }
        }
    }
    Ok(Streamed::Done)
}

/// Refuses the database itself (or its WAL) as input, before it is opened: reading it is
/// pointless, and closing it afterwards would release the import's lock on the database.
fn database_as_input(db: &Database<'_>, path: &std::path::Path) -> Option<FileError> {
    let store = match db {
        Database::Write(s) => &**s,
        Database::Read(s) => *s,
        Database::Empty => return None,
    };
    store.is_database_file(path).then(|| {
        FileError::new(
            path,
            ocb_focus::FileErrorKind::Unreadable,
            "this is the OpenChargeback database itself, not a FOCUS file",
        )
    })
}

fn record_of(r: &ImportReport) -> ImportRecord {
    ImportRecord {
        kind: r.kind.clone(),
        size_bytes: r.size_bytes,
        sha256: r.sha256.clone(),
        totals: r.totals.clone(),
        periods: r.periods.clone(),
        warnings: r.warnings.clone(),
        errors: r.errors.clone(),
        error_count: r.error_count,
        rejects_path: r.rejects_path.clone(),
        errors_path: r.errors_path.clone(),
        duration_ms: r.duration_ms,
    }
}

fn file_error(
    db: Database<'_>,
    mut report: ImportReport,
    header: &ImportHeader,
    req: &IngestRequest,
    e: &FileError,
    started: Instant,
) -> Result<ImportReport, IngestError> {
    report.failure = Some(FailureInfo {
        kind: "file_error",
        message: e.to_string(),
    });
    report.errors = vec![StoredDiagnostic {
        code: format!("FILE_{}", e.kind.as_str().to_uppercase()),
        line: String::new(),
        column: None,
        value: None,
        message: e.to_string(),
    }];
    report.error_count = 1;
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.status = "failed".into();
    if let Database::Write(s) = db {
        let failure = ocb_store::FailedImport {
            kind: "file_error",
            message: e.to_string(),
        };
        report.id =
            Some(s.record_failed_import(&req.actor, header, &record_of(&report), &failure)?);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocb_core::charge::ChargeFields;

    #[test]
    fn reader_side_hashes_equal_the_consumers_and_are_marked() {
        let fields = ChargeFields {
            billing_period_start: "2025-01-01T00:00:00Z".into(),
            billed_cost: "12.30".parse().expect("decimal"),
            ..Default::default()
        };
        let charge = NewCharge {
            line: 2,
            period: "2025-01".parse().expect("period"),
            key_hash: fields.identity_hash(),
            content_hash: Hash128::default(),
            fields,
            occurrence: 1,
            attribution: Default::default(),
            reasons: Vec::new(),
        };
        let expected = charge.fields.content_hash();
        let mut batch = vec![Item::Row(
            Box::new(PreparedCharge::new(charge)),
            Vec::new(),
            false,
        )];
        hash_contents(&mut batch);
        let Item::Row(c, _, hashed) = &batch[0] else {
            panic!("a row")
        };
        assert!(*hashed);
        assert_eq!(c.charge.content_hash, expected);
        assert_ne!(expected, Hash128::default());
    }
}
