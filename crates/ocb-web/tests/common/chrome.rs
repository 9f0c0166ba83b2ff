//! Chromium through chromedriver for the browser tests (shared by `browser.rs` and
//! `browser_month.rs`): detection with the CI rule, driver process, webdriver session.

use fantoccini::{Client, ClientBuilder};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The chromedriver process, killed when dropped.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Whether chromium and chromedriver are installed. Without them the test is skipped with a
/// message on a developer machine (the README's test command must pass on a machine with only
/// the Rust toolchain) but fails under `.ci/run`, which installs them and sets
/// `OCB_REQUIRE_SYSTEM_TOOLS=1`, so CI can never pass without driving the browser.
pub fn have_browser() -> bool {
    let found = Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists();
    let required = std::env::var_os("OCB_REQUIRE_SYSTEM_TOOLS").is_some_and(|v| v == "1");
    assert!(
        found || !required,
        "browser tests need Debian's chromium and chromedriver: \
         apt-get install -y --no-install-recommends chromium chromium-driver (.ci/run installs them)"
    );
    if !found {
        eprintln!(
            "SKIPPED: {CHROMEDRIVER} or {CHROMIUM} not found \
             (apt-get install chromium chromium-driver, or run .ci/run)"
        );
    }
    found
}

pub fn start_driver() -> (Driver, u16) {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (driver, port)
}

pub async fn browser(port: u16, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("webdriver session")
}
