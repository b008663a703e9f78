//! The tool gate: every tool call is decided here (invariant 4).
//!
//! The `PreToolUse` hook callback (registered at `initialize`) asks [`Gate::pre_tool_use`]: the
//! session's policy and its `session`-scope grants say allow or deny, and anything else is `ask`,
//! which makes the CLI send `can_use_tool`. That request parks here until a human answers from
//! any device, however long it takes; the first answer wins. `AskUserQuestion` always parks, as
//! a question whose answers go back in `updatedInput`. The gate is plain state: it returns the
//! JSON to answer the CLI with and the events to announce, and does no I/O.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use shared_types::config::PolicyDecision;
use shared_types::gateway::{Decision, GatewayEvent, Question, QuestionOption, Scope, ToolCall};
use shared_types::{PermissionMode, PermissionRule, ToolPolicy};

use crate::translate::PermissionRequest;

/// Who decided, when no human did.
pub const BY_POLICY: &str = "policy";

const QUESTION_TOOL: &str = "AskUserQuestion";
const EDIT_TOOLS: &[&str] = &["Edit", "Write", "MultiEdit", "NotebookEdit"];

/// A hook's verdict on a tool call.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Allow,
    Deny(String),
    Ask,
}

/// A `can_use_tool` request waiting for a human.
#[derive(Debug, Clone)]
struct Parked {
    request_id: String,
    name: String,
    input: Value,
}

/// The answer to send the CLI and what to tell every device.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The `can_use_tool` control request being answered.
    pub request_id: String,
    /// The `response` body of the control response.
    pub response: Value,
    pub events: Vec<GatewayEvent>,
    /// A rule to remember for the rest of the session (scope `session`).
    pub grant: Option<PermissionRule>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GateError {
    #[error("tool call {0} is not pending: it was already answered, expired, or never asked")]
    NotPending(String),
    #[error("tool call {0} is a question: answer it with session.answer")]
    IsQuestion(String),
    #[error("tool call {0} is not a question: approve or deny it")]
    NotQuestion(String),
}

pub struct Gate {
    policy: ToolPolicy,
    mode: PermissionMode,
    cwd: String,
    grants: Vec<PermissionRule>,
    parked: HashMap<String, Parked>,
}

impl Gate {
    pub fn new(policy: ToolPolicy, mode: PermissionMode, cwd: String, grants: Vec<PermissionRule>) -> Self {
        Gate { policy, mode, cwd, grants, parked: HashMap::new() }
    }

    /// The policy's verdict, before any human: deny rules, then allow rules and grants, then the
    /// permission mode's own allowances; the rest asks.
    pub fn pre_tool_use(&self, tool: &str, input: &Value) -> Verdict {
        if tool == QUESTION_TOOL {
            return Verdict::Ask;
        }
        match self.policy.decide(tool, input, &self.cwd) {
            PolicyDecision::Deny => return Verdict::Deny(format!("the session's policy denies {tool}")),
            PolicyDecision::Allow => return Verdict::Allow,
            PolicyDecision::Ask => {}
        }
        let granted = self.grants.iter().any(|g| g.matches(tool, input, &self.cwd));
        let mode_allows = match self.mode {
            PermissionMode::BypassPermissions => true,
            PermissionMode::AcceptEdits => EDIT_TOOLS.contains(&tool),
            PermissionMode::Default | PermissionMode::Plan => false,
        };
        if granted || mode_allows {
            Verdict::Allow
        } else {
            Verdict::Ask
        }
    }

    /// The hook callback's answer for a verdict, in the shape a command hook would print.
    pub fn hook_response(verdict: &Verdict) -> Value {
        let (decision, reason) = match verdict {
            Verdict::Allow => ("allow", "allowed by the session's policy".to_string()),
            Verdict::Deny(reason) => ("deny", reason.clone()),
            Verdict::Ask => ("ask", "waiting for a person to decide in Duraclaw".to_string()),
        };
        json!({"hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }})
    }

    /// A `can_use_tool` request: answered at once when the policy decides, otherwise parked.
    /// Returns the answer when there is one, and the events to announce either way.
    pub fn permission(&mut self, req: PermissionRequest) -> (Option<Answer>, Vec<GatewayEvent>) {
        let id = req.tool_use_id.clone();
        match self.pre_tool_use(&req.tool_name, &req.input) {
            Verdict::Allow => (Some(self.allow_answer(&req.request_id, &id, req.input, BY_POLICY, None)), vec![]),
            Verdict::Deny(reason) => (Some(deny_answer(&req.request_id, &id, &reason, BY_POLICY)), vec![]),
            Verdict::Ask => {
                let event = if req.tool_name == QUESTION_TOOL {
                    GatewayEvent::Question { tool_call_id: id.clone(), questions: questions_of(&req.input) }
                } else {
                    GatewayEvent::ToolRequest {
                        tool_call: ToolCall {
                            id: id.clone(),
                            name: req.tool_name.clone(),
                            input: req.input.clone(),
                            reason: req.reason.clone(),
                        },
                    }
                };
                self.parked.insert(id, Parked { request_id: req.request_id, name: req.tool_name, input: req.input });
                (None, vec![event])
            }
        }
    }

    /// A human approved. `session` scope also remembers a rule for the rest of the session.
    pub fn approve(&mut self, tool_call_id: &str, scope: Scope, by: &str) -> Result<Answer, GateError> {
        let parked = self.take(tool_call_id, false)?;
        let grant = (scope == Scope::Session).then(|| grant_for(&parked.name, &parked.input));
        if let Some(rule) = &grant {
            self.grants.push(rule.clone());
        }
        Ok(self.allow_answer(&parked.request_id, tool_call_id, parked.input, by, grant))
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
        Ok(self.allow_answer(&parked.request_id, tool_call_id, parked.input, by, None))
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

    fn allow_answer(&self, request_id: &str, id: &str, input: Value, by: &str, grant: Option<PermissionRule>) -> Answer {
        Answer {
            request_id: request_id.to_string(),
            response: json!({"behavior": "allow", "updatedInput": input, "toolUseID": id}),
            events: vec![resolved(id, Decision::Approved, by)],
            grant,
        }
    }
}

fn deny_answer(request_id: &str, id: &str, reason: &str, by: &str) -> Answer {
    Answer {
        request_id: request_id.to_string(),
        response: json!({"behavior": "deny", "message": reason, "interrupt": false, "toolUseID": id}),
        events: vec![resolved(id, Decision::Denied, by)],
        grant: None,
    }
}

fn resolved(id: &str, decision: Decision, by: &str) -> GatewayEvent {
    GatewayEvent::ToolResolved { tool_call_id: id.to_string(), decision, by: by.to_string() }
}

/// The rule a `session`-scope approval remembers: the exact command for Bash, the tool otherwise.
fn grant_for(tool: &str, input: &Value) -> PermissionRule {
    let pattern = (tool == "Bash").then(|| input.get("command").and_then(Value::as_str).map(str::to_string)).flatten();
    PermissionRule { tool: tool.to_string(), pattern }
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

    fn gate(allow: &[&str], deny: &[&str], mode: PermissionMode) -> Gate {
        let parse = |v: &[&str]| v.iter().map(|r| r.parse().unwrap()).collect();
        Gate::new(ToolPolicy { allow: parse(allow), deny: parse(deny) }, mode, "/w".into(), vec![])
    }

    fn request(id: &str, tool: &str, input: Value) -> PermissionRequest {
        PermissionRequest { request_id: format!("r-{id}"), tool_use_id: id.into(), tool_name: tool.into(), input, reason: None }
    }

    #[test]
    fn policy_and_modes_decide_before_anyone_asks() {
        let g = gate(&["Bash(ls*)"], &["Bash(rm *)"], PermissionMode::Default);
        assert_eq!(g.pre_tool_use("Bash", &json!({"command": "ls -l"})), Verdict::Allow);
        assert!(matches!(g.pre_tool_use("Bash", &json!({"command": "rm -rf x"})), Verdict::Deny(_)));
        assert_eq!(g.pre_tool_use("Write", &json!({"file_path": "/w/a"})), Verdict::Ask);
        let g = gate(&[], &["Write(secrets/**)"], PermissionMode::AcceptEdits);
        assert_eq!(g.pre_tool_use("Write", &json!({"file_path": "/w/a"})), Verdict::Allow);
        assert!(matches!(g.pre_tool_use("Write", &json!({"file_path": "/w/secrets/k"})), Verdict::Deny(_)));
        assert_eq!(g.pre_tool_use("Bash", &json!({"command": "ls"})), Verdict::Ask);
        let g = gate(&["AskUserQuestion"], &[], PermissionMode::BypassPermissions);
        assert_eq!(g.pre_tool_use("AskUserQuestion", &json!({})), Verdict::Ask, "questions always need a person");
    }

    #[test]
    fn parked_requests_take_the_first_answer_only() {
        let mut g = gate(&[], &[], PermissionMode::Default);
        let (answer, events) = g.permission(request("t1", "Bash", json!({"command": "make"})));
        assert!(answer.is_none());
        assert!(matches!(&events[0], GatewayEvent::ToolRequest { tool_call } if tool_call.id == "t1"));
        let a = g.approve("t1", Scope::Once, "ada").unwrap();
        assert_eq!(a.request_id, "r-t1");
        assert_eq!(a.response["behavior"], "allow");
        assert_eq!(a.response["updatedInput"]["command"], "make");
        assert_eq!(a.events, vec![resolved("t1", Decision::Approved, "ada")]);
        assert_eq!(g.deny("t1", "late", "bob"), Err(GateError::NotPending("t1".into())));
    }

    #[test]
    fn session_scope_grants_cover_later_calls() {
        let mut g = gate(&[], &[], PermissionMode::Default);
        g.permission(request("t1", "Bash", json!({"command": "cargo test"})));
        let a = g.approve("t1", Scope::Session, "ada").unwrap();
        assert_eq!(a.grant, Some("Bash(cargo test)".parse().unwrap()));
        assert_eq!(g.pre_tool_use("Bash", &json!({"command": "cargo test"})), Verdict::Allow);
        assert_eq!(g.pre_tool_use("Bash", &json!({"command": "cargo build"})), Verdict::Ask);
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
        assert_eq!(g.approve("q1", Scope::Once, "ada"), Err(GateError::IsQuestion("q1".into())));
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
