//! Finding the config file (SPEC §4.1): `--config`, `OPENCHARGEBACK_CONFIG`,
//! `FOCUS_BILLING_CONFIG` (upstream's name), then `./instance/config.yaml`. An explicitly named
//! file must exist; upstream silently fell back to defaults, which hid typos.

use crate::error::{ConfigError, Result};
use crate::reader::resolve;
use std::path::{Path, PathBuf};

/// Where the config comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSource {
    /// The file, absolute; `None` means built-in defaults.
    pub path: Option<PathBuf>,
    /// True when named by the option or an environment variable.
    pub explicit: bool,
}

/// Environment variables naming the config file, in order.
pub const CONFIG_ENV_VARS: [&str; 2] = ["OPENCHARGEBACK_CONFIG", "FOCUS_BILLING_CONFIG"];

/// Resolves the config file. Empty environment values count as unset. Relative paths resolve
/// against `cwd`. Only reads the file system.
pub fn locate(
    cli: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
) -> Result<ConfigSource> {
    let explicit = cli.map(Path::to_path_buf).or_else(|| {
        CONFIG_ENV_VARS
            .iter()
            .find_map(|name| env(name).filter(|v| !v.is_empty()).map(PathBuf::from))
    });
    if let Some(path) = explicit {
        let path = resolve(cwd, &path.to_string_lossy());
        if !path.exists() {
            return Err(ConfigError::NotFound(path));
        }
        return Ok(ConfigSource {
            path: Some(path),
            explicit: true,
        });
    }
    let default = cwd.join("instance").join("config.yaml");
    Ok(ConfigSource {
        path: default.is_file().then_some(default),
        explicit: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_string())
        }
    }

    fn setup() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir(dir.path().join("instance")).expect("mkdir");
        for f in ["instance/config.yaml", "a.yaml", "b.yaml", "c.yaml"] {
            fs::write(dir.path().join(f), "").expect("write");
        }
        dir
    }

    #[test]
    fn resolution_order() {
        let dir = setup();
        let cwd = dir.path();
        let both = env_of(&[
            ("OPENCHARGEBACK_CONFIG", "b.yaml"),
            ("FOCUS_BILLING_CONFIG", "c.yaml"),
        ]);
        let src = locate(Some(Path::new("a.yaml")), &both, cwd).expect("found");
        assert_eq!(
            src,
            ConfigSource {
                path: Some(cwd.join("a.yaml")),
                explicit: true
            }
        );
        let src = locate(None, &both, cwd).expect("found");
        assert_eq!(src.path, Some(cwd.join("b.yaml")));
        let upstream = env_of(&[
            ("OPENCHARGEBACK_CONFIG", ""),
            ("FOCUS_BILLING_CONFIG", "c.yaml"),
        ]);
        let src = locate(None, &upstream, cwd).expect("found");
        assert_eq!(src.path, Some(cwd.join("c.yaml")));
        let src = locate(None, &env_of(&[]), cwd).expect("found");
        assert_eq!(
            src,
            ConfigSource {
                path: Some(cwd.join("instance/config.yaml")),
                explicit: false
            }
        );
    }

    #[test]
    fn defaults_when_nothing_exists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = locate(None, &env_of(&[]), dir.path()).expect("defaults");
        assert_eq!(
            src,
            ConfigSource {
                path: None,
                explicit: false
            }
        );
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let dir = setup();
        let err =
            locate(Some(Path::new("nope.yaml")), &env_of(&[]), dir.path()).expect_err("missing");
        assert_eq!(
            err.to_string(),
            format!(
                "config file not found: {}",
                dir.path().join("nope.yaml").display()
            )
        );
        let env = env_of(&[("FOCUS_BILLING_CONFIG", "/definitely/not/here.yaml")]);
        let err = locate(None, &env, dir.path()).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "config file not found: /definitely/not/here.yaml"
        );
    }
}
