//! `application/x-www-form-urlencoded` (WHATWG URL §5) and query strings: decoding with
//! duplicate detection (RFC 6749 §3.1: a repeated parameter is an error), and encoding for
//! redirect URIs.

/// Decodes `a=b&c=d` pairs; `+` is a space; bad escapes or bad UTF-8 are an error.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

/// Percent-decodes one form component (`+` as space).
pub fn decode(text: &str) -> Result<String, String> {
    decode_with(text, b' ')
}

/// Percent-decodes one URI component (RFC 3986: `+` is a plus), such as the userinfo of a URL.
pub fn percent_decode(text: &str) -> Result<String, String> {
    decode_with(text, b'+')
}

fn decode_with(text: &str, plus: u8) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(plus),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("a bad %-escape")?;
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "not UTF-8".to_owned())
}

/// Percent-encodes everything but the RFC 3986 unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Pairs with each name at most once; an empty value counts as absent (RFC 6749 §3.1).
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes `text`; `Err(name)` names a parameter that appears twice or fails to decode.
    pub fn parse(text: &str) -> Result<Params, String> {
        Params::parse_with_repeats(text, &[])
    }

    /// As [`Params::parse`], but the names in `repeatable` may appear several times (checkboxes).
    pub fn parse_with_repeats(text: &str, repeatable: &[&str]) -> Result<Params, String> {
        let pairs = parse(text).map_err(|e| format!("the parameters do not decode: {e}"))?;
        for (i, (k, _)) in pairs.iter().enumerate() {
            if !repeatable.contains(&k.as_str()) && pairs[..i].iter().any(|(other, _)| other == k) {
                return Err(format!("the parameter {k} appears more than once"));
            }
        }
        Ok(Params(pairs))
    }

    /// Every value of a repeatable parameter (checkbox groups), in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Re-encodes the pairs, leaving out `skip`.
    pub fn encode_without(&self, skip: &str) -> String {
        self.0
            .iter()
            .filter(|(k, _)| k != skip)
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// `uri` with `pairs` added to its query (RFC 6749 §4.1.2: keep the registered query).
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", encoded.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(
            parse("a=b%20c&d=e+f&g").unwrap(),
            vec![
                ("a".into(), "b c".into()),
                ("d".into(), "e f".into()),
                ("g".into(), String::new())
            ]
        );
        assert_eq!(decode(&encode("x y/?&=ü")).unwrap(), "x y/?&=ü");
        assert!(decode("%zz").is_err());
        assert!(decode("%ff").is_err());
    }

    #[test]
    fn a_uri_component_keeps_its_plus() {
        assert_eq!(percent_decode("p+ss%40x").unwrap(), "p+ss@x");
        assert_eq!(decode("p+ss%40x").unwrap(), "p ss@x");
        assert!(percent_decode("%4").is_err());
    }

    #[test]
    fn duplicates_and_empties() {
        assert!(Params::parse("a=1&a=2").is_err());
        let p = Params::parse("a=1&b=").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None, "empty counts as absent");
        assert_eq!(p.encode_without("a"), "b=");
    }

    #[test]
    fn query_building() {
        assert_eq!(
            with_query("https://a/cb", &[("code", "x y")]),
            "https://a/cb?code=x%20y"
        );
        assert_eq!(
            with_query("https://a/cb?k=1", &[("state", "s")]),
            "https://a/cb?k=1&state=s"
        );
    }
}
