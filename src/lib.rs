//! gharart-id: a self-hosted identity appliance. One binary, one SQLite file.
//!
//! Four layers, each calling only the ones below it (docs/ARCHITECTURE.md): `http` and
//! `commands` at the top (the web and the command line), `domain` (accounts, sessions, tokens,
//! the OAuth server, support reports), `core` (the state and services the domain stands on:
//! configuration, clock, keys, credentials, caches, throttles, mail), and `store` (all SQL).
#![forbid(unsafe_code)]

/// mimalloc, for every binary built on this crate (the server, the command line, and the
/// benchmark's bare handler alike): a heap per thread, where glibc's malloc made the request
/// threads queue on a few shared arenas, or grew the resident set with one arena per thread
/// (docs/PERFORMANCE.md). Not under the fuzzers, whose sanitizers watch the system allocator.
#[cfg(not(fuzzing))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod commands;
pub mod core;
pub mod domain;
pub mod http;
pub mod store;
