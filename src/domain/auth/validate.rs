//! Field rules for identities: handles, emails, display names (API.md, Identity routes).

use crate::domain::error::ApiError;

/// Folds a handle to lowercase and checks `[a-z0-9_-]{3,32}`.
pub fn handle(raw: &str) -> Result<String, ApiError> {
    let h = raw.to_lowercase();
    let ok = (3..=32).contains(&h.len())
        && h.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(h)
    } else {
        Err(ApiError::invalid_field(
            "handle",
            "handle must be 3 to 32 characters of a-z, 0-9, _ and -",
        ))
    }
}

/// A group name: 1 to 64 characters of a-z, 0-9, `_` and `-` (API.md, Team administration).
pub fn group(raw: &str) -> Result<String, ApiError> {
    let g = raw.trim();
    let ok = (1..=64).contains(&g.len())
        && g.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(g.to_owned())
    } else {
        Err(ApiError::invalid_field(
            "groups",
            format!("group {g:?} must be 1 to 64 characters of a-z, 0-9, _ and -"),
        ))
    }
}

/// A role: `member` or `admin`.
pub fn role(raw: &str) -> Result<&'static str, ApiError> {
    match raw.trim() {
        "member" => Ok("member"),
        "admin" => Ok("admin"),
        other => Err(ApiError::invalid_field(
            "role",
            format!("role {other:?} must be member or admin"),
        )),
    }
}

/// Checks an email's shape: one `@`, a dotted domain, at most 254 bytes, nothing that could break
/// a mail header (whitespace, controls, `<>`, quotes, commas).
pub fn email(raw: &str) -> Result<&str, ApiError> {
    let bad = || ApiError::invalid_field("email", "email must be an address like name@example.com");
    if raw.len() > 254
        || raw
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"(),;:\\[]".contains(c))
    {
        return Err(bad());
    }
    let (local, domain) = raw.split_once('@').ok_or_else(bad)?;
    let domain_ok = domain.contains('.')
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || local.len() > 64 || !domain_ok {
        return Err(bad());
    }
    Ok(raw)
}

/// Trims a display name; 1 to 100 characters, no control characters.
pub fn display_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "displayName",
            "displayName must be 1 to 100 printable characters",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles() {
        assert_eq!(handle("Alice_99").unwrap(), "alice_99");
        for bad in ["ab", "a b", "ålice", &"x".repeat(33), "a.b"] {
            assert!(handle(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(email("a@example.com").is_ok());
        assert!(email("A.B+tag@sub.example.co").is_ok());
        for bad in [
            "",
            "a",
            "a@b",
            "@x.io",
            "a@@x.io",
            "a@x..io",
            "a b@x.io",
            "a@x.io\r\nBcc: e@v.il",
            "<a@x.io>",
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn display_names() {
        assert_eq!(display_name("  Ana  ").unwrap(), "Ana");
        assert!(display_name("   ").is_err());
        assert!(display_name("a\u{7}b").is_err());
    }
}
