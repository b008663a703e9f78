//! The session runner's durable outbox: every event is numbered and written here before it is
//! sent, so a dropped link, a restarted daemon or a restarted runner loses nothing.
//!
//! One SQLite file per session in the state dir (`<state_dir>/sessions/<id>/outbox.sqlite`). It
//! also keeps what must survive the runner: the session's config and worktree, its Claude session
//! id, the prompts already accepted (so a resent `client_id` is not run twice) and the
//! `session`-scope grants. Seq never goes backwards: the highest seq ever issued is kept apart
//! from the events (which are pruned once the Durable Object acknowledges them).

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use shared_types::{EventEnvelope, GatewayEvent, Grant, SessionConfig};

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("outbox holds an unreadable event at seq {seq}: {source}")]
    Corrupt { seq: u64, source: serde_json::Error },
    #[error("cannot create the session directory {path}: {source}")]
    Dir { path: PathBuf, source: std::io::Error },
}

/// What the runner needs to (re)start its session, stored at creation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SessionRecord {
    pub config: SessionConfig,
    /// The worktree the CLI runs in.
    pub cwd: PathBuf,
    /// Chosen by the runner up front (`--session-id`), so it is known before the first turn.
    pub claude_session_id: String,
    /// Whether the CLI has announced the Claude session (informational: whether it resumes is
    /// decided by its transcript file on disk, see `claude::session_recorded`).
    pub started: bool,
    pub ended: bool,
    /// A turn was running: if a runner starts and finds this set, its predecessor died mid-turn.
    #[serde(default)]
    pub turn_open: bool,
    /// Tool requests and questions announced and not yet resolved (closed as expired when a
    /// runner starts after its predecessor died with them parked).
    #[serde(default)]
    pub open_requests: Vec<String>,
}

pub struct Outbox {
    db: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accepted (client_id TEXT PRIMARY KEY);
-- `grants` (rule strings that could cover a whole tool) is no longer read: grants made before
-- the gate remembered exactly what was shown are dropped, and a person is asked again.
CREATE TABLE IF NOT EXISTS session_grants (grant_json TEXT PRIMARY KEY);
";

impl Outbox {
    /// Opens (or creates) the outbox at `path`.
    pub fn open(path: &Path) -> Result<Self, OutboxError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| OutboxError::Dir { path: dir.into(), source })?;
        }
        let db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        // WAL + NORMAL: a commit survives any kill of the runner or daemon (what the invariants
        // are about) without an fsync per event (FULL caps a session near 600 events/s here).
        // After a power loss the newest commits may be gone; `raise_floor` keeps seqs monotonic.
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(SCHEMA)?;
        Ok(Outbox { db })
    }

    /// Reads a session's record and last seq without writing (the daemon looks; the runner owns).
    pub fn peek(path: &Path) -> Result<Option<(SessionRecord, u64)>, OutboxError> {
        let db = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        db.busy_timeout(std::time::Duration::from_secs(2))?;
        let outbox = Outbox { db };
        Ok(outbox.record()?.map(|r| (r, outbox.last_seq().unwrap_or(0))))
    }

    /// The highest seq ever issued (0 before the first event).
    pub fn last_seq(&self) -> Result<u64, OutboxError> {
        Ok(self.meta("last_seq")?.and_then(|s| s.parse().ok()).unwrap_or(0))
    }

    /// Numbers `event` with the next seq and stores it. Returns the envelope to send.
    pub fn append(&mut self, event: GatewayEvent) -> Result<EventEnvelope, OutboxError> {
        let envelope = EventEnvelope { seq: self.last_seq()? + 1, event };
        let body = serde_json::to_string(&envelope.event).map_err(|source| OutboxError::Corrupt { seq: envelope.seq, source })?;
        let tx = self.db.transaction()?;
        tx.execute("INSERT INTO events (seq, body) VALUES (?1, ?2)", params![envelope.seq as i64, body])?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('last_seq', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![envelope.seq.to_string()],
        )?;
        tx.commit()?;
        Ok(envelope)
    }

    /// Every stored event after `after_seq`, in order.
    pub fn after(&self, after_seq: u64) -> Result<Vec<EventEnvelope>, OutboxError> {
        let mut stmt = self.db.prepare_cached("SELECT seq, body FROM events WHERE seq > ?1 ORDER BY seq")?;
        let rows = stmt.query_map(params![after_seq as i64], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, body) = row?;
            let event = serde_json::from_str(&body).map_err(|source| OutboxError::Corrupt { seq, source })?;
            out.push(EventEnvelope { seq, event });
        }
        Ok(out)
    }

    /// The Durable Object stored everything up to `seq`: prune it. The seq counter is untouched.
    pub fn ack(&mut self, seq: u64) -> Result<usize, OutboxError> {
        Ok(self.db.execute("DELETE FROM events WHERE seq <= ?1", params![seq as i64])?)
    }

    /// A peer attached with `after_seq` beyond what this outbox ever issued (the outbox was lost):
    /// continue from there, so seqs never go backwards.
    pub fn raise_floor(&mut self, after_seq: u64) -> Result<(), OutboxError> {
        if after_seq > self.last_seq()? {
            self.set_meta("last_seq", &after_seq.to_string())?;
        }
        Ok(())
    }

    /// Records a prompt's `client_id`; false when it was accepted before (a resend).
    pub fn accept(&mut self, client_id: &str) -> Result<bool, OutboxError> {
        Ok(self.db.execute("INSERT OR IGNORE INTO accepted (client_id) VALUES (?1)", params![client_id])? == 1)
    }

    /// The session's `session`-scope grants (one that does not read is skipped: it grants nothing).
    pub fn grants(&self) -> Result<Vec<Grant>, OutboxError> {
        let mut stmt = self.db.prepare_cached("SELECT grant_json FROM session_grants ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            if let Ok(grant) = serde_json::from_str(&row?) {
                out.push(grant);
            }
        }
        Ok(out)
    }

    pub fn add_grant(&mut self, grant: &Grant) -> Result<(), OutboxError> {
        let json = serde_json::to_string(grant).unwrap_or_default();
        self.db.execute("INSERT OR IGNORE INTO session_grants (grant_json) VALUES (?1)", params![json])?;
        Ok(())
    }

    pub fn record(&self) -> Result<Option<SessionRecord>, OutboxError> {
        Ok(self.meta("record")?.and_then(|s| serde_json::from_str(&s).ok()))
    }

    pub fn set_record(&mut self, record: &SessionRecord) -> Result<(), OutboxError> {
        let json = serde_json::to_string(record).map_err(|source| OutboxError::Corrupt { seq: 0, source })?;
        self.set_meta("record", &json)
    }

    fn meta(&self, key: &str) -> Result<Option<String>, OutboxError> {
        Ok(self.db.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| r.get(0)).optional()?)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), OutboxError> {
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_types::RunnerState;

    fn status(state: RunnerState) -> GatewayEvent {
        GatewayEvent::Status { state }
    }

    #[test]
    fn seqs_are_contiguous_durable_and_never_go_backwards() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s/outbox.sqlite");
        let mut outbox = Outbox::open(&path).unwrap();
        for i in 1..=5 {
            assert_eq!(outbox.append(status(RunnerState::Running)).unwrap().seq, i);
        }
        assert_eq!(outbox.ack(3).unwrap(), 3);
        drop(outbox);
        let mut outbox = Outbox::open(&path).unwrap();
        assert_eq!(outbox.after(0).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(outbox.append(status(RunnerState::Idle)).unwrap().seq, 6, "pruning never reuses seqs");
        outbox.ack(6).unwrap();
        assert_eq!(outbox.append(status(RunnerState::Idle)).unwrap().seq, 7);
    }

    #[test]
    fn a_lost_outbox_continues_after_the_peers_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let mut outbox = Outbox::open(&dir.path().join("o.sqlite")).unwrap();
        outbox.raise_floor(40).unwrap();
        assert_eq!(outbox.append(status(RunnerState::Idle)).unwrap().seq, 41);
        outbox.raise_floor(10).unwrap();
        assert_eq!(outbox.append(status(RunnerState::Idle)).unwrap().seq, 42);
    }

    #[test]
    fn prompts_are_accepted_once_and_grants_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.sqlite");
        let mut outbox = Outbox::open(&path).unwrap();
        assert!(outbox.accept("c1").unwrap());
        assert!(!outbox.accept("c1").unwrap());
        let grant = Grant::Command { words: vec!["ls".into()] };
        outbox.add_grant(&grant).unwrap();
        outbox.add_grant(&grant).unwrap();
        drop(outbox);
        let outbox = Outbox::open(&path).unwrap();
        assert_eq!(outbox.grants().unwrap(), vec![grant]);
    }
}
