//! What the command line prints: stored text made safe for the operator's terminal, and a
//! standard output that ends the command quietly when its reader has gone (`… | head`).
//!
//! Text that users sent (a support report, a handle, an email) may hold escape sequences that
//! move the cursor, rewrite the screen or fake lines of output. Every control character is
//! printed as an escape (`\u{1b}`), one-line fields escape line ends too, and a multi-line
//! block is indented so that none of its lines can pass for one of the command's own.

use std::fmt;
use std::io::Write;

/// Prints a line to standard output. A closed pipe ends the process with status 0 (the reader
/// took what it wanted); any other failure to write ends it with status 1.
pub fn write_line(line: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(line).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("gharart-id: writing to standard output: {e}");
        std::process::exit(1);
    }
}

/// A one-line field as it may be printed: every control character escaped.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_char(&mut out, c, false);
    }
    out
}

/// A multi-line block as it may be printed: control characters escaped but line ends and tabs,
/// and every line indented by `indent`.
pub fn block(text: &str, indent: &str) -> String {
    let mut out = String::with_capacity(text.len() + indent.len());
    out.push_str(indent);
    for c in text.trim_end_matches(['\n', '\r']).chars() {
        push_char(&mut out, c, true);
        if c == '\n' {
            out.push_str(indent);
        }
    }
    out
}

fn push_char(out: &mut String, c: char, multi_line: bool) {
    let kept = c == '\t' || (multi_line && c == '\n');
    if (c.is_control() || is_bidi_control(c)) && !kept {
        out.extend(c.escape_unicode());
    } else {
        out.push(c);
    }
}

/// The Unicode controls that reorder how a line is shown (Trojan Source, CVE-2021-42574).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// `println!` for the command line: through [`write_line`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::commands::terminal::write_line(format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_fake_lines_are_shown_not_run() {
        assert_eq!(
            one_line("ok\u{1b}[2Jwiped\r\nreport rep_x"),
            "ok\\u{1b}[2Jwiped\\u{d}\\u{a}report rep_x"
        );
        assert_eq!(one_line("caf\u{e9} \u{202e}txt"), "caf\u{e9} \\u{202e}txt");
        assert_eq!(block("one\n\u{7}two\n", "  "), "  one\n  \\u{7}two");
        assert_eq!(one_line("tab\there"), "tab\there");
    }
}
