//! Access JWTs, refresh tokens and PKCE verifiers from arbitrary bytes: parsing and verification
//! must refuse, never panic.
#![no_main]
use gharart_id::keys::KeyRing;
use gharart_id::token::{jwt, refresh};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(keys) = KeyRing::generate(0) else {
        return;
    };
    let _ = jwt::verify(&keys, text, "http://id.test", "http://id.test", 1_000);
    let _ = jwt::open_for_inspection(&keys, text);
    assert!(
        refresh::open(keys.refresh_secret(), text).is_none(),
        "a forged refresh token opened"
    );
    let _ = gharart_id::oauth::pkce::verify(text, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
});
