//! Keeps every name and path that comes from a request inside its project or worktree
//! (DESIGN.md, invariant 6).
//!
//! A request path is checked twice: lexically (no NUL, no absolute path, no `..`, no `%` left
//! after the one decoding axum does, so a double-encoded `%252e%252e` never reaches a layer that
//! might decode again), then on disk: the joined path is canonicalized (symlinks resolved) and
//! must still start with the canonical root. Either failure is a 400.
//!
//! Nothing here knows about HTTP: the failures are a [`ConfineError`], which the daemon's
//! routes turn into their error body and the session runner (reading kata's state) into a
//! log line.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use shared_types::shell::is_deceptive_char;
use shared_types::FileTarget;
use tokio::io::AsyncReadExt;

/// Why a name or path from outside was refused, or a file under a checkout could not be read.
/// Each message says what was wrong, for the person who sent it.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfineError {
    /// A name or path we refuse: it leaves its checkout, or is not a name at all.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    NotFound(String),
    /// A file above the cap the caller gave.
    #[error("{0}")]
    TooLarge(String),
    /// The disk refused (permissions, I/O): ours to look at, not the caller's.
    #[error("{0}")]
    Unreadable(String),
}

impl ConfineError {
    /// An I/O failure on the named thing: a missing file is [`ConfineError::NotFound`].
    pub fn io(what: &str, err: &std::io::Error) -> Self {
        match err.kind() {
            std::io::ErrorKind::NotFound => ConfineError::NotFound(format!("{what} does not exist")),
            _ => ConfineError::Unreadable(format!("cannot read {what}: {err}")),
        }
    }
}

/// The longest project or worktree name accepted.
const MAX_NAME_LEN: usize = 100;

/// Refuses a project or worktree name that is not 1-100 of `[A-Za-z0-9._-]` or starts with `.`
/// (hidden entries such as `.worktrees` are ours, and `.`/`..` are never names).
pub fn check_name<'a>(what: &str, name: &'a str) -> Result<&'a str, ConfineError> {
    let charset_ok = name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if name.is_empty() || name.len() > MAX_NAME_LEN || !charset_ok || name.starts_with('.') {
        return Err(ConfineError::Refused(format!(
            "invalid {what} name {name:?}: use 1-{MAX_NAME_LEN} of letters, digits, '.', '_', '-', not starting with '.'"
        )));
    }
    Ok(name)
}

/// Checks a request path without touching the disk and returns it as a relative path
/// (empty for the root).
pub fn check_relative(raw: &str) -> Result<PathBuf, ConfineError> {
    let refuse = |why: &str| Err(ConfineError::Refused(format!("path {raw:?} refused: {why}")));
    if raw.contains('\0') {
        return refuse("it contains a NUL byte");
    }
    if raw.contains('%') {
        return refuse("it is still percent-encoded after decoding (double encoding)");
    }
    let mut relative = PathBuf::new();
    for component in Path::new(raw).components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir => return refuse("'..' is not allowed"),
            Component::RootDir | Component::Prefix(_) => return refuse("it must be relative to the project"),
        }
    }
    Ok(relative)
}

/// Resolves a request path under `root` on disk, symlinks followed, and refuses anything that
/// lands outside `root`. A path that does not exist is a 404.
pub fn resolve(root: &Path, raw: &str) -> Result<PathBuf, ConfineError> {
    let relative = check_relative(raw)?;
    contain(root, &relative)
}

/// Canonicalizes `root.join(relative)` (symlinks followed) and refuses it unless it is still
/// inside `root`. For paths the gateway builds itself, such as `.kata/sessions/<id>/state.json`.
pub fn contain(root: &Path, relative: &Path) -> Result<PathBuf, ConfineError> {
    let shown = relative.display();
    let root = root.canonicalize().map_err(|e| ConfineError::io("the checkout", &e))?;
    let resolved = root.join(relative).canonicalize().map_err(|e| ConfineError::io(&format!("path \"{shown}\""), &e))?;
    if !resolved.starts_with(&root) {
        return Err(ConfineError::Refused(format!("path \"{shown}\" refused: it leads outside the checkout (symlink)")));
    }
    Ok(resolved)
}

/// Opens a file the gateway reads as hostile input (the CLI's session files, claims): never
/// through a final symlink (`ELOOP`), never blocking on a FIFO or taking a terminal; `Ok(None)`
/// when what is there is not a regular file.
pub fn open_regular(path: &Path) -> std::io::Result<Option<(std::fs::File, std::fs::Metadata)>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file =
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY).open(path)?;
    let meta = file.metadata()?;
    Ok(meta.is_file().then_some((file, meta)))
}

/// Reads a regular file of at most `cap` bytes. The path is canonical already; opening with
/// `O_NOFOLLOW` refuses a symlink swapped in since, and `O_NONBLOCK` a FIFO that would hang.
pub async fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, ConfineError> {
    let too_large = |size: u64| ConfineError::TooLarge(format!("the file is {size} bytes; the gateway serves at most {cap}"));
    let file = tokio::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .await
        .map_err(|e| ConfineError::io("the file", &e))?;
    let meta = file.metadata().await.map_err(|e| ConfineError::io("the file", &e))?;
    if !meta.is_file() {
        return Err(ConfineError::Refused("not a regular file; list directories with /files".into()));
    }
    if meta.len() > cap {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes).await.map_err(|e| ConfineError::io("the file", &e))?;
    if bytes.len() as u64 > cap {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// How many symlinks one path may pass through (Linux's own limit).
const MAX_SYMLINKS: usize = 40;

/// Where a path that a tool call names leads, for the gate: made absolute against `cwd` and
/// normalised lexically (`.`, `..`, `//`, as Claude Code's Node.js file tools do), then walked
/// on disk with every symlink that exists followed (a dangling one included), and compared with
/// `root` (canonical). A path that cannot be resolved with certainty (empty, `~`, NUL, invisible
/// characters, a loop of links, an unreadable directory, not UTF-8) is `Outside { abs: None }`.
pub fn locate(root: &Path, cwd: &Path, raw: &str) -> FileTarget {
    let unknown = FileTarget::Outside { abs: None };
    if raw.is_empty() || raw.starts_with('~') || raw.contains('\0') || raw.chars().any(is_deceptive_char) {
        return unknown;
    }
    let joined = cwd.join(raw);
    let Some(real) = follow(&joined) else { return unknown };
    let Some(abs) = real.to_str().map(str::to_string) else { return unknown };
    match real.strip_prefix(root) {
        Ok(rel) => match rel.to_str() {
            Some(rel) => FileTarget::Inside { rel: rel.to_string(), abs },
            None => unknown,
        },
        Err(_) => FileTarget::Outside { abs: Some(abs) },
    }
}

/// `path` (absolute) with `.` and `..` applied and the symlinks on the way followed.
fn follow(path: &Path) -> Option<PathBuf> {
    let mut queue: VecDeque<OsString> = VecDeque::new();
    push_front(&mut queue, path);
    let mut cur = PathBuf::from("/");
    let mut links = 0;
    while let Some(part) = queue.pop_front() {
        if part == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&part);
        match std::fs::symlink_metadata(&next) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return None;
                }
                let target = std::fs::read_link(&next).ok()?;
                if target.is_absolute() {
                    cur = PathBuf::from("/");
                }
                push_front(&mut queue, &target);
            }
            Ok(_) => cur = next,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => cur = next,
            Err(_) => return None,
        }
    }
    Some(cur)
}

/// Puts the components of `path` at the front of `queue`, in order (`.` and roots dropped).
fn push_front(queue: &mut VecDeque<OsString>, path: &Path) {
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    for part in parts.into_iter().rev() {
        queue.push_front(part);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain() {
        assert!(check_name("project", "duraclaw-2.x_y").is_ok());
        for bad in ["", ".", "..", ".worktrees", "a/b", "a b", "a\0b", "é"] {
            assert!(check_name("project", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn relative_paths_stay_relative() {
        assert_eq!(check_relative("").ok(), Some(PathBuf::new()));
        assert_eq!(check_relative("./src//lib.rs").ok(), Some(PathBuf::from("src/lib.rs")));
        for bad in ["../x", "a/../../x", "/etc/passwd", "a\0b", "%2e%2e/x", "..", "a/.."] {
            assert!(check_relative(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        let outside = tempfile::tempdir().expect("tempdir");
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("in.txt"), "x").expect("write");
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).expect("symlink");
        std::os::unix::fs::symlink("in.txt", root.path().join("alias")).expect("symlink");
        assert!(resolve(root.path(), "alias").is_ok());
        assert!(matches!(resolve(root.path(), "out"), Err(ConfineError::Refused(_))));
        assert!(matches!(resolve(root.path(), "missing"), Err(ConfineError::NotFound(_))));
    }

    #[test]
    fn tool_paths_are_located_through_their_symlinks() {
        let outside = tempfile::tempdir().expect("tempdir");
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir(root.join("src")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path(), root.join("out")).expect("symlink");
        std::os::unix::fs::symlink(outside.path().join("new-file"), root.join("dangling")).expect("symlink");
        std::os::unix::fs::symlink("loop", root.join("loop")).expect("symlink");
        let inside = |rel: &str| FileTarget::Inside { rel: rel.into(), abs: root.join(rel).to_string_lossy().into_owned() };
        assert_eq!(locate(&root, &root, "src/./a.rs"), inside("src/a.rs"));
        assert_eq!(locate(&root, &root, "src//../b.rs"), inside("b.rs"));
        assert_eq!(locate(&root, &root, &format!("{}/src/new.rs", root.display())), inside("src/new.rs"));
        assert_eq!(locate(&root, &root, "."), FileTarget::Inside { rel: String::new(), abs: root.to_string_lossy().into_owned() });
        for escape in ["../x", "out/x", "dangling", "/etc/passwd", "src/../../x", "out/../../x"] {
            assert!(matches!(locate(&root, &root, escape), FileTarget::Outside { .. }), "{escape}");
        }
        for unknown in ["", "~/x", "loop/x", "a\u{202e}b"] {
            assert_eq!(locate(&root, &root, unknown), FileTarget::Outside { abs: None }, "{unknown:?}");
        }
    }
}
