//! `multipart/form-data` (RFC 7578) as a browser posts a form with a file input, which is the only
//! way to upload a file without JavaScript. Only what `/admin/import` needs: named parts, a file
//! name, and the bytes of each, borrowed from the body. rouille's own parser reads the request
//! body itself, which the dispatcher has already read under the route's cap.

/// One part of the form.
#[derive(Debug)]
pub struct Part<'a> {
    pub name: String,
    pub file_name: Option<String>,
    pub data: &'a [u8],
}

/// The parts of `body`, sent with `content_type`; why not, for a body that is not well-formed.
pub fn parse<'a>(content_type: &str, body: &'a [u8]) -> Result<Vec<Part<'a>>, String> {
    let boundary = boundary(content_type)?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut at = find(body, &delimiter, 0).ok_or("the form holds no part")? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        if !rest.starts_with(b"\r\n") {
            return Err("a part boundary is not followed by a line break".into());
        }
        let head_start = at + 2;
        let head_end = find(body, b"\r\n\r\n", head_start).ok_or("a part has no end of headers")?;
        let head = std::str::from_utf8(&body[head_start..head_end])
            .map_err(|_| "a part's headers are not UTF-8")?;
        let data_start = head_end + 4;
        let next = [b"\r\n".as_slice(), &delimiter].concat();
        let data_end = find(body, &next, data_start).ok_or("the form ends inside a part")?;
        let (name, file_name) = disposition(head)?;
        parts.push(Part {
            name,
            file_name,
            data: &body[data_start..data_end],
        });
        at = data_end + next.len();
    }
}

fn boundary(content_type: &str) -> Result<String, String> {
    let (kind, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err("send the form as multipart/form-data".into());
    }
    let value = params
        .split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .ok_or("the form's Content-Type names no boundary")?;
    if value.is_empty() || value.len() > 70 {
        return Err("the form's boundary is empty or longer than 70 characters".into());
    }
    Ok(value)
}

/// `name` and `filename` of a part's `Content-Disposition: form-data` header.
fn disposition(head: &str) -> Result<(String, Option<String>), String> {
    let line = head
        .split("\r\n")
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(v)
        })
        .ok_or("a part has no Content-Disposition")?;
    let mut name = None;
    let mut file_name = None;
    for param in line.split(';').skip(1) {
        let Some((k, v)) = param.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_owned();
        match k.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(v),
            "filename" => file_name = Some(v),
            _ => {}
        }
    }
    Ok((name.ok_or("a part has no name")?, file_name))
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i + needle.len() <= haystack.len() {
        let j = i + haystack[i..].iter().position(|&b| b == first)?;
        if haystack.get(j..j + needle.len()) == Some(needle) {
            return Some(j);
        }
        i = j + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_form_with_a_file() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"crew.csv\"\r\nContent-Type: text/csv\r\n\r\nana,ana@x.io\r\nbo,bo@x.io\r\n\r\n--XyZ--\r\n";
        let parts = parse("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].data),
            ("csrf_token", b"abc".as_slice())
        );
        assert_eq!(parts[1].file_name.as_deref(), Some("crew.csv"));
        assert_eq!(parts[1].data, b"ana,ana@x.io\r\nbo,bo@x.io\r\n");
    }

    #[test]
    fn refusals() {
        assert!(parse("application/x-www-form-urlencoded", b"a=b").is_err());
        assert!(parse("multipart/form-data", b"--x\r\n").is_err());
        assert!(
            parse(
                "multipart/form-data; boundary=x",
                b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end"
            )
            .is_err()
        );
        assert!(parse("multipart/form-data; boundary=x", b"no parts at all").is_err());
    }
}
