//! `bench web --rows N`: the web pages under load (SPEC §15.1). Generates a period of N charges
//! over three sources (lite FOCUS CSV, a realistic spread of PIs, projects, fund/orgs and
//! services, about 3% flagged), ingests it with the real binary, starts the real server
//! in-process on loopback, and runs `--clients` concurrent keep-alive HTTP/1.1 clients for
//! `--seconds` against each page: dashboard, charges (unfiltered and each filter), a substring
//! search and the review queue. Filter values and page numbers rotate, so the figures are not
//! those of one repeated query. Every response must be 200 with the page's content.
//! This is a benchmark, not a test: its figures go to BENCHMARKS.md.

use crate::error::CliError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

const PERIOD: &str = "2025-01";
const SOURCES: [(&str, u64); 3] = [("AWS", 50), ("HPC", 30), ("Storage", 20)];

/// Writes rows `from..to` of the period (the shape of `bench ingest`'s file with more spread):
/// 3,000 projects, 1,500 PIs, 250 fund/orgs, six services; 2% on a "GPU" service (flagged by
/// the benchmark's pattern) and 1% without a project tag (flagged `missing_project_id`).
fn generate(path: &Path, from: u64, to: u64) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    f.write_all(b"BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ListCost,ContractedCost,BilledCost,EffectiveCost,ResourceId,ResourceName,ServiceName,Tags\n")?;
    let services = [
        "Amazon EC2",
        "Amazon S3",
        "HPC Cluster",
        "Research Storage - Scratch",
        "Azure Virtual Machines",
    ];
    for i in from..to {
        let project = (i * 7) % 3000;
        let list = (i * 7919) % 500_000;
        let billed = list * 85 / 100;
        let service = if i % 50 == 7 {
            "GPU Cluster"
        } else {
            services[(i % 5) as usize]
        };
        let project_tag = if i % 97 == 3 {
            String::new()
        } else {
            format!(", \"\"project_id\"\": \"\"project-{project}\"\"")
        };
        writeln!(
            f,
            "{PERIOD}-01,{PERIOD}-31,{PERIOD}-{day:02},{PERIOD}-{day:02},{}.{:02},{}.{:02},{}.{:02},{}.{:02},i-{i:012x},compute-node-{i},{service},\"{{\"\"pi_email\"\": \"\"pi{}@example.edu\"\"{project_tag}, \"\"fund_org\"\": \"\"FUND-{:04}\"\"}}\"",
            list / 100, list % 100, list / 100, list % 100, billed / 100, billed % 100, billed / 100, billed % 100,
            project % 1500,
            project % 250,
            day = i % 28 + 1,
        )?;
    }
    f.flush()
}

/// A page under load: label, the URLs it rotates through, text every answer must contain.
struct Target {
    label: &'static str,
    urls: Vec<String>,
    must_contain: &'static str,
}

fn targets() -> Vec<Target> {
    let p = format!("period={PERIOD}");
    let many = |f: &dyn Fn(u64) -> String| (0..50).map(f).collect::<Vec<_>>();
    vec![
        Target {
            label: "dashboard",
            urls: vec!["/".into()],
            must_contain: "Top PIs",
        },
        Target {
            label: "charges (period)",
            urls: many(&|n| format!("/charges?{p}&page={}", n % 20 + 1)),
            must_contain: "compute-node-",
        },
        Target {
            label: "charges source",
            urls: many(&|n| {
                format!(
                    "/charges?{p}&source={}&page={}",
                    SOURCES[(n % 3) as usize].0,
                    n % 7 + 1
                )
            }),
            must_contain: "compute-node-",
        },
        Target {
            label: "charges PI",
            urls: many(&|n| format!("/charges?{p}&pi=pi{}%40example.edu", n * 29 % 1500)),
            must_contain: "compute-node-",
        },
        Target {
            label: "charges project",
            urls: many(&|n| format!("/charges?{p}&project=project-{}", n * 59 % 3000)),
            must_contain: "compute-node-",
        },
        Target {
            label: "charges fund/org",
            urls: many(&|n| format!("/charges?{p}&fund_org=FUND-{:04}", n * 7 % 250)),
            must_contain: "compute-node-",
        },
        Target {
            label: "charges status flagged",
            urls: many(&|n| format!("/charges?{p}&status=flagged&page={}", n % 10 + 1)),
            must_contain: "compute-node-",
        },
        Target {
            label: "charges reason",
            urls: many(&|n| {
                format!(
                    "/charges?{p}&status=flagged&reason={}",
                    if n % 2 == 0 {
                        "pattern_match"
                    } else {
                        "missing_project"
                    }
                )
            }),
            must_contain: "compute-node-",
        },
        Target {
            label: "charges sort PI",
            urls: many(&|n| format!("/charges?{p}&sort=pi&page={}", n % 20 + 1)),
            must_contain: "compute-node-",
        },
        Target {
            label: "search",
            urls: many(&|n| {
                format!(
                    "/charges?{p}&q={}",
                    ["node-4242", "pi77%40", "project-123", "gpu", "i-0000000f4"][(n % 5) as usize]
                )
            }),
            must_contain: "compute-node-",
        },
        Target {
            label: "review",
            urls: many(&|n| format!("/review?{p}&page={}", n % 10 + 1)),
            must_contain: "compute-node-",
        },
    ]
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn get(
        &mut self,
        host: &str,
        path: &str,
        cookie: &str,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nAccept: text/html\r\n\r\n"
        );
        let mut out = req.as_bytes();
        while !out.is_empty() {
            self.stream.writable().await?;
            match self.stream.try_write(out) {
                Ok(n) => out = &out[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        let head_end = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_ascii_lowercase();
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        self.buf.drain(..head_end);
        let body = match len {
            Some(n) => {
                while self.buf.len() < n {
                    self.fill().await?;
                }
                self.buf.drain(..n).collect()
            }
            None if head.contains("transfer-encoding: chunked") => self.chunked().await?,
            None => return Err(std::io::Error::other("response without a length")),
        };
        Ok((status, body))
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let mut tmp = [0u8; 64 * 1024];
        let n = loop {
            self.stream.readable().await?;
            match self.stream.try_read(&mut tmp) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(())
    }

    async fn chunked(&mut self) -> std::io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break p;
                }
                self.fill().await?;
            };
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&self.buf[..line_end]).trim(), 16)
                    .map_err(|_| std::io::Error::other("bad chunk size"))?;
            self.buf.drain(..line_end + 2);
            while self.buf.len() < size + 2 {
                self.fill().await?;
            }
            body.extend(self.buf.drain(..size));
            self.buf.drain(..2);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

async fn load(
    addr: std::net::SocketAddr,
    cookie: String,
    t: &Target,
    clients: usize,
    secs: f64,
) -> Result<Vec<Duration>, CliError> {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let urls = t.urls.clone();
        let cookie = cookie.clone();
        let must = t.must_contain;
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn {
                stream: TcpStream::connect(addr).await?,
                buf: Vec::new(),
            };
            let host = addr.to_string();
            let mut lat = Vec::new();
            let mut n = c;
            while Instant::now() < deadline {
                let url = &urls[n % urls.len()];
                n += clients;
                let start = Instant::now();
                let (status, body) = conn.get(&host, url, &cookie).await?;
                lat.push(start.elapsed());
                let text = String::from_utf8_lossy(&body);
                if status != 200 || !text.contains(must) {
                    return Err(std::io::Error::other(format!(
                        "GET {url}: status {status}, {} bytes without {must:?}",
                        body.len()
                    )));
                }
            }
            Ok::<_, std::io::Error>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let lat = t
            .await
            .map_err(|e| CliError::fail("internal", e.to_string()))?
            .map_err(|e| CliError::fail("internal", format!("benchmark request failed: {e}")))?;
        all.extend(lat);
    }
    all.sort();
    Ok(all)
}

fn ingest(exe: &Path, config: &Path, csv: &Path, source: &str) -> Result<f64, CliError> {
    let start = Instant::now();
    let out = std::process::Command::new(exe)
        .args([
            "-c",
            &config.display().to_string(),
            "--no-progress",
            "-q",
            "ingest",
            &csv.display().to_string(),
            "-s",
            source,
        ])
        .output()?;
    if !out.status.success() {
        return Err(CliError::fail(
            "internal",
            format!(
                "benchmark ingest failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        ));
    }
    Ok(start.elapsed().as_secs_f64())
}

pub fn run(
    rows: u64,
    clients: usize,
    seconds: f64,
    dir: Option<PathBuf>,
    reuse: bool,
) -> Result<ExitCode, CliError> {
    let work = dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("ocb-bench-web-{}", std::process::id()))
    });
    std::fs::create_dir_all(&work)?;
    let db = work.join("billing.db");
    let config = work.join("config.yaml");
    let yaml = format!(
        "dev_mode: true\ndatabase:\n  path: {}\noutput:\n  import_dir: {}\nreview:\n  flag_patterns:\n    - GPU\nweb:\n  login_max_attempts: 5\n",
        db.display(),
        work.join("imports").display()
    );
    std::fs::write(&config, &yaml)?;
    if !(reuse && db.exists()) {
        for f in ["billing.db", "billing.db-wal", "billing.db-shm"] {
            let _ = std::fs::remove_file(work.join(f));
        }
        let exe = std::env::current_exe()?;
        let mut from = 0;
        for (source, share) in SOURCES {
            let to = from + rows * share / 100;
            let to = if source == "Storage" { rows } else { to };
            let csv = work.join(format!("{}_{PERIOD}.csv", source.to_lowercase()));
            generate(&csv, from, to)?;
            let secs = ingest(&exe, &config, &csv, source)?;
            eprintln!("ingested {} {source} rows in {secs:.2} s", to - from);
            from = to;
        }
    }
    let loaded = ocb_config::load_str(&yaml, Some(&config), &|_| None, &work)
        .map_err(|e| CliError::fail("config", e.to_string()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let state = ocb_web::prepare(loaded.config)
            .map_err(|e| CliError::fail("internal", e.to_string()))?;
        let mut store = ocb_store::Store::open(&db, ocb_store::OpenMode::Create, 5000)?;
        let user = match store.find_user("bench")? {
            Some(u) => u.id,
            None => store.create_user(
                &ocb_store::Actor::system(),
                &ocb_store::NewUser {
                    username: "bench".into(),
                    email: "bench@example.edu".into(),
                    display_name: "Bench".into(),
                    // Never used to log in: the session is created directly.
                    password_hash: "$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey"
                        .into(),
                    role: "admin".into(),
                    recovery: false,
                },
            )?,
        };
        let sid = ocb_web::security::random_token();
        store.create_session(
            user,
            &ocb_web::security::hash_id(&sid),
            &ocb_web::security::random_token(),
            8,
            None,
        )?;
        drop(store);
        let cookie = format!("{}={sid}", ocb_web::security::SESSION_COOKIE);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(ocb_web::serve(state, listener, std::future::pending()));
        println!(
            "{rows} charges in {PERIOD}; {clients} clients, {seconds} s per page, server at {addr}"
        );
        println!(
            "{:<24} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
            "page", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "first ms"
        );
        for t in targets() {
            // The first request builds what the page needs (index, sort order) once per change.
            let first = Instant::now();
            let mut conn = Conn {
                stream: TcpStream::connect(addr).await?,
                buf: Vec::new(),
            };
            let (status, _) = conn.get(&addr.to_string(), &t.urls[0], &cookie).await?;
            let first_ms = first.elapsed().as_secs_f64() * 1000.0;
            if status != 200 {
                return Err(CliError::fail(
                    "internal",
                    format!("{}: status {status}", t.urls[0]),
                ));
            }
            let lat = load(addr, cookie.clone(), &t, clients, seconds).await?;
            println!(
                "{:<24} {:>8} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>9.0}",
                t.label,
                lat.len(),
                pct(&lat, 0.50),
                pct(&lat, 0.95),
                pct(&lat, 0.99),
                pct(&lat, 1.0),
                first_ms
            );
        }
        Ok::<_, CliError>(())
    })?;
    println!("work directory: {}", work.display());
    Ok(ExitCode::SUCCESS)
}
