//! The audit record of a run in `text`, `json` (JSON Lines) or `splunk` form
//! (INTEGRATIONS.md §1.9).

use crate::kind::Kind;
use crate::money::fmt2;
use crate::report::Conversion;
use serde_json::{Map, Value};

/// A field value: strings are quoted in splunk and JSON strings; integers are bare numbers;
/// decimals (money, hours) are bare in splunk and strings in JSON (exactness).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditValue {
    /// Text.
    Str(String),
    /// A count.
    Int(i64),
    /// A decimal already printed (2 places for money).
    Dec(String),
}

impl AuditValue {
    /// A text value.
    pub fn s(v: impl Into<String>) -> Self {
        Self::Str(v.into())
    }
    /// A count.
    pub fn n(v: impl TryInto<i64>) -> Self {
        Self::Int(v.try_into().unwrap_or(i64::MAX))
    }
    /// Money / a 2-place quantity.
    pub fn d2(v: rust_decimal::Decimal) -> Self {
        Self::Dec(fmt2(v))
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFormat {
    /// `field: value` lines under a title.
    Text,
    /// JSON Lines.
    Json,
    /// `field=value` on one line.
    Splunk,
}

impl std::str::FromStr for AuditFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            "splunk" => Ok(Self::Splunk),
            _ => Err(format!("unknown audit format '{s}' (text, json or splunk)")),
        }
    }
}

/// What the caller knows about the run (clock, host, files).
#[derive(Debug, Clone)]
pub struct AuditRun {
    /// RFC 3339 UTC with milliseconds.
    pub timestamp: String,
    /// OS user.
    pub user: String,
    /// Host name.
    pub host: String,
    /// Source name.
    pub source: String,
    /// `YYYY-MM` (empty for `--init`).
    pub billing_period: String,
    /// `convert` or `dry-run`.
    pub mode: String,
    /// Input paths.
    pub inputs: Vec<String>,
    /// Output path ("" when none).
    pub output_file: String,
    /// Wall time.
    pub duration_ms: u64,
    /// Exit code of the run.
    pub exit_code: u8,
}

/// The ordered fields of a run's record; `conv` is None when the run failed before converting.
pub fn audit_fields(
    kind: Kind,
    run: &AuditRun,
    conv: Option<&Conversion>,
) -> Vec<(String, AuditValue)> {
    use AuditValue as V;
    let mut f: Vec<(String, AuditValue)> = vec![
        ("timestamp".into(), V::s(&run.timestamp)),
        ("eventType".into(), V::s(kind.event_type())),
        ("user".into(), V::s(&run.user)),
        ("host".into(), V::s(&run.host)),
        ("converter".into(), V::s(kind.name())),
        ("source".into(), V::s(&run.source)),
        ("billingPeriod".into(), V::s(&run.billing_period)),
        ("mode".into(), V::s(&run.mode)),
        ("inputs".into(), V::s(run.inputs.join(";"))),
        ("outputFile".into(), V::s(&run.output_file)),
        ("durationMs".into(), V::n(run.duration_ms)),
    ];
    let (read, charged, rows, unmapped, skipped, errors, warnings, totals) = match conv {
        Some(c) => (
            c.items_read,
            c.items_charged,
            c.rows.len() as u64,
            c.buckets.unmapped.len() as u64,
            c.buckets.skipped_count(),
            c.buckets.errors.len() as u64,
            c.buckets.warnings.len() as u64,
            Some(c.totals()),
        ),
        None => (0, 0, 0, 0, 0, 0, 0, None),
    };
    for (k, v) in [
        ("itemsRead", read),
        ("itemsCharged", charged),
        ("rowsEmitted", rows),
        ("unmapped", unmapped),
        ("skipped", skipped),
        ("errors", errors),
        ("warnings", warnings),
    ] {
        f.push((k.into(), V::n(v)));
    }
    let zero = rust_decimal::Decimal::ZERO;
    let (list, billed) = totals.map_or((zero, zero), |t| (t.list, t.billed));
    f.push(("totalListCost".into(), V::d2(list)));
    f.push(("totalBilledCost".into(), V::d2(billed)));
    f.push(("totalSubsidyAmount".into(), V::d2(list - billed)));
    f.push(("exitCode".into(), V::n(run.exit_code)));
    if let Some(c) = conv {
        f.extend(c.audit_extras.iter().cloned());
    }
    f
}

fn splunk_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Renders a record; the result ends with a newline (text: and a blank line).
pub fn render(format: AuditFormat, title: &str, fields: &[(String, AuditValue)]) -> String {
    match format {
        AuditFormat::Text => {
            let mut s = format!("=== {title} - Audit Log ===\n");
            for (k, v) in fields {
                let v = match v {
                    AuditValue::Str(x) | AuditValue::Dec(x) => x.clone(),
                    AuditValue::Int(n) => n.to_string(),
                };
                s.push_str(&format!("{k}: {v}\n"));
            }
            s.push('\n');
            s
        }
        AuditFormat::Json => {
            let m: Map<String, Value> = fields
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        AuditValue::Str(x) | AuditValue::Dec(x) => Value::String(x.clone()),
                        AuditValue::Int(n) => Value::from(*n),
                    };
                    (k.clone(), v)
                })
                .collect();
            format!("{}\n", Value::Object(m))
        }
        AuditFormat::Splunk => {
            let parts: Vec<String> = fields
                .iter()
                .map(|(k, v)| match v {
                    AuditValue::Str(x) => format!("{k}={}", splunk_str(x)),
                    AuditValue::Dec(x) => format!("{k}={x}"),
                    AuditValue::Int(n) => format!("{k}={n}"),
                })
                .collect();
            format!("{}\n", parts.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splunk_quotes_strings_and_leaves_numbers_bare() {
        let f = vec![
            ("a".to_string(), AuditValue::s("x \"y\" \\z")),
            ("b".to_string(), AuditValue::n(3)),
            ("c".to_string(), AuditValue::Dec("8.00".into())),
            ("d".to_string(), AuditValue::s("")),
        ];
        assert_eq!(
            render(AuditFormat::Splunk, "T", &f),
            "a=\"x \\\"y\\\" \\\\z\" b=3 c=8.00 d=\"\"\n"
        );
        assert_eq!(
            render(AuditFormat::Json, "T", &f),
            "{\"a\":\"x \\\"y\\\" \\\\z\",\"b\":3,\"c\":\"8.00\",\"d\":\"\"}\n"
        );
        assert_eq!(
            render(AuditFormat::Text, "T", &f[1..2]),
            "=== T - Audit Log ===\nb: 3\n\n"
        );
    }
}
