//! Which Duraclaw session has which Claude Code session: `<state_dir>/claims/<uuid>`, holding the
//! Duraclaw session's id. Two Duraclaw sessions driving one Claude session would write one
//! session file from two CLIs and fork its history, so a claim is taken once, race-free (the
//! file is created with `O_CREAT | O_EXCL`: of two runners claiming at once, exactly one
//! creates it), and kept for good. Every session's runner claims its Claude session when the
//! session is created (a new one's fresh id, or the one it resumes); the project routes read
//! the claims to mark sessions that are Duraclaw's already.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use shared_types::api::is_claude_session_id;

/// The longest claim file read (a Duraclaw session id is at most 64 bytes).
const MAX_CLAIM_BYTES: u64 = 128;

/// Why a claim was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// Another Duraclaw session has it (its id; empty while that one is still writing it).
    #[error("the Claude Code session is already open in Duraclaw (session {0})")]
    Held(String),
    #[error("{0:?} is not a Claude Code session id")]
    BadId(String),
    #[error("cannot claim the Claude Code session in {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// The claims directory.
#[derive(Debug, Clone)]
pub struct Claims {
    dir: PathBuf,
}

impl Claims {
    /// The claims under `state_dir` (the gateway's durable state).
    pub fn new(state_dir: &Path) -> Claims {
        Claims { dir: state_dir.join("claims") }
    }

    /// Claims Claude session `claude_id` for Duraclaw session `session_id`. Taking a claim the
    /// same session already holds is fine (a create repeated after a crash).
    pub fn take(&self, claude_id: &str, session_id: &str) -> Result<(), ClaimError> {
        if !is_claude_session_id(claude_id) {
            return Err(ClaimError::BadId(claude_id.to_string()));
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ClaimError::Io { path, source }
        };
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir).map_err(io(&self.dir))?;
        let path = self.dir.join(claude_id);
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true) // O_CREAT | O_EXCL: exactly one of racing claimants gets here
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o600)
            .open(&path);
        match created {
            Ok(mut file) => file.write_all(session_id.as_bytes()).map_err(io(&path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match self.holder(claude_id) {
                Some(holder) if holder == session_id => Ok(()),
                holder => Err(ClaimError::Held(holder.unwrap_or_default())),
            },
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// The Duraclaw session holding `claude_id`, if one does (`Some("")` while a claim is being
    /// written; a claim that is not a plain file counts as held, by no one known).
    pub fn holder(&self, claude_id: &str) -> Option<String> {
        if !is_claude_session_id(claude_id) {
            return None;
        }
        let file = match crate::confine::open_regular(&self.dir.join(claude_id)) {
            Ok(Some((file, _))) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Ok(None) | Err(_) => return Some(String::new()),
        };
        let mut text = String::new();
        let read = file.take(MAX_CLAIM_BYTES).read_to_string(&mut text);
        Some(if read.is_ok() { text.trim().to_string() } else { String::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAUDE_ID: &str = "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11";

    #[test]
    fn the_first_claim_wins_and_the_holder_may_take_it_again() {
        let dir = tempfile::tempdir().unwrap();
        let claims = Claims::new(dir.path());
        assert_eq!(claims.holder(CLAUDE_ID), None);
        claims.take(CLAUDE_ID, "s-one").unwrap();
        claims.take(CLAUDE_ID, "s-one").unwrap();
        assert!(matches!(claims.take(CLAUDE_ID, "s-two"), Err(ClaimError::Held(by)) if by == "s-one"));
        assert_eq!(claims.holder(CLAUDE_ID).as_deref(), Some("s-one"));
    }

    /// Sixteen threads claim one Claude session at once, each for its own Duraclaw session:
    /// exactly one gets it, every other is told who has it.
    #[test]
    fn racing_claims_have_exactly_one_winner() {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let claims = Claims::new(dir.path());
            let start = std::sync::Arc::new(std::sync::Barrier::new(16));
            let threads: Vec<_> = (0..16)
                .map(|i| {
                    let (claims, start) = (claims.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        claims.take(CLAUDE_ID, &format!("s-{i}")).map(|()| i)
                    })
                })
                .collect();
            let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            let winners: Vec<usize> = results.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
            assert_eq!(winners.len(), 1, "round {round}: {results:?}");
            assert_eq!(claims.holder(CLAUDE_ID), Some(format!("s-{}", winners[0])));
            assert!(results.iter().all(|r| matches!(r, Ok(_) | Err(ClaimError::Held(_)))), "{results:?}");
        }
    }

    /// What is already in the claims directory is never trusted or followed.
    #[test]
    fn hostile_claims_are_held_and_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let claims = Claims::new(dir.path());
        let claims_dir = dir.path().join("claims");
        std::fs::create_dir_all(&claims_dir).unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "s-one").unwrap();
        type Make<'a> = &'a dyn Fn(&Path);
        let cases: &[(&str, Make<'_>)] = &[
            ("a symlink to a claim of ours", &|p| std::os::unix::fs::symlink(&target, p).unwrap()),
            ("a dangling symlink", &|p| std::os::unix::fs::symlink(dir.path().join("nowhere"), p).unwrap()),
            ("a directory", &|p| std::fs::create_dir(p).unwrap()),
            ("a FIFO", &|p| {
                let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
                // SAFETY: mkfifo(3) with a valid NUL-terminated path.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            }),
            ("an empty file (a claim being written)", &|p| std::fs::write(p, "").unwrap()),
        ];
        for (i, (what, make)) in cases.iter().enumerate() {
            let id = format!("0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e{i:02}");
            make(&claims_dir.join(&id));
            assert!(claims.holder(&id).is_some(), "{what}: not held");
            assert!(matches!(claims.take(&id, "s-one"), Err(ClaimError::Held(by)) if by.is_empty()), "{what}: taken");
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "s-one", "a symlink's target is never written");
        for bad in ["", "../escape", "0B6D2F8E-4F43-4C2E-9D7E-5D1F6A0C9E11", "x/../../y"] {
            assert!(matches!(claims.take(bad, "s-one"), Err(ClaimError::BadId(_))), "{bad:?}");
            assert_eq!(claims.holder(bad), None, "{bad:?}");
        }
    }
}
