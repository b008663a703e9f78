//! Reading a checkout's kata state: the newest `.kata/sessions/*/state.json` (DESIGN.md,
//! "Kata"). The daemon's route ([`crate::kata_status`]) serves it and the session runner
//! announces its changes as `session.kata`; both read it here, with no HTTP types involved.
//!
//! A missing or unreadable state is `None`, not an error: a checkout without kata is normal,
//! and a half-written state must not break anything. The state files are confined like any
//! request path, so a `.kata` symlinked out of the checkout is refused.

use std::path::{Path, PathBuf};

use shared_types::kata::scan_states;
use shared_types::KataState;

use crate::confine::{self, read_capped, ConfineError};

/// Where kata keeps one directory per kata session, relative to the checkout.
const KATA_SESSIONS: &str = ".kata/sessions";

/// The newest kata state of a checkout, `None` when there is none or it cannot be read; an
/// error when `.kata` or a state file leads out of the checkout.
pub async fn newest_state(checkout: &Path, cap: u64) -> Result<Option<KataState>, ConfineError> {
    let files = read_state_files(checkout, cap).await?;
    let scan = scan_states(files.iter().map(|(path, json)| (path.as_str(), json.as_str())));
    for unreadable in &scan.unreadable {
        tracing::warn!(path = %unreadable.path, "unreadable kata state: {}", unreadable.error);
    }
    Ok(scan.newest().cloned())
}

/// `(path, json)` of every readable `state.json` under the checkout's `.kata/sessions`.
async fn read_state_files(checkout: &Path, cap: u64) -> Result<Vec<(String, String)>, ConfineError> {
    let sessions = match confine::contain(checkout, Path::new(KATA_SESSIONS)) {
        Err(ConfineError::NotFound(_)) => return Ok(Vec::new()),
        other => other?,
    };
    let Ok(entries) = std::fs::read_dir(&sessions) else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let relative = PathBuf::from(KATA_SESSIONS).join(entry.file_name()).join("state.json");
        let path = match confine::contain(checkout, &relative) {
            Err(ConfineError::NotFound(_)) => continue,
            other => other?,
        };
        match read_capped(&path, cap).await {
            Ok(bytes) => files.push((relative.display().to_string(), String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) => tracing::warn!(path = %relative.display(), "skipping a kata state: {e}"),
        }
    }
    Ok(files)
}
