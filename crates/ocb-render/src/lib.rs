//! PI statement PDFs rendered in-process with Typst (SPEC 8.8–8.10).
//!
//! A [`Renderer`] holds everything that is expensive to prepare: the Typst standard library, the
//! fonts (DejaVu Sans embedded in the binary, plus `<templates dir>/fonts/*`), and the parsed
//! `statement.typ` (the operator's copy in the templates directory, else
//! [`DEFAULT_STATEMENT_TEMPLATE`]). It is `Send + Sync`; generation shares one renderer between
//! its worker threads and calls [`Renderer::render_pdf`] once per statement with that statement's
//! template data. No system fonts, no network, no package downloads: `@preview/...` imports fail
//! with an error that says so.
//!
//! This crate only turns a data object into PDF bytes. It knows nothing about the database,
//! charges or money arithmetic: the caller (statement generation) builds the data object with
//! every amount already rounded and formatted, and the template only lays it out. Typst is a
//! heavy dependency and lives in this crate only.
//!
//! # The template data (schema_version 1)
//!
//! The template reads its data with `#let data = json("/data.json")`. The object is built by the
//! caller and passed as a [`serde_json::Value`]; its fields are those of SPEC 8.10, described in
//! full, with an example, in `docs/statement-template.md`
//! (example file: `crates/ocb-render/tests/fixtures/statement-data.json`).
//!
//! - *money* = `{exact, amount, display}`: exact decimal string, rounded decimal string, formatted
//!   string (`"$1,234.57"`, `"-$412.25"`); the template prints `display`.
//! - *percent* = `{value, display}` (`display` e.g. `"15%"`, `"99.6%"`).
//!
//! | field | type |
//! |---|---|
//! | `schema_version` | int, `1` |
//! | `is_draft`, `is_stale` | bool |
//! | `statement_id`, `reference` | int, string (`YYYYMM-NNNNN`, e.g. `202501-00042`) |
//! | `period`, `period_label`, `period_start`, `period_end` | string |
//! | `organization_name`, `currency` | string |
//! | `contact_email` | string or null (null: no contact sentence) |
//! | `generated_at`, `generated_at_utc` | string (display in the configured timezone; RFC 3339 UTC) |
//! | `statement_date` | optional string; the default template falls back to the date part of `generated_at` |
//! | `paper` | `"us-letter"` or `"a4"` |
//! | `pi.email`, `pi.name` | string, string or null |
//! | `project_id` | string (may be `(no project)`) |
//! | `fund_orgs` | list of string |
//! | `has_discount` | bool |
//! | `totals.list`, `totals.discount`, `totals.amount` | money |
//! | `totals.discount_percent` | percent or null |
//! | `fund_groups[]` | `{fund_org, services[], subtotal{list, discount, amount, discount_percent}}` |
//! | `fund_groups[].services[]`, `services[]` | `{service, list, discount, discount_percent, amount, fully_subsidised}` |
//! | `charges[]` | `{charge_id, date, charge_period_start, charge_period_end, resource_id, resource_name, resource_label, service, fund_org, source, list, discount, amount, list_is_fallback}` |
//! | `lifecycle` | null or `{level, end_date, reconciliation_end, days_remaining, message}` |
//! | `footnotes` | list of string |
//! | `branding` | optional (absent when `statements.branding` is empty): `{logo, primary_color, organization_address, footer_text, contact_text}`, each string or null; `logo` is the virtual path of the configured image (see [`logo_virtual_path`]) |
//! | `charge_table` | added by the renderer (not stored): the default template's charge details worked out in Rust, see [`CHARGE_TABLE`]; the renderer draws the one-line rows the template marks |
//!
//! # Example
//!
//! ```no_run
//! let renderer = ocb_render::Renderer::new(None)?;
//! let data: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("data.json")?)?;
//! let pdf: Vec<u8> = renderer.render_pdf(&data)?;
//! std::fs::write("statement.pdf", pdf)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod charge_table;
mod detail_rows;
mod error;
mod fonts;
mod world;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use typst::foundations::{Bytes, Datetime, Smart};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, Timestamp};

pub use error::{RenderError, Result, TemplateDiagnostic};
pub use world::DATA_PATH;

/// The embedded default statement template (SPEC 8.8).
pub const DEFAULT_STATEMENT_TEMPLATE: &str = include_str!("statement.typ");

/// The field the renderer adds to `/data.json` for the default template's charge details
/// (`docs/statement-template.md`).
pub const CHARGE_TABLE: &str = "charge_table";

/// File name of the statement template in a templates directory.
pub const TEMPLATE_FILE_NAME: &str = "statement.typ";

/// Typst memoises layout results across compilations; most of them belong to one statement's data
/// and are useless for the next. Evicting every few renders keeps memory flat over a batch of
/// thousands of statements while keeping the entries that are shared (fonts, template parsing).
/// Measured on 200 mixed statements: every 64 renders → 750 MB peak, every 8 → 160 MB at about the
/// same speed, every render → 120 MB but 15% slower.
const EVICT_EVERY: usize = 8;
/// Age (in evictions) after which an unused memoised result is dropped.
const EVICT_MAX_AGE: usize = 1;

/// Renders statements to PDF. Build once per generation run, share between threads.
pub struct Renderer {
    shared: world::Shared,
    /// Advance widths for the default template's charge table (see [`charge_table`]); none when
    /// the embedded font could not be read, and the template then measures the table itself.
    advances: Option<charge_table::Advances>,
    renders: AtomicUsize,
}

impl Renderer {
    /// `templates_dir`: the instance templates directory; if it contains `statement.typ` that file
    /// overrides the embedded default, and any fonts in `<templates_dir>/fonts/` are added. Other
    /// files of the directory (images, `.typ` modules) can be read by the template with absolute
    /// paths such as `/logo.png`. `None` = embedded template and fonts only.
    pub fn new(templates_dir: Option<&Path>) -> Result<Renderer> {
        let override_path = templates_dir
            .map(|dir| dir.join(TEMPLATE_FILE_NAME))
            .filter(|path| path.is_file());
        let (text, origin) = match override_path {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| RenderError::Io {
                    path: path.clone(),
                    source,
                })?;
                (text, path.display().to_string())
            }
            None => (
                DEFAULT_STATEMENT_TEMPLATE.to_owned(),
                format!("embedded {TEMPLATE_FILE_NAME}"),
            ),
        };
        let fonts = fonts::load(templates_dir.map(|d| d.join("fonts")).as_deref())?;
        let root = templates_dir.map(Path::to_path_buf);
        let advances = charge_table::Advances::from_fonts(&fonts);
        Ok(Renderer {
            shared: world::Shared::new(text, origin, root, fonts),
            advances,
            renders: AtomicUsize::new(0),
        })
    }

    /// Renders one statement. `data` is the template data object of SPEC 8.10 (schema_version 1),
    /// exposed to the template as the virtual file `/data.json` (`#let data = json("/data.json")`).
    pub fn render_pdf(&self, data: &serde_json::Value) -> Result<Vec<u8>> {
        let table = self.charge_table(data);
        let world = self
            .shared
            .world(Bytes::new(data_json(data, table.as_ref())?));
        let mut document = typst::compile::<PagedDocument>(&world)
            .output
            .map_err(|errors| {
                RenderError::Template(errors.iter().map(|d| world.locate(d)).collect())
            })?;
        if let (Some(table), Some(advances)) = (&table, &self.advances) {
            document = detail_rows::paint(document, table, advances).map_err(RenderError::Pdf)?;
        }
        let options = PdfOptions {
            ident: str_field(data, "reference")
                .map_or(Smart::Auto, |r| Smart::Custom(r.to_owned())),
            timestamp: str_field(data, "generated_at_utc").and_then(utc_timestamp),
            // Untagged, as the Python project's WeasyPrint statements are: the structure tree
            // (one element per table cell, stored outside object streams) was two thirds of a
            // long statement's bytes, 3.5-4x the Python PDF for the same statement (issue 16,
            // item 10; measurements in BENCHMARKS.md).
            tagged: false,
            ..PdfOptions::default()
        };
        let pdf = typst_pdf::pdf(&document, &options).map_err(|errors| {
            let messages: Vec<String> = errors.iter().map(|d| d.message.to_string()).collect();
            RenderError::Pdf(messages.join("; "))
        })?;
        if self.renders.fetch_add(1, Ordering::Relaxed) % EVICT_EVERY == EVICT_EVERY - 1 {
            typst::comemo::evict(EVICT_MAX_AGE);
        }
        Ok(pdf)
    }

    /// The default template's charge details worked out for `data`, unless `data` already has a
    /// `charge_table` field or is not understood.
    fn charge_table(&self, data: &serde_json::Value) -> Option<charge_table::ChargeTable> {
        match (data.as_object(), &self.advances) {
            (Some(object), Some(advances)) if !object.contains_key(CHARGE_TABLE) => {
                charge_table::build(data, advances)
            }
            _ => None,
        }
    }

    /// Adds the configured logo (`statements.branding.logo`), readable by the template at
    /// [`logo_virtual_path`] wherever the file lives. Read once here, like the template.
    pub fn with_logo(mut self, logo: Option<&Path>) -> Result<Renderer> {
        if let Some(path) = logo {
            let bytes = std::fs::read(path).map_err(|source| RenderError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            self.shared.set_logo(&logo_virtual_path(path), bytes);
        }
        Ok(self)
    }

    /// Where the template came from (`embedded statement.typ` or its path), for messages.
    pub fn template_origin(&self) -> &str {
        self.shared.template_origin()
    }
}

/// The path under which the template reads the configured logo (`data.branding.logo`): a fixed
/// name with the file's own extension, which tells Typst the image format.
pub fn logo_virtual_path(logo: &Path) -> String {
    let ext = logo
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| "png".into());
    format!("/.ocb-branding/logo.{ext}")
}

/// Runs `job` once on each of `workers` threads (at least one) and returns when every run has
/// returned; a batch of statements is rendered by such threads, each taking the next statement.
///
/// Typst lays a document's pages out in parallel on rayon's thread pool. Called from ordinary
/// threads, every render hands its pages over to rayon's global pool (two more threads on a
/// two-core machine, spinning while they wait for work) and waits. The threads here form a rayon
/// pool of their own, so a render's parallel layout runs on the same threads, which take each
/// other's pages when idle: no hand-over, no extra threads.
pub fn on_render_threads(workers: usize, job: impl Fn() + Sync) -> std::io::Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers.max(1))
        .thread_name(|i| format!("ocb-render-{i}"))
        .build()
        .map_err(std::io::Error::other)?;
    pool.broadcast(|_| job());
    Ok(())
}

/// `/data.json`: the data object as given, plus the `charge_table` field when there is one.
fn data_json(
    data: &serde_json::Value,
    table: Option<&charge_table::ChargeTable>,
) -> Result<Vec<u8>> {
    let mut json = serde_json::to_vec(data)?;
    if let Some(table) = table {
        // `json` is an object (the table is only built for one), so it ends with `}`: insert the
        // field before it.
        json.pop();
        if json.len() > 1 {
            json.push(b',');
        }
        json.extend_from_slice(b"\"charge_table\":");
        serde_json::to_writer(&mut json, &table.to_json())?;
        json.push(b'}');
    }
    Ok(json)
}

fn str_field<'a>(data: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    data.get(key).and_then(serde_json::Value::as_str)
}

/// The PDF creation date, from `generated_at_utc` (RFC 3339); absent when it does not parse.
fn utc_timestamp(rfc3339: &str) -> Option<Timestamp> {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?.to_utc();
    let datetime = Datetime::from_ymd_hms(
        t.year(),
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    )?;
    Some(Timestamp::new_utc(datetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn renderer_is_shared_between_threads() {
        assert_send_sync::<Renderer>();
    }

    #[test]
    fn generated_at_utc_becomes_the_pdf_timestamp() {
        assert!(utc_timestamp("2025-02-03T14:05:09Z").is_some());
        assert!(utc_timestamp("2025-02-03T14:05:09+01:00").is_some());
        assert!(utc_timestamp("yesterday").is_none());
    }
}
