"""Pipeline throughput into each local sink against the engine alone, in the same run.

Each benchmark runs the same frames from memory: ``engine`` alone (``feed_many`` in batches),
then a :class:`~gcstream.pipeline.Pipeline` into one sink (a no-op sink measures the pipeline's
own cost; JSONL and SQLite are the embedded sinks). Ratios for the guard (lower is better):
``pipeline_null_vs_engine``, ``pipeline_jsonl_vs_engine``, ``pipeline_sqlite_vs_engine``.
The network sinks are measured by their tests against real servers, not here.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import gcstream
import pytest
from gcstream.pipeline import Pipeline
from gcstream.sinks.jsonl import JsonlSink
from gcstream.sinks.sqlite import SqliteSink

N_CONV, PER_CONV = 20, 100


@pytest.fixture(scope="module")
def data() -> list[bytes]:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
    from sinks.services import frames

    return frames(N_CONV, PER_CONV)


class NullSink:
    name = "null"
    kinds = frozenset({"utterance", "conversation_update", "partial", "gap", "rejected", "control"})

    def __init__(self) -> None:
        self.n = 0

    async def open(self) -> None:
        self.n = 0

    async def write(self, batch: Sequence[Any]) -> None:
        self.n += len(batch)

    async def flush(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


async def _source(data: list[bytes]) -> AsyncIterator[tuple[bytes, int]]:
    for f in data:
        yield f, 1_700_000_000_000  # one receive time: batches form as in a burst


def _engine_alone(data: list[bytes]) -> int:
    engine = gcstream.Engine()
    n = 0
    for i in range(0, len(data), 256):
        n += len(engine.feed_many(data[i : i + 256], received_at_ms=1_700_000_000_000))
    return n + len(engine.finish())


def _pipeline(data: list[bytes], make_sink: Any) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        sink = make_sink(Path(tmp))
        report = asyncio.run(Pipeline(_source(data), gcstream.Engine(), [sink]).run())
        assert report.exit_code == 0
        return report.sinks[sink.name].delivered


def test_engine_alone(benchmark: Any, data: list[bytes]) -> None:
    assert benchmark(_engine_alone, data) >= N_CONV * PER_CONV


def test_pipeline_null(benchmark: Any, data: list[bytes]) -> None:
    assert benchmark(_pipeline, data, lambda _: NullSink()) >= N_CONV * PER_CONV


def test_pipeline_jsonl(benchmark: Any, data: list[bytes]) -> None:
    delivered = benchmark(_pipeline, data, lambda tmp: JsonlSink(tmp / "a.jsonl", fsync="interval"))
    assert delivered >= N_CONV * PER_CONV


def test_pipeline_sqlite(benchmark: Any, data: list[bytes]) -> None:
    assert benchmark(_pipeline, data, lambda tmp: SqliteSink(tmp / "gc.db")) >= N_CONV * PER_CONV
