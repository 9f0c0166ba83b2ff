//! `convert aws-cur` reads Parquet CURs in the shipped binary (INTEGRATIONS.md §3.2): the
//! checked-in Parquet version of golden example 4.7 (written by ocb-convert's
//! `tests/cur_parquet.rs`) converts to exactly the golden CSV, as a file and inside a folder.

mod common;
use common::*;
use std::path::Path;

fn fx(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ocb-convert/tests/fixtures")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn a_parquet_cur_converts_to_the_golden_csv() {
    let inst = Instance::new();
    let golden = std::fs::read(fx("aws-cur/expected/aws_2025-01.csv")).expect("golden");
    let folder = inst.path("cur");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::copy(
        fx("aws-cur/cur-2025-01.parquet"),
        folder.join("part-0.parquet"),
    )
    .expect("copy");
    for input in [
        fx("aws-cur/cur-2025-01.parquet"),
        folder.display().to_string(),
    ] {
        let out = inst
            .cmd(&[
                "convert", "aws-cur", &input, "--period", "2025-01", "--output", "-",
            ])
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{input}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, golden, "{input}");
    }
    // azure-ea exports are CSV only (§3.3): a Parquet file is a clear input error (exit 4).
    let out = inst
        .cmd(&[
            "convert",
            "azure-ea",
            &fx("aws-cur/cur-2025-01.parquet"),
            "--period",
            "2025-01",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("export the report as CSV"));
}
