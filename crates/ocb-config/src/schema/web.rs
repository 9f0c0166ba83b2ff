//! `web`: server defaults, the server secret, config users (SPEC §14.1) and password policy.

use super::sub;
use crate::choices::Role;
use crate::model::{ConfigUser, PasswordRequirements, SecretKeyOrigin, WebConfig, WebTimeouts};
use crate::password_hash::is_bcrypt_hash;
use crate::reader::{describe, Ctx, Section};
use crate::secret::Secret;
use crate::yaml::{Entry, Kind};

/// Shorter server secrets get a warning.
const MIN_SECRET_CHARS: usize = 32;

pub(super) fn web(
    top: &mut Section<'_>,
    ctx: &mut Ctx,
    env: &dyn Fn(&str) -> Option<String>,
) -> WebConfig {
    let mut s = sub(top, ctx, "web");
    let secret_key_line = s.line_of("secret_key");
    let configured = s.str_or(ctx, "secret_key", "");
    let (secret, origin) = if !configured.is_empty() {
        (configured, SecretKeyOrigin::Config)
    } else {
        match env("WEB_SECRET_KEY").filter(|v| !v.is_empty()) {
            Some(v) => (v, SecretKeyOrigin::Environment),
            None => (String::new(), SecretKeyOrigin::Unset),
        }
    };
    if !secret.is_empty() && secret.chars().count() < MIN_SECRET_CHARS {
        ctx.warn(
            secret_key_line,
            "web.secret_key",
            format!("is shorter than {MIN_SECRET_CHARS} characters; use a long random value (e.g. 64 hex characters)"),
        );
    }
    let config = WebConfig {
        enabled: s.bool_or(ctx, "enabled", false),
        host: s.str_or(ctx, "host", "127.0.0.1").trim().to_string(),
        port: s.int_in(ctx, "port", 8000, 0, 65535) as u16,
        secret_key: Secret::new(secret),
        secret_key_origin: origin,
        secret_key_line,
        session_lifetime_hours: s.int_in(ctx, "session_lifetime_hours", 8, 1, 8760) as u32,
        session_max_hours: s.int_in(ctx, "session_max_hours", 12, 1, 8760) as u32,
        public_url: public_url(&mut s, ctx),
        users: users(&mut s, ctx),
        password_requirements: password_requirements(&mut s, ctx),
        max_upload_mb: s.int_in(ctx, "max_upload_mb", 512, 1, 1_048_576) as u64,
        login_max_attempts: s.int_in(ctx, "login_max_attempts", 5, 1, 1000) as u32,
        login_lockout_minutes: s.int_in(ctx, "login_lockout_minutes", 15, 1, 525_600) as u32,
        trust_proxy_headers: s.bool_or(ctx, "trust_proxy_headers", false),
        timeouts: timeouts(&mut s, ctx),
    };
    s.finish(ctx);
    config
}

/// `web.public_url`: empty, or an `http://` or `https://` address with a host.
fn public_url(s: &mut Section<'_>, ctx: &mut Ctx) -> String {
    let line = s.line_of("public_url");
    let url = s.str_or(ctx, "public_url", "").trim().to_string();
    let lower = url.to_ascii_lowercase();
    let host = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let ok = url.is_empty() || host.is_some_and(|h| !h.is_empty() && !h.starts_with('/'));
    if !ok {
        let msg = format!(
            "'{url}' is not an http:// or https:// address; use e.g. https://billing.example.edu"
        );
        ctx.error(line, "web.public_url", msg);
    }
    url
}

fn timeouts(s: &mut Section<'_>, ctx: &mut Ctx) -> WebTimeouts {
    let d = WebTimeouts::default();
    let mut secs =
        |key: &str, default: u32, max: i64| s.int_in(ctx, key, default.into(), 1, max) as u32;
    WebTimeouts {
        header_read_seconds: secs("header_read_timeout_seconds", d.header_read_seconds, 3600),
        request_seconds: secs("request_timeout_seconds", d.request_seconds, 86_400),
        idle_seconds: secs("idle_timeout_seconds", d.idle_seconds, 86_400),
        shutdown_seconds: secs("shutdown_timeout_seconds", d.shutdown_seconds, 3600),
    }
}

fn password_requirements(web: &mut Section<'_>, ctx: &mut Ctx) -> PasswordRequirements {
    let mut s = sub(web, ctx, "password_requirements");
    let d = PasswordRequirements::default();
    let config = PasswordRequirements {
        // More than 72 could never be met: passwords are limited to 72 bytes (SPEC §14.3).
        min_length: s.int_in(ctx, "min_length", d.min_length.into(), 0, 72) as u32,
        require_uppercase: s.bool_or(ctx, "require_uppercase", d.require_uppercase),
        require_lowercase: s.bool_or(ctx, "require_lowercase", d.require_lowercase),
        require_numbers: s.bool_or(ctx, "require_numbers", d.require_numbers),
        require_special_chars: s.bool_or(ctx, "require_special_chars", d.require_special_chars),
    };
    s.finish(ctx);
    config
}

/// Usernames as enforced at login (SPEC §14.2).
fn is_valid_username(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn users(web: &mut Section<'_>, ctx: &mut Ctx) -> Vec<ConfigUser> {
    let Some(mut s) = web.section(ctx, "users") else {
        return vec![];
    };
    let mut out: Vec<ConfigUser> = Vec::new();
    for e in s.all_entries() {
        let key = s.key(&e.key);
        if !is_valid_username(&e.key) {
            let msg = "invalid username: use 1 to 100 letters, digits, '_', '.' or '-'";
            ctx.error(Some(e.line), &key, msg);
            continue;
        }
        if out.iter().any(|u| u.username.eq_ignore_ascii_case(&e.key)) {
            let msg = "duplicate username (usernames are case-insensitive)";
            ctx.error(Some(e.line), &key, msg);
            continue;
        }
        if let Some(user) = user(e, &key, ctx) {
            out.push(user);
        }
    }
    s.finish(ctx);
    out
}

fn user(e: &Entry, key: &str, ctx: &mut Ctx) -> Option<ConfigUser> {
    let entries = match &e.value.kind {
        Kind::Map(entries) => entries.as_slice(),
        Kind::Null => &[],
        other => {
            let msg = format!(
                "expected a mapping with email, display_name and password_hash, found {}",
                describe(other)
            );
            ctx.error(Some(e.value.line), key, msg);
            return None;
        }
    };
    let mut u = Section::new(key, Some(e.line), entries, ctx);
    let email = u.required_str(ctx, "email");
    let display_name = u.required_str(ctx, "display_name");
    let hash_line = u.line_of("password_hash");
    let hash = u
        .required_str(ctx, "password_hash")
        .map(|h| h.trim().to_string());
    let hash = hash.filter(|h| {
        let ok = is_bcrypt_hash(h);
        if !ok {
            ctx.error(
                hash_line,
                &u.key("password_hash"),
                "not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04-31, 53 characters of salt and hash); \
                 create one with `openchargeback users hash-password`",
            );
        }
        ok
    });
    let roles = ["admin", "reviewer", "viewer"];
    let role = u.choice(ctx, "role", Role::Viewer, Role::parse, &roles);
    let recovery = u.bool_or(ctx, "recovery", false);
    u.finish(ctx);
    Some(ConfigUser {
        username: e.key.clone(),
        email: email?.trim().to_string(),
        display_name: display_name?.trim().to_string(),
        password_hash: Secret::new(hash?),
        password_hash_line: hash_line,
        role,
        recovery,
    })
}
