//! The domain: what the appliance does, with no HTTP type in sight. Each function takes the
//! [`Core`](crate::core::Core) (or less) and the time as arguments, and answers with data or a
//! [`ApiError`](crate::core::error::ApiError).

pub mod auth;
pub mod demo;
pub mod oauth;
pub mod support;
