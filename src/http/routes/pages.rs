//! The pages' routes: sign-in (for the OAuth authorization too), sign-up, password reset, the
//! account page, the demo, and the assets.

use super::{PAGE, Policy, READ, Route, page_write};
use crate::http::{account, account_mfa, demo, end_session, pages};

pub const ROUTES: &[Route] = &[
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
];
