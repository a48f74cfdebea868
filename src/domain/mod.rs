//! The domain: what the appliance does, with no HTTP type in sight. Each function takes the
//! [`Core`](crate::core::Core) (or less) and the time as arguments, and answers with data or a
//! [`ApiError`](crate::domain::error::ApiError).

pub mod admin;
pub mod audit;
pub mod auth;
pub mod daily;
pub mod demo;
pub mod error;
pub mod idempotency;
pub mod oauth;
pub mod ops;
pub mod support;
