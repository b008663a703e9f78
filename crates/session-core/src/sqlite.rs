//! [`Sql`] on native SQLite (rusqlite), behaving like a Durable Object's database: every statement
//! is checked against the platform limits, and SQLite's own limits are lowered to the platform's,
//! so a row assembled inside SQL (`zeroblob`, `||`) is refused too. Tests run the core on this.

use rusqlite::limits::Limit;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params_from_iter, Connection, ToSql};

use crate::sql::{self, Row, Sql, SqlError, Value, MAX_PARAMS, MAX_ROW_BYTES, MAX_STATEMENT_BYTES};

/// A native database with Durable Object limits.
pub struct SqliteDo {
    conn: Connection,
    statements: u64,
}

impl SqliteDo {
    /// A fresh in-memory database.
    pub fn memory() -> Result<Self, SqlError> {
        Self::new(Connection::open_in_memory().map_err(backend)?)
    }

    /// Wraps a connection (e.g. a file, to test waking from disk), lowering its limits.
    pub fn new(conn: Connection) -> Result<Self, SqlError> {
        let limits = [
            (Limit::SQLITE_LIMIT_LENGTH, MAX_ROW_BYTES),
            (Limit::SQLITE_LIMIT_SQL_LENGTH, MAX_STATEMENT_BYTES),
            (Limit::SQLITE_LIMIT_VARIABLE_NUMBER, MAX_PARAMS),
        ];
        for (limit, value) in limits {
            let value = i32::try_from(value).map_err(|e| SqlError::Backend(e.to_string()))?;
            conn.set_limit(limit, value).map_err(backend)?;
        }
        Ok(SqliteDo { conn, statements: 0 })
    }

    /// How many statements ran so far (what a Durable Object pays per statement).
    pub fn statements(&self) -> u64 {
        self.statements
    }

    /// The connection, for tests that inspect or corrupt the database directly.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl Sql for SqliteDo {
    fn exec(&mut self, q: &str, params: &[Value]) -> Result<(), SqlError> {
        self.query(q, params).map(drop)
    }

    fn query(&mut self, q: &str, params: &[Value]) -> Result<Vec<Row>, SqlError> {
        sql::check(q, params)?;
        self.statements += 1;
        let mut stmt = self.conn.prepare(q).map_err(backend)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(params_from_iter(params.iter().map(Bind))).map_err(backend)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(backend)? {
            let values = (0..columns)
                .map(|i| row.get_ref(i).map(value_of).map_err(backend))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(Row(values));
        }
        Ok(out)
    }
}

/// Binds a [`Value`] as rusqlite's value.
struct Bind<'a>(&'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Integer(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn value_of(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

fn backend(e: rusqlite::Error) -> SqlError {
    SqlError::Backend(e.to_string())
}
