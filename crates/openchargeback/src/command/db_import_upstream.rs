//! `db import-upstream PATH [--merge]`: brings a Python OpenChargeback database into ours
//! (issue 17). The work is `ocb_ingest::upstream`; this file opens both databases and prints
//! the report (a table per kind, or one JSON document).

use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{thousands, Table};
use ocb_ingest::upstream::{import_upstream, UpstreamOptions, UpstreamReport};
use ocb_store::upstream::UpstreamDb;
use std::path::Path;
use std::process::ExitCode;

pub fn run(ctx: &Ctx, path: &Path, merge: bool) -> Result<ExitCode, CliError> {
    // The source first: a wrong path must not create the destination database.
    let src = UpstreamDb::open(path).map_err(|e| CliError::fail("file_rejected", e.to_string()))?;
    let mut store = ctx.store()?;
    store.allow_solo_imports();
    let opts = UpstreamOptions {
        merge,
        pdf_dir: ctx.config.output.pdf_dir.clone(),
    };
    let settings = super::ingest::settings(ctx);
    let report =
        import_upstream(&mut store, &src, &settings, &opts, &ctx.actor()).map_err(|e| match e {
            ocb_ingest::IngestError::Store(ocb_store::StoreError::Refused(m)) => {
                CliError::fail("conflict", m)
            }
            other => other.into(),
        })?;
    if ctx.global.json {
        super::print_json(&serde_json::to_value(&report).expect("report serialises"));
    } else if !ctx.global.quiet {
        print!("{}", human(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// The human report: counts per table, then what was not brought over, then notes.
fn human(r: &UpstreamReport) -> String {
    let mut out = format!(
        "Imported {} (Python OpenChargeback schema version {}) in {:.1} s\n\n",
        r.source,
        r.schema_version,
        r.duration_ms as f64 / 1000.0
    );
    let mut t = Table::new(Some("Brought over"), &["Table", "Rows"]);
    for (table, n) in &r.brought_over {
        t.row(vec![table.clone(), thousands(*n)]);
    }
    out.push_str(&t.render());
    if !r.not_brought_over.is_empty() {
        let mut t = Table::new(Some("Not brought over"), &["What", "Count", "Why"]);
        for l in &r.not_brought_over {
            let n = l.count.map_or_else(|| "unknown".into(), thousands);
            t.row(vec![l.what.clone(), n, l.reason.clone()]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    if r.precise_amount_count > 0 {
        out.push_str(&format!(
            "\n{} amounts have more than 10 decimal places (float sums stored by the Python project), e.g.:\n",
            thousands(r.precise_amount_count)
        ));
        for a in r.precise_amounts.iter().take(10) {
            out.push_str(&format!("  {} of row {}: {}\n", a.column, a.id, a.value));
        }
    }
    for n in &r.notes {
        out.push_str(&format!("\nnote: {n}\n"));
    }
    out
}
