//! Every converter input format, chosen by the first byte (INTEGRATIONS.md §2, §3): Slurm
//! `sacct` text, Isilon quota JSON, Qumulo usage file (monthly and daily), Qumulo quota JSON,
//! Qumulo dot files, Azure Local inventory JSON, OpenAI usage CSV, AWS CUR (CSV, CSV.gz,
//! Parquet), Azure EA usage CSV, and the converters' JSON config files. The rest of the input is
//! parsed and converted with the fixture configs (`crates/ocb-convert/tests/fixtures`).
//!
//! Checks (INTEGRATIONS §1.6, §1.7): no panic; a refusal is a config or input error, never an
//! internal one (a duplicate ResourceId); `itemsRead = charged + skipped + errors`; every error
//! and warning has a message; and the output CSV reads back through the FOCUS reader with every
//! row accepted, so what a converter writes, `ingest` takes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocb_convert::config::{merge, ConfigFile};
use ocb_convert::kind::{ConvertContext, Kind};
use ocb_convert::qumulo::{Metadata, QumuloInput, Usage};
use ocb_convert::{Conversion, ConvertError};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

macro_rules! fixture {
    ($rel:literal) => {
        include_bytes!(concat!("../../crates/ocb-convert/tests/fixtures/", $rel)).as_slice()
    };
}

fn config(files: &[&[u8]]) -> Map<String, Value> {
    let parsed: Vec<ConfigFile> = files
        .iter()
        .map(|b| ConfigFile::parse("fixture.json", b).expect("fixture config parses"))
        .collect();
    merge(&parsed).expect("fixture configs merge")
}

thread_local! {
    /// `--skip-invalid` for this run: the selector's high bit, so both routes of invalid
    /// records (errors, or skipped entries) are exercised.
    static SKIP_INVALID: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn ctx(kind: Kind, period: &str) -> ConvertContext {
    let mut ctx = ConvertContext::new(kind, period.parse().expect("period"));
    ctx.skip_invalid = SKIP_INVALID.get();
    ctx
}

fn check(result: Result<Conversion, ConvertError>) {
    let conv = match result {
        Ok(c) => c,
        Err(ConvertError::Internal(e)) => panic!("internal error: {e}"),
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert!(
        conv.reconciles(),
        "itemsRead {} != charged {} + skipped {} + errors {}",
        conv.items_read,
        conv.items_charged,
        conv.buckets.skipped_count(),
        conv.buckets.errors.len()
    );
    for e in &conv.buckets.errors {
        assert!(!e.message.is_empty() && !e.code.is_empty());
    }
    for w in &conv.buckets.warnings {
        assert!(!w.message.is_empty() && !w.code.is_empty());
    }
    let csv = conv.csv();
    let back = ocb_fuzz::read_all("converted.csv", &csv);
    assert_eq!(back.file_error, None, "converter output refused");
    assert_eq!(back.rejected, 0, "converter output has rejected rows");
    assert_eq!(back.rows, conv.rows.len() as u64);
}

fn qumulo_directories() -> BTreeMap<String, Metadata> {
    [
        (
            "bumberly-lab",
            fixture!("qumulo/projects/bumberly-lab/.openchargeback.json"),
        ),
        (
            "climate-modeling",
            fixture!("qumulo/projects/climate-modeling/.openchargeback.json"),
        ),
        (
            "pilot-project",
            fixture!("qumulo/projects/pilot-project/.openchargeback.json"),
        ),
        (
            "wombsworth-genomics",
            fixture!("qumulo/projects/wombsworth-genomics/.openchargeback.json"),
        ),
    ]
    .into_iter()
    .map(|(name, bytes)| (name.to_string(), Metadata::parse(bytes)))
    .collect()
}

fn qumulo(usage: Usage, directories: BTreeMap<String, Metadata>) {
    let cfg = ocb_convert::qumulo::QumuloConfig::from_merged_json(
        &config(&[fixture!("qumulo/rates.json")]),
        &[],
        &mut Vec::new(),
    )
    .expect("config");
    let input = QumuloInput {
        root: "projects".into(),
        directories,
        usage,
    };
    check(ocb_convert::qumulo::convert(
        &input,
        &cfg,
        &ctx(Kind::Qumulo, "2025-01"),
    ));
}

fn slurm(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let map = config(&[
        fixture!("slurm/tiers.json"),
        fixture!("slurm/accounts.json"),
    ]);
    let cfg =
        ocb_convert::slurm::SlurmConfig::from_merged_json(&map, &mut Vec::new()).expect("config");
    if let Ok(items) = ocb_convert::slurm::parse_slurm_input(text) {
        check(ocb_convert::slurm::convert(
            &items,
            &cfg,
            &ctx(Kind::Slurm, "2025-01"),
        ));
    }
}

fn isilon(input: &[u8]) {
    let map = config(&[
        fixture!("isilon/rates.json"),
        fixture!("isilon/projects.json"),
    ]);
    let cfg =
        ocb_convert::isilon::IsilonConfig::from_merged_json(&map, &mut Vec::new()).expect("config");
    if let Ok(quotas) = ocb_convert::isilon::parse_isilon_input(input) {
        check(ocb_convert::isilon::convert(
            &quotas,
            &cfg,
            &ctx(Kind::Isilon, "2025-01"),
        ));
    }
}

fn azure_local(input: &[u8]) {
    let map = config(&[fixture!("azure-local/tiers.json")]);
    let cfg =
        ocb_convert::azure_local::AzureLocalConfig::from_merged_json(&map, &[], &mut Vec::new())
            .expect("config");
    if let Ok(inv) = ocb_convert::azure_local::parse_azure_local_input(input) {
        check(ocb_convert::azure_local::convert(
            &inv,
            &cfg,
            &ctx(Kind::AzureLocal, "2025-01"),
        ));
    }
}

fn openai(input: &[u8]) {
    let map = config(&[
        fixture!("openai/pricing.json"),
        fixture!("openai/projects.json"),
        fixture!("openai/subsidies-cap12.json"),
    ]);
    let cfg =
        ocb_convert::openai::OpenAiConfig::from_merged_json(&map, &mut Vec::new()).expect("config");
    if let Ok(lines) = ocb_convert::openai::parse_openai_input(input) {
        let ledger = ocb_convert::openai::Ledger::default();
        let ctx = ctx(Kind::OpenAi, "2026-01");
        let out = ocb_convert::openai::convert(&lines, &cfg, &ledger, &ctx, "sha");
        check(out.map(|o| o.conversion));
    }
}

fn cloud(input: &[u8], aws: bool) {
    let table = if aws {
        ocb_convert::cloud::parse_table_or_parquet("cur.csv", input)
    } else {
        ocb_convert::cloud::parse_table("usage.csv", input)
    };
    let Ok(table) = table else {
        return;
    };
    let tables = [table];
    if aws {
        let cfg =
            ocb_convert::aws_cur::AwsCurConfig::from_merged_json(&Map::new(), &mut Vec::new())
                .expect("config");
        check(ocb_convert::aws_cur::convert(
            &tables,
            &cfg,
            &ctx(Kind::AwsCur, "2025-01"),
        ));
    } else {
        let cfg =
            ocb_convert::azure_ea::AzureEaConfig::from_merged_json(&Map::new(), &mut Vec::new())
                .expect("config");
        check(ocb_convert::azure_ea::convert(
            &tables,
            &cfg,
            &ctx(Kind::AzureEa, "2025-01"),
        ));
    }
}

/// A converter config file: parsed, then built into every kind's config (a refusal must be a
/// config error with a message).
fn config_file(input: &[u8]) {
    let Ok(file) = ConfigFile::parse("fuzz.json", input) else {
        return;
    };
    let Ok(map) = merge(&[file]) else {
        return;
    };
    let w = &mut Vec::new();
    let results = [
        ocb_convert::slurm::SlurmConfig::from_merged_json(&map, w).err(),
        ocb_convert::isilon::IsilonConfig::from_merged_json(&map, w).err(),
        ocb_convert::qumulo::QumuloConfig::from_merged_json(&map, &[], w).err(),
        ocb_convert::azure_local::AzureLocalConfig::from_merged_json(&map, &[], w).err(),
        ocb_convert::openai::OpenAiConfig::from_merged_json(&map, w).err(),
        ocb_convert::aws_cur::AwsCurConfig::from_merged_json(&map, w).err(),
        ocb_convert::azure_ea::AzureEaConfig::from_merged_json(&map, w).err(),
    ];
    for e in results.into_iter().flatten() {
        assert!(matches!(e, ConvertError::Config(_)), "{e:?}");
        assert!(!e.to_string().is_empty());
    }
}

fuzz_target!(|data: &[u8]| {
    ocb_fuzz::tolerate_contained_parquet_panics();
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    SKIP_INVALID.set(selector & 0x80 != 0);
    match (selector & 0x7f) % 11 {
        0 => slurm(input),
        1 => isilon(input),
        2 => {
            if let Ok(m) = ocb_convert::qumulo::parse_usage_file(input) {
                qumulo(Usage::File(m), qumulo_directories());
            }
        }
        3 => {
            if let Ok(m) = ocb_convert::qumulo::parse_daily_usage_file(input) {
                qumulo(Usage::Daily(m), qumulo_directories());
            }
        }
        4 => {
            if let Ok(m) = ocb_convert::qumulo::parse_quota_json(input) {
                qumulo(Usage::QuotaJson(m), qumulo_directories());
            }
        }
        5 => {
            // A project's dot file, next to the fixture usage.
            let usage =
                ocb_convert::qumulo::parse_usage_file(fixture!("qumulo/usage-2025-01.json"))
                    .expect("fixture usage");
            let mut dirs = qumulo_directories();
            dirs.insert("climate-modeling".into(), Metadata::parse(input));
            qumulo(Usage::File(usage), dirs);
        }
        6 => azure_local(input),
        7 => openai(input),
        8 => cloud(input, true),
        9 => cloud(input, false),
        _ => config_file(input),
    }
});
