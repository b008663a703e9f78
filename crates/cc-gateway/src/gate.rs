//! The tool gate: every tool call is decided here (invariant 4).
//!
//! The `PreToolUse` hook callback (registered at `initialize`) asks [`Gate::pre_tool_use`]; an
//! `ask` makes the CLI send `can_use_tool`, which parks here until a human answers from any
//! device, however long it takes; the first answer wins. `AskUserQuestion` always parks, as a
//! question whose answers go back in `updatedInput`. The gate is plain state (it reads the disk
//! only to follow symlinks): it returns the JSON to answer the CLI with and the events to
//! announce.
//!
//! The rules, in order (ARCHITECTURE.md, "The gate", says the same for people):
//! 1. `AskUserQuestion` asks.
//! 2. A deny rule that matches denies: for Bash, if it matches any simple command of the line.
//! 3. `bypassPermissions` allows the rest.
//! 4. These always ask, whatever the rules, grants and mode: a Bash command the gate cannot read
//!    with certainty ([`shared_types::shell`]), a redirection to a file outside the worktree or
//!    to a protected path, a file tool's path outside the worktree (after `.`/`..`/symlinks) or
//!    not resolvable, and protected paths: `.git` and `.claude` at any depth, `.mcp.json`,
//!    `.kata/`. The session's own state and the gateway's files are outside every worktree.
//! 5. An allow rule or a session grant allows: for Bash, only when every simple command of the
//!    line is covered.
//! 6. `acceptEdits` allows the edit tools on paths inside the worktree.
//! 7. The rest asks.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use shared_types::config::{host_of, Effect};
use shared_types::gateway::{Decision, GatewayEvent, Question, QuestionOption, Scope, ToolCall};
use shared_types::shell::{self, SimpleCommand, Unanalysable};
use shared_types::{FileTarget, Grant, PermissionMode, SessionGrant, ToolPolicy};

use crate::confine::locate;
use crate::translate::PermissionRequest;

/// Who decided, when no human did.
pub const BY_POLICY: &str = "policy";

const QUESTION_TOOL: &str = "AskUserQuestion";
const EDIT_TOOLS: &[&str] = &["Edit", "Write", "MultiEdit", "NotebookEdit"];

/// Files a redirection may name that are not files in any worktree.
const DEVICES: &[&str] = &["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/fd/1", "/dev/fd/2"];

/// Commands whose subcommand is part of what they do (`git status`, `npm run test`): a session
/// grant remembers the subcommand as a word prefix. Any other command is remembered exactly.
const SUBCOMMAND_TOOLS: &[&str] = &[
    "bun", "bundle", "cargo", "composer", "deno", "docker", "dotnet", "gh", "git", "go", "gradle", "helm", "just",
    "kubectl", "make", "mix", "mvn", "npm", "pip", "pip3", "pnpm", "poetry", "rails", "rake", "rustup", "uv", "yarn",
];

/// A hook's verdict on a tool call.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Allow,
    Deny(String),
    /// A person decides; the reason says why no rule could.
    Ask(String),
}

/// A `can_use_tool` request waiting for a human.
#[derive(Debug, Clone)]
struct Parked {
    request_id: String,
    name: String,
    input: Value,
    /// The choices "approve for this session" was offered with.
    offers: Vec<SessionGrant>,
}

/// The answer to send the CLI and what to tell every device.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The `can_use_tool` control request being answered.
    pub request_id: String,
    /// The `response` body of the control response.
    pub response: Value,
    pub events: Vec<GatewayEvent>,
    /// What to remember for the rest of the session (scope `session`).
    pub grants: Vec<Grant>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GateError {
    #[error("tool call {0} is not pending: it was already answered, expired, or never asked")]
    NotPending(String),
    #[error("tool call {0} is a question: answer it with session.answer")]
    IsQuestion(String),
    #[error("tool call {0} is not a question: approve or deny it")]
    NotQuestion(String),
    #[error("tool call {0} offers no session grant number {1}")]
    NoSuchGrant(String, u32),
}

/// What a tool call acts on, as the rules see it.
enum Subject {
    Command(Result<Vec<SimpleCommand>, Unanalysable>),
    File(FileTarget),
    Host(Option<String>),
    Other,
}

pub struct Gate {
    policy: ToolPolicy,
    mode: PermissionMode,
    /// The worktree as the CLI was started in it (relative tool paths are against it).
    cwd: PathBuf,
    /// The same, canonical (what "inside" is measured against).
    root: PathBuf,
    grants: Vec<Grant>,
    parked: HashMap<String, Parked>,
}

impl Gate {
    pub fn new(policy: ToolPolicy, mode: PermissionMode, cwd: &Path, grants: Vec<Grant>) -> Self {
        let root = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
        Gate { policy, mode, cwd: cwd.to_path_buf(), root, grants, parked: HashMap::new() }
    }

    /// The verdict before any human (the module doc lists the rules in order).
    pub fn pre_tool_use(&self, tool: &str, input: &Value) -> Verdict {
        self.verdict(tool, input, &self.subject(tool, input))
    }

    /// [`Self::pre_tool_use`] for a call whose subject is already read.
    fn verdict(&self, tool: &str, input: &Value, subject: &Subject) -> Verdict {
        if tool == QUESTION_TOOL {
            return Verdict::Ask("a question needs a person's answer".into());
        }
        if let Some(reason) = self.denied(tool, subject) {
            return Verdict::Deny(reason);
        }
        if self.mode == PermissionMode::BypassPermissions {
            return Verdict::Allow;
        }
        if let Some(reason) = self.always_asks(subject) {
            return Verdict::Ask(reason);
        }
        if self.allowed(tool, input, subject) {
            return Verdict::Allow;
        }
        let edit_inside = EDIT_TOOLS.contains(&tool) && matches!(subject, Subject::File(FileTarget::Inside { .. }));
        if self.mode == PermissionMode::AcceptEdits && edit_inside {
            return Verdict::Allow;
        }
        Verdict::Ask(format!("no rule or session grant allows this {tool} call"))
    }

    /// The hook callback's answer for a verdict, in the shape a command hook would print.
    pub fn hook_response(verdict: &Verdict) -> Value {
        let (decision, reason) = match verdict {
            Verdict::Allow => ("allow", "allowed by the session's policy".to_string()),
            Verdict::Deny(reason) => ("deny", reason.clone()),
            Verdict::Ask(reason) => ("ask", format!("waiting for a person to decide in Duraclaw: {reason}")),
        };
        json!({"hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }})
    }

    /// A `can_use_tool` request: answered at once when the rules decide, otherwise parked.
    /// Returns the answer when there is one, and the events to announce either way.
    pub fn permission(&mut self, req: PermissionRequest) -> (Option<Answer>, Vec<GatewayEvent>) {
        let id = req.tool_use_id.clone();
        // The path is resolved on disk once, for the verdict and for the grants offered.
        let subject = self.subject(&req.tool_name, &req.input);
        match self.verdict(&req.tool_name, &req.input, &subject) {
            Verdict::Allow => (Some(allow_answer(&req.request_id, &id, req.input, BY_POLICY, vec![])), vec![]),
            Verdict::Deny(reason) => (Some(deny_answer(&req.request_id, &id, &reason, BY_POLICY)), vec![]),
            Verdict::Ask(reason) => {
                let offers = offers(&req.tool_name, &req.input, subject);
                let event = if req.tool_name == QUESTION_TOOL {
                    GatewayEvent::Question { tool_call_id: id.clone(), questions: questions_of(&req.input) }
                } else {
                    GatewayEvent::ToolRequest {
                        tool_call: ToolCall {
                            id: id.clone(),
                            name: req.tool_name.clone(),
                            input: req.input.clone(),
                            reason: Some(reason),
                            session_grants: offers.clone(),
                        },
                    }
                };
                let parked = Parked { request_id: req.request_id, name: req.tool_name, input: req.input, offers };
                self.parked.insert(id, parked);
                (None, vec![event])
            }
        }
    }

    /// A human approved. Scope `session` also remembers the chosen offer (the first when `grant`
    /// is absent); a call offered no grant is approved once.
    pub fn approve(&mut self, tool_call_id: &str, scope: Scope, grant: Option<u32>, by: &str) -> Result<Answer, GateError> {
        let parked = self.parked.get(tool_call_id).ok_or_else(|| GateError::NotPending(tool_call_id.into()))?;
        let chosen = match (scope, grant) {
            (Scope::Once, _) => vec![],
            (Scope::Session, None) => parked.offers.first().map(|o| o.grants.clone()).unwrap_or_default(),
            (Scope::Session, Some(i)) => parked
                .offers
                .get(i as usize)
                .map(|o| o.grants.clone())
                .ok_or_else(|| GateError::NoSuchGrant(tool_call_id.into(), i))?,
        };
        let parked = self.take(tool_call_id, false)?;
        for g in &chosen {
            if !self.grants.contains(g) {
                self.grants.push(g.clone());
            }
        }
        Ok(allow_answer(&parked.request_id, tool_call_id, parked.input, by, chosen))
    }

    pub fn deny(&mut self, tool_call_id: &str, reason: &str, by: &str) -> Result<Answer, GateError> {
        let parked = self.take_any(tool_call_id)?;
        Ok(deny_answer(&parked.request_id, tool_call_id, reason, by))
    }

    /// Answers to an `AskUserQuestion`: allowed with the answers added to its input.
    pub fn answer(&mut self, tool_call_id: &str, answers: BTreeMap<String, String>, by: &str) -> Result<Answer, GateError> {
        let mut parked = self.take(tool_call_id, true)?;
        if let Value::Object(input) = &mut parked.input {
            input.insert("answers".into(), json!(answers));
        }
        Ok(allow_answer(&parked.request_id, tool_call_id, parked.input, by, vec![]))
    }

    /// The CLI withdrew a request: it expired.
    pub fn cancel(&mut self, request_id: &str) -> Option<GatewayEvent> {
        let id = self.parked.iter().find(|(_, p)| p.request_id == request_id).map(|(id, _)| id.clone())?;
        self.parked.remove(&id);
        Some(resolved(&id, Decision::Expired, BY_POLICY))
    }

    /// The CLI is gone: every parked request expired.
    pub fn expire_all(&mut self) -> Vec<GatewayEvent> {
        self.parked.drain().map(|(id, _)| resolved(&id, Decision::Expired, BY_POLICY)).collect()
    }

    pub fn has_pending(&self) -> bool {
        !self.parked.is_empty()
    }

    fn take(&mut self, tool_call_id: &str, question: bool) -> Result<Parked, GateError> {
        let parked = self.parked.get(tool_call_id).ok_or_else(|| GateError::NotPending(tool_call_id.into()))?;
        match (parked.name == QUESTION_TOOL, question) {
            (true, false) => Err(GateError::IsQuestion(tool_call_id.into())),
            (false, true) => Err(GateError::NotQuestion(tool_call_id.into())),
            _ => self.take_any(tool_call_id),
        }
    }

    fn take_any(&mut self, tool_call_id: &str) -> Result<Parked, GateError> {
        self.parked.remove(tool_call_id).ok_or_else(|| GateError::NotPending(tool_call_id.into()))
    }

    /// What the call acts on: its simple commands, its file, its host.
    fn subject(&self, tool: &str, input: &Value) -> Subject {
        let field = |k: &str| input.get(k).and_then(Value::as_str);
        let unknown = || Subject::File(FileTarget::Outside { abs: None });
        match tool {
            "Bash" => Subject::Command(
                field("command").ok_or(Unanalysable("the call has no command")).and_then(shell::analyse),
            ),
            "Read" | "Write" | "Edit" | "MultiEdit" => field("file_path").map_or_else(unknown, |p| self.file(p)),
            "NotebookEdit" => field("notebook_path").map_or_else(unknown, |p| self.file(p)),
            "Glob" | "Grep" => {
                // A search's own pattern must not climb out of the directory it searches.
                let climbs = |k: &str| field(k).is_some_and(|g| g.starts_with(['/', '~']) || g.split('/').any(|c| c == ".."));
                if (tool == "Glob" && climbs("pattern")) || climbs("glob") {
                    return unknown();
                }
                match input.get("path") {
                    None | Some(Value::Null) => self.file("."),
                    Some(Value::String(p)) if p.is_empty() => self.file("."),
                    Some(Value::String(p)) => self.file(p),
                    Some(_) => unknown(),
                }
            }
            "WebFetch" => Subject::Host(field("url").and_then(host_of)),
            _ => Subject::Other,
        }
    }

    fn file(&self, raw: &str) -> Subject {
        Subject::File(locate(&self.root, &self.cwd, raw))
    }

    /// A deny rule's reason, when one matches.
    fn denied(&self, tool: &str, subject: &Subject) -> Option<String> {
        let rules = &self.policy.deny;
        let hit = match subject {
            Subject::Command(Ok(parts)) => {
                rules.iter().find(|r| parts.iter().any(|p| r.matches_command(p, Effect::Deny)))
            }
            // A line the gate cannot read asks, unless the whole tool is denied.
            Subject::Command(Err(_)) => rules.iter().find(|r| r.tool == tool && r.pattern.is_none()),
            Subject::File(target) => rules.iter().find(|r| r.matches_path(tool, target, Effect::Deny)),
            Subject::Host(host) => rules.iter().find(|r| r.matches_host(host.as_deref())),
            Subject::Other => rules.iter().find(|r| r.is_whole_tool(tool)),
        };
        hit.map(|rule| format!("the session's policy denies this ({rule})"))
    }

    /// Why the call must ask a person whatever the rules say, if it must.
    fn always_asks(&self, subject: &Subject) -> Option<String> {
        match subject {
            Subject::Command(Err(why)) => Some(why.to_string()),
            Subject::Command(Ok(parts)) => {
                let mut moved = false;
                for part in parts {
                    if moved && !part.redirects.is_empty() {
                        return Some("it changes directory before redirecting to a file".into());
                    }
                    moved |= matches!(part.words[0].as_str(), "cd" | "pushd" | "popd");
                    for target in part.redirects.iter().filter(|t| !DEVICES.contains(&t.as_str())) {
                        match locate(&self.root, &self.cwd, target) {
                            FileTarget::Inside { rel, .. } if is_protected(&rel) => {
                                return Some(format!("it redirects to the protected path {rel}"))
                            }
                            FileTarget::Inside { .. } => {}
                            FileTarget::Outside { .. } => {
                                return Some(format!("it redirects to {target}, outside the worktree"))
                            }
                        }
                    }
                }
                None
            }
            Subject::File(FileTarget::Outside { abs: Some(abs) }) => Some(format!("{abs} is outside the worktree")),
            Subject::File(FileTarget::Outside { abs: None }) => Some("the path cannot be resolved with certainty".into()),
            Subject::File(FileTarget::Inside { rel, .. }) if is_protected(rel) => {
                Some(format!("{rel} is a protected path (repository, Claude Code or kata settings)"))
            }
            Subject::File(FileTarget::Inside { .. }) | Subject::Host(_) | Subject::Other => None,
        }
    }

    /// Whether an allow rule or a session grant covers the call (every part of a Bash line).
    fn allowed(&self, tool: &str, input: &Value, subject: &Subject) -> bool {
        let rules = &self.policy.allow;
        match subject {
            Subject::Command(Ok(parts)) => parts.iter().all(|p| {
                rules.iter().any(|r| r.matches_command(p, Effect::Allow)) || self.grants.iter().any(|g| g.covers_command(p))
            }),
            Subject::Command(Err(_)) => false,
            Subject::File(target) => {
                rules.iter().any(|r| r.matches_path(tool, target, Effect::Allow))
                    || self.grants.iter().any(|g| g.covers_path(tool, target))
            }
            Subject::Host(host) => {
                rules.iter().any(|r| r.matches_host(host.as_deref())) || self.grants.iter().any(|g| g.covers_input(tool, input))
            }
            Subject::Other => rules.iter().any(|r| r.is_whole_tool(tool)) || self.grants.iter().any(|g| g.covers_input(tool, input)),
        }
    }
}

/// The choices "approve for this session" offers for a call: never wider than what is shown.
fn offers(tool: &str, input: &Value, subject: Subject) -> Vec<SessionGrant> {
    let offer = |grants: Vec<Grant>| {
        let parts: Vec<String> = grants.iter().map(Grant::describe).collect();
        SessionGrant { summary: format!("{tool}: {}", parts.join(", ")), grants }
    };
    match subject {
        _ if tool == QUESTION_TOOL => vec![],
        Subject::Command(Ok(parts)) => {
            let exact: Vec<Grant> = parts.iter().map(|p| Grant::Command { words: p.words.clone() }).collect();
            let prefixed: Vec<Grant> = parts.iter().map(|p| command_grant(&p.words)).collect();
            let mut offers = vec![offer(dedup(prefixed.clone()))];
            if prefixed != exact {
                offers.push(offer(dedup(exact)));
            }
            offers
        }
        Subject::Command(Err(_)) | Subject::File(FileTarget::Outside { .. }) => vec![],
        Subject::File(FileTarget::Inside { rel, .. }) if is_protected(&rel) => vec![],
        Subject::File(FileTarget::Inside { rel, .. }) => {
            let tool = tool.to_string();
            if matches!(tool.as_str(), "Glob" | "Grep") {
                return vec![offer(vec![Grant::Directory { tool, path: rel }])];
            }
            let dir = rel.rsplit_once('/').map_or(String::new(), |(d, _)| d.to_string());
            vec![
                offer(vec![Grant::File { tool: tool.clone(), path: rel }]),
                offer(vec![Grant::Directory { tool, path: dir }]),
            ]
        }
        Subject::Host(_) | Subject::Other => vec![offer(vec![Grant::Input { tool: tool.to_string(), input: input.clone() }])],
    }
}

/// The grant for one simple command: its subcommand as a word prefix for the tools that have
/// subcommands (`npm run test …`, `cargo test …`), the exact command otherwise.
fn command_grant(words: &[String]) -> Grant {
    let subcommand = |w: &String| {
        w.len() <= 40 && w.starts_with(|c: char| c.is_ascii_lowercase())
            && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | ':'))
    };
    if SUBCOMMAND_TOOLS.contains(&words[0].as_str()) && words.len() > 1 && subcommand(&words[1]) {
        let takes_script = matches!(words[0].as_str(), "npm" | "pnpm" | "yarn" | "bun") && words[1] == "run";
        let n = if takes_script && words.get(2).is_some_and(subcommand) { 3 } else { 2 };
        return Grant::CommandPrefix { words: words[..n].to_vec() };
    }
    Grant::Command { words: words.to_vec() }
}

fn dedup(grants: Vec<Grant>) -> Vec<Grant> {
    let mut out: Vec<Grant> = Vec::with_capacity(grants.len());
    for g in grants {
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

/// Paths inside a worktree that always ask: the repository (`.git`, where hooks and config
/// live), Claude Code's settings (`.claude`, `.mcp.json`: hooks and servers) and kata's.
pub fn is_protected(rel: &str) -> bool {
    let lower = rel.to_ascii_lowercase();
    let first = lower.split('/').next().unwrap_or_default();
    first == ".kata" || lower == ".mcp.json" || lower.split('/').any(|c| c == ".git" || c == ".claude")
}

fn allow_answer(request_id: &str, id: &str, input: Value, by: &str, grants: Vec<Grant>) -> Answer {
    Answer {
        request_id: request_id.to_string(),
        response: json!({"behavior": "allow", "updatedInput": input, "toolUseID": id}),
        events: vec![resolved(id, Decision::Approved, by)],
        grants,
    }
}

fn deny_answer(request_id: &str, id: &str, reason: &str, by: &str) -> Answer {
    Answer {
        request_id: request_id.to_string(),
        response: json!({"behavior": "deny", "message": reason, "interrupt": false, "toolUseID": id}),
        events: vec![resolved(id, Decision::Denied, by)],
        grants: vec![],
    }
}

fn resolved(id: &str, decision: Decision, by: &str) -> GatewayEvent {
    GatewayEvent::ToolResolved { tool_call_id: id.to_string(), decision, by: by.to_string() }
}

/// The questions of an `AskUserQuestion` input (`multiSelect` on the CLI side).
fn questions_of(input: &Value) -> Vec<Question> {
    let Some(questions) = input.get("questions").and_then(Value::as_array) else { return vec![] };
    questions
        .iter()
        .map(|q| Question {
            question: q.get("question").and_then(Value::as_str).unwrap_or_default().to_string(),
            header: q.get("header").and_then(Value::as_str).unwrap_or_default().to_string(),
            options: q
                .get("options")
                .and_then(Value::as_array)
                .map(|opts| {
                    opts.iter()
                        .map(|o| QuestionOption {
                            label: o.get("label").and_then(Value::as_str).unwrap_or_default().to_string(),
                            description: o.get("description").and_then(Value::as_str).unwrap_or_default().to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            multi_select: q.get("multiSelect").and_then(Value::as_bool).unwrap_or(false),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_types::PermissionRule;

    /// A worktree with `src/`, a symlink `out` to a directory outside, a dangling symlink and a loop.
    struct Tree {
        _dirs: (tempfile::TempDir, tempfile::TempDir),
        root: PathBuf,
    }

    fn tree() -> Tree {
        let outside = tempfile::tempdir().expect("tempdir");
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir_all(root.join("src/secret")).expect("mkdir");
        std::fs::write(root.join("src/a.rs"), "fn main() {}").expect("write");
        std::os::unix::fs::symlink(outside.path(), root.join("out")).expect("symlink");
        std::os::unix::fs::symlink(outside.path().join("new"), root.join("dangling")).expect("symlink");
        std::os::unix::fs::symlink("loop", root.join("loop")).expect("symlink");
        Tree { _dirs: (outside, dir), root }
    }

    fn rules(v: &[&str]) -> Vec<PermissionRule> {
        v.iter().map(|r| r.parse().unwrap()).collect()
    }

    fn gate_in(root: &Path, mode: PermissionMode) -> Gate {
        let allow = rules(&[
            "Bash(git status*)", "Bash(npm run test:*)", "Bash(echo:*)", "Bash(ls:*)", "Bash(cat:*)", "Read", "Grep",
            "Glob", "Edit(src/**)", "WebFetch(domain:docs.rs)",
        ]);
        let deny = rules(&["Bash(rm:*)", "Bash(git push*)", "Read(//etc/shadow)", "Edit(src/secret/**)"]);
        Gate::new(ToolPolicy { allow, deny }, mode, root, vec![])
    }

    fn gate(allow: &[&str], deny: &[&str], mode: PermissionMode) -> Gate {
        Gate::new(ToolPolicy { allow: rules(allow), deny: rules(deny) }, mode, Path::new("/w"), vec![])
    }

    fn request(id: &str, tool: &str, input: Value) -> PermissionRequest {
        PermissionRequest { request_id: format!("r-{id}"), tool_use_id: id.into(), tool_name: tool.into(), input, reason: None }
    }

    fn letter(v: &Verdict) -> char {
        match v {
            Verdict::Allow => 'A',
            Verdict::Deny(_) => 'D',
            Verdict::Ask(_) => 'Q',
        }
    }

    #[test]
    fn hostile_bash_commands() {
        let t = tree();
        let g = gate_in(&t.root, PermissionMode::Default);
        let long = format!("git status {}", "a".repeat(100_000));
        let cases: &[(&str, char)] = &[
            ("git status", 'A'),
            ("git status --short", 'A'),
            ("git status;", 'A'),
            ("git status; touch /tmp/x", 'Q'),
            ("git status && touch x", 'Q'),
            ("git status || touch x", 'Q'),
            ("git status | sh", 'Q'),
            ("git status & touch x", 'Q'),
            ("git status |& tee x", 'Q'),
            ("git status\ntouch x", 'Q'),
            ("git status\\\n; touch x", 'Q'),
            ("git status $(touch x)", 'Q'),
            ("git status `touch x`", 'Q'),
            ("git status <(touch x)", 'Q'),
            ("git status >(touch x)", 'Q'),
            ("git status \"$(touch x)\"", 'Q'),
            ("git status \"$HOME\"", 'Q'),
            ("git status ${X:=y}", 'Q'),
            ("git status 'x$HOME'", 'A'),
            ("git status '; touch x'", 'A'),
            ("git status \\; touch x", 'A'),
            ("git status # ; touch x", 'A'),
            ("eval git status", 'Q'),
            ("bash -c 'git status'", 'Q'),
            ("sh -c 'touch x'", 'Q'),
            ("env git status", 'Q'),
            ("/usr/bin/env git status", 'Q'),
            ("sudo git status", 'Q'),
            ("xargs touch < list", 'Q'),
            ("timeout 5 git status", 'Q'),
            ("nohup git status", 'Q'),
            ("exec git status", 'Q'),
            ("command git status", 'Q'),
            ("source x", 'Q'),
            (". x", 'Q'),
            ("! git status", 'Q'),
            ("find . -exec touch x \\;", 'Q'),
            ("$X status", 'Q'),
            ("g* status", 'Q'),
            ("FOO=1 git status", 'Q'),
            ("PATH=/tmp git status", 'Q'),
            ("git status; PATH=/tmp", 'Q'),
            ("(git status)", 'Q'),
            ("{ git status; }", 'Q'),
            ("if true; then git status; fi", 'Q'),
            ("for i in 1; do git status; done", 'Q'),
            ("git status 'unclosed", 'Q'),
            ("git status \"unclosed", 'Q'),
            ("git status \\", 'Q'),
            ("; git status", 'Q'),
            ("git status && ", 'Q'),
            ("git status | | x", 'Q'),
            ("git status ;; x", 'Q'),
            ("", 'Q'),
            ("cat <<EOF\nx\nEOF", 'Q'),
            ("cat <<< x", 'Q'),
            ("git status > out.txt", 'A'),
            ("git status 2>&1", 'A'),
            ("git status >&2", 'A'),
            ("git status > /dev/null 2>&1", 'A'),
            ("git status > /tmp/out", 'Q'),
            ("git status 1>/tmp/x", 'Q'),
            ("git status &> /tmp/log", 'Q'),
            ("git status >& /tmp/x", 'Q'),
            ("git status > ../out.txt", 'Q'),
            ("git status > src/../../out.txt", 'Q'),
            ("git status > out/x", 'Q'),
            ("git status > dangling", 'Q'),
            ("git status > loop/x", 'Q'),
            ("git status > .git/hooks/pre-commit", 'Q'),
            ("git status > .claude/settings.json", 'Q'),
            ("git status > .mcp.json", 'Q'),
            ("git status > .kata/kata.toml", 'Q'),
            ("git status > ~/x", 'Q'),
            ("git status > *.txt", 'Q'),
            ("cat < ../../etc/passwd", 'Q'),
            ("cd /tmp && echo hi > x", 'Q'),
            ("npm run test", 'A'),
            ("npm run test -- --watch", 'A'),
            ("npm run testx", 'Q'),
            ("npm run test; rm x", 'D'),
            ("npm run test && rm -rf /", 'D'),
            ("echo hi; /bin/rm -rf x", 'D'),
            ("rm -rf x", 'D'),
            ("git push --force", 'D'),
            ("git status; git push", 'D'),
            ("git status\tx", 'A'),
            ("git\tstatus", 'Q'),
            ("ｇit status", 'Q'),
            ("git status；touch x", 'A'),
            ("git status\u{202e}", 'Q'),
            ("git status\u{200b}; touch x", 'Q'),
            ("git status\r; touch x", 'Q'),
            ("git status\u{0}", 'Q'),
            ("\\git status", 'Q'),
            ("ls ~/", 'A'),
            (long.as_str(), 'Q'),
        ];
        assert!(cases.len() >= 60);
        let mut wrong = vec![];
        for (command, expected) in cases {
            let v = g.pre_tool_use("Bash", &json!({ "command": command }));
            if letter(&v) != *expected {
                wrong.push(format!("{command:?}: expected {expected}, got {v:?}"));
            }
        }
        assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
    }

    #[test]
    fn hostile_file_calls_and_modes() {
        let t = tree();
        let r = t.root.display().to_string();
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        let default = gate_in(&t.root, PermissionMode::Default);
        let edits = gate_in(&t.root, PermissionMode::AcceptEdits);
        let bypass = gate_in(&t.root, PermissionMode::BypassPermissions);
        let cases: Vec<(&Gate, &str, Value, char)> = vec![
            (&default, "Read", json!({"file_path": format!("{r}/src/a.rs")}), 'A'),
            (&default, "Read", json!({"file_path": format!("{r}/src//./a.rs")}), 'A'),
            (&default, "Read", json!({"file_path": "src/a.rs"}), 'A'),
            (&default, "Read", json!({"file_path": "/etc/passwd"}), 'Q'),
            (&default, "Read", json!({"file_path": format!("{r}/../x")}), 'Q'),
            (&default, "Read", json!({"file_path": format!("{r}/src/../../x")}), 'Q'),
            (&default, "Read", json!({"file_path": format!("{r}/out/secret")}), 'Q'),
            (&default, "Read", json!({"file_path": format!("{r}/loop/x")}), 'Q'),
            (&default, "Read", json!({"file_path": "/etc/shadow"}), 'D'),
            (&default, "Read", json!({"file_path": "//etc//shadow"}), 'D'),
            (&default, "Read", json!({"file_path": ""}), 'Q'),
            (&default, "Read", json!({"file_path": "~/.ssh/id_rsa"}), 'Q'),
            (&default, "Read", json!({"file_path": format!("{home}/.claude/.credentials.json")}), 'Q'),
            (&default, "Read", json!({"file_path": format!("{r}/src/a\u{202e}.rs")}), 'Q'),
            (&default, "Read", json!({"file_path": 42}), 'Q'),
            (&default, "Read", json!({}), 'Q'),
            (&default, "Read", json!({"file_path": format!("{r}/.git/config")}), 'Q'),
            (&default, "Edit", json!({"file_path": format!("{r}/src/a.rs")}), 'A'),
            (&default, "Edit", json!({"file_path": format!("{r}/src/secret/k")}), 'D'),
            (&default, "Edit", json!({"file_path": format!("{r}/README.md")}), 'Q'),
            (&default, "Write", json!({"file_path": format!("{r}/src/a.rs")}), 'Q'),
            (&default, "Grep", json!({"pattern": "x"}), 'A'),
            (&default, "Grep", json!({"pattern": "x", "path": "/etc"}), 'Q'),
            (&default, "Grep", json!({"pattern": "x", "glob": "../../**"}), 'Q'),
            (&default, "Glob", json!({"pattern": "**/*.rs"}), 'A'),
            (&default, "Glob", json!({"pattern": "../../**"}), 'Q'),
            (&default, "Glob", json!({"pattern": "/etc/*"}), 'Q'),
            (&default, "Glob", json!({"pattern": "*", "path": format!("{r}/out")}), 'Q'),
            (&edits, "Write", json!({"file_path": format!("{r}/src/new.rs")}), 'A'),
            (&edits, "Write", json!({"file_path": "new.rs"}), 'A'),
            (&edits, "Write", json!({"file_path": format!("{home}/anything")}), 'Q'),
            (&edits, "Write", json!({"file_path": "/tmp/x"}), 'Q'),
            (&edits, "Write", json!({"file_path": format!("{r}/dangling")}), 'Q'),
            (&edits, "Write", json!({"file_path": format!("{r}/.git/config")}), 'Q'),
            (&edits, "Write", json!({"file_path": format!("{r}/src/.GIT/config")}), 'Q'),
            (&edits, "Write", json!({"file_path": format!("{r}/sub/.git/hooks/x")}), 'Q'),
            (&edits, "Write", json!({"file_path": format!("{r}/.claude/settings.json")}), 'Q'),
            (&edits, "Write", json!({"file_path": format!("{r}/.claude/settings.local.json")}), 'Q'),
            (&edits, "Write", json!({"file_path": format!("{r}/.mcp.json")}), 'Q'),
            (&edits, "Write", json!({"file_path": format!("{r}/.kata/kata.toml")}), 'Q'),
            (&edits, "Edit", json!({"file_path": format!("{r}/src/secret/k")}), 'D'),
            (&edits, "NotebookEdit", json!({"notebook_path": format!("{r}/src/a.ipynb")}), 'A'),
            (&edits, "Bash", json!({"command": "touch x"}), 'Q'),
            (&default, "NotebookEdit", json!({"notebook_path": format!("{r}/src/a.ipynb")}), 'Q'),
            (&bypass, "Write", json!({"file_path": format!("{r}/.git/hooks/pre-commit")}), 'A'),
            (&bypass, "Bash", json!({"command": "git status; touch x"}), 'A'),
            (&bypass, "Bash", json!({"command": "rm -rf x"}), 'D'),
            (&bypass, "AskUserQuestion", json!({"questions": []}), 'Q'),
            (&default, "WebFetch", json!({"url": "https://docs.rs/worker"}), 'A'),
            (&default, "WebFetch", json!({"url": "https://docs.rs@evil.example/"}), 'Q'),
            (&default, "WebFetch", json!({"url": "https://evil.example/docs.rs"}), 'Q'),
            (&default, "WebFetch", json!({"url": "file:///etc/passwd"}), 'Q'),
            (&default, "TodoWrite", json!({"todos": []}), 'Q'),
        ];
        let mut wrong = vec![];
        for (g, tool, input, expected) in &cases {
            let v = g.pre_tool_use(tool, input);
            if letter(&v) != *expected {
                wrong.push(format!("{tool} {input} ({:?}): expected {expected}, got {v:?}", g.mode));
            }
        }
        assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
    }

    #[test]
    fn parked_requests_take_the_first_answer_only() {
        let mut g = gate(&[], &[], PermissionMode::Default);
        let (answer, events) = g.permission(request("t1", "Bash", json!({"command": "make"})));
        assert!(answer.is_none());
        assert!(matches!(&events[0], GatewayEvent::ToolRequest { tool_call } if tool_call.id == "t1"));
        let a = g.approve("t1", Scope::Once, None, "ada").unwrap();
        assert_eq!(a.request_id, "r-t1");
        assert_eq!(a.response["behavior"], "allow");
        assert_eq!(a.response["updatedInput"]["command"], "make");
        assert_eq!(a.events, vec![resolved("t1", Decision::Approved, "ada")]);
        assert_eq!(g.deny("t1", "late", "bob"), Err(GateError::NotPending("t1".into())));
    }

    /// Parks a call and returns the grants its request offered.
    fn offered(g: &mut Gate, id: &str, tool: &str, input: Value) -> Vec<SessionGrant> {
        let (_, events) = g.permission(request(id, tool, input));
        match &events[0] {
            GatewayEvent::ToolRequest { tool_call } => tool_call.session_grants.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_session_grant_covers_exactly_what_the_card_showed() {
        let mut g = gate(&[], &[], PermissionMode::Default);
        let offers = offered(&mut g, "t1", "Bash", json!({"command": "npm run test -- --watch"}));
        assert_eq!(offers[0].summary, "Bash: npm run test …");
        assert_eq!(offers[1].summary, "Bash: exactly `npm run test -- --watch`");
        let a = g.approve("t1", Scope::Session, None, "ada").unwrap();
        assert_eq!(a.grants, vec![Grant::CommandPrefix { words: vec!["npm".into(), "run".into(), "test".into()] }]);
        let bash = |c: &str| g.pre_tool_use("Bash", &json!({ "command": c }));
        assert_eq!(bash("npm run test"), Verdict::Allow);
        assert_eq!(letter(&bash("npm run test; rm x")), 'Q', "a chained command is not covered");
        assert_eq!(letter(&bash("npm run test $(rm x)")), 'Q');
        assert_eq!(letter(&bash("npm run testx")), 'Q');
        assert_eq!(letter(&bash("npm run build")), 'Q');

        // Commands without subcommands are remembered exactly; an unreadable one not at all.
        let offers = offered(&mut g, "t2", "Bash", json!({"command": "rm -rf build"}));
        assert_eq!(offers.len(), 1);
        assert_eq!(offers[0].grants, vec![Grant::Command { words: vec!["rm".into(), "-rf".into(), "build".into()] }]);
        assert!(offered(&mut g, "t3", "Bash", json!({"command": "echo $(id)"})).is_empty());
        let a = g.approve("t3", Scope::Session, None, "ada").unwrap();
        assert!(a.grants.is_empty(), "approved once: nothing to remember");
    }

    #[test]
    fn a_file_grant_is_that_file_or_its_directory_never_the_tool() {
        let t = tree();
        let r = t.root.display().to_string();
        let mut g = Gate::new(ToolPolicy::default(), PermissionMode::Default, &t.root, vec![]);
        let write = |p: &str| json!({ "file_path": format!("{r}/{p}") });
        let offers = offered(&mut g, "w1", "Write", write("src/a.rs"));
        assert_eq!(offers.iter().map(|o| o.summary.as_str()).collect::<Vec<_>>(), ["Write: Write src/a.rs", "Write: Write anything under src/"]);
        g.approve("w1", Scope::Session, None, "ada").unwrap();
        assert_eq!(g.pre_tool_use("Write", &write("src/a.rs")), Verdict::Allow);
        assert_eq!(letter(&g.pre_tool_use("Write", &write("src/b.rs"))), 'Q');
        assert_eq!(letter(&g.pre_tool_use("Edit", &write("src/a.rs"))), 'Q', "another tool is not covered");
        assert_eq!(letter(&g.pre_tool_use("Write", &json!({"file_path": "/tmp/a.rs"}))), 'Q');
        offered(&mut g, "w2", "Write", write("src/b.rs"));
        g.approve("w2", Scope::Session, Some(1), "ada").unwrap();
        assert_eq!(g.pre_tool_use("Write", &write("src/deep/c.rs")), Verdict::Allow);
        assert_eq!(letter(&g.pre_tool_use("Write", &write("README.md"))), 'Q');
        assert!(offered(&mut g, "w3", "Write", json!({"file_path": "/tmp/x"})).is_empty(), "outside: once only");
        assert!(offered(&mut g, "w4", "Write", write(".git/config")).is_empty(), "protected: once only");
        offered(&mut g, "w5", "Write", write("x"));
        assert_eq!(g.approve("w5", Scope::Session, Some(7), "ada"), Err(GateError::NoSuchGrant("w5".into(), 7)));
        let offers = offered(&mut g, "o1", "TodoWrite", json!({"todos": [1]}));
        assert_eq!(offers[0].grants, vec![Grant::Input { tool: "TodoWrite".into(), input: json!({"todos": [1]}) }]);
        g.approve("o1", Scope::Session, None, "ada").unwrap();
        assert_eq!(g.pre_tool_use("TodoWrite", &json!({"todos": [1]})), Verdict::Allow);
        assert_eq!(letter(&g.pre_tool_use("TodoWrite", &json!({"todos": [2]}))), 'Q');
    }

    #[test]
    fn questions_are_answered_through_updated_input() {
        let mut g = gate(&[], &[], PermissionMode::Default);
        let input = json!({"questions": [{"question": "Colour?", "header": "C", "multiSelect": true,
                                          "options": [{"label": "red", "description": "warm"}]}]});
        let (_, events) = g.permission(request("q1", "AskUserQuestion", input));
        let GatewayEvent::Question { questions, .. } = &events[0] else { panic!("{events:?}") };
        assert!(questions[0].multi_select);
        assert_eq!(questions[0].options[0].label, "red");
        assert_eq!(g.approve("q1", Scope::Once, None, "ada"), Err(GateError::IsQuestion("q1".into())));
        let a = g.answer("q1", BTreeMap::from([("Colour?".into(), "red".into())]), "ada").unwrap();
        assert_eq!(a.response["updatedInput"]["answers"]["Colour?"], "red");
        assert_eq!(a.response["updatedInput"]["questions"][0]["header"], "C");
    }

    #[test]
    fn denials_carry_the_reason_and_cancels_expire() {
        let mut g = gate(&[], &[], PermissionMode::Default);
        g.permission(request("t1", "Bash", json!({"command": "x"})));
        let a = g.deny("t1", "not on main", "ada").unwrap();
        assert_eq!(a.response["behavior"], "deny");
        assert_eq!(a.response["message"], "not on main");
        g.permission(request("t2", "Bash", json!({"command": "y"})));
        assert_eq!(g.cancel("r-t2"), Some(resolved("t2", Decision::Expired, BY_POLICY)));
        g.permission(request("t3", "Bash", json!({"command": "z"})));
        assert_eq!(g.expire_all(), vec![resolved("t3", Decision::Expired, BY_POLICY)]);
        assert!(!g.has_pending());
    }
}
