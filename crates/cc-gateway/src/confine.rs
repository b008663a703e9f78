//! Keeps every name and path that comes from a request inside its project or worktree
//! (DESIGN.md, invariant 6).
//!
//! A request path is checked twice: lexically (no NUL, no absolute path, no `..`, no `%` left
//! after the one decoding axum does, so a double-encoded `%252e%252e` never reaches a layer that
//! might decode again), then on disk: the joined path is canonicalized (symlinks resolved) and
//! must still start with the canonical root. Either failure is a 400.

use std::path::{Component, Path, PathBuf};

use crate::api_error::ApiError;

/// The longest project or worktree name accepted.
const MAX_NAME_LEN: usize = 100;

/// Refuses a project or worktree name that is not 1-100 of `[A-Za-z0-9._-]` or starts with `.`
/// (hidden entries such as `.worktrees` are ours, and `.`/`..` are never names).
pub fn check_name<'a>(what: &str, name: &'a str) -> Result<&'a str, ApiError> {
    let charset_ok = name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if name.is_empty() || name.len() > MAX_NAME_LEN || !charset_ok || name.starts_with('.') {
        return Err(ApiError::InvalidInput(format!(
            "invalid {what} name {name:?}: use 1-{MAX_NAME_LEN} of letters, digits, '.', '_', '-', not starting with '.'"
        )));
    }
    Ok(name)
}

/// Checks a request path without touching the disk and returns it as a relative path
/// (empty for the root).
pub fn check_relative(raw: &str) -> Result<PathBuf, ApiError> {
    let refuse = |why: &str| Err(ApiError::InvalidInput(format!("path {raw:?} refused: {why}")));
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
pub fn resolve(root: &Path, raw: &str) -> Result<PathBuf, ApiError> {
    let relative = check_relative(raw)?;
    contain(root, &relative)
}

/// Canonicalizes `root.join(relative)` (symlinks followed) and refuses it unless it is still
/// inside `root`. For paths the gateway builds itself, such as `.kata/sessions/<id>/state.json`.
pub fn contain(root: &Path, relative: &Path) -> Result<PathBuf, ApiError> {
    let shown = relative.display();
    let root = root.canonicalize().map_err(|e| ApiError::io("the checkout", &e))?;
    let resolved = root.join(relative).canonicalize().map_err(|e| ApiError::io(&format!("path \"{shown}\""), &e))?;
    if !resolved.starts_with(&root) {
        return Err(ApiError::InvalidInput(format!("path \"{shown}\" refused: it leads outside the checkout (symlink)")));
    }
    Ok(resolved)
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
        assert!(matches!(resolve(root.path(), "out"), Err(ApiError::InvalidInput(_))));
        assert!(matches!(resolve(root.path(), "missing"), Err(ApiError::NotFound(_))));
    }
}
