//! Successful loads: defaults, typed values, environment expansion, paths, secrets.

use super::*;
use crate::{
    load, ConfigSource, LogFormat, LogLevel, Paper, Role, SecretKeyOrigin, TimeZoneSetting,
};
use ocb_core::amount::Rounding;
use ocb_core::source::ImportMode;
use rstest::rstest;

#[test]
fn empty_file_means_defaults() {
    let c = load_ok("").config;
    assert!(!c.dev_mode);
    assert_eq!(c.currency, "$");
    assert_eq!(c.timezone, TimeZoneSetting::Local);
    assert_eq!(c.rounding, Rounding::HalfEven);
    assert_eq!(c.templates_dir, None);
    assert_eq!(c.database.path, Path::new("/srv/ocb/instance/billing.db"));
    assert_eq!(c.database.busy_timeout_ms, 5000);
    assert!(c.smtp.is_none() && c.email.is_none());
    assert_eq!(c.tag_mapping, ocb_core::attribution::TagMapping::default());
    assert_eq!(c.output.pdf_dir, Path::new("/srv/ocb/instance/output/pdfs"));
    assert_eq!(
        c.output.journal_dir,
        Path::new("/srv/ocb/instance/output/journals")
    );
    assert_eq!(
        c.output.email_dir,
        Path::new("/srv/ocb/instance/output/emails")
    );
    assert_eq!(
        c.output.import_dir,
        Path::new("/srv/ocb/instance/output/imports")
    );
    assert_eq!(c.output.backup_dir, Path::new("/srv/ocb/instance/backups"));
    assert!(c.logging.enabled);
    assert_eq!(
        (c.logging.level, c.logging.format, c.logging.file.as_deref()),
        (LogLevel::Info, LogFormat::Splunk, None)
    );
    assert!(c.sources.is_empty());
    let w = &c.web;
    assert!(!w.enabled);
    assert_eq!(
        (w.host.as_str(), w.port, w.session_lifetime_hours),
        ("127.0.0.1", 8000, 8)
    );
    assert_eq!(
        (w.secret_key.expose(), w.secret_key_origin),
        ("", SecretKeyOrigin::Unset)
    );
    assert_eq!(
        (w.session_max_hours, w.public_url.as_str(), w.is_https()),
        (12, "", false)
    );
    assert_eq!(
        (
            w.timeouts.header_read_seconds,
            w.timeouts.request_seconds,
            w.timeouts.idle_seconds,
            w.timeouts.shutdown_seconds
        ),
        (10, 600, 60, 30)
    );
    assert!(w.users.is_empty());
    assert_eq!(
        w.password_requirements,
        crate::PasswordRequirements::default()
    );
    assert_eq!(
        (
            w.max_upload_mb,
            w.login_max_attempts,
            w.login_lockout_minutes
        ),
        (512, 5, 15)
    );
    assert!(!w.trust_proxy_headers);
    assert!(c.review.flag_patterns.is_empty() && c.review.rules.fund_org_patterns.is_empty());
    assert_eq!(c.imports.default_mode, ImportMode::Replace);
    let names: Vec<(&str, &str)> = c
        .imports
        .known_sources
        .iter()
        .map(|s| (s.name.as_str(), s.pattern.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("AWS", "aws"),
            ("Azure", "azure"),
            ("GCP", "gcp"),
            ("HPC", "hpc"),
            ("Storage", "storage")
        ]
    );
    let j = &c.journal;
    assert_eq!(j.fund_org_regex, "^(?P<orgn>[^-]+)-(?P<fund>.+)$");
    assert!(j.fund_org_pattern.is_some() && j.account_code_pattern.is_none());
    assert_eq!(
        (j.template.as_str(), j.default_account.as_str()),
        ("journal_gl.csv", "")
    );
    assert_eq!(
        j.debit_description,
        "{source} {period} Research Computing Charges"
    );
    assert_eq!(j.credit_description, j.debit_description);
    assert_eq!(j.clearing_fund_org, "");
    assert_eq!(
        (c.statements.paper, c.statements.workers),
        (Paper::UsLetter, 0)
    );
    assert!(c.statements.worker_count() >= 1);
    assert_eq!(c.organization_name(), "Research Computing Billing");
    assert_eq!(
        c.subject_template(),
        "Research Computing Charges - {billing_period}"
    );
}

#[test]
fn defaults_constructor_matches_empty_file() {
    let c = crate::Config::defaults(&cwd());
    assert_eq!(c.redacted(), load_ok("").config.redacted());
    assert_eq!(c.config_path, None);
    assert_eq!(c.instance_dir, Path::new("/srv/ocb/instance"));
}

#[test]
fn defaults_source_uses_instance_under_cwd() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = ConfigSource {
        path: None,
        explicit: false,
    };
    let loaded = load(&source, &no_env, dir.path()).expect("defaults");
    assert!(loaded.used_defaults);
    assert_eq!(loaded.config.config_path, None);
    assert_eq!(loaded.config.instance_dir, dir.path().join("instance"));
    assert!(
        !dir.path().join("instance").exists(),
        "loading must not create directories"
    );
}

#[test]
fn loading_a_file_sets_instance_dir_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).expect("mkdir");
    std::fs::write(etc.join("billing.yaml"), "logging:\n  file: logs/ocb.log\n").expect("write");
    let source = ConfigSource {
        path: Some("etc/billing.yaml".into()),
        explicit: true,
    };
    let loaded = load(&source, &no_env, dir.path()).expect("valid");
    assert!(!loaded.used_defaults);
    let c = loaded.config;
    assert_eq!(c.config_path, Some(etc.join("billing.yaml")));
    assert_eq!(c.instance_dir, etc);
    // Relative paths resolve against the working directory, not the config's directory.
    assert_eq!(c.logging.file, Some(dir.path().join("logs/ocb.log")));
    assert_eq!(c.database.path, dir.path().join("instance/billing.db"));
    let entries: Vec<_> = std::fs::read_dir(dir.path()).expect("read").collect();
    assert_eq!(entries.len(), 1, "only etc/ exists");
}

#[rstest]
#[case("./data/billing.db", "/srv/ocb/data/billing.db")]
#[case("data/./billing.db", "/srv/ocb/data/billing.db")]
#[case("/var/lib/ocb/billing.db", "/var/lib/ocb/billing.db")]
#[case("../shared/billing.db", "/srv/ocb/../shared/billing.db")]
fn paths_resolve_against_working_dir(#[case] written: &str, #[case] expected: &str) {
    let c = load_ok(&format!("database:\n  path: {written}\n")).config;
    assert_eq!(c.database.path, Path::new(expected));
}

#[test]
fn typed_values() {
    let yaml = format!(
        r#"
dev_mode: yes
currency: "€"
timezone: America/Chicago
rounding: half_up
smtp:
  host: mail.example.edu
  port: 465
  use_tls: off
  username: billing
  password: pw
  timeout_seconds: 10
  max_retries: 0
email:
  from_address: billing@example.edu
  from_name: Example U
  subject_template: "{{pi_name}}: {{total}} for {{billing_period}} {{{{x}}}}"
tag_mapping:
  pi_email: [pi, owner_email]
  reference_1: ""
  reference_2: ticket
logging:
  level: warning
  format: JSON
web:
  port: 0
  users:
    Alice:
      email: alice@example.edu
      display_name: Alice
      password_hash: "{ADMIN123}"
      role: reviewer
    bob:
      email: bob@example.edu
      display_name: Bob
      password_hash: "{ADMIN123}"
  password_requirements:
    min_length: 12
    require_special_chars: true
imports:
  default_mode: upsert
  known_sources:
    - name: HPC
      pattern: hpc
      fund_org: IT-HPC
      account_code: 5000
    - name: Cloud
      display_name: Public Cloud
      import_mode: replace
statements:
  paper: a4
  workers: 4
"#
    );
    let c = load_ok(&yaml).config;
    assert!(c.dev_mode);
    assert_eq!(c.currency, "€");
    assert_eq!(
        c.timezone,
        TimeZoneSetting::Named(chrono_tz::America::Chicago)
    );
    assert_eq!(c.rounding, Rounding::HalfUp);
    let smtp = c.smtp.as_ref().expect("smtp");
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.use_tls),
        ("mail.example.edu", 465, false)
    );
    assert_eq!(
        (smtp.username.as_str(), smtp.password.expose()),
        ("billing", "pw")
    );
    assert_eq!((smtp.timeout_seconds, smtp.max_retries), (10, 0));
    assert_eq!(
        c.subject_template(),
        "{pi_name}: {total} for {billing_period} {{x}}"
    );
    assert_eq!(c.organization_name(), "Example U");
    assert_eq!(c.tag_mapping.pi_email, ["pi", "owner_email"]);
    assert!(c.tag_mapping.reference_1.is_empty());
    assert_eq!(c.tag_mapping.reference_2, ["ticket"]);
    assert_eq!(c.tag_mapping.project_id, ["project_id", "project"]);
    assert_eq!(
        (c.logging.level, c.logging.format),
        (LogLevel::Warn, LogFormat::Json)
    );
    assert_eq!(c.web.port, 0);
    let users: Vec<(&str, Role, bool)> = c
        .web
        .users
        .iter()
        .map(|u| (u.username.as_str(), u.role, u.recovery))
        .collect();
    assert_eq!(
        users,
        [
            ("Alice", Role::Reviewer, false),
            ("bob", Role::Viewer, false)
        ]
    );
    assert_eq!(c.web.users[0].password_hash.expose(), ADMIN123);
    assert_eq!(c.web.password_requirements.min_length, 12);
    assert!(c.web.password_requirements.require_special_chars);
    let k = &c.imports.known_sources;
    assert_eq!(k.len(), 2);
    assert_eq!(
        (
            k[0].fund_org.as_str(),
            k[0].account_code.as_str(),
            k[0].display_name.as_str()
        ),
        ("IT-HPC", "5000", "HPC")
    );
    assert_eq!(
        (k[0].import_mode, k[1].import_mode),
        (ImportMode::Upsert, ImportMode::Replace)
    );
    assert_eq!(
        (k[1].display_name.as_str(), k[1].pattern.as_str()),
        ("Public Cloud", "")
    );
    assert_eq!(c.known_source("hpc").map(|s| s.name.as_str()), Some("HPC"));
    assert_eq!(c.known_source("nope"), None);
    assert_eq!(c.imports.import_mode("HPC"), ImportMode::Upsert);
    assert_eq!(c.imports.import_mode("other"), ImportMode::Upsert);
    assert_eq!(
        (c.statements.paper, c.statements.worker_count()),
        (Paper::A4, 4)
    );
}

#[test]
fn empty_known_sources_list_replaces_defaults() {
    assert!(load_ok("imports:\n  known_sources: []\n")
        .config
        .imports
        .known_sources
        .is_empty());
    assert_eq!(
        load_ok("imports:\n  known_sources:\n")
            .config
            .imports
            .known_sources
            .len(),
        5
    );
}

#[test]
fn review_patterns_compile_with_python_syntax() {
    let yaml = "review:\n  flag_patterns: ['gpu', '(?<=ml-)big', '(a)\\1']\n  fund_org_patterns: ['\\d{6}-\\d{4}']\n";
    let r = load_ok(yaml).config.review;
    assert_eq!(r.flag_patterns, ["gpu", "(?<=ml-)big", "(a)\\1"]);
    assert_eq!(r.rules.flag_patterns.len(), 3);
    assert!(r.rules.fund_org_ok("123456-1234"));
    assert!(!r.rules.fund_org_ok("123456-12345"));
}

#[test]
fn account_code_regex_is_a_full_match() {
    let j = load_ok("journal:\n  account_code_regex: '\\d{4}'\n")
        .config
        .journal;
    let p = j.account_code_pattern.expect("compiled");
    assert!(p.is_match("5000"));
    assert!(!p.is_match("50000"));
    assert!(!p.is_match("x5000"));
    assert_eq!(j.account_code_regex, "\\d{4}");
}

#[test]
fn empty_fund_org_regex_is_allowed() {
    let j = load_ok("journal:\n  fund_org_regex: ''\n").config.journal;
    assert!(j.fund_org_pattern.is_none());
}

fn env(name: &str) -> Option<String> {
    match name {
        "SMTP_PORT" => Some("2525".into()),
        "PATTERN" => Some("gpu".into()),
        "DATA" => Some("/data".into()),
        "WEB_SECRET_KEY" => Some("e".repeat(40)),
        _ => None,
    }
}

#[test]
fn environment_expands_everywhere() {
    let yaml = "smtp:\n  host: ${SMTP_HOST:-localhost}\n  port: ${SMTP_PORT}\n  password: ${SMTP_PASSWORD}\n\
                review:\n  flag_patterns: ['${PATTERN}', 'x${NOPE:-}']\n\
                database:\n  path: ${DATA}/billing.db\n\
                currency: '$${HOME}'\n\
                web:\n  use_dev: ${WEB_FLAG:-x}\n";
    let loaded = load_str(yaml, Some(Path::new(FILE)), &env, &cwd()).expect("valid");
    let c = &loaded.config;
    let smtp = c.smtp.as_ref().expect("smtp");
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.password.expose()),
        ("localhost", 2525, "")
    );
    assert_eq!(c.review.flag_patterns, ["gpu", "x"]);
    assert_eq!(c.database.path, Path::new("/data/billing.db"));
    assert_eq!(c.currency, "${HOME}");
    // Unknown keys are still only warnings, even with expansion inside.
    assert_eq!(
        loaded
            .warnings
            .iter()
            .map(|d| d.key.as_str())
            .collect::<Vec<_>>(),
        ["web.use_dev"]
    );
}

/// Issue 15, item 5: `database.path: ${NOPE}/a.db` passed `config check` and wrote to `/a.db`.
/// An unset variable without a default is now an error naming file, line and key.
#[rstest]
#[case::path("database:\n  path: ${NOPE}/a.db\n", 2, "database.path")]
#[case::list_item(
    "review:\n  flag_patterns: ['gpu', 'x${NOPE}']\n",
    2,
    "review.flag_patterns[1]"
)]
#[case::unknown_key("web:\n  host: 127.0.0.1\n  use_dev: ${NOPE}\n", 3, "web.use_dev")]
#[case::smtp_host("smtp:\n  host: ${NOPE}\n", 2, "smtp.host")]
fn issue_15_unset_variable_is_an_error_naming_file_line_and_key(
    #[case] yaml: &str,
    #[case] line: usize,
    #[case] key: &str,
) {
    let errors = match load_str(yaml, Some(Path::new(FILE)), &env, &cwd()) {
        Ok(_) => panic!("expected an error for {key}"),
        Err(e) => e.0,
    };
    assert_one(
        &errors,
        Some(line),
        key,
        "environment variable NOPE is not set",
    );
    let d = errors.iter().find(|d| d.key == key).expect("diagnostic");
    assert!(
        d.error_line().starts_with(&format!(
            "config error: {FILE}:{line}: {key}: environment variable NOPE is not set"
        )),
        "{}",
        d.error_line()
    );
    assert!(d.message.contains("${NOPE:-default}"), "{}", d.message);
}

/// Credentials keep upstream's meaning of an unset `${VAR}`: empty = not configured, with a
/// notice for `config check` and `serve`, so an upstream config with `${SMTP_PASSWORD}` and
/// `${WEB_SECRET_KEY}` still loads in a cron job that has neither.
#[test]
fn unset_credentials_are_empty_with_a_notice() {
    let yaml = "smtp:\n  host: mail\n  username: ${SMTP_USER}\n  password: ${SMTP_PASSWORD}\n\
                sources:\n  azure:\n    tenant_id: ${AZURE_TENANT_ID}\n\
                web:\n  secret_key: ${NO_SECRET}\n";
    let loaded = load_str(yaml, Some(Path::new(FILE)), &env, &cwd()).expect("valid");
    let unset: Vec<(&str, Option<usize>, &str)> = loaded
        .unset_env
        .iter()
        .map(|d| (d.key.as_str(), d.line, d.message.as_str()))
        .collect();
    assert_eq!(
        unset,
        [
            (
                "smtp.username",
                Some(3),
                "environment variable SMTP_USER is not set; using an empty value"
            ),
            (
                "smtp.password",
                Some(4),
                "environment variable SMTP_PASSWORD is not set; using an empty value"
            ),
            (
                "sources.azure.tenant_id",
                Some(7),
                "environment variable AZURE_TENANT_ID is not set; using an empty value"
            ),
            (
                "web.secret_key",
                Some(9),
                "environment variable NO_SECRET is not set; using an empty value"
            ),
        ]
    );
    let smtp = loaded.config.smtp.as_ref().expect("smtp");
    assert_eq!(smtp.password.expose(), "");
}

#[rstest]
#[case::file_wins(
    "web:\n  secret_key: fromfile-fromfile-fromfile-fromfile\n",
    "fromfile-fromfile-fromfile-fromfile",
    SecretKeyOrigin::Config
)]
#[case::env_fallback(
    "web:\n  secret_key: ''\n",
    "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
    SecretKeyOrigin::Environment
)]
#[case::env_fallback_absent(
    "",
    "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
    SecretKeyOrigin::Environment
)]
fn secret_key_falls_back_to_environment(
    #[case] yaml: &str,
    #[case] value: &str,
    #[case] origin: SecretKeyOrigin,
) {
    let c = load_str(yaml, None, &env, &cwd()).expect("valid").config;
    assert_eq!(
        (c.web.secret_key.expose(), c.web.secret_key_origin),
        (value, origin)
    );
}

#[rstest]
#[case::dev_mode_needs_nothing("dev_mode: true\n", None, true)]
#[case::empty("", None, false)]
#[case::placeholder("web:\n  secret_key: changeme-in-production\n", None, false)]
#[case::placeholder_env("", Some("changeme-in-production"), false)]
#[case::from_env("", Some("0123456789abcdef0123456789abcdef"), true)]
#[case::from_file("web:\n  secret_key: 0123456789abcdef0123456789abcdef\n", None, true)]
fn serve_needs_a_secret(
    #[case] yaml: &str,
    #[case] web_secret: Option<&'static str>,
    #[case] ok: bool,
) {
    let env = move |k: &str| {
        (k == "WEB_SECRET_KEY")
            .then(|| web_secret.map(str::to_string))
            .flatten()
    };
    let c = load_str(yaml, Some(Path::new(FILE)), &env, &cwd())
        .expect("valid")
        .config;
    match c.check_serve_secret() {
        Ok(()) => assert!(ok),
        Err(d) => {
            assert!(!ok);
            assert_eq!(d.key, "web.secret_key");
            assert_eq!(
                d.message,
                "a strong random secret is required outside dev_mode (set WEB_SECRET_KEY)"
            );
            assert_eq!(d.file.as_deref(), Some(Path::new(FILE)));
        }
    }
}

#[test]
fn secrets_never_appear_in_debug_or_redacted_view() {
    let secrets = [
        "smtp-pass-1",
        "api-key-2",
        "api-secret-3",
        "client-secret-4",
        "web-secret-key-5-xxxxxxxxxxxxxxxxxxxxx",
    ];
    let yaml = format!(
        "smtp:\n  host: h\n  password: {}\nsources:\n  aws:\n    api_key: {}\n    api_secret: {}\n    client_secret: {}\n\
         web:\n  secret_key: {}\n  users:\n    a:\n      email: a@b.edu\n      display_name: A\n      password_hash: '{ADMIN123}'\n",
        secrets[0], secrets[1], secrets[2], secrets[3], secrets[4]
    );
    let loaded = load_ok(&yaml);
    let debug = format!("{:?} {:#?}", loaded, loaded.config);
    let redacted = loaded.config.redacted().to_string();
    for s in secrets.iter().chain([&ADMIN123]) {
        assert!(!debug.contains(s), "Debug leaks {s}");
        assert!(!redacted.contains(s), "redacted() leaks {s}");
    }
    let r = loaded.config.redacted();
    assert_eq!(r["smtp"]["password"], "***");
    assert_eq!(r["sources"]["aws"]["api_key"], "***");
    assert_eq!(r["sources"]["aws"]["tenant_id"], "");
    assert_eq!(r["sources"]["aws"]["client_secret"], "***");
    assert_eq!(r["web"]["secret_key"], "***");
    assert_eq!(r["web"]["users"]["a"]["password_hash"], "***");
    assert_eq!(r["database"]["path"], "/srv/ocb/instance/billing.db");
    assert_eq!(load_ok("").config.redacted()["web"]["secret_key"], "");
}
