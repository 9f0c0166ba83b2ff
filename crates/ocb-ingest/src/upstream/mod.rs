//! `db import-upstream`: a Python OpenChargeback database brought into ours (issue 17).
//!
//! Everything is written in ONE transaction of the destination (`ocb_store::upstream`), so a
//! failed or killed run leaves it as it was; statement PDFs still on disk are staged in
//! `pdf_dir` first and published after the commit (`ocb_publish`). Charges are mapped to what
//! our ingest would store for the same FOCUS row (`charges.rs`), so the identity keys match and
//! re-ingesting the original files changes nothing.

mod charges;
mod history;
mod pdfs;
mod report;
mod time;

pub use report::{Loss, PreciseAmount, UpstreamReport};

use crate::{IngestError, IngestSettings};
use charges::ChargeMapper;
use ocb_core::charge::ReviewState;
use ocb_core::exact::ExactSum;
use ocb_core::period::Period;
use ocb_core::source::ImportMode;
use ocb_store::upstream::{UpstreamCharge, UpstreamDb, UpstreamWriter, IMPORT_KIND};
use ocb_store::{Actor, ImportHeader, ImportRecord, ImportTotals, PeriodCounts, Store, StoreError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

/// How to import.
#[derive(Debug, Clone)]
pub struct UpstreamOptions {
    /// Allow a destination that already holds data (periods present in both are left alone).
    pub merge: bool,
    /// Where our statement PDFs live (`output.pdf_dir`).
    pub pdf_dir: PathBuf,
}

/// What the import knows about the destination while it runs.
struct Maps {
    /// Upstream source id → (our id, our spelling).
    sources: HashMap<i64, (i64, String)>,
    /// Upstream period id → period, for the periods brought over.
    periods: HashMap<i64, Period>,
    /// Upstream period id → period, for every valid period of the file (merge skips some).
    all_periods: HashMap<i64, (Period, String)>,
    /// Upstream charge id → ours, for charges a review log row names.
    charge_ids: HashMap<i64, i64>,
}

/// Brings the Python database `src` into `store` (see the module documentation).
pub fn import_upstream(
    store: &mut Store,
    src: &UpstreamDb,
    settings: &IngestSettings,
    opts: &UpstreamOptions,
    actor: &Actor,
) -> Result<UpstreamReport, IngestError> {
    let started = Instant::now();
    if !opts.merge && !store.is_empty_for_upstream()? {
        return Err(StoreError::Refused(format!(
            "{} already holds OpenChargeback data; importing into it would mix two histories (periods, charges and statements of both). Point database.path at a new file, or pass --merge to add the upstream periods that are not there yet (periods present in both are left as they are)",
            store.path().display()
        ))
        .into());
    }
    let rules = store.apply_review_overrides(&settings.rules)?;
    let mut report = UpstreamReport {
        source: src.path().display().to_string(),
        schema_version: src.version(),
        ..Default::default()
    };
    let statements = src.statements()?;
    // With --merge, periods already here are left alone: their statements are not staged.
    let existing: HashSet<String> = store
        .list_periods()?
        .into_iter()
        .map(|p| p.period)
        .collect();
    let staged = pdfs::stage(src, &statements, &opts.pdf_dir, &existing, &mut report)?;
    let mut w = store.begin_upstream(actor)?;
    let mut maps = history::sources_and_periods(&mut w, src, settings, opts.merge, &mut report)?;
    let mut mapper = ChargeMapper::new(settings, rules);
    import_charges(&mut w, src, &mut maps, &mut mapper, &mut report)?;
    history::rest(&mut w, src, &maps, &statements, &staged, &mut report)?;
    history::standing_notes(src, &mapper, &mut report);
    let details = serde_json::json!({
        "source": report.source, "schema_version": report.schema_version,
        "counts": w.counts(), "not_brought_over": report.not_brought_over,
    });
    let counts = w.commit(&staged.publications(), details)?;
    report.brought_over = counts.0;
    staged.publish(store, &mut report);
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The per-source import record of the charges being written.
struct SourceImport {
    import_id: i64,
    source_id: i64,
    totals: ImportTotals,
    periods: BTreeMap<Period, ImportTotals>,
}

fn count(t: &mut ImportTotals, c: &ocb_store::upstream::ImportedCharge) {
    let billed = c.charge.charge.fields.billed_cost;
    t.rows_read += 1;
    t.inserted += 1;
    t.total_cost += billed;
    if matches!(c.state, ReviewState::Pending | ReviewState::Rejected) {
        t.flagged_rows += 1;
        t.flagged_cost += billed;
    }
}

fn header(name: &str, src: &UpstreamDb) -> ImportHeader {
    ImportHeader {
        uuid: uuid::Uuid::new_v4().to_string(),
        source: name.to_string(),
        display_name: None,
        filename: crate::file_name(src.path()),
        path: Some(src.path().display().to_string()),
        mode: ImportMode::Replace,
        expected_period: None,
        skip_invalid: false,
    }
}

/// A charge mapped on the reader thread, on its way to the writer.
struct Mapped {
    imported: ocb_store::upstream::ImportedCharge,
    upstream_id: i64,
    review_reason: Option<String>,
    source: (i64, String),
    /// Named by a review log row: written one by one to learn its id.
    logged: bool,
}

/// Charges per message between the threads.
const BATCH: usize = 1024;

/// Every charge, streamed from the file into the batched inserts: a second connection to the
/// Python file reads and maps on its own thread while this one writes (as ingest splits its
/// reader and writer), joined by a bounded channel so memory stays flat.
fn import_charges(
    w: &mut UpstreamWriter<'_>,
    src: &UpstreamDb,
    maps: &mut Maps,
    mapper: &mut ChargeMapper<'_>,
    report: &mut UpstreamReport,
) -> Result<(), IngestError> {
    let logged: HashSet<i64> = src.review_logs()?.iter().map(|r| r.charge_id).collect();
    let Maps {
        sources,
        periods,
        all_periods,
        charge_ids,
    } = maps;
    let lookups = Lookups {
        sources,
        periods,
        all_periods,
        logged: &logged,
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Mapped>>(8);
    let path = src.path().to_path_buf();
    let mut imports: HashMap<i64, SourceImport> = HashMap::new();
    let read = std::thread::scope(|scope| {
        let reader = scope.spawn(|| read_and_map(&path, &lookups, mapper, tx));
        let mut written: Result<(), IngestError> = Ok(());
        for batch in rx {
            for m in batch {
                if written.is_ok() {
                    written = write_one(w, src, charge_ids, &mut imports, m);
                }
            }
        }
        let read = reader.join().unwrap_or_else(|_| {
            Err(StoreError::Corrupt("the reader thread panicked".into()).into())
        });
        written.and(read)
    })?;
    merge(report, read);
    let mut total = 0;
    for si in imports.into_values() {
        total += si.totals.rows_read;
        let record = ImportRecord {
            kind: Some(IMPORT_KIND.into()),
            totals: si.totals,
            periods: si
                .periods
                .into_iter()
                .map(|(p, totals)| PeriodCounts {
                    period: p.to_string(),
                    totals,
                })
                .collect(),
            ..Default::default()
        };
        w.finish_charges(si.import_id, si.source_id, &record)?;
    }
    w.count("charges", total);
    Ok(())
}

/// What the reader thread looks charges up in.
struct Lookups<'m> {
    sources: &'m HashMap<i64, (i64, String)>,
    periods: &'m HashMap<i64, Period>,
    all_periods: &'m HashMap<i64, (Period, String)>,
    logged: &'m HashSet<i64>,
}

/// The reader thread: maps every charge; returns its own report of losses and amounts.
fn read_and_map(
    path: &std::path::Path,
    l: &Lookups<'_>,
    mapper: &mut ChargeMapper<'_>,
    tx: std::sync::mpsc::SyncSender<Vec<Mapped>>,
) -> Result<UpstreamReport, IngestError> {
    let db = UpstreamDb::open(path)?;
    let mut report = UpstreamReport::default();
    let mut batch = Vec::with_capacity(BATCH);
    db.for_each_charge(|c| {
        if let Some(m) = map_one(l, mapper, &mut report, c) {
            batch.push(m);
        }
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            // A closed channel means the writer failed; its error is the one reported.
            let _ = tx.send(full);
        }
        Ok(())
    })?;
    let _ = tx.send(batch);
    Ok(report)
}

fn map_one(
    l: &Lookups<'_>,
    mapper: &mut ChargeMapper<'_>,
    report: &mut UpstreamReport,
    c: UpstreamCharge,
) -> Option<Mapped> {
    let Some(&period) = l.periods.get(&c.period_id) else {
        let why = match l.all_periods.contains_key(&c.period_id) {
            true => "their period already exists in the destination (--merge leaves it as it is)",
            false => "their billing period is missing from the file or is not a valid YYYY-MM",
        };
        report.lose("charges", 1, why);
        return None;
    };
    let Some(source) = l.sources.get(&c.source_id).cloned() else {
        report.lose("charges", 1, "their source is missing from the file");
        return None;
    };
    match mapper.map(&c, source.0, period, report) {
        Ok(imported) => Some(Mapped {
            imported,
            upstream_id: c.id,
            review_reason: c.review_reason,
            source,
            logged: l.logged.contains(&c.id),
        }),
        Err(why) => {
            report.lose("charges", 1, &format!("an amount cannot be read ({why})"));
            None
        }
    }
}

/// The reader's losses and listed amounts, added to the main report.
fn merge(report: &mut UpstreamReport, part: UpstreamReport) {
    for l in part.not_brought_over {
        report.lose(&l.what, l.count.unwrap_or(0), &l.reason);
    }
    report.precise_amount_count += part.precise_amount_count - part.precise_amounts.len() as u64;
    for a in part.precise_amounts {
        report.precise(&a.column, a.id, a.value);
    }
}

fn write_one(
    w: &mut UpstreamWriter<'_>,
    src: &UpstreamDb,
    charge_ids: &mut HashMap<i64, i64>,
    imports: &mut HashMap<i64, SourceImport>,
    m: Mapped,
) -> Result<(), IngestError> {
    let (source_id, name) = &m.source;
    let si = match imports.get_mut(source_id) {
        Some(si) => si,
        None => {
            let import_id = w.begin_charges(&header(name, src))?;
            let fresh = SourceImport {
                import_id,
                source_id: *source_id,
                totals: Default::default(),
                periods: BTreeMap::new(),
            };
            imports.entry(*source_id).or_insert(fresh)
        }
    };
    let period = m.imported.charge.charge.period;
    count(&mut si.totals, &m.imported);
    count(si.periods.entry(period).or_default(), &m.imported);
    let ids = (*source_id, si.import_id);
    if m.imported.state == ReviewState::None && !m.logged {
        return Ok(w.insert_charge(ids, m.imported.charge, m.imported.state)?);
    }
    let id = w.insert_reviewed(ids, &m.imported)?;
    charge_ids.insert(m.upstream_id, id);
    let details = serde_json::json!({
        "message": "imported from the Python OpenChargeback",
        "upstream_charge_id": m.upstream_id, "upstream_review_reason": m.review_reason,
    });
    w.charge_event(id, si.import_id, &details)?;
    Ok(())
}

/// Sums exact amounts (upstream import history figures).
pub(crate) fn exact_text(v: Option<ocb_core::Decimal>) -> String {
    v.map_or_else(|| "0".into(), |d| ExactSum::from(d).to_string())
}
