//! Issue 16, item 1: a user whose hash is a published example password (`admin123` of the
//! Python project's example config, and the others in `PUBLISHED_PASSWORDS`) is reported by
//! `config check` and `serve` as `published example password`; the config still loads (users
//! switching from the Python project keep their login); `config example` ships no usable
//! password; `users hash-password` refuses published passwords.

mod common;
#[path = "common/served.rs"]
mod served;

use common::Instance;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

const ADMIN123: &str = "$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey";
const WARNING: &str = "published example password";

fn with_user(hash: &str) -> Instance {
    Instance::with_extra(&format!(
        "dev_mode: true\nweb:\n  users:\n    root:\n      email: root@example.edu\n      display_name: Root\n      password_hash: '{hash}'\n      role: admin\n      recovery: true\n"
    ))
}

fn config_check(inst: &Instance) -> (i32, String) {
    let out = inst.cmd(&["config", "check"]).output().expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_check_warns_about_every_hash_of_a_published_password() {
    let other_salt = ocb_web::password::hash("password").expect("hash");
    for hash in [
        ADMIN123.to_string(),
        ADMIN123.replace("$2b$", "$2y$"),
        other_salt,
    ] {
        let inst = with_user(&hash);
        let (code, stderr) = config_check(&inst);
        assert_eq!(code, 0, "a warning, not an error: {stderr}");
        let line = stderr
            .lines()
            .find(|l| l.contains(WARNING))
            .unwrap_or_else(|| panic!("no warning for {hash}: {stderr}"));
        assert!(
            line.starts_with("config warning: ")
                && line.contains("config.yaml:")
                && line.contains("web.users.root.password_hash"),
            "names the file, line and key: {line}"
        );
    }
}

#[test]
fn config_check_is_quiet_for_an_own_password_and_warns_about_database_users() {
    let inst = with_user(&ocb_web::password::hash("Own-secret-77").expect("hash"));
    let (code, stderr) = config_check(&inst);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains(WARNING), "{stderr}");
    let mut store =
        ocb_store::Store::open(&inst.db(), ocb_store::OpenMode::Create, 5000).expect("store");
    let user = ocb_store::NewUser {
        username: "bob".into(),
        email: "bob@example.edu".into(),
        display_name: "Bob".into(),
        password_hash: ADMIN123.into(),
        role: "viewer".into(),
        recovery: false,
    };
    store
        .create_user(&ocb_store::Actor::system(), &user)
        .expect("user");
    drop(store);
    let (_, stderr) = config_check(&inst);
    assert!(
        stderr
            .lines()
            .any(|l| l.contains(WARNING) && l.contains("database user bob")),
        "{stderr}"
    );
}

#[test]
fn the_example_config_ships_no_published_password() {
    let inst = Instance::new();
    let out = inst.cmd(&["config", "example"]).output().expect("run");
    assert!(out.status.success());
    let example = String::from_utf8(out.stdout).expect("utf8");
    assert!(!example.contains(ADMIN123), "the admin123 hash is gone");
    let path = inst.path("example.yaml");
    std::fs::write(&path, &example).expect("write");
    let out = inst
        .cmd(&["config", "check"])
        .arg("-c")
        .arg(&path)
        .env("WEB_SECRET_KEY", "k".repeat(64))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains(WARNING), "{stderr}");
}

fn hash_password(input: &str) -> std::process::Output {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("openchargeback"))
        .args(["users", "hash-password"])
        .env("OPENCHARGEBACK_CONFIG", "/nonexistent/config.yaml")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    child.wait_with_output().expect("output")
}

#[test]
fn hash_password_needs_no_config_and_refuses_published_passwords() {
    let out = hash_password("admin123\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("published"));
    let out = hash_password("Own-secret-77\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hash = String::from_utf8(out.stdout).expect("utf8");
    assert!(
        ocb_web::password::verify("Own-secret-77", hash.trim()),
        "{hash}"
    );
}

#[test]
fn serve_warns_about_a_published_password_and_still_serves() {
    let inst = with_user(ADMIN123);
    let mut s = served::Served::start(&inst.path("config.yaml"), inst.dir.path());
    let line = s.stderr_line(WARNING, Duration::from_secs(30));
    assert!(
        line.as_deref()
            .is_some_and(|l| l.contains("web.users.root.password_hash")),
        "{:?}",
        s.stderr_so_far()
    );
    assert_eq!(s.get("/health").0, 200, "warned, not refused");
}
