//! Sending statements (SPEC §9): one email per PI with all their current statement PDFs of the
//! period, over SMTP (one connection for the batch) or, in dev mode, as `.eml` + `.html` files.
//! Every send operation gets an email log row; a failed PI does not stop the batch.

use crate::restore::rerender;
use crate::settings::{display_time, from_address, local_format};
use crate::summary::{attachment_name, email_summary, pi_total, subject};
use crate::{io_err, Progress, Result, StatementsError};
use chrono::Utc;
use ocb_config::Config;
use ocb_core::period::Period;
use ocb_mail::{
    build_message, stage_dev_files, Attachment, BuiltMessage, EmailTemplates, OutgoingEmail,
    SmtpMailer, SmtpSettings, StagedDevFiles,
};
use ocb_render::Renderer;
use ocb_store::{Actor, EmailLogEntry, Publication, Store, StoreError, StoredStatement};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Options of a send batch.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Period.
    pub period: Period,
    /// Only these PIs (lower-cased); empty = every PI.
    pub pis: Vec<String>,
    /// Also PIs whose statements were all sent.
    pub resend: bool,
    /// Report what would be sent; send and write nothing.
    pub dry_run: bool,
}

/// The outcome for one recipient.
#[derive(Debug, Clone, Serialize)]
pub struct RecipientResult {
    /// PI email.
    pub recipient: String,
    /// Statements attached.
    pub statements: usize,
    /// PI total (rounded).
    pub total: String,
    /// `sent`, `dev_mode`, `failed`, `skipped` or `would_send`.
    pub result: &'static str,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// SMTP attempts.
    pub attempts: u32,
    /// Dev-mode `.eml` file.
    pub file: Option<PathBuf>,
    /// Email log row.
    pub log_id: Option<i64>,
}

/// The outcome of a batch.
#[derive(Debug, Clone, Serialize)]
pub struct SendReport {
    /// Period.
    pub period: String,
    /// Dev mode (files instead of SMTP).
    pub dev_mode: bool,
    /// Delivered (or written in dev mode).
    pub sent: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped (already sent, or nothing to send).
    pub skipped: usize,
    /// Per recipient, ordered by email.
    pub results: Vec<RecipientResult>,
    /// Where dev-mode files went.
    pub email_dir: Option<PathBuf>,
}

fn check_configured(config: &Config) -> Result<()> {
    if config.dev_mode {
        return Ok(());
    }
    if config.smtp.is_none() {
        return Err(StatementsError::NotConfigured(
            "SMTP is not configured (smtp.host)".into(),
        ));
    }
    if config.email.is_none() {
        return Err(StatementsError::NotConfigured(
            "email.from_address is not configured".into(),
        ));
    }
    Ok(())
}

fn mailer(config: &Config) -> Option<SmtpMailer> {
    let smtp = config.smtp.as_ref().filter(|_| !config.dev_mode)?;
    let mut s = SmtpSettings::new(
        &smtp.host,
        smtp.port,
        smtp.use_tls,
        smtp.timeout_seconds,
        smtp.max_retries,
    );
    s.username = smtp.username.clone();
    s.password = smtp.password.expose().to_string();
    Some(SmtpMailer::new(s))
}

struct Batch<'a> {
    store: &'a mut Store,
    config: &'a Config,
    actor: &'a Actor,
    period: String,
    templates: EmailTemplates,
    mailer: Option<SmtpMailer>,
    renderer: Option<Renderer>,
}

impl Batch<'_> {
    /// Attachments, re-rendering PDFs that are missing on disk (§9.2).
    fn attachments(&mut self, statements: &[StoredStatement]) -> Result<Vec<Attachment>> {
        let mut out = Vec::with_capacity(statements.len());
        for s in statements {
            if !s.pdf_path.is_file() {
                if self.renderer.is_none() {
                    self.renderer = Some(
                        crate::settings::renderer(self.config)
                            .map_err(StatementsError::Renderer)?,
                    );
                }
                rerender(
                    self.store,
                    self.renderer.as_ref().expect("created above"),
                    s,
                )?;
            }
            let content = std::fs::read(&s.pdf_path)
                .map_err(io_err(format!("reading {}", s.pdf_path.display())))?;
            out.push(Attachment {
                filename: attachment_name(s),
                content,
            });
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)] // one row's fields; a struct would only rename them
    fn log(
        &mut self,
        statements: &[StoredStatement],
        subject: &str,
        status: &'static str,
        error: Option<String>,
        details: serde_json::Value,
        attempts: u32,
        message_id: Option<String>,
        file: Option<String>,
        files: &[Publication],
    ) -> Result<i64> {
        let entry = EmailLogEntry {
            period: self.period.clone(),
            recipient: statements[0].pi_email.clone(),
            subject: subject.to_string(),
            status,
            error,
            details,
            attempts,
            statements: statements
                .iter()
                .map(|s| (s.id, s.content_hash.clone()))
                .collect(),
            message_id,
            file_path: file,
            total: pi_total(statements).to_string(),
        };
        Ok(self.store.record_email(self.actor, &entry, files)?)
    }

    /// Writes a dev-mode message (SPEC §9.7): both files staged and synced, the send recorded
    /// with the first pair of names still free (the record's transaction claims them), then the
    /// files published under those names. Returns the log row id and the `.eml` path.
    fn send_dev_mode(
        &mut self,
        statements: &[StoredStatement],
        subject: &str,
        msg: &BuiltMessage,
        html: &str,
        names: &[String],
        now: chrono::DateTime<Utc>,
    ) -> Result<(i64, PathBuf)> {
        let stamp = local_format(self.config, now, "%Y%m%dT%H%M%S");
        let staged = stage_dev_files(
            &self.config.output.email_dir,
            &self.period,
            &statements[0].pi_email,
            &stamp,
            msg,
            subject,
            html,
            names,
        )?;
        let (log_id, n) = self.log_dev_mode(statements, subject, msg, names, &staged)?;
        let done = [
            staged.eml.path().to_path_buf(),
            staged.html.path().to_path_buf(),
        ];
        let files = staged.publish_recorded(n)?;
        for path in &done {
            if let Err(e) = self.store.publication_done(path) {
                // Only bookkeeping: recovery finds the file in place and forgets the row.
                tracing::warn!(file = %files.eml.display(), error = %e, "could not mark an e-mail file as published");
            }
        }
        Ok((log_id, files.eml))
    }

    /// Records a dev-mode send under candidate names 1, 2, … until a pair is free.
    fn log_dev_mode(
        &mut self,
        statements: &[StoredStatement],
        subject: &str,
        msg: &BuiltMessage,
        names: &[String],
        staged: &StagedDevFiles,
    ) -> Result<(i64, u32)> {
        for n in 1u32.. {
            let target = staged.candidate(n);
            let files = [
                (staged.eml.path(), &target.eml),
                (staged.html.path(), &target.html),
            ]
            .map(|(staged, target)| Publication {
                staged: staged.to_path_buf(),
                target: target.clone(),
                replace: false,
            });
            let logged = self.log(
                statements,
                subject,
                "dev_mode",
                None,
                json!({"attachments": names}),
                1,
                Some(msg.message_id.clone()),
                Some(target.eml.display().to_string()),
                &files,
            );
            match logged {
                Ok(id) => return Ok((id, n)),
                Err(StatementsError::Store(StoreError::NameTaken(_))) => {}
                Err(e) => return Err(e),
            }
        }
        unreachable!("an unbounded counter always finds a free name")
    }

    /// Sends one PI's email; returns the result row (errors become `failed` with a log row).
    fn send_one(
        &mut self,
        statements: &[StoredStatement],
        result: &mut RecipientResult,
    ) -> Result<()> {
        let now = Utc::now();
        let subject = subject(self.config, &self.period, statements);
        let prepared = (|| -> Result<(ocb_mail::BuiltMessage, String, Vec<String>)> {
            let data = statements
                .iter()
                .map(|s| self.store.statement_template_data(s.id))
                .collect::<std::result::Result<Vec<_>, StoreError>>()?;
            let ctx = email_summary(
                self.config,
                &self.period,
                statements,
                &data,
                &display_time(self.config, now),
            );
            let html = self.templates.render_html(&ctx)?;
            let text = self.templates.render_text(&ctx)?;
            let attachments = self.attachments(statements)?;
            let names = attachments.iter().map(|a| a.filename.clone()).collect();
            let email = OutgoingEmail {
                from_name: self.config.organization_name().to_string(),
                from_address: from_address(self.config).unwrap_or_default(),
                to: statements[0].pi_email.clone(),
                subject: subject.clone(),
                text,
                html: html.clone(),
                attachments,
            };
            Ok((build_message(&email, now)?, html, names))
        })();
        let (msg, html, names) = match prepared {
            Ok(p) => p,
            Err(e) => {
                let text = e.to_string();
                result.log_id = Some(self.log(
                    statements,
                    &subject,
                    "error",
                    Some(text.clone()),
                    json!({"errors": [text]}),
                    0,
                    None,
                    None,
                    &[],
                )?);
                result.result = "failed";
                result.error = Some(text);
                return Ok(());
            }
        };
        if self.config.dev_mode {
            let (log_id, eml) =
                self.send_dev_mode(statements, &subject, &msg, &html, &names, now)?;
            result.log_id = Some(log_id);
            result.result = "dev_mode";
            result.attempts = 1;
            result.file = Some(eml);
            return Ok(());
        }
        let details = json!({"attachments": names});
        let report = self
            .mailer
            .as_mut()
            .expect("configured outside dev mode")
            .send(&msg);
        result.attempts = report.attempts;
        let mut details = details;
        details["errors"] = json!(report.errors);
        if report.delivered {
            result.log_id = Some(self.log(
                statements,
                &subject,
                "success",
                None,
                details,
                report.attempts,
                Some(msg.message_id.clone()),
                None,
                &[],
            )?);
            result.result = "sent";
        } else {
            let error = report.last_error().unwrap_or("not delivered").to_string();
            result.log_id = Some(self.log(
                statements,
                &subject,
                "error",
                Some(error.clone()),
                details,
                report.attempts,
                Some(msg.message_id.clone()),
                None,
                &[],
            )?);
            result.result = "failed";
            result.error = Some(error);
        }
        Ok(())
    }
}

/// Sends the current statements of a period, one email per PI.
pub fn send(
    store: &mut Store,
    config: &Config,
    actor: &Actor,
    opts: &SendOptions,
    progress: &dyn Progress,
) -> Result<SendReport> {
    let period = opts.period;
    if store.period_status(period)?.is_none() {
        return Err(StoreError::NotFound(format!("Billing period {period} not found")).into());
    }
    check_configured(config)?;
    if !opts.dry_run {
        // Attachments must match their statements, and dev-mode files their log rows: finish
        // or discard what an interrupted run left first.
        crate::files::recover(store, &config.output.pdf_dir)?;
        if config.dev_mode {
            store.recover_outputs(&[&config.output.email_dir])?;
        }
    }
    let mut by_pi: BTreeMap<String, Vec<StoredStatement>> = BTreeMap::new();
    for s in store.list_statements(period, None)? {
        by_pi.entry(s.pi_email.clone()).or_default().push(s);
    }
    let wanted: Vec<String> = opts.pis.iter().map(|p| p.trim().to_lowercase()).collect();
    let mut report = SendReport {
        period: period.to_string(),
        dev_mode: config.dev_mode,
        sent: 0,
        failed: 0,
        skipped: 0,
        results: Vec::new(),
        email_dir: config.dev_mode.then(|| config.output.email_dir.clone()),
    };
    for pi in wanted.iter().filter(|p| !by_pi.contains_key(*p)) {
        report.skipped += 1;
        report.results.push(RecipientResult {
            recipient: pi.clone(),
            statements: 0,
            total: "0.00".into(),
            result: "skipped",
            error: Some(format!("no statements for {pi} in {period}")),
            attempts: 0,
            file: None,
            log_id: None,
        });
    }
    by_pi.retain(|pi, _| wanted.is_empty() || wanted.contains(pi));
    let mut batch = Batch {
        store,
        config,
        actor,
        period: period.to_string(),
        templates: EmailTemplates::load(config.effective_templates_dir().as_deref())?,
        mailer: if opts.dry_run { None } else { mailer(config) },
        renderer: None,
    };
    progress.begin(by_pi.len() as u64);
    for (pi, statements) in &by_pi {
        let mut r = RecipientResult {
            recipient: pi.clone(),
            statements: statements.len(),
            total: pi_total(statements).to_string(),
            result: "would_send",
            error: None,
            attempts: 0,
            file: None,
            log_id: None,
        };
        if !opts.resend && statements.iter().all(|s| s.sent_at.is_some()) {
            r.result = "skipped";
            r.error = Some("already sent (use --resend)".into());
        } else if !opts.dry_run {
            batch.send_one(statements, &mut r)?;
        }
        match r.result {
            "sent" | "dev_mode" => report.sent += 1,
            "failed" => report.failed += 1,
            "skipped" => report.skipped += 1,
            _ => {}
        }
        report.results.push(r);
        progress.advance(1);
    }
    progress.finish();
    if let Some(m) = batch.mailer.as_mut() {
        m.close();
    }
    report.results.sort_by(|a, b| a.recipient.cmp(&b.recipient));
    Ok(report)
}
