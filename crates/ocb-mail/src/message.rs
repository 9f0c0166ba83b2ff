//! One PI email as an RFC 5322 message (SPEC §9.2): `multipart/mixed` holding a
//! `multipart/alternative` (text then HTML, UTF-8) and one `application/pdf` attachment per
//! statement; `Date`, `Message-ID` and `MIME-Version` headers; non-ASCII headers RFC 2047-encoded
//! (done by lettre).

use crate::{MailError, Result};
use chrono::{DateTime, Utc};
use lettre::address::Envelope;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;

/// A file attached to the message.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// File name shown to the recipient.
    pub filename: String,
    /// The PDF bytes.
    pub content: Vec<u8>,
}

/// What to send (already rendered).
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    /// `From` display name.
    pub from_name: String,
    /// `From` and envelope sender address.
    pub from_address: String,
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// PDF attachments, in order.
    pub attachments: Vec<Attachment>,
}

/// A formatted message ready for SMTP or a `.eml` file.
#[derive(Debug, Clone)]
pub struct BuiltMessage {
    /// The complete message bytes (CRLF line endings).
    pub bytes: Vec<u8>,
    /// SMTP envelope (sender and recipient).
    pub envelope: Envelope,
    /// `Message-ID` value including the angle brackets.
    pub message_id: String,
    /// `Date` header value.
    pub date: String,
}

/// `Content-Disposition: attachment; filename="…"` exactly as SPEC §9.2 writes it. lettre's own
/// header splits names longer than a line into RFC 2231 continuations (`filename*0=…`), which
/// some clients show badly; statement file names are sanitised ASCII without quotes, so the plain
/// quoted form is always valid (the parameter goes on a folded line of its own).
#[derive(Debug, Clone)]
struct AttachmentDisposition(String);

impl Header for AttachmentDisposition {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Disposition")
    }

    fn parse(s: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        s.strip_prefix("attachment; filename=\"")
            .and_then(|n| n.strip_suffix('"'))
            .map(|n| Self(n.to_string()))
            .ok_or_else(|| "not an attachment disposition".into())
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::dangerous_new_pre_encoded(
            Self::name(),
            format!("attachment; filename=\"{}\"", self.0),
            format!("attachment;\r\n filename=\"{}\"", self.0),
        )
    }
}

/// Plain quoting is safe for printable ASCII without quotes and backslashes.
fn plain_filename(name: &str) -> bool {
    name.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

fn attachment_part(a: &Attachment, pdf: &ContentType) -> SinglePart {
    if plain_filename(&a.filename) {
        SinglePart::builder()
            .header(pdf.clone())
            .header(AttachmentDisposition(a.filename.clone()))
            .body(a.content.clone())
    } else {
        lettre::message::Attachment::new(a.filename.clone()).body(a.content.clone(), pdf.clone())
    }
}

fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox> {
    let addr = address
        .parse()
        .map_err(|e| MailError::Build(format!("invalid address '{address}': {e}")))?;
    Ok(Mailbox::new(name.map(str::to_string), addr))
}

/// Builds the message; `now` is the `Date`.
pub fn build_message(email: &OutgoingEmail, now: DateTime<Utc>) -> Result<BuiltMessage> {
    let domain = email
        .from_address
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    let message_id = format!("<{}@{domain}>", uuid::Uuid::new_v4());
    let mut mixed = MultiPart::mixed().multipart(MultiPart::alternative_plain_html(
        email.text.clone(),
        email.html.clone(),
    ));
    let pdf = ContentType::parse("application/pdf").expect("a valid MIME type");
    for a in &email.attachments {
        mixed = mixed.singlepart(attachment_part(a, &pdf));
    }
    let message: Message = Message::builder()
        .from(mailbox(Some(&email.from_name), &email.from_address)?)
        .to(mailbox(None, &email.to)?)
        .subject(email.subject.clone())
        .date(now.into())
        .message_id(Some(message_id.clone()))
        .multipart(mixed)
        .map_err(|e| MailError::Build(e.to_string()))?;
    let date = message
        .headers()
        .get_raw("Date")
        .unwrap_or_default()
        .to_string();
    Ok(BuiltMessage {
        bytes: message.formatted(),
        envelope: message.envelope().clone(),
        message_id,
        date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> OutgoingEmail {
        OutgoingEmail {
            from_name: "Forschung Rechenzentrum Zürich".into(),
            from_address: "billing@example.edu".into(),
            to: "zorp.blinkman@example.edu".into(),
            subject: "Research Computing Charges - 2025-01 — Zürich".into(),
            text: "Total: $1.00".into(),
            html: "<p>Total: $1.00</p>".into(),
            attachments: vec![
                Attachment {
                    filename: "2025-01_a@example.edu_p1.pdf".into(),
                    content: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3 one".to_vec(),
                },
                Attachment {
                    filename: "2025-01_a@example.edu_p2.pdf".into(),
                    content: b"%PDF-1.7 two".to_vec(),
                },
            ],
        }
    }

    #[test]
    fn message_has_headers_alternative_and_attachments() {
        let now = "2025-02-03T04:05:06Z".parse().expect("time");
        let m = build_message(&email(), now).expect("build");
        let text = String::from_utf8(m.bytes.clone()).expect("ascii message");
        assert!(text.is_ascii(), "headers and bodies are encoded");
        for h in [
            "From: ",
            "To: ",
            "Subject: Research Computing Charges - 2025-01 =?utf-8?",
            "Date: Mon, 03 Feb 2025 04:05:06",
            "Message-ID: <",
            "MIME-Version: 1.0",
        ] {
            assert!(text.contains(h), "missing {h:?} in\n{text}");
        }
        assert!(m.message_id.ends_with("@example.edu>"));
        assert!(text.contains("multipart/mixed"));
        assert!(text.contains("multipart/alternative"));
        let plain = text.find("text/plain").expect("plain part");
        let html = text.find("text/html").expect("html part");
        assert!(plain < html, "text/plain comes before text/html");
        assert_eq!(text.matches("Content-Type: application/pdf").count(), 2);
        assert!(text.contains(
            "Content-Disposition: attachment;\r\n filename=\"2025-01_a@example.edu_p1.pdf\"\r\n"
        ));
        assert!(text.contains("Content-Transfer-Encoding: base64"));
        assert_eq!(m.envelope.to().len(), 1);
    }

    #[test]
    fn bad_recipient_is_a_build_error() {
        let mut e = email();
        e.to = "not an address".into();
        let err = build_message(&e, Utc::now()).expect_err("invalid");
        assert!(err.to_string().contains("invalid address 'not an address'"));
    }
}
