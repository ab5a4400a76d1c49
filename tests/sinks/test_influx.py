"""InfluxSink against a real influxd 1.x (v1 API) and VictoriaMetrics (v2 API)."""

from __future__ import annotations

import asyncio

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


async def test_a_refused_request_is_bisected_down_to_the_refused_points() -> None:
    # InfluxDB answers 400 for a whole request when one of its points cannot be written (a field
    # type conflict, say); this peer does the same for any point whose text has a phone tag.
    requests: list[int] = []
    stored: list[bytes] = []

    async def write(request: web.Request) -> web.Response:
        lines = (await request.read()).splitlines()
        requests.append(len(lines))
        if any(b"[PHONE]" in line for line in lines):
            return web.json_response({"error": "partial write: field type conflict"}, status=400)
        stored.extend(lines)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/write", write)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    recs = records(3, 8, phone_every=5)
    sink = InfluxSink(f"http://127.0.0.1:{port}", api="v1", database="cc", batch_points=10)
    try:
        await sink.open()
        with pytest.raises(SinkRejectedError, match="HTTP 400") as e:
            async with asyncio.timeout(TIMEOUT):
                await sink.write(recs)
        await sink.aclose()
    finally:
        await runner.cleanup()
    poison = {i for i, r in enumerate(recs) if type(r) is Utterance and "[PHONE]" in r.text}
    assert poison
    assert e.value.rejected == dict.fromkeys(poison, "http_400")
    assert len(stored) == len(utterances(recs)) - len(poison)
    assert not any(b"[PHONE]" in line for line in stored)
    assert requests[:2] == [10, 5]  # batch_points, then the halves of a refused request
    assert requests.count(1) >= len(poison)  # down to the single refused points
