//! The only place that reads the wall clock. Domain code takes `now` as a parameter; tests use a
//! manual clock and move it instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// Where the server gets the time: the system clock, or a manual one that tests advance.
#[derive(Clone, Debug)]
pub enum Clock {
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock starting at `start`.
    pub fn manual(start: Timestamp) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(start)))
    }

    pub fn now(&self) -> Timestamp {
        match self {
            #[allow(clippy::disallowed_methods)]
            Clock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward; the system clock cannot be moved.
    pub fn advance(&self, secs: i64) {
        if let Clock::Manual(t) = self {
            t.fetch_add(secs, Ordering::SeqCst);
        }
    }
}

/// Formats a timestamp as an HTTP date (`Sat, 28 Nov 2026 17:45:20 GMT`), for the `Date` header.
pub fn http_date(ts: Timestamp) -> String {
    let since_epoch = std::time::Duration::from_secs(u64::try_from(ts).unwrap_or(0));
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + since_epoch)
}

/// Formats a timestamp as RFC 3339 UTC (`2026-11-28T17:45:20Z`). Digits are written directly
/// (every `/v2/auth/me` formats four of these; `format!` was a measurable share of it).
pub fn rfc3339(ts: Timestamp) -> String {
    let secs = ts.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(ts.div_euclid(86_400));
    if !(0..=9999).contains(&y) {
        return rfc3339_formatted(ts);
    }
    let mut out = String::with_capacity(20);
    for (n, width, then) in [
        (y, 4, '-'),
        (i64::from(m), 2, '-'),
        (i64::from(d), 2, 'T'),
        (secs / 3600, 2, ':'),
        ((secs / 60) % 60, 2, ':'),
        (secs % 60, 2, 'Z'),
    ] {
        let mut place = 10_i64.pow(width - 1);
        while place > 0 {
            out.push(char::from(b'0' + ((n / place) % 10) as u8));
            place /= 10;
        }
        out.push(then);
    }
    out
}

/// [`rfc3339`] through `format!`: for years outside 0..=9999, and the reference of its test.
fn rfc3339_formatted(ts: Timestamp) -> String {
    let secs = ts.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(ts.div_euclid(86_400));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// `3m 20s`, `2h 5m`, `4d 3h`.
pub fn span(secs: i64) -> String {
    let s = secs.abs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_887_920), "2026-11-28T17:45:20Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_800), "10000-01-01T00:00:00Z");
        for ts in (0..4_000_000_000_i64).step_by(86_399 * 7 + 3_607) {
            assert_eq!(rfc3339(ts), rfc3339_formatted(ts));
        }
    }

    #[test]
    fn manual_clock_moves() {
        let c = Clock::manual(100);
        c.advance(5);
        assert_eq!(c.now(), 105);
    }
}
