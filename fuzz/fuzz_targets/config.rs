//! The whole config load: YAML parse (aliases, merge keys, anchors), `${ENV}` expansion with a
//! fixed environment, schema validation and the typed config. Checks: no panic, bounded time
//! (libFuzzer's -timeout catches alias bombs and deep nesting), every error names a reason and
//! a line inside the document (when it has one), a loaded config is redactable and its serve
//! check answers, and loading is deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

/// Set, empty and long variables, so that both expansion paths are taken.
fn env(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/home/fuzz".into()),
        "EMPTY" => Some(String::new()),
        "WEB_SECRET_KEY" => Some("k".repeat(40)),
        "SMTP_PASSWORD" => Some("p@ss${x}".into()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("/srv/ocb/instance/config.yaml");
    let cwd = Path::new("/srv/ocb");
    // YAML ends a line at \n, \r\n and a lone \r (a file with classic Mac line ends).
    let lines = 2 + text
        .bytes()
        .enumerate()
        .filter(|&(i, b)| b == b'\n' || (b == b'\r' && text.as_bytes().get(i + 1) != Some(&b'\n')))
        .count();
    match ocb_config::load_str(text, Some(file), &env, cwd) {
        Err(errors) => {
            assert!(!errors.0.is_empty(), "refused without a reason");
            for d in &errors.0 {
                assert!(!d.message.is_empty(), "empty message for {}", d.key);
                if let Some(line) = d.line {
                    assert!(
                        line <= lines,
                        "line {line} beyond the document ({lines}): {d}"
                    );
                }
                assert!(d.error_line().starts_with("config error: "));
            }
        }
        Ok(loaded) => {
            for d in loaded.warnings.iter().chain(&loaded.unset_env) {
                assert!(!d.message.is_empty());
            }
            let _ = loaded.config.redacted();
            let _ = loaded.config.check_serve_secret();
            let again = ocb_config::load_str(text, Some(file), &env, cwd).expect("same result");
            assert_eq!(again.warnings, loaded.warnings);
        }
    }
});
