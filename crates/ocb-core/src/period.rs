//! Billing periods: calendar months `YYYY-MM` in UTC, and their status (SPEC §6).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use std::fmt;
use std::str::FromStr;

/// A billing period, `YYYY-MM`. Orders chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: u16,
    month: u8,
}

/// A period string that does not match `^\d{4}-(0[1-9]|1[0-2])$`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid period '{0}': expected YYYY-MM with a month from 01 to 12")]
pub struct PeriodParseError(pub String);

impl Period {
    /// A period from year and month (1–12).
    pub fn new(year: u16, month: u8) -> Option<Self> {
        (1..=12).contains(&month).then_some(Self { year, month })
    }

    /// The period containing a UTC instant.
    pub fn of_instant(utc: &DateTime<Utc>) -> Self {
        Self {
            year: utc.year() as u16,
            month: utc.month() as u8,
        }
    }

    /// The period containing a date.
    pub fn of_date(date: NaiveDate) -> Self {
        Self {
            year: date.year() as u16,
            month: date.month() as u8,
        }
    }

    /// Year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// Month, 1–12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// First day of the month.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(i32::from(self.year), u32::from(self.month), 1)
            .expect("period month is 1-12")
    }

    /// Last day of the month.
    pub fn last_day(self) -> NaiveDate {
        self.next()
            .first_day()
            .pred_opt()
            .expect("a day precedes every month start")
    }

    /// The following month.
    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// `January 2025`.
    pub fn label(self) -> String {
        const NAMES: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        format!("{} {}", NAMES[usize::from(self.month - 1)], self.year)
    }
}

impl FromStr for Period {
    type Err = PeriodParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        let err = || PeriodParseError(s.to_string());
        if b.len() != 7 || b[4] != b'-' || !b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit) {
            return Err(err());
        }
        let year = s[..4].parse::<u16>().map_err(|_| err())?;
        let month = s[5..].parse::<u8>().map_err(|_| err())?;
        Self::new(year, month).ok_or_else(err)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Status of a billing period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodStatus {
    /// Accepts imports and review; statements are drafts.
    Open,
    /// No imports; review allowed; statements are final.
    Closed,
    /// Immutable.
    Finalized,
}

impl PeriodStatus {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Finalized => "finalized",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            "finalized" => Some(Self::Finalized),
            _ => None,
        }
    }
}

impl fmt::Display for PeriodStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transition a user asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodAction {
    /// open → closed
    Close,
    /// closed → open (reason required)
    Reopen,
    /// closed → finalized (guards)
    Finalize,
}

impl PeriodAction {
    /// The verb used in messages.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Close => "close",
            Self::Reopen => "reopen",
            Self::Finalize => "finalize",
        }
    }

    /// The status the action leads to.
    pub fn target(self) -> PeriodStatus {
        match self {
            Self::Close => PeriodStatus::Closed,
            Self::Reopen => PeriodStatus::Open,
            Self::Finalize => PeriodStatus::Finalized,
        }
    }
}

/// What a transition request amounts to, before guards that need data (SPEC §6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionCheck {
    /// The transition is allowed (data guards still apply to finalize).
    Allowed,
    /// The period is already in the target status: a no-op reported as such.
    AlreadyThere(String),
    /// Refused with a message naming the current status.
    Refused(String),
}

/// Checks a transition against the status machine.
pub fn check_transition(
    period: Period,
    from: PeriodStatus,
    action: PeriodAction,
) -> TransitionCheck {
    use PeriodAction::*;
    use PeriodStatus::*;
    if from == action.target() {
        return TransitionCheck::AlreadyThere(format!("Period {period} is already {from}"));
    }
    match (from, action) {
        (Open, Close) | (Closed, Reopen) | (Closed, Finalize) => TransitionCheck::Allowed,
        (Open, Finalize) => TransitionCheck::Refused(format!(
            "Cannot finalize period {period}: it is open (close it first)"
        )),
        _ => TransitionCheck::Refused(format!(
            "Cannot {} period {period}: it is {from}",
            action.verb()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("2025-01", true)]
    #[case("2025-12", true)]
    #[case("2025-13", false)]
    #[case("2025-00", false)]
    #[case("2025-1", false)]
    #[case("25-01", false)]
    #[case("2025/01", false)]
    #[case("２０２５-01", false)]
    fn period_syntax(#[case] input: &str, #[case] ok: bool) {
        assert_eq!(input.parse::<Period>().is_ok(), ok);
    }

    #[test]
    fn period_days_and_label() {
        let p: Period = "2024-02".parse().expect("valid");
        assert_eq!(p.last_day().to_string(), "2024-02-29");
        assert_eq!(p.label(), "February 2024");
        assert_eq!(
            "2024-12"
                .parse::<Period>()
                .expect("valid")
                .next()
                .to_string(),
            "2025-01"
        );
    }

    #[test]
    fn transitions_follow_the_state_machine() {
        let p: Period = "2025-01".parse().expect("valid");
        use PeriodAction::*;
        use PeriodStatus::*;
        assert_eq!(check_transition(p, Open, Close), TransitionCheck::Allowed);
        assert_eq!(
            check_transition(p, Open, Finalize),
            TransitionCheck::Refused(
                "Cannot finalize period 2025-01: it is open (close it first)".into()
            )
        );
        assert_eq!(
            check_transition(p, Finalized, Reopen),
            TransitionCheck::Refused("Cannot reopen period 2025-01: it is finalized".into())
        );
        assert_eq!(
            check_transition(p, Closed, Close),
            TransitionCheck::AlreadyThere("Period 2025-01 is already closed".into())
        );
    }
}
