//! The charge-details table of the default template, worked out ahead of Typst.
//!
//! A long statement's time went mostly into its charge details: the template computed every row's
//! printed values, their widths from a table of advance widths, whether the row fits on one line
//! and where each value sits on it, in Typst's interpreter (about 1 M instructions per row). The
//! renderer does that arithmetic here, in microseconds, and hands the result to the template as the
//! extra field `charge_table` of `/data.json` (see `docs/statement-template.md`). Rows that fit on
//! one line are then drawn by the renderer itself ([`crate::detail_rows`]).
//!
//! Everything here follows the default template's design: DejaVu Sans at [`SIZE`] without kerning
//! or ligatures, cell insets of [`INSET_X`], page margins of [`MARGIN_X`]. The field carries those
//! values, and the template only uses it when they equal its own; a modified copy that changes
//! them lays its table out with Typst's automatic columns, as does any template when the field is
//! absent or null.
//!
//! Column widths (issue 16, item 9): the date and money columns are as wide as their longest value
//! or their bold header, whichever is wider, so headers never run into each other. The text
//! columns (resource, service, fund/org) share the rest: each gets its natural width when all fit
//! (the resource column takes what is left over); otherwise each keeps at least its longest word,
//! the service and fund/org columns then get their natural width while space lasts and the
//! resource column the rest, so values wrap at word boundaries and a short service name is not
//! wrapped to make room for a long resource name that wraps anyway (see [`share`]).
//!
//! A data object this code does not understand (a missing field, an amount that is not a decimal)
//! gets no `charge_table`: the template then reads the documented fields itself and reports the
//! problem with its line number.

use serde_json::{json, Map, Value};
use typst::text::{Font, FontStretch, FontStyle, FontVariant, FontVariations, FontWeight};

/// Font size of the details table, in pt.
pub const SIZE: f64 = 7.5;
/// Horizontal cell inset, in pt.
pub const INSET_X: f64 = 4.0;
/// Kept in the field for templates copied from earlier versions, which check it; the columns are
/// no longer capped (see the module documentation).
pub const COLUMN_CAP: f64 = 110.0;
/// Left and right page margin, in pt (1.8 cm).
pub const MARGIN_X: f64 = 1.8 * PT_PER_CM;
const PT_PER_CM: f64 = 72.0 / 2.54;
/// Both insets plus 1 pt, added to a column's longest value.
const PAD: f64 = 2.0 * INSET_X + 1.0;
/// Spare on every measured width, so rounding never turns "fits" into an overflow.
const SPARE: f64 = 1.02;
/// Characters after which an over-long word may be broken (as in the template's `breakable`).
const SEPARATORS: &[char] = &['.', '/', '@', '_', '+', ':', '=', '-'];

/// Glyph ids and advance widths (em) of one face, for the characters statements usually contain.
/// A value with any other character is not measured: it may be shaped differently (combining
/// marks, other scripts, a fallback font), so its row keeps Typst's own layout.
struct Face {
    /// Printable ASCII, indexed by `byte - 0x20`.
    ascii: [(u16, f64); 95],
    /// A few more characters that appear in figures and names.
    extra: Vec<(char, u16, f64)>,
}

const EXTRA: [char; 6] = ['–', '—', '…', '€', '£', '¥'];

impl Face {
    fn read(fonts: &[Font], weight: FontWeight) -> Option<(Face, Font)> {
        let variant = FontVariant::new(FontStyle::Normal, weight, FontStretch::NORMAL);
        let font = fonts
            .iter()
            .find(|f| f.info().family == "DejaVu Sans" && f.info().variant == variant)?;
        let instance = font.clone().instantiate(
            variant,
            typst::layout::Abs::pt(SIZE),
            &FontVariations::default(),
        );
        let glyph = |c: char| -> Option<(u16, f64)> {
            let id = instance.ttf().glyph_index(c)?;
            Some((id.0, instance.x_advance(id.0)?.get()))
        };
        let mut ascii = [(0, 0.0); 95];
        for (i, slot) in ascii.iter_mut().enumerate() {
            *slot = glyph(char::from(0x20 + i as u8))?;
        }
        let extra = EXTRA
            .iter()
            .map(|&c| glyph(c).map(|(id, w)| (c, id, w)))
            .collect::<Option<Vec<_>>>()?;
        Some((Face { ascii, extra }, font.clone()))
    }

    fn glyph(&self, c: char) -> Option<(u16, f64)> {
        match c {
            ' '..='~' => Some(self.ascii[c as usize - 0x20]),
            _ => self
                .extra
                .iter()
                .find(|(e, _, _)| *e == c)
                .map(|&(_, id, w)| (id, w)),
        }
    }

    fn em(&self, s: &str) -> Option<f64> {
        s.chars().map(|c| self.glyph(c).map(|g| g.1)).sum()
    }
}

/// Advance widths of the embedded DejaVu Sans, regular (values) and bold (headers).
pub struct Advances {
    regular: Face,
    bold: Face,
    /// The regular face, which the renderer draws one-line rows with.
    pub regular_font: Font,
}

impl Advances {
    /// From the embedded fonts (they come first in `fonts`); none when they cannot be read.
    pub fn from_fonts(fonts: &[Font]) -> Option<Advances> {
        let (regular, regular_font) = Face::read(fonts, FontWeight::REGULAR)?;
        let (bold, _) = Face::read(fonts, FontWeight::BOLD)?;
        Some(Advances {
            regular,
            bold,
            regular_font,
        })
    }

    /// Width of `s` in em on one line, or none when a character is not in the table.
    pub fn em(&self, s: &str) -> Option<f64> {
        self.regular.em(s)
    }

    /// Glyph id and advance (em) of `c` in the regular face.
    pub fn glyph(&self, c: char) -> Option<(u16, f64)> {
        self.regular.glyph(c)
    }

    /// Width in pt of `s` as measured for column widths: a value with an unknown character counts
    /// 1 em per byte (no glyph in the table is wider).
    fn estimate(&self, s: &str) -> f64 {
        match self.em(s) {
            Some(em) => em * SIZE * SPARE,
            None => s.len() as f64 * SIZE,
        }
    }
}

/// One charge row as the default template prints it.
pub struct Row {
    /// The printed values, one per column.
    pub values: Vec<String>,
    /// The list price is struck through (the charge has a discount).
    pub struck: bool,
    /// For a row whose values all fit on one line of their columns: where each value starts, in
    /// pt from the start of the row's text, and its width in pt.
    pub spans: Option<Vec<(f64, f64)>>,
    /// For a row that wraps: per value, the pieces Typst may break the value between (each word
    /// with its trailing space; a word too wide for its column is cut after separators).
    pieces: Vec<Option<Vec<String>>>,
}

/// The charge-details table: column widths and rows.
pub struct ChargeTable {
    /// Width of every column in pt: date, resource, service, [fund/org], [list, discount], amount.
    pub widths: Vec<f64>,
    /// One per charge, in the order of `charges`.
    pub rows: Vec<Row>,
    /// Index of the list-price column (struck when `Row::struck`), when there is one.
    pub list_column: Option<usize>,
}

/// The columns of the details table for a statement's shape.
struct Columns {
    headers: Vec<&'static str>,
    /// Index of the first right-aligned (money) column.
    money_from: usize,
}

impl Columns {
    fn new(several_groups: bool, with_discount: bool) -> Columns {
        let mut headers = vec!["Date", "Resource", "Service"];
        if several_groups {
            headers.push("Fund/Org");
        }
        let money_from = headers.len();
        if with_discount {
            headers.extend(["List", "Discount"]);
        }
        headers.push("Amount");
        Columns {
            headers,
            money_from,
        }
    }

    fn is_text(&self, i: usize) -> bool {
        (1..self.money_from).contains(&i)
    }
}

/// The table for `data`, or none when `data` is not a statement this code understands, its paper
/// is not one of the two the default template knows, or the columns cannot share the page.
pub fn build(data: &Value, advances: &Advances) -> Option<ChargeTable> {
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
        .map(|charge| row_values(charge, several_groups, with_discount))
        .collect::<Option<Vec<(Vec<String>, bool)>>>()?;
    let columns = Columns::new(several_groups, with_discount);
    let widths = column_widths(&columns, &rows, advances, body)?;
    let starts: Vec<f64> = widths
        .iter()
        .scan(0.0, |at, w| {
            let start = *at;
            *at += w;
            Some(start)
        })
        .collect();
    let rows = rows
        .into_iter()
        .map(|(values, struck)| {
            let spans = positions(&values, &widths, &starts, &columns, advances);
            let pieces = match spans {
                Some(_) => Vec::new(),
                None => pieces(&values, &widths, &columns, advances),
            };
            Row {
                values,
                struck,
                spans,
                pieces,
            }
        })
        .collect();
    Some(ChargeTable {
        widths,
        rows,
        list_column: with_discount.then_some(columns.money_from),
    })
}

impl ChargeTable {
    /// The `charge_table` field of `/data.json` (documented in `docs/statement-template.md`).
    pub fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut row = json!({ "values": r.values, "struck": r.struck, "gaps": gaps(r) });
                if r.spans.is_none() {
                    row["pieces"] = json!(r.pieces);
                }
                row
            })
            .collect();
        json!({
            "font": "DejaVu Sans",
            "size": mpt(SIZE),
            "inset_x": mpt(INSET_X),
            "column_cap": mpt(COLUMN_CAP),
            "margin_x": mpt(MARGIN_X),
            "widths": self.widths.iter().map(|w| mpt(*w)).collect::<Vec<_>>(),
            "row_markers": true,
            "rows": rows,
        })
    }
}

/// The widths of every column (see the module documentation); none when the date and money
/// columns leave the text columns less than 3 em each.
fn column_widths(
    columns: &Columns,
    rows: &[(Vec<String>, bool)],
    advances: &Advances,
    body: f64,
) -> Option<Vec<f64>> {
    let header = |i: usize| {
        advances
            .bold
            .em(columns.headers[i])
            .map_or(SIZE * 3.0, |em| em * SIZE * SPARE)
    };
    let widest = |i: usize, measure: &dyn Fn(&str) -> f64| {
        rows.iter()
            .map(|(values, _)| measure(&values[i]))
            .fold(header(i).max(SIZE * 3.0), f64::max)
            + PAD
    };
    let natural: Vec<f64> = (0..columns.headers.len())
        .map(|i| widest(i, &|v| advances.estimate(v)))
        .collect();
    let fixed: f64 = (0..natural.len())
        .filter(|&i| !columns.is_text(i))
        .map(|i| natural[i])
        .sum();
    let text: Vec<usize> = (1..columns.money_from).collect();
    let available = body - fixed;
    if available < text.len() as f64 * (SIZE * 3.0 + PAD) {
        return None;
    }
    let word = |v: &str| {
        v.split(' ')
            .map(|w| advances.estimate(w))
            .fold(0.0, f64::max)
    };
    let least: Vec<f64> = text.iter().map(|&i| widest(i, &word)).collect();
    let wanted: Vec<f64> = text.iter().map(|&i| natural[i]).collect();
    let shares = share(&least, &wanted, available);
    let mut widths = natural;
    for (k, &i) in text.iter().enumerate() {
        widths[i] = shares[k];
    }
    Some(widths)
}

/// Shares `available` between columns that want `wanted` and need at least `least`; the first is
/// the resource column, whose long values wrap anyway when not all fit.
///
/// - All they want fits: so be it, the resource column takes the rest.
/// - Else each gets its least, then the others (service, fund/org: short labels) get what they
///   still lack, smallest lack first, while the spare lasts, and the resource column the rest:
///   a service name then stays on one line while a resource name wraps between its words.
/// - Not even the least fits: from the column that needs least, each its least or an equal share
///   of what is left, whichever is smaller (one very long word takes the squeeze).
fn share(least: &[f64], wanted: &[f64], available: f64) -> Vec<f64> {
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    if sum(wanted) <= available {
        let mut widths = wanted.to_vec();
        widths[0] += available - sum(wanted);
        return widths;
    }
    let by = |key: &dyn Fn(usize) -> f64, from: usize| {
        let mut order: Vec<usize> = (from..least.len()).collect();
        order.sort_by(|&a, &b| key(a).total_cmp(&key(b)));
        order
    };
    if sum(least) >= available {
        let order = by(&|i| least[i], 0);
        let mut widths = vec![0.0; least.len()];
        let mut left = available;
        for (k, &i) in order.iter().enumerate() {
            widths[i] = least[i].min(left / (order.len() - k) as f64);
            left -= widths[i];
        }
        return widths;
    }
    let mut widths = least.to_vec();
    let mut spare = available - sum(least);
    for i in by(&|i| wanted[i] - least[i], 1) {
        let more = (wanted[i] - least[i]).min(spare);
        widths[i] += more;
        spare -= more;
    }
    widths[0] += spare;
    widths
}

/// A length in pt as a whole number of thousandths of a point. Lengths go to the template as
/// integers because the workspace builds serde_json with `arbitrary_precision`, under which Typst's
/// `json()` reads a fractional number as a dictionary. A thousandth of a point is far below what
/// a printer or screen shows; the fit of a row is decided on the unrounded widths.
fn mpt(pt: f64) -> i64 {
    (pt * 1000.0).round() as i64
}

/// Where each value of a row starts, and its width, when the row fits on one line: a left-aligned
/// value where its column's text starts, a right-aligned one so that it ends where its column's
/// text ends. None
/// when the row does not fit: a value with an unknown character, too wide for its column, or with
/// leading, trailing or doubled spaces (which the line would not keep as typed).
fn positions(
    values: &[String],
    widths: &[f64],
    starts: &[f64],
    columns: &Columns,
    advances: &Advances,
) -> Option<Vec<(f64, f64)>> {
    let mut spans = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let em = advances.em(value)?;
        if em * SIZE * SPARE + PAD > widths[i] || value.trim() != value || value.contains("  ") {
            return None;
        }
        let width = em * SIZE;
        let x = if i >= columns.money_from {
            starts[i] + widths[i] - 2.0 * INSET_X - width
        } else {
            starts[i]
        };
        spans.push((x, width));
    }
    Some(spans)
}

/// The spacing (pt) before each value of a one-line row except the first (at the line's start)
/// and the last (pushed to the right edge by the template), as earlier templates read it.
fn gaps(r: &Row) -> Option<Vec<i64>> {
    let spans = r.spans.as_ref()?;
    let last = spans.len() - 1;
    Some(
        (1..last)
            .map(|i| mpt(spans[i].0 - (spans[i - 1].0 + spans[i - 1].1)))
            .collect(),
    )
}

/// The pieces of each text value of a wrapping row (none for the date and money columns).
fn pieces(
    values: &[String],
    widths: &[f64],
    columns: &Columns,
    advances: &Advances,
) -> Vec<Option<Vec<String>>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            columns
                .is_text(i)
                .then(|| split(v, widths[i] - PAD, advances))
        })
        .collect()
}

/// `value` cut into pieces at its spaces (each piece keeps its trailing spaces); a word wider than
/// `room` is cut further, after its last separator that keeps the piece within `room`, else (no
/// such separator) where the room ends. The pieces concatenate to `value`.
fn split(value: &str, room: f64, advances: &Advances) -> Vec<String> {
    let mut pieces = Vec::new();
    for word in value.split_inclusive(' ') {
        if advances.estimate(word.trim_end()) <= room {
            pieces.push(word.to_owned());
        } else {
            cut_word(word, room, advances, &mut pieces);
        }
    }
    pieces
}

fn cut_word(word: &str, room: f64, advances: &Advances, pieces: &mut Vec<String>) {
    let mut rest = word;
    while advances.estimate(rest.trim_end()) > room {
        let fits: Vec<(usize, char)> = rest
            .char_indices()
            .take_while(|&(i, c)| advances.estimate(&rest[..i + c.len_utf8()]) <= room)
            .collect();
        let Some(&(last, last_char)) = fits.last() else {
            // Not even one character fits: give it a piece of its own.
            let first = rest.chars().next().map_or(rest.len(), char::len_utf8);
            pieces.push(rest[..first].to_owned());
            rest = &rest[first..];
            continue;
        };
        let end = fits
            .iter()
            .rev()
            .find(|(_, c)| SEPARATORS.contains(c))
            .map_or(last + last_char.len_utf8(), |&(i, c)| i + c.len_utf8());
        pieces.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        pieces.push(rest.to_owned());
    }
}

/// The printed values of a charge and whether its list price is struck through.
fn row_values(
    charge: &Value,
    several_groups: bool,
    with_discount: bool,
) -> Option<(Vec<String>, bool)> {
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
    Some((values, struck))
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
        // Bold is wider: the headers are measured with it.
        assert!(adv.bold.em("Discount").unwrap() > adv.em("Discount").unwrap());
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
        let charge = json!({
            "date": "2025-01-03", "resource_label": null, "resource_name": "", "resource_id": "r-1",
            "service": null, "fund_org": "F-1",
            "list": {"display": "$10.00"}, "discount": {"amount": "1.50", "display": "$1.50"},
            "amount": {"display": "$8.50"},
        });
        let (values, struck) = row_values(&charge, true, true).unwrap();
        assert_eq!(
            values,
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
        assert!(struck);
        let mut surcharge = charge.clone();
        surcharge["discount"] = json!({"amount": "-5.00", "display": "-$5.00"});
        surcharge["resource_name"] = Value::Null;
        let (values, struck) = row_values(&surcharge, false, true).unwrap();
        assert_eq!(
            values,
            ["2025-01-03", "r-1", "N/A", "$10.00", "+$5.00", "$8.50"]
        );
        assert!(!struck);
        assert!(row_values(&json!({"date": "2025-01-03"}), false, false).is_none());
    }

    #[test]
    fn text_columns_get_what_they_want_when_it_fits_else_their_longest_word() {
        // All fit: the resource column (first) takes the rest.
        assert_eq!(share(&[10.0, 10.0], &[50.0, 30.0], 100.0), [70.0, 30.0]);
        // Not all fit: each keeps its least; the service gets what it lacks (10), the resource
        // the rest of the spare.
        assert_eq!(share(&[30.0, 20.0], &[60.0, 30.0], 70.0), [40.0, 30.0]);
        assert_eq!(
            share(&[30.0, 20.0, 10.0], &[60.0, 30.0, 40.0], 75.0),
            [30.0, 30.0, 15.0]
        );
        // Not even the longest words fit: the smaller need is met, the larger takes the rest.
        assert_eq!(share(&[60.0, 10.0], &[90.0, 30.0], 40.0), [30.0, 10.0]);
        assert_eq!(share(&[60.0, 30.0], &[90.0, 30.0], 40.0), [20.0, 20.0]);
    }

    #[test]
    fn a_wrapping_value_is_cut_between_words_and_long_words_after_separators() {
        let adv = advances();
        let room = ["zorp.blinkman@example.edu)", "chat.completion.5.reasoning"]
            .iter()
            .map(|w| adv.estimate(w))
            .fold(0.0, f64::max);
        let value = "OpenAI chat.completion.5.reasoning (user: zorp.blinkman@example.edu)";
        let pieces = split(value, room, &adv);
        assert_eq!(pieces.concat(), value);
        assert_eq!(
            pieces,
            [
                "OpenAI ",
                "chat.completion.5.reasoning ",
                "(user: ",
                "zorp.blinkman@example.edu)"
            ]
        );
        // A word wider than the column is cut after its last separator that still fits.
        let narrow = adv.estimate("zorp.blinkman@");
        let pieces = split("zorp.blinkman@example.edu", narrow, &adv);
        assert_eq!(pieces, ["zorp.blinkman@", "example.edu"]);
        // No separator: cut where the room ends; every piece fits.
        let pieces = split(&"W".repeat(30), narrow, &adv);
        assert_eq!(pieces.concat(), "W".repeat(30));
        assert!(pieces.iter().all(|p| adv.estimate(p) <= narrow));
        // Not one character fits: one per piece, nothing lost, no endless loop.
        assert_eq!(split("ab", 0.1, &adv), ["a", "b"]);
    }

    #[test]
    fn headers_set_the_width_of_narrow_money_columns() {
        let adv = advances();
        let charge = json!({"date": "2025-01-03", "resource_label": "node", "service": "S",
            "list": {"display": "$4.75"}, "discount": {"amount": "0.00", "display": "$0.00"},
            "amount": {"display": "$4.75"}});
        let data = json!({"fund_groups": [], "has_discount": true, "paper": "a4",
            "charges": [charge]});
        let table = build(&data, &adv).unwrap();
        let discount = adv.bold.em("Discount").unwrap() * SIZE;
        assert!(table.widths[4] >= discount + PAD, "{:?}", table.widths);
        let body = 21.0 * PT_PER_CM - 2.0 * MARGIN_X;
        assert!((table.widths.iter().sum::<f64>() - body).abs() < 1e-6);
        let spans = table.rows[0].spans.as_ref().unwrap();
        // The amount ends where its column's text ends.
        let (x, w) = spans[5];
        let end: f64 = table.widths.iter().sum::<f64>() - INSET_X;
        assert!((x + w + INSET_X - end).abs() < 1e-6, "{spans:?}");
        assert!(table.to_json()["rows"][0]["pieces"].is_null());
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
                charge(&"W".repeat(120)),
                charge(" x"),
            ]),
            &adv,
        )
        .unwrap();
        assert_eq!(table.widths.len(), 4);
        assert!(table.rows[0].spans.is_some());
        for r in &table.rows[1..] {
            assert!(r.spans.is_none(), "{:?}", r.values);
        }
        let json = table.to_json();
        assert_eq!(json["rows"][0]["gaps"].as_array().unwrap().len(), 2);
        assert!(json["rows"][2]["pieces"][1].as_array().unwrap().len() > 1);
        assert!(build(
            &json!({"fund_groups": [], "has_discount": false, "paper": "a5", "charges": []}),
            &adv
        )
        .is_none());
    }
}
