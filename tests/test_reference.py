"""``tests/reference.py`` itself: the reference must be right before it can judge the core.

Known answers from the framing specification, the benchmark baselines against the exact
reference, and the committed benchmark sample against its generator.
"""

from __future__ import annotations

import json

import corpus
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import (
    RawDecodeFramer,
    ReferenceEngine,
    frame_message,
    frame_stream,
    parse_iso_ms,
    reference_pipeline,
)
from strategies import streams


class TestFramer:
    """Known answers."""

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            (
                b'{"a":1}{"b":2} [3,4] nope [5]',
                ([b'{"a":1}', b'{"b":2}', b"[3,4]", b"[5]"], [("unexpected_byte", 22)]),
            ),
            (b"1 2", ([b"1", b"2"], [])),
            (b"12x [1]", ([b"[1]"], [("unexpected_byte", 2)])),
            (b'["\\uD834\\uDD1E"]', ([b'["\\uD834\\uDD1E"]'], [])),
            (b'["\\uD834"]', ([], [("invalid_escape", 8)])),
            (b"[1", ([], [("truncated", 2)])),
            (b"", ([], [])),
        ],
    )
    def test_stream(self, data: bytes, expected: tuple[list[bytes], list[tuple[str, int]]]) -> None:
        assert frame_stream(data) == expected

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            (b" {} ", (b"{}", None)),
            (b"{} {}", (None, ("trailing_data", 3))),
            (b"  ", (None, ("empty", 2))),
            (b"-", (None, ("truncated", 1))),
            (b"123", (b"123", None)),
            (b"[[[]]]", (None, ("too_deep", 2))),
        ],
    )
    def test_message(self, data: bytes, expected: tuple[bytes | None, tuple[str, int] | None]) -> None:
        assert frame_message(data, max_depth=2) == expected

    def test_size_cap(self) -> None:
        # The oversized container is skipped to its end, after which framing goes on as usual.
        assert frame_stream(b"[1,2] [1,23] 1234 [5]", max_document_bytes=5) == (
            [b"[1,2]", b"1234", b"[5]"],
            [("document_too_large", 11)],
        )
        # After an oversized number only a container restarts framing, so the scalars are skipped.
        assert frame_stream(b"123456 78 [5]", max_document_bytes=5) == ([b"[5]"], [("document_too_large", 5)])


class TestBaselines:
    """The benchmark baselines agree with the exact reference on valid input."""

    @given(streams(), st.integers(1, 64))
    def test_raw_decode_framer(self, stream: tuple[bytes, list[bytes]], chunk: int) -> None:
        data, docs = stream
        framer = RawDecodeFramer()
        values = [v for i in range(0, len(data), chunk) for v in framer.feed(data[i : i + chunk])]
        values += framer.feed(b" ")
        assert values == [json.loads(d) for d in docs]

    def test_pipeline_equals_the_validating_reference_on_the_corpus(self) -> None:
        frames = corpus.envelopes(30)
        fast = reference_pipeline(frames, received_at_ms=1_774_055_500_000)
        exact = ReferenceEngine(validate=True).feed_many(frames, received_at_ms=1_774_055_500_000)
        assert fast == exact
        assert sum(r["type"] == "Utterance" for r in fast) == 30

    def test_iso_times(self) -> None:
        assert parse_iso_ms("2026-03-21T01:10:12.140Z") == 1_774_055_412_140
        assert parse_iso_ms("2026-03-21T02:10:12.140+01:00") == 1_774_055_412_140
        assert parse_iso_ms("1970-01-01T00:00:01.5Z") == 1500
        assert parse_iso_ms("2026-13-21T01:10:12Z") is None


class TestCorpus:
    """The benchmark corpus."""

    def test_committed_sample_matches_the_generator(self) -> None:
        assert corpus.SAMPLE_PATH.read_bytes() == corpus.stream(corpus.SAMPLE_SIZE)

    def test_sizes_follow_the_measured_distribution(self) -> None:
        sizes = sorted(len(e) for e in corpus.envelopes(2000))
        assert sizes[0] >= 1024
        assert 1700 <= sizes[len(sizes) // 2] <= 2200  # real median 1,939 B (peers §A.7)
        share_1_2k = sum(s < 2048 for s in sizes) / len(sizes)
        assert 0.45 <= share_1_2k <= 0.62  # real 53.8 %
        assert all(json.loads(e)["topicName"].endswith(".transcription") for e in corpus.envelopes(5))
