//! Golden files: one committed JSON file per frame kind. A test fails when the serialised form
//! of any frame changes, when a kind has no golden file, or when a file has no kind.
//!
//! To accept an intended change (a new variant or field), run
//! `DURACLAW_BLESS=1 cargo test -p shared-types --test golden` and review the diff.

#[allow(dead_code)]
mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use support::*;
use shared_types::browser::{ClientCommand, ClientFrame, ServerFrame};
use shared_types::codec;
use shared_types::gateway::{EventEnvelope, GatewayCommand, GatewayControl, GatewayEvent, GatewayFrame};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The exact bytes a frame serialises to (field order included), pretty-printed.
fn pretty<T: serde::Serialize>(frame: &T) -> String {
    serde_json::to_string_pretty(frame).unwrap() + "\n"
}

/// Every frame kind: (file name under tests/golden, its serialised form).
fn every_frame() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut push = |group: &str, kind: &str, json: String| {
        out.push((format!("{group}/{kind}.json"), json));
    };
    for kind in GatewayCommand::TYPES {
        let c = sample_command(kind);
        assert_eq!(c.type_name(), *kind);
        push("gateway_command", kind, pretty(&c));
    }
    for kind in GatewayEvent::TYPES {
        let e = sample_event(kind);
        assert_eq!(e.type_name(), *kind);
        let frame = GatewayFrame::Event(EventEnvelope { seq: 7, event: e });
        push("gateway_event", kind, pretty(&frame));
    }
    push("gateway_batch", "events", pretty(&GatewayFrame::Events(sample_batch())));
    for kind in GatewayControl::TYPES {
        let c = sample_control(kind);
        assert_eq!(c.type_name(), *kind);
        push("gateway_control", kind, pretty(&GatewayFrame::Control(c)));
    }
    for kind in ClientCommand::TYPES {
        let c = sample_client(kind);
        assert_eq!(c.type_name(), *kind);
        let frame = ClientFrame::with_request_id(c, "r-1");
        push("client", kind, pretty(&frame));
    }
    for kind in ServerFrame::TYPES {
        let s = sample_server(kind);
        assert_eq!(s.type_name(), *kind);
        push("server", kind, pretty(&s));
    }
    out
}

#[test]
fn every_frame_kind_matches_its_committed_golden_file() {
    let bless = std::env::var_os("DURACLAW_BLESS").is_some();
    let mut failures = Vec::new();
    for (name, json) in every_frame() {
        let path = golden_dir().join(&name);
        match std::fs::read_to_string(&path) {
            Ok(committed) if committed == json => {}
            _ if bless => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &json).unwrap();
            }
            Ok(committed) => failures.push(format!("{name} changed:\n--- committed\n{committed}+++ now\n{json}")),
            Err(_) => failures.push(format!("{name} is missing")),
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf the change is intended: DURACLAW_BLESS=1 cargo test -p shared-types --test golden",
        failures.join("\n")
    );
}

#[test]
fn every_golden_file_names_a_frame_kind() {
    let expected: BTreeSet<String> = every_frame().into_iter().map(|(n, _)| n).collect();
    let mut found = BTreeSet::new();
    for group in std::fs::read_dir(golden_dir()).expect("tests/golden exists") {
        let group = group.unwrap().path();
        // The HTTP API's bodies: pinned by tests/golden_api.rs.
        if group.ends_with("api") {
            continue;
        }
        for file in std::fs::read_dir(&group).unwrap() {
            let file = file.unwrap().path();
            let rel = file.strip_prefix(golden_dir()).unwrap().to_string_lossy().into_owned();
            found.insert(rel);
        }
    }
    let stale: Vec<_> = found.difference(&expected).collect();
    assert!(stale.is_empty(), "golden files with no frame kind: {stale:?}");
}

#[test]
fn every_golden_file_decodes_to_its_sample() {
    for (name, json) in every_frame() {
        let (group, kind) = name.trim_end_matches(".json").split_once('/').unwrap();
        match group {
            "gateway_command" => assert_eq!(codec::decode_command(&json).unwrap(), sample_command(kind)),
            "gateway_event" => match codec::decode_gateway_frame(&json).unwrap() {
                GatewayFrame::Event(e) => assert_eq!(e.event, sample_event(kind)),
                other => panic!("{name} decoded as {other:?}"),
            },
            "gateway_control" => {
                assert_eq!(codec::decode_gateway_frame(&json).unwrap(), GatewayFrame::Control(sample_control(kind)))
            }
            "gateway_batch" => assert_eq!(codec::decode_gateway_frame(&json).unwrap(), GatewayFrame::Events(sample_batch())),
            "client" => {
                let frame = codec::decode_client_frame(&json).unwrap();
                assert_eq!((frame.command, frame.request_id.as_deref()), (sample_client(kind), Some("r-1")), "{name}");
            }
            "server" => assert_eq!(codec::decode_server_frame(&json).unwrap(), sample_server(kind)),
            other => panic!("unknown group {other}"),
        }
    }
}

#[test]
fn added_fields_are_tolerated_everywhere() {
    for (name, json) in every_frame() {
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value["from_the_future"] = serde_json::json!({"x": 1});
        if let Some(event) = value.get_mut("event") {
            event["also_new"] = serde_json::json!(true);
        }
        let text = value.to_string();
        let ok = match name.split('/').next().unwrap() {
            "gateway_command" => codec::decode_command(&text).is_ok(),
            "gateway_event" | "gateway_control" | "gateway_batch" => codec::decode_gateway_frame(&text).is_ok(),
            "client" => codec::decode_client_frame(&text).is_ok(),
            _ => codec::decode_server_frame(&text).is_ok(),
        };
        assert!(ok, "{name} with an added field was refused");
    }
}
