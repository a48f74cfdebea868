//! The team's console (`/admin`, API.md "Team administration"): who may use it, and what it
//! shows and does. Only a signed-in browser of a user with the role `admin` gets in, and with
//! `--require-mfa-for admin|all` only one whose sign-in used a second factor. A bearer token
//! (a PAT or an OAuth app's) never does: the console has no API. Every action is the domain call
//! its command-line counterpart makes, with the admin as its audit rows' actor.

pub mod actions;
pub mod import;
pub mod records;
pub mod roster;

use crate::core::Core;
use crate::core::config::RequireMfaFor;
use crate::domain::audit::{Acting, Caller};
use crate::domain::auth::account::Browser;
use crate::domain::error::{ApiError, PageError};

/// A browser let into the console.
#[derive(Debug, Clone)]
pub struct Admin {
    pub browser: Browser,
}

impl Admin {
    /// The admin acting from `caller`.
    pub fn acting<'a>(&self, caller: &'a Caller) -> Acting<'a> {
        self.browser.acting(caller)
    }

    pub fn handle(&self) -> &str {
        &self.browser.user.handle
    }
}

/// Lets `browser` in, or says why not (403 `admin_required` or `second_factor_required`).
pub fn admit(core: &Core, browser: Browser) -> Result<Admin, ApiError> {
    if browser.user.role != "admin" {
        return Err(PageError::Forbidden {
            code: "admin_required",
            message: format!(
                "The team console is for admins, and {} is a member. An admin (or the operator: \
                 gharart-id users role HANDLE admin) can change that.",
                browser.user.handle
            ),
        }
        .into());
    }
    let needs_factor = matches!(
        core.config.require_mfa_for,
        RequireMfaFor::Admin | RequireMfaFor::All
    );
    if needs_factor && !browser.used_second_factor() {
        return Err(PageError::Forbidden {
            code: "second_factor_required",
            message: "This server requires admins to sign in with a second factor for the team \
                      console. Add one on your account page if you have none, then sign out and \
                      sign in again with it."
                .into(),
        }
        .into());
    }
    Ok(Admin { browser })
}
