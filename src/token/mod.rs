//! Credentials that travel: access JWTs (`jwt`), refresh tokens (`refresh`), and the random,
//! hashing and comparison primitives they share (`opaque`).

pub mod jwt;
pub mod opaque;
pub mod refresh;
