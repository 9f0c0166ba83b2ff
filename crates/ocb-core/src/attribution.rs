//! Attribution: which PI, project and fund/org a charge belongs to, from its tags (SPEC §5.3).

use crate::date::parse_focus_date;
use crate::tags::{has_provider_keys, lookup, lookup_provider};
use chrono::NaiveDate;
use serde_json::{Map, Value};

/// Candidate tag keys for each attributed field (config `tag_mapping`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagMapping {
    /// PI email keys.
    pub pi_email: Vec<String>,
    /// Project keys.
    pub project_id: Vec<String>,
    /// Fund/org keys.
    pub fund_org: Vec<String>,
    /// Cost center keys.
    pub cost_center: Vec<String>,
    /// GL account keys.
    pub account_code: Vec<String>,
    /// Free reference 1.
    pub reference_1: Vec<String>,
    /// Free reference 2.
    pub reference_2: Vec<String>,
    /// Project end date keys.
    pub end_date: Vec<String>,
    /// Reconciliation end keys.
    pub reconciliation_end: Vec<String>,
    /// PI display name keys.
    pub pi_name: Vec<String>,
}

fn keys(k: &[&str]) -> Vec<String> {
    k.iter().map(|s| (*s).to_string()).collect()
}

impl Default for TagMapping {
    fn default() -> Self {
        Self {
            pi_email: keys(&["pi_email"]),
            project_id: keys(&["project_id", "project"]),
            fund_org: keys(&["fund_org"]),
            cost_center: keys(&["cost_center"]),
            account_code: keys(&["account_code"]),
            reference_1: vec![],
            reference_2: vec![],
            end_date: keys(&["end_date"]),
            reconciliation_end: keys(&["reconciliation_end"]),
            pi_name: keys(&["pi_name"]),
        }
    }
}

/// The attributed fields of one charge, from its tags.
///
/// Aligned to a cache line because ingest shares one between the rows with the same tags
/// (`Arc`): the reader thread writes the reference counts for every row while the writer thread
/// reads the fields, which must not share the counts' line (see `SharedText`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[repr(align(64))]
pub struct Attribution {
    /// Lower-cased when valid; stored trimmed as written when invalid.
    pub pi_email: Option<String>,
    /// Project id.
    pub project_id: Option<String>,
    /// Fund/org.
    pub fund_org: Option<String>,
    /// Cost center.
    pub cost_center: Option<String>,
    /// GL account from the charge's tag.
    pub account_code: Option<String>,
    /// Reference 1.
    pub reference_1: Option<String>,
    /// Reference 2.
    pub reference_2: Option<String>,
    /// PI display name.
    pub pi_name: Option<String>,
    /// Project end date.
    pub end_date: Option<NaiveDate>,
    /// Last date for late charges.
    pub reconciliation_end: Option<NaiveDate>,
    /// Tag date values that did not parse: (field, value) → warning `W_TAG_DATE`.
    pub bad_dates: Vec<(&'static str, String)>,
}

/// Attributes a charge from its tag object (or none).
pub fn attribute(tags: Option<&Map<String, Value>>, mapping: &TagMapping) -> Attribution {
    let Some(tags) = tags else {
        return Attribution::default();
    };
    // Configured keys first; provider spellings (AWS `user:` tags, Azure `PI Email`) only when
    // none of them yields a value and the object has such keys (INTEGRATIONS.md §3.1).
    let provider = has_provider_keys(tags);
    let get = |k: &[String]| {
        lookup(tags, k).or_else(|| provider.then(|| lookup_provider(tags, k)).flatten())
    };
    let mut bad_dates = Vec::new();
    let mut date = |field: &'static str, k: &[String]| {
        let text = get(k)?;
        match parse_focus_date(&text, true) {
            Some(d) => Some(d.date()),
            None => {
                bad_dates.push((field, text));
                None
            }
        }
    };
    let end_date = date("end_date", &mapping.end_date);
    let reconciliation_end = date("reconciliation_end", &mapping.reconciliation_end);
    let pi_email = get(&mapping.pi_email).map(|e| {
        if is_valid_email(&e) {
            e.to_lowercase()
        } else {
            e
        }
    });
    Attribution {
        pi_email,
        project_id: get(&mapping.project_id),
        fund_org: get(&mapping.fund_org),
        cost_center: get(&mapping.cost_center),
        account_code: get(&mapping.account_code),
        reference_1: get(&mapping.reference_1),
        reference_2: get(&mapping.reference_2),
        pi_name: get(&mapping.pi_name),
        end_date,
        reconciliation_end,
        bad_dates,
    }
}

/// SPEC §5.4 rule 3, tightened by issue 16 (item 6): at most 254 characters, one `@`, a local
/// part of RFC 5322 atom characters and dots, and a domain of at least two non-empty labels of
/// letters, digits and `-`. Characters beyond ASCII are allowed on both sides (RFC 6531), except
/// spaces and control characters. The spec's own pattern, `^[^@\s]+@[^@\s]+\.[^@\s]+$`, let
/// `"><svg/onload=alert(4)>@example.edu` through: an address no mail server delivers, which was
/// billed and only failed at sending, and markup wherever it is shown.
pub fn is_valid_email(s: &str) -> bool {
    // Bytes first: counting characters is only needed for the rare long value.
    if s.len() > 254 && s.chars().count() > 254 {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.chars().all(is_local_char)
        && has_two_labels(domain)
        && domain.split('.').all(is_domain_label)
}

/// RFC 5322 `atext` and `.`; any other character beyond ASCII except spaces and controls.
fn is_local_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '!' | '#'
                    | '$'
                    | '%'
                    | '&'
                    | '\''
                    | '*'
                    | '+'
                    | '/'
                    | '='
                    | '?'
                    | '^'
                    | '_'
                    | '`'
                    | '{'
                    | '|'
                    | '}'
                    | '~'
                    | '.'
                    | '-'
            )
    } else {
        is_plain_non_ascii(c)
    }
}

fn is_plain_non_ascii(c: char) -> bool {
    !(c.is_whitespace() || c.is_control())
}

fn has_two_labels(domain: &str) -> bool {
    domain.contains('.')
}

/// A non-empty DNS label: letters, digits, `-`, or characters beyond ASCII (IDN).
fn is_domain_label(label: &str) -> bool {
    !label.is_empty()
        && label.chars().all(|c| {
            if c.is_ascii() {
                c.is_ascii_alphanumeric() || c == '-'
            } else {
                is_plain_non_ascii(c)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::TagsCell;
    use rstest::rstest;

    /// The rule as one regular expression: the reference the character-level check is held to.
    const EMAIL_RULE: &str = concat!(
        r"^(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]|[^\x00-\x7F\s\p{Cc}])+",
        r"@(?:[A-Za-z0-9-]|[^\x00-\x7F\s\p{Cc}])+(?:\.(?:[A-Za-z0-9-]|[^\x00-\x7F\s\p{Cc}])+)+$",
    );

    proptest::proptest! {
        /// The check agrees with the rule's regex on short strings over an alphabet of the
        /// characters that matter (markup, quotes, non-ASCII ones, controls, every space kind).
        #[test]
        fn email_check_matches_the_regex(s in "[a.@\\-<>\"(); \t\u{b}\u{85}\u{a0}é]{0,12}") {
            let re = fancy_regex::Regex::new(EMAIL_RULE).expect("regex");
            proptest::prop_assert_eq!(is_valid_email(&s), re.is_match(&s).expect("match"));
        }
    }

    #[rstest]
    #[case("a@b.c", true)]
    #[case("Zorp.Blinkman@Example.EDU", true)]
    #[case("a@b", false)]
    #[case("a@.c", false)]
    #[case("a@..c", false)]
    #[case("\"><svg/onload=alert(4)>@example.edu", false)]
    #[case("a@example.edu<script>", false)]
    #[case("<a@example.edu>", false)]
    #[case("a(b)@example.edu", false)]
    #[case("a\\b@example.edu", false)]
    #[case("a;b@example.edu", false)]
    #[case("a@exa_mple.edu", false)]
    #[case("a@example..edu", false)]
    #[case("a\u{7}@example.edu", false)]
    #[case("o'brien+billing@example.edu", true)]
    #[case("zoë@exämple.edu", true)]
    #[case("a.b-c_d@sub.example-1.edu", true)]
    #[case("a@b.", false)]
    #[case("@b.c", false)]
    #[case("a b@c.d", false)]
    #[case("a@b@c.d", false)]
    #[case("", false)]
    fn email_syntax(#[case] input: &str, #[case] ok: bool) {
        assert_eq!(is_valid_email(input), ok);
    }

    #[test]
    fn valid_email_is_lower_cased_and_fields_trimmed() {
        let t = TagsCell::parse(Some(
            r#"{"pi_email": " Zorp@Example.EDU ", "project": " genomics ", "fund_org": 12345, "end_date": "2025-06-30", "reconciliation_end": "soon"}"#,
        ));
        let a = attribute(t.object(), &TagMapping::default());
        assert_eq!(a.pi_email.as_deref(), Some("zorp@example.edu"));
        assert_eq!(a.project_id.as_deref(), Some("genomics"));
        assert_eq!(a.fund_org.as_deref(), Some("12345"));
        assert_eq!(a.end_date, NaiveDate::from_ymd_opt(2025, 6, 30));
        assert_eq!(a.reconciliation_end, None);
        assert_eq!(
            a.bad_dates,
            vec![("reconciliation_end", "soon".to_string())]
        );
    }

    #[test]
    fn native_cloud_export_tags_attribute_without_a_preprocessor() {
        let aws = TagsCell::parse(Some(
            r#"{"user:pi_email": "Zorp@Example.edu", "user:project_id": "genomics", "user:fund_org": "F-1", "aws:createdBy": "x"}"#,
        ));
        let a = attribute(aws.object(), &TagMapping::default());
        assert_eq!(a.pi_email.as_deref(), Some("zorp@example.edu"));
        assert_eq!(a.project_id.as_deref(), Some("genomics"));
        assert_eq!(a.fund_org.as_deref(), Some("F-1"));
        let azure = TagsCell::parse(Some(
            r#"{"PI Email": "b@x.edu", "Project ID": "p", "Fund/Org": "F-2", "pi_email": ""}"#,
        ));
        let a = attribute(azure.object(), &TagMapping::default());
        assert_eq!(a.pi_email.as_deref(), Some("b@x.edu"));
        assert_eq!(a.project_id.as_deref(), Some("p"));
        assert_eq!(a.fund_org.as_deref(), Some("F-2"));
        // A configured key always wins over a provider spelling.
        let both = TagsCell::parse(Some(r#"{"PI Email": "b@x.edu", "pi_email": "c@x.edu"}"#));
        let a = attribute(both.object(), &TagMapping::default());
        assert_eq!(a.pi_email.as_deref(), Some("c@x.edu"));
    }

    #[test]
    fn invalid_email_is_kept_as_written() {
        let t = TagsCell::parse(Some(r#"{"pi_email": "Not An Email"}"#));
        assert_eq!(
            attribute(t.object(), &TagMapping::default())
                .pi_email
                .as_deref(),
            Some("Not An Email")
        );
    }
}
