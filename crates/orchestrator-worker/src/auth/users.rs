//! The `users` table: creating users (the first one as admin) and finding one by name.

use serde::Deserialize;
use worker::D1Database;

use super::password::PasswordHash;
use crate::api::error::ApiError;
use crate::d1::{changes, int, text};

/// A signed-in user, as `GET /api/me` shows it and every handler sees it.
pub use shared_types::api::User;

/// A user as D1 returns one (`SELECT id, name, is_admin`): SQLite has no booleans, so the row is
/// read here and turned into the API's [`User`].
#[derive(Debug, Deserialize)]
pub struct UserRecord {
    id: String,
    name: String,
    #[serde(deserialize_with = "int_bool")]
    is_admin: bool,
}

impl From<UserRecord> for User {
    fn from(r: UserRecord) -> User {
        User { id: r.id, name: r.name, is_admin: r.is_admin }
    }
}

/// A user row with its password hash, for login.
#[derive(Debug, Deserialize)]
struct UserRow {
    id: String,
    name: String,
    pass_hash: String,
    salt: String,
    iterations: u32,
    #[serde(deserialize_with = "int_bool")]
    is_admin: bool,
    #[serde(deserialize_with = "int_bool")]
    disabled: bool,
}

/// SQLite has no booleans: D1 returns 0/1.
pub fn int_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(f64::deserialize(d)? != 0.0)
}

/// Whether the new user may only exist as the very first one (sign-up), or is made by an admin.
pub enum Creation {
    FirstUser,
    ByAdmin { is_admin: bool },
}

/// Inserts a user. `FirstUser` succeeds only while the table is empty (one statement, so two
/// racing sign-ups cannot both become admin): otherwise 403. A taken name is 409.
pub async fn create(db: &D1Database, name: &str, hash: &PasswordHash, how: Creation, now: u64) -> Result<User, ApiError> {
    let id = super::crypto::random_id()?;
    let columns = "INSERT INTO users (id, name, pass_hash, salt, iterations, is_admin, created_at)";
    let (sql, is_admin) = match how {
        Creation::FirstUser => {
            (format!("{columns} SELECT ?1, ?2, ?3, ?4, ?5, 1, ?6 WHERE NOT EXISTS (SELECT 1 FROM users)"), true)
        }
        Creation::ByAdmin { is_admin } => (
            format!("{columns} VALUES (?1, ?2, ?3, ?4, ?5, {}, ?6) ON CONFLICT(name) DO NOTHING", u8::from(is_admin)),
            is_admin,
        ),
    };
    let params = [text(&id), text(name), text(&hash.hash_hex), text(&hash.salt_hex), int(hash.iterations.into()), int(now)];
    let result = db.prepare(sql).bind(&params)?.run().await?;
    if changes(&result) == 1 {
        return Ok(User { id, name: name.to_string(), is_admin });
    }
    Err(match how {
        Creation::FirstUser => signup_closed(),
        Creation::ByAdmin { .. } => ApiError::Conflict(format!("the user name {name:?} is taken")),
    })
}

/// Whether any user exists (sign-up is closed then). Checked before hashing, so that closed
/// sign-ups cost no PBKDF2; [`create`] re-checks atomically.
pub async fn any(db: &D1Database) -> Result<bool, ApiError> {
    let n: Option<u64> = db.prepare("SELECT COUNT(*) AS n FROM (SELECT 1 FROM users LIMIT 1)").first(Some("n")).await?;
    Ok(n.unwrap_or(0) > 0)
}

/// The error of a sign-up once a user exists.
pub fn signup_closed() -> ApiError {
    ApiError::Forbidden("sign-up is closed: this Duraclaw already has an admin; ask them to create your account".into())
}

/// A user found for login: who, their password hash, and whether the admin disabled them.
pub struct ForLogin {
    pub user: User,
    pub hash: PasswordHash,
    pub disabled: bool,
}

/// The user of that name (case-insensitive), their password hash and whether they are disabled.
pub async fn find_for_login(db: &D1Database, name: &str) -> Result<Option<ForLogin>, ApiError> {
    let row: Option<UserRow> = db
        .prepare("SELECT id, name, pass_hash, salt, iterations, is_admin, disabled FROM users WHERE name = ?1")
        .bind(&[text(name)])?
        .first(None)
        .await?;
    Ok(row.map(|r| ForLogin {
        hash: PasswordHash { hash_hex: r.pass_hash, salt_hex: r.salt, iterations: r.iterations },
        user: User { id: r.id, name: r.name, is_admin: r.is_admin },
        disabled: r.disabled,
    }))
}

/// Disables (or enables again) the user of that name; returns them, `None` when there is none.
pub async fn set_disabled(db: &D1Database, name: &str, disabled: bool) -> Result<Option<User>, ApiError> {
    let user: Option<UserRecord> = db
        .prepare("UPDATE users SET disabled = ?2 WHERE name = ?1 RETURNING id, name, is_admin")
        .bind(&[text(name), int(u64::from(disabled))])?
        .first(None)
        .await?;
    Ok(user.map(User::from))
}

/// Replaces a user's password hash.
pub async fn set_password(db: &D1Database, user_id: &str, hash: &PasswordHash) -> Result<(), ApiError> {
    db.prepare("UPDATE users SET pass_hash = ?2, salt = ?3, iterations = ?4 WHERE id = ?1")
        .bind(&[text(user_id), text(&hash.hash_hex), text(&hash.salt_hex), int(hash.iterations.into())])?
        .run()
        .await?;
    Ok(())
}
