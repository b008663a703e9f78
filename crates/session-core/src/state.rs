//! Small named state rows (`state(key, value)`, JSON values): what must survive hibernation
//! besides the event log. Each concept owns one key (`meta`, `facts`, `link`, `index`) and its
//! struct defaults every field, so adding a field needs no migration.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{CoreError, Result};
use crate::sql::{self, Sql};

/// Reads a state row, or `None` when it was never written.
pub(crate) fn get<T: DeserializeOwned>(db: &mut impl Sql, key: &'static str) -> Result<Option<T>> {
    let rows = sql::query(db, "SELECT value FROM state WHERE key = ?", &[key.into()])?;
    match rows.first() {
        None => Ok(None),
        Some(row) => serde_json::from_str(row.text(0)?).map(Some).map_err(|e| CoreError::corrupt(key, e)),
    }
}

/// Reads a state row, or its default.
pub(crate) fn get_or_default<T: DeserializeOwned + Default>(db: &mut impl Sql, key: &'static str) -> Result<T> {
    Ok(get(db, key)?.unwrap_or_default())
}

/// Writes a state row.
pub(crate) fn put<T: Serialize>(db: &mut impl Sql, key: &'static str, value: &T) -> Result<()> {
    let json = serde_json::to_string(value).map_err(|e| CoreError::corrupt(key, e))?;
    sql::exec(db, "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", &[key.into(), json.into()])?;
    Ok(())
}
