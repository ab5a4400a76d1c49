//! Records to bytes for sinks: JSON Lines, Influx line protocol, and idempotency keys.
//!
//! * [`write_json_line`] writes one record as one line of JSON (schema below); [`parse_json_line`]
//!   reads it back, so the same bytes serve as audit log, webhook body and spool segment.
//! * [`write_line_protocol`] writes an utterance as one Influx point with nanosecond timestamp.
//! * [`record_key`] is the key every sink deduplicates on: a replay of the same record gives the
//!   same key, so it overwrites (or is skipped) instead of adding a row.
//!
//! ```
//! use gcstream_core::encode::{parse_json_line, record_key, write_json_line};
//! use gcstream_core::record::{Gap, Record};
//!
//! let r = Record::Gap(Gap { stream: "s1".into(), kind: "missing".into(), expected: 4, got: 6, count: 2, at_ms: 9 });
//! let mut out = Vec::new();
//! write_json_line(&r, &mut out);
//! assert!(out.starts_with(br#"{"v":1,"type":"gap","key":"gap/s1/missing/4/6","stream":"s1""#));
//! assert_eq!(out.last(), Some(&b'\n'));
//! assert_eq!(parse_json_line(&out).unwrap(), r);
//! assert_eq!(record_key(&r), "gap/s1/missing/4/6");
//! ```
//!
//! # JSON Lines schema (version 1)
//!
//! Every line is an object with `v` (schema version, `1`), `type` (`utterance`, `partial`,
//! `conversation_update`, `gap`, `rejected`, `control`), `key` (see [`record_key`]) and then the
//! record's fields under the names of the Python attributes (`to_dict()`), e.g. for an utterance
//! `conversation_id`, `communication_id`, `utterance_id`, `channel`, `text`, `decorated_text`,
//! `words` and `decorated_words` (lists of `{word, offset_ms, duration_ms, confidence}`),
//! `confidence`, `language`, `start_ms`, `end_ms`, `received_at_ms`, `latency_ms`,
//! `event_time_ms`, `offset_ms`, `duration_ms`, `organization_id`, `engine`, `pii` (list of
//! `{kind, field, start, end}`) and `flags`. A conversation update writes `metadata` as an object
//! and `utterances_by_channel` / `words_by_channel` as `[channel, count]` pairs (so their order of
//! first appearance survives). Absent optional values are `null`; times are epoch milliseconds;
//! a non-finite float is `null`. Text is already redacted.

use std::fmt::Write as _;
use std::hash::Hasher;

use serde_json::{Map, Value};

use crate::record::{
    Control, ConversationUpdate, Gap, Partial, Participant, PiiFinding, Record, Rejected,
    Utterance, Word,
};

/// The JSON Lines schema version written in every line's `v`.
pub const SCHEMA_VERSION: u64 = 1;

/// A JSON line that is not a record of this schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The field at fault (`type`, `v`, `words`, …) or `json` for malformed JSON.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ParseError {}

/// A borrowed record, so callers holding the parts (the Python bindings) encode without cloning.
/// Every encoder takes `impl Into<RecordRef>`, so a `&Record` works too.
#[derive(Clone, Copy, Debug)]
pub enum RecordRef<'a> {
    Utterance(&'a Utterance),
    Partial(&'a Partial),
    ConversationUpdate(&'a ConversationUpdate),
    Gap(&'a Gap),
    Rejected(&'a Rejected),
    Control(&'a Control),
}

impl<'a> From<&'a Record> for RecordRef<'a> {
    fn from(r: &'a Record) -> Self {
        match r {
            Record::Utterance(x) => Self::Utterance(x),
            Record::Partial(x) => Self::Partial(x),
            Record::ConversationUpdate(x) => Self::ConversationUpdate(x),
            Record::Gap(x) => Self::Gap(x),
            Record::Rejected(x) => Self::Rejected(x),
            Record::Control(x) => Self::Control(x),
        }
    }
}

impl RecordRef<'_> {
    /// The record kind, as [`Record::kind`].
    pub fn kind(self) -> &'static str {
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

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// The idempotency key of a record: equal for a replay of the same record, distinct otherwise.
///
/// * utterance: `utterance/{conversation}/{communication or -}/{utterance id}`, the engine's own
///   de-duplication key;
/// * partial: the utterance key plus `received_at_ms` and `end_ms` (each partial is a revision);
/// * conversation update: `conversation/{id}/{kind}/{at_ms}`;
/// * gap: `gap/{stream}/{kind}/{expected}/{got}`;
/// * rejected: `rejected/{reason}/{offset or -}/{hash of the sample}` (identical bad input at the
///   same offset shares a key);
/// * control: `control/{kind}/{received_at_ms}/{topic or -}`.
pub fn record_key<'a>(record: impl Into<RecordRef<'a>>) -> String {
    let mut k = String::with_capacity(96);
    // `write!` into a String cannot fail.
    let _ = match record.into() {
        RecordRef::Utterance(u) => write!(
            k,
            "utterance/{}/{}/{}",
            u.conversation_id,
            dash(u.communication_id.as_deref()),
            u.utterance_id
        ),
        RecordRef::Partial(p) => write!(
            k,
            "partial/{}/{}/{}/{}/{}",
            p.conversation_id,
            dash(p.communication_id.as_deref()),
            p.utterance_id,
            p.received_at_ms,
            p.end_ms
        ),
        RecordRef::ConversationUpdate(c) => write!(
            k,
            "conversation/{}/{}/{}",
            c.conversation_id, c.kind, c.at_ms
        ),
        RecordRef::Gap(g) => write!(k, "gap/{}/{}/{}/{}", g.stream, g.kind, g.expected, g.got),
        RecordRef::Rejected(r) => write!(
            k,
            "rejected/{}/{}/{:016x}",
            r.reason,
            r.offset.map_or_else(|| "-".to_owned(), |o| o.to_string()),
            fnv1a(r.sample.as_bytes())
        ),
        RecordRef::Control(c) => write!(
            k,
            "control/{}/{}/{}",
            c.kind,
            c.received_at_ms,
            dash(c.topic.as_deref())
        ),
    };
    k
}

fn dash(s: Option<&str>) -> &str {
    s.unwrap_or("-")
}

/// FNV-1a, 64 bit: stable across runs and platforms (unlike `DefaultHasher`), which keys need.
fn fnv1a(bytes: &[u8]) -> u64 {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for &b in bytes {
                self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write(bytes);
    h.finish()
}

// ---------------------------------------------------------------------------------------------
// JSON Lines
// ---------------------------------------------------------------------------------------------

/// Appends JSON fields to a buffer; the first field opens the object.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes()); // keys are our own ASCII identifiers
        self.out.extend_from_slice(b"\":");
        self.out
    }

    fn str(&mut self, k: &str, v: &str) -> &mut Self {
        let out = self.key(k);
        json_str(out, v);
        self
    }

    fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(s) => self.str(k, s),
            None => self.raw(k, "null"),
        }
    }

    fn int(&mut self, k: &str, v: impl itoa_like::Int) -> &mut Self {
        let out = self.key(k);
        v.write(out);
        self
    }

    fn opt_int(&mut self, k: &str, v: Option<impl itoa_like::Int>) -> &mut Self {
        match v {
            Some(i) => self.int(k, i),
            None => self.raw(k, "null"),
        }
    }

    fn float(&mut self, k: &str, v: f64) -> &mut Self {
        let out = self.key(k);
        json_float(out, v);
        self
    }

    fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.raw(k, if v { "true" } else { "false" })
    }

    fn raw(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k).extend_from_slice(v.as_bytes());
        self
    }

    fn list<T>(&mut self, k: &str, items: &[T], each: impl Fn(&mut Vec<u8>, &T)) -> &mut Self {
        let out = self.key(k);
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            each(out, item);
        }
        out.push(b']');
        self
    }

    /// An object from key/value pairs, in their order.
    fn pairs<V>(
        &mut self,
        k: &str,
        items: &[(String, V)],
        each: impl Fn(&mut Vec<u8>, &V),
    ) -> &mut Self {
        let out = self.key(k);
        out.push(b'{');
        for (i, (key, v)) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_str(out, key);
            out.push(b':');
            each(out, v);
        }
        out.push(b'}');
        self
    }

    fn close(&mut self) {
        self.out.push(b'}');
    }
}

/// Integers without going through `format!` for every field.
mod itoa_like {
    pub trait Int: Copy {
        fn write(self, out: &mut Vec<u8>);
    }
    macro_rules! int {
        ($($t:ty),*) => {$(
            impl Int for $t {
                fn write(self, out: &mut Vec<u8>) {
                    use std::io::Write as _;
                    let _ = write!(out, "{self}");
                }
            }
        )*};
    }
    int!(i64, u64, usize);
}

fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            let _ = std::io::Write::write_fmt(out, format_args!("\\u{b:04x}"));
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// A float as JSON: finite values round-trip exactly; NaN and infinities become `null`.
fn json_float(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let _ = std::io::Write::write_fmt(out, format_args!("{v:?}"));
    } else {
        out.extend_from_slice(b"null");
    }
}

fn word_json(out: &mut Vec<u8>, w: &Word) {
    let mut o = Obj::new(out);
    o.str("word", &w.word)
        .int("offset_ms", w.offset_ms)
        .int("duration_ms", w.duration_ms)
        .float("confidence", w.confidence);
    o.close();
}

fn finding_json(out: &mut Vec<u8>, f: &PiiFinding) {
    let mut o = Obj::new(out);
    o.str("kind", &f.kind)
        .str("field", f.field)
        .int("start", f.start)
        .int("end", f.end);
    o.close();
}

fn participant_json(out: &mut Vec<u8>, p: &Participant) {
    let mut o = Obj::new(out);
    o.str("id", &p.id)
        .opt_str("purpose", p.purpose.as_deref())
        .opt_str("user_id", p.user_id.as_deref())
        .opt_str("queue_id", p.queue_id.as_deref())
        .bool("ended", p.ended);
    o.close();
}

/// `[name, count]`: per-channel counts keep their order of first appearance.
fn count_pair_json(out: &mut Vec<u8>, (name, n): &(String, u64)) {
    out.push(b'[');
    json_str(out, name);
    out.push(b',');
    itoa_like::Int::write(*n, out);
    out.push(b']');
}

#[allow(clippy::ptr_arg)] // the element type of `&[String]` lists
fn string_json(out: &mut Vec<u8>, s: &String) {
    json_str(out, s);
}

/// Append `record` as one JSON line (ending in `\n`) to `out`. See the module docs for the schema.
pub fn write_json_line<'a>(record: impl Into<RecordRef<'a>>, out: &mut Vec<u8>) {
    let record = record.into();
    let key = record_key(record);
    let mut o = Obj::new(out);
    o.int("v", SCHEMA_VERSION)
        .str("type", record.kind())
        .str("key", &key);
    match record {
        RecordRef::Utterance(u) => {
            o.str("conversation_id", &u.conversation_id)
                .opt_str("communication_id", u.communication_id.as_deref())
                .str("utterance_id", &u.utterance_id)
                .str("channel", &u.channel)
                .str("text", &u.text)
                .str("decorated_text", &u.decorated_text)
                .list("words", &u.words, word_json)
                .list("decorated_words", &u.decorated_words, word_json)
                .float("confidence", u.confidence)
                .opt_str("language", u.language.as_deref())
                .int("start_ms", u.start_ms)
                .int("end_ms", u.end_ms)
                .int("received_at_ms", u.received_at_ms)
                .int("latency_ms", u.latency_ms)
                .opt_int("event_time_ms", u.event_time_ms)
                .int("offset_ms", u.offset_ms)
                .int("duration_ms", u.duration_ms)
                .opt_str("organization_id", u.organization_id.as_deref())
                .opt_str("engine", u.engine.as_deref())
                .list("pii", &u.pii, finding_json)
                .list("flags", &u.flags, string_json);
        }
        RecordRef::Partial(p) => {
            o.str("conversation_id", &p.conversation_id)
                .opt_str("communication_id", p.communication_id.as_deref())
                .str("utterance_id", &p.utterance_id)
                .str("channel", &p.channel)
                .str("text", &p.text)
                .float("confidence", p.confidence)
                .int("start_ms", p.start_ms)
                .int("end_ms", p.end_ms)
                .int("received_at_ms", p.received_at_ms)
                .list("flags", &p.flags, string_json)
                .str("state", &p.state);
        }
        RecordRef::ConversationUpdate(c) => {
            o.str("conversation_id", &c.conversation_id)
                .str("kind", &c.kind)
                .opt_str("status", c.status.as_deref())
                .opt_str("communication_id", c.communication_id.as_deref())
                .opt_str("topic", c.topic.as_deref())
                .int("at_ms", c.at_ms)
                .list("participants", &c.participants, participant_json)
                .int("utterances", c.utterances)
                .int("words", c.words)
                .opt_int("first_ms", c.first_ms)
                .opt_int("last_ms", c.last_ms)
                .pairs("metadata", &c.metadata, |out, v| json_str(out, v))
                .list(
                    "utterances_by_channel",
                    &c.utterances_by_channel,
                    count_pair_json,
                )
                .list("words_by_channel", &c.words_by_channel, count_pair_json)
                .opt_str("reason", c.reason.as_deref());
        }
        RecordRef::Gap(g) => {
            o.str("stream", &g.stream)
                .str("kind", &g.kind)
                .int("expected", g.expected)
                .int("got", g.got)
                .int("count", g.count)
                .int("at_ms", g.at_ms);
        }
        RecordRef::Rejected(r) => {
            o.str("reason", &r.reason)
                .opt_int("offset", r.offset)
                .str("sample", &r.sample)
                .str("message", &r.message);
        }
        RecordRef::Control(c) => {
            o.str("kind", &c.kind)
                .opt_str("topic", c.topic.as_deref())
                .opt_str("message", c.message.as_deref())
                .opt_str("code", c.code.as_deref())
                .int("received_at_ms", c.received_at_ms);
        }
    }
    o.close();
    out.push(b'\n');
}

/// Field access on a parsed line with errors that name the field.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn err(field: &str, message: &str) -> ParseError {
        ParseError {
            field: field.to_owned(),
            message: message.to_owned(),
        }
    }

    fn get(&self, k: &str) -> Option<&Value> {
        self.0.get(k).filter(|v| !v.is_null())
    }

    fn str(&self, k: &str) -> Result<String, ParseError> {
        self.opt_str(k)?.ok_or_else(|| Self::err(k, "missing"))
    }

    fn opt_str(&self, k: &str) -> Result<Option<String>, ParseError> {
        self.get(k)
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Self::err(k, "expected a string"))
            })
            .transpose()
    }

    fn i64(&self, k: &str) -> Result<i64, ParseError> {
        self.opt_i64(k)?.ok_or_else(|| Self::err(k, "missing"))
    }

    fn opt_i64(&self, k: &str) -> Result<Option<i64>, ParseError> {
        self.get(k)
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| Self::err(k, "expected an integer"))
            })
            .transpose()
    }

    fn u64(&self, k: &str) -> Result<u64, ParseError> {
        self.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| Self::err(k, "expected a non-negative integer"))
    }

    fn f64(&self, k: &str) -> Result<f64, ParseError> {
        // `null` is how a non-finite float was written.
        self.get(k).map_or(Ok(f64::NAN), |v| {
            v.as_f64().ok_or_else(|| Self::err(k, "expected a number"))
        })
    }

    fn bool(&self, k: &str) -> Result<bool, ParseError> {
        self.get(k)
            .and_then(Value::as_bool)
            .ok_or_else(|| Self::err(k, "expected a boolean"))
    }

    fn list<T>(
        &self,
        k: &str,
        each: impl Fn(&Fields<'_>) -> Result<T, ParseError>,
    ) -> Result<Vec<T>, ParseError> {
        let Some(v) = self.get(k) else {
            return Ok(Vec::new());
        };
        let items = v
            .as_array()
            .ok_or_else(|| Self::err(k, "expected a list"))?;
        items
            .iter()
            .map(|item| {
                item.as_object()
                    .ok_or_else(|| Self::err(k, "expected objects"))
                    .and_then(|m| each(&Fields(m)))
            })
            .collect()
    }

    fn string_map(&self, k: &str) -> Result<Vec<(String, String)>, ParseError> {
        let Some(v) = self.get(k) else {
            return Ok(Vec::new());
        };
        let map = v
            .as_object()
            .ok_or_else(|| Self::err(k, "expected an object"))?;
        map.iter()
            .map(|(key, v)| {
                Ok((
                    key.clone(),
                    v.as_str()
                        .ok_or_else(|| Self::err(k, "expected string values"))?
                        .to_owned(),
                ))
            })
            .collect()
    }

    fn count_pairs(&self, k: &str) -> Result<Vec<(String, u64)>, ParseError> {
        let Some(v) = self.get(k) else {
            return Ok(Vec::new());
        };
        let items = v
            .as_array()
            .ok_or_else(|| Self::err(k, "expected a list"))?;
        items
            .iter()
            .map(|pair| match pair.as_array().map(Vec::as_slice) {
                Some([Value::String(name), n]) => n
                    .as_u64()
                    .map(|n| (name.clone(), n))
                    .ok_or_else(|| Self::err(k, "expected a count")),
                _ => Err(Self::err(k, "expected [name, count] pairs")),
            })
            .collect()
    }

    fn strings(&self, k: &str) -> Result<Vec<String>, ParseError> {
        let Some(v) = self.get(k) else {
            return Ok(Vec::new());
        };
        let items = v
            .as_array()
            .ok_or_else(|| Self::err(k, "expected a list"))?;
        items
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Self::err(k, "expected strings"))
            })
            .collect()
    }
}

fn word_from(f: &Fields<'_>) -> Result<Word, ParseError> {
    Ok(Word {
        word: f.str("word")?.into(),
        offset_ms: f.i64("offset_ms")?,
        duration_ms: f.i64("duration_ms")?,
        confidence: f.f64("confidence")?,
    })
}

fn finding_from(f: &Fields<'_>) -> Result<PiiFinding, ParseError> {
    let field = match f.str("field")?.as_str() {
        "text" => "text",
        "decorated_text" => "decorated_text",
        "words" => "words",
        "decorated_words" => "decorated_words",
        _ => return Err(Fields::err("pii", "unknown field")),
    };
    Ok(PiiFinding {
        kind: f.str("kind")?,
        field,
        start: f.u64("start")? as usize,
        end: f.u64("end")? as usize,
    })
}

fn participant_from(f: &Fields<'_>) -> Result<Participant, ParseError> {
    Ok(Participant {
        id: f.str("id")?,
        purpose: f.opt_str("purpose")?,
        user_id: f.opt_str("user_id")?,
        queue_id: f.opt_str("queue_id")?,
        ended: f.bool("ended")?,
    })
}

/// Read back one line written by [`write_json_line`] (the trailing newline is optional).
pub fn parse_json_line(line: &[u8]) -> Result<Record, ParseError> {
    let value: Value =
        serde_json::from_slice(line).map_err(|e| Fields::err("json", &e.to_string()))?;
    let map = value
        .as_object()
        .ok_or_else(|| Fields::err("json", "expected an object"))?;
    let f = Fields(map);
    if f.u64("v")? != SCHEMA_VERSION {
        return Err(Fields::err("v", "unsupported schema version"));
    }
    let record = match f.str("type")?.as_str() {
        "utterance" => Record::Utterance(Utterance {
            conversation_id: f.str("conversation_id")?,
            communication_id: f.opt_str("communication_id")?,
            utterance_id: f.str("utterance_id")?,
            channel: f.str("channel")?,
            text: f.str("text")?,
            decorated_text: f.str("decorated_text")?,
            words: f.list("words", word_from)?,
            decorated_words: f.list("decorated_words", word_from)?,
            confidence: f.f64("confidence")?,
            language: f.opt_str("language")?,
            start_ms: f.i64("start_ms")?,
            end_ms: f.i64("end_ms")?,
            received_at_ms: f.i64("received_at_ms")?,
            latency_ms: f.i64("latency_ms")?,
            event_time_ms: f.opt_i64("event_time_ms")?,
            offset_ms: f.i64("offset_ms")?,
            duration_ms: f.i64("duration_ms")?,
            organization_id: f.opt_str("organization_id")?,
            engine: f.opt_str("engine")?,
            pii: f.list("pii", finding_from)?,
            flags: f.strings("flags")?,
        }),
        "partial" => Record::Partial(Partial {
            conversation_id: f.str("conversation_id")?,
            communication_id: f.opt_str("communication_id")?,
            utterance_id: f.str("utterance_id")?,
            channel: f.str("channel")?,
            text: f.str("text")?,
            confidence: f.f64("confidence")?,
            start_ms: f.i64("start_ms")?,
            end_ms: f.i64("end_ms")?,
            received_at_ms: f.i64("received_at_ms")?,
            flags: f.strings("flags")?,
            state: f.str("state")?,
        }),
        "conversation_update" => Record::ConversationUpdate(ConversationUpdate {
            conversation_id: f.str("conversation_id")?,
            kind: f.str("kind")?,
            status: f.opt_str("status")?,
            communication_id: f.opt_str("communication_id")?,
            topic: f.opt_str("topic")?,
            at_ms: f.i64("at_ms")?,
            participants: f.list("participants", participant_from)?,
            utterances: f.u64("utterances")?,
            words: f.u64("words")?,
            first_ms: f.opt_i64("first_ms")?,
            last_ms: f.opt_i64("last_ms")?,
            metadata: f.string_map("metadata")?,
            utterances_by_channel: f.count_pairs("utterances_by_channel")?,
            words_by_channel: f.count_pairs("words_by_channel")?,
            reason: f.opt_str("reason")?,
        }),
        "gap" => Record::Gap(Gap {
            stream: f.str("stream")?,
            kind: f.str("kind")?,
            expected: f.i64("expected")?,
            got: f.i64("got")?,
            count: f.u64("count")?,
            at_ms: f.i64("at_ms")?,
        }),
        "rejected" => Record::Rejected(Rejected {
            reason: f.str("reason")?,
            offset: f.get("offset").map(|_| f.u64("offset")).transpose()?,
            sample: f.str("sample")?,
            message: f.str("message")?,
        }),
        "control" => Record::Control(Control {
            kind: f.str("kind")?,
            topic: f.opt_str("topic")?,
            message: f.opt_str("message")?,
            code: f.opt_str("code")?,
            received_at_ms: f.i64("received_at_ms")?,
        }),
        other => {
            return Err(Fields::err(
                "type",
                &format!("unknown record type {other:?}"),
            ));
        }
    };
    Ok(record)
}

// ---------------------------------------------------------------------------------------------
// Influx line protocol
// ---------------------------------------------------------------------------------------------

/// Escape a measurement name: commas and spaces (and newlines, which cannot be represented, become
/// spaces first).
fn lp_measurement(out: &mut Vec<u8>, s: &str) {
    lp_escape(out, s, b", ");
}

/// Escape a tag key, tag value or field key: commas, equals signs and spaces.
fn lp_key(out: &mut Vec<u8>, s: &str) {
    lp_escape(out, s, b",= ");
}

fn lp_escape(out: &mut Vec<u8>, s: &str, special: &[u8]) {
    for &b in s.as_bytes() {
        let b = if b == b'\n' || b == b'\r' { b' ' } else { b };
        if special.contains(&b) || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// A string field value: quoted, with `"` and `\` escaped; newlines become spaces (Influx 1.x
/// cannot take them inside a line).
fn lp_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\n' | b'\r' => out.push(b' '),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// The point's timestamp in ns: the utterance start in ms, plus a sub-millisecond offset derived
/// from the utterance key.
///
/// Influx identifies a point by measurement, tag set and timestamp, and a second write of the
/// same point overwrites the first: this is what makes a replay idempotent. The key-derived
/// nanoseconds keep two different utterances that start in the same millisecond on the same
/// conversation and channel from overwriting each other, without an utterance-id tag (which
/// would explode the series cardinality).
pub fn utterance_timestamp_ns(u: &Utterance) -> i64 {
    let key = format!(
        "{}/{}/{}",
        u.conversation_id,
        dash(u.communication_id.as_deref()),
        u.utterance_id
    );
    u.start_ms
        .saturating_mul(1_000_000)
        .saturating_add((fnv1a(key.as_bytes()) % 1_000_000) as i64)
}

/// Append an utterance as one Influx point (ending in `\n`):
///
/// `{measurement},channel=…,conversation=…[,language=…] confidence=…,duration_ms=…i,latency_ms=…i,pii=…i,words=…i,text="…",utterance_id="…" {ns}`
///
/// Tags are sorted by key (as Influx prefers) and empty tags are left out (Influx refuses
/// them); a non-finite confidence is left out. The timestamp is [`utterance_timestamp_ns`].
pub fn write_line_protocol(u: &Utterance, measurement: &str, out: &mut Vec<u8>) {
    lp_measurement(out, measurement);
    for (k, v) in [
        ("channel", u.channel.as_str()),
        ("conversation", u.conversation_id.as_str()),
        ("language", u.language.as_deref().unwrap_or("")),
    ] {
        if !v.is_empty() {
            out.push(b',');
            out.extend_from_slice(k.as_bytes());
            out.push(b'=');
            lp_key(out, v);
        }
    }
    out.push(b' ');
    if u.confidence.is_finite() {
        let _ = std::io::Write::write_fmt(out, format_args!("confidence={:?},", u.confidence));
    }
    let _ = std::io::Write::write_fmt(
        out,
        format_args!(
            "duration_ms={}i,latency_ms={}i,pii={}i,words={}i,text=",
            u.duration_ms,
            u.latency_ms,
            u.pii.len(),
            u.words.len()
        ),
    );
    lp_string(out, &u.text);
    out.extend_from_slice(b",utterance_id=");
    lp_string(out, &u.utterance_id);
    let _ = std::io::Write::write_fmt(out, format_args!(" {}\n", utterance_timestamp_ns(u)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utterance() -> Utterance {
        Utterance {
            conversation_id: "c 1,x=y".into(),
            communication_id: None,
            utterance_id: "u\"1".into(),
            channel: "EXTERNAL".into(),
            text: "say \"hi\"\\ there\nnow".into(),
            decorated_text: "Say \"hi\".".into(),
            words: vec![Word {
                word: "say".into(),
                offset_ms: 0,
                duration_ms: 100,
                confidence: 0.5,
            }],
            decorated_words: vec![],
            confidence: 0.875,
            language: Some("en-US".into()),
            start_ms: 1_700_000_000_000,
            end_ms: 1_700_000_001_000,
            received_at_ms: 1_700_000_001_200,
            latency_ms: 200,
            event_time_ms: None,
            offset_ms: 10,
            duration_ms: 1000,
            organization_id: Some("org".into()),
            engine: None,
            pii: vec![PiiFinding {
                kind: "ssn".into(),
                field: "text",
                start: 1,
                end: 3,
            }],
            flags: vec!["low_confidence".into()],
        }
    }

    #[test]
    fn line_protocol_escapes() {
        let u = utterance();
        let mut out = Vec::new();
        write_line_protocol(&u, "utt erance,x", &mut out);
        let line = String::from_utf8(out).unwrap();
        let ts = utterance_timestamp_ns(&u);
        assert_eq!(
            line,
            format!(
                "utt\\ erance\\,x,channel=EXTERNAL,conversation=c\\ 1\\,x\\=y,language=en-US confidence=0.875,duration_ms=1000i,latency_ms=200i,pii=1i,words=1i,text=\"say \\\"hi\\\"\\\\ there now\",utterance_id=\"u\\\"1\" {ts}\n"
            )
        );
        assert_eq!(ts / 1_000_000, u.start_ms);
    }

    #[test]
    fn json_round_trip_every_kind() {
        let records = vec![
            Record::Utterance(utterance()),
            Record::Partial(Partial {
                conversation_id: "c".into(),
                communication_id: Some("m".into()),
                utterance_id: "u".into(),
                channel: "INTERNAL".into(),
                text: "\u{1}ctl\ttab é".into(),
                confidence: f64::NAN,
                start_ms: 1,
                end_ms: 2,
                received_at_ms: 3,
                flags: vec![],
                state: "interim".into(),
            }),
            Record::ConversationUpdate(ConversationUpdate {
                conversation_id: "c".into(),
                kind: "ended".into(),
                status: Some("SESSION_ENDED".into()),
                communication_id: None,
                topic: None,
                at_ms: 5,
                participants: vec![Participant {
                    id: "p".into(),
                    purpose: Some("agent".into()),
                    user_id: None,
                    queue_id: None,
                    ended: true,
                }],
                utterances: 3,
                words: 9,
                first_ms: Some(1),
                last_ms: None,
                metadata: vec![("a".into(), "1".into()), ("b".into(), "x\"y".into())],
                utterances_by_channel: vec![("INTERNAL".into(), 2), ("EXTERNAL".into(), 1)],
                words_by_channel: vec![("INTERNAL".into(), 6), ("EXTERNAL".into(), 3)],
                reason: None,
            }),
            Record::Rejected(Rejected {
                reason: "invalid_json".into(),
                offset: Some(3),
                sample: "{x".into(),
                message: "bad".into(),
            }),
            Record::Control(Control {
                kind: "heartbeat".into(),
                topic: None,
                message: None,
                code: Some("200".into()),
                received_at_ms: 7,
            }),
        ];
        for r in &records {
            let mut out = Vec::new();
            write_json_line(r, &mut out);
            let v: Value = serde_json::from_slice(&out).expect("valid JSON");
            assert_eq!(v["key"], record_key(r));
            let back = parse_json_line(&out).unwrap();
            match (r, &back) {
                (Record::Partial(a), Record::Partial(b)) => {
                    assert!(a.confidence.is_nan() && b.confidence.is_nan() && a.text == b.text);
                }
                _ => assert_eq!(&back, r),
            }
        }
    }

    #[test]
    fn parse_errors_name_the_field() {
        assert_eq!(parse_json_line(b"[1]").unwrap_err().field, "json");
        assert_eq!(
            parse_json_line(br#"{"v":2,"type":"gap"}"#)
                .unwrap_err()
                .field,
            "v"
        );
        assert_eq!(
            parse_json_line(br#"{"v":1,"type":"nope"}"#)
                .unwrap_err()
                .field,
            "type"
        );
        assert_eq!(
            parse_json_line(br#"{"v":1,"type":"gap","stream":"s"}"#)
                .unwrap_err()
                .field,
            "kind"
        );
    }

    #[test]
    fn keys_are_stable() {
        let u = utterance();
        assert_eq!(
            record_key(&Record::Utterance(u.clone())),
            "utterance/c 1,x=y/-/u\"1"
        );
        assert_eq!(
            utterance_timestamp_ns(&u),
            utterance_timestamp_ns(&u.clone())
        );
    }
}
