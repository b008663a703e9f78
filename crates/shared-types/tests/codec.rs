//! Bad frames get typed errors, never panics.

#[allow(dead_code)]
mod support;

use shared_types::codec::{decode_client_frame, decode_command, decode_control, decode_gateway_frame, decode_server_frame};
use shared_types::gateway::GatewayControl;
use shared_types::{ErrorCode, FrameError, MAX_FRAME_BYTES};

#[test]
fn unknown_types_are_told_apart_from_malformed_frames() {
    let e = decode_command(r#"{"type":"session.fly"}"#).unwrap_err();
    assert_eq!(e, FrameError::UnknownType("session.fly".into()));
    assert_eq!(e.code(), ErrorCode::UnknownType);

    let e = decode_command(r#"{"type":"session.attach","after_seq":"x"}"#).unwrap_err();
    assert!(matches!(&e, FrameError::Invalid { kind, .. } if kind == "session.attach"), "{e:?}");
    assert_eq!(e.code(), ErrorCode::BadFrame);
}

#[test]
fn non_objects_and_untyped_frames_are_refused() {
    for text in ["", "nul", "[1,2]", "42", r#"{"no_type":1}"#, r#"{"type":7}"#, "{\"type\":\"ping\""] {
        let e = decode_command(text).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadFrame, "{text:?} gave {e:?}");
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn oversize_frames_are_refused_before_parsing() {
    let big = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
    let e = decode_command(&big).unwrap_err();
    assert!(matches!(e, FrameError::TooLarge { max, .. } if max == MAX_FRAME_BYTES));
    assert_eq!(e.code(), ErrorCode::FrameTooLarge);
}

#[test]
fn a_three_megabyte_tool_result_fits() {
    let result = "r".repeat(3 * 1024 * 1024);
    let text = format!(
        r#"{{"seq":9,"event":{{"type":"session.tool.result","tool_call_id":"t","result":"{result}","is_error":false}}}}"#
    );
    assert!(decode_gateway_frame(&text).is_ok());
}

#[test]
fn gateway_events_need_a_positive_seq_and_an_event_object() {
    for text in [
        r#"{"seq":0,"event":{"type":"session.status","state":"idle"}}"#,
        r#"{"seq":-1,"event":{"type":"session.status","state":"idle"}}"#,
        r#"{"seq":1}"#,
        r#"{"seq":1,"event":"session.status"}"#,
    ] {
        assert_eq!(decode_gateway_frame(text).unwrap_err().code(), ErrorCode::BadFrame, "{text}");
    }
    let e = decode_gateway_frame(r#"{"seq":1,"event":{"type":"session.nope"}}"#).unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnknownType);
}

#[test]
fn controls_are_read_on_their_own_and_nothing_else_passes_for_one() {
    assert_eq!(decode_control(r#"{"type":"pong"}"#), Ok(GatewayControl::Pong));
    assert!(matches!(decode_control(r#"{"type":"error","code":"bad_frame","message":"no"}"#), Ok(GatewayControl::Error { .. })));
    for text in [r#"{"type":"events","events":[]}"#, r#"{"type":"session.status","state":"idle"}"#, r#"{"type":"nope"}"#] {
        assert_eq!(decode_control(text).unwrap_err().code(), ErrorCode::UnknownType, "{text}");
    }
    for text in ["pong", "[1]", "{}", r#"{"type":"error","code":"bad_frame"}"#] {
        assert_eq!(decode_control(text).unwrap_err().code(), ErrorCode::BadFrame, "{text}");
    }
}

#[test]
fn client_errors_keep_the_request_id_they_could_read() {
    let (e, id) = decode_client_frame(r#"{"type":"tool.approve","request_id":"r9"}"#).unwrap_err();
    assert_eq!(e.code(), ErrorCode::BadFrame);
    assert_eq!(id.as_deref(), Some("r9"));
    let (e, id) = decode_client_frame(r#"{"type":"dance","request_id":"r10"}"#).unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnknownType);
    assert_eq!(id.as_deref(), Some("r10"));
    let (_, id) = decode_client_frame("not json").unwrap_err();
    assert_eq!(id, None);
}

#[test]
fn server_frames_refuse_unknown_types() {
    assert_eq!(decode_server_frame(r#"{"type":"hello"}"#).unwrap_err().code(), ErrorCode::UnknownType);
}

#[test]
fn policies_with_bad_rules_are_refused_in_session_create() {
    let e = decode_command(
        r#"{"type":"session.create","config":{"project":"p","policy":{"allow":["Bash(oops"]}}}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("must end with"), "{e}");
}
