//! `AuthCache`: what a bearer credential's check read from the database (a session and its user,
//! or a personal access token and its user), kept under the database's version (`Db::version`)
//! at the time of the read. An entry answers only while that version is still current, that is
//! while nothing at all has committed since (a logout, a revocation, or any other write by this
//! server; a `users disable` from the command line in another process is seen within
//! `store::OUTSIDE_COMMIT_LAG`, a millisecond): then the rows cannot have changed. Any commit
//! makes every entry stale; the next check reads again. The hot path of an idle-write workload (`me`,
//! resource servers checking tokens) skips its read transaction; a busy one loses nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::store::pats::PatRow;
use crate::store::sessions::SessionRow;
use crate::store::users::UserRow;

/// What an access token's validity depends on: its session, whether its `jti` is revoked, and
/// its user.
pub type TokenRows = (Option<Arc<SessionRow>>, bool, Option<Arc<UserRow>>);

/// A personal access token's row and its user's.
pub type PatRows = (Option<Arc<PatRow>>, Option<Arc<UserRow>>);

/// Entries kept at most; a full cache starts over (entries are cheap to read back).
const CAPACITY: usize = 4096;

pub struct AuthCache<T> {
    entries: Mutex<HashMap<String, (i64, T)>>,
}

impl<T: Clone> Default for AuthCache<T> {
    fn default() -> Self {
        AuthCache {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> AuthCache<T> {
    /// The rows kept for `key`, if they were read at `version`.
    pub fn get(&self, key: &str, version: i64) -> Option<T> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(key) {
            Some((at, rows)) if *at == version => Some(rows.clone()),
            _ => None,
        }
    }

    /// The rows kept for `key` at `version`, or else what `load` reads (after the database was
    /// seen at `version`), kept for the next time.
    pub fn get_or_load<E>(
        &self,
        key: &str,
        version: i64,
        load: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        if let Some(rows) = self.get(key, version) {
            return Ok(rows);
        }
        let rows = load()?;
        self.put(key, version, rows.clone());
        Ok(rows)
    }

    /// Keeps `rows`, read for `key` after the database was seen at `version`.
    pub fn put(&self, key: &str, version: i64, rows: T) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY && !entries.contains_key(key) {
            entries.clear();
        }
        entries.insert(key.to_owned(), (version, rows));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_answers_only_at_its_version() {
        let cache = AuthCache::<u32>::default();
        cache.put("ses_1", 7, 42);
        assert_eq!(cache.get("ses_1", 7), Some(42));
        assert_eq!(cache.get("ses_1", 8), None, "something committed since");
        assert_eq!(cache.get("ses_2", 7), None);
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = AuthCache::<usize>::default();
        for i in 0..CAPACITY {
            cache.put(&i.to_string(), 1, i);
        }
        cache.put("one more", 1, 0);
        assert_eq!(cache.get("one more", 1), Some(0));
        assert_eq!(cache.get("0", 1), None);
    }
}
