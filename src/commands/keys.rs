//! `gharart-id keys list|rotate|export`: the signing keys of the key file.

use crate::commands::args::{KeyedDbArgs, KeysCommand};
use crate::core::clock::parse_duration;
use crate::core::clock::{Clock, rfc3339};
use crate::core::keys::KeyRing;
use crate::core::token::opaque::b64url;

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
                crate::out!("{}  created {}  {state}", k.kid, rfc3339(k.created_at));
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
            crate::out!("a running server picks this up within 5 s");
            Ok(())
        }
        KeysCommand::Export { keyed } => {
            let ring = load(&keyed)?;
            for k in ring.all().iter().filter(|k| k.retired_at.is_none()) {
                crate::out!("{} {}", k.kid, b64url(&k.secret));
            }
            Ok(())
        }
    }
}
