//! The HTTP API's bodies: every request and answer of the Worker's `/api/*` routes, of the
//! gateway's project routes (which the Worker relays to the dashboard unchanged) and of the
//! session Durable Object's internal routes.
//!
//! The WebSocket frames were always one contract compiled on every side; these bodies were
//! written two or three times (the Worker's, the gateway's and a lenient copy in the dashboard
//! that guessed). Here each is written once, so a change to one fails to compile wherever it is
//! made or read, and `tests/golden/api/<body>.json` pins its serialised form.
//!
//! The rules, the same as the frames':
//! - snake_case fields; every timestamp is [`TimestampMs`] (milliseconds since the epoch);
//! - readers ignore fields they do not know (the API grows by adding fields), except the bodies
//!   the Worker takes from browsers, which refuse unknown fields so a typo is a 400, not a
//!   silently ignored setting (they say so: `deny_unknown_fields`);
//! - a field that may be missing is an `Option` (or, for a list that may be left out, says
//!   `default` on the field itself); nothing else defaults.
//!
//! Routes and their bodies:
//!
//! | route | request | answer |
//! |---|---|---|
//! | `GET /health` (Worker and gateway) | | [`Health`] |
//! | `GET /api/auth/setup` | | [`SetupState`] |
//! | `POST /api/auth/signup` | [`SignUp`] | 201 [`UserAnswer`] |
//! | `POST /api/auth/login` | [`Credentials`] | [`UserAnswer`] |
//! | `POST /api/auth/logout` | `{}` | [`Done`] |
//! | `POST /api/auth/password` | [`PasswordChange`] | [`Done`] |
//! | `GET /api/me` | | [`UserAnswer`] |
//! | `POST /api/admin/users` | [`NewUser`] | 201 [`UserAnswer`] |
//! | `PATCH /api/admin/users/:name` | [`UserChange`] | [`UserChanged`] |
//! | `GET /api/sessions` | | [`SessionList`] |
//! | `POST /api/sessions` | [`NewSession`] | 201 [`Created`] |
//! | `GET /api/sessions/:id` | | [`SessionDetail`] |
//! | `PATCH /api/sessions/:id` | [`SessionRename`] | [`SessionSummary`] |
//! | `GET /api/sessions/:id/events?after=&limit=` | | [`EventsPage`] |
//! | `GET /api/projects` (gateway `/projects`) | | [`ProjectList`] |
//! | `POST /api/projects/:name/worktrees` | [`NewWorktree`] | 201 [`Checkout`] |
//! | `GET /api/projects/:name/files?path=&worktree=` | | [`DirListing`] |
//! | `GET /api/projects/:name/file?path=&worktree=` | | [`FileContent`] |
//! | `GET /api/projects/:name/diff?worktree=` | | [`DiffFiles`] |
//! | `GET /api/projects/:name/kata-status?worktree=` | | [`KataStatus`] |
//! | `GET /api/projects/:name/claude-sessions` (gateway `/projects/:name/claude-sessions`) | | [`ClaudeSessionList`] |
//! | gateway `GET /projects/:name/claude-sessions/:id?worktree=` | | [`ClaudeSessionDetail`] (409 once a Duraclaw session has it) |
//! | DO `POST /internal/create` | [`CreateSession`] | [`Created`] |
//! | DO `GET /internal/state` | | [`SessionState`] |
//! | DO `GET /internal/events?after=&limit=` | | [`EventsPage`] |
//! | DO `POST /internal/end-sockets` | [`EndSockets`] | [`SocketsClosed`] |
//! | every error | | [`ErrorBody`] (`{"error":{"code","message"}}`) |

use serde::{Deserialize, Serialize};

pub use crate::error::{ErrorBody, ErrorDetail};
use crate::browser::{PendingRequest, SessionMeta};
use crate::config::{PermissionMode, SessionConfig, ToolPolicy};
use crate::content::ContentBlock;
use crate::gateway::EventEnvelope;
use crate::kata::KataState;
use crate::status::SessionStatus;
use crate::TimestampMs;

// ---------------------------------------------------------------------------------------------
// health
// ---------------------------------------------------------------------------------------------

/// `GET /health` on the Worker and on the gateway: open, so a probe or `curl` can tell which
/// service answered and which build it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub ok: bool,
    /// `orchestrator-worker` or `cc-gateway`.
    pub service: String,
    pub version: String,
}

impl Health {
    pub fn up(service: &str, version: &str) -> Health {
        Health { ok: true, service: service.into(), version: version.into() }
    }
}

// ---------------------------------------------------------------------------------------------
// auth
// ---------------------------------------------------------------------------------------------

/// `POST /api/auth/login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    pub name: String,
    pub password: String,
}

/// `POST /api/auth/signup`: the first user (the admin), only with the operator's set-up code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignUp {
    pub name: String,
    pub password: String,
    /// Missing is answered like a wrong code (403, saying where the code comes from), not as a
    /// malformed body: the person needs to be told about the code, not about JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_code: Option<String>,
}

/// `GET /api/auth/setup`: whether set-up is still open (no user exists yet), so that a fresh
/// deployment's dashboard opens on set-up rather than on "Log in". Open to anyone: it says no
/// more than a sign-up attempt would.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupState {
    pub setup_open: bool,
}

/// `POST /api/admin/users`: an admin adds a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    pub name: String,
    pub password: String,
    /// Optional; a new user is not an admin unless asked.
    #[serde(default)]
    pub is_admin: bool,
}

/// `POST /api/auth/password`: the signed-in user changes their own password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// `PATCH /api/admin/users/:name`: an admin disables a user or enables them again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    pub disabled: bool,
}

/// A user as the API shows them (never their password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub is_admin: bool,
}

/// The answer of sign-up, login, `GET /api/me` and adding a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserAnswer {
    pub user: User,
}

/// The answer of `PATCH /api/admin/users/:name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserChanged {
    pub user: User,
    pub disabled: bool,
}

/// The answer of a route that has nothing to report but that it was done (logout, password).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Done {
    pub ok: bool,
}

impl Done {
    pub const OK: Done = Done { ok: true };
}

// ---------------------------------------------------------------------------------------------
// sessions
// ---------------------------------------------------------------------------------------------

/// A session's status as a bare name: what the D1 index stores (its `status` column) and the
/// session list shows. The full [`SessionStatus`] (with `disconnected`'s `since`) travels on the
/// socket and in [`SessionState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusName {
    Starting,
    Running,
    AwaitingApproval,
    AwaitingAnswer,
    Idle,
    Disconnected,
    Ended,
    Error,
}

impl StatusName {
    pub const ALL: [StatusName; 8] = [
        StatusName::Starting,
        StatusName::Running,
        StatusName::AwaitingApproval,
        StatusName::AwaitingAnswer,
        StatusName::Idle,
        StatusName::Disconnected,
        StatusName::Ended,
        StatusName::Error,
    ];

    /// The wire name, the same as [`SessionStatus::name`].
    pub fn as_str(self) -> &'static str {
        match self {
            StatusName::Starting => "starting",
            StatusName::Running => "running",
            StatusName::AwaitingApproval => "awaiting_approval",
            StatusName::AwaitingAnswer => "awaiting_answer",
            StatusName::Idle => "idle",
            StatusName::Disconnected => "disconnected",
            StatusName::Ended => "ended",
            StatusName::Error => "error",
        }
    }

    /// Whether a human is needed (the session list puts these first and notifies).
    pub fn needs_user(self) -> bool {
        matches!(self, StatusName::AwaitingApproval | StatusName::AwaitingAnswer)
    }
}

impl From<SessionStatus> for StatusName {
    fn from(status: SessionStatus) -> Self {
        match status {
            SessionStatus::Starting => StatusName::Starting,
            SessionStatus::Running => StatusName::Running,
            SessionStatus::AwaitingApproval => StatusName::AwaitingApproval,
            SessionStatus::AwaitingAnswer => StatusName::AwaitingAnswer,
            SessionStatus::Idle => StatusName::Idle,
            SessionStatus::Disconnected { .. } => StatusName::Disconnected,
            SessionStatus::Ended => StatusName::Ended,
            SessionStatus::Error => StatusName::Error,
        }
    }
}

/// One session in the list: its row of the D1 index (the owner is implied: only the owner's
/// rows are ever shown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub id: String,
    pub title: String,
    pub project: String,
    /// `null` for the project's main checkout.
    pub worktree: Option<String>,
    pub status: StatusName,
    pub cost_usd: f64,
    pub last_seq: u64,
    pub created_at: TimestampMs,
    pub updated_at: TimestampMs,
    /// The start of the first prompt (up to [`SESSION_PROMPT_CHARS`] characters), kept for
    /// search; `null` for a session created before it was recorded.
    pub prompt: Option<String>,
}

/// How much of the first prompt a session's list row keeps ([`SessionSummary::prompt`]).
pub const SESSION_PROMPT_CHARS: usize = 500;

/// The longest session title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// `PATCH /api/sessions/:id`: the owner renames a session. The title is trimmed; an empty one,
/// one over [`MAX_TITLE_CHARS`] characters or one holding control characters is refused (400)
/// and changes nothing. Nothing later overwrites it (the Durable Object's index writes never
/// touch the title). The answer is the session's updated [`SessionSummary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRename {
    pub title: String,
}

impl SessionRename {
    /// Reads the body from JSON already parsed as a [`serde_json::Value`]: exactly
    /// `{"title": string}` (what the derived decoder takes, with its kinds of message; a test
    /// holds the two to the same answers). The Worker reads it this way because the `Value`
    /// reader is in its wasm anyway, where a derived decoder cost 1.6 KB of code (see
    /// ARCHITECTURE.md, "Bundle size").
    pub fn from_value(body: serde_json::Value) -> Result<SessionRename, String> {
        use serde_json::Value;
        let Value::Object(fields) = body else {
            return Err("invalid type: expected an object {\"title\": \"...\"}".into());
        };
        if let Some(key) = fields.keys().find(|k| *k != "title") {
            return Err(format!("unknown field `{key}`, expected `title`"));
        }
        // `get`, not `remove`: the map's removal code (B-tree rebalancing) is not otherwise in the Worker
        match fields.get("title") {
            Some(Value::String(title)) => Ok(SessionRename { title: title.clone() }),
            Some(_) => Err("invalid type: `title` must be a string".into()),
            None => Err("missing field `title`".into()),
        }
    }

    /// The title to store (trimmed), or why it is refused.
    pub fn checked_title(&self) -> Result<&str, String> {
        let title = self.title.trim();
        if title.is_empty() {
            return Err("the title is empty: give the session a name".into());
        }
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(format!("the title is over {MAX_TITLE_CHARS} characters"));
        }
        if title.chars().any(char::is_control) {
            return Err("the title holds control characters (line breaks, tabs, escapes); use plain text".into());
        }
        Ok(title)
    }
}

/// `GET /api/sessions`: the caller's sessions, most recently updated first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionSummary>,
}

/// `POST /api/sessions`: start a session with its first prompt.
///
/// The permission mode and the policy's rules travel as the strings a person typed and are
/// parsed by the Worker, so that a bad one is a 400 `invalid_input` naming it
/// ([`PolicyRules::from`] and [`PermissionMode::as_cli_arg`] write them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    pub project: String,
    /// Absent or empty: the project's main checkout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree: Option<String>,
    pub prompt: String,
    /// Absent or empty: the CLI's default model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `default`, `acceptEdits`, `plan` or `bypassPermissions` (admins only); absent: `default`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<String>,
    /// Absent: the read-only tools are allowed, everything else asks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyRules>,
    /// Absent or empty: the prompt's first line (for a resumed session, its first prompt's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A Claude Code session on the gateway's machine to resume ([`ClaudeSession::id`], in the
    /// checkout `worktree` names): its history is shown and the next message continues it. The
    /// prompt may then be empty (the session waits for one). Absent: a new Claude session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
}

/// A tool policy as sent: rules in Claude Code's syntax, not yet parsed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRules {
    /// Optional (a policy of deny rules only is fine).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Optional.
    #[serde(default)]
    pub deny: Vec<String>,
}

impl From<&ToolPolicy> for PolicyRules {
    fn from(policy: &ToolPolicy) -> Self {
        let texts = |rules: &[crate::config::PermissionRule]| rules.iter().map(ToString::to_string).collect();
        PolicyRules { allow: texts(&policy.allow), deny: texts(&policy.deny) }
    }
}

impl NewSession {
    /// The permission mode as this body carries it.
    pub fn mode(mode: PermissionMode) -> Option<String> {
        Some(mode.as_cli_arg().to_string())
    }

    /// Reads the body from JSON already parsed as a [`serde_json::Value`], taking and refusing
    /// what the derived decoder does, with its kinds of message (a test holds the two to the
    /// same answers). The Worker reads it this way: `Value`'s reader is in its wasm anyway, and
    /// a derived decoder costs code there (ARCHITECTURE.md, "Bundle size").
    pub fn from_value(body: serde_json::Value) -> Result<NewSession, String> {
        use serde_json::Value;
        let Value::Object(fields) = body else {
            return Err("invalid type: expected an object {\"project\", \"prompt\", ...}".into());
        };
        let mut body = NewSession {
            project: String::new(),
            worktree: None,
            prompt: String::new(),
            model: None,
            permission_mode: None,
            policy: None,
            title: None,
            resume: None,
        };
        // one pass over the fields (each `get` would be a map lookup of its own in the wasm)
        let mut seen = 0;
        for (key, value) in &fields {
            let name = key.as_str();
            let text = |nullable| string_field(value, name, nullable);
            match name {
                "project" => body.project = text(false)?.unwrap_or_default(),
                "prompt" => body.prompt = text(false)?.unwrap_or_default(),
                "worktree" => body.worktree = text(true)?,
                "model" => body.model = text(true)?,
                "permission_mode" => body.permission_mode = text(true)?,
                "title" => body.title = text(true)?,
                "resume" => body.resume = text(true)?,
                "policy" => body.policy = policy_rules(value)?,
                _ => {
                    let fields = "project, worktree, prompt, model, permission_mode, policy, title, resume";
                    return Err(format!("unknown field `{key}`, expected one of {fields}"));
                }
            }
            seen += usize::from(name == "project") + 2 * usize::from(name == "prompt");
        }
        match seen {
            3 => Ok(body),
            2 => Err("missing field `project`".into()),
            _ => Err("missing field `prompt`".into()),
        }
    }
}

/// A string field read from a `Value`; `null` is absent when the field may be.
fn string_field(value: &serde_json::Value, name: &str, nullable: bool) -> Result<Option<String>, String> {
    match value {
        serde_json::Value::String(text) => Ok(Some(text.clone())),
        serde_json::Value::Null if nullable => Ok(None),
        _ => Err(format!("invalid type: `{name}` must be a string")),
    }
}

/// A policy read from a `Value`: `null` is none; `allow` and `deny` are lists of rule strings,
/// absent when empty.
fn policy_rules(value: &serde_json::Value) -> Result<Option<PolicyRules>, String> {
    use serde_json::Value;
    let fields = match value {
        Value::Null => return Ok(None),
        Value::Object(fields) => fields,
        _ => return Err("invalid type: `policy` must be an object {\"allow\": [...], \"deny\": [...]}".into()),
    };
    let mut policy = PolicyRules::default();
    for (key, rules) in fields {
        let list = match key.as_str() {
            "allow" => &mut policy.allow,
            "deny" => &mut policy.deny,
            _ => return Err(format!("unknown field `{key}`, expected `allow` or `deny`")),
        };
        let Value::Array(rules) = rules else { return Err(format!("invalid type: `policy.{key}` must be a list of rule strings")) };
        for rule in rules {
            let Value::String(rule) = rule else { return Err(format!("invalid type: `policy.{key}` must be a list of rule strings")) };
            list.push(rule.clone());
        }
    }
    Ok(Some(policy))
}

/// Whether `id` is a Claude Code session id as the CLI names its files: a UUID in lowercase,
/// hyphenated (`0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11`). Nothing else is ever used as a file name
/// or passed to `--resume`.
pub fn is_claude_session_id(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// The answer of `POST /api/sessions` (201) and of the DO's `POST /internal/create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Created {
    pub id: String,
}

/// `GET /api/sessions/:id`: the index row and the Durable Object's own view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDetail {
    pub session: SessionSummary,
    pub state: SessionState,
}

/// The DO's `GET /internal/state`: what it holds now (the index row may lag by a few seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    pub meta: SessionMeta,
    pub status: SessionStatus,
    /// The highest contiguous seq the DO holds.
    pub last_seq: u64,
    pub pending: Vec<PendingRequest>,
}

/// The DO's `GET /internal/events` and `GET /api/sessions/:id/events`: one page of the event
/// log after the cursor, in seq order; the next page starts after the last event's seq.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<EventEnvelope>,
    /// The highest contiguous seq the DO holds (the page is complete when it reaches this).
    pub last_seq: u64,
}

/// The DO's `POST /internal/create`: the session's meta and config, and its first prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateSession {
    pub meta: SessionMeta,
    pub config: SessionConfig,
    /// Names the first prompt, so that its `session.user_message` can be matched.
    pub client_id: String,
    pub prompt: Vec<ContentBlock>,
}

/// The DO's `POST /internal/end-sockets`: close the sockets of `user_id`, only those of login
/// `only` (a logout), or all but those of login `except` (a password change), or all (a
/// disabled user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndSockets {
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub except: Option<String>,
    /// Told to the browser in the close frame.
    pub reason: String,
}

/// The answer of `POST /internal/end-sockets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocketsClosed {
    pub closed: u64,
}

// ---------------------------------------------------------------------------------------------
// projects (the gateway's answers, relayed by the Worker as they are)
// ---------------------------------------------------------------------------------------------

/// One checkout: a project's main checkout (with its linked worktrees) or one of its linked
/// worktrees (named by the last component of its path). Also the answer of
/// `POST /projects/:name/worktrees` (201).
///
/// The fields are written out, not `#[serde(flatten)]`ed from a status and a checkout: a
/// flattened field makes serde buffer the whole object (its `Content`) to decode it, the code the
/// wasm bundles keep out (ARCHITECTURE.md, "Bundle size").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkout {
    pub name: String,
    /// Where it is on the gateway's machine (lossy when the path is not UTF-8).
    pub path: String,
    /// The checked-out branch; `null` when HEAD is detached (or the status is unreadable).
    pub branch: Option<String>,
    /// Uncommitted changes, untracked files included.
    pub dirty: bool,
    /// The upstream branch, when one is set.
    pub upstream: Option<String>,
    /// Commits on the branch and not on its upstream; `null` without an upstream.
    pub ahead: Option<u64>,
    /// Commits on the upstream and not on the branch; `null` without an upstream.
    pub behind: Option<u64>,
    /// Why the status could not be read (a worktree whose directory is gone, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A project's main checkout: its linked worktrees (`[]` when it has none); absent on a
    /// linked worktree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktrees: Option<Vec<Checkout>>,
}

/// `GET /projects`: the git repositories directly under the gateway's projects root, by name,
/// each its main checkout with `worktrees`.
pub type ProjectList = Vec<Checkout>;

/// `POST /projects/:name/worktrees`: `git worktree add -b branch <path> base`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewWorktree {
    /// The new branch (checked with `git check-ref-format --branch`).
    pub branch: String,
    /// What to branch from; absent: the project's default branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
}

/// What a directory entry is (a symlink is not followed to say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

impl EntryKind {
    pub const ALL: [EntryKind; 4] = [EntryKind::File, EntryKind::Dir, EntryKind::Symlink, EntryKind::Other];

    /// The wire name (for labels and attributes).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Other => "other",
        }
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirEntry {
    pub name: String,
    pub kind: EntryKind,
    /// Bytes, for files; `null` otherwise.
    pub size: Option<u64>,
}

/// `GET /projects/:name/files?path=&worktree=`: a directory's entries, directories first.
pub type DirListing = Vec<DirEntry>;

/// `GET /projects/:name/file?path=&worktree=`: a file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileContent {
    /// The path as asked.
    pub path: String,
    pub size: u64,
    /// A NUL in the first 8000 bytes, or not UTF-8.
    pub binary: bool,
    /// The text; `null` for a binary file.
    pub content: Option<String>,
}

/// How a file changed, from git's `--name-status` letter (or not known to git at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffStatus {
    Added,
    Modified,
    Deleted,
    Renamed,
    Copied,
    TypeChanged,
    Untracked,
}

impl DiffStatus {
    pub const ALL: [DiffStatus; 7] = [
        DiffStatus::Added,
        DiffStatus::Modified,
        DiffStatus::Deleted,
        DiffStatus::Renamed,
        DiffStatus::Copied,
        DiffStatus::TypeChanged,
        DiffStatus::Untracked,
    ];

    /// The wire name (for labels and attributes).
    pub fn as_str(self) -> &'static str {
        match self {
            DiffStatus::Added => "added",
            DiffStatus::Modified => "modified",
            DiffStatus::Deleted => "deleted",
            DiffStatus::Renamed => "renamed",
            DiffStatus::Copied => "copied",
            DiffStatus::TypeChanged => "type_changed",
            DiffStatus::Untracked => "untracked",
        }
    }
}

/// One changed file of a diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDiff {
    pub path: String,
    pub status: DiffStatus,
    /// Lines added; `null` for a binary file or an untracked one.
    pub additions: Option<u64>,
    /// Lines removed; `null` for a binary file or an untracked one.
    pub deletions: Option<u64>,
    /// The unified diff of this file (empty for an untracked file).
    pub patch: String,
}

/// `GET /projects/:name/diff?worktree=`: each changed file against the merge-base with the
/// branch the worktree was made from, untracked files last.
pub type DiffFiles = Vec<FileDiff>;

/// `GET /projects/:name/kata-status?worktree=`: the checkout's newest kata state; `null` when
/// it has none or it cannot be read (a checkout without kata is normal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KataStatus {
    pub kata_state: Option<KataState>,
}

// ---------------------------------------------------------------------------------------------
// Claude Code sessions started elsewhere (the gateway's answers)
// ---------------------------------------------------------------------------------------------

/// How much of a Claude Code session's first prompt [`ClaudeSession::first_prompt`] keeps, in
/// characters.
pub const CLAUDE_PROMPT_CHARS: usize = 200;

/// One Claude Code session recorded on the gateway's machine in a checkout of the project (by
/// the CLI run anywhere: a terminal, an editor, Duraclaw itself), read from the CLI's own
/// session file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaudeSession {
    /// The CLI's session id (see [`is_claude_session_id`]).
    pub id: String,
    /// The linked worktree it ran in; `null` for the project's main checkout.
    pub worktree: Option<String>,
    /// The first prompt a person typed, cut to [`CLAUDE_PROMPT_CHARS`] characters (ending in
    /// `…` when cut); `null` when the start of the file holds none.
    pub first_prompt: Option<String>,
    /// When the session file last changed.
    pub modified_at: TimestampMs,
    /// The session file's size, in bytes.
    pub size: u64,
    /// A Duraclaw session has it (started or resumed it): resuming it again is refused (409).
    pub claimed: bool,
}

/// `GET /projects/:name/claude-sessions`: the Claude Code sessions of every checkout of the
/// project, most recently changed first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaudeSessionList {
    /// The newest ones (at most 100).
    pub sessions: Vec<ClaudeSession>,
    /// How many session files were found in all (the list holds the newest of them).
    pub total: u64,
}

/// `GET /projects/:name/claude-sessions/:id?worktree=`: one session, as resuming it would show
/// it. 404 when the checkout has no such session, 409 once a Duraclaw session has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaudeSessionDetail {
    pub session: ClaudeSession,
    /// The directory the CLI ran in (the checkout's real path).
    pub cwd: String,
    /// How many prompts the history that a resume shows holds.
    pub prompts: u64,
    /// The file is larger than what a resume reads (its last 8 MB): only the end of the history
    /// is shown.
    pub history_truncated: bool,
}
