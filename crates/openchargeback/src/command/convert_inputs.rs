//! `convert`: gathering each kind's inputs (files, stdin, `sacct`, `isi`, directory walks) and
//! calling the pure converters of `ocb-convert`.

use super::convert_args::KindArgs;
use ocb_convert::config::ConfigFile;
use ocb_convert::openai::Ledger;
use ocb_convert::report::{FileRef, Warning};
use ocb_convert::{aws_cur, azure_ea, azure_local, isilon, openai, qumulo, qumulo_fs, slurm};
use ocb_convert::{Conversion, ConvertContext, ConvertError};
use serde_json::{Map, Value};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a kind produced besides the conversion: a ledger to write after the CSV.
pub struct Converted {
    pub conversion: Conversion,
    pub ledger: Option<(PathBuf, String)>,
}

/// Reads a named input or config file. Only regular files: `/dev/zero` would be read until
/// memory runs out, and opening a FIFO blocks (issue 15); a pipe is still accepted as `-`.
pub fn read_regular_file(path: &Path) -> std::io::Result<Vec<u8>> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other(
            "not a regular file; save the data to a file, or pipe it in as -",
        ));
    }
    std::fs::read(path)
}

/// Files read, for the report and audit.
#[derive(Default)]
pub struct Inputs {
    pub files: Vec<FileRef>,
    pub paths: Vec<String>,
}

impl Inputs {
    /// Reads a file (`-` = stdin) and records its hash.
    pub fn read(&mut self, path: &Path) -> Result<Vec<u8>, ConvertError> {
        let name = path.display().to_string();
        let bytes = if name == "-" {
            let mut b = Vec::new();
            std::io::stdin()
                .read_to_end(&mut b)
                .map_err(|e| ConvertError::input(format!("cannot read stdin: {e}")))?;
            b
        } else {
            read_regular_file(path)
                .map_err(|e| ConvertError::input(format!("cannot read {name}: {e}")))?
        };
        self.files.push(FileRef::new(&name, &bytes));
        self.paths.push(name);
        Ok(bytes)
    }

    fn note(&mut self, name: &str) {
        self.paths.push(name.to_string());
    }
}

/// Runs an external command (no shell); a missing binary or non-zero exit is an input error.
fn run_command(argv: &[String]) -> Result<Vec<u8>, ConvertError> {
    let (bin, args) = argv
        .split_first()
        .ok_or_else(|| ConvertError::config("the command to run is empty"))?;
    let out = std::process::Command::new(bin)
        .args(args)
        .output()
        .map_err(|e| ConvertError::input(format!("cannot run {bin}: {e}")))?;
    if !out.status.success() {
        return Err(ConvertError::input(format!(
            "{} exited with {}: {}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

fn need_config(files: &[ConfigFile]) -> Result<(), ConvertError> {
    if files.is_empty() {
        return Err(ConvertError::config(
            "no configuration files: pass --config FILE (repeatable) or --config-dir DIR",
        ));
    }
    Ok(())
}

/// Cloud inputs: files, or every *.csv / *.csv.gz (and with `parquet`, *.parquet) under a
/// directory (sorted). `aws-cur` reads Parquet CURs; `azure-ea` exports are CSV only (§3.3).
fn tables(
    paths: &[PathBuf],
    parquet: bool,
    inputs: &mut Inputs,
) -> Result<Vec<ocb_convert::cloud::Table>, ConvertError> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            let mut stack = vec![p.clone()];
            while let Some(d) = stack.pop() {
                let rd = std::fs::read_dir(&d).map_err(|e| {
                    ConvertError::input(format!("cannot read {}: {e}", d.display()))
                })?;
                for e in rd.flatten() {
                    let path = e.path();
                    let lower = path.to_string_lossy().to_ascii_lowercase();
                    if path.is_dir() {
                        stack.push(path);
                    } else if lower.ends_with(".csv")
                        || lower.ends_with(".csv.gz")
                        || (parquet && lower.ends_with(".parquet"))
                    {
                        found.push(path);
                    }
                }
            }
            if found.is_empty() {
                return Err(ConvertError::input(format!(
                    "{}: no *.csv or *.csv.gz{} files",
                    p.display(),
                    if parquet { " or *.parquet" } else { "" }
                )));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    files
        .iter()
        .map(|f| {
            let bytes = inputs.read(f)?;
            let name = f.display().to_string();
            if parquet {
                ocb_convert::cloud::parse_table_or_parquet(&name, &bytes)
            } else {
                ocb_convert::cloud::parse_table(&name, &bytes)
            }
        })
        .collect()
}

/// Converts one kind.
pub fn convert(
    args: &KindArgs,
    files: &[ConfigFile],
    merged: &Map<String, Value>,
    ctx: &ConvertContext,
    dry_run: bool,
    inputs: &mut Inputs,
) -> Result<Converted, ConvertError> {
    let mut warnings: Vec<Warning> = Vec::new();
    let plain = |conversion| Converted {
        conversion,
        ledger: None,
    };
    let mut converted = match args {
        KindArgs::Slurm {
            input,
            sacct_bin,
            cluster,
            ..
        } => {
            need_config(files)?;
            let cfg = slurm::SlurmConfig::from_merged_json(merged, &mut warnings)?;
            let (bytes, command) = match input {
                Some(p) => (inputs.read(p)?, String::new()),
                None => {
                    let mut argv = vec![sacct_bin.display().to_string()];
                    argv.extend(slurm::sacct_args(&cfg, ctx.period, cluster.as_deref()));
                    inputs.note("sacct");
                    (run_command(&argv)?, argv.join(" "))
                }
            };
            let text = ocb_convert::text::decode(&bytes, "sacct output", false)
                .map_err(ConvertError::Input)?;
            let records = slurm::parse_slurm_input(&text)?;
            plain(slurm::convert_with_command(&records, &cfg, ctx, &command)?)
        }
        KindArgs::Isilon { input, .. } => {
            need_config(files)?;
            let cfg = isilon::IsilonConfig::from_merged_json(merged, &mut warnings)?;
            let bytes = match input {
                Some(p) => inputs.read(p)?,
                None => {
                    inputs.note(&cfg.quota_command.join(" "));
                    run_command(&cfg.quota_command)?
                }
            };
            plain(isilon::convert(
                &isilon::parse_isilon_input(&bytes)?,
                &cfg,
                ctx,
            )?)
        }
        KindArgs::Qumulo {
            root,
            usage_file,
            quota_json,
            daily,
            exclude,
            ..
        } => {
            need_config(files)?;
            let cfg = qumulo::QumuloConfig::from_merged_json(merged, exclude, &mut warnings)?;
            let directories = qumulo_fs::read_directories(root)?;
            inputs.note(&root.display().to_string());
            let usage = match (usage_file, quota_json) {
                (Some(f), _) if *daily => {
                    qumulo::Usage::Daily(qumulo::parse_daily_usage_file(&inputs.read(f)?)?)
                }
                (Some(f), _) => qumulo::Usage::File(qumulo::parse_usage_file(&inputs.read(f)?)?),
                (None, Some(f)) => {
                    qumulo::Usage::QuotaJson(qumulo::parse_quota_json(&inputs.read(f)?)?)
                }
                (None, None) => qumulo::Usage::Walk(qumulo_fs::walk_all(root, &directories, &cfg)),
            };
            let input = qumulo::QumuloInput {
                root: root.display().to_string(),
                directories,
                usage,
            };
            plain(qumulo::convert(&input, &cfg, ctx)?)
        }
        KindArgs::AzureLocal {
            input,
            exclude,
            include_off,
            cluster,
            ..
        } => {
            need_config(files)?;
            let mut cfg =
                azure_local::AzureLocalConfig::from_merged_json(merged, exclude, &mut warnings)?;
            cfg.include_off = *include_off;
            cfg.cluster = cluster.clone();
            let inv = azure_local::parse_azure_local_input(&inputs.read(input)?)?;
            plain(azure_local::convert(&inv, &cfg, ctx)?)
        }
        KindArgs::Openai { input, ledger, .. } => {
            need_config(files)?;
            let mut cfg = openai::OpenAiConfig::from_merged_json(merged, &mut warnings)?;
            cfg.ledger_path = ledger.display().to_string();
            let stored = match std::fs::read(ledger) {
                Ok(b) => Ledger::parse(&b)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ledger::default(),
                Err(e) => {
                    return Err(ConvertError::input(format!(
                        "cannot read ledger {}: {e}",
                        ledger.display()
                    )))
                }
            };
            let bytes = inputs.read(input)?;
            let sha = FileRef::new("", &bytes).sha256;
            let out = openai::convert(
                &openai::parse_openai_input(&bytes)?,
                &cfg,
                &stored,
                ctx,
                &sha,
            )?;
            let write = (!dry_run).then(|| (ledger.clone(), out.ledger.to_json()));
            Converted {
                conversion: out.conversion,
                ledger: write,
            }
        }
        KindArgs::AwsCur { inputs: paths, .. } => {
            let cfg = aws_cur::AwsCurConfig::from_merged_json(merged, &mut warnings)?;
            plain(aws_cur::convert(&tables(paths, true, inputs)?, &cfg, ctx)?)
        }
        KindArgs::AzureEa { inputs: paths, .. } => {
            let cfg = azure_ea::AzureEaConfig::from_merged_json(merged, &mut warnings)?;
            plain(azure_ea::convert(
                &tables(paths, false, inputs)?,
                &cfg,
                ctx,
            )?)
        }
    };
    // Config warnings join the run's warnings (counted and reported like the others).
    let b = &mut converted.conversion.buckets;
    b.warnings.extend(warnings);
    b.sort();
    Ok(converted)
}
