//! The enumerated config values (SPEC §4.3): each parses its config spelling and gives it back.

use std::fmt;

/// `timezone`: the zone for displaying system timestamps and naming files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeZoneSetting {
    /// The host's zone (`local`).
    #[default]
    Local,
    /// An IANA zone such as `America/Chicago`.
    Named(chrono_tz::Tz),
    /// `UTC`.
    Utc,
}

impl TimeZoneSetting {
    /// Parses `local`, `UTC` (both case-insensitive) or an IANA zone name.
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("local") {
            Some(Self::Local)
        } else if s.eq_ignore_ascii_case("utc") {
            Some(Self::Utc)
        } else {
            s.parse::<chrono_tz::Tz>().ok().map(Self::Named)
        }
    }
}

impl fmt::Display for TimeZoneSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("local"),
            Self::Named(tz) => f.write_str(tz.name()),
            Self::Utc => f.write_str("UTC"),
        }
    }
}

/// `logging.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    /// `DEBUG`.
    Debug,
    /// `INFO` (default).
    #[default]
    Info,
    /// `WARN` or `WARNING`.
    Warn,
    /// `ERROR`.
    Error,
}

impl LogLevel {
    /// Parses `DEBUG`, `INFO`, `WARN`, `WARNING`, `ERROR`, case-insensitive.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "DEBUG" => Some(Self::Debug),
            "INFO" => Some(Self::Info),
            "WARN" | "WARNING" => Some(Self::Warn),
            "ERROR" => Some(Self::Error),
            _ => None,
        }
    }

    /// Upper-case spelling (as printed in log lines).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }
}

/// `logging.format` (SPEC §13.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `key=value` lines (default).
    #[default]
    Splunk,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Parses `splunk` / `json`, case-insensitive.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "splunk" => Some(Self::Splunk),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Splunk => "splunk",
            Self::Json => "json",
        }
    }
}

/// A user's role (SPEC §12.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Role {
    /// Read-only (default for config users).
    #[default]
    Viewer,
    /// Imports, reviews, generates and sends.
    Reviewer,
    /// Everything.
    Admin,
}

impl Role {
    /// Parses `admin` / `reviewer` / `viewer`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "reviewer" => Some(Self::Reviewer),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }

    /// Config and stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Reviewer => "reviewer",
            Self::Viewer => "viewer",
        }
    }
}

/// `statements.paper`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    /// US Letter (default).
    #[default]
    UsLetter,
    /// ISO A4.
    A4,
}

impl Paper {
    /// Parses `us-letter` / `a4`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "us-letter" => Some(Self::UsLetter),
            "a4" => Some(Self::A4),
            _ => None,
        }
    }

    /// Config spelling (also given to the PDF template).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UsLetter => "us-letter",
            Self::A4 => "a4",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("local", Some("local"))]
    #[case("LOCAL", Some("local"))]
    #[case("UTC", Some("UTC"))]
    #[case("utc", Some("UTC"))]
    #[case("America/Chicago", Some("America/Chicago"))]
    #[case("Europe/Berlin", Some("Europe/Berlin"))]
    #[case("Mars/Olympus", None)]
    #[case("", None)]
    fn timezones(#[case] input: &str, #[case] shown: Option<&str>) {
        assert_eq!(
            TimeZoneSetting::parse(input)
                .map(|t| t.to_string())
                .as_deref(),
            shown
        );
    }

    #[rstest]
    #[case("debug", Some(LogLevel::Debug))]
    #[case("INFO", Some(LogLevel::Info))]
    #[case("Warning", Some(LogLevel::Warn))]
    #[case("WARN", Some(LogLevel::Warn))]
    #[case("error", Some(LogLevel::Error))]
    #[case("TRACE", None)]
    fn log_levels(#[case] input: &str, #[case] expected: Option<LogLevel>) {
        assert_eq!(LogLevel::parse(input), expected);
    }

    #[test]
    fn spellings_round_trip() {
        for r in [Role::Admin, Role::Reviewer, Role::Viewer] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for p in [Paper::UsLetter, Paper::A4] {
            assert_eq!(Paper::parse(p.as_str()), Some(p));
        }
        for f in [LogFormat::Splunk, LogFormat::Json] {
            assert_eq!(LogFormat::parse(f.as_str()), Some(f));
        }
    }
}
