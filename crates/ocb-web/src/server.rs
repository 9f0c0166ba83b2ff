//! The HTTP/1.1 server loop (issue 16, item 2): axum's `serve` waits for a client forever, so a
//! client that never finished its request headers kept its connection (one was seen open for
//! 19 minutes), and with one such connection open SIGTERM closed the listener but the process
//! never exited. Here every connection has limits (`web.*_timeout_seconds`):
//!
//! * **header read**: the request headers must arrive within this time (hyper's own timer);
//! * **request**: a handler must produce its response within this time (`request_timeout`);
//! * **idle**: a connection with no request in progress and no bytes moving either way is
//!   closed (keep-alive connections between requests, clients that stop reading a response);
//! * **shutdown**: after the shutdown signal the listener closes, idle connections close at
//!   once, in-flight requests get this long, and then every connection is dropped.

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

/// The connection limits, from `web.*_timeout_seconds`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to receive a request's headers.
    pub header_read: Duration,
    /// Time from a request's headers to its response.
    pub request: Duration,
    /// A connection without a request in progress and without traffic is closed after this.
    pub idle: Duration,
    /// How long in-flight requests may run after the shutdown signal.
    pub shutdown: Duration,
    /// Served over HTTPS (`web.public_url`): the server's own answers carry HSTS too.
    pub https: bool,
}

impl Limits {
    /// The limits configured under `web.`.
    pub fn of(web: &ocb_config::WebConfig) -> Self {
        let t = &web.timeouts;
        let secs = |s: u32| Duration::from_secs(u64::from(s));
        Self {
            https: web.is_https(),
            header_read: secs(t.header_read_seconds),
            request: secs(t.request_seconds),
            idle: secs(t.idle_seconds),
            shutdown: secs(t.shutdown_seconds),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains within `limits.shutdown`.
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = app.layer(axum::middleware::from_fn(move |req, next| {
        request_timeout(limits, req, next)
    }));
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    connections.spawn(connection(stream, addr, app.clone(), limits, stopped.clone()));
                }
                Err(e) => accept_failed(&e).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    // Receivers only fail once every connection is gone: nothing left to tell.
    let _ = stop.send(true);
    drain(connections, limits.shutdown).await;
    Ok(())
}

/// Waits for the connections to finish, at most `limit`; the rest are dropped.
async fn drain(mut connections: JoinSet<()>, limit: Duration) {
    let finished = tokio::time::timeout(limit, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            event = "server.stopped",
            open = connections.len(),
            "connections still open after the shutdown timeout were closed"
        );
        connections.abort_all();
    }
}

/// A failed `accept` (e.g. out of file descriptors) must not end the server; a short pause
/// keeps it from spinning while the condition lasts (as axum's own loop does).
async fn accept_failed(e: &io::Error) {
    tracing::warn!(event = "server.accept_failed", error = %e, "could not accept a connection");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// One connection: HTTP/1.1 with the header-read timer, closed when idle, asked to finish its
/// current request and close when the server stops.
async fn connection(
    stream: TcpStream,
    addr: SocketAddr,
    app: Router,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) {
    let activity = Activity::new();
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let busy = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(addr));
        let in_flight = busy.start_request();
        let app = app.clone();
        async move {
            let response = app.oneshot(req.map(Body::new)).await;
            drop(in_flight);
            response
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(event = "http.connection", client = %addr, error = %e, "connection ended");
                }
                return;
            }
            _ = stopped.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            () = activity.idle_for(limits.idle) => {
                tracing::debug!(event = "http.connection", client = %addr, "idle connection closed");
                return;
            }
        }
    }
}

/// The request limit: a handler that has not answered in time is dropped and the client told.
/// It wraps the whole router, so that reading a form body for the CSRF check is limited too.
async fn request_timeout(limits: Limits, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let limit = limits.request;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(event = "http.request_timeout", path = %path, seconds = limit.as_secs(), "request stopped");
            let message = format!(
                "This request took longer than {} seconds (web.request_timeout_seconds) and was stopped.",
                limit.as_secs()
            );
            let mut r = crate::error::AppError::new(StatusCode::SERVICE_UNAVAILABLE, message)
                .into_response();
            crate::security::add_headers(&mut r, false, limits.https);
            r
        }
    }
}

/// When the connection last moved a byte, and how many requests are in progress on it.
#[derive(Clone)]
struct Activity(Arc<ActivityState>);

struct ActivityState {
    started: Instant,
    last_ms: AtomicU64,
    requests: AtomicUsize,
}

/// Marks a request in progress until dropped.
struct InFlight(Activity);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0 .0.requests.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

impl Activity {
    fn new() -> Self {
        Self(Arc::new(ActivityState {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
            requests: AtomicUsize::new(0),
        }))
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.0.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn touch(&self) {
        self.0.last_ms.store(self.elapsed_ms(), Ordering::Relaxed);
    }

    fn start_request(&self) -> InFlight {
        self.0.requests.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Completes once no request has been in progress and no byte has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        loop {
            let quiet = self
                .elapsed_ms()
                .saturating_sub(self.0.last_ms.load(Ordering::Relaxed));
            let busy = self.0.requests.load(Ordering::Relaxed) > 0;
            if !busy && quiet >= limit_ms {
                return;
            }
            let wait = if busy { limit_ms } else { limit_ms - quiet };
            tokio::time::sleep(Duration::from_millis(wait.max(1))).await;
        }
    }
}

/// The socket, noting every byte read or written in its [`Activity`].
struct Tracked {
    inner: TcpStream,
    activity: Activity,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_is_idle_only_without_requests_and_traffic() {
        let a = Activity::new();
        let limit = Duration::from_millis(200);
        let request = a.start_request();
        let idle = tokio::time::timeout(Duration::from_millis(800), a.idle_for(limit)).await;
        assert!(idle.is_err(), "a request in progress is not idle");
        drop(request);
        let start = Instant::now();
        a.idle_for(limit).await;
        assert!(
            start.elapsed() >= limit,
            "the end of a request counts as activity"
        );
    }
}
