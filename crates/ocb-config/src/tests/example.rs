//! The embedded example config: it loads cleanly and documents every key of SPEC §4.3.

use super::*;
use crate::yaml::{parse, Kind, Node};
use crate::EXAMPLE_CONFIG;

/// Every key of SPEC §4.3 (`web.users.<u>.*` as `web.users.admin.*`, list items as `[]`).
const SPEC_KEYS: &[&str] = &[
    "dev_mode",
    "currency",
    "timezone",
    "rounding",
    "templates_dir",
    "database.path",
    "database.busy_timeout_ms",
    "smtp.host",
    "smtp.port",
    "smtp.use_tls",
    "smtp.username",
    "smtp.password",
    "smtp.timeout_seconds",
    "smtp.max_retries",
    "email.from_address",
    "email.from_name",
    "email.subject_template",
    "tag_mapping.pi_email",
    "tag_mapping.project_id",
    "tag_mapping.fund_org",
    "tag_mapping.cost_center",
    "tag_mapping.account_code",
    "tag_mapping.reference_1",
    "tag_mapping.reference_2",
    "tag_mapping.end_date",
    "tag_mapping.reconciliation_end",
    "tag_mapping.pi_name",
    "output.pdf_dir",
    "output.journal_dir",
    "output.email_dir",
    "output.import_dir",
    "output.backup_dir",
    "logging.enabled",
    "logging.level",
    "logging.format",
    "logging.file",
    "sources.aws.api_url",
    "sources.aws.api_key",
    "sources.aws.api_secret",
    "sources.azure.api_url",
    "sources.azure.tenant_id",
    "sources.azure.client_id",
    "sources.azure.client_secret",
    "sources.gcp.api_url",
    "sources.gcp.api_key",
    "web.enabled",
    "web.host",
    "web.port",
    "web.secret_key",
    "web.session_lifetime_hours",
    "web.session_max_hours",
    "web.public_url",
    "web.header_read_timeout_seconds",
    "web.request_timeout_seconds",
    "web.idle_timeout_seconds",
    "web.shutdown_timeout_seconds",
    "web.users.admin.email",
    "web.users.admin.display_name",
    "web.users.admin.password_hash",
    "web.users.admin.role",
    "web.users.admin.recovery",
    "web.password_requirements.min_length",
    "web.password_requirements.require_uppercase",
    "web.password_requirements.require_lowercase",
    "web.password_requirements.require_numbers",
    "web.password_requirements.require_special_chars",
    "web.max_upload_mb",
    "web.login_max_attempts",
    "web.login_lockout_minutes",
    "web.trust_proxy_headers",
    "review.flag_patterns",
    "review.fund_org_patterns",
    "imports.default_mode",
    "imports.known_sources[].name",
    "imports.known_sources[].pattern",
    "imports.known_sources[].fund_org",
    "imports.known_sources[].account_code",
    "imports.known_sources[].display_name",
    "imports.known_sources[].import_mode",
    "journal.fund_org_regex",
    "journal.account_code_regex",
    "journal.template",
    "journal.default_account",
    "journal.debit_description",
    "journal.credit_description",
    "journal.clearing_fund_org",
    "statements.paper",
    "statements.workers",
    "statements.branding.logo",
    "statements.branding.primary_color",
    "statements.branding.organization_address",
    "statements.branding.footer_text",
    "statements.branding.contact_text",
];

fn leaf_keys(node: &Node, path: &str, out: &mut Vec<String>) {
    match &node.kind {
        Kind::Map(entries) => {
            for e in entries {
                leaf_keys(&e.value, &crate::reader::join(path, &e.key), out);
            }
        }
        Kind::Seq(items) if items.iter().any(|i| matches!(i.kind, Kind::Map(_))) => {
            for item in items {
                leaf_keys(item, &format!("{path}[]"), out);
            }
        }
        _ => out.push(path.to_string()),
    }
}

#[test]
fn example_config_loads_without_errors_or_warnings() {
    let loaded = load_ok(EXAMPLE_CONFIG);
    assert_eq!(loaded.warnings, [], "the example must not produce warnings");
    let unset: Vec<&str> = loaded.unset_env.iter().map(|d| d.key.as_str()).collect();
    assert!(
        unset.contains(&"smtp.password") && unset.contains(&"web.secret_key"),
        "{unset:?}"
    );
    let c = loaded.config;
    assert_eq!(c.web.users.len(), 1);
    assert_eq!(c.web.users[0].username, "admin");
    // Issue 16, item 1: no longer upstream's hash of the published "admin123".
    assert_ne!(c.web.users[0].password_hash.expose(), ADMIN123);
    assert!(crate::password_hash::is_bcrypt_hash(
        c.web.users[0].password_hash.expose()
    ));
    assert_eq!(c.web.users[0].role, crate::Role::Admin);
    assert_eq!(c.imports.known_sources.len(), 10);
    // Converter outputs (INTEGRATIONS.md §5 step 6) are detected by file name.
    for (file, source) in [
        ("slurm_2025-01.csv", "Slurm"),
        ("isilon_2025-01.csv", "Isilon"),
        ("qumulo_2025-01.csv", "Qumulo"),
        ("azure-local_2025-01.csv", "Azure Local"),
        ("openai-tokens_2026-01.csv", "OpenAI"),
        ("aws_2025-01.csv", "AWS"),
        ("azure_2025-01.csv", "Azure"),
    ] {
        let found = c.detect_source(file).map(|s| s.name.as_str());
        assert_eq!(found, Some(source), "{file}");
    }
    assert_eq!(c.sources.len(), 3);
}

#[test]
fn example_config_documents_every_spec_key() {
    let root = parse(EXAMPLE_CONFIG)
        .expect("valid YAML")
        .expect("document");
    let mut keys = Vec::new();
    leaf_keys(&root, "", &mut keys);
    for k in SPEC_KEYS {
        assert!(
            keys.iter().any(|have| have == k),
            "example config lacks {k}"
        );
    }
    for k in &keys {
        assert!(
            SPEC_KEYS.contains(&k.as_str()),
            "example config has {k}, which is not in SPEC §4.3"
        );
    }
}

#[test]
fn example_config_secret_comes_from_environment() {
    let env = |k: &str| (k == "WEB_SECRET_KEY").then(|| "s".repeat(64));
    let loaded = load_str(EXAMPLE_CONFIG, Some(Path::new(FILE)), &env, &cwd()).expect("valid");
    assert_eq!(loaded.config.web.secret_key.expose().len(), 64);
    assert!(loaded.config.check_serve_secret().is_ok());
}
