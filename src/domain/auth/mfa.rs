//! Second factors (API.md, "Second factors"): TOTP enrolment (a pending secret, confirmed by a
//! code), ten single-use recovery codes, removal and regeneration, and the second step of a
//! password sign-in (the `mfaToken`). The secret is sealed under the key file; recovery codes and
//! `mfaToken`s are stored as MACs and hashes. A code is checked against every candidate (three
//! TOTP steps and every unused recovery code) whatever matches, so the time taken does not tell
//! which check failed.

use std::collections::HashSet;

use serde::Serialize;

use super::fresh_id;
use super::session::Principal;
use crate::core::Core;
use crate::core::clock::{Timestamp, rfc3339};
use crate::core::token::opaque::{RandomUnavailable, ct_eq, hmac_sha256, random_bytes, sha256};
use crate::core::token::seal::{self, SealKey};
use crate::core::token::totp;
use crate::domain::audit::Caller;
use crate::domain::error::ApiError;
use crate::store::passkeys::{self, PasskeyRow};
use crate::store::users::{self, UserRow};
use crate::store::{Db, StoreError, Tx, mfa};

/// How long an `mfaToken` answers.
pub const CHALLENGE_SECS: i64 = 300;
/// The wrong code that kills an `mfaToken`.
const CHALLENGE_FAILURES: i64 = 5;
/// Recovery codes per set.
const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (base32: 50 bits), shown as two groups of five.
const RECOVERY_LEN: usize = 10;

/// What a second-factor code proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Totp,
    Recovery,
}

impl Method {
    /// The `amr` (RFC 8176) of a password sign-in completed with this method.
    pub fn amr(self) -> &'static str {
        match self {
            Method::Totp => "pwd otp mfa",
            Method::Recovery => "pwd mfa",
        }
    }

    /// The `method` label of `gharart_mfa_verifications_total`.
    pub fn label(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::Recovery => "recovery",
        }
    }
}

/// `GET /v2/auth/mfa`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub totp: Option<TotpStatus>,
    pub passkeys: Vec<Passkey>,
    pub recovery_codes_left: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TotpStatus {
    /// False while the set-up waits for its confirming code.
    pub enabled: bool,
    pub created_at: String,
}

/// A passkey as `GET /v2/auth/mfa` and `register/finish` show it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Passkey {
    pub id: String,
    pub name: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Option<String>>,
}

impl Passkey {
    pub(super) fn listed(row: &PasskeyRow) -> Passkey {
        Passkey {
            id: row.id.clone(),
            name: row.name.clone(),
            created_at: rfc3339(row.created_at),
            last_used_at: Some(row.last_used_at.map(rfc3339)),
        }
    }
}

/// A started TOTP set-up: the secret as text and as the URI a QR code carries.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

/// A fresh set of recovery codes, shown once.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// The answer to a right password when a second factor is active.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    pub mfa_required: bool,
    pub mfa_token: String,
    pub methods: [&'static str; 2],
    pub expires_at: String,
    /// Who signs in (for the request record), not part of the API body.
    #[serde(skip)]
    pub user_id: String,
}

/// Whether the user has an active TOTP (what `user.mfa` and the second step go by).
pub fn is_active(core: &Core, user_id: &str) -> Result<bool, ApiError> {
    Ok(core
        .db
        .read(|c| mfa::find_totp(c, user_id))?
        .is_some_and(|t| t.active))
}

/// The caller's second factors.
pub fn status(core: &Core, who: &Principal) -> Result<Status, ApiError> {
    // A signed-in session only: an app or a PAT does not learn how the account is guarded.
    who.require_first_party()?;
    let (totp, left, keys) = core.db.read_snapshot(|c| {
        Ok::<_, StoreError>((
            mfa::find_totp(c, &who.user_id)?,
            mfa::unused_recovery_codes(c, &who.user_id)?.len(),
            passkeys::list(c, &who.user_id)?,
        ))
    })?;
    Ok(Status {
        totp: totp.map(|t| TotpStatus {
            enabled: t.active,
            created_at: rfc3339(t.created_at),
        }),
        passkeys: keys.iter().map(Passkey::listed).collect(),
        recovery_codes_left: left,
    })
}

/// Starts (or restarts) a TOTP set-up for the caller, a signed-in session's owner: 409
/// `mfa_already_enabled` while one is active.
pub fn start_totp(core: &Core, who: &Principal, now: Timestamp) -> Result<Enrolment, ApiError> {
    who.require_first_party()?;
    let user = user_of(core, who)?;
    let secret = totp::new_secret().map_err(internal)?;
    let sealed = totp_key(core)
        .seal(user.id.as_bytes(), &secret)
        .map_err(internal)?;
    core.db.write(|tx| {
        if mfa::find_totp(tx, &user.id)?.is_some_and(|t| t.active) {
            return Err(ApiError::MfaAlreadyEnabled);
        }
        mfa::put_pending_totp(tx, &user.id, &sealed, now)?;
        Ok(())
    })?;
    Ok(Enrolment {
        secret: totp::base32(&secret),
        otpauth_uri: totp::otpauth_uri(&issuer_host(&core.issuer), &user.handle, &secret),
    })
}

/// The set-up waiting for its confirming code, as it was shown (the secret opened again), so a
/// page reloaded or a mistyped code does not lose what the user already scanned.
pub fn pending(core: &Core, who: &Principal) -> Result<Option<Enrolment>, ApiError> {
    let Some(row) = core
        .db
        .read(|c| mfa::find_totp(c, &who.user_id))?
        .filter(|t| !t.active)
    else {
        return Ok(None);
    };
    let secret = totp_key(core)
        .open(who.user_id.as_bytes(), &row.sealed_secret)
        .ok_or_else(|| ApiError::Internal("a TOTP secret does not open".into()))?;
    let user = user_of(core, who)?;
    Ok(Some(Enrolment {
        secret: totp::base32(&secret),
        otpauth_uri: totp::otpauth_uri(&issuer_host(&core.issuer), &user.handle, &secret),
    }))
}

/// Confirms the pending set-up with a current code: TOTP guards sign-in from now on, and the
/// first set of recovery codes is returned (once).
pub fn confirm_totp(
    core: &Core,
    who: &Principal,
    code: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<RecoveryCodes, ApiError> {
    who.require_first_party()?;
    let pepper = *core.keys().code_pepper();
    let (codes, macs) = new_recovery_codes(&pepper, &who.user_id)?;
    let key = totp_key(core);
    let verdict = core.db.write(|tx| {
        let Some(row) = mfa::find_totp(tx, &who.user_id)? else {
            return Ok(Err(ApiError::MfaNotEnabled));
        };
        if row.active {
            return Ok(Err(ApiError::MfaAlreadyEnabled));
        }
        let secret = key
            .open(who.user_id.as_bytes(), &row.sealed_secret)
            .ok_or_else(|| StoreError::Broken("a TOTP secret does not open".into()))?;
        match matching_step(&secret, code, row.last_step, now) {
            Some(step) => {
                mfa::activate_totp(tx, &who.user_id, step)?;
                mfa::replace_recovery_codes(tx, &who.user_id, &macs, now)?;
                who.record_own(
                    tx,
                    caller,
                    now,
                    "second_factor_added",
                    serde_json::json!({"method": "totp"}),
                )?;
                Ok(Ok(()))
            }
            None => Ok::<_, StoreError>(Err(ApiError::CodeInvalid)),
        }
    })?;
    count(core, verdict.as_ref().map(|()| Method::Totp), code);
    verdict?;
    Ok(RecoveryCodes {
        recovery_codes: codes,
    })
}

/// Removes TOTP and the recovery codes, given a current code or a recovery code: 400
/// `code_invalid` otherwise.
pub fn remove_totp(
    core: &Core,
    who: &Principal,
    code: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<(), ApiError> {
    with_factor(core, who, code, now, |tx| {
        mfa::end_challenges_of(tx, &who.user_id, now)?;
        mfa::delete_all(tx, &who.user_id)?;
        who.record_own(
            tx,
            caller,
            now,
            "second_factor_removed",
            serde_json::json!({"method": "totp"}),
        )
    })
}

/// A fresh set of recovery codes, given a current code or a recovery code; the old set dies.
pub fn regenerate_recovery_codes(
    core: &Core,
    who: &Principal,
    code: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<RecoveryCodes, ApiError> {
    let pepper = *core.keys().code_pepper();
    let (codes, macs) = new_recovery_codes(&pepper, &who.user_id)?;
    with_factor(core, who, code, now, |tx| {
        mfa::replace_recovery_codes(tx, &who.user_id, &macs, now)?;
        who.record_own(
            tx,
            caller,
            now,
            "recovery_codes_regenerated",
            serde_json::json!({}),
        )
    })?;
    Ok(RecoveryCodes {
        recovery_codes: codes,
    })
}

/// Runs `change` in the transaction that accepts `code` (a TOTP or a recovery code, spent) for
/// the caller's active factor: 400 `code_invalid` if it is wrong, 409 `mfa_not_enabled` without
/// an active factor.
fn with_factor(
    core: &Core,
    who: &Principal,
    code: &str,
    now: Timestamp,
    change: impl FnOnce(&Tx<'_>) -> Result<(), StoreError>,
) -> Result<(), ApiError> {
    who.require_first_party()?;
    let pepper = *core.keys().code_pepper();
    let key = totp_key(core);
    // As the second step of sign-in: under the user's back-off, counted in the transaction that
    // checks the code, so a stolen session cannot guess its way to turning the factor off.
    let verdict = core.db.write(|tx| {
        if let Err(e) = core.throttle.factor_gate(&who.user_id, now) {
            return Ok(Err(e.into()));
        }
        Ok::<_, StoreError>(
            match verify_in(tx, &key, &pepper, &who.user_id, code, now)? {
                Verified::Yes(method) => {
                    core.throttle.factor_succeeded(&who.user_id);
                    change(tx)?;
                    Ok(method)
                }
                Verified::No => {
                    core.throttle.factor_failed(&who.user_id, now);
                    Err(ApiError::CodeInvalid)
                }
                Verified::NotEnabled => Err(ApiError::MfaNotEnabled),
            },
        )
    })?;
    count(core, verdict.as_ref().copied(), code);
    verdict.map(drop)
}

/// After a right password: the challenge of the second step if `user` has an active TOTP,
/// else `None` (the sign-in is complete).
pub fn challenge_if_enabled(
    core: &Core,
    user: &UserRow,
    user_agent: Option<&str>,
    now: Timestamp,
) -> Result<Option<Challenge>, ApiError> {
    if !is_active(core, &user.id)? {
        return Ok(None);
    }
    let token = fresh_id("mfa_")?;
    let expires_at = now + CHALLENGE_SECS;
    core.db.write(|tx| {
        mfa::insert_challenge(
            tx,
            &sha256(token.as_bytes()),
            &user.id,
            user_agent,
            now,
            expires_at,
        )
    })?;
    Ok(Some(Challenge {
        mfa_required: true,
        mfa_token: token,
        methods: ["totp", "recovery"],
        expires_at: rfc3339(expires_at),
        user_id: user.id.clone(),
    }))
}

/// A completed second step: who signed in, how (`amr`), and the user agent of the first step.
pub struct Passed {
    pub user: UserRow,
    pub method: Method,
    pub user_agent: Option<String>,
}

/// The second step: `code` (a TOTP or a recovery code) against the challenge of `mfa_token`.
/// Errors: 401 `mfa_token_invalid` (unknown, used, or killed by wrong codes),
/// `mfa_token_expired`, `code_invalid` (the 5th kills the token), `login_backoff` (per user, as
/// the first step), `account_disabled`.
pub fn pass(core: &Core, mfa_token: &str, code: &str, now: Timestamp) -> Result<Passed, ApiError> {
    let hash = sha256(mfa_token.as_bytes());
    let pepper = *core.keys().code_pepper();
    let key = totp_key(core);
    // One write transaction from the claim of the challenge to the verdict: requests for the
    // same user run one after another, each sees the back-off and the count the ones before it
    // left, and a request for a token that ended meanwhile spends no code.
    let outcome = core.db.write(|tx| {
        let Some(challenge) = mfa::find_challenge(tx, &hash)?.filter(|c| !c.ended) else {
            return Ok::<_, StoreError>(Err(ApiError::MfaTokenInvalid));
        };
        if challenge.expires_at <= now {
            return Ok(Err(ApiError::MfaTokenExpired));
        }
        if let Err(e) = core.throttle.factor_gate(&challenge.user_id, now) {
            return Ok(Err(e.into()));
        }
        let method = match verify_in(tx, &key, &pepper, &challenge.user_id, code, now)? {
            Verified::Yes(method) => method,
            Verified::No => {
                mfa::fail_challenge(tx, &hash, CHALLENGE_FAILURES, now)?;
                core.throttle.factor_failed(&challenge.user_id, now);
                return Ok(Err(ApiError::MfaCodeInvalid));
            }
            // The factor was removed since the password step: this sign-in is over.
            Verified::NotEnabled => return Ok(Err(ApiError::MfaTokenInvalid)),
        };
        mfa::end_challenge(tx, &hash, now)?;
        core.throttle.factor_succeeded(&challenge.user_id);
        let user = users::find_by_id(tx, &challenge.user_id)?
            .ok_or_else(|| StoreError::Broken("a challenge without its user".into()))?;
        Ok(Ok(Passed {
            user,
            method,
            user_agent: challenge.user_agent,
        }))
    })?;
    count(core, outcome.as_ref().map(|p| p.method), code);
    let passed = outcome?;
    if passed.user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    Ok(passed)
}

/// The ids of the users with an active TOTP or a passkey (for `users list`).
pub fn enrolled(db: &Db) -> Result<HashSet<String>, StoreError> {
    db.read_snapshot(|c| {
        let mut ids: HashSet<String> = mfa::users_with_totp(c)?.into_iter().collect();
        ids.extend(passkeys::users_with_passkeys(c)?);
        Ok(ids)
    })
}

enum Verified {
    Yes(Method),
    No,
    NotEnabled,
}

/// Checks `code` against the user's active TOTP (the steps around `now`, each accepted once)
/// and unused recovery codes, spending what matched. Every candidate is computed and compared
/// whatever the code looks like.
fn verify_in(
    tx: &Tx<'_>,
    key: &SealKey,
    pepper: &[u8; 32],
    user_id: &str,
    code: &str,
    now: Timestamp,
) -> Result<Verified, StoreError> {
    let Some(row) = mfa::find_totp(tx, user_id)?.filter(|t| t.active) else {
        return Ok(Verified::NotEnabled);
    };
    let secret = key
        .open(user_id.as_bytes(), &row.sealed_secret)
        .ok_or_else(|| StoreError::Broken("a TOTP secret does not open".into()))?;
    let step = matching_step(&secret, code, row.last_step, now);
    let recovery_mac = recovery_mac(
        pepper,
        user_id,
        &normalize_recovery(code).unwrap_or_default(),
    );
    let unused = mfa::unused_recovery_codes(tx, user_id)?;
    let recovery = unused.iter().fold(None, |hit, mac| {
        if ct_eq(mac, &recovery_mac) {
            Some(mac)
        } else {
            hit
        }
    });
    if let Some(step) = step
        && mfa::spend_step(tx, user_id, step)?
    {
        return Ok(Verified::Yes(Method::Totp));
    }
    if let Some(mac) = recovery.filter(|_| normalize_recovery(code).is_some())
        && mfa::use_recovery_code(tx, user_id, mac, now)?
    {
        return Ok(Verified::Yes(Method::Recovery));
    }
    Ok(Verified::No)
}

/// The step, one either side of now's, whose code `code` is and which is later than
/// `last_step` (a spent step and every earlier one are refused). All three are computed.
fn matching_step(secret: &[u8], code: &str, last_step: i64, now: Timestamp) -> Option<i64> {
    let given = totp::normalize(code).unwrap_or_default();
    let current = totp::step_of(now);
    let mut found = None;
    for step in [current - 1, current, current + 1] {
        let expected = totp::code_at(secret, step);
        if ct_eq(expected.as_bytes(), given.as_bytes()) && step > last_step && found.is_none() {
            found = Some(step);
        }
    }
    found
}

const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A new set of recovery codes (`xxxxx-xxxxx`) and their MACs.
fn new_recovery_codes(
    pepper: &[u8; 32],
    user_id: &str,
) -> Result<(Vec<String>, Vec<[u8; 32]>), ApiError> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut macs = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let bytes = random_bytes::<RECOVERY_LEN>().map_err(internal)?;
        let plain: String = bytes
            .iter()
            .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 0x1f)]))
            .collect();
        macs.push(recovery_mac(pepper, user_id, &plain));
        codes.push(format!("{}-{}", &plain[..5], &plain[5..]));
    }
    Ok((codes, macs))
}

/// A recovery code as typed (any case, spaces and dashes anywhere), or `None` if it cannot be one.
fn normalize_recovery(text: &str) -> Option<String> {
    let plain: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (plain.len() == RECOVERY_LEN && plain.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
        .then_some(plain)
}

fn recovery_mac(pepper: &[u8; 32], user_id: &str, plain: &str) -> [u8; 32] {
    hmac_sha256(
        pepper,
        &[b"recovery\n", user_id.as_bytes(), b"\n", plain.as_bytes()],
    )
}

fn totp_key(core: &Core) -> SealKey {
    SealKey::derive(core.keys().code_pepper(), seal::TOTP)
}

/// The caller's user: as read with the credential, or from the database (a browser's
/// principal carries none).
/// The principal's user row (the one it carries, or read).
pub(super) fn user_of(core: &Core, who: &Principal) -> Result<UserRow, ApiError> {
    if let Some(user) = who.user.as_deref() {
        return Ok(user.clone());
    }
    core.db
        .read(|c| users::find_by_id(c, &who.user_id))?
        .ok_or(ApiError::InvalidToken("the token's user does not exist"))
}

/// The issuer's host, as the label of an authenticator entry.
fn issuer_host(issuer: &str) -> String {
    let rest = issuer.split_once("://").map_or(issuer, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// Counts a checked code in `gharart_mfa_verifications_total`: a right one by its method, a
/// wrong one by what its shape suggests. Other refusals (no factor, a back-off, an ended token)
/// checked no code and count nothing.
fn count(core: &Core, verdict: Result<Method, &ApiError>, code: &str) {
    match verdict {
        Ok(method) => core.metrics.mfa_verification(method.label(), "ok"),
        Err(ApiError::CodeInvalid | ApiError::MfaCodeInvalid) => core
            .metrics
            .mfa_verification(shape_of(code).label(), "invalid"),
        Err(_) => {}
    }
}

/// The method a code's shape suggests, for counting a wrong one.
fn shape_of(code: &str) -> Method {
    if totp::normalize(code).is_some() {
        Method::Totp
    } else {
        Method::Recovery
    }
}

fn internal(e: RandomUnavailable) -> ApiError {
    ApiError::Internal(e.to_string())
}
