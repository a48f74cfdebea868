//! The invitation file of `users import` and `/admin`'s import: rows of
//! `handle,email[,displayName[,groups]]` (groups separated by `;`), as RFC 4180 writes them and
//! spreadsheets export them: an optional UTF-8 byte order mark, CRLF or LF line ends, fields in
//! double quotes (holding commas, line breaks, and `""` for a quote). A header row and blank
//! lines are skipped. Each row keeps the line it starts on, so a refusal can name it.

use super::invite::Invitee;

/// The rows of `text` and the line each starts on (1-based).
pub fn parse(text: &str) -> (Vec<Invitee>, Vec<usize>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut numbers = Vec::new();
    for (index, (line, fields)) in records(text).into_iter().enumerate() {
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if index == 0 && fields[0].trim().eq_ignore_ascii_case("handle") {
            continue;
        }
        let field = |n: usize| {
            fields
                .get(n)
                .map(|f| f.trim().to_owned())
                .unwrap_or_default()
        };
        let display = field(2);
        rows.push(Invitee {
            handle: field(0),
            email: field(1),
            display_name: (!display.is_empty()).then_some(display),
            groups: field(3)
                .split(';')
                .map(|g| g.trim().to_owned())
                .filter(|g| !g.is_empty())
                .collect(),
        });
        numbers.push(line);
    }
    (rows, numbers)
}

/// Every record with the line it starts on. A line break inside quotes belongs to the field; a
/// quote left open runs to the end of the text.
fn records(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut fields = vec![String::new()];
    let (mut line, mut start) = (1, 1);
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                push(&mut fields, '"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            ('\r', false) if chars.peek() == Some(&'\n') => {}
            ('\n', false) => {
                out.push((start, std::mem::replace(&mut fields, vec![String::new()])));
                line += 1;
                start = line;
            }
            (c, _) => {
                if c == '\n' {
                    line += 1;
                }
                push(&mut fields, c);
            }
        }
    }
    if fields.len() > 1 || fields.iter().any(|f| !f.is_empty()) {
        out.push((start, fields));
    }
    out
}

fn push(fields: &mut [String], c: char) {
    if let Some(f) = fields.last_mut() {
        f.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_with_quotes_blank_lines_and_crlf() {
        let (rows, lines) = parse(
            "handle,email,displayName\nana,ana@x.io,\"Ana, Elf\"\n\nbo,bo@x.io\r\n\"q\"\"x\",q@x.io,",
        );
        assert_eq!(lines, vec![2, 4, 5]);
        assert_eq!(rows[0].display_name.as_deref(), Some("Ana, Elf"));
        assert_eq!(rows[1].handle, "bo");
        assert_eq!(rows[1].email, "bo@x.io", "no CR left on the last field");
        assert_eq!(rows[1].display_name, None);
        assert_eq!(rows[2].handle, "q\"x");
    }

    #[test]
    fn a_byte_order_mark_and_a_header_in_crlf() {
        let (rows, lines) = parse("\u{feff}Handle,Email\r\nana,ana@x.io,,crew; elves\r\n");
        assert_eq!(lines, vec![2]);
        assert_eq!(rows[0].handle, "ana");
        assert_eq!(rows[0].groups, vec!["crew", "elves"]);
    }

    #[test]
    fn a_quoted_line_break_stays_in_its_field_and_lines_still_count() {
        let (rows, lines) = parse("ana,ana@x.io,\"Ana\nElf\"\nbo,bo@x.io\n");
        assert_eq!(lines, vec![1, 3]);
        assert_eq!(rows[0].display_name.as_deref(), Some("Ana\nElf"));
        assert_eq!(rows[1].handle, "bo");
    }
}
