//! Every statement on `oauth_clients`.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::core::clock::Timestamp;

/// A registered OAuth client.
#[derive(Debug, Clone)]
pub struct ClientRow {
    pub id: String,
    pub secret_hash: Option<Vec<u8>>,
    pub name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub auth_method: String,
    pub scope: String,
    pub metadata: String,
    pub owner_id: Option<String>,
    pub created_at: Timestamp,
}

const COLUMNS: &str = "id, secret_hash, name, redirect_uris, grant_types, auth_method, scope, metadata, owner_id, created_at";

impl ClientRow {
    /// The registered `post_logout_redirect_uris` (RP-Initiated Logout).
    pub fn post_logout_redirect_uris(&self) -> Vec<String> {
        serde_json::from_str::<serde_json::Value>(&self.metadata)
            .ok()
            .and_then(|m| {
                m.get("post_logout_redirect_uris")?.as_array().map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
            })
            .unwrap_or_default()
    }

    /// The registered `id_token_signed_response_alg` (clients of before OpenID Connect: RS256).
    pub fn id_token_alg(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.metadata)
            .ok()
            .and_then(|m| {
                m.get("id_token_signed_response_alg")?
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "RS256".to_owned())
    }

    fn from_row(row: &Row<'_>) -> rusqlite::Result<ClientRow> {
        let list = |text: String| serde_json::from_str::<Vec<String>>(&text).unwrap_or_default();
        Ok(ClientRow {
            id: row.get("id")?,
            secret_hash: row.get("secret_hash")?,
            name: row.get("name")?,
            redirect_uris: list(row.get("redirect_uris")?),
            grant_types: list(row.get("grant_types")?),
            auth_method: row.get("auth_method")?,
            scope: row.get("scope")?,
            metadata: row.get("metadata")?,
            owner_id: row.get("owner_id")?,
            created_at: row.get("created_at")?,
        })
    }

    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
}

pub fn insert(conn: &Connection, c: &ClientRow) -> Result<(), StoreError> {
    let uris =
        serde_json::to_string(&c.redirect_uris).map_err(|e| StoreError::Broken(e.to_string()))?;
    let grants =
        serde_json::to_string(&c.grant_types).map_err(|e| StoreError::Broken(e.to_string()))?;
    conn.prepare_cached(&format!(
        "INSERT INTO oauth_clients ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))?
    .execute(params![
        c.id,
        c.secret_hash,
        c.name,
        uris,
        grants,
        c.auth_method,
        c.scope,
        c.metadata,
        c.owner_id,
        c.created_at
    ])?;
    Ok(())
}

pub fn find(conn: &Connection, id: &str) -> Result<Option<ClientRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM oauth_clients WHERE id = ?1"
        ))?
        .query_row([id], ClientRow::from_row)
        .optional()?)
}

pub fn list(conn: &Connection) -> Result<Vec<ClientRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM oauth_clients ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([], ClientRow::from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Deletes a client and, by cascade, its grants, codes and consents. False if there was none.
pub fn delete(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM oauth_clients WHERE id = ?1")?
        .execute([id])?
        == 1)
}
