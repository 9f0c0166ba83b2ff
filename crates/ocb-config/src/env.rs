//! Environment expansion of string values (SPEC §4.2): `${NAME}`, `${NAME:-default}` and `$${`
//! for a literal `${`. Upstream expanded `${VAR}` in six credential keys only; here every string
//! value is expanded, keys never are.
//!
//! An unset variable without a default is a config error (issue 15): `database.path:
//! ${DATA}/billing.db` with `DATA` unset must not quietly become `/billing.db`. The exception
//! is a credential (see [`unset_means_not_configured`]): upstream turned an unset `${VAR}` there
//! into "", which means "not configured", and its example config writes `${SMTP_PASSWORD}` and
//! `${WEB_SECRET_KEY}`, so those stay empty with a warning that `config check` and `serve` show
//! (cron runs of other commands, which lack those secrets, keep working).

/// The result of expanding one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expanded {
    /// The expanded text.
    pub text: String,
    /// Variables referenced without a default that are not set (replaced by "").
    pub unset: Vec<String>,
}

/// Expands `${…}` references in `input` using `env`. The error message names the bad reference.
pub(crate) fn expand(
    input: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Expanded, String> {
    let mut text = String::with_capacity(input.len());
    let mut unset = Vec::new();
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        text.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(after) = tail.strip_prefix("$${") {
            text.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after
                .find('}')
                .ok_or("unterminated '${' (missing '}'); write '$${' for a literal '${'")?;
            let inner = &after[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            if !is_valid_name(name) {
                return Err(format!(
                    "invalid environment reference '${{{inner}}}': use ${{NAME}} or \
                     ${{NAME:-default}} with NAME matching [A-Za-z_][A-Za-z0-9_]*"
                ));
            }
            match (env(name), default) {
                (Some(v), None) => text.push_str(&v),
                (Some(v), Some(_)) if !v.is_empty() => text.push_str(&v),
                (_, Some(d)) => text.push_str(d),
                (None, None) => unset.push(name.to_string()),
            }
            rest = &after[end + 1..];
        } else {
            text.push('$');
            rest = &tail[1..];
        }
    }
    text.push_str(rest);
    Ok(Expanded { text, unset })
}

fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Credentials may reference unset variables: the value is then empty, meaning "not configured",
/// as upstream did (`smtp.username`, `smtp.password`, `web.secret_key`, and everything under
/// `sources`, which only API-based collection reads).
pub(crate) fn unset_means_not_configured(path: &str) -> bool {
    matches!(path, "smtp.username" | "smtp.password" | "web.secret_key")
        || path.starts_with("sources.")
}

/// Expands every string value of the tree in place (keys are never expanded). Bad references
/// and unset variables are errors naming the key path, except unset credentials, which become
/// `unset_env` notices.
pub(crate) fn expand_tree(
    node: &mut crate::yaml::Node,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    ctx: &mut crate::reader::Ctx,
) {
    use crate::yaml::Kind;
    let line = node.line;
    match &mut node.kind {
        Kind::Null => {}
        Kind::Scalar(text) => {
            if !text.contains('$') {
                return;
            }
            match expand(text, env) {
                Ok(out) => {
                    let errors = ctx.errors.len();
                    for name in &out.unset {
                        report_unset(ctx, line, path, name);
                    }
                    // A refused value keeps its text, so it raises no second error ("must not
                    // be empty") on top of the unset variable.
                    if ctx.errors.len() == errors {
                        *text = out.text;
                    }
                }
                Err(message) => ctx.error(Some(line), path, message),
            }
        }
        Kind::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_tree(item, &format!("{path}[{i}]"), env, ctx);
            }
        }
        Kind::Map(entries) => {
            for e in entries {
                let key = crate::reader::join(path, &e.key);
                expand_tree(&mut e.value, &key, env, ctx);
            }
        }
    }
}

fn report_unset(ctx: &mut crate::reader::Ctx, line: usize, path: &str, name: &str) {
    if unset_means_not_configured(path) {
        let message = format!("environment variable {name} is not set; using an empty value");
        let d = ctx.diag(Some(line), path, message);
        ctx.unset_env.push(d);
    } else {
        let message = format!(
            "environment variable {name} is not set (set it, or write ${{{name}:-default}} for \
             a fallback)"
        );
        ctx.error(Some(line), path, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("mail.example.edu".into()),
            "EMPTY" => Some(String::new()),
            "_X1" => Some("x".into()),
            _ => None,
        }
    }

    #[rstest]
    #[case("plain", "plain", &[])]
    #[case("${HOST}", "mail.example.edu", &[])]
    #[case("smtp://${HOST}:25", "smtp://mail.example.edu:25", &[])]
    #[case("${MISSING}", "", &["MISSING"])]
    #[case("${EMPTY}", "", &[])]
    #[case("${MISSING:-fallback}", "fallback", &[])]
    #[case("${EMPTY:-fallback}", "fallback", &[])]
    #[case("${HOST:-fallback}", "mail.example.edu", &[])]
    #[case("${MISSING:-}", "", &[])]
    #[case("${MISSING:-a:-b c$}", "a:-b c$", &[])]
    #[case("$${HOST}", "${HOST}", &[])]
    #[case("$$${HOST}", "$${HOST}", &[])]
    #[case("$2b$12$abc", "$2b$12$abc", &[])]
    #[case("cost $5", "cost $5", &[])]
    #[case("${_X1}${_X1}", "xx", &[])]
    #[case("${A}${B}", "", &["A", "B"])]
    fn expands(#[case] input: &str, #[case] expected: &str, #[case] unset: &[&str]) {
        let out = expand(input, &env).expect("valid");
        assert_eq!(out.text, expected);
        assert_eq!(out.unset, unset);
    }

    #[rstest]
    #[case("${1X}", "invalid environment reference '${1X}'")]
    #[case("${}", "invalid environment reference '${}'")]
    #[case("${A-B}", "invalid environment reference '${A-B}'")]
    #[case("${A:=b}", "invalid environment reference '${A:=b}'")]
    #[case("${ HOST }", "invalid environment reference '${ HOST }'")]
    #[case("x${HOST", "unterminated '${'")]
    fn rejects_bad_references(#[case] input: &str, #[case] expected: &str) {
        let err = expand(input, &env).expect_err("invalid");
        assert!(err.starts_with(expected), "{err}");
    }
}
