//! The OpenChargeback command line: parses arguments, loads the configuration, starts logging,
//! calls into the library crates and maps results to exit codes (0 success, 1 error or refusal,
//! 2 usage). Business rules live in the libraries, not here.

mod cli;
mod command;
mod context;
mod error;
mod logging;
mod output;

use clap::Parser;
use std::process::ExitCode;

pub use error::CliError;

/// Runs the CLI with the process arguments.
pub fn run() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(code.clamp(0, 255) as u8);
        }
    };
    let json = args.global.json;
    let code = match command::dispatch(args) {
        Ok(code) => code,
        Err(e) => e.report(json),
    };
    // Used by `bench ingest` to measure the peak memory of a real run.
    if std::env::var_os("OCB_REPORT_PEAK_RSS").is_some() {
        if let Some(kib) = command::bench::peak_rss_kib() {
            eprintln!("peak_rss_kib={kib}");
        }
    }
    code
}
