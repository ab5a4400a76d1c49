//! Documents → typed events, per wire format.
//!
//! A decoder sees one complete JSON document and turns it into zero or more [`Event`]s. It is
//! tolerant: unknown topics and extra fields are ignored, unknown enum values are kept as strings,
//! `null` is the same as absent, and numbers may arrive as integers or floats. A document that is
//! valid JSON but not usable becomes a [`DecodeError`], which the engine turns into a `Rejected`
//! record.
//!
//! ```
//! use gcstream_core::decode::{decode, Event, WireFormat};
//! let doc = br#"{"topicName":"channel.metadata","eventBody":{"message":"pong"}}"#;
//! let events = decode(WireFormat::Notifications, doc).unwrap();
//! assert!(matches!(&events[0], Event::Control(c) if c.kind == "pong"));
//! ```

mod lenient;
mod notifications;
mod seeds;

use std::fmt;
use std::str::FromStr;

pub use lenient::{LenientI64, LenientStr};

/// The shape of the documents on a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// Genesys Cloud Notifications API over WebSocket: `topicName`/`version`/`eventBody`/`metadata`.
    Notifications,
    /// Genesys Cloud via Amazon `EventBridge`: the same envelope inside `detail`.
    EventBridge,
    /// Seed 000: `{type:"transcription", interactionId, mediaTimestamp, text, confidence, final, mediaType}`.
    Interaction,
    /// Seed 001: arrays of `{eventType:"transcription", eventSequence, mediaSessionId, transcript, isPartial, timestamp}`.
    Media,
    /// Seed 002: `{type, conversationId, participantId, language, segments[], isPartial, interruptionDetected, audioQuality, timestamp}`.
    Segments,
    /// Seed 003: `{utteranceId, speaker, text, confidence, startTime, endTime, isFinal}` pieces to concatenate.
    Fragments,
    /// Seed 004: `{conversationId, type: transcript|statusChange|metadata|participants, data, timestamp}`.
    ConversationEvents,
}

impl WireFormat {
    /// The name used in configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notifications => "notifications",
            Self::EventBridge => "eventbridge",
            Self::Interaction => "interaction",
            Self::Media => "media",
            Self::Segments => "segments",
            Self::Fragments => "fragments",
            Self::ConversationEvents => "conversation-events",
        }
    }

    /// Every supported format, for error messages and `--help`.
    pub const ALL: &'static [WireFormat] = &[
        Self::Notifications,
        Self::EventBridge,
        Self::Interaction,
        Self::Media,
        Self::Segments,
        Self::Fragments,
        Self::ConversationEvents,
    ];

    /// The framing mode a stream of this format needs when the caller does not choose one:
    /// `conversation-events` (seed 004) splits documents across frames, so it needs `stream`;
    /// every other format sends one document per WebSocket message.
    pub fn default_framing_mode(self) -> crate::framing::Mode {
        match self {
            Self::ConversationEvents => crate::framing::Mode::Stream,
            _ => crate::framing::Mode::Message,
        }
    }
}

impl FromStr for WireFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "unknown wire format {s:?}; expected one of: {}",
                    names.join(", ")
                )
            })
    }
}

/// One timed token from `words[]` or `decoratedWords[]`.
#[derive(Clone, Debug, PartialEq)]
pub struct WordEvent {
    pub word: crate::record::Token,
    pub offset_ms: i64,
    pub duration_ms: i64,
    pub confidence: f64,
}

/// Audio-quality measurements attached to a transcript (seed 002 `audioQuality`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AudioQuality {
    pub snr_db: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub packet_loss_pct: Option<f64>,
    /// The language the engine detected, compared (case-insensitively) with the declared one.
    pub detected_language: Option<String>,
}

/// One transcript result (an utterance, final or interim) as the source sent it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TranscriptEvent {
    pub conversation_id: String,
    pub communication_id: Option<String>,
    pub utterance_id: String,
    pub is_final: bool,
    pub channel: String,
    pub text: String,
    pub decorated_text: Option<String>,
    pub words: Vec<WordEvent>,
    pub decorated_words: Vec<WordEvent>,
    /// As sent; the engine clamps and flags values outside [0, 1].
    pub confidence: Option<f64>,
    pub language: Option<String>,
    /// Epoch ms the offsets are relative to (`sessionStartTimeMs`).
    pub session_start_ms: i64,
    pub offset_ms: i64,
    pub duration_ms: i64,
    pub event_time_ms: Option<i64>,
    pub organization_id: Option<String>,
    pub engine: Option<String>,
    /// The source has no utterance ids (seeds 000 and 001): interim results belong to the one open
    /// utterance of their (conversation, communication, channel), and `utterance_id` is a key derived
    /// from the source (a timestamp or sequence number) used only to recognise a repeated final;
    /// empty when the source gave neither, and the engine then gives the result a key of its own.
    pub implicit_id: bool,
    /// The source's event sequence number (seed 001 `eventSequence`), per conversation.
    pub sequence: Option<i64>,
    /// The source detected that this speaker was interrupted (seed 002 `interruptionDetected`).
    pub interrupted: bool,
    pub audio: Option<AudioQuality>,
    /// Codec or media type, checked against the allowlist (seeds 000 and 001).
    pub media_type: Option<String>,
}

/// Conversation metadata (seed 004 `metadata`): merged key by key into the conversation state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataEvent {
    pub conversation_id: String,
    /// Values are kept as their JSON text when they are not strings.
    pub entries: Vec<(String, String)>,
}

/// The participants of a conversation (seed 004 `participants`): replaces the known list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantsEvent {
    pub conversation_id: String,
    pub participants: Vec<crate::record::Participant>,
}

/// Transcription status of a conversation (status-only messages and the status of every message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEvent {
    pub topic: Option<String>,
    pub conversation_id: String,
    pub communication_id: Option<String>,
    /// A short word (`SESSION_ONGOING`), kept inline: nearly every transcription frame carries
    /// one, and most repeat the last.
    pub status: crate::record::Token,
    pub offset_ms: Option<i64>,
    pub event_time_ms: Option<i64>,
}

/// A conversation announced on a discovery topic (queue or user conversations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationEvent {
    pub topic: String,
    pub conversation_id: String,
    /// True when every participant has ended (or the calls are disconnected/terminated).
    pub ended: bool,
    pub participants: Vec<crate::record::Participant>,
}

/// A protocol-level message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlEvent {
    pub kind: String,
    pub topic: Option<String>,
    pub message: Option<String>,
    pub code: Option<String>,
}

/// What a decoder produces.
// Transcripts dominate the stream; boxing them would cost an allocation per event for nothing,
// since events only pass through a reused buffer.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Transcript(TranscriptEvent),
    Status(StatusEvent),
    Conversation(ConversationEvent),
    Control(ControlEvent),
    Metadata(MetadataEvent),
    Participants(ParticipantsEvent),
}

/// A document that is valid JSON but cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Stable `snake_case` reason: `invalid_json`, `invalid_document`, `missing_field`.
    pub reason: &'static str,
    pub message: String,
    /// Byte offset inside the document where known.
    pub offset: Option<u64>,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    pub(crate) fn from_serde(doc: &[u8], err: &serde_json::Error) -> Self {
        let reason = match err.classify() {
            serde_json::error::Category::Data => "invalid_document",
            _ => "invalid_json",
        };
        Self {
            reason,
            message: err.to_string(),
            offset: Some(line_col_to_offset(doc, err.line(), err.column())),
        }
    }

    pub(crate) fn missing(field: &str) -> Self {
        Self {
            reason: "missing_field",
            message: format!("missing field `{field}`"),
            offset: None,
        }
    }
}

/// `serde_json` reports 1-based line and column; turn them back into a byte offset.
fn line_col_to_offset(doc: &[u8], line: usize, column: usize) -> u64 {
    let mut offset = 0usize;
    for _ in 1..line {
        match memchr_newline(&doc[offset..]) {
            Some(i) => offset += i + 1,
            None => break,
        }
    }
    (offset + column.saturating_sub(1)).min(doc.len()) as u64
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// Decode one complete document in the given format.
pub fn decode(format: WireFormat, doc: &[u8]) -> Result<Vec<Event>, DecodeError> {
    let mut out = Vec::new();
    decode_into(format, doc, &mut out)?;
    Ok(out)
}

/// What a reader must deliver beyond what every event carries. A field that is not wanted is
/// still validated (a document is valid or not whoever reads it), just not built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// The word lists of interim results (`isFinal: false`), and their decorated transcript and
    /// engine. Records of interim text carry only the text, so only an engine that concatenates
    /// pieces ([`crate::coalesce::CoalesceMode::Concat`]) needs the words; without this an
    /// interim `TranscriptEvent` has empty `words` and `decorated_words`, no `decorated_text`
    /// and no `engine`, and the reader skips the bulk of a typical interim frame.
    pub interim_details: bool,
}

impl Reading {
    /// Every field.
    pub const ALL: Reading = Reading {
        interim_details: true,
    };
}

/// Decode one complete document, appending its events to `out` (nothing is appended on error).
pub fn decode_into(
    format: WireFormat,
    doc: &[u8],
    out: &mut Vec<Event>,
) -> Result<(), DecodeError> {
    decode_with(format, doc, Reading::ALL, out)
}

/// [`decode_into`], reading only what `reading` asks for.
pub fn decode_with(
    format: WireFormat,
    doc: &[u8],
    reading: Reading,
    out: &mut Vec<Event>,
) -> Result<(), DecodeError> {
    match format {
        WireFormat::Notifications => notifications::decode_notification(doc, reading, out),
        WireFormat::EventBridge => notifications::decode_eventbridge(doc, reading, out),
        WireFormat::Interaction => seeds::decode_interaction(doc, out),
        WireFormat::Media => seeds::decode_media(doc, out),
        WireFormat::Segments => seeds::decode_segments(doc, out),
        WireFormat::Fragments => seeds::decode_fragments(doc, out),
        WireFormat::ConversationEvents => seeds::decode_conversation_events(doc, out),
    }
}
