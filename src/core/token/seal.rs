//! Sealing a secret that must be stored and read back (a queued message's code; later, second
//! factors): XChaCha20-Poly1305 under a key derived from the key file, with a random nonce per
//! seal and the row's identity as associated data, so a copied database yields nothing and a
//! sealed value moved to another row does not open.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};

use super::opaque::{RandomUnavailable, hmac_sha256, random_bytes};

const NONCE_LEN: usize = 24;

/// The purpose of the key that seals the code of a queued message (`outbox.sealed_code`).
pub const OUTBOX: &str = "outbox";
/// The purpose of the key that seals a user's TOTP secret (`totp.sealed_secret`, context the user id).
pub const TOTP: &str = "totp";

/// A sealing key for one use (`purpose` names it, so keys for different uses never coincide).
pub struct SealKey([u8; 32]);

impl SealKey {
    /// The key for `purpose`, derived from a secret of the key file.
    pub fn derive(secret: &[u8; 32], purpose: &str) -> SealKey {
        SealKey(hmac_sha256(secret, &[b"seal", purpose.as_bytes()]))
    }

    /// `nonce || ciphertext || tag` of `plain`, bound to `context`.
    pub fn seal(&self, context: &[u8], plain: &[u8]) -> Result<Vec<u8>, RandomUnavailable> {
        let nonce = random_bytes::<NONCE_LEN>()?;
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context,
                },
            )
            // Encryption fails only past 256 GiB of input.
            .map_err(|_| RandomUnavailable)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plain text of `sealed`, or `None` when it was not sealed by this key for `context`.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        XChaCha20Poly1305::new((&self.0).into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_its_key_and_context() {
        let key = SealKey::derive(&[7; 32], "outbox");
        let sealed = key.seal(b"msg_1", b"123456").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"123456"));
        assert_eq!(key.open(b"msg_1", &sealed).unwrap(), b"123456");
        assert!(key.open(b"msg_2", &sealed).is_none(), "another row");
        assert!(
            SealKey::derive(&[7; 32], "totp")
                .open(b"msg_1", &sealed)
                .is_none()
        );
        assert!(
            SealKey::derive(&[8; 32], "outbox")
                .open(b"msg_1", &sealed)
                .is_none()
        );
        let mut tampered = sealed.clone();
        tampered[30] ^= 1;
        assert!(key.open(b"msg_1", &tampered).is_none());
        assert!(key.open(b"msg_1", &sealed[..10]).is_none());
        assert_ne!(
            key.seal(b"msg_1", b"123456").unwrap(),
            sealed,
            "fresh nonce"
        );
    }
}
