//! Integration tests: the real server on a real SQLite file, spoken to over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod architecture;
mod bodies;
mod browser;
mod cli;
mod common;
mod concurrency;
mod connections;
mod contract;
mod crash;
mod examples;
mod faults;
mod framing;
mod fuzz_regressions;
mod idempotency;
mod login;
mod mail;
mod mail_queue;
mod mfa;
mod mfa_pages;
mod oauth;
mod oauth_register;
mod oauth_support;
mod oauth_token;
mod oidc;
mod ops;
mod pages;
mod passkeys;
mod refresh;
mod reset;
mod scopes;
mod signup;
mod smtp_sink;
mod support;
mod throttle;
mod tokens;
