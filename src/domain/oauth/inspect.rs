//! Token revocation (RFC 7009) and introspection (RFC 7662) for every kind of token this server
//! issues: access JWTs (HS256 for the appliance, ES256 for other resources), refresh tokens and
//! personal access tokens.

use serde_json::{Value, json};

use crate::core::Core;
use crate::core::clock::Timestamp;
use crate::core::token::{jws, jwt, refresh};
use crate::domain::auth::pats;
use crate::store::clients::ClientRow;
use crate::store::sessions::{self, RevokeReason, SessionRow};
use crate::store::{StoreError, oauth};

/// A refresh token's session when it is live and the token is current (or within the reuse interval).
fn live_refresh(
    core: &Core,
    token: &str,
    now: Timestamp,
) -> Result<Option<SessionRow>, StoreError> {
    let Some(claim) = refresh::open(core.keys().refresh_secret(), token) else {
        return Ok(None);
    };
    let Some(s) = core.db.read(|c| sessions::find(c, &claim.session_id))? else {
        return Ok(None);
    };
    let reuse = core.config.lifetimes.refresh_reuse;
    let current = claim.generation == s.generation
        || (claim.generation < s.generation
            && s.rotations
                .rotated_at(claim.generation)
                .is_some_and(|at| now - at <= reuse));
    let live = s.revoked.is_none()
        && now < s.expires_at
        && now < s.last_used_at + core.config.lifetimes.refresh_idle;
    Ok((current && live).then_some(s))
}

/// RFC 7662 §2.2: the answer for `token`; anything not active is only `{"active": false}`.
pub fn introspect(core: &Core, token: &str, now: Timestamp) -> Result<Value, StoreError> {
    let inactive = json!({ "active": false });
    if token.starts_with(refresh::PREFIX) {
        let Some(s) = live_refresh(core, token, now)? else {
            return Ok(inactive);
        };
        let mut v = json!({
            "active": true,
            "scope": s.scope.clone().unwrap_or_else(|| core.config.scopes.join(" ")),
            "sub": s.user_id,
            "exp": (s.last_used_at + core.config.lifetimes.refresh_idle).min(s.expires_at),
            "iat": s.created_at,
            "iss": core.issuer,
            "token_type": "refresh_token",
            "sid": s.id,
        });
        if let (Some(cid), Some(obj)) = (s.client_id, v.as_object_mut()) {
            obj.insert("client_id".into(), json!(cid));
        }
        return Ok(v);
    }
    if token.starts_with(pats::PREFIX) {
        return Ok(match pats::authenticate(core, token, now) {
            Ok(p) => json!({
                "active": true,
                "scope": p.scopes.join(" "),
                "sub": p.user_id,
                "exp": p.expires_at,
                "iss": core.issuer,
                "token_type": "personal_access_token",
            }),
            Err(_) => inactive,
        });
    }
    if let Some(answer) = introspect_resource_token(core, token, now)? {
        return Ok(answer);
    }
    let Ok(claims) = jwt::verify(&core.keys(), token, &core.issuer, &core.audience, now) else {
        return Ok(inactive);
    };
    if let Some(sid) = &claims.sid {
        let live = core
            .db
            .read(|c| sessions::find(c, sid))?
            .is_some_and(|s| s.revoked.is_none());
        if !live {
            return Ok(inactive);
        }
    }
    if core.db.read(|c| oauth::is_jti_revoked(c, &claims.jti))? {
        return Ok(inactive);
    }
    let mut v = json!({
        "active": true,
        "scope": claims.scope,
        "sub": claims.sub,
        "exp": claims.exp,
        "iat": claims.iat,
        "iss": claims.iss,
        "aud": claims.aud,
        "jti": claims.jti,
        "token_type": "Bearer",
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(cid) = claims.client_id {
            obj.insert("client_id".into(), json!(cid));
        }
        if let Some(sid) = claims.sid {
            obj.insert("sid".into(), json!(sid));
        }
    }
    Ok(v)
}

/// An access token for another resource (RFC 9068, signed with an asymmetric key): `None` when
/// the token is not one, else its answer (active while unexpired and its session lives).
fn introspect_resource_token(
    core: &Core,
    token: &str,
    now: Timestamp,
) -> Result<Option<Value>, StoreError> {
    let keys = core.keys();
    let Some(seen) = jws::verify(keys.published(), token) else {
        return Ok(None);
    };
    let c = &seen.payload;
    let exp = c["exp"].as_i64().unwrap_or(0);
    let fresh = seen.typ.as_deref() == Some("at+jwt")
        && c["iss"].as_str() == Some(core.issuer.as_str())
        && exp + jwt::LEEWAY_SECS > now;
    let session_live = match c["sid"].as_str() {
        Some(sid) => core
            .db
            .read(|db| sessions::find(db, sid))?
            .is_some_and(|s| s.revoked.is_none()),
        None => true,
    };
    let revoked = match c["jti"].as_str() {
        Some(jti) => core.db.read(|db| oauth::is_jti_revoked(db, jti))?,
        None => true,
    };
    if !fresh || !session_live || revoked {
        return Ok(Some(json!({ "active": false })));
    }
    let mut v = json!({
        "active": true,
        "scope": c["scope"],
        "sub": c["sub"],
        "exp": exp,
        "iat": c["iat"],
        "iss": c["iss"],
        "aud": c["aud"],
        "jti": c["jti"],
        "client_id": c["client_id"],
        "token_type": "Bearer",
    });
    if let (Some(sid), Some(obj)) = (c.get("sid"), v.as_object_mut()) {
        obj.insert("sid".into(), sid.clone());
    }
    Ok(Some(v))
}

/// RFC 7009 §2.1: revokes a refresh token (its whole grant) or an access JWT (until it expires)
/// that was issued to `client`. Unknown tokens, or another client's, change nothing.
pub fn revoke(
    core: &Core,
    client: &ClientRow,
    token: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    if let Some(claim) = refresh::open(core.keys().refresh_secret(), token) {
        let owned = core
            .db
            .read(|c| sessions::find(c, &claim.session_id))?
            .is_some_and(|s| s.client_id.as_deref() == Some(client.id.as_str()));
        if owned {
            core.db.write(|tx| {
                sessions::revoke(tx, &claim.session_id, RevokeReason::Revoked, None, now)
            })?;
        }
        return Ok(());
    }
    // An access token for another resource: its jti on the same deny list, which
    // introspection consults.
    if let Some(seen) = jws::verify(core.keys().published(), token)
        && seen.payload["client_id"].as_str() == Some(client.id.as_str())
        && let (Some(jti), Some(exp)) = (seen.payload["jti"].as_str(), seen.payload["exp"].as_i64())
    {
        core.db
            .write(|tx| oauth::revoke_jti(tx, jti, exp + jwt::LEEWAY_SECS))?;
        return Ok(());
    }
    if let Ok(claims) = jwt::verify(&core.keys(), token, &core.issuer, &core.audience, now)
        && claims.client_id.as_deref() == Some(client.id.as_str())
    {
        core.revoked_jtis
            .store(true, std::sync::atomic::Ordering::Relaxed);
        core.db
            .write(|tx| oauth::revoke_jti(tx, &claims.jti, claims.exp + jwt::LEEWAY_SECS))?;
    }
    Ok(())
}
