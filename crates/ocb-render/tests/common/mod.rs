//! Test and benchmark helpers: statement data objects of SPEC 8.10 built from a few knobs, and text
//! extraction from real PDFs with poppler's `pdftotext`.
//!
//! Amounts are integer cents here (test-only; the real data comes from exact decimals in the
//! statement builder), formatted the way SPEC 8.8 prescribes: `$`, thousands separators, two
//! decimals, minus before the symbol.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

/// Where the tests expect poppler's text extractor.
pub const PDFTOTEXT: &str = "/usr/bin/pdftotext";

/// The documented example of `docs/statement-template.md`.
pub fn fixture() -> Value {
    let text = include_str!("../fixtures/statement-data.json");
    serde_json::from_str(text).expect("fixture is valid JSON")
}

/// What a generated statement looks like.
#[derive(Clone, Debug)]
pub struct Spec {
    pub charges: usize,
    pub fund_groups: usize,
    /// Compute gets 15% off and HPC is 100% subsidised; without it nothing is discounted.
    pub discount: bool,
    pub draft: bool,
    pub pi_email: String,
    pub pi_name: Option<String>,
    pub project: String,
    pub paper: &'static str,
    pub contact_email: Option<String>,
    pub lifecycle: Option<(&'static str, &'static str)>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            charges: 12,
            fund_groups: 1,
            discount: true,
            draft: false,
            pi_email: "zorp.blinkman@example.edu".into(),
            pi_name: Some("Zorp Blinkman".into()),
            project: "genomics-sequencing".into(),
            paper: "us-letter",
            contact_email: Some("hpc-billing@example.edu".into()),
            lifecycle: None,
        }
    }
}

const SERVICES: [&str; 4] = ["Compute", "Storage", "HPC", "AI Services"];

/// `-$1,234.50` from cents.
pub fn display(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}${grouped}.{:02}", abs % 100)
}

/// A money value `{exact, amount, display}`.
pub fn money(cents: i64) -> Value {
    let amount = format!(
        "{}{}.{:02}",
        if cents < 0 { "-" } else { "" },
        cents.unsigned_abs() / 100,
        cents.unsigned_abs() % 100
    );
    json!({ "exact": format!("{amount}00"), "amount": amount, "display": display(cents) })
}

/// A percent value per SPEC 8.2 (no decimals, except near 0 and 100), or null for a zero list.
pub fn percent(discount: i64, list: i64) -> Value {
    if list == 0 {
        return Value::Null;
    }
    let tenths = (discount * 1000 + list / 2) / list;
    let whole = (tenths + 5) / 10;
    let text = if (whole == 0 && discount != 0) || (whole == 100 && discount != list) {
        format!("{}.{}%", tenths / 10, tenths % 10)
    } else {
        format!("{whole}%")
    };
    json!({ "value": format!("{}.{}", tenths / 10, tenths % 10), "display": text })
}

#[derive(Default, Clone, Copy)]
struct Sum {
    list: i64,
    discount: i64,
}

impl Sum {
    fn add(&mut self, other: Sum) {
        self.list += other.list;
        self.discount += other.discount;
    }
    fn totals(self) -> Value {
        json!({
            "list": money(self.list),
            "discount": money(self.discount),
            "amount": money(self.list - self.discount),
            "discount_percent": percent(self.discount, self.list),
        })
    }
    fn service_row(self, service: &str) -> Value {
        let mut row = self.totals();
        row["service"] = json!(service);
        row["fully_subsidised"] = json!(self.list > 0 && self.discount == self.list);
        row
    }
}

fn fund_org(group: usize) -> String {
    format!("{:05}-{:03}", 12345 + group * 1111, 678 + group)
}

/// Builds a complete, internally consistent data object for `spec`.
pub fn statement(spec: &Spec) -> Value {
    let mut charges = Vec::new();
    let mut groups: BTreeMap<String, BTreeMap<&str, Sum>> = BTreeMap::new();
    let mut services: BTreeMap<&str, Sum> = BTreeMap::new();
    let mut total = Sum::default();
    for i in 0..spec.charges {
        let service = SERVICES[i % SERVICES.len()];
        let fund = fund_org(i % spec.fund_groups.max(1));
        let list = 1_000 + (i as i64 * 7_919) % 250_000;
        let discount = match (spec.discount, service) {
            (true, "Compute") => list * 15 / 100,
            (true, "HPC") => list,
            _ => 0,
        };
        let line = Sum { list, discount };
        groups
            .entry(fund.clone())
            .or_default()
            .entry(service)
            .or_default()
            .add(line);
        services.entry(service).or_default().add(line);
        total.add(line);
        charges.push(json!({
            "charge_id": 1000 + i,
            "date": format!("2025-01-{:02}", i % 31 + 1),
            "charge_period_start": format!("2025-01-{:02}T00:00:00Z", i % 31 + 1),
            "charge_period_end": format!("2025-01-{:02}T23:59:59Z", i % 31 + 1),
            "resource_id": format!("res-{i:05}"),
            "resource_name": format!("node-{i:05}"),
            "resource_label": format!("node-{i:05}"),
            "service": service,
            "fund_org": fund,
            "source": "demo",
            "list": money(list),
            "discount": money(discount),
            "amount": money(list - discount),
            "list_is_fallback": discount == 0,
        }));
    }
    let fund_groups: Vec<Value> = groups
        .iter()
        .map(|(fund, rows)| {
            let mut subtotal = Sum::default();
            rows.values().for_each(|s| subtotal.add(*s));
            json!({
                "fund_org": fund,
                "services": rows.iter().map(|(name, s)| s.service_row(name)).collect::<Vec<_>>(),
                "subtotal": subtotal.totals(),
            })
        })
        .collect();
    let lifecycle = spec.lifecycle.map(|(level, message)| {
        json!({
            "level": level, "end_date": "2025-03-31", "reconciliation_end": null,
            "days_remaining": 89, "message": message,
        })
    });
    json!({
        "schema_version": 1,
        "is_draft": spec.draft,
        "is_stale": false,
        "statement_id": 7,
        "reference": "202501-00007",
        "period": "2025-01",
        "period_label": "January 2025",
        "period_start": "2025-01-01",
        "period_end": "2025-01-31",
        "organization_name": "Example University",
        "contact_email": spec.contact_email,
        "currency": "$",
        "generated_at": "2025-02-03 09:15 EST",
        "generated_at_utc": "2025-02-03T14:15:00Z",
        "paper": spec.paper,
        "pi": { "email": spec.pi_email, "name": spec.pi_name },
        "project_id": spec.project,
        "fund_orgs": groups.keys().collect::<Vec<_>>(),
        "has_discount": total.discount > 0,
        "totals": total.totals(),
        "fund_groups": fund_groups,
        "services": services.iter().map(|(name, s)| s.service_row(name)).collect::<Vec<_>>(),
        "charges": charges,
        "lifecycle": lifecycle,
        "footnotes": ["Amounts are rounded individually; the summary above is authoritative."],
    })
}

/// True when poppler's `pdftotext` and `pdftoppm` are available; otherwise says why the calling
/// test is skipped. Under `.ci/run` (`OCB_REQUIRE_SYSTEM_TOOLS=1`, poppler installed) a missing
/// tool fails the test instead, so CI never passes without reading the PDFs.
pub fn have_poppler() -> bool {
    let found = Path::new(PDFTOTEXT).exists() && Path::new(PDFTOPPM).exists();
    let required = std::env::var_os("OCB_REQUIRE_SYSTEM_TOOLS").is_some_and(|v| v == "1");
    assert!(
        found || !required,
        "{PDFTOTEXT} and {PDFTOPPM} are required under .ci/run (apt-get install poppler-utils)"
    );
    if !found {
        eprintln!("SKIPPED: {PDFTOTEXT} or {PDFTOPPM} not found (install poppler-utils)");
    }
    found
}

/// Runs `pdftotext <args> file -` on the PDF bytes and returns its output.
pub fn pdftotext(pdf: &[u8], args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("statement.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let out = Command::new(PDFTOTEXT)
        .args(args)
        .arg(&path)
        .arg("-")
        .output()
        .expect("run pdftotext");
    assert!(
        out.status.success(),
        "pdftotext {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("pdftotext prints UTF-8")
}

/// The layout text of the whole document.
pub fn text(pdf: &[u8]) -> String {
    pdftotext(pdf, &["-layout"])
}

/// The layout text of page `k` (1-based).
pub fn page_text(pdf: &[u8], k: usize) -> String {
    let k = k.to_string();
    pdftotext(pdf, &["-layout", "-f", &k, "-l", &k])
}

/// Number of pages (pdftotext ends every page with a form feed).
pub fn page_count(pdf: &[u8]) -> usize {
    pdftotext(pdf, &[]).matches('\u{c}').count()
}

/// A word and its bounding box from `pdftotext -bbox`.
#[derive(Debug, Clone)]
pub struct Word {
    pub text: String,
    pub x_min: f64,
    pub y_min: f64,
    pub x_max: f64,
    pub y_max: f64,
}

impl Word {
    /// Whether the boxes share any area.
    pub fn intersects(&self, other: &Word) -> bool {
        self.overlaps_by(other, 0.0)
    }

    /// Whether the boxes overlap by more than `tolerance` points in both directions. Boxes span the
    /// font's full ascent and descent, so the boxes of tightly set lines may touch without any ink
    /// overlapping.
    pub fn overlaps_by(&self, other: &Word, tolerance: f64) -> bool {
        self.x_max.min(other.x_max) - self.x_min.max(other.x_min) > tolerance
            && self.y_max.min(other.y_max) - self.y_min.max(other.y_min) > tolerance
    }
}

/// Page width and the words of the first page, from `pdftotext -bbox`.
pub fn first_page_words(pdf: &[u8]) -> (f64, Vec<Word>) {
    page_words(&pdftotext(pdf, &["-bbox", "-f", "1", "-l", "1"])).swap_remove(0)
}

/// Every page's width and words (`pdftotext -bbox`), page by page.
#[allow(dead_code)] // not every test binary that includes this module uses it
pub fn all_page_words(pdf: &[u8]) -> Vec<(f64, Vec<Word>)> {
    page_words(&pdftotext(pdf, &["-bbox"]))
}

fn page_words(html: &str) -> Vec<(f64, Vec<Word>)> {
    let attr = |line: &str, name: &str| -> f64 {
        let start = line.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
        let end = start + line[start..].find('"').expect("closing quote");
        line[start..end].parse().expect("number")
    };
    let mut pages: Vec<(f64, Vec<Word>)> = Vec::new();
    for l in html.lines() {
        if l.contains("<page ") {
            pages.push((attr(l, "width"), Vec::new()));
        } else if l.trim_start().starts_with("<word ") {
            let page = pages.last_mut().expect("words are inside a page");
            page.1.push(Word {
                text: l[l.find('>').expect("tag end") + 1..l.rfind("</word>").expect("close")]
                    .replace("&amp;", "&")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\""),
                x_min: attr(l, "xMin"),
                y_min: attr(l, "yMin"),
                x_max: attr(l, "xMax"),
                y_max: attr(l, "yMax"),
            });
        }
    }
    assert!(!pages.is_empty(), "pdftotext found no page");
    pages
}

/// Where the tests expect poppler's rasteriser.
pub const PDFTOPPM: &str = "/usr/bin/pdftoppm";

/// Share of pixels in the middle band of page `k` (rows 30%–80%) that are clearly red, at 20 dpi.
/// The draft watermark is the only red element there (unless a red lifecycle notice is shown).
pub fn red_share(pdf: &[u8], k: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("statement.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let k = k.to_string();
    let out = Command::new(PDFTOPPM)
        .args(["-r", "20", "-f", &k, "-l", &k])
        .arg(&path)
        .output()
        .expect("run pdftoppm");
    assert!(out.status.success(), "pdftoppm failed");
    // Binary PPM: "P6\n<w> <h>\n255\n" then RGB triples.
    let mut fields = out.stdout.splitn(4, |b| *b == b'\n');
    let magic = fields.next().expect("magic");
    assert_eq!(magic, b"P6");
    let size = String::from_utf8_lossy(fields.next().expect("size")).to_string();
    let (w, h) = size.split_once(' ').expect("w h");
    let (w, h): (usize, usize) = (w.parse().expect("w"), h.parse().expect("h"));
    let _max = fields.next();
    let pixels = fields.next().expect("pixels");
    let (mut red, mut all) = (0usize, 0usize);
    for y in h * 3 / 10..h * 8 / 10 {
        for x in 0..w {
            let p = &pixels[(y * w + x) * 3..(y * w + x) * 3 + 3];
            let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
            all += 1;
            // Red (the watermark is rgb(200, 40, 40) at 14%), not amber (lifecycle warning).
            if r > g + 12 && r > b + 12 && (g - b).abs() <= 12 {
                red += 1;
            }
        }
    }
    red as f64 / all as f64
}
