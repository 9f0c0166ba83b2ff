//! Request security (SPEC §12.9): the session cookie, CSRF checks on every state-changing
//! request, the Origin check, and the security headers on every response.
//!
//! The middleware runs before every handler: it resolves the session (re-reading the user and
//! role), refuses a state-changing request whose CSRF token does not match with 403 before any
//! handler can change anything, and stamps the headers on the way out.

use crate::state::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ocb_config::Role;
use ocb_store::SessionUser;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

/// The session cookie (SPEC §12.9).
pub const SESSION_COOKIE: &str = "openchargeback_session";
/// Double-submit cookie protecting the login form (there is no session yet).
pub const LOGIN_CSRF_COOKIE: &str = "openchargeback_login_csrf";
/// Largest urlencoded form body read for the CSRF check.
const FORM_LIMIT: usize = 4 * 1024 * 1024;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// The logged-in user of a request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// Session and user row.
    pub session: SessionUser,
    /// Role, re-read this request.
    pub role: Role,
    /// Client address.
    pub client_ip: String,
}

impl CurrentUser {
    /// The actor recorded in audit and history rows.
    pub fn actor(&self) -> ocb_store::Actor {
        ocb_store::Actor {
            name: self.session.username.clone(),
            channel: "web".into(),
            role: Some(self.role.as_str().into()),
        }
    }
}

/// The client address (from the socket, or `X-Forwarded-For` when trusted).
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

/// 64 hex characters of OS randomness (256 bits).
pub fn random_token() -> String {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    hex::encode(buf)
}

/// What the database stores for a session id.
pub fn hash_id(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// A cookie's value from the request headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure unless dev mode.
pub fn set_cookie(name: &str, value: &str, dev_mode: bool, clear: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if !dev_mode {
        c.push_str("; Secure");
    }
    if clear {
        c.push_str("; Max-Age=0");
    }
    HeaderValue::from_str(&c).expect("cookie values are hex")
}

/// `next` when it names a page of this site, else `None` (issue 16, item 5). Only a path that
/// starts with exactly one `/` is accepted, made of visible ASCII without `\`: browsers read
/// `//host`, `/\host` and `/\t/host` (tabs and newlines are stripped) as another site, and a
/// scheme (`javascript:`, `https:`) never starts with `/`. Percent-escapes stay escapes in the
/// `Location` header, so `/%2F%2Fhost` is a path here, as the browser reads it.
pub fn local_redirect(next: &str) -> Option<&str> {
    let mut chars = next.chars();
    let first_ok = chars.next() == Some('/');
    let second_ok = !matches!(chars.next(), Some('/' | '\\'));
    let visible = next
        .bytes()
        .all(|b| (0x21..0x7f).contains(&b) && b != b'\\');
    (first_ok && second_ok && visible).then_some(next)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn client_ip(st: &AppState, req: &Request) -> String {
    if st.config.web.trust_proxy_headers {
        if let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
        {
            return ip.trim().to_string();
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "local".into())
}

fn is_state_changing(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The form field `csrf_token` of an urlencoded body.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// True when the `Origin` header is absent or names this server.
fn origin_ok(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

/// Checks the CSRF token (header, else urlencoded form field); returns the request rebuilt
/// with its body, or the refusal.
pub async fn check_csrf(req: Request, expected: &str) -> Result<Request, Response> {
    let refuse = || {
        crate::error::AppError::new(
            StatusCode::FORBIDDEN,
            "The form was not accepted (missing or invalid CSRF token). Reload the page and try again.",
        )
        .into_response()
    };
    if !origin_ok(req.headers()) {
        return Err(refuse());
    }
    if let Some(h) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return if constant_time_eq(h, expected) {
            Ok(req)
        } else {
            Err(refuse())
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refuse());
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, FORM_LIMIT).await.map_err(|_| {
        crate::error::AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.")
            .into_response()
    })?;
    match form_field(&bytes, "csrf_token") {
        Some(t) if constant_time_eq(&t, expected) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(refuse()),
    }
}

/// HSTS for a server reached over HTTPS (`web.public_url`): one year; no `includeSubDomains`,
/// since other services of the domain are not ours to decide about (issue 16, item 7).
const HSTS: &str = "max-age=31536000";

/// The headers of SPEC §12.9 (and HSTS over HTTPS); also used by the server loop for the
/// answers it makes itself.
pub(crate) fn add_headers(resp: &mut Response, authenticated: bool, https: bool) {
    let h = resp.headers_mut();
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if authenticated && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The session, CSRF and headers middleware.
pub async fn layer(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let https = st.config.web.is_https();
    let ip = client_ip(&st, &req);
    req.extensions_mut().insert(ClientIp(ip.clone()));
    // The JSON API authenticates by bearer token only (its own middleware) and ignores the
    // session cookie, so it needs no CSRF check: a browser cannot attach the token by itself.
    if path.starts_with("/static/") || path == "/health" || path.starts_with("/api/") {
        let mut resp = next.run(req).await;
        add_headers(&mut resp, false, https);
        return resp;
    }
    let mut clear_cookie = false;
    let mut user = None;
    if let Some(id) = cookie_value(req.headers(), SESSION_COOKIE) {
        let hash = hash_id(&id);
        let lifetime = st.config.web.session_lifetime_hours;
        let max_hours = st.config.web.session_max_hours;
        let looked_up = st
            .db(move |s| {
                let found = s.load_session(&hash)?;
                if let Ok(u) = &found {
                    if s.end_session_past_max(u, max_hours)? {
                        return Ok(Err(ocb_store::SessionLookup::Expired));
                    }
                    // Sliding expiry is best effort: a busy database must not fail the page.
                    if let Err(e) = s.touch_session(u, lifetime, max_hours) {
                        tracing::debug!(event = "db.busy", error = %e, "session expiry not extended");
                    }
                }
                Ok(found)
            })
            .await;
        match looked_up {
            Ok(Ok(session)) => {
                let role = Role::parse(&session.role).unwrap_or(Role::Viewer);
                user = Some(CurrentUser {
                    session,
                    role,
                    client_ip: ip.clone(),
                });
            }
            Ok(Err(_)) => clear_cookie = true,
            Err(e) => return e.into_response(),
        }
    }
    if is_state_changing(req.method()) && path != "/login" {
        if let Some(u) = &user {
            req = match check_csrf(req, &u.session.csrf_token).await {
                Ok(r) => r,
                Err(mut refused) => {
                    add_headers(&mut refused, true, https);
                    return refused;
                }
            };
        }
    }
    let authenticated = user.is_some();
    if let Some(u) = user {
        req.extensions_mut().insert(u);
    }
    let mut resp = next.run(req).await;
    add_headers(&mut resp, authenticated, https);
    // A handler that set a new session (login with a stale cookie) wins: clearing after it
    // would make the browser drop the new session too (issue 16, item 3).
    if clear_cookie && !sets_cookie(resp.headers(), SESSION_COOKIE) {
        resp.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, "", st.config.dev_mode, true),
        );
    }
    resp
}

/// True when the response already sets (or clears) the cookie `name`.
fn sets_cookie(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split_once('=').is_some_and(|(k, _)| k.trim() == name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("/")]
    #[case("/review?status=pending&q=a%20b")]
    #[case("/charges/12")]
    #[case("/%2F%2Fevil.example")]
    #[case("/a//b")]
    fn local_paths_are_accepted(#[case] next: &str) {
        assert_eq!(local_redirect(next), Some(next));
    }

    #[rstest]
    #[case("")]
    #[case("//evil.example")]
    #[case("/\\evil.example")]
    #[case("\\\\evil.example")]
    #[case("/\t/evil.example")]
    #[case("/\n/evil.example")]
    #[case("/\r/evil.example")]
    #[case("/ /evil.example")]
    #[case("/x\\@evil.example")]
    #[case("https://evil.example")]
    #[case("javascript:alert(1)")]
    #[case("evil.example")]
    #[case(" /ok")]
    #[case("/\u{3000}/evil.example")]
    #[case("/\u{2215}\u{2215}evil.example")]
    #[case("/\x00/evil.example")]
    #[case("/\x7f")]
    fn other_sites_and_odd_characters_are_refused(#[case] next: &str) {
        assert_eq!(local_redirect(next), None, "{next:?}");
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; openchargeback_session=abc; b=2"),
        );
        assert_eq!(cookie_value(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie_value(&h, "c"), None);
    }

    #[test]
    fn session_cookie_is_secure_outside_dev_mode() {
        let c = set_cookie(SESSION_COOKIE, "x", false, false);
        assert_eq!(
            c.to_str().expect("ascii"),
            "openchargeback_session=x; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        let dev = set_cookie(SESSION_COOKIE, "x", true, false);
        assert!(!dev.to_str().expect("ascii").contains("Secure"));
    }

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
