//! HTTP plumbing shared by the route areas: capped body readers (rouille has no body limit),
//! typed field access with `invalid_field` errors, bearer parsing, and JSON responses.

pub mod auth;
pub mod ops;

use std::io::Read;

use rouille::{Request, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A JSON object body; its accessors name the field at fault.
pub struct JsonBody(Map<String, Value>);

/// Reads a JSON object body: 415 without `application/json`, 413 over `limit`, 400 if it does not
/// parse, 422 if it is not an object.
pub fn read_json(req: &Request, limit: usize) -> Result<JsonBody, ApiError> {
    if !is_json(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    parse_object(&read_capped(req, limit)?)
}

/// As [`read_json`], but an empty body (with any or no content type) reads as `{}`.
pub fn read_optional_json(req: &Request, limit: usize) -> Result<JsonBody, ApiError> {
    let bytes = read_capped(req, limit)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(JsonBody(Map::new()));
    }
    if !is_json(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    parse_object(&bytes)
}

fn is_json(req: &Request) -> bool {
    let media = req
        .header("Content-Type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    media.eq_ignore_ascii_case("application/json")
}

fn read_capped(req: &Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    let Some(body) = req.data() else {
        return Ok(Vec::new());
    };
    let mut buf = Vec::new();
    body.take(limit as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|_| ApiError::MalformedJson)?;
    if buf.len() > limit {
        return Err(ApiError::BodyTooLarge { limit });
    }
    Ok(buf)
}

fn parse_object(bytes: &[u8]) -> Result<JsonBody, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(JsonBody(map)),
        Ok(_) => Err(ApiError::invalid_field(
            "body",
            "the body must be a JSON object",
        )),
        Err(_) => Err(ApiError::MalformedJson),
    }
}

impl JsonBody {
    /// A required string field.
    pub fn string(&self, field: &'static str) -> Result<&str, ApiError> {
        self.opt_string(field)?
            .ok_or_else(|| ApiError::invalid_field(field, format!("{field} is required")))
    }

    /// An optional string field; `null` counts as absent.
    pub fn opt_string(&self, field: &'static str) -> Result<Option<&str>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid_field(
                field,
                format!("{field} must be a string"),
            )),
        }
    }

    /// An optional boolean field; `null` counts as absent.
    pub fn opt_bool(&self, field: &'static str) -> Result<Option<bool>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::invalid_field(
                field,
                format!("{field} must be true or false"),
            )),
        }
    }
}

/// The token of `Authorization: Bearer <token>` (scheme matched case-insensitively, RFC 6750 §2.1).
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.header("Authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The client's User-Agent, cut to a sane length for storage.
pub fn user_agent(req: &Request) -> Option<String> {
    req.header("User-Agent")
        .map(|ua| ua.chars().take(256).collect())
}

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(body)
        .map_err(|e| ApiError::Internal(format!("serializing a response: {e}")))?;
    Ok(Response::from_data("application/json", bytes).with_status_code(status))
}
