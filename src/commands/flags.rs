//! The `serve` flags turned once, at start, into the core's typed and validated `Config`; every
//! error names the flag at fault.

use std::path::PathBuf;

use crate::commands::args::{CheckpointsArg, DurabilityArg, RequireMfaArg, ServeArgs, Switch};
use crate::core::clock::parse_duration;
use crate::core::config::{
    BODY_LIMIT, Config, Lifetimes, RequireMfaFor, Smtp, all_scopes, validate_issuer,
};
use crate::core::mail::relay::SmtpUrl;
use crate::core::mail::schedule::Rate;
use crate::core::throttle::{DEFAULT_LIMITS, parse_limit};
use crate::store::{Checkpoints, Durability};

/// Validates the flags; the error names the flag at fault.
pub fn config(args: ServeArgs) -> Result<Config, String> {
    let dur = |flag: &str, text: &str| parse_duration(text).map_err(|e| format!("--{flag}: {e}"));
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
    let mut resources = Vec::new();
    for r in args
        .resources
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
    {
        crate::core::config::validate_resource(r).map_err(|e| format!("--resource {r:?}: {e}"))?;
        resources.push(r.to_owned());
    }
    let smtp = smtp(&args)?;
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
        checkpoints: match args.checkpoints {
            CheckpointsArg::Auto => Checkpoints::Auto,
            CheckpointsArg::Off => Checkpoints::Off,
        },
        scopes,
        resources,
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
        audit_days: i64::from(args.audit_days.max(1)),
        require_mfa_for: match args.require_mfa_for {
            RequireMfaArg::None => RequireMfaFor::None,
            RequireMfaArg::Admin => RequireMfaFor::Admin,
            RequireMfaArg::All => RequireMfaFor::All,
        },
        open_registration: args.open_registration,
        demo: false,
    })
}

/// The relay of `--smtp-url`, with its password and CA files read.
fn smtp(args: &ServeArgs) -> Result<Option<Smtp>, String> {
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
