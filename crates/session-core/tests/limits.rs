//! The test database refuses what a Durable Object refuses, so that every other test proves the
//! core stays within the platform's limits.

use session_core::sql::{LimitError, MAX_PARAMS, MAX_ROW_BYTES, MAX_STATEMENT_BYTES};
use session_core::sqlite::SqliteDo;
use session_core::{Sql, SqlError, Value};

fn db() -> SqliteDo {
    let mut db = SqliteDo::memory().unwrap();
    db.exec("CREATE TABLE t (a, b)", &[]).unwrap();
    db
}

fn is_limit(r: Result<(), SqlError>) -> bool {
    matches!(r, Err(SqlError::Limit(_)))
}

#[test]
fn refuses_101_parameters() {
    let mut db = db();
    let sql = format!("SELECT {}", vec!["?"; MAX_PARAMS + 1].join(", "));
    let params = vec![Value::Integer(1); MAX_PARAMS + 1];
    assert_eq!(db.exec(&sql, &params), Err(SqlError::Limit(LimitError::TooManyParams { count: 101 })));
    let sql = format!("SELECT {}", vec!["?"; MAX_PARAMS].join(", "));
    assert_eq!(db.query(&sql, &params[..MAX_PARAMS]).unwrap()[0].0.len(), MAX_PARAMS);
}

#[test]
fn sqlite_itself_refuses_101_variables() {
    // Past our checker (no params bound, but 101 placeholders): SQLite's lowered limit answers.
    let mut db = db();
    let sql = format!("SELECT {}", (1..=MAX_PARAMS + 1).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", "));
    assert!(matches!(db.exec(&sql, &[]), Err(SqlError::Backend(_))));
}

#[test]
fn refuses_a_row_over_2_mb() {
    let mut db = db();
    let big = Value::Blob(vec![7; MAX_ROW_BYTES + 1]);
    assert!(is_limit(db.exec("INSERT INTO t (a) VALUES (?)", &[big])));
    let halves = [Value::Blob(vec![7; MAX_ROW_BYTES / 2 + 10]), Value::Blob(vec![7; MAX_ROW_BYTES / 2])];
    assert!(is_limit(db.exec("INSERT INTO t (a, b) VALUES (?, ?)", &halves)));
    // A row built inside SQL never passes through the parameters: SQLite's length limit catches it.
    let err = db.exec(&format!("INSERT INTO t (a) VALUES (zeroblob({}))", MAX_ROW_BYTES + 1), &[]);
    assert!(matches!(err, Err(SqlError::Backend(ref m)) if m.contains("too big")), "{err:?}");
    db.exec("INSERT INTO t (a, b) VALUES (zeroblob(1000000), zeroblob(900000))", &[]).unwrap();
    let grow = db.exec("UPDATE t SET b = zeroblob(1100000)", &[]);
    assert!(grow.is_err(), "a row grown past 2 MB by UPDATE must be refused");
    let ok = db.query("SELECT length(a) + length(b) FROM t", &[]).unwrap();
    assert_eq!(ok[0].int(0).unwrap(), 1_900_000);
}

#[test]
fn refuses_a_statement_over_100_kb() {
    let mut db = db();
    let sql = format!("SELECT '{}'", "x".repeat(MAX_STATEMENT_BYTES));
    assert!(is_limit(db.exec(&sql, &[])));
}

#[test]
fn refuses_transactions_and_user_version() {
    let mut db = db();
    for sql in ["BEGIN", "BEGIN IMMEDIATE", "COMMIT", "END", "ROLLBACK", "SAVEPOINT s1", "RELEASE s1", "PRAGMA user_version", "PRAGMA user_version = 3"] {
        assert!(is_limit(db.exec(sql, &[])), "{sql} must be refused");
    }
    assert!(db.query("PRAGMA table_info(t)", &[]).is_ok());
}
