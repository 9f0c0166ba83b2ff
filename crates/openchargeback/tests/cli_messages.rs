//! Issue 16, item 11: what a new user sees when a file is missing, and the progress display.

mod common;

use common::Instance;

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// `ingest` of a missing file printed an all-zero "Import Summary" and the same error twice.
#[test]
fn ingest_of_a_missing_file_says_so_once_without_a_summary() {
    let inst = Instance::new();
    let out = inst
        .cmd(&["ingest", "nope.csv", "--source", "AWS"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stdout.contains("Import Summary"), "{stdout}");
    assert!(!stdout.contains("Rows read"), "{stdout}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("nope.csv"), "{stderr}");
    assert!(
        stderr.contains("Import refused: nothing written."),
        "{stderr}"
    );
}

/// A file that was read keeps its summary: the counts tell what the refused file holds.
#[test]
fn a_refused_file_with_rows_keeps_its_summary() {
    let inst = Instance::new();
    let bad = inst.path("aws_2025-01.csv");
    std::fs::write(
        &bad,
        "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,BilledCost,Tags\n\
         2025-01-01,2025-02-01,2025-01-01,abc,{}\n",
    )
    .expect("write");
    let out = inst
        .cmd(&["ingest", "aws_2025-01.csv", "--source", "AWS"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("Rows read  1"),
        "{}",
        text(&out.stdout)
    );
}

/// `validate` of a missing file showed PASS for twelve rules that never ran.
#[test]
fn validate_of_a_missing_file_passes_no_rule() {
    let inst = Instance::new();
    let out = inst.cmd(&["validate", "nope.csv"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("FAIL  L1"), "{stdout}");
    assert!(!stdout.contains("PASS"), "{stdout}");
    assert!(stdout.contains("SKIP  L2"), "{stdout}");
    let (code, json) = inst.json(&["validate", "nope.csv"]);
    assert_eq!(code, 1);
    let rules = json["files"][0]["rules"].as_array().expect("rules");
    assert!(rules
        .iter()
        .filter(|r| r["id"] != "L1")
        .all(|r| r["status"] == "skipped"));
}

/// On a terminal the progress display is a bar with a percentage and an ETA (the file size is
/// known), and the rate is whole rows per second. `script` gives the binary a terminal.
#[test]
fn ingest_on_a_terminal_shows_a_bar_with_percent_and_whole_rates() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: script (util-linux) not found");
        return;
    }
    let inst = Instance::new();
    let file = inst.path("big_2025-01.csv");
    common::generate(&file, 120_000, 0);
    let bin = assert_cmd::cargo::cargo_bin("openchargeback");
    let command = format!(
        "{} -c {} ingest {} --source Big",
        bin.display(),
        inst.path("config.yaml").display(),
        file.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("COLUMNS", "120")
        .output()
        .expect("run script");
    let screen = text(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(screen.contains("% eta "), "no bar in: {screen:?}");
    assert!(screen.contains(" rows/s)"), "{screen:?}");
    // Thousands separators, never decimals in a rate.
    for (end, _) in screen.match_indices(" rows/s)") {
        let start = screen[..end].rfind('(').expect("an opening parenthesis") + 1;
        let rate = &screen[start..end];
        assert!(
            rate.chars().all(|c| c.is_ascii_digit() || c == ','),
            "rate not whole rows with separators: {rate:?}"
        );
    }
}
