//! What a session is started with: model, permission mode, and the tool policy that gates every
//! tool call (DESIGN.md: deny beats allow; everything else asks).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

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

/// What the policy says about one tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyDecision {
    Allow,
    Deny,
    /// Nobody decided: a human must.
    Ask,
}

impl ToolPolicy {
    /// Decides a tool call: a matching deny rule wins, then a matching allow rule; otherwise ask.
    /// `cwd` is the worktree, so that path rules like `Edit(src/**)` match absolute file paths.
    pub fn decide(&self, tool: &str, input: &Value, cwd: &str) -> PolicyDecision {
        if self.deny.iter().any(|r| r.matches(tool, input, cwd)) {
            PolicyDecision::Deny
        } else if self.allow.iter().any(|r| r.matches(tool, input, cwd)) {
            PolicyDecision::Allow
        } else {
            PolicyDecision::Ask
        }
    }
}

/// A rule in Claude Code's permission-rule syntax: `Tool` or `Tool(pattern)`.
///
/// The pattern is matched against the tool's main argument: the command for `Bash`, the path
/// (relative to the worktree) for file tools, the URL's host as `domain:HOST` for `WebFetch`.
/// `*` matches any run of characters (not `/` in paths), `**` any run at all, and a trailing
/// `:*` is Claude Code's prefix form (`Bash(npm run test:*)`).
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

impl FromStr for PermissionRule {
    type Err = RuleParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
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

impl PermissionRule {
    /// Whether this rule covers a call of `tool` with `input` in the worktree `cwd`.
    pub fn matches(&self, tool: &str, input: &Value, cwd: &str) -> bool {
        if self.tool != tool {
            return false;
        }
        let Some(pattern) = &self.pattern else { return true };
        let pattern = match pattern.strip_suffix(":*") {
            Some(prefix) => format!("{prefix}*"),
            None => pattern.clone(),
        };
        match subject_of(tool, input, cwd) {
            Some(Subject::Command(cmd)) => glob(pattern.as_bytes(), cmd.as_bytes(), false),
            Some(Subject::Path(path)) => glob(pattern.as_bytes(), path.as_bytes(), true),
            None => false,
        }
    }
}

enum Subject {
    Command(String),
    Path(String),
}

/// The argument a rule's pattern is matched against, per tool.
fn subject_of(tool: &str, input: &Value, cwd: &str) -> Option<Subject> {
    let field = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_string);
    match tool {
        "Bash" => field("command").map(Subject::Command),
        "Read" | "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => field("file_path")
            .or_else(|| field("notebook_path"))
            .map(|p| Subject::Path(relative_to(&p, cwd))),
        "Glob" | "Grep" => field("path").map(|p| Subject::Path(relative_to(&p, cwd))),
        "WebFetch" => field("url").map(|u| Subject::Command(format!("domain:{}", host_of(&u)))),
        _ => None,
    }
}

fn relative_to(path: &str, cwd: &str) -> String {
    let cwd = cwd.trim_end_matches('/');
    match path.strip_prefix(cwd).and_then(|rest| rest.strip_prefix('/')) {
        Some(rest) if !cwd.is_empty() => rest.to_string(),
        _ => path.to_string(),
    }
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', ':', '?', '#']).next().unwrap_or(rest)
}

/// Glob match: `**` any run; `*` any run (not `/` when `path` is set); other bytes literally.
fn glob(pattern: &[u8], text: &[u8], path: bool) -> bool {
    match pattern {
        [] => text.is_empty(),
        [b'*', b'*', rest @ ..] => {
            let rest = rest.strip_prefix(b"/").filter(|_| path).unwrap_or(rest);
            (0..=text.len()).any(|i| glob(rest, &text[i..], path))
        }
        [b'*', rest @ ..] => {
            for i in 0..=text.len() {
                if glob(rest, &text[i..], path) {
                    return true;
                }
                if path && text.get(i) == Some(&b'/') {
                    return false;
                }
            }
            false
        }
        [c, rest @ ..] => text.first() == Some(c) && glob(rest, &text[1..], path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(allow: &[&str], deny: &[&str]) -> ToolPolicy {
        let parse = |v: &[&str]| v.iter().map(|r| r.parse().unwrap()).collect();
        ToolPolicy { allow: parse(allow), deny: parse(deny) }
    }

    #[test]
    fn deny_beats_allow_and_the_rest_asks() {
        let p = policy(&["Bash"], &["Bash(rm *)"]);
        let bash = |c: &str| json!({ "command": c });
        assert_eq!(p.decide("Bash", &bash("rm -rf /"), "/w"), PolicyDecision::Deny);
        assert_eq!(p.decide("Bash", &bash("ls"), "/w"), PolicyDecision::Allow);
        assert_eq!(p.decide("Write", &json!({"file_path": "/w/a"}), "/w"), PolicyDecision::Ask);
    }

    #[test]
    fn bash_prefix_patterns() {
        let p = policy(&["Bash(git status*)", "Bash(npm run test:*)"], &[]);
        let d = |c: &str| p.decide("Bash", &json!({ "command": c }), "/w");
        assert_eq!(d("git status --short"), PolicyDecision::Allow);
        assert_eq!(d("git status"), PolicyDecision::Allow);
        assert_eq!(d("npm run test -- --watch"), PolicyDecision::Allow);
        assert_eq!(d("git push"), PolicyDecision::Ask);
    }

    #[test]
    fn path_patterns_are_relative_to_the_worktree() {
        let p = policy(&["Edit(src/**)", "Write(*.md)"], &[]);
        let d = |t: &str, f: &str| p.decide(t, &json!({ "file_path": f }), "/w/proj");
        assert_eq!(d("Edit", "/w/proj/src/a/b.rs"), PolicyDecision::Allow);
        assert_eq!(d("Edit", "/w/proj/tests/a.rs"), PolicyDecision::Ask);
        assert_eq!(d("Write", "/w/proj/README.md"), PolicyDecision::Allow);
        assert_eq!(d("Write", "/w/proj/docs/README.md"), PolicyDecision::Ask);
    }

    #[test]
    fn webfetch_domains() {
        let p = policy(&["WebFetch(domain:docs.rs)"], &[]);
        let d = |u: &str| p.decide("WebFetch", &json!({ "url": u }), "/w");
        assert_eq!(d("https://docs.rs/worker"), PolicyDecision::Allow);
        assert_eq!(d("https://evil.example/docs.rs"), PolicyDecision::Ask);
    }

    #[test]
    fn rules_round_trip_and_bad_rules_are_refused() {
        for r in ["Bash", "Bash(git status*)", "Edit(src/**)"] {
            let rule: PermissionRule = r.parse().unwrap();
            assert_eq!(rule.to_string(), r);
        }
        for bad in ["", "Bash(unclosed", "(x)", "Ba sh"] {
            assert!(bad.parse::<PermissionRule>().is_err(), "{bad:?} should be refused");
        }
        let err = serde_json::from_str::<ToolPolicy>(r#"{"allow":["Bash(x"]}"#).unwrap_err();
        assert!(err.to_string().contains("must end with"), "{err}");
    }
}
