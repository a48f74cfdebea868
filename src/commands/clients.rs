//! `gharart-id clients add|list|remove`: OAuth clients from the terminal, through the same
//! registration rules as `POST /oauth/register`.

use serde_json::{Map, Value, json};

use crate::commands::args::ClientsCommand;
use crate::core::clock::{Clock, rfc3339};
use crate::core::config::all_scopes;
use crate::domain::audit::Acting;
use crate::domain::oauth::clients::{self as clients_domain, register};
use crate::store::clients;

pub fn run(cmd: ClientsCommand) -> Result<(), String> {
    match cmd {
        ClientsCommand::Add {
            db,
            name,
            redirect_uris,
            grants,
            auth_method,
            scope,
            scopes,
        } => {
            let db = super::open_existing(&db.db)?;
            let mut body = Map::new();
            body.insert("client_name".into(), json!(name));
            body.insert("redirect_uris".into(), json!(redirect_uris));
            body.insert("grant_types".into(), json!(grants));
            body.insert("token_endpoint_auth_method".into(), json!(auth_method));
            if let Some(scope) = scope {
                body.insert("scope".into(), json!(scope));
            }
            let answer = register(
                &db,
                &all_scopes(&scopes)?,
                &body,
                None,
                &Acting::operator(),
                Clock::System.now(),
            )
            .map_err(|e| format!("{}: {}", e.code(), e.description()))?;
            crate::out!(
                "client_id      {}",
                answer["client_id"].as_str().unwrap_or("")
            );
            if let Some(secret) = answer.get("client_secret").and_then(Value::as_str) {
                crate::out!("client_secret  {secret}");
                crate::out!("(the secret is shown this once; only its hash is stored)");
            }
            crate::out!(
                "{}",
                serde_json::to_string_pretty(&answer).unwrap_or_default()
            );
            Ok(())
        }
        ClientsCommand::List { db } => {
            let db = super::open_existing(&db.db)?;
            let rows = db.read(clients::list).map_err(|e| e.to_string())?;
            if rows.is_empty() {
                crate::out!("no clients");
            }
            for c in rows {
                crate::out!(
                    "{}  {}  {}  grants {}  redirect {}  since {}",
                    c.id,
                    c.name.as_deref().unwrap_or("(unnamed)"),
                    c.auth_method,
                    c.grant_types.join(","),
                    if c.redirect_uris.is_empty() {
                        "-".to_owned()
                    } else {
                        c.redirect_uris.join(" ")
                    },
                    rfc3339(c.created_at)
                );
            }
            Ok(())
        }
        ClientsCommand::Remove { db, id } => {
            let db = super::open_existing(&db.db)?;
            if clients_domain::remove(&db, &id, &Acting::operator(), Clock::System.now())
                .map_err(|e| e.to_string())?
            {
                crate::out!("removed {id}");
                Ok(())
            } else {
                Err(format!("no client {id}"))
            }
        }
    }
}
