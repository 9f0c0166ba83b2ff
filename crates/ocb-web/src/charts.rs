//! Server-rendered charts (SPEC §12.7): pure functions from exact figures to inline SVG.
//!
//! No JavaScript and no inline styles (the CSP forbids both): colours come from classes
//! (`s0`…`s7`, `list`, `billed`) that app.css maps to CSS variables, so the charts follow the
//! light/dark theme; text uses `currentColor`. Amounts stay `Decimal`; `f64` appears only
//! when an amount becomes a pixel coordinate. Every text that comes from data is XML-escaped
//! here, because the page inserts the SVG unescaped.

use ocb_core::amount::group_thousands;
use ocb_core::Decimal;

/// One stacked series (a source): one value per period, in the order of the periods.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Values per period.
    pub values: Vec<Decimal>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 40.0;
/// Distinct series colours in app.css; more series reuse them (the legend and titles still
/// tell them apart, so colour is never the only carrier of meaning).
const PALETTE: usize = 8;

/// XML text and attribute escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An amount rounded to cents with the currency (hover titles).
fn money(currency: &str, d: Decimal) -> String {
    crate::view::money(currency, d)
}

/// An amount rounded to whole units (labels, axis), e.g. `$20,227`.
fn whole(currency: &str, d: Decimal) -> String {
    let r = d.round();
    let sign = if r.is_sign_negative() && !r.is_zero() {
        "-"
    } else {
        ""
    };
    let text = group_thousands(r.abs());
    format!("{sign}{currency}{}", text.trim_end_matches(".00"))
}

/// A round axis maximum (1, 2 or 5 × 10ⁿ) at or above `v`.
fn nice_ceiling(v: Decimal) -> Decimal {
    if v <= Decimal::ZERO {
        return Decimal::ONE;
    }
    let mut step = Decimal::ONE;
    while step * Decimal::TEN <= v {
        step *= Decimal::TEN;
    }
    while step > v && step > Decimal::new(1, 2) {
        step /= Decimal::TEN;
    }
    for m in [1, 2, 5, 10] {
        let c = step * Decimal::from(m);
        if c >= v {
            return c;
        }
    }
    step * Decimal::TEN
}

/// The value axis: exact domain and the mapping to pixels.
struct Axis {
    lo: Decimal,
    hi: Decimal,
}

impl Axis {
    fn new(lo: Decimal, hi: Decimal) -> Self {
        let hi = nice_ceiling(hi.max(Decimal::ZERO));
        let lo = if lo < Decimal::ZERO {
            -nice_ceiling(-lo)
        } else {
            Decimal::ZERO
        };
        Self { lo, hi }
    }

    /// Pixel y of a value (the only place amounts turn into floats).
    fn y(&self, v: Decimal) -> f64 {
        let span = f64::try_from(self.hi - self.lo).unwrap_or(1.0);
        let frac = f64::try_from(v - self.lo).unwrap_or(0.0) / span;
        TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - frac)
    }

    fn ticks(&self) -> Vec<Decimal> {
        let step = (self.hi - self.lo) / Decimal::from(4);
        (0..=4).map(|i| self.lo + step * Decimal::from(i)).collect()
    }
}

fn open(id: &str, title: &str, desc: &str) -> String {
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        escape(title),
        escape(desc)
    )
}

fn grid(out: &mut String, axis: &Axis, currency: &str) {
    for t in axis.ticks() {
        let y = axis.y(t);
        out.push_str(&format!(
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"currentColor\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            escape(&whole(currency, t))
        ));
    }
}

/// Period labels under each band; `band` is the band width.
fn period_labels(out: &mut String, periods: &[String], band: f64) {
    for (i, p) in periods.iter().enumerate() {
        let x = LEFT + band * (i as f64 + 0.5);
        out.push_str(&format!(
            "<text class=\"axis\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"currentColor\">{}</text>",
            HEIGHT - BOTTOM + 16.0,
            escape(p)
        ));
    }
}

fn rect(out: &mut String, class: &str, x: f64, w: f64, y0: f64, y1: f64, title: &str) {
    let (top, h) = (y0.min(y1), (y1 - y0).abs());
    out.push_str(&format!(
        "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{top:.1}\" width=\"{w:.1}\" height=\"{h:.1}\"><title>{}</title></rect>",
        escape(title)
    ));
}

fn label(out: &mut String, x: f64, y: f64, text: &str) {
    out.push_str(&format!(
        "<text class=\"label\" x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\" fill=\"currentColor\">{}</text>",
        escape(text)
    ));
}

/// Stacked bars per period (billed cost by source), with each period's total above its bar.
/// Positive values stack upwards from zero and credits downwards, so a refund never hides spend.
pub fn stacked_bars(
    id: &str,
    title: &str,
    periods: &[String],
    series: &[Series],
    currency: &str,
) -> String {
    let n = periods.len().max(1);
    let total = |i: usize| {
        series
            .iter()
            .map(|s| s.values.get(i).copied().unwrap_or_default())
            .sum::<Decimal>()
    };
    let pos = |i: usize| {
        series
            .iter()
            .map(|s| {
                s.values
                    .get(i)
                    .copied()
                    .unwrap_or_default()
                    .max(Decimal::ZERO)
            })
            .sum::<Decimal>()
    };
    let neg = |i: usize| {
        series
            .iter()
            .map(|s| {
                s.values
                    .get(i)
                    .copied()
                    .unwrap_or_default()
                    .min(Decimal::ZERO)
            })
            .sum::<Decimal>()
    };
    let axis = Axis::new(
        (0..periods.len()).map(neg).min().unwrap_or_default(),
        (0..periods.len()).map(pos).max().unwrap_or_default(),
    );
    let desc = format!(
        "Stacked bars for {} periods and {} series; the table below lists the figures.",
        periods.len(),
        series.len()
    );
    let mut out = open(id, title, &desc);
    grid(&mut out, &axis, currency);
    let band = (WIDTH - LEFT - RIGHT) / n as f64;
    let w = band * 0.6;
    for (i, p) in periods.iter().enumerate() {
        let x = LEFT + band * i as f64 + (band - w) / 2.0;
        let (mut up, mut down) = (Decimal::ZERO, Decimal::ZERO);
        for (k, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or_default();
            if v.is_zero() {
                continue;
            }
            let base = if v > Decimal::ZERO {
                &mut up
            } else {
                &mut down
            };
            let (from, to) = (*base, *base + v);
            *base = to;
            let t = format!("{} — {p}: {}", s.name, money(currency, v));
            rect(
                &mut out,
                &format!("s{}", k % PALETTE),
                x,
                w,
                axis.y(from),
                axis.y(to),
                &t,
            );
        }
        label(
            &mut out,
            x + w / 2.0,
            axis.y(up) - 5.0,
            &whole(currency, total(i)),
        );
    }
    period_labels(&mut out, periods, band);
    out.push_str("</svg>");
    out
}

/// List and billed totals side by side per period, with the subsidy value (list − billed)
/// labelled above each pair.
pub fn list_vs_billed(
    id: &str,
    title: &str,
    periods: &[String],
    list: &[Decimal],
    billed: &[Decimal],
    currency: &str,
) -> String {
    let n = periods.len().max(1);
    let all = list.iter().chain(billed);
    let axis = Axis::new(
        all.clone()
            .copied()
            .min()
            .unwrap_or_default()
            .min(Decimal::ZERO),
        all.copied().max().unwrap_or_default(),
    );
    let desc = format!(
        "List price and billed totals for {} periods; the difference is the subsidy value.",
        periods.len()
    );
    let mut out = open(id, title, &desc);
    grid(&mut out, &axis, currency);
    let band = (WIDTH - LEFT - RIGHT) / n as f64;
    let w = band * 0.34;
    for (i, p) in periods.iter().enumerate() {
        let l = list.get(i).copied().unwrap_or_default();
        let b = billed.get(i).copied().unwrap_or_default();
        let x = LEFT + band * i as f64 + band * 0.14;
        let zero = axis.y(Decimal::ZERO);
        rect(
            &mut out,
            "list",
            x,
            w,
            zero,
            axis.y(l),
            &format!("List price — {p}: {}", money(currency, l)),
        );
        rect(
            &mut out,
            "billed",
            x + w,
            w,
            zero,
            axis.y(b),
            &format!("Billed — {p}: {}", money(currency, b)),
        );
        let subsidy = l - b;
        label(
            &mut out,
            x + w,
            axis.y(l.max(b).max(Decimal::ZERO)) - 5.0,
            &whole(currency, subsidy),
        );
    }
    period_labels(&mut out, periods, band);
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    fn periods(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(d("0")), d("1"));
        assert_eq!(nice_ceiling(d("7")), d("10"));
        assert_eq!(nice_ceiling(d("20227.00")), d("50000"));
        assert_eq!(nice_ceiling(d("150")), d("200"));
        assert_eq!(nice_ceiling(d("0.3")), d("0.5"));
        assert_eq!(whole("$", d("20226.5")), "$20,226");
        assert_eq!(whole("$", d("-1234.6")), "-$1,235");
    }

    #[test]
    fn stacked_bars_have_titles_totals_and_accessible_names() {
        let svg = stacked_bars(
            "spend",
            "Monthly spend by source",
            &periods(&["2024-12", "2025-01"]),
            &[
                Series {
                    name: "AWS".into(),
                    values: vec![d("100.005"), d("50")],
                },
                Series {
                    name: "HPC <b>".into(),
                    values: vec![d("0"), d("25.50")],
                },
            ],
            "$",
        );
        assert!(svg.starts_with("<svg class=\"chart\""));
        assert!(svg.contains("aria-labelledby=\"spend-t spend-d\""));
        assert!(svg.contains("<title id=\"spend-t\">Monthly spend by source</title>"));
        assert!(
            svg.contains("<title>AWS — 2024-12: $100.00</title>"),
            "half-even cents in titles"
        );
        assert!(
            svg.contains("<title>HPC &lt;b&gt; — 2025-01: $25.50</title>"),
            "data escaped"
        );
        assert!(!svg.contains("<b>"));
        assert!(
            svg.contains(">$76</text>"),
            "period total label (75.50 rounds half-even to 76)"
        );
        assert_eq!(svg.matches("<rect").count(), 3, "zero values draw nothing");
        assert!(!svg.contains("style="), "no inline styles under the CSP");
        assert!(svg.contains("class=\"s1\""));
    }

    #[test]
    fn bars_scale_to_the_axis_and_credits_go_below_zero() {
        let svg = stacked_bars(
            "c",
            "t",
            &periods(&["2025-01"]),
            &[
                Series {
                    name: "A".into(),
                    values: vec![d("100")],
                },
                Series {
                    name: "B".into(),
                    values: vec![d("-50")],
                },
            ],
            "$",
        );
        let axis = Axis::new(d("-50"), d("100"));
        assert_eq!((axis.lo, axis.hi), (d("-50"), d("100")));
        // The zero line sits two thirds down the plot; A rises from it, B hangs below it.
        let zero = axis.y(Decimal::ZERO);
        assert!(svg.contains(&format!("y=\"{:.1}\"", axis.y(d("100")))));
        assert!(svg.contains(&format!("y=\"{zero:.1}\"")));
        assert!(svg.contains(">$50</text>"), "net total");
    }

    #[test]
    fn subsidy_is_list_minus_billed() {
        let svg = list_vs_billed(
            "s",
            "List vs billed",
            &periods(&["2025-01"]),
            &[d("1000")],
            &[d("250.40")],
            "€",
        );
        assert!(svg.contains("<title>List price — 2025-01: €1,000.00</title>"));
        assert!(svg.contains("<title>Billed — 2025-01: €250.40</title>"));
        assert!(svg.contains(">€750</text>"));
    }

    #[test]
    fn empty_input_still_draws_a_valid_frame() {
        let svg = stacked_bars("e", "Nothing yet", &[], &[], "$");
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 0);
    }
}
