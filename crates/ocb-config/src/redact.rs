//! The redacted view of the config for `config check`, the settings page and template contexts:
//! every key of SPEC §4.3 with its effective value, secrets shown as `***` (empty when unset).

use crate::model::{Config, ConfigUser, KnownSource, SourceCredentials};
use serde_json::{json, Map, Value};
use std::path::Path;

fn path(p: &Path) -> Value {
    Value::String(p.display().to_string())
}

fn user(u: &ConfigUser) -> Value {
    json!({
        "email": u.email,
        "display_name": u.display_name,
        "password_hash": u.password_hash.redacted(),
        "role": u.role.as_str(),
        "recovery": u.recovery,
    })
}

fn source(s: &KnownSource) -> Value {
    json!({
        "name": s.name,
        "pattern": s.pattern,
        "fund_org": s.fund_org,
        "account_code": s.account_code,
        "display_name": s.display_name,
        "import_mode": s.import_mode.as_str(),
    })
}

fn credentials(c: &SourceCredentials) -> Value {
    json!({
        "api_url": c.api_url,
        "api_key": c.api_key.redacted(),
        "api_secret": c.api_secret.redacted(),
        "tenant_id": c.tenant_id,
        "client_id": c.client_id,
        "client_secret": c.client_secret.redacted(),
    })
}

impl Config {
    /// The effective config as JSON with secrets replaced by `***`.
    pub fn redacted(&self) -> Value {
        let t = &self.tag_mapping;
        let w = &self.web;
        let pr = &w.password_requirements;
        let users: Map<String, Value> = w
            .users
            .iter()
            .map(|u| (u.username.clone(), user(u)))
            .collect();
        let sources: Map<String, Value> = self
            .sources
            .iter()
            .map(|(k, c)| (k.clone(), credentials(c)))
            .collect();
        json!({
            "dev_mode": self.dev_mode,
            "currency": self.currency,
            "timezone": self.timezone.to_string(),
            "rounding": self.rounding.as_str(),
            "templates_dir": self.templates_dir.as_deref().map(path),
            "database": {
                "path": path(&self.database.path),
                "busy_timeout_ms": self.database.busy_timeout_ms,
            },
            "smtp": self.smtp.as_ref().map(|s| json!({
                "host": s.host,
                "port": s.port,
                "use_tls": s.use_tls,
                "username": s.username,
                "password": s.password.redacted(),
                "timeout_seconds": s.timeout_seconds,
                "max_retries": s.max_retries,
            })),
            "email": self.email.as_ref().map(|e| json!({
                "from_address": e.from_address,
                "from_name": e.from_name,
                "subject_template": e.subject_template,
            })),
            "tag_mapping": {
                "pi_email": t.pi_email, "project_id": t.project_id, "fund_org": t.fund_org,
                "cost_center": t.cost_center, "account_code": t.account_code,
                "reference_1": t.reference_1, "reference_2": t.reference_2,
                "end_date": t.end_date, "reconciliation_end": t.reconciliation_end,
                "pi_name": t.pi_name,
            },
            "output": {
                "pdf_dir": path(&self.output.pdf_dir),
                "journal_dir": path(&self.output.journal_dir),
                "email_dir": path(&self.output.email_dir),
                "import_dir": path(&self.output.import_dir),
                "backup_dir": path(&self.output.backup_dir),
            },
            "logging": {
                "enabled": self.logging.enabled,
                "level": self.logging.level.as_str(),
                "format": self.logging.format.as_str(),
                "file": self.logging.file.as_deref().map(path),
            },
            "sources": sources,
            "web": {
                "enabled": w.enabled, "host": w.host, "port": w.port,
                "secret_key": w.secret_key.redacted(),
                "session_lifetime_hours": w.session_lifetime_hours,
                "session_max_hours": w.session_max_hours,
                "public_url": w.public_url,
                "users": users,
                "password_requirements": {
                    "min_length": pr.min_length,
                    "require_uppercase": pr.require_uppercase,
                    "require_lowercase": pr.require_lowercase,
                    "require_numbers": pr.require_numbers,
                    "require_special_chars": pr.require_special_chars,
                },
                "max_upload_mb": w.max_upload_mb,
                "login_max_attempts": w.login_max_attempts,
                "login_lockout_minutes": w.login_lockout_minutes,
                "trust_proxy_headers": w.trust_proxy_headers,
                "header_read_timeout_seconds": w.timeouts.header_read_seconds,
                "request_timeout_seconds": w.timeouts.request_seconds,
                "idle_timeout_seconds": w.timeouts.idle_seconds,
                "shutdown_timeout_seconds": w.timeouts.shutdown_seconds,
            },
            "review": {
                "flag_patterns": self.review.flag_patterns,
                "fund_org_patterns": self.review.fund_org_patterns,
            },
            "imports": {
                "default_mode": self.imports.default_mode.as_str(),
                "known_sources": self.imports.known_sources.iter().map(source).collect::<Vec<_>>(),
            },
            "journal": {
                "fund_org_regex": self.journal.fund_org_regex,
                "account_code_regex": self.journal.account_code_regex,
                "template": self.journal.template,
                "default_account": self.journal.default_account,
                "debit_description": self.journal.debit_description,
                "credit_description": self.journal.credit_description,
                "clearing_fund_org": self.journal.clearing_fund_org,
            },
            "statements": {
                "paper": self.statements.paper.as_str(),
                "workers": self.statements.workers,
                "branding": {
                    "logo": self.statements.branding.logo.as_ref().map(|p| p.display().to_string()),
                    "primary_color": self.statements.branding.primary_color,
                    "organization_address": self.statements.branding.organization_address,
                    "footer_text": self.statements.branding.footer_text,
                    "contact_text": self.statements.branding.contact_text,
                },
            },
        })
    }
}
