//! Reading the Python project's tables. Each reader names the columns it wants; a column the
//! file's schema version lacks is selected as NULL (see `PRAGMA table_info` in `mod.rs`), and
//! money columns are read as SQLite's text of the stored double (see `money.rs`).

use super::UpstreamDb;
use crate::Result;
use rusqlite::types::ValueRef;
use rusqlite::Row;

/// A value as text: SQLite's dynamic typing lets any column hold any type.
fn text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

fn int(v: ValueRef<'_>) -> Option<i64> {
    match v {
        ValueRef::Integer(i) => Some(i),
        ValueRef::Real(f) => Some(f as i64),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// Positional access to a row selected by [`UpstreamDb::select_sql`].
struct Cells<'r, 's>(&'r Row<'s>);

impl Cells<'_, '_> {
    fn text(&self, i: usize) -> Option<String> {
        self.0.get_ref(i).ok().and_then(text)
    }
    fn int(&self, i: usize) -> Option<i64> {
        self.0.get_ref(i).ok().and_then(int)
    }
    fn flag(&self, i: usize) -> bool {
        self.int(i).unwrap_or(0) != 0
    }
}

impl UpstreamDb {
    /// `SELECT` of `columns` from `table`: absent columns as NULL, `$name` as money text.
    fn select_sql(&self, table: &str, columns: &[&str]) -> String {
        let list: Vec<String> = columns
            .iter()
            .map(|c| {
                let (name, money) = match c.strip_prefix('$') {
                    Some(n) => (n, true),
                    None => (*c, false),
                };
                match (self.has(table, name), money) {
                    (false, _) => "NULL".to_string(),
                    (true, true) => format!("CAST(\"{name}\" AS TEXT)"),
                    (true, false) => format!("\"{name}\""),
                }
            })
            .collect();
        format!("SELECT {} FROM \"{table}\" ORDER BY rowid", list.join(", "))
    }

    /// Every row of `table` mapped by `f` (empty when the table is absent).
    fn rows<T>(
        &self,
        table: &str,
        columns: &[&str],
        mut f: impl FnMut(&Cells<'_, '_>) -> T,
    ) -> Result<Vec<T>> {
        if !self.has_table(table) {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare(&self.select_sql(table, columns))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(f(&Cells(r)));
        }
        Ok(out)
    }

    /// Rows of a table (0 when absent).
    pub fn count(&self, table: &str) -> Result<u64> {
        if !self.has_table(table) {
            return Ok(0);
        }
        let sql = format!("SELECT count(*) FROM \"{table}\"");
        Ok(self.conn.query_row(&sql, [], |r| r.get::<_, i64>(0))? as u64)
    }
}

/// `billing_periods`.
#[derive(Debug, Clone, Default)]
pub struct UpstreamPeriod {
    pub id: i64,
    pub period: String,
    pub status: Option<String>,
    pub opened_at: Option<String>,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub finalized_at: Option<String>,
    pub finalized_by: Option<String>,
    pub reopened_at: Option<String>,
    pub reopened_by: Option<String>,
    pub reopen_reason: Option<String>,
    pub notes: Option<String>,
}

/// `sources`.
#[derive(Debug, Clone, Default)]
pub struct UpstreamSource {
    pub id: i64,
    pub name: String,
    pub display_name: Option<String>,
    pub source_type: Option<String>,
    pub created_at: Option<String>,
}

/// `charges`: one row as the Python project stored it.
#[derive(Debug, Clone, Default)]
pub struct UpstreamCharge {
    pub id: i64,
    pub period_id: i64,
    pub source_id: i64,
    pub charge_period_start: Option<String>,
    pub charge_period_end: Option<String>,
    /// list, contracted, billed, effective: SQLite's text of the stored doubles.
    pub costs: [Option<String>; 4],
    pub resource_id: Option<String>,
    pub resource_name: Option<String>,
    pub service_name: Option<String>,
    pub pi_email: Option<String>,
    pub project_id: Option<String>,
    pub fund_org: Option<String>,
    pub reference_1: Option<String>,
    pub reference_2: Option<String>,
    pub raw_tags: Option<String>,
    pub needs_review: bool,
    pub review_reason: Option<String>,
    pub reviewed_at: Option<String>,
    pub reviewed_by: Option<String>,
    pub rejected_at: Option<String>,
    pub rejected_by: Option<String>,
    pub rejection_note: Option<String>,
}

/// `review_logs`.
#[derive(Debug, Clone, Default)]
pub struct UpstreamReviewLog {
    pub id: i64,
    pub period_id: i64,
    pub charge_id: i64,
    pub action: String,
    pub pi_email: Option<String>,
    pub resource_id: Option<String>,
    pub service_name: Option<String>,
    pub amount: Option<String>,
    pub note: Option<String>,
    pub performed_at: Option<String>,
    pub performed_by: Option<String>,
}

/// `imports`.
#[derive(Debug, Clone, Default)]
pub struct UpstreamImport {
    pub id: i64,
    pub filename: String,
    pub source_id: i64,
    pub period_id: i64,
    pub row_count: Option<i64>,
    pub total_cost: Option<String>,
    pub flagged_rows: Option<i64>,
    pub flagged_cost: Option<String>,
    pub imported_at: Option<String>,
}

/// `statements` (per project from version 10; per PI with `;`-joined PDF paths before).
#[derive(Debug, Clone, Default)]
pub struct UpstreamStatement {
    pub id: i64,
    pub period_id: i64,
    pub pi_email: String,
    pub project_id: Option<String>,
    pub fund_org: Option<String>,
    pub total_cost: Option<String>,
    pub generated_at: Option<String>,
    pub sent_at: Option<String>,
    pub pdf_path: Option<String>,
}

/// `email_logs`.
#[derive(Debug, Clone, Default)]
pub struct UpstreamEmail {
    pub id: i64,
    pub statement_id: Option<i64>,
    pub recipient: String,
    pub subject: Option<String>,
    pub sent_at: Option<String>,
    pub sent_by: Option<String>,
    pub status: String,
    pub error_message: Option<String>,
}

/// `journal_exports`.
#[derive(Debug, Clone, Default)]
pub struct UpstreamJournal {
    pub id: i64,
    pub period_id: i64,
    pub format: String,
    pub include_flagged: bool,
    pub row_count: Option<i64>,
    pub total_cost: Option<String>,
    pub exported_at: Option<String>,
    pub exported_by: Option<String>,
    pub filename: Option<String>,
}

/// `users`.
#[derive(Debug, Clone, Default)]
pub struct UpstreamUser {
    pub username: String,
    pub email: String,
    pub display_name: Option<String>,
    pub password_hash: String,
    pub role: String,
    pub is_config_user: bool,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub created_by: Option<String>,
}

const CHARGE_COLUMNS: [&str; 26] = [
    "id",
    "billing_period_id",
    "source_id",
    "charge_period_start",
    "charge_period_end",
    "$list_cost",
    "$contracted_cost",
    "$billed_cost",
    "$effective_cost",
    "resource_id",
    "resource_name",
    "service_name",
    "pi_email",
    "project_id",
    "fund_org",
    "reference_1",
    "reference_2",
    "raw_tags",
    "needs_review",
    "review_reason",
    "reviewed_at",
    "reviewed_by",
    "rejected_at",
    "rejected_by",
    "rejection_note",
    "imported_at",
];

fn charge_of(c: &Cells<'_, '_>) -> UpstreamCharge {
    UpstreamCharge {
        id: c.int(0).unwrap_or(0),
        period_id: c.int(1).unwrap_or(0),
        source_id: c.int(2).unwrap_or(0),
        charge_period_start: c.text(3),
        charge_period_end: c.text(4),
        costs: [c.text(5), c.text(6), c.text(7), c.text(8)],
        resource_id: c.text(9),
        resource_name: c.text(10),
        service_name: c.text(11),
        pi_email: c.text(12),
        project_id: c.text(13),
        fund_org: c.text(14),
        reference_1: c.text(15),
        reference_2: c.text(16),
        raw_tags: c.text(17),
        needs_review: c.flag(18),
        review_reason: c.text(19),
        reviewed_at: c.text(20),
        reviewed_by: c.text(21),
        rejected_at: c.text(22),
        rejected_by: c.text(23),
        rejection_note: c.text(24),
    }
}

impl UpstreamDb {
    /// Calls `f` for every charge in file order, without holding them all in memory.
    pub fn for_each_charge(&self, mut f: impl FnMut(UpstreamCharge) -> Result<()>) -> Result<()> {
        if !self.has_table("charges") {
            return Ok(());
        }
        let mut stmt = self
            .conn
            .prepare(&self.select_sql("charges", &CHARGE_COLUMNS))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            f(charge_of(&Cells(r)))?;
        }
        Ok(())
    }

    /// `billing_periods`.
    pub fn periods(&self) -> Result<Vec<UpstreamPeriod>> {
        let cols = [
            "id",
            "period",
            "status",
            "opened_at",
            "closed_at",
            "closed_by",
            "finalized_at",
            "finalized_by",
            "reopened_at",
            "reopened_by",
            "reopen_reason",
            "notes",
        ];
        self.rows("billing_periods", &cols, |c| UpstreamPeriod {
            id: c.int(0).unwrap_or(0),
            period: c.text(1).unwrap_or_default(),
            status: c.text(2),
            opened_at: c.text(3),
            closed_at: c.text(4),
            closed_by: c.text(5),
            finalized_at: c.text(6),
            finalized_by: c.text(7),
            reopened_at: c.text(8),
            reopened_by: c.text(9),
            reopen_reason: c.text(10),
            notes: c.text(11),
        })
    }

    /// `sources`.
    pub fn sources(&self) -> Result<Vec<UpstreamSource>> {
        let cols = ["id", "name", "display_name", "source_type", "created_at"];
        self.rows("sources", &cols, |c| UpstreamSource {
            id: c.int(0).unwrap_or(0),
            name: c.text(1).unwrap_or_default(),
            display_name: c.text(2),
            source_type: c.text(3),
            created_at: c.text(4),
        })
    }

    /// `review_logs`.
    pub fn review_logs(&self) -> Result<Vec<UpstreamReviewLog>> {
        let cols = [
            "id",
            "billing_period_id",
            "charge_id",
            "action",
            "pi_email",
            "resource_id",
            "service_name",
            "$amount",
            "note",
            "performed_at",
            "performed_by",
        ];
        self.rows("review_logs", &cols, |c| UpstreamReviewLog {
            id: c.int(0).unwrap_or(0),
            period_id: c.int(1).unwrap_or(0),
            charge_id: c.int(2).unwrap_or(0),
            action: c.text(3).unwrap_or_default(),
            pi_email: c.text(4),
            resource_id: c.text(5),
            service_name: c.text(6),
            amount: c.text(7),
            note: c.text(8),
            performed_at: c.text(9),
            performed_by: c.text(10),
        })
    }

    /// `imports`.
    pub fn imports(&self) -> Result<Vec<UpstreamImport>> {
        let cols = [
            "id",
            "filename",
            "source_id",
            "billing_period_id",
            "row_count",
            "$total_cost",
            "flagged_rows",
            "$flagged_cost",
            "imported_at",
        ];
        self.rows("imports", &cols, |c| UpstreamImport {
            id: c.int(0).unwrap_or(0),
            filename: c.text(1).unwrap_or_default(),
            source_id: c.int(2).unwrap_or(0),
            period_id: c.int(3).unwrap_or(0),
            row_count: c.int(4),
            total_cost: c.text(5),
            flagged_rows: c.int(6),
            flagged_cost: c.text(7),
            imported_at: c.text(8),
        })
    }

    /// `statements`.
    pub fn statements(&self) -> Result<Vec<UpstreamStatement>> {
        let cols = [
            "id",
            "billing_period_id",
            "pi_email",
            "project_id",
            "fund_org",
            "$total_cost",
            "generated_at",
            "sent_at",
            "pdf_path",
        ];
        self.rows("statements", &cols, |c| UpstreamStatement {
            id: c.int(0).unwrap_or(0),
            period_id: c.int(1).unwrap_or(0),
            pi_email: c.text(2).unwrap_or_default(),
            project_id: c.text(3),
            fund_org: c.text(4),
            total_cost: c.text(5),
            generated_at: c.text(6),
            sent_at: c.text(7),
            pdf_path: c.text(8),
        })
    }

    /// `email_logs`.
    pub fn emails(&self) -> Result<Vec<UpstreamEmail>> {
        let cols = [
            "id",
            "statement_id",
            "recipient",
            "subject",
            "sent_at",
            "sent_by",
            "status",
            "error_message",
        ];
        self.rows("email_logs", &cols, |c| UpstreamEmail {
            id: c.int(0).unwrap_or(0),
            statement_id: c.int(1),
            recipient: c.text(2).unwrap_or_default(),
            subject: c.text(3),
            sent_at: c.text(4),
            sent_by: c.text(5),
            status: c.text(6).unwrap_or_default(),
            error_message: c.text(7),
        })
    }

    /// `journal_exports`.
    pub fn journals(&self) -> Result<Vec<UpstreamJournal>> {
        let cols = [
            "id",
            "billing_period_id",
            "format",
            "include_flagged",
            "row_count",
            "$total_cost",
            "exported_at",
            "exported_by",
            "filename",
        ];
        self.rows("journal_exports", &cols, |c| UpstreamJournal {
            id: c.int(0).unwrap_or(0),
            period_id: c.int(1).unwrap_or(0),
            format: c.text(2).unwrap_or_default(),
            include_flagged: c.flag(3),
            row_count: c.int(4),
            total_cost: c.text(5),
            exported_at: c.text(6),
            exported_by: c.text(7),
            filename: c.text(8),
        })
    }

    /// `users`.
    pub fn users(&self) -> Result<Vec<UpstreamUser>> {
        let cols = [
            "username",
            "email",
            "display_name",
            "password_hash",
            "role",
            "is_config_user",
            "created_at",
            "updated_at",
            "created_by",
        ];
        self.rows("users", &cols, |c| UpstreamUser {
            username: c.text(0).unwrap_or_default(),
            email: c.text(1).unwrap_or_default(),
            display_name: c.text(2),
            password_hash: c.text(3).unwrap_or_default(),
            role: c.text(4).unwrap_or_default(),
            is_config_user: c.flag(5),
            created_at: c.text(6),
            updated_at: c.text(7),
            created_by: c.text(8),
        })
    }
}
