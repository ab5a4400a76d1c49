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

use std::fmt;
use std::str::FromStr;

pub use lenient::{LenientI64, LenientStr};

/// The shape of the documents on a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// Genesys Cloud Notifications API over WebSocket: `topicName`/`version`/`eventBody`/`metadata`.
    Notifications,
    /// Genesys Cloud via Amazon EventBridge: the same envelope inside `detail`.
    EventBridge,
}

impl WireFormat {
    /// The name used in configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notifications => "notifications",
            Self::EventBridge => "eventbridge",
        }
    }

    /// Every supported format, for error messages and `--help`.
    pub const ALL: &'static [WireFormat] = &[Self::Notifications, Self::EventBridge];
}

impl FromStr for WireFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|f| f.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|f| f.as_str()).collect();
            format!("unknown wire format {s:?}; expected one of: {}", names.join(", "))
        })
    }
}

/// One timed token from `words[]` or `decoratedWords[]`.
#[derive(Clone, Debug, PartialEq)]
pub struct WordEvent {
    pub word: String,
    pub offset_ms: i64,
    pub duration_ms: i64,
    pub confidence: f64,
}

/// One transcript result (an utterance, final or interim) as the source sent it.
#[derive(Clone, Debug, PartialEq)]
pub struct TranscriptEvent {
    pub topic: Option<String>,
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
}

/// Transcription status of a conversation (status-only messages and the status of every message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEvent {
    pub topic: Option<String>,
    pub conversation_id: String,
    pub communication_id: Option<String>,
    pub status: String,
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
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Transcript(TranscriptEvent),
    Status(StatusEvent),
    Conversation(ConversationEvent),
    Control(ControlEvent),
}

/// A document that is valid JSON but cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Stable snake_case reason: `invalid_json`, `invalid_document`, `missing_field`.
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
        Self { reason, message: err.to_string(), offset: Some(line_col_to_offset(doc, err.line(), err.column())) }
    }

    pub(crate) fn missing(field: &str) -> Self {
        Self { reason: "missing_field", message: format!("missing field `{field}`"), offset: None }
    }
}

/// serde_json reports 1-based line and column; turn them back into a byte offset.
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

/// Decode one complete document, appending its events to `out` (nothing is appended on error).
pub fn decode_into(format: WireFormat, doc: &[u8], out: &mut Vec<Event>) -> Result<(), DecodeError> {
    match format {
        WireFormat::Notifications => notifications::decode_notification(doc, out),
        WireFormat::EventBridge => notifications::decode_eventbridge(doc, out),
    }
}
