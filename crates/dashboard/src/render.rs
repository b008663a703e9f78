//! Text to HTML for the transcript: markdown (by [`crate::markdown`]), diffs, and what a tool
//! call shows.
//!
//! Everything here returns HTML strings that escape every piece of input (only the tags written
//! here are emitted), set with `inner_html`: building a long transcript this way costs far less
//! code and time than one reactive node per span, and the content never changes once drawn.

use serde_json::Value;
use shared_types::fold::{Item, ToolItem};
use shared_types::{AssistantBlock, ContentBlock, Decision};

use crate::{display, markdown};

/// The most of one tool result drawn; the rest is summarised.
const RESULT_MAX: usize = 16 * 1024;

pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// A unified diff, each line coloured by its kind.
pub fn patch(patch: &str) -> String {
    let mut out = String::from("<pre class=\"diff\">");
    for line in patch.lines() {
        let class = match line.as_bytes().first() {
            Some(b'+') if !line.starts_with("+++") => "add",
            Some(b'-') if !line.starts_with("---") => "del",
            Some(b'@') => "hunk",
            _ => "ctx",
        };
        diff_line(&mut out, class, line);
    }
    out.push_str("</pre>");
    out
}

fn diff_line(out: &mut String, class: &str, line: &str) {
    out.push_str("<span class=\"");
    out.push_str(class);
    out.push_str("\">");
    escape_into(out, line);
    out.push_str("</span>\n");
}

/// An edit as a diff: the lines both sides share at the start and end as context, the middle as
/// removed and added lines.
pub fn edit(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..].iter().rev().zip(b[head..].iter().rev()).take_while(|(x, y)| x == y).count();
    let mut out = String::from("<pre class=\"diff\">");
    for l in &a[..head] {
        diff_line(&mut out, "ctx", &format!(" {l}"));
    }
    for l in &a[head..a.len() - tail] {
        diff_line(&mut out, "del", &format!("-{l}"));
    }
    for l in &b[head..b.len() - tail] {
        diff_line(&mut out, "add", &format!("+{l}"));
    }
    for l in &a[a.len() - tail..] {
        diff_line(&mut out, "ctx", &format!(" {l}"));
    }
    out.push_str("</pre>");
    out
}

fn str_field<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    input.get(key).and_then(Value::as_str)
}

/// The one line that says what a tool call does: the command, the file, the pattern...
pub fn tool_summary(name: &str, input: &Value) -> String {
    let key = match name {
        "Bash" => "command",
        "Read" | "Write" | "Edit" | "MultiEdit" => "file_path",
        "NotebookEdit" => "notebook_path",
        "Glob" | "Grep" => "pattern",
        "WebFetch" => "url",
        "WebSearch" => "query",
        _ => "description",
    };
    str_field(input, key)
        .map(str::to_string)
        .or_else(|| input.as_object().and_then(|o| o.values().find_map(Value::as_str)).map(str::to_string))
        .unwrap_or_default()
}

/// A tool call's input: the command for Bash, a diff for Edit/MultiEdit/Write, JSON otherwise.
pub fn tool_input(name: &str, input: &Value) -> String {
    match name {
        "Bash" => format!("<pre class=\"cmd\">$ {}</pre>", escape(str_field(input, "command").unwrap_or(""))),
        "Edit" => edit(str_field(input, "old_string").unwrap_or(""), str_field(input, "new_string").unwrap_or("")),
        "Write" => edit("", str_field(input, "content").unwrap_or("")),
        "MultiEdit" => input
            .get("edits")
            .and_then(Value::as_array)
            .map(|edits| {
                edits
                    .iter()
                    .map(|e| edit(str_field(e, "old_string").unwrap_or(""), str_field(e, "new_string").unwrap_or("")))
                    .collect()
            })
            .unwrap_or_default(),
        _ => format!("<pre>{}</pre>", escape(&fields(input))),
    }
}

/// A JSON object as `key: value` lines (strings bare, the rest as compact JSON).
fn fields(value: &Value) -> String {
    let Some(object) = value.as_object() else { return value.to_string() };
    object
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A tool result as text: a string, the text of content blocks, stdout/stderr, or JSON.
pub fn result_text(result: &Value) -> String {
    match result {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| str_field(b, "text").map(str::to_string).unwrap_or_else(|| b.to_string()))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Object(o) if o.contains_key("stdout") || o.contains_key("stderr") => {
            let out = [str_field(result, "stdout"), str_field(result, "stderr")];
            out.into_iter().flatten().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("\n")
        }
        Value::Null => String::new(),
        other => fields(other),
    }
}

/// A tool result as a `<pre>`, cut at [`RESULT_MAX`] bytes.
pub fn tool_result(result: &Value) -> String {
    let text = result_text(result);
    let mut cut = text.len().min(RESULT_MAX);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = String::from("<pre class=\"result\">");
    escape_into(&mut out, &text[..cut]);
    if cut < text.len() {
        out.push_str(&format!("\n… {} more bytes", text.len() - cut));
    }
    out.push_str("</pre>");
    out
}

/// A user message's text; images show as `[image]`.
pub fn content_text(content: &[ContentBlock]) -> String {
    content
        .iter()
        .map(|b| match b {
            ContentBlock::Text { text } => text.as_str(),
            ContentBlock::Image { .. } => "[image]",
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A user message's text blocks alone (its images are drawn by [`thumbs`]).
pub fn text_only(content: &[ContentBlock]) -> String {
    let texts = content.iter().filter_map(|b| match b {
        ContentBlock::Text { text } => Some(text.as_str()),
        ContentBlock::Image { .. } => None,
    });
    texts.collect::<Vec<_>>().join("\n")
}

/// A message's images as thumbnails. Only an image the shared rule accepts (one of the four
/// types, base64 whose first bytes match it) becomes a `data:` URL; anything else shows as
/// `[image]`, so what the attribute holds is base64 and never markup.
pub fn thumbs(out: &mut String, content: &[ContentBlock]) {
    let images: Vec<_> = content.iter().filter(|b| matches!(b, ContentBlock::Image { .. })).collect();
    if images.is_empty() {
        return;
    }
    out.push_str("<div class=\"thumbs\">");
    for block in images {
        match block {
            ContentBlock::Image { source } if shared_types::content_problem(std::slice::from_ref(block)).is_none() => {
                out.push_str(&format!(
                    "<img class=\"thumb\" data-testid=\"thumb\" data-type=\"{}\" alt=\"image\" src=\"data:{};base64,{}\">",
                    source.media_type, source.media_type, source.data
                ));
            }
            _ => out.push_str("<span class=\"thumb bad\">[image]</span>"),
        }
    }
    out.push_str("</div>");
}

/// Opens an item's element with the attributes the browser tests read (`data-kind`, `data-seq`).
fn open_item(out: &mut String, tag: &str, class: &str, kind: &str, seq: u64, extra: &str) {
    out.push_str(&format!("<{tag} class=\"{class}\" data-testid=\"item\" data-kind=\"{kind}\" data-seq=\"{seq}\"{extra}>"));
}

/// One transcript item as HTML: a message, a tool card, a question, a turn's end, an error.
pub fn item(item: &Item) -> String {
    let mut out = String::new();
    match item {
        Item::User { seq, content, queued, .. } => {
            open_item(&mut out, "div", if *queued { "msg user queued" } else { "msg user" }, "user", *seq, "");
            thumbs(&mut out, content);
            let text = text_only(content);
            if !text.is_empty() {
                out.push_str("<div class=\"bubble\">");
                escape_into(&mut out, &text);
                out.push_str("</div>");
            }
            out.push_str("</div>");
        }
        Item::Assistant { seq, message, streaming } => {
            let shown: Vec<&AssistantBlock> = message.content.iter().filter(|b| !matches!(b, AssistantBlock::ToolUse { .. })).collect();
            if shown.is_empty() {
                return out;
            }
            open_item(&mut out, "div", if *streaming { "msg assistant streaming" } else { "msg assistant" }, "assistant", *seq, "");
            for block in shown {
                match block {
                    AssistantBlock::Text { text } => out.push_str(&format!("<div class=\"md\">{}</div>", markdown::to_html(text))),
                    AssistantBlock::Thinking { thinking } => out.push_str(&format!(
                        "<details class=\"thinking\"><summary>Thinking</summary><div class=\"md\">{}</div></details>",
                        markdown::to_html(thinking)
                    )),
                    AssistantBlock::ToolUse { .. } => {}
                }
            }
            out.push_str("</div>");
        }
        Item::Tool(t) => tool(&mut out, t),
        Item::Question { seq, questions, answers, decision, .. } => {
            let state = match (answers, decision) {
                (Some(_), _) | (None, Some(Decision::Approved)) => "answered",
                (None, Some(Decision::Denied)) => "declined",
                (None, Some(Decision::Expired)) => "expired",
                _ => "waiting",
            };
            open_item(&mut out, "div", "card question-item", "question", *seq, &format!(" data-state=\"{state}\""));
            for q in questions {
                let answer = answers.as_ref().and_then(|a| a.get(&q.question)).map_or("—", String::as_str);
                out.push_str("<p><strong>");
                escape_into(&mut out, &q.question);
                out.push_str("</strong><br><span class=\"answer\">");
                escape_into(&mut out, answer);
                out.push_str("</span></p>");
            }
            out.push_str("</div>");
        }
        Item::Result { seq, cost_usd, duration_ms, is_error, .. } => {
            open_item(&mut out, "div", "turn-end", "result", *seq, "");
            let what = if *is_error { "turn failed" } else { "turn done" };
            out.push_str(&format!("{what} · {} · {:.1} s</div>", display::cost(*cost_usd), *duration_ms as f64 / 1000.0));
        }
        Item::Error { seq, message, fatal, .. } => {
            open_item(&mut out, "div", "msg error", "error", *seq, "");
            out.push_str(if *fatal { "Fatal: " } else { "Error: " });
            escape_into(&mut out, message);
            out.push_str("</div>");
        }
        Item::Complete { seq, summary } => {
            open_item(&mut out, "div", "complete", "complete", *seq, "");
            out.push_str("Session ended. ");
            escape_into(&mut out, summary);
            out.push_str("</div>");
        }        Item::Unknown { seq, original_type, reason } => {
            open_item(&mut out, "div", "msg unknown", "unknown", *seq, "");
            out.push_str("An event this dashboard cannot show");
            if let Some(t) = original_type {
                out.push_str(" (");
                escape_into(&mut out, t);
                out.push(')');
            }
            out.push_str(": ");
            escape_into(&mut out, reason);
            out.push_str(". It is kept in the session's history.</div>");
        }
    }
    out
}

fn tool(out: &mut String, t: &ToolItem) {
    let state = match (t.pending, t.decision, &t.result) {
        (true, _, _) => "waiting",
        (_, Some(Decision::Denied), _) => "denied",
        (_, Some(Decision::Expired), _) => "expired",
        (_, _, Some(_)) if t.is_error => "error",
        (_, _, Some(_)) => "done",
        _ => "running",
    };
    let open = t.pending || t.is_error || matches!(t.name.as_str(), "Bash" | "Edit" | "MultiEdit" | "Write");
    let name = escape(&t.name);
    let extra = format!(" data-tool=\"{name}\" data-state=\"{state}\"{}", if open { " open" } else { "" });
    open_item(out, "details", &format!("tool t-{state}"), "tool", t.seq, &extra);
    out.push_str(&format!(
        "<summary><span class=\"tool-name\">{name}</span><span class=\"tool-sum\">{}</span><span class=\"badge t-{state}\">{state}</span></summary>",
        escape(&tool_summary(&t.name, &t.input))
    ));
    out.push_str(&tool_input(&t.name, &t.input));
    if let Some(r) = &t.result {
        out.push_str("<div data-testid=\"tool-result\">");
        out.push_str(&tool_result(r));
        out.push_str("</div>");
    }
    if let (Some(by), Some(d)) = (&t.resolved_by, t.decision) {
        let what = match d {
            Decision::Approved => "approved",
            Decision::Denied => "denied",
            Decision::Expired => "expired",
        };
        out.push_str(&format!("<p class=\"muted small\">{what} by {}</p>", escape(by)));
    }
    out.push_str("</details>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_types::ImageSource;

    fn image(media_type: &str, data: &str) -> ContentBlock {
        ContentBlock::Image { source: ImageSource { kind: "base64".into(), media_type: media_type.into(), data: data.into() } }
    }

    #[test]
    fn only_images_the_shared_rule_accepts_become_thumbnails() {
        let png = "iVBORw0KGgo=";
        let cases = [
            (image("image/png", png), true),
            (image("image/png\" onerror=\"alert(1)", png), false),
            (image("image/png", "iVBORw0KGgo=\" onerror=\"alert(1)"), false),
            (image("image/svg+xml", "PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"), false),
            (image("text/html", "PGh0bWw+"), false),
            (image("image/jpeg", png), false),
        ];
        for (block, shown) in cases {
            let mut out = String::new();
            thumbs(&mut out, &[block.clone()]);
            assert_eq!(out.contains("<img"), shown, "{block:?}: {out}");
            assert!(!out.contains("onerror") && !out.contains("svg"), "{out}");
        }
        let html = item(&Item::User { seq: 3, client_id: "c".into(), content: vec![ContentBlock::text("<b>look</b>"), image("image/png", png)], queued: false });
        assert!(html.contains("src=\"data:image/png;base64,iVBORw0KGgo=\"") && html.contains("&lt;b&gt;look&lt;/b&gt;"), "{html}");
    }
}
