//! Redirect URI validation, matching and diagnostics from arbitrary strings.
#![no_main]
use gharart_id::domain::oauth::redirect;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mid = (0..=text.len() / 2)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let (a, b) = text.split_at(mid);
    let _ = redirect::validate_registration(a);
    if redirect::matches(a, b) {
        assert!(
            redirect::validate_registration(b).is_err()
                || redirect::find(&[a.to_owned()], b).is_some()
        );
    }
    let _ = redirect::explain(&[a.to_owned(), "https://app.example/cb".to_owned()], b);
});
