"""The full Engine on a realistic mixed stream, against the pure-Python reference and orjson alone.

Group ``engine-mixed``: ``core`` (gcstream.Engine with its defaults: framing, decoding,
redaction, coalescing, ordering, quality, conversations, records into Python), ``reference``
(tests/reference_stream.py doing the same work in Python with orjson, except redaction),
``reference_redacting`` (the same, also redacting every interim text and each final's
transcripts and word lists with tests/reference_redact.py, as the engine does by default) and
``orjson`` (``orjson.loads`` of every frame and nothing else). Goals: core >= 30x reference and
>= 2x orjson, as ratios of medians from the same run (benches/floors.toml); the guard also
reads core against the redacting reference, the like-for-like comparison. The input: 50
interleaved conversations, two interim results before each final, heartbeats, status messages,
neighbour swaps and occasional repeated finals.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import gcstream
from reference_stream import ReferenceEngine, mixed_stream

FRAMES = mixed_stream(2000, conversations=50, seed=7)
UTTERANCES = 2000


def _core() -> int:
    eng = gcstream.Engine("notifications")
    n = 0
    for frame, at in FRAMES:
        n += len(eng.feed(frame, received_at_ms=at))
    n += len(eng.finish())
    assert eng.stats()["records"]["utterance"] == UTTERANCES
    return n


def _reference(redact: bool) -> int:
    ref = ReferenceEngine(redact=redact)
    out = []
    for frame, at in FRAMES:
        out += ref.feed(frame, at)
    out += ref.finish()
    assert sum(r["kind"] == "utterance" for r in out) == UTTERANCES
    return len(out)


def _orjson() -> int:
    n = 0
    for frame, _ in FRAMES:
        n += len(orjson.loads(frame))
    return n


@pytest.mark.benchmark(group="engine-mixed")
def test_core(benchmark) -> None:  # type: ignore[no-untyped-def]
    assert benchmark(_core) > UTTERANCES


@pytest.mark.benchmark(group="engine-mixed")
def test_reference(benchmark) -> None:  # type: ignore[no-untyped-def]
    assert benchmark(_reference, False) > UTTERANCES


@pytest.mark.benchmark(group="engine-mixed")
def test_reference_redacting(benchmark) -> None:  # type: ignore[no-untyped-def]
    assert benchmark(_reference, True) > UTTERANCES


@pytest.mark.benchmark(group="engine-mixed")
def test_orjson(benchmark) -> None:  # type: ignore[no-untyped-def]
    assert benchmark(_orjson) > 0
