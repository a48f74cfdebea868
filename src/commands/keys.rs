//! `gharart-id keys list|rotate|export`: the signing keys of the key file (HS256, and the RS256
//! and ES256 keys whose public halves are the JWKS).

use crate::commands::args::{KeyedDbArgs, KeysCommand};
use crate::core::clock::parse_duration;
use crate::core::clock::{Clock, rfc3339};
use crate::core::keys::KeyRing;
use crate::core::token::opaque::b64url;
use crate::domain::audit::{self, Event};
use crate::store::audit::Party;

fn load(keyed: &KeyedDbArgs) -> Result<KeyRing, String> {
    KeyRing::load(&keyed.key_path())
        .map_err(|e| format!("{e} (a server run creates it; --key-file to point elsewhere)"))
}

pub fn run(cmd: KeysCommand) -> Result<(), String> {
    match cmd {
        KeysCommand::List { keyed } => {
            let ring = load(&keyed)?;
            let current = ring.current().map(|k| k.kid.clone());
            for k in ring.all() {
                let state = match (k.retired_at, k.superseded_at) {
                    (Some(t), _) => format!("retired {}", rfc3339(t)),
                    (None, Some(t)) => format!(
                        "superseded {} (verifies tokens issued before then, until they expire)",
                        rfc3339(t)
                    ),
                    (None, None) if current.as_deref() == Some(k.kid.as_str()) => {
                        "current (signs new tokens)".to_owned()
                    }
                    (None, None) => "active".to_owned(),
                };
                crate::out!(
                    "{}  HS256  created {}  {state}",
                    k.kid,
                    rfc3339(k.created_at)
                );
            }
            for k in ring.all_asymmetric() {
                let current = ring.current_asymmetric(k.alg).map(|c| c.kid.as_str());
                let state = match (k.retired_at, k.superseded_at) {
                    (Some(t), _) => format!("retired {}", rfc3339(t)),
                    (None, Some(t)) => {
                        format!("superseded {} (in the JWKS until it retires)", rfc3339(t))
                    }
                    (None, None) if current == Some(k.kid.as_str()) => {
                        "current (signs new tokens; in the JWKS)".to_owned()
                    }
                    (None, None) => "active".to_owned(),
                };
                crate::out!(
                    "{}  {}  created {}  {state}",
                    k.kid,
                    k.alg.as_str(),
                    rfc3339(k.created_at)
                );
            }
            Ok(())
        }
        KeysCommand::Rotate {
            keyed,
            retire_after,
        } => {
            let retire_after =
                parse_duration(&retire_after).map_err(|e| format!("--retire-after: {e}"))?;
            let path = keyed.key_path();
            // The audit row goes to the database: check it opens before anything changes.
            let db = super::open_existing(&keyed.db.db)?;
            let mut ring = load(&keyed)?;
            let now = Clock::System.now();
            let before: Vec<(String, bool)> = ring
                .all()
                .iter()
                .map(|k| (k.kid.clone(), k.retired_at.is_some()))
                .collect();
            let kid = ring
                .rotate(now, now - retire_after)
                .map_err(|e| e.to_string())?;
            ring.save(&path).map_err(|e| e.to_string())?;
            let retired: Vec<&str> = ring
                .all()
                .iter()
                .filter(|k| k.retired_at == Some(now))
                .map(|k| k.kid.as_str())
                .collect();
            db.write(|tx| {
                audit::record(
                    tx,
                    now,
                    Event {
                        name: "keys_rotated",
                        actor: audit::operator(),
                        target: Some(Party {
                            kind: "key".into(),
                            id: Some(kid.clone()),
                            handle: None,
                        }),
                        caller: None,
                        details: serde_json::json!({ "retired": retired }),
                    },
                )
            })
            .map_err(|e| e.to_string())?;
            crate::out!("new current key {kid}");
            for k in ring.all() {
                let was_retired = before.iter().any(|(b, r)| *b == k.kid && *r);
                if k.retired_at.is_some() && !was_retired {
                    crate::out!("retired {}", k.kid);
                } else if k.superseded_at == Some(now) {
                    crate::out!(
                        "superseded {} (it keeps verifying the tokens it signed until they expire)",
                        k.kid
                    );
                }
            }
            for k in ring.all_asymmetric() {
                if k.created_at == now && k.superseded_at.is_none() {
                    crate::out!("new current {} key {}", k.alg.as_str(), k.kid);
                } else if k.retired_at == Some(now) {
                    crate::out!("retired {}", k.kid);
                } else if k.superseded_at == Some(now) {
                    crate::out!("superseded {} (in the JWKS until it retires)", k.kid);
                }
            }
            crate::out!("a running server picks this up within 5 s");
            Ok(())
        }
        KeysCommand::Export { keyed, jwks } => {
            let ring = load(&keyed)?;
            if jwks {
                let keys: Vec<serde_json::Value> =
                    ring.published().map(|k| k.public_jwk()).collect();
                crate::out!("{}", serde_json::json!({ "keys": keys }));
                return Ok(());
            }
            for k in ring.all().iter().filter(|k| k.retired_at.is_none()) {
                crate::out!("{} {}", k.kid, b64url(&k.secret));
            }
            Ok(())
        }
    }
}
