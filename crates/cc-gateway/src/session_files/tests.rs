//! The CLI's session files as hostile input: what is listed, what is refused, what a head and a
//! history hold, on a real file the CLI wrote (`tests/fixtures/session_files/`) and on files
//! made to break the reader. Everything runs on a real filesystem in a temporary directory.

use std::path::{Path, PathBuf};

use serde_json::json;
use shared_types::{ContentBlock, GatewayEvent};

use super::*;

/// The session the fixture holds, and where the CLI ran.
const REAL_ID: &str = "e3f3bcf5-ddf2-491e-a53d-98adb29b442b";
const REAL_CWD: &str = "/home/dev/projects/demo";
const ID: &str = "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/session_files").join(format!("{REAL_ID}.jsonl"))
}

/// A projects dir with the checkout `cwd`'s directory made.
fn projects_with(cwd: &Path) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join(encode_cwd(cwd));
    std::fs::create_dir_all(&dir).expect("the CLI's directory");
    (root, dir)
}

fn user(text: &str) -> String {
    json!({"type": "user", "cwd": REAL_CWD, "message": {"role": "user", "content": text}}).to_string()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("write");
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("a path");
    // SAFETY: mkfifo(3) with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

fn prompts_of(history: &History) -> Vec<String> {
    history
        .events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::UserMessage { content, .. } => Some(prompt_text(content)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_directory_is_named_as_the_cli_names_it() {
    let cases = [
        ("/home/dev/projects/demo", "-home-dev-projects-demo"),
        ("/srv/a b/c.d_e", "-srv-a-b-c-d-e"),
        ("/srv/My-Repo2", "-srv-My-Repo2"),
        ("/srv/é", "-srv--"),
        ("/srv/😀", "-srv---"), // one UTF-16 surrogate pair: two units, two dashes
    ];
    for (cwd, name) in cases {
        assert_eq!(encode_cwd(Path::new(cwd)), name, "{cwd}");
    }
}

#[test]
fn the_clis_own_file_gives_its_first_prompt_and_its_history() {
    let cwd = Path::new(REAL_CWD);
    let (root, dir) = projects_with(cwd);
    std::fs::copy(fixture(), dir.join(format!("{REAL_ID}.jsonl"))).expect("copy");
    std::fs::create_dir(dir.join("memory")).expect("the CLI's memory dir sits beside sessions");

    let listed = list(root.path(), cwd);
    assert_eq!(listed.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), [REAL_ID]);
    assert_eq!(listed[0].size, std::fs::metadata(fixture()).unwrap().len());
    assert_eq!(find(root.path(), cwd, REAL_ID).unwrap(), listed[0]);

    let head = head(&listed[0]).unwrap();
    assert_eq!(head.first_prompt.as_deref(), Some(r#"Why is the sky blue? [[tool:read path="README.md"]]"#));
    assert!(head.is_of(cwd));
    assert!(!head.is_of(Path::new("/home/dev/projects/demo2")), "recorded for another directory");

    let history = history(&listed[0]).unwrap();
    assert_eq!((history.prompts, history.truncated, history.oversize), (1, false, 0));
    let [GatewayEvent::UserMessage { client_id, queued: false, .. }, GatewayEvent::Message { message: first }, GatewayEvent::ToolResult { tool_call_id, result, is_error: false }, GatewayEvent::Message { message: last }] =
        &history.events[..]
    else {
        panic!("a prompt, a message with its tool call, the result, the reply: {:#?}", history.events)
    };
    assert_eq!(client_id, "resumed-1");
    assert!(matches!(&first.content[..], [AssistantBlock::Text { .. }, AssistantBlock::ToolUse { id, name, .. }] if id == tool_call_id && name == "Read"),
        "the message's blocks, one a line in the file, joined in place: {first:?}");
    assert_eq!(result, "1\t# demo\n2\t");
    assert!(matches!(&last.content[..], [AssistantBlock::Text { text }] if text.starts_with("tool result")));
    assert_eq!(history.notice(), None);
}

/// Everything in the CLI's directory that is not a `<uuid>.jsonl` regular file is not a session:
/// it is not listed, and asking for it by id is refused or not found; nothing blocks.
#[test]
fn hostile_entries_of_a_session_directory_are_never_read() {
    let cwd = Path::new("/srv/projects/demo");
    let (root, dir) = projects_with(cwd);
    let outside = root.path().join("outside.jsonl");
    write_lines(&outside, &[user("a secret from outside")]);
    let good = dir.join(format!("{ID}.jsonl"));
    write_lines(&good, &[user("a real session")]);
    let id = |n: u32| format!("0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c{n:04}");
    type Make<'a> = Box<dyn Fn(&Path) + 'a>;
    let cases: Vec<(&str, String, Make<'_>, bool)> = vec![
        // (what, file name, how it is made, found by id)
        ("not a uuid", "notes.jsonl".into(), Box::new(|p| write_lines(p, &[user("x")])), false),
        ("an uppercase uuid", format!("{}.jsonl", ID.to_uppercase()), Box::new(|p| write_lines(p, &[user("x")])), false),
        ("a uuid without dashes", "0b6d2f8e4f434c2e9d7e5d1f6a0c9e11.jsonl".into(), Box::new(|p| write_lines(p, &[user("x")])), false),
        ("another extension", format!("{}.jsonl.bak", id(1)), Box::new(|p| write_lines(p, &[user("x")])), false),
        ("no extension", id(2), Box::new(|p| write_lines(p, &[user("x")])), false),
        ("a symlink to a session", format!("{}.jsonl", id(3)), Box::new(|p| std::os::unix::fs::symlink(&good, p).unwrap()), false),
        ("a symlink out", format!("{}.jsonl", id(4)), Box::new(|p| std::os::unix::fs::symlink(&outside, p).unwrap()), false),
        ("a dangling symlink", format!("{}.jsonl", id(5)), Box::new(|p| std::os::unix::fs::symlink(root.path().join("none"), p).unwrap()), false),
        ("a directory named like a session", format!("{}.jsonl", id(6)), Box::new(|p| std::fs::create_dir(p).unwrap()), false),
        ("a FIFO named like a session", format!("{}.jsonl", id(7)), Box::new(mkfifo), false),
        ("a symlink to a FIFO", format!("{}.jsonl", id(8)), Box::new(|p| {
            mkfifo(&root.path().join("fifo"));
            std::os::unix::fs::symlink(root.path().join("fifo"), p).unwrap()
        }), false),
    ];
    for (_, name, make, _) in &cases {
        make(&dir.join(name));
    }
    let listed: Vec<String> = list(root.path(), cwd).into_iter().map(|f| f.id).collect();
    assert_eq!(listed, [ID], "only the regular file named <uuid>.jsonl");
    for (what, name, _, found) in &cases {
        let Some(asked) = name.strip_suffix(".jsonl").filter(|n| shared_types::api::is_claude_session_id(n)) else { continue };
        let result = find(root.path(), cwd, asked);
        assert_eq!(result.is_ok(), *found, "{what}: {result:?}");
        assert!(!matches!(result, Err(SessionFileError::Io { .. })), "{what}: refused as such, not an I/O failure: {result:?}");
    }
    for bad in ["", "../outside", "../../etc/passwd", &ID.to_uppercase(), "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11/"] {
        assert!(matches!(find(root.path(), cwd, bad), Err(SessionFileError::Refused(_))), "{bad:?}");
    }
    assert!(find(root.path(), cwd, &id(99)).is_err_and(|e| matches!(e, SessionFileError::NotFound(_))));
}

#[test]
fn a_symlinked_session_directory_is_not_read() {
    let cwd = Path::new("/srv/projects/demo");
    let root = tempfile::tempdir().unwrap();
    let elsewhere = root.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    write_lines(&elsewhere.join(format!("{ID}.jsonl")), &[user("planted")]);
    std::os::unix::fs::symlink(&elsewhere, root.path().join(encode_cwd(cwd))).unwrap();
    assert!(list(root.path(), cwd).is_empty());
    assert!(matches!(find(root.path(), cwd, ID), Err(SessionFileError::NotFound(_))));
}

#[test]
fn at_most_max_entries_of_a_directory_are_looked_at() {
    let cwd = Path::new("/srv/projects/many");
    let (root, dir) = projects_with(cwd);
    for n in 0..MAX_ENTRIES + 50 {
        std::fs::File::create(dir.join(format!("0b6d2f8e-4f43-4c2e-9d7e-{n:012x}.jsonl"))).unwrap();
    }
    let listed = list(root.path(), cwd).len();
    assert!(listed <= MAX_ENTRIES && listed > 0, "{listed}");
}

/// A long cwd: the CLI cuts its directory's name at 200 characters and adds a hash, which is
/// matched by the name's start; a file recorded for another directory with the same start is
/// told apart by its `cwd`.
#[test]
fn a_long_checkout_path_is_found_by_its_cut_name_and_its_recorded_cwd() {
    let cwd = PathBuf::from(format!("/srv/{}/demo", "deep/".repeat(50)));
    let other = PathBuf::from(format!("/srv/{}/other", "deep/".repeat(50)));
    let root = tempfile::tempdir().unwrap();
    let name = encode_cwd(&cwd);
    assert!(name.len() > 200);
    let dir = root.path().join(format!("{}-1x2y3z", &name[..200]));
    std::fs::create_dir(&dir).unwrap();
    let mine = json!({"type": "user", "cwd": cwd, "message": {"role": "user", "content": "mine"}}).to_string();
    let theirs = json!({"type": "user", "cwd": other, "message": {"role": "user", "content": "theirs"}}).to_string();
    let other_id = "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e12";
    write_lines(&dir.join(format!("{ID}.jsonl")), &[mine]);
    write_lines(&dir.join(format!("{other_id}.jsonl")), &[theirs]);
    let mut of_cwd: Vec<String> = list(root.path(), &cwd).into_iter().filter(|f| head(f).unwrap().is_of(&cwd)).map(|f| f.id).collect();
    of_cwd.sort();
    assert_eq!(of_cwd, [ID]);
    assert!(!head(&find(root.path(), &cwd, other_id).unwrap()).unwrap().is_of(&cwd));
}

/// Lines that are not a prompt a person typed, or not readable at all, are skipped by the head
/// and by the history; the one real prompt after them is what both find.
#[test]
fn hostile_and_foreign_lines_are_skipped() {
    let nested = "[".repeat(10_000) + &"]".repeat(10_000);
    let lines: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"{not json".to_vec()),
        ("a JSON array", b"[1, 2, 3]".to_vec()),
        ("a JSON string", br#""user""#.to_vec()),
        ("nested past the parser's limit", nested.into_bytes()),
        ("invalid UTF-8", b"{\"type\": \"user\", \"message\": {\"content\": \"\xff\xfe\"}}".to_vec()),
        ("a NUL", b"{\"type\": \"user\"\0}".to_vec()),
        ("an empty line", Vec::new()),
        ("the CLI's own note", json!({"type": "user", "isMeta": true, "message": {"content": "Caveat: local commands"}}).to_string().into_bytes()),
        ("a subagent's prompt", json!({"type": "user", "isSidechain": true, "message": {"content": "sub task"}}).to_string().into_bytes()),
        ("a compaction summary", json!({"type": "user", "isCompactSummary": true, "message": {"content": "summary"}}).to_string().into_bytes()),
        ("a slash command", json!({"type": "user", "message": {"content": "<command-name>/clear</command-name>"}}).to_string().into_bytes()),
        ("a local command's output", json!({"type": "user", "message": {"content": "<local-command-stdout>ok</local-command-stdout>"}}).to_string().into_bytes()),
        ("a tool result with no call", json!({"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": "t", "content": "x"}]}}).to_string().into_bytes()),
        ("content a number", json!({"type": "user", "message": {"content": 7}}).to_string().into_bytes()),
        ("content null", json!({"type": "user", "message": {"content": null}}).to_string().into_bytes()),
        ("no message", json!({"type": "user"}).to_string().into_bytes()),
        ("blank text", json!({"type": "user", "message": {"content": "   \n "}}).to_string().into_bytes()),
        ("unknown blocks", json!({"type": "user", "message": {"content": [{"type": "document", "x": 1}]}}).to_string().into_bytes()),
        ("a queue operation", json!({"type": "queue-operation", "content": "queued text"}).to_string().into_bytes()),
        ("a request blob", json!({"type": "api-request-blob", "message": {"role": "user", "content": "blob"}}).to_string().into_bytes()),
        ("a control request", json!({"type": "control_request", "request_id": "r", "request": {"subtype": "can_use_tool", "tool_name": "Bash"}}).to_string().into_bytes()),
        ("a result", json!({"type": "result", "subtype": "success", "total_cost_usd": 99.0}).to_string().into_bytes()),
        ("an assistant message with no id", json!({"type": "assistant", "message": {"content": [{"type": "text", "text": "?"}]}}).to_string().into_bytes()),
        ("a subagent's reply", json!({"type": "assistant", "isSidechain": true, "message": {"id": "m0", "content": [{"type": "text", "text": "side"}]}}).to_string().into_bytes()),
        ("oversize", format!("{{\"type\":\"user\",\"message\":{{\"content\":\"{}\"}}}}", "x".repeat(MAX_LINE_BYTES)).into_bytes()),
    ];
    // the real prompt after every line but the oversize one (the head reads 256 KB, no more)
    let real = user("the real prompt").into_bytes();
    let (oversize, small) = lines.split_last().expect("lines");
    let mut text: Vec<u8> = Vec::new();
    for line in small.iter().map(|(_, l)| l).chain([&real, &oversize.1]) {
        text.extend_from_slice(line);
        text.push(b'\n');
    }

    let cwd = Path::new(REAL_CWD);
    let (root, dir) = projects_with(cwd);
    std::fs::write(dir.join(format!("{ID}.jsonl")), &text).unwrap();
    let file = find(root.path(), cwd, ID).unwrap();
    assert_eq!(head(&file).unwrap().first_prompt.as_deref(), Some("the real prompt"));
    let history = history(&file).unwrap();
    assert_eq!(prompts_of(&history), ["the real prompt"], "{:#?}", history.events);
    assert_eq!(history.events.len(), 1, "nothing else becomes an event: {:#?}", history.events);
    assert_eq!(history.oversize, 1);
    assert!(history.notice().is_some_and(|n| n.contains("1 entries over")));

    // each line alone: never a prompt, never an event (the oversize one aside, counted)
    for (what, line) in &lines {
        let alone = history_of_lines(std::iter::once(&line[..]));
        assert!(alone.events.is_empty(), "{what}: {:?}", alone.events);
    }
}

#[test]
fn a_first_prompt_is_cut_and_a_prompt_past_the_head_cap_is_not_read() {
    let cwd = Path::new(REAL_CWD);
    let (root, dir) = projects_with(cwd);
    write_lines(&dir.join(format!("{ID}.jsonl")), &[user(&format!("  {}  ", "é".repeat(500)))]);
    let first = head(&find(root.path(), cwd, ID).unwrap()).unwrap().first_prompt.unwrap();
    assert_eq!(first.chars().count(), CLAUDE_PROMPT_CHARS + 1);
    assert!(first.ends_with('…') && first.starts_with('é'));

    let late = "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e12";
    let filler = json!({"type": "attachment", "cwd": REAL_CWD, "text": "y".repeat(HEAD_CAP as usize)}).to_string();
    write_lines(&dir.join(format!("{late}.jsonl")), &[filler, user("too late to be seen")]);
    let head = head(&find(root.path(), cwd, late).unwrap()).unwrap();
    assert_eq!(head.first_prompt, None, "the head reads {HEAD_CAP} bytes, no more");
}

#[test]
fn a_history_reads_the_last_8_mb_from_a_whole_line() {
    let cwd = Path::new(REAL_CWD);
    let (root, dir) = projects_with(cwd);
    let reply = |n: usize| {
        json!({"type": "assistant", "message": {"id": format!("m{n}"), "content": [{"type": "text", "text": "z".repeat(100_000)}]}}).to_string()
    };
    let mut lines = vec![user("the early prompt")];
    lines.extend((0..90).map(reply)); // ~9 MB
    lines.push(user("the late prompt"));
    write_lines(&dir.join(format!("{ID}.jsonl")), &lines);
    let history = history(&find(root.path(), cwd, ID).unwrap()).unwrap();
    assert!(history.truncated);
    assert_eq!(prompts_of(&history), ["the late prompt"]);
    assert!(history.events.iter().all(|e| !matches!(e, GatewayEvent::Message { message } if message.content.is_empty())), "no message from a cut line");
    assert!(history.notice().is_some_and(|n| n.contains("last 8 MB")));
    let replies = history.events.iter().filter(|e| matches!(e, GatewayEvent::Message { .. })).count();
    assert!((75..90).contains(&replies), "{replies} replies in the last 8 MB");
}

#[test]
fn an_image_in_a_prompt_is_kept() {
    let line = json!({"type": "user", "message": {"content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "text", "text": "what is this?"},
    ]}})
    .to_string();
    let history = history_of_lines(std::iter::once(line.as_bytes()));
    let [GatewayEvent::UserMessage { content, .. }] = &history.events[..] else { panic!("{:?}", history.events) };
    assert!(matches!(&content[..], [ContentBlock::Image { .. }, ContentBlock::Text { text }] if text == "what is this?"));
}
