//! A fast reader for the document that makes up nearly all real traffic: a
//! `v2.conversations.{id}.transcription` envelope whose `topicName` comes first (as Genesys writes
//! it), with strings that need no unescaping.
//!
//! It reads straight into the same borrowed structs the serde reader fills, so everything after
//! reading is shared. It is strict rather than tolerant: any input it is not sure about — an
//! escape, a duplicate key, a float where an integer belongs, a number as a string, anything that
//! is not well-formed JSON — makes it give up (`None`), and the serde reader, which has the full
//! tolerance and the error messages, reads the document instead. It never rejects a document, so
//! the two readers cannot disagree about what is valid.

use std::borrow::Cow;

use super::{
    Alternative, Envelope, RequestStatus, TranscriptResult, TranscriptionBody, Word, word_event,
};
use crate::decode::{LenientI64, LenientStr, Reading};

/// Deeper than this, the serde reader (with its own recursion limit) takes over.
const MAX_DEPTH: usize = 64;

/// Room for a word list: most utterances have fewer words, so most lists never grow.
const WORDS: usize = 16;

/// The envelope of a transcription frame, or `None` to let the serde reader decide.
///
/// Without `reading.interim_details`, the word lists of a result already known to be interim
/// (`isFinal: false` before `alternatives`, as Genesys writes it) are checked word by word exactly
/// as if they were read, and then dropped instead of collected.
pub(super) fn envelope(text: &str, reading: Reading) -> Option<Envelope<'_>> {
    let mut r = Reader {
        text,
        bytes: text.as_bytes(),
        at: 0,
        interim_words: reading.interim_details,
    };
    let mut env = Envelope::default();
    let mut seen = Seen::default();
    r.object(|r, key| {
        match key {
            "topicName" => {
                seen.once(0)?;
                let topic = r.string()?;
                if !super::is_transcription_topic(topic) {
                    return None;
                }
                env.topic_name = LenientStr(Some(Cow::Borrowed(topic)));
            }
            // `topicName` must come first: the body's meaning depends on it.
            "eventBody" if env.topic_name.0.is_some() => {
                seen.once(1)?;
                env.transcription = Some(r.body()?);
            }
            "eventBody" | "result" | "status" | "message" => return None,
            _ => r.skip(1)?,
        }
        Some(())
    })?;
    r.ws();
    (r.at == r.bytes.len() && env.transcription.is_some()).then_some(env)
}

/// Object keys as they are written before their values, `"key":`, for [`Reader::fields`].
macro_rules! keys {
    ($($key:literal),* $(,)?) => {
        [$(concat!("\"", $key, "\":")),*]
    };
}

/// Keys already read in one object: a repeated key is left to the serde reader.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn once(&mut self, bit: u32) -> Option<()> {
        let mask = 1 << bit;
        (self.0 & mask == 0).then(|| self.0 |= mask)
    }
}

/// The high bit of each byte of `chunk` that may be `"`, `\\` or a control character; the
/// lowest one set is exact (borrows only mark bytes above a true match), which is all the
/// string reader needs.
fn special(chunk: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = chunk ^ (ONES * u64::from(b'"'));
    let backslash = chunk ^ (ONES * u64::from(b'\\'));
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v;
    (zero_byte(quote) | zero_byte(backslash) | (chunk.wrapping_sub(ONES * 0x20) & !chunk)) & HIGH
}

/// A run of digits at `at`, accumulated into `mantissa` (the first 19) and counted; false if
/// there is none.
fn run(b: &[u8], at: &mut usize, mantissa: &mut u64, digits: &mut usize) -> bool {
    let from = *at;
    while let Some(&c @ b'0'..=b'9') = b.get(*at) {
        if *digits < 19 {
            *mantissa = *mantissa * 10 + u64::from(c - b'0');
        }
        *digits += 1;
        *at += 1;
    }
    *at > from
}

/// A number read by [`Reader::plain`]: at most 15 digits, so the mantissa is exact.
struct Plain {
    negative: bool,
    mantissa: u64,
    fraction_digits: usize,
}

impl Plain {
    /// As [`Reader::number`] reads it: an integer, or Clinger's exact quotient.
    fn as_f64(&self) -> f64 {
        if self.fraction_digits == 0 {
            return self.as_i64() as f64;
        }
        let v = self.mantissa as f64 / POW10[self.fraction_digits];
        if self.negative { -v } else { v }
    }

    fn as_i64(&self) -> i64 {
        let v = self.mantissa as i64;
        if self.negative { -v } else { v }
    }
}

enum Number {
    Int(i64),
    Float(f64),
}

const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    interim_words: bool,
}

// Every reader returns `Option`: `None` means "give up, let serde read it". A field that may be
// `null` is therefore `Option<Option<T>>`, the inner `None` being the JSON null.
#[allow(clippy::option_option)]
impl<'a> Reader<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// The bytes `word` next (no whitespace skipped). A fixed-size array compares as a few word
    /// loads rather than a call to `memcmp`.
    fn literal<const N: usize>(&mut self, word: &[u8; N]) -> Option<()> {
        let end = self.at + N;
        let next: &[u8; N] = self.bytes.get(self.at..end)?.try_into().ok()?;
        (next == word).then(|| self.at = end)
    }

    /// `null` (consumed) or not (nothing consumed).
    fn null(&mut self) -> Option<bool> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(true);
        }
        Some(false)
    }

    /// A string without escapes or control characters, borrowed from the document.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        // Eight bytes at a time to the first byte that needs a look, then one at a time.
        let mut at = start;
        while let Some(chunk) = self.bytes.get(at..at + 8) {
            let Ok(chunk) = <[u8; 8]>::try_from(chunk) else {
                break;
            };
            let found = special(u64::from_le_bytes(chunk));
            if found != 0 {
                at += (found.trailing_zeros() / 8) as usize;
                break;
            }
            at += 8;
        }
        loop {
            match *self.bytes.get(at)? {
                b'"' => break,
                b'\\' | 0..0x20 => return None,
                _ => at += 1,
            }
        }
        self.at = at + 1;
        // `"` never occurs inside a multi-byte UTF-8 sequence, so `at` is a boundary.
        Some(&self.text[start..at])
    }

    /// A number: an integer when it is written as one and fits, else a float.
    fn number(&mut self) -> Option<Number> {
        self.ws();
        let b = self.bytes;
        let start = self.at;
        let mut at = start;
        let negative = b.get(at) == Some(&b'-');
        at += usize::from(negative);
        // Up to 19 digits are accumulated; 18 always fit an i64.
        let (mut mantissa, mut digits) = (0u64, 0usize);
        if b.get(at) == Some(&b'0') {
            at += 1;
            digits += 1;
        } else if !run(b, &mut at, &mut mantissa, &mut digits) {
            return None;
        }
        let int_digits = digits;
        let mut exact = true;
        if b.get(at) == Some(&b'.') {
            at += 1;
            if !run(b, &mut at, &mut mantissa, &mut digits) {
                return None;
            }
        }
        if matches!(b.get(at), Some(b'e' | b'E')) {
            exact = false;
            at += 1;
            if matches!(b.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if !b.get(at).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
        }
        self.at = at;
        let fraction = digits - int_digits;
        if exact && fraction == 0 && digits <= 18 {
            if negative && mantissa == 0 {
                // serde reads `-0` as the float -0.0.
                return Some(Number::Float(-0.0));
            }
            let v = mantissa as i64;
            return Some(Number::Int(if negative { -v } else { v }));
        }
        // Clinger's fast path: an exact mantissa divided by an exact power of ten is rounded
        // once, correctly. Anything longer goes through the full parser.
        let value = if exact && digits <= 15 {
            mantissa as f64 / POW10[fraction]
        } else {
            self.text[start..at].parse::<f64>().ok()?.abs()
        };
        // Out of range (`1e400`) is an error for the serde reader, not infinity.
        value
            .is_finite()
            .then_some(Number::Float(if negative { -value } else { value }))
    }

    fn lenient_str(&mut self) -> Option<LenientStr<'a>> {
        if self.null()? {
            return Some(LenientStr(None));
        }
        Some(LenientStr(Some(Cow::Borrowed(self.string()?))))
    }

    fn lenient_i64(&mut self) -> Option<LenientI64> {
        if self.null()? {
            return Some(LenientI64(None));
        }
        match self.number()? {
            Number::Int(v) => Some(LenientI64(Some(v))),
            // Integral floats and long integers are the serde reader's to judge.
            Number::Float(_) => None,
        }
    }

    fn f64(&mut self) -> Option<Option<f64>> {
        if self.null()? {
            return Some(None);
        }
        Some(Some(match self.number()? {
            Number::Int(v) => v as f64,
            Number::Float(v) => v,
        }))
    }

    fn bool(&mut self) -> Option<Option<bool>> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|()| Some(true)),
            b'f' => self.literal(b"false").map(|()| Some(false)),
            b'n' => self.literal(b"null").map(|()| None),
            _ => None,
        }
    }

    /// `{ "key": value, ... }`, calling `field` with the reader positioned at each value.
    fn object(&mut self, field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.object_keyed(
            |r| {
                let key = r.string()?;
                r.eat(b':').map(|()| key)
            },
            field,
        )
    }

    /// `{ "key": value, ... }` for an object whose keys are usually `keys`, in that order (as
    /// Genesys writes them; each written `"key":`, see [`keys!`]): each key is first compared as
    /// bytes with the one expected next, and only read as a string when it is not that one.
    /// `field` gets the key's index in `keys`, or `None` for any other key (to skip). A repeated
    /// key gives up.
    fn fields<const N: usize>(
        &mut self,
        keys: &[&str; N],
        field: impl FnMut(&mut Self, Option<usize>) -> Option<()>,
    ) -> Option<()> {
        let mut next = 0;
        let mut seen = Seen::default();
        self.object_keyed(
            |r| {
                let found = match keys.get(next) {
                    Some(key) if r.next_is(key.as_bytes()) => Some(next),
                    _ => {
                        let key = r.string()?;
                        r.eat(b':')?;
                        // `"key":` without its quotes and colon.
                        keys.iter().position(|k| &k[1..k.len() - 2] == key)
                    }
                };
                if let Some(i) = found {
                    seen.once(i as u32)?;
                    next = i + 1;
                }
                Some(found)
            },
            field,
        )
    }

    /// The bytes `word` (at least 8 of them) next, consumed; nothing consumed when they are not.
    /// Compared eight bytes at a time (the last eight overlapping), without a call to `memcmp`.
    fn next_is(&mut self, word: &[u8]) -> bool {
        let load = |b: &[u8], at: usize| -> u64 {
            let mut chunk = [0; 8];
            chunk.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(chunk)
        };
        let n = word.len();
        debug_assert!(n >= 8);
        let Some(next) = self.bytes.get(self.at..self.at + n) else {
            return false;
        };
        let mut at = 0;
        while at + 8 < n {
            if load(next, at) != load(word, at) {
                return false;
            }
            at += 8;
        }
        let hit = load(next, n - 8) == load(word, n - 8);
        if hit {
            self.at += n;
        }
        hit
    }

    /// [`Reader::object`] with the key read by `key`.
    fn object_keyed<K>(
        &mut self,
        mut key: impl FnMut(&mut Self) -> Option<K>,
        mut field: impl FnMut(&mut Self, K) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let k = key(self)?;
            field(self, k)?;
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.ws();
                }
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `[ item, ... ]` (true) or `null` (false), calling `item` at each element.
    fn each(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<bool> {
        if self.null()? {
            return Some(false);
        }
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.at += 1;
            return Some(true);
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(true);
                }
                _ => return None,
            }
        }
    }

    /// `[ item, ... ]` or `null`, reading each item with `item` into a vector made for `capacity`
    /// items (so the usual list is allocated once).
    fn list<T>(
        &mut self,
        capacity: usize,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Option<Vec<T>>> {
        let mut out = Vec::with_capacity(capacity);
        let present = self.each(|r| {
            out.push(item(r)?);
            Some(())
        })?;
        Some(present.then_some(out))
    }

    /// True (and the value consumed) when the next value is written exactly as the value
    /// already read at `earlier`: a complete, well-formed value read the same way a second time.
    fn same_value(&mut self, earlier: std::ops::Range<usize>) -> bool {
        self.ws();
        let value = &self.bytes[earlier];
        let same = !value.is_empty() && self.bytes[self.at..].starts_with(value);
        if same {
            self.at += value.len();
        }
        same
    }

    /// A word list checked as [`Reader::word`] reads it, nothing kept.
    fn unread_words(&mut self) -> Option<()> {
        self.each(|r| {
            let from = r.at;
            if r.skip_word_as_written().is_some() {
                return Some(());
            }
            r.at = from;
            r.word().map(drop)
        })
        .map(drop)
    }

    /// A word object as Genesys writes it, with plain numbers, checked without being read. It
    /// accepts only what [`Reader::word`] accepts too; anything else is left to it.
    fn skip_word_as_written(&mut self) -> Option<()> {
        self.ws();
        self.literal(b"{\"confidence\":")?;
        self.plain(true)?;
        self.literal(b",\"offsetMs\":")?;
        self.plain(false)?;
        self.literal(b",\"durationMs\":")?;
        self.plain(false)?;
        self.literal(b",\"word\":")?;
        self.string()?;
        self.literal(b"}")
    }

    /// `-?(0|[1-9][0-9]*)`, and `.[0-9]+` when `fraction`, at most 15 digits in all, right here
    /// (no whitespace): a number that [`Reader::number`] reads exactly and the same way (an
    /// integer that fits, or a float from an exact mantissa). Exponents, longer numbers and a
    /// fraction where an integer belongs are left to the full reader (`None`).
    fn plain(&mut self, fraction: bool) -> Option<Plain> {
        let b = self.bytes;
        let mut at = self.at;
        let negative = b.get(at) == Some(&b'-');
        at += usize::from(negative);
        let mut mantissa = 0u64;
        let mut digits = |at: &mut usize| {
            let from = *at;
            while let Some(&c @ b'0'..=b'9') = b.get(*at) {
                mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                *at += 1;
            }
            *at - from
        };
        let start = at;
        let int = digits(&mut at);
        if int == 0 || (int > 1 && b[start] == b'0') {
            return None;
        }
        let mut fraction_digits = 0;
        if fraction && b.get(at) == Some(&b'.') {
            at += 1;
            fraction_digits = digits(&mut at);
            if fraction_digits == 0 {
                return None;
            }
        }
        if int + fraction_digits > 15 || matches!(b.get(at), Some(b'e' | b'E' | b'.')) {
            return None;
        }
        // `-0` is a float to serde (-0.0), not an integer: the full reader judges it.
        if negative && mantissa == 0 && fraction_digits == 0 {
            return None;
        }
        self.at = at;
        Some(Plain {
            negative,
            mantissa,
            fraction_digits,
        })
    }

    /// Any well-formed value, unread.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|r, _| r.skip(depth + 1)),
            b'[' => self.each(|r| r.skip(depth + 1)).map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }

    fn body(&mut self) -> Option<TranscriptionBody<'a>> {
        let mut body = TranscriptionBody {
            event_time: LenientStr(None),
            organization_id: LenientStr(None),
            conversation_id: LenientStr(None),
            communication_id: LenientStr(None),
            session_start_time_ms: LenientI64(None),
            transcripts: None,
            status: None,
        };
        let keys = keys![
            "eventTime",
            "organizationId",
            "conversationId",
            "communicationId",
            "sessionStartTimeMs",
            "transcripts",
            "status",
        ];
        self.fields(&keys, |r, key| {
            match key {
                Some(0) => body.event_time = r.lenient_str()?,
                Some(1) => body.organization_id = r.lenient_str()?,
                Some(2) => body.conversation_id = r.lenient_str()?,
                Some(3) => body.communication_id = r.lenient_str()?,
                Some(4) => body.session_start_time_ms = r.lenient_i64()?,
                Some(5) => body.transcripts = r.list(1, Self::result)?,
                Some(_) => body.status = r.status()?,
                None => r.skip(2)?,
            }
            Some(())
        })?;
        Some(body)
    }

    fn status(&mut self) -> Option<Option<RequestStatus<'a>>> {
        if self.null()? {
            return Some(None);
        }
        let mut status = RequestStatus {
            offset_ms: LenientI64(None),
            status: LenientStr(None),
        };
        self.fields(&keys!["offsetMs", "status"], |r, key| {
            match key {
                Some(0) => status.offset_ms = r.lenient_i64()?,
                Some(_) => status.status = r.lenient_str()?,
                None => r.skip(3)?,
            }
            Some(())
        })?;
        Some(Some(status))
    }

    fn result(&mut self) -> Option<TranscriptResult<'a>> {
        let mut t = TranscriptResult {
            utterance_id: LenientStr(None),
            is_final: None,
            channel: LenientStr(None),
            alternatives: None,
            engine_provider: LenientStr(None),
            engine_id: LenientStr(None),
            dialect: LenientStr(None),
        };
        let keys = keys![
            "utteranceId",
            "isFinal",
            "channel",
            "alternatives",
            "engineProvider",
            "engineId",
            "dialect",
        ];
        self.fields(&keys, |r, key| {
            match key {
                Some(0) => t.utterance_id = r.lenient_str()?,
                Some(1) => t.is_final = r.bool()?,
                Some(2) => t.channel = r.lenient_str()?,
                Some(3) => {
                    let words = r.interim_words || t.is_final != Some(false);
                    t.alternatives = r.list(1, |r| r.alternative(words))?;
                }
                Some(4) => t.engine_provider = r.lenient_str()?,
                Some(5) => t.engine_id = r.lenient_str()?,
                Some(_) => t.dialect = r.lenient_str()?,
                None => r.skip(4)?,
            }
            Some(())
        })?;
        Some(t)
    }

    /// A word object exactly as Genesys writes it, keys compared as bytes in their usual order
    /// (`{"confidence":…,"offsetMs":…,"durationMs":…,"word":…}`, no spaces around the keys);
    /// `None` for any other shape, which [`Reader::word`] then reads key by key.
    fn word_as_written(&mut self) -> Option<Word<'a>> {
        self.ws();
        self.literal(b"{\"confidence\":")?;
        let confidence = self.plain(true)?.as_f64();
        self.literal(b",\"offsetMs\":")?;
        let offset_ms = self.plain(false)?.as_i64();
        self.literal(b",\"durationMs\":")?;
        let duration_ms = self.plain(false)?.as_i64();
        self.literal(b",\"word\":")?;
        let word = self.string()?;
        self.literal(b"}")?;
        Some(Word {
            confidence: Some(confidence),
            offset_ms: LenientI64(Some(offset_ms)),
            duration_ms: LenientI64(Some(duration_ms)),
            word: LenientStr(Some(Cow::Borrowed(word))),
        })
    }

    /// One alternative; its word lists are checked but not kept unless `words`.
    fn alternative(&mut self, words: bool) -> Option<Alternative<'a>> {
        let mut a = Alternative {
            confidence: None,
            offset_ms: LenientI64(None),
            duration_ms: LenientI64(None),
            transcript: LenientStr(None),
            words: None,
            decorated_transcript: LenientStr(None),
            decorated_words: None,
        };
        let keys = keys![
            "confidence",
            "offsetMs",
            "durationMs",
            "transcript",
            "words",
            "decoratedTranscript",
            "decoratedWords",
        ];
        // Where the `words` value was read: a `decoratedWords` written byte for byte the same
        // (as Genesys writes it whenever there is nothing to decorate) is the same list.
        let mut words_at = 0..0;
        self.fields(&keys, |r, key| {
            match key {
                Some(0) => a.confidence = r.f64()?,
                Some(1) => a.offset_ms = r.lenient_i64()?,
                Some(2) => a.duration_ms = r.lenient_i64()?,
                Some(3) => a.transcript = r.lenient_str()?,
                Some(4) => {
                    r.ws();
                    let from = r.at;
                    if words {
                        a.words = r.list(WORDS, |r| r.word().as_ref().map(word_event))?;
                    } else {
                        r.unread_words()?;
                    }
                    words_at = from..r.at;
                }
                Some(5) => a.decorated_transcript = r.lenient_str()?,
                Some(_) => {
                    if r.same_value(words_at.clone()) {
                        a.decorated_words.clone_from(&a.words);
                    } else if words {
                        a.decorated_words = r.list(WORDS, |r| r.word().as_ref().map(word_event))?;
                    } else {
                        r.unread_words()?;
                    }
                }
                None => r.skip(6)?,
            }
            Some(())
        })?;
        Some(a)
    }

    fn word(&mut self) -> Option<Word<'a>> {
        let from = self.at;
        if let Some(w) = self.word_as_written() {
            return Some(w);
        }
        self.at = from;
        let mut w = Word {
            confidence: None,
            offset_ms: LenientI64(None),
            duration_ms: LenientI64(None),
            word: LenientStr(None),
        };
        let mut seen = Seen::default();
        self.object(|r, key| {
            match key {
                "confidence" => {
                    seen.once(0)?;
                    w.confidence = r.f64()?;
                }
                "offsetMs" => {
                    seen.once(1)?;
                    w.offset_ms = r.lenient_i64()?;
                }
                "durationMs" => {
                    seen.once(2)?;
                    w.duration_ms = r.lenient_i64()?;
                }
                "word" => {
                    seen.once(3)?;
                    w.word = r.lenient_str()?;
                }
                _ => r.skip(8)?,
            }
            Some(())
        })?;
        Some(w)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Envelope, decode_envelope};
    use crate::decode::{DecodeError, Event, Reading};

    const SAMPLE: &str = include_str!("../../../../../benches/data/envelopes-sample.jsonl");

    const WITHOUT_INTERIM_DETAILS: Reading = Reading {
        interim_details: false,
    };

    fn events(env: Envelope<'_>, reading: Reading) -> Result<Vec<Event>, DecodeError> {
        let mut out = Vec::new();
        decode_envelope(env, reading, &mut out).map(|()| out)
    }

    /// Whatever the fast reader accepts, serde accepts too, with the same events; and leaving
    /// out interim word lists changes what is kept, never what is accepted.
    fn agrees(doc: &str) -> bool {
        let accepted = agrees_reading(doc, Reading::ALL);
        assert_eq!(
            accepted,
            agrees_reading(doc, WITHOUT_INTERIM_DETAILS),
            "skipping interim words changed what is accepted: {doc}"
        );
        accepted
    }

    fn agrees_reading(doc: &str, reading: Reading) -> bool {
        let Some(fast) = super::envelope(doc, reading) else {
            return false;
        };
        let slow: Envelope<'_> = serde_json::from_str(doc)
            .unwrap_or_else(|e| panic!("fast reader accepted what serde rejects ({e}): {doc}"));
        // Compared as text: a missing confidence is NaN, which is not equal to itself.
        let (fast, slow) = (
            format!("{:?}", events(fast, reading)),
            format!("{:?}", events(slow, reading)),
        );
        assert!(fast == slow, "readers disagree on {doc}\n{fast}\n{slow}");
        true
    }

    /// The sample's finals, and the same frames as interim results.
    fn sample_lines() -> impl Iterator<Item = String> {
        SAMPLE.lines().flat_map(|line| {
            [
                line.to_owned(),
                line.replace("\"isFinal\":true", "\"isFinal\":false"),
            ]
        })
    }

    #[test]
    fn reads_the_benchmark_sample() {
        for line in sample_lines() {
            assert!(agrees(&line), "fast reader gave up on {line}");
        }
    }

    #[test]
    fn leaves_out_interim_word_lists_only_when_asked() {
        let interim = sample_lines().nth(1).expect("the sample has lines");
        let env = |reading| super::envelope(&interim, reading).expect("the fast reader reads it");
        let details = |evs: Vec<Event>| match &evs[0] {
            Event::Transcript(t) => (
                t.is_final,
                t.words.len(),
                t.decorated_words.len(),
                t.decorated_text.is_some(),
                t.engine.is_some(),
            ),
            other => panic!("not a transcript: {other:?}"),
        };
        let (is_final, all, all_decorated, decorated_text, engine) =
            details(events(env(Reading::ALL), Reading::ALL).expect("decodes"));
        assert!(!is_final && all > 0 && all_decorated > 0 && decorated_text && engine);
        let without =
            events(env(WITHOUT_INTERIM_DETAILS), WITHOUT_INTERIM_DETAILS).expect("decodes");
        assert_eq!(details(without), (false, 0, 0, false, false));
    }

    #[test]
    fn reads_the_pretty_printed_envelope() {
        assert!(agrees(include_str!(
            "../../../tests/data/transcription-envelope.json"
        )));
    }

    #[test]
    fn agrees_with_serde_on_damaged_documents() {
        let replacements = [
            "\"",
            "\\",
            "}",
            "]",
            "{",
            "[",
            ",",
            ":",
            " ",
            "0",
            "01",
            ".",
            "1.5",
            "e",
            "-",
            "x",
            "\u{1}",
            "null",
            "true",
            "\"a\"",
            "1e400",
            "12345678901234567890",
            "-0",
            "-0.0",
        ];
        let mut accepted = 0;
        for line in sample_lines().take(6) {
            let line = line.as_str();
            let cuts = line.char_indices().map(|(i, _)| i).step_by(5);
            for at in cuts {
                assert!(
                    !agrees(&line[..at]) || at == 0,
                    "accepted a prefix: {}",
                    &line[..at]
                );
                let next = line[at..].chars().next().map_or(0, char::len_utf8);
                for r in replacements {
                    let replaced = format!("{}{r}{}", &line[..at], &line[at + next..]);
                    let inserted = format!("{}{r}{}", &line[..at], &line[at..]);
                    accepted += usize::from(agrees(&replaced)) + usize::from(agrees(&inserted));
                }
            }
        }
        // Whitespace between tokens and changed digits are still the common shape.
        assert!(accepted > 1000, "{accepted}");
    }

    #[test]
    fn decorated_words_written_as_the_words_are_the_words() {
        let base = r#"{"topicName":"v2.conversations.c.transcription","eventBody":{"transcripts":[{"utteranceId":"u","isFinal":FINAL,"alternatives":[{"transcript":"four one","words":WORDS,"decoratedTranscript":"41","decoratedWords":DECORATED}]}]}}"#;
        let w = |word: &str, at: u32| {
            format!(r#"{{"confidence":0.9,"offsetMs":{at},"durationMs":10,"word":"{word}"}}"#)
        };
        let (four, one, forty_one) = (w("four", 0), w("one", 10), w("41", 0));
        let words = format!("[{four},{one}]");
        for decorated in [
            words.clone(),
            format!(" {words}"),
            format!("[{four}, {one}]"),
            format!("[{forty_one}]"),
            format!("[{four},{one},{one}]"),
            format!("[{four}]"),
            "null".to_owned(),
            "[]".to_owned(),
        ] {
            for fin in ["true", "false"] {
                let doc = base
                    .replace("FINAL", fin)
                    .replace("WORDS", &words)
                    .replace("DECORATED", &decorated);
                assert!(agrees(&doc), "{doc}");
                // The shortcut never takes a damaged copy: the serde reader judges it.
                let damaged = doc.replace(r#""decoratedWords":["#, r#""decoratedWords":[,"#);
                assert!(!agrees(&damaged) || !damaged.contains("[,"), "{damaged}");
            }
        }
        for (words, decorated) in [("null", "null"), ("[]", "[]")] {
            let doc = base
                .replace("FINAL", "true")
                .replace("WORDS", words)
                .replace("DECORATED", decorated);
            assert!(agrees(&doc), "{doc}");
        }
    }

    #[test]
    fn gives_up_on_what_needs_the_tolerant_reader() {
        let base = r#"{"topicName":"v2.conversations.c.transcription","eventBody":{"transcripts":[{"utteranceId":"u","alternatives":[{"offsetMs":OFFSET,"transcript":"TEXT"}]}]}}"#;
        let doc = |offset: &str, text: &str| base.replace("OFFSET", offset).replace("TEXT", text);
        assert!(agrees(&doc("5", "hi")));
        for (offset, text) in [
            ("5.0", "hi"),
            ("\"5\"", "hi"),
            ("5", "h\\u0069"),
            ("5", "tab\\t"),
        ] {
            assert!(!agrees(&doc(offset, text)), "{offset} {text}");
            let mut out = Vec::new();
            crate::decode::decode_into(
                crate::decode::WireFormat::Notifications,
                doc(offset, text).as_bytes(),
                &mut out,
            )
            .expect("the serde reader reads it");
        }
        // serde reads `-0` as a float: not an integer offset, and -0.0 as a confidence.
        assert!(!agrees(&doc("-0", "hi")));
        let word = r#"{"topicName":"v2.conversations.c.transcription","eventBody":{"transcripts":[{"utteranceId":"u","isFinal":true,"alternatives":[{"offsetMs":5,"transcript":"hi","words":[{"confidence":CONF,"offsetMs":5,"durationMs":1,"word":"hi"}]}]}]}}"#;
        for conf in ["-0", "-0.0", "0", "0.5"] {
            assert!(agrees(&word.replace("CONF", conf)), "{conf}");
        }
        let eventbody_first =
            r#"{"eventBody":{"transcripts":[]},"topicName":"v2.conversations.c.transcription"}"#;
        assert!(!agrees(eventbody_first));
        let twice = r#"{"topicName":"v2.conversations.c.transcription","eventBody":{"conversationId":"a","conversationId":"b"}}"#;
        assert!(!agrees(twice));
    }
}
