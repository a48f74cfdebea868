//! HS256 access tokens (RFC 7519, RFC 9068 `typ: at+jwt`). Verification follows RFC 8725: only
//! `HS256`, only known `kid`s, only `typ: at+jwt`, no header-supplied keys, `iss`/`aud`/`exp`
//! checked with at most 30 s of leeway.

use serde::{Deserialize, Serialize};

use crate::core::clock::Timestamp;
use crate::core::keys::KeyRing;
use crate::core::token::opaque::{b64url, b64url_decode, ct_eq};

/// Clock skew tolerated on `exp`, `nbf` and `iat` (RFC 8725 §3.8 asks for a small one).
pub const LEEWAY_SECS: i64 = 30;

/// The claims of an access token (API.md, Tokens).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: Timestamp,
    pub iat: Timestamp,
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<String>,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    /// How the user signed in (RFC 8176): `["pwd"]`, `["pwd", "otp", "mfa"]`, …; absent from a
    /// client's own token.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub amr: Vec<String>,
    /// The user's role (`member` or `admin`); absent from a client's own token.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub role: Option<String>,
    /// The user's groups, when they have any.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub groups: Vec<String>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    jku: Option<serde_json::Value>,
    #[serde(default)]
    jwk: Option<serde_json::Value>,
    #[serde(default)]
    x5u: Option<serde_json::Value>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// Why a token was refused. The text is safe to show to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtError {
    Malformed,
    Algorithm,
    Type,
    UnknownKey,
    Signature,
    Expired,
    NotYetValid,
    Issuer,
    Audience,
}

impl JwtError {
    pub fn describe(self) -> &'static str {
        match self {
            JwtError::Malformed => "the token is not a well-formed JWT",
            JwtError::Algorithm => "the token's alg is not HS256",
            JwtError::Type => "the token is not an access token (typ must be at+jwt)",
            JwtError::UnknownKey => "the token's kid names no verifying key",
            JwtError::Signature => "the token's signature does not verify",
            JwtError::Expired => "the token has expired",
            JwtError::NotYetValid => "the token is not valid yet",
            JwtError::Issuer => "the token was issued by another issuer",
            JwtError::Audience => "the token is meant for another audience",
        }
    }
}

/// Signs `claims` with the ring's current key.
pub fn sign(keys: &KeyRing, claims: &Claims) -> Option<String> {
    let key = keys.current()?;
    let header = HeaderOut {
        alg: "HS256",
        typ: "at+jwt",
        kid: &key.kid,
    };
    let header_json = serde_json::to_vec(&header).ok()?;
    let claims_json = serde_json::to_vec(claims).ok()?;
    let signing_input = format!("{}.{}", b64url(&header_json), b64url(&claims_json));
    let sig = key.sign(signing_input.as_bytes());
    Some(format!("{signing_input}.{}", b64url(&sig)))
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// Verifies a token's header, signature and time window, then its issuer and audience.
pub fn verify(
    keys: &KeyRing,
    token: &str,
    issuer: &str,
    audience: &str,
    now: Timestamp,
) -> Result<Claims, JwtError> {
    let claims = verify_signed(keys, token)?;
    check_claims(&claims, issuer, audience, now)?;
    Ok(claims)
}

/// What depends only on the token and the key ring: the header rules, the signature, the claims'
/// shape, and that a superseded key signed it before it was superseded. Its answer holds for as
/// long as the key ring is the same (the server keeps it for tokens it has seen).
pub fn verify_signed(keys: &KeyRing, token: &str) -> Result<Claims, JwtError> {
    let mut parts = token.split('.');
    let (Some(h64), Some(c64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Header = b64url_decode(h64)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    // RS256 and ES256 access tokens are the ones issued for other resources (RFC 8707).
    if matches!(header.alg.as_str(), "RS256" | "ES256") {
        return Err(JwtError::Audience);
    }
    if header.alg != "HS256" {
        return Err(JwtError::Algorithm);
    }
    if header.jku.is_some() || header.jwk.is_some() || header.x5u.is_some() || header.crit.is_some()
    {
        return Err(JwtError::Malformed);
    }
    if header.typ.as_deref().map(|t| t.to_ascii_lowercase()) != Some("at+jwt".into()) {
        return Err(JwtError::Type);
    }
    let kid = header.kid.as_deref().ok_or(JwtError::UnknownKey)?;
    let key = keys.verifying(kid).ok_or(JwtError::UnknownKey)?;
    let sig = b64url_decode(s64).ok_or(JwtError::Malformed)?;
    let signing_input = &token[..h64.len() + 1 + c64.len()];
    if !ct_eq(&key.sign(signing_input.as_bytes()), &sig) {
        return Err(JwtError::Signature);
    }
    let claims: Claims = b64url_decode(c64)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    if key
        .superseded_at
        .is_some_and(|t| claims.iat > t + LEEWAY_SECS)
    {
        return Err(JwtError::UnknownKey);
    }
    Ok(claims)
}

/// What depends on the time and on this server: the time window, the issuer and the audience.
pub fn check_claims(
    claims: &Claims,
    issuer: &str,
    audience: &str,
    now: Timestamp,
) -> Result<(), JwtError> {
    if claims.exp + LEEWAY_SECS <= now {
        return Err(JwtError::Expired);
    }
    if claims.iat > now + LEEWAY_SECS {
        return Err(JwtError::NotYetValid);
    }
    if claims.iss != issuer {
        return Err(JwtError::Issuer);
    }
    if claims.aud != audience {
        return Err(JwtError::Audience);
    }
    Ok(())
}

/// A token taken apart without trusting it (for `gharart-id token inspect`).
#[derive(Debug)]
pub struct Opened {
    pub alg: String,
    pub typ: Option<String>,
    pub kid: Option<String>,
    pub claims: Claims,
    /// Whether the signature verifies under the key its `kid` names (retired keys included).
    pub signature_ok: bool,
}

/// Parses a token and checks its signature against any key of the ring, retired or not, so an
/// operator can be told exactly what is wrong with it.
pub fn open_for_inspection(keys: &KeyRing, token: &str) -> Option<Opened> {
    let mut parts = token.split('.');
    let (h64, c64, s64) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Header = b64url_decode(h64).and_then(|b| serde_json::from_slice(&b).ok())?;
    let claims: Claims = b64url_decode(c64).and_then(|b| serde_json::from_slice(&b).ok())?;
    let signing_input = &token[..h64.len() + 1 + c64.len()];
    let signature_ok = header.alg == "HS256"
        && header
            .kid
            .as_deref()
            .and_then(|kid| keys.all().iter().find(|k| k.kid == kid))
            .is_some_and(|key| {
                b64url_decode(s64)
                    .is_some_and(|sig| ct_eq(&key.sign(signing_input.as_bytes()), &sig))
            });
    Some(Opened {
        alg: header.alg,
        typ: header.typ,
        kid: header.kid,
        claims,
        signature_ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: Timestamp) -> Claims {
        Claims {
            iss: "http://id.test".into(),
            sub: "usr_1".into(),
            aud: "http://id.test".into(),
            exp: now + 900,
            iat: now,
            jti: "j1".into(),
            sid: Some("ses_1".into()),
            scope: "profile".into(),
            client_id: None,
            amr: vec!["pwd".into()],
            role: Some("member".into()),
            groups: vec!["crew".into()],
        }
    }

    fn forge(header: &str, claims: &Claims, key: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.as_bytes()),
            b64url(&serde_json::to_vec(claims).unwrap())
        );
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(key).unwrap();
        hmac::Mac::update(&mut mac, input.as_bytes());
        format!("{input}.{}", b64url(&hmac::Mac::finalize(mac).into_bytes()))
    }

    #[test]
    fn round_trip_and_window() {
        let keys = KeyRing::generate(0).unwrap();
        let c = claims(1000);
        let t = sign(&keys, &c).unwrap();
        assert_eq!(
            verify(&keys, &t, "http://id.test", "http://id.test", 1000),
            Ok(c)
        );
        assert_eq!(
            verify(
                &keys,
                &t,
                "http://id.test",
                "http://id.test",
                1000 + 900 + 30
            ),
            Err(JwtError::Expired)
        );
        assert_eq!(
            verify(&keys, &t, "http://other", "http://id.test", 1000),
            Err(JwtError::Issuer)
        );
        assert_eq!(
            verify(&keys, &t, "http://id.test", "api", 1000),
            Err(JwtError::Audience)
        );
    }

    #[test]
    fn rfc8725_header_rules() {
        let keys = KeyRing::generate(0).unwrap();
        let key = keys.current().unwrap();
        let c = claims(1000);
        let v = |t: &str| verify(&keys, t, "http://id.test", "http://id.test", 1000);
        let none = format!(
            "{}.{}.",
            b64url(br#"{"alg":"none","typ":"at+jwt"}"#),
            b64url(&serde_json::to_vec(&c).unwrap())
        );
        assert_eq!(v(&none), Err(JwtError::Algorithm));
        let hs512 = forge(
            &format!(r#"{{"alg":"HS512","typ":"at+jwt","kid":"{}"}}"#, key.kid),
            &c,
            &key.secret,
        );
        assert_eq!(v(&hs512), Err(JwtError::Algorithm));
        let no_kid = forge(r#"{"alg":"HS256","typ":"at+jwt"}"#, &c, &key.secret);
        assert_eq!(v(&no_kid), Err(JwtError::UnknownKey));
        let wrong_typ = forge(
            &format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{}"}}"#, key.kid),
            &c,
            &key.secret,
        );
        assert_eq!(v(&wrong_typ), Err(JwtError::Type));
        let jwk = forge(
            &format!(
                r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}","jwk":{{}}}}"#,
                key.kid
            ),
            &c,
            &key.secret,
        );
        assert_eq!(v(&jwk), Err(JwtError::Malformed));
        let forged = forge(
            &format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#, key.kid),
            &c,
            b"guess",
        );
        assert_eq!(v(&forged), Err(JwtError::Signature));
        assert_eq!(v("a.b"), Err(JwtError::Malformed));
        assert_eq!(v("a.b.c.d"), Err(JwtError::Malformed));
    }
}
