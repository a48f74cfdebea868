//! `Refusal`: why the connection layer refused a request before any handler saw it. Each is one
//! documented `/v2` error code; `ApiError::Refused` carries it to the one error rendering, as
//! `ApiError::OAuth` carries an OAuth error.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 400 `malformed_request`: the framing rule the request broke.
    Malformed(&'static str),
    /// 408 `request_timeout`.
    TimedOut,
    /// 431 `header_too_large`.
    HeadTooLarge,
    /// 501 `unsupported_transfer_coding`.
    UnsupportedCoding,
    /// 505 `http_version_not_supported`.
    Version,
}

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Refusal::Malformed(_) => 400,
            Refusal::TimedOut => 408,
            Refusal::HeadTooLarge => 431,
            Refusal::UnsupportedCoding => 501,
            Refusal::Version => 505,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "malformed_request",
            Refusal::TimedOut => "request_timeout",
            Refusal::HeadTooLarge => "header_too_large",
            Refusal::UnsupportedCoding => "unsupported_transfer_coding",
            Refusal::Version => "http_version_not_supported",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refusal::Malformed(why) => why,
            Refusal::TimedOut => {
                "the request did not arrive in time (its head within 10 s, its body without a 10 s stall and within 20 s)"
            }
            Refusal::HeadTooLarge => {
                "the request head is too large (a line over 16 KiB, over 128 fields, or over 64 KiB)"
            }
            Refusal::UnsupportedCoding => "the only transfer coding this server takes is chunked",
            Refusal::Version => "this server speaks HTTP/1.1 and HTTP/1.0 only",
        }
    }
}
