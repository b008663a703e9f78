//! Claude Code hooks: installing kata's into `.claude/settings.json`, and speaking the hook
//! protocol.
//!
//! - `SessionStart` runs `kata prime`: its stdout is added to the session as context.
//! - `Stop` runs `kata can-exit --hook`: it reads the hook input on stdin
//!   (`{session_id, transcript_path, cwd, hook_event_name: "Stop", stop_hook_active, ...}`) and,
//!   while stop conditions fail, prints `{"decision":"block","reason":"..."}` so that Claude Code
//!   carries on with the reason as its next instruction. When `stop_hook_active` is true (Claude
//!   Code is already continuing because of a Stop hook) it never blocks, so a session cannot loop
//!   forever on a condition the model cannot meet.

use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::{KataError, Result};
use crate::layout::write_atomic;

/// The command the SessionStart hook runs.
pub const PRIME_COMMAND: &str = "kata prime";
/// The command the Stop hook runs.
pub const STOP_COMMAND: &str = "kata can-exit --hook";

/// Where `kata` is found on PATH, as Claude Code will look for it when it runs a hook.
pub fn kata_on_path() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("kata"))
        .find(|p| p.is_file())
}

/// The part of a Stop hook's input kata reads.
#[derive(Debug, Default, Deserialize)]
pub struct StopInput {
    #[serde(default)]
    pub stop_hook_active: bool,
}

impl StopInput {
    /// Parses the hook input; empty input (run by hand) counts as a first stop.
    pub fn parse(text: &str) -> Result<StopInput> {
        if text.trim().is_empty() {
            return Ok(StopInput::default());
        }
        serde_json::from_str(text).map_err(|e| KataError::HookInput(e.to_string()))
    }
}

/// The Stop hook output that keeps Claude Code working, telling it why.
pub fn block(reason: &str) -> String {
    json!({ "decision": "block", "reason": reason }).to_string()
}

/// Adds kata's hooks to the settings file at `path` (created if absent), keeping every other
/// setting and hook. `stop_timeout_secs` is how long Claude Code lets the Stop hook run (it may
/// run the test command); an installed Stop hook gets it too. Returns whether the file changed.
pub fn install(path: &Path, stop_timeout_secs: u64) -> Result<bool> {
    let invalid = |message: String| KataError::SettingsInvalid {
        path: path.to_path_buf(),
        message,
    };
    let before = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(KataError::Io {
                path: path.to_path_buf(),
                source: e,
            })
        }
    };
    let mut settings: Value = match &before {
        Some(text) => serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?,
        None => json!({}),
    };
    let hooks = settings
        .as_object_mut()
        .ok_or_else(|| invalid("the top level is not an object".into()))?
        .entry("hooks")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| invalid("`hooks` is not an object".into()))?;
    add_hook(
        hooks,
        "SessionStart",
        json!({ "type": "command", "command": PRIME_COMMAND }),
    )
    .map_err(invalid)?;
    add_hook(
        hooks,
        "Stop",
        json!({ "type": "command", "command": STOP_COMMAND, "timeout": stop_timeout_secs }),
    )
    .map_err(invalid)?;
    let text = serde_json::to_string_pretty(&settings).map_err(|e| invalid(e.to_string()))? + "\n";
    if before.as_deref() == Some(text.as_str()) {
        return Ok(false);
    }
    write_atomic(path, &text)?;
    Ok(true)
}

/// kata's hooks as a whole settings document, each calling `exe` (an absolute path) so that
/// nothing on PATH can stand in for it: what `kata setup --print` prints for the Duraclaw
/// runner, which passes it to Claude Code with `--settings`.
pub fn settings_for(exe: &Path, stop_timeout_secs: u64) -> Value {
    let quoted = shell_quote(&exe.to_string_lossy());
    let prime = format!("{quoted}{}", PRIME_COMMAND.trim_start_matches("kata"));
    let stop = format!("{quoted}{}", STOP_COMMAND.trim_start_matches("kata"));
    json!({ "hooks": {
        "SessionStart": [{ "hooks": [{ "type": "command", "command": prime }] }],
        "Stop": [{ "hooks": [{ "type": "command", "command": stop, "timeout": stop_timeout_secs }] }],
    }})
}

/// `s` in single quotes for `sh` (a `'` inside becomes `'\''`).
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Appends `hook` as a matcher group of `event`, or updates the hook that already runs its
/// command.
fn add_hook(hooks: &mut Map<String, Value>, event: &str, hook: Value) -> Result<(), String> {
    let groups = hooks
        .entry(event)
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .ok_or_else(|| format!("`hooks.{event}` is not a list"))?;
    let existing = groups
        .iter_mut()
        .filter_map(|g| g["hooks"].as_array_mut())
        .flatten()
        .find(|h| h["command"] == hook["command"]);
    match existing {
        Some(installed) => *installed = hook,
        None => groups.push(json!({ "hooks": [hook] })),
    }
    Ok(())
}

fn runs(group: &Value, command: &Value) -> bool {
    group["hooks"]
        .as_array()
        .is_some_and(|hs| hs.iter().any(|h| &h["command"] == command))
}

/// Which of kata's hooks the settings file at `path` lacks (by event name).
pub fn missing(path: &Path) -> Result<Vec<&'static str>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(vec!["SessionStart", "Stop"])
        }
        Err(e) => {
            return Err(KataError::Io {
                path: path.to_path_buf(),
                source: e,
            })
        }
    };
    let settings: Value = serde_json::from_str(&text).map_err(|e| KataError::SettingsInvalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let has = |event: &str, command: &str| {
        settings["hooks"][event]
            .as_array()
            .is_some_and(|groups| groups.iter().any(|g| runs(g, &json!(command))))
    };
    Ok([("SessionStart", PRIME_COMMAND), ("Stop", STOP_COMMAND)]
        .into_iter()
        .filter(|(event, command)| !has(event, command))
        .map(|(event, _)| event)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_keeps_other_settings_and_is_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".claude/settings.json");
        std::fs::create_dir_all(dir.path().join(".claude")).expect("mkdir");
        let other =
            r#"{"model":"x","hooks":{"Stop":[{"hooks":[{"type":"command","command":"other"}]}]}}"#;
        std::fs::write(&path, other).expect("write");
        assert_eq!(missing(&path).expect("reads"), ["SessionStart", "Stop"]);
        assert!(install(&path, 600).expect("installs"));
        assert!(!install(&path, 600).expect("installs again"));
        assert!(install(&path, 700).expect("a new timeout is an update"));
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(v["model"], "x");
        assert_eq!(v["hooks"]["Stop"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            v["hooks"]["SessionStart"][0]["hooks"][0]["command"],
            PRIME_COMMAND
        );
        assert_eq!(v["hooks"]["Stop"][1]["hooks"][0]["timeout"], 700);
        assert!(missing(&path).expect("reads").is_empty());
    }

    #[test]
    fn stop_input_reads_the_flag_and_rejects_garbage() {
        let input = r#"{"session_id":"s","hook_event_name":"Stop","stop_hook_active":true}"#;
        assert!(StopInput::parse(input).expect("parses").stop_hook_active);
        assert!(
            !StopInput::parse("")
                .expect("empty is fine")
                .stop_hook_active
        );
        assert!(StopInput::parse("{nope").is_err());
        let out: Value = serde_json::from_str(&block("why")).expect("json");
        assert_eq!(out, json!({"decision": "block", "reason": "why"}));
    }
}
