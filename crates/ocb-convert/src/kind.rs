//! The kind registry: names, default sources, audit titles and event types (INTEGRATIONS.md §1,
//! §5 step 1), and the context every `convert` function receives.

use ocb_core::period::Period;
use std::fmt;
use std::str::FromStr;

/// A built-in converter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Slurm `sacct` job accounting.
    Slurm,
    /// PowerScale (Isilon) directory quotas.
    Isilon,
    /// Qumulo project directories with dot-file metadata.
    Qumulo,
    /// Azure Local (Azure Stack HCI) VM inventory.
    AzureLocal,
    /// ChatGPT Edu credit usage with subsidies.
    OpenAi,
    /// Legacy AWS Cost and Usage Report.
    AwsCur,
    /// Legacy Azure EA / MCA usage details.
    AzureEa,
}

impl Kind {
    /// Every kind, in documentation order.
    pub const ALL: [Kind; 7] = [
        Kind::Slurm,
        Kind::Isilon,
        Kind::Qumulo,
        Kind::AzureLocal,
        Kind::OpenAi,
        Kind::AwsCur,
        Kind::AzureEa,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Slurm => "slurm",
            Kind::Isilon => "isilon",
            Kind::Qumulo => "qumulo",
            Kind::AzureLocal => "azure-local",
            Kind::OpenAi => "openai",
            Kind::AwsCur => "aws-cur",
            Kind::AzureEa => "azure-ea",
        }
    }

    /// Default source name (file names and audit): the kind name except three (§1.3).
    pub fn default_source(self) -> &'static str {
        match self {
            Kind::OpenAi => "openai-tokens",
            Kind::AwsCur => "aws",
            Kind::AzureEa => "azure",
            other => other.name(),
        }
    }

    /// Audit title.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Slurm => "Slurm Billing Export",
            Kind::Isilon => "Isilon Storage Billing Export",
            Kind::Qumulo => "Qumulo Storage Billing Export",
            Kind::AzureLocal => "Azure Local Billing Export",
            Kind::OpenAi => "OpenAI Tokens Billing Export",
            Kind::AwsCur => "AWS CUR Convert",
            Kind::AzureEa => "Azure EA Convert",
        }
    }

    /// Audit `eventType`.
    pub fn event_type(self) -> &'static str {
        match self {
            Kind::Slurm => "SlurmBillingExport",
            Kind::Isilon => "IsilonBillingExport",
            Kind::Qumulo => "QumuloBillingExport",
            Kind::AzureLocal => "AzureLocalBillingExport",
            Kind::OpenAi => "OpenAITokensExport",
            Kind::AwsCur => "AwsCurConvert",
            Kind::AzureEa => "AzureEaConvert",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown converter '{s}' (one of: {})",
                    Kind::ALL.map(Kind::name).join(", ")
                )
            })
    }
}

/// What every `convert` function needs besides its items and config (§1.11).
#[derive(Debug, Clone)]
pub struct ConvertContext {
    /// `--period`.
    pub period: Period,
    /// `--strict`.
    pub strict: bool,
    /// `--skip-invalid`.
    pub skip_invalid: bool,
    /// Zone for epoch timestamps.
    pub timezone: chrono_tz::Tz,
    /// Source name.
    pub source: String,
}

impl ConvertContext {
    /// A context with the kind's default source, UTC, and no flags.
    pub fn new(kind: Kind, period: Period) -> Self {
        Self {
            period,
            strict: false,
            skip_invalid: false,
            timezone: chrono_tz::UTC,
            source: kind.default_source().to_string(),
        }
    }

    /// Days in the period.
    pub fn days(&self) -> u32 {
        days_in(self.period)
    }
}

/// Days in a period.
pub fn days_in(period: Period) -> u32 {
    (period.last_day() - period.first_day()).num_days() as u32 + 1
}

/// The default output file name `<source>_<YYYY-MM>.csv`.
pub fn default_file_name(source: &str, period: Period) -> String {
    format!("{source}_{period}.csv")
}
