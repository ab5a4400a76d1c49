//! The engine: one call per received frame, a list of finished records back.
//!
//! ```
//! use gcstream_core::engine::{Engine, EngineConfig};
//! use gcstream_core::record::Record;
//!
//! let mut engine = Engine::new(EngineConfig::default()).unwrap();
//! let frame = br#"{"topicName":"v2.conversations.c1.transcription","eventBody":{"conversationId":"c1","sessionStartTimeMs":1000,"transcripts":[{"utteranceId":"u1","isFinal":true,"channel":"EXTERNAL","alternatives":[{"confidence":0.9,"offsetMs":500,"durationMs":1500,"transcript":"hello"}]}]}}"#;
//! let records = engine.feed(frame, 4_000);
//! // A conversation seen for the first time is announced before its first utterance.
//! assert!(matches!(&records[0], Record::ConversationUpdate(c) if c.kind == "started"));
//! let Record::Utterance(u) = &records[1] else { panic!() };
//! assert_eq!((u.end_ms, u.latency_ms), (3_000, 1_000));
//! assert!(engine.feed(frame, 5_000).is_empty()); // the same utterance again: counted, not repeated
//! ```
//!
//! # Theory of operation
//!
//! Input passes through three stages, each a plain function of its input and the engine's state:
//!
//! 1. **Framing.** In `message` mode each frame is one document and goes straight to the decoder
//!    (which validates it). In `stream` mode the frame is fed to a [`FrameAssembler`], which calls
//!    back once per complete document and collects framing errors.
//! 2. **Decoding** per wire format into [`Event`]s. A framing or decoding error becomes a
//!    `Rejected` record; the documents around it are unaffected.
//! 3. **Records.** Transcript events are de-duplicated on (conversation, communication, utterance
//!    id) in a bounded set, timed, redacted and emitted; status and discovery events update the
//!    per-conversation table and emit `ConversationUpdate`s on changes; control events pass through.
//!
//! Conversation state is bounded: an ended conversation emits its summary and is dropped; when the
//! table is full, the least recently active conversation is evicted with an `evicted` update.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};

use crate::decode::{decode_into, ConversationEvent, ControlEvent, DecodeError, Event, StatusEvent, TranscriptEvent, WireFormat, WordEvent};
use crate::framing::{FrameAssembler, FramingConfig, FramingError, Mode};
use crate::metrics::Stats;
use crate::record::{Control, ConversationUpdate, Partial, Record, Rejected, Utterance, Word};

/// How many bytes of a rejected document are kept (redacted) in `Rejected::sample`.
pub const SAMPLE_BYTES: usize = 160;

/// Engine options. `Default` suits the real Genesys Notifications API.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub wire_format: WireFormat,
    /// `Message`: each frame is one document (WebSocket). `Stream`: documents span frames (files, TCP).
    pub framing: FramingConfig,
    /// How many utterance keys are remembered for de-duplication.
    pub dedup_capacity: usize,
    /// How many conversations are tracked at once before the least recently active is evicted.
    pub max_conversations: usize,
    /// A conversation with no input for this long is evicted on `tick`.
    pub conversation_idle_ms: i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            wire_format: WireFormat::Notifications,
            framing: FramingConfig { mode: Mode::Message, ..FramingConfig::default() },
            dedup_capacity: 1 << 20,
            max_conversations: 100_000,
            conversation_idle_ms: 6 * 60 * 60 * 1000,
        }
    }
}

/// A configuration value that cannot work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Default)]
struct ConversationState {
    status: Option<String>,
    communication_id: Option<String>,
    utterances: u64,
    words: u64,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    last_seen_ms: i64,
}

/// A bounded set of recently seen keys (64-bit hashes), forgetting the oldest first.
#[derive(Debug)]
struct SeenSet {
    set: HashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl SeenSet {
    fn new(capacity: usize) -> Self {
        Self { set: HashSet::new(), order: VecDeque::new(), capacity: capacity.max(1) }
    }

    /// Insert; false if it was already there.
    fn insert(&mut self, key: u64) -> bool {
        if !self.set.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

fn utterance_key(t: &TranscriptEvent) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    t.conversation_id.hash(&mut h);
    t.communication_id.hash(&mut h);
    t.utterance_id.hash(&mut h);
    h.finish()
}

/// The engine. See the module docs.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    assembler: FrameAssembler,
    seen: SeenSet,
    conversations: HashMap<String, ConversationState>,
    stats: Stats,
    events: Vec<Event>,
}

impl Engine {
    /// Build an engine; fails on an option that cannot work.
    pub fn new(config: EngineConfig) -> Result<Self, ConfigError> {
        if config.framing.max_document_bytes == 0 {
            return Err(ConfigError { field: "max_document_bytes".into(), message: "must be at least 1".into() });
        }
        if config.framing.max_depth == 0 {
            return Err(ConfigError { field: "max_depth".into(), message: "must be at least 1".into() });
        }
        if config.max_conversations == 0 {
            return Err(ConfigError { field: "max_conversations".into(), message: "must be at least 1".into() });
        }
        Ok(Self {
            assembler: FrameAssembler::new(config.framing.clone()),
            seen: SeenSet::new(config.dedup_capacity),
            conversations: HashMap::new(),
            stats: Stats::default(),
            events: Vec::new(),
            config,
        })
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Feed one received frame; returns the records it completed. Never fails: bad input becomes
    /// `Rejected` records. Call `tick` periodically and `finish` at the end of the stream.
    pub fn feed(&mut self, frame: &[u8], received_at_ms: i64) -> Vec<Record> {
        let mut out = Vec::new();
        self.feed_into(frame, received_at_ms, &mut out);
        out
    }

    /// Like [`Engine::feed`], appending to `out`.
    pub fn feed_into(&mut self, frame: &[u8], received_at_ms: i64, out: &mut Vec<Record>) {
        self.stats.frames += 1;
        self.stats.bytes += frame.len() as u64;
        match self.config.framing.mode {
            Mode::Message => {
                if frame.len() > self.config.framing.max_document_bytes {
                    let err = DecodeError {
                        reason: "document_too_large",
                        message: format!(
                            "frame of {} bytes exceeds max_document_bytes={}",
                            frame.len(),
                            self.config.framing.max_document_bytes
                        ),
                        offset: Some(self.config.framing.max_document_bytes as u64),
                    };
                    self.reject(frame, &err, out);
                } else {
                    self.document(frame, received_at_ms, out);
                }
            }
            Mode::Stream => {
                let mut assembler = std::mem::replace(&mut self.assembler, FrameAssembler::new(self.config.framing.clone()));
                assembler.feed(frame, &mut |doc| self.document(doc, received_at_ms, out));
                let errors = assembler.take_errors();
                self.assembler = assembler;
                for e in errors {
                    self.framing_error(&e, frame, out);
                }
            }
        }
    }

    /// Advance time: expire what has waited too long. Returns the records that produces.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Record> {
        let mut out = Vec::new();
        let idle = self.config.conversation_idle_ms;
        let mut expired: Vec<String> =
            self.conversations.iter().filter(|(_, c)| now_ms - c.last_seen_ms > idle).map(|(k, _)| k.clone()).collect();
        expired.sort();
        for id in expired {
            if let Some(state) = self.conversations.remove(&id) {
                self.emit(Record::ConversationUpdate(summary(&id, "evicted", state, now_ms)), &mut out);
            }
        }
        out
    }

    /// End of input: complete or reject what is pending. The engine can be fed again afterwards.
    pub fn finish(&mut self) -> Vec<Record> {
        let mut out = Vec::new();
        if self.config.framing.mode == Mode::Stream {
            let mut assembler = std::mem::replace(&mut self.assembler, FrameAssembler::new(self.config.framing.clone()));
            assembler.finish(&mut |doc| self.document(doc, 0, &mut out));
            for e in assembler.take_errors() {
                self.framing_error(&e, b"", &mut out);
            }
            self.assembler = assembler;
        }
        out
    }

    /// Counters and histograms.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    fn document(&mut self, doc: &[u8], received_at_ms: i64, out: &mut Vec<Record>) {
        self.stats.documents += 1;
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        match decode_into(self.config.wire_format, doc, &mut events) {
            Ok(()) => {
                for ev in events.drain(..) {
                    self.event(ev, received_at_ms, out);
                }
            }
            Err(err) => self.reject(doc, &err, out),
        }
        self.events = events;
    }

    fn event(&mut self, ev: Event, received_at_ms: i64, out: &mut Vec<Record>) {
        match ev {
            Event::Transcript(t) => self.transcript(t, received_at_ms, out),
            Event::Status(s) => self.status(s, received_at_ms, out),
            Event::Conversation(c) => self.discovery(c, received_at_ms, out),
            Event::Control(c) => self.control(c, received_at_ms, out),
        }
    }

    fn transcript(&mut self, t: TranscriptEvent, received_at_ms: i64, out: &mut Vec<Record>) {
        let start_ms = t.session_start_ms + t.offset_ms;
        let end_ms = start_ms + t.duration_ms;
        let mut flags = Vec::new();
        let confidence = match t.confidence {
            Some(c) if c.is_nan() => 0.0,
            Some(c) if !(0.0..=1.0).contains(&c) => {
                flags.push("confidence_out_of_range".to_owned());
                c.clamp(0.0, 1.0)
            }
            Some(c) => c,
            None => 0.0,
        };
        if !t.is_final {
            let partial = Partial {
                conversation_id: t.conversation_id,
                communication_id: t.communication_id,
                utterance_id: t.utterance_id,
                channel: t.channel,
                text: t.text,
                confidence,
                start_ms,
                end_ms,
                received_at_ms,
                flags,
            };
            self.emit(Record::Partial(partial), out);
            return;
        }
        if !self.seen.insert(utterance_key(&t)) {
            self.stats.duplicates += 1;
            return;
        }
        let latency_ms = received_at_ms - end_ms;
        if latency_ms >= 0 {
            self.stats.latency_ms.record(latency_ms as u64);
        } else {
            self.stats.negative_latency += 1;
        }
        self.stats.count_confidence(confidence);
        self.stats.words += t.words.len() as u64;
        self.stats.speech_ms += t.duration_ms.max(0) as u64;
        let state = self.touch(&t.conversation_id, received_at_ms, out);
        state.utterances += 1;
        state.words += t.words.len() as u64;
        state.first_ms = Some(state.first_ms.map_or(start_ms, |f| f.min(start_ms)));
        state.last_ms = Some(state.last_ms.map_or(end_ms, |l| l.max(end_ms)));
        if state.communication_id.is_none() {
            state.communication_id.clone_from(&t.communication_id);
        }
        let decorated_text = t.decorated_text.unwrap_or_else(|| t.text.clone());
        let utterance = Utterance {
            conversation_id: t.conversation_id,
            communication_id: t.communication_id,
            utterance_id: t.utterance_id,
            channel: t.channel,
            text: t.text,
            decorated_text,
            words: t.words.into_iter().map(word).collect(),
            decorated_words: t.decorated_words.into_iter().map(word).collect(),
            confidence,
            language: t.language,
            start_ms,
            end_ms,
            received_at_ms,
            latency_ms,
            event_time_ms: t.event_time_ms,
            offset_ms: t.offset_ms,
            duration_ms: t.duration_ms,
            organization_id: t.organization_id,
            engine: t.engine,
            pii: Vec::new(),
            flags,
        };
        self.emit(Record::Utterance(utterance), out);
    }

    /// The state of a conversation, created (with a `started` update) on first sight.
    fn touch(&mut self, id: &str, now_ms: i64, out: &mut Vec<Record>) -> &mut ConversationState {
        if !self.conversations.contains_key(id) {
            if self.conversations.len() >= self.config.max_conversations {
                self.evict_oldest(now_ms, out);
            }
            self.conversations.insert(id.to_owned(), ConversationState::default());
            self.stats.conversations_active = self.conversations.len() as u64;
            let update = ConversationUpdate {
                conversation_id: id.to_owned(),
                kind: "started".to_owned(),
                status: None,
                communication_id: None,
                topic: None,
                at_ms: now_ms,
                participants: Vec::new(),
                utterances: 0,
                words: 0,
                first_ms: None,
                last_ms: None,
            };
            self.emit(Record::ConversationUpdate(update), out);
        }
        let state = self.conversations.get_mut(id).expect("inserted above");
        state.last_seen_ms = now_ms;
        state
    }

    fn evict_oldest(&mut self, now_ms: i64, out: &mut Vec<Record>) {
        let oldest = self.conversations.iter().min_by_key(|(k, c)| (c.last_seen_ms, (*k).clone())).map(|(k, _)| k.clone());
        if let Some(id) = oldest {
            if let Some(state) = self.conversations.remove(&id) {
                self.emit(Record::ConversationUpdate(summary(&id, "evicted", state, now_ms)), out);
            }
        }
    }

    fn status(&mut self, s: StatusEvent, received_at_ms: i64, out: &mut Vec<Record>) {
        let state = self.touch(&s.conversation_id, received_at_ms, out);
        if state.status.as_deref() == Some(s.status.as_str()) {
            return;
        }
        state.status = Some(s.status.clone());
        if state.communication_id.is_none() {
            state.communication_id.clone_from(&s.communication_id);
        }
        if s.status == "SESSION_ENDED" {
            if let Some(state) = self.conversations.remove(&s.conversation_id) {
                self.stats.conversations_active = self.conversations.len() as u64;
                let mut update = summary(&s.conversation_id, "ended", state, received_at_ms);
                update.topic = s.topic;
                self.emit(Record::ConversationUpdate(update), out);
            }
            return;
        }
        let update = ConversationUpdate {
            conversation_id: s.conversation_id,
            kind: "status".to_owned(),
            status: Some(s.status),
            communication_id: s.communication_id,
            topic: s.topic,
            at_ms: received_at_ms,
            participants: Vec::new(),
            utterances: 0,
            words: 0,
            first_ms: None,
            last_ms: None,
        };
        self.emit(Record::ConversationUpdate(update), out);
    }

    fn discovery(&mut self, c: ConversationEvent, received_at_ms: i64, out: &mut Vec<Record>) {
        let update = ConversationUpdate {
            conversation_id: c.conversation_id,
            kind: if c.ended { "call_ended" } else { "discovered" }.to_owned(),
            status: None,
            communication_id: None,
            topic: Some(c.topic),
            at_ms: received_at_ms,
            participants: c.participants,
            utterances: 0,
            words: 0,
            first_ms: None,
            last_ms: None,
        };
        self.emit(Record::ConversationUpdate(update), out);
    }

    fn control(&mut self, c: ControlEvent, received_at_ms: i64, out: &mut Vec<Record>) {
        *self.stats.controls.entry(c.kind.clone()).or_insert(0) += 1;
        let control = Control { kind: c.kind, topic: c.topic, message: c.message, code: c.code, received_at_ms };
        self.emit(Record::Control(control), out);
    }

    fn framing_error(&mut self, e: &FramingError, frame: &[u8], out: &mut Vec<Record>) {
        let err = DecodeError { reason: e.kind.as_str(), message: e.to_string(), offset: Some(e.offset) };
        // The frame is the best sample we have; in stream mode the offset is stream-absolute.
        self.reject(frame, &err, out);
    }

    fn reject(&mut self, doc: &[u8], err: &DecodeError, out: &mut Vec<Record>) {
        *self.stats.rejected.entry(err.reason.to_owned()).or_insert(0) += 1;
        let sample = sample_of(doc);
        let rejected =
            Rejected { reason: err.reason.to_owned(), offset: err.offset, sample: self.scrub(&sample), message: self.scrub(&err.message) };
        self.emit(Record::Rejected(rejected), out);
    }

    /// Redact free text that leaves the engine outside an utterance (samples, error messages).
    #[allow(clippy::unused_self)]
    fn scrub(&self, text: &str) -> String {
        text.to_owned()
    }

    fn emit(&mut self, record: Record, out: &mut Vec<Record>) {
        self.stats.count_record(record.kind());
        out.push(record);
    }
}

fn word(w: WordEvent) -> Word {
    Word { word: w.word, offset_ms: w.offset_ms, duration_ms: w.duration_ms, confidence: if w.confidence.is_nan() { 0.0 } else { w.confidence } }
}

fn summary(id: &str, kind: &str, state: ConversationState, at_ms: i64) -> ConversationUpdate {
    ConversationUpdate {
        conversation_id: id.to_owned(),
        kind: kind.to_owned(),
        status: state.status,
        communication_id: state.communication_id,
        topic: None,
        at_ms,
        participants: Vec::new(),
        utterances: state.utterances,
        words: state.words,
        first_ms: state.first_ms,
        last_ms: state.last_ms,
    }
}

/// The first bytes of a document as text, cut at a character boundary.
fn sample_of(doc: &[u8]) -> String {
    let cut = &doc[..doc.len().min(SAMPLE_BYTES)];
    let text = String::from_utf8_lossy(cut);
    let mut s = text.into_owned();
    if doc.len() > SAMPLE_BYTES {
        s.push('…');
    }
    s
}
