//! Redirect URIs: what may be registered (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §2.1), exact
//! matching with the loopback port exemption (RFC 8252 §7.3), and, for a mismatch, the exact
//! difference from the closest registered URI, so a developer sees what to fix.

/// The parts of a URI that matching and diagnostics talk about.
#[derive(Debug, PartialEq, Eq)]
struct Parts<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<&'a str>,
    has_authority: bool,
    userinfo: bool,
    path: &'a str,
    query: Option<&'a str>,
    fragment: bool,
}

fn parts(uri: &str) -> Option<Parts<'_>> {
    let (scheme, rest) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    if !chars.next()?.is_ascii_alphabetic()
        || !chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    {
        return None;
    }
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, _)) => (r, true),
        None => (rest, false),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (has_authority, authority, path) = match rest.strip_prefix("//") {
        Some(after) => {
            let cut = after.find('/').unwrap_or(after.len());
            (true, &after[..cut], &after[cut..])
        }
        None => (false, "", rest),
    };
    let userinfo = authority.contains('@');
    let hostport = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = if hostport.starts_with('[') {
        match hostport.split_once(']') {
            Some((h, p)) => (&hostport[..h.len() + 1], p.strip_prefix(':')),
            None => return None,
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    Some(Parts {
        scheme,
        host,
        port,
        has_authority,
        userinfo,
        path,
        query,
        fragment,
    })
}

fn is_loopback_host(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "[::1]" | "localhost")
}

/// Checks a URI offered for registration: absolute, no fragment, no userinfo; https, loopback
/// http, or a private-use scheme with a dot in it for native apps (RFC 8252 §7.1).
pub fn validate_registration(uri: &str) -> Result<(), String> {
    let p = parts(uri).ok_or_else(|| format!("{uri:?} is not an absolute URI"))?;
    if p.fragment {
        return Err(format!(
            "{uri:?} has a fragment, which redirect URIs must not have (RFC 6749 §3.1.2)"
        ));
    }
    if p.userinfo {
        return Err(format!(
            "{uri:?} carries user information, which redirect URIs must not"
        ));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{uri:?} contains whitespace"));
    }
    match p.scheme {
        "https" if p.has_authority && !p.host.is_empty() => Ok(()),
        "http" if p.has_authority && is_loopback_host(p.host) => Ok(()),
        "http" => Err(format!(
            "{uri:?} uses http for a host that is not loopback: use https (or http://127.0.0.1 for native apps)"
        )),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" => Err(format!(
            "{uri:?} uses a scheme that is never a redirect target"
        )),
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(format!(
            "{uri:?} must be https, loopback http, or a private-use scheme such as com.example.app:/callback"
        )),
    }
}

/// Whether `sent` matches `registered`: the same string, or loopback http differing only in port.
pub fn matches(registered: &str, sent: &str) -> bool {
    if registered == sent {
        return true;
    }
    match (parts(registered), parts(sent)) {
        (Some(r), Some(s)) => {
            r.scheme == "http"
                && s.scheme == "http"
                && is_loopback_host(r.host)
                && r.host == s.host
                && r.path == s.path
                && r.query == s.query
                && !r.userinfo
                && !s.userinfo
                && !s.fragment
                && !r.fragment
        }
        _ => false,
    }
}

/// The registered URI that `sent` matches, if any.
pub fn find<'a>(registered: &'a [String], sent: &str) -> Option<&'a str> {
    registered
        .iter()
        .find(|r| matches(r, sent))
        .map(String::as_str)
}

/// The closest registered URI to `sent`, and how `sent` differs from it, in plain words.
pub fn explain(registered: &[String], sent: &str) -> Option<(String, Vec<String>)> {
    let closest = registered.iter().min_by_key(|r| edit_distance(r, sent))?;
    let mut diffs = Vec::new();
    match (parts(closest), parts(sent)) {
        (Some(r), Some(s)) => {
            if r.scheme != s.scheme {
                diffs.push(format!(
                    "scheme: sent {:?}, registered {:?}",
                    s.scheme, r.scheme
                ));
            }
            if r.host != s.host {
                diffs.push(format!("host: sent {:?}, registered {:?}", s.host, r.host));
            }
            if r.port != s.port {
                let show = |p: Option<&str>| p.map_or("(default)".to_owned(), |p| p.to_owned());
                diffs.push(format!(
                    "port: sent {}, registered {}",
                    show(s.port),
                    show(r.port)
                ));
            }
            if r.path != s.path {
                let trailing = r.path.trim_end_matches('/') == s.path.trim_end_matches('/');
                if trailing {
                    diffs.push(format!(
                        "trailing slash: sent path {:?}, registered path {:?}",
                        s.path, r.path
                    ));
                } else {
                    diffs.push(format!("path: sent {:?}, registered {:?}", s.path, r.path));
                }
            }
            if r.query != s.query {
                diffs.push(format!(
                    "query: sent {:?}, registered {:?}",
                    s.query.unwrap_or(""),
                    r.query.unwrap_or("")
                ));
            }
            if s.fragment {
                diffs.push("the sent URI has a fragment (#…), which is never allowed".into());
            }
        }
        _ => diffs.push("the sent redirect_uri is not an absolute URI".into()),
    }
    if diffs.is_empty() {
        diffs.push(
            "the URIs differ in case or encoding; they must match character for character".into(),
        );
    }
    Some((closest.clone(), diffs))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_rules() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
            "https://app.example/cb?tenant=1",
        ] {
            assert!(validate_registration(ok).is_ok(), "{ok}");
        }
        for bad in [
            "/cb",
            "app.example/cb",
            "http://app.example/cb",
            "https://app.example/cb#x",
            "javascript:alert(1)",
            "https://user@app.example/cb",
            "myapp:/cb",
            "https:///cb",
            "https://a.example/c b",
        ] {
            assert!(validate_registration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exact_match_with_loopback_ports() {
        assert!(matches("https://app.example/cb", "https://app.example/cb"));
        assert!(!matches(
            "https://app.example/cb",
            "https://app.example/cb/"
        ));
        assert!(!matches(
            "https://app.example:443/cb",
            "https://app.example/cb"
        ));
        assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:53123/cb"));
        assert!(matches(
            "http://localhost:3000/cb",
            "http://localhost:4000/cb"
        ));
        assert!(
            !matches("http://127.0.0.1/cb", "http://localhost:5000/cb"),
            "same host required"
        );
        assert!(!matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5000/other"
        ));
        assert!(
            !matches("https://app.example:1/cb", "https://app.example:2/cb"),
            "only loopback ports may differ"
        );
    }

    #[test]
    fn explains_the_difference() {
        let reg = vec![
            "https://app.example/callback".to_string(),
            "https://other.example/x".to_string(),
        ];
        let (closest, diffs) = explain(&reg, "https://app.example/callback/").unwrap();
        assert_eq!(closest, "https://app.example/callback");
        assert_eq!(diffs.len(), 1);
        assert!(diffs[0].starts_with("trailing slash"));
        let (_, diffs) = explain(&reg, "http://app.example:8443/callback").unwrap();
        assert!(
            diffs.iter().any(|d| d.starts_with("scheme"))
                && diffs.iter().any(|d| d.starts_with("port"))
        );
        let (_, diffs) = explain(&reg, "https://app.example/callback?x=1").unwrap();
        assert!(diffs[0].starts_with("query"));
    }
}
