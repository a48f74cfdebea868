//! Prometheus metrics (API.md, Operations), exposed as text format 0.0.4 at `GET /metrics`:
//! requests by route template, method and status; a latency histogram by route; logins, refreshes,
//! throttled requests and codes sent by outcome; and, read at scrape time, live sessions and the
//! database size. Small enough to keep by hand: counters under a mutex, one exposition function.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Counters {
    requests: BTreeMap<(&'static str, &'static str, u16), u64>,
    durations: BTreeMap<&'static str, Histogram>,
    logins: BTreeMap<&'static str, u64>,
    refreshes: BTreeMap<&'static str, u64>,
    throttled: BTreeMap<&'static str, u64>,
    codes_sent: BTreeMap<&'static str, u64>,
    connections_refused: BTreeMap<&'static str, u64>,
    mfa_verifications: BTreeMap<(&'static str, &'static str), u64>,
}

/// What the scrape reads from the database.
pub struct Gauges {
    pub active_sessions: i64,
    pub db_size_bytes: u64,
    pub wal_checkpoints: u64,
    /// Messages waiting in the outbox: pending, and failed for good.
    pub mail_pending: i64,
    pub mail_failed: i64,
}

/// Delivery attempts by outcome, counted by the mail courier.
#[derive(Default)]
pub struct MailCounts {
    sent: AtomicU64,
    retry: AtomicU64,
    failed: AtomicU64,
    expired: AtomicU64,
}

impl MailCounts {
    pub fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }
    pub fn retry(&self) {
        self.retry.fetch_add(1, Ordering::Relaxed);
    }
    pub fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }
    pub fn expired(&self) {
        self.expired.fetch_add(1, Ordering::Relaxed);
    }

    fn each(&self) -> [(&'static str, u64); 4] {
        [
            ("sent", self.sent.load(Ordering::Relaxed)),
            ("retry", self.retry.load(Ordering::Relaxed)),
            ("failed", self.failed.load(Ordering::Relaxed)),
            ("expired", self.expired.load(Ordering::Relaxed)),
        ]
    }
}

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
    /// Connections the connection layer holds, kept up to date by it (`conn::Limits::open`).
    pub connections_open: Arc<AtomicUsize>,
    /// Mail deliveries, kept up to date by the courier.
    pub mail: Arc<MailCounts>,
}

impl Metrics {
    fn with(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut self.counters.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// One answered request.
    pub fn request(&self, route: &'static str, method: &str, status: u16, seconds: f64) {
        self.with(|c| {
            let method = match method {
                "GET" => "GET",
                "POST" => "POST",
                "DELETE" => "DELETE",
                "PUT" => "PUT",
                "HEAD" => "HEAD",
                "PATCH" => "PATCH",
                "OPTIONS" => "OPTIONS",
                _ => "OTHER",
            };
            *c.requests.entry((route, method, status)).or_default() += 1;
            let h = c.durations.entry(route).or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
            if status == 429 {
                *c.throttled.entry(route).or_default() += 1;
            }
        });
    }

    /// A login attempt: `ok` or `failed`.
    pub fn login(&self, result: &'static str) {
        self.with(|c| *c.logins.entry(result).or_default() += 1);
    }

    /// A second-factor code checked: `method` `totp` or `recovery` (for a wrong code, what its
    /// shape suggests), `result` `ok` or `invalid`.
    pub fn mfa_verification(&self, method: &'static str, result: &'static str) {
        self.with(|c| *c.mfa_verifications.entry((method, result)).or_default() += 1);
    }

    /// A refresh: `ok`, `reused`, `expired`, `revoked`, `invalid` (also a malformed or missing
    /// token), `throttled` or `unavailable`.
    pub fn refresh(&self, result: &'static str) {
        self.with(|c| *c.refreshes.entry(result).or_default() += 1);
    }

    /// A code queued for mail: `confirm` or `reset`.
    pub fn code_sent(&self, purpose: &'static str) {
        self.with(|c| *c.codes_sent.entry(purpose).or_default() += 1);
    }

    /// A connection refused before any request was read: `max_connections`,
    /// `max_connections_per_ip` or `thread` (no thread could be started for it).
    pub fn connection_refused(&self, reason: &'static str) {
        self.with(|c| *c.connections_refused.entry(reason).or_default() += 1);
    }

    /// The text exposition.
    pub fn render(&self, gauges: &Gauges) -> String {
        let c = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        header(
            &mut out,
            "gharart_http_requests_total",
            "counter",
            "HTTP requests answered, by route template, method and status.",
        );
        for ((route, method, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "gharart_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                esc(route),
                esc(method)
            );
        }
        header(
            &mut out,
            "gharart_http_request_duration_seconds",
            "histogram",
            "Time to answer a request, by route template.",
        );
        for (route, h) in &c.durations {
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "gharart_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{bound}\"}} {n}",
                    esc(route)
                );
            }
            let _ = writeln!(
                out,
                "gharart_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}",
                esc(route),
                h.count
            );
            let _ = writeln!(
                out,
                "gharart_http_request_duration_seconds_sum{{route=\"{}\"}} {}",
                esc(route),
                h.sum
            );
            let _ = writeln!(
                out,
                "gharart_http_request_duration_seconds_count{{route=\"{}\"}} {}",
                esc(route),
                h.count
            );
        }
        labelled(
            &mut out,
            "gharart_logins_total",
            "Password logins, by result.",
            "result",
            &c.logins,
        );
        labelled(
            &mut out,
            "gharart_refreshes_total",
            "Refresh-token uses, by result.",
            "result",
            &c.refreshes,
        );
        labelled(
            &mut out,
            "gharart_throttled_total",
            "Requests answered 429, by route template.",
            "route",
            &c.throttled,
        );
        labelled(
            &mut out,
            "gharart_codes_sent_total",
            "Confirmation and reset codes queued for mail, by purpose.",
            "purpose",
            &c.codes_sent,
        );
        header(
            &mut out,
            "gharart_mfa_verifications_total",
            "counter",
            "Second-factor codes checked, by method and result.",
        );
        for ((method, result), n) in &c.mfa_verifications {
            let _ = writeln!(
                out,
                "gharart_mfa_verifications_total{{method=\"{method}\",result=\"{result}\"}} {n}"
            );
        }
        labelled(
            &mut out,
            "gharart_connections_refused_total",
            "Connections refused at once (503, then closed), by the cap or failure that refused them.",
            "reason",
            &c.connections_refused,
        );
        header(
            &mut out,
            "gharart_mail_deliveries_total",
            "counter",
            "Mail delivery attempts, by result: sent, retry (a transient failure), failed (permanent), expired (dropped: the code expired first).",
        );
        for (result, n) in self.mail.each() {
            let _ = writeln!(
                out,
                "gharart_mail_deliveries_total{{result=\"{result}\"}} {n}"
            );
        }
        header(
            &mut out,
            "gharart_mail_queue",
            "gauge",
            "Messages in the outbox: pending (to be tried), failed (a permanent failure, until mail retry).",
        );
        let _ = writeln!(
            out,
            "gharart_mail_queue{{state=\"pending\"}} {}",
            gauges.mail_pending
        );
        let _ = writeln!(
            out,
            "gharart_mail_queue{{state=\"failed\"}} {}",
            gauges.mail_failed
        );
        header(
            &mut out,
            "gharart_connections_open",
            "gauge",
            "Connections held (idle or with a request), against --max-connections.",
        );
        let _ = writeln!(
            out,
            "gharart_connections_open {}",
            self.connections_open.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "gharart_active_sessions",
            "gauge",
            "Sessions neither revoked nor past their absolute lifetime.",
        );
        let _ = writeln!(out, "gharart_active_sessions {}", gauges.active_sessions);
        header(
            &mut out,
            "gharart_db_size_bytes",
            "gauge",
            "Size of the database file and its WAL.",
        );
        let _ = writeln!(out, "gharart_db_size_bytes {}", gauges.db_size_bytes);
        header(
            &mut out,
            "gharart_wal_checkpoints_total",
            "counter",
            "WAL checkpoints run off the write path.",
        );
        let _ = writeln!(
            out,
            "gharart_wal_checkpoints_total {}",
            gauges.wal_checkpoints
        );
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn labelled(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    values: &BTreeMap<&'static str, u64>,
) {
    header(out, name, "counter", help);
    for (value, n) in values {
        let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {n}", esc(value));
    }
}

/// Escapes a label value (text format: backslash, quote, newline).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition() {
        let m = Metrics::default();
        m.request("/v2/auth/me", "GET", 200, 0.003);
        m.request("/v2/auth/me", "GET", 200, 0.2);
        m.request("/v2/auth/login", "POST", 429, 0.0001);
        m.login("failed");
        let text = m.render(&Gauges {
            active_sessions: 3,
            db_size_bytes: 4096,
            wal_checkpoints: 7,
            mail_pending: 4,
            mail_failed: 1,
        });
        assert!(text.contains("gharart_mail_queue{state=\"pending\"} 4"));
        assert!(text.contains("gharart_mail_deliveries_total{result=\"expired\"} 0"));
        assert!(text.contains("gharart_wal_checkpoints_total 7"));
        assert!(text.contains(
            "gharart_http_requests_total{route=\"/v2/auth/me\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "gharart_http_request_duration_seconds_bucket{route=\"/v2/auth/me\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "gharart_http_request_duration_seconds_bucket{route=\"/v2/auth/me\",le=\"+Inf\"} 2"
        ));
        assert!(text.contains("gharart_throttled_total{route=\"/v2/auth/login\"} 1"));
        assert!(text.contains("gharart_logins_total{result=\"failed\"} 1"));
        assert!(text.contains("# TYPE gharart_active_sessions gauge\ngharart_active_sessions 3"));
        assert_eq!(esc("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
