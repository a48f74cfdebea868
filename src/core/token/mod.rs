//! Credentials that travel: access JWTs (`jwt`), tokens signed with the asymmetric keys that
//! others verify with the JWKS (`jws`), refresh tokens (`refresh`), TOTP codes (`totp`), the
//! random, hashing and comparison primitives they share (`opaque`), and sealing of stored
//! secrets (`seal`).

pub mod jws;
pub mod jwt;
pub mod opaque;
pub mod refresh;
pub mod seal;
pub mod totp;
