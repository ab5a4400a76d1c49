//! The records the engine emits: plain owned data, already redacted.
//!
//! Every text field of a record has been through the redactor before the record leaves the
//! engine, so a record can be written anywhere (a sink, a log line, an error message).
//!
//! ```
//! use gcstream_core::record::{Record, Rejected};
//! let r = Record::Rejected(Rejected { reason: "invalid_json".into(), offset: Some(3), sample: "{x".into(), message: "bad".into() });
//! assert_eq!(r.kind(), "rejected");
//! ```

/// The text of one token: stored inline up to 24 bytes, so a word list costs one allocation
/// (the `Vec`), not one per word.
pub type Token = compact_str::CompactString;

/// One timed token of a transcript (`words[]` or `decoratedWords[]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Word {
    /// The token text; a redacted token carries the tag, e.g. `[CREDIT_CARD]`.
    pub word: Token,
    /// Start, in ms after the session start (same base as the utterance offset).
    pub offset_ms: i64,
    pub duration_ms: i64,
    pub confidence: f64,
}

/// Where a piece of PII was found: the kind, the field and the span in the original text.
/// The value itself is never kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PiiFinding {
    pub kind: String,
    /// `text`, `decorated_text`, `words` or `decorated_words`.
    pub field: &'static str,
    /// Start and end in characters (code points) of the unredacted field; for word lists, token indices.
    pub start: usize,
    pub end: usize,
}

/// A final utterance: one per (conversation, communication, utterance id), never two.
#[derive(Clone, Debug, PartialEq)]
pub struct Utterance {
    pub conversation_id: String,
    pub communication_id: Option<String>,
    pub utterance_id: String,
    /// `EXTERNAL` (customer), `INTERNAL` (agent, IVR, …), or whatever the source said.
    pub channel: String,
    pub text: String,
    pub decorated_text: String,
    pub words: Vec<Word>,
    pub decorated_words: Vec<Word>,
    pub confidence: f64,
    pub language: Option<String>,
    /// Epoch ms: `sessionStartTimeMs + offsetMs` and that plus `durationMs`.
    pub start_ms: i64,
    pub end_ms: i64,
    pub received_at_ms: i64,
    /// `received_at_ms - end_ms`.
    pub latency_ms: i64,
    /// When the source emitted it (`eventTime`), epoch ms, if known.
    pub event_time_ms: Option<i64>,
    pub offset_ms: i64,
    pub duration_ms: i64,
    pub organization_id: Option<String>,
    pub engine: Option<String>,
    pub pii: Vec<PiiFinding>,
    pub flags: Vec<String>,
}

/// Interim text of an utterance that is not final yet, for live captions.
#[derive(Clone, Debug, PartialEq)]
pub struct Partial {
    pub conversation_id: String,
    pub communication_id: Option<String>,
    pub utterance_id: String,
    pub channel: String,
    pub text: String,
    pub confidence: f64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub received_at_ms: i64,
    pub flags: Vec<String>,
    /// `interim` (the text so far), `expired` (no final came within the partial timeout, or the
    /// conversation ended first) or `interrupted` (the speaker was interrupted: this text was reset).
    pub state: String,
}

/// A change in a conversation: first seen, status change, discovery, end (with a summary), eviction.
#[derive(Clone, Debug, PartialEq)]
pub struct ConversationUpdate {
    pub conversation_id: String,
    /// `started`, `status`, `ended`, `discovered`, `evicted`, …
    pub kind: String,
    /// The source's status string, e.g. `SESSION_ONGOING`, `SESSION_ENDED`.
    pub status: Option<String>,
    pub communication_id: Option<String>,
    pub topic: Option<String>,
    pub at_ms: i64,
    pub participants: Vec<Participant>,
    pub utterances: u64,
    pub words: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// Metadata merged from the source (seed 004 `metadata`), sorted by key.
    pub metadata: Vec<(String, String)>,
    /// Final utterances and words per channel, in order of first appearance.
    pub utterances_by_channel: Vec<(String, u64)>,
    pub words_by_channel: Vec<(String, u64)>,
    /// Why an `evicted` conversation was dropped: `idle` or `capacity`.
    pub reason: Option<String>,
}

/// A participant as announced by a discovery topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    pub id: String,
    pub purpose: Option<String>,
    pub user_id: Option<String>,
    pub queue_id: Option<String>,
    pub ended: bool,
}

/// Lost, duplicate or reordered sequence numbers on a stream that numbers its events, or a
/// restart of the numbering (`reset`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    pub stream: String,
    /// `missing` (`count` numbers skipped), `reordered` (a number the stream had passed arrived;
    /// its event is processed), `duplicate` (the same event again: the only kind whose event is
    /// dropped) or `reset` (the numbering started again at `got`; its event is processed).
    pub kind: String,
    pub expected: i64,
    pub got: i64,
    pub count: u64,
    /// When the sequence number that revealed it was received, epoch ms.
    pub at_ms: i64,
}

/// Input the engine could not use. `sample` is redacted and truncated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// A stable `snake_case` reason, e.g. `invalid_json`, `document_too_large`, `invalid_document`.
    pub reason: String,
    /// Byte offset of the first bad byte (in the frame for message mode, in the stream otherwise).
    pub offset: Option<u64>,
    pub sample: String,
    /// A human-readable explanation (redacted like the sample).
    pub message: String,
}

/// A protocol-level event: heartbeat, pong, socket closing, subscription ack, system message, …
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Control {
    pub kind: String,
    pub topic: Option<String>,
    pub message: Option<String>,
    /// The socket-level result code (`"200"`, `"404"`, …) where there is one.
    pub code: Option<String>,
    pub received_at_ms: i64,
}

/// Everything the engine emits.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Utterance(Utterance),
    Partial(Partial),
    ConversationUpdate(ConversationUpdate),
    Gap(Gap),
    Rejected(Rejected),
    Control(Control),
}

impl Record {
    /// The record kind as used in stats and sinks.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Utterance(_) => "utterance",
            Self::Partial(_) => "partial",
            Self::ConversationUpdate(_) => "conversation_update",
            Self::Gap(_) => "gap",
            Self::Rejected(_) => "rejected",
            Self::Control(_) => "control",
        }
    }
}
