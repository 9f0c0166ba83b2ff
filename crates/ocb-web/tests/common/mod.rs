//! Test instances for the web tests: a temp directory with a real config and SQLite database,
//! users of each role, sessions, the 2025-01 sample imports, and in-process requests.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use ocb_ingest::{Database, IngestRequest, NoProgress};
use ocb_store::{Actor, NewUser, OpenMode, Store};
use ocb_web::security::{hash_id, random_token, SESSION_COOKIE};
use ocb_web::AppState;
use std::path::{Path, PathBuf};
use tower::ServiceExt;

/// The upstream example hash of "admin123".
pub const ADMIN123: &str = "$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey";

/// The five 2025-01 sample files and their sources.
pub const JAN: [(&str, &str); 5] = [
    ("aws_2025-01.csv", "AWS"),
    ("azure_2025-01.csv", "Azure"),
    ("hpc_2025-01.csv", "HPC"),
    ("storage_2025-01.csv", "Storage"),
    ("it_storage_2025-01.csv", "IT Storage"),
];

/// The shared fixtures directory.
pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/sample")
        .join(name)
}

pub struct Instance {
    pub dir: tempfile::TempDir,
    pub state: AppState,
    pub app: Router,
}

/// A logged-in browser: session cookie and CSRF token.
#[derive(Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

fn config_yaml(dir: &Path, extra: &str) -> String {
    let d = dir.display();
    format!(
        r#"dev_mode: true
currency: "$"
database:
  path: {d}/billing.db
output:
  pdf_dir: {d}/out/pdfs
  journal_dir: {d}/out/journals
  email_dir: {d}/out/emails
  import_dir: {d}/out/imports
  backup_dir: {d}/backups
review:
  flag_patterns:
    - "gpu"
    - "Secure File"
imports:
  known_sources:
    - {{name: AWS, pattern: aws, fund_org: IT-CLOUD-AWS, account_code: "54100"}}
    - {{name: Azure, pattern: azure, fund_org: IT-CLOUD-AZURE, account_code: "54110"}}
    - {{name: HPC, pattern: hpc, fund_org: IT-HPC-SERVICES, account_code: "54200"}}
    - {{name: Storage, pattern: storage, fund_org: IT-STORAGE, account_code: "54300"}}
    - {{name: IT Storage, pattern: it_storage, fund_org: IT-SECURE-STORAGE, account_code: "54310"}}
web:
  login_max_attempts: 5
  login_lockout_minutes: 15
  users:
    root:
      email: root@example.edu
      display_name: Root Admin
      password_hash: '{ADMIN123}'
      role: admin
{extra}"#
    )
}

impl Instance {
    pub fn new() -> Self {
        Self::with_config("")
    }

    pub fn with_config(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.yaml");
        let yaml = config_yaml(dir.path(), extra);
        std::fs::write(&path, &yaml).expect("write config");
        let loaded = ocb_config::load_str(&yaml, Some(&path), &|_| None, dir.path())
            .unwrap_or_else(|e| panic!("config: {e}"));
        let state = ocb_web::prepare(loaded.config).expect("prepare");
        let app = ocb_web::router(state.clone());
        Self { dir, state, app }
    }

    /// An instance that really sends email: dev mode off, a server secret, an `email` section and
    /// the given `smtp` section (e.g. a loopback sink the test started).
    pub fn with_smtp(smtp_yaml: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.yaml");
        let extra = format!(
            "  secret_key: {}\nemail:\n  from_address: billing@example.edu\n  from_name: Research Computing Billing\n{smtp_yaml}",
            "k".repeat(64)
        );
        let yaml = config_yaml(dir.path(), &extra).replacen("dev_mode: true", "dev_mode: false", 1);
        std::fs::write(&path, &yaml).expect("write config");
        let loaded = ocb_config::load_str(&yaml, Some(&path), &|_| None, dir.path())
            .unwrap_or_else(|e| panic!("config: {e}"));
        let state = ocb_web::prepare(loaded.config).expect("prepare");
        let app = ocb_web::router(state.clone());
        Self { dir, state, app }
    }

    pub fn store(&self) -> Store {
        Store::open(&self.state.config.database.path, OpenMode::Create, 5000).expect("store")
    }

    /// A database user (cost-4 hash: tests should not spend seconds on bcrypt).
    pub fn add_user(&self, name: &str, role: &str, password: &str) -> i64 {
        let hash = bcrypt::hash(password, 4).expect("hash");
        self.store()
            .create_user(
                &Actor::system(),
                &NewUser {
                    username: name.into(),
                    email: format!("{name}@example.edu"),
                    display_name: name.into(),
                    password_hash: hash,
                    role: role.into(),
                    recovery: false,
                },
            )
            .expect("user")
    }

    /// A session for a user, created directly in the store (no bcrypt).
    pub fn session(&self, user_id: i64) -> Session {
        let id = random_token();
        let csrf = random_token();
        self.store()
            .create_session(user_id, &hash_id(&id), &csrf, 8, None)
            .expect("session");
        Session {
            cookie: format!("{SESSION_COOKIE}={id}"),
            csrf,
        }
    }

    /// Imports one sample file as the CLI would.
    pub fn import(&self, file: &Path, source: &str) {
        let mut store = self.store();
        let settings = ocb_web_settings(&self.state);
        let req = IngestRequest {
            path: file.to_path_buf(),
            filename: None,
            source: source.into(),
            expected_period: None,
            mode: None,
            dry_run: false,
            skip_invalid: false,
            actor: Actor::cli("test"),
        };
        let r = ocb_ingest::ingest(
            Database::Write(&mut store),
            &settings,
            &req,
            &mut NoProgress,
        )
        .expect("ingest");
        assert!(r.succeeded(), "{:?}", r.failure);
    }

    pub fn import_january(&self) {
        for (f, s) in JAN {
            self.import(&sample(f), s);
        }
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let resp = self.app.clone().oneshot(req).await.expect("response");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024 * 1024)
            .await
            .expect("body");
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    pub async fn get(
        &self,
        path: &str,
        s: Option<&Session>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut b = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::HOST, "localhost");
        if let Some(s) = s {
            b = b.header(header::COOKIE, &s.cookie);
        }
        self.send(b.body(Body::empty()).expect("request")).await
    }

    /// A form post; `csrf` = `Some(token)` adds the form field.
    pub async fn post(
        &self,
        path: &str,
        s: Option<&Session>,
        form: &str,
        csrf: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut body = form.to_string();
        if let Some(t) = csrf {
            if !body.is_empty() {
                body.push('&');
            }
            body.push_str(&format!("csrf_token={t}"));
        }
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, "localhost")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(s) = s {
            b = b.header(header::COOKIE, &s.cookie);
        }
        self.send(b.body(Body::from(body)).expect("request")).await
    }
}

/// The ingest settings the server uses (same builder as the import modal).
pub fn ocb_web_settings(st: &AppState) -> ocb_ingest::IngestSettings {
    let c = &st.config;
    ocb_ingest::IngestSettings {
        tag_mapping: c.tag_mapping.clone(),
        rules: c.review.rules.clone(),
        known_sources: c
            .imports
            .known_sources
            .iter()
            .map(|k| ocb_ingest::KnownSource {
                name: k.name.clone(),
                display_name: Some(k.display_name.clone()),
                import_mode: Some(k.import_mode),
            })
            .collect(),
        default_mode: c.imports.default_mode,
        import_dir: c.output.import_dir.clone(),
    }
}

/// The text of a PDF (pdftotext), or `None` when poppler is missing outside CI.
pub fn pdf_text(bytes: &[u8]) -> Option<String> {
    use std::io::Write;
    let required = std::env::var_os("OCB_REQUIRE_SYSTEM_TOOLS").is_some_and(|v| v == "1");
    let child = std::process::Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        assert!(!required, "pdftotext (poppler-utils) is required");
        eprintln!("SKIPPED PDF text check: pdftotext not installed");
        return None;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write pdf");
    let out = child.wait_with_output().expect("pdftotext");
    assert!(out.status.success(), "pdftotext failed");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}
