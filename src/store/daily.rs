//! Every statement on `daily_writes`.

use rusqlite::{Connection, params};

use super::StoreError;

/// Adds one write for `(day, scope, key)` and returns the day's count including it.
pub fn charge(conn: &Connection, day: i64, scope: &str, key: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO daily_writes (day, scope, key, count) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (day, scope, key) DO UPDATE SET count = count + 1 RETURNING count",
        )?
        .query_row(params![day, scope, key], |r| r.get(0))?)
}

/// Deletes the counts of days before `day`.
pub fn delete_before(conn: &Connection, day: i64) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM daily_writes WHERE day < ?1")?
        .execute([day])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture;

    #[test]
    fn counts_per_day_scope_and_key() {
        let f = fixture::open();
        assert_eq!(f.db.write(|tx| charge(tx, 1, "ip", "1.2.3.4")).unwrap(), 1);
        assert_eq!(f.db.write(|tx| charge(tx, 1, "ip", "1.2.3.4")).unwrap(), 2);
        assert_eq!(
            f.db.write(|tx| charge(tx, 1, "account", "1.2.3.4"))
                .unwrap(),
            1
        );
        assert_eq!(f.db.write(|tx| charge(tx, 2, "ip", "1.2.3.4")).unwrap(), 1);
        assert_eq!(f.db.write(|tx| delete_before(tx, 2)).unwrap(), 2);
    }
}
