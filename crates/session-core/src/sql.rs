//! The storage the core runs on: a Durable Object's SQLite seen as "execute a statement, collect
//! its rows", which is all workers-rs' `SqlStorage::exec` + `SqlCursor::raw` offer, and all that
//! a native test database needs to mimic.
//!
//! The Durable Object limits live here too, in one checker that the core runs before every
//! statement and that the test implementation runs again: a statement the core could send but the
//! platform would refuse must fail in tests first.

use thiserror::Error;

/// Largest row (and so largest string or blob) a Durable Object stores: 2 MB.
pub const MAX_ROW_BYTES: usize = 2_000_000;
/// Longest SQL text of one statement: 100 KB.
pub const MAX_STATEMENT_BYTES: usize = 100_000;
/// Most `?` parameters one statement may bind.
pub const MAX_PARAMS: usize = 100;

/// A value bound to or read from a statement (SQLite's storage classes).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    /// The bytes this value occupies in a row, for the row limit.
    pub fn size(&self) -> usize {
        match self {
            Value::Null => 0,
            Value::Integer(_) | Value::Real(_) => 8,
            Value::Text(s) => s.len(),
            Value::Blob(b) => b.len(),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}

impl From<u64> for Value {
    /// Seqs and timestamps stay far below 2^53 (JavaScript's safe integers), so this never clips
    /// in practice; saturating keeps a hostile value from wrapping negative.
    fn from(v: u64) -> Self {
        Value::Integer(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}

/// One result row, columns in the order the query names them.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn column(&self, i: usize) -> Result<&Value, SqlError> {
        self.0.get(i).ok_or(SqlError::Column { index: i, expected: "a column" })
    }

    /// An integer column. A Durable Object hands every number back as a JavaScript number, so a
    /// whole `Real` is accepted as an integer.
    pub fn int(&self, i: usize) -> Result<i64, SqlError> {
        match self.column(i)? {
            Value::Integer(v) => Ok(*v),
            Value::Real(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(*v as i64),
            _ => Err(SqlError::Column { index: i, expected: "an integer" }),
        }
    }

    /// A non-negative integer column (seqs, timestamps, counts).
    pub fn uint(&self, i: usize) -> Result<u64, SqlError> {
        u64::try_from(self.int(i)?).map_err(|_| SqlError::Column { index: i, expected: "a non-negative integer" })
    }

    /// A nullable non-negative integer column.
    pub fn opt_uint(&self, i: usize) -> Result<Option<u64>, SqlError> {
        match self.column(i)? {
            Value::Null => Ok(None),
            _ => self.uint(i).map(Some),
        }
    }

    pub fn text(&self, i: usize) -> Result<&str, SqlError> {
        match self.column(i)? {
            Value::Text(s) => Ok(s),
            _ => Err(SqlError::Column { index: i, expected: "text" }),
        }
    }

    /// A nullable text column.
    pub fn opt_text(&self, i: usize) -> Result<Option<&str>, SqlError> {
        match self.column(i)? {
            Value::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    pub fn blob(&self, i: usize) -> Result<&[u8], SqlError> {
        match self.column(i)? {
            Value::Blob(b) => Ok(b),
            _ => Err(SqlError::Column { index: i, expected: "a blob" }),
        }
    }
}

/// Why a statement failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SqlError {
    #[error("refused by the Durable Object SQLite limits: {0}")]
    Limit(#[from] LimitError),
    #[error("column {index} is not {expected}")]
    Column { index: usize, expected: &'static str },
    /// The backend's own error, as text (a workers-rs error is a JavaScript value).
    #[error("storage: {0}")]
    Backend(String),
}

/// A statement a Durable Object would refuse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LimitError {
    #[error("statement of {size} bytes is over the {MAX_STATEMENT_BYTES}-byte limit")]
    StatementTooLong { size: usize },
    #[error("{count} bound parameters are over the limit of {MAX_PARAMS}")]
    TooManyParams { count: usize },
    #[error("a row of {size} bytes is over the {MAX_ROW_BYTES}-byte limit")]
    RowTooLarge { size: usize },
    #[error("{0} is not available in Durable Object SQLite")]
    Forbidden(&'static str),
}

/// A Durable Object's SQLite: run one statement with positional `?` parameters.
pub trait Sql {
    /// Runs a statement that returns no rows.
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<(), SqlError>;
    /// Runs a statement and collects its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, SqlError>;
}

/// Checks a statement against the Durable Object limits before it is run. The row limit is
/// checked on the bound values (their sum bounds any row one statement writes from them); the
/// test implementation also sets SQLite's own length limit, which catches rows built in SQL.
pub fn check(sql: &str, params: &[Value]) -> Result<(), LimitError> {
    if sql.len() > MAX_STATEMENT_BYTES {
        return Err(LimitError::StatementTooLong { size: sql.len() });
    }
    if params.len() > MAX_PARAMS {
        return Err(LimitError::TooManyParams { count: params.len() });
    }
    let size: usize = params.iter().map(Value::size).sum();
    if size > MAX_ROW_BYTES {
        return Err(LimitError::RowTooLarge { size });
    }
    forbidden(sql).map_or(Ok(()), |what| Err(LimitError::Forbidden(what)))
}

/// Transaction control and `PRAGMA user_version`: the platform refuses them (a Durable Object
/// wraps each request in its own implicit transaction).
fn forbidden(sql: &str) -> Option<&'static str> {
    let upper = sql.trim_start().to_ascii_uppercase();
    let first = upper.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
    let words: &[(&str, &'static str)] = &[
        ("BEGIN", "BEGIN"),
        ("COMMIT", "COMMIT"),
        ("END", "END (TRANSACTION)"),
        ("ROLLBACK", "ROLLBACK"),
        ("SAVEPOINT", "SAVEPOINT"),
        ("RELEASE", "RELEASE (SAVEPOINT)"),
    ];
    if let Some((_, what)) = words.iter().find(|(w, _)| *w == first) {
        return Some(what);
    }
    let squashed: String = upper.split_whitespace().collect::<Vec<_>>().join(" ");
    squashed.contains("PRAGMA USER_VERSION").then_some("PRAGMA user_version")
}

/// Runs a statement after checking the limits: every write of the core goes through here.
pub(crate) fn exec(sql: &mut impl Sql, q: &str, params: &[Value]) -> Result<(), SqlError> {
    check(q, params)?;
    sql.exec(q, params)
}

/// Runs a query after checking the limits.
pub(crate) fn query(sql: &mut impl Sql, q: &str, params: &[Value]) -> Result<Vec<Row>, SqlError> {
    check(q, params)?;
    sql.query(q, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_transaction_control_and_user_version() {
        for q in ["BEGIN", " begin transaction", "COMMIT", "SAVEPOINT a", "RELEASE a", "ROLLBACK", "pragma  user_version = 2", "PRAGMA user_version"] {
            assert!(matches!(check(q, &[]), Err(LimitError::Forbidden(_))), "{q}");
        }
        for q in ["SELECT 1", "CREATE TABLE IF NOT EXISTS beginnings (x)", "PRAGMA table_info(events)"] {
            assert_eq!(check(q, &[]), Ok(()), "{q}");
        }
    }

    #[test]
    fn refuses_oversize_statements_params_and_rows() {
        let long = format!("SELECT '{}'", "x".repeat(MAX_STATEMENT_BYTES));
        assert!(matches!(check(&long, &[]), Err(LimitError::StatementTooLong { .. })));
        let params = vec![Value::Integer(1); MAX_PARAMS + 1];
        assert!(matches!(check("SELECT 1", &params), Err(LimitError::TooManyParams { count: 101 })));
        assert_eq!(check("SELECT 1", &params[..MAX_PARAMS]), Ok(()));
        let big = [Value::Blob(vec![0; MAX_ROW_BYTES / 2 + 1]), Value::Blob(vec![0; MAX_ROW_BYTES / 2])];
        assert!(matches!(check("INSERT INTO t VALUES (?, ?)", &big), Err(LimitError::RowTooLarge { .. })));
    }

    #[test]
    fn whole_reals_read_as_integers() {
        let row = Row(vec![Value::Real(42.0), Value::Real(0.5), Value::Null]);
        assert_eq!(row.int(0), Ok(42));
        assert!(row.int(1).is_err());
        assert_eq!(row.opt_uint(2), Ok(None));
        assert!(row.int(3).is_err());
    }
}
