"""JSONTestSuite (``../shared/testdata/jsontestsuite``) through ``FrameAssembler`` and ``Engine``.

* every ``y_`` file is accepted whole (message and stream mode) and split at every byte;
* every ``n_`` file is rejected in message mode with an error, and the next message still decodes;
  in stream mode the README §1.4 caveats apply (listed below);
* ``i_`` files never crash: the call returns, with the reference's answer;
* deep nesting is rejected with the buffer bounded by the cap.

Every outcome is also compared with the pure-Python reference (same documents, same errors).
"""

from __future__ import annotations

from pathlib import Path

import gcstream
import pytest
from reference import ERROR_KINDS, frame_message, frame_stream

# Found at collection time (to parametrize); with the shared folder absent, every test is skipped.
_SUITE = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "jsontestsuite" / "test_parsing"
_FILES = sorted(_SUITE.glob("*.json")) if _SUITE.is_dir() else []
Y_FILES = [f for f in _FILES if f.name.startswith("y_")]
N_FILES = [f for f in _FILES if f.name.startswith("n_")]
I_FILES = [f for f in _FILES if f.name.startswith("i_")]

DEEP = {
    "n_structure_100000_opening_arrays.json",
    "n_structure_open_array_object.json",
    "i_structure_500_nested_arrays.json",
}

# README §1.4: n_ files that a stream of concatenated documents legitimately reads without error.
VALID_AS_STREAMS = {
    "n_structure_double_array.json": [b"[]", b"[]"],
    "n_structure_object_with_trailing_garbage.json": [b'{"a": true}', b'"x"'],
    "n_single_space.json": [],
    "n_structure_no_data.json": [],
}

GOOD_MESSAGE = b'{"topicName":"channel.metadata","eventBody":{"message":"pong"}}'
SPLIT_EVERY_BYTE_LIMIT = 4096  # bytes; the deep-nesting files are split at a sample of offsets instead


def _ids(files: list[Path]) -> list[str]:
    return [f.name for f in files]


def _stream(
    chunks: list[bytes], max_document_bytes: int = 1 << 20
) -> tuple[list[bytes], list[tuple[str, int]]]:
    fa = gcstream.FrameAssembler("stream", max_document_bytes=max_document_bytes)
    docs: list[bytes] = []
    for chunk in chunks:
        docs += fa.feed(chunk)
        assert fa.bytes_buffered <= max_document_bytes
    docs += fa.finish()
    return docs, [(e.kind, e.offset) for e in fa.take_errors()]


def _message(data: bytes) -> tuple[list[bytes], list[tuple[str, int]]]:
    fa = gcstream.FrameAssembler("message")
    docs = fa.feed(data)
    return docs, [(e.kind, e.offset) for e in fa.take_errors()]


def _cuts(data: bytes) -> range | list[int]:
    if len(data) <= SPLIT_EVERY_BYTE_LIMIT:
        return range(len(data) + 1)
    return sorted({0, 1, 2, 3, len(data) // 3, len(data) // 2, len(data) - 1, len(data)})


@pytest.mark.parametrize("path", Y_FILES, ids=_ids(Y_FILES))
class TestAccept:
    """``y_``: a conforming parser must accept."""

    def test_whole_in_message_mode(self, path: Path) -> None:
        data = path.read_bytes()
        assert _message(data) == ([data.strip(b" \t\r\n")], [])

    def test_whole_in_stream_mode(self, path: Path) -> None:
        data = path.read_bytes()
        assert _stream([data]) == ([data.strip(b" \t\r\n")], [])

    def test_split_at_every_byte(self, path: Path) -> None:
        data = path.read_bytes()
        expected = ([data.strip(b" \t\r\n")], [])
        for cut in _cuts(data):
            assert _stream([data[:cut], data[cut:]]) == expected, f"split at {cut}"

    def test_one_byte_at_a_time(self, path: Path) -> None:
        data = path.read_bytes()
        assert _stream([data[i : i + 1] for i in range(len(data))]) == ([data.strip(b" \t\r\n")], [])


@pytest.mark.parametrize("path", N_FILES, ids=_ids(N_FILES))
class TestReject:
    """``n_``: a conforming parser must reject."""

    def test_rejected_in_message_mode_and_the_next_message_decodes(self, path: Path) -> None:
        data = path.read_bytes()
        fa = gcstream.FrameAssembler("message")
        assert fa.feed(data) == []
        errors = fa.take_errors()
        assert len(errors) == 1
        assert errors[0].kind in ERROR_KINDS
        assert 0 <= errors[0].offset <= len(data)
        assert (errors[0].kind, errors[0].offset) == frame_message(data)[1]
        assert fa.feed(GOOD_MESSAGE) == [GOOD_MESSAGE]
        assert fa.take_errors() == []

    def test_engine_rejects_it_and_decodes_the_next_frame(self, path: Path) -> None:
        engine = gcstream.Engine()
        records = engine.feed(path.read_bytes(), received_at_ms=1)
        assert [type(r) for r in records] == [gcstream.Rejected]
        (pong,) = engine.feed(GOOD_MESSAGE, received_at_ms=2)
        assert isinstance(pong, gcstream.Control)
        assert pong.kind == "pong"

    def test_stream_mode(self, path: Path) -> None:
        data = path.read_bytes()
        docs, errors = _stream([data])
        assert (docs, errors) == frame_stream(data)
        if path.name in VALID_AS_STREAMS:
            assert (docs, errors) == (VALID_AS_STREAMS[path.name], [])
        else:
            assert errors, "an n_ file that is not a valid stream must report an error"

    def test_stream_mode_is_split_invariant(self, path: Path) -> None:
        data = path.read_bytes()
        whole = _stream([data])
        for cut in _cuts(data):
            assert _stream([data[:cut], data[cut:]]) == whole, f"split at {cut}"


@pytest.mark.parametrize("path", I_FILES, ids=_ids(I_FILES))
class TestImplementationDefined:
    """``i_``: accept or reject, but never crash or hang; we answer what the reference answers."""

    def test_message_mode(self, path: Path) -> None:
        data = path.read_bytes()
        doc, error = frame_message(data)
        assert _message(data) == ([] if doc is None else [doc], [] if error is None else [error])

    def test_stream_mode_whole_split_and_byte_at_a_time(self, path: Path) -> None:
        data = path.read_bytes()
        expected = frame_stream(data)
        assert _stream([data]) == expected
        for cut in _cuts(data):
            assert _stream([data[:cut], data[cut:]]) == expected, f"split at {cut}"
        if len(data) <= SPLIT_EVERY_BYTE_LIMIT:
            assert _stream([data[i : i + 1] for i in range(len(data))]) == expected

    def test_engine_returns(self, path: Path) -> None:
        records = gcstream.Engine().feed(path.read_bytes(), received_at_ms=1)
        assert all(isinstance(r, gcstream.Rejected | gcstream.Control) for r in records)


DEEP_FILES = [f for f in _FILES if f.name in DEEP]


@pytest.mark.parametrize("path", DEEP_FILES, ids=_ids(DEEP_FILES))
class TestDeepNesting:
    """Deep nesting is capped: the calls return and the buffer never exceeds the cap."""

    def test_message_mode_reports_too_deep(self, path: Path) -> None:
        data = path.read_bytes()
        docs, errors = _message(data)
        assert docs == []
        assert [kind for kind, _ in errors] == ["too_deep"]
        assert errors == [frame_message(data)[1]]

    def test_stream_mode_in_1_kib_chunks_stays_bounded(self, path: Path) -> None:
        data = path.read_bytes()
        cap = 4096
        fa = gcstream.FrameAssembler("stream", max_document_bytes=cap, max_depth=128)
        docs: list[bytes] = []
        for i in range(0, len(data), 1024):
            docs += fa.feed(data[i : i + 1024])
            assert fa.bytes_buffered <= cap
        docs += fa.finish()
        # The rest of the rejected document is discarded: nothing inside it is a document.
        assert (docs, [e.kind for e in fa.take_errors()]) == ([], ["too_deep"])

    def test_a_deeper_cap_is_bounded_by_size_instead(self, path: Path) -> None:
        data = path.read_bytes()
        fa = gcstream.FrameAssembler("stream", max_document_bytes=300, max_depth=1_000_000)
        for i in range(0, len(data), 1024):
            fa.feed(data[i : i + 1024])
            assert fa.bytes_buffered <= 300
        fa.finish()
        assert fa.take_errors()

    def test_engine_rejects_it(self, path: Path) -> None:
        records = gcstream.Engine().feed(path.read_bytes(), received_at_ms=1)
        assert [type(r) for r in records] == [gcstream.Rejected]
