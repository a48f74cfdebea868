//! Request heads (src/http/conn/head.rs): any bytes are a head, an incomplete one, or a refusal,
//! never a panic; a parsed head's target is a path (or `*`), and its framing is consistent.
#![no_main]
use gharart_id::http::conn::head::{self, Framing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let skip = head::leading_empty_lines(data);
    let rest = &data[skip..];
    // Fed in two parts, as a head that arrives in two reads.
    let mut scan = head::Scan::default();
    let first = scan.advance(&rest[..rest.len() / 2]);
    let end = first.or_else(|| scan.advance(rest));
    assert_eq!(end, head::end_of_head(rest), "the same end however it arrives");
    let _ = scan.too_large(rest);
    let Some(end) = end else {
        return;
    };
    match head::parse(&rest[..end]) {
        Ok(h) => {
            assert!(h.target.starts_with('/') || h.target == "*", "{}", h.target);
            assert!(h.minor <= 1);
            if h.framing == Framing::Chunked {
                assert_eq!(h.minor, 1);
            }
        }
        Err(refusal) => assert!([400, 431, 501, 505].contains(&refusal.status())),
    }
});
