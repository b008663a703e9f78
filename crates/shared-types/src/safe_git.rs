//! How the gateway, the runner and kata run git in a repository that a session may have
//! written: never a program the repository configures. A session can write `.git/config`
//! (fsmonitor, hooks, filters, external diff and textconv drivers, credential helpers, pagers),
//! `.gitattributes` and hooks; any git command that honoured them would run that program
//! outside the tool gate. Callers build the command from these pieces (both spawn git
//! themselves: this crate does no I/O) and check it against the git in use in their tests.

/// `-c` settings that switch off every repository-configured program a local git command can
/// run. Command-line `-c` beats every config file, and git hands it on to the git processes it
/// starts (submodules included).
pub const CONFIG: &[&str] = &[
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "core.editor=false",
    "core.askPass=",
    "core.sshCommand=false",
    "credential.helper=",
    "diff.external=",
    "gpg.program=false",
    "log.showSignature=false",
    "protocol.allow=never",
    "gc.auto=0",
    "maintenance.auto=false",
    "submodule.recurse=false",
];

/// Set for every git command: no system or global config (only the repository's own, which the
/// overrides above neutralise), no prompts, no optional locks, no pager.
pub const ENV: &[(&str, &str)] = &[
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_TERMINAL_PROMPT", "0"),
    ("GIT_OPTIONAL_LOCKS", "0"),
    ("GIT_PAGER", "cat"),
    ("LC_ALL", "C"),
];

/// Every inherited variable starting with this is removed first (`GIT_DIR`, `GIT_EXTERNAL_DIFF`,
/// `GIT_SSH_COMMAND`, `GIT_CONFIG_PARAMETERS`...): the command is exactly what is built here.
pub const ENV_CLEARED_PREFIX: &str = "GIT_";

/// Whether an inherited environment variable is removed before git runs.
pub fn clears(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with(ENV_CLEARED_PREFIX)
}

/// The arguments of one hardened git command: `-c` for each of [`CONFIG`] and then `extra` (the
/// [`filter_overrides`]), then `command` with [`DIFF_FLAGS`] after a subcommand that shows diffs.
pub fn args<S: AsRef<std::ffi::OsStr>>(extra: &[String], command: &[S]) -> Vec<std::ffi::OsString> {
    let mut out = Vec::with_capacity(2 * (CONFIG.len() + extra.len()) + command.len() + DIFF_FLAGS.len());
    for setting in CONFIG.iter().copied().chain(extra.iter().map(String::as_str)) {
        out.push("-c".into());
        out.push(setting.into());
    }
    let mut command = command.iter().map(|a| a.as_ref().to_os_string());
    if let Some(sub) = command.next() {
        let diffs = sub.to_str().is_some_and(shows_diffs);
        out.push(sub);
        if diffs {
            out.extend(DIFF_FLAGS.iter().map(Into::into));
        }
    }
    out.extend(command);
    out
}

/// Flags for the commands that show diffs (`diff`, `log`, `show`): no external diff program, no
/// textconv filter (both configurable per path through `.gitattributes`).
pub const DIFF_FLAGS: &[&str] = &["--no-ext-diff", "--no-textconv"];

/// Whether `subcommand` takes [`DIFF_FLAGS`].
pub fn shows_diffs(subcommand: &str) -> bool {
    matches!(subcommand, "diff" | "log" | "show")
}

/// The arguments that list the repository's filter drivers: `config --name-only --get-regexp`
/// (reading config runs nothing). Git exits 1 when there are none.
pub const LIST_FILTERS: &[&str] = &["config", "--name-only", "--get-regexp", r"^filter\."];

/// `-c` settings that switch off every filter driver named in `listing` (the output of
/// [`LIST_FILTERS`]): a driver's `clean`/`smudge`/`process` command runs whenever git reads or
/// writes a file whose `.gitattributes` names it (`status` and `worktree add` included), and an
/// empty command is no filter.
pub fn filter_overrides(listing: &str) -> Vec<String> {
    let mut drivers: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.trim().strip_prefix("filter."))
        .filter_map(|rest| rest.rsplit_once('.').map(|(driver, _)| driver))
        .collect();
    drivers.sort_unstable();
    drivers.dedup();
    drivers
        .into_iter()
        .flat_map(|d| ["clean=", "smudge=", "process=", "required=false"].map(|k| format!("filter.{d}.{k}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overrides_come_first_and_diffs_get_their_flags() {
        let a = args(&["filter.x.clean=".to_string()], &["diff", "--name-status"]);
        let a: Vec<&str> = a.iter().map(|s| s.to_str().unwrap()).collect();
        assert_eq!(a[..2], ["-c", "core.fsmonitor=false"]);
        let n = 2 * (CONFIG.len() + 1);
        assert_eq!(a[n - 2..n], ["-c", "filter.x.clean="]);
        assert_eq!(a[n..], ["diff", "--no-ext-diff", "--no-textconv", "--name-status"]);
        let status = args(&[], &["status"]);
        assert_eq!(status.last().map(|s| s.to_str().unwrap()), Some("status"));
    }

    #[test]
    fn every_filter_driver_is_switched_off() {
        let listing = "filter.lfs.clean\nfilter.lfs.smudge\nfilter.a.b.process\n";
        let o = filter_overrides(listing);
        assert!(o.contains(&"filter.lfs.clean=".to_string()));
        assert!(o.contains(&"filter.lfs.process=".to_string()));
        assert!(o.contains(&"filter.a.b.smudge=".to_string()), "driver names may hold dots");
        assert_eq!(o.len(), 8);
        assert!(filter_overrides("").is_empty());
    }
}
