//! The authorization endpoint (RFC 6749 §4.1.1, RFC 7636, RFC 9207, and OpenID Connect Core
//! §3.1.2.1's `prompt`, `max_age`, `login_hint` and `nonce`) and the consent decision. Order matters: the client and redirect URI are checked first and a failure
//! there never redirects (RFC 6749 §4.1.2.1); every other error redirects back, before any
//! sign-in, so a misconfigured client learns before a user types a password.

use std::sync::Arc;

use super::{OAuthError, clients, pkce, redirect, resource, scope_list, scopes_within};
use crate::core::Core;
use crate::core::clock::Timestamp;
use crate::core::loops::Start;
use crate::core::token::opaque::{b64url, new_id, random_bytes, sha256};
use crate::core::urlenc::{Params, with_query};
use crate::store::StoreError;
use crate::store::clients::ClientRow;
use crate::store::oauth::{self, Grant};

/// How long a consent page stays answerable.
const REQUEST_TTL_SECS: i64 = 600;
/// The longest `nonce` kept (it is echoed in the id_token); a longer one is refused.
const NONCE_MAX: usize = 512;
/// The longest `login_hint` used to prefill the sign-in form.
const LOGIN_HINT_MAX: usize = 254;

/// The browser's sign-in, as the authorization sees it.
#[derive(Debug, Clone, Copy)]
pub struct SignedIn<'a> {
    pub user_id: &'a str,
    /// How it signed in (RFC 8176, space-separated).
    pub amr: &'a str,
    pub at: Timestamp,
}

/// Why the endpoint answers with a page instead of redirecting.
#[derive(Debug)]
pub enum Refusal {
    /// The request cannot be parsed far enough to trust a client (duplicate or bad parameters).
    BadRequest(String),
    MissingClient,
    UnknownClient(String),
    /// No redirect_uri and the client has several: which one is meant is unknown.
    RedirectRequired {
        registered: Vec<String>,
    },
    /// The sent redirect_uri matches no registered one: the closest and how they differ.
    RedirectMismatch {
        sent: String,
        registered: Vec<String>,
        closest: String,
        differences: Vec<String>,
    },
    /// More than 5 starts in 60 s without a redeemed code.
    Loop {
        client_name: String,
        redirect_uri: String,
        request_ids: Vec<String>,
    },
}

/// What the page layer should do next.
#[derive(Debug)]
pub enum Next {
    Page(Refusal),
    /// Redirect the browser (303) to the client: a code or an error.
    Redirect(String),
    /// Show the sign-in form; after it, come back to this request (without `prompt=login`).
    SignIn {
        client_name: String,
        /// OpenID's `login_hint`, to prefill the login field.
        login_hint: Option<String>,
    },
    /// Show the consent page for this stored request.
    Consent(ConsentView),
}

#[derive(Debug)]
pub struct ConsentView {
    pub request_id: String,
    pub client_name: String,
    pub client_id: String,
    pub redirect_host: String,
    pub scopes: Vec<String>,
}

/// What a checked request asks for.
struct Checked<'a> {
    client: Arc<ClientRow>,
    redirect_uri: String,
    redirect_given: bool,
    scope: String,
    state: Option<&'a str>,
    challenge: &'a str,
    prompt: Option<&'a str>,
    nonce: Option<&'a str>,
    max_age: Option<i64>,
    login_hint: Option<&'a str>,
    /// RFC 8707 resources, space-separated.
    resources: String,
}

fn client_label(c: &ClientRow) -> String {
    c.name.clone().unwrap_or_else(|| c.id.clone())
}

/// An error redirect to a trusted redirect URI (RFC 6749 §4.1.2.1 + RFC 9207 `iss`).
fn error_redirect(core: &Core, redirect_uri: &str, state: Option<&str>, e: &OAuthError) -> String {
    let description = e.description();
    let mut pairs = vec![
        ("error", e.code()),
        ("error_description", description.as_str()),
    ];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", core.issuer.as_str()));
    with_query(redirect_uri, &pairs)
}

/// Steps 1–2: the client and the redirect URI, which must be right before anything redirects.
fn trusted_target(core: &Core, params: &Params) -> Result<(Arc<ClientRow>, String, bool), Refusal> {
    let client_id = params.get("client_id").ok_or(Refusal::MissingClient)?;
    let client = clients::find(core, client_id)
        .map_err(|e| Refusal::BadRequest(e.description()))?
        .ok_or_else(|| Refusal::UnknownClient(client_id.to_owned()))?;
    match params.get("redirect_uri") {
        Some(sent) => match redirect::find(&client.redirect_uris, sent) {
            Some(_) => Ok((client, sent.to_owned(), true)),
            None => match redirect::explain(&client.redirect_uris, sent) {
                Some((closest, differences)) => Err(Refusal::RedirectMismatch {
                    sent: sent.to_owned(),
                    registered: client.redirect_uris.clone(),
                    closest,
                    differences,
                }),
                None => Err(Refusal::RedirectRequired {
                    registered: Vec::new(),
                }),
            },
        },
        None if client.redirect_uris.len() == 1 => {
            let only = client.redirect_uris[0].clone();
            Ok((client, only, false))
        }
        None => Err(Refusal::RedirectRequired {
            registered: client.redirect_uris.clone(),
        }),
    }
}

/// Step 3: everything else, reported to the client by redirect.
fn check<'a>(
    core: &Core,
    params: &'a Params,
    client: Arc<ClientRow>,
    redirect_uri: String,
    redirect_given: bool,
) -> Result<Checked<'a>, (String, OAuthError)> {
    let state = params.get("state");
    let fail = |e: OAuthError| (error_redirect(core, &redirect_uri, state, &e), e);
    match params.get("response_type") {
        Some("code") => {}
        Some(other) => {
            return Err(fail(OAuthError::UnsupportedResponseType(format!(
                "response_type {other:?} is not supported; use code (OAuth 2.1 has no implicit grant)"
            ))));
        }
        None => {
            return Err(fail(OAuthError::InvalidRequest(
                "response_type is required".into(),
            )));
        }
    }
    if !client.allows_grant("authorization_code") {
        return Err(fail(OAuthError::UnauthorizedClient(
            "this client is not registered for the authorization_code grant".into(),
        )));
    }
    let challenge = params.get("code_challenge").ok_or_else(|| {
        fail(OAuthError::InvalidRequest(
            "code_challenge is required: PKCE with S256 is required for every client".into(),
        ))
    })?;
    match params.get("code_challenge_method") {
        Some("S256") => {}
        Some("plain") | None => {
            return Err(fail(OAuthError::InvalidRequest(
                "code_challenge_method must be S256; plain is not accepted".into(),
            )));
        }
        Some(other) => {
            return Err(fail(OAuthError::InvalidRequest(format!(
                "code_challenge_method {other:?} is not supported; use S256"
            ))));
        }
    }
    if !pkce::valid_challenge(challenge) {
        return Err(fail(OAuthError::InvalidRequest(
            "code_challenge must be 43 base64url characters (an S256 hash)".into(),
        )));
    }
    let scope = match params.get("scope") {
        Some(asked) => {
            if !scopes_within(asked, &client.scope) {
                return Err(fail(OAuthError::InvalidScope(format!(
                    "this client may ask for \"{}\"",
                    client.scope
                ))));
            }
            scope_list(asked).join(" ")
        }
        None => client.scope.clone(),
    };
    let prompt = params.get("prompt");
    if let Some(p) = prompt
        && !matches!(p, "none" | "login" | "consent")
    {
        return Err(fail(OAuthError::InvalidRequest(format!(
            "prompt {p:?} is not supported; use none, login or consent"
        ))));
    }
    let nonce = params.get("nonce");
    if nonce.is_some_and(|n| n.is_empty() || n.len() > NONCE_MAX) {
        return Err(fail(OAuthError::InvalidRequest(format!(
            "nonce must be 1 to {NONCE_MAX} characters"
        ))));
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(secs) if secs >= 0 && text.bytes().all(|b| b.is_ascii_digit()) => Some(secs),
            _ => {
                return Err(fail(OAuthError::InvalidRequest(
                    "max_age must be a whole number of seconds, 0 or more".into(),
                )));
            }
        },
    };
    let resources = resource::accepted(core, &params.all("resource")).map_err(fail)?;
    let login_hint = params
        .get("login_hint")
        .filter(|h| h.len() <= LOGIN_HINT_MAX && !h.chars().any(char::is_control));
    Ok(Checked {
        client,
        redirect_uri,
        redirect_given,
        scope,
        state,
        challenge,
        prompt,
        nonce,
        max_age,
        login_hint,
        resources: resource::joined(&resources),
    })
}

/// Handles `GET /oauth/authorize` for a browser signed in as `user`, known as `browser`.
pub fn start(
    core: &Core,
    params: &Params,
    user: Option<SignedIn<'_>>,
    browser: &str,
    request_id: &str,
    now: Timestamp,
) -> Result<Next, StoreError> {
    let (client, redirect_uri, redirect_given) = match trusted_target(core, params) {
        Ok(t) => t,
        Err(refusal) => return Ok(Next::Page(refusal)),
    };
    let req = match check(core, params, client, redirect_uri, redirect_given) {
        Ok(req) => req,
        Err((url, _)) => return Ok(Next::Redirect(url)),
    };
    let start = Start {
        at: now,
        request_id: request_id.to_owned(),
        redirect_uri: req.redirect_uri.clone(),
    };
    if let Some(starts) = core.loops.record(browser, &req.client.id, start) {
        log::warn!(
            "authorize loop: client {} from one browser, {} starts in 60 s",
            req.client.id,
            starts.len()
        );
        return Ok(Next::Page(Refusal::Loop {
            client_name: client_label(&req.client),
            redirect_uri: req.redirect_uri.clone(),
            request_ids: starts.into_iter().map(|s| s.request_id).collect(),
        }));
    }
    // A sign-in older than max_age counts as none (OIDC Core §3.1.2.1).
    let user = user.filter(|u| req.max_age.is_none_or(|max| now - u.at <= max));
    let signed_in = match (user, req.prompt) {
        (Some(u), p) if p != Some("login") => u,
        (_, Some("none")) => {
            return Ok(Next::Redirect(error_redirect(
                core,
                &req.redirect_uri,
                req.state,
                &OAuthError::LoginRequired,
            )));
        }
        _ => {
            return Ok(Next::SignIn {
                client_name: client_label(&req.client),
                login_hint: req.login_hint.map(str::to_owned),
            });
        }
    };
    if !core.config.require_mfa_for.lets_mint(signed_in.amr) {
        return Ok(Next::Redirect(error_redirect(
            core,
            &req.redirect_uri,
            req.state,
            &OAuthError::AccessDenied(
                "this server requires a sign-in with a second factor to authorize an app: add one \
                 (an authenticator app or a passkey) on your account page, then sign in again with it"
                    .into(),
            ),
        )));
    }
    let user = signed_in.user_id;
    let grant = Grant {
        client_id: req.client.id.clone(),
        user_id: user.to_owned(),
        redirect_uri: req.redirect_uri.clone(),
        redirect_given: req.redirect_given,
        scope: req.scope.clone(),
        code_challenge: req.challenge.to_owned(),
        browser_key: browser.to_owned(),
        expires_at: now + REQUEST_TTL_SECS,
        amr: signed_in.amr.to_owned(),
        nonce: req.nonce.map(str::to_owned),
        auth_time: signed_in.at,
        resources: req.resources.clone(),
    };
    let consented = core
        .db
        .read(|c| oauth::consent(c, user, &req.client.id))?
        .is_some_and(|held| scopes_within(&req.scope, &held));
    if consented && req.prompt != Some("consent") {
        let (url, _) = issue_code(core, &grant, req.state, now)?;
        return Ok(Next::Redirect(url));
    }
    if req.prompt == Some("none") {
        return Ok(Next::Redirect(error_redirect(
            core,
            &req.redirect_uri,
            req.state,
            &OAuthError::ConsentRequired,
        )));
    }
    let id = new_id("azr_").map_err(|e| StoreError::Broken(e.to_string()))?;
    core.db
        .write(|tx| oauth::insert_request(tx, &id, &grant, req.state, now))?;
    Ok(Next::Consent(ConsentView {
        request_id: id,
        client_name: client_label(&req.client),
        client_id: req.client.id.clone(),
        redirect_host: host_of(&req.redirect_uri),
        scopes: scope_list(&req.scope),
    }))
}

/// Issues a code for `grant` and returns the success redirect with its code hash.
fn issue_code(
    core: &Core,
    grant: &Grant,
    state: Option<&str>,
    now: Timestamp,
) -> Result<(String, [u8; 32]), StoreError> {
    let code = b64url(&random_bytes::<32>().map_err(|e| StoreError::Broken(e.to_string()))?);
    let hash = sha256(code.as_bytes());
    let code_grant = Grant {
        expires_at: now + core.config.lifetimes.auth_code,
        ..grant.clone()
    };
    core.db
        .write(|tx| oauth::insert_code(tx, &hash, &code_grant, now))?;
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", core.issuer.as_str()));
    Ok((with_query(&grant.redirect_uri, &pairs), hash))
}

/// The outcome of a consent decision.
#[derive(Debug)]
pub enum Decision {
    Redirect(String),
    /// Unknown, expired, another user's, or already used: a clear page, never a redirect.
    Stale,
}

/// Handles `POST /oauth/authorize/decision` (after the CSRF check). Replaying a decision gives
/// the same redirect while its code is unused and unexpired.
pub fn decide(
    core: &Core,
    request_id: &str,
    user: &str,
    approve: bool,
    now: Timestamp,
) -> Result<Decision, StoreError> {
    let Some(req) = core.db.read(|c| oauth::find_request(c, request_id))? else {
        return Ok(Decision::Stale);
    };
    if req.grant.user_id != user || req.grant.expires_at <= now {
        return Ok(Decision::Stale);
    }
    if let Some(url) = req.decision_url {
        let code_live = match &req.code_hash {
            Some(hash) => core
                .db
                .read(|c| oauth::find_code(c, hash))?
                .is_some_and(|c| c.used_at.is_none() && c.grant.expires_at > now),
            None => true,
        };
        return Ok(if code_live {
            Decision::Redirect(url)
        } else {
            Decision::Stale
        });
    }
    let state = req.state.as_deref();
    let (url, code_hash) = if approve {
        let held = core
            .db
            .read(|c| oauth::consent(c, user, &req.grant.client_id))?
            .unwrap_or_default();
        let union = scope_list(&format!("{held} {}", req.grant.scope)).join(" ");
        core.db
            .write(|tx| oauth::save_consent(tx, user, &req.grant.client_id, &union, now))?;
        let (url, hash) = issue_code(core, &req.grant, state, now)?;
        (url, Some(hash))
    } else {
        let denied = OAuthError::AccessDenied("the user denied the request".into());
        (
            error_redirect(core, &req.grant.redirect_uri, state, &denied),
            None,
        )
    };
    core.db.write(|tx| {
        oauth::decide_request(
            tx,
            request_id,
            &url,
            code_hash.as_ref().map(|h| h.as_slice()),
        )
    })?;
    Ok(Decision::Redirect(url))
}

fn host_of(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or(rest)
        .to_owned()
}
