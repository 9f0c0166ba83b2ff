//! The validated, typed configuration (SPEC §4.3). Built only by [`crate::load`]: paths are
//! absolute, regexes compiled, templates checked and secrets wrapped. Pass `&Config` (or the
//! sub-struct a function needs) around; there is no global config.

use crate::choices::{LogFormat, LogLevel, Paper, Role, TimeZoneSetting};
use crate::secret::Secret;
use ocb_core::amount::Rounding;
use ocb_core::attribution::TagMapping;
use ocb_core::flags::{Pattern, ReviewRules};
use ocb_core::source::{source_key, ImportMode};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Default `email.from_name` (also the organisation name on PDFs and emails).
pub const DEFAULT_FROM_NAME: &str = "Research Computing Billing";
/// Default `email.subject_template`.
pub const DEFAULT_SUBJECT_TEMPLATE: &str = "Research Computing Charges - {billing_period}";
/// Default `journal.debit_description` and `journal.credit_description`.
pub const DEFAULT_JOURNAL_DESCRIPTION: &str = "{source} {period} Research Computing Charges";
/// Default `journal.fund_org_regex`.
pub const DEFAULT_FUND_ORG_REGEX: &str = "^(?P<orgn>[^-]+)-(?P<fund>.+)$";
/// Default `journal.template` (the embedded upstream GL template).
pub const DEFAULT_JOURNAL_TEMPLATE: &str = "journal_gl.csv";

/// Credit fund/org of GL journals for sources with no `fund_org` while
/// `journal.clearing_fund_org` is empty: the clearing account of the Python web UI's GL export
/// (issue 17).
pub const DEFAULT_CLEARING_FUND_ORG: &str = "CLOUD-CLEARING";
/// The placeholder secret of upstream docs, refused by `serve` outside dev mode.
pub const CHANGEME_SECRET: &str = "changeme-in-production";

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file, absolute; `None` when built-in defaults are used.
    pub config_path: Option<PathBuf>,
    /// Directory of the config file (`<cwd>/instance` with defaults).
    pub instance_dir: PathBuf,
    /// The working directory relative paths were resolved against.
    pub working_dir: PathBuf,
    /// `dev_mode`.
    pub dev_mode: bool,
    /// `currency` symbol.
    pub currency: String,
    /// `timezone`.
    pub timezone: TimeZoneSetting,
    /// `rounding`.
    pub rounding: Rounding,
    /// `templates_dir` as configured (see [`Config::effective_templates_dir`]).
    pub templates_dir: Option<PathBuf>,
    /// `database.*`.
    pub database: DatabaseConfig,
    /// `smtp` (absent: sending impossible outside dev mode).
    pub smtp: Option<SmtpConfig>,
    /// `email` (absent: no sender identity).
    pub email: Option<EmailConfig>,
    /// `tag_mapping.*`.
    pub tag_mapping: TagMapping,
    /// `output.*`.
    pub output: OutputDirs,
    /// `logging.*`.
    pub logging: LoggingConfig,
    /// `sources.<name>.*` (consumed by converters only).
    pub sources: BTreeMap<String, SourceCredentials>,
    /// `web.*`.
    pub web: WebConfig,
    /// `review.*` from the file (the database may override it, SPEC §4.5).
    pub review: ReviewConfig,
    /// `imports.*`.
    pub imports: ImportsConfig,
    /// `journal.*`.
    pub journal: JournalConfig,
    /// `statements.*`.
    pub statements: StatementsConfig,
}

/// `database.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// SQLite file, absolute.
    pub path: PathBuf,
    /// Writer wait before "database busy".
    pub busy_timeout_ms: u64,
}

/// `smtp.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// Server host.
    pub host: String,
    /// Port; 465 means implicit TLS.
    pub port: u16,
    /// STARTTLS on ports other than 465.
    pub use_tls: bool,
    /// Login user (login only when user and password are both non-empty).
    pub username: String,
    /// Login password.
    pub password: Secret,
    /// Connect/command timeout.
    pub timeout_seconds: u64,
    /// Retries after transient failures.
    pub max_retries: u32,
}

/// `email.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailConfig {
    /// Envelope and `From` address; contact address on statements.
    pub from_address: String,
    /// `From` display name; organisation name.
    pub from_name: String,
    /// Subject template (placeholders checked).
    pub subject_template: String,
}

/// `output.*` directories, absolute. Loading never creates them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputDirs {
    /// Statement PDFs.
    pub pdf_dir: PathBuf,
    /// Journal exports.
    pub journal_dir: PathBuf,
    /// Dev-mode email files.
    pub email_dir: PathBuf,
    /// Per-import artefacts.
    pub import_dir: PathBuf,
    /// Backups.
    pub backup_dir: PathBuf,
}

/// `logging.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggingConfig {
    /// Echo audit events to the application log.
    pub enabled: bool,
    /// Level.
    pub level: LogLevel,
    /// Line format.
    pub format: LogFormat,
    /// Additional log file, absolute.
    pub file: Option<PathBuf>,
}

/// `sources.<name>.*`: credentials for API-based collection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceCredentials {
    /// API base URL.
    pub api_url: String,
    /// API key.
    pub api_key: Secret,
    /// API secret.
    pub api_secret: Secret,
    /// Tenant id.
    pub tenant_id: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: Secret,
}

/// Where the effective `web.secret_key` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKeyOrigin {
    /// `web.secret_key` in the file.
    Config,
    /// The `WEB_SECRET_KEY` environment variable.
    Environment,
    /// Neither: empty.
    Unset,
}

/// `web.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfig {
    /// Accepted for compatibility; no effect.
    pub enabled: bool,
    /// Default bind address.
    pub host: String,
    /// Default port (`0` = any free port).
    pub port: u16,
    /// The effective server secret: `web.secret_key`, else `WEB_SECRET_KEY`.
    pub secret_key: Secret,
    /// Where `secret_key` came from.
    pub secret_key_origin: SecretKeyOrigin,
    /// Line of `web.secret_key` in the file, for diagnostics.
    pub secret_key_line: Option<usize>,
    /// Idle session lifetime.
    pub session_lifetime_hours: u32,
    /// Absolute session lifetime: a session ends this long after login, however active
    /// (`web.session_max_hours`, issue 16, item 7).
    pub session_max_hours: u32,
    /// The address users reach the server at (`web.public_url`); `https://` turns on HSTS.
    pub public_url: String,
    /// Bootstrap/recovery users, in file order.
    pub users: Vec<ConfigUser>,
    /// Password policy.
    pub password_requirements: PasswordRequirements,
    /// Maximum upload size.
    pub max_upload_mb: u64,
    /// Failed logins before lockout.
    pub login_max_attempts: u32,
    /// Lockout duration and counting window.
    pub login_lockout_minutes: u32,
    /// Trust `X-Forwarded-For`/`X-Forwarded-Proto`.
    pub trust_proxy_headers: bool,
    /// Connection timeouts and the shutdown bound (issue 16, item 2).
    pub timeouts: WebTimeouts,
}

impl WebConfig {
    /// True when the server is reached over HTTPS (`web.public_url`): responses then carry
    /// `Strict-Transport-Security`.
    pub fn is_https(&self) -> bool {
        self.public_url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    }
}

/// `web.*_timeout_seconds` (issue 16, item 2): how long the server waits for a client, and for
/// its own requests at shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebTimeouts {
    /// `web.header_read_timeout_seconds`: time to receive a request's headers.
    pub header_read_seconds: u32,
    /// `web.request_timeout_seconds`: time from the headers to the response's headers.
    pub request_seconds: u32,
    /// `web.idle_timeout_seconds`: a connection with no request in progress and no bytes
    /// moving is closed after this long.
    pub idle_seconds: u32,
    /// `web.shutdown_timeout_seconds`: after SIGTERM/Ctrl-C, in-flight requests get this long.
    pub shutdown_seconds: u32,
}

impl Default for WebTimeouts {
    fn default() -> Self {
        Self {
            header_read_seconds: 10,
            request_seconds: 600,
            idle_seconds: 60,
            shutdown_seconds: 30,
        }
    }
}

/// `web.users.<username>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigUser {
    /// The mapping key.
    pub username: String,
    /// Email.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// bcrypt hash (format checked).
    pub password_hash: Secret,
    /// Line of `password_hash` in the file, for diagnostics.
    pub password_hash_line: Option<usize>,
    /// Role.
    pub role: Role,
    /// Always authenticate against this hash.
    pub recovery: bool,
}

/// `web.password_requirements.*` (SPEC §14.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordRequirements {
    /// Minimum length in characters.
    pub min_length: u32,
    /// Needs an upper-case letter.
    pub require_uppercase: bool,
    /// Needs a lower-case letter.
    pub require_lowercase: bool,
    /// Needs a digit.
    pub require_numbers: bool,
    /// Needs a special character.
    pub require_special_chars: bool,
}

impl Default for PasswordRequirements {
    fn default() -> Self {
        Self {
            min_length: 8,
            require_uppercase: false,
            require_lowercase: false,
            require_numbers: false,
            require_special_chars: false,
        }
    }
}

/// `review.*` as written in the file, plus the compiled rules.
#[derive(Debug, Clone)]
pub struct ReviewConfig {
    /// Flag patterns, verbatim.
    pub flag_patterns: Vec<String>,
    /// Fund/org patterns, verbatim.
    pub fund_org_patterns: Vec<String>,
    /// The compiled patterns.
    pub rules: ReviewRules,
}

/// `imports.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportsConfig {
    /// Mode of sources without their own.
    pub default_mode: ImportMode,
    /// Known sources in config order.
    pub known_sources: Vec<KnownSource>,
}

impl ImportsConfig {
    /// The known source with this name (case-insensitive).
    pub fn known_source(&self, name: &str) -> Option<&KnownSource> {
        let key = source_key(name);
        self.known_sources
            .iter()
            .find(|s| source_key(&s.name) == key)
    }

    /// Import mode of a source: its own when known, else `default_mode`.
    pub fn import_mode(&self, name: &str) -> ImportMode {
        self.known_source(name)
            .map_or(self.default_mode, |s| s.import_mode)
    }
}

/// `imports.known_sources[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownSource {
    /// Canonical name.
    pub name: String,
    /// File-name substring for auto-detection (empty = never detected).
    pub pattern: String,
    /// Credit fund/org for GL journals.
    pub fund_org: String,
    /// GL account.
    pub account_code: String,
    /// Shown in UI and statements.
    pub display_name: String,
    /// Import mode.
    pub import_mode: ImportMode,
}

/// `journal.*`.
#[derive(Debug, Clone)]
pub struct JournalConfig {
    /// Fund/org regex as written (may be empty).
    pub fund_org_regex: String,
    /// Compiled fund/org regex (Python `re.match`: anchored at the start by the caller).
    pub fund_org_pattern: Option<Pattern>,
    /// Account regex as written (empty = no check).
    pub account_code_regex: String,
    /// Compiled account regex, wrapped as `^(?:…)$` so `is_match` is a full match.
    pub account_code_pattern: Option<Pattern>,
    /// Template file name in the templates directory.
    pub template: String,
    /// Fallback GL account.
    pub default_account: String,
    /// Description of debit entries (placeholders checked).
    pub debit_description: String,
    /// Description of credit entries (placeholders checked).
    pub credit_description: String,
    /// Credit fund/org of sources without one (empty = [`DEFAULT_CLEARING_FUND_ORG`], with a
    /// warning at export and at `config check`).
    pub clearing_fund_org: String,
}

/// `statements.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementsConfig {
    /// Paper size of the default template.
    pub paper: Paper,
    /// Parallel renderers; 0 = number of CPU cores.
    pub workers: usize,
    /// `statements.branding.*`: what the default template shows of the institution.
    pub branding: Branding,
}

/// `statements.branding.*` (issue 17): the parts of a customised Python `statement.html` (logo,
/// colour, address, footer and contact text) as settings of the default Typst template, so such
/// a site needs no template of its own. Empty strings in the file mean "not set"; every field
/// unset leaves the default statement exactly as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    /// Logo image (PNG, JPEG or SVG), resolved: absolute, or found in the templates directory,
    /// else relative to the working directory; checked to exist at load.
    pub logo: Option<PathBuf>,
    /// `#rrggbb` (lower case): title, section headings and header rule.
    pub primary_color: Option<String>,
    /// Postal address under the logo, one line per line of text.
    pub organization_address: Option<String>,
    /// A line printed in the footer of every page.
    pub footer_text: Option<String>,
    /// Replaces the footer's "Questions about this statement? Contact …" sentence.
    pub contact_text: Option<String>,
}

impl Branding {
    /// True when nothing is set (the default template then draws what it always drew).
    pub fn is_empty(&self) -> bool {
        self == &Branding::default()
    }
}

impl StatementsConfig {
    /// The number of renderers to run (`workers`, or the CPU count when 0).
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

impl Config {
    /// The built-in defaults (no config file, no environment), with paths under `cwd`. Meant for
    /// tests and tools that need a config without an instance.
    pub fn defaults(cwd: &std::path::Path) -> Config {
        crate::load_str("", None, &|_| None, cwd)
            .map(|loaded| loaded.config)
            .expect("the built-in defaults are a valid config")
    }

    /// The templates directory in use: `templates_dir`, else `<instance>/templates`, else
    /// `./templates` (SPEC §8.10); `None` when none of them exists (embedded defaults only).
    /// Queried at call time because operators may add the directory later.
    pub fn effective_templates_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.templates_dir {
            return Some(dir.clone());
        }
        [
            self.instance_dir.join("templates"),
            self.working_dir.join("templates"),
        ]
        .into_iter()
        .find(|d| d.is_dir())
    }

    /// The known source with this name (case-insensitive).
    pub fn known_source(&self, name: &str) -> Option<&KnownSource> {
        self.imports.known_source(name)
    }

    /// Organisation name on PDFs and emails (`email.from_name` or its default).
    pub fn organization_name(&self) -> &str {
        self.email
            .as_ref()
            .map_or(DEFAULT_FROM_NAME, |e| e.from_name.as_str())
    }

    /// The email subject template (`email.subject_template` or its default).
    pub fn subject_template(&self) -> &str {
        self.email
            .as_ref()
            .map_or(DEFAULT_SUBJECT_TEMPLATE, |e| e.subject_template.as_str())
    }

    /// The `serve` rule of SPEC §4.4: outside dev mode the server needs a real secret
    /// (`web.secret_key` or `WEB_SECRET_KEY`, not empty, not the upstream placeholder).
    pub fn check_serve_secret(&self) -> Result<(), crate::Diagnostic> {
        let secret = self.web.secret_key.expose();
        if self.dev_mode || !(secret.is_empty() || secret == CHANGEME_SECRET) {
            return Ok(());
        }
        Err(crate::Diagnostic {
            file: self.config_path.clone(),
            line: self.web.secret_key_line,
            key: "web.secret_key".into(),
            message: "a strong random secret is required outside dev_mode (set WEB_SECRET_KEY)"
                .into(),
        })
    }

    /// Warnings shown only when `serve` starts: no config users (SPEC §4.4).
    pub fn serve_warnings(&self) -> Vec<crate::Diagnostic> {
        if !self.web.users.is_empty() {
            return vec![];
        }
        vec![crate::Diagnostic {
            file: self.config_path.clone(),
            line: None,
            key: "web.users".into(),
            message: "no users are configured; no one can log in unless database users exist"
                .into(),
        }]
    }
}
