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

/// Parses an RFC 3339 date-time (`2026-12-24T06:00:00Z`, `…T06:00:00.5+01:00`; `t`, `z` and
/// a space for `T` are accepted, as RFC 3339 §5.6 allows).
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = text.get(from..to)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = (rest.get(1..3)?, rest.get(4..6)?);
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let (oh, om): (i64, i64) = (oh.parse().ok()?, om.parse().ok()?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(y, mo, d);
    Some(days * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's civil-to-days algorithm: days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The next moment after `now` (or `now` itself) whose UTC time of day is `HH:MM`.
pub fn next_time_of_day(text: &str, now: Timestamp) -> Option<Timestamp> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    if h > 23 || m > 59 {
        return None;
    }
    let today = now.div_euclid(86_400) * 86_400 + h * 3600 + m * 60;
    Some(if today >= now { today } else { today + 86_400 })
}

/// Parses `90s`, `15m`, `24h` or `30d` into seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    // The unit is the last character, whatever its width (`1é` must not split inside it).
    let split = text.char_indices().last().map_or(0, |(i, _)| i);
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?} is not a duration like 90s, 15m, 24h or 30d"
            ));
        }
    };
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n >= 0 && *n <= 3650 * 86_400)
        .ok_or_else(|| format!("{text:?} is not a duration like 90s, 15m, 24h or 30d"))?;
    Ok(n * scale)
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
    fn parses_rfc3339_and_times_of_day() {
        assert_eq!(parse_rfc3339("2026-11-28T17:45:20Z"), Some(1_795_887_920));
        assert_eq!(
            parse_rfc3339("2026-11-28t18:45:20.25+01:00"),
            Some(1_795_887_920)
        );
        assert_eq!(parse_rfc3339("2000-02-29 00:00:00z"), Some(951_782_400));
        for ts in (0..4_000_000_000_i64).step_by(86_399 * 7 + 3_607) {
            assert_eq!(parse_rfc3339(&rfc3339(ts)), Some(ts));
        }
        for bad in [
            "2026-11-28",
            "2026-02-30T00:00:00Z",
            "2026-11-28T24:00:00Z",
            "2026-11-28T17:45:20",
            "2026-11-28T17:45:20+0100",
            "2026-11-28T17:45:20.Z",
            "2026-1a-28T17:45:20Z",
            "2026-11-28T17:45:20Zjunk",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        let noon = 1_795_867_200; // 2026-11-28T12:00:00Z
        assert_eq!(next_time_of_day("13:30", noon), Some(noon + 5400));
        assert_eq!(next_time_of_day("06:00", noon), Some(noon + 18 * 3600));
        assert_eq!(next_time_of_day("12:00", noon), Some(noon));
        for bad in ["24:00", "6:00", "06:60", "0600", "ab:cd"] {
            assert_eq!(next_time_of_day(bad, noon), None, "{bad}");
        }
    }

    #[test]
    fn durations_parse_and_odd_units_are_refused_not_panicked_on() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration(" 30d "), Ok(30 * 86_400));
        for bad in ["", "s", "1é", "é", "15", "-1m", "1.5h", "1w"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn manual_clock_moves() {
        let c = Clock::manual(100);
        c.advance(5);
        assert_eq!(c.now(), 105);
    }
}
