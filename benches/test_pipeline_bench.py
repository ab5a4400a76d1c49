"""Pipeline throughput into each sink against the engine alone, in the same run.

Each benchmark runs the same frames from memory: ``engine`` alone (``feed_many`` in batches),
then a :class:`~gcstream.pipeline.Pipeline` into one sink, opened and closed in the round:

* a no-op sink (the pipeline's own cost), JSONL and SQLite (the embedded sinks);
* the network sinks, each against a real server on 127.0.0.1 started by the sink tests'
  fixtures (``tests/sinks/services.py``): InfluxDB v1 (``influxd``), the InfluxDB v2 write API
  (``victoria-metrics``), the webhook (the sink tests' aiohttp peer, in a process of its own) and
  NATS JetStream (``nats-server -js``). A missing server binary skips its benchmark.

Every round delivers the same records again: replays overwrite the same points in InfluxDB and
are deduplicated by the webhook peer (409) and by JetStream (message ids), as in production. After
the rounds each network benchmark counts at the peer what arrived, replays included, so it cannot
pass while delivering nothing.

Ratios for the guard (lower is better, best rounds): ``pipeline_overhead`` (null sink),
``pipeline_jsonl_vs_engine``, ``pipeline_sqlite_vs_engine``, ``pipeline_influx_v1_vs_engine``,
``pipeline_influx_v2_vs_engine``, ``pipeline_webhook_vs_engine``, ``pipeline_nats_vs_engine``.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import gcstream
import pytest
from gcstream.pipeline import Pipeline
from gcstream.sinks.influx import InfluxSink
from gcstream.sinks.jsonl import JsonlSink
from gcstream.sinks.nats import NatsSink
from gcstream.sinks.sqlite import SqliteSink
from gcstream.sinks.webhook import WebhookSink
from sinks.services import (
    BASE_MS,
    Service,
    Webhook,
    frames,
    influx_points_written,
    influx_query,
    nats_stream_messages,
    victoria_export,
    victoria_lines_read,
    webhook_stats,
)

N_CONV, PER_CONV = 20, 100
UTTERANCES = N_CONV * PER_CONV
"""Every frame carries one final utterance."""
NATS_RECORDS = UTTERANCES + N_CONV
"""The NATS sink also publishes each conversation's update."""


@pytest.fixture(scope="module")
def data() -> list[bytes]:
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
        yield f, BASE_MS  # one receive time: batches form as in a burst


def _engine_alone(data: list[bytes]) -> int:
    engine = gcstream.Engine()
    n = 0
    for i in range(0, len(data), 256):
        n += len(engine.feed_many(data[i : i + 256], received_at_ms=BASE_MS))
    return n + len(engine.finish())


class Rounds:
    """One call is one benchmark round: the frames through a new Pipeline into a new sink.

    Keeps the sinks and counts the calls (pytest-benchmark's calibration runs included), so what
    arrived at the peer can be checked against ``calls`` rounds afterwards.
    """

    def __init__(self, data: list[bytes], make_sink: Callable[[Path], Any]) -> None:
        self.data = data
        self.make_sink = make_sink
        self.calls = 0
        self.sinks: list[Any] = []

    def __call__(self) -> int:
        self.calls += 1
        with tempfile.TemporaryDirectory() as tmp:
            sink = self.make_sink(Path(tmp))
            self.sinks.append(sink)
            pipeline = Pipeline(_source(self.data), gcstream.Engine(), [sink], shutdown_timeout=10)
            report = asyncio.run(pipeline.run())
            assert report.exit_code == 0, report
            return report.sinks[sink.name].delivered


@pytest.mark.benchmark(max_time=3.0)  # the denominator of every ratio here: more rounds for its best
def test_engine_alone(benchmark: Any, data: list[bytes]) -> None:
    assert benchmark(_engine_alone, data) >= UTTERANCES


def test_pipeline_null(benchmark: Any, data: list[bytes]) -> None:
    assert benchmark(Rounds(data, lambda _: NullSink())) >= UTTERANCES


def test_pipeline_jsonl(benchmark: Any, data: list[bytes]) -> None:
    assert benchmark(Rounds(data, lambda tmp: JsonlSink(tmp / "a.jsonl", fsync="interval"))) >= UTTERANCES


def test_pipeline_sqlite(benchmark: Any, data: list[bytes]) -> None:
    assert benchmark(Rounds(data, lambda tmp: SqliteSink(tmp / "gc.db"))) >= UTTERANCES


# -- network sinks, real servers on 127.0.0.1 -----------------------------------------------------


@pytest.mark.services
def test_pipeline_influx_v1(benchmark: Any, data: list[bytes], influxd: Service) -> None:
    rounds = Rounds(data, lambda _: InfluxSink(influxd.url, api="v1", database="cc"))
    assert benchmark(rounds) == UTTERANCES
    # At the peer: every round's points were accepted; replays overwrote the same points.
    assert influx_points_written(influxd.url) == rounds.calls * UTTERANCES
    res = influx_query(influxd.url, "SELECT count(latency_ms) FROM utterance", db="cc")
    assert res["results"][0]["series"][0]["values"][0][1] == UTTERANCES


@pytest.mark.services
def test_pipeline_influx_v2(benchmark: Any, data: list[bytes], victoria: Service) -> None:
    def sink(_: Path) -> InfluxSink:
        return InfluxSink(victoria.url, api="v2", org="acme", bucket="cc", token="t0k3n")

    rounds = Rounds(data, sink)
    assert benchmark(rounds) == UTTERANCES
    assert victoria_lines_read(victoria.url) == rounds.calls * UTTERANCES
    series = victoria_export(victoria.url, '{__name__="utterance_latency_ms"}')
    assert sum(len(s["values"]) for s in series) == UTTERANCES  # replays deduplicated


@pytest.mark.services
def test_pipeline_webhook(benchmark: Any, data: list[bytes], webhook_server: Service) -> None:
    token = Webhook.token
    rounds = Rounds(data, lambda _: WebhookSink(webhook_server.url + "/hook", token=token, concurrency=8))
    assert benchmark(rounds) == UTTERANCES
    stats = webhook_stats(webhook_server.url)
    assert stats["received"] == UTTERANCES  # each utterance once; replays answered 409
    assert stats["attempts"] == rounds.calls * UTTERANCES
    assert stats["duplicates"] == (rounds.calls - 1) * UTTERANCES


@pytest.mark.services
def test_pipeline_nats(benchmark: Any, data: list[bytes], nats_server: Service) -> None:
    rounds = Rounds(data, lambda _: NatsSink(nats_server.url))
    assert benchmark(rounds) == NATS_RECORDS
    # Acknowledged by the server, every round; stored once (the replays' message ids are known).
    assert sum(s.counters["published"] for s in rounds.sinks) == rounds.calls * NATS_RECORDS
    assert sum(s.counters["duplicates"] for s in rounds.sinks) == (rounds.calls - 1) * NATS_RECORDS
    assert asyncio.run(nats_stream_messages(nats_server.url)) == NATS_RECORDS
