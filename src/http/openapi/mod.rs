//! The OpenAPI 3.1 document served at `/openapi.json`: every route of the route table, with its
//! request and response schemas and every error code. Each area declares its operations beside its handlers
//! (`operations()` in `http::auth`, `http::oauth`, …). A test checks them against `routes::ROUTES` and
//! `.ci/run` validates it with a standard validator, so it cannot drift.

use serde_json::{Map, Value, json};

use crate::http;

/// The `/v2` error codes, by HTTP status (API.md and `domain::error`).
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
            "mfa_token_invalid",
            "mfa_token_expired",
            "passkey_invalid",
            "code_invalid",
        ],
    ),
    (
        403,
        &[
            "insufficient_scope",
            "confirmation_required",
            "account_disabled",
            "second_factor_required",
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
            "mfa_already_enabled",
            "mfa_not_enabled",
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
pub struct Op {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    pub bearer: Bearer,
    pub request: Option<Value>,
    pub success: (u16, &'static str, Option<Value>),
    pub errors: &'static [&'static str],
    pub idempotent: bool,
}

#[derive(Clone, Copy, PartialEq)]
pub enum Bearer {
    None,
    Required,
    Optional,
}

pub fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

pub fn obj(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "required": required, "properties": props})
}

pub fn s() -> Value {
    json!({"type": "string"})
}

/// Every operation of the document: each area's, declared beside its handlers.
fn operations() -> Vec<Op> {
    [
        http::auth::operations(),
        http::tokens::operations(),
        http::mfa::operations(),
        http::passkeys::operations(),
        http::end_session::operations(),
        http::support::operations(),
        http::oauth::operations(),
        http::pages::operations(),
        http::account::operations(),
        http::account_mfa::operations(),
        http::admin::operations(),
        http::demo::operations(),
        http::ops::operations(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A page route's operation: HTML or a redirect, a CSRF token in every form it posts, and the
/// page errors.
pub fn page(method: &'static str, path: &'static str, summary: &'static str, status: u16) -> Op {
    Op {
        method,
        path,
        summary,
        tag: "pages",
        bearer: Bearer::None,
        request: (method == "post").then(|| obj(&["csrf_token"], json!({"csrf_token": s()}))),
        success: (status, "HTML, or a redirect", None),
        errors: &["page"],
        idempotent: false,
    }
}

/// The body `{"email"}` of the routes that mail a code.
pub fn email_body() -> Value {
    obj(&["email"], json!({"email": s()}))
}

/// The `{"accepted": true}` answer of the routes that mail a code whether or not the address
/// is known.
pub fn accepted() -> Value {
    obj(
        &["accepted"],
        json!({"accepted": {"type": "boolean", "const": true}}),
    )
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
        "/admin"
        | "/admin/import"
        | "/admin/clients"
        | "/admin/reports"
        | "/admin/audit"
        | "/admin/import/{id}"
        | "/admin/reports/{id}" => &[
            (
                303,
                "No browser session (a GET): a redirect to /login?return_to=…",
            ),
            (404, "No such upload or report"),
            (
                422,
                "A filter that does not parse, or an upload that is not a CSV of rows: the page with the reason",
            ),
        ],
        "/admin/team" => &[(
            422,
            "An action or value the console does not offer: the team page with the reason; nothing changed",
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
    let form = op.path.starts_with("/oauth/") && op.path != "/oauth/register"
        || op.tag == "pages"
        || op.tag == "admin";
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
            let forbidden = if op.tag == "admin" {
                "An HTML page: not an admin's browser session (admin_required; a bearer token never is), no second factor under --require-mfa-for (second_factor_required), or a missing or wrong CSRF token; nothing changed"
            } else {
                "An HTML page: the CSRF token is missing or wrong; nothing changed"
            };
            responses.insert("403".into(), json!({"description": forbidden}));
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
                // At the second step of sign-in a wrong code is 401, as a wrong password is.
                let status = if op.path == "/v2/auth/login/mfa" && code == "code_invalid" {
                    401
                } else {
                    status_of(code)
                };
                by_status.entry(status).or_default().push(code);
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
        let media = if op.path == "/admin/import" {
            "multipart/form-data"
        } else if form {
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
                "User": obj(&["id", "handle", "email", "emailConfirmed", "displayName", "createdAt", "role", "groups"], json!({"id": s(), "handle": s(), "email": s(), "emailConfirmed": {"type": "boolean"}, "displayName": {"type": ["string", "null"]}, "createdAt": {"type": "string", "format": "date-time"}, "role": {"enum": ["member", "admin"]}, "groups": {"type": "array", "items": {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$"}}})),
                "Session": obj(&["accessToken", "tokenType", "expiresIn", "expiresAt", "refreshToken", "refreshExpiresAt", "sessionId", "user"], json!({"accessToken": s(), "tokenType": {"const": "Bearer"}, "expiresIn": {"type": "integer"}, "expiresAt": {"type": "string", "format": "date-time"}, "refreshToken": s(), "refreshExpiresAt": {"type": "string", "format": "date-time"}, "sessionId": s(), "user": r("User")})),
                "Me": obj(&["user", "session", "credential"], json!({"user": {"allOf": [r("User"), obj(&["mfa"], json!({"mfa": {"type": "boolean", "description": "a second factor (TOTP) is active"}}))]}, "session": {"oneOf": [{"type": "null"}, obj(&["id", "createdAt", "idleExpiresAt", "expiresAt"], json!({"id": s(), "createdAt": s(), "idleExpiresAt": s(), "expiresAt": s()}))]}, "credential": obj(&["type", "scopes", "expiresAt", "amr"], json!({"type": {"enum": ["jwt", "pat"]}, "scopes": {"type": "array", "items": s()}, "expiresAt": s(), "amr": {"type": "array", "items": s(), "description": "RFC 8176: [pwd], [pwd, otp, mfa] after a TOTP code, [pwd, mfa] after a recovery code; empty for a PAT"}}))})),
                "Pat": obj(&["id", "name", "scopes", "createdAt", "expiresAt", "lastUsedAt"], json!({"id": s(), "name": s(), "scopes": {"type": "array", "items": s()}, "createdAt": s(), "expiresAt": s(), "lastUsedAt": {"type": ["string", "null"]}})),
                "PatCreated": obj(&["id", "token", "name", "scopes", "expiresAt"], json!({"id": s(), "token": {"type": "string", "pattern": "^gha_pat_"}, "name": s(), "scopes": {"type": "array", "items": s()}, "expiresAt": s()})),
                "ClientMetadata": obj(&[], json!({"client_id": s(), "client_secret": s(), "client_id_issued_at": {"type": "integer"}, "client_secret_expires_at": {"type": "integer"}, "redirect_uris": {"type": "array", "items": s()}, "grant_types": {"type": "array", "items": s()}, "response_types": {"type": "array", "items": s()}, "token_endpoint_auth_method": s(), "client_name": s(), "scope": s()})),
                "MfaChallenge": obj(&["mfaRequired", "mfaToken", "methods", "expiresAt"], json!({"mfaRequired": {"const": true}, "mfaToken": s(), "methods": {"type": "array", "items": {"enum": ["totp", "recovery"]}}, "expiresAt": {"type": "string", "format": "date-time"}})),
                "TokenResponse": obj(&["access_token", "token_type", "expires_in", "scope"], json!({"access_token": s(), "token_type": {"const": "Bearer"}, "expires_in": {"type": "integer"}, "scope": s(), "refresh_token": s(), "id_token": {"type": "string", "description": "OpenID Connect: a JWS (RS256, or the client's id_token_signed_response_alg) for a grant that holds openid"}})),
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
