//! [`session_core::Sql`] over the Durable Object's own SQLite (`state.storage().sql()`).
//!
//! Every statement runs synchronously inside the current event, so a whole core input (many
//! statements, no `await` between them) commits atomically under the platform's implicit
//! transaction. The core checks the platform limits before each statement; this file only
//! translates values.

use session_core::{Row, Sql, SqlError, Value};
use worker::{SqlStorage, SqlStorageValue};

/// A Durable Object's SQLite seen through the core's storage trait.
pub struct DoSql {
    sql: SqlStorage,
}

impl DoSql {
    pub fn new(sql: SqlStorage) -> Self {
        DoSql { sql }
    }

    fn run(&self, q: &str, params: &[Value]) -> Result<Vec<Row>, SqlError> {
        let bindings: Vec<SqlStorageValue> = params.iter().map(to_storage).collect();
        let cursor = self.sql.exec(q, bindings).map_err(backend)?;
        cursor
            .raw()
            .map(|row| row.map(|values| Row(values.into_iter().map(from_storage).collect())).map_err(backend))
            .collect()
    }
}

impl Sql for DoSql {
    fn exec(&mut self, q: &str, params: &[Value]) -> Result<(), SqlError> {
        // Draining the cursor makes sure the statement ran to completion.
        self.run(q, params).map(drop)
    }

    fn query(&mut self, q: &str, params: &[Value]) -> Result<Vec<Row>, SqlError> {
        self.run(q, params)
    }
}

fn to_storage(v: &Value) -> SqlStorageValue {
    match v {
        Value::Null => SqlStorageValue::Null,
        Value::Integer(i) => SqlStorageValue::Integer(*i),
        Value::Real(f) => SqlStorageValue::Float(*f),
        Value::Text(s) => SqlStorageValue::String(s.clone()),
        Value::Blob(b) => SqlStorageValue::Blob(b.clone()),
    }
}

fn from_storage(v: SqlStorageValue) -> Value {
    match v {
        SqlStorageValue::Null => Value::Null,
        SqlStorageValue::Boolean(b) => Value::Integer(i64::from(b)),
        SqlStorageValue::Integer(i) => Value::Integer(i),
        SqlStorageValue::Float(f) => Value::Real(f),
        SqlStorageValue::String(s) => Value::Text(s),
        SqlStorageValue::Blob(b) => Value::Blob(b),
    }
}

fn backend(e: worker::Error) -> SqlError {
    SqlError::Backend(e.to_string())
}
