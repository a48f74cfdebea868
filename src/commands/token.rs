//! `gharart-id token inspect TOKEN`: the first debugging step. Says what a token is, whether it
//! is valid now and, when not, exactly why (expired 3m ago, signed by a retired key, session
//! revoked, reuse detected at …), with its time window. Exit 0 when valid, 1 when not.

use crate::commands::args::TokenCommand;
use crate::core::clock::parse_duration;
use crate::core::clock::{Clock, Timestamp, rfc3339, span};
use crate::core::keys::KeyRing;
use crate::core::token::jwt::{self, LEEWAY_SECS};
use crate::core::token::opaque::sha256;
use crate::core::token::refresh;
use crate::domain::auth::pats::PREFIX as PAT_PREFIX;
use crate::store::sessions::{self, RevokeReason, SessionRow};
use crate::store::{Db, oauth, pats, users};

/// Lines of `label  value`, and the reasons the token is not valid (none: it is).
#[derive(Default)]
struct Report {
    lines: Vec<(&'static str, String)>,
    problems: Vec<String>,
}

impl Report {
    fn line(&mut self, label: &'static str, value: impl Into<String>) {
        self.lines.push((label, value.into()));
    }
}

fn when(t: Timestamp, now: Timestamp) -> String {
    if t > now {
        format!("{} (in {})", rfc3339(t), span(t - now))
    } else {
        format!("{} ({} ago)", rfc3339(t), span(now - t))
    }
}

fn reason_text(reason: RevokeReason) -> &'static str {
    match reason {
        RevokeReason::Logout => "signed out (logout)",
        RevokeReason::Reuse => "refresh token reuse detected",
        RevokeReason::PasswordReset => "the password was reset",
        RevokeReason::Disabled => "the account was disabled",
        RevokeReason::CodeReuse => "the authorization code that started it was used twice",
        RevokeReason::Revoked => "revoked through /oauth/revoke",
    }
}

fn describe_session(r: &mut Report, s: &SessionRow, now: Timestamp, idle: i64) {
    match s.revoked {
        Some((at, reason)) => {
            r.line(
                "session",
                format!(
                    "{} revoked {}: {}",
                    s.id,
                    when(at, now),
                    reason_text(reason)
                ),
            );
            r.problems.push(format!(
                "its session was revoked {} ago ({})",
                span(now - at),
                reason_text(reason)
            ));
        }
        None => {
            let idle_end = s.last_used_at + idle;
            r.line(
                "session",
                format!(
                    "{} live; idle until {}; absolute end {}",
                    s.id,
                    when(idle_end, now),
                    when(s.expires_at, now)
                ),
            );
        }
    }
    if let Some(cid) = &s.client_id {
        r.line("client", cid.clone());
    }
}

fn inspect_jwt(
    db: &Db,
    ring: &KeyRing,
    token: &str,
    now: Timestamp,
    idle: i64,
    r: &mut Report,
) -> Result<(), String> {
    r.line("kind", "access token (JWT)");
    let Some(t) = jwt::open_for_inspection(ring, token) else {
        r.problems
            .push("it is not a JWT, nor a gha_rt_ refresh token, nor a gha_pat_ token".into());
        return Ok(());
    };
    if t.alg != "HS256" {
        r.problems
            .push(format!("its alg is {}, and only HS256 is accepted", t.alg));
    }
    if t.typ.as_deref().map(str::to_ascii_lowercase).as_deref() != Some("at+jwt") {
        r.problems
            .push(format!("its typ is {:?}, not at+jwt", t.typ));
    }
    let key = t
        .kid
        .as_deref()
        .and_then(|kid| ring.all().iter().find(|k| k.kid == kid));
    match (t.kid.as_deref(), key) {
        (None, _) => r.problems.push("it has no kid".into()),
        (Some(kid), None) => {
            r.line("key", format!("{kid} (unknown)"));
            r.problems.push(format!("it was signed by key {kid}, which this key file does not have (another server, or a replaced key file)"));
        }
        (Some(kid), Some(k)) => {
            let state = match (k.retired_at, k.superseded_at) {
                (Some(at), _) => {
                    r.problems.push(format!(
                        "it was signed by key {kid}, retired {} ago",
                        span(now - at)
                    ));
                    format!("retired {}", rfc3339(at))
                }
                (None, Some(at)) if t.claims.iat > at + LEEWAY_SECS => {
                    r.problems.push(format!(
                        "it claims to be issued after its key {kid} was superseded"
                    ));
                    format!("superseded {}", rfc3339(at))
                }
                (None, Some(at)) => format!(
                    "superseded {} (still verifies the tokens it signed before)",
                    rfc3339(at)
                ),
                (None, None) => "current".into(),
            };
            r.line("key", format!("{kid} ({state})"));
        }
    }
    if !t.signature_ok && key.is_some() {
        r.problems
            .push("its signature does not verify (altered, or forged)".into());
    }
    let c = &t.claims;
    let handle = db
        .read(|conn| users::find_by_id(conn, &c.sub))
        .map_err(|e| e.to_string())?
        .map(|u| u.handle);
    r.line(
        "subject",
        format!(
            "{} ({})",
            c.sub,
            handle
                .as_deref()
                .unwrap_or("no such user: a client, or deleted")
        ),
    );
    r.line("scope", c.scope.clone());
    r.line("issuer", format!("{} (audience {})", c.iss, c.aud));
    r.line("issued", when(c.iat, now));
    r.line("expires", when(c.exp, now));
    if c.exp + LEEWAY_SECS <= now {
        r.problems.push(format!(
            "it expired {} ago, at {}",
            span(now - c.exp),
            rfc3339(c.exp)
        ));
    }
    if let Some(cid) = &c.client_id {
        r.line("client", cid.clone());
    }
    if let Some(sid) = &c.sid {
        match db
            .read(|conn| sessions::find(conn, sid))
            .map_err(|e| e.to_string())?
        {
            Some(s) => describe_session(r, &s, now, idle),
            None => r.problems.push(format!("its session {sid} does not exist")),
        }
    }
    if db
        .read(|conn| oauth::is_jti_revoked(conn, &c.jti))
        .map_err(|e| e.to_string())?
    {
        r.problems
            .push("it was revoked through /oauth/revoke".into());
    }
    Ok(())
}

fn inspect_refresh(
    db: &Db,
    ring: &KeyRing,
    token: &str,
    now: Timestamp,
    idle: i64,
    reuse: i64,
    r: &mut Report,
) -> Result<(), String> {
    r.line("kind", "refresh token");
    let Some(claim) = refresh::open(ring.refresh_secret(), token) else {
        r.problems
            .push("its MAC does not verify: altered, cut short, or from another key file".into());
        return Ok(());
    };
    r.line("generation", claim.generation.to_string());
    let Some(s) = db
        .read(|conn| sessions::find(conn, &claim.session_id))
        .map_err(|e| e.to_string())?
    else {
        r.problems
            .push(format!("its session {} does not exist", claim.session_id));
        return Ok(());
    };
    let handle = db
        .read(|conn| users::find_by_id(conn, &s.user_id))
        .map_err(|e| e.to_string())?
        .map(|u| u.handle);
    r.line(
        "user",
        format!("{} ({})", s.user_id, handle.as_deref().unwrap_or("?")),
    );
    describe_session(r, &s, now, idle);
    if let Some((at, RevokeReason::Reuse)) = s.revoked {
        let reused = s.reused_generation.map_or("?".into(), |g| g.to_string());
        r.line(
            "reuse",
            format!(
                "detected at {}: generation {reused} was presented after it had been rotated out",
                rfc3339(at)
            ),
        );
    }
    if s.revoked.is_none() {
        if now >= s.expires_at {
            r.problems.push(format!(
                "its session reached its absolute lifetime {} ago",
                span(now - s.expires_at)
            ));
        } else if now >= s.last_used_at + idle {
            r.problems.push(format!(
                "its session was idle too long: last used {} ago",
                span(now - s.last_used_at)
            ));
        }
    }
    if claim.generation == s.generation {
        r.line("rotation", "current: the next refresh rotates it");
    } else {
        match s.rotations.rotated_at(claim.generation) {
            Some(at) if now - at <= reuse && s.revoked.is_none() => {
                r.line(
                    "rotation",
                    format!(
                        "rotated out {} ago; a retry within {} still gets the current token",
                        span(now - at),
                        span(reuse)
                    ),
                );
            }
            _ => {
                r.line(
                    "rotation",
                    format!(
                        "rotated out (the session is at generation {})",
                        s.generation
                    ),
                );
                if s.revoked.is_none() {
                    r.problems.push("it was already rotated; using it now would count as reuse and revoke the session".into());
                }
            }
        }
    }
    Ok(())
}

fn inspect_pat(db: &Db, token: &str, now: Timestamp, r: &mut Report) -> Result<(), String> {
    r.line("kind", "personal access token");
    let Some(p) = db
        .read(|conn| pats::find_by_hash(conn, &sha256(token.as_bytes())))
        .map_err(|e| e.to_string())?
    else {
        r.problems.push(
            "no personal access token has this value (mistyped, or from another server)".into(),
        );
        return Ok(());
    };
    let user = db
        .read(|conn| users::find_by_id(conn, &p.user_id))
        .map_err(|e| e.to_string())?;
    r.line("id", format!("{} ({})", p.id, p.name));
    r.line(
        "user",
        format!(
            "{} ({})",
            p.user_id,
            user.as_ref().map_or("?", |u| u.handle.as_str())
        ),
    );
    r.line("scope", p.scopes.clone());
    r.line("created", when(p.created_at, now));
    r.line("expires", when(p.expires_at, now));
    r.line(
        "last used",
        p.last_used_at.map_or("never".into(), |t| when(t, now)),
    );
    if let Some(at) = p.revoked_at {
        r.problems
            .push(format!("it was revoked {} ago", span(now - at)));
    }
    if p.expires_at <= now {
        r.problems
            .push(format!("it expired {} ago", span(now - p.expires_at)));
    }
    if user.is_none_or(|u| u.disabled) {
        r.problems.push("its account is disabled".into());
    }
    Ok(())
}

pub fn run(cmd: TokenCommand) -> Result<(), String> {
    let TokenCommand::Inspect {
        keyed,
        token,
        refresh_idle_ttl,
        refresh_reuse_interval,
    } = cmd;
    let idle = parse_duration(&refresh_idle_ttl).map_err(|e| format!("--refresh-idle-ttl: {e}"))?;
    let reuse = parse_duration(&refresh_reuse_interval)
        .map_err(|e| format!("--refresh-reuse-interval: {e}"))?;
    let db = super::open_existing(&keyed.db.db)?;
    let ring = KeyRing::load(&keyed.key_path()).map_err(|e| e.to_string())?;
    let now = Clock::System.now();
    let token = token.trim();
    let mut report = Report::default();
    if token.starts_with(PAT_PREFIX) {
        inspect_pat(&db, token, now, &mut report)?;
    } else if token.starts_with(refresh::PREFIX) {
        inspect_refresh(&db, &ring, token, now, idle, reuse, &mut report)?;
    } else {
        inspect_jwt(&db, &ring, token, now, idle, &mut report)?;
    }
    for (label, value) in &report.lines {
        crate::out!("{label:<11}{value}");
    }
    if report.problems.is_empty() {
        crate::out!("{:<11}VALID", "verdict");
        Ok(())
    } else {
        crate::out!("{:<11}NOT VALID", "verdict");
        for p in &report.problems {
            crate::out!("  - {p}");
        }
        Err("the token is not valid".into())
    }
}
