//! Exact decimal arithmetic inside SQLite: the `dec_sum(text)` aggregate.
//!
//! SQLite's own SUM would turn decimal text into binary floats; this aggregate parses each value
//! as a `rust_decimal::Decimal` and returns the exact sum as text, so totals come back exactly.

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use rust_decimal::Decimal;
use std::str::FromStr;

struct DecSum;

impl Aggregate<Decimal, Option<String>> for DecSum {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Decimal> {
        Ok(Decimal::ZERO)
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Decimal) -> rusqlite::Result<()> {
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
        *acc = acc.checked_add(value).ok_or_else(|| {
            rusqlite::Error::UserFunctionError("dec_sum: sum exceeds 28 significant digits".into())
        })?;
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut Context<'_>,
        acc: Option<Decimal>,
    ) -> rusqlite::Result<Option<String>> {
        Ok(Some(acc.unwrap_or(Decimal::ZERO).to_string()))
    }
}

pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_aggregate_function(
        "dec_sum",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        DecSum,
    )
}

/// Parses stored decimal text.
pub fn dec(text: &str) -> crate::Result<Decimal> {
    Decimal::from_str(text)
        .map_err(|_| crate::StoreError::Corrupt(format!("not a decimal: {text:?}")))
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
}
