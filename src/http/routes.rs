//! The route table: every route served, its handler, and the policy the dispatcher applies around
//! it (per-IP throttle, daily write budget, idempotency, body cap, HTML errors). It doubles as the
//! checklist of the OpenAPI document (`openapi`, and the drift test).

use rouille::Response;

use crate::core::Core;
use crate::core::config::BODY_LIMIT;
use crate::domain::error::ApiError;
use crate::http::{
    Ctx, account, account_mfa, auth, demo, end_session, mfa, oauth, ops, pages, passkeys, support,
    tokens,
};

pub type Handler = fn(&Core, &Ctx<'_>) -> Result<Response, ApiError>;

/// What the dispatcher does around a route's handler.
#[derive(Clone, Copy)]
pub struct Policy {
    /// The per-IP throttle checked before the body is read.
    pub ip_limit: Option<&'static str>,
    /// Charged to the IP's daily write budget (authenticated writes also charge the account's).
    pub daily: bool,
    /// Honours `Idempotency-Key` (only routes whose responses hold no secret).
    pub idempotent: bool,
    pub body_limit: usize,
    /// A browser page: errors are answered with an HTML page.
    pub html: bool,
    /// Successes go to the request log too (failures always do): writes and sign-ins, not the
    /// high-volume reads and token exchanges (me, refresh, /oauth/token).
    pub record_success: bool,
}

const READ: Policy = Policy {
    ip_limit: None,
    daily: false,
    idempotent: false,
    body_limit: BODY_LIMIT,
    html: false,
    record_success: false,
};
const PAGE: Policy = Policy { html: true, ..READ };
/// A page form that writes: its throttle and the daily budget, as its API route has.
const fn page_write(ip_limit: Option<&'static str>) -> Policy {
    Policy {
        ip_limit,
        daily: true,
        idempotent: false,
        body_limit: BODY_LIMIT,
        html: true,
        record_success: true,
    }
}
const fn write(ip_limit: Option<&'static str>, idempotent: bool) -> Policy {
    Policy {
        ip_limit,
        daily: true,
        idempotent,
        body_limit: BODY_LIMIT,
        html: false,
        record_success: true,
    }
}
/// Support reports carry a repro artifact of up to 64 KiB beside their text.
const REPORT_BODY_LIMIT: usize = 160 * 1024;
/// The largest body any route takes; the server never reads past it.
pub const MAX_BODY: usize = REPORT_BODY_LIMIT;

pub struct Route {
    pub method: &'static str,
    /// The template; `{name}` matches one path segment.
    pub path: &'static str,
    pub handler: Handler,
    pub policy: Policy,
}

/// Every route served. The OpenAPI document is checked against it.
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
        path: "/oauth/logout",
        handler: end_session::get_logout,
        policy: PAGE,
    },
    Route {
        method: "POST",
        path: "/oauth/logout",
        handler: end_session::post_logout,
        policy: page_write(None),
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
        method: "GET",
        path: "/oauth/authorize",
        handler: pages::get_authorize,
        policy: PAGE,
    },
    Route {
        method: "POST",
        path: "/oauth/authorize/decision",
        handler: pages::post_decision,
        policy: PAGE,
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
        path: "/login",
        handler: pages::get_login,
        policy: PAGE,
    },
    Route {
        method: "POST",
        path: "/login",
        handler: pages::post_login,
        policy: Policy {
            ip_limit: Some("login-ip"),
            record_success: true,
            ..PAGE
        },
    },
    Route {
        method: "POST",
        path: "/login/passkey",
        handler: pages::post_login_passkey,
        policy: Policy {
            ip_limit: Some("login-ip"),
            record_success: true,
            ..PAGE
        },
    },
    Route {
        method: "POST",
        path: "/login/mfa",
        handler: pages::post_login_mfa,
        policy: Policy {
            ip_limit: Some("login-ip"),
            record_success: true,
            ..PAGE
        },
    },
    Route {
        method: "GET",
        path: "/",
        handler: account::get_home,
        policy: PAGE,
    },
    Route {
        method: "GET",
        path: "/signup",
        handler: account::get_signup,
        policy: PAGE,
    },
    Route {
        method: "POST",
        path: "/signup",
        handler: account::post_signup,
        policy: page_write(Some("signup-ip")),
    },
    Route {
        method: "GET",
        path: "/signup/confirm",
        handler: account::get_confirm,
        policy: PAGE,
    },
    Route {
        method: "POST",
        path: "/signup/confirm",
        handler: account::post_confirm,
        policy: page_write(Some("confirm-ip")),
    },
    Route {
        method: "POST",
        path: "/signup/resend",
        handler: account::post_resend,
        policy: page_write(Some("resend-ip")),
    },
    Route {
        method: "GET",
        path: "/password/forgot",
        handler: account::get_forgot,
        policy: PAGE,
    },
    Route {
        method: "POST",
        path: "/password/forgot",
        handler: account::post_forgot,
        policy: page_write(Some("forgot-ip")),
    },
    Route {
        method: "GET",
        path: "/password/reset",
        handler: account::get_reset,
        policy: PAGE,
    },
    Route {
        method: "POST",
        path: "/password/reset",
        handler: account::post_reset,
        policy: page_write(Some("confirm-ip")),
    },
    Route {
        method: "GET",
        path: "/logout",
        handler: pages::get_logout,
        policy: PAGE,
    },
    Route {
        method: "POST",
        path: "/logout",
        handler: pages::post_logout,
        policy: page_write(None),
    },
    Route {
        method: "GET",
        path: "/account",
        handler: account::get_account,
        policy: PAGE,
    },
    Route {
        method: "POST",
        path: "/account/tokens",
        handler: account::post_token,
        policy: page_write(None),
    },
    Route {
        method: "POST",
        path: "/account/mfa/totp",
        handler: account_mfa::post_setup,
        policy: page_write(None),
    },
    Route {
        method: "POST",
        path: "/account/mfa/totp/confirm",
        handler: account_mfa::post_confirm,
        policy: page_write(None),
    },
    Route {
        method: "POST",
        path: "/account/mfa/recovery-codes",
        handler: account_mfa::post_recovery_codes,
        policy: page_write(None),
    },
    Route {
        method: "POST",
        path: "/account/mfa/totp/remove",
        handler: account_mfa::post_remove,
        policy: page_write(None),
    },
    Route {
        method: "POST",
        path: "/account/passkeys/options",
        handler: account_mfa::post_passkey_options,
        policy: page_write(None),
    },
    Route {
        method: "POST",
        path: "/account/passkeys",
        handler: account_mfa::post_passkey_add,
        policy: page_write(None),
    },
    Route {
        method: "POST",
        path: "/account/passkeys/remove",
        handler: account_mfa::post_passkey_remove,
        policy: page_write(None),
    },
    Route {
        method: "POST",
        path: "/account/tokens/revoke",
        handler: account::post_revoke_token,
        policy: page_write(None),
    },
    Route {
        method: "POST",
        path: "/account/sessions/revoke",
        handler: account::post_revoke_session,
        policy: page_write(None),
    },
    Route {
        method: "POST",
        path: "/account/sessions/revoke-others",
        handler: account::post_revoke_others,
        policy: page_write(None),
    },
    Route {
        method: "POST",
        path: "/account/apps/revoke",
        handler: account::post_revoke_app,
        policy: page_write(None),
    },
    Route {
        method: "GET",
        path: "/demo/mailbox",
        handler: demo::get_mailbox,
        policy: PAGE,
    },
    Route {
        method: "GET",
        path: "/demo/start",
        handler: demo::get_start,
        policy: PAGE,
    },
    Route {
        method: "GET",
        path: "/demo/callback",
        handler: demo::get_callback,
        policy: PAGE,
    },
    Route {
        method: "GET",
        path: "/assets/copy.js",
        handler: pages::get_script,
        policy: READ,
    },
    Route {
        method: "GET",
        path: "/assets/passkey.js",
        handler: pages::get_passkey_script,
        policy: READ,
    },
    Route {
        method: "GET",
        path: "/assets/style.css",
        handler: pages::get_stylesheet,
        policy: READ,
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
