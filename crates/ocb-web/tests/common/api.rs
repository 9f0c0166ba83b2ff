//! A JSON API client for the web tests: bearer-token requests in process, JSON bodies, multipart
//! uploads of the sample files, raw bytes for file downloads, and job polling.
#![allow(dead_code)]

use crate::common::{sample, Instance};
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use ocb_store::{Actor, NewApiToken};
use serde_json::Value;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// A token stored for `user_id` as the tokens page stores it.
pub fn token_for(
    inst: &Instance,
    user_id: i64,
    read_only: bool,
    expires_at: Option<&str>,
) -> String {
    let plain = ocb_web::api::token::generate();
    let hash = ocb_web::api::token::hash(inst.state.config.web.secret_key.expose(), &plain);
    let t = NewApiToken {
        name: "test".into(),
        token_hash: hash,
        read_only,
        expires_at: expires_at.map(str::to_string),
    };
    inst.store()
        .create_api_token(&Actor::system(), user_id, &t)
        .expect("token");
    plain
}

pub struct Api<'a> {
    pub inst: &'a Instance,
    pub token: String,
}

pub fn api<'a>(inst: &'a Instance, token: &str) -> Api<'a> {
    Api {
        inst,
        token: token.to_string(),
    }
}

/// A JSON body, or the text as a JSON string when it is not JSON.
pub fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()))
}

impl Api<'_> {
    fn request(
        &self,
        method: Method,
        path: &str,
        ctype: Option<&str>,
        body: Vec<u8>,
    ) -> Request<Body> {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost");
        if !self.token.is_empty() {
            b = b.header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        }
        if let Some(c) = ctype {
            b = b.header(header::CONTENT_TYPE, c);
        }
        b.body(Body::from(body)).expect("request")
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        ctype: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, HeaderMap, String) {
        self.inst
            .send(self.request(method, path, ctype, body))
            .await
    }

    /// A request whose answer is kept as bytes (PDFs).
    pub async fn call_bytes(
        &self,
        method: Method,
        path: &str,
        ctype: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let req = self.request(method, path, ctype, body);
        let resp = self.inst.app.clone().oneshot(req).await.expect("response");
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024 * 1024)
            .await
            .expect("body");
        (status, headers, bytes.to_vec())
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, _, body) = self.call(Method::GET, path, None, vec![]).await;
        (s, parse(&body))
    }

    pub async fn post(&self, path: &str, v: Value) -> (StatusCode, Value) {
        let (s, _, body) = self
            .call(
                Method::POST,
                path,
                Some("application/json"),
                v.to_string().into_bytes(),
            )
            .await;
        (s, parse(&body))
    }

    /// A JSON post whose answer is a file: status, headers and text.
    pub async fn post_for_file(&self, path: &str, v: Value) -> (StatusCode, HeaderMap, String) {
        self.call(
            Method::POST,
            path,
            Some("application/json"),
            v.to_string().into_bytes(),
        )
        .await
    }

    /// `POST /api/v1/imports` with one sample file and text fields.
    pub async fn import(&self, file: &str, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        let bytes = std::fs::read(sample(file)).expect("sample");
        self.upload(file, bytes, fields).await
    }

    pub async fn upload(
        &self,
        file: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend(
                format!("--XB\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                    .as_bytes(),
            );
        }
        body.extend(format!("--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
        body.extend(bytes);
        body.extend(b"\r\n--XB--\r\n");
        let (s, _, text) = self
            .call(
                Method::POST,
                "/api/v1/imports",
                Some("multipart/form-data; boundary=XB"),
                body,
            )
            .await;
        (s, parse(&text))
    }

    /// Polls `GET /api/v1/jobs/{id}` until the job has ended (120 s at most: statements render
    /// meanwhile on a shared machine) and returns its last state.
    pub async fn wait_job(&self, id: i64) -> Value {
        let start = Instant::now();
        loop {
            let (s, job) = self.get(&format!("/api/v1/jobs/{id}")).await;
            assert_eq!(s, StatusCode::OK, "{job}");
            if !matches!(job["status"].as_str(), Some("queued" | "running")) {
                return job;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "job {id} still running: {job}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
