//! The seed tutorials' wire formats (DESIGN §5), decoded into the same events as the real API.
//!
//! | format | seed | document | events |
//! |---|---|---|---|
//! | `interaction` | 000 | `{type:"transcription", interactionId, mediaTimestamp, text, confidence, final, mediaType}`; `subscribed`/`error` replies | `Transcript` (implicit ids), `Control` |
//! | `media` | 001 | an array of (or one) `{eventType, eventSequence, mediaSessionId, transcript, isPartial, timestamp}` | `Transcript` with `sequence` |
//! | `segments` | 002 | `{type, conversationId, participantId, language, segments[], isPartial, interruptionDetected, audioQuality, timestamp}` | `Transcript` with audio quality |
//! | `fragments` | 003 | `{utteranceId, speaker, text, confidence, startTime, endTime, isFinal}` | `Transcript` pieces (the engine concatenates) |
//! | `conversation-events` | 004 | `{conversationId, type, data, timestamp}`, type `transcript`, `statusChange`, `metadata`, `participants` | `Transcript`, `Status`, `Metadata`, `Participants` |
//!
//! Times: ISO-8601 strings or epoch-ms numbers are both accepted wherever a seed writes a
//! timestamp. Seeds 000 and 001 only say *when* a result was produced, so the result's start and end
//! are that instant. Seed 002's segment times are seconds relative to an unknown origin; the event
//! `timestamp` is taken as the end of the last segment, which places the segments on the epoch axis.
//!
//! ```
//! use gcstream_core::decode::{decode, Event, WireFormat};
//! let doc = br#"[{"eventType":"transcription","eventSequence":7,"mediaSessionId":"m1","transcript":"hi","isPartial":false,"timestamp":"2024-06-15T10:30:00.000Z"}]"#;
//! let events = decode(WireFormat::Media, doc).unwrap();
//! assert!(matches!(&events[0], Event::Transcript(t) if t.sequence == Some(7) && t.implicit_id));
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    AudioQuality, ControlEvent, DecodeError, Event, LenientI64, LenientStr, MetadataEvent,
    ParticipantsEvent, StatusEvent, TranscriptEvent, WordEvent,
};
use crate::record::Participant;
use crate::timefmt::parse_iso_ms;

fn parse<'a, T: Deserialize<'a>>(doc: &'a [u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(doc).map_err(|e| DecodeError::from_serde(doc, &e))
}

fn parse_raw<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Result<T, DecodeError> {
    serde_json::from_str(raw.get()).map_err(|e| DecodeError::from_serde(raw.get().as_bytes(), &e))
}

/// An ISO-8601 timestamp or an epoch-ms number.
fn time_ms(v: &LenientStr<'_>) -> Option<i64> {
    let s = v.as_deref()?;
    parse_iso_ms(s).or_else(|| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|f| f.round() as i64)
    })
}

/// A number of seconds, as milliseconds.
fn secs_ms(v: Option<f64>) -> Option<i64> {
    v.filter(|f| f.is_finite() && f.abs() < 9.0e12)
        .map(|f| (f * 1000.0).round() as i64)
}

fn control(kind: &str, message: Option<String>, code: Option<String>) -> Event {
    Event::Control(ControlEvent {
        kind: kind.to_owned(),
        topic: None,
        message,
        code,
    })
}

/// A seed handshake reply or an unknown message type, as a control event.
fn reply(kind: &str, message: LenientStr<'_>) -> Event {
    match kind {
        "subscribed" => control("subscribed", message.into_owned(), None),
        "unsubscribed" => control("unsubscribed", message.into_owned(), None),
        "error" => control("subscribe_error", message.into_owned(), None),
        "heartbeat" | "ping" | "pong" => control(
            if kind == "pong" { "pong" } else { "heartbeat" },
            None,
            None,
        ),
        other => control("unknown_type", Some(other.to_owned()), None),
    }
}

// ---------------------------------------------------------------- seed 000: interaction

#[derive(Deserialize)]
struct InteractionMsg<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: LenientStr<'a>,
    #[serde(rename = "interactionId", borrow, default)]
    interaction_id: LenientStr<'a>,
    #[serde(rename = "mediaTimestamp", borrow, default)]
    media_timestamp: LenientStr<'a>,
    #[serde(borrow, default)]
    text: LenientStr<'a>,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(rename = "final", default)]
    is_final: Option<bool>,
    #[serde(rename = "mediaType", borrow, default)]
    media_type: LenientStr<'a>,
    #[serde(borrow, default)]
    language: LenientStr<'a>,
    #[serde(borrow, default)]
    channel: LenientStr<'a>,
    #[serde(borrow, default)]
    message: LenientStr<'a>,
}

pub(super) fn decode_interaction(doc: &[u8], out: &mut Vec<Event>) -> Result<(), DecodeError> {
    let m: InteractionMsg<'_> = parse(doc)?;
    let kind = m.kind.as_deref().unwrap_or("transcription");
    if kind != "transcription" {
        out.push(reply(kind, m.message));
        return Ok(());
    }
    let conversation_id = m
        .interaction_id
        .into_owned()
        .ok_or_else(|| DecodeError::missing("interactionId"))?;
    let at = time_ms(&m.media_timestamp);
    out.push(Event::Transcript(TranscriptEvent {
        conversation_id,
        utterance_id: m.media_timestamp.into_owned().unwrap_or_default(),
        implicit_id: true,
        is_final: m.is_final.unwrap_or(true),
        channel: m
            .channel
            .into_owned()
            .unwrap_or_else(|| "UNKNOWN".to_owned()),
        text: m.text.into_owned().unwrap_or_default(),
        confidence: m.confidence,
        language: m.language.into_owned(),
        session_start_ms: at.unwrap_or(0),
        event_time_ms: at,
        media_type: m.media_type.into_owned(),
        ..TranscriptEvent::default()
    }));
    Ok(())
}

// ---------------------------------------------------------------- seed 001: media

#[derive(Deserialize)]
struct MediaMsg<'a> {
    #[serde(rename = "eventType", borrow, default)]
    event_type: LenientStr<'a>,
    #[serde(rename = "eventSequence", default)]
    event_sequence: LenientI64,
    #[serde(rename = "mediaSessionId", borrow, default)]
    media_session_id: LenientStr<'a>,
    #[serde(borrow, default)]
    transcript: LenientStr<'a>,
    #[serde(rename = "isPartial", default)]
    is_partial: Option<bool>,
    #[serde(borrow, default)]
    timestamp: LenientStr<'a>,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(borrow, default)]
    codec: LenientStr<'a>,
    #[serde(rename = "mediaType", borrow, default)]
    media_type: LenientStr<'a>,
    #[serde(borrow, default)]
    channel: LenientStr<'a>,
    #[serde(borrow, default)]
    language: LenientStr<'a>,
    #[serde(borrow, default)]
    message: LenientStr<'a>,
}

pub(super) fn decode_media(doc: &[u8], out: &mut Vec<Event>) -> Result<(), DecodeError> {
    // Peek instead of an untagged enum: serde's untagged buffering would lose borrowed strings.
    let first = doc.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let messages: Vec<MediaMsg<'_>> = if first == Some(b'[') {
        parse(doc)?
    } else {
        vec![parse(doc)?]
    };
    let start = out.len();
    for m in messages {
        let kind = m.event_type.as_deref().unwrap_or("transcription");
        if kind != "transcription" {
            out.push(reply(kind, m.message));
            continue;
        }
        let Some(conversation_id) = m.media_session_id.into_owned() else {
            out.truncate(start);
            return Err(DecodeError::missing("mediaSessionId"));
        };
        let at = time_ms(&m.timestamp);
        let sequence = m.event_sequence.0;
        // A restarted stream reuses sequence numbers, so the key needs the timestamp too;
        // without one it is left empty, for the engine to give the result a key of its own.
        let utterance_id = match (sequence, m.timestamp.as_deref()) {
            (Some(n), Some(ts)) => format!("{n}@{ts}"),
            (None, Some(ts)) => ts.to_owned(),
            (_, None) => String::new(),
        };
        out.push(Event::Transcript(TranscriptEvent {
            conversation_id,
            utterance_id,
            implicit_id: true,
            sequence,
            is_final: !m.is_partial.unwrap_or(false),
            channel: m
                .channel
                .into_owned()
                .unwrap_or_else(|| "UNKNOWN".to_owned()),
            text: m.transcript.into_owned().unwrap_or_default(),
            confidence: m.confidence,
            language: m.language.into_owned(),
            session_start_ms: at.unwrap_or(0),
            event_time_ms: at,
            media_type: m.codec.into_owned().or_else(|| m.media_type.into_owned()),
            ..TranscriptEvent::default()
        }));
    }
    Ok(())
}

// ---------------------------------------------------------------- seed 002: segments

#[derive(Deserialize)]
struct SegmentsMsg<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: LenientStr<'a>,
    #[serde(rename = "conversationId", borrow, default)]
    conversation_id: LenientStr<'a>,
    #[serde(rename = "participantId", borrow, default)]
    participant_id: LenientStr<'a>,
    #[serde(rename = "utteranceId", borrow, default)]
    utterance_id: LenientStr<'a>,
    #[serde(borrow, default)]
    language: LenientStr<'a>,
    #[serde(borrow, default)]
    segments: Option<Vec<Segment<'a>>>,
    #[serde(rename = "isPartial", default)]
    is_partial: Option<bool>,
    #[serde(rename = "interruptionDetected", default)]
    interruption_detected: Option<bool>,
    #[serde(rename = "audioQuality", borrow, default)]
    audio_quality: Option<AudioQualityMsg<'a>>,
    #[serde(borrow, default)]
    timestamp: LenientStr<'a>,
    #[serde(borrow, default)]
    message: LenientStr<'a>,
}

#[derive(Deserialize)]
struct Segment<'a> {
    #[serde(borrow, default)]
    text: LenientStr<'a>,
    #[serde(rename = "startTime", default)]
    start_time: Option<f64>,
    #[serde(rename = "endTime", default)]
    end_time: Option<f64>,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(borrow, default)]
    words: Option<Vec<SegmentWord<'a>>>,
}

#[derive(Deserialize)]
struct SegmentWord<'a> {
    #[serde(borrow, default)]
    word: LenientStr<'a>,
    #[serde(borrow, default)]
    text: LenientStr<'a>,
    #[serde(rename = "startTime", default)]
    start_time: Option<f64>,
    #[serde(rename = "endTime", default)]
    end_time: Option<f64>,
    #[serde(default)]
    confidence: Option<f64>,
}

#[derive(Deserialize)]
struct AudioQualityMsg<'a> {
    #[serde(rename = "snrDb", default)]
    snr_db: Option<f64>,
    #[serde(rename = "jitterMs", default)]
    jitter_ms: Option<f64>,
    #[serde(rename = "packetLossPercent", default)]
    packet_loss_percent: Option<f64>,
    #[serde(rename = "detectedLanguage", borrow, default)]
    detected_language: LenientStr<'a>,
}

pub(super) fn decode_segments(doc: &[u8], out: &mut Vec<Event>) -> Result<(), DecodeError> {
    let m: SegmentsMsg<'_> = parse(doc)?;
    let kind = m.kind.as_deref().unwrap_or("transcription");
    if !matches!(kind, "transcription" | "transcript" | "partial" | "final") {
        out.push(reply(kind, m.message));
        return Ok(());
    }
    let conversation_id = m
        .conversation_id
        .into_owned()
        .ok_or_else(|| DecodeError::missing("conversationId"))?;
    let at = time_ms(&m.timestamp);
    let is_final = !m.is_partial.unwrap_or(false);
    let segments = m.segments.unwrap_or_default();
    let start_s = segments
        .iter()
        .filter_map(|s| s.start_time)
        .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.min(v))));
    let end_s = segments
        .iter()
        .filter_map(|s| s.end_time)
        .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))));
    let offset_ms = secs_ms(start_s).unwrap_or(0);
    let end_rel = secs_ms(end_s).unwrap_or(offset_ms).max(offset_ms);
    // The event timestamp marks the end of the last segment (module docs).
    let session_start_ms = at.map_or(0, |t| t - end_rel);
    let confidences: Vec<f64> = segments.iter().filter_map(|s| s.confidence).collect();
    // Seed 002: an interim result is as sure as its weakest segment; a final one, their mean.
    let confidence = if confidences.is_empty() {
        None
    } else if is_final {
        Some(confidences.iter().sum::<f64>() / confidences.len() as f64)
    } else {
        Some(confidences.iter().copied().fold(f64::INFINITY, f64::min))
    };
    let mut text = String::new();
    let mut words = Vec::new();
    for s in segments {
        if let Some(t) = s.text.as_deref() {
            if !text.is_empty() && !t.is_empty() {
                text.push(' ');
            }
            text.push_str(t);
        }
        for w in s.words.unwrap_or_default() {
            let start = secs_ms(w.start_time).unwrap_or(0);
            words.push(WordEvent {
                word: w
                    .word
                    .as_deref()
                    .or(w.text.as_deref())
                    .map(Into::into)
                    .unwrap_or_default(),
                offset_ms: start,
                duration_ms: secs_ms(w.end_time).map_or(0, |e| (e - start).max(0)),
                confidence: w.confidence.unwrap_or(f64::NAN),
            });
        }
    }
    let (utterance_id, implicit_id) = match m.utterance_id.into_owned() {
        Some(id) => (id, false),
        None => (m.timestamp.into_owned().unwrap_or_default(), true),
    };
    out.push(Event::Transcript(TranscriptEvent {
        conversation_id,
        utterance_id,
        implicit_id,
        is_final,
        channel: m
            .participant_id
            .into_owned()
            .unwrap_or_else(|| "UNKNOWN".to_owned()),
        text,
        words,
        confidence,
        language: m.language.into_owned(),
        session_start_ms,
        offset_ms,
        duration_ms: end_rel - offset_ms,
        event_time_ms: at,
        interrupted: m.interruption_detected.unwrap_or(false),
        audio: m.audio_quality.map(|a| AudioQuality {
            snr_db: a.snr_db,
            jitter_ms: a.jitter_ms,
            packet_loss_pct: a.packet_loss_percent,
            detected_language: a.detected_language.into_owned(),
        }),
        ..TranscriptEvent::default()
    }));
    Ok(())
}

// ---------------------------------------------------------------- seed 003: fragments

#[derive(Deserialize)]
struct FragmentMsg<'a> {
    #[serde(rename = "utteranceId", borrow, default)]
    utterance_id: LenientStr<'a>,
    #[serde(rename = "conversationId", borrow, default)]
    conversation_id: LenientStr<'a>,
    #[serde(borrow, default)]
    speaker: LenientStr<'a>,
    #[serde(borrow, default)]
    text: LenientStr<'a>,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(rename = "startTime", borrow, default)]
    start_time: LenientStr<'a>,
    #[serde(rename = "endTime", borrow, default)]
    end_time: LenientStr<'a>,
    #[serde(rename = "isFinal", default)]
    is_final: Option<bool>,
    #[serde(borrow, default)]
    language: LenientStr<'a>,
}

pub(super) fn decode_fragments(doc: &[u8], out: &mut Vec<Event>) -> Result<(), DecodeError> {
    let m: FragmentMsg<'_> = parse(doc)?;
    let utterance_id = m
        .utterance_id
        .into_owned()
        .ok_or_else(|| DecodeError::missing("utteranceId"))?;
    let start = time_ms(&m.start_time);
    let end = time_ms(&m.end_time);
    let offset_ms = start.or(end).unwrap_or(0);
    out.push(Event::Transcript(TranscriptEvent {
        // Seed 003 names the conversation in the connection URL, not in the messages.
        conversation_id: m
            .conversation_id
            .into_owned()
            .unwrap_or_else(|| "unknown".to_owned()),
        utterance_id,
        // Seed 003: a piece without the flag is not final.
        is_final: m.is_final.unwrap_or(false),
        channel: m
            .speaker
            .into_owned()
            .unwrap_or_else(|| "unknown".to_owned()),
        text: m.text.into_owned().unwrap_or_default(),
        confidence: m.confidence,
        language: m.language.into_owned(),
        offset_ms,
        duration_ms: end.map_or(0, |e| (e - offset_ms).max(0)),
        ..TranscriptEvent::default()
    }));
    Ok(())
}

// ---------------------------------------------------------------- seed 004: conversation events

#[derive(Deserialize)]
struct ConversationMsg<'a> {
    #[serde(rename = "conversationId", borrow, default)]
    conversation_id: LenientStr<'a>,
    #[serde(rename = "type", borrow, default)]
    kind: LenientStr<'a>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    timestamp: LenientStr<'a>,
}

#[derive(Deserialize)]
struct TranscriptData<'a> {
    #[serde(rename = "utteranceId", borrow, default)]
    utterance_id: LenientStr<'a>,
    #[serde(rename = "communicationId", borrow, default)]
    communication_id: LenientStr<'a>,
    #[serde(borrow, default)]
    channel: LenientStr<'a>,
    #[serde(rename = "participantId", borrow, default)]
    participant_id: LenientStr<'a>,
    #[serde(borrow, default)]
    speaker: LenientStr<'a>,
    #[serde(borrow, default)]
    text: LenientStr<'a>,
    #[serde(borrow, default)]
    transcript: LenientStr<'a>,
    #[serde(rename = "isFinal", default)]
    is_final: Option<bool>,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(rename = "sessionStartTimeMs", default)]
    session_start_time_ms: LenientI64,
    #[serde(rename = "offsetMs", default)]
    offset_ms: LenientI64,
    #[serde(rename = "durationMs", default)]
    duration_ms: LenientI64,
    #[serde(borrow, default)]
    language: LenientStr<'a>,
}

#[derive(Deserialize)]
struct StatusData<'a> {
    #[serde(borrow, default)]
    status: LenientStr<'a>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ParticipantData {
    Id(String),
    Full {
        #[serde(default)]
        id: Option<String>,
        #[serde(rename = "participantId", default)]
        participant_id: Option<String>,
        #[serde(default)]
        purpose: Option<String>,
        #[serde(rename = "userId", default)]
        user_id: Option<String>,
        #[serde(rename = "queueId", default)]
        queue_id: Option<String>,
        #[serde(rename = "endTime", default)]
        end_time: Option<serde_json::Value>,
        #[serde(default)]
        ended: Option<bool>,
    },
}

pub(super) fn decode_conversation_events(
    doc: &[u8],
    out: &mut Vec<Event>,
) -> Result<(), DecodeError> {
    let m: ConversationMsg<'_> = parse(doc)?;
    let conversation_id = m
        .conversation_id
        .into_owned()
        .ok_or_else(|| DecodeError::missing("conversationId"))?;
    let kind = m
        .kind
        .into_owned()
        .ok_or_else(|| DecodeError::missing("type"))?;
    let at = time_ms(&m.timestamp);
    match kind.as_str() {
        "transcript" => {
            let raw = m.data.ok_or_else(|| DecodeError::missing("data"))?;
            let d: TranscriptData<'_> = parse_raw(raw)?;
            let offset_ms = d.offset_ms.0.unwrap_or(0);
            let duration_ms = d.duration_ms.0.unwrap_or(0);
            let session_start_ms = d
                .session_start_time_ms
                .0
                .or_else(|| at.map(|t| t - offset_ms - duration_ms))
                .unwrap_or(0);
            let (utterance_id, implicit_id) = match d.utterance_id.into_owned() {
                Some(id) => (id, false),
                None => (m.timestamp.into_owned().unwrap_or_default(), true),
            };
            out.push(Event::Transcript(TranscriptEvent {
                conversation_id,
                communication_id: d.communication_id.into_owned(),
                utterance_id,
                implicit_id,
                is_final: d.is_final.unwrap_or(true),
                channel: d
                    .channel
                    .into_owned()
                    .or_else(|| d.participant_id.into_owned())
                    .or_else(|| d.speaker.into_owned())
                    .unwrap_or_else(|| "UNKNOWN".to_owned()),
                text: d
                    .text
                    .into_owned()
                    .or_else(|| d.transcript.into_owned())
                    .unwrap_or_default(),
                confidence: d.confidence,
                language: d.language.into_owned(),
                session_start_ms,
                offset_ms,
                duration_ms,
                event_time_ms: at,
                ..TranscriptEvent::default()
            }));
        }
        "statusChange" | "status" => {
            let d: StatusData<'_> = match m.data {
                Some(raw) => parse_raw(raw)?,
                None => StatusData {
                    status: LenientStr(None),
                },
            };
            out.push(Event::Status(StatusEvent {
                topic: None,
                conversation_id,
                communication_id: None,
                status: d
                    .status
                    .as_deref()
                    .map(Into::into)
                    .ok_or_else(|| DecodeError::missing("data.status"))?,
                offset_ms: None,
                event_time_ms: at,
            }));
        }
        "metadata" => {
            let entries: BTreeMap<String, &RawValue> = match m.data {
                Some(raw) => parse_raw(raw)?,
                None => BTreeMap::new(),
            };
            let entries = entries
                .into_iter()
                .map(|(k, v)| {
                    let text = serde_json::from_str::<String>(v.get())
                        .unwrap_or_else(|_| v.get().to_owned());
                    (k, text)
                })
                .collect();
            out.push(Event::Metadata(MetadataEvent {
                conversation_id,
                entries,
            }));
        }
        "participants" => {
            let list: Vec<ParticipantData> = match m.data {
                Some(raw) => parse_raw(raw)?,
                None => Vec::new(),
            };
            let participants = list
                .into_iter()
                .map(|p| match p {
                    ParticipantData::Id(id) => Participant {
                        id,
                        purpose: None,
                        user_id: None,
                        queue_id: None,
                        ended: false,
                    },
                    ParticipantData::Full {
                        id,
                        participant_id,
                        purpose,
                        user_id,
                        queue_id,
                        end_time,
                        ended,
                    } => Participant {
                        id: id.or(participant_id).unwrap_or_default(),
                        purpose,
                        user_id,
                        queue_id,
                        ended: ended.unwrap_or(false) || end_time.is_some_and(|v| !v.is_null()),
                    },
                })
                .collect();
            out.push(Event::Participants(ParticipantsEvent {
                conversation_id,
                participants,
            }));
        }
        other => out.push(control("unknown_type", Some(other.to_owned()), None)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Event, WireFormat, decode};

    #[test]
    fn interaction_handshake_and_transcription() {
        let ev = decode(WireFormat::Interaction, br#"{"type":"subscribed"}"#).unwrap();
        assert!(matches!(&ev[0], Event::Control(c) if c.kind == "subscribed"));
        let doc = br#"{"type":"transcription","interactionId":"i1","mediaTimestamp":"2024-06-15T10:30:00.500Z","text":"hello","confidence":0.9,"final":false,"mediaType":"audio/ulaw"}"#;
        let ev = decode(WireFormat::Interaction, doc).unwrap();
        let Event::Transcript(t) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert!(!t.is_final && t.implicit_id);
        assert_eq!(t.media_type.as_deref(), Some("audio/ulaw"));
        assert_eq!(t.session_start_ms, 1_718_447_400_500);
    }

    #[test]
    fn media_arrays_and_single_messages() {
        let doc = br#"[{"eventType":"transcription","eventSequence":1,"mediaSessionId":"m","transcript":"a","isPartial":true,"timestamp":1000},{"eventType":"transcription","eventSequence":2,"mediaSessionId":"m","transcript":"a b","isPartial":false,"timestamp":2000}]"#;
        let ev = decode(WireFormat::Media, doc).unwrap();
        assert_eq!(ev.len(), 2);
        assert!(
            matches!(&ev[1], Event::Transcript(t) if t.is_final && t.sequence == Some(2) && t.session_start_ms == 2000)
        );
        let one = br#"{"eventType":"transcription","eventSequence":3,"mediaSessionId":"m","transcript":"c"}"#;
        assert_eq!(decode(WireFormat::Media, one).unwrap().len(), 1);
    }

    #[test]
    fn segments_with_audio_quality() {
        let doc = br#"{"type":"transcription","conversationId":"c","participantId":"p","language":"en-us","segments":[{"text":"hi","startTime":1.0,"endTime":1.5,"confidence":0.8},{"text":"there","startTime":1.5,"endTime":2.0,"confidence":0.6}],"isPartial":false,"interruptionDetected":true,"audioQuality":{"snrDb":10,"jitterMs":60,"packetLossPercent":3,"detectedLanguage":"en-US"},"timestamp":"1970-01-01T00:00:10Z"}"#;
        let ev = decode(WireFormat::Segments, doc).unwrap();
        let Event::Transcript(t) = &ev[0] else {
            panic!()
        };
        assert_eq!(t.text, "hi there");
        assert!((t.confidence.unwrap() - 0.7).abs() < 1e-9);
        assert_eq!(t.session_start_ms + t.offset_ms + t.duration_ms, 10_000);
        assert!(t.interrupted);
        assert_eq!(t.audio.as_ref().unwrap().snr_db, Some(10.0));
    }

    #[test]
    fn fragments_need_an_utterance_id() {
        let err = decode(WireFormat::Fragments, br#"{"text":"x"}"#).unwrap_err();
        assert_eq!(err.reason, "missing_field");
        let ev = decode(WireFormat::Fragments, br#"{"utteranceId":"u","speaker":"agent","text":"he","startTime":"1970-01-01T00:00:01Z"}"#).unwrap();
        assert!(
            matches!(&ev[0], Event::Transcript(t) if !t.is_final && t.offset_ms == 1000 && t.channel == "agent")
        );
    }

    #[test]
    fn conversation_events_each_type() {
        let cases: &[&[u8]] = &[
            br#"{"conversationId":"c","type":"statusChange","data":{"status":"ended"}}"#,
            br#"{"conversationId":"c","type":"metadata","data":{"queue":"sales","priority":3}}"#,
            br#"{"conversationId":"c","type":"participants","data":[{"id":"p1","purpose":"agent"},"p2"]}"#,
            br#"{"conversationId":"c","type":"transcript","data":{"utteranceId":"u","text":"hi","offsetMs":5,"durationMs":10},"timestamp":1000}"#,
        ];
        let kinds: Vec<Event> = cases
            .iter()
            .map(|d| decode(WireFormat::ConversationEvents, d).unwrap().remove(0))
            .collect();
        assert!(matches!(&kinds[0], Event::Status(s) if s.status == "ended"));
        assert!(
            matches!(&kinds[1], Event::Metadata(m) if m.entries == vec![("priority".into(), "3".into()), ("queue".into(), "sales".into())])
        );
        assert!(
            matches!(&kinds[2], Event::Participants(p) if p.participants.len() == 2 && p.participants[1].id == "p2")
        );
        assert!(
            matches!(&kinds[3], Event::Transcript(t) if t.session_start_ms == 985 && !t.implicit_id)
        );
    }
}
