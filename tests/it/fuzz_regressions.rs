//! Inputs that once broke (or nearly broke) a parser, replayed on every `cargo test`: the files a
//! fuzzing run leaves in `fuzz/regressions/<target>/` (see fuzz/run.sh), and tricky cases kept here.

use gharart_id::core::keys::KeyRing;
use gharart_id::core::token::{jwt, refresh};
use gharart_id::core::urlenc;
use gharart_id::domain::oauth::redirect;

const TRICKY: [&str; 12] = [
    "",
    "é",
    "%",
    "%e9",
    "a=%zz&b",
    "..",
    "gha_rt_.0.",
    "gha_rt_0123456789abcdefghijklmnop.99999999999999999999.x",
    "eyJ.eyJ.",
    "http://[::1",
    "https://ü.example/é?ä#ö",
    "a:",
];

fn replay(target: &str, run: impl Fn(&str)) -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut n = 0;
    for input in TRICKY.iter().map(|s| s.to_string()).chain(
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|b| String::from_utf8(b).ok()),
    ) {
        run(&input);
        n += 1;
    }
    n
}

#[test]
fn token_parsers_refuse_without_panicking() {
    let keys = KeyRing::generate(0).unwrap();
    let n = replay("tokens", |t| {
        assert!(jwt::verify(&keys, t, "http://id.test", "http://id.test", 0).is_err());
        assert!(refresh::open(keys.refresh_secret(), t).is_none());
    });
    assert!(n >= TRICKY.len());
}

#[test]
fn form_decoding_round_trips_or_refuses() {
    replay("forms", |t| {
        if let Ok(d) = urlenc::decode(t) {
            assert_eq!(urlenc::decode(&urlenc::encode(&d)).unwrap(), d);
        }
        let _ = urlenc::Params::parse(t);
    });
    assert!(
        urlenc::decode("%zz").is_err() && urlenc::decode("%e9").is_err(),
        "bad escapes and bad UTF-8 are refused"
    );
}

#[test]
fn redirect_rules_hold_for_odd_strings() {
    replay("redirects", |t| {
        let _ = redirect::validate_registration(t);
        assert!(!redirect::matches("https://app.example/cb", t) || t == "https://app.example/cb");
        let _ = redirect::explain(&["https://app.example/cb".to_owned()], t);
    });
}

#[test]
fn request_heads_parse_or_refuse_without_panicking() {
    use gharart_id::http::conn::head;
    let n = replay("heads", |t| {
        let bytes = t.as_bytes();
        let mut scan = head::Scan::default();
        let end = scan.advance(bytes);
        let _ = scan.too_large(bytes);
        if let Some(end) = end
            && let Ok(h) = head::parse(&bytes[..end])
        {
            assert!(h.target.starts_with('/') || h.target == "*");
        }
    });
    assert!(n >= TRICKY.len());
    for tricky in [
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "GET http:// HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET http://h?q HTTP/1.1\r\nHost: a\r\n\r\n",
        "\r\n\r\n\r\n",
        "GET / HTTP/1.1\r\n:\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n",
    ] {
        let bytes = tricky.as_bytes();
        let skip = head::leading_empty_lines(bytes);
        if let Some(end) = head::end_of_head(&bytes[skip..]) {
            let _ = head::parse(&bytes[skip..skip + end]);
        }
    }
}
