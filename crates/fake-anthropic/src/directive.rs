//! Parsing the `[[...]]` directives out of a prompt (the grammar is in the crate doc).
//!
//! The parser is strict on purpose: an unknown name, an unknown key or a malformed value is an
//! error, so a typo in a test's script shows up instead of silently becoming an echo.

use serde_json::{Map, Value};

/// One `[[...]]` directive, interpreted.
#[derive(Debug, Clone, PartialEq)]
pub enum Directive {
    /// `[[text "..."]]`: the reply text, instead of the echo.
    Text(String),
    /// `[[thinking]]` or `[[thinking "..."]]`: a thinking block opens every response of the turn.
    Thinking(String),
    /// `[[slow ms=N chunks=N]]`: text is streamed in `chunks` deltas, `ms` apart.
    Slow(Pace),
    /// `[[error:STATUS]]` or `[[error:STATUS times=N]]`: answer with an API error.
    Error(ErrorSpec),
    /// `[[tool:...]]`: one tool call, made once, in order with the other tool directives.
    Tool(ToolCall),
}

/// How slowly text is streamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub ms: u64,
    pub chunks: usize,
}

/// A scripted API error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorSpec {
    pub status: u16,
    /// How many requests of this turn fail before the fake answers normally; `None` = all.
    pub times: Option<u32>,
}

/// A scripted tool call; paths are as typed (the reply resolves them against the CLI's cwd).
#[derive(Debug, Clone, PartialEq)]
pub enum ToolCall {
    Bash {
        command: String,
    },
    Write {
        path: String,
        content: String,
    },
    Edit {
        path: String,
        old: String,
        new: String,
        all: bool,
    },
    Read {
        path: String,
    },
    Ask {
        question: String,
        header: String,
        options: Vec<String>,
        multi: bool,
    },
    /// Any tool by its real (capitalised) name, with the arguments as its input.
    Raw {
        name: String,
        input: Map<String, Value>,
    },
}

/// Everything the directives of one prompt ask for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Script {
    pub text: Option<String>,
    pub thinking: Option<String>,
    pub pace: Option<Pace>,
    pub error: Option<ErrorSpec>,
    pub tools: Vec<ToolCall>,
    /// The prompt with its directives removed and whitespace collapsed (what the echo says).
    pub prose: String,
}

/// A directive that could not be parsed; `directive` is its source text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad directive `{directive}`: {reason}")]
pub struct DirectiveError {
    pub directive: String,
    pub reason: String,
}

/// The HTTP statuses `[[error:N]]` accepts, with the real API's error type for each.
pub const ERROR_TYPES: &[(u16, &str)] = &[
    (400, "invalid_request_error"),
    (401, "authentication_error"),
    (403, "permission_error"),
    (404, "not_found_error"),
    (413, "request_too_large"),
    (429, "rate_limit_error"),
    (500, "api_error"),
    (529, "overloaded_error"),
];

/// The API error type for a status `[[error:N]]` accepts.
pub fn error_type(status: u16) -> Option<&'static str> {
    ERROR_TYPES
        .iter()
        .find(|(s, _)| *s == status)
        .map(|(_, t)| *t)
}

/// Parses every directive in `prompt` into one [`Script`].
pub fn parse(prompt: &str) -> Result<Script, DirectiveError> {
    let mut script = Script::default();
    let mut prose = String::new();
    let mut rest = prompt;
    while let Some(start) = rest.find("[[") {
        prose.push_str(&rest[..start]);
        prose.push(' ');
        let after = &rest[start + 2..];
        let end = directive_end(after).ok_or_else(|| DirectiveError {
            directive: rest[start..].to_string(),
            reason: "no closing `]]`".into(),
        })?;
        let body = &after[..end];
        let fail = |reason: String| DirectiveError {
            directive: format!("[[{body}]]"),
            reason,
        };
        let directive = interpret(lex(body).map_err(fail)?).map_err(fail)?;
        add(&mut script, directive).map_err(fail)?;
        rest = &after[end + 2..];
    }
    prose.push_str(rest);
    script.prose = prose.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(script)
}

/// Byte offset of the `]]` closing a directive body, skipping quoted strings.
fn directive_end(s: &str) -> Option<usize> {
    let mut in_quote = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_quote {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_quote = false,
                _ => {}
            }
        } else if c == '"' {
            in_quote = true;
        } else if s[i..].starts_with("]]") {
            return Some(i);
        }
    }
    None
}

fn add(script: &mut Script, directive: Directive) -> Result<(), String> {
    fn once<T>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), String> {
        match slot.replace(value) {
            Some(_) => Err(format!("`{name}` may appear once per prompt")),
            None => Ok(()),
        }
    }
    match directive {
        Directive::Text(t) => once(&mut script.text, t, "text"),
        Directive::Thinking(t) => once(&mut script.thinking, t, "thinking"),
        Directive::Slow(p) => once(&mut script.pace, p, "slow"),
        Directive::Error(e) => once(&mut script.error, e, "error"),
        Directive::Tool(t) => {
            script.tools.push(t);
            Ok(())
        }
    }
}

/// A value as written: quoted values are always strings, bare ones may be typed.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Quoted(String),
    Bare(String),
}

impl Val {
    fn into_string(self) -> String {
        match self {
            Val::Quoted(s) | Val::Bare(s) => s,
        }
    }

    /// Bare `true`, `false` and numbers become JSON booleans and numbers; the rest are strings.
    fn into_json(self) -> Value {
        match self {
            Val::Bare(s) => match serde_json::from_str::<Value>(&s) {
                Ok(v @ (Value::Bool(_) | Value::Number(_))) => v,
                _ => Value::String(s),
            },
            Val::Quoted(s) => Value::String(s),
        }
    }
}

/// A directive split into its name, optional `:sub`, positional string and `key=value` pairs.
#[derive(Debug, Default)]
struct Raw {
    name: String,
    sub: Option<String>,
    positional: Option<String>,
    named: Vec<(String, Val)>,
}

fn lex(body: &str) -> Result<Raw, String> {
    let mut cur = Cursor {
        chars: body.chars().collect(),
        pos: 0,
    };
    cur.skip_ws();
    let head = cur.bare();
    if head.is_empty() {
        return Err("missing directive name".into());
    }
    let mut raw = match head.split_once(':') {
        Some((n, s)) => Raw {
            name: n.into(),
            sub: Some(s.into()),
            ..Raw::default()
        },
        None => Raw {
            name: head,
            ..Raw::default()
        },
    };
    loop {
        cur.skip_ws();
        match cur.peek() {
            None => return Ok(raw),
            Some('"') => {
                let s = cur.quoted()?;
                if raw.positional.replace(s).is_some() {
                    return Err("at most one quoted positional argument".into());
                }
            }
            Some(_) => raw.named.push(cur.pair()?),
        }
    }
}

struct Cursor {
    chars: Vec<char>,
    pos: usize,
}

impl Cursor {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// A run of characters up to whitespace, `"` or `=`.
    fn bare(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| !c.is_whitespace() && c != '"' && c != '=')
        {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// A `"..."` string with the escapes `\"`, `\\` and `\n`.
    fn quoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = self.peek().ok_or("unterminated quoted string")?;
            self.pos += 1;
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let e = self.peek().ok_or("unterminated escape")?;
                    self.pos += 1;
                    out.push(match e {
                        'n' => '\n',
                        '"' | '\\' => e,
                        other => return Err(format!("unknown escape `\\{other}`")),
                    });
                }
                c => out.push(c),
            }
        }
    }

    fn pair(&mut self) -> Result<(String, Val), String> {
        let key = self.bare();
        if key.is_empty() || self.peek() != Some('=') {
            return Err(format!("expected key=value near `{key}`"));
        }
        self.pos += 1;
        let val = match self.peek() {
            Some('"') => Val::Quoted(self.quoted()?),
            _ => Val::Bare(self.bare()),
        };
        Ok((key, val))
    }
}

fn interpret(mut raw: Raw) -> Result<Directive, String> {
    let directive = match (raw.name.as_str(), raw.sub.take()) {
        ("text", None) => Directive::Text(raw.positional.take().ok_or("needs a quoted text")?),
        ("thinking", None) => Directive::Thinking(
            raw.positional
                .take()
                .unwrap_or_else(|| "Let me think about this.".into()),
        ),
        ("slow", None) => Directive::Slow(Pace {
            ms: raw.number("ms")?.unwrap_or(100),
            chunks: raw.number("chunks")?.unwrap_or(10).max(1),
        }),
        ("error", Some(code)) => Directive::Error(error_spec(&mut raw, &code)?),
        ("tool", Some(tool)) => Directive::Tool(tool_call(&mut raw, &tool)?),
        (name, sub) => {
            let full = sub.map_or(name.to_string(), |s| format!("{name}:{s}"));
            return Err(format!("unknown directive `{full}`"));
        }
    };
    raw.finish()?;
    Ok(directive)
}

fn error_spec(raw: &mut Raw, code: &str) -> Result<ErrorSpec, String> {
    let status = code
        .parse::<u16>()
        .ok()
        .filter(|s| error_type(*s).is_some());
    let status = status.ok_or_else(|| {
        let known: Vec<String> = ERROR_TYPES.iter().map(|(s, _)| s.to_string()).collect();
        format!("unsupported status `{code}` (known: {})", known.join(", "))
    })?;
    Ok(ErrorSpec {
        status,
        times: raw.number("times")?,
    })
}

fn tool_call(raw: &mut Raw, tool: &str) -> Result<ToolCall, String> {
    Ok(match tool {
        "bash" => ToolCall::Bash {
            command: raw.required("cmd")?,
        },
        "write" => ToolCall::Write {
            path: raw.required("path")?,
            content: raw.required("content")?,
        },
        "edit" => ToolCall::Edit {
            path: raw.required("path")?,
            old: raw.required("old")?,
            new: raw.required("new")?,
            all: raw.boolean("all")?.unwrap_or(false),
        },
        "read" => ToolCall::Read {
            path: raw.required("path")?,
        },
        "ask" => ToolCall::Ask {
            question: raw.required("question")?,
            header: raw.string("header").unwrap_or_else(|| "Question".into()),
            options: options(&raw.required("options")?)?,
            multi: raw.boolean("multi")?.unwrap_or(false),
        },
        name if name.starts_with(|c: char| c.is_ascii_uppercase()) => ToolCall::Raw {
            name: name.into(),
            input: raw
                .named
                .drain(..)
                .map(|(k, v)| (k, v.into_json()))
                .collect(),
        },
        other => {
            return Err(format!(
                "unknown tool `{other}` (real tool names are capitalised)"
            ))
        }
    })
}

fn options(list: &str) -> Result<Vec<String>, String> {
    let options: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(String::from)
        .collect();
    if options.is_empty() {
        return Err("`options` needs at least one comma-separated label".into());
    }
    Ok(options)
}

impl Raw {
    fn take(&mut self, key: &str) -> Option<Val> {
        let i = self.named.iter().position(|(k, _)| k == key)?;
        Some(self.named.remove(i).1)
    }

    fn string(&mut self, key: &str) -> Option<String> {
        self.take(key).map(Val::into_string)
    }

    fn required(&mut self, key: &str) -> Result<String, String> {
        self.string(key).ok_or_else(|| format!("missing `{key}=`"))
    }

    fn number<T: std::str::FromStr>(&mut self, key: &str) -> Result<Option<T>, String> {
        self.string(key)
            .map(|s| {
                s.parse()
                    .map_err(|_| format!("`{key}` must be a non-negative integer"))
            })
            .transpose()
    }

    fn boolean(&mut self, key: &str) -> Result<Option<bool>, String> {
        self.string(key)
            .map(|s| {
                s.parse()
                    .map_err(|_| format!("`{key}` must be true or false"))
            })
            .transpose()
    }

    /// Refuses whatever was not consumed, so misspelt keys are reported.
    fn finish(self) -> Result<(), String> {
        if self.positional.is_some() {
            return Err("unexpected quoted argument".into());
        }
        match self.named.first() {
            Some((k, _)) => Err(format!("unknown key `{k}`")),
            None => Ok(()),
        }
    }
}
