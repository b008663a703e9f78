//! The Claude Code CLI's own session files: `$CLAUDE_CONFIG_DIR/projects/<encoded cwd>/<id>.jsonl`
//! (`~/.claude/projects/...` by default), one JSON object a line, written by every CLI run on this
//! machine (a terminal, an editor, Duraclaw's runners). The project routes list them per checkout
//! with their first prompt; the runner reads one back as history when a Duraclaw session resumes it.
//!
//! Every such file is hostile input (the model's Bash can write anything there): only files named
//! `<uuid>.jsonl` are looked at, each opened with `O_NOFOLLOW | O_NONBLOCK` and read only if it is
//! a regular file (no symlink, FIFO or device); a directory of the CLI's is used only if it is a
//! real directory. At most [`MAX_ENTRIES`] directory entries are looked at, [`HEAD_CAP`] bytes
//! read for a first prompt and the last [`TAIL_CAP`] bytes for a history; a line that is not a
//! JSON object, or over [`MAX_LINE_BYTES`], is skipped.
//!
//! The CLI names a directory after its cwd (the real path, as `getcwd` gives it) with every
//! UTF-16 unit outside `[A-Za-z0-9]` turned into `-`; a name over 200 characters is cut there and
//! given a hash of the path (`-<base36>`), which is not reproduced here: such directories are
//! found by their first 200 characters and kept only for files whose recorded `cwd` is the
//! checkout's. A file whose entries record another cwd (two paths can encode alike) is not the
//! checkout's.

use std::fs::{File, Metadata};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;
use shared_types::api::{is_claude_session_id, CLAUDE_PROMPT_CHARS};
use shared_types::content::AssistantBlock;
use shared_types::{ContentBlock, GatewayEvent};

use crate::translate::{Output, Translator};

/// The most directory entries looked at in one of the CLI's directories.
pub const MAX_ENTRIES: usize = 10_000;
/// How much of the start of a file is read to find its first prompt.
pub const HEAD_CAP: u64 = 256 * 1024;
/// How much of the end of a file a history is read from.
pub const TAIL_CAP: u64 = 8 * 1024 * 1024;
/// The longest line a history takes (a larger one, a huge tool output say, is left out).
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// How long the CLI lets a directory name grow before cutting it and adding a hash.
const MAX_DIR_NAME: usize = 200;

/// Why a session file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SessionFileError {
    #[error("{0}")]
    NotFound(String),
    /// Not a regular file, a symlink, a directory named like a session...
    #[error("{0}")]
    Refused(String),
    #[error("cannot read {what}: {source}")]
    Io { what: String, source: std::io::Error },
}

/// `$CLAUDE_CONFIG_DIR/projects`, else `$HOME/.claude/projects`: where the CLI that runners start
/// (with the gateway's own environment) records its sessions. `None` without either variable.
pub fn projects_dir() -> Option<PathBuf> {
    let config = std::env::var_os("CLAUDE_CONFIG_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".claude")))?;
    Some(config.join("projects"))
}

/// The directory name the CLI gives the cwd `cwd` (before any cut for length).
pub fn encode_cwd(cwd: &Path) -> String {
    let text = cwd.to_string_lossy();
    text.encode_utf16().map(|u| if u < 128 && (u as u8).is_ascii_alphanumeric() { u as u8 as char } else { '-' }).collect()
}

/// A session file of a checkout.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionFile {
    /// The CLI's session id (the file's name without `.jsonl`).
    pub id: String,
    pub path: PathBuf,
    /// Milliseconds since the epoch.
    pub modified_ms: u64,
    pub size: u64,
}

/// The CLI's directories that may hold the sessions of the checkout at `cwd` (its real path):
/// the one its name gives, or for a long name those starting with its first 200 characters.
/// Only real directories (not symlinks).
fn checkout_dirs(projects: &Path, cwd: &Path) -> Vec<PathBuf> {
    let name = encode_cwd(cwd);
    let real_dir = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    if name.len() <= MAX_DIR_NAME {
        let dir = projects.join(&name);
        return if real_dir(&dir) { vec![dir] } else { Vec::new() };
    }
    let prefix = format!("{}-", &name[..MAX_DIR_NAME]);
    let Ok(entries) = std::fs::read_dir(projects) else { return Vec::new() };
    entries
        .take(MAX_ENTRIES)
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)))
        .map(|e| e.path())
        .filter(|p| real_dir(p))
        .collect()
}

/// The session files of the checkout at `cwd` (its real path), unordered: `<uuid>.jsonl` entries
/// that are regular files, at most [`MAX_ENTRIES`] entries looked at per directory. A missing or
/// unreadable directory has none.
pub fn list(projects: &Path, cwd: &Path) -> Vec<SessionFile> {
    let mut found = Vec::new();
    for dir in checkout_dirs(projects, cwd) {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.take(MAX_ENTRIES).flatten() {
            let Some(id) = entry.file_name().to_str().and_then(|n| n.strip_suffix(".jsonl")).map(str::to_string) else {
                continue;
            };
            // the entry's own type: a symlink is not followed, a directory or FIFO is not a file
            if !is_claude_session_id(&id) || !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            if let Ok(meta) = entry.metadata() {
                found.push(SessionFile { id, path: entry.path(), modified_ms: modified_ms(&meta), size: meta.len() });
            }
        }
    }
    found
}

/// The file of session `id` for the checkout at `cwd`, if the checkout has one.
pub fn find(projects: &Path, cwd: &Path, id: &str) -> Result<SessionFile, SessionFileError> {
    if !is_claude_session_id(id) {
        return Err(SessionFileError::Refused(format!("{id:?} is not a Claude Code session id (a UUID)")));
    }
    let not_found = || SessionFileError::NotFound(format!("no Claude Code session {id} in {}", cwd.display()));
    for dir in checkout_dirs(projects, cwd) {
        let path = dir.join(format!("{id}.jsonl"));
        match open(&path) {
            Ok((_, meta)) => return Ok(SessionFile { id: id.to_string(), path, modified_ms: modified_ms(&meta), size: meta.len() }),
            Err(SessionFileError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(not_found())
}

/// Opens a session file for reading as hostile input: never through a symlink, never blocking
/// on a FIFO, a regular file only.
fn open(path: &Path) -> Result<(File, Metadata), SessionFileError> {
    match crate::confine::open_regular(path) {
        Ok(Some(opened)) => Ok(opened),
        Ok(None) => Err(SessionFileError::Refused(format!("{} is not a regular file", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(SessionFileError::NotFound(format!("{} does not exist", path.display())))
        }
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            Err(SessionFileError::Refused(format!("{} is a symlink; session files are read only as regular files", path.display())))
        }
        Err(source) => Err(SessionFileError::Io { what: path.display().to_string(), source }),
    }
}

fn modified_ms(meta: &Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What the start of a session file says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Head {
    /// The first prompt a person typed, cut to [`CLAUDE_PROMPT_CHARS`] characters.
    pub first_prompt: Option<String>,
    /// The first cwd an entry records, if any did before the prompt was found.
    pub cwd: Option<String>,
}

impl Head {
    /// Whether the file belongs to the checkout at `cwd`: no entry records another directory.
    pub fn is_of(&self, cwd: &Path) -> bool {
        self.cwd.as_deref().is_none_or(|c| Path::new(c) == cwd)
    }
}

/// Reads the start of a session file (at most [`HEAD_CAP`] bytes, stopping at the first prompt).
pub fn head(file: &SessionFile) -> Result<Head, SessionFileError> {
    let (handle, _) = open(&file.path)?;
    let mut reader = BufReader::new(handle.take(HEAD_CAP));
    let mut head = Head::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) if !line.ends_with(b"\n") && reader.get_ref().limit() == 0 => break, // cut by the cap
            Ok(_) => {}
            Err(source) => return Err(SessionFileError::Io { what: file.path.display().to_string(), source }),
        }
        let Some(entry) = entry(&line) else { continue };
        if head.cwd.is_none() {
            head.cwd = entry.get("cwd").and_then(Value::as_str).map(str::to_string);
        }
        if let Some(text) = prompt(&entry).map(|blocks| prompt_text(&blocks)).filter(|t| !t.is_empty()) {
            head.first_prompt = Some(cut(&text, CLAUDE_PROMPT_CHARS));
            break;
        }
    }
    Ok(head)
}

/// A session's history as contract events, read from the end of its file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// The prompts (`session.user_message`), complete assistant messages (`session.message`)
    /// and the results of their tool calls (`session.tool.result`), in the file's order.
    pub events: Vec<GatewayEvent>,
    /// How many prompts `events` holds.
    pub prompts: u64,
    /// The file is larger than [`TAIL_CAP`]: only its end was read.
    pub truncated: bool,
    /// Lines left out: over [`MAX_LINE_BYTES`].
    pub oversize: u64,
}

impl History {
    /// A line to show before the history when part of it is left out.
    pub fn notice(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.truncated {
            parts.push(format!("only the last {} MB of the Claude Code session are shown", TAIL_CAP / (1024 * 1024)));
        }
        if self.oversize > 0 {
            parts.push(format!("{} entries over {} KB are left out", self.oversize, MAX_LINE_BYTES / 1024));
        }
        (!parts.is_empty()).then(|| format!("Earlier history not shown: {}.", parts.join("; ")))
    }
}

/// Reads the history of a session file: its last [`TAIL_CAP`] bytes (from the first whole line).
pub fn history(file: &SessionFile) -> Result<History, SessionFileError> {
    let (mut handle, meta) = open(&file.path)?;
    let io = |source| SessionFileError::Io { what: file.path.display().to_string(), source };
    let truncated = meta.len() > TAIL_CAP;
    if truncated {
        handle.seek(SeekFrom::Start(meta.len() - TAIL_CAP)).map_err(io)?;
    }
    let mut bytes = Vec::new();
    handle.take(TAIL_CAP).read_to_end(&mut bytes).map_err(io)?;
    let whole = match truncated {
        // the first line was cut by the seek
        true => bytes.iter().position(|b| *b == b'\n').map_or(&bytes[..0], |at| &bytes[at + 1..]),
        false => &bytes[..],
    };
    let mut history = history_of_lines(whole.split(|b| *b == b'\n'));
    history.truncated = truncated;
    Ok(history)
}

/// The history of a session file's lines: a pure function of the text.
pub fn history_of_lines<'a>(lines: impl Iterator<Item = &'a [u8]>) -> History {
    let mut history = History::default();
    let mut translator = Translator::new();
    // where each assistant message's event is: its later blocks replace it in place
    let mut messages = std::collections::HashMap::new();
    // the tool calls made so far: a result is shown with its call, never alone (a tail read
    // may start after the call)
    let mut calls = std::collections::HashSet::new();
    for line in lines {
        if line.len() > MAX_LINE_BYTES {
            history.oversize += 1;
            continue;
        }
        let Some(entry) = entry(line) else { continue };
        if let Some(content) = prompt(&entry) {
            history.prompts += 1;
            let client_id = format!("resumed-{}", history.prompts);
            history.events.push(GatewayEvent::UserMessage { client_id, content, queued: false });
            continue;
        }
        if !matches!(entry.get("type").and_then(Value::as_str), Some("assistant" | "user")) || is_aside(&entry) {
            continue;
        }
        for out in translator.value(&entry) {
            match out {
                Output::Event(GatewayEvent::Message { message }) => {
                    calls.extend(message.content.iter().filter_map(|b| match b {
                        AssistantBlock::ToolUse { id, .. } => Some(id.clone()),
                        _ => None,
                    }));
                    let at = *messages.entry(message.id.clone()).or_insert(history.events.len());
                    let event = GatewayEvent::Message { message };
                    match history.events.get_mut(at) {
                        Some(slot) => *slot = event,
                        None => history.events.push(event),
                    }
                }
                Output::Event(GatewayEvent::ToolResult { tool_call_id, result, is_error }) if calls.contains(&tool_call_id) => {
                    history.events.push(GatewayEvent::ToolResult { tool_call_id, result, is_error });
                }
                _ => {}
            }
        }
    }
    history
}

/// One line as a JSON object, or `None` (not JSON, not an object, nested too deep).
fn entry(line: &[u8]) -> Option<Value> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    serde_json::from_slice::<Value>(line).ok().filter(Value::is_object)
}

/// An entry the person did not write and that is not part of the main conversation: the CLI's
/// own notes (`isMeta`), a subagent's side conversation, a compaction summary.
fn is_aside(entry: &Value) -> bool {
    ["isMeta", "isSidechain", "isCompactSummary"].iter().any(|k| entry.get(*k).and_then(Value::as_bool) == Some(true))
}

/// The content of a prompt a person typed, if the entry is one: a `user` entry of the main
/// conversation whose content is text (and images), not tool results and not a slash command's
/// markup.
fn prompt(entry: &Value) -> Option<Vec<ContentBlock>> {
    if entry.get("type").and_then(Value::as_str) != Some("user") || is_aside(entry) {
        return None;
    }
    let content = entry.pointer("/message/content")?;
    let blocks: Vec<ContentBlock> = match content {
        Value::String(text) => vec![ContentBlock::text(text.clone())],
        Value::Array(blocks) => {
            if blocks.iter().any(|b| b.get("type").and_then(Value::as_str) == Some("tool_result")) {
                return None;
            }
            blocks.iter().filter_map(|b| serde_json::from_value::<ContentBlock>(b.clone()).ok()).collect()
        }
        _ => return None,
    };
    let text = prompt_text(&blocks);
    let markup = ["<command-", "<local-command-", "<bash-", "<system-reminder>"].iter().any(|m| text.starts_with(m));
    let has_image = blocks.iter().any(|b| matches!(b, ContentBlock::Image { .. }));
    (!markup && (!text.is_empty() || has_image)).then_some(blocks)
}

/// The text blocks of a prompt, joined.
fn prompt_text(blocks: &[ContentBlock]) -> String {
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text { text } => Some(text.trim()),
            _ => None,
        })
        .collect();
    texts.join("\n")
}

/// `text` cut to `max` characters, ending in `…` when cut.
fn cut(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

#[cfg(test)]
mod tests;
