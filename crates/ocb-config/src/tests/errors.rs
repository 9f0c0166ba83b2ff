//! Every config error of SPEC §4.4, with its line and key path.

use super::*;
use rstest::rstest;

#[rstest]
#[case::bool_type(
    "dev_mode: maybe",
    1,
    "dev_mode",
    "expected true or false, found 'maybe'"
)]
#[case::int_type("web:\n  port: abc", 2, "web.port", "expected an integer, found 'abc'")]
#[case::int_range(
    "web:\n  port: 70000",
    2,
    "web.port",
    "must be between 0 and 65535, found 70000"
)]
#[case::int_float(
    "smtp:\n  host: h\n  port: 25.5",
    3,
    "smtp.port",
    "expected an integer"
)]
#[case::int_min(
    "web:\n  session_lifetime_hours: 0",
    2,
    "web.session_lifetime_hours",
    "between 1 and"
)]
#[case::session_max_min(
    "web:\n  session_max_hours: 0",
    2,
    "web.session_max_hours",
    "between 1 and 8760"
)]
#[case::header_timeout_min(
    "web:\n  header_read_timeout_seconds: 0",
    2,
    "web.header_read_timeout_seconds",
    "between 1 and 3600"
)]
#[case::request_timeout_type(
    "web:\n  request_timeout_seconds: soon",
    2,
    "web.request_timeout_seconds",
    "expected an integer"
)]
#[case::idle_timeout_min(
    "web:\n  idle_timeout_seconds: -1",
    2,
    "web.idle_timeout_seconds",
    "between 1 and"
)]
#[case::shutdown_timeout_max(
    "web:\n  shutdown_timeout_seconds: 100000",
    2,
    "web.shutdown_timeout_seconds",
    "between 1 and 3600"
)]
#[case::public_url_scheme(
    "web:\n  public_url: billing.example.edu",
    2,
    "web.public_url",
    "not an http:// or https:// address"
)]
#[case::public_url_no_host(
    "web:\n  public_url: 'https:///x'",
    2,
    "web.public_url",
    "use e.g. https://billing.example.edu"
)]
#[case::str_type(
    "web:\n  host: [a, b]",
    2,
    "web.host",
    "expected a single value, found a list"
)]
#[case::list_type(
    "review:\n  flag_patterns: gpu",
    2,
    "review.flag_patterns",
    "expected a list"
)]
#[case::map_type("smtp: 5", 1, "smtp", "expected a mapping, found a single value")]
#[case::keys_type(
    "tag_mapping:\n  pi_email: {a: b}",
    2,
    "tag_mapping.pi_email",
    "expected a list"
)]
#[case::level(
    "logging:\n  level: TRACE",
    2,
    "logging.level",
    "expected one of DEBUG, INFO, WARN, WARNING, ERROR, found 'TRACE'"
)]
#[case::format(
    "logging:\n  format: xml",
    2,
    "logging.format",
    "expected one of splunk, json"
)]
#[case::rounding(
    "rounding: up",
    1,
    "rounding",
    "expected one of half_even, half_up, found 'up'"
)]
#[case::paper(
    "statements:\n  paper: legal",
    2,
    "statements.paper",
    "expected one of us-letter, a4"
)]
#[case::workers(
    "statements:\n  workers: -1",
    2,
    "statements.workers",
    "must be between 0 and 1024"
)]
#[case::branding_color(
    "statements:\n  branding:\n    primary_color: navy",
    3,
    "statements.branding.primary_color",
    "'navy' is not a colour: write #RRGGBB"
)]
#[case::branding_logo_format(
    "statements:\n  branding:\n    logo: logo.bmp",
    3,
    "statements.branding.logo",
    "must be a PNG, JPEG or SVG file"
)]
#[case::branding_logo_missing(
    "statements:\n  branding:\n    logo: /nonexistent/ocb-logo.png",
    3,
    "statements.branding.logo",
    "logo file '/nonexistent/ocb-logo.png' not found"
)]
#[case::default_mode(
    "imports:\n  default_mode: merge",
    2,
    "imports.default_mode",
    "expected one of replace, upsert"
)]
#[case::import_mode(
    "imports:\n  known_sources:\n    - name: A\n      import_mode: merge",
    4,
    "imports.known_sources[0].import_mode",
    "expected one of replace, upsert"
)]
#[case::timezone(
    "timezone: Mars/Olympus",
    1,
    "timezone",
    "unknown timezone 'Mars/Olympus'"
)]
#[case::smtp_host("\nsmtp:\n  port: 25", 2, "smtp.host", "required key is missing")]
#[case::smtp_host_empty("smtp:\n  host: ''", 2, "smtp.host", "must not be empty")]
#[case::from_address(
    "email:\n  from_name: X",
    1,
    "email.from_address",
    "required key is missing"
)]
#[case::from_address_bad(
    "email:\n  from_address: billing",
    2,
    "email.from_address",
    "'billing' is not an email address"
)]
#[case::source_name(
    "imports:\n  known_sources:\n    - pattern: x",
    3,
    "imports.known_sources[0].name",
    "required key is missing"
)]
#[case::source_item(
    "imports:\n  known_sources:\n    - AWS",
    3,
    "imports.known_sources[0]",
    "expected a mapping"
)]
#[case::source_list(
    "imports:\n  known_sources: AWS",
    2,
    "imports.known_sources",
    "expected a list of sources"
)]
#[case::dup_source(
    "imports:\n  known_sources:\n    - name: AWS\n    - name: aws",
    4,
    "imports.known_sources[1].name",
    "duplicate known source name 'aws' (names are case-insensitive; first defined at imports.known_sources[0])"
)]
#[case::flag_regex(
    "review:\n  flag_patterns:\n    - gpu\n    - '(unclosed'",
    4,
    "review.flag_patterns[1]",
    "invalid regex '(unclosed': Parsing error at position 9: Opening parenthesis without closing parenthesis"
)]
#[case::fund_regex(
    "review:\n  fund_org_patterns: ['a[']",
    2,
    "review.fund_org_patterns[0]",
    "invalid regex 'a[': "
)]
#[case::fund_org_regex(
    "journal:\n  fund_org_regex: '(?P<orgn'",
    2,
    "journal.fund_org_regex",
    "invalid regex '(?P<orgn'"
)]
#[case::account_regex(
    "journal:\n  account_code_regex: '*5'",
    2,
    "journal.account_code_regex",
    "invalid regex"
)]
#[case::subject_spec(
    "email:\n  from_address: a@b.edu\n  subject_template: 'Total {total:>10}'",
    3,
    "email.subject_template",
    "format specs and conversions are not supported: '{total:>10}'"
)]
#[case::subject_unknown(
    "email:\n  from_address: a@b.edu\n  subject_template: '{period}'",
    3,
    "email.subject_template",
    "unknown placeholder '{period}'; available: {billing_period}, {pi_email}, {pi_name}, {total}"
)]
#[case::debit_unknown(
    "journal:\n  debit_description: '{total}'",
    2,
    "journal.debit_description",
    "unknown placeholder '{total}'"
)]
#[case::credit_unbalanced(
    "journal:\n  credit_description: '{source'",
    2,
    "journal.credit_description",
    "unbalanced '{'"
)]
#[case::credit_closing(
    "journal:\n  credit_description: 'a } b'",
    2,
    "journal.credit_description",
    "single '}'"
)]
#[case::template_dotdot(
    "journal:\n  template: ../x.csv",
    2,
    "journal.template",
    "must be a file name"
)]
#[case::template_slash(
    "journal:\n  template: sub/x.csv",
    2,
    "journal.template",
    "no '/', '\\' or '..'"
)]
#[case::template_backslash(
    "journal:\n  template: 'sub\\x.csv'",
    2,
    "journal.template",
    "must be a file name"
)]
#[case::postgres(
    "database:\n  path: postgresql://u:pw@db/billing",
    2,
    "database.path",
    "PostgreSQL is not supported by this version"
)]
#[case::postgres_short(
    "database:\n  path: postgres://db/billing",
    2,
    "database.path",
    "not supported by this version"
)]
#[case::empty_path("output:\n  pdf_dir: ''", 2, "output.pdf_dir", "must not be empty")]
#[case::bad_env(
    "currency: '${1X}'",
    1,
    "currency",
    "invalid environment reference '${1X}'"
)]
#[case::bad_env_nested(
    "review:\n  flag_patterns:\n    - '${A-B}'",
    3,
    "review.flag_patterns[0]",
    "invalid environment reference"
)]
#[case::user_hash(
    "web:\n  users:\n    bob:\n      email: b@x.edu\n      display_name: Bob\n      password_hash: admin123",
    6,
    "web.users.bob.password_hash",
    "not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04-31, 53 characters of salt and hash)"
)]
#[case::user_role(
    "web:\n  users:\n    bob:\n      email: b@x.edu\n      display_name: Bob\n      password_hash: '$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey'\n      role: root",
    7,
    "web.users.bob.role",
    "expected one of admin, reviewer, viewer, found 'root'"
)]
#[case::user_name(
    "web:\n  users:\n    'bad name':\n      email: a@b.c",
    3,
    "web.users.bad name",
    "invalid username"
)]
#[case::user_not_map(
    "web:\n  users:\n    bob: yes",
    3,
    "web.users.bob",
    "expected a mapping"
)]
#[case::min_length(
    "web:\n  password_requirements:\n    min_length: 100",
    3,
    "web.password_requirements.min_length",
    "between 0 and 72"
)]
#[case::top_list("- a\n- b", 1, "", "the top level must be a mapping")]
#[case::top_scalar("hello", 1, "", "the top level must be a mapping")]
#[case::syntax("a: 1\nb: [1, 2\n", 3, "", "YAML syntax error: ")]
fn reports_error(#[case] yaml: &str, #[case] line: usize, #[case] key: &str, #[case] needle: &str) {
    assert_one(&load_errors(yaml), Some(line), key, needle);
}

#[test]
fn users_need_email_display_name_and_hash() {
    let errs = load_errors("web:\n  users:\n    bob:\n      role: admin\n");
    for key in ["email", "display_name", "password_hash"] {
        assert_one(
            &errs,
            Some(3),
            &format!("web.users.bob.{key}"),
            "required key is missing",
        );
    }
    assert_eq!(errs.len(), 3);
}

#[test]
fn usernames_are_unique_case_insensitively() {
    let user = format!("email: a@b.edu\n      display_name: A\n      password_hash: '{ADMIN123}'");
    let yaml = format!("web:\n  users:\n    Alice:\n      {user}\n    alice:\n      {user}\n");
    assert_one(
        &load_errors(&yaml),
        Some(7),
        "web.users.alice",
        "duplicate username",
    );
}

#[test]
fn all_errors_are_reported_together_in_file_order() {
    let yaml =
        "dev_mode: maybe\nrounding: up\nsmtp:\n  port: x\nreview:\n  flag_patterns: ['(', ')']\n";
    let errs = load_errors(yaml);
    let keys: Vec<(&str, Option<usize>)> = errs.iter().map(|d| (d.key.as_str(), d.line)).collect();
    assert_eq!(
        keys,
        [
            ("dev_mode", Some(1)),
            ("rounding", Some(2)),
            ("smtp.host", Some(3)),
            ("smtp.port", Some(4)),
            ("review.flag_patterns[0]", Some(6)),
            ("review.flag_patterns[1]", Some(6)),
        ]
    );
    let shown = ConfigErrors(errs).to_string();
    assert!(
        shown.starts_with(&format!(
            "config error: {FILE}:1: dev_mode: expected true or false"
        )),
        "{shown}"
    );
    assert_eq!(shown.lines().count(), 6);
}

#[test]
fn postgres_url_is_never_echoed() {
    let errs = load_errors("database:\n  path: postgresql://user:s3cret@db/billing\n");
    assert!(!format!("{errs:?}").contains("s3cret"));
}

#[test]
fn invalid_hash_is_never_echoed() {
    let yaml = "web:\n  users:\n    bob:\n      email: b@x.edu\n      display_name: Bob\n      password_hash: hunter2hunter2\n";
    assert!(!format!("{:?}", load_errors(yaml)).contains("hunter2"));
}

#[test]
fn read_errors_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = crate::ConfigSource {
        path: Some(dir.path().to_path_buf()),
        explicit: true,
    };
    let errs = crate::load(&source, &no_env, dir.path()).expect_err("a directory");
    assert_eq!(errs.0.len(), 1);
    assert!(
        errs.0[0].message.starts_with("cannot read config file: "),
        "{:?}",
        errs.0[0]
    );
    assert_eq!(errs.0[0].file.as_deref(), Some(dir.path()));
}

/// Issue 15: any file handed over as the config is refused quickly with bounded memory:
/// devices are not read at all, and a file beyond the size limit is not read past it.
#[rstest]
#[case::device(None, "cannot read config file: not a regular file")]
#[case::huge(Some(5 << 20), "cannot read config file: larger than 4 MiB")]
fn devices_and_huge_files_are_not_configs(#[case] size: Option<usize>, #[case] want: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = match size {
        Some(n) => {
            let p = dir.path().join("config.yaml");
            std::fs::write(&p, "#".repeat(n)).expect("write");
            p
        }
        None => std::path::PathBuf::from("/dev/zero"),
    };
    let source = crate::ConfigSource {
        path: Some(path),
        explicit: true,
    };
    let errs = crate::load(&source, &no_env, dir.path()).expect_err("refused");
    assert!(errs.0[0].message.starts_with(want), "{:?}", errs.0[0]);
}
