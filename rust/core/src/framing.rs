//! Framing: byte chunks in, complete and validated JSON documents out.
//!
//! A [`FrameAssembler`] is a sans-I/O, incremental, validating JSON splitter. Feed it chunks as
//! they arrive; it calls you back once per complete document with that document's exact bytes
//! (surrounding whitespace excluded) and collects errors for you to drain with
//! [`FrameAssembler::take_errors`]. It never re-reads a byte it has already validated, so a
//! document arriving in many small chunks costs what it costs in one.
//!
//! Two modes ([`Mode`]):
//! - **`Message`**: every `feed` is one whole WebSocket message holding exactly one document.
//!   Offsets in errors are relative to the start of that message.
//! - **`Stream`**: documents may span chunks and several may share a chunk, with or without
//!   whitespace between them. Offsets are absolute since the assembler was created (or reset).
//!
//! ```
//! use gcstream_core::framing::{FrameAssembler, FramingConfig, FramingErrorKind};
//!
//! let mut fa = FrameAssembler::new(FramingConfig::default()); // stream mode
//! let mut docs: Vec<Vec<u8>> = Vec::new();
//! let mut collect = |doc: &[u8]| docs.push(doc.to_vec());
//! fa.feed(br#"{"a":1}{"b":"#, &mut collect);
//! fa.feed(br#"2} [3,"#, &mut collect);
//! fa.feed(b"4] nope [5]", &mut collect);
//! fa.finish(&mut collect);
//! assert_eq!(docs, [&br#"{"a":1}"#[..], br#"{"b":2}"#, b"[3,4]", b"[5]"]);
//!
//! // The garbage between `[3,4]` and `[5]` is one error; the documents around it survive.
//! let errors = fa.take_errors();
//! assert_eq!(errors.len(), 1);
//! assert_eq!(errors[0].kind, FramingErrorKind::UnexpectedByte);
//! assert_eq!(errors[0].offset, 22); // the `n` of "nope"
//! ```
//!
//! Validation is complete RFC 8259: grammar, number grammar, escapes (including UTF-16 surrogate
//! pairing), control characters, UTF-8 inside strings, and only space, tab, LF and CR as
//! whitespace. Policy choices:
//! - A leading UTF-8 byte-order mark is rejected like any other unexpected byte: RFC 8259 forbids
//!   sending one and Genesys never does.
//! - Lone or inverted surrogate escapes (`"\uD800"`, `"\uDC00"`, `"\uDC00\uD800"`) are rejected as
//!   `invalid_escape`: they cannot be decoded into a Python `str` that round-trips to UTF-8.
//! - In stream mode a top-level number ends at whitespace, at a `{`, `[` or `"` that starts the
//!   next document, or at [`FrameAssembler::finish`]; any other byte right after it is an error.
//! - In stream mode one bad document is one error. A document over `max_document_bytes` or
//!   `max_depth` is skipped to its end unvalidated, so nothing inside it becomes a document;
//!   after a syntax error scanning resumes at the next `{` or `[` (see the theory of operation).

use std::fmt;

/// How chunks map to documents; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Each `feed` is one whole message holding exactly one document.
    Message,
    /// Documents may span chunks and several may share one chunk.
    #[default]
    Stream,
}

/// Limits and mode of a [`FrameAssembler`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingConfig {
    /// Message or stream framing.
    pub mode: Mode,
    /// Largest accepted document, in bytes, surrounding whitespace excluded. Also the most the
    /// assembler ever buffers.
    pub max_document_bytes: usize,
    /// Deepest accepted nesting of arrays and objects (`[]` has depth 1).
    pub max_depth: usize,
}

impl Default for FramingConfig {
    /// Stream mode, 1 MiB documents, depth 128.
    fn default() -> Self {
        Self {
            mode: Mode::Stream,
            max_document_bytes: 1 << 20,
            max_depth: 128,
        }
    }
}

/// Why input was rejected. [`FramingErrorKind::as_str`] gives the stable snake-case name.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FramingErrorKind {
    /// A byte that JSON grammar does not allow here (includes a BOM and stray non-ASCII).
    UnexpectedByte,
    /// Malformed UTF-8 inside a string (overlong, surrogate, above U+10FFFF, cut short).
    InvalidUtf8,
    /// A bad backslash escape, bad `\u` hex digit, or lone or inverted surrogate escape.
    InvalidEscape,
    /// A number that breaks the grammar (leading zero, `1.`, `-`, `1e`, ...).
    InvalidNumber,
    /// A raw byte below 0x20 inside a string.
    ControlCharacter,
    /// The document grew past `max_document_bytes`.
    DocumentTooLarge,
    /// Arrays and objects nested deeper than `max_depth`.
    TooDeep,
    /// Input ended inside a document.
    Truncated,
    /// Message mode: something other than whitespace after the document.
    TrailingData,
    /// Message mode: the message held only whitespace.
    Empty,
}

impl FramingErrorKind {
    /// The stable snake-case name used by the Python API, e.g. `"unexpected_byte"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnexpectedByte => "unexpected_byte",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::InvalidEscape => "invalid_escape",
            Self::InvalidNumber => "invalid_number",
            Self::ControlCharacter => "control_character",
            Self::DocumentTooLarge => "document_too_large",
            Self::TooDeep => "too_deep",
            Self::Truncated => "truncated",
            Self::TrailingData => "trailing_data",
            Self::Empty => "empty",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::UnexpectedByte => "unexpected byte",
            Self::InvalidUtf8 => "invalid UTF-8 in string",
            Self::InvalidEscape => "invalid escape in string",
            Self::InvalidNumber => "invalid number",
            Self::ControlCharacter => "unescaped control character in string",
            Self::DocumentTooLarge => "document larger than max_document_bytes",
            Self::TooDeep => "nesting deeper than max_depth",
            Self::Truncated => "input ended inside a document",
            Self::TrailingData => "data after the document",
            Self::Empty => "no document in message",
        }
    }
}

impl fmt::Display for FramingErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rejected stretch of input. `offset` is the first invalid byte: relative to the message in
/// message mode, absolute in stream mode. For `truncated` and `empty` it is the end of input, for
/// `document_too_large` the first byte past the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FramingError {
    /// What went wrong.
    pub kind: FramingErrorKind,
    /// Where it went wrong, in bytes.
    pub offset: u64,
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) at byte {}",
            self.kind.describe(),
            self.kind.as_str(),
            self.offset
        )
    }
}

impl std::error::Error for FramingError {}

// Theory of operation.
//
// Between documents the assembler is in one of four phases:
//
//   Idle     skipping whitespace; the next byte starts a document (any JSON value)
//   InDoc    inside a document: `machine::Machine` validates it byte by byte (its own states
//            are listed in machine.rs) and reports where it ends or first goes wrong
//   Discard  stream mode, after a document was rejected for a limit: skipping the rest of it
//            without validating or keeping it (`discard::Discard`, states listed in discard.rs)
//   Resync   stream mode, after any other error: skipping everything up to the next `{` or `[`
//
// A document that begins in a chunk and ends in it is handed out as a slice of that chunk; one
// still open when the chunk ends has the chunk's tail appended to `buffer`, and later chunks
// append only their new bytes, so no byte is scanned or copied twice. `max_document_bytes` is
// enforced by never scanning past `doc_start + max_document_bytes`, so the buffer cannot outgrow
// it. Message mode runs the same machine over each message and needs no buffer.
//
// Errors in stream mode drop the partial document; one bad document is one error, and what
// follows it depends on whether its end can still be found:
//
// - `document_too_large` and `too_deep` reject a document that is valid as far as it was read,
//   so its depth and string state are exact. The assembler discards the rest of it, counting
//   brackets outside strings, until the count is back to zero, and goes idle there. Nothing
//   inside a rejected document is ever handed out as a document. If such a document never
//   closes (it is itself cut short), the documents after it would keep the count from reaching
//   zero: so after eight more documents' worth (`max_document_bytes` × 8, at least 64 KiB) a
//   discard also ends where the count comes back to where it started, which is where one of
//   those documents ends. What it read is lost; the documents after that arrive. A top-level
//   number or literal has nothing to discard and resyncs as below.
// - Any other error means the document is malformed at that byte and its depth can no longer be
//   trusted (a stray closer, a truncated document running into the next one). The assembler
//   resumes scanning at the offending byte itself (or the byte after it, if it was the
//   document's first byte, so that scanning always advances), looking only for `{` or `[`.
//   Resyncing on any byte that can start a JSON value would turn every letter or digit of the
//   garbage into a spurious one-byte "document" or another error; containers are what Genesys
//   sends, and a truncated document followed by a fresh one (the common corruption) is recovered
//   because the fresh `{` is itself the offending byte. A resync that lands inside a malformed
//   container may still surface its inner containers as documents; that is the trade for
//   recovering the documents after it.

mod discard;
mod machine;

/// How far a discard reads for the end of a rejected document before deciding it was cut short:
/// eight more documents' worth, at least 64 KiB.
fn discard_budget(config: &FramingConfig) -> u64 {
    (config.max_document_bytes as u64)
        .saturating_mul(8)
        .max(64 << 10)
}

use discard::Discard;
use machine::{
    Machine, Scan, ends_top_level_number, find_container_start, is_ws, skip_ws, starts_value,
};

/// Where the assembler is between documents; see the theory of operation above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    InDoc,
    Discard(Discard),
    Resync,
}

/// Validating, incremental JSON document assembler; see the module documentation.
#[derive(Debug, Clone)]
pub struct FrameAssembler {
    config: FramingConfig,
    errors: Vec<FramingError>,
    /// Bytes fed since creation or reset (stream mode offsets are relative to this).
    pos: u64,
    phase: Phase,
    /// Absolute offset of the first byte of the open document.
    doc_start: u64,
    /// The open document's bytes from earlier chunks (empty when it began in the current one).
    buffer: Vec<u8>,
    machine: Machine,
    /// Set during [`FrameAssembler::feed_pieces`]: errors go to the callback, in stream order.
    deliver_errors: bool,
    /// Absolute offset where a discard gives up and resyncs (see the theory of operation).
    discard_until: u64,
}

/// What [`FrameAssembler::feed_pieces`] hands out, in the order it occurs in the stream.
#[derive(Debug)]
pub enum Piece<'a> {
    Document(&'a [u8]),
    Error(FramingError),
}

impl FrameAssembler {
    /// Creates an assembler. Feed it with [`feed`](Self::feed), end with [`finish`](Self::finish).
    #[must_use]
    pub fn new(config: FramingConfig) -> Self {
        Self {
            machine: Machine::new(config.max_depth),
            config,
            errors: Vec::new(),
            pos: 0,
            phase: Phase::Idle,
            doc_start: 0,
            buffer: Vec::new(),
            deliver_errors: false,
            discard_until: 0,
        }
    }

    /// Feeds one chunk (message mode: one whole message). `on_document` is called once per
    /// complete document, in order, with its exact bytes; they borrow from `chunk` when the
    /// document lies wholly inside it. Errors are collected: check [`take_errors`](Self::take_errors)
    /// afterwards.
    pub fn feed(&mut self, chunk: &[u8], on_document: &mut impl FnMut(&[u8])) {
        match self.config.mode {
            Mode::Message => self.feed_message(chunk, on_document),
            Mode::Stream => self.feed_stream(chunk, &mut |piece| {
                if let Piece::Document(doc) = piece {
                    on_document(doc);
                }
            }),
        }
    }

    /// Like [`feed`](Self::feed), but errors are handed to `on_piece` too, interleaved with the
    /// documents in stream order (an error between two documents comes between them), instead
    /// of being collected.
    pub fn feed_pieces(&mut self, chunk: &[u8], on_piece: &mut impl FnMut(Piece<'_>)) {
        self.deliver_errors = true;
        match self.config.mode {
            Mode::Message => self.feed_message(chunk, &mut |doc| on_piece(Piece::Document(doc))),
            Mode::Stream => self.feed_stream(chunk, on_piece),
        }
        self.deliver_errors = false;
        for e in std::mem::take(&mut self.errors) {
            on_piece(Piece::Error(e));
        }
    }

    /// Ends the input. In stream mode a pending top-level number completes and any other
    /// unfinished document becomes a `truncated` error (the rest of a document already rejected
    /// is dropped without a second error); message mode has nothing pending. The
    /// assembler is then idle and may be fed again (offsets keep counting).
    pub fn finish(&mut self, on_document: &mut impl FnMut(&[u8])) {
        if self.phase == Phase::InDoc {
            if self.machine.number_may_end() {
                on_document(&self.buffer);
            } else {
                self.push_error(FramingErrorKind::Truncated, self.pos);
            }
        }
        self.buffer.clear();
        self.phase = Phase::Idle;
    }

    /// Returns and clears the errors collected so far, oldest first. Call it after each `feed`.
    pub fn take_errors(&mut self) -> Vec<FramingError> {
        std::mem::take(&mut self.errors)
    }

    /// Whether errors are waiting in [`take_errors`](Self::take_errors).
    #[must_use]
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Bytes of an unfinished document held from earlier chunks (never more than
    /// `max_document_bytes`).
    #[must_use]
    pub fn bytes_buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Forgets everything (partial document, pending errors, offsets), as if newly created.
    pub fn reset(&mut self) {
        *self = Self::new(self.config.clone());
    }

    fn push_error(&mut self, kind: FramingErrorKind, offset: u64) {
        self.errors.push(FramingError { kind, offset });
    }

    fn begin_document(&mut self, start: u64) {
        self.phase = Phase::InDoc;
        self.doc_start = start;
        self.machine.begin();
    }

    /// Index (within a chunk starting at absolute offset `base`) where the open document would
    /// exceed `max_document_bytes`.
    fn limit_in_chunk(&self, base: u64, len: usize) -> usize {
        let limit = self
            .doc_start
            .saturating_add(self.config.max_document_bytes as u64);
        usize::try_from(limit.saturating_sub(base)).map_or(len, |rel| rel.min(len))
    }

    fn feed_message(&mut self, msg: &[u8], on_document: &mut impl FnMut(&[u8])) {
        use FramingErrorKind as E;
        self.pos += msg.len() as u64;
        let start = skip_ws(msg, 0);
        if start == msg.len() {
            return self.push_error(E::Empty, msg.len() as u64);
        }
        self.doc_start = start as u64;
        self.machine.begin();
        let end = self.limit_in_chunk(0, msg.len());
        let stop = match self.machine.scan(&msg[..end], start) {
            Scan::Complete(stop) => Ok(stop),
            Scan::Exhausted if end == msg.len() && self.machine.number_may_end() => Ok(end),
            Scan::Exhausted if end == msg.len() => Err((E::Truncated, end)),
            Scan::Exhausted if self.machine.number_may_end() && ends_top_level_number(msg[end]) => {
                Ok(end)
            }
            Scan::Exhausted => Err((E::DocumentTooLarge, end)),
            Scan::Error(kind, at) => Err((kind, at)),
        };
        let trailing = |stop: usize| match msg[stop..].iter().position(|&b| !is_ws(b)) {
            None => Ok(stop),
            Some(extra) => Err((E::TrailingData, stop + extra)),
        };
        match stop.and_then(trailing) {
            Ok(stop) => on_document(&msg[start..stop]),
            Err((kind, at)) => self.push_error(kind, at as u64),
        }
    }

    fn feed_stream(&mut self, chunk: &[u8], on_document: &mut impl FnMut(Piece<'_>)) {
        let base = self.pos;
        self.pos += chunk.len() as u64;
        let mut i = 0;
        // Where the open document starts in this chunk; `None` while it lives in `buffer`.
        let mut start_in_chunk = None;
        loop {
            match self.phase {
                Phase::InDoc => {}
                Phase::Idle => {
                    i = skip_ws(chunk, i);
                    let Some(&b) = chunk.get(i) else { return };
                    if starts_value(b) {
                        self.begin_document(base + i as u64);
                        start_in_chunk = Some(i);
                    } else {
                        self.push_error(FramingErrorKind::UnexpectedByte, base + i as u64);
                        self.phase = Phase::Resync;
                        i += 1;
                        continue;
                    }
                }
                Phase::Discard(mut discard) => {
                    let budget = self.discard_until.saturating_sub(base);
                    let end = chunk
                        .len()
                        .min(usize::try_from(budget).unwrap_or(usize::MAX))
                        .max(i);
                    let mut stop = discard.scan(&chunk[..end], i);
                    if stop.is_none() && end < chunk.len() {
                        // Too long to be the rest of one document: it was cut short, and what
                        // follows is other documents, each closing back to where it stood.
                        discard.give_up();
                        stop = discard.scan(chunk, end);
                    }
                    let Some(stop) = stop else {
                        self.phase = Phase::Discard(discard);
                        return;
                    };
                    self.phase = Phase::Idle;
                    i = stop;
                    continue;
                }
                Phase::Resync => {
                    let Some(found) = find_container_start(chunk, i) else {
                        return;
                    };
                    i = found;
                    self.begin_document(base + i as u64);
                    start_in_chunk = Some(i);
                }
            }
            let end = self.limit_in_chunk(base, chunk.len());
            let (kind, at) = match self.machine.scan(&chunk[..end], i) {
                Scan::Complete(stop) => {
                    self.emit(chunk, start_in_chunk, stop, on_document);
                    i = stop;
                    continue;
                }
                Scan::Exhausted if end == chunk.len() => {
                    self.append(&chunk[start_in_chunk.unwrap_or(0)..]);
                    return;
                }
                Scan::Exhausted
                    if self.machine.number_may_end() && ends_top_level_number(chunk[end]) =>
                {
                    self.emit(chunk, start_in_chunk, end, on_document);
                    i = end;
                    continue;
                }
                Scan::Exhausted => (FramingErrorKind::DocumentTooLarge, end),
                Scan::Error(kind, at) => (kind, at),
            };
            let offset = base + at as u64;
            self.push_error(kind, offset);
            self.buffer.clear();
            // See the theory of operation: a document rejected for a limit is discarded to its
            // end; after any other error (or a top-level scalar) scanning resyncs.
            let discard = match kind {
                FramingErrorKind::DocumentTooLarge => self.machine.discard_rest().map(|d| (d, at)),
                // The offending bracket at `at` is counted as open, and skipped.
                FramingErrorKind::TooDeep => {
                    Discard::new(self.machine.depth() + 1, false, false).map(|d| (d, at + 1))
                }
                _ => None,
            };
            if let Some((discard, from)) = discard {
                self.phase = Phase::Discard(discard);
                self.discard_until =
                    (base + from as u64).saturating_add(discard_budget(&self.config));
                i = from;
            } else {
                self.phase = Phase::Resync;
                i = if offset == self.doc_start { at + 1 } else { at };
            }
        }
    }

    /// Hands out the document that ends at `chunk[stop]` (exclusive) and goes idle.
    fn emit(
        &mut self,
        chunk: &[u8],
        start_in_chunk: Option<usize>,
        stop: usize,
        on_document: &mut impl FnMut(Piece<'_>),
    ) {
        self.phase = Phase::Idle;
        if self.deliver_errors {
            for e in std::mem::take(&mut self.errors) {
                on_document(Piece::Error(e));
            }
        }
        if let Some(start) = start_in_chunk {
            // The document began in this chunk, so nothing of it is buffered: zero-copy.
            on_document(Piece::Document(&chunk[start..stop]));
        } else {
            self.append(&chunk[..stop]);
            on_document(Piece::Document(&self.buffer));
            self.buffer.clear();
        }
    }

    /// Appends to the buffer without letting its capacity overshoot `max_document_bytes`.
    fn append(&mut self, bytes: &[u8]) {
        let needed = self.buffer.len() + bytes.len();
        if needed > self.buffer.capacity() {
            let target = needed.max(
                self.buffer
                    .capacity()
                    .saturating_mul(2)
                    .min(self.config.max_document_bytes),
            );
            self.buffer.reserve_exact(target - self.buffer.len());
        }
        self.buffer.extend_from_slice(bytes);
    }
}
