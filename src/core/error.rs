//! `ApiError`: one variant per documented `/v2` error code (API.md), with exhaustive maps to
//! HTTP status and code. The dispatcher is the only place that turns one into a response.

use rouille::Response;
use serde_json::json;

use crate::core::throttle::Limit;
use crate::domain::oauth::OAuthError;
use crate::http::conn::Refusal;
use crate::http::html::PageError;
use crate::store::{Fault, StoreError};

#[derive(Debug)]
pub enum ApiError {
    MalformedJson,
    InvalidField {
        field: &'static str,
        message: String,
    },
    BodyTooLarge {
        limit: usize,
    },
    UnsupportedMediaType,
    /// A request the connection layer refused before routing it (framing, version, size,
    /// deadlines): its status, code and message are the refusal's.
    Refused(Refusal),
    NotFound,
    MethodNotAllowed {
        allow: String,
    },
    InvalidToken(&'static str),
    /// The credential lacks `scope`; `None` when no scope helps (a PAT managing PATs).
    InsufficientScope(Option<&'static str>),
    /// 503 `unavailable`; `outage` says why (the body's `reason`).
    Unavailable {
        retry_after_secs: u64,
        outage: Outage,
    },
    Throttled {
        limit: Limit,
        retry_after_secs: u64,
    },
    LoginBackoff {
        limit: Limit,
        retry_after_secs: u64,
    },
    DailyLimitReached {
        budget: &'static str,
        limit: u32,
        reset_at: String,
        retry_after_secs: u64,
    },
    IdempotencyKeyMismatch,
    IdempotencyInProgress,
    HandleTaken,
    EmailTaken,
    WeakPassword {
        field: &'static str,
        reason: &'static str,
    },
    CodeInvalid,
    CodeExpired {
        resend_route: &'static str,
    },
    CodeExhausted {
        resend_route: &'static str,
    },
    InvalidCredentials,
    ConfirmationRequired,
    AccountDisabled,
    RefreshTokenInvalid,
    RefreshTokenExpired,
    RefreshTokenReused,
    SessionRevoked,
    RefreshInProgress {
        retry_after_secs: u64,
    },
    /// An OAuth endpoint's error, in the RFC's shape (`{"error", "error_description"}`).
    OAuth(OAuthError),
    /// An error of the browser pages, answered with an HTML page.
    Page(PageError),
    /// Our fault: the detail goes to the log, the client sees "internal error".
    Internal(String),
}

impl ApiError {
    pub fn invalid_field(field: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::InvalidField {
            field,
            message: message.into(),
        }
    }

    pub fn status(&self) -> u16 {
        use ApiError::*;
        match self {
            MalformedJson | CodeInvalid | CodeExpired { .. } | CodeExhausted { .. } => 400,
            InvalidToken(_) | InvalidCredentials | RefreshTokenInvalid | RefreshTokenExpired
            | RefreshTokenReused | SessionRevoked => 401,
            InsufficientScope(_) | ConfirmationRequired | AccountDisabled => 403,
            Refused(r) => r.status(),
            NotFound => 404,
            MethodNotAllowed { .. } => 405,
            HandleTaken | EmailTaken | RefreshInProgress { .. } | IdempotencyInProgress => 409,
            BodyTooLarge { .. } => 413,
            UnsupportedMediaType => 415,
            InvalidField { .. } | WeakPassword { .. } | IdempotencyKeyMismatch => 422,
            Throttled { .. } | LoginBackoff { .. } | DailyLimitReached { .. } => 429,
            Internal(_) => 500,
            Unavailable { .. } => 503,
            OAuth(e) => e.status(),
            Page(e) => e.status(),
        }
    }

    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            MalformedJson => "malformed_json",
            InvalidField { .. } => "invalid_field",
            BodyTooLarge { .. } => "body_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            Refused(r) => r.code(),
            NotFound => "not_found",
            MethodNotAllowed { .. } => "method_not_allowed",
            InvalidToken(_) => "invalid_token",
            InsufficientScope(_) => "insufficient_scope",
            Unavailable { .. } => "unavailable",
            Throttled { .. } => "throttled",
            LoginBackoff { .. } => "login_backoff",
            DailyLimitReached { .. } => "daily_limit_reached",
            IdempotencyKeyMismatch => "idempotency_key_mismatch",
            IdempotencyInProgress => "idempotency_in_progress",
            HandleTaken => "handle_taken",
            EmailTaken => "email_taken",
            WeakPassword { .. } => "weak_password",
            CodeInvalid => "code_invalid",
            CodeExpired { .. } => "code_expired",
            CodeExhausted { .. } => "code_exhausted",
            InvalidCredentials => "invalid_credentials",
            ConfirmationRequired => "confirmation_required",
            AccountDisabled => "account_disabled",
            RefreshTokenInvalid => "refresh_token_invalid",
            RefreshTokenExpired => "refresh_token_expired",
            RefreshTokenReused => "refresh_token_reused",
            SessionRevoked => "session_revoked",
            RefreshInProgress { .. } => "refresh_in_progress",
            Internal(_) => "internal_error",
            OAuth(e) => e.code(),
            Page(e) => e.code(),
        }
    }

    pub fn message(&self) -> String {
        use ApiError::*;
        match self {
            MalformedJson => "the body is not valid JSON".into(),
            InvalidField { message, .. } => message.clone(),
            BodyTooLarge { limit } => format!("the body is larger than {limit} bytes"),
            UnsupportedMediaType => "send the body as Content-Type: application/json".into(),
            Refused(r) => r.message().into(),
            NotFound => "no such route or resource".into(),
            MethodNotAllowed { allow } => format!("this route takes {allow}"),
            InvalidToken(why) => (*why).into(),
            InsufficientScope(Some(scope)) => format!("the credential lacks the scope this needs: {scope}"),
            InsufficientScope(None) => {
                "only the access token of a signed-in session (from login or refresh) can do this: not a personal access token, an OAuth app's token or a client's own token".into()
            }
            Throttled { limit, retry_after_secs } => format!(
                "too many requests: {} allows {} per {} s; retry in {retry_after_secs} s",
                limit.name, limit.quota, limit.window
            ),
            LoginBackoff { retry_after_secs, .. } => {
                format!("too many failed sign-ins for this login; retry in {retry_after_secs} s")
            }
            DailyLimitReached { budget, limit, reset_at, .. } => {
                format!("the daily write limit of {limit} per {budget} is reached; it resets at {reset_at}")
            }
            IdempotencyKeyMismatch => "this Idempotency-Key was used with another request body; use a new key".into(),
            IdempotencyInProgress => "a request with this Idempotency-Key is still running; retry shortly".into(),
            Unavailable { outage, .. } => outage.message().into(),
            HandleTaken => "that handle is taken".into(),
            EmailTaken => "that email is already registered".into(),
            WeakPassword { reason, .. } => (*reason).into(),
            CodeInvalid => "the code is wrong, used, or unknown".into(),
            CodeExpired { resend_route } => format!("the code has expired; ask for a new one with POST {resend_route}"),
            CodeExhausted { resend_route } => {
                format!("too many wrong codes: these codes no longer work; ask for a new one with POST {resend_route}")
            }
            InvalidCredentials => "the login or password is wrong".into(),
            ConfirmationRequired => "confirm the email first: enter the code that was sent, or ask for a new one".into(),
            AccountDisabled => "this account is disabled".into(),
            RefreshTokenInvalid => "the refresh token is not one this server issued".into(),
            RefreshTokenExpired => "the session has expired (idle or absolute lifetime); sign in again".into(),
            RefreshTokenReused => {
                "this refresh token was already used; the session was revoked to protect it: sign in again".into()
            }
            SessionRevoked => "the session was revoked; sign in again".into(),
            RefreshInProgress { .. } => "another refresh of this session is in progress; retry shortly".into(),
            Internal(_) => "internal error".into(),
            OAuth(e) => e.description(),
            Page(e) => e.code().replace('_', " "),
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            ApiError::InvalidField { field, .. } | ApiError::WeakPassword { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }

    /// The JSON envelope of API.md, with the headers each error calls for.
    pub fn into_response(self, request_id: &str) -> Response {
        match &self {
            ApiError::Internal(detail) | ApiError::OAuth(OAuthError::ServerError(detail)) => {
                log::error!("{request_id}: internal error: {detail}")
            }
            other => log::debug!("{request_id}: {}", other.code()),
        }
        match self {
            ApiError::OAuth(e) => return oauth_response(&e),
            ApiError::Page(e) => return e.render(request_id),
            _ => {}
        }
        let mut error =
            json!({"code": self.code(), "message": self.message(), "requestId": request_id});
        if let (Some(field), Some(obj)) = (self.field(), error.as_object_mut()) {
            obj.insert("field".into(), field.into());
        }
        if let (ApiError::Unavailable { outage, .. }, Some(obj)) = (&self, error.as_object_mut()) {
            obj.insert("reason".into(), outage.reason().into());
        }
        let body = serde_json::to_vec(&json!({ "error": error })).unwrap_or_default();
        let resp = Response::from_data("application/json", body).with_status_code(self.status());
        match self {
            ApiError::InvalidToken(why) => resp.with_unique_header(
                "WWW-Authenticate",
                format!("Bearer error=\"invalid_token\", error_description=\"{why}\""),
            ),
            ApiError::SessionRevoked => resp.with_unique_header(
                "WWW-Authenticate",
                "Bearer error=\"invalid_token\", error_description=\"the session was revoked\"",
            ),
            ApiError::InsufficientScope(scope) => resp.with_unique_header(
                "WWW-Authenticate",
                match scope {
                    Some(scope) => {
                        format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\"")
                    }
                    None => "Bearer error=\"insufficient_scope\"".into(),
                },
            ),
            ApiError::Unavailable {
                retry_after_secs, ..
            }
            | ApiError::RefreshInProgress { retry_after_secs }
            | ApiError::DailyLimitReached {
                retry_after_secs, ..
            } => resp.with_unique_header("Retry-After", retry_after_secs.to_string()),
            ApiError::Throttled {
                limit,
                retry_after_secs,
            }
            | ApiError::LoginBackoff {
                limit,
                retry_after_secs,
            } => resp
                .with_unique_header("Retry-After", retry_after_secs.to_string())
                .with_unique_header(
                    "RateLimit-Policy",
                    format!("\"{}\";q={};w={}", limit.name, limit.quota, limit.window),
                )
                .with_unique_header(
                    "RateLimit",
                    format!("\"{}\";r=0;t={retry_after_secs}", limit.name),
                ),
            ApiError::MethodNotAllowed { allow } => resp.with_unique_header("Allow", allow),
            _ => resp,
        }
    }
}

/// RFC 6749 §5.2 / RFC 7591 §3.2.2 / RFC 6750 §3: `{"error", "error_description"}`.
fn oauth_response(e: &OAuthError) -> Response {
    let body =
        serde_json::to_vec(&json!({"error": e.code(), "error_description": e.description()}))
            .unwrap_or_default();
    let resp = Response::from_data("application/json", body)
        .with_status_code(e.status())
        .with_unique_header("Pragma", "no-cache");
    match e {
        OAuthError::InvalidClient { basic: true, .. } => resp.with_unique_header(
            "WWW-Authenticate",
            "Basic realm=\"gharart-id\", charset=\"UTF-8\"",
        ),
        OAuthError::InvalidToken(_) => {
            resp.with_unique_header("WWW-Authenticate", "Bearer error=\"invalid_token\"")
        }
        OAuthError::InsufficientScope(_) => {
            resp.with_unique_header("WWW-Authenticate", "Bearer error=\"insufficient_scope\"")
        }
        OAuthError::TemporarilyUnavailable {
            retry_after_secs, ..
        } => resp.with_unique_header("Retry-After", retry_after_secs.to_string()),
        _ => resp,
    }
}

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        ApiError::OAuth(e)
    }
}

impl From<PageError> for ApiError {
    fn from(e: PageError) -> Self {
        ApiError::Page(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let (outage, retry_after_secs) = match e {
            StoreError::Busy => (Outage::DatabaseBusy, 1),
            StoreError::Unavailable(fault, detail) => {
                log::error!("database unavailable: {detail}");
                match fault {
                    Fault::DiskFull => (Outage::DiskFull, 10),
                    Fault::ReadOnly => (Outage::ReadOnly, 10),
                    Fault::Io => (Outage::StorageError, 5),
                }
            }
            other => return ApiError::Internal(other.to_string()),
        };
        ApiError::Unavailable {
            retry_after_secs,
            outage,
        }
    }
}

/// Why the server answered 503 `unavailable`: the error body's stable `reason`. Each passes by
/// itself (a queue drains, a lock is released, an operator frees the disk) and changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// Every password-hashing slot and its queue are taken.
    Overloaded,
    /// The connection caps are reached (`--max-connections`, `--max-connections-per-ip`), or no
    /// thread could be started for the connection. Its `reason` is `overloaded` too.
    TooManyConnections,
    /// Another process holds the database's lock, or the one writer stayed taken.
    DatabaseBusy,
    DiskFull,
    ReadOnly,
    /// The database file could not be opened, read or written for another reason.
    StorageError,
}

impl Outage {
    pub const ALL: [Outage; 5] = [
        Outage::Overloaded,
        Outage::DatabaseBusy,
        Outage::DiskFull,
        Outage::ReadOnly,
        Outage::StorageError,
    ];

    pub fn reason(self) -> &'static str {
        match self {
            Outage::Overloaded | Outage::TooManyConnections => "overloaded",
            Outage::DatabaseBusy => "database_busy",
            Outage::DiskFull => "disk_full",
            Outage::ReadOnly => "read_only",
            Outage::StorageError => "storage_error",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Outage::Overloaded => {
                "the server is busy hashing passwords; nothing was changed; retry after the given delay"
            }
            Outage::TooManyConnections => {
                "the server holds as many connections as it takes (from this address, or in all); retry after the given delay"
            }
            Outage::DatabaseBusy => {
                "the database is locked by another writer; nothing was changed; retry after the given delay"
            }
            Outage::DiskFull => {
                "the server's disk is full; nothing was changed; retry after the given delay"
            }
            Outage::ReadOnly => {
                "the server's database is read-only right now; nothing was changed; retry after the given delay"
            }
            // Also a failed sync after a commit, so no promise that nothing was changed.
            Outage::StorageError => {
                "the server cannot read or write its database right now; retry after the given delay"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<ApiError> {
        use ApiError::*;
        vec![
            MalformedJson,
            ApiError::invalid_field("x", "m"),
            BodyTooLarge { limit: 1 },
            UnsupportedMediaType,
            NotFound,
            MethodNotAllowed {
                allow: "GET".into(),
            },
            InvalidToken("t"),
            InsufficientScope(Some("profile")),
            Unavailable {
                retry_after_secs: 1,
                outage: Outage::Overloaded,
            },
            Throttled {
                limit: crate::core::throttle::DEFAULT_LIMITS[0],
                retry_after_secs: 1,
            },
            LoginBackoff {
                limit: crate::core::throttle::DEFAULT_LIMITS[1],
                retry_after_secs: 1,
            },
            DailyLimitReached {
                budget: "ip",
                limit: 1,
                reset_at: "t".into(),
                retry_after_secs: 1,
            },
            IdempotencyKeyMismatch,
            IdempotencyInProgress,
            HandleTaken,
            EmailTaken,
            WeakPassword {
                field: "password",
                reason: "w",
            },
            CodeInvalid,
            CodeExpired { resend_route: "/r" },
            CodeExhausted { resend_route: "/r" },
            InvalidCredentials,
            ConfirmationRequired,
            AccountDisabled,
            RefreshTokenInvalid,
            RefreshTokenExpired,
            RefreshTokenReused,
            SessionRevoked,
            RefreshInProgress {
                retry_after_secs: 1,
            },
            Internal("x".into()),
            // The connection layer's refusals (src/http/conn).
            Refused(Refusal::Malformed("x")),
            Refused(Refusal::TimedOut),
            Refused(Refusal::HeadTooLarge),
            Refused(Refusal::UnsupportedCoding),
            Refused(Refusal::Version),
        ]
    }

    #[test]
    fn codes_are_unique_snake_case() {
        let codes: Vec<&str> = all().iter().map(ApiError::code).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
        assert!(
            codes
                .iter()
                .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
    }

    #[test]
    fn the_openapi_document_lists_every_code_with_its_status() {
        for e in all() {
            let listed = crate::http::openapi::V2_ERRORS
                .iter()
                .any(|(status, codes)| *status == e.status() && codes.contains(&e.code()));
            assert!(
                listed,
                "{} ({}) is missing from openapi::V2_ERRORS",
                e.code(),
                e.status()
            );
        }
        let total: usize = crate::http::openapi::V2_ERRORS
            .iter()
            .map(|(_, c)| c.len())
            .sum();
        assert_eq!(
            total,
            all().len(),
            "openapi::V2_ERRORS lists a code that ApiError does not have"
        );
    }

    #[test]
    fn internal_detail_never_reaches_the_client() {
        let resp = ApiError::Internal("secret path /etc/x".into()).into_response("req_1");
        let (mut body, _) = resp.data.into_reader_and_size();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut body, &mut text).unwrap();
        assert!(!text.contains("secret path"));
        assert!(text.contains("req_1"));
    }
}
