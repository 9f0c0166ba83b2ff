//! FOCUS input for OpenChargeback: a streaming reader for CSV, CSV.gz, Parquet and export
//! directories that turns every record into a storable row or a rejected record with
//! diagnostics (SPEC §3), and the `validate` rules (SPEC §3.8).
//!
//! The reader is the hot path of ingest: it streams with constant memory (reused buffers, no
//! collected rows), hashes the input while reading, and parses each cell once. It depends on
//! `ocb-core` for the domain rules (exact amounts, FOCUS dates, tags, periods) and on nothing
//! that touches a database, the network or templates.
//!
//! ```
//! use ocb_focus::{FocusReader, RowResult};
//! let csv = "BillingPeriodStart,BilledCost,Tags\n2025-01-01,12.50,\"{\"\"pi_email\"\":\"\"a@x.edu\"\"}\"\n";
//! let mut reader = FocusReader::from_reader("upload.csv", std::io::Cursor::new(csv))?;
//! let Some(RowResult::Row(row)) = reader.next_row() else { panic!("one good row") };
//! assert_eq!(row.period.to_string(), "2025-01");
//! assert_eq!(row.fields.billed_cost.to_string(), "12.50");
//! assert_eq!(reader.finish()?.rows_read, 1);
//! # Ok::<(), ocb_focus::FileError>(())
//! ```
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::print_stdout)]

mod build;
mod cell;
pub mod columns;
mod csv_source;
pub mod diag;
mod dir;
pub mod duplicates;
pub mod error;
mod input;
#[cfg(feature = "parquet")]
pub mod parquet_pages;
#[cfg(feature = "parquet")]
mod parquet_source;
mod reader;
mod row;
mod source;
mod split;
mod tags;
pub mod validate;

pub use columns::{Columns, FocusColumn, FocusVersion};
pub use diag::{Code, Diagnostic, LineRef};
pub use duplicates::{duplicate_message, DuplicateRows};
pub use error::{FileError, FileErrorKind};
pub use input::{InputKind, InputStats};
pub use reader::FocusReader;
pub use row::{FocusRow, RejectedRecord, RowResult};
pub use validate::{render_human, validate_path, FileReport, ValidateOptions};
