//! The core's one error type. Client mistakes are not errors here: they become `error` frames
//! (see `commands`). A [`CoreError`] means storage failed or holds something unreadable, and the
//! shell should log it and answer `internal`.

use thiserror::Error;

use crate::sql::SqlError;

#[derive(Debug, Error)]
pub enum CoreError {
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// Stored data that does not parse: a bug or a manual edit, never network input.
    #[error("stored {what} is unreadable: {message}")]
    Corrupt { what: &'static str, message: String },
    /// The database was written by a newer version of this code.
    #[error("schema version {found} is newer than this code's {known}; deploy the newer Worker")]
    SchemaTooNew { found: u64, known: u64 },
}

impl CoreError {
    pub(crate) fn corrupt(what: &'static str, e: impl std::fmt::Display) -> Self {
        CoreError::Corrupt { what, message: e.to_string() }
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
