//! Every statement on `users`.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::core::clock::Timestamp;

/// A user as stored.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub handle: String,
    pub email: String,
    pub display_name: Option<String>,
    pub password_hash: Option<String>,
    pub email_confirmed: bool,
    pub disabled: bool,
    pub invited: bool,
    pub pending_until: Option<Timestamp>,
    pub created_at: Timestamp,
    /// `member` or `admin`.
    pub role: String,
    /// Sorted, without repeats.
    pub groups: Vec<String>,
}

/// A user to insert.
pub struct NewUser<'a> {
    pub id: &'a str,
    pub handle: &'a str,
    pub email: &'a str,
    pub display_name: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub invited: bool,
    pub pending_until: Timestamp,
    pub now: Timestamp,
}

/// `SELECT` of the columns [`UserRow::from_row`] reads, in its order, then `$tail`. A constant,
/// so that a hot lookup neither formats its SQL nor finds columns by name.
macro_rules! select_users {
    ($tail:literal) => {
        concat!(
            "SELECT id, handle, email, display_name, password_hash, email_confirmed, disabled, origin, pending_until, created_at, role, groups FROM users ",
            $tail
        )
    };
}

impl UserRow {
    /// A row of [`select_users!`], by column position.
    fn from_row(row: &Row<'_>) -> rusqlite::Result<UserRow> {
        Ok(UserRow {
            id: row.get(0)?,
            handle: row.get(1)?,
            email: row.get(2)?,
            display_name: row.get(3)?,
            password_hash: row.get(4)?,
            email_confirmed: row.get(5)?,
            disabled: row.get(6)?,
            invited: matches!(row.get_ref(7)?.as_str(), Ok("invite")),
            pending_until: row.get(8)?,
            created_at: row.get(9)?,
            role: row.get(10)?,
            groups: row
                .get_ref(11)?
                .as_str()
                .unwrap_or_default()
                .split(' ')
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }
}

fn one(conn: &Connection, sql: &str, key: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(conn
        .prepare_cached(sql)?
        .query_row([key], UserRow::from_row)
        .optional()?)
}

/// The user with this id.
pub fn find_by_id(conn: &Connection, id: &str) -> Result<Option<UserRow>, StoreError> {
    one(conn, select_users!("WHERE id = ?1"), id)
}

/// The user with this handle (already folded to lowercase).
pub fn find_by_handle(conn: &Connection, handle: &str) -> Result<Option<UserRow>, StoreError> {
    one(conn, select_users!("WHERE handle = ?1"), handle)
}

/// The user with this email, compared case-insensitively.
pub fn find_by_email(conn: &Connection, email: &str) -> Result<Option<UserRow>, StoreError> {
    one(
        conn,
        select_users!("WHERE email_key = ?1"),
        &email.to_lowercase(),
    )
}

/// Inserts a user. Errors: `Unique` when the handle or email is taken.
pub fn insert(conn: &Connection, u: &NewUser<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO users (id, handle, email, email_key, display_name, password_hash, origin, pending_until, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?
    .execute(params![
        u.id,
        u.handle,
        u.email,
        u.email.to_lowercase(),
        u.display_name,
        u.password_hash,
        if u.invited { "invite" } else { "signup" },
        u.pending_until,
        u.now
    ])?;
    Ok(())
}

/// Deletes a user and, by cascade, its sessions and codes (used to replace a stale unconfirmed signup).
pub fn delete(conn: &Connection, id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM users WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Marks the email confirmed and releases the pending hold.
pub fn confirm_email(conn: &Connection, id: &str, now: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE users SET email_confirmed = 1, pending_until = NULL, updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    Ok(())
}

/// Replaces the password hash (a reset, or an upgrade to more iterations at login).
pub fn set_password_hash(
    conn: &Connection,
    id: &str,
    hash: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, hash, now])?;
    Ok(())
}

/// Extends how long an unconfirmed account holds its handle and email (a resend's new code).
pub fn extend_pending(conn: &Connection, id: &str, until: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE users SET pending_until = max(coalesce(pending_until, 0), ?2) WHERE id = ?1 AND email_confirmed = 0")?
        .execute(params![id, until])?;
    Ok(())
}

/// Every user, in the order they joined.
pub fn list(conn: &Connection) -> Result<Vec<UserRow>, StoreError> {
    let mut stmt = conn.prepare_cached(select_users!("ORDER BY created_at, handle"))?;
    let rows = stmt.query_map([], UserRow::from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Sets a user's role (`member` or `admin`). False when there is no such user.
pub fn set_role(
    conn: &Connection,
    id: &str,
    role: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("UPDATE users SET role = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, role, now])?
        == 1)
}

/// Sets a user's groups (sorted, without repeats). False when there is no such user.
pub fn set_groups(
    conn: &Connection,
    id: &str,
    groups: &[String],
    now: Timestamp,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("UPDATE users SET groups = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, groups.join(" "), now])?
        == 1)
}

/// Disables a user (no more sign-ins). False when there is no such user.
pub fn disable(conn: &Connection, id: &str, now: Timestamp) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("UPDATE users SET disabled = 1, updated_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?
        == 1)
}

/// Enables a disabled user again. False when there is no such user.
pub fn enable(conn: &Connection, id: &str, now: Timestamp) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("UPDATE users SET disabled = 0, updated_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?
        == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture;

    fn new<'a>(id: &'a str, handle: &'a str, email: &'a str) -> NewUser<'a> {
        NewUser {
            id,
            handle,
            email,
            display_name: None,
            password_hash: Some("h"),
            invited: false,
            pending_until: 50,
            now: 10,
        }
    }

    #[test]
    fn insert_find_and_unique() {
        let f = fixture::open();
        f.db.write(|tx| insert(tx, &new("u1", "alice", "Alice@Example.com")))
            .unwrap();
        let by_mail =
            f.db.read(|c| find_by_email(c, "alice@EXAMPLE.com"))
                .unwrap()
                .unwrap();
        assert_eq!(by_mail.id, "u1");
        assert_eq!(by_mail.email, "Alice@Example.com");
        assert!(!by_mail.email_confirmed);
        let dup =
            f.db.write(|tx| insert(tx, &new("u2", "bob", "ALICE@example.com")));
        assert!(matches!(dup, Err(StoreError::Unique(_))));
        f.db.write(|tx| confirm_email(tx, "u1", 20)).unwrap();
        let u = f.db.read(|c| find_by_handle(c, "alice")).unwrap().unwrap();
        assert!(u.email_confirmed);
        assert_eq!(u.pending_until, None);
    }

    #[test]
    fn sql_injection_is_inert() {
        let f = fixture::open();
        let evil = "x'); DROP TABLE users; --";
        f.db.write(|tx| insert(tx, &new("u1", evil, "o'brien@example.com")))
            .unwrap();
        assert_eq!(
            f.db.read(|c| find_by_handle(c, evil)).unwrap().unwrap().id,
            "u1"
        );
        assert!(
            f.db.read(|c| find_by_email(c, "o'brien@example.com"))
                .unwrap()
                .is_some()
        );
        assert!(
            f.db.read(|c| find_by_handle(c, "' OR 1=1 --"))
                .unwrap()
                .is_none()
        );
    }
}
