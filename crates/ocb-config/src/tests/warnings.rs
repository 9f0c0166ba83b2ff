//! Warnings of SPEC §4.4: reported with their key path, never stopping the load.

use super::*;
use rstest::rstest;
use std::fs;

#[rstest]
#[case::top_level("dev_mode: false\nfoo: 1", 2, "foo", "unknown key (ignored)")]
#[case::nested("smtp:\n  host: h\n  hots: x", 3, "smtp.hots", "unknown key (ignored)")]
#[case::section_typo("databse:\n  path: x.db", 1, "databse", "unknown key")]
#[case::list_item(
    "imports:\n  known_sources:\n    - name: A\n      patern: a",
    4,
    "imports.known_sources[0].patern",
    "unknown key"
)]
#[case::user_key(
    "web:\n  users:\n    bob:\n      email: b@x.edu\n      display_name: B\n      password_hash: '$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey'\n      rol: admin",
    7,
    "web.users.bob.rol",
    "unknown key"
)]
#[case::source_key(
    "sources:\n  aws:\n    api_kye: x",
    3,
    "sources.aws.api_kye",
    "unknown key"
)]
#[case::env_not_in_keys("'${HOME}': 1", 1, "${HOME}", "unknown key")]
#[case::duplicate(
    "currency: '$'\ncurrency: '€'",
    2,
    "currency",
    "duplicate key; the last value is used"
)]
#[case::short_secret(
    "web:\n  secret_key: tooshort",
    2,
    "web.secret_key",
    "is shorter than 32 characters"
)]
#[case::equal_patterns(
    "imports:\n  known_sources:\n    - name: A\n      pattern: aws\n    - name: B\n      pattern: AWS",
    5,
    "imports.known_sources[1].pattern",
    "same pattern 'AWS' as imports.known_sources[0]"
)]
#[case::no_groups(
    "journal:\n  fund_org_regex: '^(.*)$'",
    2,
    "journal.fund_org_regex",
    "has no named group (?P<orgn>...) or (?P<fund>...)"
)]
#[case::no_fund_group(
    "journal:\n  fund_org_regex: '^(?P<orgn>.*)$'",
    2,
    "journal.fund_org_regex",
    "has no named group (?P<fund>...);"
)]
#[case::empty_flag(
    "review:\n  flag_patterns: ['']",
    2,
    "review.flag_patterns[0]",
    "flags every charge"
)]
fn reports_warning(
    #[case] yaml: &str,
    #[case] line: usize,
    #[case] key: &str,
    #[case] needle: &str,
) {
    let loaded = load_ok(yaml);
    assert_one(&loaded.warnings, Some(line), key, needle);
}

#[test]
fn duplicate_keys_keep_the_last_value() {
    assert_eq!(load_ok("currency: '$'\ncurrency: '€'").config.currency, "€");
}

#[test]
fn short_secret_from_environment_is_warned_too() {
    let env = |k: &str| (k == "WEB_SECRET_KEY").then(|| "short".to_string());
    let loaded = load_str("", Some(Path::new(FILE)), &env, &cwd()).expect("valid");
    assert_one(&loaded.warnings, None, "web.secret_key", "shorter than 32");
}

#[test]
fn good_configs_have_no_warnings() {
    let yaml = format!(
        "web:\n  secret_key: {}\njournal:\n  fund_org_regex: '^(?<orgn>..)(?<fund>.*)$'\n",
        "k".repeat(32)
    );
    assert_eq!(load_ok(&yaml).warnings, []);
    assert_eq!(load_ok("").warnings, []);
}

fn instance_with(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("instance/templates")).expect("mkdir");
    for f in files {
        fs::write(dir.path().join("instance/templates").join(f), "x").expect("write");
    }
    dir
}

fn load_in(dir: &Path, yaml: &str) -> Loaded {
    let file = dir.join("instance/config.yaml");
    load_str(yaml, Some(&file), &no_env, dir).expect("valid")
}

/// Issue 17: a `statement.html` without `statement.typ` is a notice for `config check` and
/// `serve` (not a warning every command prints), pointing at the branding settings.
#[test]
fn statement_html_in_templates_dir_is_a_notice_not_a_warning() {
    let dir = instance_with(&["statement.html"]);
    let loaded = load_in(dir.path(), "");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let html: Vec<&Diagnostic> = loaded
        .notices
        .iter()
        .filter(|d| d.key == "templates_dir")
        .collect();
    assert_eq!(html.len(), 1, "{:?}", loaded.notices);
    assert!(html[0].message.contains("statement.html is not used"));
    assert!(html[0].message.contains("statements.branding"));
    let with_typ = instance_with(&["statement.html", "statement.typ"]);
    let loaded = load_in(with_typ.path(), "");
    assert!(loaded.notices.iter().all(|d| d.key != "templates_dir"));
}

/// Issue 17: sources without a credit fund/org are credited to CLOUD-CLEARING; `config check`
/// says so once, naming them, unless `journal.clearing_fund_org` is set.
#[test]
fn sources_without_credit_fund_org_are_a_clearing_notice() {
    let yaml =
        "imports:\n  known_sources:\n    - name: AWS\n    - name: HPC\n      fund_org: IT-HPC\n";
    let loaded = load_ok(yaml);
    let n: Vec<&Diagnostic> = loaded
        .notices
        .iter()
        .filter(|d| d.key == "journal.clearing_fund_org")
        .collect();
    assert_eq!(n.len(), 1, "{:?}", loaded.notices);
    assert!(n[0].message.contains("source 'AWS'"), "{}", n[0].message);
    assert!(n[0].message.contains("CLOUD-CLEARING"));
    let set = load_ok(&format!("{yaml}journal:\n  clearing_fund_org: IT-CLEAR\n"));
    assert!(set.notices.is_empty(), "{:?}", set.notices);
}

#[rstest]
#[case::missing("journal:\n  template: banner.csv", &[], true)]
#[case::present("journal:\n  template: banner.csv", &["banner.csv"], false)]
#[case::embedded_default("journal:\n  template: journal_gl.csv", &[], false)]
fn journal_template_must_exist(#[case] yaml: &str, #[case] files: &[&str], #[case] warned: bool) {
    let dir = instance_with(files);
    let loaded = load_in(dir.path(), yaml);
    let w: Vec<&Diagnostic> = loaded
        .warnings
        .iter()
        .filter(|d| d.key == "journal.template")
        .collect();
    assert_eq!(w.len(), usize::from(warned), "{:?}", loaded.warnings);
    if warned {
        assert_eq!(w[0].line, Some(2));
        assert!(
            w[0].message
                .starts_with("journal template 'banner.csv': not found in "),
            "{}",
            w[0].message
        );
    }
}

#[test]
fn configured_templates_dir_wins() {
    let dir = instance_with(&[]);
    fs::create_dir(dir.path().join("tpl")).expect("mkdir");
    fs::write(dir.path().join("tpl/statement.html"), "x").expect("write");
    let loaded = load_in(dir.path(), "templates_dir: tpl\n");
    assert_eq!(
        loaded.config.effective_templates_dir(),
        Some(dir.path().join("tpl"))
    );
    assert_one_key(&loaded.notices, "templates_dir", Some(1));
}

fn assert_one_key(diags: &[Diagnostic], key: &str, line: Option<usize>) {
    let found: Vec<&Diagnostic> = diags.iter().filter(|d| d.key == key).collect();
    assert_eq!(found.len(), 1, "{diags:?}");
    assert_eq!(found[0].line, line);
}

#[test]
fn serve_warns_without_users() {
    let loaded = load_ok("");
    let w = loaded.config.serve_warnings();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].key, "web.users");
    let with_user = format!(
        "web:\n  users:\n    a:\n      email: a@b.edu\n      display_name: A\n      password_hash: '{ADMIN123}'\n"
    );
    assert_eq!(load_ok(&with_user).config.serve_warnings(), []);
}

/// Issue 17: a relative logo is looked up in the templates directory (where a Python
/// `statement.html` kept its images); colours are normalised; block-scalar text loses its final
/// line break.
#[test]
fn branding_logo_is_found_in_the_templates_dir() {
    let dir = instance_with(&["statement.html", "logo.png"]);
    let yaml = "statements:\n  branding:\n    logo: logo.png\n    primary_color: '#2C3E50'\n    organization_address: |\n      Research Computing\n      1 Campus Drive\n    footer_text: ''\n";
    let loaded = load_in(dir.path(), yaml);
    let b = &loaded.config.statements.branding;
    assert_eq!(b.logo, Some(dir.path().join("instance/templates/logo.png")));
    assert_eq!(b.primary_color.as_deref(), Some("#2c3e50"));
    assert_eq!(
        b.organization_address.as_deref(),
        Some("Research Computing\n1 Campus Drive")
    );
    assert_eq!(b.footer_text, None, "empty means not set");
    assert!(load_ok("").config.statements.branding.is_empty());
}
