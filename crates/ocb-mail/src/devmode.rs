//! Dev mode (SPEC §9.7): instead of SMTP, write the complete message as `.eml` plus an HTML preview
//! to `output.email_dir`, named `{period}_{recipient}_{YYYYmmddTHHMMSS}` with `-2`, `-3` … on
//! collision (never overwriting, unlike upstream's second-resolution names).

use crate::{BuiltMessage, MailError, Result};
use std::fs::OpenOptions;
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

#[cfg(unix)]
fn owner_only(o: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    o.mode(0o600);
}
#[cfg(not(unix))]
fn owner_only(_: &mut OpenOptions) {}

/// Creates `path` only if it does not exist (the claim on a base name is atomic).
fn create_new(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    owner_only(&mut o);
    o.open(path)
}

/// Writes `.eml` and `.html` for one message. `stamp` is the local `YYYYmmddTHHMMSS`.
#[allow(clippy::too_many_arguments)]
pub fn write_dev_files(
    dir: &Path,
    period: &str,
    recipient: &str,
    stamp: &str,
    msg: &BuiltMessage,
    subject: &str,
    html_body: &str,
    attachment_names: &[String],
) -> Result<DevFiles> {
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let base = format!("{period}_{}_{stamp}", recipient_slug(recipient));
    for n in 1u32.. {
        let name = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let eml = dir.join(format!("{name}.eml"));
        let html = dir.join(format!("{name}.html"));
        if html.exists() {
            continue;
        }
        let mut f = match create_new(&eml) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(format!("writing {}", eml.display()))(e)),
        };
        f.write_all(&msg.bytes)
            .map_err(io(format!("writing {}", eml.display())))?;
        let preview = format!(
            "<!-- TO: {} -->\n<!-- SUBJECT: {} -->\n<!-- DATE: {} -->\n<!-- ATTACHMENTS: {} -->\n{html_body}",
            comment_safe(recipient),
            comment_safe(subject),
            comment_safe(&msg.date),
            comment_safe(&attachment_names.join(", ")),
        );
        let mut h = create_new(&html).map_err(io(format!("writing {}", html.display())))?;
        h.write_all(preview.as_bytes())
            .map_err(io(format!("writing {}", html.display())))?;
        return Ok(DevFiles { eml, html });
    }
    unreachable!("an unbounded counter always finds a free name")
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
    fn same_second_names_never_collide() {
        let dir = tempfile::tempdir().expect("tmp");
        let m = msg();
        let names = vec!["a.pdf".to_string(), "b.pdf".to_string()];
        let mut seen = Vec::new();
        for _ in 0..3 {
            let f = write_dev_files(
                dir.path(),
                "2025-01",
                "zorp.blinkman@example.edu",
                "20250203T040506",
                &m,
                "Charges -- x",
                "<p>h</p>",
                &names,
            )
            .expect("write");
            seen.push(
                f.eml
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .to_string(),
            );
            let html = std::fs::read_to_string(&f.html).expect("html");
            assert!(html.starts_with("<!-- TO: zorp.blinkman@example.edu -->\n<!-- SUBJECT: Charges - - x -->\n<!-- DATE: Mon, 03 Feb 2025"));
            assert!(html.contains("<!-- ATTACHMENTS: a.pdf, b.pdf -->\n<p>h</p>"));
            assert_eq!(std::fs::read(&f.eml).expect("eml"), m.bytes);
        }
        assert_eq!(
            seen,
            [
                "2025-01_zorp.blinkman_at_example.edu_20250203T040506.eml",
                "2025-01_zorp.blinkman_at_example.edu_20250203T040506-2.eml",
                "2025-01_zorp.blinkman_at_example.edu_20250203T040506-3.eml"
            ]
        );
    }
}
