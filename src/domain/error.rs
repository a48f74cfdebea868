//! `ApiError`: one variant per documented `/v2` error code (API.md), with exhaustive maps to
//! HTTP status, code and message; `PageError`, the errors of the browser pages; `Outage`, why a
//! 503 happened. Plain data: `http::render` is the one place that turns them into responses.

use crate::core::throttle::{Exceeded, Limit};
use crate::domain::oauth::OAuthError;
use crate::domain::oauth::authorize::Refusal;
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
    Refused {
        status: u16,
        code: &'static str,
        message: &'static str,
    },
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
    /// A TOTP set-up was asked for while one is active.
    MfaAlreadyEnabled,
    /// A second-factor action without the factor it needs (nothing to confirm, remove or regenerate).
    MfaNotEnabled,
    /// The `mfaToken` is unknown, used, or killed by wrong codes.
    MfaTokenInvalid,
    MfaTokenExpired,
    /// A wrong code at the second step of sign-in (401, unlike `code_invalid`'s 400 elsewhere).
    MfaCodeInvalid,
    /// `--require-mfa-for all`: this needs a session signed in with a second factor.
    SecondFactorRequired,
    /// A passkey ceremony failed; the message names the check.
    PasskeyInvalid(String),
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
            | RefreshTokenReused | SessionRevoked | MfaTokenInvalid | MfaTokenExpired
            | MfaCodeInvalid | PasskeyInvalid(_) => 401,
            InsufficientScope(_) | ConfirmationRequired | AccountDisabled
            | SecondFactorRequired => 403,
            Refused { status, .. } => *status,
            NotFound => 404,
            MethodNotAllowed { .. } => 405,
            HandleTaken
            | EmailTaken
            | RefreshInProgress { .. }
            | IdempotencyInProgress
            | MfaAlreadyEnabled
            | MfaNotEnabled => 409,
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
            Refused { code, .. } => code,
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
            MfaAlreadyEnabled => "mfa_already_enabled",
            MfaNotEnabled => "mfa_not_enabled",
            MfaTokenInvalid => "mfa_token_invalid",
            MfaTokenExpired => "mfa_token_expired",
            MfaCodeInvalid => "code_invalid",
            SecondFactorRequired => "second_factor_required",
            PasskeyInvalid(_) => "passkey_invalid",
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
            Refused { message, .. } => (*message).into(),
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
            MfaAlreadyEnabled => "two-step sign-in is already on; turn it off first to set it up again".into(),
            MfaNotEnabled => "no two-step sign-in to act on: set it up with POST /v2/auth/mfa/totp (and confirm it) first".into(),
            MfaTokenInvalid => "this mfaToken is unknown, already used, or ended by too many wrong codes: sign in again with the password".into(),
            MfaTokenExpired => "this mfaToken has expired (it lives 5 minutes): sign in again with the password".into(),
            SecondFactorRequired => "this server requires a session signed in with a second factor for this: add one (an authenticator app or a passkey) on your account page, then sign in again with it".into(),
            MfaCodeInvalid => "the code is wrong or already used: enter the current code from your authenticator app, or a recovery code".into(),
            PasskeyInvalid(check) => format!("the passkey was refused: {check}"),
            Internal(_) => "internal error".into(),
            OAuth(e) => e.description(),
            Page(e) => e.code().replace('_', " "),
        }
    }

    pub fn field(&self) -> Option<&'static str> {
        match self {
            ApiError::InvalidField { field, .. } | ApiError::WeakPassword { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }
}

/// Errors answered with an HTML page that names the problem and the request ID.
#[derive(Debug)]
pub enum PageError {
    BadRequest(String),
    /// The authorization endpoint refused to redirect (unknown client, redirect URI, loop).
    Authorize(Refusal),
    Csrf,
    Stale,
    /// A page this browser may not use (`/admin` for a member): 403 with a stable code.
    Forbidden {
        code: &'static str,
        message: String,
    },
    /// Any other failure on a page route (busy database, bad sign-in input, …).
    Failed {
        status: u16,
        code: &'static str,
        message: String,
    },
}

impl PageError {
    pub fn status(&self) -> u16 {
        match self {
            PageError::Csrf | PageError::Forbidden { .. } => 403,
            PageError::Authorize(Refusal::Loop { .. }) => 429,
            PageError::Failed { status, .. } => *status,
            PageError::BadRequest(_) | PageError::Authorize(_) | PageError::Stale => 400,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            PageError::BadRequest(_) | PageError::Authorize(Refusal::BadRequest(_)) => {
                "bad_request"
            }
            PageError::Authorize(Refusal::MissingClient) => "client_id_missing",
            PageError::Authorize(Refusal::UnknownClient(_)) => "unknown_client",
            PageError::Authorize(Refusal::RedirectRequired { .. }) => "redirect_uri_required",
            PageError::Authorize(Refusal::RedirectMismatch { .. }) => "redirect_uri_mismatch",
            PageError::Authorize(Refusal::Loop { .. }) => "authorize_loop",
            PageError::Csrf => "csrf_token_invalid",
            PageError::Stale => "authorization_stale",
            PageError::Failed { code, .. } | PageError::Forbidden { code, .. } => code,
        }
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

impl From<Exceeded> for ApiError {
    fn from(e: Exceeded) -> Self {
        match e {
            Exceeded::Quota {
                limit,
                retry_after_secs,
            } => ApiError::Throttled {
                limit,
                retry_after_secs,
            },
            Exceeded::Backoff {
                limit,
                retry_after_secs,
            } => ApiError::LoginBackoff {
                limit,
                retry_after_secs,
            },
        }
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

    pub fn message(self) -> &'static str {
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
