//! Markdown to HTML for the transcript: the subset people and models write in chat, by hand.
//!
//! pulldown-cmark was measured in its place (scripts/build-wasm.sh, issue 13): it took the
//! dashboard from 376 KB to 437 KB gzipped (+60 KB, +16%: its entity and Unicode tables), too
//! much for a phone-first app whose markdown is chat messages. So this stays a small renderer,
//! tested natively against hostile input (the tests below, `cargo test -p dashboard`).
//!
//! Everything the model or a person writes is hostile input. Every piece of it is escaped (only
//! the tags written here are emitted); a link leads somewhere only for an `http(s)` URL, and then
//! opens a new tab with no opener and no referrer; an image (`![alt](url)`) is never loaded,
//! only linked. No scan goes past the next delimiter, so the work is linear in the input.

use crate::render::escape_into;

/// `src` as safe HTML: paragraphs, fenced code blocks, `#` headings (all `h4`, a heading's size
/// inside a chat message), `-`/`1.` lists, `>` quotes, and inline code, bold and http(s) links.
pub fn to_html(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 64);
    let mut para: Vec<&str> = Vec::new();
    let mut list: Option<&'static str> = None;
    let mut lines = src.lines();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("```") {
            flush(&mut out, &mut para, &mut list);
            out.push_str("<pre><code>");
            for code in lines.by_ref() {
                if code.trim_start().starts_with("```") {
                    break;
                }
                escape_into(&mut out, code);
                out.push('\n');
            }
            out.push_str("</code></pre>");
        } else if t.is_empty() {
            flush(&mut out, &mut para, &mut list);
        } else if let Some(rest) = heading(t) {
            flush(&mut out, &mut para, &mut list);
            out.push_str("<h4>");
            inline(&mut out, rest);
            out.push_str("</h4>");
        } else if let Some((kind, rest)) = list_item(t) {
            flush_para(&mut out, &mut para);
            if list != Some(kind) {
                close_list(&mut out, &mut list);
                out.push_str(if kind == "ul" { "<ul>" } else { "<ol>" });
                list = Some(kind);
            }
            out.push_str("<li>");
            inline(&mut out, rest);
            out.push_str("</li>");
        } else if let Some(rest) = t.strip_prefix('>') {
            flush(&mut out, &mut para, &mut list);
            out.push_str("<blockquote>");
            inline(&mut out, rest.trim_start());
            out.push_str("</blockquote>");
        } else {
            close_list(&mut out, &mut list);
            para.push(line);
        }
    }
    flush(&mut out, &mut para, &mut list);
    out
}

fn heading(t: &str) -> Option<&str> {
    let hashes = t.bytes().take_while(|&b| b == b'#').count();
    (1..=6).contains(&hashes).then(|| t[hashes..].strip_prefix(' ')).flatten()
}

fn list_item(t: &str) -> Option<(&'static str, &str)> {
    if let Some(rest) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")).or_else(|| t.strip_prefix("+ ")) {
        return Some(("ul", rest));
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0 && digits < 4).then(|| t[digits..].strip_prefix(". ")).flatten().map(|rest| ("ol", rest))
}

fn flush(out: &mut String, para: &mut Vec<&str>, list: &mut Option<&'static str>) {
    flush_para(out, para);
    close_list(out, list);
}

fn flush_para(out: &mut String, para: &mut Vec<&str>) {
    if para.is_empty() {
        return;
    }
    out.push_str("<p>");
    inline(out, &para.join("\n"));
    out.push_str("</p>");
    para.clear();
}

fn close_list(out: &mut String, list: &mut Option<&'static str>) {
    if let Some(kind) = list.take() {
        out.push_str(if kind == "ul" { "</ul>" } else { "</ol>" });
    }
}

/// Inline code spans, `**bold**` and `[text](http...)` links; everything else is escaped text.
fn inline(out: &mut String, s: &str) {
    let mut rest = s;
    while !rest.is_empty() {
        let next = rest.find(['`', '*', '[']).unwrap_or(rest.len());
        escape_into(out, &rest[..next]);
        rest = &rest[next..];
        if rest.is_empty() {
            break;
        }
        if let Some(code) = rest.strip_prefix('`').and_then(|r| r.split_once('`')).filter(|c| !c.0.is_empty()) {
            out.push_str("<code>");
            escape_into(out, code.0);
            out.push_str("</code>");
            rest = code.1;
        } else if let Some(bold) = rest.strip_prefix("**").and_then(|r| r.split_once("**")).filter(|b| !b.0.is_empty()) {
            out.push_str("<strong>");
            escape_into(out, bold.0);
            out.push_str("</strong>");
            rest = bold.1;
        } else if let Some((text, url, after)) = link(rest) {
            out.push_str("<a rel=\"noopener noreferrer\" target=\"_blank\" href=\"");
            escape_into(out, url);
            out.push_str("\">");
            escape_into(out, text);
            out.push_str("</a>");
            rest = after;
        } else {
            let c = rest.chars().next().map_or(1, char::len_utf8);
            escape_into(out, &rest[..c]);
            rest = &rest[c..];
        }
    }
}

/// `[text](url)` at the start of `s`: `(text, url, the rest)`, for an http(s) URL only.
///
/// Neither the text nor the URL may hold a `[` (nor the URL whitespace), so no scan from one `[`
/// goes past the next: an unbounded search from every `[` would make a long run of them
/// quadratic, and a hostile message could freeze the tab.
fn link(s: &str) -> Option<(&str, &str, &str)> {
    let s = s.strip_prefix('[')?;
    let text_end = s.find(['[', ']'])?;
    let after = s[text_end..].strip_prefix("](")?;
    let url_end = after.find(|c: char| c == ')' || c == '[' || c.is_whitespace())?;
    let (url, rest) = after.split_at(url_end);
    let rest = rest.strip_prefix(')')?;
    is_web_url(url).then_some((&s[..text_end], url, rest))
}

/// Only web links lead anywhere: `javascript:`, `data:`, `vbscript:`, `file:` and relative URLs
/// (which would resolve against the dashboard itself) stay text.
fn is_web_url(url: &str) -> bool {
    ["https://", "http://"].iter().any(|scheme| url.get(..scheme.len()).is_some_and(|s| s.eq_ignore_ascii_case(scheme)))
}

#[cfg(test)]
mod tests {
    use super::to_html;

    /// (what, markdown, must contain, must not contain)
    const CASES: &[(&str, &str, &[&str], &[&str])] = &[
        ("a paragraph", "hello **world**", &["<p>hello <strong>world</strong></p>"], &[]),
        ("lines of a paragraph", "one\ntwo", &["<p>one\ntwo</p>"], &[]),
        ("code", "`x < y` and `a&b`", &["<code>x &lt; y</code>", "<code>a&amp;b</code>"], &[]),
        ("a heading is h4", "# Title", &["<h4>Title</h4>"], &["<h1"]),
        ("a list", "- a\n- b\n\n1. c", &["<ul><li>a</li><li>b</li></ul>", "<ol><li>c</li></ol>"], &[]),
        ("a quote", "> said", &["<blockquote>said</blockquote>"], &[]),
        ("a fenced block", "```rust\nfn x() {}\n```\nafter", &["<pre><code>fn x() {}\n</code></pre>", "<p>after</p>"], &[]),
        ("a web link", "[docs](https://example.com/a?b=1&c=2)", &[
            "<a rel=\"noopener noreferrer\" target=\"_blank\" href=\"https://example.com/a?b=1&amp;c=2\">docs</a>",
        ], &[]),
        ("an upper-case scheme", "[x](HTTPS://example.com)", &["href=\"HTTPS://example.com\""], &[]),
        // hostile input
        ("a script tag", "<script>alert(1)</script>", &["&lt;script&gt;alert(1)&lt;/script&gt;"], &["<script"]),
        ("an inline script", "hi <script>alert(1)</script> there", &["&lt;script&gt;"], &["<script"]),
        ("a script in a heading", "# <script>x</script>", &["<h4>&lt;script&gt;"], &["<script"]),
        ("a script in a list", "- <script>x</script>", &["<li>&lt;script&gt;"], &["<script"]),
        ("a script in code", "`<script>`", &["<code>&lt;script&gt;</code>"], &["<script"]),
        ("a script in bold", "**<script>**", &["<strong>&lt;script&gt;</strong>"], &["<script"]),
        ("an event handler", "<img src=x onerror=alert(1)>", &["&lt;img src=x onerror=alert(1)&gt;"], &["<img"]),
        ("an iframe", "<iframe src=\"https://evil\"></iframe>", &["&lt;iframe src=&quot;https://evil&quot;&gt;"], &["<iframe"]),
        ("a javascript link", "[click](javascript:alert(1))", &["click"], &["href", "<a"]),
        ("an entity-encoded javascript link", "[click](javascript&colon;alert(1))", &["click"], &["href"]),
        ("a mixed-case javascript link", "[x](JaVaScRiPt:alert(1))", &["x"], &["href"]),
        ("a javascript link behind spaces", "[x]( javascript:alert(1))", &["x"], &["href"]),
        ("a data link", "[x](data:text/html;base64,PHNjcmlwdD4=)", &["x"], &["href"]),
        ("a vbscript link", "[x](vbscript:msgbox(1))", &["x"], &["href"]),
        ("an angle-bracket javascript URL", "<javascript:alert(1)>", &["&lt;javascript:alert(1)&gt;"], &["href"]),
        ("a relative link", "[x](/api/auth/logout)", &["x"], &["href"]),
        ("a protocol-relative link", "[x](//evil.example)", &["x"], &["href"]),
        ("a quote breaking out of href", "[x](https://a.b/\"onmouseover=\"alert(1))", &["href=\"https://a.b/&quot;onmouseover=&quot;alert(1\""], &["\"onmouseover"]),
        ("markup in link text", "[<b>x</b>](https://a.b)", &[">&lt;b&gt;x&lt;/b&gt;</a>"], &["<b>"]),
        ("an image is never loaded", "![cat](https://evil.example/pixel.png)", &["href=\"https://evil.example/pixel.png\">cat</a>"], &["<img"]),
        ("a javascript image", "![x](javascript:alert(1))", &["x"], &["<img", "href"]),
        ("an unclosed fence", "```\n<script>x</script>\nno end", &["<pre><code>&lt;script&gt;x&lt;/script&gt;\nno end\n</code></pre>"], &["<script"]),
        ("a fence whose language breaks out", "```js\"><script>\nx\n```", &["<pre><code>x\n</code></pre>"], &["<script", "js"]),
        ("unclosed bold and code", "**bold and `code", &["**bold and `code"], &["<strong>", "<code>"]),
        ("empty bold and code", "**** ``", &["**** ``"], &["<strong>", "<code>"]),
        ("an unclosed link", "[text](https://example.com", &["[text](https://example.com"], &["<a "]),
        ("a link with a space in its URL", "[x](https://a.b/ c)", &["[x](https://a.b/ c)"], &["<a "]),
        ("control characters", "a\u{0}b\u{202e}c", &["a\u{0}b\u{202e}c"], &[]),
    ];

    #[test]
    fn hostile_and_ordinary_markdown() {
        for (what, src, wanted, unwanted) in CASES {
            let html = to_html(src);
            for w in *wanted {
                assert!(html.contains(w), "{what}: {src:?} gave {html:?}, which lacks {w:?}");
            }
            for u in *unwanted {
                assert!(!html.contains(u), "{what}: {src:?} gave {html:?}, which has {u:?}");
            }
        }
    }

    /// Long lines, long runs of delimiters and deep nesting come out whole and escaped:
    /// (what, markdown, a piece of text and how many times it must be in the HTML). The runs of
    /// `[` are the input that made the link search quadratic before it stopped at the next `[`.
    #[test]
    fn very_long_lines_and_deep_nesting() {
        let cases: Vec<(&str, String, &str, usize)> = vec![
            ("a 1 MB line", "a<".repeat(512 * 1024), "a&lt;", 512 * 1024),
            ("a 1 MB run of brackets", "[".repeat(1024 * 1024), "[", 1024 * 1024),
            ("a 1 MB run of unfinished links", "[a](".repeat(256 * 1024), "[a](", 256 * 1024),
            ("a 100 kB run of stars", "x".to_string() + &"*".repeat(100_000), "*", 100_000),
            ("a 100 kB run of backticks", "x".to_string() + &"`".repeat(100_000) + "y", "`", 100_000),
            ("10,000 nested quotes", ">".repeat(10_000) + " deep <b>", "deep &lt;b&gt;", 1),
            ("10,000 list items", (0..10_000).map(|i| format!("{}- x{i}\n", "  ".repeat(i % 50))).collect(), "<li>x", 10_000),
            ("a 200 kB link", format!("[x](https://e.com/{})", "a".repeat(200_000)), "a", 200_000),
            ("a 1 MB run of links", "[é](https://e.com)".repeat(50_000), "\">é</a>", 50_000),
        ];
        for (what, src, piece, times) in cases {
            let html = to_html(&src);
            assert!(!html.contains("<b>") && !html.contains("a<a"), "{what}: raw markup passed through");
            let found = html.matches(piece).count();
            assert!(found >= times, "{what}: {piece:?} is there {found} times, not {times}: some of the input is missing");
        }
    }
}
