//! Loading: read the file, parse YAML with lines, expand the environment, build and validate the
//! typed config, and hand back the config with its warnings, or every error at once. Loading
//! has no side effects: it never creates files or directories.

use crate::error::{ConfigErrors, Diagnostic};
use crate::locate::ConfigSource;
use crate::model::Config;
use crate::reader::{resolve, Ctx};
use crate::schema::{build, Inputs};
use crate::{env, yaml};
use std::io::Read;
use std::path::Path;

/// A loaded config with its notices.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated config.
    pub config: Config,
    /// `config warning:` lines to print (unknown keys, weak secret, …).
    pub warnings: Vec<Diagnostic>,
    /// Unset environment variables; only `serve` and `config check` show them.
    pub unset_env: Vec<Diagnostic>,
    /// Defaults in effect worth knowing about (the clearing fund/org of GL journals, an ignored
    /// `statement.html`); only `serve` and `config check` show them (issue 17).
    pub notices: Vec<Diagnostic>,
    /// True when no config file was found and built-in defaults are in use.
    pub used_defaults: bool,
}

/// Loads the config named by `source` (see [`crate::locate`]); relative paths resolve against
/// `cwd`.
pub fn load(
    source: &ConfigSource,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
) -> Result<Loaded, ConfigErrors> {
    let cwd = absolute(cwd);
    let Some(path) = &source.path else {
        let mut loaded = load_str("", None, env, &cwd)?;
        loaded.used_defaults = true;
        return Ok(loaded);
    };
    let path = resolve(&cwd, &path.to_string_lossy());
    let text = read_config_file(&path).map_err(|message| {
        ConfigErrors(vec![Diagnostic {
            file: Some(path.clone()),
            line: None,
            key: String::new(),
            message: format!("cannot read config file: {message}"),
        }])
    })?;
    load_str(&text, Some(&path), env, &cwd)
}

/// Largest config file read. A full config is a few kilobytes; the limit keeps `-c /dev/zero`
/// or a wrong multi-gigabyte file from being read into memory (issue 15).
pub(crate) const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Reads a config file: a regular file (a FIFO would block, a device never ends) of at most
/// [`MAX_CONFIG_BYTES`], in UTF-8.
fn read_config_file(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(format!(
            "larger than {} MiB; this is not a config file",
            MAX_CONFIG_BYTES >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_string())
}

/// Loads a config from YAML text, as if read from `file` (which sets the instance directory and
/// the file named in diagnostics). Useful for tests of other crates.
pub fn load_str(
    text: &str,
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
) -> Result<Loaded, ConfigErrors> {
    let cwd = absolute(cwd);
    let file = file.map(|f| resolve(&cwd, &f.to_string_lossy()));
    let mut ctx = Ctx {
        file: file.clone(),
        ..Ctx::default()
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut root = yaml::parse(text).map_err(|errors| {
        ConfigErrors(
            errors
                .into_iter()
                .map(|e| ctx.diag(Some(e.line), "", e.message))
                .collect(),
        )
    })?;
    if let Some(node) = root.as_mut() {
        env::expand_tree(node, "", env, &mut ctx);
    }
    let inputs = Inputs {
        cwd: &cwd,
        env,
        config_path: file,
    };
    let config = build(root.as_ref(), &inputs, &mut ctx);
    if !ctx.errors.is_empty() {
        return Err(ConfigErrors(ctx.errors));
    }
    Ok(Loaded {
        config,
        warnings: ctx.warnings,
        unset_env: ctx.unset_env,
        notices: ctx.notices,
        used_defaults: false,
    })
}

fn absolute(cwd: &Path) -> std::path::PathBuf {
    std::path::absolute(cwd).unwrap_or_else(|_| cwd.to_path_buf())
}
