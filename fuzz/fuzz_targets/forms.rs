//! Form and query decoding: any bytes decode or are refused, and what decodes re-encodes.
#![no_main]
use gharart_id::core::urlenc;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(decoded) = urlenc::decode(text) {
        assert_eq!(
            urlenc::decode(&urlenc::encode(&decoded)).ok().as_deref(),
            Some(decoded.as_str())
        );
    }
    if let Ok(params) = urlenc::Params::parse(text) {
        let _ = params.get("client_id");
        let _ = params.encode_without("prompt");
    }
    let _ = urlenc::Params::parse_with_repeats(text, &["scopes"]);
});
