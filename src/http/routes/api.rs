//! The API's routes: identity (`/v2`), the OAuth authorization server's endpoints and metadata,
//! and operations.

use super::{Policy, READ, REPORT_BODY_LIMIT, Route, write};
use crate::http::{auth, mfa, oauth, ops, passkeys, support, tokens};

pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/v2/auth/signup",
        handler: auth::post_signup,
        policy: write(Some("signup-ip"), true),
    },
    Route {
        method: "POST",
        path: "/v2/auth/signup/confirm",
        handler: auth::post_signup_confirm,
        policy: write(Some("confirm-ip"), true),
    },
    Route {
        method: "POST",
        path: "/v2/auth/signup/resend",
        handler: auth::post_signup_resend,
        policy: write(Some("resend-ip"), true),
    },
    Route {
        method: "POST",
        path: "/v2/auth/login",
        handler: auth::post_login,
        policy: Policy {
            ip_limit: Some("login-ip"),
            record_success: true,
            ..READ
        },
    },
    Route {
        method: "POST",
        path: "/v2/auth/refresh",
        handler: auth::post_refresh,
        policy: READ,
    },
    Route {
        method: "POST",
        path: "/v2/auth/logout",
        handler: auth::post_logout,
        policy: write(None, true),
    },
    Route {
        method: "GET",
        path: "/v2/auth/me",
        handler: auth::get_me,
        policy: READ,
    },
    Route {
        method: "POST",
        path: "/v2/auth/password/forgot",
        handler: auth::post_password_forgot,
        policy: write(Some("forgot-ip"), true),
    },
    Route {
        method: "POST",
        path: "/v2/auth/password/forgot/confirm",
        handler: auth::post_password_forgot_confirm,
        policy: write(Some("confirm-ip"), true),
    },
    Route {
        method: "POST",
        path: "/v2/auth/tokens",
        handler: tokens::post_token,
        policy: write(None, false),
    },
    Route {
        method: "GET",
        path: "/v2/auth/tokens",
        handler: tokens::get_tokens,
        policy: READ,
    },
    Route {
        method: "DELETE",
        path: "/v2/auth/tokens/{id}",
        handler: tokens::delete_token,
        policy: write(None, false),
    },
    Route {
        method: "POST",
        path: "/v2/support/report",
        handler: support::post_report,
        policy: Policy {
            body_limit: REPORT_BODY_LIMIT,
            ..write(Some("report-ip"), true)
        },
    },
    Route {
        method: "GET",
        path: "/.well-known/oauth-authorization-server",
        handler: oauth::get_metadata,
        policy: READ,
    },
    Route {
        method: "GET",
        path: "/.well-known/openid-configuration",
        handler: oauth::get_openid_configuration,
        policy: READ,
    },
    Route {
        method: "GET",
        path: "/.well-known/oauth-protected-resource",
        handler: oauth::get_protected_resource,
        policy: READ,
    },
    Route {
        method: "GET",
        path: "/oauth/userinfo",
        handler: oauth::userinfo,
        policy: READ,
    },
    Route {
        method: "POST",
        path: "/oauth/userinfo",
        handler: oauth::userinfo,
        policy: READ,
    },
    Route {
        method: "GET",
        path: "/oauth/jwks",
        handler: oauth::get_jwks,
        policy: READ,
    },
    Route {
        method: "POST",
        path: "/oauth/register",
        handler: oauth::post_register,
        policy: write(None, false),
    },
    Route {
        method: "POST",
        path: "/oauth/token",
        handler: oauth::post_token,
        policy: READ,
    },
    Route {
        method: "POST",
        path: "/oauth/revoke",
        handler: oauth::post_revoke,
        policy: READ,
    },
    Route {
        method: "POST",
        path: "/oauth/introspect",
        handler: oauth::post_introspect,
        policy: READ,
    },
    // The second factor's API comes after the hot routes (me, refresh, the token endpoint):
    // the table is matched in order, and each route tried costs a template match.
    Route {
        method: "POST",
        path: "/v2/auth/login/mfa",
        handler: auth::post_login_mfa,
        policy: Policy {
            ip_limit: Some("login-ip"),
            record_success: true,
            ..READ
        },
    },
    Route {
        method: "GET",
        path: "/v2/auth/mfa",
        handler: mfa::get_mfa,
        policy: READ,
    },
    Route {
        method: "POST",
        path: "/v2/auth/mfa/totp",
        handler: mfa::post_totp,
        policy: write(None, false),
    },
    Route {
        method: "DELETE",
        path: "/v2/auth/mfa/totp",
        handler: mfa::delete_totp,
        policy: write(None, false),
    },
    Route {
        method: "POST",
        path: "/v2/auth/mfa/totp/confirm",
        handler: mfa::post_totp_confirm,
        policy: write(None, false),
    },
    Route {
        method: "POST",
        path: "/v2/auth/mfa/recovery-codes",
        handler: mfa::post_recovery_codes,
        policy: write(None, false),
    },
    Route {
        method: "POST",
        path: "/v2/auth/passkeys/register/start",
        handler: passkeys::post_register_start,
        policy: write(None, false),
    },
    Route {
        method: "POST",
        path: "/v2/auth/passkeys/register/finish",
        handler: passkeys::post_register_finish,
        policy: write(None, false),
    },
    Route {
        method: "DELETE",
        path: "/v2/auth/passkeys/{id}",
        handler: passkeys::delete_passkey,
        policy: write(None, false),
    },
    Route {
        method: "POST",
        path: "/v2/auth/passkeys/login/start",
        handler: passkeys::post_login_start,
        policy: Policy {
            ip_limit: Some("login-ip"),
            record_success: true,
            ..READ
        },
    },
    Route {
        method: "POST",
        path: "/v2/auth/passkeys/login/finish",
        handler: passkeys::post_login_finish,
        policy: Policy {
            ip_limit: Some("login-ip"),
            record_success: true,
            ..READ
        },
    },
    Route {
        method: "GET",
        path: "/openapi.json",
        handler: ops::get_openapi,
        policy: READ,
    },
    Route {
        method: "GET",
        path: "/metrics",
        handler: ops::get_metrics,
        policy: READ,
    },
    Route {
        method: "GET",
        path: "/healthz",
        handler: ops::get_healthz,
        policy: READ,
    },
];
