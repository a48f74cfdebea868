//! The OpenAPI 3.1 document served at `/openapi.json`: every route of the route table, with its
//! request and response schemas and every error code. A test checks it against `app::ROUTES` and
//! `.ci/run` validates it with a standard validator, so it cannot drift.

use serde_json::{Map, Value, json};

/// The `/v2` error codes, by HTTP status (API.md and `error.rs`).
pub const V2_ERRORS: &[(u16, &[&str])] = &[
    (
        400,
        &[
            "malformed_json",
            "malformed_request",
            "code_invalid",
            "code_expired",
            "code_exhausted",
        ],
    ),
    (
        401,
        &[
            "invalid_token",
            "invalid_credentials",
            "refresh_token_invalid",
            "refresh_token_expired",
            "refresh_token_reused",
            "session_revoked",
        ],
    ),
    (
        403,
        &[
            "insufficient_scope",
            "confirmation_required",
            "account_disabled",
        ],
    ),
    (404, &["not_found"]),
    (405, &["method_not_allowed"]),
    (
        409,
        &[
            "handle_taken",
            "email_taken",
            "refresh_in_progress",
            "idempotency_in_progress",
        ],
    ),
    (408, &["request_timeout"]),
    (413, &["body_too_large"]),
    (415, &["unsupported_media_type"]),
    (
        422,
        &["invalid_field", "weak_password", "idempotency_key_mismatch"],
    ),
    (429, &["throttled", "login_backoff", "daily_limit_reached"]),
    (431, &["header_too_large"]),
    (500, &["internal_error"]),
    (501, &["unsupported_transfer_coding"]),
    (503, &["unavailable"]),
    (505, &["http_version_not_supported"]),
];

/// What the connection layer answers on any route, before routing: framing and version errors,
/// deadlines, and the connection caps (503 `overloaded`). Each closes the connection.
const CONNECTION_ERRORS: [&str; 6] = [
    "malformed_request",
    "request_timeout",
    "header_too_large",
    "unsupported_transfer_coding",
    "http_version_not_supported",
    "unavailable",
];

/// What one operation answers besides success: the statuses and their codes.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    bearer: Bearer,
    request: Option<Value>,
    success: (u16, &'static str, Option<Value>),
    errors: &'static [&'static str],
    idempotent: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Bearer {
    None,
    Required,
    Optional,
}

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn obj(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "required": required, "properties": props})
}

fn s() -> Value {
    json!({"type": "string"})
}

fn operations() -> Vec<Op> {
    let email = obj(&["email"], json!({"email": s()}));
    let accepted = obj(
        &["accepted"],
        json!({"accepted": {"type": "boolean", "const": true}}),
    );
    let pages: [(&'static str, &'static str, &'static str, u16); 22] = [
        ("get", "/", "Home: what this is, and links", 200),
        ("get", "/signup", "The sign-up page", 200),
        (
            "post",
            "/signup",
            "Sign up from the page; 303 to /signup/confirm, or the form again with the reason",
            303,
        ),
        (
            "get",
            "/signup/confirm",
            "The confirm page (takes ?email=), with \"send a new code\"",
            200,
        ),
        (
            "post",
            "/signup/confirm",
            "Confirm from the page (an invited account also chooses its password)",
            200,
        ),
        (
            "post",
            "/signup/resend",
            "Send a new code from the page",
            200,
        ),
        ("get", "/password/forgot", "The forgot-password page", 200),
        (
            "post",
            "/password/forgot",
            "Mail a reset code; 303 to /password/reset",
            303,
        ),
        (
            "get",
            "/password/reset",
            "The reset page (takes ?email=)",
            200,
        ),
        (
            "post",
            "/password/reset",
            "Set a new password with the code",
            200,
        ),
        (
            "get",
            "/logout",
            "A page with a sign-out button (a GET never signs out)",
            200,
        ),
        ("post", "/logout", "Sign this browser out", 200),
        (
            "get",
            "/account",
            "The account page: profile, sessions, tokens, apps, debug panel (303 to sign in without a session)",
            200,
        ),
        (
            "post",
            "/account/tokens",
            "Create a personal access token from the page (shown once)",
            201,
        ),
        (
            "post",
            "/account/tokens/revoke",
            "Revoke a personal access token from the page",
            200,
        ),
        (
            "post",
            "/account/sessions/revoke",
            "Revoke one session from the page",
            200,
        ),
        (
            "post",
            "/account/sessions/revoke-others",
            "Sign out everywhere else",
            200,
        ),
        (
            "post",
            "/account/apps/revoke",
            "Withdraw an app's access",
            200,
        ),
        (
            "get",
            "/demo/mailbox",
            "The demo's mailbox (gharart-id demo only)",
            200,
        ),
        (
            "get",
            "/demo/start",
            "The demo app starts an authorization with PKCE (gharart-id demo only)",
            303,
        ),
        (
            "get",
            "/demo/callback",
            "The demo app exchanges its code and shows the claims (gharart-id demo only)",
            200,
        ),
        (
            "get",
            "/assets/copy.js",
            "The pages' one script (copy buttons; the pages work without it)",
            200,
        ),
    ];
    let page_ops = pages.into_iter().map(|(method, path, summary, status)| Op {
        method,
        path,
        summary,
        tag: "pages",
        bearer: Bearer::None,
        request: (method == "post").then(|| obj(&["csrf_token"], json!({"csrf_token": s()}))),
        success: (status, "HTML, or a redirect", None),
        errors: &["page"],
        idempotent: false,
    });
    let mut ops = vec![
        Op {
            method: "post",
            path: "/v2/auth/signup",
            summary: "Create an unconfirmed account and mail its code",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(obj(
                &["handle", "email", "password"],
                json!({"handle": {"type": "string", "pattern": "^[A-Za-z0-9_-]{3,32}$"}, "email": s(), "password": {"type": "string", "minLength": 8}, "displayName": s()}),
            )),
            success: (
                201,
                "Created",
                Some(obj(
                    &["user", "confirmation"],
                    json!({"user": r("User"), "confirmation": obj(&["sentTo", "expiresAt"], json!({"sentTo": s(), "expiresAt": {"type": "string", "format": "date-time"}}))}),
                )),
            ),
            errors: &[
                "invalid_field",
                "weak_password",
                "handle_taken",
                "email_taken",
                "throttled",
                "daily_limit_reached",
            ],
            idempotent: true,
        },
        Op {
            method: "post",
            path: "/v2/auth/signup/confirm",
            summary: "Confirm an email with its code (an invited account also sets its password)",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(obj(
                &["email", "code"],
                json!({"email": s(), "code": {"type": "string", "pattern": "^[0-9]{6}$"}, "password": s()}),
            )),
            success: (
                200,
                "Confirmed",
                Some(obj(&["user"], json!({"user": r("User")}))),
            ),
            errors: &[
                "code_invalid",
                "code_expired",
                "code_exhausted",
                "invalid_field",
                "weak_password",
                "throttled",
                "daily_limit_reached",
            ],
            idempotent: true,
        },
        Op {
            method: "post",
            path: "/v2/auth/signup/resend",
            summary: "Send a new confirmation code (same answer for any email)",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(email.clone()),
            success: (202, "Accepted", Some(accepted.clone())),
            errors: &["invalid_field", "throttled", "daily_limit_reached"],
            idempotent: true,
        },
        Op {
            method: "post",
            path: "/v2/auth/login",
            summary: "Sign in with handle or email and password",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(obj(
                &["login", "password"],
                json!({"login": s(), "password": s()}),
            )),
            success: (200, "A session", Some(r("Session"))),
            errors: &[
                "invalid_credentials",
                "confirmation_required",
                "account_disabled",
                "invalid_field",
                "throttled",
                "login_backoff",
                "unavailable",
            ],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/auth/refresh",
            summary: "Rotate a refresh token",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(obj(&["refreshToken"], json!({"refreshToken": s()}))),
            success: (200, "A session", Some(r("Session"))),
            errors: &[
                "refresh_token_invalid",
                "refresh_token_expired",
                "refresh_token_reused",
                "session_revoked",
                "refresh_in_progress",
                "invalid_field",
                "throttled",
            ],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/auth/logout",
            summary: "Revoke this session, or every session of the user",
            tag: "identity",
            bearer: Bearer::Required,
            request: Some(obj(&[], json!({"allSessions": {"type": "boolean"}}))),
            success: (204, "Signed out", None),
            errors: &[
                "invalid_token",
                "session_revoked",
                "insufficient_scope",
                "invalid_field",
                "daily_limit_reached",
            ],
            idempotent: true,
        },
        Op {
            method: "get",
            path: "/v2/auth/me",
            summary: "The caller's profile, session and credential (needs scope profile)",
            tag: "identity",
            bearer: Bearer::Required,
            request: None,
            success: (200, "Who is calling", Some(r("Me"))),
            errors: &["invalid_token", "session_revoked", "insufficient_scope"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/auth/password/forgot",
            summary: "Mail a reset code (same answer for any email)",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(email),
            success: (202, "Accepted", Some(accepted)),
            errors: &["invalid_field", "throttled", "daily_limit_reached"],
            idempotent: true,
        },
        Op {
            method: "post",
            path: "/v2/auth/password/forgot/confirm",
            summary: "Set a new password with a reset code; revokes every session and PAT",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(obj(
                &["email", "code", "newPassword"],
                json!({"email": s(), "code": s(), "newPassword": s()}),
            )),
            success: (
                200,
                "Reset",
                Some(obj(
                    &["passwordReset", "sessionsRevoked"],
                    json!({"passwordReset": {"type": "boolean"}, "sessionsRevoked": {"type": "integer"}}),
                )),
            ),
            errors: &[
                "weak_password",
                "code_invalid",
                "code_expired",
                "code_exhausted",
                "invalid_field",
                "throttled",
                "daily_limit_reached",
            ],
            idempotent: true,
        },
        Op {
            method: "post",
            path: "/v2/auth/tokens",
            summary: "Create a personal access token (shown once)",
            tag: "tokens",
            bearer: Bearer::Required,
            request: Some(obj(
                &["name", "scopes", "expiresInDays"],
                json!({"name": s(), "scopes": {"type": "array", "items": s()}, "expiresInDays": {"type": "integer", "minimum": 1, "maximum": 365}}),
            )),
            success: (201, "Created", Some(r("PatCreated"))),
            errors: &[
                "invalid_token",
                "insufficient_scope",
                "invalid_field",
                "daily_limit_reached",
            ],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/v2/auth/tokens",
            summary: "List personal access tokens (never the secret)",
            tag: "tokens",
            bearer: Bearer::Required,
            request: None,
            success: (
                200,
                "Tokens",
                Some(obj(
                    &["tokens"],
                    json!({"tokens": {"type": "array", "items": r("Pat")}}),
                )),
            ),
            errors: &["invalid_token", "insufficient_scope"],
            idempotent: false,
        },
        Op {
            method: "delete",
            path: "/v2/auth/tokens/{id}",
            summary: "Revoke a personal access token",
            tag: "tokens",
            bearer: Bearer::Required,
            request: None,
            success: (204, "Revoked", None),
            errors: &[
                "invalid_token",
                "insufficient_scope",
                "not_found",
                "daily_limit_reached",
            ],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/support/report",
            summary: "Send support a report naming a request ID",
            tag: "support",
            bearer: Bearer::Optional,
            request: Some(obj(
                &["summary", "details"],
                json!({"summary": {"type": "string", "minLength": 1, "maxLength": 200}, "details": {"type": "string", "maxLength": 10000}, "handle": s(), "sessionId": s(), "requestId": s(), "reproArtifact": s()}),
            )),
            success: (
                201,
                "Received",
                Some(obj(
                    &["reportId", "receivedAt"],
                    json!({"reportId": s(), "receivedAt": {"type": "string", "format": "date-time"}, "requestRecordAttached": {"type": "boolean"}}),
                )),
            ),
            errors: &["invalid_field", "throttled", "daily_limit_reached"],
            idempotent: true,
        },
        Op {
            method: "get",
            path: "/.well-known/oauth-authorization-server",
            summary: "Authorization server metadata (RFC 8414)",
            tag: "oauth",
            bearer: Bearer::None,
            request: None,
            success: (200, "Metadata", Some(json!({"type": "object"}))),
            errors: &[],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/oauth/register",
            summary: "Dynamic client registration (RFC 7591)",
            tag: "oauth",
            bearer: Bearer::Required,
            request: Some(r("ClientMetadata")),
            success: (201, "Registered", Some(r("ClientMetadata"))),
            errors: &["oauth"],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/oauth/authorize",
            summary: "Authorization endpoint: sign-in and consent pages, then a 303 to the client (PKCE S256 required)",
            tag: "oauth",
            bearer: Bearer::None,
            request: None,
            success: (
                303,
                "Redirect to the client with code, state and iss (or error)",
                None,
            ),
            errors: &["page"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/oauth/authorize/decision",
            summary: "The consent form's target (CSRF-protected)",
            tag: "oauth",
            bearer: Bearer::None,
            request: Some(obj(
                &["csrf_token", "request_id", "decision"],
                json!({"csrf_token": s(), "request_id": s(), "decision": {"enum": ["approve", "deny"]}}),
            )),
            success: (303, "Redirect to the client", None),
            errors: &["page"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/oauth/token",
            summary: "Token endpoint: authorization_code, refresh_token, client_credentials",
            tag: "oauth",
            bearer: Bearer::None,
            request: Some(obj(
                &["grant_type"],
                json!({"grant_type": {"enum": ["authorization_code", "refresh_token", "client_credentials"]}, "code": s(), "redirect_uri": s(), "code_verifier": s(), "refresh_token": s(), "scope": s(), "client_id": s(), "client_secret": s()}),
            )),
            success: (200, "Tokens", Some(r("TokenResponse"))),
            errors: &["oauth"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/oauth/revoke",
            summary: "Token revocation (RFC 7009)",
            tag: "oauth",
            bearer: Bearer::None,
            request: Some(obj(
                &["token"],
                json!({"token": s(), "token_type_hint": s()}),
            )),
            success: (200, "Revoked (also for unknown tokens)", None),
            errors: &["oauth"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/oauth/introspect",
            summary: "Token introspection (RFC 7662) for confidential clients",
            tag: "oauth",
            bearer: Bearer::None,
            request: Some(obj(
                &["token"],
                json!({"token": s(), "token_type_hint": s()}),
            )),
            success: (200, "The token's state", Some(r("Introspection"))),
            errors: &["oauth"],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/login",
            summary: "The sign-in page",
            tag: "pages",
            bearer: Bearer::None,
            request: None,
            success: (200, "HTML", None),
            errors: &["page"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/login",
            summary: "Sign in from the page (CSRF-protected); 303 back, or the form again with the API's status (401, 403, 429, 503)",
            tag: "pages",
            bearer: Bearer::None,
            request: Some(obj(
                &["csrf_token", "login", "password"],
                json!({"csrf_token": s(), "login": s(), "password": s(), "return_to": s()}),
            )),
            success: (303, "Signed in", None),
            errors: &["page"],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/assets/style.css",
            summary: "The pages' stylesheet",
            tag: "pages",
            bearer: Bearer::None,
            request: None,
            success: (200, "CSS", None),
            errors: &[],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/healthz",
            summary: "Health: 200 when the database answers and can be written (a relay that is down does not make it 503), with the mail queue's pending count and the age of its oldest message; else 503 unavailable with its reason",
            tag: "operations",
            bearer: Bearer::None,
            request: None,
            success: (
                200,
                "Healthy",
                Some(obj(
                    &["status", "mail"],
                    json!({
                        "status": {"const": "ok"},
                        "mail": {
                            "type": "object",
                            "required": ["pending", "oldestPendingSeconds"],
                            "properties": {
                                "pending": {"type": "integer", "minimum": 0, "description": "Messages waiting for delivery (held by --send-after included)"},
                                "oldestPendingSeconds": {"type": "integer", "minimum": 0, "description": "How long the oldest pending message has been ready to go"}
                            }
                        }
                    }),
                )),
            ),
            errors: &["unavailable"],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/metrics",
            summary: "Prometheus metrics (text format 0.0.4)",
            tag: "operations",
            bearer: Bearer::None,
            request: None,
            success: (200, "Metrics", None),
            errors: &["unavailable"],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/openapi.json",
            summary: "This document",
            tag: "operations",
            bearer: Bearer::None,
            request: None,
            success: (200, "OpenAPI 3.1", Some(json!({"type": "object"}))),
            errors: &[],
            idempotent: false,
        },
    ];
    ops.extend(page_ops);
    ops
}

fn status_of(code: &str) -> u16 {
    V2_ERRORS
        .iter()
        .find(|(_, codes)| codes.contains(&code))
        .map_or(400, |(status, _)| *status)
}

/// Statuses a page answers besides its success and the page errors.
fn page_extras(path: &str) -> &'static [(u16, &'static str)] {
    match path {
        "/account" => &[(
            303,
            "No browser session: a redirect to /login?return_to=/account",
        )],
        "/demo/mailbox" | "/demo/start" | "/demo/callback" => &[(
            404,
            "Not found: the /demo routes exist only under gharart-id demo (the JSON envelope, not_found)",
        )],
        _ => &[],
    }
}

fn operation(op: &Op) -> Value {
    let mut responses = Map::new();
    let (status, description, schema) = &op.success;
    let mut success = json!({"description": description});
    if let Some(schema) = schema {
        let media = if op.path == "/metrics" {
            "text/plain"
        } else {
            "application/json"
        };
        success["content"] = json!({media: {"schema": schema}});
    }
    responses.insert(status.to_string(), success);
    let form = op.path.starts_with("/oauth/") && op.path != "/oauth/register" || op.tag == "pages";
    match op.errors {
        ["oauth"] => {
            for (st, what) in [
                ("400", "An OAuth error (RFC 6749 §5.2, RFC 7591 §3.2.2)"),
                ("401", "invalid_client or invalid_token"),
                ("429", "temporarily_unavailable (throttled)"),
            ] {
                responses.insert(st.into(), json!({"description": what, "content": {"application/json": {"schema": r("OAuthError")}}}));
            }
        }
        ["page"] => {
            responses.insert("400".into(), json!({"description": "An HTML page naming the problem (unknown client, redirect URI mismatch with the difference, stale decision) and its request ID"}));
            responses.insert("403".into(), json!({"description": "An HTML page: the CSRF token is missing or wrong; nothing changed"}));
            responses.insert("429".into(), json!({"description": "An HTML page: the authorize loop breaker, with the request IDs involved"}));
            for (st, what) in page_extras(op.path) {
                responses.insert(st.to_string(), json!({"description": what}));
            }
        }
        codes => {
            let mut by_status: std::collections::BTreeMap<u16, Vec<&str>> =
                std::collections::BTreeMap::new();
            for code in codes.iter().copied().chain([
                "malformed_json",
                "body_too_large",
                "unsupported_media_type",
                "internal_error",
            ]) {
                by_status.entry(status_of(code)).or_default().push(code);
            }
            if op.method == "get" {
                by_status.retain(|st, _| ![400, 413, 415].contains(st));
            }
            for code in CONNECTION_ERRORS {
                let listed = by_status.entry(status_of(code)).or_default();
                if !listed.contains(&code) {
                    listed.push(code);
                }
            }
            for (st, codes) in by_status {
                responses.insert(
                    st.to_string(),
                    json!({"description": format!("error.code: {}", codes.join(", ")), "content": {"application/json": {"schema": r("Error")}}}),
                );
            }
        }
    }
    let mut o = json!({"summary": op.summary, "tags": [op.tag], "operationId": format!("{}{}", op.method, op.path.replace(['/', '.', '{', '}', '-'], "_")), "responses": responses});
    let mut params = Vec::new();
    if op.path.contains("{id}") {
        params.push(json!({"name": "id", "in": "path", "required": true, "schema": s()}));
    }
    if op.idempotent {
        params.push(json!({"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                           "description": "Same key and body within 24 h replays the first answer (Idempotent-Replayed: true)"}));
    }
    if op.path == "/oauth/authorize" {
        for (name, required) in [
            ("response_type", true),
            ("client_id", true),
            ("redirect_uri", false),
            ("scope", false),
            ("state", false),
            ("code_challenge", true),
            ("code_challenge_method", true),
            ("prompt", false),
        ] {
            params.push(json!({"name": name, "in": "query", "required": required, "schema": s()}));
        }
    }
    if !params.is_empty() {
        o["parameters"] = Value::Array(params);
    }
    if let Some(schema) = &op.request {
        let media = if form {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        o["requestBody"] = json!({"required": op.path != "/v2/auth/logout", "content": {media: {"schema": schema}}});
    }
    match op.bearer {
        Bearer::Required => o["security"] = json!([{"bearer": []}]),
        Bearer::Optional => o["security"] = json!([{"bearer": []}, {}]),
        Bearer::None => {}
    }
    o
}

/// The whole document, with `issuer` as its server.
pub fn document(issuer: &str) -> Value {
    let mut paths = Map::new();
    for op in operations() {
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        entry[op.method] = operation(&op);
    }
    let all_codes: Vec<&str> = V2_ERRORS
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .collect();
    let outage_reasons: Vec<&str> = crate::domain::error::Outage::ALL
        .iter()
        .map(|o| o.reason())
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {"title": "gharart-id", "version": env!("CARGO_PKG_VERSION"), "description": "A self-hosted identity appliance: identity API, personal access tokens, support reports and an OAuth 2.1 authorization server. Every response carries X-Request-Id. The connection layer answers any route, before routing, with the Error envelope and closes the connection: 400 malformed_request (framing after RFC 9112), 408 request_timeout (head within 10 s, body without a 10 s stall and within 20 s), 431 header_too_large, 501 unsupported_transfer_coding, 505 http_version_not_supported, and 503 unavailable (reason overloaded) past --max-connections or --max-connections-per-ip. HEAD is served wherever GET is.", "license": {"name": "MIT", "identifier": "MIT"}},
        "servers": [{"url": issuer}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "An access JWT or a gha_pat_ personal access token"}},
            "schemas": {
                "Error": obj(&["error"], json!({"error": obj(&["code", "message", "requestId"], json!({"code": {"enum": all_codes}, "message": s(), "requestId": s(), "field": s(), "reason": {"enum": outage_reasons, "description": "with 503 unavailable: why (the hashing queue is full or the connection caps are reached, the database is locked, the disk is full or read-only, or another storage error); each passes by itself; nothing was changed, except that storage_error also covers a failed disk sync after a commit"}}))})),
                "OAuthError": obj(&["error"], json!({"error": s(), "error_description": s()})),
                "User": obj(&["id", "handle", "email", "emailConfirmed", "displayName", "createdAt"], json!({"id": s(), "handle": s(), "email": s(), "emailConfirmed": {"type": "boolean"}, "displayName": {"type": ["string", "null"]}, "createdAt": {"type": "string", "format": "date-time"}})),
                "Session": obj(&["accessToken", "tokenType", "expiresIn", "expiresAt", "refreshToken", "refreshExpiresAt", "sessionId", "user"], json!({"accessToken": s(), "tokenType": {"const": "Bearer"}, "expiresIn": {"type": "integer"}, "expiresAt": {"type": "string", "format": "date-time"}, "refreshToken": s(), "refreshExpiresAt": {"type": "string", "format": "date-time"}, "sessionId": s(), "user": r("User")})),
                "Me": obj(&["user", "session", "credential"], json!({"user": r("User"), "session": {"oneOf": [{"type": "null"}, obj(&["id", "createdAt", "idleExpiresAt", "expiresAt"], json!({"id": s(), "createdAt": s(), "idleExpiresAt": s(), "expiresAt": s()}))]}, "credential": obj(&["type", "scopes", "expiresAt"], json!({"type": {"enum": ["jwt", "pat"]}, "scopes": {"type": "array", "items": s()}, "expiresAt": s()}))})),
                "Pat": obj(&["id", "name", "scopes", "createdAt", "expiresAt", "lastUsedAt"], json!({"id": s(), "name": s(), "scopes": {"type": "array", "items": s()}, "createdAt": s(), "expiresAt": s(), "lastUsedAt": {"type": ["string", "null"]}})),
                "PatCreated": obj(&["id", "token", "name", "scopes", "expiresAt"], json!({"id": s(), "token": {"type": "string", "pattern": "^gha_pat_"}, "name": s(), "scopes": {"type": "array", "items": s()}, "expiresAt": s()})),
                "ClientMetadata": obj(&[], json!({"client_id": s(), "client_secret": s(), "client_id_issued_at": {"type": "integer"}, "client_secret_expires_at": {"type": "integer"}, "redirect_uris": {"type": "array", "items": s()}, "grant_types": {"type": "array", "items": s()}, "response_types": {"type": "array", "items": s()}, "token_endpoint_auth_method": s(), "client_name": s(), "scope": s()})),
                "TokenResponse": obj(&["access_token", "token_type", "expires_in", "scope"], json!({"access_token": s(), "token_type": {"const": "Bearer"}, "expires_in": {"type": "integer"}, "scope": s(), "refresh_token": s()})),
                "Introspection": obj(&["active"], json!({"active": {"type": "boolean"}, "scope": s(), "client_id": s(), "sub": s(), "exp": {"type": "integer"}, "iat": {"type": "integer"}, "iss": s(), "token_type": s()})),
            }
        }
    })
}

/// The (method, path) pairs the document describes, for the drift test.
pub fn described() -> Vec<(String, String)> {
    operations()
        .iter()
        .map(|op| (op.method.to_uppercase(), op.path.to_owned()))
        .collect()
}
