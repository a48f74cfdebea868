//! The HTTP layer, the only code that knows rouille: the connection layer (`conn`) that reads
//! requests and writes answers, the dispatcher and its route table (`dispatch`, `routes`), the
//! one error rendering (`render`), the pages' HTML (`html`), the OpenAPI document (`openapi`),
//! the server's start and stop (`server`), and each route area's handlers with its operations'
//! documentation (`auth`, `tokens`, `oauth`, `pages`, `account`, …). Here: what they share, the
//! request context (body read once, under the route's cap, since rouille has none), typed field
//! access with `invalid_field` errors, bearer parsing, authentication with the daily account
//! budget, and JSON responses.

pub mod account;
pub mod account_mfa;
pub mod admin;
pub mod auth;
pub mod conn;
pub mod demo;
pub mod dispatch;
pub mod end_session;
pub mod html;
pub mod idempotency;
pub mod mfa;
pub mod multipart;
pub mod oauth;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod passkeys;
pub mod render;
pub mod routes;
pub mod server;
pub mod support;
pub mod tokens;

use std::cell::{Cell, RefCell};
use std::io::Read;
use std::net::IpAddr;

use rouille::{Request, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::Core;
use crate::core::clock::Timestamp;
use crate::domain::audit::Caller;
use crate::domain::auth::session::{self, Principal};
use crate::domain::daily::{self, Budget};
use crate::domain::error::ApiError;
use crate::domain::error::PageError;

/// One request as the handlers see it.
pub struct Ctx<'a> {
    pub req: &'a Request,
    pub request_id: String,
    pub now: Timestamp,
    pub ip: IpAddr,
    /// The body, read under the route's size cap before the handler runs.
    pub body: Vec<u8>,
    /// The values of the route's `{…}` segments, in order.
    pub params: Vec<String>,
    /// The route is a browser page: errors become HTML pages.
    pub html: bool,
    /// Whether a successful answer goes to the request log (failures always do).
    pub record_success: bool,
    user: RefCell<Option<String>>,
    error_code: Cell<Option<&'static str>>,
}

impl<'a> Ctx<'a> {
    pub fn new(req: &'a Request, request_id: String, now: Timestamp, ip: IpAddr) -> Ctx<'a> {
        Ctx {
            req,
            request_id,
            now,
            ip,
            body: Vec::new(),
            params: Vec::new(),
            html: false,
            record_success: false,
            user: RefCell::new(None),
            error_code: Cell::new(None),
        }
    }

    /// The body as a JSON object: 415 without `application/json`, 400 if it does not parse, 422
    /// if it is not an object.
    pub fn json(&self) -> Result<JsonBody, ApiError> {
        if !self.is_json() {
            return Err(ApiError::UnsupportedMediaType);
        }
        parse_object(&self.body)
    }

    /// As [`Ctx::json`], but an empty body (with any or no content type) reads as `{}`.
    pub fn optional_json(&self) -> Result<JsonBody, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Map::new()));
        }
        self.json()
    }

    fn is_json(&self) -> bool {
        media_type(self.req) == "application/json"
    }

    /// The token of `Authorization: Bearer <token>` (scheme matched case-insensitively, RFC 6750 §2.1).
    pub fn bearer(&self) -> Option<&str> {
        let value = self.req.header("Authorization")?.trim();
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    }

    /// The client's User-Agent, cut to a sane length for storage.
    pub fn user_agent(&self) -> Option<String> {
        self.req
            .header("User-Agent")
            .map(|ua| ua.chars().take(256).collect())
    }

    /// Where the request came from, as the audit log records it and a new session keeps it.
    pub fn caller(&self) -> Caller {
        Caller {
            user_agent: self.user_agent(),
            ..self.origin()
        }
    }

    /// As [`Ctx::caller`] without the user agent, which only a new session keeps: what a
    /// refresh carries in case it writes an audit row (it seldom does).
    pub fn origin(&self) -> Caller {
        Caller {
            user_agent: None,
            ip: Some(self.ip.to_string()),
            request_id: Some(self.request_id.clone()),
        }
    }

    /// The `n`th `{…}` segment of the route.
    pub fn param(&self, n: usize) -> &str {
        self.params.get(n).map_or("", String::as_str)
    }

    /// Notes who the request turned out to be, for the request record.
    pub fn set_user(&self, user_id: &str) {
        *self.user.borrow_mut() = Some(user_id.to_owned());
    }

    pub fn user(&self) -> Option<String> {
        self.user.borrow().clone()
    }

    /// Renders an error, remembering its code for the request record.
    pub fn render_error(&self, e: ApiError) -> Response {
        self.error_code.set(Some(e.code()));
        match e {
            ApiError::Page(_) => render::render(e, &self.request_id),
            other if self.html => {
                let page = PageError::Failed {
                    status: other.status(),
                    code: other.code(),
                    message: other.message(),
                };
                render::render(ApiError::Page(page), &self.request_id)
            }
            other => render::render(other, &self.request_id),
        }
    }

    pub fn error_code(&self) -> Option<&'static str> {
        self.error_code.get()
    }
}

/// The request's media type, lowercased, without parameters (`application/json`).
pub fn media_type(req: &Request) -> String {
    req.header("Content-Type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Reads the body under `limit`: 413 when the declared length or the bytes read exceed it.
pub fn read_body(req: &Request, limit: usize) -> Result<Vec<u8>, ApiError> {
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

/// Authenticates the bearer credential; on a write route, also charges the account's daily budget.
pub fn principal(core: &Core, ctx: &Ctx<'_>) -> Result<Principal, ApiError> {
    let who = session::authenticate(core, ctx.bearer(), ctx.now)?;
    if who.credential.has_user() {
        ctx.set_user(&who.user_id);
    }
    if !matches!(ctx.req.method(), "GET" | "HEAD") {
        daily::charge(core, Budget::Account, &who.user_id, ctx.now)?;
    }
    Ok(who)
}

/// A JSON object body; its accessors name the field at fault.
pub struct JsonBody(Map<String, Value>);

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

    /// A required whole number field.
    pub fn integer(&self, field: &'static str) -> Result<i64, ApiError> {
        match self.0.get(field) {
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
                ApiError::invalid_field(field, format!("{field} must be a whole number"))
            }),
            None | Some(Value::Null) => Err(ApiError::invalid_field(
                field,
                format!("{field} is required"),
            )),
            Some(_) => Err(ApiError::invalid_field(
                field,
                format!("{field} must be a whole number"),
            )),
        }
    }

    /// A required JSON object (a WebAuthn response, say), as it came.
    pub fn object(&self, field: &'static str) -> Result<&Value, ApiError> {
        match self.0.get(field) {
            Some(v @ Value::Object(_)) => Ok(v),
            None | Some(Value::Null) => Err(ApiError::invalid_field(
                field,
                format!("{field} is required"),
            )),
            Some(_) => Err(ApiError::invalid_field(
                field,
                format!("{field} must be a JSON object"),
            )),
        }
    }

    /// A required array of strings.
    pub fn strings(&self, field: &'static str) -> Result<Vec<&str>, ApiError> {
        let bad = || ApiError::invalid_field(field, format!("{field} must be an array of strings"));
        match self.0.get(field) {
            Some(Value::Array(items)) => items.iter().map(|v| v.as_str().ok_or_else(bad)).collect(),
            None | Some(Value::Null) => Err(ApiError::invalid_field(
                field,
                format!("{field} is required"),
            )),
            Some(_) => Err(bad()),
        }
    }
}

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response, ApiError> {
    Ok(json_bytes(to_json(body)?).with_status_code(status))
}

/// A 200 response whose JSON body is already serialized.
pub fn json_bytes(bytes: Vec<u8>) -> Response {
    Response::from_data("application/json", bytes)
}

/// `body` as JSON bytes.
pub fn to_json<T: Serialize>(body: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(body).map_err(|e| ApiError::Internal(format!("serializing a response: {e}")))
}
