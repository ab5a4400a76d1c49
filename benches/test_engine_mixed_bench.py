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

Group ``engine-width``: the mixed stream with the ends of 2,000 other conversations woven in, fed
to an engine that already tracks those 2,000 (``feed_alone``) and to one that tracks them and
8,000 more (``feed_beside_10k``). Each of them has spoken two finals further apart than the
reorder window, so the first has been through the privacy layer (its lane holds a tail) and the
second waits in the reorder window until the end releases it: every end costs the same on both
sides, and only the number of live calls differs. Neither round calls ``finish``; the engines are
built outside the timing. The guard caps ``engine_beside_10k_live`` (best rounds): what a frame
costs must not grow with the number of calls in progress.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import gcstream
from reference_stream import ReferenceEngine, _envelope, mixed_stream

FRAMES = mixed_stream(2000, conversations=50, seed=7)
UTTERANCES = 2000
LIVE = 10_000
ENDED = 2_000


def _warm(i: int) -> list[tuple[bytes, int]]:
    channel = ("EXTERNAL", "INTERNAL")[i % 2]
    return [
        (
            _envelope(f"live-{i}", f"m{i}", f"live-{i}-u{k}", channel, k * 5000, 1200, ["hi", "there"], True),
            FRAMES[0][1] - 60_000,
        )
        for k in range(2)
    ]


WARM = [frame for i in range(LIVE) for frame in _warm(i)]


def _end(conversation: str) -> bytes:
    body = {"conversationId": conversation, "status": {"offsetMs": 5000, "status": "SESSION_ENDED"}}
    return orjson.dumps({"topicName": f"v2.conversations.{conversation}.transcription", "eventBody": body})


# One end after every third frame of the mixed stream.
WIDE: list[tuple[bytes, int]] = []
for k, (frame, at) in enumerate(FRAMES):
    WIDE.append((frame, at))
    if k % 3 == 2 and k // 3 < ENDED:
        WIDE.append((_end(f"live-{k // 3}"), at))


def _core() -> int:
    eng = gcstream.Engine("notifications")
    n = 0
    for frame, at in FRAMES:
        n += len(eng.feed(frame, received_at_ms=at))
    n += len(eng.finish())
    assert eng.stats()["records"]["utterance"] == UTTERANCES
    return n


def _engine(live: int) -> tuple[tuple[gcstream.Engine], dict[str, object]]:
    eng = gcstream.Engine("notifications")
    for frame, at in WARM[: 2 * live]:
        eng.feed(frame, received_at_ms=at)
    return (eng,), {}


def _feed(eng: gcstream.Engine) -> int:
    n = 0
    for frame, at in WIDE:
        n += len(eng.feed(frame, received_at_ms=at))
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


@pytest.mark.benchmark(group="engine-width")
def test_feed_alone(benchmark) -> None:  # type: ignore[no-untyped-def]
    assert benchmark.pedantic(_feed, setup=lambda: _engine(ENDED), rounds=12) > UTTERANCES


@pytest.mark.benchmark(group="engine-width")
def test_feed_beside_10k(benchmark) -> None:  # type: ignore[no-untyped-def]
    assert benchmark.pedantic(_feed, setup=lambda: _engine(LIVE), rounds=12) > UTTERANCES
