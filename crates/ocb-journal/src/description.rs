//! `journal.debit_description` / `journal.credit_description` expansion (SPEC §10.9).
//!
//! `{source}`, `{period}`, `{fund_org}`, `{pi_email}`, `{project_id}` are replaced; `{{` and `}}`
//! are literal braces. The config loader has already refused unknown placeholders and format
//! specs, so anything else is copied verbatim.

/// Values of the description placeholders for one entry.
#[derive(Debug, Clone, Copy)]
pub struct DescriptionFields<'a> {
    /// Canonical source name.
    pub source: &'a str,
    /// `YYYY-MM`.
    pub period: &'a str,
    /// The entry's fund/org.
    pub fund_org: &'a str,
    /// Shared PI email or empty.
    pub pi_email: &'a str,
    /// Shared project id or empty.
    pub project_id: &'a str,
}

/// Expands a description template.
pub fn describe(template: &str, f: &DescriptionFields<'_>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('{') {
            if let Some(end) = tail.find('}') {
                let value = match &tail[1..end] {
                    "source" => Some(f.source),
                    "period" => Some(f.period),
                    "fund_org" => Some(f.fund_org),
                    "pi_email" => Some(f.pi_email),
                    "project_id" => Some(f.project_id),
                    _ => None,
                };
                if let Some(v) = value {
                    out.push_str(v);
                    rest = &tail[end + 1..];
                    continue;
                }
            }
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_placeholders_and_literal_braces() {
        let f = DescriptionFields {
            source: "AWS",
            period: "2025-01",
            fund_org: "BIO-1",
            pi_email: "pi@x.edu",
            project_id: "p9",
        };
        assert_eq!(
            describe("{source} {period} Research Computing Charges", &f),
            "AWS 2025-01 Research Computing Charges"
        );
        assert_eq!(
            describe("{{{fund_org}}} {pi_email}/{project_id}", &f),
            "{BIO-1} pi@x.edu/p9"
        );
    }
}
