//! Refresh tokens after Supabase Auth's second algorithm: a token names its session and a
//! generation counter and carries an HMAC of both under the key file's refresh secret. The
//! database holds only the session's current generation, so a copy of it can neither mint nor
//! replay a token, and a retried rotation can be answered with the very same successor.
//!
//! Wire form: `gha_rt_<26 chars of the session id>.<generation>.<43 chars of base64url MAC>`.

use crate::core::token::opaque::{b64url, b64url_decode, ct_eq, hmac_sha256};

pub const PREFIX: &str = "gha_rt_";
const SESSION_PREFIX: &str = "ses_";

/// A refresh token's parts, after its MAC checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshClaim {
    pub session_id: String,
    pub generation: i64,
}

/// Makes the token for `generation` of `session_id`.
pub fn mint(secret: &[u8; 32], session_id: &str, generation: i64) -> String {
    let tail = session_id
        .strip_prefix(SESSION_PREFIX)
        .unwrap_or(session_id);
    format!(
        "{PREFIX}{tail}.{generation}.{}",
        b64url(&mac(secret, session_id, generation))
    )
}

/// Parses a token and checks its MAC in constant time; `None` for anything this server did not mint.
pub fn open(secret: &[u8; 32], token: &str) -> Option<RefreshClaim> {
    let rest = token.strip_prefix(PREFIX)?;
    let mut parts = rest.split('.');
    let (tail, gen_text, mac_text) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || tail.len() != 26
        || !tail
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        || gen_text.is_empty()
        || gen_text.len() > 18
        || !gen_text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let generation: i64 = gen_text.parse().ok()?;
    let session_id = format!("{SESSION_PREFIX}{tail}");
    let presented = b64url_decode(mac_text)?;
    if !ct_eq(&presented, &mac(secret, &session_id, generation)) {
        return None;
    }
    Some(RefreshClaim {
        session_id,
        generation,
    })
}

fn mac(secret: &[u8; 32], session_id: &str, generation: i64) -> [u8; 32] {
    hmac_sha256(
        secret,
        &[
            b"refresh-token",
            session_id.as_bytes(),
            &generation.to_be_bytes(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "ses_0123456789abcdefghijklmnop";

    #[test]
    fn mint_and_open() {
        let secret = [7u8; 32];
        let t = mint(&secret, SID, 3);
        assert!(t.starts_with("gha_rt_0123456789abcdefghijklmnop.3."));
        assert_eq!(
            open(&secret, &t),
            Some(RefreshClaim {
                session_id: SID.into(),
                generation: 3
            })
        );
        assert_eq!(
            mint(&secret, SID, 3),
            t,
            "the same generation gives the same token"
        );
    }

    #[test]
    fn refuses_tampering_and_other_keys() {
        let secret = [7u8; 32];
        let t = mint(&secret, SID, 3);
        assert_eq!(open(&[8u8; 32], &t), None);
        assert_eq!(open(&secret, &t.replace(".3.", ".4.")), None);
        assert_eq!(open(&secret, &t[..t.len() - 1]), None);
        for junk in [
            "",
            "gha_rt_",
            "gha_rt_a.b.c",
            "gha_pat_x",
            "gha_rt_0123456789abcdefghijklmnop.-1.x",
            "gha_rt_0123456789abcdefghijklmnop.99999999999999999999.x",
        ] {
            assert_eq!(open(&secret, junk), None, "{junk}");
        }
    }
}
