//! Daily write limits (API.md, Conventions): per IP and per account caps on the write routes,
//! counted per UTC day in SQLite so that a restart does not reset them.

use crate::core::Core;
use crate::core::clock::{Timestamp, rfc3339};
use crate::domain::error::ApiError;
use crate::store::daily;

const DAY: i64 = 86_400;

/// Which budget a write is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Ip,
    Account,
}

impl Budget {
    pub fn as_str(self) -> &'static str {
        match self {
            Budget::Ip => "ip",
            Budget::Account => "account",
        }
    }
}

/// Charges one write to `key`'s budget for today; 429 `daily_limit_reached` once it is spent.
pub fn charge(core: &Core, budget: Budget, key: &str, now: Timestamp) -> Result<(), ApiError> {
    if !core.config.throttle {
        return Ok(());
    }
    let limit = match budget {
        Budget::Ip => core.config.daily_ip_limit,
        Budget::Account => core.config.daily_account_limit,
    };
    let day = now.div_euclid(DAY);
    let count = core
        .db
        .write(|tx| daily::charge(tx, day, budget.as_str(), key))?;
    if count > i64::from(limit) {
        let reset_at = (day + 1) * DAY;
        return Err(ApiError::DailyLimitReached {
            budget: budget.as_str(),
            limit,
            reset_at: rfc3339(reset_at),
            retry_after_secs: (reset_at - now) as u64,
        });
    }
    Ok(())
}
