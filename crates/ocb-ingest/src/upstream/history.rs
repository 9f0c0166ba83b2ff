//! Everything but the charges: sources, periods, the review log, the import history,
//! statements, the e-mail log, the journal export log and users, each mapped to our meanings.

use super::charges::amount;
use super::pdfs::{project_of, Staged};
use super::report::UpstreamReport;
use super::time::{utc, utc_or};
use super::Maps;
use crate::{IngestError, IngestSettings};
use ocb_core::period::Period;
use ocb_core::tags::eq_ignore_case;
use ocb_store::upstream::{
    NewEmail, NewJournal, NewPeriod, NewReviewLog, NewStatement, NewUpstreamUser, UpstreamDb,
    UpstreamPeriod, UpstreamStatement, UpstreamWriter,
};
use std::collections::HashMap;

/// Who did something the Python project did not attribute.
const UNKNOWN_ACTOR: &str = "upstream";

type Result<T> = std::result::Result<T, IngestError>;

/// Our spelling of a source: a known source's `name` when it matches case-insensitively
/// (SPEC §5.2), else the upstream spelling.
fn canonical_source(settings: &IngestSettings, name: &str) -> String {
    settings
        .known_sources
        .iter()
        .find(|k| eq_ignore_case(&k.name, name.trim()))
        .map_or_else(|| name.trim().to_string(), |k| k.name.clone())
}

fn new_period(p: &UpstreamPeriod, status: &str) -> NewPeriod {
    let by = |v: &Option<String>| v.clone().unwrap_or_else(|| UNKNOWN_ACTOR.into());
    let opened = p.opened_at.as_deref().or(p.closed_at.as_deref());
    NewPeriod {
        period: p.period.clone(),
        status: status.to_string(),
        created_at: utc_or(opened, "1970-01-01T00:00:00Z"),
        created_by: UNKNOWN_ACTOR.into(),
        closed: p.closed_at.as_deref().map(|at| (utc(at), by(&p.closed_by))),
        reopened: p
            .reopened_at
            .as_deref()
            .map(|at| (utc(at), by(&p.reopened_by), p.reopen_reason.clone())),
        finalized: p
            .finalized_at
            .as_deref()
            .map(|at| (utc(at), by(&p.finalized_by))),
        notes: p.notes.clone(),
    }
}

/// Sources and periods; a period already in the destination (`--merge`) is left alone.
pub(crate) fn sources_and_periods(
    w: &mut UpstreamWriter<'_>,
    src: &UpstreamDb,
    settings: &IngestSettings,
    merge: bool,
    report: &mut UpstreamReport,
) -> Result<Maps> {
    let mut maps = Maps {
        sources: HashMap::new(),
        periods: HashMap::new(),
        all_periods: HashMap::new(),
        charge_ids: HashMap::new(),
    };
    for s in src.sources()? {
        if ocb_core::source::check_source_name(&s.name).is_err() {
            report.lose(
                "sources",
                1,
                "the name is not a valid source name (1-100 characters, no control characters)",
            );
            continue;
        }
        let name = canonical_source(settings, &s.name);
        let kind = s.source_type.as_deref().unwrap_or("file");
        let (id, _) = w.source(&name, s.display_name.as_deref(), kind)?;
        maps.sources.insert(s.id, (id, name));
    }
    let existing = w.existing_periods()?;
    for p in src.periods()? {
        let Ok(period) = p.period.parse::<Period>() else {
            report.lose("periods", 1, "the period is not a valid YYYY-MM");
            continue;
        };
        let status = match p.status.as_deref().unwrap_or("open") {
            s @ ("open" | "closed" | "finalized") => s.to_string(),
            _ => "open".to_string(),
        };
        maps.all_periods.insert(p.id, (period, status.clone()));
        if existing.contains(&p.period) {
            let why = "the period already exists in the destination; --merge leaves it as it is (with its charges, statements and logs)";
            debug_assert!(merge, "an empty destination has no periods");
            report.lose("periods", 1, why);
            continue;
        }
        w.period(&new_period(&p, &status))?;
        maps.periods.insert(p.id, period);
    }
    Ok(maps)
}

/// The tables after the charges.
pub(crate) fn rest(
    w: &mut UpstreamWriter<'_>,
    src: &UpstreamDb,
    maps: &Maps,
    statements: &[UpstreamStatement],
    staged: &Staged,
    report: &mut UpstreamReport,
) -> Result<()> {
    review_logs(w, src, maps, report)?;
    import_history(w, src, maps, report)?;
    let statement_ids = write_statements(w, maps, statements, staged, report)?;
    emails(w, src, &statement_ids, report)?;
    journals(w, src, maps, report)?;
    users(w, src, report)
}

fn review_logs(
    w: &mut UpstreamWriter<'_>,
    src: &UpstreamDb,
    maps: &Maps,
    report: &mut UpstreamReport,
) -> Result<()> {
    for r in src.review_logs()? {
        let (Some(period), Some(&charge_id)) = (
            maps.periods.get(&r.period_id),
            maps.charge_ids.get(&r.charge_id),
        ) else {
            let why = if maps.periods.contains_key(&r.period_id) {
                "the charge is gone (before schema version 9 the Python project deleted rejected charges); our review log needs the charge"
            } else {
                "its period was not brought over"
            };
            report.lose("review log", 1, why);
            continue;
        };
        let amount =
            amount(report, "review_logs.amount", r.id, r.amount.as_deref()).unwrap_or(None);
        w.review_log(&NewReviewLog {
            occurred_at: utc_or(r.performed_at.as_deref(), "1970-01-01T00:00:00Z"),
            period: period.to_string(),
            charge_id,
            action: if r.action == "rejected" {
                "rejected".into()
            } else {
                "approved".into()
            },
            actor: r
                .performed_by
                .clone()
                .unwrap_or_else(|| UNKNOWN_ACTOR.into()),
            pi_email: r.pi_email.clone(),
            resource_id: r.resource_id.clone(),
            service: r.service_name.clone(),
            amount: super::exact_text(amount),
            note: r.note.clone(),
        })?;
    }
    Ok(())
}

fn import_history(
    w: &mut UpstreamWriter<'_>,
    src: &UpstreamDb,
    maps: &Maps,
    report: &mut UpstreamReport,
) -> Result<()> {
    for i in src.imports()? {
        let (Some(period), Some((_, source))) = (
            maps.periods.get(&i.period_id),
            maps.sources.get(&i.source_id),
        ) else {
            report.lose(
                "import history",
                1,
                "its period or source was not brought over",
            );
            continue;
        };
        let total =
            amount(report, "imports.total_cost", i.id, i.total_cost.as_deref()).unwrap_or(None);
        let flagged = amount(
            report,
            "imports.flagged_cost",
            i.id,
            i.flagged_cost.as_deref(),
        )
        .unwrap_or(None);
        let summary = format!(
            "Python OpenChargeback import of {} into {period}: {} rows, total {}, {} flagged ({}); its charges are counted by the import of the whole database",
            i.filename, i.row_count.unwrap_or(0), super::exact_text(total), i.flagged_rows.unwrap_or(0), super::exact_text(flagged)
        );
        let mut header = super::header(source, src);
        header.filename = i.filename.clone();
        header.path = None;
        header.expected_period = Some(*period);
        w.history_import(
            &header,
            &utc_or(i.imported_at.as_deref(), "1970-01-01T00:00:00Z"),
            &summary,
        )?;
    }
    Ok(())
}

fn statement_of(
    s: &UpstreamStatement,
    period: Period,
    status: &str,
    pdf: String,
    report: &mut UpstreamReport,
) -> NewStatement {
    let total = amount(
        report,
        "statements.total_cost",
        s.id,
        s.total_cost.as_deref(),
    )
    .unwrap_or(None);
    NewStatement {
        period: period.to_string(),
        pi_email: s.pi_email.trim().to_lowercase(),
        project_id: project_of(s),
        kind: if status == "open" { "draft" } else { "final" },
        fund_orgs: vec![s.fund_org.clone().unwrap_or_else(|| "N/A".into())],
        total: super::exact_text(total),
        pdf_path: pdf,
        generated_at: utc_or(s.generated_at.as_deref(), "1970-01-01T00:00:00Z"),
        sent_at: s.sent_at.as_deref().map(utc),
        template_data: serde_json::json!({"imported_from": "python-openchargeback", "upstream_statement_id": s.id}),
    }
}

fn write_statements(
    w: &mut UpstreamWriter<'_>,
    maps: &Maps,
    statements: &[UpstreamStatement],
    staged: &Staged,
    report: &mut UpstreamReport,
) -> Result<HashMap<i64, (i64, String)>> {
    let mut ids = HashMap::new();
    for s in statements {
        let (Some(period), Some(target)) =
            (maps.periods.get(&s.period_id), staged.targets.get(&s.id))
        else {
            report.lose("statements", 1, "its period was not brought over");
            continue;
        };
        let status = maps
            .all_periods
            .get(&s.period_id)
            .map_or("open", |(_, st)| st.as_str());
        let st = statement_of(s, *period, status, target.display().to_string(), report);
        let id = w.statement(&st)?;
        ids.insert(s.id, (id, st.period));
    }
    Ok(ids)
}

fn emails(
    w: &mut UpstreamWriter<'_>,
    src: &UpstreamDb,
    statements: &HashMap<i64, (i64, String)>,
    report: &mut UpstreamReport,
) -> Result<()> {
    for e in src.emails()? {
        let Some((statement_id, period)) = e.statement_id.and_then(|id| statements.get(&id)) else {
            report.lose(
                "email log",
                1,
                "it names no statement that was brought over, so its period is unknown",
            );
            continue;
        };
        let status = match e.status.as_str() {
            s @ ("success" | "error" | "dev_mode") => s.to_string(),
            _ => "error".to_string(),
        };
        w.email(&NewEmail {
            occurred_at: utc_or(e.sent_at.as_deref(), "1970-01-01T00:00:00Z"),
            period: period.clone(),
            recipient: e.recipient.clone(),
            subject: e.subject.clone().unwrap_or_default(),
            status,
            error: e.error_message.clone(),
            statement_id: Some(*statement_id),
            actor: e.sent_by.clone().unwrap_or_else(|| UNKNOWN_ACTOR.into()),
        })?;
    }
    Ok(())
}

fn journals(
    w: &mut UpstreamWriter<'_>,
    src: &UpstreamDb,
    maps: &Maps,
    report: &mut UpstreamReport,
) -> Result<()> {
    let mut without_file = 0;
    for j in src.journals()? {
        let (Some(period), Some((_, status))) = (
            maps.periods.get(&j.period_id),
            maps.all_periods.get(&j.period_id),
        ) else {
            report.lose("journal exports", 1, "its period was not brought over");
            continue;
        };
        let total = amount(
            report,
            "journal_exports.total_cost",
            j.id,
            j.total_cost.as_deref(),
        )
        .unwrap_or(None);
        w.journal(&NewJournal {
            exported_at: utc_or(j.exported_at.as_deref(), "1970-01-01T00:00:00Z"),
            period: period.to_string(),
            period_status: status.clone(),
            format: j.format.clone(),
            include_flagged: j.include_flagged,
            row_count: j.row_count.unwrap_or(0),
            total: super::exact_text(total),
            actor: j
                .exported_by
                .clone()
                .unwrap_or_else(|| UNKNOWN_ACTOR.into()),
            file_name: j.filename.clone().unwrap_or_default(),
        })?;
        without_file += 1;
    }
    if without_file > 0 {
        report.lose("journal files", without_file, "the Python project kept no copy of exported journals; the log entries are kept, export again to get a file");
    }
    Ok(())
}

fn users(w: &mut UpstreamWriter<'_>, src: &UpstreamDb, report: &mut UpstreamReport) -> Result<()> {
    for u in src.users()? {
        if u.is_config_user {
            report.lose("users", 1, "managed in config.yaml (web.users): the config stays their source of truth and is synced at the next `serve` or `users` command");
            continue;
        }
        if !matches!(u.role.as_str(), "admin" | "reviewer" | "viewer")
            || u.username.trim().is_empty()
        {
            report.lose("users", 1, "no username or an unknown role");
            continue;
        }
        let at = utc_or(u.created_at.as_deref(), "1970-01-01T00:00:00Z");
        let inserted = w.user(&NewUpstreamUser {
            username: u.username.clone(),
            email: u.email.clone(),
            display_name: u.display_name.clone().unwrap_or_default(),
            password_hash: u.password_hash.clone(),
            role: u.role.clone(),
            updated_at: utc_or(u.updated_at.as_deref(), &at),
            created_by: u.created_by.clone().unwrap_or_else(|| UNKNOWN_ACTOR.into()),
            created_at: at,
        })?;
        if !inserted {
            report.lose(
                "users",
                1,
                "a user of that name already exists in the destination; it is kept as it is",
            );
        }
    }
    Ok(())
}

/// What is lost in every Python database, and what our rules would do differently.
pub(crate) fn standing_notes(
    src: &UpstreamDb,
    mapper: &super::charges::ChargeMapper<'_>,
    report: &mut UpstreamReport,
) {
    report.not_brought_over.push(super::Loss {
        what: "rows the Python project dropped or collapsed".into(),
        count: None,
        reason: "rows without pi_email were dropped at import, and rows sharing resource and date were collapsed into one charge; they are not in its database, so nothing can bring them back (re-ingest the original FOCUS files to recover them)".into(),
    });
    if src.version() < 9 {
        report.notes.push(format!("schema version {}: rejected charges were deleted by the Python project, so none can be brought over", src.version()));
    }
    if mapper.newly_flaggable > 0 {
        report.notes.push(format!(
            "{} charges the Python project did not flag would be flagged by our rules; they keep the Python project's decision (run `reevaluate` to apply ours)",
            mapper.newly_flaggable
        ));
    }
}
