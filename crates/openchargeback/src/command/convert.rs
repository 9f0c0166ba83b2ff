//! `convert <kind>`: raw exports to lite-FOCUS CSV (INTEGRATIONS.md). This layer gathers inputs,
//! calls `ocb-convert`, writes the CSV / report / ledger atomically, prints the summary and
//! appends the audit record; the exit code follows §1.10.

use super::convert_args::{AuditFormatArg, Common, ConvertCli, KindArgs};
use super::convert_inputs::{self, Inputs};
use crate::cli::{ConvertArgs, Global};
use crate::error::CliError;
use clap::Parser;
use ocb_convert::audit::{audit_fields, render, AuditFormat, AuditRun, AuditValue};
use ocb_convert::chrono_tz::Tz;
use ocb_convert::config::{merge, ConfigFile};
use ocb_convert::output::resolve_output;
use ocb_convert::report::{render_report, FileRef, Mode, RunInfo};
use ocb_convert::{Conversion, ConvertContext, ConvertError, ExitCode as Code, Kind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

pub fn run(global: Global, args: ConvertArgs) -> Result<ExitCode, CliError> {
    let argv = std::iter::once(std::ffi::OsString::from("openchargeback convert")).chain(args.args);
    let cli = match ConvertCli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return Ok(ExitCode::from(e.exit_code().clamp(0, 255) as u8));
        }
    };
    let started = Instant::now();
    let kind = cli.kind.kind();
    let common = cli.kind.common().clone();
    let source = common
        .source
        .clone()
        .unwrap_or_else(|| kind.default_source().to_string());
    if let KindArgs::Qumulo {
        init: true,
        root,
        template,
        fill,
        exclude,
        ..
    } = &cli.kind
    {
        return qumulo_init(&common, root, template.as_deref(), *fill, exclude, started);
    }
    let Some(period) = common.period else {
        eprintln!("error: --period YYYY-MM is required");
        return Ok(ExitCode::from(2));
    };
    let mut inputs = Inputs::default();
    let mut configs: Vec<FileRef> = Vec::new();
    let mut out_file = String::new();
    let result = (|| -> Result<(Conversion, Code), ConvertError> {
        let tz = timezone(common.timezone.as_deref(), &global)?;
        let files = load_configs(&common, &mut configs)?;
        let merged = merge(&files)?;
        let ctx = ConvertContext {
            period,
            strict: common.strict,
            skip_invalid: common.skip_invalid,
            timezone: tz,
            source: source.clone(),
        };
        let converted = convert_inputs::convert(
            &cli.kind,
            &files,
            &merged,
            &ctx,
            common.dry_run,
            &mut inputs,
        )?;
        let conv = converted.conversion;
        let code = conv.exit_code(common.strict);
        let mode = if common.dry_run {
            Mode::DryRun
        } else {
            Mode::Convert
        };
        let csv_path = resolve_output(common.output.as_deref(), &format!("{source}_{period}.csv"));
        let run = RunInfo {
            mode,
            inputs: inputs.files.clone(),
            config_files: configs.clone(),
            output_file: (!common.dry_run).then(|| csv_path.display().to_string()),
            strict: common.strict,
            skip_invalid: common.skip_invalid,
            generated_at: now_rfc3339(false),
        };
        summary(kind, &conv, code);
        if common.dry_run {
            let report = resolve_output(
                common.output.as_deref(),
                &format!("{source}_{period}_whatif.json"),
            );
            write(&report, render_report(&conv, &run).as_bytes())?;
            eprintln!("what-if report: {}", report.display());
            return Ok((conv, code));
        }
        if code != Code::Ok {
            return Ok((conv, code));
        }
        if csv_path.as_os_str() == "-" {
            use std::io::Write;
            std::io::stdout()
                .write_all(&conv.csv())
                .map_err(|e| ConvertError::Internal(format!("writing stdout: {e}")))?;
        } else {
            write(&csv_path, &conv.csv())?;
            eprintln!("wrote {}", csv_path.display());
        }
        out_file = csv_path.display().to_string();
        if let Some(r) = &common.report {
            write(r, render_report(&conv, &run).as_bytes())?;
        }
        if let Some((path, text)) = converted.ledger {
            write(&path, text.as_bytes())?;
        }
        Ok((conv, code))
    })();
    let (conv, code) = match result {
        Ok((conv, code)) => (Some(conv), code),
        Err(e) => {
            eprintln!("error: {e}");
            (None, e.exit_code())
        }
    };
    let audit = AuditRun {
        timestamp: now_rfc3339(true),
        user: user(),
        host: host(),
        source,
        billing_period: period.to_string(),
        mode: if common.dry_run { "dry-run" } else { "convert" }.into(),
        inputs: inputs.paths.clone(),
        output_file: out_file,
        duration_ms: started.elapsed().as_millis() as u64,
        exit_code: code.code(),
    };
    let fields = audit_fields(kind, &audit, conv.as_ref());
    emit_audit(&common, kind.title(), &fields);
    Ok(ExitCode::from(code.code()))
}

/// Writes an output whole or not at all, so a failed run leaves any previous file untouched
/// (INTEGRATIONS.md §1.1; `ocb_publish`: staged in the same folder, synced, renamed, folder
/// synced). It keeps the permissions of the file it replaces, else those of a new file.
fn write(path: &Path, bytes: &[u8]) -> Result<(), ConvertError> {
    ocb_publish::write_file(path, bytes, permissions_of(path))
        .map(drop)
        .map_err(|e| ConvertError::Internal(format!("cannot write {}: {e}", path.display())))
}

#[cfg(unix)]
fn permissions_of(path: &Path) -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    Some(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn permissions_of(path: &Path) -> Option<std::fs::Permissions> {
    std::fs::metadata(path).ok().map(|m| m.permissions())
}

/// `--config` files, then `--config-dir` (`*.json` except `*.example.json`, by file name).
fn load_configs(c: &Common, refs: &mut Vec<FileRef>) -> Result<Vec<ConfigFile>, ConvertError> {
    let mut paths: Vec<PathBuf> = c.config.clone();
    if let Some(dir) = &c.config_dir {
        let rd = std::fs::read_dir(dir).map_err(|e| {
            ConvertError::config(format!("cannot read --config-dir {}: {e}", dir.display()))
        })?;
        let mut found: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                n.ends_with(".json") && !n.ends_with(".example.json") && p.is_file()
            })
            .collect();
        found.sort_by(|a, b| {
            a.file_name()
                .map(|n| n.as_encoded_bytes().to_vec())
                .cmp(&b.file_name().map(|n| n.as_encoded_bytes().to_vec()))
        });
        paths.extend(found);
    }
    paths
        .iter()
        .map(|p| {
            let name = p.display().to_string();
            let bytes = convert_inputs::read_regular_file(p)
                .map_err(|e| ConvertError::config(format!("cannot read config {name}: {e}")))?;
            refs.push(FileRef::new(&name, &bytes));
            ConfigFile::parse(&name, &bytes)
        })
        .collect()
}

/// `--timezone`, else the app `timezone` setting, else the system zone, else UTC.
fn timezone(arg: Option<&str>, global: &Global) -> Result<Tz, ConvertError> {
    if let Some(t) = arg {
        return t.parse::<Tz>().map_err(|_| {
            ConvertError::Usage(format!(
                "--timezone: unknown zone '{t}' (an IANA name such as America/Chicago, or UTC)"
            ))
        });
    }
    let env = |k: &str| std::env::var(k).ok();
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(src) = ocb_config::locate(global.config.as_deref(), &env, &cwd) {
            if src.path.is_some() {
                if let Ok(loaded) = ocb_config::load(&src, &env, &cwd) {
                    match loaded.config.timezone {
                        ocb_config::TimeZoneSetting::Named(tz) => return Ok(tz),
                        ocb_config::TimeZoneSetting::Utc => return Ok(ocb_convert::chrono_tz::UTC),
                        ocb_config::TimeZoneSetting::Local => {}
                    }
                }
            }
        }
    }
    let from_env = std::env::var("TZ")
        .ok()
        .and_then(|t| t.trim_start_matches(':').parse::<Tz>().ok());
    let from_link = std::fs::read_link("/etc/localtime").ok().and_then(|p| {
        let s = p.to_string_lossy().into_owned();
        s.split_once("zoneinfo/")
            .and_then(|(_, name)| name.parse::<Tz>().ok())
    });
    Ok(from_env
        .or(from_link)
        .unwrap_or(ocb_convert::chrono_tz::UTC))
}

fn now_rfc3339(millis: bool) -> String {
    let fmt = if millis {
        chrono::SecondsFormat::Millis
    } else {
        chrono::SecondsFormat::Secs
    };
    chrono::Utc::now().to_rfc3339_opts(fmt, true)
}

fn user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok())
        .unwrap_or_default()
}

fn host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

fn emit_audit(c: &Common, title: &str, fields: &[(String, AuditValue)]) {
    let format = match c.audit_format {
        AuditFormatArg::Text => AuditFormat::Text,
        AuditFormatArg::Json => AuditFormat::Json,
        AuditFormatArg::Splunk => AuditFormat::Splunk,
    };
    let text = render(format, title, fields);
    match &c.audit_path {
        Some(p) => {
            use std::io::Write;
            let r = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .and_then(|mut f| f.write_all(text.as_bytes()));
            if let Err(e) = r {
                eprintln!(
                    "error: cannot append the audit record to {}: {e}",
                    p.display()
                );
            }
        }
        None => eprint!("{text}"),
    }
}

/// The stderr summary: counts, totals, then every error, unmapped item and warning.
fn summary(kind: Kind, conv: &Conversion, code: Code) {
    let b = &conv.buckets;
    let t = conv.totals();
    eprintln!(
        "convert {kind} {}: {} items read, {} charged, {} skipped, {} errors; {} rows, list {}, billed {}",
        conv.period,
        conv.items_read,
        conv.items_charged,
        b.skipped_count(),
        b.errors.len(),
        t.rows,
        ocb_convert::money::fmt2(t.list),
        ocb_convert::money::fmt2(t.billed)
    );
    for e in &b.errors {
        eprintln!("invalid record {} [{}]: {}", e.item, e.code, e.message);
    }
    for u in &b.unmapped {
        let what = if u.emitted {
            "emitted with an empty pi_email"
        } else {
            "not emitted (0.00)"
        };
        eprintln!("unmapped {} [{}]: {} ({what})", u.item, u.reason, u.detail);
    }
    for w in &b.warnings {
        eprintln!(
            "warning {}[{}]: {}",
            w.item
                .as_deref()
                .map(|i| format!("{i} "))
                .unwrap_or_default(),
            w.code,
            w.message
        );
    }
    match code {
        Code::Input => eprintln!("error: {} invalid record(s); nothing written (use --skip-invalid to list them as skipped)", b.errors.len()),
        Code::Strict => eprintln!("error: --strict and {} unmapped item(s); nothing written", b.unmapped.len()),
        _ => {}
    }
}

/// `convert qumulo ROOT --init [--template FILE] [--fill] [--dry-run]`.
fn qumulo_init(
    c: &Common,
    root: &Path,
    template: Option<&Path>,
    fill: bool,
    exclude: &[String],
    started: Instant,
) -> Result<ExitCode, CliError> {
    let result = (|| -> Result<Vec<ocb_convert::qumulo_fs::InitEntry>, ConvertError> {
        let mut refs = Vec::new();
        let files = load_configs(c, &mut refs)?;
        let mut merged = merge(&files)?;
        // --init needs no rate; only the exclusion patterns matter.
        merged
            .entry("monthlyRatePerGB")
            .or_insert(serde_json::json!(0));
        let cfg =
            ocb_convert::qumulo::QumuloConfig::from_merged_json(&merged, exclude, &mut Vec::new())?;
        let text = match template {
            Some(p) => convert_inputs::read_regular_file(p).map_err(|e| {
                ConvertError::input(format!("cannot read template {}: {e}", p.display()))
            })?,
            None => ocb_convert::qumulo::DEFAULT_TEMPLATE.as_bytes().to_vec(),
        };
        let tpl =
            match ocb_convert::text::parse_json(&text, "template").map_err(ConvertError::Input)? {
                serde_json::Value::Object(m) => m,
                _ => return Err(ConvertError::input("the template must be a JSON object")),
            };
        ocb_convert::qumulo_fs::init(root, &tpl, &cfg, fill, c.dry_run)
    })();
    let (entries, code) = match result {
        Ok(e) => {
            let code = if e.iter().any(|x| x.action == "error") {
                Code::Input
            } else {
                Code::Ok
            };
            (e, code)
        }
        Err(e) => {
            eprintln!("error: {e}");
            (Vec::new(), e.exit_code())
        }
    };
    for e in &entries {
        eprintln!(
            "{}{} {}: {}",
            if c.dry_run { "would be " } else { "" },
            e.action,
            e.directory,
            e.detail
        );
    }
    let count = |a: &str| AuditValue::n(entries.iter().filter(|e| e.action == a).count() as u64);
    let mut fields: Vec<(String, AuditValue)> = vec![
        ("timestamp".into(), AuditValue::s(now_rfc3339(true))),
        ("eventType".into(), AuditValue::s("QumuloMetadataInit")),
        ("user".into(), AuditValue::s(user())),
        ("host".into(), AuditValue::s(host())),
        ("converter".into(), AuditValue::s("qumulo")),
        (
            "mode".into(),
            AuditValue::s(if c.dry_run { "dry-run" } else { "convert" }),
        ),
        ("inputs".into(), AuditValue::s(root.display().to_string())),
        (
            "durationMs".into(),
            AuditValue::n(started.elapsed().as_millis() as u64),
        ),
    ];
    for a in ["created", "updated", "unchanged", "skipped"] {
        fields.push((a.into(), count(a)));
    }
    fields.push(("errors".into(), count("error")));
    fields.push(("exitCode".into(), AuditValue::n(code.code())));
    emit_audit(c, "Qumulo Metadata Init", &fields);
    Ok(ExitCode::from(code.code()))
}
