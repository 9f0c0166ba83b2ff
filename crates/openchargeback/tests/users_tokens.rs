//! `users token create|list|revoke` (SPEC §11.2, §14.5) with the real binary, and the tokens it
//! prints used against the real web server (started in process on a loopback port with the
//! same config file): accepted with the user's role, read-only limited to GET, dead once revoked.

mod common;
use common::Instance;
use std::io::{Read, Write};

/// The upstream example hash of "admin123".
const ADMIN123: &str = "$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey";

fn instance(secret: &str, dev_mode: bool) -> Instance {
    Instance::with_extra(&format!(
        "dev_mode: {dev_mode}\nweb:\n  secret_key: \"{secret}\"\n  users:\n    root:\n      email: root@example.edu\n      display_name: Root\n      password_hash: '{ADMIN123}'\n      role: admin\n"
    ))
}

/// A plain HTTP/1.1 request over loopback; returns (status, body).
fn http(port: u16, method: &str, path: &str, token: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (status, body.to_string())
}

/// Runs the web server for `inst` on a loopback port until the returned sender is dropped.
fn serve(inst: &Instance) -> (u16, std::sync::mpsc::Sender<()>) {
    let path = inst.path("config.yaml");
    let yaml = std::fs::read_to_string(&path).expect("config");
    let loaded = ocb_config::load_str(&yaml, Some(&path), &|_| None, inst.dir.path())
        .unwrap_or_else(|e| panic!("config: {e}"));
    let state = ocb_web::prepare(loaded.config).expect("prepare");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            listener.set_nonblocking(true).expect("nonblocking");
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let shutdown = async move {
                let _ = tokio::task::spawn_blocking(move || stopped.recv()).await;
            };
            ocb_web::serve(state, listener, shutdown)
                .await
                .expect("serve");
        });
    });
    (port, stop)
}

#[test]
fn tokens_made_on_the_command_line_work_against_the_server_until_revoked() {
    let inst = instance(&"s".repeat(64), false);
    // Config users are synced first, so the config admin can get a token.
    let out = inst
        .cmd(&[
            "--as", "ops", "users", "token", "create", "ROOT", "--name", "ci",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        token.starts_with("ocb_") && token.len() == 56,
        "stdout is the token alone: {token}"
    );
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(
        note.contains("API token 1 'ci' for root (admin)") && note.contains("shown only once"),
        "{note}"
    );

    let (code, ro) = inst.json(&[
        "users",
        "token",
        "create",
        "root",
        "--name",
        "reports",
        "--read-only",
        "--expires-days",
        "30",
    ]);
    assert_eq!(code, 0, "{ro}");
    assert_eq!(
        (ro["id"].as_i64(), ro["read_only"].as_bool()),
        (Some(2), Some(true)),
        "{ro}"
    );
    let expires = ro["expires_at"].as_str().expect("expiry");
    let in_30_days = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    assert!(expires.starts_with(&in_30_days), "{expires}");
    let ro_token = ro["token"].as_str().expect("token").to_string();
    // Only keyed hashes are stored.
    let db = std::fs::read(inst.db()).expect("db");
    assert!(!String::from_utf8_lossy(&db).contains(&token));
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM audit_events WHERE event = 'api_token.created' AND actor = 'ops' AND channel = 'cli'"),
        1
    );

    let (port, stop) = serve(&inst);
    let (s, me) = http(port, "GET", "/api/v1/me", &token);
    assert_eq!(s, 200, "{me}");
    assert!(
        me.contains("\"username\":\"root\"") && me.contains("\"role\":\"admin\""),
        "{me}"
    );
    assert_eq!(http(port, "GET", "/api/v1/periods", &ro_token).0, 200);
    let (s, refused) = http(port, "POST", "/api/v1/periods/2025-01/close", &ro_token);
    assert_eq!(s, 403, "{refused}");

    // Listing never shows a token; revoking kills it at once.
    let out = inst.cmd(&["users", "token", "list"]).output().expect("run");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(!table.contains(&token) && !table.contains(&ro_token));
    assert!(
        table.contains("reports") && table.contains("read-only") && table.contains("active"),
        "{table}"
    );
    let (_, list) = inst.json(&["users", "token", "list", "root"]);
    assert_eq!(
        list["tokens"].as_array().expect("tokens").len(),
        2,
        "{list}"
    );
    let out = inst
        .cmd(&["users", "token", "revoke", "1"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(http(port, "GET", "/api/v1/me", &token).0, 401);
    assert_eq!(http(port, "GET", "/api/v1/me", &ro_token).0, 200);
    let (_, list) = inst.json(&["users", "token", "list"]);
    assert_eq!(list["tokens"][1]["state"], "revoked", "{list}");
    drop(stop);

    // Refusals name the problem.
    let (code, e) = inst.json(&["users", "token", "revoke", "1"]);
    assert_eq!(
        (code, e["error"]["message"].as_str()),
        (1, Some("Token 'ci' is already revoked.")),
        "{e}"
    );
    let (code, e) = inst.json(&["users", "token", "revoke", "99"]);
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (1, Some("not_found")),
        "{e}"
    );
    let (code, e) = inst.json(&["users", "token", "create", "nobody", "--name", "x"]);
    assert_eq!(
        (code, e["error"]["message"].as_str()),
        (1, Some("User 'nobody' not found.")),
        "{e}"
    );
    let (code, e) = inst.json(&["users", "token", "create", "root", "--name", "  "]);
    assert_eq!(
        (code, e["error"]["message"].as_str()),
        (2, Some("A token name is required.")),
        "{e}"
    );
    let out = inst
        .cmd(&[
            "users",
            "token",
            "create",
            "root",
            "--name",
            "x",
            "--expires-days",
            "0",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn no_token_is_made_without_a_server_secret() {
    let inst = instance("", false);
    let (code, e) = inst.json(&["users", "token", "create", "root", "--name", "ci"]);
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (1, Some("config")),
        "{e}"
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("web.secret_key:")),
        "{e}"
    );
    assert_eq!(inst.sql_count("SELECT count(*) FROM api_tokens"), 0);
}
