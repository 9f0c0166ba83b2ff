//! Re-import semantics: what happens to a stored charge when a file row matches it (SPEC §5.8).
//!
//! Pure decision table; the store applies the result.

use crate::charge::ReviewState;
use crate::flags::FlagReason;

/// The stored charge a row matched, as far as the decision needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matched {
    /// Review state now.
    pub state: ReviewState,
    /// Soft-removed by an earlier `replace` import.
    pub removed: bool,
    /// The row's content equals the stored content.
    pub same_content: bool,
}

/// A review-log transition written with actor `system`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemReview {
    /// The charge entered (or re-entered) the queue.
    Reflagged,
    /// The charge left the queue because no reason remains.
    Cleared,
}

impl SystemReview {
    /// Review-log action name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reflagged => "reflagged",
            Self::Cleared => "cleared",
        }
    }
}

/// What to do with a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Store a new charge (counted `inserted`).
    Insert {
        /// Resulting review state.
        state: ReviewState,
    },
    /// Bring back a removed charge with the new content (counted `inserted`).
    Restore {
        /// Resulting review state.
        state: ReviewState,
    },
    /// Leave everything as it is (counted `unchanged`).
    Unchanged,
    /// Update content and review state (counted `updated`).
    Update {
        /// Resulting review state.
        state: ReviewState,
        /// Review-log row to write, if the queue membership changed.
        log: Option<SystemReview>,
    },
}

fn flagged_state(reasons: &[FlagReason]) -> ReviewState {
    if reasons.is_empty() {
        ReviewState::None
    } else {
        ReviewState::Pending
    }
}

/// Decides the fate of a row. `reasons` are the recomputed reasons; for reviewed charges whose
/// content changed, `changed_after_review` is put first.
pub fn decide(matched: Option<Matched>, reasons: &mut Vec<FlagReason>) -> Decision {
    let Some(m) = matched else {
        return Decision::Insert {
            state: flagged_state(reasons),
        };
    };
    if m.removed {
        return Decision::Restore {
            state: flagged_state(reasons),
        };
    }
    if m.same_content {
        return Decision::Unchanged;
    }
    match m.state {
        ReviewState::None => {
            let state = flagged_state(reasons);
            let log = (state == ReviewState::Pending).then_some(SystemReview::Reflagged);
            Decision::Update { state, log }
        }
        ReviewState::Pending => {
            let state = flagged_state(reasons);
            let log = (state == ReviewState::None).then_some(SystemReview::Cleared);
            Decision::Update { state, log }
        }
        ReviewState::Approved | ReviewState::Rejected => {
            reasons.insert(0, FlagReason::ChangedAfterReview);
            Decision::Update {
                state: ReviewState::Pending,
                log: Some(SystemReview::Reflagged),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReviewState::*;

    fn m(state: ReviewState, removed: bool, same: bool) -> Option<Matched> {
        Some(Matched {
            state,
            removed,
            same_content: same,
        })
    }

    #[test]
    fn decision_table() {
        let flagged = || vec![FlagReason::MissingPiEmail];
        assert_eq!(
            decide(Option::None, &mut vec![]),
            Decision::Insert { state: None }
        );
        assert_eq!(
            decide(Option::None, &mut flagged()),
            Decision::Insert { state: Pending }
        );
        assert_eq!(
            decide(m(Approved, true, true), &mut vec![]),
            Decision::Restore { state: None }
        );
        for s in [None, Pending, Approved, Rejected] {
            assert_eq!(
                decide(m(s, false, true), &mut flagged()),
                Decision::Unchanged
            );
        }
        assert_eq!(
            decide(m(None, false, false), &mut vec![]),
            Decision::Update {
                state: None,
                log: Option::None
            }
        );
        assert_eq!(
            decide(m(None, false, false), &mut flagged()),
            Decision::Update {
                state: Pending,
                log: Some(SystemReview::Reflagged)
            }
        );
        assert_eq!(
            decide(m(Pending, false, false), &mut vec![]),
            Decision::Update {
                state: None,
                log: Some(SystemReview::Cleared)
            }
        );
        let mut r = vec![];
        assert_eq!(
            decide(m(Rejected, false, false), &mut r),
            Decision::Update {
                state: Pending,
                log: Some(SystemReview::Reflagged)
            }
        );
        assert_eq!(r, vec![FlagReason::ChangedAfterReview]);
        let mut r = flagged();
        decide(m(Approved, false, false), &mut r);
        assert_eq!(
            r,
            vec![FlagReason::ChangedAfterReview, FlagReason::MissingPiEmail]
        );
    }
}
