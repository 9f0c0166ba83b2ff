//! SMTP delivery (SPEC §9.6) on lettre's synchronous client over rustls with bundled webpki roots.
//!
//! Port 465 is implicit TLS; other ports use STARTTLS when `use_tls` (a server without STARTTLS is
//! an error, never a plaintext fallback) or plain SMTP otherwise. AUTH only when both username and
//! password are set. One connection is kept for a whole batch (checked with NOOP before reuse) and
//! dropped after any error. Transient failures (4xx replies, connection and network errors,
//! timeouts) are retried up to `max_retries` times with backoff 2 s, 4 s, 8 s … capped at 60 s;
//! permanent ones (5xx, TLS, client errors) are not.

use crate::BuiltMessage;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use std::time::Duration;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 465).
    ImplicitTls,
    /// Plain connect, then STARTTLS (required).
    StartTls,
    /// No TLS (`use_tls: false`).
    Plain,
}

/// Connection settings (from the `smtp` config section).
#[derive(Clone)]
pub struct SmtpSettings {
    /// Server host.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// TLS mode.
    pub security: Security,
    /// Login name (AUTH only when this and `password` are non-empty).
    pub username: String,
    /// Password (never logged).
    pub password: String,
    /// Connect and per-command timeout.
    pub timeout: Duration,
    /// Retries after transient failures.
    pub max_retries: u32,
    /// First retry delay; doubled for each further retry.
    pub backoff: Duration,
    /// Upper bound of a retry delay.
    pub backoff_cap: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &"***")
            .finish_non_exhaustive()
    }
}

impl SmtpSettings {
    /// Settings with the spec's rules: port 465 = implicit TLS, else STARTTLS when `use_tls`.
    pub fn new(
        host: &str,
        port: u16,
        use_tls: bool,
        timeout_seconds: u64,
        max_retries: u32,
    ) -> Self {
        let security = match (port, use_tls) {
            (465, _) => Security::ImplicitTls,
            (_, true) => Security::StartTls,
            (_, false) => Security::Plain,
        };
        Self {
            host: host.to_string(),
            port,
            security,
            username: String::new(),
            password: String::new(),
            timeout: Duration::from_secs(timeout_seconds.max(1)),
            max_retries,
            backoff: Duration::from_secs(2),
            backoff_cap: Duration::from_secs(60),
        }
    }

    /// The delay before retry number `n` (1-based).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.backoff
            .checked_mul(factor)
            .map_or(self.backoff_cap, |d| d.min(self.backoff_cap))
    }
}

/// What happened to one message.
#[derive(Debug, Clone, Default)]
pub struct SendReport {
    /// Attempts made (1 + retries).
    pub attempts: u32,
    /// The error of every failed attempt, in order.
    pub errors: Vec<String>,
    /// Whether the server accepted the message.
    pub delivered: bool,
}

impl SendReport {
    /// The last failure, if the message was not delivered.
    pub fn last_error(&self) -> Option<&str> {
        (!self.delivered)
            .then(|| self.errors.last().map(String::as_str))
            .flatten()
    }
}

/// An SMTP client that keeps one connection for a batch of messages.
pub struct SmtpMailer {
    settings: SmtpSettings,
    client_id: ClientId,
    conn: Option<SmtpConnection>,
}

type SmtpError = lettre::transport::smtp::Error;

/// Connection, network and 4xx failures may succeed later; 5xx, TLS and client errors will not.
fn is_transient(e: &SmtpError) -> bool {
    e.is_transient() || e.is_timeout() || !(e.is_permanent() || e.is_tls() || e.is_client())
}

fn describe(e: &SmtpError) -> String {
    use std::error::Error;
    let mut text = e.to_string();
    // lettre's Display already includes the direct source; add deeper causes (io errors).
    let mut source = e.source().and_then(|s| s.source());
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl SmtpMailer {
    /// A mailer; nothing is connected until the first message.
    pub fn new(settings: SmtpSettings) -> Self {
        Self {
            settings,
            client_id: ClientId::default(),
            conn: None,
        }
    }

    fn connect(&self) -> Result<SmtpConnection, SmtpError> {
        let s = &self.settings;
        let tls = || TlsParameters::new(s.host.clone());
        let implicit = match s.security {
            Security::ImplicitTls => Some(tls()?),
            _ => None,
        };
        let mut conn = SmtpConnection::connect(
            (s.host.as_str(), s.port),
            Some(s.timeout),
            &self.client_id,
            implicit.as_ref(),
            None,
        )?;
        if s.security == Security::StartTls {
            // `starttls` refuses (client error) when the server does not offer it: no fallback.
            conn.starttls(&tls()?, &self.client_id)?;
        }
        if !s.username.is_empty() && !s.password.is_empty() {
            let creds = Credentials::new(s.username.clone(), s.password.clone());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds)?;
        }
        Ok(conn)
    }

    fn try_send(&mut self, msg: &BuiltMessage) -> Result<(), SmtpError> {
        let reusable = match self.conn.as_mut() {
            Some(c) => !c.has_broken() && c.test_connected(),
            None => false,
        };
        if !reusable {
            self.drop_connection();
            self.conn = Some(self.connect()?);
        }
        let conn = self.conn.as_mut().expect("connected above");
        conn.send(&msg.envelope, &msg.bytes).map(|_| ())
    }

    fn drop_connection(&mut self) {
        if let Some(mut c) = self.conn.take() {
            c.abort();
        }
    }

    /// Sends one message with retries; never panics on network trouble.
    pub fn send(&mut self, msg: &BuiltMessage) -> SendReport {
        let mut report = SendReport::default();
        loop {
            report.attempts += 1;
            match self.try_send(msg) {
                Ok(()) => {
                    report.delivered = true;
                    return report;
                }
                Err(e) => {
                    self.drop_connection();
                    report.errors.push(describe(&e));
                    let retry = report.attempts - 1;
                    if !is_transient(&e) || retry >= self.settings.max_retries {
                        return report;
                    }
                    let delay = self.settings.delay(retry + 1);
                    tracing::warn!(
                        event = "email.retry",
                        recipient = ?msg.envelope.to(),
                        attempt = report.attempts,
                        delay_s = delay.as_secs(),
                        error = %describe(&e),
                        "transient SMTP failure; retrying"
                    );
                    std::thread::sleep(delay);
                }
            }
        }
    }

    /// Ends the session politely (QUIT).
    pub fn close(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = c.quit();
        }
    }
}

impl Drop for SmtpMailer {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_465_is_implicit_tls_and_use_tls_means_starttls() {
        assert_eq!(
            SmtpSettings::new("h", 465, false, 30, 3).security,
            Security::ImplicitTls
        );
        assert_eq!(
            SmtpSettings::new("h", 587, true, 30, 3).security,
            Security::StartTls
        );
        assert_eq!(
            SmtpSettings::new("h", 25, false, 30, 3).security,
            Security::Plain
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let s = SmtpSettings::new("h", 25, false, 30, 10);
        let secs: Vec<u64> = (1..=7).map(|n| s.delay(n).as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(s.delay(40).as_secs(), 60);
    }

    #[test]
    fn password_is_not_in_debug_output() {
        let mut s = SmtpSettings::new("h", 25, false, 30, 3);
        s.password = "hunter2".into();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn refused_connection_is_retried_then_reported() {
        // Bind and drop a listener so the port is (almost certainly) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let mut s = SmtpSettings::new("127.0.0.1", port, false, 2, 1);
        s.backoff = Duration::from_millis(10);
        let msg = crate::build_message(
            &crate::OutgoingEmail {
                from_name: "B".into(),
                from_address: "b@example.edu".into(),
                to: "p@example.edu".into(),
                subject: "s".into(),
                text: "t".into(),
                html: "h".into(),
                attachments: vec![],
            },
            chrono::Utc::now(),
        )
        .expect("build");
        let report = SmtpMailer::new(s).send(&msg);
        assert!(!report.delivered);
        assert_eq!(report.attempts, 2, "one retry after a connection error");
        assert_eq!(report.errors.len(), 2);
        assert!(report.last_error().is_some());
    }
}
