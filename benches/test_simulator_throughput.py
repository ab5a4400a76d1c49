"""How fast the simulator pushes notifications over loopback to a bare ``websockets`` client.

The simulator must never be the bottleneck of a pipeline benchmark: the goal is >= 50,000
messages/s on a 2-core machine. With ``pregenerate=True`` calls are built before the clock starts,
so the measurement covers publishing and socket writes only; without it, calls are generated as
they are played (endless traffic), so generation is part of the figure. Runs as a smoke test under
``--benchmark-disable``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import time
from typing import Any

import aiohttp
import pytest
import websockets
from gcstream.simulator import Conversation, Simulator, SimulatorConfig
from gcstream.simulator.conversations import ConversationFactory

CONVERSATIONS = 300
"""About 12,000 messages (median ~2 KB)."""


async def _run(conversations: int, pregenerate: bool) -> dict[str, Any]:
    cfg = SimulatorConfig(
        seed=1,
        rate=0,
        conversations=50,
        max_conversations=conversations,
        conversation_duration=180,
        pregenerate=pregenerate,
        autostart=False,
        heartbeat_interval=3600,
    )
    async with Simulator(cfg) as sim, aiohttp.ClientSession() as http:
        basic = base64.b64encode(b"sim-client:sim-secret").decode()
        async with http.post(
            f"{sim.base_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        ) as r:
            token = (await r.json())["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        async with http.post(f"{sim.base_url}/api/v2/notifications/channels", headers=auth) as r:
            ch = await r.json()
        convs = sim.pregenerated() if pregenerate else _same_calls(sim, conversations)
        topics = [{"id": c.topic} for c in convs]
        expected = sum(1 for c in convs for e in c.emissions if e.topic == c.topic)
        async with http.put(
            f"{sim.base_url}/api/v2/notifications/channels/{ch['id']}/subscriptions",
            json=topics,
            headers=auth,
        ) as r:
            assert r.status == 200
        # The reader runs in its own process (the machine has two cores), so the figure is the
        # simulator's, not the client's share of one event loop.
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_reader, args=(ch["connectUri"], expected, child))
        proc.start()
        try:
            async with asyncio.timeout(60):
                while not parent.poll():
                    await asyncio.sleep(0.01)
                assert parent.recv() == "ready"
                await sim.wait_socket(ch["id"], 10)
                cpu0 = time.process_time()
                sim.start_traffic()
                while not parent.poll():
                    await asyncio.sleep(0.01)
                received, nbytes, elapsed, last_topic = parent.recv()
                cpu = time.process_time() - cpu0
        finally:
            proc.join(10)
        assert last_topic.endswith(".transcription")
        return {
            "messages": received,
            "expected": expected,
            "seconds": elapsed,
            "msgs_per_s": received / elapsed,
            "mb_per_s": nbytes / elapsed / 1e6,
            "server_cpu_s": cpu,
            "server_capacity_msgs_per_s": received / cpu,
        }


def _same_calls(sim: Simulator, n: int) -> list[Conversation]:
    """Build (outside the measurement) the calls the simulator will generate, to learn topics."""
    cfg = sim.config
    factory = ConversationFactory(
        cfg.seed, sim.directory, cfg.conversation_duration, int(cfg.status_interval * 1000)
    )
    return [factory.build(i, 0) for i in range(n)]


def _reader(uri: str, expected: int, conn: Any) -> None:
    async def main() -> tuple[int, int, float, str]:
        received = nbytes = 0
        msg = b""
        async with websockets.connect(uri, max_size=None, compression=None) as ws:
            conn.send("ready")
            async with asyncio.timeout(120):
                msg = await ws.recv(decode=False)
                t0 = time.perf_counter()
                received, nbytes = 1, len(msg)
                while received < expected:
                    msg = await ws.recv(decode=False)
                    received += 1
                    nbytes += len(msg)
            elapsed = time.perf_counter() - t0
        return received, nbytes, elapsed, json.loads(msg)["topicName"]

    conn.send(asyncio.run(main()))


@pytest.mark.parametrize("pregenerate", [True, False], ids=["pregenerated", "generated-live"])
def test_simulator_throughput(benchmark: Any, pregenerate: bool) -> None:
    result: dict[str, Any] = {}

    def run() -> None:
        result.update(asyncio.run(_run(CONVERSATIONS, pregenerate)))

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    print(
        f"\nsimulator: {result['msgs_per_s']:,.0f} msgs/s delivered, {result['mb_per_s']:.1f} MB/s "
        f"({result['messages']} messages in {result['seconds']:.2f} s); simulator CPU "
        f"{result['server_cpu_s']:.2f} s = {result['server_capacity_msgs_per_s']:,.0f} msgs/s per core"
    )
    assert result["messages"] == result["expected"] > 5000
