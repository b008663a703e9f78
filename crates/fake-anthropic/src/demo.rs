//! Demo mode: a plain prompt plays a short, realistic session, so a newcomer trying Duraclaw
//! without an API key sees what it is for (an approval with its diff, a command, a question).
//!
//! Off by default (tests rely on `You said: ...`); on with `fake-anthropic --demo`,
//! `FAKE_ANTHROPIC_DEMO=1`, `POST /_fake/demo {"on": true}` or [`crate::FakeModel::set_demo`].
//! It answers only a prompt with no `[[...]]` directive (directives keep scripting tests), and
//! only in a request that offers the demo's tools ([`TOOLS`]): the CLI's side requests (a
//! title, a summary) offer none and keep the plain answer.
//!
//! Like the rest of the fake it keeps no state: the step is the number of tool calls the model
//! already made after the prompt ([`Turn::calls`], which the CLI re-sends with their results).
//! One call per step, in this order:
//!
//! | step | the model says | and calls |
//! |---|---|---|
//! | [`Step::Read`] | it will look at the project first | `Read README.md` |
//! | [`Step::Edit`] | what it will change | `Edit README.md`: a description and a "Getting started" section (an earlier demo's section gets a line instead; a README it could not read is created) |
//! | [`Step::Check`] | the edit is in (or was declined, quoting why) | `Bash git diff --stat` (`git status --short` after a declined edit) |
//! | [`Step::Ask`] | what the command printed (or that it was declined) | `AskUserQuestion` "What should I do next?" |
//! | [`Step::Summary`] | a summary of every step and the answer | (ends the turn) |
//!
//! A denied or failed call never stops the demo: the next step says so and goes on. Usage is
//! made realistic (most input read from the prompt cache) so cost and tokens show.

use serde_json::{json, Value};

use crate::directive::{Pace, Script};
use crate::reply::{Block, Call, Reply, ToolResult, Turn, FAKE_SIGNATURE};

/// The tools the demo calls; a request must offer all of them.
pub const TOOLS: [&str; 4] = ["Read", "Edit", "Bash", "AskUserQuestion"];

/// The file the demo reads and edits (the demo repository's one file).
pub const FILE: &str = "README.md";

/// The heading the demo's edit adds; a README that has it gets a line instead.
pub const SECTION: &str = "## Getting started";

/// The question the demo asks, and its options (label, description).
pub const QUESTION: &str = "What should I do next?";
pub const OPTIONS: [(&str, &str); 3] = [
    (
        "Commit the change",
        "Commit README.md with a short message.",
    ),
    (
        "Add a check script",
        "Add a small script that checks the project.",
    ),
    (
        "Nothing for now",
        "Stop here; ask for more whenever you like.",
    ),
];

/// The text streams like a model's: this many pieces, this far apart.
const PACE: Pace = Pace { ms: 25, chunks: 24 };

/// The demo's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Read,
    Edit,
    Check,
    Ask,
    Summary,
}

/// Whether the demo answers this request: the prompt has no directive and the request offers
/// every tool the demo calls.
pub fn applies(turn: &Turn, script: &Script) -> bool {
    let plain = Script {
        prose: script.prose.clone(),
        ..Script::default()
    };
    *script == plain && TOOLS.iter().all(|t| turn.tools.iter().any(|o| o == t))
}

/// The step this request is at: one per tool call already made after the prompt.
pub fn step(turn: &Turn) -> Step {
    match turn.calls.len() {
        0 => Step::Read,
        1 => Step::Edit,
        2 => Step::Check,
        3 => Step::Ask,
        _ => Step::Summary,
    }
}

/// The demo's reply to `turn`; `tool_id` names the `tool_use` if the step makes one.
pub fn respond(turn: &Turn, tool_id: String) -> Reply {
    let path = absolute(FILE, turn.cwd.as_deref());
    let call = |n: usize| turn.calls.get(n);
    let (text, tool) = match step(turn) {
        Step::Read => (
            "I'll start by reading the README to see what this project is about.".to_string(),
            Some(("Read", json!({"file_path": path}))),
        ),
        Step::Edit => {
            let (text, old, new) = plan_edit(call(0), &project_name(turn.cwd.as_deref()));
            let input = json!({"file_path": path, "old_string": old, "new_string": new, "replace_all": false});
            (text, Some(("Edit", input)))
        }
        Step::Check => {
            let (text, command) = match outcome(call(1)) {
                Ok(_) => (
                    format!("{FILE} is updated. Let me look at the change with git."),
                    "git diff --stat",
                ),
                Err(why) => (
                    format!("The edit did not go through ({why}), so {FILE} stays as it was. I'll check the working tree instead."),
                    "git status --short",
                ),
            };
            let input =
                json!({"command": command, "description": "Show what changed in the working tree"});
            (text, Some(("Bash", input)))
        }
        Step::Ask => {
            let command = command_of(call(2));
            let said = match outcome(call(2)) {
                Ok(out)
                    if out.trim().is_empty()
                        || out.starts_with("(Bash completed with no output)") =>
                {
                    format!("`{command}` printed nothing: the working tree is clean.")
                }
                Ok(out) => format!("`{command}` says:\n\n```\n{}\n```", first_lines(&out, 12)),
                Err(why) => format!("The command did not run ({why}); that's fine."),
            };
            let options: Vec<Value> = OPTIONS
                .iter()
                .map(|(label, description)| json!({"label": label, "description": description}))
                .collect();
            let question = json!({"question": QUESTION, "header": "Next step", "options": options, "multiSelect": false});
            (
                format!("{said}\n\nOne question before I wrap up."),
                Some(("AskUserQuestion", json!({"questions": [question]}))),
            )
        }
        Step::Summary => (summary(turn), None),
    };
    let mut blocks = Vec::new();
    if step(turn) == Step::Read {
        blocks.push(Block::Thinking {
            thinking: "The user wants a hand with this repository. I should see what is in it before changing anything.".into(),
            signature: FAKE_SIGNATURE.into(),
        });
    }
    blocks.push(Block::Text(text));
    let stop_reason = match tool {
        Some((name, input)) => {
            blocks.push(Block::ToolUse {
                id: tool_id,
                name: name.into(),
                input,
            });
            "tool_use"
        }
        None => "end_turn",
    };
    Reply {
        blocks,
        stop_reason,
        pace: Some(PACE),
    }
}

/// Splits `estimate` input tokens the way a cached conversation bills them: the first request
/// of a turn writes most of the prompt to the cache, later ones read it back. Returns
/// `(input, cache_creation, cache_read)`.
pub fn usage(turn: &Turn, estimate: u64) -> (u64, u64, u64) {
    let cached = estimate * 9 / 10;
    let fresh = estimate - cached;
    if turn.calls.is_empty() {
        (fresh, cached, 0)
    } else {
        (fresh, 0, cached)
    }
}

/// The edit to propose after the Read: `(what the model says, old_string, new_string)`.
fn plan_edit(read: Option<&Call>, project: &str) -> (String, String, String) {
    let intro = format!(
        "A small project to try Duraclaw with: Claude Code works in it while you watch, approve and answer from any browser.\n\n\
         {SECTION}\n\n\
         - Ask for a change in plain words.\n\
         - Approve or deny each tool call from the dashboard, on your phone or laptop."
    );
    let lines = match outcome(read) {
        Ok(text) => file_lines(&text),
        Err(why) => {
            let text = format!("I couldn't read {FILE} ({why}), so I'll write a fresh one.");
            return (text, String::new(), format!("# {project}\n\n{intro}\n"));
        }
    };
    let non_empty = || lines.iter().filter(|l| !l.trim().is_empty());
    if !lines.iter().any(|l| l.trim() == SECTION) {
        let Some(title) = non_empty().next() else {
            let text = format!("{FILE} is empty. I'll give it a title, a description and a “Getting started” section.");
            return (text, String::new(), format!("# {project}\n\n{intro}\n"));
        };
        let text = "The README is only a title. I'll add a short description and a “Getting started” section so a newcomer knows what to do.".to_string();
        return (text, title.clone(), format!("{title}\n\n{intro}"));
    }
    // An earlier demo added the section: add one line to it, different every time (so the old
    // string stays unique and the diff shows something).
    let passes = lines
        .iter()
        .filter(|l| l.starts_with("- Reviewed again"))
        .count();
    let last = non_empty().next_back().cloned().unwrap_or_default();
    let text = "The README already has a “Getting started” section from an earlier run. I'll add a line to it.".to_string();
    let new = format!(
        "{last}\n- Reviewed again from Duraclaw (pass {}).",
        passes + 2
    );
    (text, last, new)
}

/// The file's lines from a Read result (`     1→text` or `     1\ttext` per line; the CLI's
/// `<system-reminder>` after them is left out).
pub fn file_lines(read: &str) -> Vec<String> {
    read.lines()
        .take_while(|l| !l.trim_start().starts_with("<system-reminder>"))
        .filter_map(|l| {
            let t = l.trim_start();
            let rest = t.trim_start_matches(|c: char| c.is_ascii_digit());
            if rest.len() == t.len() {
                return None;
            }
            rest.strip_prefix('→')
                .or_else(|| rest.strip_prefix('\t'))
                .map(String::from)
        })
        .collect()
}

/// A call's result: `Ok(text)`, or `Err(why)` when it was denied, failed or never answered.
fn outcome(call: Option<&Call>) -> Result<String, String> {
    match call.and_then(|c| c.result.as_ref()) {
        Some(ToolResult {
            content,
            is_error: false,
        }) => Ok(content.clone()),
        Some(ToolResult { content, .. }) => Err(quote(content)),
        None => Err("no result came back".into()),
    }
}

/// An error's first line, quoted and cut to a readable length.
fn quote(content: &str) -> String {
    let line = content
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('<'))
        .unwrap_or("no reason given");
    let cut: String = line.chars().take(160).collect();
    let more = if cut.len() < line.len() { "…" } else { "" };
    format!("“{cut}{more}”")
}

fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let mut out = lines[..lines.len().min(n)].join("\n");
    if lines.len() > n {
        out.push_str("\n…");
    }
    out
}

fn command_of(call: Option<&Call>) -> String {
    call.and_then(|c| c.input.get("command"))
        .and_then(Value::as_str)
        .unwrap_or("the command")
        .to_string()
}

/// The answer to the demo's question, from the AskUserQuestion result
/// (`... "What should I do next?"="Commit the change" ...`).
pub fn answer(result: &str) -> Option<String> {
    let key = format!("\"{QUESTION}\"=\"");
    if let Some(start) = result.find(&key) {
        let rest = &result[start + key.len()..];
        if let Some(end) = rest.find('"') {
            return Some(rest[..end].to_string());
        }
    }
    OPTIONS
        .iter()
        .find(|(label, _)| result.contains(label))
        .map(|(label, _)| label.to_string())
}

/// The closing message: every step as it went, then what the demo was.
fn summary(turn: &Turn) -> String {
    let call = |n: usize| turn.calls.get(n);
    let mut out = String::from("Here's what I did:\n\n");
    out.push_str(&match outcome(call(0)) {
        // the CLI shows the newline that ends the file as an empty last line
        Ok(text) => match file_lines(&text)
            .iter()
            .rposition(|l| !l.trim().is_empty())
            .map_or(0, |i| i + 1)
        {
            1 => format!("- **Read** `{FILE}` (1 line).\n"),
            n => format!("- **Read** `{FILE}` ({n} lines).\n"),
        },
        Err(why) => format!("- Tried to read `{FILE}`: {why}.\n"),
    });
    out.push_str(&match outcome(call(1)) {
        Ok(_) => {
            let field = |k: &str| call(1).and_then(|c| c.input.get(k)).and_then(Value::as_str).unwrap_or("");
            let what = if field("old_string").is_empty() {
                "created it with a description and a “Getting started” section"
            } else if field("new_string").contains(SECTION) {
                "added a short description and a “Getting started” section"
            } else {
                "added a line to its “Getting started” section"
            };
            format!("- **Edited** `{FILE}`: {what}.\n")
        }
        Err(why) => format!("- Proposed an edit to `{FILE}`; it did not go through ({why}), so the file is unchanged.\n"),
    });
    let command = command_of(call(2));
    out.push_str(&match outcome(call(2)) {
        Ok(text) => match text.lines().map(str::trim).rfind(|l| !l.is_empty()) {
            Some(last) if !last.starts_with("(Bash completed") => {
                format!("- **Ran** `{command}`: {last}.\n")
            }
            _ => format!("- **Ran** `{command}`: nothing to show.\n"),
        },
        Err(why) => format!("- Wanted to run `{command}`; it did not run ({why}).\n"),
    });
    out.push_str(&match outcome(call(3)) {
        Ok(text) => match answer(&text) {
            Some(a) => format!("- **Asked** what's next: you chose “{a}”.\n"),
            None => "- **Asked** what's next; I could not read the answer.\n".into(),
        },
        Err(why) => format!("- Asked what's next; no answer came ({why}).\n"),
    });
    out.push_str(
        "\nThat was Duraclaw's keyless demo: a scripted stand-in model drove the real Claude Code CLI, \
         and every tool call went through the gateway's approvals. Run `scripts/run.sh` without \
         `--fake-model` to work with Claude itself.",
    );
    out
}

fn project_name(cwd: Option<&str>) -> String {
    cwd.and_then(|c| c.trim_end_matches('/').rsplit('/').next())
        .filter(|n| !n.is_empty())
        .unwrap_or("project")
        .to_string()
}

fn absolute(path: &str, cwd: Option<&str>) -> String {
    match cwd {
        Some(cwd) => format!("{}/{path}", cwd.trim_end_matches('/')),
        None => path.to_string(),
    }
}
