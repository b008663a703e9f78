//! Reading a gateway `events` frame ([`shared_types::EventBatch`]) in one pass over its text.
//!
//! Each element's event is decoded from its own slice of the frame and that slice is what the
//! log stores, so an event is parsed once and never re-serialised. One element that cannot be
//! read does not cost the others: it becomes an [`Element::Unreadable`] (stored as it came, like
//! a single unreadable event) or, without a usable seq, an [`Element::Unnumbered`] (dropped).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use shared_types::gateway::EVENTS_FRAME;
use shared_types::{GatewayEvent, MAX_FRAME_BYTES};

use crate::log::MAX_SEQ;

/// A readable numbered event and the JSON text of its `event` (what the log stores).
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming<'a> {
    pub seq: u64,
    pub event: GatewayEvent,
    pub body: Cow<'a, str>,
}

/// One element of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Element<'a> {
    Event(Incoming<'a>),
    /// A usable seq, an event that does not decode: stored raw with its `session.unknown`
    /// stand-in.
    Unreadable { seq: u64, raw: &'a str, original_type: Option<String>, reason: String },
    /// No usable seq: nothing to count, so it is dropped (and reported).
    Unnumbered { reason: String },
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    events: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Numbered<'a> {
    seq: u64,
    #[serde(borrow)]
    event: &'a RawValue,
}

/// The elements of an `events` frame; `None` when `text` is not one (a single event or a
/// control frame: the codec reads those); `Some(Err)` for an `events` frame that is not
/// usable as a whole (oversize, no `events` array).
pub fn parse(text: &str) -> Option<Result<Vec<Element<'_>>, String>> {
    if text.len() > MAX_FRAME_BYTES {
        // Oversize: only the codec's path reports it properly, and only if it is not a batch.
        return is_batch(text).then(|| Err(format!("an events frame of {} bytes is over the {MAX_FRAME_BYTES}-byte limit", text.len())));
    }
    let head: Head<'_> = serde_json::from_str(text).ok()?;
    if head.kind.as_deref() != Some(EVENTS_FRAME) {
        return None;
    }
    let Some(events) = head.events else {
        return Some(Err("an events frame needs an \"events\" array".into()));
    };
    Some(Ok(events.into_iter().map(element).collect()))
}

/// Whether an (oversize) text starts like an `events` frame, without parsing it.
fn is_batch(text: &str) -> bool {
    let head: String = text.chars().take(64).filter(|c| !c.is_whitespace()).collect();
    head.starts_with(&format!("{{\"type\":\"{EVENTS_FRAME}\""))
}

fn element(raw: &RawValue) -> Element<'_> {
    let text = raw.get();
    let numbered: Numbered<'_> = match serde_json::from_str(text) {
        Ok(n) => n,
        Err(e) => return Element::Unnumbered { reason: format!("an element without a usable seq and event: {e}") },
    };
    if numbered.seq == 0 || numbered.seq > MAX_SEQ {
        return Element::Unnumbered { reason: format!("seq {} is out of range (1..={MAX_SEQ})", numbered.seq) };
    }
    let body = numbered.event.get();
    match serde_json::from_str::<GatewayEvent>(body) {
        Ok(event) => Element::Event(Incoming { seq: numbered.seq, event, body: Cow::Borrowed(body) }),
        Err(e) => {
            let original_type = crate::log::numbered(text).and_then(|(_, t)| t);
            let reason = match &original_type {
                Some(t) if !GatewayEvent::TYPES.contains(&t.as_str()) => format!("unknown frame type {t:?}"),
                Some(t) => format!("invalid {t:?} frame: {e}"),
                None => format!("the event has no type: {e}"),
            };
            Element::Unreadable { seq: numbered.seq, raw: text, original_type, reason }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_element_on_its_own() {
        let text = r#"{"type":"events","events":[
            {"seq":1,"event":{"type":"session.status","state":"running"}},
            {"seq":2,"event":{"type":"session.future","x":1}},
            {"seq":0,"event":{"type":"session.status","state":"idle"}},
            {"nope":true},
            {"seq":3,"event":{"type":"session.status","state":"sideways"}}
        ]}"#;
        let elements = parse(text).expect("a batch").expect("usable");
        assert_eq!(elements.len(), 5);
        assert!(matches!(&elements[0], Element::Event(i) if i.seq == 1 && i.body.contains("running")));
        assert!(
            matches!(&elements[1], Element::Unreadable { seq: 2, original_type: Some(t), reason, .. } if t == "session.future" && reason.contains("unknown"))
        );
        assert!(matches!(&elements[2], Element::Unnumbered { .. }));
        assert!(matches!(&elements[3], Element::Unnumbered { .. }));
        assert!(matches!(&elements[4], Element::Unreadable { seq: 3, reason, .. } if reason.contains("invalid")));
    }

    #[test]
    fn other_frames_are_not_batches() {
        assert_eq!(parse(r#"{"seq":1,"event":{"type":"session.status","state":"running"}}"#), None);
        assert_eq!(parse(r#"{"type":"pong"}"#), None);
        assert_eq!(parse("not json"), None);
        assert!(matches!(parse(r#"{"type":"events"}"#), Some(Err(_))));
        assert!(matches!(parse(r#"{"type":"events","events":{}}"#), None | Some(Err(_))));
    }
}
