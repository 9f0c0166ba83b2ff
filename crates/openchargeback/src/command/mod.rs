//! One module per subcommand; `dispatch` routes parsed arguments to them.

pub(crate) mod bench;
mod bench_statements;
mod bench_upstream;
mod bench_web;
mod config;
mod convert;
mod convert_args;
mod convert_inputs;
mod db;
mod db_import_upstream;
mod demo;
mod export_journal;
mod generate;
mod hash_password;
mod ingest;
mod periods;
mod reevaluate;
mod review;
mod serve;
mod show;
mod sources;
mod user_accounts;
mod users;
mod validate;

use crate::cli::{Cli, Command};
use crate::context::Ctx;
use crate::error::CliError;
use std::process::ExitCode;

pub fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    let global = cli.global;
    match cli.command {
        Command::Version => version(global.json),
        Command::Validate(a) => validate::run(global, a),
        Command::Config(c) => config::run(global, c),
        Command::Demo(a) => demo::run(global, a),
        Command::Convert(a) => convert::run(global, a),
        Command::Bench(c) => bench::run(c),
        Command::Ingest(a) => ingest::run(&Ctx::load(global)?, a),
        Command::Periods(c) => periods::run(&Ctx::load(global)?, c),
        Command::Sources(c) => sources::run(&Ctx::load(global)?, c),
        Command::Review(c) => review::run(&Ctx::load(global)?, c),
        Command::Show(a) => show::run(&Ctx::load(global)?, a),
        Command::Generate(a) => generate::run(&Ctx::load(global)?, a),
        Command::Send(a) => generate::run_send(&Ctx::load(global)?, a),
        Command::Statements(c) => generate::run_statements(&Ctx::load(global)?, c),
        Command::ExportJournal(a) => export_journal::run(&Ctx::load(global)?, a),
        Command::Reevaluate(a) => reevaluate::run(&Ctx::load(global)?, a),
        Command::Db(c) => db::run(&Ctx::load(global)?, c),
        Command::Serve(a) => serve::run(&Ctx::load(global)?, a),
        // SPEC §4.1: `users hash-password` never needs a config.
        Command::Users(crate::cli::UsersCommand::HashPassword { password_stdin }) => {
            hash_password::run(password_stdin)
        }
        Command::Users(c) => users::run(&Ctx::load(global)?, c),
    }
}

fn version(json: bool) -> Result<ExitCode, CliError> {
    let v = env!("CARGO_PKG_VERSION");
    if json {
        println!(
            "{}",
            serde_json::json!({"name": "openchargeback", "version": v, "schema_version": ocb_store::SCHEMA_VERSION})
        );
    } else {
        println!("openchargeback version {v}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a JSON document.
pub(crate) fn print_json(v: &serde_json::Value) {
    println!("{v}");
}
