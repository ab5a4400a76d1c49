//! The real Genesys Cloud formats: Notifications API frames and `EventBridge` events.
//!
//! Envelope: `{"topicName", "version", "eventBody", "metadata"}` (research §1.5). The topic decides
//! how the body is read:
//!
//! | topic | events |
//! |---|---|
//! | `v2.conversations.{id}.transcription` | one `Transcript` per `transcripts[]` entry, then a `Status` |
//! | `v2.routing.queues.{id}.conversations`, `v2.users.{id}.conversations` | `Conversation` (discovery) |
//! | `channel.metadata` | `Control` heartbeat / pong |
//! | `v2.system.*`, `v2.subscription.updated` | `Control` |
//! | anything else | `Control` `unknown_topic` (counted, never an error) |
//!
//! Frames without a topic are socket-level replies (`{"result":"200","status":"subscribed"}`).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    ControlEvent, ConversationEvent, DecodeError, Event, LenientI64, LenientStr, Reading,
    StatusEvent, TranscriptEvent, WordEvent,
};
use crate::record::Participant;
use crate::timefmt::parse_iso_ms;

mod fast;

/// The envelope, read in one pass: when `topicName` comes before `eventBody` (as Genesys writes
/// it) and names a transcription topic, the body is decoded in place; otherwise it is kept raw
/// and decoded once the topic is known.
#[derive(Default)]
struct Envelope<'a> {
    topic_name: LenientStr<'a>,
    event_body: Option<&'a RawValue>,
    transcription: Option<TranscriptionBody<'a>>,
    // Socket-level replies.
    result: LenientStr<'a>,
    status: LenientStr<'a>,
    message: LenientStr<'a>,
}

fn is_transcription_topic(topic: &str) -> bool {
    topic.starts_with("v2.conversations.") && topic.ends_with(".transcription")
}

impl<'de: 'a, 'a> Deserialize<'de> for Envelope<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Envelope<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a notification object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut env = Envelope::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match key.as_ref() {
                        "topicName" => env.topic_name = map.next_value()?,
                        "eventBody"
                            if env
                                .topic_name
                                .as_deref()
                                .is_some_and(is_transcription_topic) =>
                        {
                            env.transcription = map.next_value()?;
                        }
                        "eventBody" => env.event_body = map.next_value()?,
                        "result" => env.result = map.next_value()?,
                        "status" => env.status = map.next_value()?,
                        "message" => env.message = map.next_value()?,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(env)
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
struct EventBridgeEvent<'a> {
    #[serde(borrow, default)]
    detail: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct TranscriptionBody<'a> {
    #[serde(rename = "eventTime", borrow, default)]
    event_time: LenientStr<'a>,
    #[serde(rename = "organizationId", borrow, default)]
    organization_id: LenientStr<'a>,
    #[serde(rename = "conversationId", borrow, default)]
    conversation_id: LenientStr<'a>,
    #[serde(rename = "communicationId", borrow, default)]
    communication_id: LenientStr<'a>,
    #[serde(rename = "sessionStartTimeMs", default)]
    session_start_time_ms: LenientI64,
    #[serde(borrow, default)]
    transcripts: Option<Vec<TranscriptResult<'a>>>,
    #[serde(borrow, default)]
    status: Option<RequestStatus<'a>>,
}

#[derive(Deserialize)]
struct RequestStatus<'a> {
    #[serde(rename = "offsetMs", default)]
    offset_ms: LenientI64,
    #[serde(borrow, default)]
    status: LenientStr<'a>,
}

#[derive(Deserialize)]
struct TranscriptResult<'a> {
    #[serde(rename = "utteranceId", borrow, default)]
    utterance_id: LenientStr<'a>,
    #[serde(rename = "isFinal", default)]
    is_final: Option<bool>,
    #[serde(borrow, default)]
    channel: LenientStr<'a>,
    #[serde(borrow, default)]
    alternatives: Option<Vec<Alternative<'a>>>,
    #[serde(rename = "engineProvider", borrow, default)]
    engine_provider: LenientStr<'a>,
    #[serde(rename = "engineId", borrow, default)]
    engine_id: LenientStr<'a>,
    #[serde(borrow, default)]
    dialect: LenientStr<'a>,
}

#[derive(Deserialize)]
struct Alternative<'a> {
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(rename = "offsetMs", default)]
    offset_ms: LenientI64,
    #[serde(rename = "durationMs", default)]
    duration_ms: LenientI64,
    #[serde(borrow, default)]
    transcript: LenientStr<'a>,
    #[serde(default, deserialize_with = "word_events")]
    words: Option<Vec<WordEvent>>,
    #[serde(rename = "decoratedTranscript", borrow, default)]
    decorated_transcript: LenientStr<'a>,
    #[serde(rename = "decoratedWords", default, deserialize_with = "word_events")]
    decorated_words: Option<Vec<WordEvent>>,
}

/// A word list read straight into events (both readers build the same `WordEvent`s).
fn word_events<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<WordEvent>>, D::Error> {
    let list: Option<Vec<Word<'de>>> = Deserialize::deserialize(d)?;
    Ok(list.map(|l| l.iter().map(word_event).collect()))
}

#[derive(Deserialize)]
#[allow(clippy::struct_field_names)] // `word` is the wire name of the token text.
struct Word<'a> {
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(rename = "offsetMs", default)]
    offset_ms: LenientI64,
    #[serde(rename = "durationMs", default)]
    duration_ms: LenientI64,
    #[serde(borrow, default)]
    word: LenientStr<'a>,
}

#[derive(Deserialize)]
struct DiscoveryBody<'a> {
    #[serde(borrow, default)]
    id: LenientStr<'a>,
    #[serde(borrow, default)]
    participants: Option<Vec<DiscoveryParticipant<'a>>>,
}

#[derive(Deserialize)]
struct DiscoveryParticipant<'a> {
    #[serde(borrow, default)]
    id: LenientStr<'a>,
    #[serde(borrow, default)]
    purpose: LenientStr<'a>,
    #[serde(rename = "userId", borrow, default)]
    user_id: LenientStr<'a>,
    #[serde(rename = "queueId", borrow, default)]
    queue_id: LenientStr<'a>,
    #[serde(rename = "endTime", borrow, default)]
    end_time: LenientStr<'a>,
    #[serde(borrow, default)]
    calls: Option<Vec<DiscoveryCall<'a>>>,
}

#[derive(Deserialize)]
struct DiscoveryCall<'a> {
    #[serde(borrow, default)]
    state: LenientStr<'a>,
}

#[derive(Deserialize)]
struct MessageBody<'a> {
    #[serde(borrow, default)]
    message: LenientStr<'a>,
    #[serde(rename = "systemTopicType", borrow, default)]
    system_topic_type: LenientStr<'a>,
    #[serde(borrow, default)]
    reason: LenientStr<'a>,
}

/// Validate UTF-8 once for the whole document (fast on ASCII), so that serde and the fast
/// reader can work on `&str` without a validation call per string.
fn utf8(doc: &[u8]) -> Result<&str, DecodeError> {
    // RFC 8259 text is UTF-8 everywhere, also in fields we would ignore. The SIMD check is
    // several times faster than std's on this mostly-ASCII text; std finds where it fails.
    if let Ok(text) = simdutf8::basic::from_utf8(doc) {
        return Ok(text);
    }
    std::str::from_utf8(doc).map_err(|e| DecodeError {
        reason: "invalid_utf8",
        message: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        offset: Some(e.valid_up_to() as u64),
    })
}

fn parse<'a, T: Deserialize<'a>>(doc: &'a [u8]) -> Result<T, DecodeError> {
    serde_json::from_str(utf8(doc)?).map_err(|e| DecodeError::from_serde(doc, &e))
}

/// The envelope of one frame: the fast reader for the common transcription frame, the serde
/// reader for everything else (and for every frame the fast reader is unsure of).
fn envelope(text: &str, reading: Reading) -> Result<Envelope<'_>, DecodeError> {
    match fast::envelope(text, reading) {
        Some(env) => Ok(env),
        None => {
            serde_json::from_str(text).map_err(|e| DecodeError::from_serde(text.as_bytes(), &e))
        }
    }
}

fn parse_raw<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Result<T, DecodeError> {
    serde_json::from_str(raw.get()).map_err(|e| DecodeError::from_serde(raw.get().as_bytes(), &e))
}

/// One Notifications API frame.
pub(super) fn decode_notification(
    doc: &[u8],
    reading: Reading,
    out: &mut Vec<Event>,
) -> Result<(), DecodeError> {
    decode_envelope(envelope(utf8(doc)?, reading)?, reading, out)
}

/// One `EventBridge` event (`detail` holds the Notifications envelope). A bare envelope is accepted too.
pub(super) fn decode_eventbridge(
    doc: &[u8],
    reading: Reading,
    out: &mut Vec<Event>,
) -> Result<(), DecodeError> {
    let ev: EventBridgeEvent<'_> = parse(doc)?;
    match ev.detail {
        Some(detail) => decode_envelope(envelope(detail.get(), reading)?, reading, out),
        None => decode_notification(doc, reading, out),
    }
}

fn decode_envelope(
    env: Envelope<'_>,
    reading: Reading,
    out: &mut Vec<Event>,
) -> Result<(), DecodeError> {
    let Some(topic) = env.topic_name.0 else {
        return decode_socket_reply(&env, out);
    };
    let body = env.event_body;
    if topic == "channel.metadata" {
        let body: MessageBody<'_> = match body {
            Some(raw) => parse_raw(raw)?,
            None => MessageBody {
                message: LenientStr(None),
                system_topic_type: LenientStr(None),
                reason: LenientStr(None),
            },
        };
        let kind = match body.message.as_deref() {
            Some(m) if m.eq_ignore_ascii_case("WebSocket Heartbeat") => "heartbeat",
            Some(m) if m.eq_ignore_ascii_case("pong") => "pong",
            _ => "channel_metadata",
        };
        out.push(control(kind, Some(topic), body.message.into_owned(), None));
        return Ok(());
    }
    if let Some(rest) = topic.strip_prefix("v2.conversations.") {
        if let Some(id) = rest.strip_suffix(".transcription") {
            let body = match env.transcription {
                Some(body) => body,
                None => parse_raw(body.ok_or_else(|| DecodeError::missing("eventBody"))?)?,
            };
            return decode_transcription(&topic, id, body, reading, out);
        }
    }
    if is_discovery_topic(&topic) {
        let raw = body.ok_or_else(|| DecodeError::missing("eventBody"))?;
        return decode_discovery(&topic, raw, out);
    }
    if let Some(rest) = topic.strip_prefix("v2.system.") {
        let body: Option<MessageBody<'_>> = body.map(parse_raw).transpose()?;
        let kind = if rest.starts_with("socket_closing") {
            "socket_closing"
        } else if rest.starts_with("no_longer_subscribed") {
            "no_longer_subscribed"
        } else if rest.starts_with("token_revoked") {
            "token_revoked"
        } else {
            match body.as_ref().and_then(|b| b.system_topic_type.as_deref()) {
                Some("no_longer_subscribed") => "no_longer_subscribed",
                Some("token_revoked") => "token_revoked",
                Some("subscription_changed") => "subscription_changed",
                _ => "system",
            }
        };
        let message = body.and_then(|b| b.message.into_owned().or_else(|| b.reason.into_owned()));
        out.push(control(kind, Some(topic), message, None));
        return Ok(());
    }
    if topic == "v2.subscription.updated" {
        out.push(control("subscription_updated", Some(topic), None, None));
        return Ok(());
    }
    out.push(control("unknown_topic", Some(topic), None, None));
    Ok(())
}

fn control(
    kind: &str,
    topic: Option<Cow<'_, str>>,
    message: Option<String>,
    code: Option<String>,
) -> Event {
    Event::Control(ControlEvent {
        kind: kind.to_owned(),
        topic: topic.map(Cow::into_owned),
        message,
        code,
    })
}

/// `{"result":"200","status":"subscribed"}`, `{"result":"400","status":"error","message":…}`,
/// `{"result":"404","message":…}` (channel unknown: expired, evicted or token expired).
fn decode_socket_reply(env: &Envelope<'_>, out: &mut Vec<Event>) -> Result<(), DecodeError> {
    let code = env.result.as_deref();
    let status = env.status.as_deref();
    let kind = match (code, status) {
        (Some("404"), _) => "channel_not_found",
        (Some(c), _) if c.starts_with('2') => match status {
            Some("unsubscribed") => "unsubscribed",
            _ => "subscribed",
        },
        (Some(_), _) => "subscribe_error",
        (None, Some(_)) => "socket_reply",
        (None, None) => {
            return Err(DecodeError {
                reason: "invalid_document",
                message: "not a notification: no `topicName` and no `result`".to_owned(),
                offset: None,
            });
        }
    };
    let message = env.message.as_deref().or(status).map(str::to_owned);
    out.push(control(kind, None, message, code.map(str::to_owned)));
    Ok(())
}

fn is_discovery_topic(topic: &str) -> bool {
    (topic.starts_with("v2.routing.queues.") || topic.starts_with("v2.users."))
        && topic.ends_with(".conversations")
}

/// One entry of `words[]` or `decoratedWords[]`; what is missing is empty, 0 or NaN.
fn word_event(w: &Word<'_>) -> WordEvent {
    WordEvent {
        word: w.word.as_deref().map(Into::into).unwrap_or_default(),
        offset_ms: w.offset_ms.0.unwrap_or(0),
        duration_ms: w.duration_ms.0.unwrap_or(0),
        confidence: w.confidence.unwrap_or(f64::NAN),
    }
}

fn decode_transcription(
    topic: &str,
    topic_id: &str,
    body: TranscriptionBody<'_>,
    reading: Reading,
    out: &mut Vec<Event>,
) -> Result<(), DecodeError> {
    let conversation_id = body
        .conversation_id
        .into_owned()
        .unwrap_or_else(|| topic_id.to_owned());
    let communication_id = body.communication_id.into_owned();
    let event_time_ms = body.event_time.as_deref().and_then(parse_iso_ms);
    let mut organization_id = body.organization_id.into_owned();
    let session_start_ms = body.session_start_time_ms.0.unwrap_or(0);
    let start = out.len();
    let results = body.transcripts.unwrap_or_default();
    let last = results.len().saturating_sub(1);
    for (i, result) in results.into_iter().enumerate() {
        let Some(utterance_id) = result.utterance_id.into_owned() else {
            out.truncate(start);
            return Err(DecodeError::missing("transcripts[].utteranceId"));
        };
        // The array is legacy: Genesys staff say it never holds more than one element now.
        let alt = result.alternatives.and_then(|a| a.into_iter().next());
        let is_final = result.is_final.unwrap_or(true);
        // Both readers leave out what was not asked for, so they give the same events.
        let details = is_final || reading.interim_details;
        let engine = match (
            result.engine_provider.as_deref().filter(|_| details),
            result.engine_id.as_deref().filter(|_| details),
        ) {
            (Some(p), Some(i)) => {
                let mut both = String::with_capacity(p.len() + 1 + i.len());
                both.push_str(p);
                both.push('/');
                both.push_str(i);
                Some(both)
            }
            (Some(p), None) => Some(p.to_owned()),
            (None, Some(i)) => Some(i.to_owned()),
            (None, None) => None,
        };
        let mut ev = TranscriptEvent {
            conversation_id: conversation_id.clone(),
            communication_id: communication_id.clone(),
            utterance_id,
            is_final,
            channel: result
                .channel
                .into_owned()
                .unwrap_or_else(|| "UNKNOWN".to_owned()),
            text: String::new(),
            decorated_text: None,
            words: Vec::new(),
            decorated_words: Vec::new(),
            confidence: None,
            language: result.dialect.into_owned(),
            session_start_ms,
            offset_ms: 0,
            duration_ms: 0,
            event_time_ms,
            // Only the events carry it: the last one takes it.
            organization_id: if i == last {
                organization_id.take()
            } else {
                organization_id.clone()
            },
            engine,
            ..TranscriptEvent::default()
        };
        if let Some(alt) = alt {
            ev.text = alt.transcript.into_owned().unwrap_or_default();
            if details {
                ev.decorated_text = alt.decorated_transcript.into_owned();
                ev.words = alt.words.unwrap_or_default();
                ev.decorated_words = alt.decorated_words.unwrap_or_default();
            }
            ev.confidence = alt.confidence;
            ev.offset_ms = alt.offset_ms.0.unwrap_or(0);
            ev.duration_ms = alt.duration_ms.0.unwrap_or(0);
        }
        out.push(Event::Transcript(ev));
    }
    if let Some(status) = body.status {
        out.push(Event::Status(StatusEvent {
            topic: Some(topic.to_owned()),
            conversation_id,
            communication_id,
            status: status.status.as_deref().unwrap_or("UNKNOWN").into(),
            offset_ms: status.offset_ms.0,
            event_time_ms,
        }));
    }
    Ok(())
}

fn decode_discovery(topic: &str, raw: &RawValue, out: &mut Vec<Event>) -> Result<(), DecodeError> {
    let body: DiscoveryBody<'_> = parse_raw(raw)?;
    let conversation_id = body
        .id
        .into_owned()
        .ok_or_else(|| DecodeError::missing("eventBody.id"))?;
    let participants: Vec<Participant> = body
        .participants
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let calls = p.calls.unwrap_or_default();
            let calls_over = !calls.is_empty()
                && calls.iter().all(|c| {
                    matches!(c.state.as_deref(), Some(s) if s.eq_ignore_ascii_case("disconnected") || s.eq_ignore_ascii_case("terminated"))
                });
            Participant {
                id: p.id.into_owned().unwrap_or_default(),
                purpose: p.purpose.into_owned(),
                user_id: p.user_id.into_owned(),
                queue_id: p.queue_id.into_owned(),
                ended: p.end_time.0.is_some() || calls_over,
            }
        })
        .collect();
    let ended = !participants.is_empty() && participants.iter().all(|p| p.ended);
    out.push(Event::Conversation(ConversationEvent {
        topic: topic.to_owned(),
        conversation_id,
        ended,
        participants,
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Event, WireFormat, decode};

    const ENVELOPE: &str = include_str!("../../tests/data/transcription-envelope.json");

    #[test]
    fn real_envelope_decodes_every_field() {
        let events = decode(WireFormat::Notifications, ENVELOPE.as_bytes()).unwrap();
        let Event::Transcript(t) = &events[0] else {
            panic!("expected a transcript, got {events:?}")
        };
        assert_eq!(t.conversation_id, "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
        assert_eq!(
            t.communication_id.as_deref(),
            Some("5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d")
        );
        assert_eq!(t.session_start_ms, 1_774_055_376_019);
        assert_eq!(t.offset_ms, 32_300);
        assert_eq!(t.duration_ms, 3_400);
        assert_eq!(t.channel, "EXTERNAL");
        assert!(t.is_final);
        assert!(t.text.starts_with("thanks for calling"));
        assert!(!t.words.is_empty());
        assert_eq!(t.event_time_ms, Some(1_774_055_412_140));
        assert!(matches!(events.last(), Some(Event::Status(s)) if s.status == "SESSION_ONGOING"));
    }

    #[test]
    fn status_only_message_has_no_transcripts() {
        let doc = br#"{"topicName":"v2.conversations.c1.transcription","version":"2","eventBody":{"conversationId":"c1","sessionStartTimeMs":1774055376019,"status":{"offsetMs":0,"status":"SESSION_ONGOING"}},"metadata":{"CorrelationId":"x"}}"#;
        let events = decode(WireFormat::Notifications, doc).unwrap();
        assert_eq!(events.len(), 1);
        assert!(matches!(&events[0], Event::Status(s) if s.conversation_id == "c1"));
    }

    #[test]
    fn unknown_enum_values_and_extra_fields_are_kept() {
        let doc = br#"{"topicName":"v2.conversations.c1.transcription","eventBody":{"new":1,"transcripts":[{"utteranceId":"u","channel":"SOMETHING_NEW","alternatives":[{"transcript":"hi","x":[1]}]}],"status":{"status":"SESSION_PAUSED"}}}"#;
        let events = decode(WireFormat::Notifications, doc).unwrap();
        assert!(
            matches!(&events[0], Event::Transcript(t) if t.channel == "SOMETHING_NEW" && t.conversation_id == "c1")
        );
        assert!(matches!(&events[1], Event::Status(s) if s.status == "SESSION_PAUSED"));
    }

    #[test]
    fn socket_replies_and_system_topics() {
        let cases: &[(&[u8], &str)] = &[
            (br#"{"result":"200","status":"subscribed"}"#, "subscribed"),
            (br#"{"result":"400","status":"error","message":"bad topic"}"#, "subscribe_error"),
            (br#"{"result":"404","message":"channel not found"}"#, "channel_not_found"),
            (br#"{"topicName":"v2.system.socket_closing","eventBody":{"message":"closing"}}"#, "socket_closing"),
            (br#"{"topicName":"v2.system.token_revoked.abc","eventBody":{}}"#, "token_revoked"),
            (br#"{"topicName":"v2.system.no_longer_subscribed.abc","eventBody":{}}"#, "no_longer_subscribed"),
            (br#"{"topicName":"v2.analytics.something","eventBody":{}}"#, "unknown_topic"),
            (br#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#, "heartbeat"),
        ];
        for (doc, kind) in cases {
            let events = decode(WireFormat::Notifications, doc).unwrap();
            assert!(
                matches!(&events[0], Event::Control(c) if c.kind == *kind),
                "{kind}: {events:?}"
            );
        }
    }

    #[test]
    fn eventbridge_detail() {
        let doc = format!(
            r#"{{"version":"0","detail-type":"v2.conversations.{{id}}.transcription","detail":{ENVELOPE}}}"#
        );
        let events = decode(WireFormat::EventBridge, doc.as_bytes()).unwrap();
        assert!(matches!(&events[0], Event::Transcript(_)));
    }

    #[test]
    fn discovery_start_and_end() {
        let start = br#"{"topicName":"v2.routing.queues.q1.conversations","eventBody":{"id":"c9","participants":[{"id":"p1","purpose":"customer","calls":[{"state":"connected"}]},{"id":"p2","purpose":"agent","userId":"u1"}]}}"#;
        let events = decode(WireFormat::Notifications, start).unwrap();
        assert!(
            matches!(&events[0], Event::Conversation(c) if c.conversation_id == "c9" && !c.ended && c.participants.len() == 2)
        );
        let end = br#"{"topicName":"v2.users.u1.conversations","eventBody":{"id":"c9","participants":[{"id":"p1","endTime":"2026-03-21T01:10:12.140Z"},{"id":"p2","calls":[{"state":"disconnected"}]}]}}"#;
        let events = decode(WireFormat::Notifications, end).unwrap();
        assert!(matches!(&events[0], Event::Conversation(c) if c.ended));
    }

    #[test]
    fn wrong_types_are_a_decode_error_not_a_panic() {
        let doc = br#"{"topicName":"v2.conversations.c1.transcription","eventBody":{"transcripts":"nope"}}"#;
        let err = decode(WireFormat::Notifications, doc).unwrap_err();
        assert_eq!(err.reason, "invalid_document");
        let err = decode(WireFormat::Notifications, b"{\"topicName\": tru}").unwrap_err();
        assert_eq!(err.reason, "invalid_json");
        assert_eq!(err.offset, Some(17)); // the `}` after `tru`
    }
}
