//! Application log (SPEC §13.2): `splunk` key=value or `json` lines on stderr and, when
//! configured, in `logging.file`. CLI commands log WARN and above unless `-v`.

use crate::cli::Global;
use ocb_config::{Config, LogFormat, LogLevel};
use std::fmt::Write as _;
use std::io::Write;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

struct Fields(Vec<(String, String)>, Option<String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.push(field, format!("{value:?}"));
    }
}

impl Fields {
    fn push(&mut self, field: &Field, v: String) {
        match field.name() {
            "event" => self.1 = Some(v),
            "message" => self.0.push(("message".into(), v)),
            n => self.0.push((n.to_string(), v)),
        }
    }
}

struct LineLayer {
    format: LogFormat,
    stderr_level: Level,
    file_level: Level,
    file: Option<std::sync::Mutex<std::fs::File>>,
    audit_enabled: bool,
}

fn splunk_value(v: &str) -> String {
    if v.is_empty() || v.contains([' ', '"', '=']) || v.contains('\\') {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

impl<S: Subscriber> Layer<S> for LineLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        if meta.target() == "audit" && !self.audit_enabled {
            return;
        }
        let level = *meta.level();
        let to_stderr = level <= self.stderr_level;
        let to_file = self.file.is_some() && level <= self.file_level;
        if !to_stderr && !to_file {
            return;
        }
        let mut f = Fields(vec![], None);
        event.record(&mut f);
        let name = f.1.clone().unwrap_or_else(|| meta.target().to_string());
        let mut fields = f.0;
        fields.sort();
        let now = chrono::Utc::now();
        let line = match self.format {
            LogFormat::Splunk => {
                let mut s = format!(
                    "{} {:<5} {name}",
                    now.format("%Y-%m-%dT%H:%M:%SZ"),
                    level.as_str()
                );
                for (k, v) in &fields {
                    let _ = write!(s, " {k}={}", splunk_value(v));
                }
                s
            }
            LogFormat::Json => {
                let mut m = serde_json::Map::new();
                m.insert(
                    "timestamp".into(),
                    now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        .into(),
                );
                m.insert("level".into(), level.as_str().into());
                m.insert("event".into(), name.into());
                for (k, v) in fields {
                    m.insert(k, v.into());
                }
                serde_json::Value::Object(m).to_string()
            }
        };
        if to_stderr {
            eprintln!("{line}");
        }
        if let (true, Some(file)) = (to_file, &self.file) {
            if let Ok(mut fh) = file.lock() {
                let _ = writeln!(fh, "{line}");
            }
        }
    }
}

fn level_of(l: LogLevel) -> Level {
    match l {
        LogLevel::Debug => Level::DEBUG,
        LogLevel::Info => Level::INFO,
        LogLevel::Warn => Level::WARN,
        LogLevel::Error => Level::ERROR,
    }
}

/// Installs the subscriber once per process.
pub fn init(config: &Config, global: &Global) {
    let stderr_level = match (global.quiet, global.verbose) {
        (true, _) => Level::ERROR,
        (_, 0) => Level::WARN,
        (_, 1) => Level::INFO,
        _ => Level::DEBUG,
    };
    let file = config.logging.file.as_ref().and_then(|p| {
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
            .map(std::sync::Mutex::new)
    });
    let layer = LineLayer {
        format: config.logging.format,
        stderr_level,
        file_level: level_of(config.logging.level),
        file,
        audit_enabled: config.logging.enabled,
    };
    let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
}
