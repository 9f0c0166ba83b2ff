//! Arguments of `convert <kind>` (INTEGRATIONS.md §1.1). Parsed by their own clap parser because
//! the converter's repeatable `--config FILE` (JSON) differs from the global `-c/--config` (YAML).

use clap::{Args, Parser, Subcommand, ValueEnum};
use ocb_core::period::Period;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "openchargeback convert",
    about = "Convert a raw export to a lite-FOCUS CSV for `ingest` (never touches the database)",
    arg_required_else_help = true
)]
pub struct ConvertCli {
    #[command(subcommand)]
    pub kind: KindArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditFormatArg {
    Text,
    Json,
    Splunk,
}

/// Options every kind accepts.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Billing period YYYY-MM
    #[arg(long, value_parser = parse_period)]
    pub period: Option<Period>,
    /// JSON config file (repeatable; merged by top-level key)
    #[arg(long = "config", value_name = "FILE")]
    pub config: Vec<PathBuf>,
    /// Load every *.json in DIR except *.example.json, in file-name order
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// CSV destination: FILE, an existing DIR, or - for stdout (default ./<source>_<YYYY-MM>.csv)
    #[arg(long, short = 'o', value_name = "FILE|DIR|-")]
    pub output: Option<PathBuf>,
    /// Source name used in file names and the audit record
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Write the what-if report instead of the CSV; no ledger or dot-file writes
    #[arg(long)]
    pub dry_run: bool,
    /// Also write the what-if report to FILE
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Unmapped items are an error (exit 5)
    #[arg(long)]
    pub strict: bool,
    /// List invalid records as skipped instead of failing (exit 4)
    #[arg(long)]
    pub skip_invalid: bool,
    /// Audit record format
    #[arg(long, value_enum, default_value_t = AuditFormatArg::Text)]
    pub audit_format: AuditFormatArg,
    /// Append the audit record to FILE (default: stderr)
    #[arg(long, value_name = "FILE")]
    pub audit_path: Option<PathBuf>,
    /// Zone for epoch timestamps (default: the app `timezone`, else the system zone)
    #[arg(long, value_name = "IANA_TZ")]
    pub timezone: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum KindArgs {
    /// Slurm job accounting (sacct --parsable2 output, or run sacct)
    Slurm {
        #[command(flatten)]
        common: Common,
        /// sacct output file (- for stdin); omitted: run sacct for the period
        input: Option<PathBuf>,
        /// sacct binary
        #[arg(long, value_name = "PATH", default_value = "sacct")]
        sacct_bin: PathBuf,
        /// Pass --clusters=NAME to sacct
        #[arg(long)]
        cluster: Option<String>,
    },
    /// PowerScale (Isilon) directory quotas (isi quota JSON, or run quotaCommand)
    Isilon {
        #[command(flatten)]
        common: Common,
        /// Quota JSON (- for stdin); omitted: run the configured quotaCommand
        input: Option<PathBuf>,
    },
    /// Qumulo project directories with .openchargeback.json metadata
    Qumulo {
        #[command(flatten)]
        common: Common,
        /// ROOT directory holding one directory per project
        root: PathBuf,
        /// Usage JSON {"<dir>": bytes} (daily: {"YYYY-MM-DD": {"<dir>": bytes}})
        #[arg(long, value_name = "FILE", conflicts_with = "quota_json")]
        usage_file: Option<PathBuf>,
        /// Qumulo quota listing JSON
        #[arg(long, value_name = "FILE")]
        quota_json: Option<PathBuf>,
        /// Daily model: one row per project and snapshot day (needs --usage-file)
        #[arg(long, requires = "usage_file")]
        daily: bool,
        /// Excluded directory-name regex (repeatable; replaces the defaults)
        #[arg(long, value_name = "REGEX")]
        exclude: Vec<String>,
        /// Write metadata templates into project directories instead of converting
        #[arg(long, conflicts_with_all = ["usage_file", "quota_json", "daily"])]
        init: bool,
        /// Template for --init (default: the built-in template)
        #[arg(long, value_name = "FILE", requires = "init")]
        template: Option<PathBuf>,
        /// With --init: add missing keys to existing metadata files
        #[arg(long, requires = "init")]
        fill: bool,
    },
    /// Azure Local (Azure Stack HCI) VM inventory JSON
    #[command(name = "azure-local")]
    AzureLocal {
        #[command(flatten)]
        common: Common,
        /// Inventory JSON (- for stdin)
        input: PathBuf,
        /// Excluded VM-name regex (repeatable; replaces the defaults)
        #[arg(long, value_name = "REGEX")]
        exclude: Vec<String>,
        /// Bill VMs in every state
        #[arg(long)]
        include_off: bool,
        /// Cluster name for the report and audit
        #[arg(long)]
        cluster: Option<String>,
    },
    /// ChatGPT Edu credit usage with subsidies
    Openai {
        #[command(flatten)]
        common: Common,
        /// Edu admin usage export CSV (- for stdin)
        input: PathBuf,
        /// Subsidy period ledger
        #[arg(
            long,
            value_name = "FILE",
            default_value = "./openai-subsidy-ledger.json"
        )]
        ledger: PathBuf,
    },
    /// Legacy AWS Cost and Usage Report (CSV / CSV.gz / Parquet files or directories)
    #[command(name = "aws-cur")]
    AwsCur {
        #[command(flatten)]
        common: Common,
        /// CUR files or directories (CSV, CSV.gz or Parquet)
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Legacy Azure EA / MCA usage-details export (CSV / CSV.gz)
    #[command(name = "azure-ea")]
    AzureEa {
        #[command(flatten)]
        common: Common,
        /// Usage-detail files or directories
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
}

impl KindArgs {
    pub fn common(&self) -> &Common {
        match self {
            KindArgs::Slurm { common, .. }
            | KindArgs::Isilon { common, .. }
            | KindArgs::Qumulo { common, .. }
            | KindArgs::AzureLocal { common, .. }
            | KindArgs::Openai { common, .. }
            | KindArgs::AwsCur { common, .. }
            | KindArgs::AzureEa { common, .. } => common,
        }
    }

    pub fn kind(&self) -> ocb_convert::Kind {
        use ocb_convert::Kind;
        match self {
            KindArgs::Slurm { .. } => Kind::Slurm,
            KindArgs::Isilon { .. } => Kind::Isilon,
            KindArgs::Qumulo { .. } => Kind::Qumulo,
            KindArgs::AzureLocal { .. } => Kind::AzureLocal,
            KindArgs::Openai { .. } => Kind::OpenAi,
            KindArgs::AwsCur { .. } => Kind::AwsCur,
            KindArgs::AzureEa { .. } => Kind::AzureEa,
        }
    }
}

fn parse_period(s: &str) -> Result<Period, String> {
    crate::cli::parse_period(s)
}
