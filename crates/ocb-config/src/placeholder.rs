//! `{placeholder}` templates: the email subject (SPEC §9.3) and journal descriptions (§10.9).
//!
//! Python `str.format` syntax restricted to named fields: `{name}` is replaced, `{{` and `}}` are
//! literal braces. Format specs (`{total:>10}`), conversions (`{x!r}`), unknown names and
//! unbalanced braces are rejected at startup so nothing fails at send or export time.

/// Placeholders of `email.subject_template`.
pub const SUBJECT_PLACEHOLDERS: &[&str] = &["billing_period", "pi_email", "pi_name", "total"];

/// Placeholders of `journal.debit_description` and `journal.credit_description`.
pub const JOURNAL_PLACEHOLDERS: &[&str] =
    &["source", "period", "fund_org", "pi_email", "project_id"];

enum Piece<'a> {
    Text(&'a str),
    Field(&'a str),
}

/// Splits a template into literal text and field bodies; the error describes the first problem.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(pos) = rest.find(['{', '}']) {
        out.push(Piece::Text(&rest[..pos]));
        let tail = &rest[pos..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push(Piece::Text("{"));
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            out.push(Piece::Text("}"));
            rest = after;
        } else if tail.starts_with('}') {
            return Err("single '}' is not allowed; write '}}' for a literal brace".into());
        } else {
            let after = &tail[1..];
            let end = after
                .find(['{', '}'])
                .filter(|&e| after[e..].starts_with('}'))
                .ok_or("unbalanced '{'; write '{{' for a literal brace")?;
            out.push(Piece::Field(&after[..end]));
            rest = &after[end + 1..];
        }
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Checks a template against the allowed placeholder names.
pub fn check_placeholders(template: &str, allowed: &[&str]) -> Result<(), String> {
    for piece in pieces(template)? {
        let Piece::Field(body) = piece else { continue };
        if let Some(i) = body.find([':', '!']) {
            let name = &body[..i];
            return Err(format!(
                "format specs and conversions are not supported: '{{{body}}}' (write '{{{name}}}')"
            ));
        }
        if !allowed.contains(&body) {
            let list: Vec<String> = allowed.iter().map(|a| format!("{{{a}}}")).collect();
            return Err(format!(
                "unknown placeholder '{{{body}}}'; available: {}",
                list.join(", ")
            ));
        }
    }
    Ok(())
}

/// Renders a validated template. Fields the lookup does not know, and malformed templates, are
/// left as written (validation at startup makes both impossible for configured templates).
pub fn render_placeholders(template: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let Ok(pieces) = pieces(template) else {
        return template.to_string();
    };
    let mut out = String::with_capacity(template.len());
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Field(name) => match lookup(name) {
                Some(v) => out.push_str(&v),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("Research Computing Charges - {billing_period}")]
    #[case("{pi_name} <{pi_email}>: {total}")]
    #[case("{{literal}} {billing_period}")]
    #[case("no placeholders")]
    #[case("")]
    fn accepts_valid_subjects(#[case] t: &str) {
        assert_eq!(check_placeholders(t, SUBJECT_PLACEHOLDERS), Ok(()));
    }

    #[rstest]
    #[case("{period}", "unknown placeholder '{period}'")]
    #[case("{}", "unknown placeholder '{}'")]
    #[case("{0}", "unknown placeholder '{0}'")]
    #[case(
        "{total:>10}",
        "format specs and conversions are not supported: '{total:>10}'"
    )]
    #[case("{total!r}", "format specs and conversions are not supported")]
    #[case("Charges {billing_period", "unbalanced '{'")]
    #[case("Charges {a{b}", "unbalanced '{'")]
    #[case("Charges }", "single '}'")]
    fn rejects_invalid_subjects(#[case] t: &str, #[case] expected: &str) {
        let err = check_placeholders(t, SUBJECT_PLACEHOLDERS).expect_err("invalid");
        assert!(err.starts_with(expected), "{err}");
    }

    #[test]
    fn journal_placeholders_are_separate() {
        let t = "{source} {period} {fund_org} {pi_email} {project_id}";
        assert_eq!(check_placeholders(t, JOURNAL_PLACEHOLDERS), Ok(()));
        assert!(check_placeholders("{total}", JOURNAL_PLACEHOLDERS).is_err());
    }

    #[test]
    fn renders_fields_and_literal_braces() {
        let lookup = |k: &str| match k {
            "source" => Some("AWS".to_string()),
            "period" => Some("2025-01".to_string()),
            _ => None,
        };
        assert_eq!(
            render_placeholders("{source} {period} {{x}} {other}", &lookup),
            "AWS 2025-01 {x} {other}"
        );
    }
}
