//! Dev mode (SPEC §9.7): instead of SMTP, write the complete message as `.eml` plus an HTML preview
//! to `output.email_dir`, named `{period}_{recipient}_{YYYYmmddTHHMMSS}` with `-2`, `-3` … on
//! collision (never overwriting, unlike upstream's second-resolution names).
//!
//! Both files are staged under hidden names and synced first (`ocb_publish`, issue 15); the
//! caller records the send with the candidate names (the record's transaction is what claims a
//! name), then publishes them under the names that were free.

use crate::{BuiltMessage, MailError, Result};
use ocb_publish::StagedFile;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The two files written for one message.
#[derive(Debug, Clone)]
pub struct DevFiles {
    /// The RFC 5322 message.
    pub eml: PathBuf,
    /// The HTML body with header comments.
    pub html: PathBuf,
}

/// The two files of one message, complete and synced under hidden names, not yet published.
#[derive(Debug)]
pub struct StagedDevFiles {
    /// The staged `.eml`.
    pub eml: StagedFile,
    /// The staged `.html`.
    pub html: StagedFile,
    dir: PathBuf,
    base: String,
}

impl StagedDevFiles {
    /// The `n`th candidate final names (`n` = 1, 2, …): `{base}.eml` and `{base}.html`, then
    /// `{base}-2.eml` …
    pub fn candidate(&self, n: u32) -> DevFiles {
        let name = if n <= 1 {
            self.base.clone()
        } else {
            format!("{}-{n}", self.base)
        };
        DevFiles {
            eml: self.dir.join(format!("{name}.eml")),
            html: self.dir.join(format!("{name}.html")),
        }
    }

    /// Publishes both files under candidate `n`, once the record naming them has committed (a
    /// failure leaves them staged for recovery to finish).
    pub fn publish_recorded(self, n: u32) -> Result<DevFiles> {
        let files = self.candidate(n);
        for (staged, path) in [(self.eml, &files.eml), (self.html, &files.html)] {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            staged
                .publish_recorded(&name)
                .map_err(io(format!("writing {}", path.display())))?;
        }
        Ok(files)
    }
}

/// `@` becomes `_at_`; characters outside `[A-Za-z0-9._-]` become `_`.
pub fn recipient_slug(address: &str) -> String {
    address
        .replace('@', "_at_")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A comment value that cannot end the HTML comment early.
fn comment_safe(s: &str) -> String {
    s.replace("--", "- -").replace(['\r', '\n'], " ")
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> MailError {
    move |source| MailError::Io { context, source }
}

/// Stages one file of a message with `bytes`, synced.
fn stage(dir: &Path, name: &str, bytes: &[u8]) -> Result<StagedFile> {
    let err = || io(format!("writing {}", dir.join(name).display()));
    let mut f = StagedFile::new(dir, name).map_err(err())?;
    f.write_all(bytes).map_err(err())?;
    f.sync().map_err(err())?;
    Ok(f)
}

/// Stages `.eml` and `.html` for one message. `stamp` is the local `YYYYmmddTHHMMSS`.
#[allow(clippy::too_many_arguments)]
pub fn stage_dev_files(
    dir: &Path,
    period: &str,
    recipient: &str,
    stamp: &str,
    msg: &BuiltMessage,
    subject: &str,
    html_body: &str,
    attachment_names: &[String],
) -> Result<StagedDevFiles> {
    let base = format!("{period}_{}_{stamp}", recipient_slug(recipient));
    let preview = format!(
        "<!-- TO: {} -->\n<!-- SUBJECT: {} -->\n<!-- DATE: {} -->\n<!-- ATTACHMENTS: {} -->\n{html_body}",
        comment_safe(recipient),
        comment_safe(subject),
        comment_safe(&msg.date),
        comment_safe(&attachment_names.join(", ")),
    );
    Ok(StagedDevFiles {
        eml: stage(dir, &format!("{base}.eml"), &msg.bytes)?,
        html: stage(dir, &format!("{base}.html"), preview.as_bytes())?,
        dir: dir.to_path_buf(),
        base,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> BuiltMessage {
        crate::build_message(
            &crate::OutgoingEmail {
                from_name: "B".into(),
                from_address: "b@example.edu".into(),
                to: "zorp.blinkman@example.edu".into(),
                subject: "Charges".into(),
                text: "t".into(),
                html: "<p>h</p>".into(),
                attachments: vec![],
            },
            "2025-02-03T04:05:06Z".parse().expect("time"),
        )
        .expect("build")
    }

    #[test]
    fn slug_replaces_at_and_odd_characters() {
        assert_eq!(
            recipient_slug("zorp.blinkman@example.edu"),
            "zorp.blinkman_at_example.edu"
        );
        assert_eq!(recipient_slug("a+b c/d@x.y"), "a_b_c_d_at_x.y");
    }

    #[test]
    fn files_are_staged_then_published_under_the_chosen_candidate() {
        let dir = tempfile::tempdir().expect("tmp");
        let m = msg();
        let names = vec!["a.pdf".to_string(), "b.pdf".to_string()];
        let staged = stage_dev_files(
            dir.path(),
            "2025-01",
            "zorp.blinkman@example.edu",
            "20250203T040506",
            &m,
            "Charges -- x",
            "<p>h</p>",
            &names,
        )
        .expect("stage");
        let base = "2025-01_zorp.blinkman_at_example.edu_20250203T040506";
        assert_eq!(
            staged.candidate(1).eml,
            dir.path().join(format!("{base}.eml"))
        );
        assert_eq!(
            staged.candidate(3).html,
            dir.path().join(format!("{base}-3.html"))
        );
        let hidden = std::fs::read_dir(dir.path()).expect("ls").count();
        assert_eq!(hidden, 2);
        assert!(
            !staged.candidate(1).eml.exists(),
            "nothing final before the record"
        );
        let f = staged.publish_recorded(2).expect("publish");
        assert_eq!(f.eml, dir.path().join(format!("{base}-2.eml")));
        let html = std::fs::read_to_string(&f.html).expect("html");
        assert!(html.starts_with("<!-- TO: zorp.blinkman@example.edu -->\n<!-- SUBJECT: Charges - - x -->\n<!-- DATE: Mon, 03 Feb 2025"));
        assert!(html.contains("<!-- ATTACHMENTS: a.pdf, b.pdf -->\n<p>h</p>"));
        assert_eq!(std::fs::read(&f.eml).expect("eml"), m.bytes);
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 2);
    }
}
