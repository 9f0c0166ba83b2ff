//! Issue 17, item 4: `users list|add|set-password|disable|enable|delete` with the real binary.
//! The rules are the users pages' (the last enabled admin, config-managed accounts, the password
//! policy), every change is audited with the CLI actor, and passwords come from stdin when piped.

mod common;
use common::Instance;

/// The upstream example hash of "admin123".
const ADMIN123: &str = "$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey";

fn with_config_admin() -> Instance {
    Instance::with_extra(&format!(
        "web:\n  users:\n    root:\n      email: root@example.edu\n      display_name: Root\n      password_hash: '{ADMIN123}'\n      role: admin\n"
    ))
}

/// Runs `--as ops users ARGS…` with `stdin`; (exit code, stdout, stderr).
fn users(inst: &Instance, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut all = vec!["--as", "ops", "users"];
    all.extend_from_slice(args);
    let out = inst
        .cmd(&all)
        .write_stdin(stdin.to_string())
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Audit rows of `event` written by the CLI actor `ops` for `username`.
fn audited(inst: &Instance, event: &str, username: &str) -> i64 {
    inst.sql_count(&format!(
        "SELECT count(*) FROM audit_events WHERE event = '{event}' AND actor = 'ops' \
         AND channel = 'cli' AND target_id = '{username}'"
    ))
}

fn hash_of(inst: &Instance, username: &str) -> String {
    let conn = rusqlite::Connection::open(inst.db()).expect("db");
    conn.query_row(
        "SELECT password_hash FROM users WHERE username = ?1",
        [username],
        |r| r.get(0),
    )
    .expect("user")
}

#[test]
fn users_are_added_listed_changed_and_deleted_with_an_audit_trail() {
    let inst = with_config_admin();
    let (code, out, err) = users(
        &inst,
        &[
            "add",
            "ada",
            "--email",
            "ada@example.edu",
            "--role",
            "reviewer",
        ],
        "Ada-pass-123!\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("User ada created (reviewer)."), "{out}");
    assert_eq!(audited(&inst, "user.created", "ada"), 1);
    assert!(hash_of(&inst, "ada").starts_with("$2b$12$"));

    let (code, list) = inst.json(&["users", "list"]);
    assert_eq!(code, 0);
    let items = list["items"].as_array().expect("items");
    let row = |name: &str| {
        items
            .iter()
            .find(|i| i["username"] == name)
            .unwrap_or_else(|| panic!("{name} in {list}"))
            .clone()
    };
    assert_eq!(row("root")["origin"], "config");
    assert_eq!(row("ada")["origin"], "database");
    assert_eq!(row("ada")["role"], "reviewer");
    assert_eq!(row("ada")["enabled"], true);
    assert!(row("ada")["last_login"].is_null());
    let (code, table, _) = users(&inst, &["list"], "");
    assert_eq!(code, 0);
    assert!(
        table.contains("Last login") && table.contains("ada@example.edu"),
        "{table}"
    );

    let before = hash_of(&inst, "ada");
    let (code, _, err) = users(&inst, &["set-password", "ADA"], "Other-pass-456!\n");
    assert_eq!(code, 0, "{err}");
    assert_ne!(hash_of(&inst, "ada"), before);
    assert_eq!(audited(&inst, "user.password_reset", "ada"), 1);

    let (code, out, _) = users(&inst, &["disable", "ada"], "");
    assert_eq!(code, 0);
    assert!(out.contains("User ada disabled"), "{out}");
    assert_eq!(audited(&inst, "user.disabled", "ada"), 1);
    let (code, out, _) = users(&inst, &["disable", "ada"], "");
    assert_eq!((code, out.trim()), (0, "User ada was already disabled."));
    assert_eq!(users(&inst, &["enable", "ada"], "").0, 0);
    assert_eq!(audited(&inst, "user.enabled", "ada"), 1);

    let (code, out, _) = users(&inst, &["delete", "ada"], "");
    assert_eq!(code, 0);
    assert!(out.contains("User ada deleted."), "{out}");
    assert_eq!(audited(&inst, "user.deleted", "ada"), 1);
    let (code, _, err) = users(&inst, &["delete", "ada"], "");
    assert_eq!(code, 1);
    assert!(err.contains("User 'ada' not found."), "{err}");
}

#[test]
fn bad_input_is_refused_with_the_web_forms_messages() {
    let inst = with_config_admin();
    for (args, stdin, message) in [
        (
            vec!["add", "bo", "--email", "bo@example.edu"],
            "short\n",
            "Password must be at least 8 characters.",
        ),
        (
            vec!["add", "bo", "--email", "not-an-email"],
            "Good-pass-123!\n",
            "'not-an-email' is not a valid email address.",
        ),
        (
            vec!["add", "b o", "--email", "bo@example.edu"],
            "Good-pass-123!\n",
            "Usernames use letters, digits",
        ),
        (
            vec!["add", "ROOT", "--email", "r@example.edu"],
            "Good-pass-123!\n",
            "Username 'ROOT' already exists.",
        ),
        (
            vec!["add", "bo", "--email", "bo@example.edu"],
            "",
            "no input",
        ),
    ] {
        let (code, _, err) = users(&inst, &args, stdin);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // An unknown role is a usage error (exit 2), listing the roles.
    let (code, _, err) = users(
        &inst,
        &["add", "bo", "--email", "bo@example.edu", "--role", "owner"],
        "Good-pass-123!\n",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("admin") && err.contains("viewer"), "{err}");
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM users WHERE username = 'bo'"),
        0
    );
}

#[test]
fn config_users_are_changed_in_the_config_not_from_the_command_line() {
    let inst = with_config_admin();
    let before = hash_of(inst_synced(&inst), "root");
    for args in [
        vec!["disable", "root"],
        vec!["enable", "root"],
        vec!["delete", "root"],
        vec!["set-password", "root"],
    ] {
        let (code, _, err) = users(&inst, &args, "Other-pass-456!\n");
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("This account is managed in config.yaml")
                && err.contains("web.users")
                && err.contains("config.yaml; edit it there"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(
        hash_of(&inst, "root"),
        before,
        "the config hash is untouched"
    );
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM users WHERE username = 'root' AND disabled = 0"),
        1
    );
}

/// Runs one `users list` so the config users are synced into the database.
fn inst_synced(inst: &Instance) -> &Instance {
    assert_eq!(users(inst, &["list"], "").0, 0);
    inst
}

#[test]
fn the_last_enabled_admin_cannot_be_disabled_or_deleted() {
    let inst = Instance::new();
    for (name, role) in [("ada", "admin"), ("bob", "admin")] {
        let email = format!("{name}@example.edu");
        let args = ["add", name, "--email", &email, "--role", role];
        assert_eq!(users(&inst, &args, "Good-pass-123!\n").0, 0);
    }
    // Two admins: one may go.
    assert_eq!(users(&inst, &["disable", "bob"], "").0, 0);
    let (code, _, err) = users(&inst, &["disable", "ada"], "");
    assert_eq!(code, 1);
    assert!(err.contains("Cannot disable the last admin user."), "{err}");
    let (code, _, err) = users(&inst, &["delete", "ada"], "");
    assert_eq!(code, 1);
    assert!(err.contains("Cannot delete the last admin user."), "{err}");
    // A disabled admin is not protected.
    assert_eq!(users(&inst, &["delete", "bob"], "").0, 0);
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0"),
        1
    );
    assert_eq!(audited(&inst, "user.disabled", "ada"), 0);
}

#[test]
fn hash_password_reads_a_piped_password_and_needs_no_config() {
    let out = assert_cmd::Command::cargo_bin("openchargeback")
        .expect("binary")
        .args(["users", "hash-password"])
        .env("OPENCHARGEBACK_CONFIG", "/nonexistent/config.yaml")
        .write_stdin("Good-pass-123!\n")
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(hash.starts_with("$2b$12$") && hash.len() == 60, "{hash}");
    // Nothing piped: a clear error, not a hash of the empty string.
    let out = assert_cmd::Command::cargo_bin("openchargeback")
        .expect("binary")
        .args(["users", "hash-password", "--password-stdin"])
        .write_stdin("")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no input"));
}

#[test]
fn config_example_points_at_commands_that_exist() {
    let out = assert_cmd::Command::cargo_bin("openchargeback")
        .expect("binary")
        .args(["config", "example"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("openchargeback users hash-password"));
    // Every `openchargeback <group> <command>` the example mentions parses (`--help` exits 0).
    for line in text.lines().filter(|l| l.contains("openchargeback ")) {
        let words: Vec<&str> = line
            .split("openchargeback ")
            .nth(1)
            .expect("command")
            .split_whitespace()
            .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
            .take(2)
            .collect();
        let mut args = words.clone();
        args.push("--help");
        let ok = assert_cmd::Command::cargo_bin("openchargeback")
            .expect("binary")
            .args(&args)
            .output()
            .expect("run")
            .status
            .success();
        assert!(
            ok,
            "`openchargeback {}` from config example",
            words.join(" ")
        );
    }
}
