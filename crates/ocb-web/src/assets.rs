//! Static assets embedded in the binary (vendored htmx, our CSS and JS), served from `/static/`
//! under content-hashed names with a year-long cache lifetime. An operator may override a file
//! by placing one of the same name in `<templates dir>/web/static/`.

use crate::error::AppError;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

const EMBEDDED: &[(&str, &str, &[u8])] = &[
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/htmx-2.0.11.min.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/app.js"),
    ),
];

struct Asset {
    content_type: &'static str,
    body: Vec<u8>,
    hashed: String,
}

/// The asset table.
pub struct Assets {
    by_name: HashMap<&'static str, Asset>,
    by_hashed: HashMap<String, &'static str>,
}

impl Assets {
    /// Loads the embedded assets and any overrides.
    pub fn load(override_dir: Option<&std::path::Path>) -> Result<Self, AppError> {
        let mut by_name = HashMap::new();
        let mut by_hashed = HashMap::new();
        for (name, content_type, bytes) in EMBEDDED {
            let body = match override_dir.map(|d| d.join("static").join(name)) {
                Some(p) if p.is_file() => std::fs::read(&p)
                    .map_err(|e| AppError::internal(format!("reading {}: {e}", p.display())))?,
                _ => bytes.to_vec(),
            };
            let digest = hex::encode(&Sha256::digest(&body)[..6]);
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            let hashed = format!("{stem}.{digest}.{ext}");
            by_hashed.insert(hashed.clone(), *name);
            by_name.insert(
                *name,
                Asset {
                    content_type,
                    body,
                    hashed,
                },
            );
        }
        Ok(Self { by_name, by_hashed })
    }

    /// The URL of an asset (`/static/app.1a2b3c4d5e6f.css`).
    pub fn url(&self, name: &str) -> String {
        match self.by_name.get(name) {
            Some(a) => format!("/static/{}", a.hashed),
            None => format!("/static/{name}"),
        }
    }
}

/// `GET /static/{file}`: hashed names are immutable for a year; plain names revalidate.
pub async fn serve(State(st): State<crate::AppState>, Path(file): Path<String>) -> Response {
    let (name, immutable) = match st.assets.by_hashed.get(&file) {
        Some(n) => (*n, true),
        None => (file.as_str(), false),
    };
    let Some(asset) = st.assets.by_name.get(name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let mut resp = asset.body.clone().into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}
