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

/// Every charge, streamed from the file into the batched inserts.
fn import_charges(
    w: &mut UpstreamWriter<'_>,
    src: &UpstreamDb,
    maps: &mut Maps,
    mapper: &mut ChargeMapper<'_>,
    report: &mut UpstreamReport,
) -> Result<(), IngestError> {
    let logged: HashSet<i64> = src.review_logs()?.iter().map(|r| r.charge_id).collect();
    let mut imports: HashMap<i64, SourceImport> = HashMap::new();
    src.for_each_charge(|c| {
        one_charge(w, src, maps, mapper, report, &logged, &mut imports, c).map_err(|e| match e {
            IngestError::Store(s) => s,
            other => StoreError::Corrupt(other.to_string()),
        })
    })?;
    let mut written = 0;
    for si in imports.into_values() {
        written += si.totals.rows_read;
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
    w.count("charges", written);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn one_charge(
    w: &mut UpstreamWriter<'_>,
    src: &UpstreamDb,
    maps: &mut Maps,
    mapper: &mut ChargeMapper<'_>,
    report: &mut UpstreamReport,
    logged: &HashSet<i64>,
    imports: &mut HashMap<i64, SourceImport>,
    c: UpstreamCharge,
) -> Result<(), IngestError> {
    let Some(&period) = maps.periods.get(&c.period_id) else {
        let why = match maps.all_periods.contains_key(&c.period_id) {
            true => "their period already exists in the destination (--merge leaves it as it is)",
            false => "their billing period is missing from the file or is not a valid YYYY-MM",
        };
        report.lose("charges", 1, why);
        return Ok(());
    };
    let Some((source_id, name)) = maps.sources.get(&c.source_id).cloned() else {
        report.lose("charges", 1, "their source is missing from the file");
        return Ok(());
    };
    let imported = match mapper.map(&c, source_id, period, report) {
        Ok(i) => i,
        Err(why) => {
            report.lose("charges", 1, &format!("an amount cannot be read ({why})"));
            return Ok(());
        }
    };
    let si = match imports.get_mut(&source_id) {
        Some(si) => si,
        None => {
            let import_id = w.begin_charges(&header(&name, src))?;
            let fresh = SourceImport {
                import_id,
                source_id,
                totals: Default::default(),
                periods: BTreeMap::new(),
            };
            imports.entry(source_id).or_insert(fresh)
        }
    };
    count(&mut si.totals, &imported);
    count(si.periods.entry(period).or_default(), &imported);
    let ids = (source_id, si.import_id);
    if imported.state == ReviewState::None && !logged.contains(&c.id) {
        return Ok(w.insert_charge(ids, imported.charge, imported.state)?);
    }
    let id = w.insert_reviewed(ids, &imported)?;
    maps.charge_ids.insert(c.id, id);
    let details = serde_json::json!({
        "message": "imported from the Python OpenChargeback",
        "upstream_charge_id": c.id, "upstream_review_reason": c.review_reason,
    });
    w.charge_event(id, si.import_id, &details)?;
    Ok(())
}

/// Sums exact amounts (upstream import history figures).
pub(crate) fn exact_text(v: Option<ocb_core::Decimal>) -> String {
    v.map_or_else(|| "0".into(), |d| ExactSum::from(d).to_string())
}
