//! The runtime half of `#[derive(TagFirst)]` (crate `shared-types-derive`): decoding an
//! internally tagged enum by reading its tag first.
//!
//! The object is taken as raw JSON, its tag field is read (every other field skipped unparsed),
//! and the tag and the same text are handed to the enum's externally tagged mirror as an
//! [`EnumAccess`]: the tag names the variant, and the variant's fields are decoded from the text
//! (the tag field itself is one more field the variant ignores). No serde `Content` tree is built.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, VariantAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Decodes `d` as an object whose `tag` field names the variant, through `mirror` (the derived
/// externally tagged mirror's `deserialize`). `d` must carry JSON: a `serde_json` deserializer
/// or a `serde_json::Value`.
pub fn deserialize<'de, D, T, F>(d: D, tag: &'static str, mirror: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: for<'a> FnOnce(Tagged<'a>) -> Result<T, serde_json::Error>,
{
    let raw = Box::<RawValue>::deserialize(d)?;
    let body = raw.get();
    let variant = read_tag(body, tag).map_err(de::Error::custom)?;
    mirror(Tagged { variant: &variant, body }).map_err(de::Error::custom)
}

/// The value of the string field `tag` of the JSON object `body`; a missing tag is serde's
/// "missing field" error.
fn read_tag<'b>(body: &'b str, tag: &'static str) -> Result<Cow<'b, str>, serde_json::Error> {
    struct TagOf(&'static str);
    impl<'de> Visitor<'de> for TagOf {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an object with a string field `{}`", self.0)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(key) = map.next_key::<BorrowedOrOwned<'de>>()? {
                if key.0 == self.0 {
                    if found.is_some() {
                        return Err(de::Error::duplicate_field(self.0));
                    }
                    found = Some(map.next_value::<BorrowedOrOwned<'de>>()?.0);
                } else {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
            found.ok_or_else(|| de::Error::missing_field(self.0))
        }
    }
    let mut de = serde_json::Deserializer::from_str(body);
    de.deserialize_map(TagOf(tag))
}

/// A string that borrows from the input when it can (no escapes) and owns it otherwise.
struct BorrowedOrOwned<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for BorrowedOrOwned<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct S;
        impl<'de> Visitor<'de> for S {
            type Value = BorrowedOrOwned<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedOrOwned(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BorrowedOrOwned(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(S)
    }
}

/// An object whose variant is known: what the mirror decodes, as an externally tagged enum.
pub struct Tagged<'a> {
    variant: &'a str,
    body: &'a str,
}

impl<'de> Deserializer<'de> for Tagged<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("a tagged enum is read as an enum"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

impl<'de> EnumAccess<'de> for Tagged<'de> {
    type Error = serde_json::Error;
    type Variant = Body<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Body<'de>), Self::Error> {
        let name: de::value::StrDeserializer<'_, serde_json::Error> = self.variant.into_deserializer();
        Ok((seed.deserialize(name)?, Body(self.body)))
    }
}

/// The variant's fields: the whole object's text.
pub struct Body<'de>(&'de str);

impl<'de> Body<'de> {
    fn decode<T>(self, f: impl FnOnce(&mut serde_json::Deserializer<serde_json::de::StrRead<'de>>) -> serde_json::Result<T>) -> serde_json::Result<T> {
        let mut de = serde_json::Deserializer::from_str(self.0);
        let value = f(&mut de)?;
        de.end()?;
        Ok(value)
    }
}

impl<'de> VariantAccess<'de> for Body<'de> {
    type Error = serde_json::Error;

    /// A unit variant: `{"type":"pong"}`; other fields are ignored, as serde's derive does.
    fn unit_variant(self) -> Result<(), Self::Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Self::Error> {
        self.decode(|de| seed.deserialize(de))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("an internally tagged enum has no tuple variants"))
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, Self::Error> {
        self.decode(|de| de.deserialize_struct("", fields, visitor))
    }
}

#[cfg(test)]
mod tests {
    use crate::browser::ClientFrame;
    use crate::content::{ContentBlock, Delta};
    use crate::gateway::{GatewayCommand, GatewayEvent};
    use crate::status::SessionStatus;

    fn event(json: &str) -> Result<GatewayEvent, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    /// Hostile and unusual objects: what each decodes to, or the error it names.
    #[test]
    fn the_tag_is_read_wherever_it_is_and_bad_objects_get_a_clear_error() {
        let delta = GatewayEvent::MessageDelta {
            message_id: "m".into(),
            content: Delta::Text { index: 0, text: "hi".into() },
        };
        let ok: &[&str] = &[
            r#"{"type":"session.message.delta","message_id":"m","content":{"type":"text","index":0,"text":"hi"}}"#,
            // the tag last, in the nested object too
            r#"{"message_id":"m","content":{"index":0,"text":"hi","type":"text"},"type":"session.message.delta"}"#,
            // an escaped tag, unknown fields of every shape, whitespace
            r#" { "type" : "session.message\u002edelta", "x": [1, {"type": "nope"}], "message_id":"m",
                 "content":{"type":"\u0074ext","index":0,"text":"hi","y":null} } "#,
        ];
        for json in ok {
            assert_eq!(event(json), Ok(delta.clone()), "{json}");
        }
        let bad: &[(&str, &str)] = &[
            (r#"{"message_id":"m"}"#, "missing field `type`"),
            (r#"{"type":7,"message_id":"m"}"#, "invalid type: integer `7`"),
            (r#"{"type":null}"#, "invalid type: null"),
            (r#"{"type":"session.nope"}"#, "unknown variant `session.nope`"),
            (r#"{"type":"session.message.delta","type":"session.init"}"#, "duplicate field `type`"),
            (r#"{"type":"session.message.delta","message_id":"m"}"#, "missing field `content`"),
            (r#"{"type":"session.message.delta","message_id":"m","content":{"type":"text","index":"0","text":"hi"}}"#, "invalid type: string \"0\""),
            (r#"{"type":"session.message.delta","message_id":"m","content":{"index":0,"text":"hi"}}"#, "missing field `type`"),
            (r#"["session.message.delta"]"#, "invalid type: sequence"),
            (r#""session.message.delta""#, "invalid type: string"),
            (r#"{"type":"session.message.delta""#, "EOF"),
        ];
        for (json, want) in bad {
            let err = event(json).expect_err(json);
            assert!(err.contains(want), "{json}: {err:?} does not say {want:?}");
        }
    }

    #[test]
    fn unit_struct_and_nested_variants_decode_from_text_and_from_a_value() {
        let cases: Vec<(&str, SessionStatus)> = vec![
            (r#"{"state":"idle"}"#, SessionStatus::Idle),
            (r#"{"state":"idle","since":5}"#, SessionStatus::Idle),
            (r#"{"since":5,"state":"disconnected"}"#, SessionStatus::Disconnected { since: 5 }),
        ];
        for (json, want) in cases {
            assert_eq!(serde_json::from_str::<SessionStatus>(json).unwrap(), want, "{json}");
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::from_value::<SessionStatus>(value).unwrap(), want, "{json} as a Value");
        }
        let json = r#"{"type":"session.message","client_id":"c","content":[{"type":"text","text":"a"},{"text":"b","type":"text"}]}"#;
        let want = GatewayCommand::Message { client_id: "c".into(), content: vec![ContentBlock::text("a"), ContentBlock::text("b")] };
        assert_eq!(serde_json::from_str::<GatewayCommand>(json).unwrap(), want);
        assert_eq!(serde_json::from_slice::<GatewayCommand>(json.as_bytes()).unwrap(), want);
        assert_eq!(serde_json::from_reader::<_, GatewayCommand>(json.as_bytes()).unwrap(), want);
    }

    #[test]
    fn a_client_frame_reads_its_request_id_beside_the_command() {
        let frame: ClientFrame = serde_json::from_str(r#"{"type":"sync","after_seq":3,"request_id":"r"}"#).unwrap();
        assert_eq!(frame.request_id.as_deref(), Some("r"));
        let frame: ClientFrame = serde_json::from_str(r#"{"type":"sync","after_seq":3}"#).unwrap();
        assert_eq!(frame.request_id, None);
        for (json, want) in [
            (r#"{"type":"sync","after_seq":3,"request_id":5}"#, "invalid type: integer `5`"),
            (r#"{"request_id":"r"}"#, "missing field `type`"),
        ] {
            let err = serde_json::from_str::<ClientFrame>(json).unwrap_err().to_string();
            assert!(err.contains(want), "{json}: {err}");
        }
    }
}
