//! Passkeys (API.md, "Second factors"): adding one to a signed-in account, removing it, and
//! signing in with one, which is a whole sign-in (`amr` `hwk` or `swk`, with `user`). A ceremony
//! is kept between its start and its finish by the hash of its `challengeId`, taken out by the
//! first finish that gets as far as the signature checks (single use) and dead after 5 minutes.
//! Every failure is `passkey_invalid` naming the check. What can be refused without the
//! ceremony's cryptography (an unknown, expired or foreign challenge; an answer that does not
//! parse) is refused before the challenge is spent, so bad input changes nothing.

use serde::Serialize;

use super::login;
use super::mfa::{Passkey, user_of};
use super::session::Principal;
use super::{SessionView, fresh_id};
use crate::core::Core;
use crate::core::clock::{Timestamp, rfc3339};
use crate::core::passkey::{
    Assertion, Ceremony, Known, PasskeyError, PasskeyUser, RelyingParty, StoredCredential,
    USER_HANDLE_LEN, new_user_handle, user_handle_of,
};
use crate::core::token::opaque::{hmac_sha256, random_bytes, sha256};
use crate::domain::audit::Caller;
use crate::domain::error::ApiError;
use crate::store::StoreError;
use crate::store::passkeys::{self, NewPasskey};
use crate::store::users::{self, UserRow};

/// How long a ceremony waits for its finish.
pub const CHALLENGE_SECS: i64 = 300;
/// The longest passkey name.
const NAME_MAX: usize = 64;

/// A started ceremony, as `register/start` and `login/start` answer it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub challenge_id: String,
    pub public_key: serde_json::Value,
}

/// Starts adding a passkey to the caller's account (a signed-in session only).
pub fn start_registration(
    core: &Core,
    who: &Principal,
    now: Timestamp,
) -> Result<Started, ApiError> {
    who.require_first_party()?;
    let user = user_of(core, who)?;
    let fresh = new_user_handle().map_err(|e| ApiError::Internal(e.to_string()))?;
    let (handle, existing) = core.db.write(|tx| {
        let handle = passkeys::ensure_handle(tx, &user.id, &fresh)?;
        Ok::<_, crate::store::StoreError>((handle, passkeys::list(tx, &user.id)?))
    })?;
    let known: Vec<Known<'_>> = existing
        .iter()
        .map(|p| Known {
            id: &p.credential_id,
            transports: p.transports,
        })
        .collect();
    let started = relying_party(core)?
        .start_registration(
            &PasskeyUser {
                handle: handle_bytes(&handle)?,
                name: &user.handle,
                display_name: Some(user.display_name.as_deref().unwrap_or(&user.handle)),
            },
            &known,
        )
        .map_err(refused)?;
    keep(core, Ceremony::Register, Some(&user.id), started, now)
}

/// Finishes adding a passkey: the browser's `RegistrationResponseJSON` for the caller's own
/// ceremony, and a name for the list.
pub fn finish_registration(
    core: &Core,
    who: &Principal,
    challenge_id: &str,
    name: &str,
    credential: &serde_json::Value,
    caller: &Caller,
    now: Timestamp,
) -> Result<Passkey, ApiError> {
    who.require_first_party()?;
    let name = valid_name(name)?;
    let json = serde_json::to_vec(credential).map_err(|e| ApiError::Internal(e.to_string()))?;
    let ceremony = peek(core, challenge_id, now)?;
    if ceremony.kind != Ceremony::Register || ceremony.user_id.as_deref() != Some(&who.user_id) {
        return Err(invalid("the challenge is not this account's registration"));
    }
    let rp = relying_party(core)?;
    let answer = rp.parse_registration(&json).map_err(refused)?;
    take(core, challenge_id)?;
    let new = rp
        .finish_registration(&ceremony.state, &answer)
        .map_err(refused)?;
    let id = fresh_id("pk_")?;
    let stored = core.db.write(|tx| {
        let stored = passkeys::insert(
            tx,
            &NewPasskey {
                id: &id,
                user_id: &who.user_id,
                credential_id: &new.id,
                public_key: &new.public_key,
                state: &new.state,
                transports: new.transports,
                synced: new.synced,
                name,
                now,
            },
        )?;
        if stored {
            who.record_own(
                tx,
                caller,
                now,
                "second_factor_added",
                serde_json::json!({"method": "passkey", "passkeyId": id, "synced": new.synced}),
            )?;
        }
        Ok::<_, StoreError>(stored)
    })?;
    if !stored {
        return Err(invalid("this passkey is registered already"));
    }
    core.metrics.mfa_verification("passkey", "registered");
    Ok(Passkey {
        id,
        name: name.to_owned(),
        created_at: rfc3339(now),
        last_used_at: None,
    })
}

/// Removes one of the caller's passkeys: 404 when they have none by that id.
pub fn remove(
    core: &Core,
    who: &Principal,
    id: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<(), ApiError> {
    who.require_first_party()?;
    let removed = core.db.write(|tx| {
        let removed = passkeys::delete(tx, &who.user_id, id)?;
        if removed {
            who.record_own(
                tx,
                caller,
                now,
                "second_factor_removed",
                serde_json::json!({"method": "passkey", "passkeyId": id}),
            )?;
        }
        Ok::<_, StoreError>(removed)
    })?;
    if removed {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Starts a sign-in: for any passkey of this site the browser holds, or, given a login, for that
/// account's passkeys. An unknown login (or one without passkeys) gets a ceremony that looks the
/// same, for a credential id derived from the login that no authenticator holds, so the answer
/// does not tell which logins exist.
pub fn start_sign_in(
    core: &Core,
    login: Option<&str>,
    now: Timestamp,
) -> Result<Started, ApiError> {
    let rp = relying_party(core)?;
    let Some(login) = login.map(str::trim).filter(|l| !l.is_empty()) else {
        let started = rp.start_sign_in(None).map_err(refused)?;
        return keep(core, Ceremony::Discoverable, None, started, now);
    };
    let user = find_login(core, login)?;
    let rows = match &user {
        Some(u) => core.db.read(|c| passkeys::list(c, &u.id))?,
        None => Vec::new(),
    };
    // Only a login without passkeys needs the decoy (and its HMAC).
    let decoy = rows.is_empty().then(|| {
        hmac_sha256(
            core.keys().code_pepper(),
            &[b"passkey-decoy:", login.to_lowercase().as_bytes()],
        )
    });
    let known: Vec<Known<'_>> = if let Some(decoy) = &decoy {
        vec![Known {
            id: decoy,
            transports: 0,
        }]
    } else {
        rows.iter()
            .map(|p| Known {
                id: &p.credential_id,
                transports: p.transports,
            })
            .collect()
    };
    let started = rp.start_sign_in(Some(&known)).map_err(refused)?;
    let owner = user.filter(|_| !rows.is_empty()).map(|u| u.id);
    keep(core, Ceremony::Listed, owner.as_deref(), started, now)
}

/// Finishes a sign-in with a passkey: the browser's `AuthenticationResponseJSON` for a started
/// sign-in. Returns the user and the `amr` of the session to start.
fn check_sign_in(
    core: &Core,
    challenge_id: &str,
    credential: &serde_json::Value,
    now: Timestamp,
) -> Result<(UserRow, &'static str), ApiError> {
    let json = serde_json::to_vec(credential).map_err(|e| ApiError::Internal(e.to_string()))?;
    let ceremony = peek(core, challenge_id, now)?;
    let assertion = Assertion::parse(ceremony.kind, &json).map_err(refused)?;
    take(core, challenge_id)?;
    let outcome = verify_sign_in(core, &ceremony, &assertion, now);
    core.metrics
        .mfa_verification("passkey", if outcome.is_ok() { "ok" } else { "failed" });
    outcome
}

fn verify_sign_in(
    core: &Core,
    ceremony: &Taken,
    assertion: &Assertion,
    now: Timestamp,
) -> Result<(UserRow, &'static str), ApiError> {
    let credential_id = assertion.credential_id();
    let Some(row) = core
        .db
        .read(|c| passkeys::find_by_credential(c, &credential_id))?
    else {
        return Err(invalid(
            "this passkey is not registered (it may have been removed)",
        ));
    };
    if ceremony.kind == Ceremony::Listed && ceremony.user_id.as_deref() != Some(&row.user_id) {
        return Err(invalid("this passkey is not one the login's account has"));
    }
    if let Some(handle) = user_handle_of(assertion)
        && handle[..] != row.handle[..]
    {
        return Err(invalid("the user handle is not this passkey's"));
    }
    let checked = relying_party(core)?
        .finish_sign_in(
            &ceremony.state,
            assertion,
            &StoredCredential {
                id: &credential_id,
                user_handle: handle_bytes(&row.handle)?,
                public_key: &row.public_key,
                state: row.state.as_slice().try_into().map_err(|_| {
                    ApiError::Internal("a passkey's stored state is damaged".into())
                })?,
            },
        )
        .map_err(refused)?;
    let user = core
        .db
        .read(|c| users::find_by_id(c, &row.user_id))?
        .ok_or_else(|| invalid("this passkey's account no longer exists"))?;
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    if !core
        .db
        .write(|tx| passkeys::record_use(tx, &row.id, &row.state, &checked.state, now))?
    {
        return Err(invalid(
            "this passkey signed in at the same moment elsewhere; try again",
        ));
    }
    Ok((
        user,
        if checked.synced {
            "swk user"
        } else {
            "hwk user"
        },
    ))
}

/// A passkey sign-in for the API: a session, as a login answers.
pub fn sign_in(
    core: &Core,
    challenge_id: &str,
    credential: &serde_json::Value,
    caller: &Caller,
    now: Timestamp,
) -> Result<SessionView, ApiError> {
    let (user, amr) = check_sign_in(core, challenge_id, credential, now)?;
    login::api_session(core, &user, amr, caller, now)
}

/// A passkey sign-in for the pages: the browser session.
pub fn sign_in_browser(
    core: &Core,
    challenge_id: &str,
    credential: &serde_json::Value,
    caller: &Caller,
    now: Timestamp,
) -> Result<(UserRow, String), ApiError> {
    let (user, amr) = check_sign_in(core, challenge_id, credential, now)?;
    login::browser_session(core, user, amr, caller, now)
}

/// A ceremony as the database keeps it.
struct Taken {
    kind: Ceremony,
    user_id: Option<String>,
    state: Vec<u8>,
}

fn keep(
    core: &Core,
    kind: Ceremony,
    user_id: Option<&str>,
    started: crate::core::passkey::Started,
    now: Timestamp,
) -> Result<Started, ApiError> {
    let secret = random_bytes::<24>().map_err(|e| ApiError::Internal(e.to_string()))?;
    let challenge_id = format!("pkc_{}", crate::core::token::opaque::b64url(&secret));
    core.db.write(|tx| {
        passkeys::insert_challenge(
            tx,
            &sha256(challenge_id.as_bytes()),
            kind.as_str(),
            user_id,
            &started.state,
            now + CHALLENGE_SECS,
        )
    })?;
    Ok(Started {
        challenge_id,
        public_key: started.options,
    })
}

/// The ceremony, left in place: unknown, used or expired → 401.
fn peek(core: &Core, challenge_id: &str, now: Timestamp) -> Result<Taken, ApiError> {
    let row = core
        .db
        .read(|c| passkeys::find_challenge(c, &sha256(challenge_id.as_bytes())))?
        .ok_or_else(|| invalid("the challenge is unknown or already used: start again"))?;
    if row.expires_at <= now {
        return Err(invalid(
            "the challenge has expired (it lives 5 minutes): start again",
        ));
    }
    Ok(Taken {
        kind: Ceremony::parse(&row.ceremony)
            .ok_or_else(|| ApiError::Internal(format!("unknown ceremony {}", row.ceremony)))?,
        user_id: row.user_id,
        state: row.state,
    })
}

/// Takes the ceremony out: from here it is spent, whatever the checks find. Only the first of
/// two finishes racing on one challenge gets it.
fn take(core: &Core, challenge_id: &str) -> Result<(), ApiError> {
    if core
        .db
        .write(|tx| passkeys::take_challenge(tx, &sha256(challenge_id.as_bytes())))?
    {
        Ok(())
    } else {
        Err(invalid(
            "the challenge is unknown or already used: start again",
        ))
    }
}

fn valid_name(name: &str) -> Result<&str, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "name",
            format!("a name of 1 to {NAME_MAX} characters, without control characters"),
        ));
    }
    Ok(name)
}

fn find_login(core: &Core, login: &str) -> Result<Option<UserRow>, ApiError> {
    Ok(if login.contains('@') {
        core.db.read(|c| users::find_by_email(c, login))?
    } else {
        core.db
            .read(|c| users::find_by_handle(c, &login.to_lowercase()))?
    })
}

fn handle_bytes(handle: &[u8]) -> Result<[u8; USER_HANDLE_LEN], ApiError> {
    handle
        .try_into()
        .map_err(|_| ApiError::Internal("a stored user handle has the wrong length".into()))
}

fn relying_party(core: &Core) -> Result<RelyingParty, ApiError> {
    RelyingParty::for_issuer(&core.issuer).map_err(refused)
}

fn refused(e: PasskeyError) -> ApiError {
    ApiError::PasskeyInvalid(e.0)
}

fn invalid(check: &str) -> ApiError {
    ApiError::PasskeyInvalid(check.to_owned())
}
