//! `smtp` and `email`: optional sections whose presence means "sending is configured".

use crate::model::{EmailConfig, SmtpConfig, DEFAULT_FROM_NAME, DEFAULT_SUBJECT_TEMPLATE};
use crate::placeholder::{check_placeholders, SUBJECT_PLACEHOLDERS};
use crate::reader::{Ctx, Section};
use crate::secret::Secret;
use ocb_core::attribution::is_valid_email;

pub(super) fn smtp(top: &mut Section<'_>, ctx: &mut Ctx) -> Option<SmtpConfig> {
    let mut s = top.section(ctx, "smtp")?;
    let host = s.required_str(ctx, "host");
    let config = SmtpConfig {
        host: host.unwrap_or_default().trim().to_string(),
        port: s.int_in(ctx, "port", 587, 1, 65535) as u16,
        use_tls: s.bool_or(ctx, "use_tls", true),
        username: s.str_or(ctx, "username", ""),
        password: Secret::new(s.str_or(ctx, "password", "")),
        timeout_seconds: s.int_in(ctx, "timeout_seconds", 30, 1, 3600) as u64,
        max_retries: s.int_in(ctx, "max_retries", 3, 0, 100) as u32,
    };
    s.finish(ctx);
    Some(config)
}

pub(super) fn email(top: &mut Section<'_>, ctx: &mut Ctx) -> Option<EmailConfig> {
    let mut s = top.section(ctx, "email")?;
    let address_line = s.line_of("from_address");
    let from_address = s.required_str(ctx, "from_address").unwrap_or_default();
    let from_address = from_address.trim().to_string();
    if !from_address.is_empty() && !is_valid_email(&from_address) {
        let msg = format!("'{from_address}' is not an email address");
        ctx.error(address_line, "email.from_address", msg);
    }
    let subject_line = s.line_of("subject_template");
    let subject_template = s.str_or(ctx, "subject_template", DEFAULT_SUBJECT_TEMPLATE);
    if let Err(msg) = check_placeholders(&subject_template, SUBJECT_PLACEHOLDERS) {
        ctx.error(subject_line, "email.subject_template", msg);
    }
    let config = EmailConfig {
        from_address,
        from_name: s.str_or(ctx, "from_name", DEFAULT_FROM_NAME),
        subject_template,
    };
    s.finish(ctx);
    Some(config)
}
