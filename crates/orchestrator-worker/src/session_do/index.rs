//! The D1 sessions index (the session list): the core decides when a row is due (status
//! changes, at most every few seconds otherwise); this file keeps the session's running cost
//! and writes the row, one write at a time, newest row wins.
//!
//! The row is the API's `sessions` table (binding `DB`), created by its migration; the Durable
//! Object only updates the columns it knows.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use session_core::{CoreError, IndexRow, Sql, Value};
use shared_types::{GatewayEvent, ServerFrame};
use wasm_bindgen::JsValue;

use super::sql::DoSql;
use super::Shell;

const UPDATE: &str = "UPDATE sessions SET status = ?1, last_seq = ?2, cost_usd = ?3, updated_at = ?4 WHERE id = ?5";

/// The shell's own table: the sum of every turn's `cost_usd` (the `fold`'s `total_cost_usd`),
/// kept as events become contiguous so the index never folds the log.
pub fn migrate(sql: &mut DoSql) -> Result<(), CoreError> {
    sql.exec(
        "CREATE TABLE IF NOT EXISTS shell_cost (id INTEGER PRIMARY KEY CHECK (id = 0), cost_usd REAL NOT NULL)",
        &[],
    )?;
    Ok(())
}

/// Adds the cost of the turns among `frames` (events broadcast once, as they became contiguous).
pub fn add_costs(sql: &mut DoSql, frames: &[ServerFrame]) -> Result<(), CoreError> {
    let added: f64 = frames
        .iter()
        .flat_map(ServerFrame::events)
        .filter_map(|(_, event)| match event {
            GatewayEvent::Result { cost_usd, .. } => Some(*cost_usd),
            _ => None,
        })
        .sum();
    if added != 0.0 {
        let total = total_cost(sql)? + added;
        sql.exec("INSERT OR REPLACE INTO shell_cost (id, cost_usd) VALUES (0, ?)", &[Value::Real(total)])?;
    }
    Ok(())
}

pub fn total_cost(sql: &mut DoSql) -> Result<f64, CoreError> {
    let rows = sql.query("SELECT cost_usd FROM shell_cost WHERE id = 0", &[])?;
    Ok(match rows.first().map(|r| r.0.first().cloned()) {
        Some(Some(Value::Real(v))) => v,
        Some(Some(Value::Integer(v))) => v as f64,
        _ => 0.0,
    })
}

/// One D1 writer per object: rows arriving while a write is in flight replace each other, so the
/// newest is written next and writes never overtake each other.
#[derive(Default)]
pub struct Writer {
    latest: RefCell<Option<(IndexRow, f64)>>,
    busy: Cell<bool>,
}

impl Writer {
    pub fn push(shell: &Rc<Shell>, row: IndexRow, cost_usd: f64) {
        *shell.index.latest.borrow_mut() = Some((row, cost_usd));
        if !shell.index.busy.replace(true) {
            wasm_bindgen_futures::spawn_local(drain(shell.clone()));
        }
    }
}

async fn drain(shell: Rc<Shell>) {
    loop {
        let next = shell.index.latest.borrow_mut().take();
        let Some((row, cost)) = next else { break };
        if let Err(e) = write(&shell, &row, cost).await {
            worker::console_error!("session {}: the D1 sessions index was not updated ({e}); retried on the next change", row.session_id);
            if let Err(e) = shell.with_core(|core| core.index_failed()) {
                worker::console_error!("session {}: {e}", row.session_id);
            }
        }
    }
    shell.index.busy.set(false);
}

async fn write(shell: &Shell, row: &IndexRow, cost_usd: f64) -> worker::Result<()> {
    let db = shell.env.d1("DB")?;
    db.prepare(UPDATE)
        .bind(&[
            JsValue::from_str(row.status.name()),
            JsValue::from_f64(row.last_seq as f64),
            JsValue::from_f64(cost_usd),
            JsValue::from_f64(row.updated_at as f64),
            JsValue::from_str(&row.session_id),
        ])?
        .run()
        .await?;
    Ok(())
}
