"""Seed-style sources (000 interaction, 001 media activation, 002 segments) against the simulator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from gc_connect_helpers import HEARTBEAT, settings_for
from gcstream.simulator import Simulator, SimulatorConfig
from gcstream.sources.seed import SeedSource

pytestmark = pytest.mark.timeout(90)


def sim() -> Simulator:
    return Simulator(
        SimulatorConfig(
            seed=5, time_scale=10.0, conversations=4, conversation_duration=60.0, heartbeat_interval=HEARTBEAT
        )
    )


async def live_calls(s: Simulator, n: int) -> list[str]:
    async with asyncio.timeout(20):
        while len(s.active_conversations()) < n:
            await asyncio.sleep(0.05)
    return s.active_conversations()[:n]


async def first_frames(source: SeedSource, n: int) -> list[object]:
    out = []
    async with asyncio.timeout(30), source:
        async for frame in source:
            out.append(json.loads(frame.data))
            if len(out) >= n:
                break
    return out


async def test_interaction_handshake_and_stream_limit(tmp_path: Path) -> None:
    async with sim() as s:
        ids = await live_calls(s, 3)
        source = SeedSource.interaction(settings_for(s, tmp_path), ids, max_concurrent_streams=2)
        frames = await first_frames(source, 3)
        assert all(f["type"] == "transcription" for f in frames)
        assert {f["interactionId"] for f in frames} <= set(ids)
        assert source.stats()["max_open"] <= 2
        assert source.stats()["connects"] >= 1


async def test_media_activation_then_stream(tmp_path: Path) -> None:
    async with sim() as s:
        (cid,) = await live_calls(s, 1)
        msid = s.platform.calls[cid].conversation.communication_id
        source = SeedSource.media(settings_for(s, tmp_path), [msid])
        frames = await first_frames(source, 1)
        assert isinstance(frames[0], list)
        assert frames[0][0]["mediaSessionId"] == msid
        assert source.stats()["activations"] == 1


async def test_segments_handshake(tmp_path: Path) -> None:
    async with sim() as s:
        (cid,) = await live_calls(s, 1)
        conv = s.platform.calls[cid].conversation
        source = SeedSource.segments(settings_for(s, tmp_path), [(cid, conv.customer_participant_id)])
        frames = await first_frames(source, 1)
        assert frames[0]["conversationId"] == cid


async def test_inactive_interaction_ends_its_stream(tmp_path: Path) -> None:
    async with sim() as s:
        source = SeedSource.interaction(settings_for(s, tmp_path), ["00000000-0000-0000-0000-000000000000"])
        async with asyncio.timeout(20), source:
            async for _ in source:
                raise AssertionError("no frames expected")
        assert source.stats()["streams_done"] == 1
