//! Golden examples 4.7 (aws-cur) and 4.8 (azure-ea).
mod common;

use common::*;
use ocb_convert::cloud::parse_table;
use ocb_convert::kind::{ConvertContext, Kind};
use ocb_convert::{aws_cur, azure_ea, ExitCode};
use std::io::Write;

fn aws(tables: &[ocb_convert::cloud::Table]) -> ocb_convert::Conversion {
    let cfg = aws_cur::AwsCurConfig::from_merged_json(&Default::default(), &mut Vec::new())
        .expect("config");
    let conv = aws_cur::convert(
        tables,
        &cfg,
        &ConvertContext::new(Kind::AwsCur, "2025-01".parse().expect("p")),
    )
    .expect("convert");
    check_invariants(&conv, false);
    conv
}

fn azure(tables: &[ocb_convert::cloud::Table]) -> ocb_convert::Conversion {
    let cfg = azure_ea::AzureEaConfig::from_merged_json(&Default::default(), &mut Vec::new())
        .expect("config");
    let conv = azure_ea::convert(
        tables,
        &cfg,
        &ConvertContext::new(Kind::AzureEa, "2025-01".parse().expect("p")),
    )
    .expect("convert");
    check_invariants(&conv, false);
    conv
}

#[test]
fn aws_cur_example_matches_the_golden_csv_and_report() {
    let t = parse_table("cur-2025-01.csv", &bytes("aws-cur/cur-2025-01.csv")).expect("table");
    let conv = aws(&[t]);
    assert_golden(&conv.csv(), "aws-cur/expected/aws_2025-01.csv");
    assert_golden(
        report(&conv, &["aws-cur/cur-2025-01.csv"], &[], false, false).as_bytes(),
        "aws-cur/expected/aws_2025-01_whatif.json",
    );
    assert_eq!(totals(&conv), ("29.62".into(), "26.24".into()));
    assert_eq!(
        skipped(&conv),
        [("2024-12".into(), "outside_period".into(), 1)]
    );
    let un: Vec<&str> = conv
        .buckets
        .unmapped
        .iter()
        .map(|u| u.reason.as_str())
        .collect();
    assert_eq!(un, ["no_pi_email_tag", "no_pi_email_tag"]);
    assert_eq!(conv.exit_code(true), ExitCode::Strict);
}

#[test]
fn aws_cur_2_names_gzip_and_suffixes() {
    // The same lines under CUR 2.0 column names, gzip-compressed, with a second owner of one instance.
    let text = String::from_utf8(bytes("aws-cur/cur-2025-01.csv")).expect("utf8");
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("header")
        .split(',')
        .map(aws_cur::normalize_column)
        .collect::<Vec<_>>()
        .join(",");
    let mut body: Vec<String> = lines.map(str::to_string).collect();
    body.push(
        body[0]
            .replace("l1,", "l8,")
            .replace("zorp.blinkman@example.edu", "other.pi@example.edu"),
    );
    let csv = format!("{header}\n{}\n", body.join("\n"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csv.as_bytes()).expect("gzip");
    let t = parse_table("cur2.csv.gz", &gz.finish().expect("gzip")).expect("table");
    let conv = aws(&[t]);
    let ids: Vec<&str> = conv.rows.iter().map(|r| r.resource_id.as_str()).collect();
    assert!(
        ids.contains(&"aws:111122223333:i-0abc123def456789a~2"),
        "{ids:?}"
    );
    let second = conv
        .rows
        .iter()
        .find(|r| r.resource_id.ends_with("~2"))
        .expect("~2");
    assert_eq!(second.tags.get("pi_email"), Some("other.pi@example.edu"));
    assert_eq!(second.cells()[4], "10.00");
}

#[test]
fn azure_ea_example_matches_the_golden_csv_and_report() {
    let t = parse_table(
        "usage-details-2025-01.csv",
        &bytes("azure-ea/usage-details-2025-01.csv"),
    )
    .expect("table");
    let conv = azure(&[t]);
    assert_golden(&conv.csv(), "azure-ea/expected/azure_2025-01.csv");
    assert_golden(
        report(
            &conv,
            &["azure-ea/usage-details-2025-01.csv"],
            &[],
            false,
            false,
        )
        .as_bytes(),
        "azure-ea/expected/azure_2025-01_whatif.json",
    );
    assert_eq!(totals(&conv), ("146.20".into(), "142.29".into()));
    assert_eq!(conv.rows[0].resource_id, "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg-neuro/providers/microsoft.storage/storageaccounts/neurodata01");
    assert_eq!(conv.items_read, 5);
}

#[test]
fn missing_columns_and_bad_amounts() {
    let t = parse_table("x.csv", b"Date,ResourceId\n01/05/2025,a\n").expect("table");
    let cfg = azure_ea::AzureEaConfig::from_merged_json(&Default::default(), &mut Vec::new())
        .expect("config");
    let e = azure_ea::convert(
        &[t],
        &cfg,
        &ConvertContext::new(Kind::AzureEa, "2025-01".parse().expect("p")),
    )
    .expect_err("missing");
    assert_eq!(e.exit_code(), ExitCode::Input);
    let t = parse_table(
        "x.csv",
        b"Date,Cost,Tags\n01/05/2025,lots,\n01/05/2025,1.5,{bad\n",
    )
    .expect("table");
    let conv = azure(&[t]);
    assert_eq!(conv.buckets.errors[0].code, "bad_amount");
    assert!(conv
        .buckets
        .warnings
        .iter()
        .any(|w| w.code == "tags_invalid"));
    assert_eq!(conv.exit_code(false), ExitCode::Input);
}

/// The FOCUS column named `name` of every row.
fn column(conv: &ocb_convert::Conversion, name: &str) -> Vec<String> {
    let i = ocb_convert::row::HEADER
        .iter()
        .position(|h| *h == name)
        .expect("column");
    conv.rows.iter().map(|r| r.cells()[i].clone()).collect()
}

fn azure_fixture_with(from: &str, to: &str) -> ocb_convert::cloud::Table {
    let text = read("azure-ea/usage-details-2025-01.csv").replacen(from, to, 99);
    parse_table("usage.csv", text.as_bytes()).expect("table")
}

/// Issue 15, item 8b: the Azure converter ignored a non-USD billing currency; the file's
/// currency is now the BillingCurrency of every row (amounts unchanged).
#[test]
fn azure_ea_carries_the_billing_currency() {
    let conv = azure(&[azure_fixture_with(",USD,", ",EUR,")]);
    assert_eq!(column(&conv, "BillingCurrency"), ["EUR"; 4]);
    assert_eq!(totals(&conv), ("146.20".into(), "142.29".into()));
    let conv = azure(&[azure_fixture_with(",USD,", ",usd,")]);
    assert_eq!(column(&conv, "BillingCurrency"), ["USD"; 4]);
}

/// Amounts in two currencies are never added up: a line in another currency than the run's
/// is an invalid record (exit 4; skipped with --skip-invalid), never summed into a row.
#[test]
fn mixed_currencies_in_one_run_are_invalid_records() {
    let text = read("azure-ea/usage-details-2025-01.csv");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[3] = lines[3].replace(",USD,", ",EUR,");
    let t = parse_table("usage.csv", lines.join("\n").as_bytes()).expect("table");
    let conv = azure(std::slice::from_ref(&t));
    assert_eq!(conv.buckets.errors.len(), 1, "{:?}", conv.buckets.errors);
    assert_eq!(conv.buckets.errors[0].code, "mixed_currency");
    assert_eq!(conv.buckets.errors[0].line, Some(4));
    assert!(conv.buckets.errors[0]
        .message
        .contains("billed in EUR, but this run is in USD"));
    assert_eq!(conv.exit_code(false), ExitCode::Input);
    let cfg = azure_ea::AzureEaConfig::from_merged_json(&Default::default(), &mut Vec::new())
        .expect("config");
    let mut ctx = ConvertContext::new(Kind::AzureEa, "2025-01".parse().expect("p"));
    ctx.skip_invalid = true;
    let conv = azure_ea::convert(&[t], &cfg, &ctx).expect("convert");
    check_invariants(&conv, false);
    assert_eq!(column(&conv, "BillingCurrency"), ["USD"; 3]);
    assert!(skipped(&conv)
        .iter()
        .any(|(_, reason, n)| reason == "invalid_record:mixed_currency" && *n == 1));
    // The EUR line's 1.768 is in no row: the neurodata01 row is gone, the others unchanged.
    assert_eq!(totals(&conv), ("144.12".into(), "140.52".into()));
}

/// MCA exports price in USD (PayGPrice) and bill in the billing currency: the list cost is
/// converted with the exchange rate, or taken from PayGCostInBillingCurrency, never mixed.
#[test]
fn azure_mca_list_cost_stays_in_the_billing_currency() {
    let csv = "Date,ResourceId,MeterCategory,Quantity,PayGPrice,PricingCurrency,BillingCurrency,ExchangeRatePricingToBilling,CostInBillingCurrency,ChargeType,Tags\n\
               01/05/2025,/sub/a,Storage,10,1,USD,EUR,0.9,8.10,Usage,\n\
               01/05/2025,/sub/b,Storage,10,1,USD,EUR,,8.10,Usage,\n";
    let t = parse_table("mca.csv", csv.as_bytes()).expect("table");
    let conv = azure(&[t]);
    assert_eq!(column(&conv, "ListCost"), ["9.00", "8.10"]);
    assert_eq!(column(&conv, "BillingCurrency"), ["EUR", "EUR"]);
    assert!(conv
        .buckets
        .warnings
        .iter()
        .any(|w| w.code == "list_cost_currency"));
}

#[test]
fn aws_cur_carries_the_currency_and_payer_account() {
    let text = read("aws-cur/cur-2025-01.csv");
    let mut lines = text.lines();
    let header = format!(
        "{},lineItem/CurrencyCode,bill/PayerAccountId",
        lines.next().expect("header")
    );
    let body: Vec<String> = lines.map(|l| format!("{l},EUR,999988887777")).collect();
    let csv = format!("{header}\n{}\n", body.join("\n"));
    let conv = aws(&[parse_table("cur.csv", csv.as_bytes()).expect("table")]);
    assert_eq!(column(&conv, "BillingCurrency"), ["EUR"; 4]);
    assert_eq!(column(&conv, "BillingAccountId"), ["999988887777"; 4]);
    assert_eq!(
        column(&conv, "ChargeCategory"),
        ["Tax", "Usage", "Usage", "Usage"]
    );
}

/// CI fuzzing (2026-12-07): an AWS line of 444,444,444,444,444.40 was written to the output,
/// which `ingest` then rejected. A cost beyond the range `ingest` accepts is an invalid record
/// naming its line; a group whose in-range lines sum beyond it refuses the run.
#[test]
fn fuzz_convert_amounts_beyond_the_ingest_range_never_reach_the_output() {
    let fixture = read("aws-cur/cur-2025-01.csv");
    let huge = fixture.replacen(
        "10.0000,10.0000",
        "444444444444444.40,444444444444444.40",
        1,
    );
    let conv = aws(&[parse_table("cur.csv", huge.as_bytes()).expect("table")]);
    let e = &conv.buckets.errors[0];
    assert_eq!((e.code.as_str(), e.line), ("bad_amount", Some(2)));
    assert!(e.message.contains("out of range"), "{}", e.message);
    // Two in-range lines of one resource whose sum is out of range.
    let big = fixture
        .replacen("10.0000,10.0000", "99999999999999,99999999999999", 1)
        .replacen("12.5000,12.5000", "99999999999999,99999999999999", 1);
    let cfg = aws_cur::AwsCurConfig::from_merged_json(&Default::default(), &mut Vec::new())
        .expect("config");
    let e = aws_cur::convert(
        &[parse_table("cur.csv", big.as_bytes()).expect("table")],
        &cfg,
        &ConvertContext::new(Kind::AwsCur, "2025-01".parse().expect("p")),
    )
    .expect_err("refused");
    assert_eq!(e.exit_code(), ExitCode::Input);
    assert!(e.to_string().contains("i-0abc123def456789a"), "{e}");
}

/// Azure price × quantity (× exchange rate) beyond the range is an invalid record, not an
/// overflow panic.
#[test]
fn fuzz_convert_azure_price_times_quantity_beyond_the_range_is_an_invalid_record() {
    let t = parse_table(
        "x.csv",
        b"Date,Cost,PayGPrice,Quantity\n01/05/2025,1.5,99999999999999,99999999999999\n",
    )
    .expect("table");
    let conv = azure(&[t]);
    assert_eq!(conv.buckets.errors[0].code, "bad_amount");
    assert!(conv.rows.is_empty());
}
