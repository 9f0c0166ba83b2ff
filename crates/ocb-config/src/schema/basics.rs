//! Plain sections: `database`, `tag_mapping`, `output`, `logging`, `sources`, `statements`.

use super::sub;
use crate::choices::{LogFormat, LogLevel, Paper};
use crate::model::{
    DatabaseConfig, LoggingConfig, OutputDirs, SourceCredentials, StatementsConfig,
};
use crate::reader::{describe, Ctx, Section};
use crate::secret::Secret;
use crate::yaml::Kind;
use ocb_core::attribution::TagMapping;
use std::collections::BTreeMap;
use std::path::Path;

pub(super) fn database(top: &mut Section<'_>, ctx: &mut Ctx, cwd: &Path) -> DatabaseConfig {
    let mut s = sub(top, ctx, "database");
    let line = s.line_of("path");
    let raw = s.opt_str(ctx, "path").unwrap_or_default();
    let lower = raw.trim().to_ascii_lowercase();
    let path = if lower.starts_with("postgresql://") || lower.starts_with("postgres://") {
        // The URL may hold a password: never echo it.
        ctx.error(
            line,
            "database.path",
            "PostgreSQL is not supported by this version; set a SQLite file path",
        );
        crate::reader::resolve(cwd, "./instance/billing.db")
    } else {
        s.path_or(ctx, "path", "./instance/billing.db", cwd)
    };
    let config = DatabaseConfig {
        path,
        busy_timeout_ms: s.int_in(ctx, "busy_timeout_ms", 5000, 0, 3_600_000) as u64,
    };
    s.finish(ctx);
    config
}

pub(super) fn tag_mapping(top: &mut Section<'_>, ctx: &mut Ctx) -> TagMapping {
    let mut s = sub(top, ctx, "tag_mapping");
    let d = TagMapping::default();
    let mapping = TagMapping {
        pi_email: s.keys_or(ctx, "pi_email", &d.pi_email),
        project_id: s.keys_or(ctx, "project_id", &d.project_id),
        fund_org: s.keys_or(ctx, "fund_org", &d.fund_org),
        cost_center: s.keys_or(ctx, "cost_center", &d.cost_center),
        account_code: s.keys_or(ctx, "account_code", &d.account_code),
        reference_1: s.keys_or(ctx, "reference_1", &d.reference_1),
        reference_2: s.keys_or(ctx, "reference_2", &d.reference_2),
        end_date: s.keys_or(ctx, "end_date", &d.end_date),
        reconciliation_end: s.keys_or(ctx, "reconciliation_end", &d.reconciliation_end),
        pi_name: s.keys_or(ctx, "pi_name", &d.pi_name),
    };
    s.finish(ctx);
    mapping
}

pub(super) fn output(top: &mut Section<'_>, ctx: &mut Ctx, cwd: &Path) -> OutputDirs {
    let mut s = sub(top, ctx, "output");
    let dirs = OutputDirs {
        pdf_dir: s.path_or(ctx, "pdf_dir", "./instance/output/pdfs", cwd),
        journal_dir: s.path_or(ctx, "journal_dir", "./instance/output/journals", cwd),
        email_dir: s.path_or(ctx, "email_dir", "./instance/output/emails", cwd),
        import_dir: s.path_or(ctx, "import_dir", "./instance/output/imports", cwd),
        backup_dir: s.path_or(ctx, "backup_dir", "./instance/backups", cwd),
    };
    s.finish(ctx);
    dirs
}

pub(super) fn logging(top: &mut Section<'_>, ctx: &mut Ctx, cwd: &Path) -> LoggingConfig {
    let mut s = sub(top, ctx, "logging");
    let levels = ["DEBUG", "INFO", "WARN", "WARNING", "ERROR"];
    let config = LoggingConfig {
        enabled: s.bool_or(ctx, "enabled", true),
        level: s.choice(ctx, "level", LogLevel::Info, LogLevel::parse, &levels),
        format: s.choice(
            ctx,
            "format",
            LogFormat::Splunk,
            LogFormat::parse,
            &["splunk", "json"],
        ),
        file: s.opt_path(ctx, "file", cwd),
    };
    s.finish(ctx);
    config
}

pub(super) fn sources(top: &mut Section<'_>, ctx: &mut Ctx) -> BTreeMap<String, SourceCredentials> {
    let mut out = BTreeMap::new();
    let Some(mut s) = top.section(ctx, "sources") else {
        return out;
    };
    for e in s.all_entries() {
        let key = s.key(&e.key);
        let entries = match &e.value.kind {
            Kind::Map(entries) => entries.as_slice(),
            Kind::Null => &[],
            other => {
                ctx.error(
                    Some(e.value.line),
                    &key,
                    format!("expected a mapping, found {}", describe(other)),
                );
                continue;
            }
        };
        let mut c = Section::new(&key, Some(e.line), entries, ctx);
        let creds = SourceCredentials {
            api_url: c.str_or(ctx, "api_url", ""),
            api_key: Secret::new(c.str_or(ctx, "api_key", "")),
            api_secret: Secret::new(c.str_or(ctx, "api_secret", "")),
            tenant_id: c.str_or(ctx, "tenant_id", ""),
            client_id: c.str_or(ctx, "client_id", ""),
            client_secret: Secret::new(c.str_or(ctx, "client_secret", "")),
        };
        c.finish(ctx);
        out.insert(e.key.clone(), creds);
    }
    s.finish(ctx);
    out
}

/// `statements`, and the logo as written (resolved once the templates directory is known).
pub(super) fn statements(
    top: &mut Section<'_>,
    ctx: &mut Ctx,
) -> (StatementsConfig, Option<super::branding::LogoItem>) {
    let mut s = sub(top, ctx, "statements");
    let (branding, logo) = super::branding::branding(&mut s, ctx);
    let config = StatementsConfig {
        paper: s.choice(
            ctx,
            "paper",
            Paper::UsLetter,
            Paper::parse,
            &["us-letter", "a4"],
        ),
        workers: s.int_in(ctx, "workers", 0, 0, 1024) as usize,
        branding,
    };
    s.finish(ctx);
    (config, logo)
}
