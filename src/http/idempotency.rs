//! `Idempotency-Key` (IETF httpapi draft) for the write routes whose responses hold no secret.
//! Same key + same body from the same caller within 24 h → the stored response again, with
//! `Idempotent-Replayed: true`; same key + another body → 422 `idempotency_key_mismatch`; while the
//! first request still runs → 409 `idempotency_in_progress`. Transient failures (409, 429, 5xx)
//! are not stored, so a retry runs again.

use std::io::Read;

use rouille::Response;

use crate::core::Core;
use crate::core::background::IDEMPOTENCY_KEEP_SECS;
use crate::core::clock::Timestamp;
use crate::domain::error::ApiError;
use crate::store::idempotency;

/// How long a key's response is replayed.
pub const KEEP_SECS: i64 = 24 * 3600;
/// A request still marked in flight after this long is taken as lost (the server died mid-way).
const ABANDONED_SECS: i64 = 60;

/// What to do with a request that carries a key.
pub enum Start {
    /// Run the handler, then [`finish`].
    Run,
    /// Answer with the stored response.
    Replay(Response),
}

/// Validates the header value: 1–255 printable ASCII characters.
pub fn parse_key(value: &str) -> Result<&str, ApiError> {
    if (1..=255).contains(&value.len()) && value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Ok(value)
    } else {
        Err(ApiError::invalid_field(
            "Idempotency-Key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters",
        ))
    }
}

/// Claims `(caller, key)` for this request, or finds why not.
pub fn start(
    core: &Core,
    caller: &str,
    key: &str,
    body_hash: &[u8; 32],
    now: Timestamp,
) -> Result<Start, ApiError> {
    core.db.write(|tx| {
        match idempotency::find(tx, caller, key)? {
            Some(row) if row.created_at > now - IDEMPOTENCY_KEEP_SECS => {
                if row.body_hash != body_hash {
                    return Err(ApiError::IdempotencyKeyMismatch);
                }
                match (row.status, row.body) {
                    (Some(status), Some(body)) => {
                        return Ok(Start::Replay(rebuild(status, row.headers.as_deref(), body)));
                    }
                    _ if row.created_at > now - ABANDONED_SECS => {
                        return Err(ApiError::IdempotencyInProgress);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        idempotency::begin(tx, caller, key, body_hash, now)?;
        Ok(Start::Run)
    })
}

/// Stores the response for replay (or forgets the key after a transient failure) and returns it.
pub fn finish(core: &Core, caller: &str, key: &str, resp: Response) -> Result<Response, ApiError> {
    let status = resp.status_code;
    if status == 409 || status == 429 || status >= 500 {
        core.db.write(|tx| idempotency::forget(tx, caller, key))?;
        return Ok(resp);
    }
    let (mut reader, _) = resp.data.into_reader_and_size();
    let mut body = Vec::new();
    reader
        .read_to_end(&mut body)
        .map_err(|e| ApiError::Internal(format!("buffering a response: {e}")))?;
    let headers: Vec<(String, String)> = resp
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let headers_json =
        serde_json::to_string(&headers).map_err(|e| ApiError::Internal(e.to_string()))?;
    core.db
        .write(|tx| idempotency::finish(tx, caller, key, status, &headers_json, &body))?;
    Ok(rebuild_fresh(status, headers, body))
}

fn rebuild_fresh(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Response {
    let mut resp = Response::from_data("application/json", body).with_status_code(status);
    resp.headers = headers
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    resp
}

fn rebuild(status: u16, headers: Option<&str>, body: Vec<u8>) -> Response {
    let headers: Vec<(String, String)> = headers
        .and_then(|h| serde_json::from_str(h).ok())
        .unwrap_or_default();
    rebuild_fresh(status, headers, body).with_unique_header("Idempotent-Replayed", "true")
}
