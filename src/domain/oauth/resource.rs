//! Resource indicators (RFC 8707): which resource servers an authorization or a token request
//! names, checked against what this server issues tokens for (its issuer, and `--resource`), and
//! whether the token is then for the appliance itself (HS256, as always) or for another resource
//! (RFC 9068, signed ES256, verified with the JWKS alone).

use super::OAuthError;
use crate::core::Core;
use crate::core::config::validate_resource;

/// The resources `asked` (deduplicated, in order), each absolute, without fragment, and served
/// here: `invalid_target` otherwise.
pub fn accepted(core: &Core, asked: &[&str]) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::new();
    for r in asked {
        validate_resource(r).map_err(|why| {
            OAuthError::InvalidTarget(format!("resource {r:?}: {why} (RFC 8707 §2)"))
        })?;
        if *r != core.issuer && !core.config.resources.iter().any(|k| k == r) {
            return Err(OAuthError::InvalidTarget(format!(
                "resource {r:?} is not one this server issues tokens for"
            )));
        }
        if !out.iter().any(|o| o == r) {
            out.push((*r).to_owned());
        }
    }
    Ok(out)
}

/// The resources of a token request within what the grant was authorized for (`granted`, empty
/// when the authorization named none: then any accepted resource).
pub fn within(core: &Core, asked: &[&str], granted: &[String]) -> Result<Vec<String>, OAuthError> {
    let asked = accepted(core, asked)?;
    if !granted.is_empty()
        && let Some(extra) = asked.iter().find(|a| !granted.contains(a))
    {
        return Err(OAuthError::InvalidTarget(format!(
            "resource {extra:?} was not part of the authorization"
        )));
    }
    Ok(if asked.is_empty() {
        granted.to_vec()
    } else {
        asked
    })
}

/// Whether a token for `audiences` goes to another resource than the appliance itself.
pub fn is_foreign(core: &Core, audiences: &[String]) -> bool {
    audiences.iter().any(|a| *a != core.issuer)
}

/// Resources as stored (space-separated; a URI has no spaces).
pub fn joined(resources: &[String]) -> String {
    resources.join(" ")
}

/// Resources as stored, read back.
pub fn split(stored: &str) -> Vec<String> {
    stored
        .split(' ')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}
