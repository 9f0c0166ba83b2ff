//! Issue 16, item 2: the real `serve` binary over real sockets. A client that never finishes
//! its request headers is disconnected after `web.header_read_timeout_seconds`; an idle
//! keep-alive connection after `web.idle_timeout_seconds`; a handler still waiting after
//! `web.request_timeout_seconds` answers 503; and SIGTERM with a connection open ends the
//! process within `web.shutdown_timeout_seconds` (plus one second for blocking work).

mod common;
#[path = "common/served.rs"]
mod served;

use common::Instance;
use served::Served;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn serve_with(timeouts: &str) -> (Instance, Served) {
    let inst = Instance::with_extra(&format!("dev_mode: true\nweb:\n{timeouts}"));
    let s = Served::start(&inst.path("config.yaml"), inst.dir.path());
    (inst, s)
}

/// Polls `conn` until the server closes it (EOF, reset or a refused write), at most `limit`;
/// `trickle` sends one more header byte between polls, as a slowloris client does.
fn closed_within(conn: &mut TcpStream, limit: Duration, trickle: bool) -> Option<Duration> {
    let start = Instant::now();
    conn.set_read_timeout(Some(Duration::from_millis(250)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        if trickle && conn.write_all(b"a").is_err() {
            return Some(start.elapsed());
        }
        match conn.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

fn connect(s: &Served) -> TcpStream {
    TcpStream::connect(("127.0.0.1", s.port)).expect("connect")
}

#[test]
fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let (_inst, s) = serve_with("  header_read_timeout_seconds: 2\n  idle_timeout_seconds: 600\n");
    let mut conn = connect(&s);
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .expect("write");
    let closed = closed_within(&mut conn, Duration::from_secs(15), true);
    assert!(
        closed.is_some_and(|t| t < Duration::from_secs(8)),
        "still open: {closed:?}"
    );
    assert_eq!(s.get("/health").0, 200, "the server itself carries on");
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let (_inst, s) = serve_with("  header_read_timeout_seconds: 600\n  idle_timeout_seconds: 2\n");
    let mut conn = connect(&s);
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("write");
    let mut buf = [0u8; 1024];
    let n = conn.read(&mut buf).expect("response");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    let closed = closed_within(&mut conn, Duration::from_secs(15), false);
    assert!(
        closed.is_some_and(|t| t < Duration::from_secs(8)),
        "kept open: {closed:?}"
    );
}

#[test]
fn a_request_that_takes_too_long_is_answered_503() {
    let (_inst, s) = serve_with("  request_timeout_seconds: 2\n  idle_timeout_seconds: 600\n");
    let mut conn = connect(&s);
    // The body never arrives in full, so the login handler waits for it.
    conn.write_all(
        b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusername=",
    )
    .expect("write");
    conn.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let start = Instant::now();
    let mut buf = Vec::new();
    // The server answers, then closes (the body was never read); a timeout keeps what came.
    let _ = conn.read_to_end(&mut buf);
    let head = String::from_utf8_lossy(&buf).into_owned();
    assert!(head.starts_with("HTTP/1.1 503"), "{head:?}");
    assert!(
        head.contains("web.request_timeout_seconds"),
        "says which limit: {head:?}"
    );
    assert!(
        head.to_ascii_lowercase().contains("x-frame-options: deny"),
        "{head:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn sigterm_with_an_open_connection_exits_within_the_shutdown_timeout() {
    let (_inst, mut s) = serve_with(
        "  header_read_timeout_seconds: 600\n  idle_timeout_seconds: 600\n  shutdown_timeout_seconds: 2\n",
    );
    let mut conn = connect(&s);
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .expect("write");
    // Let the server take the connection before the signal.
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    s.terminate();
    let status = s.wait_exit(Duration::from_secs(20));
    assert!(status.is_some(), "still running 20 s after SIGTERM");
    assert!(
        start.elapsed() < Duration::from_secs(2 + 1 + 4),
        "{:?}",
        start.elapsed()
    );
    assert!(status.is_some_and(|st| st.success()), "{status:?}");
}

#[test]
fn sigterm_lets_a_request_in_progress_finish() {
    let (_inst, mut s) = serve_with("  shutdown_timeout_seconds: 10\n");
    let mut conn = connect(&s);
    let body = "username=x&password=y";
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).expect("write");
    std::thread::sleep(Duration::from_millis(300));
    s.terminate();
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(body.as_bytes())
        .expect("the connection is still open");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = [0u8; 1024];
    let n = conn.read(&mut buf).unwrap_or(0);
    let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
    // The login form's token is missing: refused, but answered.
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer:?}");
    assert!(s
        .wait_exit(Duration::from_secs(10))
        .is_some_and(|st| st.success()));
}

#[test]
fn a_hundred_unfinished_requests_neither_block_the_server_nor_stay_open() {
    let (_inst, s) = serve_with("  header_read_timeout_seconds: 2\n  idle_timeout_seconds: 600\n");
    let mut conns: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut c = connect(&s);
            c.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
                .expect("write");
            c
        })
        .collect();
    assert_eq!(s.get("/health").0, 200, "others are still served");
    std::thread::sleep(Duration::from_secs(3));
    for (i, c) in conns.iter_mut().enumerate() {
        let closed = closed_within(c, Duration::from_secs(5), false);
        assert!(closed.is_some(), "connection {i} still open");
    }
}
