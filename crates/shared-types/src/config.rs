//! What a session is started with: model, permission mode, and the tool policy that gates every
//! tool call (DESIGN.md: deny beats allow; everything else asks), with the rule syntax and the
//! pure matching the gate decides with (`cc-gateway/src/gate.rs` applies them).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use shared_types_derive::TagFirst;
use serde_json::Value;

use crate::shell::SimpleCommand;

/// The configuration a session is created with (`session.create{config}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionConfig {
    /// The project (a git repository under the gateway's projects root).
    pub project: String,
    /// The worktree's name inside the project; `None` runs in the project's main checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default)]
    pub permission_mode: PermissionMode,
    #[serde(default)]
    pub policy: ToolPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A Claude Code session recorded on the gateway's machine (its id, a UUID) that this
    /// session resumes: the runner shows its history and passes `--resume` to the CLI. Absent: a
    /// new Claude session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
}

/// Claude Code's `--permission-mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PermissionMode {
    #[default]
    #[serde(rename = "default")]
    Default,
    #[serde(rename = "acceptEdits")]
    AcceptEdits,
    #[serde(rename = "plan")]
    Plan,
    #[serde(rename = "bypassPermissions")]
    BypassPermissions,
}

impl PermissionMode {
    /// The value Claude Code's `--permission-mode` flag takes.
    pub fn as_cli_arg(self) -> &'static str {
        match self {
            PermissionMode::Default => "default",
            PermissionMode::AcceptEdits => "acceptEdits",
            PermissionMode::Plan => "plan",
            PermissionMode::BypassPermissions => "bypassPermissions",
        }
    }
}

/// A session's tool policy: `{allow: [rule], deny: [rule]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolPolicy {
    #[serde(default)]
    pub allow: Vec<PermissionRule>,
    #[serde(default)]
    pub deny: Vec<PermissionRule>,
}

/// A rule in Claude Code's permission-rule syntax: `Tool` or `Tool(pattern)`.
///
/// What the pattern is matched against, per tool (the gate in cc-gateway decides with these):
/// - `Bash`: each simple command of the command line (see [`crate::shell`]). `Bash(npm run test:*)`
///   is a word prefix (`npm run test`, `npm run test -- --watch`, not `npm run testx`);
///   `Bash(git status*)` is a glob over one simple command's text, `*` any run of characters.
/// - File tools (`Read`, `Write`, `Edit`, `MultiEdit`, `NotebookEdit`, `Glob`, `Grep`): the path,
///   normalised and resolved by the gate. A relative pattern (`Edit(src/**)`, or `/src/**`,
///   relative to the worktree's root) only ever matches inside the worktree; `//abs/**` matches
///   an absolute path and is meant for deny rules. `*` is any run without `/`, `**` any run,
///   `**/` zero or more directories, `?` one character other than `/`.
/// - `WebFetch(domain:HOST)`: the URL's host (`*` any run).
///
/// An allow rule never matches a path outside the worktree; a pattern on any other tool matches
/// nothing (only the bare tool name covers it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionRule {
    pub tool: String,
    pub pattern: Option<String>,
}

/// Why a rule string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleParseError(pub String);

impl fmt::Display for RuleParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid permission rule: {}", self.0)
    }
}

impl std::error::Error for RuleParseError {}

/// The tools whose rules are about a path.
pub const PATH_TOOLS: &[&str] = &["Read", "Write", "Edit", "MultiEdit", "NotebookEdit", "Glob", "Grep"];

/// The longest rule accepted.
const MAX_RULE_BYTES: usize = 1024;

impl FromStr for PermissionRule {
    type Err = RuleParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() > MAX_RULE_BYTES {
            return Err(RuleParseError(format!("a rule is at most {MAX_RULE_BYTES} bytes")));
        }
        let (tool, pattern) = match s.find('(') {
            None => (s, None),
            Some(open) => {
                let inner = s[open + 1..].strip_suffix(')').ok_or_else(|| {
                    RuleParseError(format!("`{s}`: a pattern must end with `)`"))
                })?;
                (&s[..open], Some(inner.to_string()))
            }
        };
        let valid_name = !tool.is_empty()
            && tool.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            return Err(RuleParseError(format!(
                "`{s}`: expected `Tool` or `Tool(pattern)`, e.g. `Bash(git status*)`"
            )));
        }
        if let Some(p) = &pattern {
            if p.is_empty() || p.chars().any(crate::shell::is_deceptive_char) {
                return Err(RuleParseError(format!("`{s}`: the pattern is empty or holds invisible characters")));
            }
            if tool == "Bash" {
                if let Some(prefix) = p.strip_suffix(":*") {
                    prefix_words(prefix).ok_or_else(|| {
                        RuleParseError(format!(
                            "`{s}`: the prefix before `:*` must be one plain command, e.g. `npm run test:*`"
                        ))
                    })?;
                }
            }
            if PATH_TOOLS.contains(&tool) && p.starts_with('~') {
                return Err(RuleParseError(format!("`{s}`: write a path outside the worktree as `//absolute/path`")));
            }
        }
        Ok(PermissionRule { tool: tool.to_string(), pattern })
    }
}

impl fmt::Display for PermissionRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pattern {
            None => f.write_str(&self.tool),
            Some(p) => write!(f, "{}({})", self.tool, p),
        }
    }
}

impl Serialize for PermissionRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PermissionRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a file tool's path leads, once the gate has normalised it (`.`, `..`, `//`) and
/// followed the symlinks that exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileTarget {
    /// Inside the worktree: the path relative to its root (`""` for the root) and absolute.
    Inside { rel: String, abs: String },
    /// Outside the worktree (absolute), or not resolvable with certainty (`None`).
    Outside { abs: Option<String> },
}

/// Whether a rule is used to allow or to deny: an allow rule never reaches outside the
/// worktree; a deny rule also matches `/usr/bin/rm` for `rm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

impl PermissionRule {
    /// Whether this rule covers one simple command of a `Bash` call.
    pub fn matches_command(&self, command: &SimpleCommand, effect: Effect) -> bool {
        if self.tool != "Bash" {
            return false;
        }
        let Some(pattern) = &self.pattern else { return true };
        let check = |words: &[String], text: &str| match pattern.strip_suffix(":*") {
            Some(prefix) => prefix_words(prefix).is_some_and(|p| words.starts_with(&p)),
            None => glob(pattern, text, false),
        };
        if check(&command.words, &command.text) {
            return true;
        }
        let name = &command.words[0];
        match (effect, name.rsplit_once('/')) {
            (Effect::Deny, Some((_, base))) if !base.is_empty() => {
                let mut words = command.words.clone();
                words[0] = base.to_string();
                check(&words, &words.join(" "))
            }
            _ => false,
        }
    }

    /// Whether this rule covers a file tool's call on `target`.
    pub fn matches_path(&self, tool: &str, target: &FileTarget, effect: Effect) -> bool {
        if self.tool != tool {
            return false;
        }
        match (target, effect, &self.pattern) {
            (FileTarget::Outside { .. }, Effect::Allow, _) => false,
            (_, _, None) => true,
            (FileTarget::Inside { rel, abs }, _, Some(p)) => match p.strip_prefix("//") {
                Some(absolute) => glob(absolute, abs.trim_start_matches('/'), true),
                None => glob(p.strip_prefix('/').unwrap_or(p), rel, true),
            },
            (FileTarget::Outside { abs: Some(abs) }, Effect::Deny, Some(p)) => {
                p.strip_prefix("//").is_some_and(|absolute| glob(absolute, abs.trim_start_matches('/'), true))
            }
            (FileTarget::Outside { abs: None }, Effect::Deny, Some(_)) => false,
        }
    }

    /// Whether this rule covers a `WebFetch` of a URL whose host is `host` (`None`: unreadable).
    pub fn matches_host(&self, host: Option<&str>) -> bool {
        if self.tool != "WebFetch" {
            return false;
        }
        match (&self.pattern, host) {
            (None, _) => true,
            (Some(p), Some(host)) => p.strip_prefix("domain:").is_some_and(|d| glob(&d.to_ascii_lowercase(), host, false)),
            (Some(_), None) => false,
        }
    }

    /// Whether this is the bare tool name (covering every call of the tool).
    pub fn is_whole_tool(&self, tool: &str) -> bool {
        self.tool == tool && self.pattern.is_none()
    }
}

/// The words of a `Bash(prefix:*)` rule's prefix: one plain simple command.
fn prefix_words(prefix: &str) -> Option<Vec<String>> {
    match crate::shell::analyse(prefix).ok()?.as_slice() {
        [one] if one.redirects.is_empty() => Some(one.words.clone()),
        _ => None,
    }
}

/// The host of an http(s) URL, lower-cased, without user info or port; `None` when it is not a
/// plain host name (so no domain rule can match a URL the gate cannot read).
pub fn host_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#', '\\']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host_port.split(':').next()?.to_ascii_lowercase();
    let plain = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    plain.then_some(host)
}

/// Glob match in one pass over `text`: an NFA over the pattern's positions, so time is
/// `O(text × pattern)` and never exponential. `*` is any run (without `/` when `path`), `**` any
/// run, `**/` zero or more directories, `?` one character other than `/`; the rest is literal.
/// Without `path` (command rules, as in Claude Code) only `*` is special.
pub fn glob(pattern: &str, text: &str, path: bool) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Lit(char),
        One,
        Star,
        Globstar,
        GlobstarSlash,
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut toks = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let tok = match chars[i] {
            '*' if path && chars.get(i + 1) == Some(&'*') => {
                i += 1;
                if chars.get(i + 1) == Some(&'/') {
                    i += 1;
                    Tok::GlobstarSlash
                } else {
                    Tok::Globstar
                }
            }
            '*' => Tok::Star,
            '?' if path => Tok::One,
            c => Tok::Lit(c),
        };
        if !(tok == Tok::Star && toks.last() == Some(&Tok::Star)) {
            toks.push(tok);
        }
        i += 1;
    }
    let n = toks.len();
    let close = |states: &mut [bool]| {
        for i in 0..n {
            if states[i] && matches!(toks[i], Tok::Star | Tok::Globstar | Tok::GlobstarSlash) {
                states[i + 1] = true;
            }
        }
    };
    let mut states = vec![false; n + 1];
    states[0] = true;
    close(&mut states);
    let mut next = vec![false; n + 1];
    for c in text.chars() {
        next.iter_mut().for_each(|s| *s = false);
        let plain = !path || c != '/';
        for i in (0..n).filter(|&i| states[i]) {
            match toks[i] {
                Tok::Lit(l) if l == c => next[i + 1] = true,
                Tok::One if plain => next[i + 1] = true,
                Tok::Star if plain => next[i] = true,
                Tok::Globstar => next[i] = true,
                Tok::GlobstarSlash => {
                    next[i] = true;
                    next[i + 1] |= c == '/';
                }
                _ => {}
            }
        }
        close(&mut next);
        if !next.contains(&true) {
            return false;
        }
        std::mem::swap(&mut states, &mut next);
    }
    states[n]
}

/// What "approve for this session" remembers: exactly what the person was shown, never more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TagFirst)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Grant {
    /// `Bash`: a simple command whose words begin with these (shown as `npm run test …`).
    CommandPrefix { words: Vec<String> },
    /// `Bash`: a simple command with exactly these words.
    Command { words: Vec<String> },
    /// A file tool on this one file (relative to the worktree).
    File { tool: String, path: String },
    /// A file tool on anything under this directory of the worktree (`""` is all of it).
    Directory { tool: String, path: String },
    /// Any other tool, called with exactly this input.
    Input { tool: String, input: Value },
}

impl Grant {
    /// Whether the grant covers one simple command of a `Bash` call.
    pub fn covers_command(&self, command: &SimpleCommand) -> bool {
        match self {
            Grant::CommandPrefix { words } => command.words.starts_with(words),
            Grant::Command { words } => &command.words == words,
            _ => false,
        }
    }

    /// Whether the grant covers a file tool's call on `target` (only ever inside the worktree).
    pub fn covers_path(&self, tool: &str, target: &FileTarget) -> bool {
        let FileTarget::Inside { rel, .. } = target else { return false };
        match self {
            Grant::File { tool: t, path } => t == tool && rel == path,
            Grant::Directory { tool: t, path } => {
                t == tool && (path.is_empty() || rel.strip_prefix(path.as_str()).is_some_and(|r| r.starts_with('/')))
            }
            _ => false,
        }
    }

    /// Whether the grant covers a call of another tool with exactly `input`.
    pub fn covers_input(&self, tool: &str, input: &Value) -> bool {
        matches!(self, Grant::Input { tool: t, input: i } if t == tool && i == input)
    }

    /// How the grant reads on an approval card: "npm run test …", "Edit src/a.rs".
    pub fn describe(&self) -> String {
        match self {
            Grant::CommandPrefix { words } => format!("{} …", words.join(" ")),
            Grant::Command { words } => format!("exactly `{}`", words.join(" ")),
            Grant::File { tool, path } => format!("{tool} {path}"),
            Grant::Directory { tool, path } if path.is_empty() => format!("{tool} anywhere in the worktree"),
            Grant::Directory { tool, path } => format!("{tool} anything under {path}/"),
            Grant::Input { tool, .. } => format!("{tool} with this exact input"),
        }
    }
}

/// One choice for "approve for this session": the grants it adds and how the card shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionGrant {
    /// What will be allowed from then on, in words ("Bash: npm run test …").
    pub summary: String,
    pub grants: Vec<Grant>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::analyse;

    fn rule(r: &str) -> PermissionRule {
        r.parse().unwrap()
    }

    fn inside(rel: &str) -> FileTarget {
        FileTarget::Inside { rel: rel.into(), abs: format!("/w/proj/{rel}") }
    }

    #[test]
    fn globs_over_paths_and_commands() {
        let cases = [
            ("src/**", "src/a/b.rs", true, true),
            ("src/**", "srcx/a.rs", true, false),
            ("**/*.rs", "a.rs", true, true),
            ("**/*.rs", "a/b/c.rs", true, true),
            ("*.md", "README.md", true, true),
            ("*.md", "docs/README.md", true, false),
            ("a?c", "abc", true, true),
            ("a?c", "a/c", true, false),
            ("git status*", "git status --short", false, true),
            ("git status*", "git statu", false, false),
            ("a?c", "a?c", false, true),
            ("a?c", "abc", false, false),
        ];
        for (pattern, text, path, expected) in cases {
            assert_eq!(glob(pattern, text, path), expected, "{pattern} vs {text}");
        }
    }

    #[test]
    fn a_backtracking_pattern_is_linear() {
        // `*a*a*a*a*a*a*b` against 100,000 `a`s: exponential for a backtracking matcher.
        let text = "a".repeat(100_000);
        assert!(!glob("*a*a*a*a*a*a*a*a*b", &text, false));
        assert!(!glob("**a**a**a**a**b", &text, true));
    }

    #[test]
    fn word_prefix_rules_match_whole_words() {
        let r = rule("Bash(npm run test:*)");
        let one = |c: &str| analyse(c).unwrap().remove(0);
        assert!(r.matches_command(&one("npm run test"), Effect::Allow));
        assert!(r.matches_command(&one("npm run test -- --watch"), Effect::Allow));
        assert!(r.matches_command(&one("npm 'run' test"), Effect::Allow), "quotes are removed first");
        assert!(!r.matches_command(&one("npm run testx"), Effect::Allow));
        assert!(!r.matches_command(&one("npm run"), Effect::Allow));
        let deny = rule("Bash(rm:*)");
        assert!(deny.matches_command(&one("/bin/rm -rf x"), Effect::Deny), "a path to rm is rm to a deny rule");
        assert!(!deny.matches_command(&one("/bin/rm -rf x"), Effect::Allow));
    }

    #[test]
    fn path_rules_never_allow_outside_the_worktree() {
        let outside = FileTarget::Outside { abs: Some("/etc/passwd".into()) };
        assert!(!rule("Read").matches_path("Read", &outside, Effect::Allow));
        assert!(rule("Read").matches_path("Read", &outside, Effect::Deny));
        assert!(!rule("Read(//etc/**)").matches_path("Read", &outside, Effect::Allow));
        assert!(rule("Read(//etc/**)").matches_path("Read", &outside, Effect::Deny));
        assert!(rule("Edit(src/**)").matches_path("Edit", &inside("src/a.rs"), Effect::Allow));
        assert!(rule("Edit(/src/**)").matches_path("Edit", &inside("src/a.rs"), Effect::Allow));
        assert!(!rule("Edit(src/**)").matches_path("Write", &inside("src/a.rs"), Effect::Allow));
        assert!(!rule("Edit(src/**)").matches_path("Edit", &FileTarget::Outside { abs: None }, Effect::Deny));
    }

    #[test]
    fn hosts_are_read_strictly() {
        assert_eq!(host_of("https://Docs.rs/worker").as_deref(), Some("docs.rs"));
        assert_eq!(host_of("https://docs.rs@evil.example/").as_deref(), Some("evil.example"));
        assert_eq!(host_of("https://evil.example\\@docs.rs/").as_deref(), Some("evil.example"));
        assert_eq!(host_of("https://docs.rs:8443/x").as_deref(), Some("docs.rs"));
        assert_eq!(host_of("file:///etc/passwd"), None);
        assert_eq!(host_of("https://dоcs.rs/"), None, "a Cyrillic о is not a plain host");
        let r = rule("WebFetch(domain:docs.rs)");
        assert!(r.matches_host(Some("docs.rs")));
        assert!(!r.matches_host(Some("evil.example")));
        assert!(!r.matches_host(None));
    }

    #[test]
    fn grants_cover_exactly_what_they_say() {
        let one = |c: &str| analyse(c).unwrap().remove(0);
        let prefix = Grant::CommandPrefix { words: vec!["npm".into(), "run".into(), "test".into()] };
        assert!(prefix.covers_command(&one("npm run test -- --watch")));
        assert!(!prefix.covers_command(&one("npm run testx")));
        let file = Grant::File { tool: "Edit".into(), path: "src/a.rs".into() };
        assert!(file.covers_path("Edit", &inside("src/a.rs")));
        assert!(!file.covers_path("Write", &inside("src/a.rs")));
        assert!(!file.covers_path("Edit", &inside("src/a.rs.bak")));
        let dir = Grant::Directory { tool: "Edit".into(), path: "src".into() };
        assert!(dir.covers_path("Edit", &inside("src/x/y.rs")));
        assert!(!dir.covers_path("Edit", &inside("srcx/y.rs")));
        assert!(!dir.covers_path("Edit", &FileTarget::Outside { abs: Some("/w/proj/src/a".into()) }));
        assert_eq!(prefix.describe(), "npm run test …");
    }

    #[test]
    fn rules_round_trip_and_bad_rules_are_refused() {
        for r in ["Bash", "Bash(git status*)", "Edit(src/**)", "Bash(npm run test:*)", "Read(//etc/**)"] {
            assert_eq!(rule(r).to_string(), r);
        }
        for bad in ["", "Bash(unclosed", "(x)", "Ba sh", "Bash()", "Bash(a; b:*)", "Bash($X:*)", "Read(~/x)", "Bash(a\u{202e}b)"] {
            assert!(bad.parse::<PermissionRule>().is_err(), "{bad:?} should be refused");
        }
        let err = serde_json::from_str::<ToolPolicy>(r#"{"allow":["Bash(x"]}"#).unwrap_err();
        assert!(err.to_string().contains("must end with"), "{err}");
    }
}
