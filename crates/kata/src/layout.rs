//! Where kata keeps things in a repository:
//!
//! ```text
//! .kata/kata.toml                                 the config (committed)
//! .kata/.gitignore                                keeps sessions/ and evidence/ out of git
//! .kata/sessions/<session>/state.json             one session's state (a KataState)
//! .kata/evidence/<session>/<phase>/<ms>-g<n>.json one gate run's evidence
//! .claude/settings.json                           the Claude Code hooks `kata setup` installs
//! ```

use std::path::{Path, PathBuf};

use crate::error::{KataError, Result};

/// The repository root kata works in (the directory holding `.kata/`).
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    /// The nearest directory at or above `cwd` that holds `.kata/kata.toml`.
    pub fn find(cwd: &Path) -> Result<Layout> {
        cwd.ancestors()
            .find(|dir| dir.join(".kata/kata.toml").is_file())
            .map(|root| Layout {
                root: root.to_path_buf(),
            })
            .ok_or_else(|| KataError::NoConfig(cwd.to_path_buf()))
    }

    pub fn kata_dir(&self) -> PathBuf {
        self.root.join(".kata")
    }

    pub fn config(&self) -> PathBuf {
        self.kata_dir().join("kata.toml")
    }

    pub fn sessions(&self) -> PathBuf {
        self.kata_dir().join("sessions")
    }

    pub fn state(&self, session_id: &str) -> PathBuf {
        self.sessions().join(session_id).join("state.json")
    }

    /// Relative to the root, as recorded in state.json.
    pub fn evidence_rel(session_id: &str, phase: &str, at_ms: u64, gate: usize) -> String {
        format!(".kata/evidence/{session_id}/{phase}/{at_ms}-g{gate}.json")
    }

    pub fn settings(&self) -> PathBuf {
        self.root.join(".claude/settings.json")
    }
}

/// Writes `contents` next to `path` and renames it into place, so a reader never sees half a file.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(KataError::io(dir))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).map_err(KataError::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(KataError::io(path))
}
