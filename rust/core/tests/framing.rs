//! Tests for `gcstream_core::framing`: bytes in, documents and errors out, byte-exact.

use std::path::PathBuf;
use std::time::Instant;

use gcstream_core::framing::{FrameAssembler, FramingConfig, FramingError, FramingErrorKind, Mode};

use FramingErrorKind as E;

fn config(mode: Mode) -> FramingConfig {
    FramingConfig {
        mode,
        ..FramingConfig::default()
    }
}

/// Feeds `chunks` in stream mode, then finishes.
fn stream_with(cfg: &FramingConfig, chunks: &[&[u8]]) -> (Vec<Vec<u8>>, Vec<FramingError>) {
    let mut fa = FrameAssembler::new(cfg.clone());
    let mut docs = Vec::new();
    let mut collect = |d: &[u8]| docs.push(d.to_vec());
    for chunk in chunks {
        fa.feed(chunk, &mut collect);
        assert!(fa.bytes_buffered() <= cfg.max_document_bytes);
    }
    fa.finish(&mut collect);
    assert_eq!(fa.bytes_buffered(), 0);
    (docs, fa.take_errors())
}

fn stream(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, Vec<FramingError>) {
    stream_with(&config(Mode::Stream), chunks)
}

fn message_with(cfg: &FramingConfig, msg: &[u8]) -> (Vec<Vec<u8>>, Vec<FramingError>) {
    let mut fa = FrameAssembler::new(cfg.clone());
    let mut docs = Vec::new();
    fa.feed(msg, &mut |d: &[u8]| docs.push(d.to_vec()));
    (docs, fa.take_errors())
}

fn message(msg: &[u8]) -> (Vec<Vec<u8>>, Vec<FramingError>) {
    message_with(&config(Mode::Message), msg)
}

fn err(kind: FramingErrorKind, offset: u64) -> FramingError {
    FramingError { kind, offset }
}

/// One error of `kind` at `offset`, no document, in message mode and (whole) in stream mode.
#[track_caller]
fn assert_rejects(input: &[u8], kind: FramingErrorKind, offset: u64) {
    let (docs, errors) = message(input);
    assert!(
        docs.is_empty(),
        "message mode accepted {:?}",
        String::from_utf8_lossy(input)
    );
    assert_eq!(
        errors,
        [err(kind, offset)],
        "message mode, {:?}",
        String::from_utf8_lossy(input)
    );
    let (docs, errors) = stream(&[input]);
    assert!(
        docs.is_empty(),
        "stream mode accepted {:?}",
        String::from_utf8_lossy(input)
    );
    assert_eq!(
        errors,
        [err(kind, offset)],
        "stream mode, {:?}",
        String::from_utf8_lossy(input)
    );
}

/// Feeds `input` split at every offset, and one byte at a time, expecting `expected` each time.
#[track_caller]
fn assert_splits(input: &[u8], expected: &[&[u8]]) {
    for cut in 0..=input.len() {
        let (docs, errors) = stream(&[&input[..cut], &input[cut..]]);
        assert_eq!(
            errors,
            [],
            "split at {cut}: {:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(
            docs,
            expected,
            "split at {cut}: {:?}",
            String::from_utf8_lossy(input)
        );
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let (docs, errors) = stream(&bytes);
    assert_eq!(errors, []);
    assert_eq!(
        docs,
        expected,
        "byte at a time: {:?}",
        String::from_utf8_lossy(input)
    );
}

// ---------------------------------------------------------------------------------------------
// Error kinds and offsets

#[test]
fn unexpected_byte() {
    assert_rejects(br#"{"a" 1}"#, E::UnexpectedByte, 5);
    assert_rejects(b"[1,]", E::UnexpectedByte, 3);
    assert_rejects(br#"{"a":1,}"#, E::UnexpectedByte, 7);
    assert_rejects(b"[1 2]", E::UnexpectedByte, 3);
    assert_rejects(b"[tru]", E::UnexpectedByte, 4);
    assert_rejects(b"[\x0c]", E::UnexpectedByte, 1); // form feed is not JSON whitespace
    assert_rejects(b"[1}", E::UnexpectedByte, 2);
}

#[test]
fn byte_order_mark_is_rejected() {
    assert_eq!(
        message(b"\xEF\xBB\xBF{}"),
        (vec![], vec![err(E::UnexpectedByte, 0)])
    );
    assert_eq!(
        stream(&[b"\xEF\xBB\xBF{}"]),
        (vec![b"{}".to_vec()], vec![err(E::UnexpectedByte, 0)])
    );
}

#[test]
fn invalid_utf8() {
    assert_rejects(b"[\"\xC3\x28\"]", E::InvalidUtf8, 3); // bad continuation
    assert_rejects(b"[\"\xC0\x80\"]", E::InvalidUtf8, 2); // overlong lead
    assert_rejects(b"[\"\xE0\x80\x80\"]", E::InvalidUtf8, 3); // overlong 3-byte
    assert_rejects(b"[\"\xED\xA0\x80\"]", E::InvalidUtf8, 3); // UTF-8-encoded surrogate
    assert_rejects(b"[\"\xF4\x90\x80\x80\"]", E::InvalidUtf8, 3); // above U+10FFFF
    assert_rejects(b"[\"\xF5\x80\x80\x80\"]", E::InvalidUtf8, 2);
    assert_rejects(b"[\"\xE2\x82\"]", E::InvalidUtf8, 4); // cut short by the quote
    assert_rejects(b"[\"\x80\"]", E::InvalidUtf8, 2); // lone continuation
    assert_rejects(b"[\"a\xF0\x9F\x98\"]", E::InvalidUtf8, 6);
    assert_rejects(b"[\xC3\xA9]", E::UnexpectedByte, 1); // non-ASCII outside a string
}

#[test]
fn invalid_escape() {
    assert_rejects(br#"["\x"]"#, E::InvalidEscape, 3);
    assert_rejects(br#"["\u12G4"]"#, E::InvalidEscape, 6);
    assert_rejects(br#"["\uD800"]"#, E::InvalidEscape, 8); // lone high: at the quote
    assert_rejects(br#"["\uD800x"]"#, E::InvalidEscape, 8);
    assert_rejects(br#"["\uD800\n"]"#, E::InvalidEscape, 9);
    assert_rejects(br#"["\uDC00"]"#, E::InvalidEscape, 5); // lone low: at its `C`
    assert_rejects(br#"["\udfff\ud800"]"#, E::InvalidEscape, 5); // inverted pair
    assert_rejects(br#"["\uD800\u0041"]"#, E::InvalidEscape, 10); // high then non-surrogate
    assert_rejects(br#"["\uD800\uD800"]"#, E::InvalidEscape, 11); // high then high
}

#[test]
fn valid_escapes() {
    for doc in [
        &br#"["\"\\\/\b\f\n\r\t"]"#[..],
        br#"["\u0000\u001f\uFFFF\ud7ff\ue000"]"#,
        br#"["\uD834\uDD1E", "\udbff\udfff"]"#,
        br#"{"\uD83D\uDE00":"\u00e9"}"#,
    ] {
        assert_eq!(message(doc), (vec![doc.to_vec()], vec![]));
    }
}

#[test]
fn invalid_number() {
    assert_rejects(b"[01]", E::InvalidNumber, 2);
    assert_rejects(b"[-01]", E::InvalidNumber, 3);
    assert_rejects(b"[1.]", E::InvalidNumber, 3);
    assert_rejects(b"[-]", E::InvalidNumber, 2);
    assert_rejects(b"[1e]", E::InvalidNumber, 3);
    assert_rejects(b"[1e+]", E::InvalidNumber, 4);
    assert_rejects(b"[1.e5]", E::InvalidNumber, 3);
    assert_rejects(b"[-Infinity]", E::InvalidNumber, 2);
    assert_rejects(b"[NaN]", E::UnexpectedByte, 1);
    assert_rejects(b"[+1]", E::UnexpectedByte, 1);
    assert_rejects(b"[.5]", E::UnexpectedByte, 1);
    assert_rejects(b"[1x]", E::UnexpectedByte, 2);
}

#[test]
fn control_character() {
    assert_rejects(b"[\"a\tb\"]", E::ControlCharacter, 3);
    assert_rejects(b"{\"k\x00\":1}", E::ControlCharacter, 3);
    assert_rejects(b"[\"0123456789\n\"]", E::ControlCharacter, 12); // found by the SWAR path
}

#[test]
fn document_too_large() {
    let small = FramingConfig {
        max_document_bytes: 8,
        ..config(Mode::Message)
    };
    assert_eq!(message_with(&small, b"  [1,2,3]  ").0, [b"[1,2,3]"]);
    assert_eq!(
        message_with(&small, b"[1,2,3,4]").1,
        [err(E::DocumentTooLarge, 8)]
    );
    assert_eq!(message_with(&small, b" 12345678 ").0, [b"12345678"]);
    assert_eq!(
        message_with(&small, b"123456789").1,
        [err(E::DocumentTooLarge, 8)]
    );

    // Stream mode: the limit holds across chunks and the buffer never exceeds it.
    let small = FramingConfig {
        max_document_bytes: 8,
        ..config(Mode::Stream)
    };
    let (docs, errors) = stream_with(&small, &[b"[1,2", b",3]  [1,2,3,", b"4,5]", b" [6]"]);
    assert_eq!(docs, [&b"[1,2,3]"[..], b"[6]"]);
    assert_eq!(errors, [err(E::DocumentTooLarge, 17)]);
    // A top-level number exactly at the limit still ends at the next byte.
    let (docs, errors) = stream_with(&small, &[b"12345678", b" 123456789 [1]"]);
    assert_eq!(docs, [&b"12345678"[..], b"[1]"]);
    assert_eq!(errors, [err(E::DocumentTooLarge, 17)]);
    // Zero means no document fits; scanning still advances.
    let none = FramingConfig {
        max_document_bytes: 0,
        ..config(Mode::Stream)
    };
    let (docs, errors) = stream_with(&none, &[b"[][]"]);
    assert!(docs.is_empty());
    assert_eq!(
        errors,
        [err(E::DocumentTooLarge, 0), err(E::DocumentTooLarge, 2)]
    );
}

#[test]
fn too_deep() {
    let shallow = FramingConfig {
        max_depth: 2,
        ..config(Mode::Message)
    };
    assert_eq!(message_with(&shallow, b"[[1]]").0, [b"[[1]]"]);
    assert_eq!(
        message_with(&shallow, br#"[{"a":[1]}]"#).1,
        [err(E::TooDeep, 6)]
    );
    let flat = FramingConfig {
        max_depth: 0,
        ..config(Mode::Stream)
    };
    // Each rejected container is discarded to its end; the scalars around them survive.
    let (docs, errors) = stream_with(&flat, &[b"1 [] \"x\" {} 2"]);
    assert_eq!(docs, [&b"1"[..], b"\"x\"", b"2"]);
    assert_eq!(errors, [err(E::TooDeep, 2), err(E::TooDeep, 9)]);
}

#[test]
fn deep_nesting_is_bounded() {
    let deep = vec![b'['; 100_000];
    let (docs, errors) = message(&deep);
    assert!(docs.is_empty());
    assert_eq!(errors, [err(E::TooDeep, 128)]);
    // Stream mode discards the rest unbuffered; the document never closes, so it stays one error.
    let mut fa = FrameAssembler::new(FramingConfig::default());
    for chunk in deep.chunks(1000) {
        fa.feed(chunk, &mut |_| panic!("no document expected"));
        assert!(fa.bytes_buffered() <= 128);
    }
    fa.finish(&mut |_| panic!("no document expected"));
    assert_eq!(fa.take_errors(), [err(E::TooDeep, 128)]);
}

/// Feeds `input` whole, in 7-byte chunks and a byte at a time; all three must agree.
#[track_caller]
fn stream_any_split(cfg: &FramingConfig, input: &[u8]) -> (Vec<Vec<u8>>, Vec<FramingError>) {
    let whole = stream_with(cfg, &[input]);
    for size in [7, 1] {
        let chunks: Vec<&[u8]> = input.chunks(size).collect();
        assert_eq!(stream_with(cfg, &chunks), whole, "{size}-byte chunks");
    }
    whole
}

#[test]
fn nothing_inside_a_too_deep_document_is_a_document() {
    let good: &[u8] = br#"{"good":["]",1]}"#;
    for depth in [129, 200, 1000] {
        let bad = [
            vec![b'['; depth],
            br#"{"inner":"[{\"}"}"#.to_vec(),
            vec![b']'; depth],
        ]
        .concat();
        let input = [good, b"\n", &bad, b"\n", good].concat();
        let (docs, errors) = stream_any_split(&FramingConfig::default(), &input);
        assert_eq!(docs, [good, good], "depth {depth}");
        assert_eq!(errors, [err(E::TooDeep, 17 + 128)], "depth {depth}");
    }
}

#[test]
fn nothing_inside_an_oversized_document_is_a_document() {
    let small = FramingConfig {
        max_document_bytes: 64,
        ..config(Mode::Stream)
    };
    let inner = r#"{"phantom":[1,2]}"#;
    // The limit (byte 64 of the document) falls on the `[` of the first `inner`, outside any
    // string; inside the padding string; and right after a backslash in it, on an escaped quote.
    let blob = "x".repeat(60);
    for padding in [
        "x".repeat(39),
        blob.clone(),
        format!(r#"{}\""#, "x".repeat(55)),
    ] {
        let bad =
            format!(r#"{{"pad":"{padding}","n":{inner},"t":"]}}{{\"x\":[9]}}","m":[{inner}]}}"#);
        let input = [b"[0] ", bad.as_bytes(), b" [3] ", inner.as_bytes()].concat();
        let (docs, errors) = stream_any_split(&small, &input);
        assert_eq!(docs, [b"[0]", b"[3]", inner.as_bytes()], "{bad}");
        assert_eq!(errors, [err(E::DocumentTooLarge, 4 + 64)], "{bad}");
    }
    // A top-level string too large is discarded up to its closing quote.
    let input = [br#"""#, blob.as_bytes(), br#"\"[1]{}" [2]"#].concat();
    let (docs, errors) = stream_any_split(&small, &input);
    assert_eq!(docs, [b"[2]"]);
    assert_eq!(errors, [err(E::DocumentTooLarge, 64)]);
    // A top-level number has no end to look for: scanning resyncs at the next container.
    let input = [b"1".repeat(100).as_slice(), b" 5 [2]"].concat();
    let (docs, errors) = stream_any_split(&small, &input);
    assert_eq!(docs, [b"[2]"]);
    assert_eq!(errors, [err(E::DocumentTooLarge, 64)]);
}

#[test]
fn a_rejected_document_that_never_closes_is_still_one_error() {
    // Its discard runs to `finish`, which adds no `truncated` error for it.
    let small = FramingConfig {
        max_document_bytes: 8,
        ..config(Mode::Stream)
    };
    let (docs, errors) = stream_any_split(&small, br#"[1] [[["abcdefgh", [2] [3]"#);
    assert_eq!(docs, [b"[1]"]);
    assert_eq!(errors, [err(E::DocumentTooLarge, 12)]);
}

#[test]
fn a_malformed_document_still_resyncs_inside_itself() {
    // After a syntax error the depth cannot be trusted, so scanning resyncs at the next `{` or
    // `[`, which here is inside the bad document; a later too-deep rejection discards normally.
    let shallow = FramingConfig {
        max_depth: 2,
        ..config(Mode::Stream)
    };
    let (docs, errors) = stream_any_split(&shallow, b"[1 [2]] [[[3]]] [4]");
    assert_eq!(docs, [&b"[2]"[..], b"[4]"]);
    assert_eq!(
        errors,
        [
            err(E::UnexpectedByte, 3),
            err(E::UnexpectedByte, 6),
            err(E::TooDeep, 10)
        ]
    );
}

#[test]
fn truncated_trailing_and_empty() {
    assert_eq!(message(br#"{"a":"#), (vec![], vec![err(E::Truncated, 5)]));
    assert_eq!(message(b"[1, 2"), (vec![], vec![err(E::Truncated, 5)]));
    assert_eq!(message(b"-"), (vec![], vec![err(E::Truncated, 1)]));
    assert_eq!(
        stream(&[br#"{"a":"#, b"  "]),
        (vec![], vec![err(E::Truncated, 7)])
    );
    assert_eq!(stream(&[b"1."]), (vec![], vec![err(E::Truncated, 2)]));

    assert_eq!(message(b"[][]"), (vec![], vec![err(E::TrailingData, 2)]));
    assert_eq!(
        message(br#"{"a":1} "x""#),
        (vec![], vec![err(E::TrailingData, 8)])
    );
    assert_eq!(message(b"1 2"), (vec![], vec![err(E::TrailingData, 2)]));

    assert_eq!(message(b""), (vec![], vec![err(E::Empty, 0)]));
    assert_eq!(message(b" \r\n\t"), (vec![], vec![err(E::Empty, 4)]));
    assert_eq!(stream(&[b"", b" \n"]), (vec![], vec![]));
}

#[test]
fn error_names_and_messages() {
    let kinds = [
        (E::UnexpectedByte, "unexpected_byte"),
        (E::InvalidUtf8, "invalid_utf8"),
        (E::InvalidEscape, "invalid_escape"),
        (E::InvalidNumber, "invalid_number"),
        (E::ControlCharacter, "control_character"),
        (E::DocumentTooLarge, "document_too_large"),
        (E::TooDeep, "too_deep"),
        (E::Truncated, "truncated"),
        (E::TrailingData, "trailing_data"),
        (E::Empty, "empty"),
    ];
    for (kind, name) in kinds {
        assert_eq!(kind.as_str(), name);
        assert_eq!(kind.to_string(), name);
    }
    let shown = err(E::InvalidEscape, 42).to_string();
    assert_eq!(
        shown,
        "invalid escape in string (invalid_escape) at byte 42"
    );
    let _: &dyn std::error::Error = &err(E::Empty, 0);
}

// ---------------------------------------------------------------------------------------------
// Message mode

#[test]
fn message_mode_messages_are_independent() {
    let mut fa = FrameAssembler::new(config(Mode::Message));
    let mut docs = Vec::new();
    let mut collect = |d: &[u8]| docs.push(d.to_vec());
    fa.feed(b" {\"a\":[1,2]}\n", &mut collect);
    fa.feed(b"{\"a\":", &mut collect);
    fa.feed(b"\"b\"}", &mut collect);
    fa.feed(b"42", &mut collect);
    fa.feed(b"  true ", &mut collect);
    fa.finish(&mut collect);
    assert_eq!(docs, [&b"{\"a\":[1,2]}"[..], b"42", b"true"]);
    assert_eq!(
        fa.take_errors(),
        [err(E::Truncated, 5), err(E::TrailingData, 3)]
    );
    assert!(!fa.has_errors());
}

// ---------------------------------------------------------------------------------------------
// Stream mode

#[test]
fn stream_concatenation() {
    let (docs, errors) = stream(&[b"{\"a\":1}{\"b\":2}[1][2] \"s\"\"t\"true null\n3 4.5e6[7]-0 "]);
    assert_eq!(errors, []);
    let expected: [&[u8]; 12] = [
        b"{\"a\":1}",
        b"{\"b\":2}",
        b"[1]",
        b"[2]",
        b"\"s\"",
        b"\"t\"",
        b"true",
        b"null",
        b"3",
        b"4.5e6",
        b"[7]",
        b"-0",
    ];
    assert_eq!(docs, expected);
}

#[test]
fn stream_top_level_numbers() {
    assert_eq!(stream(&[b"12", b"34"]), (vec![b"1234".to_vec()], vec![]));
    assert_eq!(
        stream(&[b"1", b"{}"]),
        (vec![b"1".to_vec(), b"{}".to_vec()], vec![])
    );
    assert_eq!(stream(&[b"-1.5E+3"]), (vec![b"-1.5E+3".to_vec()], vec![]));
    let (docs, errors) = stream(&[b"1x [2]"]);
    assert_eq!(docs, [b"[2]"]);
    assert_eq!(errors, [err(E::UnexpectedByte, 1)]);
    let (docs, errors) = stream(&[b"0", b"1 [2]"]);
    assert_eq!(docs, [b"[2]"]);
    assert_eq!(errors, [err(E::InvalidNumber, 1)]);
}

#[test]
fn stream_resyncs_at_next_container() {
    // A truncated document followed by a fresh one: the fresh `{` is the offending byte.
    let (docs, errors) = stream(&[br#"{"a":1"#, br#"{"b":2}"#]);
    assert_eq!(docs, [br#"{"b":2}"#]);
    assert_eq!(errors, [err(E::UnexpectedByte, 6)]);
    // Garbage between documents is one error, however many letters and digits it holds.
    let (docs, errors) = stream(&[b"[1] garbage 123 \"x ", b"more}} {\"ok\":true}"]);
    assert_eq!(docs, [&b"[1]"[..], b"{\"ok\":true}"]);
    assert_eq!(errors, [err(E::UnexpectedByte, 4)]);
    // An error at a document's first byte skips that byte.
    let (docs, errors) = stream(&[b"]]][]"]);
    assert_eq!(docs, [b"[]"]);
    assert_eq!(errors, [err(E::UnexpectedByte, 0)]);
}

#[test]
fn stream_splits_inside_tokens() {
    let doc: &[u8] = "{\"k\\u00e9y\": [\"caf\u{e9} \u{20ac} \u{1d11e}\\n\\uD834\\uDD1E\", -12.5e-3, 0, true, false, null, {}, []]}".as_bytes();
    assert_splits(doc, &[doc]);
    let several = b" tr\x75e 12 \"\\u00e9\"[]{}-0.0e0\t1";
    assert_splits(
        several,
        &[
            b"true",
            b"12",
            b"\"\\u00e9\"",
            b"[]",
            b"{}",
            b"-0.0e0",
            b"1",
        ],
    );
    // Split literal and escape, explicitly.
    assert_eq!(stream(&[b"tr", b"ue"]).0, [b"true"]);
    assert_eq!(stream(&[b"[\"\\", b"u00", b"e9\"]"]).0, [b"[\"\\u00e9\"]"]);
    assert_eq!(
        stream(&[b"[\"\xE2", b"\x82", b"\xAC\"]"]).0,
        [b"[\"\xE2\x82\xAC\"]"]
    );
    // An error inside a later chunk reports its absolute offset.
    assert_eq!(
        stream(&[b"[\"\xE2", b"\x82", b"\x41\"]"]).1,
        [err(E::InvalidUtf8, 4)]
    );
    assert_eq!(
        stream(&[b"[\"\\uD8", b"00\\u00"]).1,
        [err(E::InvalidEscape, 10)]
    );
}

#[test]
fn zero_copy_when_document_is_inside_chunk() {
    let chunk = b"[1] {\"a\":2}";
    let mut fa = FrameAssembler::new(FramingConfig::default());
    let range = chunk.as_ptr_range();
    let mut seen = 0;
    fa.feed(chunk, &mut |d: &[u8]| {
        assert!(range.contains(&d.as_ptr()), "document was copied");
        seen += 1;
    });
    assert_eq!(seen, 2);
    assert_eq!(fa.bytes_buffered(), 0);
}

#[test]
fn buffer_holds_only_the_open_document() {
    let mut fa = FrameAssembler::new(FramingConfig::default());
    let mut docs = Vec::new();
    fa.feed(b"[1] [2, ", &mut |d: &[u8]| docs.push(d.to_vec()));
    assert_eq!(fa.bytes_buffered(), 4);
    fa.feed(b"3", &mut |d: &[u8]| docs.push(d.to_vec()));
    assert_eq!(fa.bytes_buffered(), 5);
    fa.feed(b"] 7", &mut |d: &[u8]| docs.push(d.to_vec()));
    assert_eq!(fa.bytes_buffered(), 1);
    fa.reset();
    assert_eq!(fa.bytes_buffered(), 0);
    fa.feed(b"[9]", &mut |d: &[u8]| docs.push(d.to_vec()));
    assert_eq!(docs, [&b"[1]"[..], b"[2, 3]", b"[9]"]);
}

#[test]
fn megabyte_document_in_small_chunks() {
    let doc = big_document(1 << 20);
    let mut fa = FrameAssembler::new(FramingConfig {
        max_document_bytes: 2 << 20,
        ..FramingConfig::default()
    });
    let mut got = Vec::new();
    for chunk in doc.chunks(1024) {
        fa.feed(chunk, &mut |d: &[u8]| got.push(d.to_vec()));
        assert!(fa.bytes_buffered() <= doc.len());
    }
    assert_eq!(got, [doc]);
}

/// A deterministic pseudo-random generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(self.0 >> 33).unwrap() % n
    }
}

#[test]
fn random_splits_give_identical_documents() {
    let docs: [&[u8]; 10] = [
        br#"{"topicName":"v2.conversations.x.transcription","eventBody":{"n":[1,-2.5e3,0]}}"#,
        "[\"\u{e9}\u{20ac}\u{1d11e}\",\"\\uD834\\uDD1E\\n\"]".as_bytes(),
        b"\"top-level string\"",
        b"[[[[[]]]],{}]",
        b"true",
        b"null",
        b"[-0.0E-0]",
        b"{\"a\" : { \"b\" :\t[ false ] } }",
        b"-12.5e+3",
        b"0",
    ];
    let mut rng = Lcg(0x9e37_79b9_7f4a_7c15);
    for _ in 0..500 {
        let mut input = Vec::new();
        let mut expected = Vec::new();
        let mut after_number = false;
        for _ in 0..rng.below(12) {
            let doc = docs[rng.below(docs.len())];
            // A top-level number needs whitespace (or a `{`, `[`, `"`) after it.
            let gap = rng.below(6).max(usize::from(after_number));
            input.extend_from_slice(&b"  \n\t\r"[..gap]);
            input.extend_from_slice(doc);
            expected.push(doc);
            after_number = doc[doc.len() - 1].is_ascii_digit();
        }
        let mut chunks = Vec::new();
        let mut rest = &input[..];
        while !rest.is_empty() {
            let (head, tail) = rest.split_at(rng.below(rest.len().min(40)) + 1);
            chunks.push(head);
            rest = tail;
        }
        let (got, errors) = stream(&chunks);
        assert_eq!(errors, []);
        assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(&input));
    }
}

// ---------------------------------------------------------------------------------------------
// JSONTestSuite (nst/JSONTestSuite test_parsing/, see ../shared/testdata/README.md §1)

fn suite() -> Option<Vec<(String, Vec<u8>)>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/jsontestsuite/test_parsing");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "note: {} is absent; skipping JSONTestSuite tests",
            dir.display()
        );
        return None;
    };
    let mut files: Vec<(String, Vec<u8>)> = entries
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    Some(files)
}

fn trim(bytes: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let start = bytes.iter().position(|b| !ws(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !ws(b)).map_or(start, |p| p + 1);
    &bytes[start..end]
}

#[test]
fn suite_accepts_every_y_file_whole_and_split() {
    let Some(files) = suite() else { return };
    let mut count = 0;
    for (name, bytes) in files.iter().filter(|(n, _)| n.starts_with("y_")) {
        let expected = trim(bytes);
        assert_eq!(message(bytes), (vec![expected.to_vec()], vec![]), "{name}");
        assert_splits(bytes, &[expected]);
        count += 1;
    }
    assert_eq!(count, 95);
}

#[test]
fn suite_rejects_every_n_file_in_message_mode() {
    let Some(files) = suite() else { return };
    let mut count = 0;
    for (name, bytes) in files.iter().filter(|(n, _)| n.starts_with("n_")) {
        let mut fa = FrameAssembler::new(config(Mode::Message));
        let mut docs = Vec::new();
        fa.feed(bytes, &mut |d: &[u8]| docs.push(d.to_vec()));
        assert!(docs.is_empty(), "{name} accepted");
        assert_eq!(fa.take_errors().len(), 1, "{name}");
        fa.feed(b"{\"next\":true}", &mut |d: &[u8]| docs.push(d.to_vec()));
        assert_eq!(
            docs,
            [b"{\"next\":true}"],
            "{name}: the next message must decode"
        );
        assert!(!fa.has_errors());
        count += 1;
    }
    assert_eq!(count, 188);
}

/// The n_ files that stream framing legitimately reads as zero or more good documents.
const STREAM_ACCEPTED_N: [&str; 4] = [
    "n_single_space.json",
    "n_structure_double_array.json",
    "n_structure_no_data.json",
    "n_structure_object_with_trailing_garbage.json",
];

#[test]
fn suite_n_files_in_stream_mode() {
    let Some(files) = suite() else { return };
    let mut accepted = Vec::new();
    for (name, bytes) in files.iter().filter(|(n, _)| n.starts_with("n_")) {
        let (_, errors) = stream(&[bytes]);
        let bytes_split: Vec<&[u8]> = bytes.chunks(7).collect();
        assert_eq!(
            stream(&bytes_split).1.is_empty(),
            errors.is_empty(),
            "{name}"
        );
        if errors.is_empty() {
            accepted.push(name.as_str());
        }
    }
    assert_eq!(accepted, STREAM_ACCEPTED_N);
    let (docs, _) = stream(&[b"[][]"]);
    assert_eq!(docs, [b"[]", b"[]"]);
}

#[test]
fn suite_n_file_between_good_documents() {
    let Some(files) = suite() else { return };
    let good = br#"{"good":[1,"two"]}"#;
    for (name, bytes) in files.iter().filter(|(n, _)| n.starts_with("n_")) {
        if STREAM_ACCEPTED_N.contains(&name.as_str()) {
            continue;
        }
        let input = [&good[..], b"\n", bytes, b"\n", good].concat();
        let (docs, errors) = stream(&[&input]);
        assert!(!errors.is_empty(), "{name}");
        assert_eq!(docs.first().map(Vec::as_slice), Some(&good[..]), "{name}");
        // The closing good document survives unless the bad one left a container open and the
        // good one validly continued it (`["a",` + `{"good":..}`): then input ends truncated.
        if docs.last().is_none_or(|d| d != good) {
            assert_eq!(errors.last().map(|e| e.kind), Some(E::Truncated), "{name}");
        }
    }
}

#[test]
fn suite_i_files_are_decided_without_panic() {
    let Some(files) = suite() else { return };
    for (name, bytes) in files.iter().filter(|(n, _)| n.starts_with("i_")) {
        let (docs, errors) = message(bytes);
        let whole = stream(&[bytes]);
        let bytes_split: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(stream(&bytes_split), whole, "{name}");
        // Our policy: huge numbers are valid grammar; everything else here is rejected
        // (surrogate problems, invalid UTF-8, UTF-16, BOM, nesting over 128).
        if name.starts_with("i_number_") {
            assert_eq!(
                (docs, errors),
                (vec![trim(bytes).to_vec()], vec![]),
                "{name}"
            );
        } else {
            assert!(docs.is_empty() && errors.len() == 1, "{name}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Throughput (release mode: cargo test --release -- --ignored --nocapture)

fn big_document(size: usize) -> Vec<u8> {
    let mut doc = b"[".to_vec();
    while doc.len() < size - 64 {
        doc.extend_from_slice(br#"{"word":"caf\u00e9 ok","confidence":0.875,"offsetMs":32300},"#);
    }
    doc.extend_from_slice(b"null]");
    doc
}

fn envelope() -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/genesys-examples/transcription-notification-envelope.json");
    std::fs::read(path).ok()
}

fn compact(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            in_string = escaped || b != b'"';
            escaped = !escaped && b == b'\\';
        } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        } else {
            in_string = b == b'"';
        }
        out.push(b);
    }
    out
}

/// Seconds for one pass of `input` in `chunk`-sized pieces through a fresh assembler.
fn time_once(input: &[u8], chunk: usize, expected_docs: usize) -> f64 {
    let mut fa = FrameAssembler::new(FramingConfig {
        max_document_bytes: 4 << 20,
        ..FramingConfig::default()
    });
    let mut docs = 0;
    let start = Instant::now();
    for part in input.chunks(chunk) {
        fa.feed(part, &mut |_| docs += 1);
    }
    fa.finish(&mut |_| docs += 1);
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(docs, expected_docs);
    assert!(!fa.has_errors());
    elapsed
}

/// Best of `runs` (the machine is shared, so the minimum is the honest figure), in MB/s.
fn throughput(label: &str, input: &[u8], chunk: usize, expected_docs: usize, runs: usize) -> f64 {
    let best = (0..runs)
        .map(|_| time_once(input, chunk, expected_docs))
        .fold(f64::INFINITY, f64::min);
    #[allow(clippy::cast_precision_loss)]
    let mbps = input.len() as f64 / best / 1e6;
    eprintln!("{label:<48} {mbps:>8.0} MB/s");
    best
}

#[test]
#[ignore = "timing harness; run with --release -- --ignored --nocapture"]
fn framing_throughput() {
    let Some(pretty) = envelope() else {
        eprintln!("note: Genesys example envelope absent; skipping");
        return;
    };
    let small = compact(&pretty);
    assert_eq!(message(&small).0.len(), 1);
    eprintln!(
        "envelope: {} bytes pretty, {} bytes compact",
        pretty.len(),
        small.len()
    );
    for (label, one) in [("pretty", &pretty), ("compact", &small)] {
        let corpus: Vec<u8> = std::iter::repeat_n(one.as_slice(), 10_000)
            .flatten()
            .copied()
            .collect();
        throughput(
            &format!("stream, 10k {label} envelopes, one chunk"),
            &corpus,
            corpus.len(),
            10_000,
            15,
        );
        throughput(
            &format!("stream, 10k {label} envelopes, 4 KiB chunks"),
            &corpus,
            4096,
            10_000,
            15,
        );
        throughput(
            &format!("stream, 10k {label} envelopes, one per chunk"),
            &corpus,
            one.len(),
            10_000,
            15,
        );
    }
    let doc = big_document(1 << 20);
    throughput("1 MiB document, one chunk", &doc, doc.len(), 1, 50);
    throughput("1 MiB document, 1 KiB chunks", &doc, 1024, 1, 50);
    // Interleave the two so that load from other processes hits both alike.
    let (mut whole, mut pieces) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..200 {
        whole = whole.min(time_once(&doc, doc.len(), 1));
        pieces = pieces.min(time_once(&doc, 1024, 1));
    }
    eprintln!(
        "1 MiB document: 1 KiB chunks cost {:.2}x one chunk",
        pieces / whole
    );
    assert!(pieces < 2.0 * whole);
}

#[test]
fn a_rejected_document_that_never_closes_gives_way_to_the_documents_after_it() {
    let cfg = FramingConfig {
        max_document_bytes: 64,
        ..config(Mode::Stream)
    };
    // Over the limit and cut short at depth 2; then 80 KiB of good documents, which balance
    // their own brackets, so the count would never reach zero without the discard's budget.
    let mut input = br#"{"a":["#.to_vec();
    input.extend(b"1,".repeat(50));
    let good: &[u8] = b"{\"g\":[1]}\n";
    let n = 80 * 1024 / good.len();
    for _ in 0..n {
        input.extend_from_slice(good);
    }
    let (docs, errors) = stream_any_split(&cfg, &input);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, E::DocumentTooLarge);
    assert!(
        docs.iter().all(|d| d == &good[..good.len() - 1]),
        "only good documents"
    );
    // What the discard read (64 KiB from where it began, at the limit) is lost; every document
    // after it arrives.
    let read = 64 * 1024 - (input.len() - n * good.len() - 64);
    let lost = n - docs.len();
    assert_eq!(lost, read.div_ceil(good.len()));
}
