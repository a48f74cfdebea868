//! `Config`: the raw `serve` flags turned once, at start, into typed and validated values.

use std::path::PathBuf;

use crate::commands::args::{DurabilityArg, ServeArgs, Switch};
pub use crate::core::clock::parse_duration;
use crate::core::mail::relay::SmtpUrl;
use crate::core::mail::schedule::Rate;
use crate::core::throttle::{DEFAULT_LIMITS, Limit, parse_limit};
use crate::store::Durability;

/// Scopes every server knows (API.md, Tokens).
pub const BUILTIN_SCOPES: [&str; 3] = ["profile", "email", "offline_access"];
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

impl Smtp {
    fn from_args(args: &ServeArgs) -> Result<Option<Smtp>, String> {
        let Some(text) = &args.smtp_url else {
            if args.smtp_password_file.is_some() || args.smtp_ca_file.is_some() {
                return Err("--smtp-password-file and --smtp-ca-file need --smtp-url".into());
            }
            return Ok(None);
        };
        let url = SmtpUrl::parse(text).map_err(|e| format!("--smtp-url: {e}"))?;
        let password = args
            .smtp_password_file
            .as_ref()
            .map(|path| {
                std::fs::read_to_string(path)
                    .map(|p| p.trim_end_matches(['\r', '\n']).to_owned())
                    .map_err(|e| format!("--smtp-password-file {}: {e}", path.display()))
            })
            .transpose()?;
        if password.as_deref() == Some("") {
            return Err("--smtp-password-file: the file is empty".into());
        }
        let ca_pem = args
            .smtp_ca_file
            .as_ref()
            .map(|path| {
                std::fs::read(path).map_err(|e| format!("--smtp-ca-file {}: {e}", path.display()))
            })
            .transpose()?;
        Ok(Some(Smtp {
            url,
            password,
            ca_pem,
        }))
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
    pub scopes: Vec<String>,
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
    pub open_registration: bool,
    /// The offline demo: mail also to `/demo/mailbox`, and the `/demo/*` routes.
    pub demo: bool,
}

impl Config {
    /// Validates the flags; the error names the flag at fault.
    pub fn from_args(args: ServeArgs) -> Result<Config, String> {
        let dur =
            |flag: &str, text: &str| parse_duration(text).map_err(|e| format!("--{flag}: {e}"));
        let lifetimes = Lifetimes {
            access: dur("access-ttl", &args.access_ttl)?,
            refresh_idle: dur("refresh-idle-ttl", &args.refresh_idle_ttl)?,
            refresh_absolute: dur("refresh-absolute-ttl", &args.refresh_absolute_ttl)?,
            refresh_reuse: dur("refresh-reuse-interval", &args.refresh_reuse_interval)?,
            signup_code: dur("signup-code-ttl", &args.signup_code_ttl)?,
            invite_code: dur("invite-code-ttl", &args.invite_code_ttl)?,
            reset_code: dur("reset-code-ttl", &args.reset_code_ttl)?,
            auth_code: dur("auth-code-ttl", &args.auth_code_ttl)?,
        };
        for (flag, value) in [
            ("access-ttl", lifetimes.access),
            ("refresh-idle-ttl", lifetimes.refresh_idle),
            ("refresh-absolute-ttl", lifetimes.refresh_absolute),
            ("signup-code-ttl", lifetimes.signup_code),
            ("invite-code-ttl", lifetimes.invite_code),
            ("reset-code-ttl", lifetimes.reset_code),
            ("auth-code-ttl", lifetimes.auth_code),
        ] {
            if value == 0 {
                return Err(format!("--{flag} must be longer than 0s"));
            }
        }
        if lifetimes.auth_code > 600 {
            return Err("--auth-code-ttl must be at most 10m (RFC 6749 §4.1.2)".into());
        }
        if args.pbkdf2_iterations == 0 {
            return Err("--pbkdf2-iterations must be at least 1".into());
        }
        if args.pbkdf2_iterations < 100_000 {
            log::warn!(
                "--pbkdf2-iterations {} is below OWASP's 600,000: use it for tests only",
                args.pbkdf2_iterations
            );
        }
        if args.workers < 2 {
            return Err("--workers must be at least 2".into());
        }
        if args.max_connections == 0 || args.max_connections_per_ip == 0 {
            return Err("--max-connections and --max-connections-per-ip must be at least 1".into());
        }
        if let Some(issuer) = &args.issuer {
            validate_issuer(issuer)?;
        }
        let scopes = all_scopes(&args.scopes)?;
        let smtp = Smtp::from_args(&args)?;
        let smtp_rate = args
            .smtp_rate
            .as_deref()
            .map(|r| Rate::parse(r).map_err(|e| format!("--smtp-rate: {e}")))
            .transpose()?;
        let mut limits = DEFAULT_LIMITS.to_vec();
        for text in args.throttle_limit.iter().filter(|t| !t.trim().is_empty()) {
            let changed = parse_limit(text).map_err(|e| format!("--throttle-limit: {e}"))?;
            for limit in limits.iter_mut().filter(|l| l.name == changed.name) {
                *limit = changed;
            }
        }
        if args.daily_ip_limit == 0 || args.daily_account_limit == 0 {
            return Err(
                "--daily-ip-limit and --daily-account-limit must be above 0 (use --throttle off)"
                    .into(),
            );
        }
        let db_path = args
            .db
            .clone()
            .unwrap_or_else(|| PathBuf::from("./gharart.db"));
        let key_file = args.key_file.clone().unwrap_or_else(|| {
            let mut p = db_path.clone().into_os_string();
            p.push(".key");
            PathBuf::from(p)
        });
        Ok(Config {
            db_path,
            key_file,
            listen: args.listen,
            issuer: args.issuer.map(|i| i.trim_end_matches('/').to_owned()),
            audience: args.audience,
            mail_dir: args.mail_dir,
            smtp,
            mail_from: args.mail_from,
            smtp_rate,
            pbkdf2_iterations: args.pbkdf2_iterations,
            durability: match args.durability {
                DurabilityArg::Full => Durability::Full,
                DurabilityArg::Normal => Durability::Normal,
            },
            scopes,
            lifetimes,
            workers: args.workers,
            max_connections: args.max_connections,
            max_connections_per_ip: args.max_connections_per_ip,
            body_limit: BODY_LIMIT,
            throttle: args.throttle == Switch::On,
            limits,
            daily_ip_limit: args.daily_ip_limit,
            daily_account_limit: args.daily_account_limit,
            trust_proxy: args.trust_proxy,
            request_log_days: i64::from(args.request_log_days.max(1)),
            open_registration: args.open_registration,
            demo: false,
        })
    }
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

fn validate_issuer(issuer: &str) -> Result<(), String> {
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
