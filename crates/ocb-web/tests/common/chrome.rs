//! Chromium through chromedriver for the browser tests (shared by `browser.rs`,
//! `browser_month.rs` and `browser_ui.rs`): detection with the CI rule, driver process, webdriver session.

use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
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

/// A webdriver session on the server under test: navigation with a numbered screenshot of every
/// page, and the element helpers both browser tests use.
pub struct Run {
    pub c: Client,
    pub base: String,
    pub shots: PathBuf,
    pub n: usize,
}

// Each test crate uses its own subset of the helpers.
#[allow(dead_code)]
impl Run {
    pub async fn shot(&mut self, name: &str) {
        self.n += 1;
        // A screenshot can race a navigation the page itself starts (e.g. a dialog closing on
        // unload); chromium then reports "aborted by navigation", so take it again.
        let mut tries = 0;
        let png = loop {
            match self.c.screenshot().await {
                Ok(png) => break png,
                Err(e) if tries < 3 => {
                    tries += 1;
                    eprintln!("screenshot {name} retried: {e}");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Err(e) => panic!("screenshot {name}: {e}"),
            }
        };
        std::fs::write(self.shots.join(format!("{:02}-{name}.png", self.n)), png)
            .expect("write screenshot");
    }

    pub async fn visit(&mut self, path: &str, name: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("goto");
        self.shot(name).await;
        let src = self.c.source().await.expect("source");
        assert!(!src.contains("Internal Server Error"), "{path}");
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.c.find(Locator::Css(css)).await;
        e.unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    pub async fn click(&self, css: &str) {
        let e = self.c.find(Locator::Css(css)).await;
        e.unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let e = self.c.find(Locator::Css(css)).await;
        let e = e.unwrap_or_else(|e| panic!("{css}: {e}"));
        e.clear().await.expect("clear");
        e.send_keys(value).await.expect("type");
    }

    /// Waits until the page source contains `needle` (60 s: statements may render meanwhile).
    pub async fn wait_for(&self, needle: &str) {
        let start = Instant::now();
        loop {
            let src = self.c.source().await.expect("source");
            if src.contains(needle) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {needle:?}\n{src}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The real server on a free loopback port for a browser test; [`Served::stop`] ends it and
/// checks that it shut down cleanly.
pub struct Served {
    pub port: u16,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), ocb_web::ServeError>>,
}

impl Served {
    pub async fn start(state: ocb_web::AppState) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(ocb_web::serve(state, listener, async {
            let _ = stopped.await;
        }));
        Served { port, stop, server }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.expect("join").expect("server");
    }
}

/// An emptied folder `name` for a test's numbered screenshots, under the test target's tmp dir.
pub fn shots_dir(name: &str) -> PathBuf {
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    shots
}
