//! Reading a request body, by `Content-Length` or chunked, at a useful rate: a body that makes no
//! progress for 10 s, or has not finished 20 s after its head, is cut off (408). At most one byte
//! past the largest body any route takes is kept, so a route's own cap (413) sees the excess and
//! no flood is ever buffered.

use std::time::{Duration, Instant};

use super::head::Framing;
use super::refusal::Refusal;
use super::stream::{Stream, Wait};

/// How long a body may go without progress, and how long it may take in all.
const STALL: Duration = Duration::from_secs(10);
const WHOLE: Duration = Duration::from_secs(20);

/// The longest chunk-size line (with its extensions) and trailer section taken.
const MAX_CHUNK_LINE: usize = 4 * 1024;
const MAX_TRAILERS: usize = 16 * 1024;

const BAD_CHUNKS: Refusal = Refusal::Malformed("the chunked body is malformed");

/// A body as read.
pub struct Body {
    pub bytes: Vec<u8>,
    /// Whether all of the body was read, so that the connection can carry another request.
    pub whole: bool,
}

/// Why a body could not be read.
pub enum BodyError {
    /// The client went away: nobody to answer.
    Closed,
    Refused(Refusal),
}

/// Reads the body `framing` announces, keeping at most `keep` bytes of it.
pub fn read(stream: &mut Stream, framing: Framing, keep: usize) -> Result<Body, BodyError> {
    let mut reader = Reader {
        stream,
        whole_by: Instant::now() + WHOLE,
    };
    match framing {
        Framing::Empty => Ok(Body {
            bytes: Vec::new(),
            whole: true,
        }),
        Framing::Length(n) if n > keep as u64 => Ok(Body {
            bytes: Vec::new(),
            whole: false,
        }),
        Framing::Length(n) => {
            let mut bytes = Vec::with_capacity(n as usize);
            reader.take(n as usize, &mut bytes)?;
            Ok(Body { bytes, whole: true })
        }
        Framing::Chunked => reader.chunked(keep),
    }
}

struct Reader<'a> {
    stream: &'a mut Stream,
    whole_by: Instant,
}

impl Reader<'_> {
    /// Waits for more bytes under both deadlines.
    fn more(&mut self) -> Result<(), BodyError> {
        match self
            .stream
            .fill((Instant::now() + STALL).min(self.whole_by))
        {
            Wait::Filled => Ok(()),
            Wait::Closed => Err(BodyError::Closed),
            Wait::TimedOut => Err(BodyError::Refused(Refusal::TimedOut)),
        }
    }

    /// Moves exactly `n` bytes of the body into `out`.
    fn take(&mut self, mut n: usize, out: &mut Vec<u8>) -> Result<(), BodyError> {
        while n > 0 {
            if self.stream.buffered().is_empty() {
                self.more()?;
            }
            let have = self.stream.buffered();
            let part = have.len().min(n);
            out.extend_from_slice(&have[..part]);
            self.stream.consume(part);
            n -= part;
        }
        Ok(())
    }

    /// One line (without its CRLF), of at most `max` bytes. Chunked framing ends its lines in
    /// CRLF only (RFC 9112 §7.1): a bare LF or CR is refused, since a proxy may read it otherwise.
    fn line(&mut self, max: usize) -> Result<Vec<u8>, BodyError> {
        loop {
            let have = self.stream.buffered();
            if let Some(end) = have.iter().position(|&b| b == b'\n') {
                let line = have[..end]
                    .strip_suffix(b"\r")
                    .filter(|l| !l.contains(&b'\r'))
                    .ok_or(BodyError::Refused(BAD_CHUNKS))?
                    .to_vec();
                self.stream.consume(end + 1);
                return Ok(line);
            }
            if have.len() > max {
                return Err(BodyError::Refused(BAD_CHUNKS));
            }
            self.more()?;
        }
    }

    /// RFC 9112 §7.1: chunks of `hex-size[;extensions] CRLF data CRLF`, a last chunk of size 0,
    /// then trailer fields (read and dropped) and an empty line.
    fn chunked(&mut self, keep: usize) -> Result<Body, BodyError> {
        let mut bytes = Vec::new();
        loop {
            let line = self.line(MAX_CHUNK_LINE)?;
            let size = chunk_size(&line).ok_or(BodyError::Refused(BAD_CHUNKS))?;
            if size == 0 {
                break;
            }
            // What may still be kept: up to one byte past the cap.
            let room = (keep + 1).saturating_sub(bytes.len());
            if size >= room as u64 {
                // More than any route takes: keep one byte past the cap, and stop reading.
                self.take(room, &mut bytes)?;
                return Ok(Body {
                    bytes,
                    whole: false,
                });
            }
            self.take(size as usize, &mut bytes)?;
            if !self.line(2)?.is_empty() {
                return Err(BodyError::Refused(BAD_CHUNKS));
            }
        }
        let mut trailers = 0;
        loop {
            let line = self.line(MAX_TRAILERS)?;
            trailers += line.len() + 2;
            if trailers > MAX_TRAILERS {
                return Err(BodyError::Refused(BAD_CHUNKS));
            }
            if line.is_empty() {
                return Ok(Body { bytes, whole: true });
            }
        }
    }
}

/// The size of a chunk-size line, `1*HEXDIG *( BWS ";" chunk-ext )`: the extensions are skipped,
/// and may hold no control character. `None` when the line is malformed or the size would not
/// fit in 60 bits (no route takes anything near it).
fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 15 {
        return None;
    }
    let rest = &line[digits..];
    let after_space = rest
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(rest.len());
    match rest.get(after_space) {
        None if after_space == 0 => {}
        Some(b';')
            if rest
                .iter()
                .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b)) => {}
        _ => return None,
    }
    line[..digits].iter().try_fold(0u64, |n, &d| {
        let digit = u64::from((d as char).to_digit(16)?);
        n.checked_mul(16)?.checked_add(digit)
    })
}

#[cfg(test)]
mod tests {
    use super::chunk_size;

    #[test]
    fn chunk_sizes_are_hex_with_optional_extensions_only() {
        assert_eq!(chunk_size(b"1a"), Some(26));
        assert_eq!(chunk_size(b"5;name=value"), Some(5));
        assert_eq!(chunk_size(b"5 ; name"), Some(5));
        assert_eq!(chunk_size(b"fffffffffffffff"), Some(0x0fff_ffff_ffff_ffff));
        for bad in [
            &b""[..],
            b"5 ",
            b" 5",
            b"+5",
            b"0x5",
            b"5;\x01",
            b"1000000000000000",
            b"5z",
        ] {
            assert_eq!(chunk_size(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
