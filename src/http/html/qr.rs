//! A QR code as inline SVG (for the `otpauth://` URI of a TOTP set-up): one path of dark
//! modules inside the four-module quiet zone the standard asks for, drawn server-side so the
//! page needs no script and no image request.

use qrcodegen::{QrCode, QrCodeEcc};

/// The SVG of `text` as a QR code (error correction M), labelled for screen readers; `None` if
/// the text is too long for any QR version.
pub fn svg(text: &str, label: &str) -> Option<String> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = code.size();
    let quiet = 4;
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + quiet, y + quiet));
            }
        }
    }
    let extent = size + 2 * quiet;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" viewBox=\"0 0 {extent} {extent}\" width=\"{px}\" height=\"{px}\" role=\"img\" aria-label=\"{}\" shape-rendering=\"crispEdges\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>",
        super::escape(label),
        px = extent * 5
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uri_becomes_an_svg_with_its_quiet_zone() {
        let svg = svg(
            "otpauth://totp/id.test:ana?secret=GEZDGNBV&issuer=id.test",
            "QR",
        )
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(
            svg.contains("role=\"img\"") && svg.contains("M4,4h1v1h-1z"),
            "the finder pattern's corner"
        );
        assert!(svg.contains("viewBox=\"0 0 "));
    }
}
