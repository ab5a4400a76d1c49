"""The web app over real HTTP on 127.0.0.1: SSE captions, /metrics, /healthz, /api/state."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import gcstream
import pytest
from gcstream.metrics import Metrics
from gcstream.web import CaptionsHub, WebServer

T = 10.0
SESSION = 1704067200000


def frame(utt: str, text: str, *, final: bool = True, channel: str = "INTERNAL") -> bytes:
    return json.dumps(
        {
            "topicName": "v2.conversations.c1.transcription",
            "version": "2",
            "eventBody": {
                "eventTime": "2024-01-01T00:00:05.000Z",
                "conversationId": "c1",
                "communicationId": "m1",
                "sessionStartTimeMs": SESSION,
                "transcripts": [
                    {
                        "utteranceId": utt,
                        "isFinal": final,
                        "channel": channel,
                        "alternatives": [
                            {
                                "confidence": 0.8,
                                "offsetMs": 1000,
                                "durationMs": 1000,
                                "transcript": text,
                                "decoratedTranscript": text,
                                "words": [],
                                "decoratedWords": [],
                            }
                        ],
                    }
                ],
                "status": {"offsetMs": 0, "status": "SESSION_ONGOING"},
            },
        }
    ).encode()


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, CaptionsHub, Any, aiohttp.ClientSession]]:
    engine = gcstream.Engine("notifications")
    hub = CaptionsHub(stats=engine.stats, queue_size=8)
    metrics = Metrics()
    metrics.watch_engine(engine.stats)
    metrics.watch("captions", hub.stats)
    server = WebServer(hub, metrics, health=lambda: {"extra": 1}, stats_interval=0.1)
    async with asyncio.timeout(T):
        url = await server.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        yield url, hub, engine, http
        async with asyncio.timeout(T):
            await server.stop()


async def sse_events(resp: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    async for raw in resp.content:
        line = raw.decode().strip()
        if line.startswith("data: "):
            yield json.loads(line[6:])


async def test_sse_sends_snapshot_then_live_captions_and_stats(served: Any) -> None:
    url, hub, engine, http = served
    async with asyncio.timeout(T):
        hub.publish(
            engine.feed(frame("u0", "earlier words"), received_at_ms=SESSION + 3000)
            + engine.tick(SESSION + 60_000)
        )
        async with http.get(url + "/events") as resp:
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            events = sse_events(resp)
            first = await anext(events)
            assert first["type"] == "snapshot"
            (conv,) = first["conversations"]
            assert [c["text"] for c in conv["captions"]] == ["earlier words"]
            hub.publish(
                engine.feed(frame("u1", "hello there", channel="EXTERNAL"), received_at_ms=SESSION + 4000)
                + engine.tick(SESSION + 70_000)
            )
            seen: dict[str, dict[str, Any]] = {}
            while "final" not in seen or "stats" not in seen:
                ev = await anext(events)
                seen.setdefault(ev["type"], ev)
    cap = seen["final"]["caption"]
    assert cap["speaker"] == "customer"
    assert cap["text"] == "hello there"
    assert cap["final"] is True
    assert cap["latency_ms"] == 2000
    assert cap["confidence"] == 0.8
    assert seen["final"]["conversation"]["utterances"] == 2
    assert seen["stats"]["records"]["utterance"] == 2


async def test_a_slow_browser_is_resynchronised_not_blocking(served: Any) -> None:
    _, hub, engine, _ = served
    sub = hub.subscribe()
    for i in range(40):  # the queue holds 8: the hub must never wait for this reader
        hub.publish(engine.feed(frame(f"x{i}", f"words {i}"), received_at_ms=SESSION + 3000))
    hub.publish(engine.tick(SESSION + 60_000))
    async with asyncio.timeout(T):
        events = [e async for e in _drain(sub)]
    # Resynchronised after the overflow: a snapshot that already holds the captions it skipped.
    assert any(e["type"] == "snapshot" and e["conversations"][0]["captions"] for e in events)
    assert hub.stats()["dropped"] > 0
    sub.close()


async def _drain(sub: Any) -> AsyncIterator[dict[str, Any]]:
    while (event := await sub.next(0.2)) is not None:
        yield event


async def test_metrics_healthz_state_and_page(served: Any) -> None:
    url, hub, engine, http = served
    hub.publish(engine.feed(frame("u1", "hi"), received_at_ms=SESSION + 3500) + engine.tick(SESSION + 60_000))
    async with asyncio.timeout(T):
        async with http.get(url + "/metrics") as r:
            assert r.status == 200
            body = await r.text()
        async with http.get(url + "/healthz") as r:
            assert r.status == 200
            assert await r.json() == {"status": "ok", "extra": 1}
        async with http.get(url + "/api/state") as r:
            state = await r.json()
        async with http.get(url + "/") as r:
            page = await r.text()
        async with http.get(url + "/static/app.js") as r:
            assert r.status == 200
            assert "EventSource" in await r.text()
    assert 'gcstream_records_total{kind="utterance"} 1.0' in body
    assert "gcstream_latency_ms_bucket" in body
    assert 'gcstream_latency_quantile_ms{quantile="0.5"} 1500.0' in body
    assert "gcstream_captions_clients 0.0" in body
    assert state["conversations"][0]["conversation_id"] == "c1"
    assert "live captions" in page


async def test_stop_ends_open_streams_and_reports_stopping() -> None:
    hub = CaptionsHub()
    server = WebServer(hub, Metrics())
    async with asyncio.timeout(T):
        url = await server.start("127.0.0.1", 0)
        async with aiohttp.ClientSession() as http, http.get(url + "/events") as resp:
            events = sse_events(resp)
            assert (await anext(events))["type"] == "snapshot"
            await server.stop()
            assert [e async for e in events] == []  # the stream ended cleanly
