//! The authorization server metadata document (RFC 8414 §2) and the JWKS (RFC 7517 §5): the
//! public halves of the asymmetric signing keys, current and superseded.

use serde_json::{Value, json};

use super::clients::{AUTH_METHODS, GRANTS};
use crate::core::Core;

/// `GET /.well-known/oauth-authorization-server`: `issuer` is exactly the configured issuer.
pub fn document(core: &Core) -> Value {
    let base = &core.issuer;
    json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "registration_endpoint": format!("{base}/oauth/register"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "introspection_endpoint": format!("{base}/oauth/introspect"),
        "userinfo_endpoint": format!("{base}/oauth/userinfo"),
        "jwks_uri": format!("{base}/oauth/jwks"),
        "end_session_endpoint": format!("{base}/oauth/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GRANTS,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": core.config.scopes,
        "authorization_response_iss_parameter_supported": true,
    })
}

/// `GET /.well-known/oauth-protected-resource` (RFC 9728 §2): the appliance's own `/v2` API as
/// a protected resource.
pub fn protected_resource(core: &Core) -> Value {
    json!({
        "resource": core.issuer,
        "authorization_servers": [core.issuer],
        "scopes_supported": core.config.scopes,
        "bearer_methods_supported": ["header"],
        "resource_signing_alg_values_supported": ["HS256"],
    })
}

/// `GET /oauth/jwks`: every asymmetric key that still verifies, so that a token signed before a
/// rotation keeps verifying until its key retires.
pub fn jwks(core: &Core) -> Value {
    let keys: Vec<Value> = core.keys().published().map(|k| k.public_jwk()).collect();
    json!({ "keys": keys })
}
