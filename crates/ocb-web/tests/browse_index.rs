//! The charges and review pages read a cached in-memory index of the period: after a write
//! (a review action, a re-import) the next view shows the new figures, never the cached ones.

mod common;

use common::{sample, Instance};
use ocb_store::{
    Actor, BrowseFilter, ChargeFilter, ReviewAction, ReviewRequest, ReviewScope, SortKey,
    StatusFilter,
};

fn summary(body: &str) -> String {
    let at = body.find("id=\"charges-summary\"").expect("summary");
    body[at..at + 200]
        .split("</p>")
        .next()
        .expect("p")
        .to_string()
}

#[tokio::test]
async fn pages_follow_every_write() {
    let inst = Instance::new();
    inst.import_january();
    let admin = inst.session(
        inst.store()
            .find_user("root")
            .expect("find")
            .expect("root")
            .id,
    );
    let (status, _, before) = inst
        .get("/charges?period=2025-01&status=flagged", Some(&admin))
        .await;
    assert_eq!(status, 200);
    let s = inst.store();
    let f = BrowseFilter {
        base: ChargeFilter {
            period: Some("2025-01".into()),
            ..Default::default()
        },
        status: StatusFilter::Flagged,
        ..Default::default()
    };
    let queue = s
        .browse_charges(&f, SortKey::Billed, true, 0, 1)
        .expect("queue");
    assert!(queue.total_count > 1);
    assert!(
        summary(&before).contains(&format!("Sum of {} matching", queue.total_count)),
        "{}",
        summary(&before)
    );

    // A review action through the store (as the CLI would): the cached index is stale now.
    let mut s = s;
    let id = queue.rows[0].id;
    s.review(
        &Actor::cli("t"),
        &ReviewRequest {
            action: ReviewAction::Reject,
            scope: ReviewScope::Ids(vec![id]),
            note: None,
            override_: None,
            expected_count: None,
        },
    )
    .expect("reject");
    let (_, _, after) = inst
        .get("/charges?period=2025-01&status=flagged", Some(&admin))
        .await;
    assert!(
        summary(&after).contains(&format!("Sum of {} matching", queue.total_count - 1)),
        "{}",
        summary(&after)
    );
    let (_, _, rejected) = inst
        .get("/charges?period=2025-01&status=rejected", Some(&admin))
        .await;
    assert!(
        rejected.contains(&format!("/charges/{id}")),
        "the rejected charge is listed"
    );

    // A re-import of one file in replace mode with the same rows changes nothing visible.
    inst.import(&sample("aws_2025-01.csv"), "AWS");
    let (_, _, again) = inst
        .get("/charges?period=2025-01&status=flagged", Some(&admin))
        .await;
    assert_eq!(summary(&again), summary(&after));
    let (_, _, review) = inst.get("/review?period=2025-01", Some(&admin)).await;
    assert!(
        !review.contains(&format!("/charges/{id}\"")),
        "the rejected charge left the queue"
    );
}
