//! The key file (`<db>.key`, mode 0600): the secrets that can mint or check credentials, kept out
//! of the database so that a copied database or a leaked backup mints nothing. It holds the HS256
//! signing keys (by `kid`), the asymmetric keys (an RS256 and an ES256 key, `core::token::jws`;
//! their public halves are the JWKS), the refresh-token MAC key and the code pepper. Losing it
//! signs everyone out and voids pending codes; nothing else is lost.
//!
//! Rotation (`gharart-id keys rotate`): a new key becomes current and the old one is *superseded*:
//! it still verifies the tokens it signed before that moment (their own `exp` ends them), and is
//! *retired* (verifies nothing) at a later rotation once it is older than the retirement delay.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::core::clock::Timestamp;
use crate::core::token::jws::{Alg, AsymmetricKey};
use crate::core::token::opaque::{b64url, b64url_decode, new_id, random_bytes};

/// One HS256 signing key. `Debug` never prints the material.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub secret: [u8; 32],
    pub created_at: Timestamp,
    /// When a newer key became current; tokens it signed after this are refused.
    pub superseded_at: Option<Timestamp>,
    pub retired_at: Option<Timestamp>,
    /// HMAC already keyed with `secret` (its two padded key blocks hashed once, not per token).
    mac: Hmac<Sha256>,
}

/// HMAC keyed with a 32-byte secret: a key shorter than the 64-byte block is zero-padded to it
/// (RFC 2104), so padding it here gives the same MAC through an infallible constructor.
fn keyed(secret: &[u8; 32]) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(secret);
    <Hmac<Sha256> as KeyInit>::new(&block.into())
}

impl SigningKey {
    fn new(kid: String, secret: [u8; 32], created_at: Timestamp) -> SigningKey {
        SigningKey {
            kid,
            secret,
            created_at,
            superseded_at: None,
            retired_at: None,
            mac: keyed(&secret),
        }
    }

    /// HMAC-SHA256 of `message` under this key (a JWS HS256 signature).
    pub fn sign(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, ***)", self.kid)
    }
}

/// Every secret of the key file, loaded.
#[derive(Clone)]
pub struct KeyRing {
    signing: Vec<SigningKey>,
    asymmetric: Vec<AsymmetricKey>,
    refresh_secret: [u8; 32],
    code_pepper: [u8; 32],
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRing({} signing keys, ***)", self.signing.len())
    }
}

/// Why the key file could not be used.
#[derive(Debug)]
pub enum KeyFileError {
    Io(PathBuf, std::io::Error),
    Malformed(PathBuf, String),
    Random,
    Asymmetric(String),
}

impl std::fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyFileError::Io(p, e) => write!(f, "key file {}: {e}", p.display()),
            KeyFileError::Malformed(p, why) => {
                write!(f, "key file {} is malformed: {why}", p.display())
            }
            KeyFileError::Random => f.write_str("no randomness to make keys with"),
            KeyFileError::Asymmetric(why) => write!(f, "asymmetric key: {why}"),
        }
    }
}
impl std::error::Error for KeyFileError {}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyFileJson {
    format: u32,
    refresh_secret: String,
    code_pepper: String,
    signing_keys: Vec<SigningKeyJson>,
    /// Absent from key files of before issue 18: the server adds the keys at its next start.
    #[serde(default)]
    asymmetric_keys: Vec<AsymmetricKeyJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AsymmetricKeyJson {
    kid: String,
    alg: String,
    /// The private key, PKCS#8 DER, base64url.
    pkcs8: String,
    created_at: Timestamp,
    superseded_at: Option<Timestamp>,
    retired_at: Option<Timestamp>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningKeyJson {
    kid: String,
    key: String,
    created_at: Timestamp,
    #[serde(default)]
    superseded_at: Option<Timestamp>,
    retired_at: Option<Timestamp>,
}

impl KeyRing {
    /// Loads the key file, or makes a new one (mode 0600, written atomically) when there is none.
    pub fn load_or_create(path: &Path, now: Timestamp) -> Result<KeyRing, KeyFileError> {
        match fs::read(path) {
            Ok(bytes) => {
                warn_if_readable_by_others(path);
                let mut ring = KeyRing::parse(path, &bytes)?;
                if ring.asymmetric.is_empty() {
                    ring.asymmetric = new_asymmetric_keys(now)?;
                    ring.save(path)?;
                    log::info!(
                        "added RS256 and ES256 signing keys to the key file {}",
                        path.display()
                    );
                }
                Ok(ring)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let ring = KeyRing::generate(now)?;
                ring.save(path)?;
                log::info!("made a new key file at {}", path.display());
                Ok(ring)
            }
            Err(e) => Err(KeyFileError::Io(path.to_owned(), e)),
        }
    }

    /// A fresh key ring with one signing key.
    pub fn generate(now: Timestamp) -> Result<KeyRing, KeyFileError> {
        Ok(KeyRing {
            signing: vec![new_signing_key(now)?],
            asymmetric: new_asymmetric_keys(now)?,
            refresh_secret: random_bytes::<32>().map_err(|_| KeyFileError::Random)?,
            code_pepper: random_bytes::<32>().map_err(|_| KeyFileError::Random)?,
        })
    }

    fn parse(path: &Path, bytes: &[u8]) -> Result<KeyRing, KeyFileError> {
        let bad = |why: &str| KeyFileError::Malformed(path.to_owned(), why.to_owned());
        let json: KeyFileJson = serde_json::from_slice(bytes).map_err(|e| bad(&e.to_string()))?;
        if json.format != 1 {
            return Err(bad("unknown format version"));
        }
        let secret32 = |text: &str, what: &str| -> Result<[u8; 32], KeyFileError> {
            b64url_decode(text)
                .and_then(|v| <[u8; 32]>::try_from(v).ok())
                .ok_or_else(|| bad(&format!("{what} is not 32 base64url bytes")))
        };
        let mut signing = Vec::with_capacity(json.signing_keys.len());
        for k in &json.signing_keys {
            signing.push(SigningKey {
                superseded_at: k.superseded_at,
                retired_at: k.retired_at,
                ..SigningKey::new(
                    k.kid.clone(),
                    secret32(&k.key, "a signing key")?,
                    k.created_at,
                )
            });
        }
        if !signing
            .iter()
            .any(|k| k.retired_at.is_none() && k.superseded_at.is_none())
        {
            return Err(bad("no signing key is current"));
        }
        let mut asymmetric = Vec::with_capacity(json.asymmetric_keys.len());
        for k in json.asymmetric_keys {
            let alg = Alg::parse(&k.alg)
                .ok_or_else(|| bad(&format!("asymmetric key {} has an unknown alg", k.kid)))?;
            let der = b64url_decode(&k.pkcs8)
                .ok_or_else(|| bad(&format!("asymmetric key {} is not base64url", k.kid)))?;
            let mut key =
                AsymmetricKey::from_pkcs8(alg, k.kid, der, k.created_at).map_err(|e| bad(&e.0))?;
            key.superseded_at = k.superseded_at;
            key.retired_at = k.retired_at;
            asymmetric.push(key);
        }
        Ok(KeyRing {
            signing,
            asymmetric,
            refresh_secret: secret32(&json.refresh_secret, "refreshSecret")?,
            code_pepper: secret32(&json.code_pepper, "codePepper")?,
        })
    }

    /// Writes the key file atomically: a 0600 temp file beside it, fsync, rename.
    pub fn save(&self, path: &Path) -> Result<(), KeyFileError> {
        let json = KeyFileJson {
            format: 1,
            refresh_secret: b64url(&self.refresh_secret),
            code_pepper: b64url(&self.code_pepper),
            signing_keys: self
                .signing
                .iter()
                .map(|k| SigningKeyJson {
                    kid: k.kid.clone(),
                    key: b64url(&k.secret),
                    created_at: k.created_at,
                    superseded_at: k.superseded_at,
                    retired_at: k.retired_at,
                })
                .collect(),
            asymmetric_keys: self
                .asymmetric
                .iter()
                .map(|k| AsymmetricKeyJson {
                    kid: k.kid.clone(),
                    alg: k.alg.as_str().to_owned(),
                    pkcs8: b64url(k.pkcs8()),
                    created_at: k.created_at,
                    superseded_at: k.superseded_at,
                    retired_at: k.retired_at,
                })
                .collect(),
        };
        let io = |e| KeyFileError::Io(path.to_owned(), e);
        let text = serde_json::to_vec_pretty(&json)
            .map_err(|e| KeyFileError::Malformed(path.to_owned(), e.to_string()))?;
        let tmp = path.with_extension("key.tmp");
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        file.write_all(&text).map_err(io)?;
        file.sync_all().map_err(io)?;
        fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }

    /// The key new tokens are signed with: the newest that is neither superseded nor retired.
    pub fn current(&self) -> Option<&SigningKey> {
        self.signing
            .iter()
            .filter(|k| k.retired_at.is_none() && k.superseded_at.is_none())
            .max_by_key(|k| k.created_at)
    }

    /// A key that may verify: known and not retired (a superseded key verifies only tokens
    /// issued before it was superseded; see `jwt::verify`).
    pub fn verifying(&self, kid: &str) -> Option<&SigningKey> {
        self.signing
            .iter()
            .find(|k| k.kid == kid && k.retired_at.is_none())
    }

    /// Every key, retired ones included (for `keys list` and `token inspect`).
    pub fn all(&self) -> &[SigningKey] {
        &self.signing
    }

    /// The asymmetric key of `alg` new tokens are signed with.
    pub fn current_asymmetric(&self, alg: Alg) -> Option<&AsymmetricKey> {
        self.asymmetric
            .iter()
            .filter(|k| k.alg == alg && k.retired_at.is_none() && k.superseded_at.is_none())
            .max_by_key(|k| k.created_at)
    }

    /// The asymmetric keys that verify (current and superseded, not retired): the JWKS.
    pub fn published(&self) -> impl Iterator<Item = &AsymmetricKey> {
        self.asymmetric.iter().filter(|k| k.retired_at.is_none())
    }

    /// Every asymmetric key, retired ones included (for `keys list`).
    pub fn all_asymmetric(&self) -> &[AsymmetricKey] {
        &self.asymmetric
    }

    /// Makes new keys current (an HS256 key, and an RS256 and an ES256 key) and supersedes the
    /// old ones; retires keys superseded before `retire_before`. Returns the new HS256 key's kid.
    pub fn rotate(
        &mut self,
        now: Timestamp,
        retire_before: Timestamp,
    ) -> Result<String, KeyFileError> {
        for k in &mut self.signing {
            if k.retired_at.is_none() && k.superseded_at.is_none() {
                k.superseded_at = Some(now);
            }
            if k.retired_at.is_none() && k.superseded_at.is_some_and(|t| t < retire_before) {
                k.retired_at = Some(now);
            }
        }
        let mut key = new_signing_key(now)?;
        // Two rotations in one second still give the new key the latest creation time.
        key.created_at = self
            .signing
            .iter()
            .map(|k| k.created_at)
            .max()
            .map_or(now, |t| t.max(now));
        let kid = key.kid.clone();
        self.signing.push(key);
        for k in &mut self.asymmetric {
            if k.retired_at.is_none() && k.superseded_at.is_none() {
                k.superseded_at = Some(now);
            }
            if k.retired_at.is_none() && k.superseded_at.is_some_and(|t| t < retire_before) {
                k.retired_at = Some(now);
            }
        }
        self.asymmetric.extend(new_asymmetric_keys(now)?);
        Ok(kid)
    }

    /// Reads an existing key file (for operator commands, which never make one).
    pub fn load(path: &Path) -> Result<KeyRing, KeyFileError> {
        let bytes = fs::read(path).map_err(|e| KeyFileError::Io(path.to_owned(), e))?;
        KeyRing::parse(path, &bytes)
    }

    pub fn refresh_secret(&self) -> &[u8; 32] {
        &self.refresh_secret
    }

    pub fn code_pepper(&self) -> &[u8; 32] {
        &self.code_pepper
    }
}

fn new_signing_key(now: Timestamp) -> Result<SigningKey, KeyFileError> {
    Ok(SigningKey::new(
        new_id("k_").map_err(|_| KeyFileError::Random)?[..14].to_owned(),
        random_bytes::<32>().map_err(|_| KeyFileError::Random)?,
        now,
    ))
}

/// A new RS256 key (OIDC's required `id_token` algorithm) and a new ES256 key (small and fast to
/// sign, for tokens signed often).
fn new_asymmetric_keys(now: Timestamp) -> Result<Vec<AsymmetricKey>, KeyFileError> {
    [Alg::Rs256, Alg::Es256]
        .into_iter()
        .map(|alg| {
            let kid = format!(
                "{}_{}",
                alg.as_str().to_ascii_lowercase(),
                &new_id("k_").map_err(|_| KeyFileError::Random)?[2..14]
            );
            AsymmetricKey::generate(alg, kid, now).map_err(|e| KeyFileError::Asymmetric(e.0))
        })
        .collect()
}

fn warn_if_readable_by_others(path: &Path) {
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        log::warn!(
            "key file {} is readable by group or others; run: chmod 600 {}",
            path.display(),
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prekeyed_mac_is_plain_hmac_sha256() {
        let key = new_signing_key(0).unwrap();
        let mut plain = <Hmac<Sha256> as KeyInit>::new_from_slice(&key.secret).unwrap();
        plain.update(b"header.claims");
        let expected: [u8; 32] = plain.finalize().into_bytes().into();
        assert_eq!(key.sign(b"header.claims"), expected);
        assert_eq!(
            key.clone().sign(b"header.claims"),
            expected,
            "a clone signs alike"
        );
    }

    #[test]
    fn key_file_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db.key");
        let made = KeyRing::load_or_create(&path, 1000).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = KeyRing::load_or_create(&path, 2000).unwrap();
        let (a, b) = (made.current().unwrap(), again.current().unwrap());
        assert_eq!(a.kid, b.kid);
        assert_eq!(a.secret, b.secret);
        assert_eq!(made.refresh_secret(), again.refresh_secret());
        assert!(again.verifying(&a.kid).is_some());
        assert!(again.verifying("k_unknown").is_none());
    }

    #[test]
    fn rotation_supersedes_then_retires() {
        let mut ring = KeyRing::generate(100).unwrap();
        let first = ring.current().unwrap().kid.clone();
        let second = ring.rotate(200, 0).unwrap();
        assert_eq!(ring.current().unwrap().kid, second);
        let old = ring.verifying(&first).unwrap();
        assert_eq!(
            old.superseded_at,
            Some(200),
            "the old key still verifies what it signed"
        );
        let third = ring.rotate(300, 250).unwrap();
        assert!(
            ring.verifying(&first).is_none(),
            "superseded before 250: retired"
        );
        assert!(ring.verifying(&second).is_some());
        assert_eq!(ring.current().unwrap().kid, third);
    }

    #[test]
    fn asymmetric_keys_round_trip_rotate_and_sign_what_they_publish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db.key");
        let mut ring = KeyRing::load_or_create(&path, 1000).unwrap();
        let rs = ring.current_asymmetric(Alg::Rs256).unwrap().clone();
        let es = ring.current_asymmetric(Alg::Es256).unwrap().clone();
        let again = KeyRing::load(&path).unwrap();
        let token = crate::core::token::jws::sign(&rs, None, &serde_json::json!({"a": 1})).unwrap();
        let seen = crate::core::token::jws::verify(again.published(), &token).unwrap();
        assert_eq!(
            seen.payload["a"], 1,
            "the reloaded key verifies what the first signed"
        );
        assert_eq!(again.current_asymmetric(Alg::Es256).unwrap().kid, es.kid);
        ring.rotate(2000, 0).unwrap();
        assert_ne!(ring.current_asymmetric(Alg::Rs256).unwrap().kid, rs.kid);
        assert_eq!(
            ring.published().count(),
            4,
            "the superseded pair stays published"
        );
        assert!(crate::core::token::jws::verify(ring.published(), &token).is_some());
        ring.rotate(3000, 2500).unwrap();
        assert_eq!(ring.published().count(), 4, "the first pair retired");
        assert!(crate::core::token::jws::verify(ring.published(), &token).is_none());
    }

    #[test]
    fn a_key_file_from_before_asymmetric_keys_gets_them_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.key");
        let ring = KeyRing::generate(10).unwrap();
        ring.save(&path).unwrap();
        let mut json: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        json.as_object_mut().unwrap().remove("asymmetricKeys");
        fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(KeyRing::load(&path).unwrap().published().count(), 0);
        let started = KeyRing::load_or_create(&path, 20).unwrap();
        assert_eq!(started.published().count(), 2);
        assert_eq!(started.current().unwrap().kid, ring.current().unwrap().kid);
        assert_eq!(
            KeyRing::load(&path).unwrap().published().count(),
            2,
            "saved"
        );
    }

    #[test]
    fn malformed_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.key");
        fs::write(&path, b"{\"format\":1}").unwrap();
        assert!(matches!(
            KeyRing::load_or_create(&path, 0),
            Err(KeyFileError::Malformed(..))
        ));
    }
}
