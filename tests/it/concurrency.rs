//! Concurrency with real threads (issue 2): one refresh token from 20 threads, one handle from 20
//! signups, and /v2/auth/me through a login flood.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

#[test]
fn twenty_threads_refreshing_one_token_end_on_one_chain() {
    let s = TestServer::start();
    let session = s.ready_user("racer");
    let token = session["refreshToken"].as_str().unwrap().to_owned();
    let barrier = Arc::new(Barrier::new(20));
    let results: Vec<(u16, serde_json::Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let barrier = barrier.clone();
                let token = token.clone();
                let addr = s.addr;
                scope.spawn(move || {
                    barrier.wait();
                    let r = post(
                        addr,
                        "/v2/auth/refresh",
                        &json!({"refreshToken": token}),
                        None,
                    );
                    (r.status, r.json())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        results.iter().all(|(st, _)| *st == 200 || *st == 409),
        "no 500, no revoked session: {results:?}"
    );
    let successors: std::collections::BTreeSet<String> = results
        .iter()
        .filter(|(st, _)| *st == 200)
        .map(|(_, v)| v["refreshToken"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        successors.len(),
        1,
        "exactly one live successor: {successors:?}"
    );
    let successor = successors.into_iter().next().unwrap();
    let r = s.post("/v2/auth/refresh", json!({"refreshToken": successor}));
    assert_eq!(r.status, 200, "the chain goes on: {}", r.text());
    let c = rusqlite::Connection::open(s.db_path()).unwrap();
    let (generation, revoked): (i64, Option<i64>) = c
        .query_row(
            "SELECT generation, revoked_at FROM sessions WHERE id = ?1",
            [session["sessionId"].as_str().unwrap()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (generation, revoked),
        (2, None),
        "one rotation by the race, one after"
    );
}

#[test]
fn twenty_signups_of_one_handle_give_exactly_one_201() {
    let s = TestServer::start();
    let barrier = Arc::new(Barrier::new(20));
    let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let barrier = barrier.clone();
                let addr = s.addr;
                scope.spawn(move || {
                    barrier.wait();
                    let body = json!({"handle": "tinsel", "email": format!("t{i}@example.com"), "password": PASSWORD});
                    let r = post(addr, "/v2/auth/signup", &body, None);
                    let code = if r.status == 201 { String::new() } else { r.error_code() };
                    (r.status, code)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|(st, _)| *st == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|(st, code)| *st == 201 || (*st == 409 && code == "handle_taken")),
        "{statuses:?}"
    );
}

#[test]
fn me_keeps_answering_through_a_login_flood() {
    // Real hashing cost for this one: 40 flooding clients against 2 hash slots.
    let s = TestServer::start_with(&["--pbkdf2-iterations", "20000"]);
    let session = s.ready_user("steady");
    let at = session["accessToken"].as_str().unwrap().to_owned();
    let stop_at = Instant::now() + Duration::from_secs(3);
    let (flood, me_latencies) = std::thread::scope(|scope| {
        let flooders: Vec<_> = (0..40)
            .map(|_| {
                let addr = s.addr;
                scope.spawn(move || {
                    let mut seen = Vec::new();
                    while Instant::now() < stop_at {
                        let r = post(
                            addr,
                            "/v2/auth/login",
                            &json!({"login": "steady", "password": "wrong-password"}),
                            None,
                        );
                        seen.push((r.status, r.header("Retry-After").map(str::to_owned)));
                    }
                    seen
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let mut latencies = Vec::new();
        while Instant::now() < stop_at {
            let started = Instant::now();
            let r = s.get_auth("/v2/auth/me", &at);
            assert_eq!(r.status, 200, "me answers during the flood: {}", r.text());
            latencies.push(started.elapsed());
            std::thread::sleep(Duration::from_millis(20));
        }
        let flood: Vec<_> = flooders
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        (flood, latencies)
    });
    assert!(
        flood.iter().any(|(st, _)| *st == 401),
        "the flood really hashed"
    );
    assert!(
        flood
            .iter()
            .all(|(st, ra)| *st == 401 || (*st == 503 && ra.as_deref() == Some("1"))),
        "the rest were told to come back: {:?}",
        flood
            .iter()
            .filter(|(st, _)| *st != 401)
            .take(3)
            .collect::<Vec<_>>()
    );
    assert!(me_latencies.len() >= 10);
    let worst = me_latencies.iter().max().unwrap();
    assert!(
        *worst < Duration::from_secs(2),
        "me stayed responsive (worst {worst:?}), not queued behind hashes"
    );
}

#[test]
fn a_refresh_stuck_behind_a_long_write_answers_409_not_a_revoked_session() {
    let s = TestServer::start();
    let session = s.ready_user("patient");
    let app = s.running.as_ref().unwrap().core.clone();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        app.db
            .write(|_| {
                held_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_secs(6));
                Ok::<_, gharart_id::store::StoreError>(())
            })
            .unwrap();
    });
    held_rx.recv().unwrap();
    let health = request(s.addr, "GET", "/healthz", &[], b"");
    assert_eq!(health.status, 200, "readers are not blocked by the writer");
    let r = s.post(
        "/v2/auth/refresh",
        json!({"refreshToken": session["refreshToken"]}),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (409, "refresh_in_progress")
    );
    assert_eq!(r.header("Retry-After"), Some("1"));
    holder.join().unwrap();
    let r = s.post(
        "/v2/auth/refresh",
        json!({"refreshToken": session["refreshToken"]}),
    );
    assert_eq!(r.status, 200, "the session survived the wait: {}", r.text());
}
