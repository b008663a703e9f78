//! The session Durable Object's logic, with no I/O: the Worker's `SessionDO` is a thin shell
//! that feeds this core its inputs and carries out what it returns (the quinn-proto shape).
//! It runs on a Durable Object's SQLite in production and on native SQLite in tests.
//!
//! - [`session`]: [`SessionCore`], the entry point; each input returns an [`Output`].
//! - [`sql`]: the storage trait ([`Sql`]: exec and collect rows) and the platform limits
//!   (2 MB rows, 100 KB statements, 100 parameters, no transactions) checked on every statement.
//! - [`sqlite`] (feature `rusqlite`): [`Sql`] on native SQLite, refusing what a Durable Object
//!   refuses, so the tests prove the core stays within the limits.
//! - [`schema`]: the `schema_version` row and the idempotent migrations run on every wake.
//! - [`batch`]: a gateway `events` frame read in one pass, each element on its own.
//! - [`log`]: the event log keyed by seq: idempotent inserts, chunked big events, the
//!   contiguous seq, pages bounded by count and bytes ([`chunk`] splits and joins).
//! - [`status`]: the runner's facts and the derived [`shared_types::SessionStatus`].
//! - [`pending`]: requests waiting for a human; the first answer wins.
//! - [`replay`]: browser sync: snapshot, folded transcript for far-behind clients, pages.
//! - [`commands`]: browser commands validated and mapped to gateway commands.
//! - [`queue`]: the durable queue of gateway commands, flushed on link up, keyed against doubles.
//! - [`link`]: when to dial, ping, close and redial the gateway link.
//! - [`index`]: when to write the D1 sessions-index row.
//! - [`state`]: the small named JSON rows that survive hibernation.
//!
//! **Architecture invariant:** nothing here reads a clock, opens a socket or knows about
//! workers-rs; every timestamp comes in as an argument and every effect goes out in an [`Output`].

pub mod batch;
pub mod chunk;
pub mod commands;
pub mod config;
pub mod error;
pub mod index;
pub mod link;
pub mod log;
pub mod pending;
pub mod queue;
pub mod replay;
pub mod schema;
pub mod session;
pub mod sql;
#[cfg(feature = "rusqlite")]
pub mod sqlite;
pub mod state;
pub mod status;

pub use config::CoreConfig;
pub use error::CoreError;
pub use index::IndexRow;
pub use link::LinkAction;
pub use replay::Replay;
pub use session::{Output, SessionCore};
pub use sql::{Row, Sql, SqlError, Value};
