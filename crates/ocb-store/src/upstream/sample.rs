//! Writing a Python OpenChargeback database of one source and one period, for the
//! `bench import-upstream` benchmark (its SQL lives here with the rest of ours).

use super::UpstreamCharge;
use crate::Result;
use rusqlite::{params, Connection};
use std::path::Path;

/// Creates `path` with `schema` (the upstream DDL) and `charges`, all in source 1 (`AWS`) and
/// period 1 (`period`, open). Amounts are stored as the floats the Python project stores.
pub fn create_python_database(
    path: &Path,
    schema: &str,
    period: &str,
    charges: impl Iterator<Item = UpstreamCharge>,
) -> Result<u64> {
    let mut conn = Connection::open(path)?;
    conn.execute_batch(schema)?;
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO sources (id, name, source_type, enabled) VALUES (1, 'AWS', 'file', 1)",
        [],
    )?;
    tx.execute(
        "INSERT INTO billing_periods (id, period, status, opened_at) VALUES (1, ?1, 'open', '2025-01-01 00:00:00')",
        [period],
    )?;
    let mut n = 0;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO charges (billing_period_id, source_id, charge_period_start, charge_period_end, list_cost,
                                  contracted_cost, billed_cost, effective_cost, resource_id, resource_name,
                                  service_name, pi_email, project_id, fund_org, raw_tags, needs_review)
             VALUES (1, 1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0)",
        )?;
        let float = |t: &Option<String>| t.as_deref().and_then(|v| v.parse::<f64>().ok());
        for c in charges {
            stmt.execute(params![
                c.charge_period_start,
                c.charge_period_end,
                float(&c.costs[0]),
                float(&c.costs[1]),
                float(&c.costs[2]),
                float(&c.costs[3]),
                c.resource_id,
                c.resource_name,
                c.service_name,
                c.pi_email,
                c.project_id,
                c.fund_org,
                c.raw_tags
            ])?;
            n += 1;
        }
    }
    tx.commit()?;
    Ok(n)
}
