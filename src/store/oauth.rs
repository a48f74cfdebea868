//! Every statement on the OAuth grant tables: `oauth_consents`, `browser_sessions`,
//! `oauth_requests`, `oauth_codes` and `revoked_jtis`.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::core::clock::Timestamp;

/// The scopes `user` already allowed `client`, if any.
pub fn consent(
    conn: &Connection,
    user_id: &str,
    client_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT scope FROM oauth_consents WHERE user_id = ?1 AND client_id = ?2")?
        .query_row(params![user_id, client_id], |r| r.get(0))
        .optional()?)
}

/// Records (or widens) what `user` allowed `client`.
pub fn save_consent(
    conn: &Connection,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO oauth_consents (user_id, client_id, scope, granted_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
    )?
    .execute(params![user_id, client_id, scope, now])?;
    Ok(())
}

/// Starts a browser session for the cookie whose SHA-256 is `id_hash`, backed by `session_id`.
pub fn insert_browser_session(
    conn: &Connection,
    id_hash: &[u8],
    user_id: &str,
    session_id: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO browser_sessions (id_hash, user_id, session_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id_hash, user_id, session_id, now, expires_at])?;
    Ok(())
}

/// The user and session of a live browser session (its backing session not revoked).
/// A live browser session: who, its first-party session, how and when it signed in.
#[derive(Debug, Clone)]
pub struct BrowserRow {
    pub user_id: String,
    pub session_id: String,
    pub amr: String,
    pub signed_in_at: Timestamp,
}

pub fn browser_session(
    conn: &Connection,
    id_hash: &[u8],
    now: Timestamp,
) -> Result<Option<BrowserRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT b.user_id, b.session_id, s.amr, b.created_at FROM browser_sessions b JOIN sessions s ON s.id = b.session_id
              WHERE b.id_hash = ?1 AND b.expires_at > ?2 AND s.revoked_at IS NULL AND s.expires_at > ?2",
        )?
        .query_row(params![id_hash, now], |r| {
            Ok(BrowserRow {
                user_id: r.get(0)?,
                session_id: r.get(1)?,
                amr: r.get(2)?,
                signed_in_at: r.get(3)?,
            })
        })
        .optional()?)
}

pub fn delete_browser_session(conn: &Connection, id_hash: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM browser_sessions WHERE id_hash = ?1")?
        .execute([id_hash])?;
    Ok(())
}

/// Ends every browser session of a user.
pub fn delete_browser_sessions_for_user(
    conn: &Connection,
    user_id: &str,
) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM browser_sessions WHERE user_id = ?1")?
        .execute([user_id])?)
}

/// A client a user consented to.
#[derive(Debug, Clone)]
pub struct ConsentRow {
    pub client_id: String,
    pub client_name: Option<String>,
    pub scope: String,
    pub granted_at: Timestamp,
}

/// Every consent of a user, newest first.
pub fn list_consents(conn: &Connection, user_id: &str) -> Result<Vec<ConsentRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.client_id, k.name, c.scope, c.granted_at FROM oauth_consents c JOIN oauth_clients k ON k.id = c.client_id
          WHERE c.user_id = ?1 ORDER BY c.granted_at DESC",
    )?;
    let rows = stmt.query_map([user_id], |r| {
        Ok(ConsentRow {
            client_id: r.get(0)?,
            client_name: r.get(1)?,
            scope: r.get(2)?,
            granted_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Forgets a consent. False when there was none.
pub fn delete_consent(
    conn: &Connection,
    user_id: &str,
    client_id: &str,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM oauth_consents WHERE user_id = ?1 AND client_id = ?2")?
        .execute(params![user_id, client_id])?
        == 1)
}

/// An authorization request (or code) as stored.
#[derive(Debug, Clone)]
pub struct Grant {
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub redirect_given: bool,
    pub scope: String,
    pub code_challenge: String,
    pub browser_key: String,
    pub expires_at: Timestamp,
    /// How the browser's sign-in was made (RFC 8176, space-separated), for the tokens.
    pub amr: String,
    /// OpenID Connect's `nonce`, for the id_token.
    pub nonce: Option<String>,
    /// When the browser signed in (the id_token's `auth_time`).
    pub auth_time: Timestamp,
    /// The RFC 8707 resources named, space-separated ('' when none).
    pub resources: String,
}

/// A pending authorization request and, once decided, where its decision sent the browser.
#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: String,
    pub grant: Grant,
    pub state: Option<String>,
    pub decision_url: Option<String>,
    pub code_hash: Option<Vec<u8>>,
}

fn grant_from(row: &Row<'_>) -> rusqlite::Result<Grant> {
    Ok(Grant {
        client_id: row.get("client_id")?,
        user_id: row.get("user_id")?,
        redirect_uri: row.get("redirect_uri")?,
        redirect_given: row.get("redirect_given")?,
        scope: row.get("scope")?,
        code_challenge: row.get("code_challenge")?,
        browser_key: row.get("browser_key")?,
        expires_at: row.get("expires_at")?,
        amr: row.get("amr")?,
        nonce: row.get("nonce")?,
        auth_time: row.get("auth_time")?,
        resources: row.get("resources")?,
    })
}

pub fn insert_request(
    conn: &Connection,
    id: &str,
    g: &Grant,
    state: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO oauth_requests (id, client_id, user_id, redirect_uri, redirect_given, scope, state, code_challenge, browser_key, created_at, expires_at, amr, nonce, auth_time, resources)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![id, g.client_id, g.user_id, g.redirect_uri, g.redirect_given, g.scope, state, g.code_challenge, g.browser_key, now, g.expires_at, g.amr, g.nonce, g.auth_time, g.resources])?;
    Ok(())
}

pub fn find_request(conn: &Connection, id: &str) -> Result<Option<RequestRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, client_id, user_id, redirect_uri, redirect_given, scope, state, code_challenge, browser_key, expires_at, decision_url, code_hash, amr, nonce, auth_time, resources
               FROM oauth_requests WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(RequestRow {
                id: r.get("id")?,
                grant: grant_from(r)?,
                state: r.get("state")?,
                decision_url: r.get("decision_url")?,
                code_hash: r.get("code_hash")?,
            })
        })
        .optional()?)
}

/// Records the decision's redirect (and the code it carries) for replays.
pub fn decide_request(
    conn: &Connection,
    id: &str,
    url: &str,
    code_hash: Option<&[u8]>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE oauth_requests SET decision_url = ?2, code_hash = ?3 WHERE id = ?1",
    )?
    .execute(params![id, url, code_hash])?;
    Ok(())
}

/// A stored authorization code.
#[derive(Debug, Clone)]
pub struct CodeRow {
    pub grant: Grant,
    pub used_at: Option<Timestamp>,
    pub session_id: Option<String>,
}

pub fn insert_code(
    conn: &Connection,
    code_hash: &[u8],
    g: &Grant,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, redirect_given, scope, code_challenge, browser_key, created_at, expires_at, amr, nonce, auth_time, resources)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![code_hash, g.client_id, g.user_id, g.redirect_uri, g.redirect_given, g.scope, g.code_challenge, g.browser_key, now, g.expires_at, g.amr, g.nonce, g.auth_time, g.resources])?;
    Ok(())
}

pub fn find_code(conn: &Connection, code_hash: &[u8]) -> Result<Option<CodeRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT client_id, user_id, redirect_uri, redirect_given, scope, code_challenge, browser_key, expires_at, used_at, session_id, amr, nonce, auth_time, resources
               FROM oauth_codes WHERE code_hash = ?1",
        )?
        .query_row([code_hash], |r| {
            Ok(CodeRow { grant: grant_from(r)?, used_at: r.get("used_at")?, session_id: r.get("session_id")? })
        })
        .optional()?)
}

/// Marks a code used by the session it started. False if it was already used.
pub fn use_code(
    conn: &Connection,
    code_hash: &[u8],
    session_id: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("UPDATE oauth_codes SET used_at = ?3, session_id = ?2 WHERE code_hash = ?1 AND used_at IS NULL")?
        .execute(params![code_hash, session_id, now])?
        == 1)
}

/// Denies an access token's `jti` until `expires_at`.
pub fn revoke_jti(conn: &Connection, jti: &str, expires_at: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR IGNORE INTO revoked_jtis (jti, expires_at) VALUES (?1, ?2)")?
        .execute(params![jti, expires_at])?;
    Ok(())
}

/// Whether the deny list holds any access token.
pub fn any_revoked_jti(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM revoked_jtis)")?
        .query_row([], |r| r.get(0))?)
}

pub fn is_jti_revoked(conn: &Connection, jti: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM revoked_jtis WHERE jti = ?1")?
        .query_row([jti], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Deletes requests, codes, browser sessions and revoked ids that can no longer matter.
pub fn sweep(conn: &Connection, now: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM oauth_requests WHERE expires_at < ?1")?
        .execute([now - 3600])?;
    conn.prepare_cached("DELETE FROM oauth_codes WHERE expires_at < ?1")?
        .execute([now - 86_400])?;
    conn.prepare_cached("DELETE FROM browser_sessions WHERE expires_at < ?1")?
        .execute([now])?;
    conn.prepare_cached("DELETE FROM revoked_jtis WHERE expires_at < ?1")?
        .execute([now - 60])?;
    Ok(())
}
