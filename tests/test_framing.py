"""``gcstream.FrameAssembler`` (rust/core/src/framing.rs): bytes in, documents and errors out.

Byte-exact tests of the framing specification, then properties: any split of a valid stream gives
the same documents as feeding it whole, and the core agrees with ``tests/reference.py`` on
generated and corrupted input (same documents, same error kinds at the same offsets).
"""

from __future__ import annotations

import pickle

import gcstream
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import ERROR_KINDS, ReferenceFramer, frame_message, frame_stream
from strategies import INPUT_TYPES, as_input, chunked, corrupted, streams

Errors = list[tuple[str, int]]


def run_stream(
    chunks: list[bytes | bytearray | memoryview | str],
    max_document_bytes: int = 1 << 20,
    max_depth: int = 128,
) -> tuple[list[bytes], Errors]:
    """Feed chunks to a stream-mode assembler, then finish; checks the buffer cap after each feed."""
    fa = gcstream.FrameAssembler("stream", max_document_bytes=max_document_bytes, max_depth=max_depth)
    docs: list[bytes] = []
    for chunk in chunks:
        docs += fa.feed(chunk)
        assert fa.bytes_buffered <= max_document_bytes
    docs += fa.finish()
    assert fa.bytes_buffered == 0
    return docs, [(e.kind, e.offset) for e in fa.take_errors()]


def split(data: bytes, size: int | None) -> list[bytes | bytearray | memoryview | str]:
    """``data`` in chunks of ``size`` bytes (whole when ``size`` is None)."""
    step = size or len(data)
    return [data[i : i + step] for i in range(0, len(data), step)]


def run_message(
    msg: bytes, max_document_bytes: int = 1 << 20, max_depth: int = 128
) -> tuple[list[bytes], Errors]:
    """Feed one message to a message-mode assembler."""
    fa = gcstream.FrameAssembler("message", max_document_bytes=max_document_bytes, max_depth=max_depth)
    docs = fa.feed(msg) + fa.finish()
    return docs, [(e.kind, e.offset) for e in fa.take_errors()]


class TestModuleExample:
    """The example at the top of framing.rs, through the Python API."""

    def test_documents_span_and_share_chunks(self) -> None:
        fa = gcstream.FrameAssembler()
        docs = fa.feed(b'{"a":1}{"b":') + fa.feed(b"2} [3,") + fa.feed(b"4] nope [5]") + fa.finish()
        assert docs == [b'{"a":1}', b'{"b":2}', b"[3,4]", b"[5]"]
        errors = fa.take_errors()
        assert [(e.kind, e.offset) for e in errors] == [("unexpected_byte", 22)]


# (input, kind, offset): each rejected the same way in message mode and in stream mode.
REJECTS = [
    (b'{"a" 1}', "unexpected_byte", 5),
    (b"[1,]", "unexpected_byte", 3),
    (b'{"a":1,}', "unexpected_byte", 7),
    (b"[1 2]", "unexpected_byte", 3),
    (b"[tru]", "unexpected_byte", 4),
    (b"[\x0c]", "unexpected_byte", 1),
    (b"[1}", "unexpected_byte", 2),
    (b'["\xc3\x28"]', "invalid_utf8", 3),
    (b'["\xc0\x80"]', "invalid_utf8", 2),
    (b'["\xe0\x80\x80"]', "invalid_utf8", 3),
    (b'["\xed\xa0\x80"]', "invalid_utf8", 3),
    (b'["\xf4\x90\x80\x80"]', "invalid_utf8", 3),
    (b'["\x80"]', "invalid_utf8", 2),
    (b"[\xc3\xa9]", "unexpected_byte", 1),
    (rb'["\x"]', "invalid_escape", 3),
    (rb'["\u12G4"]', "invalid_escape", 6),
    (rb'["\uD800"]', "invalid_escape", 8),
    (rb'["\uDC00"]', "invalid_escape", 5),
    (rb'["\uD800\u0041"]', "invalid_escape", 10),
    (b"[01]", "invalid_number", 2),
    (b"[-]", "invalid_number", 2),
    (b"[1.]", "invalid_number", 3),
    (b"[1e+]", "invalid_number", 4),
    (b'["a\x01"]', "control_character", 3),
    (b'{"k\n":1}', "control_character", 3),
]


class TestErrorKinds:
    """Each error kind, with the offset of the first bad byte."""

    @pytest.mark.parametrize(("data", "kind", "offset"), REJECTS)
    def test_message_mode(self, data: bytes, kind: str, offset: int) -> None:
        assert run_message(data) == ([], [(kind, offset)])

    @pytest.mark.parametrize(("data", "kind", "offset"), REJECTS)
    def test_stream_mode(self, data: bytes, kind: str, offset: int) -> None:
        docs, errors = run_stream([data])
        assert errors[0] == (kind, offset)
        assert (docs, errors) == frame_stream(data)

    @pytest.mark.parametrize(("data", "kind", "offset"), REJECTS)
    def test_reference_agrees(self, data: bytes, kind: str, offset: int) -> None:
        assert frame_message(data) == (None, (kind, offset))

    def test_framing_error_is_a_value_error_with_attributes(self) -> None:
        fa = gcstream.FrameAssembler("message")
        fa.feed(b"[1,]")
        (error,) = fa.take_errors()
        assert isinstance(error, gcstream.FramingError)
        assert isinstance(error, ValueError)
        assert isinstance(error, gcstream.RemoteProtocolError)
        assert (error.kind, error.offset) == ("unexpected_byte", 3)
        assert error.kind in ERROR_KINDS
        clone = pickle.loads(pickle.dumps(error))
        assert (type(clone), clone.kind, clone.offset, str(clone)) == (
            type(error),
            "unexpected_byte",
            3,
            str(error),
        )

    def test_errors_are_drained(self) -> None:
        fa = gcstream.FrameAssembler("message")
        fa.feed(b"x")
        assert len(fa.take_errors()) == 1
        assert fa.take_errors() == []


class TestMessageMode:
    """Each feed is one whole message holding exactly one document."""

    def test_surrounding_whitespace_is_not_part_of_the_document(self) -> None:
        assert run_message(b' \r\n\t{"a": [1, 2]} \n') == ([b'{"a": [1, 2]}'], [])

    @pytest.mark.parametrize(("data", "error"), [(b"", ("empty", 0)), (b" \n\t ", ("empty", 4))])
    def test_empty(self, data: bytes, error: tuple[str, int]) -> None:
        assert run_message(data) == ([], [error])

    @pytest.mark.parametrize(
        ("data", "error"),
        [
            (b"{}{}", ("trailing_data", 2)),
            (b'{"a":true} "x"', ("trailing_data", 11)),
            (b"[] x", ("trailing_data", 3)),
        ],
    )
    def test_trailing_data(self, data: bytes, error: tuple[str, int]) -> None:
        assert run_message(data) == ([], [error])

    @pytest.mark.parametrize(("data", "offset"), [(b'{"a":', 5), (b'["abc', 5), (b"[1.5e", 5), (b"-", 1)])
    def test_truncated_at_end_of_message(self, data: bytes, offset: int) -> None:
        assert run_message(data) == ([], [("truncated", offset)])

    def test_top_level_scalars(self) -> None:
        for doc in (b"42", b"-0.5e3", b'"s"', b"true", b"null"):
            assert run_message(doc + b" ") == ([doc], [])

    def test_offsets_are_relative_to_each_message(self) -> None:
        fa = gcstream.FrameAssembler("message")
        assert fa.feed(b'{"ok":1}') == [b'{"ok":1}']
        assert fa.feed(b"[1,]") == []
        assert fa.feed(b"[01]") == []
        assert [(e.kind, e.offset) for e in fa.take_errors()] == [
            ("unexpected_byte", 3),
            ("invalid_number", 2),
        ]

    def test_a_bad_message_does_not_affect_the_next(self) -> None:
        fa = gcstream.FrameAssembler("message")
        assert fa.feed(b'{"a":') == []
        assert fa.feed(b'{"b":2}') == [b'{"b":2}']
        assert [e.kind for e in fa.take_errors()] == ["truncated"]

    def test_document_too_large(self) -> None:
        assert run_message(b"[1,2,3,4]", max_document_bytes=4) == ([], [("document_too_large", 4)])
        assert run_message(b"  [1,2]  ", max_document_bytes=5) == ([b"[1,2]"], [])

    def test_too_deep(self) -> None:
        assert run_message(b"[[[]]]", max_depth=3) == ([b"[[[]]]"], [])
        assert run_message(b"[[[[]]]]", max_depth=3) == ([], [("too_deep", 3)])


class TestStreamMode:
    """Documents may span chunks and share them; offsets count from creation."""

    def test_several_documents_per_chunk_with_and_without_whitespace(self) -> None:
        assert run_stream([b'{"a":1}[2]\n"three" 4 true{"b":null}']) == (
            [b'{"a":1}', b"[2]", b'"three"', b"4", b"true", b'{"b":null}'],
            [],
        )

    def test_a_top_level_number_waits_for_a_delimiter_or_finish(self) -> None:
        fa = gcstream.FrameAssembler()
        assert fa.feed(b"12") == []
        assert fa.feed(b"34") == []
        assert fa.feed(b" 5") == [b"1234"]
        assert fa.finish() == [b"5"]
        assert fa.take_errors() == []

    def test_offsets_are_absolute_across_chunks(self) -> None:
        assert run_stream([b'{"a":1}\n', b"[1,", b"]", b" [2]"]) == (
            [b'{"a":1}', b"[2]"],
            [("unexpected_byte", 11)],
        )

    def test_resync_at_the_next_container(self) -> None:
        data = b'{"a":1{"b":2} garbage 123 "x" [3]'
        assert run_stream([data]) == ([b'{"b":2}', b"[3]"], [("unexpected_byte", 6), ("unexpected_byte", 14)])
        assert frame_stream(data) == run_stream([data])

    def test_truncated_at_finish(self) -> None:
        assert run_stream([b'[1] {"a":', b' "b']) == ([b"[1]"], [("truncated", 12)])

    def test_pure_whitespace_is_no_document_and_no_error(self) -> None:
        assert run_stream([b"", b" \n", b"\t\r "]) == ([], [])

    def test_byte_order_mark_is_rejected(self) -> None:
        assert run_stream([b"\xef\xbb\xbf{}"]) == ([b"{}"], [("unexpected_byte", 0)])

    def test_document_too_large_keeps_the_buffer_bounded(self) -> None:
        big = b'["' + b"x" * 5000 + b'"]'
        chunks = [big[i : i + 100] for i in range(0, len(big), 100)] + [b" [1]"]
        docs, errors = run_stream(chunks, max_document_bytes=1000)
        assert docs == [b"[1]"]
        assert errors == [("document_too_large", 1000)]

    def test_document_exactly_at_the_cap(self) -> None:
        assert run_stream([b"[1,2] [1,23]"], max_document_bytes=5) == (
            [b"[1,2]"],
            [("document_too_large", 11)],
        )

    def test_too_deep_is_discarded_to_its_end(self) -> None:
        # Nothing inside the rejected document, not the inner `[1]`, comes out as a document.
        data = b"[[[1]]] [2]"
        assert run_stream([data], max_depth=2) == ([b"[2]"], [("too_deep", 2)])
        assert frame_stream(data, max_depth=2) == run_stream([data], max_depth=2)

    @pytest.mark.parametrize("chunk", [1, 7, None])
    @pytest.mark.parametrize("depth", [129, 200, 1000])
    def test_one_error_per_too_deep_document(self, depth: int, chunk: int | None) -> None:
        good = b'{"good":["]",1]}'
        bad = b"[" * depth + b'{"inner":"[{\\"}"}' + b"]" * depth
        data = good + b"\n" + bad + b"\n" + good
        expected = ([good, good], [("too_deep", len(good) + 1 + 128)])
        assert run_stream(split(data, chunk)) == expected
        assert frame_stream(data) == expected

    @pytest.mark.parametrize("chunk", [1, 7, None])
    @pytest.mark.parametrize(
        "padding",
        [b"x" * 39, b"x" * 60, b"x" * 55 + b'\\"'],
        ids=["cap-outside-a-string", "cap-inside-a-string", "cap-after-a-backslash"],
    )
    def test_one_error_per_oversized_document(self, padding: bytes, chunk: int | None) -> None:
        # The cap (byte 64 of the document) falls on the `[` of the first inner object, inside the
        # padding string, or on an escaped quote; either way the inner objects stay inside.
        inner = b'{"phantom":[1,2]}'
        bad = b'{"pad":"%s","n":%s,"t":"]}{\\"x\\":[9]}","m":[%s]}' % (padding, inner, inner)
        data = b"[0] " + bad + b" [3] " + inner
        expected = ([b"[0]", b"[3]", inner], [("document_too_large", 4 + 64)])
        assert run_stream(split(data, chunk), max_document_bytes=64) == expected
        assert frame_stream(data, max_document_bytes=64) == expected

    def test_an_oversized_scalar(self) -> None:
        # A string is discarded to its closing quote; a number has no end to find and resyncs.
        string = b'"' + b"x" * 70 + b'\\"[1]{}" [2]'
        assert run_stream([string], max_document_bytes=64) == ([b"[2]"], [("document_too_large", 64)])
        number = b"1" * 70 + b' 5 "s" [2]'
        assert run_stream([number], max_document_bytes=64) == ([b"[2]"], [("document_too_large", 64)])
        for data in (string, number):
            assert frame_stream(data, max_document_bytes=64) == run_stream([data], max_document_bytes=64)

    @pytest.mark.parametrize("chunk", [1, 7, None])
    def test_a_malformed_document_still_resyncs(self, chunk: int | None) -> None:
        # After a syntax error the depth is not to be trusted: scanning resyncs at the next `{` or
        # `[`, even inside the bad document, so that a fresh document after a cut one survives.
        data = b'[1 [2]] {"a":1 {"b":2}'
        expected = (
            [b"[2]", b'{"b":2}'],
            [("unexpected_byte", 3), ("unexpected_byte", 6), ("unexpected_byte", 15)],
        )
        assert run_stream(split(data, chunk)) == expected
        assert frame_stream(data) == expected

    def test_reset_forgets_everything(self) -> None:
        fa = gcstream.FrameAssembler()
        fa.feed(b'{"a": x [1, 2')
        assert fa.bytes_buffered > 0
        fa.reset()
        assert (fa.bytes_buffered, fa.take_errors()) == (0, [])
        assert fa.feed(b"[1,]") == []
        assert [(e.kind, e.offset) for e in fa.take_errors()] == [("unexpected_byte", 3)]

    def test_can_be_fed_again_after_finish(self) -> None:
        fa = gcstream.FrameAssembler()
        assert fa.feed(b"[1") + fa.finish() == []
        assert fa.feed(b" [2]") == [b"[2]"]
        assert [(e.kind, e.offset) for e in fa.take_errors()] == [("truncated", 2)]


class TestArguments:
    """Input types and configuration."""

    @pytest.mark.parametrize("kind", INPUT_TYPES)
    def test_every_input_type(self, kind: str) -> None:
        fa = gcstream.FrameAssembler()
        assert fa.feed(as_input('{"é":"日本"}'.encode(), kind)) == ['{"é":"日本"}'.encode()]

    def test_other_types_are_a_type_error(self) -> None:
        fa = gcstream.FrameAssembler()
        with pytest.raises(TypeError):
            fa.feed(12)  # type: ignore[arg-type]

    def test_mode_and_limits_are_validated(self) -> None:
        with pytest.raises(gcstream.ConfigError):
            gcstream.FrameAssembler("bogus")
        with pytest.raises(gcstream.ConfigError):
            gcstream.FrameAssembler(max_depth=0)
        with pytest.raises(gcstream.ConfigError):
            gcstream.FrameAssembler(max_document_bytes=0)
        assert gcstream.FrameAssembler("message").mode == "message"


class TestProperties:
    """Split invariance and agreement with the pure-Python reference."""

    @given(st.data())
    def test_any_split_of_a_valid_stream_gives_the_same_documents(self, data: st.DataObject) -> None:
        stream, docs = data.draw(streams())
        chunks = data.draw(chunked(stream))
        assert run_stream(chunks) == (docs, [])
        assert run_stream([stream]) == (docs, [])

    @given(st.data())
    def test_agrees_with_the_reference_on_generated_input(self, data: st.DataObject) -> None:
        stream, _ = data.draw(streams(max_docs=4))
        max_document_bytes = data.draw(st.sampled_from([1 << 20, 16, 64, 256]))
        max_depth = data.draw(st.sampled_from([128, 1, 2, 4]))
        chunks = data.draw(chunked(stream))
        assert run_stream(chunks, max_document_bytes, max_depth) == frame_stream(
            stream, max_document_bytes, max_depth
        )

    @given(st.data())
    def test_agrees_with_the_reference_on_corrupted_input(self, data: st.DataObject) -> None:
        stream, _ = data.draw(streams(min_docs=1, max_docs=4))
        bad = data.draw(corrupted(stream))
        max_document_bytes = data.draw(st.sampled_from([1 << 20, 64]))
        chunks = data.draw(chunked(bad))
        docs, errors = run_stream(chunks, max_document_bytes)
        assert (docs, errors) == frame_stream(bad, max_document_bytes)
        assert all(kind in ERROR_KINDS for kind, _ in errors)

    @given(st.data())
    def test_message_mode_agrees_with_the_reference(self, data: st.DataObject) -> None:
        stream, _ = data.draw(streams(max_docs=2))
        msg = data.draw(st.sampled_from([stream, data.draw(corrupted(stream))]))
        doc, error = frame_message(msg)
        assert run_message(msg) == ([] if doc is None else [doc], [] if error is None else [error])

    @given(st.data())
    def test_reference_is_split_invariant_too(self, data: st.DataObject) -> None:
        bad = data.draw(corrupted(data.draw(streams(max_docs=3))[0]))
        framer = ReferenceFramer()
        docs: list[bytes] = []
        for chunk in data.draw(chunked(bad, allow_str=False)):
            docs += framer.feed(chunk)
        docs += framer.finish()
        assert (docs, framer.take_errors()) == frame_stream(bad)
