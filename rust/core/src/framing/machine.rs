//! The grammar state machine behind [`FrameAssembler`](super::FrameAssembler): it validates one
//! document's bytes as they come and says where the document ends or first goes wrong. Chunks,
//! buffers, limits on size and error policy belong to the assembler.

use super::FramingErrorKind;
use super::discard::Discard;

// Theory of operation.
//
// `Machine::scan` runs over the bytes of one document, one chunk at a time; everything it needs
// to continue lives in `Machine`, so a chunk may end anywhere (inside a string, an escape, a
// UTF-8 sequence, a number or a literal). The states:
//
//   Value        expecting a value (document start, after `:`, after `,` in an array)
//   ArrayFirst   after `[`: a value or `]`
//   ObjectFirst  after `{`: a key or `}`
//   Key          after `,` in an object: a key
//   Colon        after a key: `:`
//   AfterValue   after a value inside a container: `,` or the matching closer
//   Str          inside a string (`in_key` says whether it is a key); runs of plain bytes are
//                skipped eight at a time (SWAR)
//   Escape       after `\`
//   Hex          inside the four digits of `\uXXXX` (`hex_count`, and `hex`: what the digits
//                so far say about surrogate pairing)
//   SurrogateBackslash, SurrogateU
//                after a high-surrogate escape: the `\` and `u` of the required low surrogate
//   Utf8         inside a multi-byte UTF-8 sequence (`utf8_*`: bytes still needed, range of next)
//   Minus, Zero, Int, Dot, Frac, Exp, ExpSign, ExpDigits
//                number grammar; Zero, Int, Frac and ExpDigits may end the number
//   Literal      inside `true`, `false` or `null`
//
// Open containers live in `stack`, one byte each, never longer than `max_depth`. The common
// compact sequences `"key":` and `,"key"` are taken without a trip through the dispatch (the
// Colon and Key states are then only visited when a chunk ends there or whitespace intervenes).
// Every error is reported at the first byte that makes the input invalid: for a lone high
// surrogate that is the byte after its escape, for a lone low surrogate its second hex digit.

/// Where inside a document the next byte falls; see the theory of operation above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Value,
    ArrayFirst,
    ObjectFirst,
    Key,
    Colon,
    AfterValue,
    Str,
    Escape,
    Hex,
    SurrogateBackslash,
    SurrogateU,
    Utf8,
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
    Literal,
}

/// What the digits of a `\uXXXX` escape have shown so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    /// No digit yet (a first escape).
    Unknown,
    /// Not a surrogate.
    Plain,
    /// First digit `D`: the second decides.
    MaybeSurrogate,
    /// D800-DBFF: a low surrogate escape must follow.
    High,
    /// Must be DC00-DFFF (it follows a high surrogate).
    Low,
}

/// How a call to `scan` stopped.
pub(super) enum Scan {
    /// Every byte of the slice was consumed; the document is still open.
    Exhausted,
    /// The document ended; the index is one past its last byte.
    Complete(usize),
    /// The byte at the index is invalid.
    Error(FramingErrorKind, usize),
}

const OBJECT: u8 = b'{';
const ARRAY: u8 = b'[';
const LITERALS: [&[u8]; 3] = [b"true", b"false", b"null"];
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The validation state of the open document.
#[derive(Debug, Clone)]
pub(super) struct Machine {
    max_depth: usize,
    stack: Vec<u8>,
    state: State,
    in_key: bool,
    hex_count: u8,
    hex: Escape,
    utf8_need: u8,
    utf8_lo: u8,
    utf8_hi: u8,
    literal: u8,
    literal_pos: u8,
}

impl Machine {
    pub(super) fn new(max_depth: usize) -> Self {
        Self {
            max_depth,
            stack: Vec::new(),
            state: State::Value,
            in_key: false,
            hex_count: 0,
            hex: Escape::Unknown,
            utf8_need: 0,
            utf8_lo: 0,
            utf8_hi: 0,
            literal: 0,
            literal_pos: 0,
        }
    }

    /// Prepares for a new document, whose first byte is the next one scanned.
    pub(super) fn begin(&mut self) {
        self.state = State::Value;
        self.stack.clear();
    }

    /// The document is a top-level number that may end here (at whitespace, a `{`, `[` or `"`,
    /// or the end of input).
    pub(super) fn number_may_end(&self) -> bool {
        self.stack.is_empty()
            && matches!(
                self.state,
                State::Zero | State::Int | State::Frac | State::ExpDigits
            )
    }

    /// How to skip the rest of the document from the byte after the last one scanned, which
    /// must have ended in `Exhausted`: everything so far was valid, so depth and string state
    /// are exact. `None` for a top-level number or literal, which has no end to look for.
    pub(super) fn discard_rest(&self) -> Option<Discard> {
        let in_string = matches!(
            self.state,
            State::Str
                | State::Escape
                | State::Hex
                | State::SurrogateBackslash
                | State::SurrogateU
                | State::Utf8
        );
        // Both states have consumed a backslash whose escaped byte is still to come.
        let escaped = matches!(self.state, State::Escape | State::SurrogateU);
        Discard::new(self.stack.len(), in_string, escaped)
    }

    /// Open containers; after a `TooDeep` error the offending bracket is not among them.
    pub(super) fn depth(&self) -> usize {
        self.stack.len()
    }

    /// Runs the state machine over `buf[i..]`. On `Exhausted` the state is saved for the next
    /// chunk; on `Complete` and `Error` the caller decides what comes next.
    #[allow(clippy::too_many_lines)] // One loop keeps the hot state in registers.
    pub(super) fn scan(&mut self, buf: &[u8], mut i: usize) -> Scan {
        use FramingErrorKind as E;
        let len = buf.len();
        let mut state = self.state;
        macro_rules! fail {
            ($kind:expr, $at:expr) => {
                return Scan::Error($kind, $at)
            };
        }
        // A value just ended at `i`: the document is complete at depth 0.
        macro_rules! value_done {
            () => {
                if self.stack.is_empty() {
                    return Scan::Complete(i);
                }
                state = State::AfterValue;
            };
        }
        // A number ended before `buf[i]`, which is not consumed.
        macro_rules! number_done {
            () => {
                if self.stack.is_empty() {
                    if ends_top_level_number(buf[i]) {
                        return Scan::Complete(i);
                    }
                    fail!(E::UnexpectedByte, i);
                }
                state = State::AfterValue;
            };
        }
        'outer: loop {
            match state {
                State::Value | State::ArrayFirst => {
                    i = skip_ws(buf, i);
                    let Some(&b) = buf.get(i) else { break 'outer };
                    i += 1;
                    match b {
                        b'"' => {
                            self.in_key = false;
                            state = State::Str;
                        }
                        b'{' | b'[' => {
                            if self.stack.len() >= self.max_depth {
                                fail!(E::TooDeep, i - 1);
                            }
                            self.stack.push(b);
                            state = if b == OBJECT {
                                State::ObjectFirst
                            } else {
                                State::ArrayFirst
                            };
                        }
                        b']' if state == State::ArrayFirst => {
                            self.stack.pop();
                            value_done!();
                        }
                        b'-' => state = State::Minus,
                        b'0' => state = State::Zero,
                        b'1'..=b'9' => state = State::Int,
                        b't' | b'f' | b'n' => {
                            self.literal = match b {
                                b't' => 0,
                                b'f' => 1,
                                _ => 2,
                            };
                            self.literal_pos = 1;
                            state = State::Literal;
                        }
                        _ => fail!(E::UnexpectedByte, i - 1),
                    }
                }
                State::ObjectFirst | State::Key => {
                    i = skip_ws(buf, i);
                    let Some(&b) = buf.get(i) else { break 'outer };
                    if b == b'"' {
                        self.in_key = true;
                        state = State::Str;
                    } else if b == b'}' && state == State::ObjectFirst {
                        self.stack.pop();
                        i += 1;
                        value_done!();
                        continue;
                    } else {
                        fail!(E::UnexpectedByte, i);
                    }
                    i += 1;
                }
                State::Colon => {
                    i = skip_ws(buf, i);
                    let Some(&b) = buf.get(i) else { break 'outer };
                    if b != b':' {
                        fail!(E::UnexpectedByte, i);
                    }
                    i += 1;
                    state = State::Value;
                }
                State::AfterValue => {
                    i = skip_ws(buf, i);
                    let Some(&b) = buf.get(i) else { break 'outer };
                    let top = self.stack.last().copied();
                    match b {
                        b',' if top == Some(OBJECT) => {
                            // Fused Key: the next key's `"` usually follows at once.
                            i = skip_ws(buf, i + 1);
                            match buf.get(i) {
                                Some(b'"') => {
                                    self.in_key = true;
                                    state = State::Str;
                                }
                                Some(_) => fail!(E::UnexpectedByte, i),
                                None => {
                                    state = State::Key;
                                    continue;
                                }
                            }
                        }
                        b',' => state = State::Value,
                        b']' if top == Some(ARRAY) => {
                            self.stack.pop();
                            i += 1;
                            value_done!();
                            continue;
                        }
                        b'}' if top == Some(OBJECT) => {
                            self.stack.pop();
                            i += 1;
                            value_done!();
                            continue;
                        }
                        _ => fail!(E::UnexpectedByte, i),
                    }
                    i += 1;
                }
                State::Str => {
                    // Skip plain bytes (not `"`, `\`, control or non-ASCII) eight at a time.
                    loop {
                        if let Some(word) = buf.get(i..i + 8) {
                            let mask = special_bytes(u64::from_le_bytes([
                                word[0], word[1], word[2], word[3], word[4], word[5], word[6],
                                word[7],
                            ]));
                            if mask == 0 {
                                i += 8;
                                continue;
                            }
                            i += (mask.trailing_zeros() / 8) as usize;
                        } else {
                            while i < len && is_plain(buf[i]) {
                                i += 1;
                            }
                            if i == len {
                                break 'outer;
                            }
                        }
                        break;
                    }
                    let b = buf[i];
                    match b {
                        b'"' => {
                            i += 1;
                            if self.in_key {
                                // Fused Colon: the `:` usually follows at once.
                                i = skip_ws(buf, i);
                                match buf.get(i) {
                                    Some(b':') => {
                                        i += 1;
                                        state = State::Value;
                                    }
                                    Some(_) => fail!(E::UnexpectedByte, i),
                                    None => state = State::Colon,
                                }
                            } else {
                                value_done!();
                            }
                        }
                        b'\\' => {
                            i += 1;
                            state = State::Escape;
                        }
                        0..0x20 => fail!(E::ControlCharacter, i),
                        _ => {
                            let Some((need, lo, hi)) = utf8_lead(b) else {
                                fail!(E::InvalidUtf8, i);
                            };
                            let need = usize::from(need);
                            if let Some(tail) = buf.get(i + 1..=i + need) {
                                // The whole sequence is here: check it in place.
                                if !(lo..=hi).contains(&tail[0]) {
                                    fail!(E::InvalidUtf8, i + 1);
                                }
                                if let Some(bad) =
                                    tail[1..].iter().position(|&c| !is_continuation(c))
                                {
                                    fail!(E::InvalidUtf8, i + 2 + bad);
                                }
                                i += need + 1;
                            } else {
                                // needs at most 3 bytes, so the cast is exact
                                self.utf8_need = u8::try_from(need).unwrap_or(3);
                                self.utf8_lo = lo;
                                self.utf8_hi = hi;
                                i += 1;
                                state = State::Utf8;
                            }
                        }
                    }
                }
                State::Utf8 => {
                    while self.utf8_need > 0 {
                        let Some(&b) = buf.get(i) else { break 'outer };
                        if !(self.utf8_lo..=self.utf8_hi).contains(&b) {
                            fail!(E::InvalidUtf8, i);
                        }
                        i += 1;
                        self.utf8_need -= 1;
                        self.utf8_lo = 0x80;
                        self.utf8_hi = 0xBF;
                    }
                    state = State::Str;
                }
                State::Escape => {
                    let Some(&b) = buf.get(i) else { break 'outer };
                    match b {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                            state = State::Str;
                        }
                        b'u' => {
                            self.hex_count = 0;
                            self.hex = Escape::Unknown;
                            state = State::Hex;
                        }
                        _ => fail!(E::InvalidEscape, i),
                    }
                    i += 1;
                }
                State::Hex => {
                    while self.hex_count < 4 {
                        let Some(&b) = buf.get(i) else { break 'outer };
                        let Some(digit) = hex_value(b) else {
                            fail!(E::InvalidEscape, i)
                        };
                        // The first two digits decide: D8-DB is a high surrogate, DC-DF a low
                        // one, which is valid only right after a high one.
                        self.hex = match (self.hex_count, self.hex, digit) {
                            (0, Escape::Unknown, 0xD) => Escape::MaybeSurrogate,
                            (1, Escape::MaybeSurrogate, 0x8..=0xB) => Escape::High,
                            (1, Escape::MaybeSurrogate, 0xC..) => fail!(E::InvalidEscape, i),
                            (0, Escape::Unknown, _) | (1, Escape::MaybeSurrogate, _) => {
                                Escape::Plain
                            }
                            (0, Escape::Low, 0xD) | (1, Escape::Low, 0xC..) => Escape::Low,
                            (0 | 1, Escape::Low, _) => fail!(E::InvalidEscape, i),
                            (_, kind, _) => kind,
                        };
                        i += 1;
                        self.hex_count += 1;
                    }
                    state = if self.hex == Escape::High {
                        State::SurrogateBackslash
                    } else {
                        State::Str
                    };
                }
                State::SurrogateBackslash | State::SurrogateU => {
                    let Some(&b) = buf.get(i) else { break 'outer };
                    let expected = if state == State::SurrogateU {
                        b'u'
                    } else {
                        b'\\'
                    };
                    if b != expected {
                        fail!(E::InvalidEscape, i);
                    }
                    i += 1;
                    if state == State::SurrogateU {
                        self.hex_count = 0;
                        self.hex = Escape::Low;
                        state = State::Hex;
                    } else {
                        state = State::SurrogateU;
                    }
                }
                State::Minus | State::Dot | State::Exp | State::ExpSign => {
                    let Some(&b) = buf.get(i) else { break 'outer };
                    state = match (state, b) {
                        (State::Minus, b'0') => State::Zero,
                        (State::Minus, b'1'..=b'9') => State::Int,
                        (State::Dot, b'0'..=b'9') => State::Frac,
                        (State::Exp, b'+' | b'-') => State::ExpSign,
                        (State::Exp | State::ExpSign, b'0'..=b'9') => State::ExpDigits,
                        _ => fail!(E::InvalidNumber, i),
                    };
                    i += 1;
                }
                State::Zero | State::Int | State::Frac | State::ExpDigits => {
                    if state != State::Zero {
                        while i < len && buf[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                    let Some(&b) = buf.get(i) else { break 'outer };
                    match (state, b) {
                        (State::Zero, b'0'..=b'9') => fail!(E::InvalidNumber, i),
                        (State::Zero | State::Int, b'.') => state = State::Dot,
                        (State::Zero | State::Int | State::Frac, b'e' | b'E') => state = State::Exp,
                        _ => {
                            number_done!();
                            continue;
                        }
                    }
                    i += 1;
                }
                State::Literal => {
                    let literal = LITERALS[usize::from(self.literal)];
                    while usize::from(self.literal_pos) < literal.len() {
                        let Some(&b) = buf.get(i) else { break 'outer };
                        if b != literal[usize::from(self.literal_pos)] {
                            fail!(E::UnexpectedByte, i);
                        }
                        i += 1;
                        self.literal_pos += 1;
                    }
                    value_done!();
                }
            }
        }
        self.state = state;
        Scan::Exhausted
    }
}

pub(super) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Index of the first non-whitespace byte at or after `i` (or `buf.len()`). Indentation runs
/// of pretty-printed JSON are skipped eight spaces at a time.
#[inline]
pub(super) fn skip_ws(buf: &[u8], mut i: usize) -> usize {
    while let Some(&b) = buf.get(i) {
        if !is_ws(b) {
            break;
        }
        i += 1;
        while buf.get(i..i + 8) == Some(b"        ") {
            i += 8;
        }
    }
    i
}

pub(super) fn starts_value(b: u8) -> bool {
    matches!(
        b,
        b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
    )
}

/// Bytes that may follow a top-level number in stream mode: whitespace or a self-delimiting
/// document's first byte.
pub(super) fn ends_top_level_number(b: u8) -> bool {
    is_ws(b) || matches!(b, b'{' | b'[' | b'"')
}

pub(super) fn find_container_start(buf: &[u8], from: usize) -> Option<usize> {
    buf[from..]
        .iter()
        .position(|&b| b == b'{' || b == b'[')
        .map(|p| from + p)
}

fn is_plain(b: u8) -> bool {
    (0x20..0x80).contains(&b) && b != b'"' && b != b'\\'
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// High bit set in each byte of `w` that is `"`, `\`, below 0x20 or at least 0x80. Borrows can
/// set false bits only above a true one, so the lowest set bit is exact.
#[inline]
fn special_bytes(w: u64) -> u64 {
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let is_quote = quote.wrapping_sub(ONES) & !quote;
    let is_backslash = backslash.wrapping_sub(ONES) & !backslash;
    let is_control = w.wrapping_sub(ONES * 0x20) & !w;
    (is_quote | is_backslash | is_control | w) & HIGHS
}

/// For a UTF-8 lead byte: continuation bytes needed and the allowed range of the first one
/// (narrowed to exclude overlongs, UTF-16 surrogates and code points above U+10FFFF).
fn utf8_lead(b: u8) -> Option<(u8, u8, u8)> {
    match b {
        0xC2..=0xDF => Some((1, 0x80, 0xBF)),
        0xE0 => Some((2, 0xA0, 0xBF)),
        0xE1..=0xEC | 0xEE..=0xEF => Some((2, 0x80, 0xBF)),
        0xED => Some((2, 0x80, 0x9F)),
        0xF0 => Some((3, 0x90, 0xBF)),
        0xF1..=0xF3 => Some((3, 0x80, 0xBF)),
        0xF4 => Some((3, 0x80, 0x8F)),
        _ => None,
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
