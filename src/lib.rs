//! gharart-id: a self-hosted identity appliance. One binary, one SQLite file.
//!
//! `app::handle` answers a request; `http::conn` is the connection layer that reads requests and
//! writes answers; `server::start` serves them; `auth` is the identity domain,
//! `store` the only place with SQL, `token` the credentials that travel.
#![forbid(unsafe_code)]

/// mimalloc, for every binary built on this crate (the server, the command line, and the
/// benchmark's bare handler alike): a heap per thread, where glibc's malloc made the request
/// threads queue on a few shared arenas, or grew the resident set with one arena per thread
/// (docs/PERFORMANCE.md). Not under the fuzzers, whose sanitizers watch the system allocator.
#[cfg(not(fuzzing))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod app;
pub mod auth;
pub mod background;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod daily;
pub mod demo;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod keys;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod oauth;
pub mod openapi;
pub mod pages;
pub mod password;
pub mod requests;
pub mod routes;
pub mod server;
pub mod store;
pub mod support;
pub mod throttle;
pub mod token;
pub mod urlenc;
