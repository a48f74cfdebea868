//! The team table of `/admin`: every account with its onboarding state (as `users list`
//! computes it), whether it has a second factor, its newest sign-in and its live sessions,
//! filtered by state.

use std::collections::HashMap;

use crate::core::Core;
use crate::core::clock::Timestamp;
use crate::domain::auth::mfa;
use crate::domain::auth::onboarding::{self, Onboarding};
use crate::store::StoreError;
use crate::store::sessions;
use crate::store::users::UserRow;

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: UserRow,
    pub state: Onboarding,
    pub second_factor: bool,
    pub last_sign_in: Option<Timestamp>,
    pub live_sessions: i64,
}

/// Every onboarding state, in the order the filter offers them.
pub const STATES: [Onboarding; 5] = [
    Onboarding::Invited,
    Onboarding::DeliveryFailed,
    Onboarding::CodeExpired,
    Onboarding::Confirmed,
    Onboarding::Disabled,
];

/// The state named `name` (`invited`, `delivery_failed`, …).
pub fn state_named(name: &str) -> Option<Onboarding> {
    STATES.into_iter().find(|s| s.as_str() == name)
}

/// The team in the order they joined, only those in `state` when one is given.
pub fn team(
    core: &Core,
    state: Option<Onboarding>,
    now: Timestamp,
) -> Result<Vec<Member>, StoreError> {
    let roster = onboarding::roster(&core.db, now)?;
    let enrolled = mfa::enrolled(&core.db)?;
    let idle = core.config.lifetimes.refresh_idle;
    let activity: HashMap<String, (Timestamp, i64)> = core
        .db
        .read(|c| sessions::activity(c, now, idle))?
        .into_iter()
        .map(|(user, last, live)| (user, (last, live)))
        .collect();
    Ok(roster
        .into_iter()
        .filter(|(_, s)| state.is_none_or(|wanted| *s == wanted))
        .map(|(user, state)| {
            let seen = activity.get(&user.id).copied();
            Member {
                second_factor: enrolled.contains(&user.id),
                last_sign_in: seen.map(|(last, _)| last),
                live_sessions: seen.map_or(0, |(_, live)| live),
                state,
                user,
            }
        })
        .collect())
}
