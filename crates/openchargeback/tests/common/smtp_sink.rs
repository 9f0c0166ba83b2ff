//! A real SMTP server on 127.0.0.1 for tests: speaks enough ESMTP for lettre (EHLO, MAIL, RCPT,
//! DATA, RSET, NOOP, QUIT), records every accepted message, and can refuse, drop or cut off
//! connections to exercise error handling. Plus a small MIME reader to inspect what arrived.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// How the server treats the next connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Accept everything.
    Accept,
    /// Close every connection right after accepting it (no greeting).
    Drop,
    /// Greet with `554` (permanent refusal).
    Reject,
    /// Accept this many more messages, then drop the connection and behave like `Drop`.
    AcceptThenDrop(usize),
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

pub struct SmtpSink {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
    pub connections: Arc<Mutex<usize>>,
}

impl SmtpSink {
    pub fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("addr").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(mode));
        let connections = Arc::new(Mutex::new(0));
        let (m, md, c) = (messages.clone(), mode.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                *c.lock().expect("lock") += 1;
                let (m, md) = (m.clone(), md.clone());
                std::thread::spawn(move || {
                    let _ = session(stream, &m, &md);
                });
            }
        });
        Self {
            port,
            messages,
            mode,
            connections,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().expect("lock") = mode;
    }

    pub fn received(&self) -> Vec<Received> {
        self.messages.lock().expect("lock").clone()
    }

    /// Config lines for this server (plain SMTP, no retries unless given).
    pub fn config(&self, max_retries: u32) -> String {
        format!(
            "smtp:\n  host: 127.0.0.1\n  port: {}\n  use_tls: false\n  timeout_seconds: 5\n  max_retries: {max_retries}\n",
            self.port
        )
    }
}

fn session(
    stream: TcpStream,
    messages: &Mutex<Vec<Received>>,
    mode: &Mutex<Mode>,
) -> std::io::Result<()> {
    let current = *mode.lock().expect("lock");
    let mut w = stream.try_clone()?;
    match current {
        Mode::Drop | Mode::AcceptThenDrop(0) => return Ok(()),
        Mode::Reject => {
            w.write_all(b"554 5.3.2 no service for you\r\n")?;
            return Ok(());
        }
        _ => {}
    }
    let mut r = BufReader::new(stream);
    w.write_all(b"220 sink.test ESMTP ready\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            w.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 52428800\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = cmd[10..].trim().to_string();
            to.clear();
            w.write_all(b"250 2.1.0 ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(cmd[8..].trim().trim_matches(['<', '>']).to_string());
            w.write_all(b"250 2.1.5 ok\r\n")?;
        } else if upper == "DATA" {
            w.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                // Dot-unstuffing (RFC 5321 4.5.2).
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            let mut m = mode.lock().expect("lock");
            if let Mode::AcceptThenDrop(n) = *m {
                if n == 0 {
                    return Ok(()); // connection cut before the reply
                }
                *m = Mode::AcceptThenDrop(n - 1);
            }
            drop(m);
            messages.lock().expect("lock").push(Received {
                from: from.clone(),
                to: to.clone(),
                data,
            });
            w.write_all(b"250 2.0.0 queued\r\n")?;
        } else if upper == "RSET" || upper == "NOOP" {
            if *mode.lock().expect("lock") == Mode::AcceptThenDrop(0) {
                return Ok(());
            }
            w.write_all(b"250 2.0.0 ok\r\n")?;
        } else if upper == "QUIT" {
            w.write_all(b"221 2.0.0 bye\r\n")?;
            return Ok(());
        } else {
            w.write_all(b"502 5.5.2 command not implemented\r\n")?;
        }
    }
}

/// A parsed MIME entity: unfolded headers (lower-case names) and body or parts.
#[derive(Debug)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub parts: Vec<Part>,
}

impl Part {
    pub fn parse(text: &str) -> Part {
        let text = text.replace("\r\n", "\n");
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for l in head.lines() {
            if l.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(l.trim());
                }
            } else if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let mut part = Part {
            headers,
            body: body.to_string(),
            parts: vec![],
        };
        let ct = part.header("content-type").unwrap_or_default().to_string();
        if ct.to_ascii_lowercase().starts_with("multipart/") {
            let boundary = ct
                .split(';')
                .find_map(|p| p.trim().strip_prefix("boundary="))
                .map(|b| b.trim_matches('"').to_string())
                .expect("multipart has a boundary");
            let delim = format!("--{boundary}");
            let mut chunks: Vec<&str> = body.split(&delim).collect();
            chunks.remove(0); // preamble
            for c in chunks {
                if c.starts_with("--") {
                    break;
                }
                part.parts
                    .push(Part::parse(c.strip_prefix('\n').unwrap_or(c)));
            }
        }
        part
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every leaf part, depth first.
    pub fn leaves(&self) -> Vec<&Part> {
        if self.parts.is_empty() {
            return vec![self];
        }
        self.parts.iter().flat_map(|p| p.leaves()).collect()
    }

    pub fn attachments(&self) -> Vec<&Part> {
        self.leaves()
            .into_iter()
            .filter(|p| {
                p.header("content-disposition")
                    .is_some_and(|d| d.starts_with("attachment"))
            })
            .collect()
    }

    pub fn filename(&self) -> Option<String> {
        let d = self.header("content-disposition")?;
        d.split(';')
            .find_map(|p| p.trim().strip_prefix("filename="))
            .map(|f| f.trim_matches('"').to_string())
    }

    /// The decoded body (base64 or as is).
    pub fn decoded(&self) -> Vec<u8> {
        match self.header("content-transfer-encoding") {
            Some(e) if e.eq_ignore_ascii_case("base64") => base64(&self.body),
            _ => self.body.clone().into_bytes(),
        }
    }
}

fn base64(text: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let digits: Vec<u32> = text.bytes().filter_map(val).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, d) in chunk.iter().enumerate() {
            n |= d << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}
