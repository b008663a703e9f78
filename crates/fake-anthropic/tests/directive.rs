//! The directive grammar: what parses, into what, and what is refused.

use fake_anthropic::directive::{parse, ErrorSpec, Pace, ToolCall};
use serde_json::json;

#[test]
fn plain_prompt_has_no_directives_and_keeps_its_prose() {
    let s = parse("  hello\n  there  ").unwrap();
    assert_eq!(s.prose, "hello there");
    assert!(s.tools.is_empty() && s.text.is_none() && s.error.is_none());
}

#[test]
fn prose_excludes_directives() {
    let s = parse("please [[thinking]] do it [[text \"ok\"]] now").unwrap();
    assert_eq!(s.prose, "please do it now");
    assert_eq!(s.text.as_deref(), Some("ok"));
    assert_eq!(s.thinking.as_deref(), Some("Let me think about this."));
}

#[test]
fn bash_with_quoted_command_and_escapes() {
    let s = parse(r#"[[tool:bash cmd="echo \"hi\" > out.txt\nls \\ x"]]"#).unwrap();
    assert_eq!(
        s.tools,
        vec![ToolCall::Bash {
            command: "echo \"hi\" > out.txt\nls \\ x".into()
        }]
    );
}

#[test]
fn closing_brackets_inside_quotes_do_not_end_the_directive() {
    let s = parse(r#"[[tool:bash cmd="echo ]] [[ x"]] after"#).unwrap();
    assert_eq!(
        s.tools,
        vec![ToolCall::Bash {
            command: "echo ]] [[ x".into()
        }]
    );
    assert_eq!(s.prose, "after");
}

#[test]
fn file_tools() {
    let s = parse(
        r#"[[tool:write path=notes.txt content="a\nb"]] [[tool:read path=/abs/x]]
           [[tool:edit path=notes.txt old="a" new="z" all=true]]"#,
    )
    .unwrap();
    assert_eq!(
        s.tools,
        vec![
            ToolCall::Write {
                path: "notes.txt".into(),
                content: "a\nb".into()
            },
            ToolCall::Read {
                path: "/abs/x".into()
            },
            ToolCall::Edit {
                path: "notes.txt".into(),
                old: "a".into(),
                new: "z".into(),
                all: true
            },
        ]
    );
}

#[test]
fn ask_question_with_defaults_and_options() {
    let s =
        parse(r#"[[tool:ask question="Which colour?" options="red, blue" multi=true]]"#).unwrap();
    assert_eq!(
        s.tools,
        vec![ToolCall::Ask {
            question: "Which colour?".into(),
            header: "Question".into(),
            options: vec!["red".into(), "blue".into()],
            multi: true,
        }]
    );
}

#[test]
fn raw_tool_types_bare_values_only() {
    let s = parse(r#"[[tool:Grep pattern="fn main" head_limit=5 multiline=true glob=*.rs n="5"]]"#)
        .unwrap();
    let ToolCall::Raw { name, input } = &s.tools[0] else {
        panic!("not raw: {:?}", s.tools)
    };
    assert_eq!(name, "Grep");
    assert_eq!(
        serde_json::Value::Object(input.clone()),
        json!({"pattern": "fn main", "head_limit": 5, "multiline": true, "glob": "*.rs", "n": "5"})
    );
}

#[test]
fn slow_error_and_defaults() {
    let s = parse("[[slow ms=200 chunks=20]] [[error:529 times=2]]").unwrap();
    assert_eq!(
        s.pace,
        Some(Pace {
            ms: 200,
            chunks: 20
        })
    );
    assert_eq!(
        s.error,
        Some(ErrorSpec {
            status: 529,
            times: Some(2)
        })
    );
    let s = parse("[[slow]] [[error:400]]").unwrap();
    assert_eq!(
        s.pace,
        Some(Pace {
            ms: 100,
            chunks: 10
        })
    );
    assert_eq!(
        s.error,
        Some(ErrorSpec {
            status: 400,
            times: None
        })
    );
}

#[test]
fn tools_keep_their_order() {
    let s = parse("[[tool:bash cmd=one]] text [[tool:bash cmd=two]]").unwrap();
    assert_eq!(
        s.tools,
        vec![
            ToolCall::Bash {
                command: "one".into()
            },
            ToolCall::Bash {
                command: "two".into()
            }
        ]
    );
}

#[test]
fn mistakes_are_errors_not_echoes() {
    let cases = [
        ("[[tool:bash cmd=x", "no closing"),
        ("[[]]", "missing directive name"),
        ("[[nope]]", "unknown directive `nope`"),
        ("[[tool:bsh cmd=x]]", "unknown tool `bsh`"),
        ("[[tool:bash command=x]]", "missing `cmd=`"),
        ("[[tool:bash cmd=x extra=1]]", "unknown key `extra`"),
        ("[[error:418]]", "unsupported status `418`"),
        ("[[error]]", "unknown directive `error`"),
        ("[[slow ms=fast]]", "`ms` must be a non-negative integer"),
        ("[[tool:ask question=q options=\",\"]]", "at least one"),
        ("[[tool:edit path=a old=b new=c all=yes]]", "true or false"),
        ("[[text]]", "needs a quoted text"),
        ("[[text \"a\"]] [[text \"b\"]]", "once per prompt"),
        ("[[text \"unterminated]]", "no closing"),
        ("[[thinking \"a\" \"b\"]]", "at most one quoted"),
        ("[[text \"a\\q\"]]", "unknown escape"),
        ("[[slow \"x\"]]", "unexpected quoted argument"),
    ];
    for (input, needle) in cases {
        let err = parse(input).expect_err(input).to_string();
        assert!(err.contains(needle), "{input}: {err} lacks {needle}");
    }
}
