//! The one error rendering: every `ApiError` becomes its response here, whichever layer raised
//! it (the JSON envelope of API.md, an OAuth endpoint's RFC 6749 shape, or a page route's HTML
//! page), with the headers each calls for (`WWW-Authenticate`, `Retry-After`, `RateLimit`, `Allow`).

use rouille::Response;
use serde_json::json;

use crate::domain::error::ApiError;
use crate::domain::oauth::OAuthError;
use crate::http::conn::Refusal;
use crate::http::html;

/// The error of a request the connection layer refused before routing it.
pub fn refused(refusal: Refusal) -> ApiError {
    ApiError::Refused {
        status: refusal.status(),
        code: refusal.code(),
        message: refusal.message(),
    }
}

/// The answer to `error`: the JSON envelope of API.md with the headers each error calls for, an
/// OAuth endpoint's RFC shape, or a page route's HTML page.
pub fn render(error: ApiError, request_id: &str) -> Response {
    match &error {
        ApiError::Internal(detail) | ApiError::OAuth(OAuthError::ServerError(detail)) => {
            log::error!("{request_id}: internal error: {detail}")
        }
        other => log::debug!("{request_id}: {}", other.code()),
    }
    match error {
        ApiError::OAuth(e) => return oauth_response(&e),
        ApiError::Page(e) => return html::error_page(&e, request_id),
        _ => {}
    }
    let mut envelope =
        json!({"code": error.code(), "message": error.message(), "requestId": request_id});
    if let (Some(field), Some(obj)) = (error.field(), envelope.as_object_mut()) {
        obj.insert("field".into(), field.into());
    }
    if let (ApiError::Unavailable { outage, .. }, Some(obj)) = (&error, envelope.as_object_mut()) {
        obj.insert("reason".into(), outage.reason().into());
    }
    let body = serde_json::to_vec(&json!({ "error": envelope })).unwrap_or_default();
    let resp = Response::from_data("application/json", body).with_status_code(error.status());
    match error {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::Outage;
    use crate::http::conn::Refusal;

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
            SecondFactorRequired,
            RefreshTokenInvalid,
            RefreshTokenExpired,
            RefreshTokenReused,
            SessionRevoked,
            RefreshInProgress {
                retry_after_secs: 1,
            },
            MfaAlreadyEnabled,
            MfaNotEnabled,
            MfaTokenInvalid,
            MfaTokenExpired,
            MfaCodeInvalid,
            PasskeyInvalid("x".into()),
            Internal("x".into()),
            // The connection layer's refusals (src/http/conn).
            refused(Refusal::Malformed("x")),
            refused(Refusal::TimedOut),
            refused(Refusal::HeadTooLarge),
            refused(Refusal::UnsupportedCoding),
            refused(Refusal::Version),
        ]
    }

    #[test]
    fn codes_are_unique_snake_case() {
        // One code may answer with two statuses (code_invalid: 400, and 401 at the second step
        // of sign-in); a (status, code) pair belongs to one variant.
        let pairs: Vec<(u16, &str)> = all().iter().map(|e| (e.status(), e.code())).collect();
        let mut sorted = pairs.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), pairs.len());
        let codes: Vec<&str> = pairs.iter().map(|(_, c)| *c).collect();
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
        let resp = render(ApiError::Internal("secret path /etc/x".into()), "req_1");
        let (mut body, _) = resp.data.into_reader_and_size();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut body, &mut text).unwrap();
        assert!(!text.contains("secret path"));
        assert!(text.contains("req_1"));
    }
}
