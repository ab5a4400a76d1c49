//! The engine: one call per received frame, a list of finished records back.
//!
//! ```
//! use gcstream_core::engine::{Engine, EngineConfig};
//! use gcstream_core::record::Record;
//!
//! let mut engine = Engine::new(EngineConfig::default()).unwrap();
//! let frame = br#"{"topicName":"v2.conversations.c1.transcription","eventBody":{"conversationId":"c1","sessionStartTimeMs":1000,"transcripts":[{"utteranceId":"u1","isFinal":true,"channel":"EXTERNAL","alternatives":[{"confidence":0.9,"offsetMs":500,"durationMs":1500,"transcript":"hello"}]}]}}"#;
//! let records = engine.feed(frame, 4_000);
//! // A conversation seen for the first time is announced; the utterance waits in the reorder
//! // window (2 s of offsets by default) until later speech, a tick or the end of the stream.
//! assert!(matches!(&records[0], Record::ConversationUpdate(c) if c.kind == "started"));
//! let records = engine.tick(6_000);
//! let Record::Utterance(u) = &records[0] else { panic!() };
//! assert_eq!((u.end_ms, u.latency_ms), (3_000, 1_000));
//! assert!(engine.feed(frame, 7_000).is_empty()); // the same utterance again: counted, not repeated
//! assert_eq!(engine.stats().duplicates, 1);
//! ```
//!
//! # Theory of operation
//!
//! Input passes through these stages, each a plain function of its input and the engine's state:
//!
//! 1. **Framing.** In `message` mode each frame is one document and goes straight to the decoder
//!    (which validates it). In `stream` mode the frame is fed to a [`FrameAssembler`], which calls
//!    back once per complete document and collects framing errors.
//! 2. **Decoding** per wire format into [`Event`]s. A framing or decoding error becomes a
//!    `Rejected` record; the documents around it are unaffected.
//! 3. **Sequence** numbers, where the stream has them, are checked per conversation
//!    ([`crate::sequence`]): gaps, reorders and restarts become `Gap` records, a repeat of an
//!    event already seen (same number, same key and text) becomes a `Gap` record instead of it.
//! 4. **Quality gates** ([`crate::quality`]) flag (or, by explicit policy, drop and count) each
//!    transcript; an interruption resets the speaker's pending partials.
//! 5. **Coalescing** ([`crate::coalesce`]): interim results become `Partial` records; a final is
//!    de-duplicated on (conversation, communication, utterance id) in a bounded set, merged with
//!    its pending interim text, counted, and timed.
//! 6. **Ordering** ([`crate::reorder`]): finals wait in their (conversation, channel) lane until
//!    they can be released in `offsetMs` order, then pass through [`Privacy`] and are emitted.
//! 7. **Conversations** ([`crate::conversation`]): status, participants and metadata events update
//!    the table; an end or an eviction flushes the conversation's lanes, its privacy hold and its
//!    pending partials (as `expired`) and emits the summary.
//!
//! Every transcript event ends in exactly one place: a `Partial` record, an `Utterance` record, or
//! one of the counters `duplicates`, `stale_partials`, `dropped` or `gaps["duplicate"]`.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use crate::coalesce::{CoalesceMode, Pending, Piece, merge_flags};
use crate::conversation::{Conversations, is_end_status, update};
use crate::decode::{
    ControlEvent, ConversationEvent, DecodeError, Event, MetadataEvent, ParticipantsEvent, Reading,
    StatusEvent, TranscriptEvent, WireFormat, WordEvent, decode_with,
};
use crate::framing::{self, FrameAssembler, FramingConfig, FramingError, Mode};
use crate::metrics::Stats;
use crate::privacy::{Privacy, PrivacyConfig};
use crate::quality::QualityConfig;
use crate::record::{Control, Gap, Participant, Record, Rejected, Utterance, Word};
use crate::sequence::SeqOutcome;

/// How many bytes of a rejected document are kept (redacted, masked) in `Rejected::sample`.
pub use crate::sample::SAMPLE_BYTES;

/// Engine options. `Default` suits the real Genesys Notifications API; [`EngineConfig::for_format`]
/// gives the defaults of any wire format.
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
    /// How interim results combine: `Replace` (whole hypothesis each time) or `Concat` (pieces).
    pub coalesce: CoalesceMode,
    /// An utterance with interim text and no input for this long expires on `tick`.
    pub partial_timeout_ms: i64,
    /// Finals are ordered by start within this many ms per (conversation, channel); 0 = off.
    pub reorder_window_ms: i64,
    pub quality: QualityConfig,
    pub privacy: PrivacyConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self::for_format(WireFormat::Notifications)
    }
}

impl EngineConfig {
    /// The defaults for one wire format.
    ///
    /// - framing: `stream` for `conversation-events` (seed 004 splits documents across frames),
    ///   `message` otherwise;
    /// - coalescing: `Concat` for `fragments`, `Replace` otherwise;
    /// - reorder window: 2,000 ms for the formats with utterance offsets from many speakers
    ///   (`notifications`, `eventbridge`, `conversation-events`). Genesys publishes a batch of
    ///   results at once, so out-of-order arrivals are neighbours within a batch; 2 s of offsets
    ///   covers them and costs captions nothing (partials are never held). 0 for the seed streams
    ///   that are ordered by construction (one speaker per stream, or sequence numbers);
    /// - partial timeout: 60 s for the real API (its default batching window is ~35 s), 10 s for
    ///   the seeds' interim-result streams.
    pub fn for_format(wire_format: WireFormat) -> Self {
        let real = matches!(
            wire_format,
            WireFormat::Notifications | WireFormat::EventBridge
        );
        Self {
            wire_format,
            framing: FramingConfig {
                mode: wire_format.default_framing_mode(),
                ..FramingConfig::default()
            },
            dedup_capacity: 1 << 20,
            max_conversations: 100_000,
            // Genesys sends a status-only message every 5 minutes while a session is active
            // (research §2.2): three missed keep-alives means the session is gone.
            conversation_idle_ms: 15 * 60 * 1000,
            coalesce: if wire_format == WireFormat::Fragments {
                CoalesceMode::Concat
            } else {
                CoalesceMode::Replace
            },
            partial_timeout_ms: if real { 60_000 } else { 10_000 },
            reorder_window_ms: if real || wire_format == WireFormat::ConversationEvents {
                2_000
            } else {
                0
            },
            quality: QualityConfig::for_format(wire_format),
            privacy: PrivacyConfig::default(),
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

fn config_error(field: &str, message: &str) -> ConfigError {
    ConfigError {
        field: field.into(),
        message: message.into(),
    }
}

/// A bounded set of recently seen keys (64-bit hashes), forgetting the oldest first.
#[derive(Debug)]
struct SeenSet {
    set: HashSet<u64, BuildHasherDefault<KeyHasher>>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl SeenSet {
    fn new(capacity: usize) -> Self {
        Self {
            set: HashSet::default(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    fn contains(&self, key: u64) -> bool {
        self.set.contains(&key)
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

/// The set's keys are already SipHash outputs: hashing them again would only cost time.
#[derive(Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

fn utterance_key(conversation_id: &str, communication_id: Option<&str>, utterance_id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    conversation_id.hash(&mut h);
    communication_id.hash(&mut h);
    utterance_id.hash(&mut h);
    h.finish()
}

/// How many ended conversations are remembered to tell a replay from a new conversation.
const ENDED_CAPACITY: usize = 65_536;

/// The key of a conversation in [`Engine::ended`].
fn conversation_key(conversation_id: &str) -> u64 {
    utterance_key(conversation_id, None, "")
}

/// The engine. See the module docs.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    assembler: FrameAssembler,
    seen: SeenSet,
    /// Conversations that ended (hashes of their ids), so that a replay of what they said (a
    /// socket hand-over delivers it twice) does not bring them back.
    ended: SeenSet,
    conversations: Conversations,
    privacy: Privacy,
    stats: Stats,
    events: Vec<Event>,
    released: Vec<Utterance>,
    /// Results given a key of their own because the source named them not at all.
    unkeyed: u64,
}

impl Engine {
    /// Build an engine; fails on an option that cannot work.
    pub fn new(config: EngineConfig) -> Result<Self, ConfigError> {
        if config.framing.max_document_bytes == 0 {
            return Err(config_error("max_document_bytes", "must be at least 1"));
        }
        if config.framing.max_depth == 0 {
            return Err(config_error("max_depth", "must be at least 1"));
        }
        if config.max_conversations == 0 {
            return Err(config_error("max_conversations", "must be at least 1"));
        }
        if config.reorder_window_ms < 0 {
            return Err(config_error("reorder_window_ms", "must be 0 (off) or more"));
        }
        if config.partial_timeout_ms <= 0 {
            return Err(config_error("partial_timeout_ms", "must be at least 1"));
        }
        if config.conversation_idle_ms <= 0 {
            return Err(config_error("conversation_idle_ms", "must be at least 1"));
        }
        let q = &config.quality;
        if q.min_snr_db.is_nan() || q.max_jitter_ms.is_nan() || q.max_packet_loss_pct.is_nan() {
            return Err(config_error("audio thresholds", "must be numbers"));
        }
        Ok(Self {
            assembler: FrameAssembler::new(config.framing.clone()),
            seen: SeenSet::new(config.dedup_capacity),
            ended: SeenSet::new(ENDED_CAPACITY),
            conversations: Conversations::default(),
            privacy: Privacy::new(config.privacy.clone())?,
            stats: Stats::default(),
            events: Vec::new(),
            released: Vec::new(),
            unkeyed: 0,
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
                } else if memchr::memchr(b'\\', frame).is_some() {
                    // The decoders skip what they do not read without decoding its escapes, so a
                    // frame with escapes is validated by the assembler first (a lone surrogate in
                    // an ignored field is as invalid as anywhere else).
                    let mut valid = false;
                    self.assembler.feed(frame, &mut |_| valid = true);
                    for e in self.assembler.take_errors() {
                        self.framing_error(&e, frame, out);
                    }
                    if valid {
                        self.document(frame, received_at_ms, out);
                    }
                } else {
                    self.document(frame, received_at_ms, out);
                }
            }
            Mode::Stream => {
                let mut assembler = std::mem::replace(
                    &mut self.assembler,
                    FrameAssembler::new(self.config.framing.clone()),
                );
                assembler.feed_pieces(frame, &mut |piece| match piece {
                    framing::Piece::Document(doc) => self.document(doc, received_at_ms, out),
                    framing::Piece::Error(e) => self.framing_error(&e, frame, out),
                });
                self.assembler = assembler;
            }
        }
    }

    /// Advance time: release reorder lanes that waited a window, expire partials that waited the
    /// partial timeout, evict idle conversations, release privacy holds. Returns those records.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Record> {
        let mut out = Vec::new();
        let window = self.config.reorder_window_ms;
        let timeout = self.config.partial_timeout_ms;
        let idle = self.config.conversation_idle_ms;
        let due = self.conversations.ids_where(|c| {
            now_ms - c.last_seen_ms > idle
                || c.lanes.next_release(window).is_some_and(|t| t <= now_ms)
                || c.pending.next_expiry(timeout).is_some_and(|t| t <= now_ms)
        });
        for id in due {
            let Some(c) = self.conversations.get_mut(&id) else {
                continue;
            };
            if now_ms - c.last_seen_ms > idle {
                self.close_conversation(&id, "evicted", Some("idle"), now_ms, &mut out);
                continue;
            }
            let mut released = std::mem::take(&mut self.released);
            c.lanes.release_aged(window, now_ms, &mut released);
            let expired = c.pending.expire(now_ms, timeout);
            self.release(&mut released, now_ms, &mut out);
            self.released = released;
            self.expire_partials(&id, expired, "expired", now_ms, &mut out);
        }
        for u in self.privacy.tick(now_ms) {
            self.emit(Record::Utterance(u), &mut out);
        }
        self.stats.conversations_active = self.conversations.len() as u64;
        out
    }

    /// End of input: complete or reject what is pending, release every held utterance and expire
    /// every pending partial. Conversations stay tracked; the engine can be fed again afterwards.
    pub fn finish(&mut self) -> Vec<Record> {
        let mut out = Vec::new();
        if self.config.framing.mode == Mode::Stream {
            let mut assembler = std::mem::replace(
                &mut self.assembler,
                FrameAssembler::new(self.config.framing.clone()),
            );
            assembler.finish(&mut |doc| self.document(doc, 0, &mut out));
            for e in assembler.take_errors() {
                self.framing_error(&e, b"", &mut out);
            }
            self.assembler = assembler;
        }
        let ids = self
            .conversations
            .ids_where(|c| c.lanes.held() > 0 || !c.pending.is_empty());
        for id in ids {
            let Some(c) = self.conversations.get_mut(&id) else {
                continue;
            };
            let mut released = std::mem::take(&mut self.released);
            c.lanes.drain(&mut released);
            let expired = c.pending.drain();
            let at = c.last_seen_ms;
            self.release(&mut released, at, &mut out);
            self.released = released;
            self.expire_partials(&id, expired, "expired", at, &mut out);
        }
        for u in self.privacy.flush() {
            self.emit(Record::Utterance(u), &mut out);
        }
        out
    }

    /// Counters and histograms (PII counts included).
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        for (kind, n) in self.privacy.counts() {
            *s.pii.entry(kind).or_insert(0) += n;
        }
        s
    }

    fn document(&mut self, doc: &[u8], received_at_ms: i64, out: &mut Vec<Record>) {
        self.stats.documents += 1;
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        // Interim text becomes a `Partial`, which has no words, decorated text or engine: only
        // concatenated pieces need an interim result's details.
        let reading = Reading {
            interim_details: self.config.coalesce == CoalesceMode::Concat,
        };
        match decode_with(self.config.wire_format, doc, reading, &mut events) {
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
            Event::Metadata(m) => self.metadata(m, received_at_ms, out),
            Event::Participants(p) => self.participants(p, received_at_ms, out),
        }
    }

    /// Did this conversation, which is not tracked, end (rather than never start, or be evicted)?
    fn is_ended(&self, conversation_id: &str) -> bool {
        self.ended.contains(conversation_key(conversation_id))
    }

    /// The conversation's state after announcing it (and any eviction it caused).
    fn touch(&mut self, id: &str, now_ms: i64, out: &mut Vec<Record>) {
        let (_, created, evicted) =
            self.conversations
                .touch(id, now_ms, self.config.max_conversations);
        if let Some((old_id, old)) = evicted {
            self.flush_state(&old_id, old, "evicted", Some("capacity"), now_ms, out);
        }
        if created {
            self.stats.conversations_active = self.conversations.len() as u64;
            self.emit(
                Record::ConversationUpdate(update(id, "started", now_ms)),
                out,
            );
        }
    }

    fn transcript(&mut self, mut t: TranscriptEvent, received_at_ms: i64, out: &mut Vec<Record>) {
        self.stats.transcript_events += 1;
        let mut key = utterance_key(
            &t.conversation_id,
            t.communication_id.as_deref(),
            &t.utterance_id,
        );
        // After its end, a conversation's interim text is moot and a final it already gave is a
        // replay: neither brings it back. A final it did not give is delivered (flagged).
        let tracked = self
            .conversations
            .refresh(&t.conversation_id, received_at_ms);
        let after_end = !tracked && self.is_ended(&t.conversation_id);
        if after_end && !t.is_final {
            self.stats.stale_partials += 1;
            return;
        }
        if after_end && self.seen.contains(key) {
            self.stats.duplicates += 1;
            return;
        }
        if !tracked {
            self.touch(&t.conversation_id, received_at_ms, out);
        }
        if let Some(n) = t.sequence {
            if !self.sequence(&t, n, received_at_ms, out) {
                return;
            }
        }
        if t.implicit_id && t.utterance_id.is_empty() {
            // Nothing on the wire names this result (seeds 000 and 001 without their timestamp;
            // a repeated sequence number was caught above): it gets a key of its own, so that no
            // other result is taken for a repeat of it. The receive time keeps a restarted
            // engine, whose count begins again, from reusing a key a sink already holds.
            self.unkeyed += 1;
            t.utterance_id = format!("@{received_at_ms}#{}", self.unkeyed);
            key = utterance_key(
                &t.conversation_id,
                t.communication_id.as_deref(),
                &t.utterance_id,
            );
        }
        // Times come from the wire: absurd ones saturate rather than wrap around.
        let start_ms = t.session_start_ms.saturating_add(t.offset_ms);
        let end_ms = start_ms.saturating_add(t.duration_ms);
        let latency_ms = received_at_ms.saturating_sub(end_ms);
        let q = &self.config.quality;
        let mut flags = Vec::new();
        let (confidence, d1) = q.confidence(t.confidence, &mut flags);
        let d2 = q.latency(latency_ms, &mut flags);
        let d3 = q.language(t.language.as_deref(), t.audio.as_ref(), &mut flags);
        let d4 = q.audio(t.audio.as_ref(), &mut flags);
        let d5 = q.codec(t.media_type.as_deref(), &mut flags);
        let d6 = q.interruption(t.interrupted, &mut flags);
        let drop = d1.or(d2).or(d3).or(d4).or(d5).or(d6);
        if after_end {
            flags.push("after_end".to_owned());
        }
        if t.interrupted && q.interruption_policy != crate::quality::Policy::Off {
            self.stats.interruptions += 1;
            let reset = self
                .conversations
                .get_mut(&t.conversation_id)
                .map(|c| c.pending.reset_channel(&t.channel))
                .unwrap_or_default();
            self.expire_partials(
                &t.conversation_id,
                reset,
                "interrupted",
                received_at_ms,
                out,
            );
        }
        let piece = Piece {
            communication_id: t.communication_id.as_deref(),
            utterance_id: &t.utterance_id,
            implicit: t.implicit_id,
            channel: &t.channel,
            text: &t.text,
            confidence,
            start_ms,
            end_ms,
            received_at_ms,
        };
        let mode = self.config.coalesce;
        let Some(conv) = self.conversations.get_mut(&t.conversation_id) else {
            return;
        };
        if !t.is_final {
            // A result for an utterance already final is a replay (for implicit ids: the key of
            // an interim that opened an utterance, remembered when it became final).
            if self.seen.contains(key) {
                self.stats.stale_partials += 1;
                return;
            }
            if let Some(flag) = drop {
                *self.stats.dropped.entry(flag.to_owned()).or_insert(0) += 1;
                return;
            }
            let mut partial = if mode == CoalesceMode::Concat {
                let partial = conv.pending.partial(mode, &piece, flags).to_partial(
                    &t.conversation_id,
                    "interim",
                    received_at_ms,
                );
                conv.pending
                    .add_words(piece.communication_id, piece.utterance_id, &t.words);
                partial
            } else {
                conv.pending.partial(mode, &piece, flags).to_partial_taking(
                    t,
                    "interim",
                    received_at_ms,
                )
            };
            self.privacy.partial(&mut partial);
            self.emit(Record::Partial(partial), out);
            return;
        }
        if !self.seen.insert(key) {
            self.stats.duplicates += 1;
            return;
        }
        let pending = conv.pending.take(
            piece.communication_id,
            piece.utterance_id,
            piece.implicit,
            piece.channel,
        );
        if let Some(flag) = drop {
            *self.stats.dropped.entry(flag.to_owned()).or_insert(0) += 1;
            // Its interim text was shown: it is closed explicitly, with the reason, rather than
            // left on a captions screen forever.
            if let Some(p) = pending {
                let mut closing = p.to_partial(&t.conversation_id, "dropped", received_at_ms);
                merge_flags(&mut closing.flags, flags);
                self.stats.partials_dropped += 1;
                self.privacy.partial(&mut closing);
                self.emit(Record::Partial(closing), out);
            }
            return;
        }
        let implicit = t.implicit_id;
        let mut u = final_utterance(t, mode, pending, confidence, flags, received_at_ms);
        if implicit {
            // The utterance took the id of the interim that opened it: a replay of that interim
            // must not open another utterance, which the next final would make a second record
            // under this id.
            self.seen.insert(utterance_key(
                &u.conversation_id,
                u.communication_id.as_deref(),
                &u.utterance_id,
            ));
        }
        conv.count_utterance(&u.channel, u.words.len() as u64, u.start_ms, u.end_ms);
        if conv.communication_id.is_none() {
            conv.communication_id.clone_from(&u.communication_id);
        }
        u.latency_ms = received_at_ms.saturating_sub(u.end_ms);
        if u.latency_ms >= 0 {
            self.stats.latency_ms.record(u.latency_ms as u64);
        } else {
            self.stats.negative_latency += 1;
        }
        self.stats.count_confidence(u.confidence);
        self.stats.words += u.words.len() as u64;
        self.stats.speech_ms += u.end_ms.saturating_sub(u.start_ms).max(0) as u64;
        let mut released = std::mem::take(&mut self.released);
        conv.lanes.push(
            self.config.reorder_window_ms,
            u,
            received_at_ms,
            &mut released,
        );
        self.release(&mut released, received_at_ms, out);
        self.released = released;
    }

    /// Check the event's sequence number `n`; false when the event is certainly a repeat of one
    /// already seen and must be dropped.
    fn sequence(&mut self, t: &TranscriptEvent, n: i64, at_ms: i64, out: &mut Vec<Record>) -> bool {
        let conversation_id = t.conversation_id.as_str();
        let Some(conv) = self.conversations.get_mut(conversation_id) else {
            return true;
        };
        // The identity tells a repeat from a restarted stream's event with the same number: the
        // decoder's key carries the timestamp, and the text and finality tell apart even events
        // that have none.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        t.utterance_id.hash(&mut h);
        t.text.hash(&mut h);
        t.is_final.hash(&mut h);
        let (kind, expected, got, count) = match conv.sequence.observe(n, h.finish()) {
            SeqOutcome::First | SeqOutcome::InOrder => return true,
            SeqOutcome::Missing {
                expected,
                got,
                count,
            } => ("missing", expected, got, count),
            SeqOutcome::Reordered { expected, got } => ("reordered", expected, got, 1),
            SeqOutcome::Duplicate { expected, got } => ("duplicate", expected, got, 1),
            SeqOutcome::Reset { expected, got } => ("reset", expected, got, 0),
        };
        *self.stats.gaps.entry(kind).or_insert(0) += count;
        let gap = Gap {
            stream: conversation_id.to_owned(),
            kind: kind.to_owned(),
            expected,
            got,
            count,
            at_ms,
        };
        self.emit(Record::Gap(gap), out);
        kind != "duplicate"
    }

    /// Pass released utterances through privacy and emit what it lets out.
    fn release(&mut self, released: &mut Vec<Utterance>, now_ms: i64, out: &mut Vec<Record>) {
        for u in released.drain(..) {
            for ready in self.privacy.utterance(u, now_ms) {
                self.emit(Record::Utterance(ready), out);
            }
        }
    }

    fn expire_partials(
        &mut self,
        conversation_id: &str,
        pending: Vec<Pending>,
        state: &str,
        at_ms: i64,
        out: &mut Vec<Record>,
    ) {
        for p in pending {
            match state {
                "interrupted" => self.stats.partials_interrupted += 1,
                _ => self.stats.partials_expired += 1,
            }
            let mut partial = p.to_partial(conversation_id, state, at_ms);
            self.privacy.partial(&mut partial);
            self.emit(Record::Partial(partial), out);
        }
    }

    /// End or evict a tracked conversation: flush its lanes, privacy hold and partials, then summarise.
    fn close_conversation(
        &mut self,
        id: &str,
        kind: &str,
        reason: Option<&str>,
        at_ms: i64,
        out: &mut Vec<Record>,
    ) -> Option<crate::record::ConversationUpdate> {
        let state = self.conversations.remove(id)?;
        Some(self.flush_state(id, state, kind, reason, at_ms, out))
    }

    fn flush_state(
        &mut self,
        id: &str,
        mut state: crate::conversation::ConversationState,
        kind: &str,
        reason: Option<&str>,
        at_ms: i64,
        out: &mut Vec<Record>,
    ) -> crate::record::ConversationUpdate {
        let mut released = std::mem::take(&mut self.released);
        state.lanes.drain(&mut released);
        self.release(&mut released, at_ms, out);
        self.released = released;
        for u in self.privacy.end_conversation(id) {
            self.emit(Record::Utterance(u), out);
        }
        let pending = state.pending.drain();
        self.expire_partials(id, pending, "expired", at_ms, out);
        let mut summary = state.summary(id, kind, at_ms);
        summary.reason = reason.map(str::to_owned);
        match kind {
            "ended" => {
                self.stats.conversations_ended += 1;
                self.ended.insert(conversation_key(id));
            }
            _ => self.stats.conversations_evicted += 1,
        }
        self.stats.conversations_active = self.conversations.len() as u64;
        if kind != "ended" {
            self.emit(Record::ConversationUpdate(summary.clone()), out);
        }
        summary
    }

    fn status(&mut self, s: StatusEvent, received_at_ms: i64, out: &mut Vec<Record>) {
        if !self
            .conversations
            .refresh(&s.conversation_id, received_at_ms)
        {
            if self.is_ended(&s.conversation_id) {
                // Replayed with what the conversation said before it ended, or its end again.
                self.stats.status_repeats += 1;
                return;
            }
            self.touch(&s.conversation_id, received_at_ms, out);
        }
        let Some(state) = self.conversations.get_mut(&s.conversation_id) else {
            return;
        };
        if state.communication_id.is_none() {
            state.communication_id.clone_from(&s.communication_id);
        }
        if is_end_status(&s.status) {
            state.status = Some(s.status.into());
            if let Some(mut summary) =
                self.close_conversation(&s.conversation_id, "ended", None, received_at_ms, out)
            {
                summary.topic = s.topic;
                self.emit(Record::ConversationUpdate(summary), out);
            }
            return;
        }
        if state.status.as_deref() == Some(s.status.as_str()) {
            self.stats.status_repeats += 1;
            return;
        }
        // Seed 004's `statusChange` carries any text; a changed status is redacted (and a status
        // kept redacted is the same status again).
        let status = self.privacy.text(&s.status);
        if state.status.as_deref() == Some(status.as_str()) {
            self.stats.status_repeats += 1;
            return;
        }
        state.status = Some(status.clone());
        let mut u = update(&s.conversation_id, "status", received_at_ms);
        u.status = Some(status);
        u.communication_id = s.communication_id;
        u.topic = s.topic;
        self.emit(Record::ConversationUpdate(u), out);
    }

    /// A participant's ids are the platform's opaque identifiers and pass as they are (like
    /// conversation and communication ids); its purpose is free text in the seed formats.
    fn redact_participants(&self, participants: &mut [Participant]) {
        for p in participants {
            if let Some(purpose) = &mut p.purpose {
                *purpose = self.privacy.text(purpose);
            }
        }
    }

    fn discovery(&mut self, mut c: ConversationEvent, received_at_ms: i64, out: &mut Vec<Record>) {
        self.redact_participants(&mut c.participants);
        if let Some(state) = self.conversations.get_mut(&c.conversation_id) {
            state.participants.clone_from(&c.participants);
        }
        let mut u = update(
            &c.conversation_id,
            if c.ended { "call_ended" } else { "discovered" },
            received_at_ms,
        );
        u.topic = Some(c.topic);
        u.participants = c.participants;
        self.emit(Record::ConversationUpdate(u), out);
    }

    fn metadata(&mut self, m: MetadataEvent, received_at_ms: i64, out: &mut Vec<Record>) {
        self.touch(&m.conversation_id, received_at_ms, out);
        let Some(state) = self.conversations.get_mut(&m.conversation_id) else {
            return;
        };
        // Metadata is whatever the sender attached (seed 004): keys and values are free text.
        let entries = m
            .entries
            .into_iter()
            .map(|(k, v)| (self.privacy.text(&k), self.privacy.text(&v)))
            .collect();
        state.merge_metadata(entries);
        let mut u = update(&m.conversation_id, "metadata", received_at_ms);
        u.metadata.clone_from(&state.metadata);
        u.status.clone_from(&state.status);
        self.emit(Record::ConversationUpdate(u), out);
    }

    fn participants(
        &mut self,
        mut p: ParticipantsEvent,
        received_at_ms: i64,
        out: &mut Vec<Record>,
    ) {
        self.redact_participants(&mut p.participants);
        self.touch(&p.conversation_id, received_at_ms, out);
        let Some(state) = self.conversations.get_mut(&p.conversation_id) else {
            return;
        };
        state.participants.clone_from(&p.participants);
        let mut u = update(&p.conversation_id, "participants", received_at_ms);
        u.participants = p.participants;
        u.status.clone_from(&state.status);
        self.emit(Record::ConversationUpdate(u), out);
    }

    fn control(&mut self, c: ControlEvent, received_at_ms: i64, out: &mut Vec<Record>) {
        *self.stats.controls.entry(c.kind.clone()).or_insert(0) += 1;
        if c.kind == "subscribed" {
            // A new subscription is a new stream: sequence numbers start again.
            for (_, conv) in self.conversations.iter_mut() {
                conv.sequence.reset();
            }
        }
        // Replies and system messages are free text from the platform, and an unknown topic or
        // seed `type` is whatever the sender wrote: all redacted like any text.
        let control = Control {
            kind: c.kind,
            topic: c.topic.map(|t| self.privacy.text(&t)),
            message: c.message.map(|m| self.privacy.text(&m)),
            code: c.code.map(|c| self.privacy.text(&c)),
            received_at_ms,
        };
        self.emit(Record::Control(control), out);
    }

    fn framing_error(&mut self, e: &FramingError, frame: &[u8], out: &mut Vec<Record>) {
        let err = DecodeError {
            reason: e.kind.as_str(),
            message: e.to_string(),
            offset: Some(e.offset),
        };
        // The frame is the best sample we have; in stream mode the offset is stream-absolute.
        self.reject(frame, &err, out);
    }

    fn reject(&mut self, doc: &[u8], err: &DecodeError, out: &mut Vec<Record>) {
        *self
            .stats
            .rejected
            .entry(err.reason.to_owned())
            .or_insert(0) += 1;
        let rejected = Rejected {
            reason: err.reason.to_owned(),
            offset: err.offset,
            sample: crate::sample::sample(self.privacy.redactor(), doc),
            message: self.privacy.text(&err.message),
        };
        self.emit(Record::Rejected(rejected), out);
    }

    fn emit(&mut self, record: Record, out: &mut Vec<Record>) {
        self.stats.count_record(record.kind());
        let flags = match &record {
            Record::Utterance(u) => u.flags.as_slice(),
            Record::Partial(p) => p.flags.as_slice(),
            _ => &[],
        };
        for f in flags {
            self.stats.count_flag(f);
        }
        out.push(record);
    }
}

/// Merge a final with the interim state it closes.
fn final_utterance(
    t: TranscriptEvent,
    mode: CoalesceMode,
    pending: Option<Pending>,
    confidence: f64,
    mut flags: Vec<String>,
    received_at_ms: i64,
) -> Utterance {
    let mut start_ms = t.session_start_ms.saturating_add(t.offset_ms);
    let mut end_ms = start_ms.saturating_add(t.duration_ms);
    let mut text = t.text;
    let mut words = t.words;
    let mut confidence = confidence;
    let mut utterance_id = t.utterance_id;
    let mut decorated_text = t.decorated_text;
    if let Some(p) = pending {
        if t.implicit_id {
            utterance_id = p.utterance_id;
        }
        if mode == CoalesceMode::Concat {
            let mut joined = p.text;
            joined.push_str(&text);
            text = joined;
            let mut all = p.words;
            all.extend(words);
            words = all;
            confidence = confidence.max(p.confidence);
            start_ms = start_ms.min(p.start_ms);
            end_ms = end_ms.max(p.end_ms);
            decorated_text = None;
            let mine = std::mem::take(&mut flags);
            flags = p.flags;
            merge_flags(&mut flags, mine);
        }
    }
    let decorated_text = decorated_text.unwrap_or_else(|| text.clone());
    Utterance {
        conversation_id: t.conversation_id,
        communication_id: t.communication_id,
        utterance_id,
        channel: t.channel,
        text,
        decorated_text,
        words: words.into_iter().map(word).collect(),
        decorated_words: t.decorated_words.into_iter().map(word).collect(),
        confidence,
        language: t.language,
        start_ms,
        end_ms,
        received_at_ms,
        latency_ms: received_at_ms.saturating_sub(end_ms),
        event_time_ms: t.event_time_ms,
        offset_ms: start_ms.saturating_sub(t.session_start_ms),
        duration_ms: end_ms.saturating_sub(start_ms),
        organization_id: t.organization_id,
        engine: t.engine,
        pii: Vec::new(),
        flags,
    }
}

fn word(w: WordEvent) -> Word {
    Word {
        word: w.word,
        offset_ms: w.offset_ms,
        duration_ms: w.duration_ms,
        confidence: if w.confidence.is_nan() {
            0.0
        } else {
            w.confidence
        },
    }
}
