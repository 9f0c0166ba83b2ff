//! Argument definitions (clap). Global options are accepted before and after the command.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "openchargeback",
    version,
    about = "Chargeback for research computing: FOCUS billing data in, statements and journals out",
    arg_required_else_help = true,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Configuration file (default: $OPENCHARGEBACK_CONFIG, $FOCUS_BILLING_CONFIG, ./instance/config.yaml)
    #[arg(short = 'c', long = "config", global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print exactly one JSON document on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Only print errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log INFO (-v) or DEBUG (-vv) lines to stderr
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress bars
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Colour output
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Actor recorded for CLI actions (default: the OS user name)
    #[arg(long = "as", global = true, value_name = "NAME")]
    pub as_user: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the version
    Version,
    /// Import FOCUS files (CSV, CSV.gz, Parquet) into the database
    Ingest(IngestArgs),
    /// Check FOCUS files without touching the database
    Validate(ValidateArgs),
    /// Billing periods: list, open, close, reopen, finalize, note
    #[command(subcommand, arg_required_else_help = true)]
    Periods(PeriodsCommand),
    /// Data sources
    #[command(subcommand, arg_required_else_help = true)]
    Sources(SourcesCommand),
    /// Review flagged charges
    #[command(subcommand, arg_required_else_help = true)]
    Review(ReviewCommand),
    /// Show a PI's charges in a period
    Show(ShowArgs),
    /// Generate statements (one PDF per PI and project) for a period; optionally email them
    Generate(GenerateArgs),
    /// Email the statements of a period (one message per PI)
    Send(SendArgs),
    /// Statements: list, resend
    #[command(subcommand, arg_required_else_help = true)]
    Statements(StatementsCommand),
    /// Export a journal (CSV for finance) of a period
    ExportJournal(ExportJournalArgs),
    /// Recompute flag reasons from stored charges and the current review settings
    Reevaluate(ReevaluateArgs),
    /// Configuration
    #[command(subcommand, arg_required_else_help = true)]
    Config(ConfigCommand),
    /// Database maintenance
    #[command(subcommand, arg_required_else_help = true)]
    Db(DbCommand),
    /// Convert a raw export (slurm, isilon, qumulo, azure-local, openai, aws-cur, azure-ea) to lite FOCUS
    #[command(disable_help_flag = true)]
    Convert(ConvertArgs),
    /// Web users: list, add, set-password, disable, enable, delete, hash-password, API tokens
    #[command(subcommand, arg_required_else_help = true)]
    Users(UsersCommand),
    /// Run the web UI
    #[command(visible_alias = "web", disable_help_flag = true)]
    Serve(ServeCommand),
    /// Run a full monthly cycle on embedded sample data in a fresh instance
    Demo(DemoArgs),
    /// Benchmarks (figures for BENCHMARKS.md)
    #[command(subcommand, arg_required_else_help = true)]
    Bench(BenchCommand),
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Billing period YYYY-MM
    #[arg(short, long, value_parser = parse_period, required = true)]
    pub period: ocb_core::period::Period,
    /// Compute and render into a temporary directory; write nothing, send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: keep the rendered PDFs in this directory
    #[arg(long, value_name = "DIR")]
    pub preview_dir: Option<PathBuf>,
    /// Email the statements after a successful run
    #[arg(long)]
    pub send: bool,
    /// With --send: also PIs whose statements were already sent
    #[arg(long)]
    pub resend: bool,
    /// With --send: only these PIs (repeatable)
    #[arg(long, value_name = "EMAIL")]
    pub pi: Vec<String>,
    /// Parallel PDF renderers (default statements.workers)
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Only re-render PDFs missing on disk (allowed in finalized periods)
    #[arg(long)]
    pub restore_missing: bool,
}

#[derive(Args, Debug)]
pub struct SendArgs {
    /// Billing period YYYY-MM
    #[arg(short, long, value_parser = parse_period, required = true)]
    pub period: ocb_core::period::Period,
    /// Only these PIs (repeatable)
    #[arg(long, value_name = "EMAIL")]
    pub pi: Vec<String>,
    /// Also PIs whose statements were already sent
    #[arg(long)]
    pub resend: bool,
    /// Show who would get an email; send nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Subcommand, Debug)]
pub enum StatementsCommand {
    /// List the statements of a period
    List {
        #[arg(short, long, value_parser = parse_period, required = true)]
        period: ocb_core::period::Period,
        /// Only this PI
        #[arg(long, value_name = "EMAIL")]
        pi: Option<String>,
    },
    /// Send a PI's current statements of a period again
    Resend {
        #[arg(short, long, value_parser = parse_period, required = true)]
        period: ocb_core::period::Period,
        /// The PI (repeatable)
        #[arg(long, value_name = "EMAIL", required = true)]
        pi: Vec<String>,
    },
}

/// The month `bench statements` generates.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchScenario {
    /// One line per charge: unique resources, five services, some without list price.
    Mixed,
    /// Daily lines: each resource has one line per day of the month.
    Daily,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Create a period with many PI/project pairs and time `generate` on it (statements/s)
    Statements {
        /// PI/project pairs (= statements)
        #[arg(long, default_value_t = 600)]
        pairs: u64,
        /// Charges per statement
        #[arg(long, default_value_t = 50)]
        charges: u64,
        /// Shape of the generated month: `mixed` (one line per resource, long service names,
        /// rows without list price) or `daily` (a line per resource and day, as cloud exports
        /// give; with --pairs 600 --charges 167 about 100,000 charges, issue 16)
        #[arg(long, value_enum, default_value = "mixed")]
        scenario: BenchScenario,
        /// Renderer threads (default: CPU cores)
        #[arg(long)]
        workers: Option<usize>,
        /// Work directory (default: a temporary one)
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Ingest a generated period and load the web pages with concurrent clients (p50/p95/p99)
    Web {
        /// Charges in the period
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Concurrent keep-alive clients
        #[arg(long, default_value_t = 20)]
        clients: usize,
        /// Seconds of load per page
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Work directory (default: a temporary one)
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Keep the database already in --dir instead of generating and ingesting again
        #[arg(long)]
        reuse: bool,
    },
    /// Build a Python OpenChargeback database and the same rows as a FOCUS CSV; time
    /// `db import-upstream` against `ingest` (issue 17)
    #[command(name = "import-upstream")]
    ImportUpstream {
        /// Charges to generate
        #[arg(long, default_value_t = 1_000_000)]
        charges: u64,
        /// Work directory (default: a temporary one)
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Generate a lite FOCUS CSV and time `ingest` on it (empty period, re-import, dry run)
    Ingest {
        /// Rows to generate
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Work directory (default: a temporary one)
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Files or export directories
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Source name (default: detected from the file name)
    #[arg(short, long)]
    pub source: Option<String>,
    /// Expected billing period YYYY-MM (rows of other periods are flagged)
    #[arg(short, long, value_parser = parse_period)]
    pub period: Option<ocb_core::period::Period>,
    /// Import mode (default: the source's mode)
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Report what would happen; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Import valid rows and set bad rows aside in a rejects file
    #[arg(long)]
    pub skip_invalid: bool,
    /// Also copy the error report to this path
    #[arg(long, value_name = "PATH")]
    pub errors_file: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Replace,
    Upsert,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Files to check
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Also check FOCUS conformance
    #[arg(long)]
    pub strict: bool,
    /// Examples shown per rule
    #[arg(long, default_value_t = 20)]
    pub max_examples: usize,
}

#[derive(Subcommand, Debug)]
pub enum PeriodsCommand {
    /// List periods
    List {
        /// Only periods with this status
        #[arg(long)]
        status: Option<String>,
    },
    /// Create a period (open)
    Open {
        #[arg(value_parser = parse_period)]
        period: ocb_core::period::Period,
        #[arg(short, long)]
        notes: Option<String>,
    },
    /// Close an open period
    Close {
        #[arg(value_parser = parse_period)]
        period: ocb_core::period::Period,
        #[arg(short, long)]
        notes: Option<String>,
    },
    /// Reopen a closed period (reason required)
    Reopen {
        #[arg(value_parser = parse_period)]
        period: ocb_core::period::Period,
        #[arg(short, long, required = true)]
        reason: String,
    },
    /// Finalize a closed period (irreversible)
    Finalize {
        #[arg(value_parser = parse_period)]
        period: ocb_core::period::Period,
        #[arg(short, long)]
        notes: Option<String>,
        /// Skip the confirmation question
        #[arg(long)]
        yes: bool,
    },
    /// Add a note to a period
    Note {
        #[arg(value_parser = parse_period)]
        period: ocb_core::period::Period,
        text: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SourcesCommand {
    /// List sources
    List,
    /// Sources with their latest import
    SyncStatus,
    /// Add a source
    Add {
        name: String,
        #[arg(short, long)]
        display_name: Option<String>,
        #[arg(short = 't', long = "type", default_value = "file", value_parser = ["file", "api"])]
        source_type: String,
    },
}

#[derive(Args, Debug, Clone, Default)]
pub struct ReviewFilterArgs {
    /// Billing period
    #[arg(short, long, value_parser = parse_period)]
    pub period: Option<ocb_core::period::Period>,
    /// Flag reason (missing_pi_email, pattern_match, …)
    #[arg(long)]
    pub reason: Option<String>,
    /// Source name
    #[arg(long)]
    pub source: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ReviewCommand {
    /// List the review queue
    List {
        #[command(flatten)]
        filter: ReviewFilterArgs,
        /// Rows shown
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Approve charges by id or every queued charge of a period
    Approve {
        /// Charge ids
        #[arg(long = "id", value_name = "N", num_args = 1..)]
        ids: Vec<i64>,
        #[command(flatten)]
        filter: ReviewFilterArgs,
        #[arg(long)]
        note: Option<String>,
        /// Override the PI email (single --id only)
        #[arg(long)]
        pi_email: Option<String>,
        /// Override the project (single --id only)
        #[arg(long)]
        project_id: Option<String>,
        /// Override the fund/org (single --id only)
        #[arg(long)]
        fund_org: Option<String>,
    },
    /// Reject charges (soft exclusion)
    Reject {
        #[arg(long = "id", value_name = "N", num_args = 1..)]
        ids: Vec<i64>,
        #[command(flatten)]
        filter: ReviewFilterArgs,
        #[arg(long)]
        note: Option<String>,
    },
    /// Return rejected charges to the queue
    Restore {
        #[arg(long = "id", value_name = "N", num_args = 1.., required = true)]
        ids: Vec<i64>,
    },
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// PI email (case-insensitive)
    pub pi_email: String,
    #[arg(short, long, value_parser = parse_period, required = true)]
    pub period: ocb_core::period::Period,
}

#[derive(Args, Debug)]
pub struct ReevaluateArgs {
    /// Only this billing period YYYY-MM (default: every open and closed period)
    #[arg(short, long, value_parser = parse_period)]
    pub period: Option<ocb_core::period::Period>,
    /// Show the counts; change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct ExportJournalArgs {
    /// Billing period YYYY-MM
    #[arg(short, long, value_parser = parse_period, required = true)]
    pub period: ocb_core::period::Period,
    /// Journal format
    #[arg(short, long, default_value = "default",
          value_parser = ["default", "standard", "summary", "gl", "gl-upstream", "template"])]
    pub format: String,
    /// Output file, or - for standard output (default: output.journal_dir)
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Also include charges still flagged for review
    #[arg(long)]
    pub include_flagged: bool,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Validate the configuration and print resolved paths
    Check,
    /// Print the commented example configuration
    Example,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Integrity and invariant checks
    Check,
    /// Bring a Python OpenChargeback database (its billing.db) into this one, read-only
    #[command(name = "import-upstream")]
    ImportUpstream {
        /// The Python project's database file (opened read-only and immutable: never changed)
        path: PathBuf,
        /// Import into a database that already holds data (periods present in both are left alone)
        #[arg(long)]
        merge: bool,
    },
}

/// `convert <kind> …`: parsed by the converter's own parser (its `--config` is repeatable JSON).
#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// <KIND> [INPUT ...] --period YYYY-MM [options]; see `convert --help`
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "ARGS")]
    pub args: Vec<std::ffi::OsString>,
}

/// `serve`, spelled as upstream's: `-h` is the host, so `--help` is its only help flag.
#[derive(Args, Debug)]
pub struct ServeCommand {
    /// Address to listen on (default: web.host)
    #[arg(short = 'h', long)]
    pub host: Option<String>,
    /// Port (default: web.port; 0 = any free port)
    #[arg(short = 'p', long)]
    pub port: Option<u16>,
    /// Accepted for upstream's scripts; has no effect (restart the server to load changes)
    #[arg(long)]
    pub reload: bool,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Instance directory
    #[arg(long, default_value = "./openchargeback-demo")]
    pub dir: PathBuf,
    /// Reuse a non-empty directory
    #[arg(long)]
    pub force: bool,
    /// Then start the web UI on the demo instance (user `demo`, admin, random password printed once)
    #[arg(long)]
    pub serve: bool,
    /// With --serve: where to listen (SPEC §11.2; the same options as `serve`)
    #[command(flatten)]
    pub listen: ServeArgs,
}

/// Where to listen: `demo --serve` (long options only, so its `-h` stays help).
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (default: web.host)
    #[arg(long)]
    pub host: Option<String>,
    /// Port (default: web.port; 0 = any free port)
    #[arg(long)]
    pub port: Option<u16>,
}

pub fn parse_period(s: &str) -> Result<ocb_core::period::Period, String> {
    s.parse()
        .map_err(|e: ocb_core::period::PeriodParseError| e.to_string())
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// List web users: config and database accounts
    List,
    /// Add a database user; the password is asked twice without echo on a terminal, else read
    /// from the first line of standard input
    Add {
        /// Username (letters, digits, '_', '.', '-'; case-insensitive)
        username: String,
        /// Email address
        #[arg(long, required = true)]
        email: String,
        /// Role
        #[arg(long, default_value = "viewer", value_parser = ["admin", "reviewer", "viewer"])]
        role: String,
        /// Display name
        #[arg(long, value_name = "NAME")]
        display_name: Option<String>,
        /// Read the password from the first line of standard input, even on a terminal
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a database user's password (read like `add`); the user's sessions end
    SetPassword {
        /// Username (case-insensitive)
        username: String,
        /// Read the password from the first line of standard input, even on a terminal
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a database user: they can no longer log in, their sessions and tokens stop working
    Disable {
        /// Username (case-insensitive)
        username: String,
    },
    /// Enable a disabled database user
    Enable {
        /// Username (case-insensitive)
        username: String,
    },
    /// Delete a database user with their sessions and API tokens
    Delete {
        /// Username (case-insensitive)
        username: String,
    },
    /// API tokens (SPEC §14.5): create (printed once), list, revoke
    #[command(subcommand, arg_required_else_help = true)]
    Token(TokenCommand),
    /// Print a bcrypt hash for `web.users.<name>.password_hash`; the password is asked without
    /// echo on a terminal, else read from the first line of standard input. Needs no configuration
    HashPassword {
        /// Read the password from the first line of standard input, even on a terminal
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token for a user; the token is printed once, on stdout
    Create {
        /// Username (case-insensitive)
        username: String,
        /// A name for the token (e.g. what uses it)
        #[arg(long, required = true)]
        name: String,
        /// Expire after N days (default: never)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=36_500))]
        expires_days: Option<u32>,
        /// Allow GET requests only
        #[arg(long)]
        read_only: bool,
    },
    /// List the API tokens of a user, else of every user (never the tokens themselves)
    List {
        /// Username (case-insensitive)
        username: Option<String>,
    },
    /// Revoke an API token (it stops working at once)
    Revoke {
        /// Token id (see `users token list`)
        id: i64,
    },
}
