//! The HTTP side of `Idempotency-Key` (`domain::idempotency` keeps the answers): a response is
//! buffered into a stored answer, and a stored answer is rebuilt with `Idempotent-Replayed: true`.

use std::io::Read;

use rouille::Response;

use crate::core::Core;
use crate::domain::error::ApiError;
use crate::domain::idempotency::{self, Stored};

/// A replayed answer.
pub fn replay(answer: Stored) -> Response {
    rebuild(answer).with_unique_header("Idempotent-Replayed", "true")
}

/// Keeps `resp` for replay of `(caller, key)` (or forgets the key after a transient failure)
/// and returns it.
pub fn finish(core: &Core, caller: &str, key: &str, resp: Response) -> Result<Response, ApiError> {
    if !idempotency::keeps(resp.status_code) {
        idempotency::finish(
            core,
            caller,
            key,
            &Stored {
                status: resp.status_code,
                headers: Vec::new(),
                body: Vec::new(),
            },
        )?;
        return Ok(resp);
    }
    let status = resp.status_code;
    let headers: Vec<(String, String)> = resp
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (mut reader, _) = resp.data.into_reader_and_size();
    let mut body = Vec::new();
    reader
        .read_to_end(&mut body)
        .map_err(|e| ApiError::Internal(format!("buffering a response: {e}")))?;
    let answer = Stored {
        status,
        headers,
        body,
    };
    idempotency::finish(core, caller, key, &answer)?;
    Ok(rebuild(answer))
}

fn rebuild(answer: Stored) -> Response {
    let mut resp =
        Response::from_data("application/json", answer.body).with_status_code(answer.status);
    resp.headers = answer
        .headers
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    resp
}
