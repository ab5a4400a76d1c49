"""InfluxSink against a real influxd 1.x (v1 API) and VictoriaMetrics (v2 API)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from gcstream import Utterance
from gcstream.exceptions import ConfigError, SinkRejectedError
from gcstream.sinks.influx import InfluxSink

from sinks.services import Service, influx_query, records, utterances, victoria_export

TIMEOUT = 20.0


async def test_v1_writes_points_and_replay_overwrites(influxd: Service) -> None:
    recs = records(3, 4)
    utts = utterances(recs)
    sink = InfluxSink(influxd.url, api="v1", database="cc")
    await sink.open()
    async with asyncio.timeout(TIMEOUT):
        await sink.write(recs)
        await sink.write(recs)  # a replay: same series and timestamps, so nothing is added
    await sink.aclose()
    res = influx_query(influxd.url, "SELECT * FROM utterance", db="cc")
    series = res["results"][0]["series"][0]
    rows = [dict(zip(series["columns"], v, strict=True)) for v in series["values"]]
    assert len(rows) == len(utts)
    by_id = {r["utterance_id"]: r for r in rows}
    u = utts[0]
    row = by_id[u.utterance_id]
    assert row["text"] == u.text  # quotes, commas and equals signs survived the escaping
    assert row["conversation"] == u.conversation_id
    assert row["channel"] == u.channel
    assert row["confidence"] == pytest.approx(u.confidence)
    assert row["latency_ms"] == u.latency_ms
    assert row["time"] // 1_000_000 == u.start_ms  # ns timestamps


async def test_v1_bad_database_is_a_clear_error(influxd: Service) -> None:
    from gcstream.exceptions import SinkError

    sink = InfluxSink(influxd.url, api="v1", database="missing")
    await sink.open()
    with pytest.raises(SinkError, match=r"404|database not found"):
        async with asyncio.timeout(TIMEOUT):
            await sink.write(records(1, 1))
    await sink.aclose()


async def test_v2_api_on_victoria_metrics(victoria: Service) -> None:
    recs = records(2, 3)
    utts = utterances(recs)
    sink = InfluxSink(victoria.url, api="v2", org="acme", bucket="cc", token="t0k3n")
    await sink.open()
    async with asyncio.timeout(TIMEOUT):
        await sink.write(recs)
        await sink.write(recs)
    await sink.aclose()
    got = victoria_export(victoria.url, '{__name__="utterance_latency_ms"}')
    samples = sum(len(s["values"]) for s in got)
    assert samples == len(utts)
    assert {s["metric"]["conversation"] for s in got} == {u.conversation_id for u in utts}


def test_v2_credentials_in_the_url_beside_a_token_are_refused_at_construction() -> None:
    with pytest.raises(ConfigError, match="give one of them"):
        InfluxSink("http://admin:pw@127.0.0.1:8086", org="o", bucket="b", token="tok")
    InfluxSink("http://admin:pw@127.0.0.1:8086", org="o", bucket="b")
    InfluxSink("http://admin:pw@127.0.0.1:8086", api="v1", database="cc", username="u", password="p")


async def test_down_server_fails_after_retries() -> None:
    from gcstream.exceptions import SinkError
    from gcstream.sinks._http import RetryPolicy

    from sinks.services import free_port

    sink = InfluxSink(
        f"http://127.0.0.1:{free_port()}",
        api="v1",
        database="cc",
        retry=RetryPolicy(attempts=3, initial=0.01, maximum=0.02, timeout=1),
    )
    await sink.open()
    with pytest.raises(SinkError, match="after 3 attempts"):
        async with asyncio.timeout(TIMEOUT):
            await sink.write(records(1, 1))
    assert sink.counters["retries"] == 3
    await sink.aclose()


class RefusingPeer:
    """A write endpoint that answers 400 for a whole request when ``poisoned`` says one of its
    lines cannot be written, as InfluxDB does for a field type conflict, and stores the rest."""

    def __init__(self, poisoned: Callable[[bytes], bool]) -> None:
        self.poisoned = poisoned
        self.requests: list[int] = []
        self.stored: list[bytes] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _write(self, request: web.Request) -> web.Response:
        lines = (await request.read()).splitlines()
        self.requests.append(len(lines))
        if any(self.poisoned(line) for line in lines):
            return web.json_response({"error": "partial write: field type conflict"}, status=400)
        self.stored.extend(lines)
        return web.Response(status=204)

    async def __aenter__(self) -> RefusingPeer:
        app = web.Application()
        app.router.add_post("/write", self._write)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def _write_refused(sink: InfluxSink, recs: list[Any]) -> SinkRejectedError:
    await sink.open()
    try:
        with pytest.raises(SinkRejectedError, match="HTTP 400") as e:
            async with asyncio.timeout(TIMEOUT):
                await sink.write(recs)
    finally:
        await sink.aclose()
    return e.value


async def test_a_refused_request_is_bisected_down_to_the_refused_points() -> None:
    recs = records(3, 8, phone_every=5)
    async with RefusingPeer(lambda line: b"[PHONE]" in line) as peer:
        sink = InfluxSink(peer.url, api="v1", database="cc", batch_points=10)
        error = await _write_refused(sink, recs)
    poison = {i for i, r in enumerate(recs) if type(r) is Utterance and "[PHONE]" in r.text}
    assert poison
    assert error.rejected == dict.fromkeys(poison, "http_400")
    assert "not bisected further" not in str(error)
    assert len(peer.stored) == len(utterances(recs)) - len(poison)
    assert not any(b"[PHONE]" in line for line in peer.stored)
    assert peer.requests[:3] == [10, 5, 5]  # batch_points, then the halves of a refused request
    assert peer.requests.count(1) >= len(poison)  # down to the single refused points


async def test_a_batch_refused_point_by_point_costs_a_bounded_number_of_requests() -> None:
    # Every point refused (a schema change, say): bisecting to single points would take about two
    # requests per point, one after another, and outlast the pipeline's sink_timeout on a big
    # batch. The budget stops it; what is left is refused whole, every point accounted for.
    recs = records(8, 40)
    utts = [i for i, r in enumerate(recs) if type(r) is Utterance]
    assert len(utts) > 200
    async with RefusingPeer(lambda line: True) as peer:
        sink = InfluxSink(peer.url, api="v1", database="cc", batch_points=100, max_split_requests=20)
        error = await _write_refused(sink, recs)
    chunks = -(-len(utts) // 100)
    assert len(peer.requests) == chunks + 20
    assert sink.counters["requests"] == len(peer.requests)
    assert error.rejected == dict.fromkeys(utts, "http_400")
    assert peer.stored == []
    assert f"{len(utts)} of {len(utts)} points refused" in str(error)
    assert "not bisected further after max_split_requests=20" in str(error)


async def test_the_split_budget_is_spent_breadth_first_and_good_halves_are_written() -> None:
    # Two poisoned points, one in each half, and a budget for two levels of halves: the good
    # quarters are written, the two quarters holding a poisoned point are refused whole.
    recs = [r for r in records(2, 40) if type(r) is Utterance][:64]
    assert len(recs) == 64
    poison = {recs[3].utterance_id, recs[40].utterance_id}
    async with RefusingPeer(lambda line: any(u.encode() in line for u in poison)) as peer:
        sink = InfluxSink(peer.url, api="v1", database="cc", batch_points=64, max_split_requests=6)
        error = await _write_refused(sink, recs)
    assert peer.requests == [64, 32, 32, 16, 16, 16, 16]
    assert set(error.rejected) == set(range(16)) | set(range(32, 48))
    assert len(peer.stored) == 32
    assert "32 of them in requests refused whole" in str(error)


def test_a_negative_split_budget_is_refused() -> None:
    with pytest.raises(ConfigError, match="max_split_requests"):
        InfluxSink("http://127.0.0.1:8086", api="v1", database="cc", max_split_requests=-1)
