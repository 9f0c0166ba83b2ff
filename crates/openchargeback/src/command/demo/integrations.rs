//! The demo's converted sources (issue 5): raw exports of January 2025 — Slurm `sacct` output,
//! PowerScale quotas, Qumulo project dot files with a usage file, an Azure Local VM inventory and
//! a ChatGPT Edu usage export — converted to lite FOCUS through the `ocb-convert` library (the
//! same functions `openchargeback convert` calls), so the demo month shows HPC, storage, VM and
//! OpenAI charges made the way an admin would make them.
//!
//! The inputs and configs are the converters' golden-test fixtures (INTEGRATIONS.md §4: their
//! unmapped items land flagged `missing_pi_email`, which the demo review queue then shows),
//! except OpenAI, whose fixture is a 2026 month of another university: the demo has its own small
//! January 2025 export for two demo projects under a $25 provost cap. Everything is written under
//! `data/integrations/` so a user can re-run `openchargeback convert` on it by hand.

use crate::error::CliError;
use ocb_convert::config::{merge, ConfigFile};
use ocb_convert::openai::Ledger;
use ocb_convert::report::FileRef;
use ocb_convert::{azure_local, isilon, openai, qumulo, qumulo_fs, slurm};
use ocb_convert::{Conversion, ConvertContext, ConvertError, ExitCode, Kind};
use ocb_core::period::Period;
use std::path::{Path, PathBuf};

/// The embedded raw inputs and configs, by path under `data/integrations/`.
const FILES: [(&str, &str); 19] = [
    (
        "slurm/sacct-2025-01.txt",
        include_str!("../../../demo/integrations/slurm/sacct-2025-01.txt"),
    ),
    (
        "slurm/tiers.json",
        include_str!("../../../demo/integrations/slurm/tiers.json"),
    ),
    (
        "slurm/accounts.json",
        include_str!("../../../demo/integrations/slurm/accounts.json"),
    ),
    (
        "isilon/quotas-2025-01.json",
        include_str!("../../../demo/integrations/isilon/quotas-2025-01.json"),
    ),
    (
        "isilon/rates.json",
        include_str!("../../../demo/integrations/isilon/rates.json"),
    ),
    (
        "isilon/projects.json",
        include_str!("../../../demo/integrations/isilon/projects.json"),
    ),
    (
        "qumulo/rates.json",
        include_str!("../../../demo/integrations/qumulo/rates.json"),
    ),
    (
        "qumulo/usage-2025-01.json",
        include_str!("../../../demo/integrations/qumulo/usage-2025-01.json"),
    ),
    (
        "qumulo/projects/bumberly-lab/.openchargeback.json",
        include_str!(
            "../../../demo/integrations/qumulo/projects/bumberly-lab/.openchargeback.json"
        ),
    ),
    (
        "qumulo/projects/climate-modeling/.openchargeback.json",
        include_str!(
            "../../../demo/integrations/qumulo/projects/climate-modeling/.openchargeback.json"
        ),
    ),
    (
        "qumulo/projects/pilot-project/.openchargeback.json",
        include_str!(
            "../../../demo/integrations/qumulo/projects/pilot-project/.openchargeback.json"
        ),
    ),
    (
        "qumulo/projects/wombsworth-genomics/.openchargeback.json",
        include_str!(
            "../../../demo/integrations/qumulo/projects/wombsworth-genomics/.openchargeback.json"
        ),
    ),
    (
        "azure-local/inventory-2025-01.json",
        include_str!("../../../demo/integrations/azure-local/inventory-2025-01.json"),
    ),
    (
        "azure-local/tiers.json",
        include_str!("../../../demo/integrations/azure-local/tiers.json"),
    ),
    (
        "openai/edu-usage-2025-01.csv",
        include_str!("../../../demo/integrations/openai/edu-usage-2025-01.csv"),
    ),
    (
        "openai/pricing.json",
        include_str!("../../../demo/integrations/openai/pricing.json"),
    ),
    (
        "openai/projects.json",
        include_str!("../../../demo/integrations/openai/projects.json"),
    ),
    (
        "openai/subsidies.json",
        include_str!("../../../demo/integrations/openai/subsidies.json"),
    ),
    // Not read by a converter: how to re-run the conversions by hand.
    ("README.txt", README),
];

const README: &str = "Raw exports of the demo month, converted by `openchargeback demo` into
../<source>_2025-01.csv. To run one conversion by hand (from this folder):

  openchargeback convert slurm slurm/sacct-2025-01.txt --period 2025-01 \\
      --config slurm/tiers.json --config slurm/accounts.json
  openchargeback convert isilon isilon/quotas-2025-01.json --period 2025-01 \\
      --config isilon/rates.json --config isilon/projects.json
  openchargeback convert qumulo qumulo/projects --usage-file qumulo/usage-2025-01.json \\
      --period 2025-01 --config qumulo/rates.json
  openchargeback convert azure-local azure-local/inventory-2025-01.json --period 2025-01 \\
      --config azure-local/tiers.json --timezone UTC
  openchargeback convert openai openai/edu-usage-2025-01.csv --period 2025-01 \\
      --config-dir openai --ledger openai-subsidy-ledger.json
";

/// The converted files to ingest: (path, source name of the demo config's `known_sources`).
pub fn convert_integrations(data: &Path) -> Result<Vec<(PathBuf, &'static str)>, CliError> {
    let root = data.join("integrations");
    for (rel, content) in FILES {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        super::write(&path, content)?;
    }
    let period: Period = "2025-01".parse().expect("valid period");
    let runs: [(Kind, &'static str); 5] = [
        (Kind::Slurm, "Slurm"),
        (Kind::Isilon, "Isilon"),
        (Kind::Qumulo, "Qumulo"),
        (Kind::AzureLocal, "Azure Local"),
        (Kind::OpenAi, "OpenAI"),
    ];
    let mut out = Vec::new();
    for (kind, source) in runs {
        let ctx = ConvertContext::new(kind, period);
        let conv = convert_one(kind, &root, &ctx).map_err(|e| {
            CliError::fail("internal", format!("demo conversion {kind} failed: {e}"))
        })?;
        // The fixtures have no invalid records; a failure here is a bug, not a user error.
        if conv.exit_code(false) != ExitCode::Ok {
            return Err(CliError::fail(
                "internal",
                format!(
                    "demo conversion {kind}: {} invalid records",
                    conv.buckets.errors.len()
                ),
            ));
        }
        let path = data.join(ocb_convert::kind::default_file_name(&ctx.source, period));
        super::write(&path, conv.csv())?;
        out.push((path, source));
    }
    Ok(out)
}

/// The named config files of a kind's folder, merged like repeated `--config` options.
fn configs(
    dir: &Path,
    names: &[&str],
) -> Result<serde_json::Map<String, serde_json::Value>, ConvertError> {
    let files: Vec<ConfigFile> = names
        .iter()
        .map(|n| ConfigFile::parse(n, &read(&dir.join(n))?))
        .collect::<Result<_, _>>()?;
    merge(&files)
}

fn read(path: &Path) -> Result<Vec<u8>, ConvertError> {
    std::fs::read(path)
        .map_err(|e| ConvertError::input(format!("cannot read {}: {e}", path.display())))
}

/// Runs one converter on its folder under `root`, exactly as `convert <kind>` would.
fn convert_one(kind: Kind, root: &Path, ctx: &ConvertContext) -> Result<Conversion, ConvertError> {
    let mut warnings = Vec::new();
    let dir = root.join(kind.name());
    match kind {
        Kind::Slurm => {
            let cfg = slurm::SlurmConfig::from_merged_json(
                &configs(&dir, &["accounts.json", "tiers.json"])?,
                &mut warnings,
            )?;
            let bytes = read(&dir.join("sacct-2025-01.txt"))?;
            let text = ocb_convert::text::decode(&bytes, "sacct output", false)
                .map_err(ConvertError::Input)?;
            slurm::convert(&slurm::parse_slurm_input(&text)?, &cfg, ctx)
        }
        Kind::Isilon => {
            let cfg = isilon::IsilonConfig::from_merged_json(
                &configs(&dir, &["projects.json", "rates.json"])?,
                &mut warnings,
            )?;
            let quotas = isilon::parse_isilon_input(&read(&dir.join("quotas-2025-01.json"))?)?;
            isilon::convert(&quotas, &cfg, ctx)
        }
        Kind::Qumulo => {
            let cfg = qumulo::QumuloConfig::from_merged_json(
                &configs(&dir, &["rates.json"])?,
                &[],
                &mut warnings,
            )?;
            let projects = dir.join("projects");
            let usage = qumulo::parse_usage_file(&read(&dir.join("usage-2025-01.json"))?)?;
            let input = qumulo::QumuloInput {
                root: projects.display().to_string(),
                directories: qumulo_fs::read_directories(&projects)?,
                usage: qumulo::Usage::File(usage),
            };
            qumulo::convert(&input, &cfg, ctx)
        }
        Kind::AzureLocal => {
            let cfg = azure_local::AzureLocalConfig::from_merged_json(
                &configs(&dir, &["tiers.json"])?,
                &[],
                &mut warnings,
            )?;
            let inv =
                azure_local::parse_azure_local_input(&read(&dir.join("inventory-2025-01.json"))?)?;
            azure_local::convert(&inv, &cfg, ctx)
        }
        Kind::OpenAi => {
            let mut cfg = openai::OpenAiConfig::from_merged_json(
                &configs(&dir, &["pricing.json", "projects.json", "subsidies.json"])?,
                &mut warnings,
            )?;
            // Beside, not inside, the config folder: `--config-dir openai` must not load it.
            let ledger = root.join("openai-subsidy-ledger.json");
            cfg.ledger_path = ledger.display().to_string();
            let bytes = read(&dir.join("edu-usage-2025-01.csv"))?;
            let sha = FileRef::new("", &bytes).sha256;
            // A fresh instance starts a fresh subsidy ledger (the demo month is its first).
            let lines = openai::parse_openai_input(&bytes)?;
            let out = openai::convert(&lines, &cfg, &Ledger::default(), ctx, &sha)?;
            super::write(&ledger, out.ledger.to_json()).map_err(|e| {
                ConvertError::Internal(format!("cannot write {}: {e}", ledger.display()))
            })?;
            Ok(out.conversion)
        }
        Kind::AwsCur | Kind::AzureEa => Err(ConvertError::Internal(format!(
            "the demo's cloud sources are native FOCUS samples, not a {kind} conversion"
        ))),
    }
}
