//! Sessions after login: refresh-token rotation with a reuse interval and family revocation
//! (LESSONS.md, failure mode A), bearer authentication, `me`, and logout.
//!
//! Rotation: the token of the session's current generation moves it one step and gets the next
//! generation's token. A token already rotated out within the reuse interval gets the current
//! token back without a step (a retried or concurrent refresh: every caller ends on the same live
//! chain). Later than that, it revokes the whole session.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;

use super::{SessionState, SessionView, UserView, pats, session_view};
use crate::core::Core;
use crate::core::cache::TokenRows;
use crate::core::clock::{Timestamp, rfc3339};
use crate::core::token::{jwt, refresh};
use crate::domain::audit::{self, Acting, Caller};
use crate::domain::error::{ApiError, Outage};
use crate::store::audit::Party;
use crate::store::sessions::{self, RevokeReason, SessionRow};
use crate::store::{StoreError, Tx, oauth, users};

/// How long a refresh waits on a concurrent one before answering 409 + `Retry-After`.
const REFRESH_WAIT: Duration = Duration::from_secs(5);

enum Rotation {
    Issued(Box<users::UserRow>, SessionRow),
    Refused(ApiError),
}

/// Exchanges a refresh token for a new first-party session body. Errors: `refresh_token_invalid`,
/// `refresh_token_expired`, `refresh_token_reused`, `session_revoked`, `refresh_in_progress`.
pub fn refresh(
    core: &Core,
    token: &str,
    caller: Caller,
    now: Timestamp,
) -> Result<SessionView, ApiError> {
    let (user, s) = rotate(core, token, None, caller, now)?;
    let state = SessionState {
        id: &s.id,
        generation: s.generation,
        last_used_at: s.last_used_at,
        expires_at: s.expires_at,
        amr: &s.amr,
    };
    session_view(core, &user, &state, now)
}

/// Rotates the session a refresh token names, for the client it was issued to (`None`: a
/// first-party login), and returns its user and its state after the rotation. A detected reuse
/// is written to the audit log with `caller`. Errors as [`refresh`].
pub fn rotate(
    core: &Core,
    token: &str,
    client_id: Option<&str>,
    caller: Caller,
    now: Timestamp,
) -> Result<(Box<users::UserRow>, SessionRow), ApiError> {
    let outcome = rotation(core, token, client_id, caller, now);
    core.metrics.refresh(match &outcome {
        Ok(Rotation::Issued(..)) => "ok",
        Ok(Rotation::Refused(ApiError::RefreshTokenReused)) => "reused",
        Ok(Rotation::Refused(ApiError::RefreshTokenExpired)) => "expired",
        Ok(Rotation::Refused(ApiError::SessionRevoked)) => "revoked",
        Ok(Rotation::Refused(_)) => "invalid",
        Err(ApiError::Throttled { .. }) => "throttled",
        Err(_) => "unavailable",
    });
    match outcome {
        Ok(Rotation::Issued(user, s)) => Ok((user, s)),
        Ok(Rotation::Refused(e)) => Err(e),
        Err(ApiError::Unavailable {
            outage: Outage::DatabaseBusy,
            ..
        }) => Err(ApiError::RefreshInProgress {
            retry_after_secs: 1,
        }),
        Err(e) => Err(e),
    }
}

/// The rotation a refresh token asks for, or why it is refused (`Err`: throttled, or the
/// database could not answer).
fn rotation(
    core: &Core,
    token: &str,
    client_id: Option<&str>,
    caller: Caller,
    now: Timestamp,
) -> Result<Rotation, ApiError> {
    let keys = core.keys();
    let Some(claim) = refresh::open(keys.refresh_secret(), token) else {
        return Ok(Rotation::Refused(ApiError::RefreshTokenInvalid));
    };
    core.throttle
        .hit("refresh-session", &claim.session_id, now)?;
    let (idle, reuse) = (
        core.config.lifetimes.refresh_idle,
        core.config.lifetimes.refresh_reuse,
    );
    let client_id = client_id.map(str::to_owned);
    core.db.write_combined(REFRESH_WAIT, move |tx| {
        let Some(mut s) = sessions::find(tx, &claim.session_id)? else {
            return Ok(Rotation::Refused(ApiError::RefreshTokenInvalid));
        };
        if s.client_id != client_id {
            return Ok(Rotation::Refused(ApiError::RefreshTokenInvalid));
        }
        if let Some((_, reason)) = s.revoked {
            let reused_this =
                reason == RevokeReason::Reuse && s.reused_generation == Some(claim.generation);
            return Ok(Rotation::Refused(if reused_this {
                ApiError::RefreshTokenReused
            } else {
                ApiError::SessionRevoked
            }));
        }
        if now >= s.expires_at || now >= s.last_used_at + idle {
            return Ok(Rotation::Refused(ApiError::RefreshTokenExpired));
        }
        let Some(user) = users::find_by_id(tx, &s.user_id)? else {
            return Ok(Rotation::Refused(ApiError::SessionRevoked));
        };
        if claim.generation > s.generation {
            return Ok(Rotation::Refused(ApiError::RefreshTokenInvalid));
        }
        // The row is brought up to date in memory as each statement moves it, not read again.
        if claim.generation == s.generation {
            if !sessions::rotate(tx, &mut s, now, now - reuse)? {
                return Ok(Rotation::Refused(ApiError::RefreshTokenInvalid));
            }
        } else {
            let rotated = s.rotations.rotated_at(claim.generation);
            if rotated.is_none_or(|at| now - at > reuse) {
                // Committed below, not rolled back with an error (Supabase Auth #1312).
                sessions::revoke(tx, &s.id, RevokeReason::Reuse, Some(claim.generation), now)?;
                let owner = users::find_by_id(tx, &s.user_id)?;
                Acting::anonymous(&caller).record(
                    tx,
                    now,
                    "refresh_token_reuse_detected",
                    owner.as_ref().map(audit::user),
                    serde_json::json!({
                        "sessionId": s.id,
                        "generation": claim.generation,
                        "clientId": s.client_id,
                    }),
                )?;
                log::warn!(
                    "refresh token reuse: session {} generation {} revoked",
                    s.id,
                    claim.generation
                );
                return Ok(Rotation::Refused(ApiError::RefreshTokenReused));
            }
            sessions::touch(tx, &mut s, now)?;
        }
        Ok::<_, ApiError>(Rotation::Issued(Box::new(user), s))
    })
}

/// The kind of bearer credential, which bounds what it may do beyond its scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// The access token of a first-party session (login or refresh): every scope, and the
    /// account-management routes.
    Session,
    /// An access token an OAuth client obtained for a user: exactly its scopes.
    OAuth,
    /// A client's own token (`client_credentials`): no user at all.
    Client,
    /// A personal access token: its scopes, and no account management.
    Pat,
}

impl Credential {
    /// What an access token with these claims is: no `client_id` is a first-party session, one
    /// with a session an OAuth app's token for its user, one without a client's own token.
    fn of(claims: &jwt::Claims) -> Credential {
        match (&claims.client_id, &claims.sid) {
            (None, Some(_)) => Credential::Session,
            (Some(_), Some(_)) => Credential::OAuth,
            (_, None) => Credential::Client,
        }
    }

    /// Whether the credential stands for a user.
    pub fn has_user(self) -> bool {
        self != Credential::Client
    }
}

/// Who is calling, from a verified bearer credential.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: String,
    pub session_id: Option<String>,
    pub scopes: Vec<String>,
    pub expires_at: Timestamp,
    pub credential: Credential,
    /// The user, as read when the credential was checked (`None` for a client's own token).
    pub user: Option<Arc<users::UserRow>>,
    /// The session, as read when the credential was checked (`None` for a PAT).
    pub session: Option<Arc<SessionRow>>,
    /// What identifies the credential (an access token's `jti`, a PAT's id), and the
    /// database's version (`Db::version`) when `user` and `session` were read (`None` when they
    /// were not): what is derived from the credential and those rows alone holds while that
    /// version is current, and may be kept under that key.
    pub cached_as: Option<(String, i64)>,
}

impl Principal {
    /// 403 `insufficient_scope` unless the credential holds `scope`.
    pub fn require_scope(&self, scope: &'static str) -> Result<(), ApiError> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::InsufficientScope(Some(scope)))
        }
    }

    /// 403 `insufficient_scope` unless the credential is a first-party session's access token:
    /// account management (PATs, client registration, logout of every session) is never
    /// delegated, whatever a PAT's or an OAuth app's scopes say.
    pub fn require_first_party(&self) -> Result<(), ApiError> {
        match (self.credential, &self.session_id) {
            (Credential::Session, Some(_)) => Ok(()),
            _ => Err(ApiError::InsufficientScope(None)),
        }
    }

    /// This user acting from `caller`, for the audit rows of what they change.
    pub fn acting<'a>(&self, caller: &'a Caller) -> Acting<'a> {
        Acting {
            actor: Party {
                kind: "user".into(),
                id: Some(self.user_id.clone()),
                handle: self.user.as_ref().map(|u| u.handle.clone()),
            },
            caller: Some(caller),
        }
    }

    /// Appends the audit row of a change this user made to their own account from `caller`
    /// (the user is actor and target).
    pub fn record_own(
        &self,
        tx: &Tx<'_>,
        caller: &Caller,
        now: Timestamp,
        event: &'static str,
        details: serde_json::Value,
    ) -> Result<(), StoreError> {
        let by = self.acting(caller);
        by.record(tx, now, event, Some(by.actor.clone()), details)
    }

    /// 403 `insufficient_scope` for a client's own token, which has no user.
    pub fn require_user(&self) -> Result<(), ApiError> {
        if self.credential.has_user() {
            Ok(())
        } else {
            Err(ApiError::InsufficientScope(None))
        }
    }
}

/// Verifies a bearer access token and that its session is live. Errors: `invalid_token`,
/// `session_revoked`.
pub fn authenticate(
    core: &Core,
    bearer: Option<&str>,
    now: Timestamp,
) -> Result<Principal, ApiError> {
    let token = bearer.ok_or(ApiError::InvalidToken(
        "no bearer token: send Authorization: Bearer <access token>",
    ))?;
    if token.starts_with(pats::PREFIX) {
        return pats::authenticate(core, token, now);
    }
    let claims = signed_claims(core, token).map_err(|e| ApiError::InvalidToken(e.describe()))?;
    jwt::check_claims(&claims, &core.issuer, &core.audience, now)
        .map_err(|e| ApiError::InvalidToken(e.describe()))?;
    let credential = Credential::of(&claims);
    let (version, (session, jti_revoked, user)) = token_rows(core, &claims, credential)?;
    if claims.sid.is_some() {
        let s = session
            .as_ref()
            .ok_or(ApiError::InvalidToken("the token's session does not exist"))?;
        if s.revoked.is_some() || s.user_id != claims.sub {
            return Err(ApiError::SessionRevoked);
        }
    }
    if jti_revoked {
        return Err(ApiError::InvalidToken("the token was revoked"));
    }
    Ok(Principal {
        user_id: claims.sub.clone(),
        session_id: claims.sid.clone(),
        scopes: claims
            .scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        expires_at: claims.exp,
        credential,
        user,
        session,
        cached_as: Some((claims.jti.clone(), version)),
    })
}

/// The claims of an access token whose signature this server has checked under the key ring in
/// force: kept per token string while the ring is unchanged (a rotation or reload starts over),
/// so a token used again skips its decoding, parsing and HMAC. Time, issuer and audience are
/// checked on every use by the caller.
fn signed_claims(core: &Core, token: &str) -> Result<Arc<jwt::Claims>, jwt::JwtError> {
    core.verified_tokens
        .get_or_load(token, core.keys_version(), || {
            jwt::verify_signed(&core.keys(), token).map(Arc::new)
        })
}

/// The rows of [`TokenRows`], with the database version they hold at: from the cache while nothing
/// has committed since they were read, else in one snapshot (the hot path of every authenticated
/// call).
fn token_rows(
    core: &Core,
    claims: &jwt::Claims,
    credential: Credential,
) -> Result<(i64, TokenRows), ApiError> {
    let check_jti = core.revoked_jtis.load(Ordering::Relaxed);
    let key = format!(
        "{}\n{}\n{}",
        claims.sid.as_deref().unwrap_or(""),
        claims.sub,
        if check_jti { claims.jti.as_str() } else { "" }
    );
    let version = core.db.version()?;
    let rows = core.token_rows.get_or_load(&key, version, || {
        core.db.read_snapshot(|c| {
            let session = match &claims.sid {
                Some(sid) => sessions::find(c, sid)?,
                None => None,
            };
            let jti_revoked = check_jti && oauth::is_jti_revoked(c, &claims.jti)?;
            let user = match credential.has_user() {
                true => users::find_by_id(c, &claims.sub)?,
                false => None,
            };
            Ok::<_, StoreError>((session.map(Arc::new), jti_revoked, user.map(Arc::new)))
        })
    })?;
    Ok((version, rows))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub id: String,
    pub created_at: String,
    pub idle_expires_at: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialInfo {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub scopes: Vec<String>,
    pub expires_at: String,
    /// How the sign-in behind the credential was made (RFC 8176); empty for a PAT and a
    /// client's own token.
    pub amr: Vec<String>,
}

/// The user as `/v2/auth/me` shows it: with whether a second factor is active.
#[derive(Debug, Serialize)]
pub struct MeUser {
    #[serde(flatten)]
    pub user: UserView,
    pub mfa: bool,
}

#[derive(Debug, Serialize)]
pub struct Me {
    pub user: MeUser,
    pub session: Option<SessionInfo>,
    pub credential: CredentialInfo,
}

/// The caller's profile, session and credential (the caller checks scope `profile`).
pub fn me(core: &Core, who: &Principal) -> Result<Me, ApiError> {
    let user = who
        .user
        .as_deref()
        .ok_or(ApiError::InvalidToken("the token's user does not exist"))?;
    let session = who.session.as_deref().map(|s| SessionInfo {
        id: s.id.clone(),
        created_at: rfc3339(s.created_at),
        idle_expires_at: rfc3339(
            (s.last_used_at + core.config.lifetimes.refresh_idle).min(s.expires_at),
        ),
        expires_at: rfc3339(s.expires_at),
    });
    Ok(Me {
        user: MeUser {
            user: UserView::from(user),
            mfa: super::mfa::is_active(core, &user.id)?,
        },
        session,
        credential: CredentialInfo {
            kind: match who.credential {
                Credential::Session | Credential::OAuth | Credential::Client => "jwt",
                Credential::Pat => "pat",
            },
            scopes: who.scopes.clone(),
            expires_at: rfc3339(who.expires_at),
            amr: who
                .session
                .as_deref()
                .filter(|_| who.credential != Credential::Pat)
                .map(|s| s.amr.split(' ').map(str::to_owned).collect())
                .unwrap_or_default(),
        },
    })
}

/// Revokes the caller's session, or every session of the user. Its access tokens stop working
/// at once (`authenticate` checks the session). A PAT or a client's own token has no session,
/// and only a first-party session may end every session: `insufficient_scope`.
pub fn logout(
    core: &Core,
    who: &Principal,
    all_sessions: bool,
    caller: &Caller,
    now: Timestamp,
) -> Result<(), ApiError> {
    if all_sessions {
        who.require_first_party()?;
    }
    let sid = who
        .session_id
        .as_deref()
        .ok_or(ApiError::InsufficientScope(None))?;
    core.db.write(|tx| {
        let revoked = if all_sessions {
            sessions::revoke_all_for_user(tx, &who.user_id, RevokeReason::Logout, now)?
        } else {
            sessions::revoke(tx, sid, RevokeReason::Logout, None, now)?;
            1
        };
        who.record_own(
            tx,
            caller,
            now,
            "session_revoked",
            serde_json::json!({"reason": "logout", "all": all_sessions, "sessions": revoked}),
        )?;
        Ok::<_, StoreError>(())
    })?;
    Ok(())
}
