//! The charge-details table of the default template, worked out ahead of Typst.
//!
//! A long statement's time went mostly into its charge details: the template computed every row's
//! printed values, their widths from a table of advance widths, whether the row fits on one line
//! and where each value sits on it, in Typst's interpreter (about 1 M instructions per row). The
//! renderer now does that arithmetic here, in microseconds, and hands the result to the template
//! as the extra field `charge_table` of `/data.json` (see `docs/statement-template.md`).
//!
//! Everything here follows the default template's design: DejaVu Sans at [`SIZE`] without kerning
//! or ligatures, cell insets of [`INSET_X`], the service and fund/org columns capped at
//! [`COLUMN_CAP`], page margins of [`MARGIN_X`]. The field carries those values, and the template
//! only uses it when they equal its own; a modified copy that changes them measures its table
//! itself, as does any template when the field is absent or null.
//!
//! A data object this code does not understand (a missing field, an amount that is not a decimal)
//! gets no `charge_table`: the template then reads the documented fields itself and reports the
//! problem with its line number, as before.

use serde_json::{json, Map, Value};
use typst::text::{Font, FontVariant, FontVariations};

/// Font size of the details table, in pt.
pub const SIZE: f64 = 7.5;
/// Horizontal cell inset, in pt.
pub const INSET_X: f64 = 4.0;
/// Widest a service or fund/org column gets, in pt (a longer value wraps inside its cell).
pub const COLUMN_CAP: f64 = 110.0;
/// Left and right page margin, in pt (1.8 cm).
pub const MARGIN_X: f64 = 1.8 * PT_PER_CM;
const PT_PER_CM: f64 = 72.0 / 2.54;
/// Both insets plus 1 pt, added to a column's longest value.
const PAD: f64 = 2.0 * INSET_X + 1.0;
/// Spare on every measured width, so rounding never turns "fits" into an overflow.
const SPARE: f64 = 1.02;

/// Advance widths (em) of the characters statements usually contain, read from the embedded
/// DejaVu Sans. A value with any other character is not measured: it may be shaped differently
/// (combining marks, other scripts, a fallback font), so its row keeps Typst's own layout.
pub struct Advances {
    /// Printable ASCII, indexed by `byte - 0x20`.
    ascii: [f64; 95],
    /// A few more characters that appear in figures and names.
    extra: Vec<(char, f64)>,
}

const EXTRA: [char; 6] = ['–', '—', '…', '€', '£', '¥'];

impl Advances {
    /// From the regular face of DejaVu Sans (the embedded fonts come first in `fonts`).
    pub fn from_fonts(fonts: &[Font]) -> Option<Advances> {
        let font = fonts.iter().find(|f| {
            f.info().family == "DejaVu Sans" && f.info().variant == FontVariant::default()
        })?;
        let instance = font.clone().instantiate(
            FontVariant::default(),
            typst::layout::Abs::pt(SIZE),
            &FontVariations::default(),
        );
        let advance = |c: char| -> Option<f64> {
            let glyph = instance.ttf().glyph_index(c)?;
            Some(instance.x_advance(glyph.0)?.get())
        };
        let mut ascii = [0.0; 95];
        for (i, slot) in ascii.iter_mut().enumerate() {
            *slot = advance(char::from(0x20 + i as u8))?;
        }
        let extra = EXTRA
            .iter()
            .map(|&c| Some((c, advance(c)?)))
            .collect::<Option<Vec<_>>>()?;
        Some(Advances { ascii, extra })
    }

    fn of(&self, c: char) -> Option<f64> {
        match c {
            ' '..='~' => Some(self.ascii[c as usize - 0x20]),
            _ => self.extra.iter().find(|(e, _)| *e == c).map(|(_, w)| *w),
        }
    }

    /// Width of `s` in em on one line, or none when a character is not in the table.
    pub fn em(&self, s: &str) -> Option<f64> {
        s.chars().map(|c| self.of(c)).sum()
    }
}

/// One charge row as the default template prints it.
struct Row {
    values: Vec<String>,
    ems: Vec<Option<f64>>,
    /// The list price is struck through (the charge has a discount).
    struck: bool,
}

/// The `charge_table` field for `data`, or none when `data` is not a statement this code
/// understands or its paper is not one of the two the default template knows.
pub fn build(data: &Value, advances: &Advances) -> Option<Value> {
    let several_groups = data.get("fund_groups")?.as_array()?.len() > 1;
    let with_discount = data.get("has_discount")?.as_bool()?;
    let paper_width = match data.get("paper")?.as_str()? {
        "a4" => 21.0 * PT_PER_CM,
        "us-letter" => 21.59 * PT_PER_CM,
        _ => return None,
    };
    let body = paper_width - 2.0 * MARGIN_X;
    let rows = data
        .get("charges")?
        .as_array()?
        .iter()
        .map(|charge| row(charge, several_groups, with_discount, advances))
        .collect::<Option<Vec<Row>>>()?;

    let right_from = if with_discount { 3 } else { 1 };
    let columns = 3 + usize::from(several_groups) + right_from;
    let aligned_right = |i: usize| i >= columns - right_from;
    // As wide as the longest value (a value with an unknown character counts 1 em per byte: no
    // glyph in the table is wider), at least 3 em; capped for service and fund/org; the resource
    // column takes the rest of the page.
    let longest = |i: usize| {
        let widest = rows
            .iter()
            .map(|r| match r.ems[i] {
                Some(em) => em * SIZE * SPARE,
                None => r.values[i].len() as f64 * SIZE,
            })
            .fold(SIZE * 3.0, f64::max);
        widest + PAD
    };
    let mut widths: Vec<f64> = (0..columns)
        .map(|i| match i {
            1 => 0.0,
            0 => longest(i),
            _ if aligned_right(i) => longest(i),
            _ => longest(i).min(COLUMN_CAP),
        })
        .collect();
    widths[1] = body - widths.iter().sum::<f64>();
    let starts: Vec<f64> = widths
        .iter()
        .scan(0.0, |at, w| {
            let start = *at;
            *at += w;
            Some(start)
        })
        .collect();

    let rows: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let gaps = gaps(&r, &widths, &starts, &aligned_right);
            let gaps = gaps.map(|g| g.into_iter().map(mpt).collect::<Vec<_>>());
            json!({ "values": r.values, "struck": r.struck, "gaps": gaps })
        })
        .collect();
    Some(json!({
        "font": "DejaVu Sans",
        "size": mpt(SIZE),
        "inset_x": mpt(INSET_X),
        "column_cap": mpt(COLUMN_CAP),
        "margin_x": mpt(MARGIN_X),
        "widths": widths.into_iter().map(mpt).collect::<Vec<_>>(),
        "rows": rows,
    }))
}

/// A length in pt as a whole number of thousandths of a point. Lengths go to the template as
/// integers because the workspace builds serde_json with `arbitrary_precision`, under which Typst's
/// `json()` reads a fractional number as a dictionary. A thousandth of a point is far below what
/// a printer or screen shows; the fit of a row is decided on the unrounded widths.
fn mpt(pt: f64) -> i64 {
    (pt * 1000.0).round() as i64
}

/// The spacing (pt) before each value of a row that fits on one line, except the first value
/// (at the line's start) and the last (pushed to the right edge by the template): a left-aligned
/// value starts where its column's text starts, a right-aligned one ends where its column's text
/// ends. None when the row does not fit: a value with an unknown character, too wide for its
/// column, or with leading, trailing or doubled spaces (which the line would not keep as typed).
fn gaps(
    r: &Row,
    widths: &[f64],
    starts: &[f64],
    aligned_right: &dyn Fn(usize) -> bool,
) -> Option<Vec<f64>> {
    let mut gaps = Vec::with_capacity(r.values.len());
    let mut pos = 0.0;
    let last = r.values.len() - 1;
    for (i, (value, em)) in r.values.iter().zip(&r.ems).enumerate() {
        let em = (*em)?;
        if em * SIZE * SPARE + PAD > widths[i] || value.trim() != value || value.contains("  ") {
            return None;
        }
        let width = em * SIZE;
        let x = if aligned_right(i) {
            starts[i] + widths[i] - 2.0 * INSET_X - width
        } else {
            starts[i]
        };
        if i > 0 && i < last {
            gaps.push(x - pos);
        }
        pos = x + width;
    }
    Some(gaps)
}

fn row(charge: &Value, several_groups: bool, with_discount: bool, adv: &Advances) -> Option<Row> {
    let charge = charge.as_object()?;
    let mut values = vec![or_na(charge.get("date")?)?, resource_text(charge)?];
    values.push(or_na(charge.get("service")?)?);
    if several_groups {
        values.push(or_na(charge.get("fund_org")?)?);
    }
    let mut struck = false;
    if with_discount {
        let discount = charge.get("discount")?;
        let sign = sign(discount.get("amount")?.as_str()?)?;
        let shown = discount.get("display")?.as_str()?;
        values.push(charge.get("list")?.get("display")?.as_str()?.to_owned());
        values.push(match sign {
            1 => format!("-{shown}"),
            -1 => format!("+{}", shown.trim_start_matches('-')),
            _ => "–".to_owned(),
        });
        struck = sign > 0;
    }
    values.push(charge.get("amount")?.get("display")?.as_str()?.to_owned());
    let ems = values.iter().map(|v| adv.em(v)).collect();
    Some(Row {
        values,
        ems,
        struck,
    })
}

/// `resource_label`, else `resource_name`, else `resource_id`; `N/A` when empty.
fn resource_text(charge: &Map<String, Value>) -> Option<String> {
    let label = match charge.get("resource_label") {
        Some(Value::Null) | None => match charge.get("resource_name")? {
            Value::Null => charge.get("resource_id")?,
            name => name,
        },
        Some(label) => label,
    };
    or_na(label)
}

/// The value, `N/A` for null or an empty string; none for anything but a string or null.
fn or_na(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some("N/A".to_owned()),
        Value::String(s) if s.is_empty() => Some("N/A".to_owned()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The sign of a decimal string such as `-412.25` or `0.00`; none when it is not one.
fn sign(amount: &str) -> Option<i8> {
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount.strip_prefix('+').unwrap_or(amount)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    Some(if !digits.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        0
    } else if negative {
        -1
    } else {
        1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advances() -> Advances {
        Advances::from_fonts(&crate::fonts::load(None).unwrap()).unwrap()
    }

    #[test]
    fn advances_are_those_of_dejavu_sans() {
        let adv = advances();
        // hmtx of DejaVu Sans: '0' 1303, 'W' 2025, ' ' 651, '—' 2048 units of 2048.
        assert_eq!(adv.em("0"), Some(1303.0 / 2048.0));
        assert_eq!(adv.em("W"), Some(2025.0 / 2048.0));
        assert_eq!(adv.em("W W"), Some((2.0 * 2025.0 + 651.0) / 2048.0));
        assert_eq!(adv.em("—"), Some(1.0));
        assert_eq!(adv.em("Ø"), None);
    }

    #[test]
    fn signs_of_decimal_strings() {
        assert_eq!(sign("62.25"), Some(1));
        assert_eq!(sign("-412.25"), Some(-1));
        assert_eq!(sign("0.00"), Some(0));
        assert_eq!(sign("-0.00"), Some(0));
        assert_eq!(sign("7"), Some(1));
        assert_eq!(sign("1e3"), None);
        assert_eq!(sign(""), None);
        assert_eq!(sign(".5"), None);
    }

    #[test]
    fn values_follow_the_default_template() {
        let adv = advances();
        let charge = json!({
            "date": "2025-01-03", "resource_label": null, "resource_name": "", "resource_id": "r-1",
            "service": null, "fund_org": "F-1",
            "list": {"display": "$10.00"}, "discount": {"amount": "1.50", "display": "$1.50"},
            "amount": {"display": "$8.50"},
        });
        let r = row(&charge, true, true, &adv).unwrap();
        assert_eq!(
            r.values,
            [
                "2025-01-03",
                "N/A",
                "N/A",
                "F-1",
                "$10.00",
                "-$1.50",
                "$8.50"
            ]
        );
        assert!(r.struck);
        let mut surcharge = charge.clone();
        surcharge["discount"] = json!({"amount": "-5.00", "display": "-$5.00"});
        surcharge["resource_name"] = Value::Null;
        let r = row(&surcharge, false, true, &adv).unwrap();
        assert_eq!(
            r.values,
            ["2025-01-03", "r-1", "N/A", "$10.00", "+$5.00", "$8.50"]
        );
        assert!(!r.struck);
        assert!(row(&json!({"date": "2025-01-03"}), false, false, &adv).is_none());
    }

    #[test]
    fn a_row_fits_unless_a_value_is_too_wide_or_unknown() {
        let adv = advances();
        let charge = |resource: &str| {
            json!({"date": "2025-01-03", "resource_label": resource, "service": "Compute",
                   "amount": {"display": "$8.50"}})
        };
        let data = |charges: Vec<Value>| json!({"fund_groups": [], "has_discount": false, "paper": "a4", "charges": charges});
        let table = build(
            &data(vec![
                charge("node-1"),
                charge("Ørsted"),
                charge(&"W".repeat(80)),
                charge(" x"),
            ]),
            &adv,
        )
        .unwrap();
        let widths: Vec<i64> = serde_json::from_value(table["widths"].clone()).unwrap();
        assert_eq!(widths.len(), 4);
        let body = 21.0 * PT_PER_CM - 2.0 * MARGIN_X;
        assert!((widths.iter().sum::<i64>() as f64 / 1000.0 - body).abs() < 0.003);
        let rows = table["rows"].as_array().unwrap();
        assert_eq!(
            rows[0]["values"],
            json!(["2025-01-03", "node-1", "Compute", "$8.50"])
        );
        // Resource starts one column width after the date's start.
        let date = adv.em("2025-01-03").unwrap() * SIZE;
        let gap = rows[0]["gaps"][0].as_i64().unwrap() as f64 / 1000.0;
        assert!(
            (gap - (widths[0] as f64 / 1000.0 - date)).abs() < 0.002,
            "{gap}"
        );
        assert_eq!(rows[0]["gaps"].as_array().unwrap().len(), 2);
        for r in &rows[1..] {
            assert!(r["gaps"].is_null(), "{r}");
        }
        assert!(build(
            &json!({"fund_groups": [], "has_discount": false, "paper": "a5", "charges": []}),
            &adv
        )
        .is_none());
    }
}
