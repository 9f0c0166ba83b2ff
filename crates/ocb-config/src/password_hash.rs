//! bcrypt hash format check for `web.users.<u>.password_hash` (SPEC §14.4). Verification itself
//! happens in the web crate; here we only refuse values that could never verify.

/// True for `$2a$`/`$2b$`/`$2y$`, a two-digit cost 04–31 and 53 characters of bcrypt base64.
pub fn is_bcrypt_hash(hash: &str) -> bool {
    let Some(rest) = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .find_map(|prefix| hash.strip_prefix(prefix))
    else {
        return false;
    };
    let Some((cost, body)) = rest.split_once('$') else {
        return false;
    };
    let cost_ok = cost.len() == 2 && cost.parse::<u8>().is_ok_and(|c| (4..=31).contains(&c));
    cost_ok
        && body.len() == 53
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const ADMIN123: &str = "$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey";

    #[rstest]
    #[case(ADMIN123, true)]
    #[case("$2a$04$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey", true)]
    #[case("$2y$31$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey", true)]
    #[case("$2x$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey", false)]
    #[case("$2b$03$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey", false)]
    #[case("$2b$32$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey", false)]
    #[case("$2b$4$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey", false)]
    #[case("$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uve", false)]
    #[case("$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey!", false)]
    #[case("$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uve!", false)]
    #[case("admin123", false)]
    #[case("", false)]
    fn bcrypt_format(#[case] hash: &str, #[case] ok: bool) {
        assert_eq!(is_bcrypt_hash(hash), ok);
    }
}
