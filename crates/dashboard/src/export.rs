//! A session's transcript as Markdown, for "Export": built in the browser from the folded
//! [`Transcript`] the session screen already holds (no Worker code), downloaded as a `.md` file.
//!
//! What it holds: a heading with the title, project and model; each user prompt, each assistant
//! text (thinking left out), each tool call with its input summarised (the command, the file,
//! the pattern) and how it was decided, its result (cut at [`RESULT_MAX`] bytes), each question
//! with the answers given, errors, and the totals (cost, tokens, turns).

use shared_types::fold::{Item, Transcript};
use shared_types::{AssistantBlock, Decision, SessionMeta};

use crate::{display, render};

/// The most of one tool result written out; the rest is counted.
const RESULT_MAX: usize = 4 * 1024;

/// The Markdown of a session: `title` is the one shown (the user's, if renamed).
pub fn markdown(title: &str, meta: Option<&SessionMeta>, t: &Transcript) -> String {
    let mut out = format!("# {}\n\n", one_line(title));
    if let Some(m) = meta {
        let place = m.worktree.as_ref().map_or_else(|| m.project.clone(), |w| format!("{} / {w}", m.project));
        out.push_str(&format!("- Project: {place}\n"));
        if let Some(model) = &m.model {
            out.push_str(&format!("- Model: {model}\n"));
        }
        out.push_str(&format!("- Session: {}\n", m.id));
        out.push('\n');
    }
    for item in &t.items {
        match item {
            Item::User { content, .. } => {
                out.push_str("## User\n\n");
                out.push_str(render::content_text(content).trim_end());
                out.push_str("\n\n");
            }
            Item::Assistant { message, .. } => {
                let text: Vec<&str> = message
                    .content
                    .iter()
                    .filter_map(|b| match b {
                        AssistantBlock::Text { text } if !text.trim().is_empty() => Some(text.trim_end()),
                        _ => None,
                    })
                    .collect();
                if !text.is_empty() {
                    out.push_str("## Assistant\n\n");
                    out.push_str(&text.join("\n\n"));
                    out.push_str("\n\n");
                }
            }
            Item::Tool(tool) => {
                let summary = one_line(&render::tool_summary(&tool.name, &tool.input));
                out.push_str(&format!("### Tool: {}", tool.name));
                if !summary.is_empty() {
                    out.push_str(&format!(" `{}`", summary.replace('`', "'")));
                }
                out.push_str("\n\n");
                let decided = match tool.decision {
                    Some(Decision::Approved) => Some("approved"),
                    Some(Decision::Denied) => Some("denied"),
                    Some(Decision::Expired) => Some("expired unanswered"),
                    None if tool.pending => Some("waiting for approval"),
                    None => None,
                };
                if let Some(d) = decided {
                    let by = tool.resolved_by.as_ref().map(|b| format!(" ({b})")).unwrap_or_default();
                    out.push_str(&format!("Decision: {d}{by}\n\n"));
                }
                if let Some(result) = &tool.result {
                    let label = if tool.is_error { "Error" } else { "Result" };
                    out.push_str(&format!("{label}:\n\n"));
                    out.push_str(&fenced(&cut(&render::result_text(result))));
                }
            }
            Item::Question { questions, answers, .. } => {
                out.push_str("### Question\n\n");
                for q in questions {
                    out.push_str(&format!("> {}\n", one_line(&q.question)));
                    let answer = answers.as_ref().and_then(|a| a.get(&q.question));
                    match answer {
                        Some(a) => out.push_str(&format!("\nAnswer: {}\n\n", one_line(a))),
                        None => out.push_str("\n(no answer)\n\n"),
                    }
                }
            }
            Item::Result { cost_usd, duration_ms, is_error, .. } => {
                let how = if *is_error { "Turn failed" } else { "Turn done" };
                out.push_str(&format!("_{how}: {} · {:.1} s_\n\n", display::cost(*cost_usd), *duration_ms as f64 / 1000.0));
            }
            Item::Error { code, message, .. } => {
                let code = serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                out.push_str(&format!("**Error** ({code}): {}\n\n", one_line(message)));
            }
            Item::Complete { summary, .. } => {
                out.push_str(&format!("_Session ended: {}_\n\n", one_line(summary)));
            }
            Item::Unknown { reason, .. } => out.push_str(&format!("_(an event that could not be read: {})_\n\n", one_line(reason))),
        }
    }
    let u = &t.usage;
    let input = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
    out.push_str(&format!(
        "---\n\nTotal cost: {} · {} tokens in · {} out · {} turns\n",
        display::cost(t.total_cost_usd),
        input,
        u.output_tokens,
        t.turns
    ));
    out
}

/// A file name for the download: the title's letters and digits, dashes between.
pub fn file_name(title: &str) -> String {
    let mut name = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            name.extend(c.to_lowercase());
        } else if !name.ends_with('-') && !name.is_empty() {
            name.push('-');
        }
        if name.chars().count() >= 60 {
            break;
        }
    }
    let name = name.trim_end_matches('-');
    if name.is_empty() { "session.md".into() } else { format!("{name}.md") }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cut(text: &str) -> String {
    let mut end = text.len().min(RESULT_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = text[..end].to_string();
    if end < text.len() {
        out.push_str(&format!("\n… {} more bytes", text.len() - end));
    }
    out
}

/// A fenced code block whose fence is longer than any run of backticks inside.
fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}\n{}\n{fence}\n\n", text.trim_end_matches('\n'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_types::{EventEnvelope, GatewayEvent};

    fn transcript(events: &[&str]) -> Transcript {
        let envs: Vec<EventEnvelope> = events
            .iter()
            .enumerate()
            .map(|(i, e)| EventEnvelope { seq: i as u64 + 1, event: serde_json::from_str::<GatewayEvent>(e).unwrap() })
            .collect();
        Transcript::from_events(&envs)
    }

    #[test]
    fn a_turn_reads_as_markdown() {
        let t = transcript(&[
            r#"{"type":"session.user_message","client_id":"c1","content":[{"type":"text","text":"list the files"}],"queued":false}"#,
            r#"{"type":"session.message","message":{"id":"m1","content":[{"type":"thinking","thinking":"secret"},{"type":"text","text":"Here they are."},{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls ```"}}]}}"#,
            r#"{"type":"session.tool.result","tool_call_id":"t1","result":{"stdout":"a.txt\n```\nb.txt","stderr":""},"is_error":false}"#,
            r#"{"type":"session.result","cost_usd":0.0123,"usage":{"input_tokens":10,"output_tokens":5},"duration_ms":1500,"turns":1,"is_error":false}"#,
        ]);
        let md = markdown("Files\nplease", None, &t);
        assert!(md.starts_with("# Files please\n"), "{md}");
        assert!(md.contains("## User\n\nlist the files\n"), "{md}");
        assert!(md.contains("## Assistant\n\nHere they are.\n"), "{md}");
        assert!(!md.contains("secret"), "thinking is left out: {md}");
        assert!(md.contains("### Tool: Bash `ls '''`"), "{md}");
        assert!(md.contains("````\na.txt\n```\nb.txt\n````"), "the fence outlasts the result's: {md}");
        assert!(md.contains("Total cost: $0.0123"), "{md}");
    }

    #[test]
    fn file_names_are_plain() {
        assert_eq!(file_name("Fix: the flaky test!"), "fix-the-flaky-test.md");
        assert_eq!(file_name("../../etc/passwd"), "etc-passwd.md");
        assert_eq!(file_name("✓✓"), "session.md");
    }
}
