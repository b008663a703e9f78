//! Images in a message: refused at the Durable Object when bad (nothing stored), else queued for
//! the gateway and, echoed as `session.user_message`, stored above the row limit in chunks and
//! replayed whole.

mod common;

use common::*;
use serde_json::json;
use session_core::Output;
use shared_types::gateway::RunnerState;
use shared_types::{ContentBlock, ErrorCode, GatewayCommand, GatewayEvent, ImageSource, ServerFrame};

/// A PNG signature and `len` bytes in all, as base64 (every byte after the signature is 0).
fn png_b64(len: usize) -> String {
    let head = "iVBORw0KGgo"; // \x89PNG\r\n\x1a\n, 8 bytes: 11 sextets, the 12th one of the zeros
    let total = len.div_ceil(3) * 4;
    let mut s = format!("{head}A");
    s.push_str(&"A".repeat(total - s.len()));
    s
}

fn image(media_type: &str, data: String) -> serde_json::Value {
    json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}})
}

fn queued(h: &mut Harness) -> i64 {
    h.core.sql().connection().query_row("SELECT COUNT(*) FROM command_queue", [], |r| r.get(0)).unwrap()
}

fn error(out: &Output) -> Option<(ErrorCode, String)> {
    out.reply.iter().find_map(|f| match f {
        ServerFrame::Error { code, message, .. } => Some((*code, message.clone())),
        _ => None,
    })
}

#[test]
fn bad_images_are_refused_and_nothing_is_stored() {
    let mut h = Harness::new();
    h.up();
    h.events([env(1, created()), env(2, runner(RunnerState::Idle))]);
    let gif_as_png = "R0lGODlhAQABAAAAACw=".to_string();
    let cases = [
        ("svg", image("image/svg+xml", "PHN2Zy8+".into()), "PNG, JPEG, GIF or WebP"),
        ("a gif labelled png", image("image/png", gif_as_png), "not what its media type says"),
        ("a data: URL", image("image/png", format!("data:image/png;base64,{}", png_b64(30))), "not base64"),
        ("too big", image("image/png", png_b64(shared_types::MAX_IMAGE_BYTES + 3)), "over the limit of 1.5 MB"),
    ];
    for (name, block, says) in cases {
        let out = h.client(json!({"type": "message", "client_id": "c-1", "content": [block], "request_id": "r-1"}));
        let (code, message) = error(&out).unwrap_or_else(|| panic!("{name}: accepted"));
        assert_eq!(code, ErrorCode::InvalidInput, "{name}");
        assert!(message.contains(says), "{name}: {message}");
        assert!(out.commands().is_empty(), "{name}");
        assert_eq!(queued(&mut h), 0, "{name}: nothing stored");
    }
    let five: Vec<_> = (0..5).map(|_| image("image/png", png_b64(30))).collect();
    let out = h.client(json!({"type": "message", "client_id": "c-1", "content": five}));
    assert!(error(&out).is_some_and(|(_, m)| m.contains("at most 4 images")));
    assert_eq!(queued(&mut h), 0);
}

#[test]
fn images_above_the_row_limit_are_queued_stored_and_replayed_whole() {
    let mut h = Harness::new();
    h.up();
    h.events([env(1, created()), env(2, runner(RunnerState::Idle))]);
    let data: Vec<String> = (0..3).map(|i| png_b64(900_000 + i)).collect();
    let content: Vec<_> = std::iter::once(json!({"type": "text", "text": "what are these?"}))
        .chain(data.iter().map(|d| image("image/png", d.clone())))
        .collect();
    let out = h.client(json!({"type": "message", "client_id": "c-img", "content": content}));
    assert_eq!(error(&out), None);
    let blocks: Vec<ContentBlock> = std::iter::once(ContentBlock::text("what are these?"))
        .chain(data.iter().map(|d| ContentBlock::Image {
            source: ImageSource { kind: "base64".into(), media_type: "image/png".into(), data: d.clone() },
        }))
        .collect();
    assert_eq!(out.commands(), vec![GatewayCommand::Message { client_id: "c-img".into(), content: blocks.clone() }]);
    let echo = GatewayEvent::UserMessage { client_id: "c-img".into(), content: blocks.clone(), queued: false };
    h.event(env(3, echo.clone()));
    let (mut h, _) = h.evict_and_wake(session_core::CoreConfig::default());
    let out = h.client(json!({"type": "sync", "after_seq": 2}));
    let mut frames = out.reply;
    let mut replay = out.replay.expect("a replay");
    while let Some(page) = h.core.replay_page(&mut replay).unwrap() {
        frames.extend(page);
    }
    let replayed: Vec<_> = frames
        .into_iter()
        .flat_map(|f| match f {
            ServerFrame::Event { event, .. } => vec![event],
            ServerFrame::Events { events, .. } => events.into_iter().map(|e| e.event).collect(),
            _ => vec![],
        })
        .collect();
    assert_eq!(replayed, vec![echo], "the 3.6 MB message comes back whole");
}
