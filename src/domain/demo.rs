//! The offline demo (`gharart-id demo`): seeds a campaign team (members ready to sign in, one
//! with a pending invitation) and a built-in public OAuth client whose callback is the
//! appliance's own `/demo/callback`, so the whole flow runs on one laptop with no network.

use serde_json::{Map, json};

use crate::core::Core;
use crate::core::password;
use crate::core::token::opaque::{b64url, new_id, random_bytes};
use crate::domain::audit::Acting;
use crate::domain::auth::invite::{self, Invitation, Invitee};
use crate::store::users::{self, NewUser};
use crate::store::{StoreError, clients};

pub const CLIENT_NAME: &str = "Campaign Planner (demo)";
const TEAM: [(&str, &str); 3] = [
    ("holly", "Holly Berry"),
    ("jingle", "Jingle Bell"),
    ("noel", "Noel Star"),
];
const INVITED: (&str, &str) = ("tinsel", "Tinsel Glow");

/// What the seeding made: the members who can sign in now, with their passwords.
pub struct Seeded {
    pub members: Vec<(String, String)>,
    pub invited: String,
    pub client_id: String,
}

fn email(handle: &str) -> String {
    format!("{handle}@campaign.example")
}

/// Seeds an empty database (a database that already has users keeps them) and registers the
/// demo client, whose id the demo routes then use.
pub fn seed(core: &Core) -> Result<Seeded, String> {
    let now = core.clock.now();
    let err = |e: StoreError| e.to_string();
    let empty = core.db.read(users::list).map_err(err)?.is_empty();
    let mut members = Vec::new();
    if empty {
        for (handle, name) in TEAM {
            let secret = random_bytes::<6>().map_err(|e| e.to_string())?;
            let pw = format!(
                "demo-{}",
                b64url(&secret).to_lowercase().replace(['-', '_'], "x")
            );
            let hash = password::hash(&pw, core.config.pbkdf2_iterations)
                .ok_or("no randomness for a salt")?;
            let id = new_id("usr_").map_err(|e| e.to_string())?;
            let mail = email(handle);
            core.db
                .write(|tx| {
                    users::insert(
                        tx,
                        &NewUser {
                            id: &id,
                            handle,
                            email: &mail,
                            display_name: Some(name),
                            password_hash: Some(&hash),
                            invited: false,
                            pending_until: now,
                            now,
                        },
                    )?;
                    users::confirm_email(tx, &id, now)
                })
                .map_err(err)?;
            members.push((handle.to_owned(), pw));
        }
        let row = Invitee {
            handle: INVITED.0.into(),
            email: email(INVITED.0),
            display_name: Some(INVITED.1.into()),
            groups: vec!["holiday-crew".into()],
        };
        invite::invite(
            &core.db,
            core.keys().code_pepper(),
            &[row],
            &Invitation {
                ttl: core.config.lifetimes.invite_code,
                send_at: now,
                inviter: None,
                by: Acting::operator(),
            },
            now,
            false,
            &mut |_| {},
        )
        .map_err(err)?;
        core.mail.nudge();
    }
    let callback = format!("{}/demo/callback", core.issuer);
    let existing = core
        .db
        .read(clients::list)
        .map_err(err)?
        .into_iter()
        .find(|c| c.name.as_deref() == Some(CLIENT_NAME) && c.redirect_uris == [callback.clone()]);
    let client_id = match existing {
        Some(c) => c.id,
        None => {
            let mut body = Map::new();
            body.insert("client_name".into(), json!(CLIENT_NAME));
            body.insert("redirect_uris".into(), json!([callback]));
            body.insert(
                "grant_types".into(),
                json!(["authorization_code", "refresh_token"]),
            );
            body.insert("token_endpoint_auth_method".into(), json!("none"));
            body.insert("scope".into(), json!("profile email offline_access"));
            let answer = crate::domain::oauth::clients::register(
                &core.db,
                &core.config.scopes,
                &body,
                None,
                &Acting::operator(),
                now,
            )
            .map_err(|e| e.description())?;
            answer["client_id"].as_str().unwrap_or_default().to_owned()
        }
    };
    if let Some(demo) = &core.demo {
        let _ = demo.client_id.set(client_id.clone());
    }
    Ok(Seeded {
        members,
        invited: INVITED.0.into(),
        client_id,
    })
}
