"""Engine benchmarks (group ``engine``): framing + decode + records, on the same realistic frames.

* ``Engine.feed_many``: one crossing for the whole batch;
* ``Engine.feed``: one crossing per frame, as a WebSocket loop would call it;
* the pure-Python reference pipeline (``json.loads`` + dict decoding + de-duplication);
* ``orjson.loads`` alone per frame: parsing only, no records;
* ``Engine`` doing what the reference does — framing, decoding, de-duplication and records — with
  redaction and the reorder window switched off (``decode_only``): the like-for-like comparison
  for the foundation issue's "framing + decode" target. The full engine above also redacts every
  field and orders utterances, which the reference does not.

Each round uses a fresh engine, so every round does the same work (no duplicates).
"""

from __future__ import annotations

from typing import Any

import gcstream
import orjson
import pytest
from reference import reference_pipeline

RECEIVED_AT = 1_774_056_000_000


def utterances(records: list[Any]) -> int:
    return sum(isinstance(r, gcstream.Utterance) for r in records)


def engine_feed_many(frames: list[bytes]) -> int:
    engine = gcstream.Engine()
    records = engine.feed_many(frames, received_at_ms=RECEIVED_AT)
    return utterances(records + engine.finish())


def engine_feed(frames: list[bytes]) -> int:
    engine = gcstream.Engine()
    feed = engine.feed
    records: list[Any] = []
    for frame in frames:
        records += feed(frame, received_at_ms=RECEIVED_AT)
    return utterances(records + engine.finish())


def engine_decode_only(frames: list[bytes]) -> int:
    engine = gcstream.Engine(redact=False, reorder_window_ms=0, latency_policy="off")
    records = engine.feed_many(frames, received_at_ms=RECEIVED_AT)
    return utterances(records + engine.finish())


def reference(frames: list[bytes]) -> int:
    return sum(r["type"] == "Utterance" for r in reference_pipeline(frames, received_at_ms=RECEIVED_AT))


def orjson_alone(frames: list[bytes]) -> int:
    loads = orjson.loads
    return len([loads(frame) for frame in frames])


@pytest.mark.benchmark(group="engine")
def test_engine_feed_many(benchmark: Any, frames: list[bytes]) -> None:
    assert benchmark(engine_feed_many, frames) == len(frames)


@pytest.mark.benchmark(group="engine")
def test_engine_feed(benchmark: Any, frames: list[bytes]) -> None:
    assert benchmark(engine_feed, frames) == len(frames)


@pytest.mark.benchmark(group="engine")
def test_engine_reference(benchmark: Any, frames: list[bytes]) -> None:
    assert benchmark(reference, frames) == len(frames)


@pytest.mark.benchmark(group="engine")
def test_engine_orjson(benchmark: Any, frames: list[bytes]) -> None:
    assert benchmark(orjson_alone, frames) == len(frames)


@pytest.mark.benchmark(group="engine")
def test_engine_decode_only(benchmark: Any, frames: list[bytes]) -> None:
    assert benchmark(engine_decode_only, frames) == len(frames)
