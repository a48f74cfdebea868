//! The asymmetric signing keys (RFC 7518 §3.3 `RS256` with RSA 2048, §3.4 `ES256` with P-256), their
//! public halves as JWKs (RFC 7517), and compact JWS signatures with them: the tokens that others
//! verify with the JWKS alone (`id_token`s, access tokens for another resource). ring signs and
//! verifies (constant time, the provider rustls already uses here); RustCrypto's `rsa` only
//! generates RSA keys, which ring cannot.

use std::sync::Arc;

use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::core::clock::Timestamp;
use crate::core::token::opaque::{b64url, b64url_decode};

/// The bits of a generated RSA key.
const RSA_BITS: usize = 2048;

/// A JWS algorithm of an asymmetric key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Rs256,
    Es256,
}

impl Alg {
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }

    pub fn parse(name: &str) -> Option<Alg> {
        match name {
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            _ => None,
        }
    }
}

#[derive(Clone)]
enum Signer {
    Rsa(Arc<RsaKeyPair>),
    Ec(Arc<EcdsaKeyPair>),
}

/// One asymmetric signing key. `Debug` never prints the private half.
#[derive(Clone)]
pub struct AsymmetricKey {
    pub kid: String,
    pub alg: Alg,
    pub created_at: Timestamp,
    /// When a newer key of its algorithm became current; it still verifies (and stays in the
    /// JWKS) until it is retired.
    pub superseded_at: Option<Timestamp>,
    pub retired_at: Option<Timestamp>,
    pkcs8: Vec<u8>,
    signer: Signer,
}

impl std::fmt::Debug for AsymmetricKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AsymmetricKey({}, {}, ***)", self.kid, self.alg.as_str())
    }
}

/// Why a key could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

impl AsymmetricKey {
    /// A new key of `alg`.
    pub fn generate(alg: Alg, kid: String, now: Timestamp) -> Result<AsymmetricKey, KeyError> {
        let pkcs8 = match alg {
            Alg::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                    .map_err(|_| KeyError("no randomness to make an ES256 key with".into()))?
                    .as_ref()
                    .to_vec()
            }
            Alg::Rs256 => {
                use rsa::pkcs8::EncodePrivateKey;
                let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_BITS)
                    .map_err(|e| KeyError(format!("making an RSA key: {e}")))?;
                key.to_pkcs8_der()
                    .map_err(|e| KeyError(format!("encoding an RSA key: {e}")))?
                    .as_bytes()
                    .to_vec()
            }
        };
        AsymmetricKey::from_pkcs8(alg, kid, pkcs8, now)
    }

    /// A key from its PKCS#8 DER (as the key file keeps it).
    pub fn from_pkcs8(
        alg: Alg,
        kid: String,
        pkcs8: Vec<u8>,
        created_at: Timestamp,
    ) -> Result<AsymmetricKey, KeyError> {
        let signer = match alg {
            Alg::Rs256 => Signer::Rsa(Arc::new(
                RsaKeyPair::from_pkcs8(&pkcs8)
                    .map_err(|e| KeyError(format!("an RS256 key is unusable: {e}")))?,
            )),
            Alg::Es256 => Signer::Ec(Arc::new(
                EcdsaKeyPair::from_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &pkcs8,
                    &SystemRandom::new(),
                )
                .map_err(|e| KeyError(format!("an ES256 key is unusable: {e}")))?,
            )),
        };
        Ok(AsymmetricKey {
            kid,
            alg,
            created_at,
            superseded_at: None,
            retired_at: None,
            pkcs8,
            signer,
        })
    }

    /// The private key, PKCS#8 DER (for the key file only).
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The JWS signature of `message` (RSASSA-PKCS1-v1_5 SHA-256, or ECDSA P-256 SHA-256 as
    /// the fixed 64-byte `r || s`).
    pub fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig).ok()?;
                Some(sig)
            }
            Signer::Ec(pair) => Some(pair.sign(&rng, message).ok()?.as_ref().to_vec()),
        }
    }

    /// Whether `sig` is this key's signature of `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match &self.signer {
            Signer::Rsa(pair) => {
                let public: RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
                public
                    .verify(&RSA_PKCS1_2048_8192_SHA256, message, sig)
                    .is_ok()
            }
            Signer::Ec(pair) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key())
                .verify(message, sig)
                .is_ok(),
        }
    }

    /// The public half as a JWK (RFC 7517 §4, RFC 7518 §6), with `kid`, `use: sig` and `alg`.
    pub fn public_jwk(&self) -> Value {
        match &self.signer {
            Signer::Rsa(pair) => {
                let public: RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
                json!({
                    "kty": "RSA", "kid": self.kid, "use": "sig", "alg": self.alg.as_str(),
                    "n": b64url(&public.n), "e": b64url(&public.e),
                })
            }
            Signer::Ec(pair) => {
                // An uncompressed SEC 1 point: 0x04, then x and y, 32 bytes each.
                let point = pair.public_key().as_ref();
                let (x, y) = point
                    .get(1..)
                    .unwrap_or_default()
                    .split_at(point.len().saturating_sub(1) / 2);
                json!({
                    "kty": "EC", "kid": self.kid, "use": "sig", "alg": self.alg.as_str(),
                    "crv": "P-256", "x": b64url(x), "y": b64url(y),
                })
            }
        }
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
    kid: &'a str,
}

/// `claims` as a compact JWS under `key`, with `typ` in the header when given (`at+jwt` for an
/// access token; none for an `id_token`, as OIDC Core's examples have it).
pub fn sign<T: Serialize>(key: &AsymmetricKey, typ: Option<&str>, claims: &T) -> Option<String> {
    let header = serde_json::to_vec(&Header {
        alg: key.alg.as_str(),
        typ,
        kid: &key.kid,
    })
    .ok()?;
    let body = serde_json::to_vec(claims).ok()?;
    let input = format!("{}.{}", b64url(&header), b64url(&body));
    let sig = key.sign(input.as_bytes())?;
    Some(format!("{input}.{}", b64url(&sig)))
}

/// A compact JWS that verified: its header's `typ` and its payload.
#[derive(Debug)]
pub struct Verified {
    pub typ: Option<String>,
    pub payload: Value,
}

/// Verifies a compact JWS against the key its `kid` names among `keys` (whose algorithm must be
/// the header's: no `none`, no switching to HMAC), refusing header-supplied keys. `None` when
/// anything is wrong; the claims are the caller's to check.
pub fn verify<'a>(
    keys: impl IntoIterator<Item = &'a AsymmetricKey>,
    token: &str,
) -> Option<Verified> {
    let mut parts = token.split('.');
    let (h64, c64, s64) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&b64url_decode(h64)?).ok()?;
    if ["jku", "jwk", "x5u", "x5c", "crit"]
        .iter()
        .any(|h| header.get(h).is_some())
    {
        return None;
    }
    let alg = Alg::parse(header.get("alg")?.as_str()?)?;
    let kid = header.get("kid")?.as_str()?;
    let key = keys
        .into_iter()
        .find(|k| k.kid == kid && k.alg == alg && k.retired_at.is_none())?;
    let sig = b64url_decode(s64)?;
    if !key.verify(&token.as_bytes()[..h64.len() + 1 + c64.len()], &sig) {
        return None;
    }
    Some(Verified {
        typ: header.get("typ").and_then(Value::as_str).map(str::to_owned),
        payload: serde_json::from_slice(&b64url_decode(c64)?).ok()?,
    })
}
