//! `Idempotency-Key` (IETF httpapi draft) for the write routes whose responses hold no secret.
//! Same key + same body from the same caller within 24 h → the stored answer again; same key +
//! another body → 422 `idempotency_key_mismatch`; while the first request still runs → 409
//! `idempotency_in_progress`. Transient failures (409, 429, 5xx) are not stored, so a retry runs
//! again. The HTTP layer turns its responses into [`Stored`] answers and back.

use crate::core::Core;
use crate::core::background::IDEMPOTENCY_KEEP_SECS;
use crate::core::clock::Timestamp;
use crate::domain::error::ApiError;
use crate::store::idempotency;

/// A request still marked in flight after this long is taken as lost (the server died mid-way).
const ABANDONED_SECS: i64 = 60;

/// An answer as it is kept for replay.
pub struct Stored {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What to do with a request that carries a key.
pub enum Start {
    /// Run the handler, then [`finish`].
    Run,
    /// Answer with the stored answer.
    Replay(Stored),
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
                        let headers = row
                            .headers
                            .as_deref()
                            .and_then(|h| serde_json::from_str(h).ok())
                            .unwrap_or_default();
                        return Ok(Start::Replay(Stored {
                            status,
                            headers,
                            body,
                        }));
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

/// Whether an answer with `status` is kept for replay: not a transient failure (409, 429,
/// 5xx), which a retry should run again.
pub fn keeps(status: u16) -> bool {
    !(status == 409 || status == 429 || status >= 500)
}

/// Ends the claim of `(caller, key)`: keeps `answer` for replay if [`keeps`] says so, else
/// forgets the key.
pub fn finish(core: &Core, caller: &str, key: &str, answer: &Stored) -> Result<(), ApiError> {
    if !keeps(answer.status) {
        core.db.write(|tx| idempotency::forget(tx, caller, key))?;
        return Ok(());
    }
    let headers_json =
        serde_json::to_string(&answer.headers).map_err(|e| ApiError::Internal(e.to_string()))?;
    core.db.write(|tx| {
        idempotency::finish(tx, caller, key, answer.status, &headers_json, &answer.body)
    })?;
    Ok(())
}
