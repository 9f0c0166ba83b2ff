//! Issue 17, item 4: `serve` takes upstream's options: `-p/--port`, `-h/--host` (so `--help` is
//! its only help flag) and `--reload`, accepted with a notice that it does nothing. `demo`,
//! which shares the listen options, keeps `-h` as help.

mod common;
#[path = "common/served.rs"]
mod served;

use common::Instance;
use served::Served;
use std::time::Duration;

/// A port nobody listens on right now (the OS picks it; released for the server to take).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[test]
fn serve_listens_where_the_short_options_say_and_reload_is_a_notice() {
    let inst = Instance::with_extra("dev_mode: true\n");
    let port = free_port();
    let p = port.to_string();
    let args = ["-p", p.as_str(), "-h", "127.0.0.1", "--reload"];
    let mut s = Served::start_with(&inst.path("config.yaml"), inst.dir.path(), &args);
    assert_eq!(s.port, port, "listening on the port given with -p");
    assert_eq!(s.get("/health").0, 200);
    let notice = s.stderr_line("--reload", Duration::from_secs(10));
    assert!(
        notice.as_deref().is_some_and(|l| l.contains("no effect")),
        "{:?}",
        s.stderr_so_far()
    );
    s.terminate();
    let status = s.wait_exit(Duration::from_secs(20)).expect("exits");
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_help_is_long_only_and_demo_keeps_short_help() {
    let bin = || assert_cmd::Command::cargo_bin("openchargeback").expect("binary");
    let out = bin().args(["serve", "--help"]).output().expect("run");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("-h, --host") && help.contains("-p, --port") && help.contains("--reload"),
        "{help}"
    );
    // `-h` wants a host: a usage error, not help.
    let out = bin().args(["serve", "-h"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = bin().args(["demo", "-h"]).output().expect("run");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--host") && help.contains("--serve"),
        "{help}"
    );
    // Not a port: a usage error naming the value, never a panic.
    let out = bin().args(["serve", "-p", "http"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("http"));
}
