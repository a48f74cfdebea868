//! Access JWTs, refresh tokens and PKCE verifiers from arbitrary bytes: parsing and verification
//! must refuse, never panic.
#![no_main]
use std::sync::OnceLock;

use gharart_id::core::keys::KeyRing;
use gharart_id::core::token::{jwt, refresh};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // One key ring for the run: fast, and a crash that depends on the key reproduces.
    static KEYS: OnceLock<Option<KeyRing>> = OnceLock::new();
    let Some(keys) = KEYS.get_or_init(|| KeyRing::generate(0).ok()) else {
        return;
    };
    let _ = jwt::verify(&keys, text, "http://id.test", "http://id.test", 1_000);
    let _ = jwt::open_for_inspection(&keys, text);
    assert!(
        refresh::open(keys.refresh_secret(), text).is_none(),
        "a forged refresh token opened"
    );
    let _ = gharart_id::domain::oauth::pkce::verify(text, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
});
