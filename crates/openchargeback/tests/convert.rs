//! `convert <kind>` through the real binary: golden outputs, validate + ingest with zero
//! rejects, exit codes, dry runs, audit records and the OpenAI ledger (INTEGRATIONS.md §1, §5).

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn fx(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ocb-convert/tests/fixtures")
        .join(rel)
        .display()
        .to_string()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One kind's golden run: args after `convert`, the output name and the golden CSV.
struct Case {
    args: Vec<String>,
    output: &'static str,
    golden: &'static str,
    source: &'static str,
    period: &'static str,
}

fn cases() -> Vec<Case> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        Case {
            args: s(&[
                "slurm",
                &fx("slurm/sacct-2025-01.txt"),
                "--period",
                "2025-01",
                "--config",
                &fx("slurm/tiers.json"),
                "--config",
                &fx("slurm/accounts.json"),
            ]),
            output: "slurm_2025-01.csv",
            golden: "slurm/expected/slurm_2025-01.csv",
            source: "slurm",
            period: "2025-01",
        },
        Case {
            args: s(&[
                "isilon",
                &fx("isilon/quotas-2025-01.json"),
                "--period",
                "2025-01",
                "--config",
                &fx("isilon/rates.json"),
                "--config",
                &fx("isilon/projects.json"),
            ]),
            output: "isilon_2025-01.csv",
            golden: "isilon/expected/isilon_2025-01.csv",
            source: "isilon",
            period: "2025-01",
        },
        Case {
            args: s(&[
                "qumulo",
                &fx("qumulo/projects"),
                "--usage-file",
                &fx("qumulo/usage-2025-01.json"),
                "--period",
                "2025-01",
                "--config",
                &fx("qumulo/rates.json"),
            ]),
            output: "qumulo_2025-01.csv",
            golden: "qumulo/expected/qumulo_2025-01.csv",
            source: "qumulo",
            period: "2025-01",
        },
        Case {
            args: s(&[
                "azure-local",
                &fx("azure-local/inventory-2025-01.json"),
                "--period",
                "2025-01",
                "--config",
                &fx("azure-local/tiers.json"),
                "--timezone",
                "UTC",
            ]),
            output: "azure-local_2025-01.csv",
            golden: "azure-local/expected/azure-local_2025-01.csv",
            source: "azure-local",
            period: "2025-01",
        },
        Case {
            args: s(&[
                "openai",
                &fx("openai/edu-usage-2026-01.csv"),
                "--period",
                "2026-01",
                "--config",
                &fx("openai/pricing.json"),
                "--config",
                &fx("openai/projects.json"),
                "--config",
                &fx("openai/subsidies.json"),
            ]),
            output: "openai-tokens_2026-01.csv",
            golden: "openai/expected/openai-tokens_2026-01.csv",
            source: "openai-tokens",
            period: "2026-01",
        },
        Case {
            args: s(&[
                "aws-cur",
                &fx("aws-cur/cur-2025-01.csv"),
                "--period",
                "2025-01",
            ]),
            output: "aws_2025-01.csv",
            golden: "aws-cur/expected/aws_2025-01.csv",
            source: "aws",
            period: "2025-01",
        },
        Case {
            args: s(&[
                "azure-ea",
                &fx("azure-ea/usage-details-2025-01.csv"),
                "--period",
                "2025-01",
            ]),
            output: "azure_2025-01.csv",
            golden: "azure-ea/expected/azure_2025-01.csv",
            source: "azure",
            period: "2025-01",
        },
    ]
}

fn convert(inst: &Instance, args: &[String]) -> std::process::Output {
    let mut a: Vec<&str> = vec!["convert"];
    a.extend(args.iter().map(String::as_str));
    inst.cmd(&a).output().expect("run")
}

#[test]
fn every_kind_converts_validates_and_ingests_with_zero_rejects() {
    let inst = Instance::new();
    for case in cases() {
        let out = convert(&inst, &case.args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            case.source,
            String::from_utf8_lossy(&out.stderr)
        );
        let csv = inst.path(case.output);
        assert_eq!(
            read(&csv),
            read(Path::new(&fx(case.golden))),
            "{} differs from its golden file",
            case.output
        );
        let text = String::from_utf8(read(&csv)).expect("utf8");
        let unmapped = text.matches(r#"""pi_email"":"""""#).count();
        // The unmapped rows by file line (header = line 1) and ResourceId (column 9).
        let unmapped_rows: Vec<(String, String)> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains(r#"""pi_email"":"""""#))
            .map(|(i, l)| {
                (
                    format!("line {}", i + 1),
                    l.split(',').nth(8).expect("id").into(),
                )
            })
            .collect();
        assert_eq!(unmapped_rows.len(), unmapped);
        // validate --strict (issue 15, item 8b): every lite and strict FOCUS rule passes, and
        // W0 (no pi_email) warns exactly on the unmapped rows, the pre-flight signal it is for.
        let (code, v) = inst.json(&["validate", "--strict", csv.to_str().expect("utf8")]);
        for rule in v["files"][0]["rules"].as_array().expect("rules") {
            let id = rule["id"].as_str().expect("id");
            if id.starts_with('L') || id.starts_with('S') {
                assert_eq!(rule["status"], "pass", "{} rule {id}: {v}", case.output);
            }
            if id == "W0" {
                // Exactly the unmapped rows (fixtures have < 10, all listed as examples).
                let lines: Vec<&str> = rule["examples"]
                    .as_array()
                    .expect("examples")
                    .iter()
                    .map(|e| e["line"].as_str().expect("line"))
                    .collect();
                let want: Vec<&str> = unmapped_rows.iter().map(|(l, _)| l.as_str()).collect();
                assert_eq!(rule["count"], unmapped, "{}: {v}", case.output);
                assert_eq!(lines, want, "{}: {v}", case.output);
            }
        }
        assert_eq!(code, 0, "{}: {v}", case.output);
        let (code, v) = inst.json(&[
            "ingest",
            csv.to_str().expect("utf8"),
            "--source",
            case.source,
            "--period",
            case.period,
        ]);
        assert_eq!(code, 0, "{}: {v}", case.output);
        let r = &v["files"][0];
        assert_eq!(r["status"], "committed", "{v}");
        assert_eq!(r["rejected"], 0, "{}: {v}", case.output);
        assert_eq!(
            r["rows_read"].as_u64(),
            Some(text.lines().count() as u64 - 1)
        );
        // The same rows, and only they, are stored flagged missing_pi_email (held for review).
        let conn = rusqlite::Connection::open(inst.db()).expect("db");
        let mut stmt = conn
            .prepare(
                "SELECT c.resource_id FROM charges c JOIN sources s ON s.id = c.source_id
                 WHERE s.name_key = lower(?1) AND c.flag_reasons LIKE '%missing_pi_email%'
                   AND c.review_state = 'pending' ORDER BY c.resource_id",
            )
            .expect("prepare");
        let flagged: Vec<String> = stmt
            .query_map([case.source], |r| r.get(0))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect();
        let mut want: Vec<String> = unmapped_rows.into_iter().map(|(_, id)| id).collect();
        want.sort();
        assert_eq!(
            flagged, want,
            "{}: unmapped rows land flagged missing_pi_email",
            case.output
        );
    }
}

#[test]
fn strict_invalid_and_usage_errors_have_their_exit_codes_and_write_nothing() {
    let inst = Instance::new();
    let slurm = |extra: &[&str], input: &str| {
        let mut a = vec![
            "slurm".to_string(),
            input.to_string(),
            "--period".into(),
            "2025-01".into(),
            "--config".into(),
            fx("slurm/tiers.json"),
            "--config".into(),
            fx("slurm/accounts.json"),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        convert(&inst, &a)
    };
    std::fs::write(inst.path("slurm_2025-01.csv"), "previous").expect("write");
    let out = slurm(&["--strict"], &fx("slurm/sacct-2025-01.txt"));
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = slurm(&[], &fx("slurm/sacct-bad-2025-01.txt"));
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad_field_count") && err.contains("line 3"),
        "{err}"
    );
    assert_eq!(
        read(&inst.path("slurm_2025-01.csv")),
        b"previous",
        "a failed run leaves the old file"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    let out = slurm(&["--skip-invalid"], &fx("slurm/sacct-bad-2025-01.txt"));
    assert_eq!(out.status.code(), Some(0));
    assert_ne!(read(&inst.path("slurm_2025-01.csv")), b"previous");
    let out = convert(
        &inst,
        &[
            "slurm".into(),
            fx("slurm/sacct-2025-01.txt"),
            "--period".into(),
            "2025-1".into(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = convert(
        &inst,
        &[
            "slurm".into(),
            fx("slurm/sacct-2025-01.txt"),
            "--period".into(),
            "2025-01".into(),
            "--config".into(),
            fx("slurm/tiers.json"),
            "--config".into(),
            fx("slurm/tiers.json"),
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("defined in both"));
    // Missing sacct binary: exit 4.
    let out = convert(
        &inst,
        &[
            "slurm".into(),
            "--period".into(),
            "2025-01".into(),
            "--config".into(),
            fx("slurm/tiers.json"),
            "--sacct-bin".into(),
            "/nonexistent/sacct".into(),
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    // Malformed JSON inventory, UTF-16 PowerShell output, missing Qumulo usage, unknown tier.
    std::fs::write(inst.path("inv.json"), "[{\"Name\": \"vm\",").expect("write");
    let al = |input: &str| {
        convert(
            &inst,
            &[
                "azure-local".into(),
                input.into(),
                "--period".into(),
                "2025-01".into(),
                "--config".into(),
                fx("azure-local/tiers.json"),
                "--timezone".into(),
                "UTC".into(),
            ],
        )
    };
    let out = al(inst.path("inv.json").to_str().expect("utf8"));
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));
    let text = String::from_utf8(read(Path::new(&fx("azure-local/inventory-2025-01.json"))))
        .expect("utf8");
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(inst.path("inv16.json"), &utf16).expect("write");
    assert_eq!(
        al(inst.path("inv16.json").to_str().expect("utf8"))
            .status
            .code(),
        Some(0)
    );
    std::fs::write(
        inst.path("inv-tier.json"),
        text.replacen("\\\"highmem\\\"", "\\\"hihgmem\\\"", 1),
    )
    .expect("write");
    let out = al(inst.path("inv-tier.json").to_str().expect("utf8"));
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown_tier"));
    std::fs::write(
        inst.path("usage.json"),
        r#"{"bumberly-lab": 1, "climate-modeling": 2, "wombsworth-genomics": 3}"#,
    )
    .expect("write");
    let out = convert(
        &inst,
        &[
            "qumulo".into(),
            fx("qumulo/projects"),
            "--usage-file".into(),
            inst.path("usage.json").display().to_string(),
            "--period".into(),
            "2025-01".into(),
            "--config".into(),
            fx("qumulo/rates.json"),
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage_unknown"));
}

#[test]
fn dry_run_writes_the_report_only_and_audit_records_append() {
    let inst = Instance::new();
    let mut args = cases().remove(0).args;
    args.extend(
        [
            "--dry-run",
            "--audit-format",
            "json",
            "--audit-path",
            "audit.jsonl",
        ]
        .map(String::from),
    );
    assert_eq!(convert(&inst, &args).status.code(), Some(0));
    assert!(!inst.path("slurm_2025-01.csv").exists());
    let report: serde_json::Value =
        serde_json::from_slice(&read(&inst.path("slurm_2025-01_whatif.json"))).expect("report");
    assert_eq!(report["metadata"]["mode"], "dry-run");
    assert_eq!(report["metadata"]["outputFile"], serde_json::Value::Null);
    assert_eq!(report["totals"]["billedCost"], "13.72");
    args.retain(|a| a != "--dry-run");
    args.extend(["--report", "r.json"].map(String::from));
    assert_eq!(convert(&inst, &args).status.code(), Some(0));
    assert!(inst.path("r.json").exists() && inst.path("slurm_2025-01.csv").exists());
    let log = String::from_utf8(read(&inst.path("audit.jsonl"))).expect("utf8");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    let keys: Vec<&str> = lines[1]
        .as_object()
        .expect("obj")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(&keys[..4], ["timestamp", "eventType", "user", "host"]);
    assert_eq!(lines[1]["eventType"], "SlurmBillingExport");
    assert_eq!(lines[1]["itemsRead"], 8);
    assert_eq!(lines[1]["totalSubsidyAmount"], "8.00");
    assert_eq!(lines[1]["cpuHours"], "521.07");
    assert_eq!(lines[0]["mode"], "dry-run");
}

fn openai(inst: &Instance, input: &str, period: &str) -> std::process::Output {
    convert(
        inst,
        &[
            "openai".into(),
            input.into(),
            "--period".into(),
            period.into(),
            "--config".into(),
            fx("openai/pricing.json"),
            "--config".into(),
            fx("openai/projects.json"),
            "--config".into(),
            fx("openai/subsidies-cap12.json"),
            "--ledger".into(),
            "ledger.json".into(),
        ],
    )
}

#[test]
fn openai_reruns_are_byte_identical_and_protect_later_months() {
    let inst = Instance::new();
    let jan = fx("openai/edu-usage-2026-01.csv");
    let feb = fx("openai/edu-usage-2026-02.csv");
    assert_eq!(openai(&inst, &jan, "2026-01").status.code(), Some(0));
    let (csv1, ledger1) = (
        read(&inst.path("openai-tokens_2026-01.csv")),
        read(&inst.path("ledger.json")),
    );
    let out = openai(&inst, &jan, "2026-01");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !String::from_utf8_lossy(&out.stderr)
            .lines()
            .any(|l| l.starts_with("warning ")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&inst.path("openai-tokens_2026-01.csv")), csv1);
    assert_eq!(read(&inst.path("ledger.json")), ledger1);
    assert_eq!(openai(&inst, &feb, "2026-02").status.code(), Some(0));
    let feb1 = read(&inst.path("openai-tokens_2026-02.csv"));
    assert!(String::from_utf8_lossy(&feb1)
        .contains(",2.00,2.00,2.00,2.00,openai:codex:ab@northwinds.edu:2026-02-03:usage,"));
    let ledger2 = read(&inst.path("ledger.json"));
    assert_eq!(openai(&inst, &jan, "2026-01").status.code(), Some(0));
    assert_eq!(
        read(&inst.path("ledger.json")),
        ledger2,
        "January again leaves the ledger as it was"
    );
    assert_eq!(openai(&inst, &feb, "2026-02").status.code(), Some(0));
    assert_eq!(
        read(&inst.path("openai-tokens_2026-02.csv")),
        feb1,
        "February's figures are unchanged"
    );
    // A changed January warns that February is stale.
    let text = String::from_utf8(read(Path::new(&jan))).expect("utf8");
    let cut: String = text
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("1/12/2026"))
        .collect();
    std::fs::write(inst.path("jan-cut.csv"), cut).expect("write");
    let out = openai(
        &inst,
        inst.path("jan-cut.csv").to_str().expect("utf8"),
        "2026-01",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("later_months_stale")
            && err.contains("2026-02")
            && err.contains("ledger_entry_replaced"),
        "{err}"
    );
    // A dry run never writes the ledger.
    let before = read(&inst.path("ledger.json"));
    let mut a = vec![
        "openai".to_string(),
        jan.clone(),
        "--period".into(),
        "2026-01".into(),
        "--dry-run".into(),
        "--ledger".into(),
        "ledger.json".into(),
    ];
    for c in ["pricing.json", "projects.json", "subsidies.json"] {
        a.extend(["--config".to_string(), fx(&format!("openai/{c}"))]);
    }
    assert_eq!(convert(&inst, &a).status.code(), Some(0));
    assert_eq!(read(&inst.path("ledger.json")), before);
}

#[test]
fn qumulo_init_and_stdout_output() {
    let inst = Instance::new();
    let root: PathBuf = inst.path("projects");
    std::fs::create_dir_all(root.join("new-lab")).expect("mkdir");
    let out = inst
        .cmd(&["convert", "qumulo", root.to_str().expect("utf8"), "--init"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = std::fs::read_to_string(root.join("new-lab/.openchargeback.json")).expect("created");
    assert!(meta.contains("\"project_id\": \"new-lab\""));
    let out = inst
        .cmd(&[
            "convert",
            "aws-cur",
            &fx("aws-cur/cur-2025-01.csv"),
            "--period",
            "2025-01",
            "--output",
            "-",
        ])
        .output()
        .expect("run");
    assert_eq!(
        out.stdout,
        read(Path::new(&fx("aws-cur/expected/aws_2025-01.csv")))
    );
}
