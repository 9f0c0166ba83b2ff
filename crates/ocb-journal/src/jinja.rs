//! A minijinja environment that renders Jinja2 templates written for the Python OpenChargeback
//! unchanged (SPEC §9.4, §10.10).
//!
//! Jinja2 behaviour reproduced here: `trim_blocks` and `lstrip_blocks`, no trailing newline kept,
//! lenient undefined values (print empty, attribute access on them fails), `None`/`True`/`False`
//! spellings, MarkupSafe's HTML escaping, printf-style `format` and Python's `str.format`
//! (`"{:,.2f}".format(x)`), mapping methods `.items()/.keys()/.values()/.get()`, and the upstream
//! filter `truncate_desc`. Escaping follows the template's extension; `.csv` templates get CSV
//! escaping with formula neutralisation.

use crate::csv_out::text_cell;
use minijinja::formatting::{format, FormatStyle};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{
    AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior, Value,
};
use ocb_core::amount::{group_thousands, Rounding};
use rust_decimal::Decimal;
use std::str::FromStr;

/// The custom auto-escape name of `.csv` templates.
const CSV_ESCAPE: &str = "csv";

/// Builds the environment; `rounding` is used by `format` and `money`, `currency` by `money`.
pub fn environment(rounding: Rounding, currency: &str) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("static syntax config"),
    );
    env.set_auto_escape_callback(escape_for);
    env.set_formatter(formatter);
    env.set_unknown_method_callback(unknown_method);
    env.add_filter("truncate_desc", truncate_desc);
    env.add_filter("csv", |v: &Value| {
        Value::from_safe_string(text_cell(&py_str(v)))
    });
    env.add_filter(
        "format",
        move |fmt: &Value, args: Rest<Value>| -> Result<Value, Error> {
            printf(fmt, &args, rounding)
        },
    );
    let symbol = currency.to_string();
    let money = move |v: &Value| -> Result<Value, Error> {
        let d = to_decimal(v)?;
        let cents = rounding.cents(d);
        let sign = if cents.is_sign_negative() && !cents.is_zero() {
            "-"
        } else {
            ""
        };
        Ok(Value::from_safe_string(format!(
            "{sign}{symbol}{}",
            group_thousands(cents.abs())
        )))
    };
    env.add_filter("money", money.clone());
    env.add_filter("currency", money);
    env
}

/// Escaping by extension: `.html`/`.htm`/`.xml` HTML, `.csv` CSV, anything else none.
fn escape_for(name: &str) -> AutoEscape {
    match name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
    {
        Some(ext) if matches!(ext.as_str(), "html" | "htm" | "xml") => AutoEscape::Html,
        Some(ext) if ext == "csv" => AutoEscape::Custom(CSV_ESCAPE.into()),
        _ => AutoEscape::None,
    }
}

/// Python's `str()` of a template value where Jinja2 and minijinja spell it differently.
fn py_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::None => "None".into(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        _ => v.to_string(),
    }
}

fn formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if value.is_undefined() {
        // Jinja2's default Undefined prints nothing; stricter behaviours refuse.
        return match state.undefined_behavior() {
            UndefinedBehavior::Lenient | UndefinedBehavior::Chainable => Ok(()),
            _ => Err(Error::from(ErrorKind::UndefinedError)),
        };
    }
    let safe_or_number = value.is_safe() || value.kind() == ValueKind::Number;
    let text = py_str(value);
    let written = match state.auto_escape() {
        AutoEscape::Html if !safe_or_number => html_escape(&text),
        AutoEscape::Custom(name) if name == CSV_ESCAPE && !safe_or_number => text_cell(&text),
        _ => text,
    };
    out.write_str(&written).map_err(Error::from)
}

/// MarkupSafe's escaping (Jinja2): `& < > " '` only.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `str.format` keeps Python's semantics and, like the `format` filter, counts as formatted
/// output (printed as is in CSV templates); other methods come from minijinja-contrib.
fn unknown_method(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if method == "format" {
        if let Some(s) = value.as_str() {
            return format(FormatStyle::StrFormat, s, args).map(Value::from_safe_string);
        }
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// Upstream's `truncate_desc(max_len=35)`: the first `max_len` characters, empty for null/empty.
fn truncate_desc(value: &Value, max_len: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let max_len = match kwargs.get::<Option<usize>>("max_len")? {
        Some(n) => n,
        None => max_len.unwrap_or(35),
    };
    kwargs.assert_all_used()?;
    if value.is_undefined() || value.is_none() || !value.is_true() {
        return Ok(String::new());
    }
    Ok(py_str(value).chars().take(max_len).collect())
}

/// An exact decimal for a template number (floats via their shortest representation).
fn to_decimal(v: &Value) -> Result<Decimal, Error> {
    let text = v.to_string();
    if v.kind() == ValueKind::Number || v.kind() == ValueKind::String {
        if let Ok(d) = Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)) {
            return Ok(d);
        }
    }
    Err(Error::new(
        ErrorKind::InvalidOperation,
        format!("not a number: {text}"),
    ))
}

/// printf-style `format`: floats under `%f`/`%F` are first rounded as decimals with the configured
/// mode (`"%.2f"|format(2.665)` is `2.66` half-even, `2.67` half-up), then formatted by
/// minijinja's Python-compatible implementation. The result is formatted output (not escaped).
fn printf(fmt: &Value, args: &[Value], rounding: Rounding) -> Result<Value, Error> {
    let s = fmt
        .as_str()
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "format string is not a string"))?;
    let mut args = args.to_vec();
    for (index, precision) in float_conversions(s) {
        if let Some(v) = args.get(index) {
            if v.kind() == ValueKind::Number && v.as_i64().is_none() {
                if let Ok(d) = to_decimal(v) {
                    let rounded = rounding.round_dp(d, precision);
                    if let Ok(f) = rounded.to_string().parse::<f64>() {
                        args[index] = Value::from(f);
                    }
                }
            }
        }
    }
    format(FormatStyle::Printf, s, &args).map(Value::from_safe_string)
}

/// Positional arguments consumed by `%f`/`%F` conversions, with their precision (default 6).
/// Mapping-style formats (`%(name)s`) are left alone.
fn float_conversions(s: &str) -> Vec<(usize, u32)> {
    let b = s.as_bytes();
    let (mut i, mut arg, mut found) = (0, 0, Vec::new());
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        i += 1;
        match b.get(i) {
            Some(b'%') => {
                i += 1;
                continue;
            }
            Some(b'(') => return vec![],
            _ => {}
        }
        while i < b.len() && b"-+ 0#".contains(&b[i]) {
            i += 1;
        }
        if b.get(i) == Some(&b'*') {
            arg += 1;
            i += 1;
        }
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let mut precision = Some(6u32);
        if b.get(i) == Some(&b'.') {
            i += 1;
            if b.get(i) == Some(&b'*') {
                // Precision taken from an argument: left to minijinja as is.
                precision = None;
                arg += 1;
                i += 1;
            } else {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                precision = Some(s[start..i].parse().unwrap_or(0).min(28));
            }
        }
        while i < b.len() && b"hlL".contains(&b[i]) {
            i += 1;
        }
        if let Some(&conv) = b.get(i) {
            if let (b'f' | b'F', Some(p)) = (conv, precision) {
                found.push((arg, p));
            }
            arg += 1;
            i += 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn render(name: &str, src: &str, rounding: Rounding, ctx: Value) -> String {
        let mut env = environment(rounding, "$");
        env.add_template_owned(name.to_string(), src.to_string())
            .expect("parses");
        env.get_template(name)
            .expect("loaded")
            .render(ctx)
            .expect("renders")
    }

    #[test]
    fn printf_rounds_decimals_with_the_configured_mode() {
        let src = r#"{{ "%.2f"|format(2.665) }} {{ "%.2f"|format(x) }} {{ "%d items"|format(3) }}"#;
        let ctx = context! { x => 1234.5 };
        assert_eq!(
            render("a.txt", src, Rounding::HalfEven, ctx.clone()),
            "2.66 1234.50 3 items"
        );
        assert_eq!(
            render("a.txt", src, Rounding::HalfUp, ctx),
            "2.67 1234.50 3 items"
        );
    }

    #[test]
    fn csv_templates_quote_and_neutralise_strings_but_not_numbers_or_formatted_output() {
        let src = r#"{{ a }},{{ b }},{{ n }},{{ "%.2f"|format(n) }},{{ "{:,.2f}".format(big) }},{{ a|safe }},{{ ok }}"#;
        let ctx =
            context! { a => "x,y", b => "=HYPERLINK()", n => -3.5, big => 1234.5, ok => true };
        assert_eq!(
            render("j.csv", src, Rounding::HalfEven, ctx.clone()),
            "\"x,y\",'=HYPERLINK(),-3.5,-3.50,1,234.50,x,y,True"
        );
        assert_eq!(
            render("j.txt", src, Rounding::HalfEven, ctx),
            "x,y,=HYPERLINK(),-3.5,-3.50,1,234.50,x,y,True"
        );
    }

    #[test]
    fn html_escaping_matches_markupsafe_and_money_groups_thousands() {
        let src = r#"{{ s }} {{ v|money }} {{ v|currency }} {{ none }}"#;
        let ctx = context! { s => "<a href='/x'>&\"", v => -1234.565, none => () };
        assert_eq!(
            render("m.html", src, Rounding::HalfUp, ctx),
            "&lt;a href=&#39;/x&#39;&gt;&amp;&#34; -$1,234.57 -$1,234.57 None"
        );
    }

    #[test]
    fn truncate_desc_like_upstream() {
        let src = r#"[{{ d|truncate_desc }}][{{ d|truncate_desc(4) }}][{{ missing|truncate_desc }}][{{ ""|truncate_desc }}]"#;
        let ctx = context! { d => "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789xyz" };
        assert_eq!(
            render("t.txt", src, Rounding::HalfEven, ctx),
            "[ABCDEFGHIJKLMNOPQRSTUVWXYZ012345678][ABCD][][]"
        );
    }

    #[test]
    fn float_conversion_positions() {
        assert_eq!(
            float_conversions("%s %.2f %%%5d %*.*f %F"),
            vec![(1, 2), (6, 6)]
        );
        assert!(float_conversions("%(x)s %.2f").is_empty());
    }
}
