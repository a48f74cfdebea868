//! Credentials that travel: access JWTs (`jwt`), refresh tokens (`refresh`), TOTP codes
//! (`totp`), the random, hashing and comparison primitives they share (`opaque`), and sealing of
//! stored secrets (`seal`).

pub mod jwt;
pub mod opaque;
pub mod refresh;
pub mod seal;
pub mod totp;
