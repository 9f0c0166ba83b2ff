//! Exact decimal arithmetic inside SQLite: the `dec_sum(text)` aggregate.
//!
//! SQLite's own SUM would turn decimal text into binary floats; this aggregate parses each value
//! as a `rust_decimal::Decimal` and returns the exact sum (an [`ExactSum`], which neither rounds
//! nor overflows) as text, so totals come back exactly. Readers parse it with [`exact`].

use ocb_core::exact::ExactSum;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use rust_decimal::Decimal;
use std::str::FromStr;

struct DecSum;

impl Aggregate<ExactSum, Option<String>> for DecSum {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<ExactSum> {
        Ok(ExactSum::ZERO)
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut ExactSum) -> rusqlite::Result<()> {
        let value = match ctx.get_raw(0) {
            ValueRef::Null => return Ok(()),
            ValueRef::Text(t) => {
                let s = std::str::from_utf8(t)
                    .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?;
                Decimal::from_str(s).map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?
            }
            ValueRef::Integer(i) => Decimal::from(i),
            other => {
                return Err(rusqlite::Error::UserFunctionError(
                    format!("dec_sum: unsupported value type {:?}", other.data_type()).into(),
                ))
            }
        };
        // Only some 10^9 amounts of 28 digits each (stored before the range check) could leave
        // the sum's range: an error for that query, never a wrong total.
        *acc = acc.checked_add(value.into()).ok_or_else(|| {
            rusqlite::Error::UserFunctionError("dec_sum: sum beyond 10^38".into())
        })?;
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut Context<'_>,
        acc: Option<ExactSum>,
    ) -> rusqlite::Result<Option<String>> {
        Ok(Some(acc.unwrap_or(ExactSum::ZERO).to_string()))
    }
}

pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_aggregate_function("dec_sum", 1, flags, DecSum)?;
    conn.create_scalar_function("dec_out_of_range", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(|s| Decimal::from_str(s).ok())
                .is_none_or(|d| !ocb_core::amount::in_range(d)),
            _ => false,
        })
    })
}

/// Parses stored decimal text.
pub fn dec(text: &str) -> crate::Result<Decimal> {
    Decimal::from_str(text)
        .map_err(|_| crate::StoreError::Corrupt(format!("not a decimal: {text:?}")))
}

/// Parses a stored exact total or a `dec_sum()` result, of any size.
pub fn exact(text: &str) -> crate::Result<ExactSum> {
    text.parse()
        .map_err(|_| crate::StoreError::Corrupt(format!("not an exact decimal: {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_exactly_where_floats_drift() {
        let conn = Connection::open_in_memory().expect("db");
        register(&conn).expect("register");
        conn.execute_batch("CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('0.1'),('0.2'),('0.00000080000'),(NULL);")
            .expect("setup");
        let s: String = conn
            .query_row("SELECT dec_sum(v) FROM t", [], |r| r.get(0))
            .expect("sum");
        assert_eq!(s, "0.30000080000");
        let empty: String = conn
            .query_row("SELECT dec_sum(v) FROM t WHERE 0", [], |r| r.get(0))
            .expect("sum");
        assert_eq!(empty, "0");
    }

    /// Issue 15, item 3: four amounts of 28 nines per source made every total fail.
    #[test]
    fn sums_beyond_decimal_range_exactly() {
        let conn = Connection::open_in_memory().expect("db");
        register(&conn).expect("register");
        conn.execute_batch("CREATE TABLE t(v TEXT)").expect("table");
        for _ in 0..8 {
            conn.execute("INSERT INTO t VALUES ('9999999999999999999999999999')", [])
                .expect("row");
        }
        conn.execute(
            "INSERT INTO t VALUES ('0.0000000000000000000000000001')",
            [],
        )
        .expect("row");
        let s: String = conn
            .query_row("SELECT dec_sum(v) FROM t", [], |r| r.get(0))
            .expect("sum");
        assert_eq!(
            s,
            "79999999999999999999999999992.0000000000000000000000000001"
        );
        assert_eq!(exact(&s).expect("reads back").to_string(), s);
    }
}
