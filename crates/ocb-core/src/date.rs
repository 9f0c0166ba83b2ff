//! FOCUS date and time cells (SPEC §3.4).
//!
//! A fixed list of forms is accepted; everything else (and every impossible date such as
//! `2025-02-30`) is an error. Instants are converted to UTC and written back in one canonical
//! RFC 3339 form, so `2025-01-01` and `2025-01-01T00:00:00Z` compare equal as text.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use std::fmt::Write as _;

/// Which accepted form a date cell used; `validate --strict` accepts only some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateForm {
    /// `YYYY-MM-DD`.
    DateOnly,
    /// `YYYY-MM-DD HH:MM:SS[.f]` (no zone: UTC).
    SpaceNaive,
    /// `YYYY-MM-DDTHH:MM:SS[.f]` (no zone: UTC).
    TNaive,
    /// A date-time with a `Z` suffix.
    Zulu,
    /// A date-time with an explicit `+hh:mm` / `-hh:mm` offset.
    Offset {
        /// Offset east of UTC in seconds.
        seconds: i32,
    },
    /// `M/D/YYYY` (US order), lite profile only.
    UsSlashes,
}

impl DateForm {
    /// True when the form carried a non-zero offset that was converted (warning `W_OFFSET`).
    pub fn converted_offset(self) -> bool {
        matches!(self, DateForm::Offset { seconds } if seconds != 0)
    }
}

/// A parsed FOCUS date: the UTC instant and the form it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FocusDate {
    /// The instant in UTC.
    pub utc: DateTime<Utc>,
    /// The form the cell used.
    pub form: DateForm,
}

impl FocusDate {
    /// The canonical RFC 3339 UTC form: `2025-01-01T00:00:00Z`, fraction only when non-zero.
    pub fn canonical(&self) -> String {
        canonical_instant(&self.utc)
    }

    /// The UTC calendar date.
    pub fn date(&self) -> NaiveDate {
        self.utc.date_naive()
    }
}

/// Writes an instant in the canonical stored form (hand-formatted: this runs twice per ingested row).
pub fn canonical_instant(utc: &DateTime<Utc>) -> String {
    let mut s = String::with_capacity(30);
    let (y, mo, d) = (utc.year(), utc.month(), utc.day());
    let (h, mi, se) = (utc.hour(), utc.minute(), utc.second());
    let _ = write!(s, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}");
    let nanos = utc.nanosecond();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parses a date cell. `allow_us` enables `M/D/YYYY` (lite profile, not `--strict`).
pub fn parse_focus_date(text: &str, allow_us: bool) -> Option<FocusDate> {
    let s = text.trim().as_bytes();
    if s.len() >= 10 && s[4] == b'-' && s[7] == b'-' {
        return parse_iso(s);
    }
    if allow_us {
        return parse_us(s);
    }
    None
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
}

fn parse_iso(s: &[u8]) -> Option<FocusDate> {
    let date = NaiveDate::from_ymd_opt(
        digits(&s[0..4])? as i32,
        digits(&s[5..7])?,
        digits(&s[8..10])?,
    )?;
    if s.len() == 10 {
        let utc = Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN));
        return Some(FocusDate {
            utc,
            form: DateForm::DateOnly,
        });
    }
    let sep = s[10];
    if (sep != b' ' && sep != b'T') || s.len() < 19 || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let (h, m, sec) = (
        digits(&s[11..13])?,
        digits(&s[14..16])?,
        digits(&s[17..19])?,
    );
    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix(b".") {
        let len = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 || len > 9 {
            return None;
        }
        nanos = digits(&frac[..len])? * 10u32.pow(9 - len as u32);
        rest = &frac[len..];
    }
    let time = NaiveTime::from_hms_nano_opt(h, m, sec, nanos)?;
    if sec > 59 {
        return None; // chrono accepts leap seconds only through nanos; FOCUS has none.
    }
    let naive = NaiveDateTime::new(date, time);
    let (offset, form) = match rest {
        b"" => (
            0,
            if sep == b' ' {
                DateForm::SpaceNaive
            } else {
                DateForm::TNaive
            },
        ),
        b"Z" | b"z" => (0, DateForm::Zulu),
        [sign @ (b'+' | b'-'), hh @ ..] if hh.len() == 5 && hh[2] == b':' => {
            let (oh, om) = (digits(&hh[0..2])?, digits(&hh[3..5])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = (oh * 3600 + om * 60) as i32;
            let secs = if *sign == b'-' { -secs } else { secs };
            (secs, DateForm::Offset { seconds: secs })
        }
        _ => return None,
    };
    let utc = Utc.from_utc_datetime(&(naive - chrono::Duration::seconds(i64::from(offset))));
    Some(FocusDate { utc, form })
}

fn parse_us(s: &[u8]) -> Option<FocusDate> {
    let mut parts = s.split(|&c| c == b'/');
    let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || m.len() > 2 || d.len() > 2 || y.len() != 4 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(digits(y)? as i32, digits(m)?, digits(d)?)?;
    let utc = Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN));
    Some(FocusDate {
        utc,
        form: DateForm::UsSlashes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("2025-01-01", "2025-01-01T00:00:00Z")]
    #[case("2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z")]
    #[case("2025-01-01 13:14:15", "2025-01-01T13:14:15Z")]
    #[case("2025-01-01T13:14:15.250", "2025-01-01T13:14:15.25Z")]
    #[case("2025-01-31T23:00:00-05:00", "2025-02-01T04:00:00Z")]
    #[case("2025-01-01T01:00:00+01:00", "2025-01-01T00:00:00Z")]
    #[case("1/5/2025", "2025-01-05T00:00:00Z")]
    #[case("12/31/2024", "2024-12-31T00:00:00Z")]
    #[case(" 2025-03-04 ", "2025-03-04T00:00:00Z")]
    fn accepted_forms_become_canonical_utc(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(
            parse_focus_date(input, true)
                .expect("valid date")
                .canonical(),
            expected
        );
    }

    #[rstest]
    #[case("2025-13-01")]
    #[case("2025-02-30")]
    #[case("2025-01-01 24:00:00")]
    #[case("2025-01-01T10:60:00")]
    #[case("2025-01-01T10:00:60")]
    #[case("2025/01/01")]
    #[case("01-01-2025")]
    #[case("2025-01-01T10:00")]
    #[case("2025-01-01T10:00:00.1234567890")]
    #[case("2025-01-01T10:00:00+5")]
    #[case("yesterday")]
    #[case("13/1/2025")]
    fn impossible_or_unknown_forms_fail(#[case] input: &str) {
        assert_eq!(parse_focus_date(input, true), None);
    }

    #[test]
    fn us_form_only_when_allowed() {
        assert!(parse_focus_date("1/5/2025", false).is_none());
    }

    #[test]
    fn offset_conversion_is_reported() {
        let d = parse_focus_date("2025-01-01T00:00:00+02:00", false).expect("valid");
        assert!(d.form.converted_offset());
        let z = parse_focus_date("2025-01-01T00:00:00+00:00", false).expect("valid");
        assert!(!z.form.converted_offset());
    }
}
