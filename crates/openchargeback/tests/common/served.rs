//! The real binary's `serve` as a child process: started on a free loopback port (the address
//! is read from its first stdout line), its stderr collected line by line, stopped by SIGTERM.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

pub struct Served {
    pub child: Child,
    pub port: u16,
    stderr: Receiver<String>,
    seen: Vec<String>,
}

impl Served {
    /// `openchargeback -c CONFIG serve --port 0`, waiting until it listens.
    pub fn start(config: &std::path::Path, dir: &std::path::Path) -> Self {
        Self::start_with(config, dir, &["--host", "127.0.0.1", "--port", "0"])
    }

    /// `openchargeback -c CONFIG serve ARGS…`, waiting until it listens.
    pub fn start_with(config: &std::path::Path, dir: &std::path::Path, args: &[&str]) -> Self {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("openchargeback"))
            .current_dir(dir)
            .arg("-c")
            .arg(config)
            .arg("serve")
            .args(args)
            .env_remove("OPENCHARGEBACK_CONFIG")
            .env_remove("FOCUS_BILLING_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let stderr = lines(child.stderr.take().expect("stderr"));
        let stdout = lines(child.stdout.take().expect("stdout"));
        let first = stdout
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("serve printed no address: {:?}", drain(&stderr)));
        let port = first
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("no port in {first:?}"));
        Self {
            child,
            port,
            stderr,
            seen: vec![],
        }
    }

    /// Waits up to `limit` for a stderr line containing `needle`.
    pub fn stderr_line(&mut self, needle: &str, limit: Duration) -> Option<String> {
        let end = Instant::now() + limit;
        loop {
            if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
                return Some(l.clone());
            }
            let left = end.checked_duration_since(Instant::now())?;
            match self.stderr.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => return None,
            }
        }
    }

    /// Everything printed on stderr so far.
    pub fn stderr_so_far(&mut self) -> Vec<String> {
        self.seen.extend(drain(&self.stderr));
        self.seen.clone()
    }

    /// `GET path` on a fresh connection; (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        let status = out
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        (status, body.to_string())
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(ok.success(), "kill -TERM failed");
    }

    /// Waits up to `limit` for the process to exit; `None` when it is still running.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(r: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn drain(rx: &Receiver<String>) -> Vec<String> {
    rx.try_iter().collect()
}
