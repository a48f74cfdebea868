//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at the `end_session_endpoint`:
//! who asks (an `id_token_hint` this server signed, or a `client_id`), where the browser goes
//! afterwards (a `post_logout_redirect_uri` the client registered, matched exactly), and the
//! `state` it carries back. A hint signed by anyone else, an unknown client, or a redirect URI
//! that is not registered is refused with a page that says why, never a redirect.

use std::sync::Arc;

use super::clients;
use crate::core::Core;
use crate::core::token::jws;
use crate::core::urlenc::{Params, with_query};
use crate::domain::error::{ApiError, PageError};
use crate::store::clients::ClientRow;

/// A checked logout request.
pub struct Logout {
    /// The client's name, for the confirmation page.
    pub client_name: Option<String>,
    pub client_id: Option<String>,
    /// Where to send the browser once signed out (with `state`), if anywhere.
    pub redirect: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

fn refused(code: &'static str, message: String) -> ApiError {
    PageError::Failed {
        status: 400,
        code,
        message,
    }
    .into()
}

/// Checks the parameters of `GET` (query) or `POST` (form) `/oauth/logout`.
pub fn check(core: &Core, params: &Params) -> Result<Logout, ApiError> {
    let hinted = match params.get("id_token_hint") {
        None => None,
        Some(hint) => {
            let keys = core.keys();
            let seen = jws::verify(keys.published(), hint)
                .filter(|v| v.payload["iss"].as_str() == Some(core.issuer.as_str()))
                .ok_or_else(|| {
                    refused(
                        "invalid_id_token_hint",
                        "id_token_hint is not an id_token this server signed".into(),
                    )
                })?;
            // An expired hint still names its client (RP-Initiated Logout §2).
            seen.payload["aud"].as_str().map(str::to_owned)
        }
    };
    let client_id = match (params.get("client_id"), hinted) {
        (Some(sent), Some(hinted)) if sent != hinted => {
            return Err(refused(
                "invalid_request",
                "client_id is not the audience of the id_token_hint".into(),
            ));
        }
        (Some(sent), _) => Some(sent.to_owned()),
        (None, hinted) => hinted,
    };
    let client: Option<Arc<ClientRow>> = match &client_id {
        None => None,
        Some(id) => Some(
            clients::find(core, id)
                .map_err(|e| refused("invalid_request", e.description()))?
                .ok_or_else(|| {
                    refused(
                        "unknown_client",
                        format!("no client is registered as {id:?}"),
                    )
                })?,
        ),
    };
    let state = params.get("state").map(str::to_owned);
    let post_logout = params.get("post_logout_redirect_uri").map(str::to_owned);
    let redirect = match (&post_logout, &client) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(refused(
                "invalid_request",
                "post_logout_redirect_uri needs client_id or id_token_hint to say whose it is"
                    .into(),
            ));
        }
        (Some(uri), Some(c)) => {
            let registered = c.post_logout_redirect_uris();
            if !registered.iter().any(|r| r == uri) {
                let listed = if registered.is_empty() {
                    "none".to_owned()
                } else {
                    registered.join(", ")
                };
                return Err(refused(
                    "logout_redirect_mismatch",
                    format!(
                        "post_logout_redirect_uri {uri:?} is not registered for this client \
                         (registered: {listed}); no redirect was made"
                    ),
                ));
            }
            let mut pairs = Vec::new();
            if let Some(s) = &state {
                pairs.push(("state", s.as_str()));
            }
            Some(with_query(uri, &pairs))
        }
    };
    Ok(Logout {
        client_name: client
            .as_ref()
            .map(|c| c.name.clone().unwrap_or_else(|| c.id.clone())),
        client_id,
        redirect,
        post_logout_redirect_uri: post_logout,
        state,
    })
}
