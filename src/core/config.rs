//! `Config`: the server's settings as typed and validated values (`commands::flags` makes one
//! from the `serve` flags, once, at start).

use std::path::PathBuf;

use crate::core::mail::relay::SmtpUrl;
use crate::core::mail::schedule::Rate;
use crate::core::throttle::Limit;
use crate::store::{Checkpoints, Durability};

/// Scopes every server knows (API.md, Tokens).
pub const BUILTIN_SCOPES: [&str; 4] = ["profile", "email", "offline_access", "openid"];
/// JSON bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Lifetimes, in seconds.
#[derive(Debug, Clone)]
pub struct Lifetimes {
    pub access: i64,
    pub refresh_idle: i64,
    pub refresh_absolute: i64,
    pub refresh_reuse: i64,
    pub signup_code: i64,
    pub invite_code: i64,
    pub reset_code: i64,
    pub auth_code: i64,
}

/// The relay of `--smtp-url`, with the password and CA read at start. Its `Debug` leaves the
/// password out.
#[derive(Clone)]
pub struct Smtp {
    pub url: SmtpUrl,
    /// From `--smtp-password-file` (overrides the URL's).
    pub password: Option<String>,
    /// The PEM of `--smtp-ca-file`.
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("url", &self.url)
            .field("password_file", &self.password.is_some())
            .field("ca_pem", &self.ca_pem.is_some())
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub db_path: PathBuf,
    pub key_file: PathBuf,
    pub listen: String,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub mail_dir: Option<PathBuf>,
    pub smtp: Option<Smtp>,
    pub mail_from: Option<String>,
    pub smtp_rate: Option<Rate>,
    pub pbkdf2_iterations: u32,
    pub durability: Durability,
    /// Who checkpoints the WAL (`--checkpoints`): the server, or a replicator.
    pub checkpoints: Checkpoints,
    pub scopes: Vec<String>,
    /// Resource servers tokens may be issued for (RFC 8707), besides the issuer.
    pub resources: Vec<String>,
    pub lifetimes: Lifetimes,
    pub workers: usize,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub body_limit: usize,
    pub throttle: bool,
    pub limits: Vec<Limit>,
    pub daily_ip_limit: u32,
    pub daily_account_limit: u32,
    pub trust_proxy: bool,
    pub request_log_days: i64,
    /// Days audit log rows are kept (`--audit-days`).
    pub audit_days: i64,
    /// Who needs a session signed in with a second factor (`--require-mfa-for`).
    pub require_mfa_for: RequireMfaFor,
    pub open_registration: bool,
    /// The offline demo: mail also to `/demo/mailbox`, and the `/demo/*` routes.
    pub demo: bool,
}

/// `--require-mfa-for`: whose sessions must have signed in with a second factor for what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequireMfaFor {
    /// Nobody: a second factor is each user's choice (the default).
    #[default]
    None,
    /// `/admin` takes only a session whose sign-in used a second factor.
    Admin,
    /// As `Admin`, and every user's session needs one to authorize an OAuth app or create a
    /// personal access token (it can still sign in, to add a factor on `/account`).
    All,
}

impl RequireMfaFor {
    /// Whether a session signed in as `amr` may mint credentials for others (authorize an OAuth
    /// app, create a PAT) under this rule.
    pub fn lets_mint(self, amr: &str) -> bool {
        self != RequireMfaFor::All || used_second_factor(amr)
    }
}

/// Whether a sign-in made as `amr` (RFC 8176, space-separated) used a second factor: TOTP, a
/// recovery code, or a passkey.
pub fn used_second_factor(amr: &str) -> bool {
    amr.split(' ')
        .any(|m| matches!(m, "mfa" | "otp" | "hwk" | "swk"))
}

/// The built-in scopes plus the operator's `--scopes`, checked against RFC 6749 §3.3.
pub fn all_scopes(extra: &[String]) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = BUILTIN_SCOPES.iter().map(|s| s.to_string()).collect();
    for scope in extra.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if !scope
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            return Err(format!(
                "--scopes: {scope:?} is not a valid scope (RFC 6749 §3.3)"
            ));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

/// A resource indicator (RFC 8707 §2): an absolute URI (a scheme, then `://` and a host) without
/// a fragment.
pub fn validate_resource(uri: &str) -> Result<(), &'static str> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err("not an absolute URI");
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok || rest.is_empty() || rest.starts_with('/') {
        return Err("not an absolute URI");
    }
    if uri.contains('#') {
        return Err("a resource has no fragment");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a resource has no spaces or control characters");
    }
    Ok(())
}

/// An issuer is an http(s) URL with a host and no query or fragment (RFC 8414 §2).
pub fn validate_issuer(issuer: &str) -> Result<(), String> {
    let rest = issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://"))
        .ok_or("--issuer must be an http or https URL")?;
    if rest.is_empty() || issuer.contains(['?', '#']) || issuer.chars().any(char::is_whitespace) {
        return Err(
            "--issuer must be a URL with a host and no query or fragment (RFC 8414 §2)".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::clock::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("30d"), Ok(2_592_000));
        for bad in ["", "s", "10", "-5s", "1w", "1.5h", "ms"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn issuer_rules() {
        assert!(validate_issuer("https://id.gharart.com").is_ok());
        assert!(validate_issuer("ftp://x").is_err());
        assert!(validate_issuer("https://x?y=1").is_err());
    }
}
