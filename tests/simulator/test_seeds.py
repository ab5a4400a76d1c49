"""Seed wire formats (DESIGN §5) served live from the same conversations."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import websockets
from gcstream.simulator import Simulator

from .conftest import TIMEOUT, Client, SimFactory, recv_json, wait_until


async def _live(make_sim: SimFactory, http: aiohttp.ClientSession) -> tuple[Simulator, Client, Any]:
    # A 20-minute call (40 s here): it stays live, with utterances every ~150 ms, for far longer
    # than any test needs, so subscribing to it can never come too late.
    sim = await make_sim(
        seed=21, time_scale=30, conversations=1, max_conversations=1, conversation_duration=1200
    )
    c = Client(sim.base_url, http)
    await c.login()
    await wait_until(lambda: bool(sim.active_conversations()), "the call to start")
    conv = sim.conversation(sim.active_conversations()[0])
    assert conv is not None
    return sim, c, conv


def _ws(sim: Simulator, path: str) -> str:
    return sim.base_url.replace("http", "ws") + path


async def test_interaction_handshake_and_events(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    sim, c, conv = await _live(make_sim, http)
    hdr = {"Authorization": f"Bearer {c.token}"}
    async with websockets.connect(
        _ws(sim, "/api/v2/analytics/conversations/transcriptions"), additional_headers=hdr
    ) as ws:
        await ws.send(json.dumps({"type": "subscribe", "interactionId": "nope", "language": "en-US"}))
        assert (await recv_json(ws))["type"] == "error"
        await ws.send(
            json.dumps(
                {
                    "type": "subscribe",
                    "interactionId": conv.conversation_id,
                    "language": "en-US",
                    "model": "m",
                    "redaction": {"enabled": True, "type": "pii"},
                }
            )
        )
        assert (await recv_json(ws))["type"] == "subscribed"
        ev = await recv_json(ws)
        assert ev["type"] == "transcription"
        assert ev["interactionId"] == conv.conversation_id
        assert set(ev) >= {"mediaTimestamp", "text", "confidence", "final"}


async def test_media_activation_and_sequenced_arrays(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim, c, conv = await _live(make_sim, http)
    msid = conv.communication_id
    status, body, _ = await c.call(
        "POST",
        "/api/v2/media/transcriptions",
        {
            "mediaSessionId": msid,
            "language": "en-US",
            "profanityFilter": True,
            "chunkSize": 1500,
            "languageModel": "conversational",
        },
    )
    assert status == 201
    assert body["status"] == "active"
    assert body["mediaSessionId"] == msid
    assert (await c.call("POST", "/api/v2/media/transcriptions", {"mediaSessionId": "x"}))[0] == 404
    async with websockets.connect(_ws(sim, "/api/v2/websocket")) as ws:
        await ws.send(
            json.dumps(
                {
                    "action": "subscribe",
                    "topics": ["conversation:transcription"],
                    "filter": {"mediaSessionId": msid},
                }
            )
        )
        seqs: list[int] = []
        while len(seqs) < 3:
            batch = await recv_json(ws)
            assert isinstance(batch, list)
            seqs += [e["eventSequence"] for e in batch if e["eventType"] == "transcription"]
        assert seqs == list(range(1, len(seqs) + 1))


async def test_segments_handshake(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    sim, c, conv = await _live(make_sim, http)
    hdr = {"Authorization": f"Bearer {c.token}"}
    async with websockets.connect(
        _ws(sim, "/api/v2/interactions/transcription"), additional_headers=hdr
    ) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "subscribe",
                    "id": conv.conversation_id,
                    "participantId": conv.customer_participant_id,
                    "language": "en-us",
                    "format": "json",
                }
            )
        )
        assert (await recv_json(ws))["type"] == "subscribed"
        ev = await recv_json(ws)
        assert ev["participantId"] == conv.customer_participant_id
        assert ev["segments"][0]["text"]
        assert set(ev["audioQuality"]) == {"snrDb", "jitterMs", "packetLossPercent", "detectedLanguage"}


async def test_fragments_concatenate(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    sim, c, conv = await _live(make_sim, http)
    hdr = {"Authorization": f"Bearer {c.token}"}
    texts: dict[str, str] = {}
    async with websockets.connect(
        _ws(sim, f"/api/v2/media/conversations/transcripts?conversationId={conv.conversation_id}"),
        additional_headers=hdr,
    ) as ws:
        async with asyncio.timeout(TIMEOUT):
            while True:
                ev = json.loads(await ws.recv())
                texts[ev["utteranceId"]] = texts.get(ev["utteranceId"], "") + ev["text"]
                if ev["isFinal"]:
                    break
    truth = {g["utteranceId"]: g["decoratedText"] for g in sim.ground_truth}
    uid = ev["utteranceId"]
    assert texts[uid] == truth[uid]


async def test_conversation_events_split_across_frames(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim(
        seed=22,
        time_scale=30,
        conversations=2,
        max_conversations=2,
        conversation_duration=40,
        autostart=False,
    )
    c = Client(sim.base_url, http)
    await c.login()
    async with websockets.connect(
        _ws(sim, f"/api/v2/analytics/conversations/details/stream?access_token={c.token}")
    ) as ws:
        await wait_until(lambda: sim.stats.sockets_opened == 1, "the server side of the socket")
        sim.start_traffic()
        buf, frames = "", 0
        docs: list[dict[str, Any]] = []
        dec = json.JSONDecoder()
        async with asyncio.timeout(15):
            while (
                len([d for d in docs if d["type"] == "statusChange" and d["data"]["status"] == "ended"]) < 2
            ):
                buf += await ws.recv(decode=True)
                frames += 1
                while buf:
                    try:
                        doc, end = dec.raw_decode(buf)
                    except ValueError:
                        break
                    docs.append(doc)
                    buf = buf[end:]
    kinds = {d["type"] for d in docs}
    assert kinds == {"statusChange", "participants", "metadata", "transcript"}
    assert frames != len(docs)  # documents do not map one-to-one onto frames
    bad = _ws(sim, "/api/v2/analytics/conversations/details/stream?access_token=bad")
    with pytest.raises(websockets.InvalidStatus) as exc:
        await websockets.connect(bad)
    assert exc.value.response.status_code == 401
