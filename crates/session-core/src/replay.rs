//! Browser sync: the `snapshot` and the events after a client's cursor, in pages.
//!
//! A client close behind gets the snapshot (meta, status, pending) and then every event after its
//! cursor. A client far behind (more events or bytes than the configured thresholds) gets the
//! `fold` of everything up to the contiguous seq K in the snapshot and only the events after K:
//! folding is cheaper to send than thousands of deltas. If that transcript would not fit a frame,
//! it falls back to the plain replay, which pages by count and bytes. Replay never goes past the
//! contiguous seq, so a client never sees the Durable Object's own gaps.

use shared_types::{codec, PendingRequest, ServerFrame, SessionMeta, SessionStatus, Transcript, MAX_FRAME_BYTES};

use crate::config::CoreConfig;
use crate::error::Result;
use crate::log;
use crate::sql::Sql;

/// A replay in progress: the events `after < seq <= up_to`, each stamped with `status`; with
/// `batches`, each page is one `events` frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    pub after: u64,
    pub up_to: u64,
    pub status: SessionStatus,
    pub batches: bool,
}

impl Replay {
    /// Whether every page was sent.
    pub fn is_done(&self) -> bool {
        self.after >= self.up_to
    }
}

/// What the session looks like now, for the snapshot.
#[derive(Debug, Clone)]
pub struct Now {
    pub meta: SessionMeta,
    pub status: SessionStatus,
    pub contiguous_seq: u64,
    pub pending: Vec<PendingRequest>,
}

impl Now {
    /// A snapshot without a transcript: sent on sync and when the status changes.
    pub fn snapshot(&self) -> ServerFrame {
        self.snapshot_with(None)
    }

    fn snapshot_with(&self, transcript: Option<Box<Transcript>>) -> ServerFrame {
        ServerFrame::Snapshot {
            meta: self.meta.clone(),
            status: self.status,
            last_seq: self.contiguous_seq,
            pending: self.pending.clone(),
            transcript,
        }
    }
}

/// The answer to `sync{after_seq}`: the snapshot to send first, and the replay that follows.
pub fn sync(db: &mut impl Sql, cfg: &CoreConfig, now: &Now, after_seq: u64, batches: bool) -> Result<(ServerFrame, Replay)> {
    let up_to = now.contiguous_seq;
    let after = after_seq.min(up_to);
    let replay = Replay { after, up_to, status: now.status, batches };
    let (events, bytes) = log::backlog(db, after, up_to)?;
    if events <= cfg.far_behind_events && bytes <= cfg.far_behind_bytes {
        return Ok((now.snapshot(), replay));
    }
    let transcript = fold_up_to(db, cfg, up_to)?;
    let snapshot = now.snapshot_with(Some(Box::new(transcript)));
    if codec::encode(&snapshot).len() > MAX_FRAME_BYTES {
        return Ok((now.snapshot(), replay));
    }
    Ok((snapshot, Replay { after: up_to, ..replay }))
}

/// The next page of a replay, or `None` when it is done.
pub fn next_page(db: &mut impl Sql, cfg: &CoreConfig, replay: &mut Replay) -> Result<Option<Vec<ServerFrame>>> {
    if replay.is_done() {
        return Ok(None);
    }
    let events = log::events_after(db, replay.after, replay.up_to, cfg.page_events, cfg.page_bytes)?;
    let Some(last) = events.last().map(|e| e.seq) else {
        replay.after = replay.up_to;
        return Ok(None);
    };
    replay.after = last;
    let page = ServerFrame::Events { status: replay.status, events };
    Ok(Some(if replay.batches { vec![page] } else { page.into_single_events() }))
}

/// The `fold` of every event up to `up_to`, read page by page.
pub fn fold_up_to(db: &mut impl Sql, cfg: &CoreConfig, up_to: u64) -> Result<Transcript> {
    let mut transcript = Transcript::default();
    let mut after = 0;
    while after < up_to {
        let page = log::events_after(db, after, up_to, cfg.page_events, cfg.page_bytes)?;
        let Some(last) = page.last().map(|e| e.seq) else { break };
        for e in &page {
            shared_types::fold(&mut transcript, e.seq, &e.event);
        }
        after = last;
    }
    Ok(transcript)
}
