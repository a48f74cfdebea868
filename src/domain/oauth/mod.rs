//! The OAuth 2.1 authorization server: client registration and authentication (`clients`),
//! redirect URI rules (`redirect`), PKCE (`pkce`), the authorization endpoint and consent
//! (`authorize`), the loop breaker (`loops`), the token endpoint's grants (`token`), revocation
//! and introspection (`inspect`), the metadata document and JWKS (`metadata`), and OpenID
//! Connect's id_token, userinfo and discovery (`oidc`). `OAuthError` is the RFC
//! error vocabulary; it reaches HTTP through `ApiError::OAuth`.

pub mod authorize;
pub mod clients;
pub mod inspect;
pub mod logout;
pub mod metadata;
pub mod oidc;
pub mod pkce;
pub mod redirect;
pub mod resource;
pub mod token;

/// RFC 6749 §4.1.2.1 / §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2 and OpenID prompt errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthError {
    InvalidRequest(String),
    /// `basic`: the client tried HTTP Basic, so the answer is 401 with `WWW-Authenticate`.
    InvalidClient {
        basic: bool,
        description: String,
    },
    InvalidGrant(String),
    UnauthorizedClient(String),
    UnsupportedGrantType(String),
    UnsupportedResponseType(String),
    InvalidScope(String),
    /// RFC 8707 §2: a `resource` that is not absolute, has a fragment, or is not one served here.
    InvalidTarget(String),
    AccessDenied(String),
    LoginRequired,
    ConsentRequired,
    InvalidRedirectUri(String),
    InvalidClientMetadata(String),
    InvalidToken(String),
    InsufficientScope(String),
    /// Busy or throttled: retry after the delay (429 when throttled, else 503).
    TemporarilyUnavailable {
        throttled: bool,
        retry_after_secs: u64,
        description: String,
    },
    ServerError(String),
}

impl OAuthError {
    /// The RFC error code.
    pub fn code(&self) -> &'static str {
        use OAuthError::*;
        match self {
            InvalidRequest(_) => "invalid_request",
            InvalidClient { .. } => "invalid_client",
            InvalidGrant(_) => "invalid_grant",
            UnauthorizedClient(_) => "unauthorized_client",
            UnsupportedGrantType(_) => "unsupported_grant_type",
            UnsupportedResponseType(_) => "unsupported_response_type",
            InvalidScope(_) => "invalid_scope",
            InvalidTarget(_) => "invalid_target",
            AccessDenied(_) => "access_denied",
            LoginRequired => "login_required",
            ConsentRequired => "consent_required",
            InvalidRedirectUri(_) => "invalid_redirect_uri",
            InvalidClientMetadata(_) => "invalid_client_metadata",
            InvalidToken(_) => "invalid_token",
            InsufficientScope(_) => "insufficient_scope",
            TemporarilyUnavailable { .. } => "temporarily_unavailable",
            ServerError(_) => "server_error",
        }
    }

    pub fn description(&self) -> String {
        use OAuthError::*;
        match self {
            InvalidRequest(d)
            | InvalidGrant(d)
            | UnauthorizedClient(d)
            | UnsupportedGrantType(d)
            | UnsupportedResponseType(d)
            | InvalidScope(d)
            | InvalidTarget(d)
            | AccessDenied(d)
            | InvalidRedirectUri(d)
            | InvalidClientMetadata(d)
            | InvalidToken(d)
            | InsufficientScope(d) => d.clone(),
            InvalidClient { description, .. } | TemporarilyUnavailable { description, .. } => {
                description.clone()
            }
            LoginRequired => "the user is not signed in and prompt=none forbids asking".into(),
            ConsentRequired => {
                "the user has not consented to these scopes and prompt=none forbids asking".into()
            }
            ServerError(_) => "internal error".into(),
        }
    }

    pub fn status(&self) -> u16 {
        use OAuthError::*;
        match self {
            InvalidClient { .. } | InvalidToken(_) => 401,
            InsufficientScope(_) => 403,
            TemporarilyUnavailable {
                throttled: true, ..
            } => 429,
            TemporarilyUnavailable {
                throttled: false, ..
            } => 503,
            ServerError(_) => 500,
            InvalidRequest(_)
            | InvalidGrant(_)
            | UnauthorizedClient(_)
            | UnsupportedGrantType(_)
            | UnsupportedResponseType(_)
            | InvalidScope(_)
            | InvalidTarget(_)
            | AccessDenied(_)
            | LoginRequired
            | ConsentRequired
            | InvalidRedirectUri(_)
            | InvalidClientMetadata(_) => 400,
        }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
impl std::error::Error for OAuthError {}

/// Scopes as a list, from their space-separated form (RFC 6749 §3.3).
pub fn scope_list(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in text.split(' ').filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    out
}

/// Whether every scope of `wanted` is in `held`.
pub fn scopes_within(wanted: &str, held: &str) -> bool {
    let held = scope_list(held);
    scope_list(wanted).iter().all(|w| held.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_rfc_codes() {
        let rfc = [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "unsupported_response_type",
            "invalid_scope",
            "invalid_target",
            "access_denied",
            "login_required",
            "consent_required",
            "invalid_redirect_uri",
            "invalid_client_metadata",
            "invalid_token",
            "insufficient_scope",
            "temporarily_unavailable",
            "server_error",
        ];
        let all = [
            OAuthError::InvalidRequest(String::new()),
            OAuthError::InvalidClient {
                basic: true,
                description: String::new(),
            },
            OAuthError::InvalidGrant(String::new()),
            OAuthError::UnauthorizedClient(String::new()),
            OAuthError::UnsupportedGrantType(String::new()),
            OAuthError::UnsupportedResponseType(String::new()),
            OAuthError::InvalidScope(String::new()),
            OAuthError::InvalidTarget(String::new()),
            OAuthError::AccessDenied(String::new()),
            OAuthError::LoginRequired,
            OAuthError::ConsentRequired,
            OAuthError::InvalidRedirectUri(String::new()),
            OAuthError::InvalidClientMetadata(String::new()),
            OAuthError::InvalidToken(String::new()),
            OAuthError::InsufficientScope(String::new()),
            OAuthError::TemporarilyUnavailable {
                throttled: false,
                retry_after_secs: 1,
                description: String::new(),
            },
            OAuthError::ServerError(String::new()),
        ];
        for (e, code) in all.iter().zip(rfc) {
            assert_eq!(e.code(), code);
        }
    }

    #[test]
    fn scope_sets() {
        assert_eq!(scope_list(" a  b a "), vec!["a", "b"]);
        assert!(scopes_within("a", "a b"));
        assert!(!scopes_within("a c", "a b"));
        assert!(scopes_within("", "a"));
    }
}
