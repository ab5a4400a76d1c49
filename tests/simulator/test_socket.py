"""The channel WebSocket: heartbeats, ping, socket subscribe, discovery, traffic, faults."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import aiohttp
import pytest
import websockets
from gcstream.simulator import Simulator
from websockets.exceptions import ConnectionClosed

from .conftest import TIMEOUT, Client, SimFactory, recv_json, recv_until, wait_until


async def _setup(sim: Simulator, http: aiohttp.ClientSession) -> tuple[Client, dict[str, Any]]:
    c = Client(sim.base_url, http)
    await c.login()
    return c, await c.channel()


async def _recv_forever(ws: websockets.ClientConnection) -> None:
    async with asyncio.timeout(TIMEOUT):
        while True:
            await ws.recv()


def _strict(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _is_transcript(m: Any) -> bool:
    return isinstance(m, dict) and str(m.get("topicName", "")).endswith(".transcription")


async def test_heartbeat_and_pong(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    sim = await make_sim(autostart=False, heartbeat_interval=0.2)
    _, ch = await _setup(sim, http)
    async with websockets.connect(ch["connectUri"]) as ws:
        assert await recv_json(ws) == {
            "topicName": "channel.metadata",
            "eventBody": {"message": "WebSocket Heartbeat"},
        }
        await ws.send('{"message":"ping"}')
        pong = await recv_until(ws, lambda m: m["eventBody"]["message"] == "pong")
        assert pong == {"topicName": "channel.metadata", "eventBody": {"message": "pong"}}


async def test_socket_subscribe_ack_and_errors(sim: Simulator, http: aiohttp.ClientSession) -> None:
    c, ch = await _setup(sim, http)
    topic = f"v2.routing.queues.{sim.directory.queue_ids[0]}.conversations"
    async with websockets.connect(ch["connectUri"]) as ws:
        await ws.send(json.dumps({"message": "subscribe", "topics": [topic], "correlationId": "c1"}))
        ack = await recv_json(ws)
        assert ack["result"] == "200"
        assert ack["status"] == "subscribed"
        assert ack["correlationId"] == "c1"
        _, body, _ = await c.call("GET", f"/api/v2/notifications/channels/{ch['id']}/subscriptions")
        assert [e["id"] for e in body["entities"]] == [topic]
        await ws.send(json.dumps({"message": "subscribe", "correlationId": "c2"}))
        err = await recv_json(ws)
        assert err == {
            "correlationId": "c2",
            "topics": [],
            "result": "400",
            "status": "error",
            "message": "Required data missing from subscribe request.",
        }
        await ws.send(json.dumps({"message": "unsubscribe", "topics": [topic]}))
        assert (await recv_json(ws))["status"] == "unsubscribed"


async def test_unknown_channel_gets_404(sim: Simulator) -> None:
    async with websockets.connect(sim.base_url.replace("http", "ws") + "/channels/streaming-0-x") as ws:
        assert (await recv_json(ws))["result"] == "404"
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(TIMEOUT):
                await ws.recv()


async def test_second_socket_disconnects_first(sim: Simulator, http: aiohttp.ClientSession) -> None:
    _, ch = await _setup(sim, http)
    async with websockets.connect(ch["connectUri"]) as first:
        first_stats = await sim.wait_socket(ch["id"], TIMEOUT)
        async with websockets.connect(ch["connectUri"]) as second:
            msg = await recv_json(first)
            assert msg["topicName"] == f"v2.system.no_longer_subscribed.{ch['id']}"
            assert msg["eventBody"]["reason"] == "another_channel_subscribed"
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(TIMEOUT):
                    await first.recv()
            await second.send('{"message":"ping"}')
            assert (await recv_json(second))["eventBody"]["message"] == "pong"
            assert first_stats.close_reason == "replaced"
    assert sim.stats.sockets_replaced == 1


async def test_discover_subscribe_and_receive(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    """A client that only knows the notes finds calls on queue topics and gets their transcripts."""
    sim = await make_sim(
        seed=11,
        time_scale=30,
        conversations=2,
        max_conversations=2,
        conversation_duration=60,
        autostart=False,
    )
    c, ch = await _setup(sim, http)
    queues = [f"v2.routing.queues.{q}.conversations" for q in sim.directory.queue_ids]
    assert (await c.subscribe(ch["id"], queues))[0] == 200
    got: dict[str, dict[str, Any]] = {}
    ended: set[str] = set()
    # Utterances published before a call's transcription subscription took effect cannot arrive.
    # They are among those published by the time the subscribe call returns; everything else must.
    early: set[str] = set()
    async with websockets.connect(ch["connectUri"], max_size=None) as ws:
        await sim.wait_socket(ch["id"], TIMEOUT)
        sim.start_traffic()
        async with asyncio.timeout(30):
            while len(ended) < 2:
                msg = json.loads(await ws.recv())
                topic = msg.get("topicName", "")
                if ".routing.queues." in topic:
                    cid = msg["eventBody"]["id"]
                    states = {call["state"] for p in msg["eventBody"]["participants"] for call in p["calls"]}
                    if states == {"connected"}:
                        status, _ = await c.subscribe(
                            ch["id"], [f"v2.conversations.{cid}.transcription"], method="POST"
                        )
                        assert status == 200
                        early |= {g["utteranceId"] for g in sim.ground_truth if g["conversationId"] == cid}
                elif _is_transcript(msg):
                    body = msg["eventBody"]
                    assert msg["version"] == "2"
                    assert "CorrelationId" in msg["metadata"]
                    for t in body.get("transcripts") or []:
                        got[t["utteranceId"]] = t
                    if body["status"]["status"] == "SESSION_ENDED":
                        ended.add(body["conversationId"])
    truth = {g["utteranceId"]: g for g in sim.ground_truth}
    assert len({g["conversationId"] for g in truth.values()}) == 2
    assert got
    assert set(got) <= set(truth)
    missing = set(truth) - early - set(got)
    assert not missing, f"{len(missing)} utterances published after the subscribe never arrived"
    for uid, t in got.items():
        assert t["alternatives"][0]["transcript"] == truth[uid]["text"]
    assert sim.stats.messages_by_channel[ch["id"]] >= len(got)


async def test_drop_and_stall(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    sim = await make_sim(autostart=False, heartbeat_interval=0.05)
    _, ch = await _setup(sim, http)
    async with websockets.connect(ch["connectUri"]) as ws:
        await recv_json(ws)  # a heartbeat: the socket is live
        sock = sim.socket_stats(ch["id"])
        assert sock is not None
        assert sim.faults.stall(1.5) == 1
        sent, backlog = sock.frames_sent, sock.max_backlog_frames
        # While stalled, heartbeats keep being queued but none is written. Without a stall the
        # writer hands each heartbeat to the transport before the next one is queued.
        await wait_until(lambda: sock.max_backlog_frames >= backlog + 3, "heartbeats to queue up")
        # Once the stall ends, the queued frames are flushed and reach the client.
        await wait_until(lambda: sock.frames_sent >= sent + 3, "the stall to end")
        await recv_until(ws, lambda m: m["eventBody"]["message"] == "WebSocket Heartbeat")
        assert sim.faults.drop_sockets() == 1
        with pytest.raises(ConnectionClosed) as exc:
            await _recv_forever(ws)
        assert exc.value.rcvd is None  # no close frame: an abnormal closure (1006)
    assert sim.stats.sockets_dropped == 1
    assert sock.close_reason == "dropped"


async def test_socket_closing_with_and_without_warning(sim: Simulator, http: aiohttp.ClientSession) -> None:
    _, ch = await _setup(sim, http)
    async with websockets.connect(ch["connectUri"]) as ws:
        first = await sim.wait_socket(ch["id"], TIMEOUT)
        assert sim.faults.socket_closing(warn=True, grace=0.3) == 1
        msg = await recv_json(ws)
        assert msg["topicName"] == "v2.system.socket_closing"
        assert msg["eventBody"] == {"message": "WebSocket closing for maintenance", "channelId": ch["id"]}
        # The channel survives: a new socket to it takes over.
        async with websockets.connect(ch["connectUri"]) as ws2:
            await ws2.send('{"message":"ping"}')
            assert (await recv_json(ws2))["eventBody"]["message"] == "pong"
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(TIMEOUT):
                    await ws.recv()
            second = sim.socket_stats(ch["id"])
            assert second is not None
            assert second.socket_id != first.socket_id
            assert sim.faults.socket_closing(warn=False) == 1
            with pytest.raises(ConnectionClosed) as exc:
                async with asyncio.timeout(TIMEOUT):
                    await ws2.recv()
            assert exc.value.rcvd is not None
            assert exc.value.rcvd.code == 1001
    assert sim.stats.socket_closing_sent == 1


async def test_token_revocation(sim: Simulator, http: aiohttp.ClientSession) -> None:
    c, ch = await _setup(sim, http)
    async with websockets.connect(ch["connectUri"]) as ws:
        await sim.wait_socket(ch["id"], TIMEOUT)
        assert sim.faults.revoke_tokens() == 1
        msg = await recv_json(ws)
        assert msg["topicName"] == f"v2.system.token_revoked.{ch['id']}"
        assert msg["eventBody"]["systemTopicType"] == "token_revoked"
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(TIMEOUT):
                await ws.recv()
    assert (await c.call("GET", "/api/v2/notifications/channels"))[0] == 401


async def test_malformed_oversized_duplicates(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    sim = await make_sim(
        seed=2,
        rate=500,
        conversations=3,
        max_conversations=3,
        conversation_duration=40,
        autostart=False,
        heartbeat_interval=3600,
    )
    c, ch = await _setup(sim, http)
    sim.faults.duplicates(1.0)
    assert (
        await c.subscribe(ch["id"], [f"v2.routing.queues.{q}.conversations" for q in sim.directory.queue_ids])
    )[0] == 200
    async with websockets.connect(ch["connectUri"], max_size=None) as ws:
        # Faults and traffic only once the server holds the socket: nothing can go out before.
        await sim.wait_socket(ch["id"], TIMEOUT)
        assert sim.faults.malformed(2) == 1
        assert sim.faults.oversized(1, size=3_000_000) == 1
        sim.start_traffic()
        bad = big = 0
        # Each call is announced twice on its queue topic (connected, then disconnected).
        seen: dict[tuple[str, str], list[bytes]] = {}
        async with asyncio.timeout(TIMEOUT):
            while bad < 2 or big < 1 or len(seen) < 6 or any(len(v) < 2 for v in seen.values()):
                raw = await ws.recv(decode=False)
                try:
                    msg = json.loads(raw, parse_constant=_strict)
                except ValueError:
                    bad += 1
                    continue
                if len(raw) >= 3_000_000:
                    big += 1
                else:
                    body = msg["eventBody"]
                    key = (body["id"], body["participants"][0]["calls"][0]["state"])
                    seen.setdefault(key, []).append(raw)
        await sim.wait_traffic_done(TIMEOUT)
    assert sim.traffic_finished
    assert all(len(v) == 2 and v[0] == v[1] for v in seen.values())
    assert sim.stats.conversations_ended == 3
    assert sim.stats.duplicates_sent == 6  # every discovery message on the socket, once more
    assert sim.stats.malformed_sent == 2
    assert sim.stats.oversized_sent == 1


async def test_slow_reader_blocks_writer(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    """A client that stops reading makes the simulator's writer wait (observable in stats)."""
    sim = await make_sim(autostart=False, heartbeat_interval=3600)
    _, ch = await _setup(sim, http)
    async with websockets.connect(ch["connectUri"], max_size=None, max_queue=1) as ws:
        sock = await sim.wait_socket(ch["id"], TIMEOUT)
        assert sim.faults.oversized(12, size=2_000_000) == 1  # 24 MB that nobody reads
        await wait_until(lambda: sim.stats.writer_blocked_count > 0, "the writer to block")
        assert sim.stats.reads_paused
        assert sock.writer_blocked_count >= 1
        assert sock.writer_blocked_now
        # Reading again releases the writer.
        async with asyncio.timeout(TIMEOUT):
            for _ in range(12):
                assert len(await ws.recv(decode=False)) == 2_000_000
        assert sock.frames_sent == 12
        await wait_until(lambda: not sock.writer_blocked_now, "the writer to resume")
        assert sock.writer_blocked_s > 0


async def test_start_interval_staggers_the_calls_and_they_end(make_sim: SimFactory) -> None:
    """Calls start ``start_interval`` simulated seconds apart and end after about their duration."""
    sim = await make_sim(
        seed=4,
        time_scale=20,
        conversations=3,
        max_conversations=3,
        conversation_duration=30,
        start_interval=10,  # 0.5 s apart in real time
        autostart=False,
    )
    loop = asyncio.get_running_loop()
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}

    def listener(conv: Any, em: Any) -> None:
        if em.kind == "discovery":
            (starts if em.phase == "start" else ends)[conv.conversation_id] = loop.time()

    sim.platform.listeners.add(listener)
    sim.start_traffic()
    await sim.wait_traffic_done(TIMEOUT)
    assert sim.traffic_finished
    assert sim.stats.conversations_ended == 3
    assert set(starts) == set(ends)
    begun = sorted(starts.values())
    assert len(begun) == 3
    # Starts follow a fixed schedule, 0.5 s apart: a start the loop ran late narrows the gap to
    # the next one, so only the span of the whole schedule and the upper bound are checked.
    assert all(0 < b - a <= 1.5 for a, b in itertools.pairwise(begun)), begun
    assert 0.4 <= begun[-1] - begun[0] <= 3.0, begun
    # 30 simulated seconds a call on average: 1.5 s here (generous bounds for a loaded machine).
    lengths = [ends[cid] - t for cid, t in starts.items()]
    assert all(0.9 <= x <= 3.0 for x in lengths), lengths


def test_start_interval_is_validated() -> None:
    from gcstream.simulator import SimulatorConfig

    with pytest.raises(ValueError, match="start_interval"):
        SimulatorConfig(start_interval=-1).validate()


async def _collect_until_closed(ws: websockets.ClientConnection, out: list[Any]) -> None:
    async with asyncio.timeout(TIMEOUT):
        while True:
            out.append(json.loads(await ws.recv()))


async def test_evict_channel_fault(sim: Simulator, http: aiohttp.ClientSession) -> None:
    c, ch = await _setup(sim, http)
    other = await c.channel()  # no socket: left alone by evict_channel()
    topic = f"v2.routing.queues.{sim.directory.queue_ids[0]}.conversations"
    assert (await c.subscribe(ch["id"], [topic]))[0] == 200
    head = f"/api/v2/notifications/channels/{ch['id']}"
    assert (await c.call("HEAD", head))[0] == 200
    async with websockets.connect(ch["connectUri"]) as ws:
        stats = await sim.wait_socket(ch["id"], TIMEOUT)
        assert sim.faults.evict_channel() == 1
        # Closed silently, exactly like the 21st channel's eviction: no system message, code 1000.
        seen: list[Any] = []
        with pytest.raises(ConnectionClosed) as exc:
            await _collect_until_closed(ws, seen)
        assert not [m for m in seen if str(m.get("topicName", "")).startswith("v2.system")], seen
        assert exc.value.rcvd is not None
        assert exc.value.rcvd.code == 1000
    assert stats.close_reason == "evicted"
    assert (await c.call("HEAD", head))[0] == 404
    assert topic not in sim.platform.subs
    _, body, _ = await c.call("GET", "/api/v2/notifications/channels")
    assert {e["id"] for e in body["entities"]} == {other["id"]}
    # A reconnect gets the 404 frame, then the close.
    async with websockets.connect(ch["connectUri"]) as ws:
        assert (await recv_json(ws))["result"] == "404"
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(TIMEOUT):
                await ws.recv()
    # By id: works without a socket; an unknown (or already evicted) id evicts nothing.
    assert sim.faults.evict_channel(ch["id"]) == 0
    assert sim.faults.evict_channel(other["id"]) == 1
    assert (await c.call("HEAD", f"/api/v2/notifications/channels/{other['id']}"))[0] == 404
    assert sim.stats.channels_evicted == 2
    assert [e["fault"] for e in sim.faults.log] == ["evict"] * 3


async def test_evict_fault_plan(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    sim = await make_sim(autostart=False, faults="evict:after=200ms")
    _, ch = await _setup(sim, http)
    async with websockets.connect(ch["connectUri"]) as ws:
        await sim.wait_socket(ch["id"], TIMEOUT)
        with pytest.raises(ConnectionClosed):
            await _recv_forever(ws)
    await wait_until(lambda: sim.stats.channels_evicted == 1, "the planned eviction")
    assert ch["id"] not in sim.platform.channels
