//! Sending statements through a real SMTP conversation with a server on 127.0.0.1 that the test
//! starts (issue 3): one message per PI with every PDF attached, headers, subject template,
//! failures logged with a non-zero exit, later sends that deliver the rest without duplicates,
//! resend, dev-mode files and the not-configured errors.

mod common;
#[path = "common/smtp_sink.rs"]
mod smtp_sink;

use common::*;
use smtp_sink::{Mode, Part, SmtpSink};
use std::collections::BTreeSet;

const EMAIL: &str = "email:\n  from_address: billing@example.edu\n  from_name: Example Research Computing\n  subject_template: \"Charges {billing_period} for {pi_name}: {total}\"\n";

fn recipients(sink: &SmtpSink) -> Vec<String> {
    sink.received().iter().flat_map(|m| m.to.clone()).collect()
}

#[test]
fn generate_send_delivers_one_message_per_pi_with_all_pdfs() {
    let sink = SmtpSink::start(Mode::Accept);
    let inst = january(&format!("{EMAIL}{}", sink.config(0)));
    let (code, report) = inst.json(&["generate", "--period", "2025-01", "--send"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["emails"]["sent"], 7);
    let messages = sink.received();
    assert_eq!(messages.len(), 7, "one message per PI");
    assert_eq!(
        *sink.connections.lock().expect("lock"),
        1,
        "one connection for the batch"
    );
    let to: BTreeSet<String> = recipients(&sink).into_iter().collect();
    assert_eq!(to.len(), 7);
    let mut attachments = 0;
    for m in &messages {
        assert_eq!(m.from, "<billing@example.edu>");
        let mail = Part::parse(&m.data);
        for h in [
            "date",
            "message-id",
            "mime-version",
            "from",
            "to",
            "subject",
        ] {
            assert!(
                mail.header(h).is_some(),
                "header {h} missing in\n{}",
                m.data
            );
        }
        assert!(mail
            .header("message-id")
            .expect("id")
            .ends_with("@example.edu>"));
        assert_eq!(
            mail.header("from"),
            Some("\"Example Research Computing\" <billing@example.edu>")
        );
        assert!(mail
            .header("content-type")
            .expect("ct")
            .starts_with("multipart/mixed"));
        let alt = &mail.parts[0];
        assert!(alt
            .header("content-type")
            .expect("ct")
            .starts_with("multipart/alternative"));
        assert!(alt.parts[0]
            .header("content-type")
            .expect("ct")
            .starts_with("text/plain"));
        assert!(alt.parts[1]
            .header("content-type")
            .expect("ct")
            .starts_with("text/html"));
        for a in mail.attachments() {
            assert_eq!(a.header("content-type"), Some("application/pdf"));
            assert!(a.decoded().starts_with(b"%PDF-"), "attachment is a PDF");
            let name = a.filename().expect("file name");
            // Named after the recipient's local part (issue 17), as upstream names them.
            let local = m.to[0].split('@').next().expect("local part");
            assert!(name.starts_with(&format!("2025-01_{local}_")), "{name}");
            attachments += 1;
        }
    }
    assert_eq!(attachments, 10, "10 statements attached in all");
    let zorp = messages
        .iter()
        .find(|m| m.to[0] == "zorp.blinkman@example.edu")
        .expect("zorp");
    let mail = Part::parse(&zorp.data);
    assert_eq!(
        mail.header("subject"),
        Some("Charges 2025-01 for zorp.blinkman@example.edu: $6,460.00")
    );
    assert_eq!(mail.attachments().len(), 2);
    let html = String::from_utf8(mail.parts[0].parts[1].decoded()).expect("html");
    assert!(html.contains("genomics-sequencing") && html.contains("protein-folding-ml"));
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM email_log WHERE status = 'success'"),
        7
    );
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM statements WHERE sent_at IS NULL"),
        0
    );
    // Already sent: skipped without --resend.
    let (code, report) = inst.json(&["generate", "--period", "2025-01", "--send"]);
    assert_eq!(code, 0);
    assert_eq!(report["emails"]["skipped"], 7);
    assert_eq!(sink.received().len(), 7);
    // Resend one PI.
    inst.cmd(&[
        "statements",
        "resend",
        "--pi",
        "Zorp.Blinkman@example.edu",
        "--period",
        "2025-01",
    ])
    .assert()
    .success();
    assert_eq!(sink.received().len(), 8);
    assert_eq!(inst.sql_count("SELECT count(*) FROM email_log"), 8);
}

#[test]
fn a_dropped_connection_fails_with_a_log_row_and_a_later_send_delivers_the_rest() {
    let sink = SmtpSink::start(Mode::AcceptThenDrop(3));
    let inst = january(&format!("{EMAIL}{}", sink.config(0)));
    let out = inst
        .cmd(&["generate", "--period", "2025-01", "--send"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "failed emails give a non-zero exit"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Sent: 3, failed: 4, skipped: 0"),
        "{stdout}"
    );
    assert_eq!(sink.received().len(), 3);
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM email_log WHERE status = 'error' AND error <> ''"),
        4
    );
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM audit_events WHERE event = 'email.error'"),
        4
    );
    assert_eq!(
        inst.sql_count("SELECT count(DISTINCT pi_email) FROM statements WHERE sent_at IS NOT NULL"),
        3
    );
    // The server recovers; sending again delivers only the four PIs still unsent.
    sink.set_mode(Mode::Accept);
    inst.cmd(&["send", "--period", "2025-01"])
        .assert()
        .success();
    let to = recipients(&sink);
    assert_eq!(to.len(), 7);
    assert_eq!(
        to.iter().collect::<BTreeSet<_>>().len(),
        7,
        "nobody got a duplicate: {to:?}"
    );
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM statements WHERE sent_at IS NULL"),
        0
    );
}

#[test]
fn a_refusing_server_is_an_error_and_retries_are_counted() {
    let sink = SmtpSink::start(Mode::Reject);
    let inst = january(&format!("{EMAIL}{}", sink.config(2)));
    inst.cmd(&["generate", "--period", "2025-01"])
        .assert()
        .success();
    let (code, report) = inst.json(&[
        "send",
        "--period",
        "2025-01",
        "--pi",
        "tarn.voxley@example.edu",
    ]);
    assert_eq!(code, 1);
    assert_eq!(report["failed"], 1);
    let r = &report["results"][0];
    assert_eq!(r["attempts"], 1, "554 is permanent: no retry");
    assert!(r["error"].as_str().expect("error").contains("554"), "{r}");
    // A dropped connection is transient: retried (2 s backoff) and each attempt counted.
    sink.set_mode(Mode::Drop);
    let (code, report) = inst.json(&[
        "send",
        "--period",
        "2025-01",
        "--pi",
        "tarn.voxley@example.edu",
    ]);
    assert_eq!(code, 1);
    assert_eq!(report["results"][0]["attempts"], 3, "{report}");
    assert_eq!(
        inst.sql_count("SELECT attempts FROM email_log ORDER BY id DESC LIMIT 1"),
        3
    );
    assert_eq!(sink.received().len(), 0);
}

#[test]
fn dev_mode_writes_eml_and_html_files() {
    let inst = january("dev_mode: true\n");
    let (code, report) = inst.json(&["generate", "--period", "2025-01", "--send"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["emails"]["sent"], 7);
    let dir = inst.path("out/emails");
    let mut eml: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    eml.sort();
    assert_eq!(
        eml.iter()
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .count(),
        7
    );
    assert_eq!(
        eml.iter()
            .filter(|p| p.extension().is_some_and(|e| e == "html"))
            .count(),
        7
    );
    let zorp = eml
        .iter()
        .find(|p| {
            let n = p.file_name().expect("name").to_string_lossy().to_string();
            n.starts_with("2025-01_zorp.blinkman_at_example.edu_") && n.ends_with(".eml")
        })
        .expect("zorp eml");
    let mail = Part::parse(&std::fs::read_to_string(zorp).expect("eml"));
    assert_eq!(mail.attachments().len(), 2);
    assert_eq!(
        mail.header("from"),
        Some("\"Research Computing Billing\" <billing@localhost>")
    );
    let html = std::fs::read_to_string(zorp.with_extension("html")).expect("html");
    assert!(html.starts_with("<!-- TO: zorp.blinkman@example.edu -->"));
    assert!(html.contains("<!-- ATTACHMENTS: 2025-01_zorp.blinkman_genomics-sequencing.pdf, 2025-01_zorp.blinkman_protein-folding-ml.pdf -->"));
    assert!(
        html.contains("Draft:"),
        "open period: the email says the statements are drafts"
    );
    assert_eq!(
        inst.sql_count(
            "SELECT count(*) FROM email_log WHERE status = 'dev_mode' AND file_path IS NOT NULL"
        ),
        7
    );
    // Resending in the same second never overwrites a file.
    inst.cmd(&[
        "statements",
        "resend",
        "--pi",
        "zorp.blinkman@example.edu",
        "--period",
        "2025-01",
    ])
    .assert()
    .success();
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 16);
}

#[test]
fn sending_without_smtp_or_email_section_is_an_explicit_error() {
    let inst = january("");
    inst.cmd(&["generate", "--period", "2025-01"])
        .assert()
        .success();
    let out = inst
        .cmd(&["send", "--period", "2025-01"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SMTP is not configured (smtp.host)"));
    let sink = SmtpSink::start(Mode::Accept);
    let inst = january(&sink.config(0));
    inst.cmd(&["generate", "--period", "2025-01"])
        .assert()
        .success();
    let (code, err) = inst.json(&["send", "--period", "2025-01"]);
    assert_eq!(code, 1);
    assert_eq!(err["error"]["code"], "not_configured");
    assert_eq!(
        err["error"]["message"],
        "email.from_address is not configured"
    );
    assert_eq!(sink.received().len(), 0);
}
