//! Project lifecycle notice on statements (SPEC §8.9), from the `end_date` and
//! `reconciliation_end` tags of the statement's charges (the latest valid date of each).

use crate::period::Period;
use chrono::NaiveDate;

/// Severity band of the notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleLevel {
    /// 91–180 days left.
    Info,
    /// 31–90 days left.
    Warning,
    /// 1–30 days left.
    Urgent,
    /// The end date is on or before the first day of the period.
    Expired,
    /// The reconciliation end passed before the period started.
    Closed,
}

impl LifecycleLevel {
    /// Template spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Urgent => "urgent",
            Self::Expired => "expired",
            Self::Closed => "closed",
        }
    }
}

/// The notice shown on a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// Band.
    pub level: LifecycleLevel,
    /// Latest project end date.
    pub end_date: Option<NaiveDate>,
    /// Latest reconciliation end.
    pub reconciliation_end: Option<NaiveDate>,
    /// `end_date` − first day of the period, in days.
    pub days_remaining: Option<i64>,
    /// The sentence shown.
    pub message: String,
}

/// Computes the notice for `period`; `None` when no band applies.
pub fn lifecycle(
    period: Period,
    end_dates: impl IntoIterator<Item = Option<NaiveDate>>,
    reconciliation_ends: impl IntoIterator<Item = Option<NaiveDate>>,
) -> Option<Lifecycle> {
    let end_date = end_dates.into_iter().flatten().max();
    let reconciliation_end = reconciliation_ends.into_iter().flatten().max();
    let first = period.first_day();
    let days = end_date.map(|e| (e - first).num_days());
    let (level, message) = match (reconciliation_end, end_date, days) {
        (Some(r), _, _) if r < first => (
            LifecycleLevel::Closed,
            format!("This project has been closed since {r}; please provide alternate funding for any further charges."),
        ),
        (_, Some(e), Some(d)) if d <= 0 => (
            LifecycleLevel::Expired,
            format!("This project ended on {e}; later charges are held for review."),
        ),
        (_, Some(e), Some(1..=30)) => (
            LifecycleLevel::Urgent,
            format!("This is the final month before the project end date ({e}); please complete the wind-down."),
        ),
        (_, Some(e), Some(31..=90)) => (
            LifecycleLevel::Warning,
            format!("This project ends on {e}; please plan the wind-down."),
        ),
        (_, Some(e), Some(d @ 91..=180)) => (
            LifecycleLevel::Info,
            format!("This project ends on {e} (in about {} months).", (d + 15) / 30),
        ),
        _ => return None,
    };
    Some(Lifecycle {
        level,
        end_date,
        reconciliation_end,
        days_remaining: days,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn d(s: &str) -> Option<NaiveDate> {
        Some(s.parse().expect("date"))
    }

    #[rstest]
    #[case("2025-01", Some("info"), Some(180))]
    #[case("2025-04", Some("warning"), Some(90))]
    #[case("2025-06", Some("urgent"), Some(29))]
    #[case("2025-07", Some("expired"), Some(-1))]
    #[case("2025-10", Some("closed"), Some(-93))]
    #[case("2024-12", None, None)]
    fn spec_example(#[case] period: &str, #[case] level: Option<&str>, #[case] days: Option<i64>) {
        let p: Period = period.parse().expect("period");
        let l = lifecycle(
            p,
            [None, d("2025-06-30"), d("2025-03-01")],
            [d("2025-09-30")],
        );
        assert_eq!(l.as_ref().map(|l| l.level.as_str()), level);
        if let Some(l) = l {
            assert_eq!(l.days_remaining, days);
            assert_eq!(l.end_date, d("2025-06-30"), "the latest end date counts");
        }
    }

    #[test]
    fn info_message_says_months_and_none_without_dates() {
        let p: Period = "2025-01".parse().expect("period");
        let l = lifecycle(p, [d("2025-06-30")], []).expect("info");
        assert_eq!(
            l.message,
            "This project ends on 2025-06-30 (in about 6 months)."
        );
        assert!(lifecycle(p, [None], [None]).is_none());
    }
}
