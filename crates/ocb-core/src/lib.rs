//! OpenChargeback domain rules: exact money, billing periods, tag attribution, flag reasons and
//! charge identity.
//!
//! This crate is pure: no IO, no async, no database, no templates. Everything else depends on it;
//! it depends on nothing of ours.
//!
//! ```
//! use ocb_core::amount::{parse_amount, Rounding};
//! let exact = parse_amount("0.00000080000").unwrap();
//! assert_eq!(exact.to_string(), "0.00000080000");
//! assert_eq!(Rounding::HalfEven.cents(parse_amount("2.665").unwrap()).to_string(), "2.66");
//! ```
#![deny(missing_docs)]
#![deny(clippy::float_arithmetic)]
#![warn(clippy::unwrap_used, clippy::print_stdout)]

pub mod amount;
pub mod attribution;
pub mod billing;
pub mod charge;
pub mod date;
pub mod decimal_text;
pub mod exact;
pub mod fast_map;
pub mod flags;
pub mod period;
pub mod reevaluate;
pub mod reimport;
pub mod review_settings;
pub mod shared_text;
pub mod source;
pub mod spreadsheet;
pub mod statement;
pub mod tags;

pub use rust_decimal::Decimal;
