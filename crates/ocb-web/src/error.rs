//! One error type for handlers. It carries a status and a message that is safe to show; the
//! cause goes to the log only (STYLE §3: never echo internal error text to the browser).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ocb_store::StoreError;

/// A handler failure: status plus a user-safe message.
#[derive(Debug)]
pub struct AppError {
    /// HTTP status.
    pub status: StatusCode,
    /// Shown to the user (escaped).
    pub message: String,
    /// Render as an htmx fragment instead of a page.
    pub fragment: bool,
}

impl AppError {
    /// A status with a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            fragment: false,
        }
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 403.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "You do not have permission to do that.",
        )
    }

    /// 500; the detail is logged, the user sees a generic sentence.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(event = "http.error", error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on the server; the error was logged.",
        )
    }

    /// Renders as an htmx fragment.
    pub fn as_fragment(mut self) -> Self {
        self.fragment = true;
        self
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => Self::not_found(m),
            StoreError::Refused(m) => Self::new(StatusCode::CONFLICT, m),
            e @ StoreError::AmountOutOfRange { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            StoreError::Busy => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is busy; try again in a moment.",
            ),
            other => Self::internal(other),
        }
    }
}

impl From<minijinja::Error> for AppError {
    fn from(e: minijinja::Error) -> Self {
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            detail.push_str(&format!(": {s}"));
            source = s.source();
        }
        Self::internal(format!("template: {detail}"))
    }
}

/// A flash message as an htmx fragment, with the same markup as the flash messages base.html
/// renders (level label, dismiss button, `role=alert` for warnings and errors): a refused row
/// action showed a bare box without either (issue 16, item 14).
pub fn flash_fragment(level: &str, message: &str) -> String {
    let (label, role) = match level {
        "success" => ("Success", "status"),
        "info" => ("Info", "status"),
        "warning" => ("Warning", "alert"),
        _ => ("Error", "alert"),
    };
    let level = if role == "alert" && level != "warning" {
        "error"
    } else {
        level
    };
    format!(
        "<div class=\"flash flash-{level}\" role=\"{role}\"><span class=\"flash-level\">{label}:</span> {}\
         <button type=\"button\" class=\"dismiss\" aria-label=\"Dismiss\" data-dismiss>×</button></div>",
        escape(message)
    )
}

/// Escapes text for HTML (used where no template is available, e.g. error pages).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2f;"),
            c => out.push(c),
        }
    }
    out
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let msg = escape(&self.message);
        let body = if self.fragment {
            flash_fragment("error", &self.message)
        } else {
            format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
                 <link rel=\"stylesheet\" href=\"/static/app.css\"></head><body class=\"error-page\"><main class=\"narrow\">\
                 <h1>{} {title}</h1><p class=\"error-message\">{msg}</p><p><a href=\"/\">Back to the dashboard</a></p></main></body></html>",
                self.status.as_u16()
            )
        };
        let mut resp = (self.status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_fragments_carry_level_label_and_dismiss_button() {
        let f = flash_fragment("warning", "Charge <b> is not in the review queue.");
        assert!(f.starts_with("<div class=\"flash flash-warning\" role=\"alert\">"));
        assert!(f.contains("<span class=\"flash-level\">Warning:</span> Charge &lt;b&gt;"));
        assert!(f.contains("data-dismiss"));
        let f = flash_fragment("bogus", "x");
        assert!(f.contains("flash-error") && f.contains("Error:"), "{f}");
    }

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"
        );
    }
}
