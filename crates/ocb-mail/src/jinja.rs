//! A minijinja environment that behaves like Jinja2 for the templates operators bring from
//! upstream (SPEC §9.4):
//!
//! - Python methods on values (`dict.items()`, `.get(k, default)`, `str.upper()` …) via
//!   minijinja-contrib's pycompat callback;
//! - HTML escaping exactly like Jinja2/markupsafe (`& < > " '`; minijinja alone also escapes `/`),
//!   for templates named `.html`/`.htm`/`.xml` only, and the same rule in `|e`/`|escape`;
//! - `truncate(length=255, killwords=False, end='...', leeway=5)` with positional arguments as in
//!   Jinja2 (minijinja-contrib's version takes keywords only; `leeway` is keyword-only here);
//! - the built-in printf `format`, `default`, `length`, `replace`, `join`, `round` …;
//! - lenient undefined values (print empty), Jinja2's default.
//!
//! Two helpers for our own templates: `money` (alias `currency`: currency symbol, thousands
//! separators, two decimals) and `percent` (the display rule of SPEC §8.2).

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, Value};
use ocb_core::amount::MoneyDisplay;
use ocb_core::Decimal;
use std::str::FromStr;

/// markupsafe's escaping.
fn markupsafe(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
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

fn formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    let text = if value.is_undefined() {
        String::new()
    } else if value.is_none() {
        "None".to_string()
    } else {
        value.to_string()
    };
    let escaped = match state.auto_escape() {
        AutoEscape::Html if !value.is_safe() => markupsafe(&text),
        _ => text,
    };
    out.write_str(&escaped).map_err(Error::from)
}

fn escape(value: &Value) -> Value {
    if value.is_safe() {
        return value.clone();
    }
    Value::from_safe_string(markupsafe(&value.to_string()))
}

/// `leeway` is accepted as keyword only (minijinja filters take at most five parameters).
fn truncate(
    value: &Value,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let length = kwargs.get::<Option<usize>>("length")?.or(length);
    let killwords = kwargs.get::<Option<bool>>("killwords")?.or(killwords);
    let end = kwargs.get::<Option<String>>("end")?.or(end);
    let leeway = kwargs.get::<Option<usize>>("leeway")?;
    kwargs.assert_all_used()?;
    if value.is_undefined() || value.is_none() {
        return Ok(Value::from(""));
    }
    let s = value.to_string();
    let length = length.unwrap_or(255);
    let end = end.unwrap_or_else(|| "...".into());
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway.unwrap_or(5) {
        return Ok(Value::from(s));
    }
    let keep: String = chars[..length.saturating_sub(end.chars().count())]
        .iter()
        .collect();
    let cut = if killwords.unwrap_or(false) {
        keep
    } else {
        // Jinja2: drop the last (partial) word.
        keep.rsplit_once(' ')
            .map_or(keep.clone(), |(head, _)| head.to_string())
    };
    Ok(Value::from(format!("{cut}{end}")))
}

/// A template number as an exact decimal (numbers arrive as `f64` already rounded to cents).
fn decimal_of(value: &Value) -> Result<Decimal, Error> {
    let text = match value.kind() {
        ValueKind::Number => match f64::try_from(value.clone()) {
            Ok(f) if value.as_i64().is_none() => format!("{f}"),
            _ => value.to_string(),
        },
        _ => value.to_string(),
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("not an amount: {value}"),
            )
        })
}

fn money(state: &State, value: &Value) -> Result<String, Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(String::new());
    }
    let currency = state
        .lookup("currency")
        .and_then(|c| c.as_str().map(str::to_string))
        .unwrap_or_else(|| "$".into());
    Ok(MoneyDisplay {
        amount: decimal_of(value)?,
        currency: &currency,
    }
    .to_string())
}

fn percent(value: &Value) -> Result<String, Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(String::new());
    }
    Ok(ocb_core::statement::percent_display(decimal_of(value)?))
}

/// The Jinja2-compatible environment (no templates loaded).
pub fn new_env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    minijinja_contrib::add_to_environment(&mut env);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") || name.ends_with(".htm") || name.ends_with(".xml") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(formatter);
    env.add_filter("e", escape);
    env.add_filter("escape", escape);
    env.add_filter("truncate", truncate);
    env.add_filter("money", money);
    env.add_filter("currency", money);
    env.add_filter("percent", percent);
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn render(name: &str, src: &str, ctx: Value) -> String {
        let mut env = new_env();
        env.add_template_owned(name.to_string(), src.to_string())
            .expect("compile");
        env.get_template(name)
            .expect("get")
            .render(ctx)
            .expect("render")
    }

    #[test]
    fn escapes_like_markupsafe_in_html_only() {
        let ctx = context! { s => "a/b <c> & 'd' \"e\"" };
        assert_eq!(
            render("x.html", "{{ s }}", ctx.clone()),
            "a/b &lt;c&gt; &amp; &#39;d&#39; &#34;e&#34;"
        );
        assert_eq!(
            render("x.txt", "{{ s }}", ctx.clone()),
            "a/b <c> & 'd' \"e\""
        );
        assert_eq!(
            render("x.txt", "{{ s|e }}", ctx.clone()),
            "a/b &lt;c&gt; &amp; &#39;d&#39; &#34;e&#34;"
        );
        assert_eq!(
            render("x.html", "{{ s|e }}|{{ s|safe }}", ctx),
            "a/b &lt;c&gt; &amp; &#39;d&#39; &#34;e&#34;|a/b <c> & 'd' \"e\""
        );
    }

    #[test]
    fn truncate_matches_jinja2() {
        let ctx = context! { s => "foo bar baz qux" };
        assert_eq!(
            render("t", "{{ s|truncate(11) }}", ctx.clone()),
            "foo bar baz qux",
            "within leeway"
        );
        assert_eq!(
            render("t", "{{ s|truncate(9, leeway=0) }}", ctx.clone()),
            "foo..."
        );
        assert_eq!(
            render("t", "{{ s|truncate(9, True, '>', leeway=0) }}", ctx.clone()),
            "foo bar >"
        );
        assert_eq!(render("t", "{{ none_here|truncate(3) }}", ctx), "");
    }

    #[test]
    fn printf_money_percent_and_undefined() {
        let ctx = context! { x => 2307.75f64, big => -1234567.5f64, n => 3, p => 99.6f64, currency => "€" };
        assert_eq!(
            render("t", "{{ '%.2f'|format(x) }} {{ big|money }} {{ n|money }} {{ p|percent }} [{{ missing }}] {{ x > 2000 }}", ctx),
            "2307.75 -€1,234,567.50 €3.00 99.6% [] True"
        );
    }
}
