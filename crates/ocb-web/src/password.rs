//! Passwords (SPEC §14.3, §14.4): bcrypt verification of `$2a$`/`$2b$`/`$2y$` hashes of any cost,
//! new hashes `$2b$` cost 12, and the password policy with upstream's messages.

use ocb_config::PasswordRequirements;

/// Cost of new hashes.
pub const COST: u32 = 12;

/// A real cost-12 hash (upstream's example): unknown usernames are checked against it so that
/// they take as long as known ones; the outcome is ignored.
const DUMMY_HASH: &str = "$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey";

/// True when `password` matches `hash`. A malformed hash counts as a failed check (logged).
pub fn verify(password: &str, hash: &str) -> bool {
    match bcrypt::verify(password, hash) {
        Ok(ok) => ok,
        Err(e) => {
            tracing::warn!(event = "auth.bad_hash", error = %e, "stored password hash could not be checked");
            false
        }
    }
}

/// Spends the time of one verification (unknown usernames).
pub fn verify_dummy(password: &str) {
    let _ = bcrypt::verify(password, DUMMY_HASH);
}

/// A new `$2b$` hash.
pub fn hash(password: &str) -> Result<String, String> {
    bcrypt::hash_with_result(password, COST)
        .map(|h| h.format_for_version(bcrypt::Version::TwoB))
        .map_err(|e| format!("could not hash the password: {e}"))
}

const SPECIALS: &str = "!@#$%^&*()_+-=[]{}|;:,.<>?";

/// Passwords published in example configurations (issue 16, item 1): `admin123` is the recovery
/// admin's password in the Python project's `config.example.yaml` (and was in ours); `admin`,
/// `password` and `changeme` are what such examples use elsewhere. Kept short on purpose: each
/// entry costs one bcrypt check per user when `serve` and `config check` look for them.
pub const PUBLISHED_PASSWORDS: &[&str] = &["admin123", "admin", "password", "changeme"];

/// The upstream example hash of `admin123`, recognised without bcrypt (any `$2?$` prefix).
const PUBLISHED_HASH: &str = "$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey";

/// True when `password` is one of [`PUBLISHED_PASSWORDS`].
pub fn is_published(password: &str) -> bool {
    PUBLISHED_PASSWORDS.contains(&password)
}

/// The published password that `hash` verifies, if any.
pub fn published_password(hash: &str) -> Option<&'static str> {
    if hash.get(3..) == PUBLISHED_HASH.get(3..) {
        return Some("admin123");
    }
    PUBLISHED_PASSWORDS
        .iter()
        .copied()
        .find(|p| verify(p, hash))
}

/// The warning for a user whose hash verifies a published password.
pub fn published_warning(username: &str, password: &str) -> String {
    format!(
        "published example password (\"{password}\"): anyone who read the example can log in as \
         {username}; make a new hash with `openchargeback users hash-password` and put it here"
    )
}

/// `config check` and `serve`: one warning per config user whose hash verifies a published
/// password. Users switching from the Python project keep a working login (SPEC §1.3): this
/// warns, it does not refuse.
pub fn published_config_users(c: &ocb_config::Config) -> Vec<ocb_config::Diagnostic> {
    c.web
        .users
        .iter()
        .filter_map(|u| {
            let password = published_password(u.password_hash.expose())?;
            Some(ocb_config::Diagnostic {
                file: c.config_path.clone(),
                line: u.password_hash_line,
                key: format!("web.users.{}.password_hash", u.username),
                message: published_warning(&u.username, password),
            })
        })
        .collect()
}

/// The same for database users (config users are checked in the config instead), as
/// `warning: ...` lines.
pub fn published_database_users(users: &[ocb_store::UserRecord]) -> Vec<String> {
    users
        .iter()
        .filter(|u| !u.config_managed && !u.disabled)
        .filter_map(|u| {
            let password = published_password(&u.password_hash)?;
            Some(format!(
                "warning: database user {}: published example password (\"{password}\"): anyone who \
                 read the example can log in; an admin should reset it on the users page",
                u.username
            ))
        })
        .collect()
}

/// The first policy rule the password breaks, as the message shown on forms.
pub fn check_policy(p: &str, r: &PasswordRequirements) -> Result<(), String> {
    if p.chars().count() < r.min_length as usize {
        return Err(format!(
            "Password must be at least {} characters.",
            r.min_length
        ));
    }
    if p.len() > 72 {
        return Err("Password must be at most 72 bytes.".into());
    }
    if r.require_uppercase && !p.chars().any(char::is_uppercase) {
        return Err("Password must contain at least one uppercase letter.".into());
    }
    if r.require_lowercase && !p.chars().any(char::is_lowercase) {
        return Err("Password must contain at least one lowercase letter.".into());
    }
    if r.require_numbers && !p.chars().any(char::is_numeric) {
        return Err("Password must contain at least one number.".into());
    }
    if r.require_special_chars && !p.chars().any(|c| SPECIALS.contains(c)) {
        return Err("Password must contain at least one special character.".into());
    }
    // Not in SPEC §14.3: a password printed in example configurations is no secret (issue 16).
    if is_published(p) {
        return Err("This password is published in example configurations; choose another.".into());
    }
    Ok(())
}

/// The active rules, for the summary shown on forms.
pub fn policy_summary(r: &PasswordRequirements) -> Vec<String> {
    let mut out = vec![format!(
        "At least {} characters (at most 72 bytes)",
        r.min_length
    )];
    if r.require_uppercase {
        out.push("An uppercase letter".into());
    }
    if r.require_lowercase {
        out.push("A lowercase letter".into());
    }
    if r.require_numbers {
        out.push("A number".into());
    }
    if r.require_special_chars {
        out.push(format!("A special character ({SPECIALS})"));
    }
    out
}

/// Usernames: `^[A-Za-z0-9_.-]{1,100}$` (SPEC §14.2).
pub fn valid_username(u: &str) -> bool {
    (1..=100).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN123: &str = "$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey";

    #[test]
    fn upstream_example_hash_verifies_in_all_three_spellings() {
        assert!(verify("admin123", ADMIN123));
        assert!(!verify("admin124", ADMIN123));
        assert!(verify("admin123", &ADMIN123.replace("$2b$", "$2y$")));
        assert!(verify("admin123", &ADMIN123.replace("$2b$", "$2a$")));
        assert!(!verify("admin123", "not-a-hash"));
    }

    #[test]
    fn new_hashes_are_2b_cost_12() {
        let h = hash("Secret-123").expect("hash");
        assert!(h.starts_with("$2b$12$"), "{h}");
        assert!(verify("Secret-123", &h));
    }

    #[test]
    fn policy_reports_the_first_failure() {
        let r = PasswordRequirements {
            min_length: 8,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_special_chars: true,
        };
        assert_eq!(
            check_policy("short", &r).expect_err("refused"),
            "Password must be at least 8 characters."
        );
        assert_eq!(
            check_policy("alllowercase", &r).expect_err("refused"),
            "Password must contain at least one uppercase letter."
        );
        assert_eq!(
            check_policy("Abcdefgh1", &r).expect_err("refused"),
            "Password must contain at least one special character."
        );
        assert_eq!(
            check_policy(&"Ab1!".repeat(19), &r).expect_err("refused"),
            "Password must be at most 72 bytes."
        );
        assert!(check_policy("Ünïcode9!", &r).is_ok());
    }

    #[test]
    fn dummy_hash_is_well_formed() {
        assert!(ocb_config::is_bcrypt_hash(DUMMY_HASH));
    }
}
