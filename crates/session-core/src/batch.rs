//! Reading gateway text frames (a single event, an `events` batch ([`shared_types::EventBatch`]),
//! a control frame) with one scan of each.
//!
//! Each element's event is decoded from its own slice of the frame and that slice is what the
//! log stores, so an event is parsed once and never re-serialised. One element that cannot be
//! read does not cost the others: it becomes an [`Element::Unreadable`] (stored as it came, like
//! a single unreadable event) or, without a usable seq, an [`Element::Unnumbered`] (dropped).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use shared_types::codec;
use shared_types::gateway::{GatewayControl, EVENTS_FRAME};
use shared_types::{FrameError, GatewayEvent, MAX_FRAME_BYTES};

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

/// What one gateway text frame holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame<'a> {
    /// Numbered events: one (a single event frame) or a batch's elements.
    Events(Vec<Element<'a>>),
    Control(GatewayControl),
    /// Not a frame the link carries (not JSON, no seq and no known type, a malformed batch):
    /// why, for the operator's log.
    Refused(String),
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    seq: Option<serde::de::IgnoredAny>,
    #[serde(borrow, default)]
    events: Option<Vec<&'a RawValue>>,
}

/// A numbered event's frame as far as counting it goes: its seq, and its event unread. (Also
/// what [`crate::log::numbered`] reads an undecodable frame with: one decoder for both.)
#[derive(Deserialize)]
pub(crate) struct Numbered<'a> {
    pub seq: u64,
    #[serde(borrow, default)]
    pub event: Option<&'a RawValue>,
}

/// Reads one gateway text frame: the frame is scanned once for its shape, then each event is
/// decoded from its own slice.
pub fn read(text: &str) -> Frame<'_> {
    if text.len() > MAX_FRAME_BYTES {
        let too_large = FrameError::TooLarge { size: text.len(), max: MAX_FRAME_BYTES }.to_string();
        if is_batch(text) {
            return Frame::Refused(format!("an events frame: {too_large}"));
        }
        return match crate::log::numbered(text) {
            Some((seq, original_type)) => Frame::Events(vec![Element::Unreadable { seq, raw: text, original_type, reason: too_large }]),
            None => Frame::Refused(format!("{too_large}, and it has no seq to count")),
        };
    }
    let head: Head<'_> = match serde_json::from_str(text) {
        Ok(head) => head,
        Err(e) => return Frame::Refused(format!("not a gateway frame ({e}); it has no seq to count")),
    };
    if head.kind.as_deref() == Some(EVENTS_FRAME) {
        return match head.events {
            Some(events) => Frame::Events(events.into_iter().map(|raw| element(raw.get())).collect()),
            None => Frame::Refused("an events frame needs an \"events\" array".into()),
        };
    }
    if head.seq.is_some() {
        return Frame::Events(vec![element(text)]);
    }
    match codec::decode_control(text) {
        Ok(control) => Frame::Control(control),
        Err(e) => Frame::Refused(format!("{e}; it has no seq to count")),
    }
}

/// Whether a text starts like an `events` frame, without parsing it.
fn is_batch(text: &str) -> bool {
    let head: String = text.chars().take(64).filter(|c| !c.is_whitespace()).collect();
    head.starts_with(&format!("{{\"type\":\"{EVENTS_FRAME}\""))
}

fn element(text: &str) -> Element<'_> {
    let numbered: Numbered<'_> = match serde_json::from_str(text) {
        Ok(n) => n,
        Err(e) => return Element::Unnumbered { reason: format!("an event without a usable seq and event: {e}") },
    };
    if numbered.seq == 0 || numbered.seq > MAX_SEQ {
        return Element::Unnumbered { reason: format!("seq {} is out of range (1..={MAX_SEQ})", numbered.seq) };
    }
    let Some(event) = numbered.event else {
        return Element::Unnumbered { reason: "an event without a usable seq and event: missing field `event`".into() };
    };
    let body = event.get();
    match serde_json::from_str::<GatewayEvent>(body) {
        Ok(event) => Element::Event(Incoming { seq: numbered.seq, event, body: Cow::Borrowed(body) }),
        Err(e) => {
            let original_type = crate::log::event_type(body);
            let reason = match &original_type {
                Some(t) if !GatewayEvent::TYPES.contains(&t.as_str()) => FrameError::UnknownType(t.clone()).to_string(),
                Some(t) => FrameError::Invalid { kind: t.clone(), message: e.to_string() }.to_string(),
                None => FrameError::MissingType.to_string(),
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
        let Frame::Events(elements) = read(text) else { panic!("a batch") };
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
    fn single_events_controls_and_garbage() {
        let single = read(r#"{"seq":1,"event":{"type":"session.status","state":"running"}}"#);
        assert!(matches!(&single, Frame::Events(e) if matches!(&e[..], [Element::Event(i)] if i.seq == 1)));
        assert_eq!(read(r#"{"type":"pong"}"#), Frame::Control(GatewayControl::Pong));
        for garbage in ["not json", "[1]", r#"{"type":"events"}"#, r#"{"type":"events","events":{}}"#, r#"{"type":"nope"}"#, "{}"] {
            assert!(matches!(read(garbage), Frame::Refused(_)), "{garbage}");
        }
        let huge = format!(r#"{{"seq":4,"event":{{"type":"session.status","pad":"{}"}}}}"#, "x".repeat(MAX_FRAME_BYTES));
        assert!(matches!(read(&huge), Frame::Events(e) if matches!(&e[..], [Element::Unreadable { seq: 4, .. }])));
        let huge_batch = format!(r#"{{"type":"events","events":[],"pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
        assert!(matches!(read(&huge_batch), Frame::Refused(_)));
    }
}
