//! The terminal form of a validate report (SPEC §3.8).

use super::FileReport;
use ocb_core::exact::ExactSum;
use std::fmt::Write as _;

/// Renders a report: a header line, one line per rule (`PASS|FAIL|WARN  ID name  count`) with
/// the examples of failing and warning rules, the periods with rows and billed totals (rounded
/// for display; the JSON form has them exact), and the result line.
///
/// ```text
/// aws.csv: csv, 12 rows, lite profile
/// PASS  L1 readable file with header and required columns  0
/// FAIL  L4 costs are numbers  1
///       line 17, BilledCost, "12,50": not a number
/// Periods:
///   2025-01  11 rows  $1,234.50
/// Result: FAIL (1 rules failed, 0 warnings)
/// ```
pub fn render_human(report: &FileReport, currency: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {}, {} rows, {} profile",
        report.path, report.kind, report.rows, report.profile
    );
    for rule in &report.rules {
        if rule.status == "skipped" {
            // Never a PASS for a rule that did not run (issue 16, item 11).
            let _ = writeln!(out, "SKIP  {} {}  not run", rule.id, rule.name);
            continue;
        }
        let _ = writeln!(
            out,
            "{:<4}  {} {}  {}",
            rule.status.to_ascii_uppercase(),
            rule.id,
            rule.name,
            rule.count
        );
        for ex in &rule.examples {
            let mut parts: Vec<String> = Vec::new();
            parts.extend(ex.line.clone());
            parts.extend(ex.column.clone());
            if let Some(v) = &ex.value {
                parts.push(format!("\"{v}\""));
            }
            if parts.is_empty() {
                let _ = writeln!(out, "      {}", ex.message);
            } else {
                let _ = writeln!(out, "      {}: {}", parts.join(", "), ex.message);
            }
        }
    }
    if !report.periods.is_empty() {
        out.push_str("Periods:\n");
        for p in &report.periods {
            let money = match p.billed_total.parse::<ExactSum>() {
                Ok(total) => total.money(currency),
                Err(_) => p.billed_total.clone(),
            };
            let _ = writeln!(out, "  {}  {} rows  {money}", p.period, p.rows);
        }
    }
    let (failed, warnings) = (report.failed_rules(), report.warning_rules());
    let skipped = report
        .rules
        .iter()
        .filter(|r| r.status == "skipped")
        .count();
    if skipped > 0 {
        let _ = writeln!(out, "{skipped} rules not run: the file could not be opened");
    }
    let _ = match (report.passed(), warnings) {
        (true, 0) => writeln!(out, "Result: PASS"),
        (true, _) => writeln!(out, "Result: PASS ({warnings} warnings)"),
        (false, _) => writeln!(
            out,
            "Result: FAIL ({failed} rules failed, {warnings} warnings)"
        ),
    };
    out
}
