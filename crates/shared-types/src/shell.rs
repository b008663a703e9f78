//! Reading a Bash command the way the tool gate needs it: split at the control operators into
//! simple commands, each a list of literal words and the files it redirects to, or refused.
//!
//! This is a recogniser for a small, certain subset of the shell language, not a shell parser.
//! Everything outside that subset is [`Unanalysable`], which the gate turns into "ask a person":
//! any expansion (`$`, backticks, `~` in a redirection, an unquoted glob in command position),
//! command or process substitution, subshells and groups (`(`, `)`, `{`, `}`), heredocs and
//! here-strings, reserved words (`if`, `for`, `case`...), assignments (`FOO=x cmd`), commands that
//! run other commands (`eval`, `bash -c`, `env`, `sudo`, `xargs`, `find -exec`...), control and
//! invisible Unicode characters anywhere, and anything that is not ASCII in command position.
//! Maintained word splitters (`shell-words`, `shlex`) do not fit: they neither recognise the
//! control operators nor report which characters were quoted, so they cannot tell `a;b` from
//! `a';'b`. The scanner is a single left-to-right pass (linear time, no backtracking).

use std::fmt;

/// The longest command the gate reads; a longer one asks.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;

/// One simple command of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleCommand {
    /// Its words after quote removal; the first is the command.
    pub words: Vec<String>,
    /// Its source text, trimmed (what a glob rule such as `Bash(git status*)` is matched against).
    pub text: String,
    /// Files it redirects from or to (`> out.txt`, `2>>log`, `< in`, `&> all`), after quote removal.
    pub redirects: Vec<String>,
}

/// Why a command cannot be read with certainty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unanalysable(pub &'static str);

impl fmt::Display for Unanalysable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the command cannot be checked against the rules: {}", self.0)
    }
}

/// Programs whose arguments are another command (or that change how one runs): a rule about
/// them cannot know what they run, so a call through them asks.
const WRAPPERS: &[&str] = &[
    ".", "bash", "builtin", "busybox", "chroot", "chrt", "command", "coproc", "csh", "dash", "doas", "env",
    "eval", "exec", "fish", "flock", "ionice", "ksh", "ltrace", "nice", "nohup", "parallel", "pkexec",
    "runuser", "script", "setsid", "sh", "source", "stdbuf", "strace", "su", "sudo", "systemd-run", "taskset",
    "tcsh", "time", "timeout", "unbuffer", "watch", "xargs", "zsh",
];

/// Words that make a compound command when they come first.
const RESERVED: &[&str] = &[
    "!", "[[", "]]", "case", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if", "in", "select",
    "then", "until", "while", "{", "}",
];

/// `find` options that run a command.
const FIND_EXEC: &[&str] = &["-exec", "-execdir", "-ok", "-okdir"];

/// Whether a character is invisible or reorders text (so what a person reads is not what runs):
/// controls other than tab and newline, zero-width and bidirectional formatting characters.
pub fn is_deceptive_char(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n')
        || matches!(c, '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
            | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}'
            | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}' | '\u{ffa0}' | '\u{fff0}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e0fff}')
}

/// Splits `command` into its simple commands, or says why it cannot be read with certainty.
pub fn analyse(command: &str) -> Result<Vec<SimpleCommand>, Unanalysable> {
    if command.len() > MAX_COMMAND_BYTES {
        return Err(Unanalysable("it is longer than the gate reads"));
    }
    if command.chars().any(is_deceptive_char) {
        return Err(Unanalysable("it holds control or invisible characters"));
    }
    let mut scanner = Scanner { src: command, pos: 0, commands: Vec::new(), current: Builder::default() };
    scanner.run()?;
    if scanner.commands.is_empty() {
        return Err(Unanalysable("it is empty"));
    }
    for c in &scanner.commands {
        check_command_position(c)?;
    }
    Ok(scanner.commands)
}

/// A word being read: its text after quote removal, and what was unquoted in it.
#[derive(Default)]
struct Word {
    text: String,
    /// An unquoted `*`, `?` or `[`: the shell may expand it.
    glob: bool,
    /// An unquoted `=`: in command position, an assignment.
    assignment: bool,
    /// Starts with an unquoted `~`.
    tilde: bool,
    /// Contains any quoted part (so it is a word even when empty: `''`).
    quoted: bool,
}

#[derive(Default)]
struct Builder {
    start: Option<usize>,
    end: usize,
    words: Vec<(String, bool, bool)>, // (text, glob, assignment)
    redirects: Vec<String>,
    /// A redirection operator was read and waits for its target word.
    pending_redirect: bool,
    word: Option<Word>,
}

/// What ended a simple command.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    /// A newline or the end of the command line: may follow nothing.
    Line,
    /// `;` or `&`: must follow a command.
    Ends,
    /// `&&`, `||`, `|`, `|&`: a command on both sides.
    Joins,
}

struct Scanner<'a> {
    src: &'a str,
    pos: usize,
    commands: Vec<SimpleCommand>,
    current: Builder,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn mark(&mut self, at: usize) {
        self.current.start.get_or_insert(at);
        self.current.end = self.pos;
    }

    fn word(&mut self) -> &mut Word {
        self.current.word.get_or_insert_with(Word::default)
    }

    fn run(&mut self) -> Result<(), Unanalysable> {
        while let Some(c) = self.peek() {
            let at = self.pos;
            match c {
                ' ' | '\t' => {
                    self.bump();
                    self.end_word()?;
                }
                '\n' => {
                    self.bump();
                    self.end_command(Op::Line)?;
                }
                ';' => {
                    self.bump();
                    if self.peek() == Some(';') {
                        return Err(Unanalysable("`;;` belongs to a `case`"));
                    }
                    self.end_command(Op::Ends)?;
                }
                '&' => {
                    self.bump();
                    match self.peek() {
                        Some('&') => {
                            self.bump();
                            self.end_command(Op::Joins)?;
                        }
                        Some('>') => {
                            self.bump();
                            if self.peek() == Some('>') {
                                self.bump();
                            }
                            self.mark(at);
                            self.redirect_operator()?;
                        }
                        _ => self.end_command(Op::Ends)?,
                    }
                }
                '|' => {
                    self.bump();
                    if matches!(self.peek(), Some('|' | '&')) {
                        self.bump();
                    }
                    self.end_command(Op::Joins)?;
                }
                '>' | '<' => self.redirect(at)?,
                '(' | ')' => return Err(Unanalysable("subshells and substitutions are not read")),
                '{' | '}' => return Err(Unanalysable("braces (groups or brace expansion) are not read")),
                '`' => return Err(Unanalysable("it uses command substitution (backticks)")),
                '$' => return Err(Unanalysable("it expands a variable or substitutes a command (`$`)")),
                '#' if self.current.word.is_none() => {
                    // A comment: up to the end of the line, not part of any command.
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                '\\' => {
                    self.bump();
                    match self.bump() {
                        None => return Err(Unanalysable("it ends with a backslash")),
                        Some('\n') => {} // a line continuation
                        Some(escaped) => {
                            self.word().text.push(escaped);
                            self.word().quoted = true;
                            self.mark(at);
                        }
                    }
                }
                '\'' => {
                    self.bump();
                    let close = self.src[self.pos..].find('\'').ok_or(Unanalysable("a single quote is not closed"))?;
                    let inner = self.src[self.pos..self.pos + close].to_string();
                    self.pos += close + 1;
                    let w = self.word();
                    w.text.push_str(&inner);
                    w.quoted = true;
                    self.mark(at);
                }
                '"' => {
                    self.bump();
                    self.double_quoted()?;
                    self.word().quoted = true;
                    self.mark(at);
                }
                _ => {
                    self.bump();
                    let starts = self.current.word.is_none();
                    let w = self.word();
                    match c {
                        '*' | '?' | '[' => w.glob = true,
                        '=' => w.assignment = true,
                        '~' if starts => w.tilde = true,
                        _ => {}
                    }
                    w.text.push(c);
                    self.mark(at);
                }
            }
        }
        self.end_command(Op::Line)
    }

    fn double_quoted(&mut self) -> Result<(), Unanalysable> {
        loop {
            match self.bump() {
                None => return Err(Unanalysable("a double quote is not closed")),
                Some('"') => return Ok(()),
                Some('$') => return Err(Unanalysable("it expands a variable inside double quotes")),
                Some('`') => return Err(Unanalysable("it uses command substitution (backticks)")),
                Some('\\') => match self.bump() {
                    None => return Err(Unanalysable("a double quote is not closed")),
                    Some('\n') => {}
                    Some(c @ ('$' | '`' | '"' | '\\')) => self.word().text.push(c),
                    Some(c) => {
                        let w = self.word();
                        w.text.push('\\');
                        w.text.push(c);
                    }
                },
                Some(c) => self.word().text.push(c),
            }
        }
    }

    /// `>`, `>>`, `>|`, `<`, `<>`, `N>`, `>&N`, `N<&M`, `>&file`; heredocs and `<(`/`>(` refused.
    fn redirect(&mut self, at: usize) -> Result<(), Unanalysable> {
        // A word of digits right before the operator (no space) is its file descriptor.
        if let Some(w) = &self.current.word {
            let fd = !w.quoted && !w.text.is_empty() && w.text.bytes().all(|b| b.is_ascii_digit());
            if !fd {
                self.end_word()?;
            } else {
                self.current.word = None;
            }
        }
        let op = self.bump();
        match (op, self.peek()) {
            (_, Some('(')) => return Err(Unanalysable("it uses process substitution")),
            (Some('<'), Some('<')) => return Err(Unanalysable("heredocs and here-strings are not read")),
            (Some('>'), Some('>' | '|')) | (Some('<'), Some('>')) => {
                self.bump();
            }
            (_, Some('&')) => {
                self.bump();
                // `>&2`, `2>&1`, `<&-`: descriptors, not files. `>&file` writes a file.
                let rest = &self.src[self.pos..];
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                let dup = if digits > 0 { digits } else { usize::from(rest.starts_with('-')) };
                let ends = rest[dup..].chars().next().is_none_or(|c| matches!(c, ' ' | '\t' | '\n' | ';' | '&' | '|'));
                if dup > 0 && ends {
                    self.pos += dup;
                    self.mark(at);
                    return Ok(());
                }
            }
            _ => {}
        }
        self.mark(at);
        self.redirect_operator()
    }

    fn redirect_operator(&mut self) -> Result<(), Unanalysable> {
        if self.current.pending_redirect {
            return Err(Unanalysable("a redirection has no target"));
        }
        self.current.pending_redirect = true;
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), Unanalysable> {
        let Some(w) = self.current.word.take() else { return Ok(()) };
        if self.current.pending_redirect {
            self.current.pending_redirect = false;
            if w.glob || w.tilde {
                return Err(Unanalysable("a redirection's target is expanded by the shell"));
            }
            if w.text.is_empty() {
                return Err(Unanalysable("a redirection has an empty target"));
            }
            self.current.redirects.push(w.text);
        } else {
            let assignment = w.assignment && w.names_a_variable();
            self.current.words.push((w.text, w.glob, assignment));
        }
        Ok(())
    }

    /// Ends a simple command at an operator.
    fn end_command(&mut self, op: Op) -> Result<(), Unanalysable> {
        self.end_word()?;
        if self.current.pending_redirect {
            return Err(Unanalysable("a redirection has no target"));
        }
        let b = std::mem::take(&mut self.current);
        if b.words.is_empty() {
            if !b.redirects.is_empty() {
                return Err(Unanalysable("a redirection without a command"));
            }
            // Only a newline or the end may follow nothing (blank lines, a trailing `;`).
            if op != Op::Line {
                return Err(Unanalysable("an operator has no command on one side"));
            }
            return Ok(());
        }
        if op == Op::Joins {
            self.require_next_command()?;
        }
        let text = self.src[b.start.unwrap_or(0)..b.end].trim().to_string();
        let mut words = Vec::with_capacity(b.words.len());
        for (i, (text, glob, assignment)) in b.words.into_iter().enumerate() {
            if i == 0 && glob {
                return Err(Unanalysable("the command's name is a glob"));
            }
            if i == 0 && assignment {
                return Err(Unanalysable("it sets a variable for the command"));
            }
            words.push(text);
        }
        self.commands.push(SimpleCommand { words, text, redirects: b.redirects });
        Ok(())
    }

    /// After `&&`, `||` or `|` a command must follow (newlines may come between).
    fn require_next_command(&self) -> Result<(), Unanalysable> {
        let rest = self.src[self.pos..].trim_start();
        if rest.is_empty() || rest.starts_with([';', '&', '|']) {
            return Err(Unanalysable("an operator has no command on one side"));
        }
        Ok(())
    }
}

impl Word {
    /// Whether the text before the first `=` is a variable name (`NAME=value` assigns).
    fn names_a_variable(&self) -> bool {
        let name = self.text.split('=').next().unwrap_or_default();
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }
}

/// What the first word of a simple command may be.
fn check_command_position(c: &SimpleCommand) -> Result<(), Unanalysable> {
    let name = &c.words[0];
    if name.is_empty() {
        return Err(Unanalysable("the command's name is empty"));
    }
    if !name.is_ascii() {
        return Err(Unanalysable("the command's name is not plain ASCII"));
    }
    if RESERVED.contains(&name.as_str()) {
        return Err(Unanalysable("it is a compound command (`if`, `for`, `case`...)"));
    }
    let base = name.rsplit('/').next().unwrap_or(name);
    if WRAPPERS.contains(&base) {
        return Err(Unanalysable("it runs another command through a wrapper (`env`, `sudo`, `bash -c`, `xargs`...)"));
    }
    if base == "find" && c.words.iter().any(|w| FIND_EXEC.contains(&w.as_str())) {
        return Err(Unanalysable("`find -exec` runs another command"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(cmd: &str) -> Vec<Vec<String>> {
        analyse(cmd).unwrap().into_iter().map(|c| c.words).collect()
    }

    #[test]
    fn operators_split_and_quotes_are_removed() {
        assert_eq!(words("git status; touch /tmp/x"), [vec!["git", "status"], vec!["touch", "/tmp/x"]]);
        assert_eq!(words("a && b || c | d & e\nf"), [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]);
        assert_eq!(words("echo 'a;b' \"c&&d\" e\\;f"), [vec!["echo", "a;b", "c&&d", "e;f"]]);
        assert_eq!(words("echo hi # ; rm x"), [vec!["echo", "hi"]]);
    }

    #[test]
    fn redirections_are_collected() {
        let c = &analyse("make 2>&1 >out.txt 2>> 'log file' < in").unwrap()[0];
        assert_eq!(c.words, ["make"]);
        assert_eq!(c.redirects, ["out.txt", "log file", "in"]);
        assert_eq!(analyse("ls >&2").unwrap()[0].redirects, Vec::<String>::new());
        assert_eq!(analyse("ls &>all").unwrap()[0].redirects, ["all"]);
    }

    #[test]
    fn the_text_of_each_part_is_kept() {
        let parts = analyse("git status --short ;  npm run test -- --watch").unwrap();
        assert_eq!(parts[0].text, "git status --short");
        assert_eq!(parts[1].text, "npm run test -- --watch");
    }
}
