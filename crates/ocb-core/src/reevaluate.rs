//! Re-evaluation of flags after the review settings change (SPEC §7.7): pure decision per charge;
//! the store reads the charges and applies the outcomes in batches.

use crate::charge::ReviewState;
use crate::flags::{compute_flags, FlagInput, FlagReason, ReviewRules};
use serde::Serialize;

/// What re-evaluation does to one stored charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Reasons are the same (or the charge is still unflagged).
    Unchanged,
    /// Never flagged, now has reasons: enters the queue (review log `reflagged`).
    NewlyFlagged(Vec<FlagReason>),
    /// Pending, no reason remains: leaves the queue (review log `cleared`).
    Cleared,
    /// Pending with different reasons: reasons replaced, stays in the queue.
    ReasonsChanged(Vec<FlagReason>),
    /// Approved, rejected or removed: a human (or an import) decided; nothing changes.
    SkippedReviewed,
}

/// Decides one charge. `input` carries the charge's effective content; its sticky fields
/// (`period_mismatch`, `changed_after_review`, `possible_duplicate`) are ignored and taken from `stored` instead,
/// because they describe how the charge was imported, which the content cannot tell.
pub fn reevaluate(
    state: ReviewState,
    removed: bool,
    stored: &[FlagReason],
    input: FlagInput<'_>,
    rules: &ReviewRules,
) -> Outcome {
    if removed || matches!(state, ReviewState::Approved | ReviewState::Rejected) {
        return Outcome::SkippedReviewed;
    }
    let input = FlagInput {
        changed_after_review: stored.contains(&FlagReason::ChangedAfterReview),
        period_mismatch: stored.contains(&FlagReason::PeriodMismatch),
        possible_duplicate: stored.contains(&FlagReason::PossibleDuplicate),
        ..input
    };
    let fresh = compute_flags(&input, rules);
    match state {
        ReviewState::None if fresh.is_empty() => Outcome::Unchanged,
        ReviewState::None => Outcome::NewlyFlagged(fresh),
        _ if fresh.is_empty() => Outcome::Cleared,
        _ if fresh.as_slice() == stored => Outcome::Unchanged,
        _ => Outcome::ReasonsChanged(fresh),
    }
}

/// Counts of one re-evaluated period (the CLI table, JSON and audit details).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Entered the queue.
    pub newly_flagged: u64,
    /// Left the queue.
    pub cleared: u64,
    /// Reasons replaced.
    pub changed: u64,
    /// Nothing to do.
    pub unchanged: u64,
    /// Reviewed or removed charges left alone.
    pub skipped: u64,
}

impl Counts {
    /// Adds one outcome.
    pub fn count(&mut self, o: &Outcome) {
        match o {
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::NewlyFlagged(_) => self.newly_flagged += 1,
            Outcome::Cleared => self.cleared += 1,
            Outcome::ReasonsChanged(_) => self.changed += 1,
            Outcome::SkippedReviewed => self.skipped += 1,
        }
    }

    /// Adds another period's counts.
    pub fn add(&mut self, o: &Counts) {
        self.newly_flagged += o.newly_flagged;
        self.cleared += o.cleared;
        self.changed += o.changed;
        self.unchanged += o.unchanged;
        self.skipped += o.skipped;
    }

    /// Number of charges whose flags change.
    pub fn changes(&self) -> u64 {
        self.newly_flagged + self.cleared + self.changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FlagReason::*;

    fn rules(flag: &[&str]) -> ReviewRules {
        let f: Vec<String> = flag.iter().map(|s| s.to_string()).collect();
        ReviewRules::compile(&f, &[]).expect("valid")
    }

    fn clean(service: &'static str) -> FlagInput<'static> {
        FlagInput {
            pi_email: Some("a@b.edu"),
            project_id: Some("p"),
            fund_org: Some("f"),
            service_name: Some(service),
            ..Default::default()
        }
    }

    #[test]
    fn the_spec_table() {
        let r = rules(&["gpu"]);
        let gpu = PatternMatch("gpu".into());
        assert_eq!(
            reevaluate(ReviewState::None, false, &[], clean("EC2"), &r),
            Outcome::Unchanged
        );
        assert_eq!(
            reevaluate(ReviewState::None, false, &[], clean("GPU"), &r),
            Outcome::NewlyFlagged(vec![gpu.clone()])
        );
        assert_eq!(
            reevaluate(
                ReviewState::Pending,
                false,
                std::slice::from_ref(&gpu),
                clean("EC2"),
                &r
            ),
            Outcome::Cleared
        );
        assert_eq!(
            reevaluate(
                ReviewState::Pending,
                false,
                &[PatternMatch("x".into())],
                clean("GPU"),
                &r
            ),
            Outcome::ReasonsChanged(vec![gpu.clone()])
        );
        assert_eq!(
            reevaluate(
                ReviewState::Pending,
                false,
                std::slice::from_ref(&gpu),
                clean("GPU"),
                &r
            ),
            Outcome::Unchanged
        );
        for state in [ReviewState::Approved, ReviewState::Rejected] {
            assert_eq!(
                reevaluate(state, false, std::slice::from_ref(&gpu), clean("EC2"), &r),
                Outcome::SkippedReviewed
            );
        }
        assert_eq!(
            reevaluate(ReviewState::None, true, &[], clean("GPU"), &r),
            Outcome::SkippedReviewed
        );
    }

    #[test]
    fn sticky_reasons_are_kept_from_storage_not_from_the_input() {
        let r = rules(&[]);
        let stored = [
            ChangedAfterReview,
            PeriodMismatch,
            PatternMatch("old".into()),
        ];
        let input = FlagInput {
            period_mismatch: false,
            changed_after_review: false,
            ..clean("EC2")
        };
        assert_eq!(
            reevaluate(ReviewState::Pending, false, &stored, input, &r),
            Outcome::ReasonsChanged(vec![ChangedAfterReview, PeriodMismatch])
        );
        // A charge that is only held for a sticky reason is not cleared.
        assert_eq!(
            reevaluate(
                ReviewState::Pending,
                false,
                &[PeriodMismatch],
                clean("EC2"),
                &r
            ),
            Outcome::Unchanged
        );
        // Input flags alone never flag a charge that has no stored sticky reason.
        let input = FlagInput {
            period_mismatch: true,
            ..clean("EC2")
        };
        assert_eq!(
            reevaluate(ReviewState::None, false, &[], input, &r),
            Outcome::Unchanged
        );
    }

    #[test]
    fn counts_add_up() {
        let mut c = Counts::default();
        for o in [
            Outcome::Unchanged,
            Outcome::Cleared,
            Outcome::SkippedReviewed,
            Outcome::NewlyFlagged(vec![]),
        ] {
            c.count(&o);
        }
        let mut total = Counts::default();
        total.add(&c);
        total.add(&c);
        assert_eq!(
            (
                total.unchanged,
                total.cleared,
                total.skipped,
                total.newly_flagged,
                total.changes()
            ),
            (2, 2, 2, 2, 4)
        );
    }
}
