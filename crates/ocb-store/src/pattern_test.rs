//! What the settings page's live pattern test reads (SPEC §12.5): the fields flag patterns look
//! at, and the distinct fund/org values, of the non-rejected live charges in a scope (one period,
//! or every period that is not finalized). The matching itself is done by the caller with the
//! ingest's own pattern rules, so the preview cannot drift from what ingest would do.

use crate::charges::EFFECTIVE_FUND;
use crate::{Result, Store, StoreError};

const LIVE: &str = "c.removed_at IS NULL AND c.review_state <> 'rejected'";

fn scope_sql(period: Option<&str>) -> &'static str {
    match period {
        Some(_) => "c.period = ?1",
        None => "c.period IN (SELECT period FROM periods WHERE status <> 'finalized')",
    }
}

/// The fields a flag pattern is matched against (borrowed for the duration of the callback).
#[derive(Debug, Clone, Copy)]
pub struct PatternSubject<'a> {
    /// Charge id.
    pub id: i64,
    /// Period.
    pub period: &'a str,
    /// ServiceName.
    pub service_name: Option<&'a str>,
    /// ResourceId.
    pub resource_id: Option<&'a str>,
    /// ResourceName.
    pub resource_name: Option<&'a str>,
}

fn text<'a>(v: rusqlite::types::ValueRef<'a>) -> Result<Option<&'a str>> {
    v.as_str_or_null()
        .map_err(|e| StoreError::Corrupt(format!("charge column: {e}")))
}

impl Store {
    /// Calls `f` for every charge in scope, in id order, with borrowed fields (one scan, no
    /// allocation per row).
    pub fn for_each_pattern_subject<F>(&self, period: Option<&str>, mut f: F) -> Result<()>
    where
        F: FnMut(PatternSubject<'_>),
    {
        let sql = format!(
            "SELECT c.id, c.period, c.service_name, c.resource_id, c.resource_name FROM charges c
             WHERE {} AND {LIVE} ORDER BY c.id",
            scope_sql(period)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = match period {
            Some(p) => stmt.query([p])?,
            None => stmt.query([])?,
        };
        while let Some(r) = rows.next()? {
            f(PatternSubject {
                id: r.get(0)?,
                period: text(r.get_ref(1)?)?.unwrap_or_default(),
                service_name: text(r.get_ref(2)?)?,
                resource_id: text(r.get_ref(3)?)?,
                resource_name: text(r.get_ref(4)?)?,
            });
        }
        Ok(())
    }

    /// Distinct effective fund/org values in scope with their charge counts, most used first.
    pub fn fund_org_counts(&self, period: Option<&str>) -> Result<Vec<(String, u64)>> {
        let sql = format!(
            "SELECT {EFFECTIVE_FUND} AS f, count(*) FROM charges c
             WHERE {} AND {LIVE} AND f IS NOT NULL GROUP BY f ORDER BY 2 DESC, 1",
            scope_sql(period)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let map = |r: &rusqlite::Row<'_>| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64));
        let rows = match period {
            Some(p) => stmt
                .query_map([p], map)?
                .collect::<rusqlite::Result<Vec<_>>>()?,
            None => stmt
                .query_map([], map)?
                .collect::<rusqlite::Result<Vec<_>>>()?,
        };
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::store;

    #[test]
    fn scopes_run_on_an_empty_database() {
        let s = store();
        let mut n = 0;
        s.for_each_pattern_subject(None, |_| n += 1).expect("all");
        s.for_each_pattern_subject(Some("2025-01"), |_| n += 1)
            .expect("one");
        assert_eq!(n, 0);
        assert!(s.fund_org_counts(None).expect("funds").is_empty());
        assert!(s
            .fund_org_counts(Some("2025-01"))
            .expect("funds")
            .is_empty());
    }
}
