//! Environment expansion of string values (SPEC §4.2): `${NAME}`, `${NAME:-default}` and `$${`
//! for a literal `${`. Upstream expanded `${VAR}` in five keys only; here every string value is
//! expanded, keys never are.

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

/// Expands every string value of the tree in place (keys are never expanded). Bad references
/// become errors and unset variables `unset_env` notices, both naming the key path.
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
                    for name in &out.unset {
                        let d = ctx.diag(
                            Some(line),
                            path,
                            format!("environment variable {name} is not set; using an empty value"),
                        );
                        ctx.unset_env.push(d);
                    }
                    *text = out.text;
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
