//! Upstream timestamps: naive UTC text as SQLAlchemy wrote it (`YYYY-MM-DD HH:MM:SS[.ffffff]`),
//! stored here as RFC 3339 UTC like every timestamp of ours.

use chrono::{NaiveDate, NaiveDateTime};

/// The RFC 3339 UTC form of an upstream timestamp; text that is no timestamp stays as written
/// (it still reads as what the Python project recorded).
pub(crate) fn utc(text: &str) -> String {
    let t = text.trim();
    let parsed = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S%.fZ",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .map(|d| d.and_time(chrono::NaiveTime::MIN))
    });
    match parsed {
        Some(dt) => dt.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => t.to_string(),
    }
}

/// [`utc`] of an optional value, else `fallback`.
pub(crate) fn utc_or(text: Option<&str>, fallback: &str) -> String {
    text.map_or_else(|| fallback.to_string(), utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_timestamps_become_rfc3339_utc() {
        assert_eq!(utc("2025-02-03 04:05:06.123456"), "2025-02-03T04:05:06Z");
        assert_eq!(utc("2025-02-03 04:05:06"), "2025-02-03T04:05:06Z");
        assert_eq!(utc("2025-02-03"), "2025-02-03T00:00:00Z");
        assert_eq!(utc("yesterday"), "yesterday");
        assert_eq!(utc_or(None, "x"), "x");
    }
}
