//! Randomness, identifiers and constant-time comparison. `getrandom` is called here (and for
//! password salts in `password.rs`) and nowhere else.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Why randomness could not be had: the OS refused (this should never happen on Linux).
#[derive(Debug)]
pub struct RandomUnavailable;

impl std::fmt::Display for RandomUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the operating system's random number generator failed")
    }
}
impl std::error::Error for RandomUnavailable {}

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomUnavailable> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|_| RandomUnavailable)?;
    Ok(buf)
}

/// An identifier such as `usr_0k3…`: the prefix and 26 characters of `[0-9a-z]` (~134 bits).
pub fn new_id(prefix: &str) -> Result<String, RandomUnavailable> {
    const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let bytes = random_bytes::<26>()?;
    let mut id = String::with_capacity(prefix.len() + 26);
    id.push_str(prefix);
    // The modulo bias is slight, and identifiers are unique names, not secrets.
    id.extend(bytes.iter().map(|b| ALPHABET[(*b as usize) % 36] as char));
    Ok(id)
}

thread_local! {
    /// Per-thread state for identifiers that are unique names, not secrets (request IDs): seeded
    /// once from the OS, then splitmix64, so a request costs no system call.
    static NAME_STATE: std::cell::Cell<u64> = std::cell::Cell::new(
        random_bytes::<8>().map(u64::from_ne_bytes).unwrap_or(0x9E37_79B9_7F4A_7C15),
    );
}

/// An identifier such as `req_…` (26 characters of `[0-9a-z]`) from a fast per-thread generator:
/// unique with overwhelming probability, but predictable, so never use it for a secret.
pub fn new_name(prefix: &str) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    NAME_STATE.with(|state| {
        let mut id = String::with_capacity(prefix.len() + 26);
        id.push_str(prefix);
        let mut word = 0u64;
        for i in 0..26 {
            if i % 12 == 0 {
                let next = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
                state.set(next);
                let mut z = next;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                word = z ^ (z >> 31);
            }
            id.push(ALPHABET[(word % 36) as usize] as char);
            word /= 36;
        }
        id
    })
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// HMAC-SHA256 of the parts, each length-prefixed so that no two part lists collide.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(key) else {
        // HMAC takes keys of any length; this arm cannot be reached.
        return [0u8; 32];
    };
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_alphabet() {
        let id = new_id("usr_").unwrap();
        assert_eq!(id.len(), 30);
        assert!(
            id[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        );
        assert_ne!(id, new_id("usr_").unwrap());
    }

    #[test]
    fn ct_eq_compares() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    #[test]
    fn hmac_parts_are_unambiguous() {
        assert_ne!(
            hmac_sha256(b"k", &[b"ab", b"c"]),
            hmac_sha256(b"k", &[b"a", b"bc"])
        );
    }
}
