//! OpenChargeback integration converters: raw exports to lite-FOCUS CSV (INTEGRATIONS.md).
//!
//! One module per kind (`slurm`, `isilon`, `qumulo`, `azure_local`, `openai`, `aws_cur`,
//! `azure_ea`) with an I/O-free parser, a config type built from the merged JSON config and a
//! pure `convert` function; shared modules hold the contract every kind follows: config merge
//! ([`config`]), exact money ([`money`]), rows, Tags and ResourceIds ([`row`]), the CSV writer
//! ([`csv_out`]), buckets and the what-if report ([`report`]), the audit record ([`audit`]) and
//! atomic output files ([`output`]).
//!
//! This crate never touches the database, the web layer or PDFs; the CLI gathers inputs (files,
//! `sacct`, directory walks) and writes outputs.
//!
//! ```
//! use ocb_convert::{kind::{ConvertContext, Kind}, slurm};
//! let cfg = slurm::SlurmConfig::from_merged_json(&serde_json::json!({
//!     "accounts": {"lab": {"piEmail": "pi@example.edu", "projectId": "p", "fundOrg": "F-1"}}
//! }).as_object().unwrap().clone(), &mut Vec::new()).unwrap();
//! let items = slurm::parse_slurm_input("1|lab|def|4|01:00:00|COMPLETED\n").unwrap();
//! let ctx = ConvertContext::new(Kind::Slurm, "2025-01".parse().unwrap());
//! let conv = slurm::convert(&items, &cfg, &ctx).unwrap();
//! assert_eq!(conv.rows[0].list_cost.to_string(), "0.04");
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]
#![deny(clippy::float_arithmetic)]

pub mod audit;
pub mod aws_cur;
pub mod azure_ea;
pub mod azure_local;
pub mod cloud;
#[cfg(feature = "parquet")]
pub mod cloud_parquet;
pub mod config;
pub mod csv_out;
pub mod error;
pub mod isilon;
pub mod kind;
pub mod money;
pub mod openai;
pub mod openai_ledger;
pub mod output;
pub mod qumulo;
pub mod qumulo_fs;
pub mod report;
pub mod row;
pub mod slurm;
pub mod text;

pub use chrono_tz;
pub use error::{ConvertError, ExitCode, Result};
pub use kind::{ConvertContext, Kind};
pub use report::Conversion;
pub use row::{FocusLiteRow, Tags};
