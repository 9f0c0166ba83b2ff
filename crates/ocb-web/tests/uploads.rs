//! Uploads in the private staging area (SPEC §12.6, issue 15): a file is written under a hidden
//! staged name and gets its own name only once complete, so an upload cut short or over the
//! limit leaves nothing behind, and a complete one is whole.

#[path = "common/api.rs"]
mod api_client;
mod common;
use api_client::{api, token_for};
use axum::http::{Method, StatusCode};
use common::*;

fn staged_files(inst: &Instance) -> Vec<String> {
    let dir = inst.dir.path().join("out/imports/.staging");
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn file_part(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!("--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n").into_bytes();
    body.extend_from_slice(bytes);
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_cut_short_or_too_large_leave_nothing_staged() {
    let inst = Instance::with_config("  max_upload_mb: 1\n");
    let rex = inst.add_user("rex", "reviewer", "Reviewer-pass-1");
    let r = api(&inst, &token_for(&inst, rex, false, None));
    let ctype = Some("multipart/form-data; boundary=XB");
    let row = b"2025-01-01,2025-01-31,1.00,r1,{}\n";
    // The connection breaks off mid-file: no closing boundary.
    let cut = file_part("aws_2025-01.csv", &row.repeat(20_000));
    let (s, _, text) = r.call(Method::POST, "/api/v1/imports", ctype, cut).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(staged_files(&inst), Vec::<String>::new());
    // Over the 1 MB limit.
    let mut big = file_part("aws_2025-01.csv", &row.repeat(40_000));
    big.extend_from_slice(b"\r\n--XB--\r\n");
    let (s, _, text) = r.call(Method::POST, "/api/v1/imports", ctype, big).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert_eq!(staged_files(&inst), Vec::<String>::new());
    // A complete upload is previewed whole, then removed with its request.
    let (s, rep) = r
        .import("aws_2025-01.csv", &[("source", "AWS"), ("dry_run", "true")])
        .await;
    assert_eq!(s, StatusCode::OK, "{rep}");
    let expected_rows = std::fs::read_to_string(sample("aws_2025-01.csv"))
        .expect("sample")
        .lines()
        .count()
        - 1;
    assert_eq!(
        rep["rows_read"].as_u64(),
        Some(expected_rows as u64),
        "{rep}"
    );
    assert_eq!(staged_files(&inst), Vec::<String>::new());
}
